"""The rate-distortion trade-off of a VAE on the 8x8 digits, over beta (chapter 6's data).

Regenerate with ``.venv/bin/python benchmarks/vae_beta_sweep.py`` (a few minutes on two
cores). For every beta and seed it trains ``klcourse.VAE`` on the chapter's training
split of scikit-learn's digits (binarised at half intensity) and writes one row to
``benchmarks/results/vae_beta_sweep.csv``: beta, seed, the held-out rate (the average
KL(q(z|x) || N(0, I))), distortion (the average E_q[-log p(x|z)], from 16 samples per
image), their sum (the negative ELBO) and the largest distance of any decoded test image
from the mean training image. The chapter only reads this file.
"""

from __future__ import annotations

import numpy as np
from _sweep import run_sweep
from sklearn.datasets import load_digits

from klcourse import VAE

BETAS = (0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)
SEEDS = range(3)
# The chapter's settings: the same split and the same VAE as its live fit.
SETTINGS = {
    "latent_dim": 2,
    "hidden": (128,),
    "epochs": 80,
    "lr": 3e-3,
    "batch_size": 64,
}
N_TRAIN = 1400


def digits_split() -> tuple[np.ndarray, np.ndarray]:
    images = (load_digits().data > 7).astype(float)
    order = np.random.default_rng(0).permutation(len(images))
    return images[order[:N_TRAIN]], images[order[N_TRAIN:]]


def main() -> None:
    train, test = digits_split()
    mean_image = train.mean(axis=0)

    def measure(beta: float, seed: int) -> dict[str, float]:
        vae = VAE(beta=beta, seed=seed, progress=False, **SETTINGS)
        vae.fit(train)
        rate = vae.kl(test)
        distortion = -vae.elbo(test, n_samples=16, seed=seed) - rate
        decoded = vae.decode(vae.encode(test)[0])
        return {
            "rate": rate.mean(),
            "distortion": distortion.mean(),
            "negative_elbo": (rate + distortion).mean(),
            "max_distance_to_mean_image": np.abs(decoded - mean_image).max(),
        }

    runs = [{"beta": beta, "seed": seed} for beta in BETAS for seed in SEEDS]
    run_sweep("vae_beta_sweep", runs, measure, shown=("rate", "distortion"))


if __name__ == "__main__":
    main()
