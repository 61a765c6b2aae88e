"""Max-entropy REINFORCE on CartPole-v1: steps to a confirmed solve, 5 seeds.

Run with ``.venv/bin/python benchmarks/rl_cartpole.py`` (``make bench-rl``).
Each seed trains with the settings below. Every ``CHECK_EVERY`` environment
steps (a checkpoint: after the update that crosses the next multiple), the
stochastic policy plays ``SCREEN`` fresh episodes; if their mean return
reaches ``TARGET``, the *same* parameters play ``CONFIRM`` more fresh
episodes, and the seed is *solved* at that checkpoint only if their mean
reaches ``TARGET`` too. Otherwise training goes on. "Fresh" is checked, not
assumed: every reset of every environment, in training and in evaluation,
goes through :class:`SeedLog`, and each evaluation must use seeds that no
earlier reset used. The steps reported are training steps at the first
confirmed solve; evaluation episodes are not counted in them (their number is
reported separately).

Targets: median <= ``MEDIAN_TARGET`` = 60,000 env steps to a confirmed
solve, every seed within ``LIMIT`` = 150,000. For scale, pytorch/examples'
``reinforce.py`` needs a median of about 106,000 steps to its own, weaker
criterion (a running average of training returns). The script prints one
row per seed and the summary, and writes the rows to
``benchmarks/results/rl_cartpole.csv``.

The settings are :class:`klcourse.rl.ReinforceConfig`'s defaults with the
overrides in ``OVERRIDES``. Evaluation draws from its own random streams, so
a seed's training run is the same whatever the checkpoints find; only where
"solved" is detected depends on them.
"""

from __future__ import annotations

import csv
import dataclasses
import statistics
import time
from pathlib import Path
from typing import Any

import gymnasium as gym

from klcourse.rl import MaxEntReinforce, ReinforceConfig

# A discount below 1 is the common choice for CartPole's long episodes (not
# compared here with gamma = 1). Batches of about 500 steps and lr = 0.02
# were chosen on this criterion (issue 18). Medians to a confirmed solve over
# seeds 0-9 (slowest seed): batches of 1,000 steps, lr 0.01 (the former
# settings) 75,226 on seeds 0-4 alone (135,672); 500 steps 50,332 (140,076);
# 250 steps 35,224 (80,274); 250 steps, lr 0.005 60,350 (105,481); 500
# steps, lr 0.02 25,323 (60,294); 500 steps with the "mean" baseline 47,928
# (120,561), with hidden=(32,) 57,811 (90,037), with gamma = 0.995 43,012
# (65,238). On seeds 10-19, unseen while choosing, the chosen settings
# needed a median of 25,347 (85,287).
OVERRIDES = {"gamma": 0.99, "batch_steps": 500, "lr": 0.02}
CONFIG = ReinforceConfig(**OVERRIDES)
CHECK_EVERY, SCREEN, CONFIRM = 5_000, 20, 100
LIMIT, SEEDS, TARGET = 150_000, range(5), 475.0
MEDIAN_TARGET = 60_000


class SeedLog(gym.Wrapper):
    """CartPole that records the seed of every reset in a shared log."""

    def __init__(self, env: gym.Env, log: list[Any]) -> None:
        super().__init__(env)
        self.log = log

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        self.log.append(seed)
        return super().reset(seed=seed, options=options)


def fresh_mean(
    agent: MaxEntReinforce, n_episodes: int, log: list[Any]
) -> float:
    """Mean return of ``n_episodes`` episodes on seeds no reset used before."""
    before = len(log)
    returns = agent.evaluate(n_episodes)  # the agent's own evaluation stream
    used, new = log[:before], log[before:]
    if None in new or len(set(new)) != n_episodes or set(new) & set(used):
        raise RuntimeError("an evaluation reused a seed: it is not fresh")
    return float(returns.mean())


def run(seed: int, config: ReinforceConfig = CONFIG) -> dict[str, Any]:
    """Train one seed to its first confirmed solve (or to ``LIMIT`` steps)."""
    log: list[Any] = []
    agent = MaxEntReinforce(
        lambda: SeedLog(gym.make("CartPole-v1"), log),
        **dataclasses.asdict(config),
        seed=seed,
    )
    train_seconds = eval_seconds = 0.0
    eval_episodes = screens_passed = 0
    solved, screen, confirm = False, float("nan"), float("nan")
    while agent.env_steps < LIMIT and not solved:
        start = time.perf_counter()
        checkpoint = (agent.env_steps // CHECK_EVERY + 1) * CHECK_EVERY
        agent.train(checkpoint - agent.env_steps, progress=False)
        train_seconds += time.perf_counter() - start
        start = time.perf_counter()
        screen, confirm = fresh_mean(agent, SCREEN, log), float("nan")
        eval_episodes += SCREEN
        if screen >= TARGET:
            screens_passed += 1
            confirm = fresh_mean(agent, CONFIRM, log)
            eval_episodes += CONFIRM
            solved = confirm >= TARGET
        eval_seconds += time.perf_counter() - start
    return {
        "seed": seed,
        "solved": solved,
        "env_steps": agent.env_steps,
        "updates": agent.updates,
        "screen_return": screen,
        "confirm_return": confirm,
        "screens_passed": screens_passed,
        "eval_episodes": eval_episodes,
        "train_seconds": round(train_seconds, 1),
        "eval_seconds": round(eval_seconds, 1),
    }


def summary(rows: list[dict[str, Any]]) -> str:
    """Median and slowest seed; an unsolved seed counts as slower than any."""
    steps = [r["env_steps"] if r["solved"] else float("inf") for r in rows]
    return (
        f"median: {statistics.median(steps):,.0f} env steps to a confirmed "
        f"solve (target <= {MEDIAN_TARGET:,}); slowest seed {max(steps):,.0f} "
        f"(target <= {LIMIT:,}); solved {sum(r['solved'] for r in rows)} "
        f"of {len(rows)}"
    )


def main() -> None:
    print(f"settings: {dataclasses.asdict(CONFIG)} (overrides: {OVERRIDES})")
    print(
        f"checkpoint every {CHECK_EVERY:,} steps: {SCREEN} fresh stochastic "
        f"episodes; if their mean return is >= {TARGET:g}, {CONFIRM} more "
        "fresh episodes with the same parameters must reach it too"
    )
    rows = []
    for seed in SEEDS:
        rows.append(run(seed))
        r = rows[-1]
        print(
            f"seed {r['seed']}: solved={r['solved']} at "
            f"{r['env_steps']:>7,} env steps ({r['updates']} updates), "
            f"screen {r['screen_return']:.1f}, confirmed "
            f"{r['confirm_return']:.1f} (screens passed: "
            f"{r['screens_passed']}); {r['train_seconds']:.1f} s training, "
            f"{r['eval_seconds']:.1f} s for {r['eval_episodes']} "
            "evaluation episodes",
            flush=True,
        )
    print(summary(rows))
    out = Path(__file__).with_name("results") / "rl_cartpole.csv"
    out.parent.mkdir(exist_ok=True)
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
