"""Supervised learning as forward KL: a classifier and regressors whose losses are likelihoods.

Both estimators follow scikit-learn's conventions without depending on it:
hyper-parameters in ``__init__`` (``get_params``/``set_params``, so that
``sklearn.base.clone``, pipelines and grid searches work), learning in
:meth:`Classifier.fit` and :meth:`Regressor.fit`, learned attributes ending in
``_`` and reset by every fit, and a ``score`` method. Training minimises the
average negative log-likelihood -log q(y|x) over the data, which is the
empirical forward KL from the data distribution p(y|x) to the model q(y|x), up
to the entropy of p that the model cannot change (chapter 4).

The data generators return data *with* their true conditional distribution, so that
the KL itself, not only the loss, can be computed.

Randomness has no side effects: every ``seed`` is None, an int or a
``numpy.random.Generator``, and neither NumPy's nor torch's global random state
is read or changed. Torch runs single-threaded during training and prediction
(``klcourse.set_torch_threads`` changes that), and the caller's thread setting
is restored afterwards.
"""

from __future__ import annotations

import inspect
import itertools
import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from scipy import sparse
from torch import nn
from tqdm.auto import tqdm

from klcourse._progress import show_progress
from klcourse._random import Seed, make_rng, seeded, torch_generator
from klcourse._threads import limited_threads
from klcourse._validation import (
    check_choice,
    check_size,
    detached,
    finite_array,
    positive_float,
    positive_int,
    probability_array,
)

__all__ = [
    "ClassificationData",
    "Classifier",
    "NotFittedError",
    "RegressionData",
    "Regressor",
    "make_classification_task",
    "make_regression_task",
]

D = torch.distributions
LIKELIHOODS = ("gaussian", "laplace", "heteroscedastic", "mixture")
NOISES = ("gaussian", "laplace", "heteroscedastic", "student_t", "bimodal")
#: How the learning rate moves during training (``lr_schedule``).
LR_SCHEDULES = ("auto", "constant", "cosine")

#: Smallest predicted or fitted scale of a regression noise model.
MIN_SCALE = 1e-6

#: The bimodal task's two modes lie this far above and below f(x) ...
BIMODAL_OFFSET = 1.0
#: ... each with this standard deviation, and with equal weights.
BIMODAL_STD = 0.15


class NotFittedError(ValueError, AttributeError):
    """Raised when a model is used before :meth:`Classifier.fit` or :meth:`Regressor.fit` (as in scikit-learn).

    Examples
    --------
    >>> try:
    ...     Classifier().predict([[0.0, 0.0]])
    ... except NotFittedError as error:
    ...     print("not fitted")
    not fitted
    """


# --- data with a known p(y|x) ------------------------------------------------------------------

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
        _check_rows(y, len(X), "y")
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
    ``CLASS_CENTRES``: curved class boundaries with genuinely uncertain regions
    between the classes, so that the conditional entropy is well above zero.
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
        y = _regression_targets(self.y, len(X), "y").numpy()
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


# --- the models ----------------------------------------------------------------------------------


class _Network:
    """Shared machinery: an MLP trained with Adam on a negative log-likelihood.

    Subclasses define ``__init__`` (the hyper-parameters, stored unchanged),
    the loss, the number of outputs and the validation of the targets.
    """

    n_features_in_: int
    network_: nn.Sequential
    history_: dict[str, list[float]]
    #: What scikit-learn's tags call the estimator: "classifier" or "regressor".
    _sklearn_kind: str

    def __init__(
        self,
        hidden: Sequence[int] = (64, 64),
        *,
        epochs: int = 100,
        lr: float = 1e-2,
        lr_schedule: str = "auto",
        batch_size: int = 128,
        weight_decay: float = 0.0,
        seed: Seed = None,
        progress: bool | None = None,
    ) -> None:
        self.hidden = hidden
        self.epochs = epochs
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.seed = seed
        self.progress = progress

    # --- scikit-learn's estimator protocol, without scikit-learn ---------------------------

    @classmethod
    def _param_names(cls) -> list[str]:
        """The hyper-parameters: the named arguments of ``__init__``, sorted."""
        parameters = inspect.signature(cls.__init__).parameters.values()
        names = []
        for parameter in parameters:
            if parameter.kind is parameter.VAR_POSITIONAL:
                raise TypeError(f"{cls.__name__}.__init__ must not take *args")
            if parameter.name != "self" and (
                parameter.kind is not parameter.VAR_KEYWORD
            ):
                names.append(parameter.name)
        return sorted(names)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The hyper-parameters as a dict, as scikit-learn's ``get_params``.

        No hyper-parameter is itself an estimator, so ``deep`` changes
        nothing; it is accepted for scikit-learn's tools (``clone``, grid
        searches).

        Examples
        --------
        >>> Classifier((8,), epochs=3).get_params()["epochs"]
        3
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Any:
        """Set hyper-parameters by name and return the model.

        Nothing is checked until :meth:`fit`; an unknown name is a
        ``ValueError`` naming it. A fitted model keeps its learned
        attributes until the next fit.

        Examples
        --------
        >>> Regressor().set_params(likelihood="laplace", epochs=5).epochs
        5
        """
        valid = self._param_names()
        for name in params:
            if name not in valid:
                raise ValueError(
                    f"{name!r} is not a parameter of {type(self).__name__};"
                    f" valid parameters are {valid}"
                )
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        signature = inspect.signature(type(self).__init__)
        shown = []
        for name, parameter in signature.parameters.items():
            if name == "self" or not hasattr(self, name):
                continue
            value = getattr(self, name)
            if not _same(value, parameter.default):
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "network_")

    def __sklearn_tags__(self) -> Any:
        # Only scikit-learn calls this, so it is importable here; klcourse
        # itself never imports scikit-learn.
        from sklearn.utils import (
            ClassifierTags,
            RegressorTags,
            Tags,
            TargetTags,
        )

        classifier = self._sklearn_kind == "classifier"
        return Tags(
            estimator_type=self._sklearn_kind,
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags() if classifier else None,
            regressor_tags=None if classifier else RegressorTags(),
        )

    def _reset(self) -> None:
        """Forget everything learned: every attribute ending in ``_``."""
        learned = [
            name
            for name in vars(self)
            if name.endswith("_") and not name.startswith("__")
        ]
        for name in learned:
            delattr(self, name)

    # --- training -----------------------------------------------------------------------------

    def _check_params(self) -> tuple[np.random.Generator, bool]:
        """Check every hyper-parameter; return the seed's generator and the bar choice."""
        if isinstance(self.hidden, (str, bytes)) or not isinstance(
            self.hidden, Iterable
        ):
            raise TypeError(
                "hidden must be a sequence of layer widths, got "
                f"{type(self.hidden).__name__}"
            )
        for i, width in enumerate(self.hidden):
            positive_int(width, f"hidden[{i}]")
        positive_int(self.epochs, "epochs")
        positive_int(self.batch_size, "batch_size")
        positive_float(self.lr, "lr")
        check_choice(self.lr_schedule, "lr_schedule", LR_SCHEDULES)
        positive_float(self.weight_decay, "weight_decay", allow_zero=True)
        return make_rng(self.seed), show_progress(self.progress)

    def _n_outputs(self) -> int:
        raise NotImplementedError

    def _size_names(self) -> str:
        """The hyper-parameters that set the network's size (for errors)."""
        return "hidden"

    def _schedule(self) -> str:
        """The schedule that ``lr_schedule="auto"`` stands for."""
        return "constant" if self.lr_schedule == "auto" else self.lr_schedule

    def _build(self, n_inputs: int) -> nn.Sequential:
        widths = [n_inputs, *(int(width) for width in self.hidden)]
        # The largest weight matrix (with its biases) must fit in memory.
        sizes = itertools.pairwise([*widths, self._n_outputs()])
        check_size(max((a + 1) * b for a, b in sizes), self._size_names())
        layers: list[nn.Module] = []
        for a, b in itertools.pairwise(widths):
            layers += [nn.Linear(a, b, dtype=torch.float64), nn.Tanh()]
        layers.append(
            nn.Linear(widths[-1], self._n_outputs(), dtype=torch.float64)
        )
        return nn.Sequential(*layers)

    def _initialise(self, network: nn.Sequential, y: torch.Tensor) -> None:
        """Adapt a freshly built ``network`` to the targets (default: no)."""

    def _loss(
        self, outputs: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        """The mean negative log-likelihood of the targets under the outputs."""
        raise NotImplementedError

    def _targets(self, y: ArrayLike, n: int, name: str) -> torch.Tensor:
        """Validate ``y`` for ``n`` rows and return it as a tensor."""
        raise NotImplementedError

    def _fit_targets(self, y: ArrayLike, n: int) -> torch.Tensor:
        """Validate the training targets, learning what they define."""
        return self._targets(y, n, "y")

    def _fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        eval_set: tuple[ArrayLike, ArrayLike] | None,
        callback: Callable[[Any], None] | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Start afresh, check everything, train; return the training data."""
        self._reset()
        try:
            return self._fit_checked(X, y, eval_set, callback)
        except Exception:
            self._reset()  # no half-fitted model
            raise

    def _fit_checked(
        self,
        X: ArrayLike,
        y: ArrayLike,
        eval_set: tuple[ArrayLike, ArrayLike] | None,
        callback: Callable[[Any], None] | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        rng, progress = self._check_params()
        if callback is not None and not callable(callback):
            raise TypeError(
                f"callback must be callable, got {type(callback).__name__}"
            )
        x = _inputs(X)
        targets = self._fit_targets(_required(y, "y", self), len(x))
        self.n_features_in_ = x.shape[1]
        evaluation = None
        if eval_set is not None:
            if not isinstance(eval_set, (tuple, list)) or len(eval_set) != 2:
                raise TypeError(
                    "eval_set must be a pair (X_val, y_val), got "
                    f"{type(eval_set).__name__}"
                )
            x_val = self._inputs(eval_set[0], "eval_set X")
            name = "eval_set y"
            y_val = _required(eval_set[1], name, self)
            evaluation = (x_val, self._targets(y_val, len(x_val), name))
        self._train(x, targets, evaluation, callback, rng, progress)
        return x, targets

    def _train(
        self,
        X: torch.Tensor,
        y: torch.Tensor,
        eval_set: tuple[torch.Tensor, torch.Tensor] | None,
        callback: Callable[[Any], None] | None,
        rng: np.random.Generator,
        progress: bool,
        description: str | None = None,
    ) -> None:
        description = description or type(self).__name__
        with seeded(rng):  # the initial weights
            self.network_ = self._build(X.shape[1])
        self._initialise(self.network_, y)
        order_generator = torch_generator(rng)
        optimiser = torch.optim.Adam(
            self.network_.parameters(),
            lr=float(self.lr),
            weight_decay=float(self.weight_decay),
        )
        batch_size = int(self.batch_size)
        steps = int(self.epochs) * math.ceil(len(X) / batch_size)
        scheduler = (
            torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
            if self._schedule() == "cosine"
            else None
        )
        self.history_ = {"train_loss": []}
        if eval_set is not None:
            self.history_["val_loss"] = []
        for _ in tqdm(
            range(int(self.epochs)),
            desc=description,
            disable=not progress,
            unit="epoch",
        ):
            self.network_.train()
            order = torch.randperm(len(X), generator=order_generator)
            total = 0.0
            for start in range(0, len(X), batch_size):
                batch = order[start : start + batch_size]
                optimiser.zero_grad()
                loss = self._loss(self.network_(X[batch]), y[batch])
                loss.backward()
                optimiser.step()
                if scheduler is not None:
                    scheduler.step()
                total += loss.item() * len(batch)
            self.history_["train_loss"].append(total / len(X))
            if eval_set is not None:
                self.history_["val_loss"].append(self._evaluate(*eval_set))
            if callback is not None:
                callback(self)

    def _evaluate(self, X: torch.Tensor, y: torch.Tensor) -> float:
        with torch.no_grad():
            return self._loss(self.network_(X), y).item()

    # --- prediction ---------------------------------------------------------------------------

    def _inputs(self, X: ArrayLike, name: str = "X") -> torch.Tensor:
        """``X`` as a tensor, with as many features as in training."""
        return _inputs(X, name, self.n_features_in_, type(self).__name__)

    def _check_fitted(self, method: str) -> None:
        """Refuse to run ``method`` before :meth:`fit`, naming both."""
        if not hasattr(self, "network_"):
            name = type(self).__name__
            raise NotFittedError(
                f"{name}.{method} needs a fitted model, but this {name} is"
                " not fitted yet; call fit(X, y) first"
            )

    def _outputs(self, X: ArrayLike, method: str) -> torch.Tensor:
        self._check_fitted(method)
        x = self._inputs(X)
        with torch.no_grad():
            return self.network_(x)


def _same(value: Any, default: Any) -> bool:
    """Whether a hyper-parameter still has its default (for ``repr``)."""
    if value is default:
        return True
    if type(value) is not type(default):
        return False
    try:
        return bool(value == default)
    except (TypeError, ValueError):  # arrays compare elementwise
        return False


def _required(y: Any, name: str, model: _Network) -> Any:
    """Refuse a missing target (``None``) as scikit-learn does."""
    if y is None:
        raise ValueError(
            f"{name} is missing: {type(model).__name__} requires y to be "
            "passed, but the target y is None"
        )
    return y


def _inputs(
    X: ArrayLike,
    name: str = "X",
    n_features: int | None = None,
    model: str = "the model",
) -> torch.Tensor:
    """Validate inputs of shape (n_samples, n_features); return a float64 copy."""
    if sparse.issparse(X):
        raise TypeError(
            f"{name} is a sparse matrix, but klcourse's networks need dense "
            f"input: pass {name}.toarray()"
        )
    x = finite_array(X, name)
    if x.ndim != 2:
        raise ValueError(
            f"{name} must have shape (n_samples, n_features), got {x.shape}."
            " Reshape your data: X.reshape(-1, 1) for a single feature,"
            " X.reshape(1, -1) for a single sample"
        )
    for axis, what in enumerate(("sample(s)", "feature(s)")):
        if x.shape[axis] == 0:
            raise ValueError(
                f"{name} has 0 {what} (shape={x.shape}) while a minimum of 1"
                " is required."
            )
    if n_features is not None and x.shape[1] != n_features:
        raise ValueError(
            f"{name} has {x.shape[1]} features, but {model} is expecting "
            f"{n_features} features as input"
        )
    # A copy: C-ordered, writable, and never a view of the caller's array.
    return torch.from_numpy(np.array(x, dtype=np.float64, order="C"))


def _rows(X: ArrayLike, name: str) -> NDArray[np.float64]:
    """A finite 2-D float64 array of shape (n, d), not text, not bools."""
    x = finite_array(X, name, allow_bool=False)
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d), got {x.shape}")
    return x


def _is_text(labels: NDArray[Any]) -> bool:
    """Whether class labels are text (str or bytes) rather than numbers."""
    if labels.dtype.kind in "US":
        return True
    return labels.dtype.kind == "O" and any(
        isinstance(label, (str, bytes)) for label in labels.ravel()
    )


def _label_array(y: ArrayLike, name: str) -> NDArray[Any]:
    """Class labels as given (ints, strings, ...), refusing continuous values."""
    raw = np.asarray(detached(y))
    if raw.ndim != 1 or raw.dtype.kind in "US":
        return raw
    if raw.dtype.kind == "O" and not all(
        isinstance(value, numbers.Number) for value in raw
    ):
        if any(value is None for value in raw):
            raise ValueError(f"{name} contains a missing label (None)")
        return raw
    values = finite_array(raw, name)
    fractional = values != np.round(values)
    if fractional.any():
        raise ValueError(
            f"{name} must hold class labels, but it has continuous values"
            f" such as {float(values[fractional][0])!r} (Unknown label type: "
            "continuous); pass probabilities as an (n, n_classes) array"
        )
    return raw


class Classifier(_Network):
    """An MLP with a softmax output, trained by cross-entropy: forward KL to p(y|x).

    Parameters
    ----------
    hidden : sequence of int
        Widths of the hidden layers (tanh activations); empty for a
        multinomial logistic regression.
    epochs, lr, batch_size, weight_decay : optional
        Adam training settings.
    lr_schedule : {"auto", "constant", "cosine"}
        ``"constant"`` keeps ``lr`` throughout; ``"cosine"`` anneals it from
        ``lr`` to zero over the mini-batch steps of training (a half cosine,
        ``torch.optim.lr_scheduler.CosineAnnealingLR``), so that the last
        mini-batches no longer jolt the weights. ``"auto"`` (the default) is
        ``"constant"`` for the classifier.
    n_classes : int, optional
        Fixes the classes to ``0, ..., n_classes - 1``: labels must then be
        such integers, not every class needs to appear in ``y`` (a subset of
        the data may even hold a single class), and ``predict_proba`` always
        has ``n_classes`` columns. Without it the classes are the distinct
        labels of ``y`` (any sortable values: integers, strings...), of which
        there must be at least two, as in scikit-learn.
    seed : None, int or numpy.random.Generator
        Seeds the initial weights and the order of the mini-batches. The same
        int gives the same model; a generator is advanced by every fit; None
        draws fresh entropy. Global random states are left untouched.
    progress : bool, optional
        Show a progress bar over epochs; None (the default) shows one only in
        interactive use (a notebook or a terminal), never under pytest.

    Attributes
    ----------
    classes_ : numpy.ndarray, shape (n_classes,)
        The class labels, sorted; column k of :meth:`predict_proba` is
        ``classes_[k]``.
    n_classes_ : int
    n_features_in_ : int
    network_ : torch.nn.Sequential
        The trained network (outputs logits).
    history_ : dict of list of float
        Per epoch: ``"train_loss"`` (mean cross-entropy over the epoch's batches)
        and, with ``eval_set``, ``"val_loss"``.

    Examples
    --------
    >>> data = make_classification_task(400, seed=0)
    >>> model = Classifier((16,), epochs=5, seed=0)
    >>> model
    Classifier(hidden=(16,), epochs=5, seed=0)
    >>> model = model.fit(data.X, data.y)
    >>> model.predict_proba(data.X[:2]).shape, model.classes_
    ((2, 3), array([0, 1, 2]))
    >>> bool(model.score(data.X, data.y) > 0.5)
    True
    """

    classes_: NDArray[Any]
    n_classes_: int
    _sklearn_kind = "classifier"

    def __init__(
        self,
        hidden: Sequence[int] = (64, 64),
        *,
        epochs: int = 100,
        lr: float = 1e-2,
        lr_schedule: str = "auto",
        batch_size: int = 128,
        weight_decay: float = 0.0,
        n_classes: int | None = None,
        seed: Seed = None,
        progress: bool | None = None,
    ) -> None:
        super().__init__(
            hidden,
            epochs=epochs,
            lr=lr,
            lr_schedule=lr_schedule,
            batch_size=batch_size,
            weight_decay=weight_decay,
            seed=seed,
            progress=progress,
        )
        self.n_classes = n_classes

    def _size_names(self) -> str:
        return "hidden" if self.n_classes is None else "hidden and n_classes"

    @limited_threads
    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        eval_set: tuple[ArrayLike, ArrayLike] | None = None,
        callback: Callable[[Classifier], None] | None = None,
    ) -> Classifier:
        """Train from scratch on inputs ``X`` and labels or probabilities ``y``.

        Every learned attribute is reset first, so a refit forgets the
        previous data entirely; if fit raises, the model is left unfitted.

        Parameters
        ----------
        X : array_like, shape (n, d)
            Finite real inputs: NumPy arrays of any real dtype, lists, pandas
            objects or torch tensors (detached first). Booleans count as 0/1
            features (as ``pandas.get_dummies`` makes them); text, numeric
            text included, is a ``TypeError``.
        y : array_like, shape (n,) or (n, n_classes)
            Class labels (integers, bools or text: ``["0", "1"]`` are two
            text labels, not numbers), or one probability vector per row
            (soft labels, as in label smoothing or distillation; the loss is
            then the cross-entropy to those distributions and the classes are
            ``0, ..., n_classes - 1``). Probabilities must be numbers, not
            text or bools, and are never renormalised.
        eval_set : (X_val, y_val), optional
            Records a validation loss per epoch in ``history_["val_loss"]``.
        callback : callable, optional
            ``callback(model)`` runs after every epoch.

        Returns
        -------
        Classifier
            The fitted model itself.

        Examples
        --------
        >>> X = [[0.0], [0.2], [1.0], [1.2]]
        >>> model = Classifier((), epochs=50, lr=0.1, seed=0)
        >>> model.fit(X, ["no", "no", "yes", "yes"]).predict([[1.1]])
        array(['yes'], dtype='<U3')
        """
        self._fit(X, y, eval_set, callback)
        return self

    def _fit_targets(self, y: ArrayLike, n: int) -> torch.Tensor:
        labels = _label_array(y, "y")
        _check_rows(labels, n, "y")
        if self.n_classes is not None:
            n_classes = positive_int(self.n_classes, "n_classes", minimum=2)
            classes = np.arange(n_classes)
        elif labels.ndim == 2:
            classes = np.arange(labels.shape[1])
        else:
            try:
                classes = np.unique(labels)
            except TypeError as error:
                raise TypeError(
                    f"y mixes labels that cannot be ordered: {error}"
                ) from error
            if len(classes) < 2:
                raise ValueError(
                    f"y has only one class, {classes.tolist()[0]!r}: a"
                    " classifier needs at least 2 (or pass n_classes to fix"
                    " the classes)"
                )
        self.classes_ = classes
        self.n_classes_ = len(self.classes_)
        return self._targets(y, n, "y")

    def _targets(self, y: ArrayLike, n: int, name: str) -> torch.Tensor:
        labels = _label_array(y, name)
        _check_rows(labels, n, name)
        if labels.ndim == 2:  # soft labels: one probability vector per row
            if labels.shape[1] < 2:
                raise ValueError(
                    f"{name} has shape {labels.shape}: a 2-D y holds one"
                    " probability per class (at least 2 columns); pass labels"
                    " as a 1-D array"
                )
            if labels.shape[1] != self.n_classes_:
                raise ValueError(
                    f"{name} has {labels.shape[1]} columns, expected "
                    f"{self.n_classes_} classes"
                )
            probabilities = probability_array(
                y, name, axis=1, allow_bool=False
            )
            return torch.from_numpy(np.array(probabilities, order="C"))
        return torch.from_numpy(self._encode(labels, name))

    def _encode(self, labels: NDArray[Any], name: str) -> NDArray[np.int64]:
        """Positions of ``labels`` in ``classes_``, refusing unknown labels."""
        try:
            uniques, inverse = np.unique(labels, return_inverse=True)
        except TypeError as error:
            raise TypeError(
                f"{name} mixes labels that cannot be ordered: {error}"
            ) from error
        position = {label: k for k, label in enumerate(self.classes_.tolist())}
        codes = []
        for label in uniques.tolist():
            if label not in position:
                raise ValueError(
                    f"{name} has label {label!r}, not one of the "
                    f"{self.n_classes_} classes {self.classes_.tolist()}"
                )
            codes.append(position[label])
        return np.asarray(codes, dtype=np.int64)[inverse.reshape(-1)]

    def _n_outputs(self) -> int:
        return self.n_classes_

    def _loss(
        self, outputs: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        # -log q(y|x) averaged over the batch (soft targets: -sum_y t(y) log q(y|x)).
        return nn.functional.cross_entropy(outputs, targets)

    @limited_threads
    def predict_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        """The model's q(y|x), shape (n, n_classes), columns in ``classes_`` order.

        Examples
        --------
        >>> data = make_classification_task(50, seed=0)
        >>> model = Classifier((4,), epochs=1, seed=0).fit(data.X, data.y)
        >>> model.predict_proba(data.X).sum(axis=1).round(6)[:3]
        array([1., 1., 1.])
        """
        outputs = self._outputs(X, "predict_proba")
        return torch.softmax(outputs, dim=-1).numpy()

    @limited_threads
    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """The most probable class for each row, a label from ``classes_``.

        Examples
        --------
        >>> data = make_classification_task(50, seed=0)
        >>> model = Classifier((4,), epochs=1, seed=0).fit(data.X, data.y)
        >>> model.predict(data.X[:4]).shape
        (4,)
        """
        self._check_fitted("predict")
        most_probable = self.predict_proba(X).argmax(axis=1)
        return self.classes_[most_probable]

    def score(
        self,
        X: ArrayLike,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
    ) -> float:
        """Accuracy: the (weighted) fraction of rows whose label is predicted.

        Examples
        --------
        >>> model = Classifier((), epochs=50, lr=0.1, seed=0)
        >>> model.fit([[0.0], [1.0]], [0, 1]).score([[0.0], [1.0]], [0, 1])
        1.0
        """
        self._check_fitted("score")
        predicted = self.predict(X)
        labels = _label_array(_required(y, "y", self), "y")
        if labels.ndim != 1:
            raise ValueError(
                f"y must be 1-D class labels for score, got shape {labels.shape}"
            )
        _check_rows(labels, len(predicted), "y")
        if len(labels) and _is_text(labels) != _is_text(self.classes_):
            kind = "text" if _is_text(self.classes_) else "numbers"
            raise TypeError(
                f"y has label {labels[0]!r}, but the classes are {kind}:"
                f" {self.classes_.tolist()}; a label of another kind can"
                " never be predicted"
            )
        return _weighted_mean(
            (predicted == labels).astype(np.float64), sample_weight
        )


def _check_rows(y: NDArray[Any], n: int, name: str) -> None:
    if y.ndim not in (1, 2):
        raise ValueError(
            f"{name} must have shape (n,) or (n, n_classes), got {y.shape}"
        )
    if y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} rows but X has {n}")


def _weighted_mean(
    values: NDArray[np.float64], sample_weight: ArrayLike | None
) -> float:
    if sample_weight is None:
        return float(values.mean())
    weights = finite_array(sample_weight, "sample_weight", allow_bool=False)
    if weights.shape != values.shape:
        raise ValueError(
            f"sample_weight must have shape {values.shape}, got {weights.shape}"
        )
    if np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError(
            "sample_weight must be non-negative with a positive sum"
        )
    return float(np.average(values, weights=weights))


class Regressor(_Network):
    """An MLP regressor trained by the negative log-likelihood of a noise model.

    - ``"gaussian"``: :math:`y \\sim \\mathcal N(f(x), \\sigma^2)` with fixed sigma; the NLL is
      squared error / (2 sigma^2) plus a constant.
    - ``"laplace"``: :math:`y \\sim \\mathrm{Laplace}(f(x), b)` with fixed b; the NLL is
      absolute error / b plus a constant.
    - ``"heteroscedastic"``: :math:`y \\sim \\mathcal N(f(x), s(x)^2)` where the network also
      predicts the scale s(x) (through a softplus).
    - ``"mixture"``: a mixture-density network,
      :math:`y \\sim \\sum_k w_k(x)\\,\\mathcal N(m_k(x), s_k(x)^2)` with ``n_components``
      components whose weights (a softmax), means and scales (a softplus) the
      network predicts; it can put its mass on several modes of p(y|x).

    A mixture's loss has many poor local optima (two components on one mode,
    or components that swap modes from one x to the next), so that plain
    training gives fits whose KL to the truth varies several-fold with the
    seed. Three defaults make the mixture's fit robust to the seed:

    1. The output layer starts with zero weights, so that before training
       every input gets the same mixture: equal weights, and means spread
       evenly over the central 90% of the training targets (the centres of
       ``n_components`` equal bins from their 5th to their 95th percentile),
       each with half a bin as standard deviation. The components start
       apart, and in the same order at every x.
    2. ``lr_schedule="auto"`` anneals the learning rate to zero (cosine).
    3. ``n_init="auto"`` trains 3 times and keeps the lowest training loss.

    ``benchmarks/mixture_seeds.py`` measures the result: over 20 seeds on
    three bimodal tasks, no fit misses a mode and the worst seed's KL is
    within a factor 2 of the best seed's.

    Parameters
    ----------
    hidden : sequence of int
        Widths of the hidden layers (tanh activations).
    likelihood : {"gaussian", "laplace", "heteroscedastic", "mixture"}
    scale : float
        The fixed sigma (gaussian) or b (laplace) used in training. It does not
        change the fit of the mean -- only the loss's scale -- so the default is 1.
    n_components : int
        The number of Normal components of the ``"mixture"`` likelihood
        (checked, and otherwise unused, for the other likelihoods).
    n_init : int or "auto"
        Train this many times, each from its own initial weights (drawn in
        turn from ``seed``), and keep the network whose final training loss
        (the mean negative log-likelihood over the training set) is lowest,
        as scikit-learn's ``GaussianMixture`` does. ``"auto"`` (the default)
        is 3 for the mixture likelihood and 1 for the others.
    lr_schedule : {"auto", "constant", "cosine"}
        As for :class:`Classifier`; ``"auto"`` is ``"cosine"`` for the
        mixture likelihood and ``"constant"`` for the others.
    epochs, lr, batch_size, weight_decay, seed, progress : optional
        As for :class:`Classifier`.

    Attributes
    ----------
    n_features_in_ : int
    network_ : torch.nn.Sequential
    scale_ : float
        Only for fixed-scale likelihoods: the maximum-likelihood scale of the
        training residuals (at least ``MIN_SCALE``), used by
        :meth:`predict_dist`.
    history_ : dict of list of float
        Per epoch of the kept training: ``"train_loss"`` and, with
        ``eval_set``, ``"val_loss"``.
    init_losses_ : list of float
        The final training loss of each of the ``n_init`` trainings; the
        kept network is the first with the smallest.

    Examples
    --------
    >>> data = make_regression_task(200, seed=0)
    >>> model = Regressor((16,), epochs=5, seed=0)
    >>> model = model.fit(data.X, data.y)
    >>> model.predict(data.X[:3]).shape
    (3,)
    """

    scale_: float
    _sklearn_kind = "regressor"

    def __init__(
        self,
        hidden: Sequence[int] = (64, 64),
        *,
        likelihood: str = "gaussian",
        scale: float = 1.0,
        n_components: int = 2,
        n_init: int | str = "auto",
        epochs: int = 100,
        lr: float = 1e-2,
        lr_schedule: str = "auto",
        batch_size: int = 128,
        weight_decay: float = 0.0,
        seed: Seed = None,
        progress: bool | None = None,
    ) -> None:
        super().__init__(
            hidden,
            epochs=epochs,
            lr=lr,
            lr_schedule=lr_schedule,
            batch_size=batch_size,
            weight_decay=weight_decay,
            seed=seed,
            progress=progress,
        )
        self.likelihood = likelihood
        self.scale = scale
        self.n_components = n_components
        self.n_init = n_init

    def _check_params(self) -> tuple[np.random.Generator, bool]:
        check_choice(self.likelihood, "likelihood", LIKELIHOODS)
        positive_float(self.scale, "scale")
        positive_int(self.n_components, "n_components")
        if isinstance(self.n_init, str):
            if self.n_init != "auto":
                raise TypeError(
                    "n_init must be a positive integer or 'auto', got the"
                    f" string {self.n_init!r}"
                )
        else:
            positive_int(self.n_init, "n_init")
        return super()._check_params()

    def _n_init(self) -> int:
        """The number of trainings that ``n_init`` asks for."""
        if self.n_init == "auto":
            return 3 if self.likelihood == "mixture" else 1
        return int(self.n_init)

    def _schedule(self) -> str:
        if self.lr_schedule == "auto" and self.likelihood == "mixture":
            return "cosine"
        return super()._schedule()

    def _size_names(self) -> str:
        if self.likelihood == "mixture":
            return "hidden and n_components"
        return "hidden"

    def _initialise(self, network: nn.Sequential, y: torch.Tensor) -> None:
        """Start a mixture with spread-out means (see the class docstring)."""
        if self.likelihood != "mixture":
            return
        k = int(self.n_components)
        low, high = np.quantile(y.numpy(), [0.05, 0.95])
        spread = float(high - low) if high > low else 1.0
        bins = (np.arange(k) + 0.5) / k - 0.5  # bin centres, in spreads
        output = network[-1]
        assert isinstance(output, nn.Linear)
        with torch.no_grad():
            output.weight.zero_()
            output.bias[:k] = 0.0  # equal weights
            output.bias[k : 2 * k] = torch.from_numpy(
                (low + high) / 2 + spread * bins
            )
            # softplus^-1(s) = s + log(1 - exp(-s)), stable for every s > 0
            half_bin = spread / (2 * k)
            output.bias[2 * k :] = half_bin + math.log(-math.expm1(-half_bin))

    def _train(
        self,
        X: torch.Tensor,
        y: torch.Tensor,
        eval_set: tuple[torch.Tensor, torch.Tensor] | None,
        callback: Callable[[Any], None] | None,
        rng: np.random.Generator,
        progress: bool,
        description: str | None = None,
    ) -> None:
        # n_init trainings in turn, each drawing its weights and batch
        # order from rng; keep the first with the lowest training loss.
        runs = self._n_init()
        losses: list[float] = []
        kept, best = None, math.inf  # a NaN loss never beats a number
        for run in range(runs):
            label = type(self).__name__
            if runs > 1:
                label += f" {run + 1}/{runs}"
            super()._train(X, y, eval_set, callback, rng, progress, label)
            losses.append(self._evaluate(X, y))
            if kept is None or losses[-1] < best:
                kept = (self.network_, self.history_)
                best = min(math.inf, losses[-1])  # NaN counts as inf
        assert kept is not None
        self.network_, self.history_ = kept
        self.init_losses_ = losses

    def _n_outputs(self) -> int:
        if self.likelihood == "mixture":
            return 3 * int(self.n_components)  # weights, means, scales
        return 2 if self.likelihood == "heteroscedastic" else 1

    @limited_threads
    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        eval_set: tuple[ArrayLike, ArrayLike] | None = None,
        callback: Callable[[Regressor], None] | None = None,
    ) -> Regressor:
        """Train from scratch on inputs ``X`` (n, d) and finite targets ``y`` (n,).

        Every learned attribute is reset first, and if fit raises, the model
        is left unfitted. ``X`` and ``y`` may be NumPy
        arrays of any real dtype, lists, pandas objects or torch tensors
        (booleans count as 0/1 in ``X``, but are refused as targets; text,
        numeric text included, is refused in both);
        ``eval_set=(X_val, y_val)`` records a validation loss per epoch and
        ``callback(model)`` runs after every epoch of every one of the
        ``n_init`` trainings (``model.history_`` is then the current
        training's).

        Returns
        -------
        Regressor
            The fitted model itself.

        Examples
        --------
        >>> data = make_regression_task(50, seed=0)
        >>> model = Regressor((4,), likelihood="laplace", epochs=2, seed=0)
        >>> bool(model.fit(data.X, data.y).scale_ > 0)
        True
        """
        x, targets = self._fit(X, y, eval_set, callback)
        with torch.no_grad():
            residuals = targets - self.network_(x)[:, 0]
        if self.likelihood == "gaussian":
            fitted = float(residuals.pow(2).mean().sqrt())
        elif self.likelihood == "laplace":
            fitted = float(residuals.abs().mean())
        else:
            return self
        self.scale_ = max(fitted, MIN_SCALE)
        return self

    def _mixture(self, outputs: torch.Tensor) -> D.MixtureSameFamily:
        """q(y|x) of a mixture-density network from its 3k outputs per row."""
        logits, loc, raw_scale = outputs.chunk(3, dim=-1)  # each (n, k)
        scale = nn.functional.softplus(raw_scale) + MIN_SCALE
        return D.MixtureSameFamily(
            D.Categorical(logits=logits), D.Normal(loc, scale)
        )

    def _distribution(self, outputs: torch.Tensor) -> D.Distribution:
        if self.likelihood == "mixture":
            return self._mixture(outputs)
        loc = outputs[:, 0]
        if self.likelihood == "heteroscedastic":
            scale = nn.functional.softplus(outputs[:, 1]) + MIN_SCALE
            return D.Normal(loc, scale)
        scale = torch.full_like(loc, self.scale_)
        if self.likelihood == "laplace":
            return D.Laplace(loc, scale)
        return D.Normal(loc, scale)

    def _loss(
        self, outputs: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        # -log q(y|x) averaged over the batch; a fixed scale is self.scale
        # while training (scale_ is estimated afterwards).
        if self.likelihood == "mixture":
            return -self._mixture(outputs).log_prob(targets).mean()
        loc = outputs[:, 0]
        if self.likelihood == "heteroscedastic":
            scale = nn.functional.softplus(outputs[:, 1]) + MIN_SCALE
            return -D.Normal(loc, scale).log_prob(targets).mean()
        fixed = torch.full_like(loc, float(self.scale))
        if self.likelihood == "laplace":
            noise: D.Distribution = D.Laplace(loc, fixed)
        else:
            noise = D.Normal(loc, fixed)
        return -noise.log_prob(targets).mean()

    @limited_threads
    def predict(self, X: ArrayLike) -> NDArray[np.float64]:
        """The predicted location: the mean of q(y|x), or its median (Laplace).

        For a mixture this is the mixture's mean, which may lie between its
        modes; :meth:`predict_dist` gives the whole distribution.

        Examples
        --------
        >>> data = make_regression_task(50, seed=0)
        >>> model = Regressor((4,), epochs=2, seed=0).fit(data.X, data.y)
        >>> model.predict([[0.0], [1.0]]).shape
        (2,)
        """
        outputs = self._outputs(X, "predict")
        if self.likelihood == "mixture":
            return self._mixture(outputs).mean.numpy()
        return outputs[:, 0].numpy()

    @limited_threads
    def predict_dist(self, X: ArrayLike) -> D.Distribution:
        """The predictive distribution q(y|x), a torch distribution with batch shape (n,).

        Examples
        --------
        >>> data = make_regression_task(50, seed=0)
        >>> model = Regressor((4,), epochs=2, seed=0).fit(data.X, data.y)
        >>> model.predict_dist([[0.0], [1.0]]).batch_shape
        torch.Size([2])
        """
        return self._distribution(self._outputs(X, "predict_dist"))

    def score(
        self,
        X: ArrayLike,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
    ) -> float:
        """The coefficient of determination R^2 of :meth:`predict` (as scikit-learn's).

        1 is a perfect fit and 0 the constant mean of ``y``. When ``y`` is
        constant, R^2 is 1 for a perfect prediction and 0 otherwise.

        Examples
        --------
        >>> data = make_regression_task(300, seed=0)
        >>> model = Regressor((16,), epochs=30, seed=0).fit(data.X, data.y)
        >>> bool(model.score(data.X, data.y) > 0.5)
        True
        """
        self._check_fitted("score")
        predicted = self.predict(X)
        targets = _regression_targets(
            _required(y, "y", self), len(predicted), "y"
        ).numpy()
        weights = (
            np.ones_like(targets)
            if sample_weight is None
            else finite_array(sample_weight, "sample_weight", allow_bool=False)
        )
        mean = _weighted_mean(targets, weights)
        residual = _weighted_mean((targets - predicted) ** 2, weights)
        total = _weighted_mean((targets - mean) ** 2, weights)
        if total == 0.0:
            return 1.0 if residual == 0.0 else 0.0
        return 1.0 - residual / total

    def _targets(self, y: ArrayLike, n: int, name: str) -> torch.Tensor:
        return _regression_targets(y, n, name)


def _regression_targets(y: ArrayLike, n: int, name: str) -> torch.Tensor:
    """Finite real targets of shape (n,): text and bools are refused."""
    targets = finite_array(y, name, allow_bool=False)
    if targets.ndim != 1 or targets.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},), got {targets.shape}")
    return torch.from_numpy(np.array(targets, dtype=np.float64, order="C"))
