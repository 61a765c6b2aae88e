"""The one estimator base under Classifier, Regressor, VAE and VIBClassifier.

scikit-learn's protocol is written here once, without depending on
scikit-learn: hyper-parameters are the named arguments of ``__init__``
(``get_params``/``set_params``, so that ``sklearn.base.clone``, pipelines and
grid searches work), ``repr`` shows the ones that differ from their defaults,
and every fit starts from scratch (learned attributes end in ``_`` and are
deleted first). :class:`ClassifierMixin` adds what the two classifiers
(Classifier and VIBClassifier) share: ``predict_proba``, ``predict`` and
``score`` from a network's logits. Beside the protocol live the pieces every
estimator trains with: the input checks, the check of the hidden widths, the
MLP builder and the epoch loop, which records ``history_`` as a
:class:`klcourse.History` with x-axis ``"epoch"``.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from scipy import sparse
from torch import nn
from tqdm.auto import tqdm

from klcourse._history import History
from klcourse._progress import show_progress
from klcourse._random import make_rng
from klcourse._validation import (
    detached,
    finite_array,
    positive_float,
    positive_int,
)
from klcourse.exceptions import NotFittedError

#: What one mini-batch gives the epoch loop: the loss to minimise and the
#: per-batch sums of the terms to record (divided by the rows afterwards).
BatchLoss = Callable[[torch.Tensor], tuple[torch.Tensor, dict[str, float]]]


class Estimator:
    """scikit-learn's estimator protocol, the checks and the epoch loop.

    A subclass's ``__init__`` names every hyper-parameter in its signature
    and calls ``self._store_params(locals())``, which stores each unchanged
    under its own name; ``fit`` checks them and sets :attr:`_fitted`.
    """

    #: What scikit-learn's tags call the estimator: "classifier",
    #: "regressor" or None (neither).
    _sklearn_kind: str | None = None
    #: The learned attribute whose presence means "fitted".
    _fitted = "network_"
    #: How fit is called, for the not-fitted message.
    _fit_call = "fit(X, y)"

    n_features_in_: int
    history_: History
    hidden: Sequence[int]
    epochs: int
    lr: float
    batch_size: int
    seed: Any
    progress: bool | None

    # --- scikit-learn's protocol ---------------------------------------------

    @classmethod
    def _init_arguments(cls) -> list[str]:
        """The named arguments of ``__init__``, in the signature's order."""
        parameters = inspect.signature(cls.__init__).parameters.values()
        names = []
        for parameter in parameters:
            if parameter.kind in (
                parameter.VAR_POSITIONAL,
                parameter.VAR_KEYWORD,
            ):
                raise TypeError(
                    f"{cls.__name__}.__init__ must name every parameter"
                )
            if parameter.name != "self":
                names.append(parameter.name)
        return names

    @classmethod
    def _param_names(cls) -> list[str]:
        """The hyper-parameters: the named arguments of ``__init__``, sorted."""
        return sorted(cls._init_arguments())

    def _store_params(self, arguments: dict[str, Any]) -> None:
        """Store every hyper-parameter unchanged under its own name.

        ``arguments`` is ``locals()`` at the start of ``__init__``, so that
        the hyper-parameters are listed once, in the signature.
        """
        for name in self._init_arguments():
            setattr(self, name, arguments[name])

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The hyper-parameters as a dict, as scikit-learn's ``get_params``.

        No hyper-parameter is itself an estimator, so ``deep`` changes
        nothing; it is accepted for scikit-learn's tools (``clone``, grid
        searches).

        Examples
        --------
        >>> from klcourse import VAE
        >>> VAE(hidden=(8,), epochs=3).get_params()["epochs"]
        3
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Any:
        """Set hyper-parameters by name and return the model.

        Nothing is checked until ``fit``; an unknown name is a
        ``ValueError`` naming it. A fitted model keeps its learned
        attributes until the next fit.

        Examples
        --------
        >>> from klcourse import Regressor
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
        return hasattr(self, self._fitted)

    def __sklearn_tags__(self) -> Any:
        # Only scikit-learn calls this, so it is importable here; klcourse
        # itself never imports scikit-learn.
        from sklearn.utils import (
            ClassifierTags,
            RegressorTags,
            Tags,
            TargetTags,
        )

        kind = self._sklearn_kind
        return Tags(
            estimator_type=kind,
            target_tags=TargetTags(required=kind is not None),
            classifier_tags=ClassifierTags() if kind == "classifier" else None,
            regressor_tags=RegressorTags() if kind == "regressor" else None,
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

    def _check_fitted(self, method: str) -> None:
        """Refuse to run ``method`` before ``fit``, naming both."""
        if not hasattr(self, self._fitted):
            name = type(self).__name__
            raise NotFittedError(
                f"{name}.{method} needs a fitted model, but this {name} is"
                f" not fitted yet; call {self._fit_call} first"
            )

    # --- checks ----------------------------------------------------------------

    def _check_params(self) -> tuple[np.random.Generator, bool]:
        """Check the training settings; return the seed's generator and the bar choice."""
        check_hidden(self.hidden)
        positive_int(self.epochs, "epochs")
        positive_int(self.batch_size, "batch_size")
        positive_float(self.lr, "lr")
        return make_rng(self.seed), show_progress(self.progress)

    def _inputs(self, X: ArrayLike, name: str = "X") -> torch.Tensor:
        """``X`` as a tensor, with as many features as in training."""
        return as_inputs(
            X,
            name,
            getattr(self, "n_features_in_", None),
            type(self).__name__,
        )

    # --- the epoch loop ------------------------------------------------------

    def _train_epochs(
        self,
        parameters: Iterable[nn.Parameter],
        batch_loss: BatchLoss,
        n_rows: int,
        *,
        generator: torch.Generator,
        progress: bool,
        description: str,
        weight_decay: float = 0.0,
        cosine: bool = False,
        after_epoch: Callable[[], dict[str, float]] | None = None,
        callback: Callable[[Any], None] | None = None,
    ) -> None:
        """Adam over shuffled mini-batches, ``epochs`` times; record ``history_``.

        ``batch_loss(rows)`` returns the loss of the mini-batch ``rows`` and
        the sums over those rows of the terms to record; ``history_`` holds
        each term's mean per row of every epoch, then what ``after_epoch()``
        returns, and ``callback(self)`` runs after every epoch. With
        ``cosine`` the learning rate anneals to zero over the updates.
        """
        optimiser = torch.optim.Adam(
            parameters, lr=float(self.lr), weight_decay=float(weight_decay)
        )
        size, epochs = int(self.batch_size), int(self.epochs)
        updates = epochs * math.ceil(n_rows / size)
        scheduler = (
            torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, updates)
            if cosine
            else None
        )
        rows: list[dict[str, float]] = []
        for epoch in tqdm(
            range(1, epochs + 1),
            desc=description,
            disable=not progress,
            unit="epoch",
        ):
            order = torch.randperm(n_rows, generator=generator)
            sums: dict[str, float] = {}
            for start in range(0, n_rows, size):
                loss, terms = batch_loss(order[start : start + size])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                if scheduler is not None:
                    scheduler.step()
                for name, value in terms.items():
                    sums[name] = sums.get(name, 0.0) + value
            row = {"epoch": epoch, **{k: v / n_rows for k, v in sums.items()}}
            if after_epoch is not None:
                row.update(after_epoch())
            rows.append(row)
            self.history_ = History.from_rows(rows, x="epoch")
            if callback is not None:
                callback(self)


class ClassifierMixin(Estimator):
    """What a classifier's ``predict_proba``, ``predict`` and ``score`` do.

    A subclass keeps its sorted labels in ``classes_`` and gives the logits
    of q(y|x) by :meth:`_logits`; each of its public methods, with a
    docstring of its own for the API reference, returns the matching
    private method here.
    """

    _sklearn_kind = "classifier"
    classes_: NDArray[Any]
    # public: each subclass defines them, with docstrings of its own
    predict_proba: Callable[[ArrayLike], NDArray[np.float64]]
    predict: Callable[[ArrayLike], NDArray[Any]]

    def _logits(self, X: ArrayLike, method: str) -> torch.Tensor:
        """The logits of q(y|x) for the rows of ``X``, shape (n, n_classes).

        A model that is not fitted is refused, naming ``method``.
        """
        raise NotImplementedError

    def _predict_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        """q(y|x) for every row of ``X``, columns in ``classes_`` order."""
        logits = self._logits(X, "predict_proba")
        return torch.softmax(logits, dim=-1).numpy()

    def _predict(self, X: ArrayLike) -> NDArray[Any]:
        """The most probable class of every row of ``X``, from ``classes_``."""
        self._check_fitted("predict")
        most_probable = self.predict_proba(X).argmax(axis=1)
        return self.classes_[most_probable]

    def _score(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None
    ) -> float:
        """The (weighted) fraction of rows that :meth:`predict` gets right."""
        self._check_fitted("score")
        predicted = self.predict(X)
        y = required(y, "y", self)
        return accuracy(predicted, y, self.classes_, sample_weight)


def check_hidden(hidden: Any) -> None:
    """Refuse ``hidden`` unless it is a sequence of positive integer widths."""
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Iterable):
        raise TypeError(
            "hidden must be a sequence of layer widths, got "
            f"{type(hidden).__name__}"
        )
    for i, width in enumerate(hidden):
        positive_int(width, f"hidden[{i}]")


def mlp(widths: Sequence[int]) -> nn.Sequential:
    """Linear layers of the given widths with tanh between them, in float64.

    ``mlp([2, 16, 3])`` maps 2 inputs through 16 tanh units to 3 outputs.
    """
    layers: list[nn.Module] = []
    for i in range(len(widths) - 1):
        if i:
            layers.append(nn.Tanh())
        layers.append(nn.Linear(widths[i], widths[i + 1], dtype=torch.float64))
    return nn.Sequential(*layers)


def as_inputs(
    X: ArrayLike,
    name: str = "X",
    n_features: int | None = None,
    model: str = "the model",
) -> torch.Tensor:
    """Validate inputs of shape (n_samples, n_features); return a float64 copy.

    The messages are scikit-learn's, so that its checks recognise them.
    """
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


def required(y: Any, name: str, model: object) -> Any:
    """Refuse a missing target (``None``) as scikit-learn does."""
    if y is None:
        raise ValueError(
            f"{name} is missing: {type(model).__name__} requires y to be "
            "passed, but the target y is None"
        )
    return y


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


# --- targets: regression values and class labels ------------------------------


def regression_targets(y: ArrayLike, n: int, name: str) -> torch.Tensor:
    """Finite real targets of shape (n,): text and bools are refused."""
    targets = finite_array(y, name, allow_bool=False)
    if targets.ndim != 1 or targets.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},), got {targets.shape}")
    return torch.from_numpy(np.array(targets, dtype=np.float64, order="C"))


def check_rows(y: NDArray[Any], n: int, name: str) -> None:
    """Refuse targets that are not 1-D or 2-D with one row per input."""
    if y.ndim not in (1, 2):
        raise ValueError(
            f"{name} must have shape (n,) or (n, n_classes), got {y.shape}"
        )
    if y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} rows but X has {n}")


def is_text(labels: NDArray[Any]) -> bool:
    """Whether class labels are text (str or bytes) rather than numbers."""
    if labels.dtype.kind in "US":
        return True
    return labels.dtype.kind == "O" and any(
        isinstance(label, (str, bytes)) for label in labels.ravel()
    )


def label_array(y: ArrayLike, name: str) -> NDArray[Any]:
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


def distinct_classes(labels: NDArray[Any], name: str) -> NDArray[Any]:
    """The sorted distinct labels of a 1-D ``labels``: at least two."""
    try:
        classes = np.unique(labels)
    except TypeError as error:
        raise TypeError(
            f"{name} mixes labels that cannot be ordered: {error}"
        ) from error
    if len(classes) < 2:
        raise ValueError(
            f"{name} has only one class, {classes.tolist()[0]!r}: a"
            " classifier needs at least 2 (or pass n_classes to fix"
            " the classes)"
        )
    return classes


def encode_labels(
    labels: NDArray[Any], classes: NDArray[Any], name: str
) -> NDArray[np.int64]:
    """Positions of ``labels`` in ``classes``, refusing unknown labels."""
    try:
        uniques, inverse = np.unique(labels, return_inverse=True)
    except TypeError as error:
        raise TypeError(
            f"{name} mixes labels that cannot be ordered: {error}"
        ) from error
    position = {label: k for k, label in enumerate(classes.tolist())}
    codes = []
    for label in uniques.tolist():
        if label not in position:
            raise ValueError(
                f"{name} has label {label!r}, not one of the "
                f"{len(classes)} classes {classes.tolist()}"
            )
        codes.append(position[label])
    return np.asarray(codes, dtype=np.int64)[inverse.reshape(-1)]


def accuracy(
    predicted: NDArray[Any],
    y: ArrayLike,
    classes: NDArray[Any],
    sample_weight: ArrayLike | None,
) -> float:
    """The (weighted) fraction of rows of ``y`` whose label is ``predicted``."""
    labels = label_array(y, "y")
    if labels.ndim != 1:
        raise ValueError(
            f"y must be 1-D class labels for score, got shape {labels.shape}"
        )
    check_rows(labels, len(predicted), "y")
    if len(labels) and is_text(labels) != is_text(classes):
        kind = "text" if is_text(classes) else "numbers"
        raise TypeError(
            f"y has label {labels[0]!r}, but the classes are {kind}:"
            f" {classes.tolist()}; a label of another kind can"
            " never be predicted"
        )
    return weighted_mean(
        (predicted == labels).astype(np.float64), sample_weight
    )


def weighted_mean(
    values: NDArray[np.float64], sample_weight: ArrayLike | None
) -> float:
    """The mean of ``values``, weighted by ``sample_weight`` when given."""
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
