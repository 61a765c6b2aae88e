"""Variational inference: reverse KL to a posterior we can evaluate but not sample (chapter 6).

- :class:`ConjugateNormal` -- a model with a closed-form posterior and evidence,
  on which the identity log p(x) = ELBO(q) + KL(q || p(z|x)) holds exactly;
- :func:`mean_field_gaussian` and :func:`cavi_gaussian` -- the best fully
  factorised Gaussian for a correlated Gaussian, by reverse or forward KL, in
  closed form and by coordinate ascent;
- :class:`VAE` -- a variational autoencoder with a Bernoulli decoder, trained by
  the ELBO (with a weight ``beta`` on its KL term), with importance-weighted
  estimates of log p(x);
- :class:`VIBClassifier` -- the variational information bottleneck: a classifier
  whose stochastic code z pays ``beta`` KL(q(z|x) || N(0, I)).

Every KL to the prior N(0, I) is the closed form for a diagonal Gaussian,
computed by ``torch.distributions.kl_divergence``. Randomness goes through
explicit seeds only (see ``klcourse._random``), the networks compute in
float64, and torch runs single-threaded during training and inference (see
``klcourse._threads``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from torch import nn
from tqdm.auto import tqdm

from klcourse._progress import show_progress
from klcourse._random import Seed, make_rng, seeded, torch_generator
from klcourse._threads import limited_threads
from klcourse._validation import (
    DIRECTIONS,
    check_choice,
    check_size,
    cholesky_factor,
    finite_array,
    positive_float,
    positive_int,
)
from klcourse.fitting import GaussianParams
from klcourse.supervised import NotFittedError

__all__ = [
    "VAE",
    "CAVIResult",
    "ConjugateNormal",
    "VIBClassifier",
    "cavi_gaussian",
    "mean_field_gaussian",
]

D = torch.distributions
LOG_2PI = math.log(2 * math.pi)
#: Rows times samples evaluated at once by the importance-weighted bound.
_CHUNK = 2**16
#: Standard deviations whose squares and inverse squares are normal float64.
_SCALE_RANGE = (1e-150, 1e150)
#: scipy.stats.multivariate_normal's limit: eigenvalues below 1e6 epsilons
#: of the largest count as zero.
_MAX_CONDITION = 1.0 / (1e6 * np.finfo(np.float64).eps)


def _numbers(value: ArrayLike, name: str) -> NDArray[np.float64]:
    """``value`` as finite float64, refusing text, complex and booleans.

    True is not a number here: an observation, a mean or a covariance given
    as booleans is a mistake, not a 0/1 encoding.
    """
    return finite_array(value, name, allow_bool=False)


def _scale(value: Any, name: str) -> float:
    """A standard deviation whose square is a normal float64 number."""
    number = positive_float(value, name)
    low, high = _SCALE_RANGE
    if not low <= number <= high:
        raise ValueError(
            f"{name} must lie between {low:g} and {high:g} (its square must "
            f"be a normal float64 number), got {value!r}"
        )
    return number


# --- the ELBO identity on a conjugate model --------------------------------------------------


@dataclass(frozen=True)
class ConjugateNormal:
    r"""A Normal mean with a Normal prior: z ~ N(m0, s0^2), x_i | z ~ N(z, sigma^2).

    The posterior p(z|x) and the evidence p(x) have closed forms, so every term
    of :math:`\log p(x) = \mathrm{ELBO}(q) + \mathrm{KL}(q \,\|\, p(z \mid x))`
    can be computed exactly for a Gaussian q.

    Parameters
    ----------
    prior_mean : float
        m0.
    prior_std : float
        s0 > 0.
    noise_std : float
        sigma > 0, the known noise level of every observation.

    Examples
    --------
    >>> model = ConjugateNormal(prior_mean=0.0, prior_std=1.0, noise_std=1.0)
    >>> model.posterior([2.0])
    GaussianParams(mu=1.0, sigma=0.707107)
    """

    prior_mean: float = 0.0
    prior_std: float = 1.0
    noise_std: float = 1.0

    def __post_init__(self) -> None:
        mean = _numbers(self.prior_mean, "prior_mean")
        if mean.ndim != 0:
            raise ValueError(
                f"prior_mean must be a number, got shape {mean.shape}"
            )
        object.__setattr__(self, "prior_mean", float(mean))
        for name in ("prior_std", "noise_std"):
            object.__setattr__(self, name, _scale(getattr(self, name), name))

    def _data(self, x: ArrayLike) -> NDArray[np.float64]:
        data = _numbers(x, "x")
        if data.ndim != 1 or data.size == 0:
            raise ValueError(
                f"x must be a non-empty 1-D array of observations, got shape "
                f"{data.shape}"
            )
        return data

    def posterior(self, x: ArrayLike) -> GaussianParams:
        r"""The posterior p(z|x) = N(mu_n, sigma_n^2).

        .. math:: \sigma_n^{-2} = s_0^{-2} + n\sigma^{-2}, \quad
           \mu_n = \sigma_n^2 \Big(\frac{m_0}{s_0^2}
           + \frac{\sum_i x_i}{\sigma^2}\Big)

        It is computed as :math:`\sigma_n = s_0 \sigma / \sqrt{\sigma^2 +
        n s_0^2}` and :math:`\mu_n = (\sigma^2 m_0 + n s_0^2 \bar x) /
        (\sigma^2 + n s_0^2)`, the same numbers, so that nothing overflows
        for any scales in range and any finite data.

        Examples
        --------
        >>> ConjugateNormal(prior_std=2.0).posterior([1.0, 3.0]).mu
        1.777778
        """
        data = self._data(x)
        n, s0, sigma = data.size, self.prior_std, self.noise_std
        denominator = sigma**2 + n * s0**2
        x_bar = float(np.sum(data / n))  # no overflow for any finite data
        # a weighted average of m0 and x_bar, with weights that sum to one
        prior_weight = sigma**2 / denominator
        data_weight = n * s0**2 / denominator
        mean = prior_weight * self.prior_mean + data_weight * x_bar
        return GaussianParams(mean, s0 * sigma / math.sqrt(denominator))

    @np.errstate(over="ignore")  # a density below float64's range is -inf
    def log_joint(
        self, x: ArrayLike, z: ArrayLike
    ) -> NDArray[np.float64] | float:
        """log p(x, z) = log p(z) + sum_i log p(x_i | z), for every entry of ``z``.

        A density below float64's range (a z or an x some 10^154 standard
        deviations out) is -inf.

        Examples
        --------
        >>> round(float(ConjugateNormal().log_joint([0.0], 0.0)), 6)
        -1.837877
        """
        data = self._data(x)
        values = _numbers(z, "z")
        prior = -0.5 * (
            LOG_2PI
            + 2 * math.log(self.prior_std)
            + ((values - self.prior_mean) / self.prior_std) ** 2
        )
        residuals = (data[:, None] - values.reshape(-1)) / self.noise_std
        likelihood = -0.5 * (
            data.size * (LOG_2PI + 2 * math.log(self.noise_std))
            + (residuals**2).sum(axis=0)
        )
        result = prior + likelihood.reshape(values.shape)
        return float(result) if result.ndim == 0 else result

    def log_evidence(self, x: ArrayLike) -> float:
        """log p(x), exactly: log p(x, z) - log p(z | x) at z = mu_n.

        The identity holds at every z; the posterior mean is a convenient one.

        Examples
        --------
        >>> round(ConjugateNormal().log_evidence([0.0]), 6)
        -1.265512
        """
        mean, std = self.posterior(x)
        log_posterior_at_mean = -0.5 * LOG_2PI - math.log(std)
        return float(self.log_joint(x, mean)) - log_posterior_at_mean

    @np.errstate(over="ignore")  # an ELBO below float64's range is -inf
    def elbo(
        self, x: ArrayLike, mean: ArrayLike, std: ArrayLike
    ) -> NDArray[np.float64] | float:
        r"""The ELBO of q = N(mean, std^2), term by term from its definition.

        .. math:: \mathrm{ELBO}(q) = \mathbb{E}_q[\log p(x \mid z)]
           + \mathbb{E}_q[\log p(z)] + H(q)

        With :math:`\mathbb{E}_q[(a - z)^2] = (a - m)^2 + s^2` every term is a
        closed form; nothing here uses the posterior or the evidence.
        ``mean`` and ``std`` broadcast against each other.

        Examples
        --------
        >>> model = ConjugateNormal()
        >>> mu, sigma = model.posterior([0.5, 1.5])
        >>> best = model.elbo([0.5, 1.5], mu, sigma)
        >>> bool(abs(best - model.log_evidence([0.5, 1.5])) < 1e-12)
        True
        """
        data = self._data(x)
        m, s = _mean_and_std(mean, std)
        # E_q[(x_i - z)^2] summed over i, for every (m, s)
        squares = ((data[:, None] - m.reshape(-1)) ** 2).sum(axis=0)
        squares = squares.reshape(m.shape) + data.size * s**2
        likelihood = -0.5 * data.size * (
            LOG_2PI + 2 * math.log(self.noise_std)
        ) - squares / (2 * self.noise_std**2)
        prior = -0.5 * (LOG_2PI + 2 * math.log(self.prior_std)) - (
            (m - self.prior_mean) ** 2 + s**2
        ) / (2 * self.prior_std**2)
        entropy = 0.5 * (LOG_2PI + 1) + np.log(s)
        result = likelihood + prior + entropy
        return float(result) if result.ndim == 0 else result


def _mean_and_std(
    mean: ArrayLike, std: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The parameters of q = N(mean, std^2), broadcast against each other."""
    m, s = _numbers(mean, "mean"), _numbers(std, "std")
    if np.any(s <= 0):
        bad = s[s <= 0].ravel()[0]
        raise ValueError(f"std must be strictly positive, got {bad!r}")
    try:
        return tuple(np.broadcast_arrays(m, s))  # type: ignore[return-value]
    except ValueError as error:
        raise ValueError(
            f"mean with shape {m.shape} and std with shape {s.shape} do not "
            "broadcast against each other"
        ) from error


# --- mean-field Gaussians ---------------------------------------------------------------------


def _gaussian(
    mean: ArrayLike, cov: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """A mean (d,) and a symmetric positive-definite covariance (d, d).

    As in ``scipy.stats.multivariate_normal``, a covariance whose smallest
    eigenvalue is below 1e6 machine epsilons of its largest is singular to
    working precision: its inverse would have no correct digits.
    """
    mu = _numbers(mean, "mean")
    if mu.ndim != 1 or mu.size == 0:
        raise ValueError(f"mean must have shape (d,), got {mu.shape}")
    sigma = _numbers(cov, "cov")
    if sigma.shape != (mu.size, mu.size):
        raise ValueError(
            f"cov must have shape ({mu.size}, {mu.size}) to match mean, got "
            f"{sigma.shape}"
        )
    cholesky_factor(
        sigma, "cov", mu.size
    )  # symmetric positive definite, or why not
    smallest, biggest = np.linalg.eigvalsh(sigma)[[0, -1]]
    if not smallest > biggest / _MAX_CONDITION:
        raise ValueError(
            "cov is singular to working precision: its eigenvalues range "
            f"from {smallest:.3g} to {biggest:.3g}, a condition number "
            f"above {_MAX_CONDITION:.3g}"
        )
    diagonal = np.diag(np.linalg.inv(sigma))  # LAPACK: inf, never a warning
    tiny, huge = np.finfo(np.float64).tiny, np.finfo(np.float64).max
    if not np.all((diagonal >= tiny) & (diagonal <= huge)):
        raise ValueError(
            "cov's inverse (the precision) is not a normal float64 matrix: "
            f"its diagonal reaches {diagonal.max():.3g}; rescale the variables"
        )
    return mu, sigma


def mean_field_gaussian(
    mean: ArrayLike, cov: ArrayLike, *, direction: str = "reverse"
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    r"""The fully factorised Gaussian closest to N(mean, cov), exactly.

    Among :math:`q(z) = \prod_i \mathcal N(z_i; m_i, v_i)`, the minimiser of

    - the reverse :math:`\mathrm{KL}(q \,\|\, p)` has :math:`m = \mu` and
      :math:`v_i = 1/\Lambda_{ii}`, with :math:`\Lambda = \Sigma^{-1}` the
      precision: the conditional variance of :math:`z_i` given the rest;
    - the forward :math:`\mathrm{KL}(p \,\|\, q)` has :math:`m = \mu` and
      :math:`v_i = \Sigma_{ii}`: the marginals of p.

    Since :math:`1/\Lambda_{ii} \le \Sigma_{ii}`, with equality only when
    :math:`z_i` is uncorrelated with the rest, the reverse fit is never wider.

    Parameters
    ----------
    mean : array_like, shape (d,)
    cov : array_like, shape (d, d)
        Symmetric positive definite.
    direction : {"reverse", "forward"}

    Returns
    -------
    mean, var : numpy.ndarray, shape (d,)
        The factors' means and variances.

    Raises
    ------
    ValueError
        If ``cov`` is not symmetric positive definite or the shapes disagree.

    Examples
    --------
    >>> cov = [[1.0, 0.9], [0.9, 1.0]]
    >>> mean_field_gaussian([0.0, 0.0], cov)[1].round(6)
    array([0.19, 0.19])
    >>> mean_field_gaussian([0.0, 0.0], cov, direction="forward")[1]
    array([1., 1.])
    """
    direction = check_choice(direction, "direction", DIRECTIONS)
    mu, sigma = _gaussian(mean, cov)
    if direction == "forward":
        return mu.copy(), np.diag(sigma).copy()
    precision_diagonal = np.diag(np.linalg.inv(sigma))
    return mu.copy(), 1.0 / precision_diagonal


@dataclass(frozen=True)
class CAVIResult:
    """The result of :func:`cavi_gaussian`.

    Attributes
    ----------
    mean, var : numpy.ndarray, shape (d,)
        The factors' final means and variances.
    history : numpy.ndarray
        The means after every single-coordinate update, starting with
        ``init``: one row more than there were updates, one column per
        coordinate.
    converged : bool
        Whether a full sweep changed no mean by more than ``tol``.
    n_sweeps : int
        Sweeps over all coordinates performed.

    Examples
    --------
    >>> result = cavi_gaussian([0.0, 0.0], [[1.0, 0.5], [0.5, 1.0]])
    >>> result.converged, result.history.shape[1]
    (True, 2)
    """

    mean: NDArray[np.float64]
    var: NDArray[np.float64]
    history: NDArray[np.float64]
    converged: bool
    n_sweeps: int


def cavi_gaussian(
    mean: ArrayLike,
    cov: ArrayLike,
    *,
    init: ArrayLike | None = None,
    max_sweeps: int = 1_000,
    tol: float = 1e-12,
) -> CAVIResult:
    r"""Coordinate ascent (CAVI) on the reverse KL from a factorised Gaussian.

    Each update sets one factor to its optimum given the others,
    :math:`q_i^*(z_i) \propto \exp \mathbb{E}_{q_{-i}}[\log p(z)]`, which for
    a Gaussian p is

    .. math:: v_i = 1/\Lambda_{ii}, \qquad
       m_i = \mu_i - \frac{1}{\Lambda_{ii}} \sum_{j \ne i} \Lambda_{ij} (m_j - \mu_j)

    Each update can only lower the KL, and the sweeps converge to
    :func:`mean_field_gaussian`'s reverse optimum.

    Parameters
    ----------
    mean, cov : array_like
        The target N(mean, cov), as for :func:`mean_field_gaussian`.
    init : array_like, shape (d,), optional
        The starting means (zeros by default).
    max_sweeps : int
        Most sweeps over the coordinates.
    tol : float
        Stop after a sweep that changes no mean by more than ``tol``. This
        bounds the last step, not the distance to the optimum: if every
        sweep shrinks that distance by a factor c < 1, it can still be
        c / (1 - c) times the last step.

    Returns
    -------
    CAVIResult

    Examples
    --------
    >>> result = cavi_gaussian([1.0, -1.0], [[1.0, 0.5], [0.5, 1.0]])
    >>> result.mean.round(6), result.var.round(6)
    (array([ 1., -1.]), array([0.75, 0.75]))
    """
    mu, sigma = _gaussian(mean, cov)
    max_sweeps = positive_int(max_sweeps, "max_sweeps")
    tol = positive_float(tol, "tol")
    if init is None:
        m = np.zeros_like(mu)
    else:
        m = _numbers(init, "init").copy()
        if m.shape != mu.shape:
            raise ValueError(f"init must have shape {mu.shape}, got {m.shape}")
    precision = np.linalg.inv(sigma)
    var = 1.0 / np.diag(precision)
    history = [m.copy()]
    converged = False
    sweeps = 0
    while sweeps < max_sweeps and not converged:
        before = m.copy()
        for i in range(mu.size):
            others = precision[i] @ (m - mu) - precision[i, i] * (m[i] - mu[i])
            m[i] = mu[i] - var[i] * others
            history.append(m.copy())
        sweeps += 1
        converged = bool(np.max(np.abs(m - before)) <= tol)
    return CAVIResult(m, var, np.array(history), converged, sweeps)


# --- amortised Gaussian encoders: shared by the VAE and the bottleneck ------------------------


def _mlp(widths: Sequence[int]) -> nn.Sequential:
    """Linear layers of the given widths with tanh between them, in float64."""
    layers: list[nn.Module] = []
    for i in range(len(widths) - 1):
        if i:
            layers.append(nn.Tanh())
        layers.append(nn.Linear(widths[i], widths[i + 1], dtype=torch.float64))
    return nn.Sequential(*layers)


def _standard_normal(latent_dim: int) -> D.Distribution:
    """The prior p(z) = N(0, I) over ``latent_dim`` dimensions."""
    zeros = torch.zeros(latent_dim, dtype=torch.float64)
    return D.Independent(D.Normal(zeros, torch.ones_like(zeros)), 1)


def _reparameterised(
    posterior: D.Independent,
    n_samples: int | None,
    generator: torch.Generator,
) -> torch.Tensor:
    """z = mean + std * eps with eps ~ N(0, I) from ``generator``.

    ``n_samples`` None gives one z per row (n, k); an int gives
    (n_samples, n, k).
    """
    loc, scale = posterior.base_dist.loc, posterior.base_dist.scale
    shape = loc.shape if n_samples is None else (n_samples, *loc.shape)
    eps = torch.randn(shape, generator=generator, dtype=loc.dtype)
    return loc + scale * eps


class _GaussianEncoder:
    """Machinery shared by :class:`VAE` and :class:`VIBClassifier`.

    An MLP maps x to the mean and log-variance of q(z|x) = N(mu, diag sigma^2);
    training minimises a data term plus ``beta`` times KL(q(z|x) || N(0, I)).
    """

    n_features_in_: int
    encoder_: nn.Sequential
    history_: dict[str, list[float]]

    def __init__(
        self,
        latent_dim: int = 2,
        *,
        hidden: Sequence[int] = (128,),
        beta: float = 1.0,
        epochs: int = 100,
        lr: float = 2e-3,
        batch_size: int = 64,
        seed: Seed = None,
        progress: bool | None = None,
    ) -> None:
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.beta = beta
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.seed = seed
        self.progress = progress

    def _check_params(self) -> tuple[np.random.Generator, bool]:
        positive_int(self.latent_dim, "latent_dim")
        if isinstance(self.hidden, (str, bytes)) or not isinstance(
            self.hidden, Iterable
        ):
            raise TypeError(
                "hidden must be a sequence of layer widths, got "
                f"{type(self.hidden).__name__}"
            )
        for i, width in enumerate(self.hidden):
            positive_int(width, f"hidden[{i}]")
        positive_float(self.beta, "beta", allow_zero=True)
        positive_int(self.epochs, "epochs")
        positive_float(self.lr, "lr")
        positive_int(self.batch_size, "batch_size")
        return make_rng(self.seed), show_progress(self.progress)

    def _reset(self) -> None:
        for name in [n for n in vars(self) if n.endswith("_")]:
            delattr(self, name)

    def _inputs(self, X: ArrayLike, name: str = "X") -> torch.Tensor:
        """``X`` as a float64 tensor of shape (n, n_features)."""
        x = finite_array(X, name)
        if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(
                f"{name} must have shape (n_samples, n_features) with both at "
                f"least 1, got {x.shape}"
            )
        expected = getattr(self, "n_features_in_", None)
        if expected is not None and x.shape[1] != expected:
            raise ValueError(
                f"{name} has {x.shape[1]} features, but the model was fitted "
                f"with {expected}"
            )
        return torch.from_numpy(np.array(x, dtype=np.float64, order="C"))

    def _require_fitted(self) -> None:
        if not hasattr(self, "encoder_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit first"
            )

    def _posterior(self, x: torch.Tensor) -> D.Independent:
        """q(z|x) = N(mu(x), diag sigma(x)^2), batch shape (n,)."""
        mean, log_var = self.encoder_(x).chunk(2, dim=-1)
        return D.Independent(D.Normal(mean, torch.exp(0.5 * log_var)), 1)

    @property
    def _latent(self) -> int:
        """The dimension of z in the fitted networks.

        Read from the encoder rather than from ``latent_dim``, which a user
        may have changed since the fit.
        """
        last: nn.Linear = self.encoder_[-1]  # type: ignore[assignment]
        return last.out_features // 2

    @property
    def _widest(self) -> int:
        """The widest layer of the fitted networks (numbers per row)."""
        return max(
            layer.out_features
            for layer in [*self.encoder_, *self._head()]
            if isinstance(layer, nn.Linear)
        )

    def _kl_to_prior(self, posterior: D.Independent) -> torch.Tensor:
        """KL(q(z|x) || N(0, I)) per row, in closed form."""
        return D.kl_divergence(posterior, _standard_normal(self._latent))

    def _build(self, n_features: int, rng: np.random.Generator) -> None:
        """Create the networks (weights seeded from ``rng``).

        Networks whose weights, gradients and Adam's two moments would not
        fit in 1 GiB are refused before anything is allocated.
        """
        widths = [n_features, *(int(w) for w in self.hidden)]
        latent = int(self.latent_dim)
        layers = [[*widths, 2 * latent], self._head_widths(widths, latent)]
        weights = sum(
            (a + 1) * b for w in layers for a, b in itertools.pairwise(w)
        )
        check_size(  # the weights, their gradients and Adam's two moments
            4 * weights,
            f"hidden={tuple(self.hidden)} with latent_dim={latent} and "
            f"{n_features} features",
        )
        with seeded(rng):
            self.encoder_ = _mlp(layers[0])
            self._build_head(layers[1])

    def _head_widths(self, widths: list[int], latent: int) -> list[int]:
        """The widths of the network that reads z."""
        raise NotImplementedError

    def _build_head(self, widths: list[int]) -> None:
        raise NotImplementedError

    def _head(self) -> nn.Sequential:
        raise NotImplementedError

    def _parameters(self) -> list[nn.Parameter]:
        raise NotImplementedError

    def _fit_networks(
        self,
        x: torch.Tensor,
        targets: torch.Tensor,
        data_term: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        term_name: str,
        rng: np.random.Generator,
        progress: bool,
    ) -> None:
        """Build the networks and train them; a failure leaves no fitted state."""
        self.n_features_in_ = x.shape[1]
        try:
            self._build(x.shape[1], rng)
            self._train(x, targets, data_term, term_name, rng, progress)
        except BaseException:
            self._reset()  # no half-fitted model
            raise

    def _train(
        self,
        x: torch.Tensor,
        targets: torch.Tensor,
        data_term: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        term_name: str,
        rng: np.random.Generator,
        progress: bool,
    ) -> None:
        """Adam on mean(data_term(z, targets) + beta KL) over minibatches.

        ``data_term`` maps one reparameterised z per row and the rows'
        targets to a per-row loss. ``history_`` records the epoch means of
        the data term and of the KL.
        """
        generator = torch_generator(rng)
        optimiser = torch.optim.Adam(self._parameters(), lr=float(self.lr))
        self.history_ = {term_name: [], "kl": []}
        beta, size = float(self.beta), int(self.batch_size)
        for _ in tqdm(
            range(int(self.epochs)),
            desc=type(self).__name__,
            disable=not progress,
            unit="epoch",
        ):
            order = torch.randperm(len(x), generator=generator)
            totals = torch.zeros(2, dtype=torch.float64)
            for start in range(0, len(x), size):
                batch = order[start : start + size]
                posterior = self._posterior(x[batch])
                z = _reparameterised(posterior, None, generator)
                data = data_term(z, targets[batch])
                kl = self._kl_to_prior(posterior)
                loss = (data + beta * kl).mean()
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                totals += torch.stack([data.sum(), kl.sum()]).detach()
            self.history_[term_name].append(float(totals[0]) / len(x))
            self.history_["kl"].append(float(totals[1]) / len(x))

    @limited_threads
    def encode(
        self, X: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The means and variances of q(z|x), each of shape (n, latent_dim)."""
        self._require_fitted()
        with torch.no_grad():
            posterior = self._posterior(self._data(X))
        base = posterior.base_dist
        return base.loc.numpy(), base.scale.pow(2).numpy()

    @limited_threads
    def kl(self, X: ArrayLike) -> NDArray[np.float64]:
        """KL(q(z|x) || N(0, I)) for every row of ``X``, in nats (shape (n,))."""
        self._require_fitted()
        with torch.no_grad():
            return self._kl_to_prior(self._posterior(self._data(X))).numpy()

    def _data(self, X: ArrayLike) -> torch.Tensor:
        return self._inputs(X)


# --- the variational autoencoder ------------------------------------------------------------


class VAE(_GaussianEncoder):
    r"""A variational autoencoder for binary data (Kingma and Welling, 2014).

    The model is :math:`p(z) = \mathcal N(0, I)` and
    :math:`p_\theta(x \mid z) = \prod_j \mathrm{Bernoulli}(x_j; \pi_j(z))`,
    with a decoder network :math:`\pi(z)`; an encoder network gives the
    approximate posterior :math:`q_\phi(z \mid x) = \mathcal N(\mu(x),
    \operatorname{diag}\sigma^2(x))`. Training minimises, averaged over the
    data,

    .. math:: \mathbb{E}_{q}[-\log p_\theta(x \mid z)]
       + \beta\, \mathrm{KL}(q_\phi(z \mid x) \,\|\, \mathcal N(0, I))

    with one reparameterised z per image; ``beta = 1`` is the negative ELBO.

    Parameters
    ----------
    latent_dim : int
        Dimension of z (at least 1).
    hidden : sequence of int
        Hidden widths of the encoder (tanh); the decoder uses them reversed.
    beta : float
        Weight of the KL term, at least 0.
    epochs, lr, batch_size : optional
        Adam settings.
    seed : None, int or numpy.random.Generator
        Seeds the weights, the batch order and the training noise.
    progress : bool or None
        A progress bar; None shows one only in interactive sessions.

    Attributes
    ----------
    n_features_in_ : int
    encoder_, decoder_ : torch.nn.Sequential
    history_ : dict of list of float
        Per epoch, averaged over the training images:
        ``"reconstruction"``, the estimate of E_q[-log p(x|z)] (the
        distortion), and ``"kl"``, KL(q(z|x) || N(0, I)) (the rate). Their
        sum is the negative ELBO.

    Examples
    --------
    >>> X = (np.random.default_rng(0).random((40, 6)) < 0.3).astype(float)
    >>> vae = VAE(latent_dim=2, hidden=(8,), epochs=3, seed=0).fit(X)
    >>> vae.encode(X[:5])[0].shape, len(vae.history_["kl"])
    ((5, 2), 3)
    """

    decoder_: nn.Sequential

    def _head_widths(self, widths: list[int], latent: int) -> list[int]:
        return [latent, *widths[::-1]]

    def _build_head(self, widths: list[int]) -> None:
        self.decoder_ = _mlp(widths)

    def _head(self) -> nn.Sequential:
        return self.decoder_

    def _parameters(self) -> list[nn.Parameter]:
        return [*self.encoder_.parameters(), *self.decoder_.parameters()]

    def _data(self, X: ArrayLike, name: str = "X") -> torch.Tensor:
        """Binary images (every entry 0 or 1) of shape (n, n_features)."""
        x = self._inputs(X, name)
        if not bool(((x == 0) | (x == 1)).all()):
            raise ValueError(
                f"{name} must be binary (every entry 0 or 1) for the "
                "Bernoulli decoder; threshold grey levels first, e.g. "
                "(X > 0.5).astype(float)"
            )
        return x

    def _likelihood(self, z: torch.Tensor) -> D.Independent:
        """p(x|z): independent Bernoulli pixels with logits decoder_(z)."""
        logits = self.decoder_(z)
        return D.Independent(
            D.Bernoulli(logits=logits, validate_args=False), 1
        )

    def _reconstruction(
        self, z: torch.Tensor, x: torch.Tensor
    ) -> torch.Tensor:
        """-log p(x|z) per row: the distortion of one sample z."""
        return -self._likelihood(z).log_prob(x)

    @limited_threads
    def fit(self, X: ArrayLike) -> VAE:
        """Train from scratch on binary images ``X`` of shape (n, n_features).

        Every learned attribute is reset first.

        Returns
        -------
        VAE
            The fitted model itself.

        Examples
        --------
        >>> X = np.eye(4)[[0, 1, 2, 3] * 5]
        >>> VAE(hidden=(4,), epochs=2, seed=0).fit(X).n_features_in_
        4
        """
        self._reset()
        rng, progress = self._check_params()
        x = self._data(X)
        self._fit_networks(
            x, x, self._reconstruction, "reconstruction", rng, progress
        )
        return self

    def _weights(
        self, x: torch.Tensor, n_samples: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """log p(x|z_k) and log p(z_k) - log q(z_k|x), shape (n_samples, n)."""
        posterior = self._posterior(x)
        z = _reparameterised(posterior, n_samples, generator)
        log_likelihood = self._likelihood(z).log_prob(x)
        prior = _standard_normal(self._latent)
        return log_likelihood, prior.log_prob(z) - posterior.log_prob(z)

    def _in_chunks(
        self,
        X: ArrayLike,
        n_samples: int,
        seed: Seed,
        per_chunk: Callable[[torch.Tensor, torch.Generator], torch.Tensor],
    ) -> NDArray[np.float64]:
        self._require_fitted()
        x = self._data(X)
        n_samples = positive_int(n_samples, "n_samples")
        check_size(n_samples * self._widest, f"n_samples={n_samples:,}")
        generator = torch_generator(seed)
        rows = max(1, _CHUNK // n_samples)
        with torch.no_grad():
            parts = [
                per_chunk(x[start : start + rows], generator)
                for start in range(0, len(x), rows)
            ]
        return torch.cat(parts).numpy()

    @limited_threads
    def elbo(
        self,
        X: ArrayLike,
        *,
        n_samples: int = 1,
        seed: Seed = None,
    ) -> NDArray[np.float64]:
        r"""The ELBO of every image, in nats (shape (n,)).

        .. math:: \mathrm{ELBO}(x) = \mathbb{E}_{q(z \mid x)}[\log p(x \mid z)]
           - \mathrm{KL}(q(z \mid x) \,\|\, \mathcal N(0, I))

        The KL is exact; the first term is averaged over ``n_samples``
        draws of z, so the result is an unbiased estimate of the ELBO.

        Examples
        --------
        >>> X = np.eye(4)[[0, 1, 2, 3] * 5]
        >>> vae = VAE(hidden=(4,), epochs=2, seed=0).fit(X)
        >>> bool(np.all(vae.elbo(X, seed=0) < 0))
        True
        """

        def per_chunk(
            x: torch.Tensor, generator: torch.Generator
        ) -> torch.Tensor:
            log_likelihood, _ = self._weights(x, n_samples, generator)
            kl = self._kl_to_prior(self._posterior(x))
            return log_likelihood.mean(0) - kl

        return self._in_chunks(X, n_samples, seed, per_chunk)

    @limited_threads
    def log_likelihood(
        self,
        X: ArrayLike,
        *,
        n_samples: int = 64,
        seed: Seed = None,
    ) -> NDArray[np.float64]:
        r"""The importance-weighted lower bound on log p(x), per image (nats).

        .. math:: \mathcal L_K(x) = \log \frac1K \sum_{k=1}^K
           \frac{p(x \mid z_k)\, p(z_k)}{q(z_k \mid x)}, \qquad
           z_k \sim q(z \mid x)

        Its expectation is the ELBO for K = 1, never exceeds log p(x)
        (Jensen's inequality) and never decreases as K grows (Burda et al.'s
        argument by averaging over subsets of the samples, 2016). It tends
        to log p(x) as K grows whenever the ELBO is finite (Burda et al.
        prove it for bounded weights); with heavy-tailed weights it can get
        there very slowly.

        Examples
        --------
        >>> X = np.eye(4)[[0, 1, 2, 3] * 5]
        >>> vae = VAE(hidden=(4,), epochs=2, seed=0).fit(X)
        >>> vae.log_likelihood(X[:3], n_samples=8, seed=0).shape
        (3,)
        """

        def per_chunk(
            x: torch.Tensor, generator: torch.Generator
        ) -> torch.Tensor:
            log_likelihood, log_ratio = self._weights(x, n_samples, generator)
            log_weights = log_likelihood + log_ratio
            return torch.logsumexp(log_weights, dim=0) - math.log(n_samples)

        return self._in_chunks(X, n_samples, seed, per_chunk)

    def encode(
        self, X: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The means and variances of q(z|x), each of shape (n, latent_dim).

        Examples
        --------
        >>> X = np.eye(4)[[0, 1, 2, 3] * 5]
        >>> mean, var = VAE(hidden=(4,), epochs=2, seed=0).fit(X).encode(X)
        >>> mean.shape, bool(np.all(var > 0))
        ((20, 2), True)
        """
        return super().encode(X)

    def kl(self, X: ArrayLike) -> NDArray[np.float64]:
        """KL(q(z|x) || N(0, I)) for every image, in nats (the rate; shape (n,)).

        Examples
        --------
        >>> X = np.eye(4)[[0, 1, 2, 3] * 5]
        >>> bool(np.all(VAE(hidden=(4,), epochs=2, seed=0).fit(X).kl(X) >= 0))
        True
        """
        return super().kl(X)

    @limited_threads
    def decode(self, Z: ArrayLike) -> NDArray[np.float64]:
        """The pixel probabilities of p(x|z) for every row of ``Z`` (n, latent_dim).

        Examples
        --------
        >>> X = np.eye(4)[[0, 1, 2, 3] * 5]
        >>> vae = VAE(hidden=(4,), epochs=2, seed=0).fit(X)
        >>> vae.decode(np.zeros((1, 2))).shape
        (1, 4)
        """
        self._require_fitted()
        z = _numbers(Z, "Z")
        if z.ndim != 2 or z.shape[1] != self._latent or len(z) == 0:
            raise ValueError(
                f"Z must have shape (n, {self._latent}) with n >= 1, got "
                f"{z.shape}"
            )
        with torch.no_grad():
            return torch.sigmoid(self.decoder_(torch.from_numpy(z))).numpy()

    @limited_threads
    def sample(
        self,
        n: int,
        *,
        mean: bool = False,
        seed: Seed = None,
    ) -> NDArray[np.float64]:
        """Draw n images from the model: z ~ N(0, I), then x ~ p(x|z).

        With ``mean=True`` the images are the pixel probabilities of
        p(x|z) instead of binary draws from it.

        Examples
        --------
        >>> X = np.eye(4)[[0, 1, 2, 3] * 5]
        >>> vae = VAE(hidden=(4,), epochs=2, seed=0).fit(X)
        >>> images = vae.sample(3, seed=0)
        >>> images.shape, bool(np.all((images == 0) | (images == 1)))
        ((3, 4), True)
        """
        self._require_fitted()
        n = positive_int(n, "n")
        check_size(n * self._widest, f"n={n:,}")
        if not isinstance(mean, bool):
            raise TypeError(f"mean must be True or False, got {mean!r}")
        generator = torch_generator(seed)
        z = torch.randn(
            (n, self._latent), generator=generator, dtype=torch.float64
        )
        with torch.no_grad():
            probabilities = torch.sigmoid(self.decoder_(z))
        if mean:
            return probabilities.numpy()
        return torch.bernoulli(probabilities, generator=generator).numpy()


# --- the variational information bottleneck --------------------------------------------------


class VIBClassifier(_GaussianEncoder):
    r"""A classifier through a stochastic bottleneck (Alemi et al., 2017).

    An encoder gives :math:`q(z \mid x) = \mathcal N(\mu(x),
    \operatorname{diag}\sigma^2(x))` and a linear softmax layer gives
    :math:`q(y \mid z)`. Training minimises, averaged over the data,

    .. math:: \mathbb{E}_{q(z \mid x)}[-\log q(y \mid z)]
       + \beta\, \mathrm{KL}(q(z \mid x) \,\|\, \mathcal N(0, I))

    with one reparameterised z per example. The average KL is an upper bound
    on the mutual information I(X; Z) of the code with the inputs.

    Parameters
    ----------
    latent_dim : int
        Dimension of z (at least 1).
    hidden : sequence of int
        Hidden widths of the encoder (tanh).
    beta : float
        Weight of the KL term, at least 0.
    epochs, lr, batch_size : optional
        Adam settings.
    seed : None, int or numpy.random.Generator
        Seeds the weights, the batch order and the training noise.
    progress : bool or None
        A progress bar; None shows one only in interactive sessions.

    Only the default of ``beta`` (1e-3) differs from :class:`VAE`'s; the
    other keyword options go, with the same defaults, to the constructor
    the two classes share.

    Attributes
    ----------
    classes_ : numpy.ndarray
        The sorted integer class labels seen in training.
    n_features_in_ : int
    encoder_, head_ : torch.nn.Sequential
    history_ : dict of list of float
        Per epoch, averaged over the training examples: ``"cross_entropy"``
        (estimated with one z per example) and ``"kl"``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> model = VIBClassifier(2, hidden=(8,), epochs=50, lr=1e-2, seed=0)
    >>> bool(model.fit(X, y).score(X, y) > 0.8)
    True
    """

    classes_: NDArray[np.int64]
    head_: nn.Sequential

    def __init__(
        self, latent_dim: int = 2, *, beta: float = 1e-3, **settings: Any
    ) -> None:
        # the VAE's constructor, with a smaller default beta
        super().__init__(latent_dim, beta=beta, **settings)

    def _head_widths(self, widths: list[int], latent: int) -> list[int]:
        return [latent, len(self.classes_)]

    def _build_head(self, widths: list[int]) -> None:
        self.head_ = _mlp(widths)

    def _head(self) -> nn.Sequential:
        return self.head_

    def _parameters(self) -> list[nn.Parameter]:
        return [*self.encoder_.parameters(), *self.head_.parameters()]

    def _labels(self, y: ArrayLike, n: int) -> NDArray[np.int64]:
        labels = finite_array(y, "y")  # booleans are two classes, 0 and 1
        if labels.shape != (n,):
            raise ValueError(f"y must have shape ({n},), got {labels.shape}")
        if np.any(labels != np.round(labels)):
            raise ValueError("y must hold integer class labels")
        if np.any(np.abs(labels) > 2**53):
            raise ValueError(
                "y must hold integer class labels of at most 2**53 in size "
                "(larger floats are not exact integers), got "
                f"{labels[np.abs(labels) > 2**53][0]:g}"
            )
        return labels.astype(np.int64)

    def _cross_entropy(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """-log q(y|z) per row."""
        return -D.Categorical(logits=self.head_(z)).log_prob(y)

    @limited_threads
    def fit(self, X: ArrayLike, y: ArrayLike) -> VIBClassifier:
        """Train from scratch on inputs ``X`` (n, d) and integer labels ``y`` (n,).

        Returns
        -------
        VIBClassifier
            The fitted model itself.

        Examples
        --------
        >>> X, y = np.eye(3)[[0, 1, 2] * 4], np.array([0, 1, 2] * 4)
        >>> VIBClassifier(hidden=(4,), epochs=2, seed=0).fit(X, y).classes_
        array([0, 1, 2])
        """
        self._reset()
        rng, progress = self._check_params()
        x = self._inputs(X)
        labels = self._labels(y, len(x))
        classes = np.unique(labels)
        if classes.size < 2:
            raise ValueError("y must contain at least two classes")
        self.classes_ = classes
        targets = torch.from_numpy(np.searchsorted(classes, labels))
        self._fit_networks(
            x, targets, self._cross_entropy, "cross_entropy", rng, progress
        )
        return self

    @limited_threads
    def predict_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        """Class probabilities q(y|z) at the posterior mean z = mu(x), shape (n, n_classes).

        Examples
        --------
        >>> X, y = np.eye(3)[[0, 1, 2] * 4], np.array([0, 1, 2] * 4)
        >>> model = VIBClassifier(hidden=(4,), epochs=2, seed=0).fit(X, y)
        >>> model.predict_proba(X[:2]).sum(axis=1).round(6)
        array([1., 1.])
        """
        self._require_fitted()
        with torch.no_grad():
            mean = self._posterior(self._inputs(X)).base_dist.loc
            return torch.softmax(self.head_(mean), dim=-1).numpy()

    def predict(self, X: ArrayLike) -> NDArray[np.int64]:
        """The most probable class of every row of ``X``.

        Examples
        --------
        >>> X, y = np.eye(3)[[0, 1, 2] * 4], np.array([0, 1, 2] * 4)
        >>> model = VIBClassifier(hidden=(4,), epochs=2, seed=0).fit(X, y)
        >>> model.predict(X[:3]).shape
        (3,)
        """
        probabilities = self.predict_proba(X)
        return self.classes_[probabilities.argmax(axis=1)]

    def score(self, X: ArrayLike, y: ArrayLike) -> float:
        """The accuracy of :meth:`predict` on labels ``y``.

        Examples
        --------
        >>> X, y = np.eye(3)[[0, 1, 2] * 4], np.array([0, 1, 2] * 4)
        >>> model = VIBClassifier(hidden=(4,), epochs=2, seed=0).fit(X, y)
        >>> 0.0 <= model.score(X, y) <= 1.0
        True
        """
        predicted = self.predict(X)
        return float(np.mean(predicted == self._labels(y, len(predicted))))

    def encode(
        self, X: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The means and variances of q(z|x), each of shape (n, latent_dim).

        Examples
        --------
        >>> X, y = np.eye(3)[[0, 1, 2] * 4], np.array([0, 1, 2] * 4)
        >>> model = VIBClassifier(hidden=(4,), epochs=2, seed=0).fit(X, y)
        >>> [a.shape for a in model.encode(X)]
        [(12, 2), (12, 2)]
        """
        return super().encode(X)

    def kl(self, X: ArrayLike) -> NDArray[np.float64]:
        """KL(q(z|x) || N(0, I)) for every row, in nats (shape (n,)).

        Its mean over the data bounds I(X; Z) from above.

        Examples
        --------
        >>> X, y = np.eye(3)[[0, 1, 2] * 4], np.array([0, 1, 2] * 4)
        >>> model = VIBClassifier(hidden=(4,), epochs=2, seed=0).fit(X, y)
        >>> bool(np.all(model.kl(X) >= 0))
        True
        """
        return super().kl(X)
