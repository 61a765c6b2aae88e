"""Fitting one Gaussian to a target by forward or by reverse KL (chapter 3).

The target P is a one-dimensional mixture of Normals (:func:`bimodal` builds the
course's example); the approximation is Q = N(mu, sigma^2).

- Forward KL(P||Q) needs *samples* of P: minimising it is maximum likelihood.
- Reverse KL(Q||P) needs *log P*, and only up to an additive constant: minimising it
  maximises E_Q[log P] + H(Q), estimated with reparameterised samples of Q.

:func:`kl_landscape` evaluates both objectives exactly on a grid of (mu, log sigma),
and :func:`alpha_divergence` / :func:`fit_gaussian_alpha` interpolate between the two
directions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Self

import numpy as np
import scipy.integrate
import scipy.optimize
import torch
from numpy.typing import ArrayLike, NDArray
from tqdm.auto import tqdm

from klcourse._deprecation import renamed_keywords
from klcourse._distributions import as_distribution
from klcourse._history import History
from klcourse._progress import show_progress
from klcourse._random import Seed, seeded, torch_generator
from klcourse._threads import limited_threads
from klcourse._validation import (
    DIRECTIONS,
    check_bool,
    check_choice,
    check_size,
    finite_array,
    positive_float,
    positive_int,
    real_number,
)
from klcourse.divergences import kl_gaussian, kl_quadrature

__all__ = [
    "GaussianFit",
    "GaussianParams",
    "alpha_divergence",
    "bimodal",
    "fit_gaussian",
    "fit_gaussian_alpha",
    "forward_kl_optimum",
    "kl_landscape",
    "reverse_kl_loss",
    "reverse_kl_optimum",
]

D = torch.distributions
LogDensity = Callable[[torch.Tensor], torch.Tensor]
Target = D.Distribution | LogDensity | ArrayLike
"""A univariate torch distribution, a log-density known up to a constant, or samples."""


class _MuSigma(NamedTuple):
    mu: float
    sigma: float


class GaussianParams(_MuSigma):
    """The mean and standard deviation of a univariate Gaussian.

    A named pair ``(mu, sigma)``: ``mu`` a finite number, ``sigma`` a finite
    positive one; anything else is refused at construction.

    Examples
    --------
    >>> mu, sigma = GaussianParams(mu=0.0, sigma=2.0)
    >>> sigma**2
    4.0
    """

    __slots__ = ()

    def __new__(cls, mu: float, sigma: float) -> Self:
        mu, sigma = _check_mu_sigma(mu, sigma)
        return super().__new__(cls, mu, sigma)


@dataclass(frozen=True)
class GaussianFit:
    """The result of :func:`fit_gaussian`.

    Attributes
    ----------
    mu, sigma : float
        The fitted Gaussian Q = N(mu, sigma^2).
    kl : float or None
        The divergence in the fitted direction at the end, by quadrature:
        KL(P||Q) for ``"forward"``, KL(Q||P) for ``"reverse"``. None when P was
        given only as samples or as an unnormalised log-density.
    direction : str
        ``"forward"`` or ``"reverse"``.
    history : History
        One row per optimiser update, recorded before it is made:
        ``"update"`` (the updates made so far, 0 to ``updates - 1``, the
        x-axis), ``"mu"``, ``"sigma"`` and ``"loss"``, the estimated objective
        (the cross-entropy for forward, the negative evidence lower bound, KL
        up to log Z, for reverse). ``pandas.DataFrame(fit.history)`` is a
        table of it. (It used to be a plain dict without ``"update"``; a
        History is a dict too, so code that read the old one still works.)

    Examples
    --------
    >>> fit = fit_gaussian(D.Normal(1.0, 2.0), direction="reverse", seed=0)
    >>> fit.direction, abs(fit.mu - 1.0) < 0.1, abs(fit.sigma - 2.0) < 0.1
    ('reverse', True, True)
    >>> fit.history
    History(x='update', 500 rows: update, mu, sigma, loss)
    """

    mu: float
    sigma: float
    kl: float | None
    direction: str
    history: History

    @property
    def q(self) -> D.Normal:
        """The fitted Gaussian as a ``torch.distributions.Normal`` (float64)."""
        return _normal(self.mu, self.sigma)


def bimodal(
    *,
    weights: Sequence[float] = (0.3, 0.7),
    means: Sequence[float] = (-3.0, 3.0),
    stds: Sequence[float] = (0.8, 0.8),
) -> D.MixtureSameFamily:
    r"""The course's bimodal target: a mixture of two Normals (float64).

    .. math:: p(x) = w_1\,\mathcal N(x; m_1, s_1^2) + w_2\,\mathcal N(x; m_2, s_2^2)

    Parameters
    ----------
    weights : pair of float
        Mixture weights, positive and summing to 1 (never renormalised).
    means : pair of float
        Component means.
    stds : pair of float
        Component standard deviations, positive.

    Returns
    -------
    torch.distributions.MixtureSameFamily

    Examples
    --------
    >>> p = bimodal()
    >>> round(float(p.mean), 12)
    1.2
    """
    w = finite_array(weights, "weights", allow_bool=False)
    m = finite_array(means, "means", allow_bool=False)
    s = finite_array(stds, "stds", allow_bool=False)
    for name, value in (("weights", w), ("means", m), ("stds", s)):
        if value.shape != (2,):
            raise ValueError(
                f"{name} must hold two numbers (one per mode), got shape {value.shape}"
            )
    if np.any(w <= 0) or abs(w.sum() - 1.0) > 1e-9:
        raise ValueError(
            f"weights must be positive and sum to 1, got {tuple(w)}"
        )
    if np.any(s <= 0):
        raise ValueError(f"stds must be positive, got {tuple(s)}")
    return D.MixtureSameFamily(
        D.Categorical(probs=torch.from_numpy(w)),
        D.Normal(torch.from_numpy(m), torch.from_numpy(s)),
    )


def forward_kl_optimum(p: D.Distribution) -> GaussianParams:
    r"""The Gaussian that minimises the forward KL(P||Q): moment matching.

    Over Gaussians Q, :math:`\mathrm{KL}(P\|Q)` is smallest when Q has the mean and
    the variance of P.

    Parameters
    ----------
    p : torch.distributions.Distribution
        A univariate distribution with a mean and a variance (mixtures included).

    Returns
    -------
    GaussianParams
        ``(mu, sigma)``: P's mean and standard deviation.

    Raises
    ------
    ValueError
        If P has no finite mean and variance (a Cauchy, a Student-t with two
        or fewer degrees of freedom): KL(P||Q) is then infinite for every
        Gaussian Q, and there is no optimum.

    Examples
    --------
    >>> p = bimodal(weights=(0.5, 0.5), means=(-1.0, 1.0), stds=(1.0, 1.0))
    >>> optimum = forward_kl_optimum(p)
    >>> round(optimum.mu, 6) + 0.0, round(optimum.sigma, 6)
    (0.0, 1.414214)
    """
    _check_univariate(p, "p")
    mean, std = _mean_std(p)
    return GaussianParams(mean, std)


def reverse_kl_optimum(
    p: D.Distribution, *, init: tuple[float, float]
) -> GaussianParams:
    """The Gaussian at the local minimum of the reverse KL(Q||P) reached from ``init``.

    Deterministic and exact up to quadrature: :func:`fit_gaussian_alpha` with
    ``alpha=0``. Reverse KL can have several local minima (one per well-separated
    mode, and sometimes a broad one between the modes), so the answer depends on
    ``init``.

    Examples
    --------
    >>> right = reverse_kl_optimum(bimodal(), init=(2.0, 1.0))
    >>> round(right.mu, 2), round(right.sigma, 2)
    (3.0, 0.8)
    """
    return fit_gaussian_alpha(p, alpha=0.0, init=init)


@renamed_keywords(steps="updates")
@limited_threads
def fit_gaussian(
    p: Target,
    *,
    direction: str = "forward",
    init: tuple[float, float] = (0.0, 1.0),
    updates: int = 500,
    lr: float = 0.05,
    n_samples: int = 1_000,
    seed: Seed = None,
    entropy: bool = True,
    progress: bool | None = None,
) -> GaussianFit:
    r"""Fit Q = N(mu, sigma^2) to P by gradient descent on a KL divergence.

    - ``"forward"``: minimise :math:`-\frac1n\sum_i \log q(x_i)` over a data set
      :math:`x_i \sim P` -- maximum likelihood, which is KL(P||Q) up to the
      constant H(P).
    - ``"reverse"``: minimise :math:`-\mathbb E_{x\sim Q}[\log p(x)] - H(Q)` -- KL(Q||P)
      up to the constant log Z -- with fresh reparameterised samples
      :math:`x = \mu + \sigma\varepsilon` at every update (see
      :func:`reverse_kl_loss`). Only log p up to an additive constant is
      needed.

    Adam optimises (mu, log sigma).

    Parameters
    ----------
    p : torch.distributions.Distribution, callable or array_like
        The target. A univariate torch distribution works in both directions. For
        ``"forward"`` P may also be an array of samples; for ``"reverse"`` a
        callable mapping a float64 tensor of points to their (possibly
        unnormalised) log-density.
    direction : {"forward", "reverse"}
        Which divergence to minimise.
    init : (float, float)
        Starting ``(mu, sigma)``; sigma > 0.
    updates : int
        Number of Adam updates (formerly ``steps``, which still works with a
        ``FutureWarning``).
    lr : float
        Adam's learning rate.
    n_samples : int
        Forward: the size of the data set drawn from P (ignored when P is given
        as samples). Reverse: samples of Q per update.
    seed : int, numpy.random.Generator or None, optional
        Seeds the data set (forward) or the reparameterisation noise
        (reverse); None draws fresh entropy. Global random state is untouched.
    entropy : bool
        Reverse only: keep the entropy term H(Q). ``False`` shows what it
        prevents: sigma collapses towards 0 on a mode.
    progress : bool or None, optional
        Show a progress bar over the updates; None (the default) shows it
        only in interactive use (a notebook or a terminal).

    Returns
    -------
    GaussianFit

    Examples
    --------
    >>> fit = fit_gaussian(bimodal(), direction="reverse", init=(2.0, 1.0), seed=0)
    >>> 2.5 < fit.mu < 3.5
    True
    """
    check_choice(direction, "direction", DIRECTIONS)
    mu0, sigma0 = _check_init(init)
    updates = check_size(3 * positive_int(updates, "updates"), "updates") // 3
    n_samples = positive_int(n_samples, "n_samples", minimum=2)
    check_size(n_samples, "n_samples")
    lr = positive_float(lr, "lr")
    entropy = check_bool(entropy, "entropy")
    show = show_progress(progress)
    generator = torch_generator(seed)
    if direction == "forward":
        loss_fn = _forward_loss(p, n_samples, generator, entropy)
    else:
        loss_fn = _reverse_loss(p, n_samples, generator, entropy)

    mu = torch.tensor(mu0, dtype=torch.float64, requires_grad=True)
    log_sigma = torch.tensor(
        math.log(sigma0), dtype=torch.float64, requires_grad=True
    )
    optimiser = torch.optim.Adam([mu, log_sigma], lr=lr)
    rows = np.empty((3, updates))
    description = f"fit_gaussian ({direction})"
    for update in tqdm(range(updates), desc=description, disable=not show):
        optimiser.zero_grad()
        loss = loss_fn(mu, log_sigma)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"the {direction} objective became {loss.item()} at update {update}; check that log p is finite "
                f"where Q puts mass, or try a smaller lr (got {lr})"
            )
        loss.backward()
        rows[:, update] = (mu.item(), log_sigma.exp().item(), loss.item())
        optimiser.step()
    mu_fit, sigma_fit = mu.item(), math.exp(log_sigma.item())
    kl = _final_kl(p, direction, mu_fit, sigma_fit)
    columns = {
        "update": np.arange(updates),
        **dict(zip(("mu", "sigma", "loss"), rows)),
    }
    return GaussianFit(
        mu_fit, sigma_fit, kl, direction, History(columns, x="update")
    )


def _forward_loss(
    p: Target, n: int, generator: torch.Generator, entropy: bool
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Negative mean log-likelihood of a fixed data set from P (needs samples)."""
    if not entropy:
        raise ValueError("entropy=False only applies to direction='reverse'")
    if isinstance(p, D.Distribution):
        _check_univariate(p, "p")
        with seeded(generator):
            data = p.sample((n,)).to(torch.float64)
    elif callable(p):
        raise TypeError(
            "forward KL needs samples from P: pass a distribution or an array of samples; "
            "a log-density alone is not enough (it suits direction='reverse')"
        )
    else:
        data = torch.from_numpy(finite_array(p, "p", allow_bool=False))
        if data.ndim != 1 or data.numel() < 2:
            raise ValueError(
                f"p given as samples must be a 1-D array of at least 2 points, got shape {tuple(data.shape)}"
            )

    def loss(mu: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
        return -D.Normal(mu, log_sigma.exp()).log_prob(data).mean()

    return loss


def _reverse_loss(
    p: Target, n: int, generator: torch.Generator, entropy: bool
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """:func:`reverse_kl_loss` on ``n`` fresh draws of noise per call."""
    if isinstance(p, D.Distribution):
        _check_univariate(p, "p")
        _check_real_support(p, "p")
        log_p: LogDensity = p.log_prob
    elif callable(p):
        log_p = _checked_log_density(p)
    else:
        raise TypeError(
            "reverse KL needs log P: pass a distribution or a callable "
            "returning log p(x) up to a constant; samples alone are not "
            f"enough (got {type(p).__name__})"
        )

    def loss(mu: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
        eps = torch.randn(n, generator=generator, dtype=torch.float64)
        return reverse_kl_loss(log_p, mu, log_sigma, eps, entropy=entropy)

    return loss


def reverse_kl_loss(
    log_p: LogDensity,
    mu: torch.Tensor,
    log_sigma: torch.Tensor,
    eps: torch.Tensor,
    *,
    entropy: bool = True,
) -> torch.Tensor:
    r"""KL(Q||P) up to log Z, for Q = N(mu, sigma^2), from noise ``eps``.

    .. math:: -\frac1n \sum_i \log p(\mu + \sigma\varepsilon_i) - H(Q)

    P enters only through ``log_p``, which may be off by a constant. The
    samples are reparameterised, so gradients reach ``mu`` and ``log_sigma``.

    Parameters
    ----------
    log_p : callable
        Maps a float64 tensor of points to log p there (up to a constant).
    mu, log_sigma : torch.Tensor
        Q's mean and log standard deviation (scalars).
    eps : torch.Tensor
        Standard-normal draws, shape ``(n,)``.
    entropy : bool, optional
        Keep the entropy term H(Q) (``False`` drops it).

    Returns
    -------
    torch.Tensor
        The estimate, a scalar.

    Examples
    --------
    >>> log_p = D.Normal(1.0, 1.0).log_prob
    >>> eps = torch.randn(10_000, generator=torch.Generator().manual_seed(0))
    >>> zero = torch.tensor(0.0)
    >>> loss = reverse_kl_loss(log_p, zero, zero, eps)  # Q = N(0, 1)
    >>> round(loss.item(), 1)  # KL(N(0, 1) || N(1, 1)) = 0.5
    0.5
    """
    x = mu + log_sigma.exp() * eps  # reparameterised samples of Q
    expected_log_p = log_p(x).mean()
    if not entropy:
        return -expected_log_p
    return -expected_log_p - D.Normal(mu, log_sigma.exp()).entropy()


def _final_kl(
    p: Target, direction: str, mu: float, sigma: float
) -> float | None:
    if not isinstance(p, D.Distribution):
        return None
    q = _normal(mu, sigma)
    return (
        kl_quadrature(p, q) if direction == "forward" else kl_quadrature(q, p)
    )


@limited_threads
def kl_landscape(
    p: D.Distribution, mu: ArrayLike, log_sigma: ArrayLike, *, direction: str
) -> NDArray[np.float64]:
    r"""Exact KL between P and N(mu, exp(log_sigma)^2) on a grid, in nats.

    - forward: :math:`\mathrm{KL}(P\|Q) = \mathrm{KL}(P\|Q^\star) + \mathrm{KL}(Q^\star\|Q)`, where
      :math:`Q^\star` is the moment-matched Gaussian: for Gaussian Q the cross-entropy
      depends on P only through its mean and variance. One quadrature, then closed forms.
    - reverse: :math:`\mathrm{KL}(Q\|P) = -H(Q) - \mathbb E_Q[\log p]`, the expectation
      by the trapezoid rule over :math:`x = \mu + \sigma t` on a fixed grid of 1001
      values of t in [-10, 10] (accurate to about 1e-12 for mixtures of Normals).

    Parameters
    ----------
    p : torch.distributions.Distribution
        A univariate target (e.g. :func:`bimodal`).
    mu, log_sigma : array_like
        Broadcastable grids of Q's mean and log standard deviation.
    direction : {"forward", "reverse"}

    Returns
    -------
    numpy.ndarray
        KL values with the broadcast shape of ``mu`` and ``log_sigma``.

    Examples
    --------
    >>> p = bimodal()
    >>> star = forward_kl_optimum(p)
    >>> def forward(mu, sigma):
    ...     return kl_landscape(p, mu, np.log(sigma), direction="forward")
    >>> bool(forward(star.mu, star.sigma) < forward(0.5, 1.0))
    True
    """
    check_choice(direction, "direction", DIRECTIONS)
    _check_univariate(p, "p")
    m = finite_array(mu, "mu", allow_bool=False)
    log_s = finite_array(log_sigma, "log_sigma", allow_bool=False)
    if np.any(np.abs(log_s) > _LOG_SIGMA_LIMIT):
        raise ValueError(
            f"log_sigma must lie in [-{_LOG_SIGMA_LIMIT:g}, "
            f"{_LOG_SIGMA_LIMIT:g}] "
            "(sigma = exp(log_sigma) must be a positive finite float), got "
            f"{log_s[np.abs(log_s) > _LOG_SIGMA_LIMIT].ravel()[0]!r}"
        )
    try:
        shape = np.broadcast_shapes(m.shape, log_s.shape)
    except ValueError as error:
        raise ValueError(
            f"mu with shape {m.shape} and log_sigma with shape {log_s.shape} "
            "do not broadcast"
        ) from error
    check_size(math.prod(shape), "mu and log_sigma (broadcast)")
    m, s = np.broadcast_arrays(m, np.exp(log_s))
    if direction == "reverse" and not _has_real_support(p):
        # Q puts mass where p = 0: KL(Q||P) is infinite for every Gaussian.
        return np.full(shape, math.inf)
    if direction == "forward":
        star = forward_kl_optimum(p)
        return np.asarray(
            kl_quadrature(p, _normal(*star))
            + kl_gaussian(star.mu, star.sigma, m, s)
        )
    # E_Q[log p] = int phi(t) log p(mu + sigma t) dt, by the trapezoid rule on a fixed
    # t-grid: for a smooth integrand with Gaussian tails it converges spectrally.
    t = np.linspace(-10.0, 10.0, 1001)
    weights = np.exp(-0.5 * t**2) / np.sqrt(2 * np.pi) * (t[1] - t[0])
    weights[[0, -1]] *= 0.5
    flat_m, flat_s = m.ravel(), s.ravel()
    expected_log_p = np.empty(flat_m.shape)
    # bound the memory of one batch of log-densities
    chunk = max(1, 2_000_000 // t.size)
    for start in range(0, flat_m.size, chunk):
        x = (
            flat_m[start : start + chunk, None]
            + flat_s[start : start + chunk, None] * t
        )
        expected_log_p[start : start + chunk] = (
            p.log_prob(torch.from_numpy(x)).numpy() @ weights
        )
    entropy_q = 0.5 * np.log(2 * np.pi * np.e) + np.log(s)
    return np.asarray(-entropy_q - expected_log_p.reshape(m.shape))


@limited_threads
def alpha_divergence(
    p: D.Distribution,
    mu: float,
    sigma: float,
    *,
    alpha: float,
    n_grid: int = 4001,
) -> float:
    r"""Amari's alpha-divergence between P and Q = N(mu, sigma^2), in nats.

    .. math:: D_\alpha(P\|Q) = \frac{1 - \int p(x)^\alpha q(x)^{1-\alpha}\,dx}{\alpha(1-\alpha)}

    (the parametrisation of Minka, 2005). The limits are the two KL divergences:
    alpha -> 1 gives the forward KL(P||Q), alpha -> 0 the reverse KL(Q||P);
    alpha = 1/2 gives 4 H^2, with the squared Hellinger distance
    H^2 = 1 - int sqrt(p q) dx. The integral is a trapezoid rule in log space on
    a grid that covers P and Q to 12 standard deviations (its ends are rounded
    outwards to whole multiples of 2 sd(P) from P's mean, so that nearby Q share
    one grid). The rule is spectrally accurate for smooth densities such as
    mixtures of Normals, but only first-order where p jumps (the edges of a
    uniform): there expect about three digits. Where p = 0 and q > 0 the
    reverse limit (alpha <= 0) is ``inf``. A value too large for a float is
    returned as ``inf``. For alpha outside [0, 1] the integral can diverge
    (alpha < 0: Q much wider than P; alpha > 1: Q much narrower, or a P with
    heavier tails than a Gaussian): where the integrand still grows outwards
    at an end of the grid, the result is ``inf``. For the two KL limits, a P
    whose tails still matter at the ends of the grid (a Student-t, a
    Laplace) is handed to :func:`~klcourse.divergences.kl_quadrature`.

    Parameters
    ----------
    p : torch.distributions.Distribution
        A univariate target.
    mu, sigma : float
        Q's mean and standard deviation (sigma > 0).
    alpha : float
        Any real number; 0 and 1 give the two KL limits exactly.
    n_grid : int
        Grid points for the integral.

    Returns
    -------
    float

    Examples
    --------
    >>> p = bimodal()
    >>> alpha_one = alpha_divergence(p, 0.0, 1.0, alpha=1.0)
    >>> bool(abs(alpha_one - kl_quadrature(p, D.Normal(0.0, 1.0))) < 1e-8)
    True
    """
    _check_univariate(p, "p")
    alpha = _check_alpha(alpha)
    mu, sigma = _check_mu_sigma(mu, sigma)
    n_grid = positive_int(n_grid, "n_grid", minimum=3)
    check_size(n_grid, "n_grid")
    return _alpha_divergence(_LogDensityGrid(p, n_grid), mu, sigma, alpha)


class _LogDensityGrid:
    """log p on the trapezoid grid of :func:`alpha_divergence`, kept for the last grid.

    An optimiser asks for the same grid again and again (whenever Q lies well
    inside P's range), so log p is computed once per grid, not once per call.
    """

    def __init__(self, p: D.Distribution, n_grid: int) -> None:
        self.p, self.n_grid = p, n_grid
        self.mean, self.std = _mean_std(p)
        # log p through the adapter: -inf outside P's support, not an error
        self.log_prob = as_distribution(p, "p", univariate=True).log_prob
        self._key: tuple[float, float] | None = None
        self._x = self._log_p = np.empty(0)

    def on(
        self, mu: float, sigma: float
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Grid points and log p there, for a grid covering P and N(mu, sigma^2)."""
        unit = 2 * self.std
        below = max(12 * self.std, self.mean - (mu - 12 * sigma))
        above = max(12 * self.std, mu + 12 * sigma - self.mean)
        lo = self.mean - unit * math.ceil(below / unit - 1e-9)
        hi = self.mean + unit * math.ceil(above / unit - 1e-9)
        if (lo, hi) != self._key:
            x = np.linspace(lo, hi, self.n_grid)
            self._x, self._log_p = x, self.log_prob(x)
            self._key = (lo, hi)
        return self._x, self._log_p


def _alpha_divergence(
    grid: _LogDensityGrid, mu: float, sigma: float, alpha: float
) -> float:
    x, log_p = grid.on(mu, sigma)
    log_q = -0.5 * ((x - mu) / sigma) ** 2 - math.log(
        sigma * math.sqrt(2 * math.pi)
    )
    dx = (x[-1] - x[0]) / (x.size - 1)

    def trapezoid(f: NDArray[np.float64]) -> float:
        return float(dx * (f.sum() - 0.5 * (f[0] + f[-1])))

    def reaches_the_ends(f: NDArray[np.float64]) -> bool:
        """True when the integral of ``f`` beyond the grid is not negligible.

        Each end's tail is estimated as if ``|f|`` went on decaying
        exponentially at its rate over the last step of the grid.
        """
        beyond = 0.0
        for end, inner in ((0, 1), (-1, -2)):
            at_end, before = abs(f[end]), abs(f[inner])
            if at_end == 0:
                continue
            if not before > at_end:  # not decaying outwards
                return True
            beyond += at_end * dx / math.log(before / at_end)
        return beyond > _NEGLIGIBLE * max(1.0, abs(trapezoid(f)))

    if alpha == 1.0:  # where p = 0 its term is 0
        inside = np.isfinite(log_p)
        terms = np.zeros_like(log_p)
        terms[inside] = np.exp(log_p[inside]) * (log_p - log_q)[inside]
        if reaches_the_ends(terms):  # a heavy tail of p beyond the grid
            return kl_quadrature(grid.p, _normal(mu, sigma))
        return trapezoid(terms)
    if alpha == 0.0:  # where p = 0 < q the divergence is infinite
        if not np.all(np.isfinite(log_p)):
            return math.inf
        terms = np.exp(log_q) * (log_q - log_p)
        if reaches_the_ends(terms):
            return kl_quadrature(_normal(mu, sigma), grid.p)
        return trapezoid(terms)
    with np.errstate(invalid="ignore"):  # alpha < 0 and p = 0: +inf
        log_integrand = alpha * log_p + (1 - alpha) * log_q
    peak = float(log_integrand.max())
    ends, next_to_ends = log_integrand[[0, -1]], log_integrand[[1, -2]]
    if peak == math.inf or np.any(np.isfinite(ends) & (ends >= next_to_ends)):
        # p^alpha q^(1 - alpha) still grows outwards at an end of a grid
        # 12 standard deviations wide: its integral over the line diverges
        return math.inf
    relative = np.exp(log_integrand - peak)
    integral = trapezoid(relative)
    if reaches_the_ends(relative):
        # decaying, but not within the grid (alpha outside [0, 1] can put
        # the integrand's mass beyond both P and Q): the whole line then
        integral = _integral_over_the_line(
            grid, mu, sigma, alpha, peak, float(x[np.argmax(log_integrand)])
        )
    log_integral = peak + math.log(integral)
    # beyond exp's range: possible only for alpha outside [0, 1], where D > 0
    if log_integral > 709.0:
        return math.inf
    return -math.expm1(log_integral) / (alpha * (1 - alpha))


def _integral_over_the_line(
    grid: _LogDensityGrid,
    mu: float,
    sigma: float,
    alpha: float,
    peak: float,
    centre: float,
) -> float:
    """``exp(-peak) * int p^alpha q^(1 - alpha) dx`` over the real line."""

    def relative(x: NDArray[np.float64]) -> NDArray[np.float64]:
        log_q = -0.5 * ((x - mu) / sigma) ** 2 - math.log(
            sigma * math.sqrt(2 * math.pi)
        )
        with np.errstate(all="ignore"):  # far tails: exp(-inf) = 0
            values = np.exp(
                alpha * grid.log_prob(x) + (1 - alpha) * log_q - peak
            )
        return np.nan_to_num(values, nan=0.0)

    result = scipy.integrate.tanhsinh(
        relative,
        np.array([-math.inf, centre]),
        np.array([centre, math.inf]),
        rtol=1e-12,
    )
    if not np.all(result.success):
        raise ValueError(
            f"alpha_divergence cannot integrate p^alpha q^(1 - alpha) for "
            f"alpha={alpha}, mu={mu}, sigma={sigma}: it reaches beyond its "
            "grid and the quadrature over the line does not converge"
        )
    return float(np.sum(result.integral))


#: The relative size of the integral beyond alpha_divergence's grid that is
#: taken as nothing.
_NEGLIGIBLE = 1e-9


@limited_threads
def fit_gaussian_alpha(
    p: D.Distribution, *, alpha: float, init: tuple[float, float] = (0.0, 1.0)
) -> GaussianParams:
    """The Gaussian minimising :func:`alpha_divergence` from ``init`` (a local optimum).

    Deterministic: Nelder--Mead over (mu, log sigma) on the exact objective.
    Which local optimum it reaches depends on ``init`` (and, near the edge of
    two basins, on the optimiser). Raises ``ValueError`` if the divergence is
    infinite at ``init``, where no local search can start.

    Parameters
    ----------
    p : torch.distributions.Distribution
        A univariate target.
    alpha : float
        See :func:`alpha_divergence`.
    init : (float, float)
        Starting (mu, sigma); for mode-seeking alphas it decides which mode is found.

    Returns
    -------
    GaussianParams

    Examples
    --------
    >>> fit = fit_gaussian_alpha(bimodal(), alpha=1.0)
    >>> star = forward_kl_optimum(bimodal())
    >>> abs(fit.mu - star.mu) < 1e-3 and abs(fit.sigma - star.sigma) < 1e-3
    True
    """
    _check_univariate(p, "p")
    alpha = _check_alpha(alpha)
    mu0, sigma0 = _check_init(init)
    if alpha <= 0:  # the divergence is infinite wherever p = 0 < q
        _check_real_support(p, "p")
    grid = _LogDensityGrid(p, 4001)

    def objective(theta: NDArray[np.float64]) -> float:
        return _alpha_divergence(
            grid, float(theta[0]), float(np.exp(theta[1])), alpha
        )

    if not math.isfinite(objective(np.array([mu0, math.log(sigma0)]))):
        raise ValueError(
            f"the alpha-divergence (alpha={alpha}) is infinite at init=(mu={mu0}, "
            f"sigma={sigma0}): for alpha < 0 start from a narrower Q, for alpha > 1 "
            "from a wider one"
        )

    result = scipy.optimize.minimize(
        objective,
        np.array([mu0, np.log(sigma0)]),
        method="Nelder-Mead",
        options={"xatol": 1e-7, "fatol": 1e-12, "maxiter": 4000},
    )
    return GaussianParams(float(result.x[0]), float(np.exp(result.x[1])))


def _normal(mu: float, sigma: float) -> D.Normal:
    return D.Normal(
        torch.tensor(mu, dtype=torch.float64),
        torch.tensor(sigma, dtype=torch.float64),
    )


def _check_univariate(p: object, name: str) -> None:
    if not isinstance(p, D.Distribution):
        raise TypeError(
            f"{name} must be a torch.distributions.Distribution, got {type(p).__name__}"
        )
    if p.event_shape != torch.Size() or p.batch_shape != torch.Size():
        raise ValueError(
            f"{name} must be one univariate distribution, got batch_shape={tuple(p.batch_shape)}, "
            f"event_shape={tuple(p.event_shape)}"
        )


def _check_alpha(alpha: object) -> float:
    return real_number(alpha, "alpha")


def _check_mu_sigma(
    mu: object, sigma: object, names: tuple[str, str] = ("mu", "sigma")
) -> tuple[float, float]:
    """A finite ``mu`` and a finite positive ``sigma``, as floats."""
    m = real_number(mu, names[0])
    s = real_number(sigma, names[1])
    if s <= 0:
        raise ValueError(f"{names[1]} must be positive, got {sigma!r}")
    return m, s


def _check_init(init: object) -> tuple[float, float]:
    if isinstance(init, (str, bytes)):
        raise TypeError(
            f"init must be a pair (mu, sigma) of numbers, got {init!r}"
        )
    try:
        pair: tuple[object, ...] = tuple(init)  # type: ignore[arg-type]
        mu, sigma = pair
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"init must be a pair (mu, sigma) of numbers, got {init!r}"
        ) from error
    try:
        return _check_mu_sigma(mu, sigma, ("init mu", "init sigma"))
    except ValueError as error:
        raise ValueError(
            "init must have a finite mu and a positive sigma, got "
            f"(mu={mu!r}, sigma={sigma!r})"
        ) from error


def _mean_std(p: D.Distribution) -> tuple[float, float]:
    """P's mean and standard deviation, or a ValueError naming p."""
    try:
        mean, std = float(p.mean), float(p.stddev)
    except NotImplementedError as error:
        raise ValueError(
            f"p ({type(p).__name__}) does not say its mean and variance"
        ) from error
    if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
        raise ValueError(
            f"p must have a finite mean and variance, got mean={mean}, "
            f"standard deviation={std}: KL(P||Q) is then infinite for "
            "every Gaussian Q"
        )
    return mean, std


def _has_real_support(p: D.Distribution) -> bool:
    support = p.support
    support = getattr(support, "base_constraint", support)
    return support is D.constraints.real


def _check_real_support(p: D.Distribution, name: str) -> None:
    if not _has_real_support(p):
        raise ValueError(
            f"{name} must have the whole real line as its support, got "
            f"{p.support}: a Gaussian Q puts mass where p = 0, so KL(Q||P) "
            "is infinite for every Q"
        )


def _checked_log_density(log_p: Callable[..., object]) -> LogDensity:
    """Wrap a user's log-density so that a wrong return says what is wrong."""

    def checked(x: torch.Tensor) -> torch.Tensor:
        value = log_p(x)
        if not isinstance(value, torch.Tensor):
            raise TypeError(
                "p, a log-density, must return a torch tensor (so that "
                f"gradients flow through it), got {type(value).__name__}"
            )
        if value.shape != x.shape:
            raise ValueError(
                "p, a log-density, must return one value per point: given "
                f"points of shape {tuple(x.shape)} it returned shape "
                f"{tuple(value.shape)}"
            )
        return value

    return checked


#: |log sigma| beyond this makes sigma = exp(log sigma) overflow or vanish.
_LOG_SIGMA_LIMIT = 700.0
