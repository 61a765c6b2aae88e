"""How much a mixture-density network's fit depends on its seed (chapter 4).

Regenerate with ``.venv/bin/python benchmarks/mixture_seeds.py`` (a few minutes on two
cores). On three bimodal tasks it fits ``Regressor(likelihood="mixture",
n_components=2)`` with chapter 4's settings (two hidden layers of 32 units, 40 epochs,
everything else at its default) from 20 seeds, and measures each fit as chapter 4
does: the expected forward KL from the true p(y|x) to the model's q(y|x), computed at
each of 300 inputs evenly spaced over [-3, 3] by Gauss-Hermite quadrature
(``kl_gauss_hermite``) and averaged over them.

The tasks, 1,000 training points each with x uniform on [-3, 3] and f(x) = sin(1.5 x)
+ 0.3 x:

- ``chapter``: chapter 4's own, ``make_regression_task(1_000, noise="bimodal",
  seed=0)``: equal modes at f(x) - 1 and f(x) + 1, standard deviation 0.15;
- ``wide``: equal modes at f(x) - 3 and f(x) + 3, standard deviation 0.3;
- ``offset``: 0.7 N(4 + sin x, 0.15^2) + 0.3 N(7 + 0.4 x, 0.3^2), unequal weights
  and widths, and both modes far from 0.

A fit has *collapsed* when at some input of the grid one of the two true modes is
not covered, a mode being covered when a component with weight at least 0.05 has its
mean within a quarter of the distance between the two true modes. A component whose
weight stays below 0.05, or two components on one mode, leave a mode uncovered.
Two diagnostics are recorded as well: ``peak_weight_min``, the smaller of the two
components' largest weights over the grid (below 0.05: a component is unused), and
``mean_gap_min``, the smallest distance between the two components' means over the
grid, as a fraction of the distance between the true modes there (near 0: the two
components sit together).

The target: on every task no fit collapses and the worst seed's KL is below twice
the best seed's. Each task's 20 KLs, the best, the worst/best ratio and the
collapse check are printed; one row per fit goes to
``benchmarks/results/mixture_seeds.csv``.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from klcourse import Regressor, make_regression_task
from klcourse.divergences import kl_gauss_hermite
from klcourse.supervised import noise_distribution, true_function

RESULTS = Path(__file__).with_name("results")
SEEDS = range(20)
N_TRAIN = 1_000
GRID = np.linspace(-3, 3, 300)  # chapter 4's x_plot
# Chapter 4's settings for its mixture-density network.
SETTINGS = {"hidden": (32, 32), "n_components": 2, "epochs": 40}
#: A component lighter than this does not count as covering a mode.
MIN_WEIGHT = 0.05
#: The worst seed's KL must stay below this multiple of the best seed's.
MAX_RATIO = 2.0

D = torch.distributions


@dataclass(frozen=True)
class Task:
    """A p(y|x) with two Normal modes: means(x) of shape (n, 2), fixed scales."""

    name: str
    means: Callable[[np.ndarray], np.ndarray]
    scales: tuple[float, float]
    weights: tuple[float, float]

    def truth(self, x: np.ndarray) -> D.MixtureSameFamily:
        n = len(x)
        return D.MixtureSameFamily(
            D.Categorical(
                probs=torch.tensor(self.weights, dtype=torch.float64).expand(
                    n, 2
                )
            ),
            D.Normal(
                torch.from_numpy(self.means(x)),
                torch.tensor(self.scales, dtype=torch.float64).expand(n, 2),
            ),
        )

    def sample(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        x = np.sort(rng.uniform(-3, 3, n))
        mode = (rng.random(n) < self.weights[1]).astype(int)
        loc = self.means(x)[np.arange(n), mode]
        y = loc + np.asarray(self.scales)[mode] * rng.standard_normal(n)
        return x[:, None], y


def around_f(offset: float) -> Callable[[np.ndarray], np.ndarray]:
    """Modes at f(x) - offset and f(x) + offset."""
    return lambda x: true_function(x)[:, None] + np.array([-offset, offset])


WIDE = Task("wide", around_f(3.0), (0.3, 0.3), (0.5, 0.5))
OFFSET = Task(
    "offset",
    lambda x: np.column_stack([4.0 + np.sin(x), 7.0 + 0.4 * x]),
    (0.15, 0.3),
    (0.7, 0.3),
)


def chapter_task() -> tuple[np.ndarray, np.ndarray, D.MixtureSameFamily]:
    data = make_regression_task(N_TRAIN, noise="bimodal", seed=0)
    truth = noise_distribution(GRID, "bimodal")
    assert isinstance(truth, D.MixtureSameFamily)
    return data.X, data.y, truth


def tasks() -> dict[str, tuple[np.ndarray, np.ndarray, D.MixtureSameFamily]]:
    """Training inputs, targets and the true p(y|x) on the grid, by task."""
    own = {
        task.name: (*task.sample(N_TRAIN, seed=0), task.truth(GRID))
        for task in (WIDE, OFFSET)
    }
    return {"chapter": chapter_task(), **own}


def collapse_check(
    truth: D.MixtureSameFamily, q: D.MixtureSameFamily
) -> dict[str, float]:
    """Whether q misses a true mode anywhere on the grid, and two diagnostics."""
    modes = truth.component_distribution.loc.numpy()  # (grid, 2)
    gap = np.abs(modes[:, 1] - modes[:, 0])
    means = q.component_distribution.loc.numpy()  # (grid, 2)
    weights = q.mixture_distribution.probs.numpy()
    covered = [
        (
            (np.abs(means - modes[:, [j]]) < gap[:, None] / 4)
            & (weights >= MIN_WEIGHT)
        ).any(axis=1)
        for j in range(2)
    ]
    return {
        "collapsed": float(not np.all(covered)),
        "peak_weight_min": float(weights.max(axis=0).min()),
        "mean_gap_min": float((np.abs(means[:, 1] - means[:, 0]) / gap).min()),
    }


def fit_one(
    X: np.ndarray, y: np.ndarray, truth: D.MixtureSameFamily, seed: int
) -> dict[str, float]:
    start = time.perf_counter()
    model = Regressor(likelihood="mixture", seed=seed, **SETTINGS).fit(X, y)
    q = model.predict_dist(GRID[:, None])
    assert isinstance(q, D.MixtureSameFamily)
    return {
        "kl": float(kl_gauss_hermite(truth, q).mean()),
        **collapse_check(truth, q),
        "seconds": time.perf_counter() - start,
    }


def main() -> None:
    rows = []
    verdicts = {}
    for name, (X, y, truth) in tasks().items():
        fits = [fit_one(X, y, truth, seed) for seed in SEEDS]
        kls = np.array([fit["kl"] for fit in fits])
        collapsed = [s for s, fit in zip(SEEDS, fits) if fit["collapsed"]]
        ratio = kls.max() / kls.min()
        verdicts[name] = not collapsed and ratio < MAX_RATIO
        print(f"{name}: expected KL per seed (nats)")
        print("  " + " ".join(f"{kl:.4f}" for kl in kls))
        print(
            f"  best {kls.min():.4f} (seed {SEEDS[kls.argmin()]}),"
            f" worst {kls.max():.4f} (seed {SEEDS[kls.argmax()]}),"
            f" worst/best {ratio:.2f}, median {np.median(kls):.4f}"
        )
        peak = min(fit["peak_weight_min"] for fit in fits)
        gap = min(fit["mean_gap_min"] for fit in fits)
        print(
            f"  collapsed seeds: {collapsed or 'none'}; smallest peak weight"
            f" {peak:.3f}; smallest gap between the means {gap:.2f} of the"
            f" modes' gap; {sum(f['seconds'] for f in fits):.0f} s",
            flush=True,
        )
        rows += [
            {
                "task": name,
                "seed": seed,
                **{k: round(v, 5) for k, v in fit.items()},
            }
            for seed, fit in zip(SEEDS, fits)
        ]
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "mixture_seeds.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for name, ok in verdicts.items():
        print(
            f"{name}: {'meets' if ok else 'MISSES'} the target (no collapse,"
            f" worst/best < {MAX_RATIO:g})"
        )


if __name__ == "__main__":
    main()
