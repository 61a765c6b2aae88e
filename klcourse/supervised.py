"""Supervised learning as forward KL: a classifier and regressors whose losses are likelihoods.

Both estimators follow scikit-learn's conventions: hyper-parameters in ``__init__``,
learning in :meth:`Classifier.fit` and :meth:`Regressor.fit`, learned attributes ending in ``_``. Training minimises the
average negative log-likelihood -log q(y|x) over the data, which is the empirical
forward KL from the data distribution p(y|x) to the model q(y|x), up to the entropy
of p that the model cannot change (chapter 4).

The data generators return data *with* their true conditional distribution, so that
the KL itself, not only the loss, can be computed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from torch import nn
from tqdm.auto import tqdm

from klcourse._validation import finite_array, positive_int

__all__ = [
    "Classifier",
    "ClassificationData",
    "NotFittedError",
    "RegressionData",
    "Regressor",
    "make_classification_task",
    "make_regression_task",
]

D = torch.distributions
LIKELIHOODS = ("gaussian", "laplace", "heteroscedastic")
NOISES = ("gaussian", "laplace", "heteroscedastic", "student_t")


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
    """

    X: NDArray[np.float64]
    y: NDArray[np.int64]
    proba: NDArray[np.float64]


def class_probabilities(
    X: ArrayLike, *, sharpness: float = 1.5
) -> NDArray[np.float64]:
    r"""The true p(y|x) of :func:`make_classification_task`.

    A softmax of :math:`-\text{sharpness} \cdot \|x - c_k\|^2 / 2` over the three
    ``CLASS_CENTRES``: curved class boundaries with genuinely uncertain regions
    between the classes, so that the conditional entropy is well above zero.

    Examples
    --------
    >>> class_probabilities([[0.0, 0.0]]).sum()
    np.float64(1.0)
    """
    x = finite_array(X, "X")
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2), got {x.shape}")
    logits = -0.5 * sharpness * ((x[:, None, :] - CLASS_CENTRES) ** 2).sum(-1)
    return torch.softmax(torch.from_numpy(logits), dim=-1).numpy()


def make_classification_task(
    n: int, *, sharpness: float = 1.5, seed: int | None = None
) -> ClassificationData:
    """Draw n points uniformly from [-3, 3]^2 and a label for each from the true p(y|x).

    Parameters
    ----------
    n : int
        Number of points.
    sharpness : float
        Larger is less noisy (see :func:`class_probabilities`).
    seed : int, optional
        Seeds inputs and labels.

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
    rng = np.random.default_rng(seed)
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
    """

    X: NDArray[np.float64]
    y: NDArray[np.float64]
    dist: D.Distribution

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
    values = finite_array(x, "x")
    return np.sin(1.5 * values) + 0.3 * values


def true_noise_scale(x: ArrayLike) -> NDArray[np.float64]:
    """The noise standard deviation of the heteroscedastic task: 0.05 + 0.2 (1 + sin x).

    Examples
    --------
    >>> true_noise_scale([0.0, -np.pi / 2]).round(3)
    array([0.25, 0.05])
    """
    values = finite_array(x, "x")
    return 0.05 + 0.2 * (1.0 + np.sin(values))


def noise_distribution(x: ArrayLike, noise: str) -> D.Distribution:
    """The true p(y|x) of :func:`make_regression_task` at the points ``x`` (shape (n,)).

    Examples
    --------
    >>> noise_distribution([0.0, 1.0], "student_t").batch_shape
    torch.Size([2])
    """
    if noise not in NOISES:
        raise ValueError(f"noise must be one of {NOISES}, got {noise!r}")
    values = finite_array(x, "x")
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
    return D.Normal(loc, torch.from_numpy(true_noise_scale(values)))


def make_regression_task(
    n: int, *, noise: str = "gaussian", seed: int | None = None
) -> RegressionData:
    """Draw n inputs uniformly from [-3, 3] and a target for each from the true p(y|x).

    The regression function is :func:`true_function`. Noise models:
    ``"gaussian"`` (standard deviation 0.3), ``"laplace"`` (standard deviation 0.3),
    ``"heteroscedastic"`` (Gaussian with standard deviation :func:`true_noise_scale`)
    and ``"student_t"`` (1.5 degrees of freedom: heavy tails, infinite variance).

    Examples
    --------
    >>> data = make_regression_task(4, noise="laplace", seed=0)
    >>> data.X.shape, data.y.shape, data.dist.batch_shape
    ((4, 1), (4,), torch.Size([4]))
    """
    n = positive_int(n, "n")
    if noise not in NOISES:
        raise ValueError(f"noise must be one of {NOISES}, got {noise!r}")
    rng = np.random.default_rng(seed)
    X = np.sort(rng.uniform(-3, 3, size=n))[:, None]
    dist = noise_distribution(X[:, 0], noise)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(rng.integers(2**62)))
        y = dist.sample().numpy()
    return RegressionData(X, y, dist)


# --- the models ----------------------------------------------------------------------------------


class _Network:
    """Shared machinery: an MLP trained with Adam on a negative log-likelihood."""

    n_outputs: int
    n_features_in_: int
    network_: nn.Sequential

    def __init__(
        self,
        hidden: Sequence[int] = (64, 64),
        *,
        epochs: int = 100,
        lr: float = 1e-2,
        batch_size: int = 128,
        weight_decay: float = 0.0,
        seed: int | None = None,
        progress: bool = True,
    ) -> None:
        self.hidden = hidden
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.seed = seed
        self.progress = progress

    def _check_params(self) -> None:
        if isinstance(self.hidden, int) or not all(
            isinstance(h, int) and h > 0 for h in self.hidden
        ):
            raise ValueError(
                f"hidden must be a sequence of positive layer widths, got {self.hidden!r}"
            )
        positive_int(self.epochs, "epochs")
        positive_int(self.batch_size, "batch_size")
        if not (
            isinstance(self.lr, (int, float))
            and math.isfinite(self.lr)
            and self.lr > 0
        ):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        if not (
            isinstance(self.weight_decay, (int, float))
            and self.weight_decay >= 0
        ):
            raise ValueError(
                f"weight_decay must be a non-negative number, got {self.weight_decay!r}"
            )

    def _build(self, n_inputs: int) -> nn.Sequential:
        widths = [n_inputs, *self.hidden]
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b, dtype=torch.float64), nn.Tanh()]
        layers.append(
            nn.Linear(widths[-1], self.n_outputs, dtype=torch.float64)
        )
        return nn.Sequential(*layers)

    def _loss(
        self, outputs: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        """The mean negative log-likelihood of the targets under the outputs."""
        raise NotImplementedError

    def _train(
        self,
        X: torch.Tensor,
        y: torch.Tensor,
        eval_set: tuple[torch.Tensor, torch.Tensor] | None,
        callback: Callable[[Any], None] | None,
    ) -> None:
        self._check_params()
        seed = (
            self.seed if self.seed is not None else int(torch.seed() % 2**62)
        )
        generator = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.network_ = self._build(X.shape[1])
        optimiser = torch.optim.Adam(
            self.network_.parameters(),
            lr=self.lr,
            weight_decay=self.weight_decay,
        )
        self.history_: dict[str, list[float]] = {"train_loss": []}
        if eval_set is not None:
            self.history_["val_loss"] = []
        for _ in tqdm(
            range(self.epochs),
            desc=type(self).__name__,
            disable=not self.progress,
            unit="epoch",
        ):
            self.network_.train()
            order = torch.randperm(len(X), generator=generator)
            total = 0.0
            for start in range(0, len(X), self.batch_size):
                batch = order[start : start + self.batch_size]
                optimiser.zero_grad()
                loss = self._loss(self.network_(X[batch]), y[batch])
                loss.backward()
                optimiser.step()
                total += loss.item() * len(batch)
            self.history_["train_loss"].append(total / len(X))
            if eval_set is not None:
                self.history_["val_loss"].append(self._evaluate(*eval_set))
            if callback is not None:
                callback(self)

    _target_word = "targets"

    def _targets(self, y: ArrayLike, n: int, name: str) -> torch.Tensor:
        """Validate ``y`` for ``n`` rows and return it as a tensor."""
        raise NotImplementedError

    def _fit_data(
        self,
        X: ArrayLike,
        y: ArrayLike,
        eval_set: tuple[ArrayLike, ArrayLike] | None,
        callback: Callable[[Any], None] | None,
    ) -> torch.Tensor:
        """Validate the training (and evaluation) data, train, and return the training targets."""
        x = _inputs(X)
        self.n_features_in_ = x.shape[1]
        targets = self._targets(y, len(x), "y")
        evaluation = None
        if eval_set is not None:
            x_val = _inputs(eval_set[0], self.n_features_in_)
            evaluation = (
                x_val,
                self._targets(
                    eval_set[1], len(x_val), f"eval_set {self._target_word}"
                ),
            )
        self._train(x, targets, evaluation, callback)
        return targets

    def _evaluate(self, X: torch.Tensor, y: torch.Tensor) -> float:
        with torch.no_grad():
            return self._loss(self.network_(X), y).item()

    def _outputs(self, X: ArrayLike) -> torch.Tensor:
        if not hasattr(self, "network_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(X, y) first"
            )
        x = _inputs(X, self.n_features_in_)
        with torch.no_grad():
            return self.network_(x)


def _inputs(X: ArrayLike, n_features: int | None = None) -> torch.Tensor:
    x = finite_array(X, "X")
    if x.ndim != 2:
        raise ValueError(
            f"X must have shape (n_samples, n_features), got {x.shape}"
        )
    if n_features is not None and x.shape[1] != n_features:
        raise ValueError(
            f"X has {x.shape[1]} features, but the model was fitted with {n_features}"
        )
    return torch.from_numpy(np.ascontiguousarray(x))


class Classifier(_Network):
    """An MLP with a softmax output, trained by cross-entropy: forward KL to p(y|x).

    Parameters
    ----------
    hidden : sequence of int
        Widths of the hidden layers (tanh activations).
    epochs, lr, batch_size, weight_decay : optional
        Adam training settings.
    n_classes : int, optional
        Number of classes; inferred as ``max(y) + 1`` when omitted.
    seed : int, optional
        Seeds the initial weights and the order of the mini-batches.
    progress : bool
        Show a progress bar over epochs.

    Attributes
    ----------
    network_ : torch.nn.Sequential
        The trained network (outputs logits).
    n_classes_ : int
    history_ : dict of list of float
        Per epoch: ``"train_loss"`` (mean cross-entropy over the epoch's batches)
        and, with ``eval_set``, ``"val_loss"``.

    Examples
    --------
    >>> data = make_classification_task(400, seed=0)
    >>> model = Classifier((16,), epochs=5, seed=0, progress=False)
    >>> model = model.fit(data.X, data.y)
    >>> model.predict_proba(data.X[:2]).shape
    (2, 3)
    """

    def __init__(
        self,
        hidden: Sequence[int] = (64, 64),
        *,
        epochs: int = 100,
        lr: float = 1e-2,
        batch_size: int = 128,
        weight_decay: float = 0.0,
        n_classes: int | None = None,
        seed: int | None = None,
        progress: bool = True,
    ) -> None:
        super().__init__(
            hidden,
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            weight_decay=weight_decay,
            seed=seed,
            progress=progress,
        )
        self.n_classes = n_classes

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        eval_set: tuple[ArrayLike, ArrayLike] | None = None,
        callback: Callable[[Classifier], None] | None = None,
    ) -> Classifier:
        """Train on inputs ``X`` (n, d) and integer labels ``y`` (n,) in ``[0, n_classes)``.

        ``y`` may also be an (n, n_classes) array of target probabilities (soft
        labels, as in label smoothing or distillation): the loss is then the
        cross-entropy to those distributions. ``eval_set=(X_val, y_val)`` records a
        validation loss per epoch; ``callback(model)`` runs after every epoch.
        """
        self._fit_data(X, y, eval_set, callback)
        return self

    _target_word = "labels"

    def _targets(self, y: ArrayLike, n: int, name: str = "y") -> torch.Tensor:
        labels = finite_array(y, name)
        if labels.shape[0] != n:
            raise ValueError(
                f"{name} has {labels.shape[0]} rows but X has {n}"
            )
        if labels.ndim == 2:  # soft labels: one probability vector per row
            if np.any(labels < 0) or not np.allclose(
                labels.sum(1), 1.0, atol=1e-9
            ):
                raise ValueError(
                    f"{name} given as probabilities must be non-negative rows summing to 1"
                )
            self._set_classes(labels.shape[1])
            if labels.shape[1] != self.n_classes_:
                raise ValueError(
                    f"{name} has {labels.shape[1]} columns, expected {self.n_classes_} classes"
                )
            return torch.from_numpy(labels)
        if (
            labels.ndim != 1
            or np.any(labels != np.round(labels))
            or np.any(labels < 0)
        ):
            raise ValueError(
                f"{name} must hold non-negative integer class labels, shape (n,)"
            )
        self._set_classes(int(labels.max()) + 1)
        if labels.max() >= self.n_classes_:
            raise ValueError(
                f"{name} has label {int(labels.max())}, out of range for {self.n_classes_} classes"
            )
        return torch.from_numpy(labels.astype(np.int64))

    def _set_classes(self, inferred: int) -> None:
        if not hasattr(self, "n_classes_"):
            if self.n_classes is not None:
                positive_int(self.n_classes, "n_classes", minimum=2)
            self.n_classes_ = (
                self.n_classes if self.n_classes is not None else inferred
            )

    @property
    def n_outputs(self) -> int:  # type: ignore[override]
        return self.n_classes_

    def _loss(
        self, outputs: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        # -log q(y|x) averaged over the batch (soft targets: -sum_y t(y) log q(y|x)).
        return nn.functional.cross_entropy(outputs, targets)

    def predict_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        """The model's q(y|x), shape (n, n_classes)."""
        return torch.softmax(self._outputs(X), dim=-1).numpy()

    def predict(self, X: ArrayLike) -> NDArray[np.int64]:
        """The most probable class for each row."""
        return self.predict_proba(X).argmax(axis=1)


class Regressor(_Network):
    """An MLP regressor trained by the negative log-likelihood of a noise model.

    - ``"gaussian"``: :math:`y \\sim \\mathcal N(f(x), \\sigma^2)` with fixed sigma; the NLL is
      squared error / (2 sigma^2) plus a constant.
    - ``"laplace"``: :math:`y \\sim \\mathrm{Laplace}(f(x), b)` with fixed b; the NLL is
      absolute error / b plus a constant.
    - ``"heteroscedastic"``: :math:`y \\sim \\mathcal N(f(x), s(x)^2)` where the network also
      predicts the scale s(x) (through a softplus).

    Parameters
    ----------
    hidden : sequence of int
        Widths of the hidden layers (tanh activations).
    likelihood : {"gaussian", "laplace", "heteroscedastic"}
    scale : float
        The fixed sigma (gaussian) or b (laplace) used in training. It does not
        change the fit of the mean -- only the loss's scale -- so the default is 1.
    epochs, lr, batch_size, weight_decay, seed, progress : optional
        As for :class:`Classifier`.

    Attributes
    ----------
    network_ : torch.nn.Sequential
    scale_ : float
        For fixed-scale likelihoods, the maximum-likelihood scale of the training
        residuals, used by :meth:`predict_dist`.
    history_ : dict of list of float

    Examples
    --------
    >>> data = make_regression_task(200, seed=0)
    >>> model = Regressor((16,), epochs=5, seed=0, progress=False)
    >>> model = model.fit(data.X, data.y)
    >>> model.predict(data.X[:3]).shape
    (3,)
    """

    def __init__(
        self,
        hidden: Sequence[int] = (64, 64),
        *,
        likelihood: str = "gaussian",
        scale: float = 1.0,
        epochs: int = 100,
        lr: float = 1e-2,
        batch_size: int = 128,
        weight_decay: float = 0.0,
        seed: int | None = None,
        progress: bool = True,
    ) -> None:
        super().__init__(
            hidden,
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            weight_decay=weight_decay,
            seed=seed,
            progress=progress,
        )
        self.likelihood = likelihood
        self.scale = scale

    @property
    def n_outputs(self) -> int:  # type: ignore[override]
        return 2 if self.likelihood == "heteroscedastic" else 1

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        eval_set: tuple[ArrayLike, ArrayLike] | None = None,
        callback: Callable[[Regressor], None] | None = None,
    ) -> Regressor:
        """Train on inputs ``X`` (n, d) and finite targets ``y`` (n,)."""
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(
                f"likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}"
            )
        if not (
            isinstance(self.scale, (int, float))
            and math.isfinite(self.scale)
            and self.scale > 0
        ):
            raise ValueError(
                f"scale must be a positive number, got {self.scale!r}"
            )
        targets = self._fit_data(X, y, eval_set, callback)
        residuals = targets - self._outputs(X)[:, 0]
        if self.likelihood == "gaussian":
            self.scale_ = float(residuals.pow(2).mean().sqrt())
        elif self.likelihood == "laplace":
            self.scale_ = float(residuals.abs().mean())
        return self

    def _distribution(self, outputs: torch.Tensor) -> D.Distribution:
        loc = outputs[:, 0]
        if self.likelihood == "heteroscedastic":
            return D.Normal(loc, nn.functional.softplus(outputs[:, 1]) + 1e-6)
        scale = torch.full_like(loc, getattr(self, "scale_", self.scale))
        return (
            D.Laplace(loc, scale)
            if self.likelihood == "laplace"
            else D.Normal(loc, scale)
        )

    def _loss(
        self, outputs: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        # -log q(y|x) averaged over the batch; a fixed scale is self.scale
        # while training (scale_ is estimated afterwards).
        loc = outputs[:, 0]
        if self.likelihood == "heteroscedastic":
            scale = nn.functional.softplus(outputs[:, 1]) + 1e-6
            return -D.Normal(loc, scale).log_prob(targets).mean()
        fixed = torch.full_like(loc, self.scale)
        if self.likelihood == "laplace":
            noise: D.Distribution = D.Laplace(loc, fixed)
        else:
            noise = D.Normal(loc, fixed)
        return -noise.log_prob(targets).mean()

    def predict(self, X: ArrayLike) -> NDArray[np.float64]:
        """The predicted location: the mean (Gaussian models) or the median (Laplace)."""
        return self._outputs(X)[:, 0].numpy()

    def predict_dist(self, X: ArrayLike) -> D.Distribution:
        """The predictive distribution q(y|x), a torch distribution with batch shape (n,)."""
        return self._distribution(self._outputs(X))

    def _targets(self, y: ArrayLike, n: int, name: str = "y") -> torch.Tensor:
        return _regression_targets(y, n, name)


def _regression_targets(y: ArrayLike, n: int, name: str) -> torch.Tensor:
    targets = finite_array(y, name)
    if targets.ndim != 1 or targets.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},), got {targets.shape}")
    return torch.from_numpy(np.ascontiguousarray(targets))
