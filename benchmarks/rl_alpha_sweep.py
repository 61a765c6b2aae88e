"""CartPole-v1 learning curves at several temperatures alpha (chapter 5's data).

Regenerate with ``.venv/bin/python benchmarks/rl_alpha_sweep.py`` (about ten
minutes on two cores). Writes ``benchmarks/results/cartpole_alpha_sweep.csv``
(one row per update: alpha, seed, env_steps, mean_return, mean_soft_return,
entropy) and saves the agent of seed 0 at alpha = 0.01 to
``benchmarks/results/cartpole_agent.pt``; the chapter loads it to show an
episode. The chapter only reads these files: the sweep is too long to run on
every build.

The settings are those of ``benchmarks/rl_cartpole.py`` (the agent's
defaults with a discount of 0.99 and batches of 1,000 steps), with alpha
varied. Every run has the same budget of environment steps.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

from klcourse.rl import MaxEntReinforce, ReinforceConfig

ALPHAS, SEEDS, STEPS = (0.01, 5.0, 7.0, 10.0), range(5), 100_000
CONFIG = ReinforceConfig(gamma=0.99, batch_steps=1_000)
SAVED = (0.01, 0)  # (alpha, seed) of the agent the chapter shows


def main() -> None:
    results = Path(__file__).with_name("results")
    results.mkdir(exist_ok=True)
    rows = []
    for alpha in ALPHAS:
        for seed in SEEDS:
            config = dataclasses.replace(CONFIG, alpha=alpha)
            agent = MaxEntReinforce("CartPole-v1", config=config, seed=seed)
            history = agent.train(STEPS, progress=False)
            rows += [
                {
                    "alpha": alpha,
                    "seed": seed,
                    **{
                        k: round(v, 4)
                        for k, v in h.items()
                        if k != "wall_time"
                    },
                }
                for h in history
            ]
            print(
                f"alpha={alpha} seed={seed}: final mean return "
                f"{history[-1]['mean_return']:.1f}, entropy "
                f"{history[-1]['entropy']:.3f}",
                flush=True,
            )
            if (alpha, seed) == SAVED:
                agent.save(results / "cartpole_agent.pt")
    with open(results / "cartpole_alpha_sweep.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
