"""Bad inputs for klcourse.divergences: discrete, closed-form and quadrature KL."""

from __future__ import annotations

import math

import numpy as np
import scipy.stats as st
import torch

from bad_inputs._case import Case, close_to, is_inf, raises, returns
from klcourse import (
    cross_entropy,
    entropy,
    kl_divergence,
    kl_gaussian,
    kl_mvn,
    kl_quadrature,
)
from klcourse.divergences import kl_gauss_hermite

D = torch.distributions
HALF = [0.5, 0.5]


def _f64(value: float) -> torch.Tensor:
    return torch.tensor(value, dtype=torch.float64)


def _normal(mu: float = 0.0, sigma: float = 1.0) -> D.Normal:
    return D.Normal(_f64(mu), _f64(sigma))


def _wide(n: int) -> np.ndarray:
    """``n`` copies of [0.5, 0.5] as a read-only broadcast view (no memory)."""
    return np.broadcast_to(np.array(HALF), (n, 1, 2))


CASES = [
    # --- kl_divergence -----------------------------------------------------------
    Case(
        "kl_divergence",
        "numeric strings as probabilities",
        lambda: kl_divergence(["0.5", "0.5"], HALF),
        raises(TypeError, "p", "text"),
    ),
    Case(
        "kl_divergence",
        "a string for q",
        lambda: kl_divergence(HALF, "0.5 0.5"),
        raises(TypeError, "q"),
    ),
    Case(
        "kl_divergence",
        "numbers and numeric strings mixed",
        lambda: kl_divergence(HALF, [0.5, "0.5"]),
        raises(TypeError, "q"),
    ),
    Case(
        "kl_divergence",
        "booleans as probabilities",
        lambda: kl_divergence([True, False], HALF),
        raises(TypeError, "p", "booleans"),
    ),
    Case(
        "kl_divergence",
        "complex probabilities",
        lambda: kl_divergence(HALF, np.array(HALF, dtype=complex)),
        raises(TypeError, "q", "complex"),
    ),
    Case(
        "kl_divergence",
        "NaN in q",
        lambda: kl_divergence(HALF, [np.nan, 1.0]),
        raises(ValueError, "q", "NaN"),
    ),
    Case(
        "kl_divergence",
        "infinite entry in p",
        lambda: kl_divergence([np.inf, 0.5], HALF),
        raises(ValueError, "p", "infinite"),
    ),
    Case(
        "kl_divergence",
        "a negative probability",
        lambda: kl_divergence([1.5, -0.5], HALF),
        raises(ValueError, "p", "negative"),
    ),
    Case(
        "kl_divergence",
        "p not normalised",
        lambda: kl_divergence([0.5, 0.6], HALF),
        raises(ValueError, "p", "sum to 1"),
    ),
    Case(
        "kl_divergence",
        "different numbers of outcomes",
        lambda: kl_divergence(HALF, [0.2, 0.3, 0.5]),
        raises(ValueError, "p", "q", "outcomes"),
    ),
    Case(
        "kl_divergence",
        "empty distributions",
        lambda: kl_divergence([], []),
        raises(ValueError, "p", "sum to 1"),
    ),
    Case(
        "kl_divergence",
        "a scalar p",
        lambda: kl_divergence(1.0, [1.0]),
        raises(ValueError, "p", "dimension"),
    ),
    Case(
        "kl_divergence",
        "batches that do not broadcast",
        lambda: kl_divergence(np.full((2, 2), 0.5), np.full((3, 2), 0.5)),
        raises(ValueError, "p", "q", "broadcast"),
    ),
    Case(
        "kl_divergence",
        "a broadcast too large for memory",
        lambda: kl_divergence(_wide(40_000), _wide(40_000).swapaxes(0, 1)),
        raises(ValueError, "p", "q", "GiB"),
    ),
    Case(
        "kl_divergence",
        "axis out of range",
        lambda: kl_divergence(HALF, HALF, axis=3),
        raises(ValueError, "axis"),
    ),
    Case(
        "kl_divergence",
        "a float axis",
        lambda: kl_divergence(HALF, HALF, axis=0.5),
        raises(TypeError, "axis"),
    ),
    Case(
        "kl_divergence",
        "a string base",
        lambda: kl_divergence(HALF, HALF, base="2"),
        raises(TypeError, "base"),
    ),
    Case(
        "kl_divergence",
        "base 1 (no logarithm)",
        lambda: kl_divergence(HALF, HALF, base=1),
        raises(ValueError, "base"),
    ),
    Case(
        "kl_divergence",
        "bool base",
        lambda: kl_divergence(HALF, HALF, base=True),
        raises(TypeError, "base"),
    ),
    Case(
        "kl_divergence",
        "q = 0 where p > 0",
        lambda: kl_divergence(HALF, [1.0, 0.0]),
        returns(is_inf, "inf"),
    ),
    Case(
        "kl_divergence",
        "a float32 torch softmax that needs grad",
        lambda: kl_divergence(
            torch.softmax(torch.zeros(4, requires_grad=True), -1),
            torch.full((4,), 0.25),
        ),
        returns(close_to(0.0, abs=1e-7), "0 (equal distributions)"),
    ),
    # --- entropy -----------------------------------------------------------------
    Case(
        "entropy",
        "numeric strings",
        lambda: entropy(["0.25"] * 4),
        raises(TypeError, "p", "text"),
    ),
    Case(
        "entropy",
        "NaN",
        lambda: entropy([np.nan, 1.0]),
        raises(ValueError, "p", "NaN"),
    ),
    Case(
        "entropy",
        "booleans",
        lambda: entropy(np.array([True, False])),
        raises(TypeError, "p", "booleans"),
    ),
    Case(
        "entropy",
        "base 0",
        lambda: entropy(HALF, base=0),
        raises(ValueError, "base"),
    ),
    Case(
        "entropy",
        "not normalised",
        lambda: entropy([0.3, 0.3]),
        raises(ValueError, "p", "sum to 1"),
    ),
    Case(
        "entropy",
        "a one-hot distribution (0 log 0)",
        lambda: entropy([1.0, 0.0]),
        returns(close_to(0.0, abs=0.0), "exactly 0"),
    ),
    # --- cross_entropy -----------------------------------------------------------
    Case(
        "cross_entropy",
        "complex p",
        lambda: cross_entropy(np.array(HALF) + 0j, HALF),
        raises(TypeError, "p", "complex"),
    ),
    Case(
        "cross_entropy",
        "different numbers of outcomes",
        lambda: cross_entropy(HALF, [1.0]),
        raises(ValueError, "p", "q", "outcomes"),
    ),
    Case(
        "cross_entropy",
        "q = 0 where p > 0",
        lambda: cross_entropy(HALF, [0.0, 1.0]),
        returns(is_inf, "inf"),
    ),
    Case(
        "cross_entropy",
        "numeric-string base",
        lambda: cross_entropy(HALF, HALF, base="e"),
        raises(TypeError, "base"),
    ),
    # --- kl_gaussian -------------------------------------------------------------
    Case(
        "kl_gaussian",
        "a numeric string for std_p",
        lambda: kl_gaussian(0.0, "1", 0.0, 1.0),
        raises(TypeError, "std_p"),
    ),
    Case(
        "kl_gaussian",
        "a list of numeric strings for mean_q",
        lambda: kl_gaussian(0.0, 1.0, ["0", "1"], 1.0),
        raises(TypeError, "mean_q", "text"),
    ),
    Case(
        "kl_gaussian",
        "bool for std_q",
        lambda: kl_gaussian(0.0, 1.0, 0.0, True),
        raises(TypeError, "std_q", "booleans"),
    ),
    Case(
        "kl_gaussian",
        "zero std_p",
        lambda: kl_gaussian(0.0, 0.0, 0.0, 1.0),
        raises(ValueError, "std_p", "positive"),
    ),
    Case(
        "kl_gaussian",
        "negative std_q",
        lambda: kl_gaussian(0.0, 1.0, 0.0, -1.0),
        raises(ValueError, "std_q", "positive"),
    ),
    Case(
        "kl_gaussian",
        "infinite std_p",
        lambda: kl_gaussian(0.0, np.inf, 0.0, 1.0),
        raises(ValueError, "std_p", "finite"),
    ),
    Case(
        "kl_gaussian",
        "NaN mean_p",
        lambda: kl_gaussian(np.nan, 1.0, 0.0, 1.0),
        raises(ValueError, "mean_p", "finite"),
    ),
    Case(
        "kl_gaussian",
        "complex mean_p",
        lambda: kl_gaussian(1j, 1.0, 0.0, 1.0),
        raises(TypeError, "mean_p", "complex"),
    ),
    Case(
        "kl_gaussian",
        "shapes that do not broadcast",
        lambda: kl_gaussian(np.zeros(3), 1.0, np.zeros(4), 1.0),
        raises(ValueError, "mean_p", "mean_q", "broadcast"),
    ),
    Case(
        "kl_gaussian",
        "a broadcast too large for memory",
        lambda: kl_gaussian(
            np.zeros((100_000, 1)), 1.0, np.zeros(100_000), 1.0
        ),
        raises(ValueError, "mean_p", "GiB"),
    ),
    Case(
        "kl_gaussian",
        "std_p 1e-17 of std_q (1 + x rounds to 0)",
        lambda: kl_gaussian(0.0, 1e-17, 0.0, 1.0),
        returns(close_to(math.log(1e17) - 0.5, rel=1e-12), "log(1e17) - 1/2"),
    ),
    Case(
        "kl_gaussian",
        "empty arrays",
        lambda: kl_gaussian(np.zeros(0), 1.0, 0.0, 1.0),
        returns(lambda v: np.shape(v) == (0,), "an empty array"),
    ),
    # --- kl_mvn ------------------------------------------------------------------
    Case(
        "kl_mvn",
        "a non-symmetric cov_p",
        lambda: kl_mvn(
            np.zeros(2),
            np.array([[1.0, 0.5], [0.0, 1.0]]),
            np.zeros(2),
            np.eye(2),
        ),
        raises(ValueError, "cov_p", "symmetric"),
    ),
    Case(
        "kl_mvn",
        "an indefinite cov_q",
        lambda: kl_mvn(
            np.zeros(2),
            np.eye(2),
            np.zeros(2),
            np.array([[1.0, 2.0], [2.0, 1.0]]),
        ),
        raises(ValueError, "cov_q", "positive definite"),
    ),
    Case(
        "kl_mvn",
        "means of different dimensions",
        lambda: kl_mvn(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3)),
        raises(ValueError, "mean_p", "mean_q"),
    ),
    Case(
        "kl_mvn",
        "a scalar mean",
        lambda: kl_mvn(0.0, np.eye(1), 0.0, np.eye(1)),
        raises(ValueError, "mean_p", "scalar"),
    ),
    Case(
        "kl_mvn",
        "dimension 0",
        lambda: kl_mvn(
            np.zeros(0), np.zeros((0, 0)), np.zeros(0), np.zeros((0, 0))
        ),
        raises(ValueError, "mean_p", "d >= 1"),
    ),
    Case(
        "kl_mvn",
        "NaN in cov_p",
        lambda: kl_mvn(
            np.zeros(2), np.full((2, 2), np.nan), np.zeros(2), np.eye(2)
        ),
        raises(ValueError, "cov_p", "finite"),
    ),
    Case(
        "kl_mvn",
        "numeric strings for mean_q",
        lambda: kl_mvn(np.zeros(2), np.eye(2), ["0", "0"], np.eye(2)),
        raises(TypeError, "mean_q", "text"),
    ),
    Case(
        "kl_mvn",
        "a boolean covariance",
        lambda: kl_mvn(
            np.zeros(2), np.eye(2, dtype=bool), np.zeros(2), np.eye(2)
        ),
        raises(TypeError, "cov_p", "booleans"),
    ),
    Case(
        "kl_mvn",
        "a cov_p of the wrong shape",
        lambda: kl_mvn(np.zeros(2), np.ones(2), np.zeros(2), np.eye(2)),
        raises(ValueError, "cov_p", "shape"),
    ),
    Case(
        "kl_mvn",
        "batches too large for memory",
        lambda: kl_mvn(
            np.zeros((30_000, 1, 2)),
            np.eye(2),
            np.zeros((30_000, 2)),
            np.eye(2),
        ),
        raises(ValueError, "mean_p", "GiB"),
    ),
    Case(
        "kl_mvn",
        "a covariance 1e-300 times another's",
        lambda: kl_mvn(
            np.zeros(2), 1e-300 * np.eye(2), np.zeros(2), np.eye(2)
        ),
        returns(
            close_to(math.log(1e300) - 1.0, rel=1e-12),
            "log(1e300) - 1 (not inf)",
        ),
    ),
    # --- kl_quadrature -----------------------------------------------------------
    Case(
        "kl_quadrature",
        "Cauchy vs Normal (issue 18: was -2.43)",
        lambda: kl_quadrature(st.cauchy(), st.norm()),
        returns(is_inf, "inf"),
    ),
    Case(
        "kl_quadrature",
        "Cauchy vs a wide Normal (issue 18: was 0.68)",
        lambda: kl_quadrature(st.cauchy(), st.norm(0, 10)),
        returns(is_inf, "inf"),
    ),
    Case(
        "kl_quadrature",
        "Student-t(2) vs Normal (no variance)",
        lambda: kl_quadrature(st.t(2), st.norm()),
        returns(is_inf, "inf"),
    ),
    Case(
        "kl_quadrature",
        "torch Student-t(1.5) vs Normal",
        lambda: kl_quadrature(
            D.StudentT(_f64(1.5), _f64(0.0), _f64(0.2)), _normal()
        ),
        returns(is_inf, "inf"),
    ),
    Case(
        "kl_quadrature",
        "Cauchy vs Logistic (no mean)",
        lambda: kl_quadrature(st.cauchy(), st.logistic()),
        returns(is_inf, "inf"),
    ),
    Case(
        "kl_quadrature",
        "Exponential vs inverse gamma (q vanishes too fast at 0)",
        lambda: kl_quadrature(st.expon(), st.invgamma(2)),
        returns(is_inf, "inf"),
    ),
    Case(
        "kl_quadrature",
        "Beta(1/2, 1/2) vs Uniform (torch; was inf)",
        lambda: kl_quadrature(
            D.Beta(_f64(0.5), _f64(0.5)), D.Uniform(_f64(0.0), _f64(1.0))
        ),
        returns(close_to(math.log(4 / math.pi), rel=1e-6), "log(4/pi)"),
    ),
    Case(
        "kl_quadrature",
        "Student-t(5) vs a scipy Laplace whose log-density underflows",
        lambda: kl_quadrature(st.t(5), st.laplace()),
        raises(ValueError, "q", "underflow"),
    ),
    Case(
        "kl_quadrature",
        "q = 0 on part of p's support",
        lambda: kl_quadrature(st.uniform(0, 2), st.uniform(0, 1)),
        returns(is_inf, "inf"),
    ),
    Case(
        "kl_quadrature",
        "a numeric string for lower",
        lambda: kl_quadrature(st.norm(), st.norm(), lower="0"),
        raises(TypeError, "lower"),
    ),
    Case(
        "kl_quadrature",
        "bool upper",
        lambda: kl_quadrature(st.norm(), st.norm(), upper=True),
        raises(TypeError, "upper"),
    ),
    Case(
        "kl_quadrature",
        "lower above upper",
        lambda: kl_quadrature(st.norm(), st.norm(), lower=1.0, upper=0.0),
        raises(ValueError, "lower", "upper"),
    ),
    Case(
        "kl_quadrature",
        "NaN lower",
        lambda: kl_quadrature(st.norm(), st.norm(), lower=math.nan),
        raises(ValueError, "lower"),
    ),
    Case(
        "kl_quadrature",
        "negative epsabs",
        lambda: kl_quadrature(st.norm(), st.norm(), epsabs=-1e-9),
        raises(ValueError, "epsabs"),
    ),
    Case(
        "kl_quadrature",
        "numeric-string epsrel",
        lambda: kl_quadrature(st.norm(), st.norm(), epsrel="1e-9"),
        raises(TypeError, "epsrel"),
    ),
    Case(
        "kl_quadrature",
        "both tolerances zero",
        lambda: kl_quadrature(st.norm(), st.norm(), epsabs=0.0, epsrel=0.0),
        raises(ValueError, "epsabs", "epsrel"),
    ),
    Case(
        "kl_quadrature",
        "probabilities instead of a distribution",
        lambda: kl_quadrature(HALF, st.norm()),
        raises(TypeError, "p"),
    ),
    Case(
        "kl_quadrature",
        "an unfrozen scipy distribution",
        lambda: kl_quadrature(st.norm(), st.norm),
        raises(TypeError, "q", "unfrozen"),
    ),
    Case(
        "kl_quadrature",
        "a discrete q",
        lambda: kl_quadrature(st.norm(), st.poisson(3)),
        raises(TypeError, "q", "continuous"),
    ),
    Case(
        "kl_quadrature",
        "a batch of torch distributions",
        lambda: kl_quadrature(
            D.Normal(torch.zeros(2), torch.ones(2)), st.norm()
        ),
        raises(TypeError, "p", "univariate"),
    ),
    # --- kl_gauss_hermite --------------------------------------------------------
    Case(
        "kl_gauss_hermite",
        "p not a Normal",
        lambda: kl_gauss_hermite(D.Laplace(_f64(0.0), _f64(1.0)), _normal()),
        raises(TypeError, "p", "Normal"),
    ),
    Case(
        "kl_gauss_hermite",
        "a scipy q",
        lambda: kl_gauss_hermite(_normal(), st.norm()),
        raises(TypeError, "q", "torch"),
    ),
    Case(
        "kl_gauss_hermite",
        "one node",
        lambda: kl_gauss_hermite(_normal(), _normal(), n_nodes=1),
        raises(ValueError, "n_nodes"),
    ),
    Case(
        "kl_gauss_hermite",
        "more nodes than the rule can weigh",
        lambda: kl_gauss_hermite(_normal(), _normal(), n_nodes=300),
        raises(ValueError, "n_nodes", "256"),
    ),
    Case(
        "kl_gauss_hermite",
        "a numeric string for n_nodes",
        lambda: kl_gauss_hermite(_normal(), _normal(), n_nodes="8"),
        raises(TypeError, "n_nodes"),
    ),
    Case(
        "kl_gauss_hermite",
        "bool n_nodes",
        lambda: kl_gauss_hermite(_normal(), _normal(), n_nodes=True),
        raises(TypeError, "n_nodes"),
    ),
    Case(
        "kl_gauss_hermite",
        "batch shapes that do not broadcast",
        lambda: kl_gauss_hermite(
            D.Normal(torch.zeros(3), 1.0), D.Normal(torch.zeros(4), 1.0)
        ),
        raises(ValueError, "p", "q", "batch"),
    ),
    Case(
        "kl_gauss_hermite",
        "a heavy-tailed q (finite KL)",
        lambda: kl_gauss_hermite(_normal(), D.Cauchy(_f64(0.0), _f64(1.0))),
        returns(
            lambda v: math.isclose(
                float(v), kl_quadrature(st.norm(), st.cauchy()), rel_tol=1e-6
            ),
            "kl_quadrature's value",
        ),
    ),
]
