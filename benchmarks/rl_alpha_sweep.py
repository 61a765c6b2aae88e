"""CartPole-v1 learning curves for several temperatures alpha and seeds (chapter 5's data).

Regenerate with ``.venv/bin/python benchmarks/rl_alpha_sweep.py`` (about five minutes on
two cores). Writes ``benchmarks/results/cartpole_alpha_sweep.csv`` (one row per update:
alpha, seed, env_steps, mean_return, mean_soft_return, entropy) and saves the agent of
the first seed at alpha = 0.1 to ``benchmarks/results/cartpole_agent.pt``, which the
chapter loads to draw a trajectory. The chapter only reads these files: the sweep is
too long to run on every build.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

from klcourse.rl import MaxEntReinforce, ReinforceConfig

ALPHAS, SEEDS, STEPS = (0.0, 0.1, 1.0, 5.0), range(3), 60_000
# ReinforceConfig's defaults, with the discount CartPole's long episodes need;
# alpha is set per run below.
CONFIG = ReinforceConfig(gamma=0.99)


def main() -> None:
    results = Path(__file__).with_name("results")
    results.mkdir(exist_ok=True)
    rows = []
    for alpha in ALPHAS:
        for seed in SEEDS:
            config = dataclasses.replace(CONFIG, alpha=alpha)
            agent = MaxEntReinforce("CartPole-v1", config=config, seed=seed)
            history = agent.train(STEPS, progress=False)
            rows += [{"alpha": alpha, "seed": seed, **{k: round(v, 4) for k, v in h.items() if k != "wall_time"}}
                     for h in history]
            print(f"alpha={alpha} seed={seed}: final mean return {history[-1]['mean_return']:.1f}", flush=True)
            if alpha == 0.1 and seed == 0:
                agent.save(results / "cartpole_agent.pt")
    with open(results / "cartpole_alpha_sweep.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
