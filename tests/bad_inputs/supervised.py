"""Bad inputs for klcourse.supervised (chapter 4): the classifier, the
regressor and its likelihoods, the two data generators and their data."""

from __future__ import annotations

import math

import numpy as np
import torch

from bad_inputs._case import Case, raises, returns
from klcourse import (
    ClassificationData,
    Classifier,
    NotFittedError,
    RegressionData,
    Regressor,
    make_classification_task,
    make_regression_task,
)
from klcourse.supervised import (
    class_probabilities,
    noise_distribution,
    true_function,
)

X = np.array([[0.0, 0.0], [0.2, 0.1], [1.0, 1.2], [1.2, 0.9]])
LABELS = np.array([0, 0, 1, 1])
SOFT = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.1, 0.9]])
X1 = np.array([[-1.0], [-0.5], [0.0], [0.5], [1.0], [1.5]])
TARGETS = np.array([-0.9, -0.4, 0.1, 0.4, 1.1, 1.4])
LIKELIHOODS = ("gaussian", "laplace", "heteroscedastic", "mixture")


def classifier(**options: object) -> Classifier:
    """A tiny classifier: one hidden layer of 4 units, one epoch."""
    return Classifier((4,), **{"epochs": 1, "seed": 0, **options})


def regressor(**options: object) -> Regressor:
    """A tiny regressor: one hidden layer of 4 units, two epochs."""
    return Regressor((4,), **{"epochs": 2, "seed": 0, **options})


def fitted_classifier() -> Classifier:
    return classifier().fit(X, LABELS)


def fitted_regressor(likelihood: str = "gaussian") -> Regressor:
    return regressor(likelihood=likelihood).fit(X1, TARGETS)


def refitted_on_more_features(model: Classifier | Regressor, y: object):
    """Fit on 1 feature, refit on 3; the refitted model wants 3."""
    model.fit(X[:, :1], y)
    return model.fit(np.column_stack([X, X[:, 0]]), y)


def finite_dist(likelihood: str) -> bool:
    """Fit on constant targets: the predictive q(y|x) stays finite."""
    model = regressor(likelihood=likelihood).fit(X1, np.full(6, 2.0))
    dist = model.predict_dist(X1)
    return bool(
        np.all(np.isfinite(dist.mean.numpy()))
        and np.all(np.isfinite(dist.stddev.numpy()))
        and np.all(np.isfinite(dist.log_prob(torch.full((6,), 2.0)).numpy()))
    )


def boolean_features_match_zero_one() -> bool:
    """Booleans are 0/1 features (as pandas' get_dummies makes them)."""
    flags = X > 0.5
    by_bool = classifier().fit(flags, LABELS).predict_proba(flags)
    by_float = classifier().fit(flags.astype(float), LABELS)
    return bool(np.array_equal(by_bool, by_float.predict_proba(flags)))


def normal(n: int) -> torch.distributions.Normal:
    """n standard Normals: a p(y|x) of batch shape (n,)."""
    return torch.distributions.Normal(torch.zeros(n), torch.ones(n))


def fit_mixture(**options: object) -> Regressor:
    return regressor(likelihood="mixture", **options).fit(X1, TARGETS)


def raises_not_fitted(method: str):  # type: ignore[no-untyped-def]
    """Expect a NotFittedError that names the method and fit."""
    return raises(NotFittedError, method, "fit")


CASES = [
    # --- Classifier.fit: inputs ---------------------------------------------
    Case(
        "Classifier.fit",
        "X as numeric strings",
        lambda: classifier().fit(X.astype(str), LABELS),
        raises(TypeError, "X"),
    ),
    Case(
        "Classifier.fit",
        "complex X",
        lambda: classifier().fit(X + 0j, LABELS),
        raises(TypeError, "X"),
    ),
    Case(
        "Classifier.fit",
        "NaN in X",
        lambda: classifier().fit(np.where(X > 1.1, np.nan, X), LABELS),
        raises(ValueError, "X"),
    ),
    Case(
        "Classifier.fit",
        "a 1-D X",
        lambda: classifier().fit(X[:, 0], LABELS),
        raises(ValueError, "X"),
    ),
    Case(
        "Classifier.fit",
        "X with no rows",
        lambda: classifier().fit(np.zeros((0, 2)), []),
        raises(ValueError, "X"),
    ),
    Case(
        "Classifier.fit",
        "X with no features",
        lambda: classifier().fit(np.zeros((4, 0)), LABELS),
        raises(ValueError, "X"),
    ),
    Case(
        "Classifier.fit",
        "boolean X",
        boolean_features_match_zero_one,
        returns(bool, "the fit of the same 0/1 features as floats"),
    ),
    Case(
        "Classifier.fit",
        "3 labels for 4 rows",
        lambda: classifier().fit(X, LABELS[:3]),
        raises(ValueError, "y", "rows"),
    ),
    Case(
        "Classifier.fit",
        "continuous labels",
        lambda: classifier().fit(X, [0.0, 0.5, 1.0, 1.5]),
        raises(ValueError, "y", "continuous"),
    ),
    Case(
        "Classifier.fit",
        "a single class",
        lambda: classifier().fit(X, [1, 1, 1, 1]),
        raises(ValueError, "y", "one class"),
    ),
    Case(
        "Classifier.fit",
        "y is None",
        lambda: classifier().fit(X, None),
        raises(ValueError, "y"),
    ),
    Case(
        "Classifier.fit",
        "a missing (None) label",
        lambda: classifier().fit(X, ["a", None, "b", "b"]),
        raises(ValueError, "y", "None"),
    ),
    Case(
        "Classifier.fit",
        "labels of mixed types",
        lambda: classifier().fit(X, np.array([0, "a", 1, "b"], object)),
        raises(TypeError, "y"),
    ),
    Case(
        "Classifier.fit",
        "numeric strings as class labels",
        lambda: classifier().fit(X, ["0", "0", "1", "1"]).classes_.tolist(),
        returns(lambda c: c == ["0", "1"], "the labels as they are, text"),
    ),
    Case(
        "Classifier.fit",
        "boolean class labels",
        lambda: classifier().fit(X, LABELS == 1).predict(X).dtype,
        returns(lambda d: d == np.bool_, "predictions among False, True"),
    ),
    Case(
        "Classifier.fit",
        "a label outside n_classes",
        lambda: classifier(n_classes=2).fit(X, [0, 1, 2, 1]),
        raises(ValueError, "y", "2"),
    ),
    Case(
        "Classifier.fit",
        "text labels with n_classes (integers expected)",
        lambda: classifier(n_classes=2).fit(X, ["0", "1", "1", "0"]),
        raises(ValueError, "y", "'0'"),
    ),
    Case(
        "Classifier.fit",
        "soft labels that sum to 0.9",
        lambda: classifier().fit(X, SOFT * 0.9),
        raises(ValueError, "y", "sum"),
    ),
    Case(
        "Classifier.fit",
        "soft labels as numeric strings",
        lambda: classifier().fit(X, SOFT.astype(str)),
        raises(TypeError, "y"),
    ),
    Case(
        "Classifier.fit",
        "soft labels as booleans (one-hot)",
        lambda: classifier().fit(X, np.eye(2, dtype=bool)[LABELS]),
        raises(TypeError, "y", "booleans"),
    ),
    Case(
        "Classifier.fit",
        "soft labels with one column",
        lambda: classifier().fit(X, SOFT[:, :1]),
        raises(ValueError, "y", "column"),
    ),
    Case(
        "Classifier.fit",
        "eval_set that is not a pair",
        lambda: classifier().fit(X, LABELS, eval_set=X),
        raises(TypeError, "eval_set"),
    ),
    Case(
        "Classifier.fit",
        "eval_set labels as numeric text probabilities",
        lambda: classifier().fit(
            SOFT, SOFT, eval_set=(SOFT, SOFT.astype(str))
        ),
        raises(TypeError, "eval_set y"),
    ),
    Case(
        "Classifier.fit",
        "a callback that is not callable",
        lambda: classifier().fit(X, LABELS, callback="print"),
        raises(TypeError, "callback"),
    ),
    # --- Classifier: hyper-parameters, checked by fit -----------------------
    Case(
        "Classifier.fit",
        "lr as a numeric string",
        lambda: classifier(lr="0.1").fit(X, LABELS),
        raises(TypeError, "lr"),
    ),
    Case(
        "Classifier.fit",
        "lr is a bool",
        lambda: classifier(lr=True).fit(X, LABELS),
        raises(TypeError, "lr"),
    ),
    Case(
        "Classifier.fit",
        "epochs is a bool",
        lambda: classifier(epochs=True).fit(X, LABELS),
        raises(TypeError, "epochs"),
    ),
    Case(
        "Classifier.fit",
        "zero epochs",
        lambda: classifier(epochs=0).fit(X, LABELS),
        raises(ValueError, "epochs"),
    ),
    Case(
        "Classifier.fit",
        "batch_size as a numeric string",
        lambda: classifier(batch_size="32").fit(X, LABELS),
        raises(TypeError, "batch_size"),
    ),
    Case(
        "Classifier.fit",
        "a layer width as a numeric string",
        lambda: Classifier((8, "8"), epochs=1).fit(X, LABELS),
        raises(TypeError, "hidden[1]"),
    ),
    Case(
        "Classifier.fit",
        "hidden as a string",
        lambda: Classifier("64", epochs=1).fit(X, LABELS),
        raises(TypeError, "hidden"),
    ),
    Case(
        "Classifier.fit",
        "negative weight_decay",
        lambda: classifier(weight_decay=-1e-3).fit(X, LABELS),
        raises(ValueError, "weight_decay"),
    ),
    Case(
        "Classifier.fit",
        "n_classes is a bool",
        lambda: classifier(n_classes=True).fit(X, LABELS),
        raises(TypeError, "n_classes"),
    ),
    Case(
        "Classifier.fit",
        "n_classes = 1",
        lambda: classifier(n_classes=1).fit(X, LABELS),
        raises(ValueError, "n_classes"),
    ),
    Case(
        "Classifier.fit",
        "seed as a numeric string",
        lambda: classifier(seed="0").fit(X, LABELS),
        raises(TypeError, "seed"),
    ),
    Case(
        "Classifier.fit",
        "progress as a string",
        lambda: classifier(progress="yes").fit(X, LABELS),
        raises(TypeError, "progress"),
    ),
    Case(
        "Classifier.fit",
        "an unknown lr_schedule",
        lambda: classifier(lr_schedule="linear").fit(X, LABELS),
        raises(ValueError, "lr_schedule", "cosine"),
    ),
    Case(
        "Classifier.fit",
        "two hidden layers of 10**6 units (8 TB)",
        lambda: Classifier((10**6, 10**6), epochs=1).fit(X, LABELS),
        raises(ValueError, "hidden", "GiB"),
    ),
    # --- Classifier: prediction ---------------------------------------------
    Case(
        "Classifier.predict",
        "before fit",
        lambda: classifier().predict(X),
        raises_not_fitted("predict"),
    ),
    Case(
        "Classifier.predict_proba",
        "before fit",
        lambda: classifier().predict_proba(X),
        raises_not_fitted("predict_proba"),
    ),
    Case(
        "Classifier.score",
        "before fit",
        lambda: classifier().score(X, LABELS),
        raises_not_fitted("score"),
    ),
    Case(
        "Classifier.predict",
        "after a refit on 3 features, X has 2",
        lambda: refitted_on_more_features(classifier(), LABELS).predict(X),
        raises(ValueError, "X", "3 features"),
    ),
    Case(
        "Classifier.predict_proba",
        "X as numeric strings",
        lambda: fitted_classifier().predict_proba(X.astype(str)),
        raises(TypeError, "X"),
    ),
    Case(
        "Classifier.predict_proba",
        "a single sample as a 1-D X",
        lambda: fitted_classifier().predict_proba(X[0]),
        raises(ValueError, "X", "Reshape"),
    ),
    Case(
        "Classifier.score",
        "3 labels for 4 rows",
        lambda: fitted_classifier().score(X, LABELS[:3]),
        raises(ValueError, "y", "rows"),
    ),
    Case(
        "Classifier.score",
        "labels of another type than the classes",
        lambda: fitted_classifier().score(X, ["0", "0", "1", "1"]),
        raises(TypeError, "y", "'0'"),
    ),
    Case(
        "Classifier.score",
        "sample_weight as numeric strings",
        lambda: fitted_classifier().score(X, LABELS, ["1"] * 4),
        raises(TypeError, "sample_weight"),
    ),
    Case(
        "Classifier.score",
        "sample_weight as booleans",
        lambda: fitted_classifier().score(X, LABELS, LABELS == 1),
        raises(TypeError, "sample_weight", "booleans"),
    ),
    Case(
        "Classifier.score",
        "negative sample_weight",
        lambda: fitted_classifier().score(X, LABELS, [1.0, -1.0, 1.0, 1.0]),
        raises(ValueError, "sample_weight"),
    ),
    Case(
        "Classifier.score",
        "sample_weight of the wrong length",
        lambda: fitted_classifier().score(X, LABELS, [1.0, 1.0]),
        raises(ValueError, "sample_weight"),
    ),
    # --- Regressor ----------------------------------------------------------
    *[
        Case(
            "Regressor.fit",
            f"{likelihood}: constant targets",
            lambda likelihood=likelihood: finite_dist(likelihood),
            returns(bool, "a finite predictive distribution"),
        )
        for likelihood in LIKELIHOODS
    ],
    *[
        Case(
            "Regressor.predict_dist",
            f"{likelihood}: before fit",
            lambda likelihood=likelihood: regressor(
                likelihood=likelihood
            ).predict_dist(X1),
            raises_not_fitted("predict_dist"),
        )
        for likelihood in LIKELIHOODS
    ],
    *[
        Case(
            "Regressor.predict_dist",
            f"{likelihood}: X with 2 features",
            lambda likelihood=likelihood: fitted_regressor(
                likelihood
            ).predict_dist(X),
            raises(ValueError, "X", "1 features"),
        )
        for likelihood in LIKELIHOODS
    ],
    Case(
        "Regressor.predict",
        "before fit",
        lambda: regressor().predict(X1),
        raises_not_fitted("predict"),
    ),
    Case(
        "Regressor.score",
        "before fit",
        lambda: regressor().score(X1, TARGETS),
        raises_not_fitted("score"),
    ),
    Case(
        "Regressor.fit",
        "targets as numeric strings",
        lambda: regressor().fit(X1, TARGETS.astype(str)),
        raises(TypeError, "y"),
    ),
    Case(
        "Regressor.fit",
        "boolean targets",
        lambda: regressor().fit(X1, TARGETS > 0),
        raises(TypeError, "y", "booleans"),
    ),
    Case(
        "Regressor.fit",
        "complex targets",
        lambda: regressor().fit(X1, TARGETS + 1j),
        raises(TypeError, "y"),
    ),
    Case(
        "Regressor.fit",
        "an infinite target",
        lambda: regressor().fit(X1, np.where(TARGETS > 1.2, np.inf, TARGETS)),
        raises(ValueError, "y"),
    ),
    Case(
        "Regressor.fit",
        "targets of shape (n, 1)",
        lambda: regressor().fit(X1, TARGETS[:, None]),
        raises(ValueError, "y"),
    ),
    Case(
        "Regressor.fit",
        "5 targets for 6 rows",
        lambda: regressor().fit(X1, TARGETS[:5]),
        raises(ValueError, "y"),
    ),
    Case(
        "Regressor.fit",
        "eval_set targets as numeric strings",
        lambda: regressor().fit(
            X1, TARGETS, eval_set=(X1, TARGETS.astype(str))
        ),
        raises(TypeError, "eval_set y"),
    ),
    Case(
        "Regressor.fit",
        "an unknown likelihood",
        lambda: regressor(likelihood="cauchy").fit(X1, TARGETS),
        raises(ValueError, "likelihood", "cauchy"),
    ),
    Case(
        "Regressor.fit",
        "scale as a numeric string",
        lambda: regressor(scale="1").fit(X1, TARGETS),
        raises(TypeError, "scale"),
    ),
    Case(
        "Regressor.fit",
        "scale zero",
        lambda: regressor(scale=0.0).fit(X1, TARGETS),
        raises(ValueError, "scale"),
    ),
    Case(
        "Regressor.fit",
        "mixture: n_components zero",
        lambda: fit_mixture(n_components=0),
        raises(ValueError, "n_components"),
    ),
    Case(
        "Regressor.fit",
        "mixture: n_components is a bool",
        lambda: fit_mixture(n_components=True),
        raises(TypeError, "n_components"),
    ),
    Case(
        "Regressor.fit",
        "mixture: 10**9 components (24 GB of weights)",
        lambda: fit_mixture(n_components=10**9),
        raises(ValueError, "n_components", "GiB"),
    ),
    Case(
        "Regressor.fit",
        "n_init zero",
        lambda: regressor(n_init=0).fit(X1, TARGETS),
        raises(ValueError, "n_init"),
    ),
    Case(
        "Regressor.fit",
        "n_init as a numeric string",
        lambda: regressor(n_init="3").fit(X1, TARGETS),
        raises(TypeError, "n_init", "auto"),
    ),
    Case(
        "Regressor.fit",
        "lr as a numeric string",
        lambda: regressor(lr="0.1").fit(X1, TARGETS),
        raises(TypeError, "lr"),
    ),
    Case(
        "Regressor.fit",
        "epochs is a bool",
        lambda: regressor(epochs=True).fit(X1, TARGETS),
        raises(TypeError, "epochs"),
    ),
    Case(
        "Regressor.predict",
        "after a refit on 3 features, X has 1",
        lambda: refitted_on_more_features(regressor(), TARGETS[:4]).predict(
            X1
        ),
        raises(ValueError, "X", "3 features"),
    ),
    Case(
        "Regressor.score",
        "targets as numeric strings",
        lambda: fitted_regressor().score(X1, TARGETS.astype(str)),
        raises(TypeError, "y"),
    ),
    Case(
        "Regressor.score",
        "sample_weight as numeric strings",
        lambda: fitted_regressor().score(X1, TARGETS, ["1"] * 6),
        raises(TypeError, "sample_weight"),
    ),
    Case(
        "Regressor.score",
        "sample_weight as booleans",
        lambda: fitted_regressor().score(X1, TARGETS, TARGETS > 0),
        raises(TypeError, "sample_weight", "booleans"),
    ),
    Case(
        "Regressor.score",
        "sample_weight that sums to zero",
        lambda: fitted_regressor().score(X1, TARGETS, np.zeros(6)),
        raises(ValueError, "sample_weight"),
    ),
    # --- the data generators and their data ---------------------------------
    Case(
        "make_classification_task",
        "n as a numeric string",
        lambda: make_classification_task("10"),
        raises(TypeError, "n"),
    ),
    Case(
        "make_classification_task",
        "n is a bool",
        lambda: make_classification_task(True),
        raises(TypeError, "n"),
    ),
    Case(
        "make_classification_task",
        "n zero",
        lambda: make_classification_task(0),
        raises(ValueError, "n"),
    ),
    Case(
        "make_classification_task",
        "n = 10**12 (16 TB of inputs)",
        lambda: make_classification_task(10**12),
        raises(ValueError, "n", "GiB"),
    ),
    Case(
        "make_classification_task",
        "sharpness as a numeric string",
        lambda: make_classification_task(5, sharpness="1.5"),
        raises(TypeError, "sharpness"),
    ),
    Case(
        "make_classification_task",
        "NaN sharpness",
        lambda: make_classification_task(5, sharpness=math.nan),
        raises(ValueError, "sharpness"),
    ),
    Case(
        "make_classification_task",
        "a negative seed",
        lambda: make_classification_task(5, seed=-1),
        raises(ValueError, "seed"),
    ),
    Case(
        "make_regression_task",
        "n as a float",
        lambda: make_regression_task(10.0),
        raises(TypeError, "n"),
    ),
    Case(
        "make_regression_task",
        "n = 10**12 (8 TB of inputs)",
        lambda: make_regression_task(10**12),
        raises(ValueError, "n", "GiB"),
    ),
    Case(
        "make_regression_task",
        "an unknown noise",
        lambda: make_regression_task(5, noise="uniform"),
        raises(ValueError, "noise", "uniform"),
    ),
    Case(
        "make_regression_task",
        "noise is not a string",
        lambda: make_regression_task(5, noise=1),
        raises(TypeError, "noise"),
    ),
    Case(
        "make_regression_task",
        "seed as a numeric string",
        lambda: make_regression_task(5, seed="0"),
        raises(TypeError, "seed"),
    ),
    Case(
        "ClassificationData",
        "the fields of one draw",
        lambda: make_classification_task(6, seed=0),
        returns(
            lambda d: (
                isinstance(d, ClassificationData)
                and d.proba.shape == (6, 3)
                and np.allclose(d.proba.sum(axis=1), 1.0)
            ),
            "rows of p(y|x) that sum to one",
        ),
    ),
    Case(
        "ClassificationData",
        "proba rows that sum to 0.9",
        lambda: ClassificationData(X, LABELS, SOFT * 0.9),
        raises(ValueError, "proba", "sum"),
    ),
    Case(
        "ClassificationData",
        "3 labels for 4 rows",
        lambda: ClassificationData(X, LABELS[:3], SOFT),
        raises(ValueError, "y", "rows"),
    ),
    Case(
        "ClassificationData",
        "labels as numeric strings",
        lambda: ClassificationData(X, LABELS.astype(str), SOFT),
        raises(TypeError, "y"),
    ),
    Case(
        "ClassificationData",
        "a label with no column in proba",
        lambda: ClassificationData(X, [0, 1, 2, 1], SOFT),
        raises(ValueError, "y", "2"),
    ),
    Case(
        "RegressionData",
        "the fields of one bimodal draw",
        lambda: make_regression_task(5, noise="bimodal", seed=0),
        returns(
            lambda d: (
                isinstance(d, RegressionData)
                and d.dist.batch_shape == (5,)
                and d.mean.shape == (5,)
            ),
            "one p(y|x) and one f(x) per row",
        ),
    ),
    Case(
        "RegressionData",
        "dist is not a torch distribution",
        lambda: RegressionData(X1, TARGETS, np.zeros(6)),
        raises(TypeError, "dist"),
    ),
    Case(
        "RegressionData",
        "dist for 2 rows, data with 6",
        lambda: RegressionData(X1, TARGETS, normal(2)),
        raises(ValueError, "dist", "6"),
    ),
    Case(
        "RegressionData",
        "targets as numeric strings",
        lambda: RegressionData(X1, TARGETS.astype(str), normal(6)),
        raises(TypeError, "y"),
    ),
    Case(
        "RegressionData",
        "X with 2 features (f(x) takes one)",
        lambda: RegressionData(X, TARGETS[:4], normal(4)),
        raises(ValueError, "X"),
    ),
    Case(
        "ClassificationData",
        "proba as booleans (one-hot)",
        lambda: ClassificationData(X, LABELS, np.eye(2, dtype=bool)[LABELS]),
        raises(TypeError, "proba", "booleans"),
    ),
    Case(
        "RegressionData",
        "boolean inputs",
        lambda: RegressionData(X1 > 0, TARGETS, normal(6)),
        raises(TypeError, "X", "booleans"),
    ),
    # documented helpers of the module (not re-exported by klcourse)
    Case(
        "class_probabilities",
        "inputs as numeric strings",
        lambda: class_probabilities([["0", "1"]]),
        raises(TypeError, "X"),
    ),
    Case(
        "true_function",
        "boolean inputs",
        lambda: true_function([True, False]),
        raises(TypeError, "x", "booleans"),
    ),
    Case(
        "noise_distribution",
        "NaN input",
        lambda: noise_distribution([0.0, math.nan], "bimodal"),
        raises(ValueError, "x"),
    ),
    Case(
        "NotFittedError",
        "what predict raises before fit",
        lambda: classifier().predict(X),
        raises((ValueError, AttributeError), "Classifier.predict", "fit"),
    ),
    Case(
        "NotFittedError",
        "what predict_dist raises before fit",
        lambda: regressor().predict_dist(X1),
        raises(NotFittedError, "Regressor.predict_dist", "fit"),
    ),
]
