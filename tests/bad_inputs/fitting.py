"""Bad inputs for klcourse.fitting: a Gaussian fitted by forward or reverse KL."""

from __future__ import annotations

import math

import numpy as np
import torch

from bad_inputs._case import Case, is_inf, raises, returns
from klcourse import (
    GaussianParams,
    alpha_divergence,
    bimodal,
    fit_gaussian,
    fit_gaussian_alpha,
    forward_kl_optimum,
    kl_landscape,
    kl_quadrature,
    reverse_kl_optimum,
)

D = torch.distributions
P = bimodal()
SHORT = {"updates": 3, "n_samples": 20, "seed": 0}  # a fit that stops at once


def _f64(value: float) -> torch.Tensor:
    return torch.tensor(value, dtype=torch.float64)


def _cauchy() -> D.Cauchy:
    return D.Cauchy(_f64(0.0), _f64(1.0))


def _uniform() -> D.Uniform:
    return D.Uniform(_f64(0.0), _f64(1.0))


def _finite_non_negative(value: object) -> bool:
    return bool(math.isfinite(float(value)) and float(value) >= 0)


CASES = [
    # --- bimodal -----------------------------------------------------------------
    Case(
        "bimodal",
        "numeric strings for weights",
        lambda: bimodal(weights=("0.3", "0.7")),
        raises(TypeError, "weights", "text"),
    ),
    Case(
        "bimodal",
        "weights that do not sum to 1",
        lambda: bimodal(weights=(0.5, 0.6)),
        raises(ValueError, "weights", "sum to 1"),
    ),
    Case(
        "bimodal",
        "a zero std",
        lambda: bimodal(stds=(0.8, 0.0)),
        raises(ValueError, "stds", "positive"),
    ),
    Case(
        "bimodal",
        "three means",
        lambda: bimodal(means=(0.0, 1.0, 2.0)),
        raises(ValueError, "means", "two"),
    ),
    Case(
        "bimodal",
        "a NaN mean",
        lambda: bimodal(means=(0.0, math.nan)),
        raises(ValueError, "means", "finite"),
    ),
    Case(
        "bimodal",
        "booleans for stds",
        lambda: bimodal(stds=(True, True)),
        raises(TypeError, "stds", "booleans"),
    ),
    Case(
        "bimodal",
        "no weights",
        lambda: bimodal(weights=()),
        raises(ValueError, "weights"),
    ),
    # --- GaussianParams ----------------------------------------------------------
    Case(
        "GaussianParams",
        "a numeric string mu",
        lambda: GaussianParams(mu="0", sigma=1.0),
        raises(TypeError, "mu"),
    ),
    Case(
        "GaussianParams",
        "bool mu",
        lambda: GaussianParams(mu=True, sigma=1.0),
        raises(TypeError, "mu"),
    ),
    Case(
        "GaussianParams",
        "a negative sigma",
        lambda: GaussianParams(mu=0.0, sigma=-1.0),
        raises(ValueError, "sigma", "positive"),
    ),
    Case(
        "GaussianParams",
        "an infinite sigma",
        lambda: GaussianParams(mu=0.0, sigma=math.inf),
        raises(ValueError, "sigma", "finite"),
    ),
    Case(
        "GaussianParams",
        "a NaN mu",
        lambda: GaussianParams(mu=math.nan, sigma=1.0),
        raises(ValueError, "mu"),
    ),
    # --- forward_kl_optimum ------------------------------------------------------
    Case(
        "forward_kl_optimum",
        "an array for p",
        lambda: forward_kl_optimum(np.zeros(3)),
        raises(TypeError, "p"),
    ),
    Case(
        "forward_kl_optimum",
        "a Cauchy p (no mean, no variance)",
        lambda: forward_kl_optimum(_cauchy()),
        raises(ValueError, "p", "finite mean and variance"),
    ),
    Case(
        "forward_kl_optimum",
        "a Student-t(1.5) p (no variance)",
        lambda: forward_kl_optimum(D.StudentT(_f64(1.5))),
        raises(ValueError, "p", "finite mean and variance"),
    ),
    Case(
        "forward_kl_optimum",
        "a batch of distributions",
        lambda: forward_kl_optimum(D.Normal(torch.zeros(2), torch.ones(2))),
        raises(ValueError, "p", "univariate"),
    ),
    # --- reverse_kl_optimum ------------------------------------------------------
    Case(
        "reverse_kl_optimum",
        "numeric strings for init",
        lambda: reverse_kl_optimum(P, init=("0", "1")),
        raises(TypeError, "init"),
    ),
    Case(
        "reverse_kl_optimum",
        "a string init",
        lambda: reverse_kl_optimum(P, init="01"),
        raises(TypeError, "init"),
    ),
    Case(
        "reverse_kl_optimum",
        "bool in init",
        lambda: reverse_kl_optimum(P, init=(True, 1.0)),
        raises(TypeError, "init"),
    ),
    Case(
        "reverse_kl_optimum",
        "a negative sigma in init",
        lambda: reverse_kl_optimum(P, init=(0.0, -1.0)),
        raises(ValueError, "init", "positive sigma"),
    ),
    Case(
        "reverse_kl_optimum",
        "three numbers for init",
        lambda: reverse_kl_optimum(P, init=(0.0, 1.0, 2.0)),
        raises(TypeError, "init", "pair"),
    ),
    Case(
        "reverse_kl_optimum",
        "a p with bounded support (KL(Q||P) infinite for every Q)",
        lambda: reverse_kl_optimum(_uniform(), init=(0.5, 0.1)),
        raises(ValueError, "p", "support"),
    ),
    # --- fit_gaussian ------------------------------------------------------------
    Case(
        "fit_gaussian",
        "an unknown direction",
        lambda: fit_gaussian(P, direction="sideways"),
        raises(ValueError, "direction"),
    ),
    Case(
        "fit_gaussian",
        "zero updates",
        lambda: fit_gaussian(P, updates=0),
        raises(ValueError, "updates"),
    ),
    Case(
        "fit_gaussian",
        "a numeric string for updates",
        lambda: fit_gaussian(P, updates="10"),
        raises(TypeError, "updates"),
    ),
    Case(
        "fit_gaussian",
        "a history too long for memory",
        lambda: fit_gaussian(P, updates=10**12),
        raises(ValueError, "updates", "GiB"),
    ),
    Case(
        "fit_gaussian",
        "a zero learning rate",
        lambda: fit_gaussian(P, lr=0.0),
        raises(ValueError, "lr"),
    ),
    Case(
        "fit_gaussian",
        "a numeric string for lr",
        lambda: fit_gaussian(P, lr="0.05"),
        raises(TypeError, "lr"),
    ),
    Case(
        "fit_gaussian",
        "bool lr",
        lambda: fit_gaussian(P, lr=True),
        raises(TypeError, "lr"),
    ),
    Case(
        "fit_gaussian",
        "one sample per step",
        lambda: fit_gaussian(P, n_samples=1),
        raises(ValueError, "n_samples"),
    ),
    Case(
        "fit_gaussian",
        "more samples than memory holds",
        lambda: fit_gaussian(P, n_samples=10**12),
        raises(ValueError, "n_samples", "GiB"),
    ),
    Case(
        "fit_gaussian",
        "a float seed",
        lambda: fit_gaussian(P, seed=1.5),
        raises(TypeError, "seed"),
    ),
    Case(
        "fit_gaussian",
        "a string for entropy",
        lambda: fit_gaussian(P, direction="reverse", entropy="no"),
        raises(TypeError, "entropy"),
    ),
    Case(
        "fit_gaussian",
        "samples with a NaN",
        lambda: fit_gaussian(np.array([0.0, np.nan, 1.0]), **SHORT),
        raises(ValueError, "p", "finite"),
    ),
    Case(
        "fit_gaussian",
        "samples as numeric strings",
        lambda: fit_gaussian(["0.1", "0.5", "0.9"], **SHORT),
        raises(TypeError, "p", "text"),
    ),
    Case(
        "fit_gaussian",
        "samples of shape (n, 2)",
        lambda: fit_gaussian(np.zeros((3, 2)), **SHORT),
        raises(ValueError, "p", "1-D"),
    ),
    Case(
        "fit_gaussian",
        "a log-density for the forward direction",
        lambda: fit_gaussian(P.log_prob, direction="forward", **SHORT),
        raises(TypeError, "p", "samples"),
    ),
    Case(
        "fit_gaussian",
        "samples for the reverse direction",
        lambda: fit_gaussian(np.zeros(10), direction="reverse", **SHORT),
        raises(TypeError, "p", "log P"),
    ),
    Case(
        "fit_gaussian",
        "a log-density returning NumPy",
        lambda: fit_gaussian(
            lambda x: np.zeros(x.shape), direction="reverse", **SHORT
        ),
        raises(TypeError, "p", "tensor"),
    ),
    Case(
        "fit_gaussian",
        "a log-density returning one number",
        lambda: fit_gaussian(
            lambda x: P.log_prob(x).sum(), direction="reverse", **SHORT
        ),
        raises(ValueError, "p", "one value per point"),
    ),
    Case(
        "fit_gaussian",
        "reverse KL to a p with bounded support",
        lambda: fit_gaussian(_uniform(), direction="reverse", **SHORT),
        raises(ValueError, "p", "support"),
    ),
    Case(
        "fit_gaussian",
        "forward KL to a Cauchy (infinite for every Gaussian)",
        lambda: fit_gaussian(_cauchy(), direction="forward", **SHORT).kl,
        returns(is_inf, "kl = inf"),
    ),
    # --- GaussianFit -------------------------------------------------------------
    Case(
        "GaussianFit",
        "kl of a fit to samples alone",
        lambda: fit_gaussian(np.linspace(-1.0, 1.0, 11), **SHORT).kl,
        returns(lambda kl: kl is None, "None (no density to integrate)"),
    ),
    Case(
        "GaussianFit",
        "kl of a reverse fit to a Cauchy",
        lambda: fit_gaussian(_cauchy(), direction="reverse", **SHORT).kl,
        returns(_finite_non_negative, "a finite, non-negative KL(Q||P)"),
    ),
    # --- kl_landscape ------------------------------------------------------------
    Case(
        "kl_landscape",
        "an unknown direction",
        lambda: kl_landscape(P, 0.0, 0.0, direction="both"),
        raises(ValueError, "direction"),
    ),
    Case(
        "kl_landscape",
        "NaN log_sigma",
        lambda: kl_landscape(P, 0.0, math.nan, direction="reverse"),
        raises(ValueError, "log_sigma", "finite"),
    ),
    Case(
        "kl_landscape",
        "log_sigma whose exp overflows",
        lambda: kl_landscape(P, 0.0, 1000.0, direction="forward"),
        raises(ValueError, "log_sigma"),
    ),
    Case(
        "kl_landscape",
        "numeric strings for mu",
        lambda: kl_landscape(P, ["0", "1"], 0.0, direction="forward"),
        raises(TypeError, "mu", "text"),
    ),
    Case(
        "kl_landscape",
        "grids that do not broadcast",
        lambda: kl_landscape(P, np.zeros(3), np.zeros(4), direction="forward"),
        raises(ValueError, "mu", "log_sigma", "broadcast"),
    ),
    Case(
        "kl_landscape",
        "a grid too large for memory",
        lambda: kl_landscape(
            P, np.zeros((100_000, 1)), np.zeros(100_000), direction="reverse"
        ),
        raises(ValueError, "mu", "log_sigma", "GiB"),
    ),
    Case(
        "kl_landscape",
        "forward KL to a Cauchy",
        lambda: kl_landscape(_cauchy(), 0.0, 0.0, direction="forward"),
        raises(ValueError, "p", "finite mean and variance"),
    ),
    Case(
        "kl_landscape",
        "reverse KL to a p with bounded support",
        lambda: kl_landscape(_uniform(), [0.0, 0.5], 0.0, direction="reverse"),
        returns(is_inf, "inf everywhere"),
    ),
    Case(
        "kl_landscape",
        "p given as samples",
        lambda: kl_landscape(np.zeros(5), 0.0, 0.0, direction="forward"),
        raises(TypeError, "p"),
    ),
    # --- alpha_divergence --------------------------------------------------------
    Case(
        "alpha_divergence",
        "a string alpha",
        lambda: alpha_divergence(P, 0.0, 1.0, alpha="half"),
        raises(TypeError, "alpha"),
    ),
    Case(
        "alpha_divergence",
        "an infinite alpha",
        lambda: alpha_divergence(P, 0.0, 1.0, alpha=math.inf),
        raises(ValueError, "alpha"),
    ),
    Case(
        "alpha_divergence",
        "bool alpha",
        lambda: alpha_divergence(P, 0.0, 1.0, alpha=True),
        raises(TypeError, "alpha"),
    ),
    Case(
        "alpha_divergence",
        "a zero sigma",
        lambda: alpha_divergence(P, 0.0, 0.0, alpha=0.5),
        raises(ValueError, "sigma", "positive"),
    ),
    Case(
        "alpha_divergence",
        "a numeric string mu",
        lambda: alpha_divergence(P, "0", 1.0, alpha=0.5),
        raises(TypeError, "mu"),
    ),
    Case(
        "alpha_divergence",
        "a grid of two points",
        lambda: alpha_divergence(P, 0.0, 1.0, alpha=0.5, n_grid=2),
        raises(ValueError, "n_grid"),
    ),
    Case(
        "alpha_divergence",
        "a grid too large for memory",
        lambda: alpha_divergence(P, 0.0, 1.0, alpha=0.5, n_grid=10**10),
        raises(ValueError, "n_grid", "GiB"),
    ),
    Case(
        "alpha_divergence",
        "a Cauchy p",
        lambda: alpha_divergence(_cauchy(), 0.0, 1.0, alpha=0.5),
        raises(ValueError, "p", "finite mean and variance"),
    ),
    Case(
        "alpha_divergence",
        "reverse limit for a p with bounded support",
        lambda: alpha_divergence(_uniform(), 0.5, 0.1, alpha=0.0),
        returns(is_inf, "inf"),
    ),
    Case(
        "alpha_divergence",
        "alpha < 0 for a p with bounded support",
        lambda: alpha_divergence(_uniform(), 0.5, 0.1, alpha=-0.5),
        returns(is_inf, "inf"),
    ),
    Case(
        "alpha_divergence",
        "forward limit for a p with bounded support",
        lambda: alpha_divergence(_uniform(), 0.5, 0.3, alpha=1.0),
        returns(_finite_non_negative, "a finite, non-negative KL(P||Q)"),
    ),
    Case(
        "alpha_divergence",
        "alpha = 2 with a Q much narrower than P (was 2e31)",
        lambda: alpha_divergence(
            bimodal(weights=(0.5, 0.5), means=(-0.7, -0.7), stds=(1.3, 1.3)),
            0.5,
            0.8,
            alpha=2.0,
        ),
        returns(is_inf, "inf (p^2 / q grows in both tails)"),
    ),
    Case(
        "alpha_divergence",
        "the forward limit for a Student-t(2.5) p (was 0.88)",
        lambda: alpha_divergence(D.StudentT(_f64(2.5)), 0.0, 1.0, alpha=1.0),
        returns(
            lambda v: math.isclose(
                v,
                kl_quadrature(
                    D.StudentT(_f64(2.5)), D.Normal(_f64(0.0), _f64(1.0))
                ),
                rel_tol=1e-9,
            ),
            "kl_quadrature's 1.5712",
        ),
    ),
    Case(
        "alpha_divergence",
        "a float32 alpha",
        lambda: alpha_divergence(P, 0.0, 1.0, alpha=np.float32(0.5)),
        returns(_finite_non_negative, "the alpha = 1/2 value"),
    ),
    # --- fit_gaussian_alpha ------------------------------------------------------
    Case(
        "fit_gaussian_alpha",
        "a numeric string alpha",
        lambda: fit_gaussian_alpha(P, alpha="0"),
        raises(TypeError, "alpha"),
    ),
    Case(
        "fit_gaussian_alpha",
        "a zero sigma in init",
        lambda: fit_gaussian_alpha(P, alpha=0.5, init=(0.0, 0.0)),
        raises(ValueError, "init"),
    ),
    Case(
        "fit_gaussian_alpha",
        "a Cauchy p",
        lambda: fit_gaussian_alpha(_cauchy(), alpha=0.5),
        raises(ValueError, "p", "finite mean and variance"),
    ),
    Case(
        "fit_gaussian_alpha",
        "reverse KL to a p with bounded support",
        lambda: fit_gaussian_alpha(_uniform(), alpha=0.0, init=(0.5, 0.1)),
        raises(ValueError, "p", "support"),
    ),
]
