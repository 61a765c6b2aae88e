"""The variational information bottleneck on few, noisy digit labels, over beta (chapter 6).

Regenerate with ``.venv/bin/python benchmarks/vib_beta_sweep.py`` (a few minutes on two
cores). For every seed it draws 300 training images of scikit-learn's 8x8 digits (the
rest are the test set, with their true labels), and for a label noise of 0 and 0.4
replaces that fraction of the training labels by classes drawn uniformly at random.
For every beta it trains ``klcourse.VIBClassifier`` and writes one row to
``benchmarks/results/vib_beta_sweep.csv``: beta, label_noise, seed, the test accuracy,
the average KL(q(z|x) || N(0, I)) on the test and training inputs (the rate, an upper
bound on I(X; Z)), and the training accuracy against the labels it was given and
against the true ones. The chapter only reads this file.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

from klcourse import VIBClassifier

BETAS = (0.0, 1e-3, 1e-2, 3e-2, 0.1, 0.2, 0.3, 1.0)
NOISES = (0.0, 0.4)
SEEDS = range(5)
N_TRAIN = 300
# The chapter's settings, as in its live fits.
SETTINGS = {
    "latent_dim": 8,
    "hidden": (128,),
    "epochs": 200,
    "lr": 2e-3,
    "batch_size": 64,
}


def noisy_split(seed: int, noise: float):
    """Training inputs and (noisy) labels, their true labels, and the test set."""
    digits = load_digits()
    inputs, labels = digits.data / 16.0, digits.target
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(inputs))
    train, test = order[:N_TRAIN], order[N_TRAIN:]
    given = labels[train].copy()
    replaced = rng.random(N_TRAIN) < noise
    given[replaced] = rng.integers(0, 10, replaced.sum())
    return (
        inputs[train],
        given,
        labels[train],
        inputs[test],
        labels[test],
    )


def main() -> None:
    results = Path(__file__).with_name("results")
    results.mkdir(exist_ok=True)
    rows = []
    for noise in NOISES:
        for seed in SEEDS:
            x_train, given, true, x_test, y_test = noisy_split(seed, noise)
            for beta in BETAS:
                start = time.perf_counter()
                model = VIBClassifier(
                    beta=beta, seed=seed, progress=False, **SETTINGS
                ).fit(x_train, given)
                rows.append(
                    {
                        "beta": beta,
                        "label_noise": noise,
                        "seed": seed,
                        "test_accuracy": round(model.score(x_test, y_test), 5),
                        "test_rate": round(float(model.kl(x_test).mean()), 5),
                        "train_rate": round(
                            float(model.kl(x_train).mean()), 5
                        ),
                        "train_accuracy_given": round(
                            model.score(x_train, given), 5
                        ),
                        "train_accuracy_true": round(
                            model.score(x_train, true), 5
                        ),
                    }
                )
                print(
                    f"noise={noise} seed={seed} beta={beta}: test accuracy "
                    f"{rows[-1]['test_accuracy']:.3f}, rate "
                    f"{rows[-1]['test_rate']:.2f} "
                    f"({time.perf_counter() - start:.1f} s)",
                    flush=True,
                )
    with open(results / "vib_beta_sweep.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
