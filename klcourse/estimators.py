"""Estimating KL from samples: Monte Carlo (k1, k2, k3) and k-nearest neighbours.

When a closed form is out of reach, KL(P||Q) is estimated: by averaging a function
of the density ratio over samples from P (:func:`kl_monte_carlo`, which needs both
log-densities), or from two samples alone (:func:`kl_knn`, which needs no density).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from klcourse._distributions import DistributionLike, as_distribution
from klcourse._random import Seed, make_rng
from klcourse._threads import limited_threads
from klcourse._validation import (
    as_float_array,
    check_choice,
    check_size,
    finite_array,
    is_torch_tensor,
    positive_int,
)

__all__ = [
    "ESTIMATORS",
    "MonteCarloResult",
    "kl_knn",
    "kl_monte_carlo",
    "kl_monte_carlo_repeated",
    "make_rng",
]


def _log_ratio(log_r: ArrayLike) -> NDArray[np.float64]:
    """``log_r`` as float64, refusing text, NaN and ``+inf``.

    ``-inf`` (q = 0 at a sample of P) is allowed: it makes the term ``inf``.
    ``+inf`` would need p = 0 at a sample of P itself.
    """
    array = as_float_array(log_r, "log_r", allow_bool=False)
    if np.isnan(array).any() or np.isposinf(array).any():
        raise ValueError(
            "log_r = log q(x) - log p(x) must be a number below +inf at "
            "samples x of P, but it contains NaN or +inf (p = 0 at its own "
            "sample?)"
        )
    return array


def _k1(log_r: Any) -> Any:
    """``-log r``: unbiased, high variance, can be negative."""
    if is_torch_tensor(log_r):
        return -log_r
    return -_log_ratio(log_r)


def _k2(log_r: Any) -> Any:
    """``(log r)^2 / 2``: biased, low variance, never negative."""
    if is_torch_tensor(log_r):
        return 0.5 * log_r**2
    return 0.5 * _log_ratio(log_r) ** 2


def _k3(log_r: Any) -> Any:
    """``(r - 1) - log r``: unbiased and never negative."""
    if is_torch_tensor(log_r):
        return log_r.expm1() - log_r
    array = _log_ratio(log_r)
    with np.errstate(over="ignore"):  # r beyond float range: the term is inf
        return np.expm1(array) - array


#: The Monte Carlo estimators, as functions of ``log_r = log q(x) - log p(x)``
#: with ``x ~ P``. Each takes an array (NumPy, list, pandas) or a torch tensor,
#: whose autograd graph it keeps.
ESTIMATORS = {"k1": _k1, "k2": _k2, "k3": _k3}


@dataclass(frozen=True)
class MonteCarloResult:
    """A Monte Carlo estimate of KL(P||Q).

    Attributes
    ----------
    value : float
        The estimate in nats (the sample mean of the per-sample terms).
    stderr : float
        Its standard error estimated from the sample,
        ``std(terms, ddof=1) / sqrt(n_samples)``. When the terms are
        heavy-tailed (``"k3"`` when ``E_P[(q/p)^4]`` is infinite, for
        instance) this estimate is itself unreliable and usually too small;
        prefer an exact spread where one can be computed.
    n_samples : int
        The number of samples drawn from P.
    estimator : str
        ``"k1"``, ``"k2"`` or ``"k3"``.

    Examples
    --------
    >>> from scipy import stats
    >>> same = stats.norm(0, 1)
    >>> kl_monte_carlo(same, same, n_samples=100, estimator="k3", seed=0)
    MonteCarloResult(value=0.0, stderr=0.0, n_samples=100, estimator='k3')
    """

    value: float
    stderr: float
    n_samples: int
    estimator: str

    def __float__(self) -> float:
        return self.value


@limited_threads
def kl_monte_carlo(
    p: DistributionLike,
    q: DistributionLike,
    *,
    n_samples: int = 10_000,
    estimator: str = "k1",
    seed: Seed = None,
) -> MonteCarloResult:
    r"""Monte Carlo estimate of KL(P||Q) from samples of P.

    With :math:`x_i \sim P` and :math:`r = q(x)/p(x)`, the estimators of
    Schulman (2020) average one of

    - ``"k1"``: :math:`-\log r` (unbiased, high variance, can be negative),
    - ``"k2"``: :math:`\tfrac12 (\log r)^2` (biased, low variance),
    - ``"k3"``: :math:`(r - 1) - \log r` (unbiased and never negative).

    Parameters
    ----------
    p, q : torch.distributions.Distribution or frozen scipy.stats distribution
        The two distributions; they may be multivariate and may mix libraries.
        Each must be a single distribution: a torch batch (e.g.
        ``Normal(torch.zeros(3), 1.0)``) is refused with a ``ValueError``;
        wrap it in ``torch.distributions.Independent`` for the KL between the
        joint distributions, or estimate one element at a time.
    n_samples : int, optional
        Number of samples drawn from ``p`` (at least 2).
    estimator : {"k1", "k2", "k3"}, optional
        Which per-sample term to average.
    seed : int, numpy.random.Generator or None, optional
        Source of randomness; the same seed gives the same result.

    Returns
    -------
    MonteCarloResult
        ``value`` and ``stderr`` in nats.

    Examples
    --------
    >>> from scipy import stats
    >>> p, q = stats.norm(0, 1), stats.norm(1, 1)
    >>> result = kl_monte_carlo(p, q, estimator="k3", seed=0)
    >>> abs(result.value - 0.5) < 4 * result.stderr
    True
    """
    log_r = _log_ratios(p, q, n_samples, 1, estimator, seed)[0]
    n = log_r.size
    if np.isneginf(log_r).any():  # q = 0 at a sample of p: KL is infinite
        return MonteCarloResult(math.inf, 0.0, n, estimator)
    terms = ESTIMATORS[estimator](log_r)
    if not np.all(np.isfinite(terms)):  # a term beyond float range (k2, k3)
        return MonteCarloResult(math.inf, math.inf, n, estimator)
    return MonteCarloResult(
        float(terms.mean()),
        float(terms.std(ddof=1) / math.sqrt(n)),
        n,
        estimator,
    )


@limited_threads
def kl_monte_carlo_repeated(
    p: DistributionLike,
    q: DistributionLike,
    *,
    n_samples: int,
    n_repeats: int,
    estimator: str = "k1",
    seed: Seed = None,
) -> np.ndarray:
    r"""Many independent Monte Carlo estimates of KL(P||Q) at once.

    Each of the ``n_repeats`` estimates averages one of the terms of
    :func:`kl_monte_carlo` over its own ``n_samples`` fresh samples of P, so
    their spread is the spread of a single estimate. One vectorised draw of
    ``n_repeats * n_samples`` points replaces a loop of calls.

    Parameters
    ----------
    p, q : torch.distributions.Distribution or frozen scipy.stats distribution
        The two distributions, as for :func:`kl_monte_carlo`.
    n_samples : int
        Samples of P per estimate (at least 2).
    n_repeats : int
        Number of independent estimates.
    estimator : {"k1", "k2", "k3"}, optional
        Which per-sample term to average.
    seed : int, numpy.random.Generator or None, optional
        Source of randomness; the same seed gives the same estimates.

    Returns
    -------
    numpy.ndarray, shape (n_repeats,)
        The estimates in nats; ``inf`` for an estimate whose samples include
        a point where ``q = 0 < p``.

    Examples
    --------
    >>> from scipy import stats
    >>> p, q = stats.norm(0, 1), stats.norm(1, 1)
    >>> values = kl_monte_carlo_repeated(
    ...     p, q, n_samples=100, n_repeats=500, estimator="k3", seed=0
    ... )
    >>> values.shape, bool(abs(values.mean() - 0.5) < 0.02)
    ((500,), True)
    """
    log_r = _log_ratios(p, q, n_samples, n_repeats, estimator, seed)
    with np.errstate(invalid="ignore"):  # -inf log-ratios give inf below
        estimates = ESTIMATORS[estimator](log_r).mean(axis=1)
    estimates[np.isneginf(log_r).any(axis=1)] = math.inf
    return estimates


def _log_ratios(
    p: DistributionLike,
    q: DistributionLike,
    n_samples: int,
    n_repeats: int,
    estimator: str,
    seed: Seed,
) -> NDArray[np.float64]:
    """Validate the arguments of the Monte Carlo estimators and draw.

    Returns ``log q(x) - log p(x)`` at ``n_repeats * n_samples`` samples of
    P drawn in one call, shaped ``(n_repeats, n_samples)``.
    """
    check_choice(estimator, "estimator", tuple(ESTIMATORS))
    n = positive_int(n_samples, "n_samples", minimum=2)
    repeats = positive_int(n_repeats, "n_repeats")
    rng = make_rng(seed)
    p_dist = as_distribution(p, "p")
    q_dist = as_distribution(q, "q")
    if p_dist.event_shape != q_dist.event_shape:
        raise ValueError(
            "p and q must be distributions over the same space, got event "
            f"shapes {p_dist.event_shape} and {q_dist.event_shape}"
        )
    size = n * repeats * math.prod(p_dist.event_shape)
    name = "n_samples" if repeats == 1 else "n_samples * n_repeats"
    check_size(size, name)
    x = p_dist.sample(n * repeats, rng)
    with np.errstate(all="ignore"):  # judged below
        log_p, log_q = p_dist.log_prob(x), q_dist.log_prob(x)
    if not np.all(np.isfinite(log_p)):
        raise ValueError(
            "p's log-density is not finite at some of its own samples "
            f"(e.g. {log_p[~np.isfinite(log_p)][0]}); p cannot be estimated "
            "against"
        )
    if np.isnan(log_q).any() or np.isposinf(log_q).any():
        raise ValueError(
            "q's log-density is NaN or +inf at some samples of p; q must "
            "have a finite density wherever p puts mass"
        )
    return (log_q - log_p).reshape(repeats, n)


def kl_knn(
    x: ArrayLike, y: ArrayLike, *, k: int = 1, workers: int = -1
) -> float:
    r"""k-nearest-neighbour estimate of KL(P||Q) from samples alone.

    The estimator of Wang, Kulkarni & Verdú (2009):

    .. math:: \hat D = \frac{d}{n}\sum_{i=1}^n
       \log\frac{\nu_k(i)}{\rho_k(i)} + \log\frac{m}{n-1}

    where :math:`\rho_k(i)` is the distance from :math:`x_i` to its k-th
    nearest neighbour among the other x's and :math:`\nu_k(i)` the distance
    to its k-th nearest neighbour among the y's (Euclidean, via
    :class:`scipy.spatial.cKDTree`). It is consistent as n and m grow, for
    densities that are continuous.

    Continuous samples never repeat, so repeated points mean the data are
    not what the estimator assumes (rounded, discrete, or reused draws), and
    they bias it for every ``k``: a copy of :math:`x_i` shrinks
    :math:`\rho_k(i)` without touching :math:`\nu_k(i)`, and a copy in
    ``y`` counts one point of Q twice. A point repeated within ``x``, within
    ``y``, or shared by the two is therefore refused whatever ``k`` is. For
    discrete data, compare the empirical distributions with
    :func:`klcourse.divergences.kl_divergence` instead.

    Parameters
    ----------
    x : array_like, shape (n, d) or (n,)
        Samples from P (a 1-D array is n samples of a scalar).
    y : array_like, shape (m, d) or (m,)
        Samples from Q, of the same dimension d.
    k : int, optional
        Which neighbour to use; needs ``n > k`` and ``m >= k``.
    workers : int, optional
        Threads for the neighbour queries (``-1``: all cores).

    Returns
    -------
    float
        The estimate in nats. It can be negative for finite samples.

    Raises
    ------
    ValueError
        On shape mismatch, too few samples for ``k``, non-finite samples, or
        repeated points (within ``x``, within ``y``, or shared by both).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(0, 1, size=(5000, 1))
    >>> y = rng.normal(1, 1, size=(5000, 1))
    >>> abs(kl_knn(x, y) - 0.5) < 0.1
    True
    """
    k = positive_int(k, "k")
    workers = _workers(workers)
    xs = _samples(x, "x")
    ys = _samples(y, "y")
    (n, d), m = xs.shape, ys.shape[0]
    if ys.shape[1] != d:
        raise ValueError(
            f"x and y must have the same dimension, got {d} and {ys.shape[1]}"
        )
    if n <= k:
        raise ValueError(f"x needs more than k={k} samples, got {n}")
    if m < k:
        raise ValueError(f"y needs at least k={k} samples, got {m}")
    # Neighbour 1 of x_i within x is x_i itself, so neighbour 2 is the nearest
    # other x, neighbour k + 1 the k-th; neighbour 1 within y is the nearest.
    y_tree = cKDTree(ys)
    within = cKDTree(xs).query(xs, k=[2, k + 1], workers=workers)[0]
    across = y_tree.query(xs, k=[1, k], workers=workers)[0]
    among_y = y_tree.query(ys, k=[min(2, m)], workers=workers)[0][:, 0]
    repeats = {
        "x contains duplicate points": within[:, 0] == 0,
        "y contains duplicate points": (among_y == 0) & (m > 1),
        "x and y share points": across[:, 0] == 0,
    }
    for problem, zero in repeats.items():
        if zero.any():
            raise ValueError(
                f"{problem} ({np.count_nonzero(zero)} samples have a twin at "
                "distance 0); the estimator assumes continuous distributions, "
                "whose samples never repeat, and repeated points bias it for "
                f"every k (here k={k})"
            )
    rho, nu = within[:, 1], across[:, 1]
    return float(d * np.mean(np.log(nu / rho)) + math.log(m / (n - 1)))


def _workers(workers: object) -> int:
    """The thread count for cKDTree: -1 (all cores) or a positive integer."""
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral):
        raise TypeError(
            f"workers must be an integer, got {type(workers).__name__}"
        )
    if workers == 0 or workers < -1:
        raise ValueError(
            "workers must be -1 (all cores) or a positive count, "
            f"got {workers}"
        )
    return int(workers)


def _samples(values: ArrayLike, name: str) -> NDArray[np.float64]:
    """Samples as a finite (n, d) float64 array; a 1-D array is n scalars."""
    array = finite_array(values, name, allow_bool=False)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d), got {array.shape}")
    return array
