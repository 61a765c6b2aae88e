"""Data with a known p(y|x): the classification and regression tasks of chapter 4.

The generators return their data *with* the true conditional distribution,
so that the KL from the truth to a model, not only the model's loss, can be
computed. Every ``seed`` is None, an int or a ``numpy.random.Generator``;
neither NumPy's nor torch's global random state is read or changed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from klcourse._estimator import check_rows, regression_targets
from klcourse._random import Seed, make_rng, seeded
from klcourse._validation import (
    check_choice,
    check_size,
    finite_array,
    positive_float,
    positive_int,
    probability_array,
)

__all__ = [
    "BIMODAL_OFFSET",
    "BIMODAL_STD",
    "CLASS_CENTRES",
    "NOISES",
    "ClassificationData",
    "RegressionData",
    "class_probabilities",
    "make_classification_task",
    "make_regression_task",
    "noise_distribution",
    "true_function",
    "true_noise_scale",
]

D = torch.distributions
#: The noise models of :func:`make_regression_task`.
NOISES = ("gaussian", "laplace", "heteroscedastic", "student_t", "bimodal")

#: The bimodal task's two modes lie this far above and below f(x) ...
BIMODAL_OFFSET = 1.0
#: ... each with this standard deviation, and with equal weights.
BIMODAL_STD = 0.15

#: Centres of the three classes of :func:`make_classification_task`.
CLASS_CENTRES = np.array([[-1.2, -0.8], [1.4, -0.6], [0.0, 1.4]])


@dataclass(frozen=True)
class ClassificationData:
    """Inputs, labels drawn from p(y|x), and p(y|x) itself.

    Attributes
    ----------
    X : numpy.ndarray, shape (n, 2)
    y : numpy.ndarray of int, shape (n,)
    proba : numpy.ndarray, shape (n, n_classes)
        The true p(y|x) at every row of X.

    Examples
    --------
    >>> data = make_classification_task(3, seed=0)
    >>> data.X.shape, data.y.shape, data.proba.sum(axis=1).round(12)
    ((3, 2), (3,), array([1., 1., 1.]))

    Built by hand, the data are checked: ``X`` finite with shape (n, d),
    ``y`` integer labels 0 to n_classes - 1 (not text, not bools), ``proba``
    one probability row per input (never renormalised).
    """

    X: NDArray[np.float64]
    y: NDArray[np.int64]
    proba: NDArray[np.float64]

    def __post_init__(self) -> None:
        X = _rows(self.X, "X")
        proba = probability_array(
            self.proba, "proba", axis=-1, allow_bool=False
        )
        if proba.ndim != 2 or proba.shape[0] != len(X):
            raise ValueError(
                f"proba must have shape ({len(X)}, n_classes), one row per"
                f" row of X, got {proba.shape}"
            )
        y = finite_array(self.y, "y", allow_bool=False)
        check_rows(y, len(X), "y")
        if y.ndim != 1 or np.any(y != np.round(y)):
            raise ValueError("y must be a 1-D array of integer class labels")
        outside = (y < 0) | (y >= proba.shape[1])
        if outside.any():
            raise ValueError(
                f"y has label {y[outside][0]:g}, but proba has only"
                f" {proba.shape[1]} columns (labels 0 to {proba.shape[1] - 1})"
            )
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y.astype(np.int64))
        object.__setattr__(self, "proba", proba)


def class_probabilities(
    X: ArrayLike, *, sharpness: float = 1.5
) -> NDArray[np.float64]:
    r"""The true p(y|x) of :func:`make_classification_task`.

    A softmax of :math:`-\text{sharpness} \cdot \|x - c_k\|^2 / 2` over the three
    ``CLASS_CENTRES``, with genuinely uncertain regions between the classes,
    so that the conditional entropy is well above zero. The term
    :math:`\|x\|^2` is the same for every class and cancels in the softmax:
    the log-odds are affine in x, so p(y|x) is exactly a multinomial logistic
    model with straight class boundaries (the perpendicular bisectors of the
    centres), and a linear classifier is well specified for it.
    ``sharpness`` 0 gives the uniform distribution.

    Examples
    --------
    >>> class_probabilities([[0.0, 0.0]]).sum()
    np.float64(1.0)
    """
    sharpness = positive_float(sharpness, "sharpness", allow_zero=True)
    x = finite_array(X, "X", allow_bool=False)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2), got {x.shape}")
    logits = -0.5 * sharpness * ((x[:, None, :] - CLASS_CENTRES) ** 2).sum(-1)
    return torch.softmax(torch.from_numpy(logits), dim=-1).numpy()


def make_classification_task(
    n: int, *, sharpness: float = 1.5, seed: Seed = None
) -> ClassificationData:
    """Draw n points uniformly from [-3, 3]^2 and a label for each from the true p(y|x).

    Parameters
    ----------
    n : int
        Number of points.
    sharpness : float
        Larger is less noisy (see :func:`class_probabilities`).
    seed : None, int or numpy.random.Generator
        Seeds inputs and labels; a generator is advanced. The global random
        states of NumPy and torch are neither used nor changed.

    Returns
    -------
    ClassificationData

    Examples
    --------
    >>> data = make_classification_task(5, seed=0)
    >>> data.X.shape, data.y.shape, data.proba.shape
    ((5, 2), (5,), (5, 3))
    """
    n = positive_int(n, "n")
    check_size(3 * n, "n")  # the largest array: p(y|x), 3 classes per row
    sharpness = positive_float(sharpness, "sharpness", allow_zero=True)
    rng = make_rng(seed)
    X = rng.uniform(-3, 3, size=(n, 2))
    proba = class_probabilities(X, sharpness=sharpness)
    # Inverse-CDF sampling of one label per row.
    y = (
        (rng.random((n, 1)) > np.cumsum(proba, axis=1))
        .sum(axis=1)
        .clip(max=proba.shape[1] - 1)
    )
    return ClassificationData(X, y.astype(np.int64), proba)


@dataclass(frozen=True)
class RegressionData:
    """Inputs, targets, and the true noise distribution p(y|x).

    Attributes
    ----------
    X : numpy.ndarray, shape (n, 1)
    y : numpy.ndarray, shape (n,)
    dist : torch.distributions.Distribution
        p(y|x) for every row of X, batch shape (n,).

    Examples
    --------
    >>> data = make_regression_task(3, seed=0)
    >>> data.X.shape, data.y.shape, data.dist.batch_shape
    ((3, 1), (3,), torch.Size([3]))

    Built by hand, the data are checked: ``X`` finite with shape (n, 1),
    ``y`` finite numbers (not text, not bools) with shape (n,), ``dist`` a
    univariate torch distribution with batch shape (n,).
    """

    X: NDArray[np.float64]
    y: NDArray[np.float64]
    dist: D.Distribution

    def __post_init__(self) -> None:
        X = _rows(self.X, "X")
        if X.shape[1] != 1:
            raise ValueError(
                f"X must have shape (n, 1): the regression tasks have one"
                f" input, got {X.shape}"
            )
        y = regression_targets(self.y, len(X), "y").numpy()
        if not isinstance(self.dist, D.Distribution):
            raise TypeError(
                "dist must be a torch.distributions.Distribution, got "
                f"{type(self.dist).__name__}"
            )
        shape = (tuple(self.dist.batch_shape), tuple(self.dist.event_shape))
        if shape != ((len(X),), ()):
            raise ValueError(
                f"dist must hold one univariate p(y|x) per row, batch shape"
                f" ({len(X)},), got batch shape {shape[0]} and event shape"
                f" {shape[1]}"
            )
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y)

    @property
    def mean(self) -> NDArray[np.float64]:
        """The true regression function f(x) (the location of p(y|x))."""
        return true_function(self.X[:, 0])


def true_function(x: ArrayLike) -> NDArray[np.float64]:
    """The regression function of :func:`make_regression_task`: sin(1.5 x) + 0.3 x.

    Examples
    --------
    >>> true_function([0.0, 1.0]).round(3)
    array([0.   , 1.297])
    """
    values = finite_array(x, "x", allow_bool=False)
    return np.sin(1.5 * values) + 0.3 * values


def true_noise_scale(x: ArrayLike) -> NDArray[np.float64]:
    """The noise standard deviation of the heteroscedastic task: 0.05 + 0.2 (1 + sin x).

    Examples
    --------
    >>> true_noise_scale([0.0, -np.pi / 2]).round(3)
    array([0.25, 0.05])
    """
    values = finite_array(x, "x", allow_bool=False)
    return 0.05 + 0.2 * (1.0 + np.sin(values))


def noise_distribution(x: ArrayLike, noise: str) -> D.Distribution:
    """The true p(y|x) of :func:`make_regression_task` at the points ``x`` (shape (n,)).

    Examples
    --------
    >>> noise_distribution([0.0, 1.0], "student_t").batch_shape
    torch.Size([2])
    """
    noise = check_choice(noise, "noise", NOISES)
    values = finite_array(x, "x", allow_bool=False)
    loc = torch.from_numpy(true_function(values))
    if noise == "gaussian":
        return D.Normal(loc, torch.full_like(loc, 0.3))
    if noise == "laplace":
        # scale 0.3 / sqrt(2): standard deviation 0.3
        return D.Laplace(loc, torch.full_like(loc, 0.3 / math.sqrt(2)))
    if noise == "student_t":
        # heavy tails: 1.5 degrees of freedom
        df = torch.full_like(loc, 1.5)
        return D.StudentT(df, loc, torch.full_like(loc, 0.2))
    if noise == "bimodal":
        # two equally likely modes at f(x) -/+ BIMODAL_OFFSET: the mean f(x)
        # lies between them, where p(y|x) is almost zero
        offsets = torch.tensor([-BIMODAL_OFFSET, BIMODAL_OFFSET])
        return D.MixtureSameFamily(
            D.Categorical(probs=torch.full((len(loc), 2), 0.5)),
            D.Normal(
                loc[:, None] + offsets,
                torch.full((len(loc), 2), BIMODAL_STD, dtype=torch.float64),
            ),
        )
    return D.Normal(loc, torch.from_numpy(true_noise_scale(values)))


def make_regression_task(
    n: int, *, noise: str = "gaussian", seed: Seed = None
) -> RegressionData:
    """Draw n inputs uniformly from [-3, 3] and a target for each from the true p(y|x).

    The regression function is :func:`true_function`. Noise models:
    ``"gaussian"`` (standard deviation 0.3), ``"laplace"`` (standard deviation 0.3),
    ``"heteroscedastic"`` (Gaussian with standard deviation :func:`true_noise_scale`),
    ``"student_t"`` (1.5 degrees of freedom: heavy tails, infinite variance)
    and ``"bimodal"`` (an equal mixture of two Normals with standard deviation
    ``BIMODAL_STD`` at f(x) - ``BIMODAL_OFFSET`` and f(x) + ``BIMODAL_OFFSET``:
    the conditional mean f(x) lies between the modes, where almost no data is).
    ``seed`` (None, an int or a ``numpy.random.Generator``) seeds inputs and
    noise without touching NumPy's or torch's global random state.

    Examples
    --------
    >>> data = make_regression_task(4, noise="laplace", seed=0)
    >>> data.X.shape, data.y.shape, data.dist.batch_shape
    ((4, 1), (4,), torch.Size([4]))
    """
    n = positive_int(n, "n")
    check_size(2 * n, "n")  # the largest array: the bimodal task's modes
    noise = check_choice(noise, "noise", NOISES)
    rng = make_rng(seed)
    X = np.sort(rng.uniform(-3, 3, size=n))[:, None]
    dist = noise_distribution(X[:, 0], noise)
    with seeded(rng):
        y = dist.sample().numpy()
    return RegressionData(X, y, dist)


def _rows(X: ArrayLike, name: str) -> NDArray[np.float64]:
    """A finite 2-D float64 array of shape (n, d), not text, not bools."""
    x = finite_array(X, name, allow_bool=False)
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d), got {x.shape}")
    return x
