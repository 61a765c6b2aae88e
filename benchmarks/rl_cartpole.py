"""Max-entropy REINFORCE on CartPole-v1: steps and seconds until solved, over 5 seeds.

Run with ``.venv/bin/python benchmarks/rl_cartpole.py`` (``make bench-rl``). For each
seed it trains with the settings below and, every ``EVAL_EVERY`` environment steps,
evaluates the stochastic policy on 20 episodes; the seed is *solved* at the first
evaluation whose mean return reaches 475. It prints one row per seed and the
medians, and writes them to ``benchmarks/results/rl_cartpole.csv``.

Targets: median <= 100,000 env steps and <= 60 s, every seed within 250,000 steps.
Training seconds exclude the evaluation episodes (reported separately).

The settings are :class:`klcourse.rl.ReinforceConfig`'s defaults with the
overrides in ``OVERRIDES``. Evaluation draws from its own random streams, so
the training run of a seed is the same whatever ``EVAL_EVERY`` is; only where
"solved" is detected changes with it.
"""

from __future__ import annotations

import csv
import dataclasses
import statistics
import time
from pathlib import Path

from klcourse.rl import MaxEntReinforce, ReinforceConfig

# A discount below 1 suits CartPole's long episodes; everything else is the default.
OVERRIDES = {"gamma": 0.99}
CONFIG = ReinforceConfig(**OVERRIDES)
EVAL_EVERY, LIMIT, SEEDS = 10_000, 250_000, range(5)


def run(seed: int) -> dict[str, float]:
    agent = MaxEntReinforce("CartPole-v1", config=CONFIG, seed=seed)
    train_seconds = eval_seconds = 0.0
    solved_at, score = None, 0.0
    while agent.env_steps < LIMIT:
        start = time.perf_counter()
        agent.train(EVAL_EVERY, progress=False)
        train_seconds += time.perf_counter() - start
        start = time.perf_counter()
        score = float(agent.evaluate(20, seed=10_000 + seed).mean())
        eval_seconds += time.perf_counter() - start
        if score >= 475:
            solved_at = agent.env_steps
            break
    return {"seed": seed, "solved": solved_at is not None, "env_steps": agent.env_steps,
            "train_seconds": round(train_seconds, 1), "eval_seconds": round(eval_seconds, 1), "eval_return": score}


def main() -> None:
    print(f"settings: {dataclasses.asdict(CONFIG)} (defaults overridden: {OVERRIDES})")
    print(f"evaluation every {EVAL_EVERY:,} steps, 20 stochastic episodes, target 475")
    rows = []
    for seed in SEEDS:
        rows.append(run(seed))
        r = rows[-1]
        print(f"seed {r['seed']}: solved={r['solved']} at {r['env_steps']:>7,} env steps, "
              f"{r['train_seconds']:6.1f} s training (+{r['eval_seconds']:.1f} s evaluating), eval return {r['eval_return']:.1f}",
              flush=True)
    steps = statistics.median(r["env_steps"] for r in rows)
    seconds = statistics.median(r["train_seconds"] for r in rows)
    print(f"median: {steps:,.0f} env steps (target <= 100,000), {seconds:.1f} s (target <= 60); "
          f"all solved within {LIMIT:,}: {all(r['solved'] for r in rows)}")
    out = Path(__file__).with_name("results") / "rl_cartpole.csv"
    out.parent.mkdir(exist_ok=True)
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
