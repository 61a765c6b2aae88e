"""klcourse.supervised: losses are likelihoods, and the KL they minimise is computable."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from klcourse import entropy, kl_divergence
from klcourse.supervised import (
    Classifier,
    NotFittedError,
    Regressor,
    make_classification_task,
    make_regression_task,
    true_function,
    true_noise_scale,
)


@pytest.fixture(scope="module")
def classification():
    train, val = make_classification_task(1500, seed=0), make_classification_task(3000, seed=1)
    model = Classifier((32, 32), epochs=15, seed=0, progress=False).fit(train.X, train.y, eval_set=(val.X, val.y))
    return train, val, model


# --- data ----------------------------------------------------------------------------------


def test_classification_labels_follow_the_true_probabilities() -> None:
    data = make_classification_task(60_000, seed=3)
    # Frequencies of each label in a region match the average of p(y|x) there.
    region = data.X[:, 0] > 1
    observed = np.bincount(data.y[region], minlength=3) / region.sum()
    expected = data.proba[region].mean(axis=0)
    assert np.allclose(observed, expected, atol=0.01)
    assert np.allclose(data.proba.sum(axis=1), 1.0)


def test_regression_noise_has_the_stated_distribution() -> None:
    for noise, std in [("gaussian", 0.3), ("laplace", 0.3)]:
        data = make_regression_task(40_000, noise=noise, seed=4)
        residuals = data.y - true_function(data.X[:, 0])
        assert residuals.std() == pytest.approx(std, rel=0.03)
    data = make_regression_task(40_000, noise="heteroscedastic", seed=5)
    z = (data.y - data.mean) / true_noise_scale(data.X[:, 0])
    assert z.std() == pytest.approx(1.0, rel=0.03)
    assert torch.allclose(data.dist.mean, torch.from_numpy(data.mean))


def test_generators_are_deterministic() -> None:
    a, b = make_classification_task(50, seed=9), make_classification_task(50, seed=9)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
    c, d = make_regression_task(50, noise="student_t", seed=9), make_regression_task(50, noise="student_t", seed=9)
    assert np.array_equal(c.y, d.y)


# --- classification = forward KL -----------------------------------------------------------


def test_expected_cross_entropy_is_conditional_entropy_plus_exact_kl(classification) -> None:
    _, val, model = classification
    q = model.predict_proba(val.X)
    expected_cross_entropy = -(val.proba * np.log(q)).sum(axis=1).mean()
    decomposition = entropy(val.proba).mean() + kl_divergence(val.proba, q).mean()
    assert expected_cross_entropy == pytest.approx(decomposition, rel=1e-12)


def test_validation_loss_minus_entropy_estimates_the_exact_kl(classification) -> None:
    _, val, model = classification
    q = model.predict_proba(val.X)
    per_point = -np.log(q[np.arange(len(val.y)), val.y])  # the sampled-label cross-entropy
    assert per_point.mean() == pytest.approx(model.history_["val_loss"][-1], rel=1e-9)
    exact_kl = kl_divergence(val.proba, q).mean()
    estimate = per_point.mean() - entropy(val.proba).mean()
    # The estimate averages -log q(y|x) over sampled labels: equal to the exact KL up to sampling noise.
    noise = np.std(per_point + (val.proba * np.log(val.proba + 1e-300)).sum(1), ddof=1) / np.sqrt(len(val.y))
    assert abs(estimate - exact_kl) < 4 * noise


def test_training_drives_the_kl_down(classification) -> None:
    train, val, _ = classification
    kls = []
    Classifier((32, 32), epochs=15, seed=0, progress=False).fit(
        train.X, train.y, callback=lambda m: kls.append(kl_divergence(val.proba, m.predict_proba(val.X)).mean())
    )
    assert len(kls) == 15
    assert kls[-1] < 0.02 and min(kls) < kls[0] / 2


def test_soft_labels_train_towards_the_target_distribution() -> None:
    train = make_classification_task(1500, seed=0)
    model = Classifier((32, 32), epochs=15, seed=0, progress=False).fit(train.X, train.proba)
    assert kl_divergence(train.proba, model.predict_proba(train.X)).mean() < 0.02


# --- regression = forward KL ---------------------------------------------------------------


class _SquaredError(Regressor):
    def _loss(self, outputs, targets):
        return ((outputs[:, 0] - targets) ** 2).mean()


class _AbsoluteError(Regressor):
    def _loss(self, outputs, targets):
        return (outputs[:, 0] - targets).abs().mean()


@pytest.mark.parametrize(("likelihood", "plain", "factor"), [("gaussian", _SquaredError, 0.5), ("laplace", _AbsoluteError, 1.0)])
def test_nll_gradients_are_proportional_to_the_plain_loss(likelihood, plain, factor) -> None:
    data = make_regression_task(64, seed=1)
    nll_model = Regressor((8,), likelihood=likelihood, scale=1.0, epochs=1, seed=0, progress=False).fit(data.X, data.y)
    x, y = torch.from_numpy(data.X), torch.from_numpy(data.y)
    grads = []
    for loss_of in (nll_model._loss, plain._loss.__get__(nll_model)):
        nll_model.network_.zero_grad()
        loss_of(nll_model.network_(x), y).backward()
        grads.append(torch.cat([p.grad.ravel() for p in nll_model.network_.parameters()]))
    # Gaussian: NLL = squared error / 2 + const; Laplace: NLL = absolute error + const (scale 1).
    assert torch.allclose(grads[0], factor * grads[1], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize(("likelihood", "plain"), [("gaussian", _SquaredError), ("laplace", _AbsoluteError)])
def test_nll_and_plain_loss_give_the_same_fit(likelihood, plain) -> None:
    # Adam is invariant to a constant factor on the loss, so the trajectories coincide.
    data = make_regression_task(300, noise=likelihood, seed=2)
    options = dict(hidden=(16, 16), epochs=20, seed=3, progress=False)
    nll = Regressor(likelihood=likelihood, **options).fit(data.X, data.y)
    same = plain(likelihood=likelihood, **options).fit(data.X, data.y)
    grid = np.linspace(-3, 3, 50)[:, None]
    assert np.allclose(nll.predict(grid), same.predict(grid), atol=1e-5)


def test_heteroscedastic_model_recovers_the_noise_scale() -> None:
    data = make_regression_task(3000, noise="heteroscedastic", seed=6)
    model = Regressor((32, 32), likelihood="heteroscedastic", epochs=60, lr=5e-3, seed=0, progress=False)
    model.fit(data.X, data.y)
    grid = np.linspace(-2.5, 2.5, 50)[:, None]
    predicted = model.predict_dist(grid).stddev.numpy()
    assert np.mean(np.abs(predicted / true_noise_scale(grid[:, 0]) - 1)) < 0.2


def test_predict_dist_types_and_fitted_scales() -> None:
    data = make_regression_task(400, noise="laplace", seed=7)
    laplace = Regressor((8,), likelihood="laplace", epochs=30, seed=0, progress=False).fit(data.X, data.y)
    dist = laplace.predict_dist(data.X[:5])
    assert isinstance(dist, torch.distributions.Laplace) and dist.batch_shape == (5,)
    residuals = data.y - laplace.predict(data.X)
    assert laplace.scale_ == pytest.approx(np.abs(residuals).mean(), rel=1e-9)
    gaussian = Regressor((8,), epochs=30, seed=0, progress=False).fit(data.X, data.y)
    assert isinstance(gaussian.predict_dist(data.X[:5]), torch.distributions.Normal)


# --- conventions, determinism, errors ------------------------------------------------------


def test_seeds_reproduce_results_exactly() -> None:
    data = make_classification_task(300, seed=0)
    a = Classifier((8,), epochs=3, seed=4, progress=False).fit(data.X, data.y)
    b = Classifier((8,), epochs=3, seed=4, progress=False).fit(data.X, data.y)
    c = Classifier((8,), epochs=3, seed=5, progress=False).fit(data.X, data.y)
    assert np.array_equal(a.predict_proba(data.X), b.predict_proba(data.X))
    assert not np.array_equal(a.predict_proba(data.X), c.predict_proba(data.X))
    assert a.history_ == b.history_


def test_nothing_is_learned_at_construction() -> None:
    model = Classifier((8,), epochs=3)
    assert not any(name.endswith("_") for name in vars(model))
    with pytest.raises(NotFittedError, match="not fitted yet; call fit"):
        model.predict(np.zeros((1, 2)))
    with pytest.raises(NotFittedError):
        Regressor().predict_dist(np.zeros((1, 1)))


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (np.zeros((5, 2)), np.array([0, 1, 2, 1]), "y has 4 rows but X has 5"),
        (np.zeros(5), np.zeros(5), r"X must have shape \(n_samples, n_features\)"),
        (np.full((3, 2), np.nan), np.array([0, 1, 0]), "X must be finite"),
        (np.zeros((3, 2)), np.array([0, -1, 0]), "non-negative integer class labels"),
        (np.zeros((3, 2)), np.array([0, 1.5, 0]), "non-negative integer class labels"),
        (np.zeros((3, 2)), np.array([[0.5, 0.6], [1, 0], [0, 1]]), "rows summing to 1"),
    ],
)
def test_classifier_input_errors(X, y, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Classifier((4,), epochs=1, progress=False).fit(X, y)


def test_classifier_label_out_of_range_and_feature_mismatch() -> None:
    with pytest.raises(ValueError, match="label 3, out of range for 3 classes"):
        Classifier((4,), epochs=1, n_classes=3, progress=False).fit(np.zeros((4, 2)), np.array([0, 1, 2, 3]))
    model = Classifier((4,), epochs=1, progress=False).fit(np.zeros((4, 2)), np.array([0, 1, 2, 1]))
    with pytest.raises(ValueError, match="X has 3 features, but the model was fitted with 2"):
        model.predict(np.zeros((1, 3)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"likelihood": "cauchy"}, "likelihood must be one of"),
        ({"scale": 0.0}, "scale must be a positive number"),
        ({"epochs": 0}, "epochs must be at least 1"),
        ({"lr": -1.0}, "lr must be a positive number"),
        ({"hidden": 8}, "hidden must be a sequence of positive layer widths"),
        ({"weight_decay": -0.1}, "weight_decay must be a non-negative number"),
    ],
)
def test_regressor_parameter_errors(kwargs, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Regressor(progress=False, **kwargs).fit(np.zeros((4, 1)), np.zeros(4))


def test_regressor_target_errors() -> None:
    with pytest.raises(ValueError, match="y must be finite"):
        Regressor(progress=False).fit(np.zeros((3, 1)), np.array([0.0, np.inf, 1.0]))
    with pytest.raises(ValueError, match=r"y must have shape \(3,\)"):
        Regressor(progress=False).fit(np.zeros((3, 1)), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="noise must be one of"):
        make_regression_task(10, noise="uniform")
