"""CartPole-v1 learning curves at several temperatures alpha (chapter 5's data).

Regenerate with ``.venv/bin/python benchmarks/rl_alpha_sweep.py`` (one run of
100,000 steps takes 15 s of CPU, about a minute of wall time on a busy
two-core machine; 30 runs in all). Writes ``benchmarks/results/cartpole_alpha_sweep.csv``
(one row per update: alpha, seed, env_steps, mean_return, mean_soft_return,
entropy) and saves the agent of seed 0 at alpha = 0.01 to
``benchmarks/results/cartpole_agent.pt``; the chapter loads it to show an
episode. The chapter only reads these files: the sweep is too long to run on
every build.

The settings are those of ``benchmarks/rl_cartpole.py`` (the agent's
defaults with a discount of 0.99 and batches of 1,000 steps), with alpha
varied. Every run has the same budget of environment steps.

``--alphas 1 2 --append`` runs only those temperatures and appends their rows
to the existing CSV (this is how alpha = 1 and 2 were added to the first
sweep of 0.01, 5, 7 and 10); the saved agent is rewritten only when its
(alpha, seed) is run.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import fcntl
from pathlib import Path

from klcourse.rl import MaxEntReinforce, ReinforceConfig

ALPHAS, SEEDS, STEPS = (0.01, 1.0, 2.0, 5.0, 7.0, 10.0), range(5), 100_000
CONFIG = ReinforceConfig(gamma=0.99, batch_steps=1_000)
SAVED = (0.01, 0)  # (alpha, seed) of the agent the chapter shows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alphas", type=float, nargs="+", default=ALPHAS)
    parser.add_argument(
        "--append", action="store_true", help="append to the existing CSV"
    )
    args = parser.parse_args()
    results = Path(__file__).with_name("results")
    results.mkdir(exist_ok=True)
    rows = []
    for alpha in args.alphas:
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
    mode = "a" if args.append else "w"
    with open(results / "cartpole_alpha_sweep.csv", mode, newline="") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # parallel appends stay whole
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        if not args.append:
            writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
