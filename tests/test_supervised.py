"""klcourse.supervised: losses are likelihoods, and the KL they minimise is computable."""

from __future__ import annotations

import inspect
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from klcourse import entropy, kl_divergence
from klcourse._history import History
from klcourse.supervised import (
    CLASS_CENTRES,
    MIN_SCALE,
    Classifier,
    NotFittedError,
    Regressor,
    class_probabilities,
    make_classification_task,
    make_regression_task,
    noise_distribution,
    true_function,
    true_noise_scale,
)


def same_history(a, b) -> bool:
    """Whether two histories have the same x-axis, columns and values."""
    return (
        a.x == b.x
        and list(a) == list(b)
        and all(np.array_equal(a[k], b[k]) for k in a)
    )


@pytest.fixture(scope="module")
def classification():
    train, val = (
        make_classification_task(1500, seed=0),
        make_classification_task(3000, seed=1),
    )
    model = Classifier((32, 32), epochs=15, seed=0).fit(
        train.X, train.y, eval_set=(val.X, val.y)
    )
    return train, val, model


def small_classification(n: int = 60, seed: int = 0):
    data = make_classification_task(n, seed=seed)
    return data.X, data.y


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


def test_sharpness_zero_is_uniform_and_negative_is_refused() -> None:
    assert np.allclose(
        class_probabilities([[0.0, 0.0], [2.0, 1.0]], sharpness=0), 1 / 3
    )
    with pytest.raises(
        ValueError, match="sharpness must be a finite non-negative number"
    ):
        make_classification_task(5, sharpness=-1.0)
    with pytest.raises(TypeError, match="sharpness must be a number"):
        class_probabilities([[0.0, 0.0]], sharpness="sharp")


@pytest.mark.parametrize("sharpness", [0.5, 1.5, 8.0])
def test_class_probabilities_are_multinomial_logistic(
    sharpness: float,
) -> None:
    # the ||x||^2 term cancels: the log-odds against class 0 are affine in x,
    # with slopes s (c_k - c_0) and intercepts -s/2 (|c_k|^2 - |c_0|^2)
    c = CLASS_CENTRES
    x = np.random.default_rng(0).uniform(-3, 3, size=(500, 2))
    log_p = np.log(class_probabilities(x, sharpness=sharpness))
    for k in (1, 2):
        slope = sharpness * (c[k] - c[0])
        intercept = -sharpness / 2 * (c[k] @ c[k] - c[0] @ c[0])
        assert np.allclose(
            log_p[:, k] - log_p[:, 0], x @ slope + intercept, atol=1e-9
        )


# --- randomness without side effects ---------------------------------------------------------


def global_random_states():
    return torch.get_rng_state().clone(), np.random.get_state()


def assert_unchanged(before) -> None:
    torch_before, numpy_before = before
    torch_after, numpy_after = global_random_states()
    assert torch.equal(torch_before, torch_after), (
        "torch's global random state changed"
    )
    assert (
        numpy_before[0] == numpy_after[0]
        and numpy_before[2:] == numpy_after[2:]
    )
    assert np.array_equal(numpy_before[1], numpy_after[1]), (
        "NumPy's global random state changed"
    )


@pytest.mark.parametrize("seed", [None, 0])
def test_no_public_call_touches_the_global_random_states(seed) -> None:
    torch.manual_seed(123)
    np.random.seed(123)
    before = global_random_states()
    data = make_classification_task(80, seed=seed)
    for noise in (
        "gaussian",
        "laplace",
        "heteroscedastic",
        "student_t",
        "bimodal",
    ):
        regression = make_regression_task(40, noise=noise, seed=seed)
    class_probabilities(data.X)
    noise_distribution(regression.X[:, 0], "student_t")
    model = Classifier((4,), epochs=2, batch_size=16, seed=seed)
    model.fit(
        data.X,
        data.y,
        eval_set=(data.X, data.y),
        callback=lambda m: m.predict(data.X),
    )
    (
        model.predict(data.X),
        model.predict_proba(data.X),
        model.score(data.X, data.y),
    )
    Classifier((4,), epochs=1, seed=seed).fit(data.X, data.proba)
    for likelihood in ("gaussian", "laplace", "heteroscedastic", "mixture"):
        regressor = Regressor(
            (4,), likelihood=likelihood, epochs=2, batch_size=16, seed=seed
        )
        regressor.fit(
            regression.X, regression.y, eval_set=(regression.X, regression.y)
        )
        regressor.predict(regression.X), regressor.predict_dist(regression.X)
        regressor.score(regression.X, regression.y)
    assert_unchanged(before)


def test_generators_are_deterministic() -> None:
    a, b = (
        make_classification_task(50, seed=9),
        make_classification_task(50, seed=9),
    )
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
    c, d = (
        make_regression_task(50, noise="student_t", seed=9),
        make_regression_task(50, noise="student_t", seed=9),
    )
    assert np.array_equal(c.X, d.X) and np.array_equal(c.y, d.y)
    e = make_regression_task(50, noise="student_t", seed=10)
    assert not np.array_equal(c.y, e.y)


def test_generators_accept_and_advance_a_numpy_generator() -> None:
    for make in (make_classification_task, make_regression_task):
        rng = np.random.default_rng(5)
        first, second = make(30, seed=rng), make(30, seed=rng)
        assert not np.array_equal(first.y, second.y), (
            "the generator was not advanced"
        )
        again = np.random.default_rng(5)
        assert np.array_equal(make(30, seed=again).y, first.y)
        assert np.array_equal(make(30, seed=again).y, second.y)
    # None draws fresh entropy: two calls differ.
    assert not np.array_equal(
        make_regression_task(30).y, make_regression_task(30).y
    )


def test_seeds_reproduce_results_exactly() -> None:
    X, y = small_classification(300)
    a = Classifier((8,), epochs=3, seed=4).fit(X, y)
    b = Classifier((8,), epochs=3, seed=4).fit(X, y)
    c = Classifier((8,), epochs=3, seed=5).fit(X, y)
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))
    assert same_history(a.history_, b.history_)
    data = make_regression_task(100, seed=0)
    r1 = Regressor((8,), likelihood="heteroscedastic", epochs=3, seed=4).fit(
        data.X, data.y
    )
    r2 = Regressor((8,), likelihood="heteroscedastic", epochs=3, seed=4).fit(
        data.X, data.y
    )
    assert np.array_equal(
        r1.predict_dist(data.X).stddev, r2.predict_dist(data.X).stddev
    )


def test_model_seed_may_be_a_generator_or_none() -> None:
    X, y = small_classification(100)
    fresh = [
        Classifier((4,), epochs=2, seed=np.random.default_rng(7)).fit(X, y)
        for _ in range(2)
    ]
    assert np.array_equal(fresh[0].predict_proba(X), fresh[1].predict_proba(X))
    shared = Classifier((4,), epochs=2, seed=np.random.default_rng(7))
    first = shared.fit(X, y).predict_proba(X)
    assert np.array_equal(first, fresh[0].predict_proba(X))
    assert not np.array_equal(shared.fit(X, y).predict_proba(X), first), (
        "a generator seed advances"
    )
    unseeded = [
        Classifier((4,), epochs=2).fit(X, y).predict_proba(X) for _ in range(2)
    ]
    assert not np.array_equal(*unseeded)


@pytest.mark.parametrize(
    ("seed", "error", "message"),
    [
        (
            "0",
            TypeError,
            "seed must be an int, a numpy.random.Generator or None",
        ),
        (-1, ValueError, "seed must be non-negative"),
    ],
)
def test_bad_seeds_are_refused_everywhere(seed, error, message: str) -> None:
    X, y = small_classification(20)
    with pytest.raises(error, match=message):
        Classifier((4,), epochs=1, seed=seed).fit(X, y)
    with pytest.raises(error, match=message):
        Regressor((4,), epochs=1, seed=seed).fit(X, X[:, 0])
    with pytest.raises(error, match=message):
        make_classification_task(5, seed=seed)
    with pytest.raises(error, match=message):
        make_regression_task(5, seed=seed)


# --- classification = forward KL -----------------------------------------------------------


def nll(proba: np.ndarray, codes: np.ndarray) -> float:
    """Mean -log q(y|x) at the true labels, computed by NumPy alone."""
    return float(-np.log(proba[np.arange(len(codes)), codes]).mean())


@pytest.mark.parametrize("labels", ["integers", "strings", "soft"])
def test_recorded_training_loss_is_the_mean_negative_log_likelihood(
    labels: str,
) -> None:
    # One batch per epoch: the loss recorded for epoch e is the NLL of the weights after
    # epoch e - 1, which the callback measures independently through predict_proba.
    data = make_classification_task(200, seed=2)
    names = np.array(["setosa", "versicolor", "virginica"])
    y = {"integers": data.y, "strings": names[data.y], "soft": data.proba}[
        labels
    ]
    measured: list[float] = []

    def measure(model: Classifier) -> None:
        q = model.predict_proba(data.X)
        if labels == "soft":
            measured.append(
                float(-(data.proba * np.log(q)).sum(axis=1).mean())
            )
        else:
            measured.append(nll(q, np.searchsorted(model.classes_, y)))

    model = Classifier((8,), epochs=6, batch_size=200, seed=0).fit(
        data.X, y, callback=measure
    )
    assert len(measured) == 6
    np.testing.assert_allclose(
        model.history_["train_loss"][1:], measured[:-1], rtol=1e-10
    )
    assert measured[-1] < measured[0], "training did not lower the loss"


def test_validation_loss_is_the_nll_of_the_final_weights(
    classification,
) -> None:
    _, val, model = classification
    assert nll(model.predict_proba(val.X), val.y) == pytest.approx(
        model.history_["val_loss"][-1], rel=1e-10
    )


def test_trained_model_is_far_closer_to_the_truth_than_an_untrained_one(
    classification,
) -> None:
    train, val, model = classification
    exact_kl = kl_divergence(val.proba, model.predict_proba(val.X)).mean()
    uniform_kl = kl_divergence(
        val.proba, np.full_like(val.proba, 1 / 3)
    ).mean()
    untrained = Classifier((32, 32), epochs=1, lr=1e-9, seed=0).fit(
        train.X, train.y
    )
    untrained_kl = kl_divergence(
        val.proba, untrained.predict_proba(val.X)
    ).mean()
    assert exact_kl < 0.02
    assert exact_kl < uniform_kl / 20 and exact_kl < untrained_kl / 20


def test_validation_loss_minus_entropy_estimates_the_exact_kl(
    classification,
) -> None:
    _, val, model = classification
    q = model.predict_proba(val.X)
    per_point = -np.log(
        q[np.arange(len(val.y)), val.y]
    )  # the sampled-label cross-entropy
    exact_kl = kl_divergence(val.proba, q).mean()
    estimate = per_point.mean() - entropy(val.proba).mean()
    # The estimate averages -log q(y|x) over sampled labels: equal to the exact KL up to sampling noise.
    noise = np.std(
        per_point + (val.proba * np.log(val.proba + 1e-300)).sum(1), ddof=1
    ) / np.sqrt(len(val.y))
    assert abs(estimate - exact_kl) < 4 * noise


def test_training_drives_the_kl_down(classification) -> None:
    train, val, _ = classification
    kls = []
    Classifier((32, 32), epochs=15, seed=0).fit(
        train.X,
        train.y,
        callback=lambda m: kls.append(
            kl_divergence(val.proba, m.predict_proba(val.X)).mean()
        ),
    )
    assert len(kls) == 15
    assert kls[-1] < 0.02 and min(kls) < kls[0] / 2


def test_soft_labels_train_towards_the_target_distribution() -> None:
    train = make_classification_task(1500, seed=0)
    model = Classifier((32, 32), epochs=15, seed=0).fit(train.X, train.proba)
    assert (
        kl_divergence(train.proba, model.predict_proba(train.X)).mean() < 0.02
    )
    assert np.array_equal(model.classes_, [0, 1, 2])


def test_labels_are_mapped_through_classes() -> None:
    X, y = small_classification(300, seed=4)
    reference = Classifier((8,), epochs=10, seed=0).fit(X, y)
    # Labels in the same sorted order as 0, 1, 2 train the very same network.
    for names in (
        np.array(["a", "b", "c"]),
        np.array([-1, 3, 7]),
        np.array([0.0, 1.0, 2.0]),
    ):
        for labels in (names[y], pd.Series(names[y]), list(names[y])):
            model = Classifier((8,), epochs=10, seed=0).fit(X, labels)
            assert np.array_equal(model.classes_, names)
            assert (
                model.classes_.dtype == np.asarray(labels).dtype
            )  # as given (pandas: object)
            assert np.array_equal(
                model.predict_proba(X), reference.predict_proba(X)
            )
            assert np.array_equal(
                model.predict(X), names[reference.predict(X)]
            )
            assert model.score(X, labels) == reference.score(X, y)
    # Labels in another order: column k of predict_proba is still classes_[k].
    shuffled = np.array(["b", "c", "a"])[y]
    model = Classifier((8,), epochs=10, seed=0).fit(X, shuffled)
    assert np.array_equal(model.classes_, ["a", "b", "c"])
    assert np.array_equal(
        model.predict(X), model.classes_[model.predict_proba(X).argmax(axis=1)]
    )
    assert model.score(X, shuffled) > 0.6


def test_n_classes_fixes_the_classes() -> None:
    X, y = small_classification(100)
    only_two = np.where(y == 2, 1, y)
    model = Classifier((4,), epochs=2, n_classes=3, seed=0).fit(X, only_two)
    assert model.predict_proba(X).shape == (100, 3) and np.array_equal(
        model.classes_, [0, 1, 2]
    )
    # A single class is refused, unless n_classes says how many there are.
    with pytest.raises(
        ValueError,
        match="y has only one class, 'a': a classifier needs at least 2",
    ):
        Classifier((4,), epochs=1).fit(X, np.full(100, "a"))
    single = Classifier((4,), epochs=30, lr=0.1, n_classes=2, seed=0).fit(
        X, np.zeros(100, dtype=int)
    )
    assert (single.predict(X) == 0).all() and single.n_classes_ == 2
    with pytest.raises(
        ValueError,
        match=r"y has label 3, not one of the 3 classes \[0, 1, 2\]",
    ):
        Classifier((4,), epochs=1, n_classes=3).fit(
            np.zeros((4, 2)), np.array([0, 1, 2, 3])
        )
    with pytest.raises(
        ValueError, match="y has label 'a', not one of the 2 classes"
    ):
        Classifier((4,), epochs=1, n_classes=2).fit(
            np.zeros((2, 2)), ["a", "b"]
        )


def test_eval_set_labels_must_be_known_classes() -> None:
    X, y = small_classification(60)
    with pytest.raises(
        ValueError,
        match=r"eval_set y has label 5, not one of the 3 classes \[0, 1, 2\]",
    ):
        Classifier((4,), epochs=1).fit(X, y, eval_set=(X[:3], [0, 1, 5]))
    with pytest.raises(
        ValueError,
        match="eval_set X has 3 features, but Classifier is expecting 2 features",
    ):
        Classifier((4,), epochs=1).fit(
            X, y, eval_set=(np.zeros((3, 3)), [0, 1, 2])
        )
    with pytest.raises(
        TypeError, match=r"eval_set must be a pair \(X_val, y_val\)"
    ):
        Classifier((4,), epochs=1).fit(X, y, eval_set=X)


def test_score_is_the_accuracy_and_r2() -> None:
    X, y = small_classification(200)
    model = Classifier((8,), epochs=5, seed=0).fit(X, y)
    hits = model.predict(X) == y
    assert model.score(X, y) == hits.mean()
    weights = np.linspace(0, 1, 200)
    assert model.score(X, y, sample_weight=weights) == pytest.approx(
        (hits * weights).sum() / weights.sum(), rel=1e-12
    )
    data = make_regression_task(200, seed=1)
    regressor = Regressor((8,), epochs=20, seed=0).fit(data.X, data.y)
    residual = ((data.y - regressor.predict(data.X)) ** 2).sum()
    total = ((data.y - data.y.mean()) ** 2).sum()
    assert regressor.score(data.X, data.y) == pytest.approx(
        1 - residual / total, rel=1e-12
    )
    assert (
        regressor.score(data.X, np.full(200, 3.0)) == 0.0
    )  # constant y, imperfect prediction
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        model.score(X, y, sample_weight=-weights)


# --- regression = forward KL ---------------------------------------------------------------


class _SquaredError(Regressor):
    def training_loss(self, outputs, targets):
        return ((outputs[:, 0] - targets) ** 2).mean()


class _AbsoluteError(Regressor):
    def training_loss(self, outputs, targets):
        return (outputs[:, 0] - targets).abs().mean()


@pytest.mark.parametrize(
    ("likelihood", "plain", "factor"),
    [("gaussian", _SquaredError, 0.5), ("laplace", _AbsoluteError, 1.0)],
)
def test_nll_gradients_are_proportional_to_the_plain_loss(
    likelihood, plain, factor
) -> None:
    data = make_regression_task(64, seed=1)
    nll_model = Regressor(
        (8,), likelihood=likelihood, scale=1.0, epochs=1, seed=0
    ).fit(data.X, data.y)
    x, y = torch.from_numpy(data.X), torch.from_numpy(data.y)
    grads = []
    for loss_of in (
        nll_model.training_loss,
        plain.training_loss.__get__(nll_model),
    ):
        nll_model.network_.zero_grad()
        loss_of(nll_model.network_(x), y).backward()
        grads.append(
            torch.cat(
                [p.grad.ravel() for p in nll_model.network_.parameters()]
            )
        )
    # Gaussian: NLL = squared error / 2 + const; Laplace: NLL = absolute error + const (scale 1).
    assert torch.allclose(grads[0], factor * grads[1], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize(
    ("likelihood", "plain"),
    [("gaussian", _SquaredError), ("laplace", _AbsoluteError)],
)
def test_nll_and_plain_loss_give_the_same_fit(likelihood, plain) -> None:
    # Adam is invariant to a constant factor on the loss, so the trajectories coincide.
    data = make_regression_task(300, noise=likelihood, seed=2)
    options = {"hidden": (16, 16), "epochs": 20, "seed": 3}
    nll_model = Regressor(likelihood=likelihood, **options).fit(data.X, data.y)
    same = plain(likelihood=likelihood, **options).fit(data.X, data.y)
    grid = np.linspace(-3, 3, 50)[:, None]
    assert np.allclose(nll_model.predict(grid), same.predict(grid), atol=1e-5)


@pytest.mark.parametrize(
    "likelihood", ["gaussian", "laplace", "heteroscedastic", "mixture"]
)
def test_regression_training_loss_is_the_nll_of_predict_dist(
    likelihood: str,
) -> None:
    # Two trainings (n_init=2): the callback measures each one's NLL after
    # every epoch; the model keeps the training with the lower final loss,
    # and its history is that training's.
    data = make_regression_task(150, noise="heteroscedastic", seed=3)
    runs: list[list[float]] = []

    def nll_of(model: Regressor) -> float:
        if likelihood in ("heteroscedastic", "mixture"):
            return float(
                -model.predict_dist(data.X)
                .log_prob(torch.from_numpy(data.y))
                .mean()
            )
        # a fixed scale trains with scale (scale_ exists only after fit)
        r = data.y - model.predict(data.X)
        s = model.scale
        terms = (
            r**2 / (2 * s**2) + np.log(s * np.sqrt(2 * np.pi))
            if likelihood == "gaussian"
            else np.abs(r) / s + np.log(2 * s)
        )
        return float(terms.mean())

    def measure(model: Regressor) -> None:
        if len(model.history_["train_loss"]) == 1:
            runs.append([])
        runs[-1].append(nll_of(model))

    model = Regressor(
        (8,),
        likelihood=likelihood,
        scale=0.7,
        n_init=2,
        epochs=5,
        batch_size=150,
        seed=0,
    )
    model.fit(data.X, data.y, callback=measure)
    assert [len(run) for run in runs] == [5, 5]
    np.testing.assert_allclose(
        model.init_losses_, [run[-1] for run in runs], rtol=1e-10
    )
    assert runs[0][-1] != runs[1][-1], "the two trainings started apart"
    kept = runs[int(np.argmin(model.init_losses_))]
    np.testing.assert_allclose(
        model.history_["train_loss"][1:], kept[:-1], rtol=1e-10
    )
    if likelihood in ("heteroscedastic", "mixture"):
        assert nll_of(model) == pytest.approx(min(model.init_losses_))


def test_bimodal_noise_has_two_modes_and_its_mean_between_them() -> None:
    data = make_regression_task(40_000, noise="bimodal", seed=8)
    residuals = data.y - data.mean
    # Oracle: the stated mixture, 0.5 N(-1, 0.15^2) + 0.5 N(1, 0.15^2).
    assert np.mean(residuals > 0) == pytest.approx(0.5, abs=0.01)
    assert np.abs(residuals).mean() == pytest.approx(1.0, abs=0.01)
    assert (np.abs(residuals) - 1).std() == pytest.approx(0.15, rel=0.03)
    assert np.mean(np.abs(residuals) < 0.5) < 1e-3  # no data at the mean
    assert torch.allclose(data.dist.mean, torch.from_numpy(data.mean))
    density_at_mean = data.dist.log_prob(torch.from_numpy(data.mean)).exp()
    assert float(density_at_mean.max()) < 1e-8


def _mixture_nll_by_hand(outputs: np.ndarray, y: np.ndarray) -> float:
    """-log of sum_k w_k N(y; m_k, s_k^2), written with scipy (the oracle)."""
    import scipy.special
    import scipy.stats

    logits, loc, raw = np.split(outputs, 3, axis=1)
    log_w = logits - scipy.special.logsumexp(logits, axis=1, keepdims=True)
    scale = np.logaddexp(0.0, raw) + 1e-6  # softplus
    log_terms = log_w + scipy.stats.norm(loc, scale).logpdf(y[:, None])
    return float(-scipy.special.logsumexp(log_terms, axis=1).mean())


def test_mixture_loss_predict_and_predict_dist_agree_with_an_oracle() -> None:
    data = make_regression_task(120, noise="bimodal", seed=9)
    model = Regressor(
        (8,), likelihood="mixture", n_components=3, epochs=3, seed=0
    ).fit(data.X, data.y)
    with torch.no_grad():
        outputs = model.network_(torch.from_numpy(data.X))
    assert outputs.shape == (120, 9)
    loss = float(model.training_loss(outputs, torch.from_numpy(data.y)))
    by_hand = _mixture_nll_by_hand(outputs.numpy(), data.y)
    assert loss == pytest.approx(by_hand, rel=1e-10)
    dist = model.predict_dist(data.X)
    assert isinstance(dist, torch.distributions.MixtureSameFamily)
    nll = -dist.log_prob(torch.from_numpy(data.y)).mean().item()
    assert nll == pytest.approx(by_hand, rel=1e-10)
    logits, loc, _ = np.split(outputs.numpy(), 3, axis=1)
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(
        model.predict(data.X), (weights * loc).sum(axis=1), rtol=1e-10
    )
    assert not hasattr(model, "scale_")


def test_mixture_density_network_recovers_both_modes() -> None:
    from klcourse.divergences import kl_gauss_hermite

    data = make_regression_task(1_000, noise="bimodal", seed=10)
    options = {"hidden": (32, 32), "epochs": 60, "seed": 0}
    mixture = Regressor(likelihood="mixture", n_components=2, **options)
    gaussian = Regressor(likelihood="gaussian", **options)
    mixture.fit(data.X, data.y), gaussian.fit(data.X, data.y)
    grid = np.linspace(-2.5, 2.5, 11)
    truth = noise_distribution(grid, "bimodal")
    q = mixture.predict_dist(grid[:, None])
    order = torch.argsort(q.component_distribution.loc, dim=1)
    loc = torch.gather(q.component_distribution.loc, 1, order).numpy()
    np.testing.assert_allclose(
        loc - true_function(grid)[:, None], [[-1.0, 1.0]] * 11, atol=0.2
    )
    # Exact expected forward KL to the true p(y|x): small for the mixture,
    # large for the Gaussian, which puts its mean between the modes.
    kl_mixture = kl_gauss_hermite(truth, q).mean()
    kl_gaussian = kl_gauss_hermite(truth, gaussian.predict_dist(grid[:, None]))
    assert kl_mixture < 0.15 and kl_gaussian.mean() > 1.0
    assert np.all(
        np.abs(gaussian.predict(grid[:, None]) - true_function(grid)) < 0.5
    )


# --- the mixture-density network is robust to the seed -------------------


def offset_bimodal_truth(x: np.ndarray) -> torch.distributions.Distribution:
    """A bimodal p(y|x) far from y = 0.

    0.7 N(4 + sin x, 0.15^2) + 0.3 N(7 + 0.4 x, 0.3^2): unequal weights and
    widths, and both modes far above the zero a network's outputs start at.
    """
    loc = np.stack([4.0 + np.sin(x), 7.0 + 0.4 * x], axis=1)
    scale = np.broadcast_to([0.15, 0.3], loc.shape).copy()
    weights = torch.tensor([0.7, 0.3], dtype=torch.float64).expand(len(x), 2)
    return torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(probs=weights),
        torch.distributions.Normal(
            torch.from_numpy(loc), torch.from_numpy(scale)
        ),
    )


def offset_bimodal_task(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, size=n)
    upper = rng.random(n) < 0.3
    y = np.where(
        upper,
        7.0 + 0.4 * x + 0.3 * rng.standard_normal(n),
        4.0 + np.sin(x) + 0.15 * rng.standard_normal(n),
    )
    return x[:, None], y


def missed_mode(
    truth: torch.distributions.MixtureSameFamily,
    q: torch.distributions.MixtureSameFamily,
) -> bool:
    """True when q collapses: a true mode lacks a component somewhere.

    Mode j of the truth is covered at an input when some component with weight
    at least 0.05 has its mean within a quarter of the distance between the two
    true modes; a component whose weight stays below 0.05, or two components on
    the same mode, leave a mode uncovered.
    """
    modes = truth.component_distribution.loc.numpy()  # (n, 2)
    gap = np.abs(modes[:, 1] - modes[:, 0])
    means = q.component_distribution.loc.numpy()  # (n, k)
    heavy = q.mixture_distribution.probs.numpy() >= 0.05
    for j in range(2):
        near = np.abs(means - modes[:, [j]]) < gap[:, None] / 4
        if not np.all((near & heavy).any(axis=1)):
            return True
    return False


def test_missed_mode_detects_a_collapsed_mixture() -> None:
    grid = np.linspace(-3, 3, 7)
    truth = offset_bimodal_truth(grid)
    probs = truth.mixture_distribution.probs
    normal = truth.component_distribution
    assert not missed_mode(truth, truth)
    one_weight = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(
            probs=torch.tensor([0.97, 0.03]).expand(7, 2)
        ),
        normal,
    )
    same_mode = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(probs=probs),
        torch.distributions.Normal(
            normal.loc[:, [0, 0]] + torch.tensor([0.0, 0.1]), normal.scale
        ),
    )
    assert missed_mode(truth, one_weight) and missed_mode(truth, same_mode)


def test_mixture_fits_agree_across_seeds_without_collapse() -> None:
    # Issue 18: depending on the seed, the mixture-density network put both
    # components on one mode (a KL many times the best seed's). Every seed
    # must cover both modes and come within 2x of the best seed's KL.
    from klcourse.divergences import kl_gauss_hermite

    X, y = offset_bimodal_task(400, seed=0)
    grid = np.linspace(-3, 3, 121)
    truth = offset_bimodal_truth(grid)
    kls, collapsed = [], []
    for seed in range(3):
        model = Regressor(
            (16, 16),
            likelihood="mixture",
            n_components=2,
            epochs=60,
            seed=seed,
        ).fit(X, y)
        q = model.predict_dist(grid[:, None])
        kls.append(float(kl_gauss_hermite(truth, q).mean()))
        collapsed.append(missed_mode(truth, q))
    assert not any(collapsed), f"collapsed seeds: {collapsed}, KL {kls}"
    assert max(kls) < 2 * min(kls), f"KL per seed: {kls}"


def test_an_untrained_mixture_spreads_its_components_over_the_targets() -> (
    None
):
    # With a learning rate of 1e-12 the fitted network is its initial one:
    # at every input, equal weights, and means at the centres of n_components
    # equal bins between the 5th and 95th percentiles of y, each with half
    # a bin as standard deviation.
    data = make_regression_task(200, noise="bimodal", seed=1)
    model = Regressor(
        (8,),
        likelihood="mixture",
        n_components=4,
        n_init=1,
        epochs=1,
        lr=1e-12,
        seed=0,
    ).fit(data.X, data.y)
    q = model.predict_dist(np.linspace(-3, 3, 5)[:, None])
    low, high = np.percentile(data.y, [5, 95])
    width = (high - low) / 4
    centres = low + width * np.array([0.5, 1.5, 2.5, 3.5])
    np.testing.assert_allclose(q.mixture_distribution.probs, 0.25, rtol=1e-9)
    np.testing.assert_allclose(
        q.component_distribution.loc, np.tile(centres, (5, 1)), rtol=1e-9
    )
    np.testing.assert_allclose(  # every scale has MIN_SCALE added
        q.component_distribution.scale, width / 2 + MIN_SCALE, rtol=1e-9
    )


def test_mixture_restarts_are_deterministic_under_the_seed() -> None:
    data = make_regression_task(150, noise="bimodal", seed=2)
    fits = [
        Regressor((8,), likelihood="mixture", epochs=3, seed=seed).fit(
            data.X, data.y
        )
        for seed in (4, 4, 5)
    ]
    assert len(fits[0].init_losses_) == 3  # n_init="auto": 3 for a mixture
    assert fits[0].init_losses_ == fits[1].init_losses_
    assert fits[0].init_losses_ != fits[2].init_losses_
    assert len(set(fits[0].init_losses_)) == 3, "each run starts afresh"
    same = [f.predict_dist(data.X).component_distribution.loc for f in fits]
    assert torch.equal(same[0], same[1])
    assert not torch.equal(same[0], same[2])
    gaussian = Regressor((8,), epochs=2, seed=0).fit(data.X, data.y)
    assert len(gaussian.init_losses_) == 1  # "auto": 1 for the others


def _largest_step(model, X, y) -> list[float]:
    """The largest change of any weight in each epoch of training."""
    steps: list[float] = []
    previous: list[torch.Tensor] = []

    def record(m) -> None:
        now = [p.detach().clone() for p in m.network_.parameters()]
        if previous:
            steps.append(
                max(float((a - b).abs().max()) for a, b in zip(now, previous))
            )
        previous[:] = now

    model.fit(X, y, callback=record)
    return steps


@pytest.mark.parametrize("cls", [Classifier, Regressor])
def test_cosine_schedule_anneals_the_learning_rate_to_zero(cls) -> None:
    # One full batch per epoch: Adam moves a weight by at most about lr per
    # step, so under the cosine schedule the last steps are tiny.
    X, y = small_classification(60)
    options = {"epochs": 40, "batch_size": 60, "lr": 0.05, "seed": 0}
    constant = _largest_step(cls((8,), **options), X, y)
    cosine = _largest_step(cls((8,), lr_schedule="cosine", **options), X, y)
    # the last step's rate is lr (1 + cos(39 pi / 40)) / 2 = 0.0015 lr
    assert cosine[-1] < 0.005 * 0.05 and constant[-1] > 0.2 * 0.05
    auto = cls((8,), lr_schedule="auto", **options).fit(X, y)
    plain = cls((8,), lr_schedule="constant", **options).fit(X, y)
    assert same_history(
        auto.history_, plain.history_
    )  # "auto": constant for these


def test_mixture_auto_schedule_is_cosine() -> None:
    data = make_regression_task(100, noise="bimodal", seed=3)
    options = {"likelihood": "mixture", "epochs": 3, "n_init": 1, "seed": 0}
    auto = Regressor((8,), **options).fit(data.X, data.y)
    cosine = Regressor((8,), lr_schedule="cosine", **options)
    constant = Regressor((8,), lr_schedule="constant", **options)
    assert same_history(auto.history_, cosine.fit(data.X, data.y).history_)
    assert not same_history(
        auto.history_, constant.fit(data.X, data.y).history_
    )


def test_heteroscedastic_model_recovers_the_noise_scale() -> None:
    data = make_regression_task(3000, noise="heteroscedastic", seed=6)
    model = Regressor(
        (32, 32), likelihood="heteroscedastic", epochs=60, lr=5e-3, seed=0
    )
    model.fit(data.X, data.y)
    grid = np.linspace(-2.5, 2.5, 50)[:, None]
    predicted = model.predict_dist(grid).stddev.numpy()
    assert np.mean(np.abs(predicted / true_noise_scale(grid[:, 0]) - 1)) < 0.2


def test_predict_dist_types_and_fitted_scales() -> None:
    data = make_regression_task(400, noise="laplace", seed=7)
    laplace = Regressor((8,), likelihood="laplace", epochs=30, seed=0).fit(
        data.X, data.y
    )
    dist = laplace.predict_dist(data.X[:5])
    assert isinstance(
        dist, torch.distributions.Laplace
    ) and dist.batch_shape == (5,)
    residuals = data.y - laplace.predict(data.X)
    assert laplace.scale_ == pytest.approx(np.abs(residuals).mean(), rel=1e-9)
    gaussian = Regressor((8,), epochs=30, seed=0).fit(data.X, data.y)
    assert isinstance(
        gaussian.predict_dist(data.X[:5]), torch.distributions.Normal
    )
    assert gaussian.scale_ == pytest.approx(
        np.sqrt(np.mean((data.y - gaussian.predict(data.X)) ** 2)), rel=1e-9
    )


# --- refits start afresh ---------------------------------------------------------------------


def test_refit_on_more_classes() -> None:
    X, y = small_classification(90)
    model = Classifier((4,), epochs=2, seed=0).fit(X, np.minimum(y, 1))
    assert model.predict_proba(X).shape == (90, 2)
    model.fit(X, y)
    assert model.predict_proba(X).shape == (90, 3) and np.array_equal(
        model.classes_, [0, 1, 2]
    )


def test_refit_on_fewer_classes_or_other_features() -> None:
    X, y = small_classification(90)
    model = Classifier((4,), epochs=2, seed=0).fit(X, y)
    model.fit(X, np.minimum(y, 1))
    assert model.predict_proba(X).shape == (90, 2) and model.n_classes_ == 2
    model.fit(np.column_stack([X, X]), y)
    assert model.n_features_in_ == 4
    with pytest.raises(
        ValueError,
        match="X has 2 features, but Classifier is expecting 4 features as input",
    ):
        model.predict(X)


def test_refit_equals_a_fresh_fit() -> None:
    X, y = small_classification(120)
    other = make_classification_task(50, seed=8)
    refitted = Classifier((8,), epochs=4, seed=1).fit(
        other.X, other.proba, eval_set=(other.X, other.y)
    )
    refitted.fit(X, y)
    fresh = Classifier((8,), epochs=4, seed=1).fit(X, y)
    assert (
        same_history(refitted.history_, fresh.history_)
        and "val_loss" not in refitted.history_
    )
    assert np.array_equal(refitted.predict_proba(X), fresh.predict_proba(X))


def test_regressor_refit_forgets_the_fitted_scale() -> None:
    data = make_regression_task(200, noise="heteroscedastic", seed=0)
    model = Regressor((8,), epochs=5, seed=0).fit(data.X, data.y)
    assert hasattr(model, "scale_")
    model.set_params(likelihood="heteroscedastic").fit(data.X, data.y)
    assert not hasattr(model, "scale_")
    fresh = Regressor(
        (8,), likelihood="heteroscedastic", epochs=5, seed=0
    ).fit(data.X, data.y)
    assert torch.equal(
        model.predict_dist(data.X).stddev, fresh.predict_dist(data.X).stddev
    )


def test_a_failed_refit_leaves_the_model_unfitted() -> None:
    X, y = small_classification(30)
    model = Classifier((4,), epochs=1, seed=0).fit(X, y)
    with pytest.raises(ValueError, match="only one class"):
        model.fit(X, np.zeros(30))
    assert not [name for name in vars(model) if name.endswith("_")]
    with pytest.raises(NotFittedError):
        model.predict(X)


# --- scikit-learn's conventions, without scikit-learn ----------------------------------------


@pytest.mark.parametrize("cls", [Classifier, Regressor, _SquaredError])
def test_get_params_lists_the_init_arguments(cls) -> None:
    names = [
        p for p in inspect.signature(cls.__init__).parameters if p != "self"
    ]
    model = cls((8,), epochs=3, seed=2)
    params = model.get_params()
    assert sorted(params) == sorted(names)
    assert (
        params["hidden"] == (8,)
        and params["epochs"] == 3
        and params["seed"] == 2
    )
    assert params == model.get_params(deep=False)
    assert cls(**params).get_params() == params
    assert model.set_params(epochs=7, lr=0.5) is model and (
        model.epochs,
        model.lr,
    ) == (7, 0.5)
    with pytest.raises(ValueError, match="'epoch' is not a parameter of"):
        model.set_params(epoch=3)
    assert model.epochs == 7


def test_repr_shows_the_parameters_that_differ_from_the_defaults() -> None:
    assert repr(Classifier()) == "Classifier()"
    assert (
        repr(Regressor((8,), likelihood="laplace", seed=3))
        == "Regressor(hidden=(8,), likelihood='laplace', seed=3)"
    )
    odd = Classifier(
        epochs=np.array([1.0, 4.0])
    )  # repr never fails, whatever was set
    assert repr(odd).startswith("Classifier(epochs=array(")


def test_nothing_is_learned_at_construction() -> None:
    model = Classifier((8,), epochs=3)
    assert not any(name.endswith("_") for name in vars(model))
    with pytest.raises(NotFittedError, match="not fitted yet; call fit"):
        model.predict(np.zeros((1, 2)))
    with pytest.raises(NotFittedError):
        Regressor().predict_dist(np.zeros((1, 1)))
    X, y = small_classification(20)
    model.fit(X, y)
    assert model.n_features_in_ == 2 and model.__sklearn_is_fitted__()


def test_klcourse_works_without_scikit_learn() -> None:
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "import numpy as np, klcourse\n"
        "from klcourse.supervised import Classifier, Regressor\n"
        "X = np.array([[0.0], [1.0], [2.0], [3.0]])\n"
        "m = Classifier((2,), epochs=2, seed=0).fit(X, ['a', 'a', 'b', 'b'])\n"
        "r = Regressor((2,), epochs=2, seed=0).fit(X, X[:, 0])\n"
        "print(m.predict(X).shape, r.predict(X).shape, m.score(X, ['a', 'a', 'b', 'b']) >= 0, repr(m))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(
        "Classifier(hidden=(2,), epochs=2, seed=0)"
    )


# --- inputs as users have them ---------------------------------------------------------------


def test_float32_pandas_and_torch_inputs_give_the_float64_result() -> None:
    data = make_classification_task(120, seed=3)
    X32 = data.X.astype(np.float32)
    X64 = X32.astype(np.float64)
    expected = Classifier((4,), epochs=3, seed=0).fit(X64, data.y)
    inputs = {
        "float32": (X32, data.y),
        "pandas": (pd.DataFrame(X64, columns=["a", "b"]), pd.Series(data.y)),
        "torch": (torch.from_numpy(X32), torch.from_numpy(data.y)),
        "requires_grad": (
            torch.from_numpy(X64).requires_grad_(True),
            torch.from_numpy(data.y),
        ),
        "lists": (X64.tolist(), data.y.tolist()),
    }
    for name, (X, y) in inputs.items():
        model = Classifier((4,), epochs=3, seed=0).fit(X, y, eval_set=(X, y))
        assert np.array_equal(
            model.history_["train_loss"], expected.history_["train_loss"]
        ), name
        assert np.array_equal(
            model.predict_proba(X), expected.predict_proba(X64)
        ), name
        assert model.score(X, y) == expected.score(X64, data.y), name
    logits = torch.randn(
        120, 3, generator=torch.Generator().manual_seed(0), requires_grad=True
    )
    float32_soft = torch.softmax(logits, dim=1)
    assert float32_soft.dtype == torch.float32
    Classifier((4,), epochs=1, seed=0).fit(data.X, float32_soft)


def test_regressor_accepts_tensors_that_require_grad() -> None:
    X = torch.randn(10, 2, requires_grad=True)
    y = torch.randn(10, requires_grad=True)
    model = Regressor((4,), epochs=2, seed=0).fit(X, y, eval_set=(X, y))
    reference = Regressor((4,), epochs=2, seed=0).fit(
        X.detach().numpy(), y.detach().numpy()
    )
    assert np.array_equal(
        model.predict(X), reference.predict(X.detach().numpy())
    )
    assert model.predict_dist(X).batch_shape == (10,)
    assert np.isfinite(model.score(X, y))
    assert class_probabilities(
        torch.randn(3, 2, requires_grad=True)
    ).shape == (3, 3)
    assert true_function(torch.randn(3, requires_grad=True)).shape == (3,)
    assert Classifier((4,), epochs=1, seed=0).fit(X, [0, 1] * 5).predict(
        X
    ).shape == (10,)


@pytest.mark.parametrize(
    "model", [Classifier((4,), epochs=1), Regressor((4,), epochs=1)]
)
def test_complex_input_is_a_type_error_naming_the_argument(model) -> None:
    X, y = small_classification(10)
    with warnings.catch_warnings():
        warnings.simplefilter(
            "error"
        )  # numpy's ComplexWarning would be an error here
        with pytest.raises(
            TypeError, match="X must be real, got complex values"
        ):
            model.fit(X + 1j, y)
        with pytest.raises(
            TypeError, match="y must be real, got complex values"
        ):
            model.fit(X, y + 1j)
        model.fit(X, y)
        with pytest.raises(TypeError, match="X must be real"):
            model.predict(X.astype(complex))
        with pytest.raises(TypeError, match="eval_set X must be real"):
            model.fit(X, y, eval_set=(X + 0j, y))


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("X", "y", "error", "message"),
    [
        (
            np.zeros((5, 2)),
            np.array([0, 1, 2, 1]),
            ValueError,
            "y has 4 rows but X has 5",
        ),
        (
            np.zeros(5),
            np.zeros(5),
            ValueError,
            r"X must have shape \(n_samples, n_features\), got \(5,\)\. Reshape",
        ),
        (
            np.zeros((0, 2)),
            np.zeros(0),
            ValueError,
            r"X has 0 sample\(s\) \(shape=\(0, 2\)\)",
        ),
        (
            np.zeros((3, 0)),
            np.array([0, 1, 0]),
            ValueError,
            r"X has 0 feature\(s\)",
        ),
        (
            np.full((3, 2), np.nan),
            np.array([0, 1, 0]),
            ValueError,
            "X must be finite",
        ),
        (
            np.zeros((3, 2)),
            np.array([0, np.nan, 1]),
            ValueError,
            "y must be finite",
        ),
        (
            np.zeros((3, 2)),
            np.array([0, 1.5, 0]),
            ValueError,
            "y must hold class labels, but it has continuous values such as 1.5",
        ),
        (
            np.zeros((3, 2)),
            np.array([[0.5, 0.6], [1, 0], [0, 1]]),
            ValueError,
            "y must sum to 1 along axis 1",
        ),
        (
            np.zeros((3, 2)),
            np.array([[-0.5, 1.5], [1, 0], [0, 1]]),
            ValueError,
            "y contains negative probabilities",
        ),
        (
            np.zeros((3, 2)),
            np.ones((3, 1)),
            ValueError,
            r"y has shape \(3, 1\): a 2-D y holds one probability per class",
        ),
        (
            np.zeros((3, 2)),
            np.zeros((3, 2, 2)),
            ValueError,
            r"y must have shape \(n,\) or \(n, n_classes\)",
        ),
        (
            np.zeros((3, 2)),
            None,
            ValueError,
            "y is missing: Classifier requires y to be passed",
        ),
        (
            np.zeros((3, 2)),
            np.array([1, None, 0], dtype=object),
            ValueError,
            r"y contains a missing label \(None\)",
        ),
        (
            np.zeros((3, 2)),
            np.array([1, "a", 0], dtype=object),
            TypeError,
            "y mixes labels that cannot be ordered",
        ),
        (
            [[0.0, {"a": 1}]],
            [0],
            TypeError,
            "X must be a numeric array.*argument must be a string or a real number",
        ),
        ("abc", [0], TypeError, "X must be a numeric array, got str"),
    ],
)
def test_classifier_input_errors(X, y, error, message: str) -> None:
    with pytest.raises(error, match=message):
        Classifier((4,), epochs=1).fit(X, y)


def test_sparse_input_is_refused_by_name() -> None:
    from scipy import sparse

    with pytest.raises(TypeError, match="X is a sparse matrix.*X.toarray()"):
        Classifier((4,), epochs=1).fit(sparse.csr_array(np.eye(3)), [0, 1, 1])


def test_feature_mismatch_and_one_dimensional_predict() -> None:
    model = Classifier((4,), epochs=1).fit(
        np.zeros((4, 2)), np.array([0, 1, 2, 1])
    )
    with pytest.raises(
        ValueError,
        match="X has 3 features, but Classifier is expecting 2 features as input",
    ):
        model.predict(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="Reshape your data"):
        model.predict_proba(np.zeros(2))
    with pytest.raises(ValueError, match="X must be finite"):
        model.predict([[np.inf, 0.0]])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"likelihood": "cauchy"},
            ValueError,
            r"likelihood must be one of \('gaussian', 'laplace', 'heteroscedastic', 'mixture'\), got 'cauchy'",
        ),
        ({"likelihood": None}, TypeError, "likelihood must be one of"),
        (
            {"likelihood": "mixture", "n_components": 0},
            ValueError,
            "n_components must be at least 1, got 0",
        ),
        (
            {"n_components": 2.5},
            TypeError,
            "n_components must be an integer, got float",
        ),
        (
            {"scale": 0.0},
            ValueError,
            "scale must be a finite positive number, got 0.0",
        ),
        (
            {"scale": np.inf},
            ValueError,
            "scale must be a finite positive number",
        ),
        ({"scale": "1"}, TypeError, "scale must be a number, got str"),
        ({"epochs": 0}, ValueError, "epochs must be at least 1, got 0"),
        ({"epochs": 2.5}, TypeError, "epochs must be an integer, got float"),
        (
            {"batch_size": 0},
            ValueError,
            "batch_size must be at least 1, got 0",
        ),
        (
            {"batch_size": True},
            TypeError,
            "batch_size must be an integer, got bool",
        ),
        (
            {"lr": -1.0},
            ValueError,
            "lr must be a finite positive number, got -1.0",
        ),
        (
            {"lr": float("nan")},
            ValueError,
            "lr must be a finite positive number",
        ),
        ({"lr": None}, TypeError, "lr must be a number, got NoneType"),
        (
            {"weight_decay": -0.1},
            ValueError,
            "weight_decay must be a finite non-negative number, got -0.1",
        ),
        ({"weight_decay": "0"}, TypeError, "weight_decay must be a number"),
        (
            {"hidden": 8},
            TypeError,
            "hidden must be a sequence of layer widths, got int",
        ),
        (
            {"hidden": "64"},
            TypeError,
            "hidden must be a sequence of layer widths, got str",
        ),
        (
            {"hidden": (8, 0)},
            ValueError,
            r"hidden\[1\] must be at least 1, got 0",
        ),
        (
            {"hidden": (8.0,)},
            TypeError,
            r"hidden\[0\] must be an integer, got float",
        ),
        (
            {"progress": "yes"},
            TypeError,
            "progress must be True, False or None, got str",
        ),
    ],
)
def test_regressor_parameter_errors(kwargs, error, message: str) -> None:
    with pytest.raises(error, match=message):
        Regressor(**kwargs).fit(np.zeros((4, 1)), np.zeros(4))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_classes": 1}, ValueError, "n_classes must be at least 2, got 1"),
        (
            {"n_classes": 3.0},
            TypeError,
            "n_classes must be an integer, got float",
        ),
        ({"epochs": -3}, ValueError, "epochs must be at least 1"),
        (
            {"weight_decay": float("inf")},
            ValueError,
            "weight_decay must be a finite non-negative number",
        ),
    ],
)
def test_classifier_parameter_errors(kwargs, error, message: str) -> None:
    with pytest.raises(error, match=message):
        Classifier(**kwargs).fit(np.zeros((4, 2)), np.array([0, 1, 0, 1]))


def test_weight_decay_zero_is_allowed_and_parameters_are_checked_before_data() -> (
    None
):
    Regressor((2,), epochs=1, weight_decay=0).fit(
        np.zeros((4, 1)), np.zeros(4)
    )
    with pytest.raises(ValueError, match="epochs must be at least 1"):
        Regressor(epochs=0).fit(
            np.zeros(4), None
        )  # the bad parameter is reported first
    with pytest.raises(TypeError, match="callback must be callable, got int"):
        Regressor(epochs=1).fit(np.zeros((4, 1)), np.zeros(4), callback=3)


def test_regressor_target_errors() -> None:
    with pytest.raises(ValueError, match="y must be finite"):
        Regressor().fit(np.zeros((3, 1)), np.array([0.0, np.inf, 1.0]))
    with pytest.raises(
        ValueError, match=r"y must have shape \(3,\), got \(3, 1\)"
    ):
        Regressor().fit(np.zeros((3, 1)), np.zeros((3, 1)))
    with pytest.raises(
        ValueError, match="y is missing: Regressor requires y to be passed"
    ):
        Regressor().fit(np.zeros((3, 1)), None)
    with pytest.raises(
        ValueError, match=r"eval_set y must have shape \(2,\), got \(3,\)"
    ):
        Regressor().fit(
            np.zeros((3, 1)),
            np.zeros(3),
            eval_set=(np.zeros((2, 1)), np.zeros(3)),
        )


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: make_regression_task(10, noise="uniform"),
            ValueError,
            r"noise must be one of \('gaussian', 'laplace', 'heteroscedastic', 'student_t', 'bimodal'\), got 'uniform'",
        ),
        (
            lambda: make_regression_task(10, noise=1),
            TypeError,
            "noise must be one of",
        ),
        (
            lambda: noise_distribution([0.0], "cauchy"),
            ValueError,
            "noise must be one of",
        ),
        (lambda: make_regression_task(0), ValueError, "n must be at least 1"),
        (
            lambda: make_classification_task(2.0),
            TypeError,
            "n must be an integer",
        ),
        (
            lambda: class_probabilities([[1 + 1j, 0]]),
            TypeError,
            "X must be real",
        ),
    ],
)
def test_generator_errors(call, error, message: str) -> None:
    with pytest.raises(error, match=message):
        call()


# --- progress bars and threads ---------------------------------------------------------------


def test_progress_bar_only_when_asked_for_under_pytest(capsys) -> None:
    X, y = small_classification(20)
    assert Classifier().progress is None and Regressor().progress is None
    Classifier((2,), epochs=2, seed=0).fit(X, y)
    assert capsys.readouterr().err == ""
    Classifier((2,), epochs=2, seed=0, progress=True).fit(X, y)
    assert "Classifier" in capsys.readouterr().err


@pytest.mark.parametrize(
    "model",
    [
        Classifier((4,), epochs=3, seed=0),
        Regressor((4,), likelihood="heteroscedastic", epochs=3, seed=0),
    ],
)
def test_torch_runs_single_threaded_and_the_setting_is_restored(model) -> None:
    X, y = small_classification(40)
    target = y if isinstance(model, Classifier) else X[:, 0]
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        during: list[int] = []
        model.fit(
            X,
            target,
            callback=lambda m: during.append(torch.get_num_threads()),
        )
        assert during == [1, 1, 1]
        assert torch.get_num_threads() == 2
        inference: list[int] = []
        model.network_.register_forward_hook(
            lambda *_: inference.append(torch.get_num_threads())
        )
        methods = (
            ["predict", "predict_proba"]
            if isinstance(model, Classifier)
            else ["predict", "predict_dist"]
        )
        for method in methods:
            getattr(model, method)(X)
            assert torch.get_num_threads() == 2
        assert inference == [1] * len(methods)
    finally:
        torch.set_num_threads(previous)


# --- one estimator design -------------------------------------------------------------------


def test_history_is_a_history_with_one_row_per_epoch() -> None:
    X, y = small_classification(120)
    model = Classifier((4,), epochs=4, seed=0).fit(X, y, eval_set=(X, y))
    history = model.history_
    assert isinstance(history, History) and history.x == "epoch"
    assert list(history) == ["epoch", "train_loss", "val_loss"]
    assert history["epoch"].tolist() == [1, 2, 3, 4]
    frame = pd.DataFrame(history)
    assert frame.shape == (4, 3)
    regression = make_regression_task(60, seed=0)
    regressor = Regressor((4,), epochs=3, seed=0)
    regressor.fit(regression.X, regression.y)
    assert list(regressor.history_) == ["epoch", "train_loss"]
    assert regressor.history_.n_rows == 3


def test_a_callback_sees_the_history_so_far() -> None:
    X, y = small_classification(60)
    seen: list[list[int]] = []
    Classifier((4,), epochs=3, seed=0).fit(
        X, y, callback=lambda m: seen.append(m.history_["epoch"].tolist())
    )
    assert seen == [[1], [1, 2], [1, 2, 3]]


def test_not_fitted_error_lives_in_klcourse_exceptions() -> None:
    import klcourse.exceptions
    import klcourse.supervised

    assert klcourse.supervised.NotFittedError is NotFittedError
    assert klcourse.exceptions.NotFittedError is NotFittedError
    assert issubclass(NotFittedError, ValueError)
    assert issubclass(NotFittedError, AttributeError)


def test_the_old_module_names_still_import() -> None:
    from klcourse.supervised import (  # noqa: F401
        BIMODAL_OFFSET,
        BIMODAL_STD,
        CLASS_CENTRES,
        LIKELIHOODS,
        LR_SCHEDULES,
        MIN_SCALE,
        NOISES,
        class_probabilities,
        noise_distribution,
        true_function,
        true_noise_scale,
    )
    from klcourse.supervised.models import Classifier as InModels
    from klcourse.supervised.tasks import make_regression_task as InTasks

    assert InModels is Classifier and InTasks is make_regression_task
