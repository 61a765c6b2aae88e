"""klcourse's four estimators pass scikit-learn's own estimator checks (scikit-learn is a test dependency only)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from klcourse.supervised import (
    Classifier,
    Regressor,
    make_classification_task,
    make_regression_task,
)
from klcourse.variational import VAE, VIBClassifier

# Each exemption is a deliberate difference from scikit-learn.
COMPLEX = (
    "complex input is a TypeError naming the argument ('X must be real, got complex values'), "
    "klcourse's rule for a wrong type; scikit-learn expects a ValueError 'Complex data not supported'"
)
Y_2D = (
    "a column-vector y of shape (n, 1) is refused with a ValueError instead of being ravelled with "
    "a DataConversionWarning: klcourse never reshapes input silently, and for the Classifier a 2-D y "
    "means one probability vector per row (soft labels)"
)
UNFITTED = (
    "predicting before fit raises klcourse.exceptions.NotFittedError, a ValueError and AttributeError "
    "like scikit-learn's, but not a subclass of sklearn.exceptions.NotFittedError: that would make "
    "scikit-learn a run-time dependency"
)
EXEMPTIONS = {
    "check_complex_data": COMPLEX,
    "check_supervised_y_2d": Y_2D,
    "check_estimators_unfitted": UNFITTED,
}
#: The VAE has no predict (check_estimators_unfitted does not apply) and no
#: target (nor does check_supervised_y_2d).
VAE_EXEMPTIONS = {"check_complex_data": COMPLEX}

# Small and seeded: the whole suite takes seconds, and fit is idempotent (check_fit_idempotent).
# The VAE binarizes its input at 0 (binarize=0.0): scikit-learn's checks feed
# real-valued data, which the Bernoulli decoder cannot model as it is.
ESTIMATORS = [
    Classifier((16,), epochs=20, seed=0),
    Regressor((16,), epochs=20, seed=0),
    Regressor((16,), likelihood="mixture", n_components=2, epochs=20, seed=0),
    VAE(hidden=(8,), epochs=3, seed=0, binarize=0.0),
    VIBClassifier(hidden=(16,), epochs=20, lr=1e-2, seed=0),
]


def expected_failed_checks(estimator) -> dict[str, str]:
    if isinstance(estimator, VAE):
        return VAE_EXEMPTIONS
    return EXEMPTIONS


with warnings.catch_warnings():
    # Deliberate: the estimators implement the protocol without inheriting BaseEstimator.
    warnings.filterwarnings(
        "ignore",
        message=".*does not inherit from `sklearn.base.BaseEstimator`",
    )
    checks = parametrize_with_checks(
        ESTIMATORS,
        expected_failed_checks=expected_failed_checks,
        xfail_strict=True,
    )


@checks
def test_scikit_learn_estimator_checks(estimator, check) -> None:
    check(estimator)


def test_at_most_three_exemptions_per_estimator() -> None:
    for estimator in ESTIMATORS:
        assert len(expected_failed_checks(estimator)) <= 3


def test_scikit_learn_sees_a_classifier_and_a_regressor() -> None:
    assert is_classifier(Classifier()) and not is_regressor(Classifier())
    assert is_regressor(Regressor()) and not is_classifier(Regressor())
    assert is_classifier(VIBClassifier()) and not is_regressor(VIBClassifier())
    assert not is_classifier(VAE()) and not is_regressor(VAE())


def test_vae_and_vib_repr_params_and_clone() -> None:
    """The protocol the supervised models had, now on the variational ones."""
    assert repr(VAE()) == "VAE()"
    assert (
        repr(VAE(3, beta=0.5, epochs=4))
        == "VAE(latent_dim=3, beta=0.5, epochs=4)"
    )
    assert repr(VIBClassifier(beta=0.1)) == "VIBClassifier(beta=0.1)"
    assert VIBClassifier().get_params()["beta"] == 1e-3
    assert set(VAE().get_params()) == {
        "batch_size",
        "beta",
        "binarize",
        "epochs",
        "free_bits",
        "hidden",
        "kl_warmup",
        "latent_dim",
        "lr",
        "progress",
        "seed",
    }
    X = np.eye(4)[[0, 1, 2, 3] * 5]
    vae = VAE(hidden=(4,), epochs=2, seed=0).fit(X)
    copy = clone(vae)
    assert type(copy) is VAE and not hasattr(copy, "encoder_")
    assert np.array_equal(copy.fit(X).encode(X)[0], vae.encode(X)[0])
    with pytest.raises(ValueError, match="'depth' is not a parameter of VAE"):
        VAE().set_params(depth=3)
    labels = np.array(["a", "b", "c", "d"])[np.arange(20) % 4]
    vib = VIBClassifier(hidden=(4,), epochs=2, seed=0).fit(X, labels)
    assert vib.classes_.tolist() == ["a", "b", "c", "d"]
    assert set(vib.predict(X)) <= set(labels)
    assert clone(vib).set_params(beta=0.2).beta == 0.2


@pytest.mark.parametrize("seed", [3, np.random.default_rng(3)])
def test_clone_copies_the_parameters_and_nothing_learned(seed) -> None:
    data = make_classification_task(60, seed=0)
    model = Classifier((8,), epochs=2, n_classes=3, seed=seed).fit(
        data.X, data.y
    )
    copy = clone(model)
    assert type(copy) is Classifier and copy is not model
    assert copy.get_params().keys() == model.get_params().keys()
    assert copy.hidden == (8,) and copy.epochs == 2 and copy.n_classes == 3
    assert not hasattr(copy, "network_") and not hasattr(copy, "classes_")
    if isinstance(seed, int):
        assert np.array_equal(
            copy.fit(data.X, data.y).predict_proba(data.X),
            model.predict_proba(data.X),
        )


def test_pipeline_grid_search_and_cross_validation() -> None:
    data = make_classification_task(240, seed=1)
    pipeline = make_pipeline(
        StandardScaler(), Classifier((8,), epochs=15, seed=0)
    )
    scores = cross_val_score(pipeline, data.X, data.y, cv=3)
    assert scores.shape == (3,) and np.all(scores > 0.5)
    regression = make_regression_task(
        240, seed=2
    )  # sorted by x: shuffled folds
    folds = KFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(
        Regressor((16,), epochs=50, seed=0),
        {"likelihood": ["gaussian", "laplace"], "lr": [1e-2, 3e-2]},
        cv=folds,
    ).fit(regression.X, regression.y)
    assert search.best_params_["likelihood"] in ("gaussian", "laplace")
    assert (
        search.best_estimator_.n_features_in_ == 1 and search.best_score_ > 0.5
    )


def test_score_matches_scikit_learn_metrics() -> None:
    data = make_classification_task(200, seed=4)
    labels = np.array(["x", "y", "z"])[data.y]
    weights = np.random.default_rng(0).uniform(size=200)
    model = Classifier((8,), epochs=5, seed=0).fit(data.X, labels)
    predicted = model.predict(data.X)
    assert model.score(data.X, labels) == pytest.approx(
        accuracy_score(labels, predicted), rel=1e-12
    )
    assert model.score(data.X, labels, sample_weight=weights) == pytest.approx(
        accuracy_score(labels, predicted, sample_weight=weights), rel=1e-12
    )
    regression = make_regression_task(200, seed=4)
    regressor = Regressor((8,), epochs=10, seed=0).fit(
        regression.X, regression.y
    )
    predicted = regressor.predict(regression.X)
    assert regressor.score(regression.X, regression.y) == pytest.approx(
        r2_score(regression.y, predicted), rel=1e-10
    )
    assert regressor.score(
        regression.X, regression.y, sample_weight=weights
    ) == pytest.approx(
        r2_score(regression.y, predicted, sample_weight=weights), rel=1e-10
    )
    constant = np.full(200, 2.0)
    assert (
        regressor.score(regression.X, constant)
        == r2_score(constant, predicted)
        == 0.0
    )
