"""Estimating KL from samples: Monte Carlo (k1, k2, k3) and k-nearest neighbours.

When a closed form is out of reach, KL(P||Q) is estimated: by averaging a function
of the density ratio over samples from P (:func:`kl_monte_carlo`, which needs both
log-densities), or from two samples alone (:func:`kl_knn`, which needs no density).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from klcourse._distributions import DistributionLike, as_distribution
from klcourse._random import Seed, make_rng
from klcourse._threads import limited_threads
from klcourse._validation import finite_array, positive_int

__all__ = [
    "ESTIMATORS",
    "MonteCarloResult",
    "kl_knn",
    "kl_monte_carlo",
    "kl_monte_carlo_repeated",
    "make_rng",
]

#: The Monte Carlo estimators, as functions of ``log_r = log q(x) - log p(x)`` with ``x ~ P``.
ESTIMATORS = {
    "k1": lambda log_r: -log_r,
    "k2": lambda log_r: 0.5 * log_r**2,
    "k3": lambda log_r: np.expm1(log_r) - log_r,
}


@dataclass(frozen=True)
class MonteCarloResult:
    """A Monte Carlo estimate of KL(P||Q).

    Attributes
    ----------
    value : float
        The estimate in nats (the sample mean of the per-sample terms).
    stderr : float
        Its standard error, ``std(terms, ddof=1) / sqrt(n_samples)``.
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
        return MonteCarloResult(math.inf, math.nan, n, estimator)
    terms = ESTIMATORS[estimator](log_r)
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
    if estimator not in ESTIMATORS:
        raise ValueError(
            f"estimator must be one of {sorted(ESTIMATORS)}, got {estimator!r}"
        )
    n = positive_int(n_samples, "n_samples", minimum=2)
    repeats = positive_int(n_repeats, "n_repeats")
    p_dist = as_distribution(p, "p")
    q_dist = as_distribution(q, "q")
    if p_dist.event_shape != q_dist.event_shape:
        raise ValueError(
            "p and q must be distributions over the same space, got event "
            f"shapes {p_dist.event_shape} and {q_dist.event_shape}"
        )
    x = p_dist.sample(n * repeats, make_rng(seed))
    return (q_dist.log_prob(x) - p_dist.log_prob(x)).reshape(repeats, n)


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
        duplicate points that make a neighbour distance zero (the log-ratio
        would be infinite or undefined).

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
    # k+1 among x: the nearest "neighbour" of x_i in its own sample is x_i.
    rho = cKDTree(xs).query(xs, k=[k + 1], workers=workers)[0][:, 0]
    nu = cKDTree(ys).query(xs, k=[k], workers=workers)[0][:, 0]
    if not rho.all():
        raise ValueError(
            f"x contains duplicate points ({np.count_nonzero(rho == 0)} "
            f"samples have a zero distance to their k={k}-th neighbour in x); "
            "the estimator needs distinct points"
        )
    if not nu.all():
        raise ValueError(
            f"{np.count_nonzero(nu == 0)} samples of x coincide with their "
            f"k={k}-th neighbour in y; the estimator needs points of x "
            "distinct from those of y"
        )
    return float(d * np.mean(np.log(nu / rho)) + math.log(m / (n - 1)))


def _samples(values: ArrayLike, name: str) -> NDArray[np.float64]:
    """Samples as a finite (n, d) float64 array; a 1-D array is n scalars."""
    array = finite_array(values, name)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d), got {array.shape}")
    return array
