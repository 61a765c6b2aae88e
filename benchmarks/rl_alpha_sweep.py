"""CartPole-v1 learning curves at several temperatures alpha (chapter 5's data).

Regenerate with ``.venv/bin/python benchmarks/rl_alpha_sweep.py`` (30 runs of
100,000 steps; each prints its wall time, and the sweep its total). Writes
``benchmarks/results/cartpole_alpha_sweep.csv``
(one row per update: alpha, seed, env_steps, mean_return, mean_soft_return,
entropy) and saves the agent of seed 0 at alpha = 0.01 to
``benchmarks/results/cartpole_agent.pt``; the chapter loads it to show an
episode. The chapter only reads these files: the sweep is too long to run on
every build.

The settings are those of ``benchmarks/rl_cartpole.py`` (imported from it,
so that the two cannot drift apart), with alpha varied. Every run has the
same budget of environment steps.

``--alphas 1 2 --append`` runs only those temperatures and appends their rows
to the existing CSV; the saved agent is rewritten only when its (alpha, seed)
is run.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import fcntl
import time
from pathlib import Path

from rl_cartpole import CONFIG  # the benchmark's settings

from klcourse.rl import MaxEntReinforce

ALPHAS, SEEDS, STEPS = (0.01, 1.0, 2.0, 5.0, 7.0, 10.0), range(5), 100_000
SAVED = (0.01, 0)  # (alpha, seed) of the agent the chapter shows
SKIPPED = ("update", "wall_time")  # history columns the CSV leaves out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alphas", type=float, nargs="+", default=ALPHAS)
    parser.add_argument(
        "--append", action="store_true", help="append to the existing CSV"
    )
    args = parser.parse_args()
    results = Path(__file__).with_name("results")
    results.mkdir(exist_ok=True)
    rows, start = [], time.perf_counter()
    for alpha in args.alphas:
        for seed in SEEDS:
            run_start = time.perf_counter()
            config = dataclasses.replace(CONFIG, alpha=alpha)
            agent = MaxEntReinforce(
                "CartPole-v1", **dataclasses.asdict(config), seed=seed
            )
            history = agent.train(STEPS, progress=False)
            columns = [k for k in history if k not in SKIPPED]
            rows += [
                {
                    "alpha": alpha,
                    "seed": seed,
                    **{k: round(float(history[k][i]), 4) for k in columns},
                }
                for i in range(history.n_rows)
            ]
            print(
                f"alpha={alpha} seed={seed}: final mean return "
                f"{history['mean_return'][-1]:.1f}, entropy "
                f"{history['entropy'][-1]:.3f} "
                f"({time.perf_counter() - run_start:.0f} s)",
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
    print(f"{len(rows)} updates in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
