"""Closed forms of variational inference, in NumPy: the ELBO identity and mean-field Gaussians.

- :class:`ConjugateNormal` -- a model with a closed-form posterior and evidence,
  on which the identity log p(x) = ELBO(q) + KL(q || p(z|x)) holds exactly;
- :func:`mean_field_gaussian` and :func:`cavi_gaussian` -- the best fully
  factorised Gaussian for a correlated Gaussian, by reverse or forward KL, in
  closed form and by coordinate ascent.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from klcourse._history import History
from klcourse._validation import (
    DIRECTIONS,
    check_choice,
    cholesky_factor,
    finite_array,
    positive_float,
    positive_int,
)
from klcourse.fitting import GaussianParams

__all__ = [
    "CAVIResult",
    "ConjugateNormal",
    "cavi_gaussian",
    "mean_field_gaussian",
]

LOG_2PI = math.log(2 * math.pi)
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
    history : klcourse.History
        One row for ``init`` and one after every single-coordinate update,
        with x-axis ``"sweep"``, the sweeps done so far (``k / d`` after
        ``k`` updates of ``d`` coordinates), and the means ``"m_1"`` to
        ``"m_d"`` (the mean of coordinate ``i`` is ``"m_{i+1}"``).
    converged : bool
        Whether a full sweep changed no mean by more than ``tol``.
    n_sweeps : int
        Sweeps over all coordinates performed.

    Examples
    --------
    >>> result = cavi_gaussian([0.0, 0.0], [[1.0, 0.5], [0.5, 1.0]])
    >>> result.converged, list(result.history)
    (True, ['sweep', 'm_1', 'm_2'])
    >>> result.path.shape == (2 * result.n_sweeps + 1, 2)
    True
    """

    mean: NDArray[np.float64]
    var: NDArray[np.float64]
    history: History
    converged: bool
    n_sweeps: int

    @property
    def path(self) -> NDArray[np.float64]:
        """The means as a matrix, one row per row of ``history``.

        One column per coordinate.

        Row 0 is ``init``; row ``k`` holds the means after ``k`` updates.
        """
        d = len(self.mean)
        return np.column_stack([self.history[f"m_{i + 1}"] for i in range(d)])


def _means_history(path: NDArray[np.float64]) -> History:
    """The history of a CAVI run from its matrix of means (updates x d)."""
    d = path.shape[1]
    columns = {"sweep": np.arange(len(path)) / d}
    columns |= {f"m_{i + 1}": path[:, i] for i in range(d)}
    return _MatrixHistory(columns, path)


class _MatrixHistory(History):
    """A History that still answers the old matrix's questions, with a warning.

    ``CAVIResult.history`` was the matrix that :attr:`CAVIResult.path` is
    now. Indexing it with anything but a column name, ``shape``, ``T`` and
    NumPy conversion keep working for a while with a ``FutureWarning``.
    """

    def __init__(
        self, columns: dict[str, NDArray[Any]], path: NDArray[np.float64]
    ) -> None:
        super().__init__(columns, x="sweep")
        self._path = path.copy()
        self._path.flags.writeable = False

    def _matrix(self) -> NDArray[np.float64]:
        warnings.warn(
            "CAVIResult.history is a History now (a dict of columns: "
            f"{', '.join(self)}); the matrix of means it used to be is "
            "CAVIResult.path",
            FutureWarning,
            stacklevel=3,
        )
        return self._path

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return super().__getitem__(key)
        return self._matrix()[key]

    @property
    def shape(self) -> tuple[int, ...]:
        return self._matrix().shape

    @property
    def T(self) -> NDArray[np.float64]:
        return self._matrix().T

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        return np.asarray(self._matrix(), dtype=dtype)


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
       m_i = \mu_i - \frac{1}{\Lambda_{ii}}
       \sum_{j \ne i} \Lambda_{ij} (m_j - \mu_j)

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
    path = [m.copy()]  # the means after every update
    converged = False
    sweeps = 0
    while sweeps < max_sweeps and not converged:
        before = m.copy()
        for i in range(mu.size):
            others = precision[i] @ (m - mu) - precision[i, i] * (m[i] - mu[i])
            m[i] = mu[i] - var[i] * others
            path.append(m.copy())
        sweeps += 1
        converged = bool(np.max(np.abs(m - before)) <= tol)
    return CAVIResult(
        m, var, _means_history(np.array(path)), converged, sweeps
    )
