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

import csv
import time
from pathlib import Path

import numpy as np
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
    results = Path(__file__).with_name("results")
    results.mkdir(exist_ok=True)
    train, test = digits_split()
    mean_image = train.mean(axis=0)
    rows = []
    for beta in BETAS:
        for seed in SEEDS:
            start = time.perf_counter()
            vae = VAE(beta=beta, seed=seed, progress=False, **SETTINGS)
            vae.fit(train)
            rate = vae.kl(test)
            distortion = -vae.elbo(test, n_samples=16, seed=seed) - rate
            decoded = vae.decode(vae.encode(test)[0])
            rows.append(
                {
                    "beta": beta,
                    "seed": seed,
                    "rate": round(float(rate.mean()), 5),
                    "distortion": round(float(distortion.mean()), 5),
                    "negative_elbo": round(
                        float((rate + distortion).mean()), 5
                    ),
                    "max_distance_to_mean_image": round(
                        float(np.abs(decoded - mean_image).max()), 5
                    ),
                }
            )
            print(
                f"beta={beta} seed={seed}: rate {rows[-1]['rate']:.3f}, "
                f"distortion {rows[-1]['distortion']:.3f} "
                f"({time.perf_counter() - start:.1f} s)",
                flush=True,
            )
    with open(results / "vae_beta_sweep.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
