"""One adapter so that torch and scipy distributions look alike to the estimators.

:func:`as_distribution` wraps a ``torch.distributions.Distribution`` or a frozen
``scipy.stats`` distribution in :class:`Distribution`, which offers exactly what the
numerical code needs: float64 log-densities of NumPy points, seeded sampling, and a
rough location and scale.

Torch is not imported here: a caller who holds a torch distribution has
imported torch already, so a scipy distribution is handled without it.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import scipy.stats
from numpy.typing import NDArray

from klcourse._random import seeded

if TYPE_CHECKING:
    import torch

DistributionLike: TypeAlias = Any
"""A ``torch.distributions.Distribution`` or a frozen ``scipy.stats`` distribution."""


def is_torch_distribution(dist: object) -> bool:
    """True for a ``torch.distributions.Distribution``, without importing torch.

    Nothing can be one unless ``torch.distributions`` is loaded.
    """
    distributions = sys.modules.get("torch.distributions")
    return distributions is not None and isinstance(
        dist, distributions.Distribution
    )


@dataclass(frozen=True)
class Distribution:
    """A distribution seen through NumPy: log-density, sampling, location and scale, support."""

    log_prob: Callable[[NDArray[np.float64]], NDArray[np.float64]]
    sample: Callable[[int, np.random.Generator], NDArray[np.float64]]
    location_scale: Callable[[], tuple[float, float] | None]
    support_bounds: Callable[[], tuple[float, float]]
    event_shape: tuple[int, ...] = ()
    quartiles: Callable[[], NDArray[np.float64] | None] = lambda: None

    def centre_scale(self) -> tuple[float, float]:
        """Where a univariate distribution lives, with or without moments.

        Its mean and standard deviation when both are finite; otherwise its
        median and its interquartile range over 1.349 (the standard
        deviation of a Normal with that range), which a Cauchy has too;
        (0, 1) when neither is known.
        """
        known = self.location_scale()
        if known is not None:
            return known
        quartiles = self.quartiles()
        if quartiles is not None and np.all(np.isfinite(quartiles)):
            spread = float(quartiles[2] - quartiles[0]) / 1.349
            if spread > 0:
                return float(quartiles[1]), spread
        return 0.0, 1.0


def as_distribution(
    dist: DistributionLike,
    name: str,
    *,
    continuous: bool = False,
    univariate: bool = False,
) -> Distribution:
    """Wrap ``dist`` (torch or frozen scipy) as a :class:`Distribution`.

    Raises a ``TypeError`` naming ``name`` for anything else, or when ``univariate``
    or ``continuous`` is demanded and ``dist`` is not. A batch of distributions
    (a torch batch shape, or a scipy distribution with array parameters) is a
    ``ValueError``: every caller wants one distribution.
    """
    if is_torch_distribution(dist):
        if dist.batch_shape and not univariate:
            raise ValueError(
                f"{name} is a batch of distributions (batch_shape="
                f"{tuple(dist.batch_shape)}); klcourse compares two single "
                "distributions. For the joint KL of independent components, "
                f"wrap it as torch.distributions.Independent({name}, "
                f"{len(dist.batch_shape)}); otherwise call once per element"
            )
        return _from_torch(
            dist, name, continuous=continuous, univariate=univariate
        )
    if isinstance(dist, (scipy.stats.rv_continuous, scipy.stats.rv_discrete)):
        raise TypeError(
            f"{name} is an unfrozen scipy.stats distribution; freeze it with its parameters, "
            f"e.g. scipy.stats.{dist.name}(...)"
        )
    if _is_frozen_scipy(dist):
        return _from_scipy(
            dist, name, continuous=continuous, univariate=univariate
        )
    raise TypeError(
        f"{name} must be a torch.distributions.Distribution or a frozen scipy.stats "
        f"distribution (e.g. scipy.stats.norm(0, 1)), got {type(dist).__name__}"
    )


def _is_frozen_scipy(dist: Any) -> bool:
    """True for frozen ``scipy.stats`` distributions (uni- or multivariate)."""
    from_scipy = type(dist).__module__.startswith("scipy.stats")
    has_density = hasattr(dist, "logpdf") or hasattr(dist, "logpmf")
    return from_scipy and has_density and hasattr(dist, "rvs")


def _from_torch(
    dist: torch.distributions.Distribution,
    name: str,
    *,
    continuous: bool,
    univariate: bool,
) -> Distribution:
    import torch

    if univariate and (
        dist.event_shape != torch.Size() or dist.batch_shape != torch.Size()
    ):
        raise TypeError(
            f"{name} must be a single univariate distribution, got batch_shape={tuple(dist.batch_shape)} "
            f"and event_shape={tuple(dist.event_shape)}"
        )
    if continuous and dist.support is not None and dist.support.is_discrete:
        raise TypeError(
            f"{name} must be a continuous distribution, got the discrete {type(dist).__name__}"
        )

    def log_prob(x: NDArray[np.float64]) -> NDArray[np.float64]:
        value = torch.as_tensor(x, dtype=torch.float64)
        # Points outside the support have density 0; torch would refuse them.
        support = dist.support
        if support is None:
            return dist.log_prob(value).to(torch.float64).numpy()
        inside = support.check(value)
        out = torch.full(inside.shape, -math.inf, dtype=torch.float64)
        if inside.any():
            out[inside] = dist.log_prob(value[inside]).to(torch.float64)
        return out.numpy()

    def sample(n: int, rng: np.random.Generator) -> NDArray[np.float64]:
        with seeded(rng):
            draws = dist.sample((n,))
        return draws.to(torch.float64).numpy()

    def location_scale() -> tuple[float, float] | None:
        try:
            mean, std = float(dist.mean), float(dist.stddev)
        except (NotImplementedError, TypeError, ValueError, RuntimeError):
            return None
        return (
            (mean, std)
            if math.isfinite(mean) and math.isfinite(std) and std > 0
            else None
        )

    def quartiles() -> NDArray[np.float64] | None:
        """The quartiles: by torch's icdf if it has one, else from draws."""
        if dist.event_shape != torch.Size():
            return None
        levels = torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64)
        try:
            return dist.icdf(levels).to(torch.float64).numpy()
        except (NotImplementedError, RuntimeError, ValueError):
            draws = sample(4001, np.random.default_rng(0))
            return np.quantile(draws, levels.numpy())

    def support_bounds() -> tuple[float, float]:
        """The interval holding the support (the real line when torch does not say)."""
        support = dist.support
        bounds = []
        for attribute, default in (
            ("lower_bound", -math.inf),
            ("upper_bound", math.inf),
        ):
            value = getattr(support, attribute, default)
            bounds.append(
                float(value)
                if torch.as_tensor(value).numel() == 1
                else default
            )
        return bounds[0], bounds[1]

    return Distribution(
        log_prob,
        sample,
        location_scale,
        support_bounds,
        tuple(dist.event_shape),
        quartiles,
    )


def _from_scipy(
    dist: Any, name: str, *, continuous: bool, univariate: bool
) -> Distribution:
    is_continuous = hasattr(dist, "logpdf")
    if continuous and not is_continuous:
        raise TypeError(
            f"{name} must be a continuous distribution, got a discrete scipy.stats distribution"
        )
    dimension = getattr(dist, "dim", 1)
    if univariate and dimension != 1:
        raise TypeError(
            f"{name} must be univariate, got a {dimension}-dimensional scipy.stats distribution"
        )
    if dimension == 1 and hasattr(dist, "mean") and np.ndim(dist.mean()) > 0:
        raise ValueError(
            f"{name} is a batch of scipy.stats distributions (parameters of "
            f"shape {np.shape(dist.mean())}); klcourse compares two single "
            "distributions: freeze one with scalar parameters per call"
        )
    density = dist.logpdf if is_continuous else dist.logpmf

    def log_prob(x: NDArray[np.float64]) -> NDArray[np.float64]:
        with np.errstate(
            over="ignore", under="ignore"
        ):  # far tails: -inf is the right answer
            values = density(x)
        return np.asarray(values, dtype=np.float64).reshape(
            x.shape[: x.ndim - (dimension > 1)]
        )

    def sample(n: int, rng: np.random.Generator) -> NDArray[np.float64]:
        draws = np.asarray(
            dist.rvs(size=n, random_state=rng), dtype=np.float64
        )
        return draws.reshape((n,) + ((dimension,) if dimension > 1 else ()))

    def location_scale() -> tuple[float, float] | None:
        try:
            mean, std = float(dist.mean()), float(dist.std())
        except (AttributeError, TypeError, ValueError):
            return None
        return (
            (mean, std)
            if math.isfinite(mean) and math.isfinite(std) and std > 0
            else None
        )

    def support_bounds() -> tuple[float, float]:
        if dimension != 1 or not hasattr(dist, "support"):
            return -math.inf, math.inf
        lower, upper = dist.support()
        return float(lower), float(upper)

    def quartiles() -> NDArray[np.float64] | None:
        if dimension != 1 or not hasattr(dist, "ppf"):
            return None
        with np.errstate(all="ignore"):
            return np.asarray(dist.ppf([0.25, 0.5, 0.75]), dtype=np.float64)

    event = (dimension,) if dimension > 1 else ()
    return Distribution(
        log_prob, sample, location_scale, support_bounds, event, quartiles
    )
