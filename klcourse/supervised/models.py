"""A classifier and a regressor whose training losses are likelihoods (chapter 4).

Both follow scikit-learn's conventions (the protocol lives once, in
``klcourse._estimator``): hyper-parameters in ``__init__``, learning in
:meth:`Classifier.fit` and :meth:`Regressor.fit`, learned attributes ending in
``_`` and reset by every fit, and a ``score`` method. Training minimises the
average negative log-likelihood -log q(y|x) over the data, which is the
empirical forward KL from the data distribution p(y|x) to the model q(y|x), up
to the entropy of p that the model cannot change.

Randomness has no side effects: every ``seed`` is None, an int or a
``numpy.random.Generator``, and neither NumPy's nor torch's global random state
is read or changed. Torch runs single-threaded during training and prediction
(``klcourse.set_torch_threads`` changes that), and the caller's thread setting
is restored afterwards.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from torch import nn

from klcourse._estimator import (
    ClassifierMixin,
    Estimator,
    check_rows,
    distinct_classes,
    encode_labels,
    label_array,
    mlp,
    regression_targets,
    required,
    weighted_mean,
)
from klcourse._history import History
from klcourse._random import Seed, seeded, torch_generator
from klcourse._threads import limited_threads
from klcourse._validation import (
    check_choice,
    check_size,
    finite_array,
    positive_float,
    positive_int,
    probability_array,
)

__all__ = [
    "LIKELIHOODS",
    "LR_SCHEDULES",
    "MIN_SCALE",
    "Classifier",
    "Regressor",
]

D = torch.distributions
#: The noise models of :class:`Regressor` (``likelihood``).
LIKELIHOODS = ("gaussian", "laplace", "heteroscedastic", "mixture")
#: How the learning rate moves during training (``lr_schedule``).
LR_SCHEDULES = ("auto", "constant", "cosine")
#: Smallest predicted or fitted scale of a regression noise model.
MIN_SCALE = 1e-6


class _Network(Estimator):
    """An MLP trained with Adam on a negative log-likelihood.

    Subclasses define ``__init__`` (the hyper-parameters, stored unchanged),
    :meth:`training_loss`, the number of outputs and the targets' checks.
    """

    network_: nn.Sequential
    lr_schedule: str
    weight_decay: float

    def _check_params(self) -> tuple[np.random.Generator, bool]:
        check_choice(self.lr_schedule, "lr_schedule", LR_SCHEDULES)
        positive_float(self.weight_decay, "weight_decay", allow_zero=True)
        return super()._check_params()

    def _n_outputs(self) -> int:
        raise NotImplementedError

    def _n_init(self) -> int:
        """How many trainings to run, keeping the best (see Regressor)."""
        return 1

    def _size_names(self) -> str:
        """The hyper-parameters that set the network's size (for errors)."""
        return "hidden"

    def _schedule(self) -> str:
        """The schedule that ``lr_schedule="auto"`` stands for."""
        return "constant" if self.lr_schedule == "auto" else self.lr_schedule

    def _build(self, n_inputs: int) -> nn.Sequential:
        widths = [n_inputs, *(int(w) for w in self.hidden), self._n_outputs()]
        # The largest weight matrix (with its biases) must fit in memory.
        sizes = itertools.pairwise(widths)
        check_size(max((a + 1) * b for a, b in sizes), self._size_names())
        return mlp(widths)

    def _initialise(self, network: nn.Sequential, y: torch.Tensor) -> None:
        """Adapt a freshly built ``network`` to the targets (default: no)."""

    def training_loss(
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
        x = self._inputs(X)
        targets = self._fit_targets(required(y, "y", self), len(x))
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
            y_val = required(eval_set[1], name, self)
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
    ) -> None:
        # n_init trainings in turn, each drawing its weights and batch
        # order from rng; keep the first with the lowest training loss.
        runs = self._n_init()
        losses: list[float] = []
        kept: tuple[nn.Sequential, History] | None = None
        best = math.inf  # a NaN loss never beats a number
        for run in range(runs):
            label = type(self).__name__
            if runs > 1:
                label += f" {run + 1}/{runs}"
            self._train_once(X, y, eval_set, callback, rng, progress, label)
            losses.append(self._evaluate(X, y))
            if kept is None or losses[-1] < best:
                kept = (self.network_, self.history_)
                best = min(math.inf, losses[-1])  # NaN counts as inf
        assert kept is not None
        self.network_, self.history_ = kept
        self.init_losses_ = losses

    def _train_once(
        self,
        X: torch.Tensor,
        y: torch.Tensor,
        eval_set: tuple[torch.Tensor, torch.Tensor] | None,
        callback: Callable[[Any], None] | None,
        rng: np.random.Generator,
        progress: bool,
        description: str,
    ) -> None:
        with seeded(rng):  # the initial weights
            self.network_ = self._build(X.shape[1])
        self._initialise(self.network_, y)
        network = self.network_

        def batch_loss(
            rows: torch.Tensor,
        ) -> tuple[torch.Tensor, dict[str, float]]:
            loss = self.training_loss(network(X[rows]), y[rows])
            return loss, {"train_loss": loss.item() * len(rows)}

        def validation() -> dict[str, float]:
            assert eval_set is not None
            return {"val_loss": self._evaluate(*eval_set)}

        self._train_epochs(
            network.parameters(),
            batch_loss,
            len(X),
            generator=torch_generator(rng),
            progress=progress,
            description=description,
            weight_decay=float(self.weight_decay),
            cosine=self._schedule() == "cosine",
            after_epoch=None if eval_set is None else validation,
            callback=callback,
        )

    def _evaluate(self, X: torch.Tensor, y: torch.Tensor) -> float:
        with torch.no_grad():
            return self.training_loss(self.network_(X), y).item()

    def _outputs(self, X: ArrayLike, method: str) -> torch.Tensor:
        self._check_fitted(method)
        x = self._inputs(X)
        with torch.no_grad():
            return self.network_(x)


class Classifier(ClassifierMixin, _Network):
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
    history_ : klcourse.History
        One row per epoch (x-axis ``"epoch"``): ``"train_loss"``, the mean
        cross-entropy over the epoch's batches, and, with ``eval_set``,
        ``"val_loss"``.

    Examples
    --------
    >>> from klcourse.supervised import make_classification_task
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

    n_classes_: int
    n_classes: int | None

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
        self._store_params(locals())

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
        labels = label_array(y, "y")
        check_rows(labels, n, "y")
        if self.n_classes is not None:
            n_classes = positive_int(self.n_classes, "n_classes", minimum=2)
            classes = np.arange(n_classes)
        elif labels.ndim == 2:
            classes = np.arange(labels.shape[1])
        else:
            classes = distinct_classes(labels, "y")
        self.classes_ = classes
        self.n_classes_ = len(self.classes_)
        return self._targets(y, n, "y")

    def _targets(self, y: ArrayLike, n: int, name: str) -> torch.Tensor:
        labels = label_array(y, name)
        check_rows(labels, n, name)
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
        return torch.from_numpy(encode_labels(labels, self.classes_, name))

    def _n_outputs(self) -> int:
        return self.n_classes_

    def training_loss(
        self, outputs: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        """The cross-entropy -log q(y|x) of the network's ``outputs``, averaged.

        ``outputs`` are the logits of a batch, ``targets`` its class indices
        or (soft labels) one probability vector per row, for which the loss
        is -sum_y t(y) log q(y|x). :meth:`fit` minimises it.
        """
        return nn.functional.cross_entropy(outputs, targets)

    def _logits(self, X: ArrayLike, method: str) -> torch.Tensor:
        return self._outputs(X, method)  # the network's outputs are logits

    @limited_threads
    def predict_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        """The model's q(y|x), shape (n, n_classes), columns in ``classes_`` order.

        Examples
        --------
        >>> from klcourse.supervised import make_classification_task
        >>> data = make_classification_task(50, seed=0)
        >>> model = Classifier((4,), epochs=1, seed=0).fit(data.X, data.y)
        >>> model.predict_proba(data.X).sum(axis=1).round(6)[:3]
        array([1., 1., 1.])
        """
        return self._predict_proba(X)

    @limited_threads
    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """The most probable class for each row, a label from ``classes_``.

        Examples
        --------
        >>> from klcourse.supervised import make_classification_task
        >>> data = make_classification_task(50, seed=0)
        >>> model = Classifier((4,), epochs=1, seed=0).fit(data.X, data.y)
        >>> model.predict(data.X[:4]).shape
        (4,)
        """
        return self._predict(X)

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
        return self._score(X, y, sample_weight)


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
    history_ : klcourse.History
        One row per epoch of the kept training (x-axis ``"epoch"``):
        ``"train_loss"`` and, with ``eval_set``, ``"val_loss"``.
    init_losses_ : list of float
        The final training loss of each of the ``n_init`` trainings; the
        kept network is the first with the smallest.

    Examples
    --------
    >>> from klcourse.supervised import make_regression_task
    >>> data = make_regression_task(200, seed=0)
    >>> model = Regressor((16,), epochs=5, seed=0)
    >>> model = model.fit(data.X, data.y)
    >>> model.predict(data.X[:3]).shape
    (3,)
    """

    scale_: float
    likelihood: str
    scale: float
    n_components: int
    n_init: int | str
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
        self._store_params(locals())

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
        >>> from klcourse.supervised import make_regression_task
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

    def training_loss(
        self, outputs: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        """-log q(y|x) of the ``targets``, averaged over the batch.

        A fixed scale is ``self.scale`` while training (``scale_`` is
        estimated afterwards). :meth:`fit` minimises this loss.
        """
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
        >>> from klcourse.supervised import make_regression_task
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
        >>> from klcourse.supervised import make_regression_task
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
        >>> from klcourse.supervised import make_regression_task
        >>> data = make_regression_task(300, seed=0)
        >>> model = Regressor((16,), epochs=30, seed=0).fit(data.X, data.y)
        >>> bool(model.score(data.X, data.y) > 0.5)
        True
        """
        self._check_fitted("score")
        predicted = self.predict(X)
        targets = regression_targets(
            required(y, "y", self), len(predicted), "y"
        ).numpy()
        weights = (
            np.ones_like(targets)
            if sample_weight is None
            else finite_array(sample_weight, "sample_weight", allow_bool=False)
        )
        mean = weighted_mean(targets, weights)
        residual = weighted_mean((targets - predicted) ** 2, weights)
        total = weighted_mean((targets - mean) ** 2, weights)
        if total == 0.0:
            return 1.0 if residual == 0.0 else 0.0
        return 1.0 - residual / total

    def _targets(self, y: ArrayLike, n: int, name: str) -> torch.Tensor:
        return regression_targets(y, n, name)
