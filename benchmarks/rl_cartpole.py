"""Max-entropy REINFORCE on CartPole-v1: env steps until solved, over 5 seeds.

Run with ``.venv/bin/python benchmarks/rl_cartpole.py`` (``make bench-rl``).
For each seed it trains with the settings below and, every ``EVAL_EVERY``
environment steps, evaluates the stochastic policy on 20 fresh episodes; the
seed is *solved* at the first evaluation whose mean return reaches 475. It
prints one row per seed and the medians, and writes them to
``benchmarks/results/rl_cartpole.csv``.

Targets: median <= 60,000 env steps to solved, every seed within 150,000.
For scale, pytorch/examples' ``reinforce.py`` needs a median of about 106,000
steps to its own, weaker criterion (a running average of training returns).
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

# A discount below 1 is the common choice for CartPole's long episodes (not
# compared here with gamma = 1); batches of 1,000 steps give twice as many
# updates per step as the default.
OVERRIDES = {"gamma": 0.99, "batch_steps": 1_000}
CONFIG = ReinforceConfig(**OVERRIDES)
EVAL_EVERY, LIMIT, SEEDS, TARGET = 5_000, 150_000, range(5), 475.0


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
        if score >= TARGET:
            solved_at = agent.env_steps
            break
    return {
        "seed": seed,
        "solved": solved_at is not None,
        "env_steps": agent.env_steps,
        "train_seconds": round(train_seconds, 1),
        "eval_seconds": round(eval_seconds, 1),
        "eval_return": score,
    }


def main() -> None:
    print(f"settings: {dataclasses.asdict(CONFIG)} (overrides: {OVERRIDES})")
    print(
        f"evaluation every {EVAL_EVERY:,} steps: 20 stochastic episodes, "
        f"solved at a mean return >= {TARGET:g}"
    )
    rows = []
    for seed in SEEDS:
        rows.append(run(seed))
        r = rows[-1]
        print(
            f"seed {r['seed']}: solved={r['solved']} at "
            f"{r['env_steps']:>7,} env steps, {r['train_seconds']:6.1f} s "
            f"training (+{r['eval_seconds']:.1f} s evaluating), "
            f"eval return {r['eval_return']:.1f}",
            flush=True,
        )
    steps = statistics.median(r["env_steps"] for r in rows)
    seconds = statistics.median(r["train_seconds"] for r in rows)
    worst = max(r["env_steps"] for r in rows)
    print(
        f"median: {steps:,.0f} env steps (target <= 60,000), {seconds:.1f} s "
        f"training; slowest seed {worst:,} (target <= {LIMIT:,}); "
        f"all solved: {all(r['solved'] for r in rows)}"
    )
    out = Path(__file__).with_name("results") / "rl_cartpole.csv"
    out.parent.mkdir(exist_ok=True)
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
