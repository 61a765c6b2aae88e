"""Bad inputs for klcourse.estimators: Monte Carlo and k-nearest-neighbour KL."""

from __future__ import annotations

import math

import numpy as np
import scipy.stats as st
import torch

from bad_inputs._case import Case, close_to, is_inf, raises, returns
from klcourse import MonteCarloResult, kl_knn, kl_monte_carlo
from klcourse.estimators import ESTIMATORS, kl_monte_carlo_repeated, make_rng

D = torch.distributions
NORM, SHIFTED = st.norm(0, 1), st.norm(1, 1)


def _draws(n: int = 200, d: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d))


def _with_repeats(n: int = 2000, repeats: int = 500) -> np.ndarray:
    """The issue's data: n draws of which the last ``repeats`` copy the first."""
    x = _draws(n, 2, seed=1)
    x[n - repeats :] = x[:repeats]
    return x


def _repeated_then_restored(k: int) -> float:
    return kl_knn(_with_repeats(), _draws(2000, 2, seed=2), k=k)


def _is_certain_inf(result: MonteCarloResult) -> bool:
    return result.value == math.inf and result.stderr == 0.0


CASES = [
    # --- kl_monte_carlo ------------------------------------------------------------
    Case(
        "kl_monte_carlo",
        "an unknown estimator",
        lambda: kl_monte_carlo(NORM, SHIFTED, estimator="k4"),
        raises(ValueError, "estimator", "k4"),
    ),
    Case(
        "kl_monte_carlo",
        "an estimator given as a list",
        lambda: kl_monte_carlo(NORM, SHIFTED, estimator=["k1"]),
        raises(TypeError, "estimator"),
    ),
    Case(
        "kl_monte_carlo",
        "one sample",
        lambda: kl_monte_carlo(NORM, SHIFTED, n_samples=1),
        raises(ValueError, "n_samples"),
    ),
    Case(
        "kl_monte_carlo",
        "a numeric string for n_samples",
        lambda: kl_monte_carlo(NORM, SHIFTED, n_samples="100"),
        raises(TypeError, "n_samples"),
    ),
    Case(
        "kl_monte_carlo",
        "bool n_samples",
        lambda: kl_monte_carlo(NORM, SHIFTED, n_samples=True),
        raises(TypeError, "n_samples"),
    ),
    Case(
        "kl_monte_carlo",
        "a float n_samples",
        lambda: kl_monte_carlo(NORM, SHIFTED, n_samples=1e4),
        raises(TypeError, "n_samples"),
    ),
    Case(
        "kl_monte_carlo",
        "more samples than memory holds",
        lambda: kl_monte_carlo(NORM, SHIFTED, n_samples=10**12),
        raises(ValueError, "n_samples", "GiB"),
    ),
    Case(
        "kl_monte_carlo",
        "a numeric string seed",
        lambda: kl_monte_carlo(NORM, SHIFTED, seed="0"),
        raises(TypeError, "seed"),
    ),
    Case(
        "kl_monte_carlo",
        "a negative seed",
        lambda: kl_monte_carlo(NORM, SHIFTED, seed=-1),
        raises(ValueError, "seed"),
    ),
    Case(
        "kl_monte_carlo",
        "p given by name",
        lambda: kl_monte_carlo("normal", SHIFTED),
        raises(TypeError, "p"),
    ),
    Case(
        "kl_monte_carlo",
        "a torch batch for p",
        lambda: kl_monte_carlo(D.Normal(torch.zeros(3), 1.0), SHIFTED),
        raises(ValueError, "p", "batch"),
    ),
    Case(
        "kl_monte_carlo",
        "distributions over different spaces",
        lambda: kl_monte_carlo(NORM, st.multivariate_normal(np.zeros(2))),
        raises(ValueError, "p", "q", "same space"),
    ),
    Case(
        "kl_monte_carlo",
        "q = 0 at samples of p",
        lambda: kl_monte_carlo(st.uniform(0, 2), st.uniform(0, 1), seed=0),
        returns(_is_certain_inf, "inf with stderr 0 (not NaN)"),
    ),
    Case(
        "kl_monte_carlo",
        "n_samples as a NumPy integer",
        lambda: (
            kl_monte_carlo(
                NORM,
                SHIFTED,
                n_samples=np.int64(20_000),
                estimator="k3",
                seed=0,
            ).value
        ),
        returns(close_to(0.5, abs=0.05), "about 0.5"),
    ),
    Case(
        "kl_monte_carlo",
        "P = Q with k3",
        lambda: kl_monte_carlo(NORM, NORM, estimator="k3", seed=0).value,
        returns(close_to(0.0, abs=0.0), "exactly 0"),
    ),
    # --- kl_monte_carlo_repeated -------------------------------------------------------
    Case(
        "kl_monte_carlo_repeated",
        "zero repeats",
        lambda: kl_monte_carlo_repeated(
            NORM, SHIFTED, n_samples=10, n_repeats=0
        ),
        raises(ValueError, "n_repeats"),
    ),
    Case(
        "kl_monte_carlo_repeated",
        "a float n_repeats",
        lambda: kl_monte_carlo_repeated(
            NORM, SHIFTED, n_samples=10, n_repeats=2.5
        ),
        raises(TypeError, "n_repeats"),
    ),
    Case(
        "kl_monte_carlo_repeated",
        "repeats that would not fit in memory",
        lambda: kl_monte_carlo_repeated(
            NORM, SHIFTED, n_samples=10**6, n_repeats=10**6
        ),
        raises(ValueError, "n_samples", "n_repeats", "GiB"),
    ),
    Case(
        "kl_monte_carlo_repeated",
        "an unknown estimator",
        lambda: kl_monte_carlo_repeated(
            NORM, SHIFTED, n_samples=10, n_repeats=2, estimator="k0"
        ),
        raises(ValueError, "estimator"),
    ),
    Case(
        "kl_monte_carlo_repeated",
        "q = 0 at samples of p",
        lambda: kl_monte_carlo_repeated(
            st.uniform(0, 2),
            st.uniform(0, 1),
            n_samples=50,
            n_repeats=3,
            seed=0,
        ),
        returns(is_inf, "inf for every repeat"),
    ),
    # --- kl_knn ----------------------------------------------------------------------
    Case(
        "kl_knn",
        "500 repeated rows in 2,000 draws, k=2 (issue 18: 0.31 for P = Q)",
        lambda: _repeated_then_restored(2),
        raises(ValueError, "x", "duplicate"),
    ),
    Case(
        "kl_knn",
        "repeated rows, k=5",
        lambda: _repeated_then_restored(5),
        raises(ValueError, "x", "duplicate"),
    ),
    Case(
        "kl_knn",
        "repeated rows in y",
        lambda: kl_knn(_draws(2000, 2, seed=3), _with_repeats(), k=2),
        raises(ValueError, "y", "duplicate"),
    ),
    Case(
        "kl_knn",
        "the same sample for x and y",
        lambda: kl_knn(_draws(), _draws(), k=3),
        raises(ValueError, "x", "y", "share"),
    ),
    Case(
        "kl_knn",
        "a numeric string k",
        lambda: kl_knn(_draws(), _draws(seed=1), k="2"),
        raises(TypeError, "k"),
    ),
    Case(
        "kl_knn",
        "bool k",
        lambda: kl_knn(_draws(), _draws(seed=1), k=True),
        raises(TypeError, "k"),
    ),
    Case(
        "kl_knn",
        "k = 0",
        lambda: kl_knn(_draws(), _draws(seed=1), k=0),
        raises(ValueError, "k"),
    ),
    Case(
        "kl_knn",
        "k as large as x",
        lambda: kl_knn(_draws(5), _draws(50, seed=1), k=5),
        raises(ValueError, "x", "k=5"),
    ),
    Case(
        "kl_knn",
        "fewer y than k",
        lambda: kl_knn(_draws(50), _draws(2, seed=1), k=3),
        raises(ValueError, "y", "k=3"),
    ),
    Case(
        "kl_knn",
        "workers = 0",
        lambda: kl_knn(_draws(), _draws(seed=1), workers=0),
        raises(ValueError, "workers"),
    ),
    Case(
        "kl_knn",
        "a numeric string for workers",
        lambda: kl_knn(_draws(), _draws(seed=1), workers="2"),
        raises(TypeError, "workers"),
    ),
    Case(
        "kl_knn",
        "samples of different dimensions",
        lambda: kl_knn(_draws(d=2), _draws(d=3, seed=1)),
        raises(ValueError, "x", "y", "dimension"),
    ),
    Case(
        "kl_knn",
        "NaN in x",
        lambda: kl_knn(np.array([0.0, np.nan, 2.0]), np.array([1.5])),
        raises(ValueError, "x", "finite"),
    ),
    Case(
        "kl_knn",
        "x of three dimensions",
        lambda: kl_knn(np.zeros((2, 2, 2)), _draws()),
        raises(ValueError, "x", "shape"),
    ),
    Case(
        "kl_knn",
        "empty y",
        lambda: kl_knn(_draws(), np.zeros((0, 2))),
        raises(ValueError, "y"),
    ),
    Case(
        "kl_knn",
        "numeric strings for x",
        lambda: kl_knn(["0.1", "0.5", "0.9"], [0.3]),
        raises(TypeError, "x", "text"),
    ),
    Case(
        "kl_knn",
        "booleans for x",
        lambda: kl_knn(np.array([True, False]), [0.3]),
        raises(TypeError, "x", "booleans"),
    ),
    Case(
        "kl_knn",
        "complex y",
        lambda: kl_knn(_draws(), _draws(seed=1) * 1j),
        raises(TypeError, "y", "complex"),
    ),
    # --- MonteCarloResult --------------------------------------------------------------
    Case(
        "MonteCarloResult",
        "float() of an infinite estimate",
        lambda: float(
            kl_monte_carlo(st.uniform(0, 2), st.uniform(0, 1), seed=0)
        ),
        returns(is_inf, "inf"),
    ),
    Case(
        "MonteCarloResult",
        "the stderr of an infinite estimate",
        lambda: (
            kl_monte_carlo(st.uniform(0, 2), st.uniform(0, 1), seed=0).stderr
        ),
        returns(close_to(0.0, abs=0.0), "0 (the verdict is certain), not NaN"),
    ),
    # --- ESTIMATORS --------------------------------------------------------------------
    Case(
        "ESTIMATORS",
        "k1 of a numeric string",
        lambda: ESTIMATORS["k1"]("0.5"),
        raises(TypeError, "log_r"),
    ),
    Case(
        "ESTIMATORS",
        "k3 of NaN",
        lambda: ESTIMATORS["k3"]([np.nan]),
        raises(ValueError, "log_r", "NaN"),
    ),
    Case(
        "ESTIMATORS",
        "k3 of +inf (p = 0 at its own sample)",
        lambda: ESTIMATORS["k3"](np.array([np.inf])),
        raises(ValueError, "log_r", "+inf"),
    ),
    Case(
        "ESTIMATORS",
        "k2 of booleans",
        lambda: ESTIMATORS["k2"]([True, False]),
        raises(TypeError, "log_r", "booleans"),
    ),
    Case(
        "ESTIMATORS",
        "k3 of -inf (q = 0)",
        lambda: ESTIMATORS["k3"](np.array([-np.inf])),
        returns(is_inf, "inf"),
    ),
    Case(
        "ESTIMATORS",
        "k3 of a ratio beyond float range",
        lambda: ESTIMATORS["k3"](np.array([800.0])),
        returns(is_inf, "inf, without an overflow warning"),
    ),
    # --- make_rng ----------------------------------------------------------------------
    Case(
        "make_rng",
        "a numeric string seed",
        lambda: make_rng("0"),
        raises(TypeError, "seed"),
    ),
    Case(
        "make_rng",
        "bool seed",
        lambda: make_rng(True),
        raises(TypeError, "seed"),
    ),
    Case(
        "make_rng",
        "a negative seed",
        lambda: make_rng(-3),
        raises(ValueError, "seed"),
    ),
    Case(
        "make_rng",
        "a legacy RandomState",
        lambda: make_rng(np.random.RandomState(0)),
        raises(TypeError, "seed"),
    ),
]
