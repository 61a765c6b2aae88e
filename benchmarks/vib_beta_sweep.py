"""The variational information bottleneck on few, noisy digit labels, over beta (chapter 6).

Regenerate with ``.venv/bin/python benchmarks/vib_beta_sweep.py`` (a few minutes on two
cores). For every seed it draws 300 training and 300 validation images of scikit-learn's
8x8 digits (the other 1,197 are the test set, with their true labels), and for a label
noise of 0 and 0.4 replaces that fraction of the training and of the validation labels
by classes drawn uniformly at random: whoever tunes beta sees labels as noisy as the
ones the model learns from. For every beta it trains ``klcourse.VIBClassifier`` and
writes one row to ``benchmarks/results/vib_beta_sweep.csv``: beta, label_noise, seed,
the test accuracy, the average KL(q(z|x) || N(0, I)) on the test and training inputs
(the rate, an upper bound on I(X; Z)), the training accuracy against the labels it was
given and against the true ones, and the validation accuracy against the validation
set's (noisy) labels, the score by which to choose beta. The chapter only reads this
file.
"""

from __future__ import annotations

import functools

import numpy as np
from _sweep import run_sweep
from sklearn.datasets import load_digits

from klcourse import VIBClassifier

BETAS = (0.0, 1e-3, 1e-2, 3e-2, 0.1, 0.2, 0.3, 1.0)
NOISES = (0.0, 0.4)
SEEDS = range(5)
N_TRAIN = 300
N_VALIDATION = 300
# The chapter's settings, as in its live fits.
SETTINGS = {
    "latent_dim": 8,
    "hidden": (128,),
    "epochs": 200,
    "lr": 2e-3,
    "batch_size": 64,
}


def corrupt(
    labels: np.ndarray, noise: float, rng: np.random.Generator
) -> np.ndarray:
    """A copy of ``labels`` with each replaced by a uniform class w.p. ``noise``."""
    given = labels.copy()
    replaced = rng.random(len(labels)) < noise
    given[replaced] = rng.integers(0, 10, replaced.sum())
    return given


@functools.cache
def noisy_split(seed: int, noise: float) -> dict[str, np.ndarray]:
    """Training and validation inputs with noisy labels, and a clean test set.

    The training set, its noisy labels and the test set are drawn first, so they
    do not depend on the size of the validation set.
    """
    digits = load_digits()
    inputs, labels = digits.data / 16.0, digits.target
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(inputs))
    train = order[:N_TRAIN]
    validation = order[N_TRAIN : N_TRAIN + N_VALIDATION]
    test = order[N_TRAIN + N_VALIDATION :]
    given = corrupt(labels[train], noise, rng)  # first: as before validation
    y_val = corrupt(labels[validation], noise, rng)
    return {
        "x_train": inputs[train],
        "given": given,
        "true": labels[train],
        "x_val": inputs[validation],
        "y_val": y_val,
        "x_test": inputs[test],
        "y_test": labels[test],
    }


def measure(beta: float, label_noise: float, seed: int) -> dict[str, float]:
    data = noisy_split(seed, label_noise)
    x_train, given = data["x_train"], data["given"]
    model = VIBClassifier(beta=beta, seed=seed, progress=False, **SETTINGS)
    model.fit(x_train, given)
    return {
        "test_accuracy": model.score(data["x_test"], data["y_test"]),
        "test_rate": model.kl(data["x_test"]).mean(),
        "train_rate": model.kl(x_train).mean(),
        "train_accuracy_given": model.score(x_train, given),
        "train_accuracy_true": model.score(x_train, data["true"]),
        "val_accuracy": model.score(data["x_val"], data["y_val"]),
    }


def main() -> None:
    runs = [
        {"beta": beta, "label_noise": noise, "seed": seed}
        for noise in NOISES
        for seed in SEEDS
        for beta in BETAS
    ]
    run_sweep(
        "vib_beta_sweep", runs, measure, shown=("test_accuracy", "test_rate")
    )


if __name__ == "__main__":
    main()
