"""KL divergence, entropy and cross-entropy: discrete, closed-form and by quadrature.

Chapter 1 of the course defines these quantities and chapter 2 probes their
properties; every function here is the one those chapters call.

All results are in nats (natural logarithms) unless ``base=2`` asks for bits, and
all arithmetic is in float64. The discrete and Gaussian functions need NumPy
and SciPy only; torch is imported by :func:`kl_gauss_hermite` alone, and is
needed by :func:`kl_quadrature` only for torch distributions.
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import TYPE_CHECKING

import numpy as np
import scipy.integrate
from numpy.typing import ArrayLike, NDArray
from scipy.special import entr, rel_entr, xlogy

from klcourse._distributions import (
    Distribution,
    DistributionLike,
    as_distribution,
)
from klcourse._threads import limited_threads
from klcourse._validation import (
    broadcast_pair,
    check_size,
    cholesky_factor,
    finite_array,
    log_base,
    positive_array,
    positive_float,
    positive_int,
    probability_array,
    real_number,
    scalar_result,
)

if TYPE_CHECKING:
    import torch

__all__ = [
    "cross_entropy",
    "entropy",
    "kl_divergence",
    "kl_gauss_hermite",
    "kl_gaussian",
    "kl_mvn",
    "kl_quadrature",
    "x_minus_log1p",
]

Float = NDArray[np.float64] | np.float64


def kl_divergence(
    p: ArrayLike, q: ArrayLike, *, axis: int = -1, base: float | None = None
) -> Float:
    r"""KL divergence between discrete distributions, :math:`\sum_x p(x) \log(p(x)/q(x))`.

    Parameters
    ----------
    p, q : array_like
        Probabilities of the same outcomes along ``axis``; each distribution must
        be non-negative and sum to 1. The other axes broadcast.
    axis : int, optional
        The axis that indexes outcomes.
    base : float, optional
        Logarithm base: ``None`` for nats, ``2`` for bits.

    Returns
    -------
    numpy.float64 or numpy.ndarray
        The divergence, with ``axis`` removed. Terms with ``p(x) = 0`` contribute
        exactly 0; a term with ``p(x) > 0`` and ``q(x) = 0`` makes the result ``inf``.

    Raises
    ------
    ValueError
        If a distribution has NaN or negative entries, does not sum to 1, or the
        shapes do not match.

    Examples
    --------
    >>> round(float(kl_divergence([0.5, 0.5], [0.9, 0.1], base=2)), 6)
    0.736966
    >>> float(kl_divergence([0.5, 0.5], [1.0, 0.0]))
    inf
    """
    p_arr = probability_array(p, "p", axis, allow_bool=False)
    q_arr = probability_array(q, "q", axis, allow_bool=False)
    p_arr, q_arr = broadcast_pair(p_arr, q_arr, ("p", "q"), axis)
    check_size(p_arr.size, "p and q (broadcast)")
    return scalar_result(
        rel_entr(p_arr, q_arr).sum(axis=axis) / log_base(base)
    )


def entropy(
    p: ArrayLike, *, axis: int = -1, base: float | None = None
) -> Float:
    r"""Shannon entropy of a discrete distribution, :math:`-\sum_x p(x) \log p(x)`.

    Parameters
    ----------
    p : array_like
        Probabilities along ``axis`` (non-negative, summing to 1).
    axis : int, optional
        The axis that indexes outcomes.
    base : float, optional
        Logarithm base: ``None`` for nats, ``2`` for bits.

    Returns
    -------
    numpy.float64 or numpy.ndarray
        The entropy, with ``axis`` removed.

    Examples
    --------
    >>> float(entropy([0.25, 0.25, 0.25, 0.25], base=2))
    2.0
    """
    p_arr = probability_array(p, "p", axis, allow_bool=False)
    return scalar_result(entr(p_arr).sum(axis=axis) / log_base(base))


def cross_entropy(
    p: ArrayLike, q: ArrayLike, *, axis: int = -1, base: float | None = None
) -> Float:
    r"""Cross-entropy of ``q`` relative to ``p``, :math:`-\sum_x p(x) \log q(x)`.

    It equals ``entropy(p) + kl_divergence(p, q)``.

    Parameters
    ----------
    p, q : array_like
        Probabilities of the same outcomes along ``axis``.
    axis : int, optional
        The axis that indexes outcomes.
    base : float, optional
        Logarithm base: ``None`` for nats, ``2`` for bits.

    Returns
    -------
    numpy.float64 or numpy.ndarray
        The cross-entropy (``inf`` where ``q`` misses mass of ``p``).

    Examples
    --------
    >>> float(cross_entropy([1.0, 0.0], [0.5, 0.5], base=2))
    1.0
    """
    p_arr = probability_array(p, "p", axis, allow_bool=False)
    q_arr = probability_array(q, "q", axis, allow_bool=False)
    p_arr, q_arr = broadcast_pair(p_arr, q_arr, ("p", "q"), axis)
    check_size(p_arr.size, "p and q (broadcast)")
    return scalar_result(-xlogy(p_arr, q_arr).sum(axis=axis) / log_base(base))


def kl_gaussian(
    mean_p: ArrayLike, std_p: ArrayLike, mean_q: ArrayLike, std_q: ArrayLike
) -> Float:
    r"""Closed-form KL between two univariate Normal distributions.

    For :math:`P = \mathcal N(\mu_p, \sigma_p^2)` and
    :math:`Q = \mathcal N(\mu_q, \sigma_q^2)`,

    .. math:: \mathrm{KL}(P \,\|\, Q) = \log\frac{\sigma_q}{\sigma_p}
       + \frac{\sigma_p^2 + (\mu_p-\mu_q)^2}{2\sigma_q^2} - \frac12

    It is evaluated as :math:`x - \log(1 + x) + \tfrac12 x^2 + \tfrac12 z^2`
    with :math:`x = (\sigma_p - \sigma_q)/\sigma_q` and
    :math:`z = (\mu_p - \mu_q)/\sigma_q`: every term is non-negative, equal
    arguments give exactly 0, and nearby arguments keep their relative
    precision (no cancellation between a logarithm and a ratio of variances;
    for :math:`|x| < 10^{-2}` the first term is summed as its power series,
    and for :math:`x \le -1/2`, where :math:`1 + x` would keep only the
    absolute precision of :math:`x`, its logarithm is
    :math:`\log\sigma_p - \log\sigma_q`).

    Parameters
    ----------
    mean_p, std_p, mean_q, std_q : array_like
        Means and standard deviations; they broadcast against each other.
        Standard deviations must be finite and strictly positive.

    Returns
    -------
    numpy.float64 or numpy.ndarray
        The divergence in nats, with the broadcast shape of the arguments.

    Examples
    --------
    >>> float(kl_gaussian(0.0, 1.0, 1.0, 1.0))
    0.5
    """
    names = ("mean_p", "std_p", "mean_q", "std_q")
    arrays = [
        finite_array(mean_p, "mean_p", allow_bool=False),
        positive_array(std_p, "std_p", allow_bool=False),
        finite_array(mean_q, "mean_q", allow_bool=False),
        positive_array(std_q, "std_q", allow_bool=False),
    ]
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError as error:
        shapes = ", ".join(f"{n}{a.shape}" for n, a in zip(names, arrays))
        message = f"the arguments do not broadcast: {shapes}"
        raise ValueError(message) from error
    check_size(math.prod(shape), "mean_p, std_p, mean_q and std_q (broadcast)")
    mp, sp, mq, sq = arrays
    x = (sp - sq) / sq  # sigma_p / sigma_q - 1, without rounding the ratio
    z = (mp - mq) / sq
    kl = x_minus_log1p(x, np.log(sp) - np.log(sq)) + 0.5 * (x * x + z * z)
    return scalar_result(kl)


def x_minus_log1p(x: ArrayLike, log_ratio: ArrayLike) -> NDArray[np.float64]:
    """``x - log(1 + x)`` for ``x = a/b - 1``, to full relative precision.

    The term is never negative, and zero only at ``x = 0``. Computed
    directly it cancels as ``x -> 0`` (relative error about ``2 eps/|x|``),
    so for ``|x| < 1e-2`` the series ``x^2/2 - x^3/3 + ... + x^10/10`` is
    summed instead (truncation error below ``|x|^11 / 11``). For
    ``x <= -1/2`` the stored ``x`` fixes ``1 + x = a/b`` only to its own
    absolute precision (``a/b = 1e-17`` would round to 0), so there the
    logarithm is taken from ``log_ratio = log(a) - log(b)``.

    Parameters
    ----------
    x : array_like
        ``a/b - 1``, best computed as ``(a - b) / b``; every ``x > -1``.
    log_ratio : array_like
        ``log(a) - log(b)``; broadcasts against ``x``.

    Returns
    -------
    numpy.ndarray
        ``x - log(1 + x)``, with the broadcast shape.

    Examples
    --------
    >>> x = np.array([1e-8, 1.0])
    >>> np.round(x_minus_log1p(x, np.log1p(x)) / [x[0] ** 2 / 2, 1], 6)
    array([1.      , 0.306853])
    """
    x, log_ratio = np.broadcast_arrays(
        np.asarray(x, dtype=np.float64),
        np.asarray(log_ratio, dtype=np.float64),
    )
    # log(1 + x) from x, except where 1 + x keeps too few digits
    log1p = np.where(x > -0.5, np.log1p(np.maximum(x, -0.5)), log_ratio)
    out = np.asarray(x - log1p)
    small = np.abs(x) < 1e-2
    if small.any():
        s = x[small]
        poly = np.full_like(s, 1 / 10)
        for j in range(9, 1, -1):  # Horner: 1/2 - s (1/3 - s (1/4 - ...))
            poly = (-1) ** j / j + s * poly
        out[small] = s * s * poly
    return out


def kl_mvn(
    mean_p: ArrayLike, cov_p: ArrayLike, mean_q: ArrayLike, cov_q: ArrayLike
) -> Float:
    r"""Closed-form KL between multivariate Normals, batched over leading axes.

    .. math:: \tfrac12\left[\operatorname{tr}(\Sigma_q^{-1}(\Sigma_p-\Sigma_q)) + (\mu_q-\mu_p)^\top\Sigma_q^{-1}(\mu_q-\mu_p) + \log\frac{\det\Sigma_q}{\det\Sigma_p}\right]

    Computed from the Cholesky factors :math:`L_p, L_q` with one batched linear solve
    against :math:`L_q`, :math:`E = L_q^{-1}(L_p - L_q)`, no inverse formed:
    :math:`\sum_i (E_{ii} - \log(1+E_{ii})) + \tfrac12\|E\|_F^2 + \tfrac12\|L_q^{-1}(\mu_q-\mu_p)\|^2`.
    Every term is non-negative, and ``KL(P||P)`` is exactly 0.

    Parameters
    ----------
    mean_p, mean_q : array_like, shape (..., d)
        Means.
    cov_p, cov_q : array_like, shape (..., d, d)
        Symmetric positive-definite covariance matrices. Leading axes of all four
        arguments broadcast.

    Returns
    -------
    numpy.float64 or numpy.ndarray
        The divergence in nats, with the broadcast batch shape.

    Raises
    ------
    ValueError
        If shapes disagree, or a covariance is not symmetric positive definite.

    Examples
    --------
    >>> import numpy as np
    >>> float(kl_mvn(np.zeros(2), np.eye(2), np.ones(2), np.eye(2)))
    1.0
    """
    mp = finite_array(mean_p, "mean_p", allow_bool=False)
    mq = finite_array(mean_q, "mean_q", allow_bool=False)
    if mp.ndim == 0 or mq.ndim == 0:
        raise ValueError(
            "mean_p and mean_q must have shape (..., d), got a scalar"
        )
    d = mp.shape[-1]
    if d == 0:
        raise ValueError(
            "mean_p must have shape (..., d) with d >= 1, got an empty "
            "last axis"
        )
    if mq.shape[-1] != d:
        raise ValueError(
            f"mean_p has dimension {d} but mean_q has dimension {mq.shape[-1]}"
        )
    chol_p = cholesky_factor(cov_p, "cov_p", d)
    chol_q = cholesky_factor(cov_q, "cov_q", d)
    try:
        shape = np.broadcast_shapes(
            mp.shape[:-1], mq.shape[:-1], chol_p.shape[:-2], chol_q.shape[:-2]
        )
    except ValueError as error:
        raise ValueError(
            "the batch shapes of mean_p, cov_p, mean_q and cov_q do not broadcast: "
            f"{mp.shape[:-1]}, {chol_p.shape[:-2]}, {mq.shape[:-1]}, {chol_q.shape[:-2]}"
        ) from error
    check_size(
        math.prod(shape) * d * (d + 1),
        "mean_p, cov_p, mean_q and cov_q (broadcast)",
    )
    # With Lp = Lq (I + E):  tr(Sq^-1 Sp) - d = 2 tr(E) + ||E||_F^2  and
    # log det Sq - log det Sp = -2 sum log(1 + E_ii)  (E is lower triangular).
    # E and z = Lq^-1 (mu_q - mu_p) come from one batched solve against Lq.
    rhs = np.concatenate(
        [
            np.broadcast_to(chol_p - chol_q, shape + (d, d)),
            np.broadcast_to(mq - mp, shape + (d,))[..., None],
        ],
        axis=-1,
    )
    solution = np.linalg.solve(np.broadcast_to(chol_q, shape + (d, d)), rhs)
    e, z = solution[..., :d], solution[..., d]
    e_diag = np.diagonal(e, axis1=-2, axis2=-1)
    # Each of the three terms is non-negative: x - log(1 + x) >= 0 for x > -1,
    # summed as a series near 0 so nearly equal covariances keep their digits.
    log_ratio = np.log(np.diagonal(chol_p, axis1=-2, axis2=-1)) - np.log(
        np.diagonal(chol_q, axis1=-2, axis2=-1)
    )
    log_det_term = x_minus_log1p(e_diag, log_ratio)
    return scalar_result(
        log_det_term.sum(-1)
        + 0.5 * (e**2).sum(axis=(-2, -1))
        + 0.5 * (z**2).sum(-1)
    )


@limited_threads
def kl_quadrature(
    p: DistributionLike,
    q: DistributionLike,
    *,
    lower: float = -math.inf,
    upper: float = math.inf,
    epsabs: float = 1e-11,
    epsrel: float = 1e-10,
) -> float:
    r"""KL between two univariate densities by numerical integration.

    .. math:: \int_{\text{lower}}^{\text{upper}} p(x) \log\frac{p(x)}{q(x)}\,dx

    integrated with tanh-sinh quadrature (:func:`scipy.integrate.tanhsinh`, all
    pieces of the range at once on vectorised log-densities), falling back to
    :func:`scipy.integrate.quad` on any piece where it does not converge. The
    log-densities come from the distributions' own ``log_prob``/``logpdf``.

    An integral that diverges is ``inf``, never a finite number. Before
    integrating, each end of the range is probed on a geometric grid that
    runs out to :math:`|x| = 10^{100}` (or in to within a hair of a finite
    end): where :math:`t\,p\log(p/q)`, with :math:`t` the distance from the
    centre of P (or from the finite end), does not shrink as :math:`t` moves
    towards the end, the integral diverges there. This catches a
    heavy-tailed P against a lighter-tailed Q (a Cauchy against a Normal or a
    Laplace, a Student-t with 2 or fewer degrees of freedom against a
    Normal) and a Q that vanishes too fast at an end of P's support.

    Parameters
    ----------
    p, q : torch.distributions.Distribution or frozen scipy.stats distribution
        Univariate continuous distributions (mixtures included).
    lower, upper : float, optional
        Integration limits; the default is the whole real line. When a limit is
        infinite the range is split around ``p``'s mean so that narrow or far-off
        densities are not missed.
    epsabs, epsrel : float, optional
        Absolute and relative error targets of the integrator (non-negative,
        not both zero).

    Returns
    -------
    float
        The divergence in nats: ``inf`` when the integrand meets a point where
        ``p > 0`` and ``q = 0``, or when the integral diverges at an end.
        Over P's whole support the result is never negative: a value below
        zero by no more than the integrator's error estimate is rounding and
        is returned as 0.0. Limits that cut P's support give the integral over
        that range only, which is not a divergence and may be negative.

    Raises
    ------
    ValueError
        For limits out of order; when q's library returns ``log q = -inf``
        inside q's support where p > 0 (SciPy's Laplace computes the log of
        a density that underflows beyond 745 scales: ``log(p/q)`` is then
        unknown, while torch's Laplace is exact); or when the integrator
        cannot reach an answer it can vouch for (its error estimate exceeds
        the targets, or a negative KL over the whole support).

    Examples
    --------
    >>> from scipy import stats
    >>> round(kl_quadrature(stats.norm(0, 1), stats.norm(1, 1)), 12)
    0.5
    >>> kl_quadrature(stats.cauchy(0, 1), stats.norm(0, 1))
    inf
    """
    p_dist = as_distribution(p, "p", continuous=True, univariate=True)
    q_dist = as_distribution(q, "q", continuous=True, univariate=True)
    lo = real_number(lower, "lower", allow_infinite=True)
    hi = real_number(upper, "upper", allow_infinite=True)
    if not lo < hi:
        raise ValueError(
            f"lower must be smaller than upper, got lower={lower!r}, upper={upper!r}"
        )
    atol = positive_float(epsabs, "epsabs", allow_zero=True)
    rtol = positive_float(epsrel, "epsrel", allow_zero=True)
    if atol == 0 and rtol == 0:
        raise ValueError("epsabs and epsrel cannot both be zero")
    # Outside the support of p the integrand is 0: integrate over the support only,
    # so that its edges are ends of the range rather than kinks inside it.
    support_lo, support_hi = p_dist.support_bounds()
    whole_support = lo <= support_lo and hi >= support_hi
    lo, hi = max(lo, support_lo), min(hi, support_hi)
    if not lo < hi:
        return 0.0
    integrand = _KLIntegrand(p_dist, q_dist, lo, hi)
    centre, scale = p_dist.centre_scale()
    if any(
        integrand.diverges_at(end, lo, hi, centre, scale) for end in (lo, hi)
    ):
        return math.inf
    pieces = np.array(_pieces(lo, hi, p_dist.location_scale()))
    values, errors = _integrate(integrand, pieces, atol, rtol)
    if integrand.q_misses_p:
        return math.inf
    if integrand.q_underflows is not None:
        raise ValueError(
            "q's log-density is -inf at "
            f"x={integrand.q_underflows:.6g}, inside "
            "its support and where p > 0: its library computes log q as the "
            "log of a density that underflowed, so log(p/q) cannot be "
            "evaluated there. Use a distribution whose log-density is "
            "computed in log space (torch.distributions' are), or limit the "
            "range with lower and upper"
        )
    value = float(values.sum())
    tolerance = float(errors.sum()) + atol + rtol * float(np.abs(values).sum())
    unsure = errors > np.maximum(
        1e3 * (atol + rtol * np.abs(values)), 1e-7 * np.abs(values)
    )
    if unsure.any():
        a, b = pieces[np.argmax(unsure)]
        raise ValueError(
            "kl_quadrature cannot vouch for the integral of p log(p/q) over "
            f"[{a:.6g}, {b:.6g}] (error estimate {errors[unsure].max():.2g} "
            f"for a value of {values[unsure][0]:.6g}); it may diverge there "
            "or have a singularity the integrator cannot resolve"
        )
    if whole_support and value < 0:
        if value < -tolerance:
            raise ValueError(
                f"kl_quadrature found a negative divergence ({value:.6g}, "
                f"beyond its error estimate {tolerance:.2g}) between p and q; "
                "the integrator failed on these densities"
            )
        return 0.0  # KL >= 0: a value within the error estimate of 0 is 0
    return value


class _KLIntegrand:
    """``p log(p/q)`` at arrays of points, in log space; notes where q = 0 < p.

    ``q_misses_p`` records a point of the range, outside the support of q,
    where p > 0 (the divergence is then infinite). ``q_underflows`` records
    one inside q's support where q's library still returned ``log q = -inf``
    although p > 0 there (SciPy computes some log-densities, the Laplace's
    among them, as the log of a density that underflows beyond ``|x| = 745``):
    ``log(p/q)`` cannot be evaluated there. Beyond ``|x| = REACH`` the tail
    probes of :meth:`diverges_at` have already vouched for the integral, and
    a log-density that over- or underflows there counts as 0.
    """

    REACH = 1e100

    def __init__(
        self, p: Distribution, q: Distribution, lo: float, hi: float
    ) -> None:
        self.p, self.q, self.lo, self.hi = p, q, lo, hi
        self.q_support = q.support_bounds()
        self.q_misses_p = False
        self.q_underflows: float | None = None  # a point where it happened

    def log_densities(
        self, x: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``log p`` and ``log q`` at ``x``; far tails may give -inf."""
        with np.errstate(all="ignore"):
            return self.p.log_prob(x), self.q.log_prob(x)

    def _zero_q(
        self,
        x: NDArray[np.float64],
        log_p: NDArray[np.float64],
        log_q: NDArray[np.float64],
    ) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """Where p > 0 (strictly inside the range), and where log q = -inf.

        Where p underflows to 0 its term is 0, so only a p that is really
        positive can expose a q = 0. A node that rounds onto an end of the
        range is a single point (of measure 0) where an open support may
        give log q = -inf: it says nothing.
        """
        inside = (x > self.lo) & (x < self.hi)
        positive = inside & (np.exp(log_p) > 0)
        zero_q = positive & (log_q == -np.inf)
        outside_q = (x < self.q_support[0]) | (x > self.q_support[1])
        near = np.abs(x) <= self.REACH
        self.q_misses_p |= bool(np.any(zero_q & outside_q))
        underflow = zero_q & ~outside_q & near
        if underflow.any():
            self.q_underflows = float(x[underflow][0])
        return positive, zero_q

    def __call__(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        log_p, log_q = self.log_densities(x)
        positive, zero_q = self._zero_q(x, log_p, log_q)
        out = np.zeros_like(log_p)
        ok = positive & ~zero_q
        out[ok] = np.exp(log_p[ok]) * (log_p[ok] - log_q[ok])
        out[~np.isfinite(out) & (np.abs(x) > self.REACH)] = 0.0
        return out

    def diverges_at(
        self, end: float, lo: float, hi: float, centre: float, scale: float
    ) -> bool:
        r"""True when the integral over ``[lo, hi]`` diverges at ``end``.

        With ``t`` the distance from P's centre (an infinite end) or from
        ``end`` (a finite one), the integral near the end is
        :math:`\int t f \, d\log t` for the integrand ``f``. It converges
        only if ``t f`` shrinks as ``t`` goes to the end. Probes every tenth
        of a decade of ``t`` run out to ``|x| = REACH`` (or in to within
        1e-300, or 1e-8 relative, of a finite end); where ``t f`` is positive
        and has not shrunk over the last five probes that both log-densities
        can evaluate, at least a hundred scales of P from its centre (or
        within a hundredth of a scale of the finite end), the integral
        diverges. The negative part of ``f`` is bounded by ``q - p``, so it
        always converges.
        """
        if math.isinf(end):
            inner = min(max(centre, lo), hi)
            top = math.log10(self.REACH) - math.log10(scale)
            t = scale * 10.0 ** np.arange(0.1, top, 0.1)
            x = inner + math.copysign(1.0, end) * t
        else:
            sign = 1.0 if end == lo else -1.0
            other = hi if end == lo else lo
            width = min(scale, abs(other - end) / 2)
            bottom = max(1e-300, 1e-8 * abs(end))
            steps = np.arange(0.1, math.log10(width / bottom), 0.1)
            x = end + sign * width * 10.0**-steps
            t = np.abs(x - end)
        log_p, log_q = self.log_densities(x)
        self._zero_q(x, log_p, log_q)
        if self.q_misses_p:
            return True
        self.q_underflows = None  # the integrand itself decides on that
        usable = (t > 0) & np.isfinite(log_p) & np.isfinite(log_q)
        last = np.flatnonzero(usable)[-5:]  # the probes nearest the end
        if last.size < 5:
            return False
        reached = (
            t[last[-1]] >= 1e2 * scale
            if math.isinf(end)
            else t[last[-1]] <= 1e-2 * width
        )
        gap = log_p[last] - log_q[last]
        if not reached or np.any(gap <= 0):
            return False
        log_t = np.log(t[last])
        log_tf = log_t + log_p[last] + np.log(gap)
        rates = np.diff(log_tf) / np.abs(np.diff(log_t))
        return bool(np.all(rates > -_FLAT))


#: The smallest decay rate of ``t p log(p/q)`` per unit of ``log t`` taken as
#: decay; a power-law tail that diverges has rate 0 to rounding error.
_FLAT = 1e-6


def _integrate(
    integrand: _KLIntegrand,
    pieces: NDArray[np.float64],
    atol: float,
    rtol: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The integral over every piece and its error estimate.

    Tanh-sinh quadrature integrates every piece at once with vectorised
    densities. It may not converge on a piece where the integrand jumps (the
    edge of a uniform density); adaptive Gauss-Kronrod handles such pieces.
    """
    result = scipy.integrate.tanhsinh(
        integrand, pieces[:, 0], pieces[:, 1], atol=atol, rtol=rtol
    )
    values = np.array(result.integral, dtype=np.float64, ndmin=1)
    errors = np.array(result.error, dtype=np.float64, ndmin=1)
    for i in np.flatnonzero(~np.atleast_1d(result.success)):
        scalar = lambda x: float(integrand(np.array([x]))[0])
        with warnings.catch_warnings():
            # its error estimate below says what the warning would
            warnings.simplefilter("ignore", scipy.integrate.IntegrationWarning)
            values[i], errors[i] = scipy.integrate.quad(
                scalar, *pieces[i], epsabs=atol, epsrel=rtol, limit=200
            )[:2]
    return values, np.nan_to_num(errors, nan=np.inf)


@limited_threads
def kl_gauss_hermite(
    p: torch.distributions.Distribution,
    q: torch.distributions.Distribution,
    *,
    n_nodes: int = 128,
) -> Float:
    r"""KL from a Normal or a mixture of Normals to any density, batched.

    For :math:`P = \sum_j w_j\,\mathcal N(m_j, s_j^2)` (one component for a
    plain Normal) the expectation is split by component and each part is
    computed by Gauss--Hermite quadrature,

    .. math:: \mathrm{KL}(P\,\|\,Q) = \sum_j w_j \sum_i \frac{\omega_i}{\sqrt\pi}
       \log\frac{p}{q}\big(m_j + \sqrt2\, s_j t_i\big),

    with nodes :math:`t_i` and weights :math:`\omega_i`. The rule is exact for
    polynomials of degree below ``2 * n_nodes``, so between two Normals it is
    exact (the log-ratio is then a quadratic). With mixtures the log-ratio is
    smooth but not a polynomial, and the default 128 nodes give about seven
    significant digits for well-separated modes (the tests compare with
    :func:`scipy.integrate.quad`). It is meant for smooth Q: a kink in log q
    (a Laplace Q) slows it down.

    Parameters
    ----------
    p : torch.distributions.Normal or torch.distributions.MixtureSameFamily
        P, a univariate Normal or a mixture of univariate Normals, with any
        batch shape (for instance one p(y|x) per input x).
    q : torch.distributions.Distribution
        Q, univariate, with a ``log_prob`` that broadcasts against P's batch
        shape.
    n_nodes : int, optional
        Quadrature nodes per component, from 2 to 256 (NumPy's rule loses
        its weights to underflow beyond that).

    Returns
    -------
    numpy.float64 or numpy.ndarray
        The divergence in nats for every element of the batch.

    Examples
    --------
    >>> import torch
    >>> D = torch.distributions
    >>> p = D.Normal(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 2.0]))
    >>> q = D.Normal(torch.tensor([1.0, 1.0]), torch.tensor([1.0, 1.0]))
    >>> np.round(kl_gauss_hermite(p, q), 6)
    array([0.5     , 0.806853])
    """
    import torch

    D = torch.distributions
    n = positive_int(n_nodes, "n_nodes", minimum=2)
    if n > 256:
        raise ValueError(f"n_nodes must be at most 256, got {n}")
    if isinstance(p, D.MixtureSameFamily) and isinstance(
        p.component_distribution, D.Normal
    ):
        weights = p.mixture_distribution.probs  # (..., k)
        loc = p.component_distribution.loc
        scale = p.component_distribution.scale
    elif isinstance(p, D.Normal):
        loc, scale = p.loc[..., None], p.scale[..., None]
        weights = torch.ones_like(loc)
    else:
        raise TypeError(
            "p must be a torch Normal or a MixtureSameFamily of Normals, got "
            f"{type(p).__name__}"
        )
    if not isinstance(q, D.Distribution) or q.event_shape != torch.Size():
        raise TypeError(
            f"q must be a univariate torch distribution, got {type(q).__name__}"
        )
    try:
        torch.broadcast_shapes(p.batch_shape, q.batch_shape)
    except RuntimeError as error:
        raise ValueError(
            f"p and q must have batch shapes that broadcast, got "
            f"{tuple(p.batch_shape)} and {tuple(q.batch_shape)}"
        ) from error
    t, w = np.polynomial.hermite.hermgauss(n)
    nodes = torch.from_numpy(t).to(loc.dtype)
    # points of shape (n, ..., k): node i of component j of every batch element
    x = loc + math.sqrt(2.0) * scale * nodes.reshape((n,) + (1,) * loc.ndim)
    batch_points = x.movedim(-1, 0)  # (k, n, ...): one batch of P per slice
    log_ratio = p.log_prob(batch_points) - q.log_prob(batch_points)
    node_weights = torch.from_numpy(w / math.sqrt(math.pi)).to(loc.dtype)
    per_component = torch.tensordot(
        node_weights, log_ratio.movedim(1, 0), dims=1
    )  # (k, ...)
    kl = (weights.movedim(-1, 0) * per_component).sum(0)
    return scalar_result(kl.detach().to(torch.float64).numpy())


def _pieces(
    lo: float, hi: float, location_scale: tuple[float, float] | None
) -> list[tuple[float, float]]:
    """Split ``[lo, hi]`` at ``mean ± k·std`` of p so that quad sees where p lives."""
    if location_scale is None or (math.isfinite(lo) and math.isfinite(hi)):
        return [(lo, hi)]
    mean, std = location_scale
    cuts = sorted({mean + k * std for k in (-10, -3, 0, 3, 10)})
    edges = [lo] + [c for c in cuts if lo < c < hi] + [hi]
    return list(itertools.pairwise(edges))
