"""klcourse.estimators: Monte Carlo and kNN estimates checked statistically with fixed seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.stats
import torch

from klcourse import kl_gaussian, kl_knn, kl_monte_carlo, kl_mvn
from klcourse.estimators import ESTIMATORS, make_rng

D = torch.distributions
P_MEAN, P_STD, Q_MEAN, Q_STD = 0.0, 1.0, 0.7, 1.3
TRUE_KL = float(kl_gaussian(P_MEAN, P_STD, Q_MEAN, Q_STD))


def torch_normal(mean: float, std: float) -> D.Normal:
    return D.Normal(
        torch.tensor(mean, dtype=torch.float64),
        torch.tensor(std, dtype=torch.float64),
    )


# --- Monte Carlo ---------------------------------------------------------------------------


@pytest.mark.parametrize("estimator", ["k1", "k3"])
def test_unbiased_estimators_have_no_detectable_bias(estimator: str) -> None:
    p, q = torch_normal(P_MEAN, P_STD), scipy.stats.norm(Q_MEAN, Q_STD)
    values = np.array(
        [
            kl_monte_carlo(
                p, q, n_samples=500, estimator=estimator, seed=s
            ).value
            for s in range(400)
        ]
    )
    standard_error_of_mean = values.std(ddof=1) / math.sqrt(len(values))
    assert abs(values.mean() - TRUE_KL) < 4 * standard_error_of_mean


def test_k2_is_biased_for_a_far_pair() -> None:
    # E[(log r)^2 / 2] = KL only to second order; for a far pair the bias is visible.
    p, q = scipy.stats.norm(0, 1), scipy.stats.norm(2.0, 0.5)
    truth = float(kl_gaussian(0, 1, 2.0, 0.5))
    result = kl_monte_carlo(p, q, n_samples=200_000, estimator="k2", seed=1)
    assert abs(result.value - truth) > 20 * result.stderr


def test_reported_stderr_matches_the_spread_over_repeats() -> None:
    p, q = scipy.stats.norm(P_MEAN, P_STD), scipy.stats.norm(Q_MEAN, Q_STD)
    for estimator in ESTIMATORS:
        results = [
            kl_monte_carlo(p, q, n_samples=400, estimator=estimator, seed=s)
            for s in range(300)
        ]
        spread = np.std([r.value for r in results], ddof=1)
        reported = np.mean([r.stderr for r in results])
        assert reported == pytest.approx(spread, rel=0.2), estimator


def test_k3_has_lower_variance_than_k1_for_a_near_pair() -> None:
    p, q = scipy.stats.norm(0, 1), scipy.stats.norm(0.1, 1.05)
    k1 = kl_monte_carlo(p, q, n_samples=20_000, estimator="k1", seed=3)
    k3 = kl_monte_carlo(p, q, n_samples=20_000, estimator="k3", seed=3)
    assert k3.stderr < 0.2 * k1.stderr


def test_k3_terms_are_never_negative() -> None:
    log_r = np.linspace(-30, 30, 10_001)
    assert np.all(ESTIMATORS["k3"](log_r) >= 0)


def test_same_seed_same_result_and_generators_accepted() -> None:
    p, q = torch_normal(0.0, 1.0), torch_normal(1.0, 2.0)
    first = kl_monte_carlo(p, q, seed=42)
    assert kl_monte_carlo(p, q, seed=42) == first
    assert kl_monte_carlo(p, q, seed=43) != first
    assert kl_monte_carlo(
        p, q, seed=np.random.default_rng(5)
    ) == kl_monte_carlo(p, q, seed=np.random.default_rng(5))


def test_torch_global_rng_is_left_untouched() -> None:
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    kl_monte_carlo(torch_normal(0.0, 1.0), torch_normal(1.0, 1.0), seed=1)
    assert torch.equal(torch.rand(3), expected)


def test_multivariate_and_mixed_libraries() -> None:
    mean_q, cov_q = np.array([0.5, -0.5]), np.array([[2.0, 0.3], [0.3, 1.0]])
    p = D.MultivariateNormal(
        torch.zeros(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64)
    )
    q = scipy.stats.multivariate_normal(mean_q, cov_q)
    truth = float(kl_mvn(np.zeros(2), np.eye(2), mean_q, cov_q))
    result = kl_monte_carlo(p, q, n_samples=50_000, estimator="k3", seed=0)
    assert abs(result.value - truth) < 4 * result.stderr


def test_discrete_distributions_work_too() -> None:
    p, q = (
        scipy.stats.binom(10, 0.3),
        D.Binomial(10, torch.tensor(0.5, dtype=torch.float64)),
    )
    support = np.arange(11)
    truth = float(
        np.sum(
            p.pmf(support)
            * (
                p.logpmf(support)
                - q.log_prob(
                    torch.tensor(support, dtype=torch.float64)
                ).numpy()
            )
        )
    )
    result = kl_monte_carlo(p, q, n_samples=50_000, seed=0)
    assert abs(result.value - truth) < 4 * result.stderr


def test_infinite_when_q_misses_samples_of_p() -> None:
    result = kl_monte_carlo(
        scipy.stats.uniform(0, 2),
        scipy.stats.uniform(0, 1),
        n_samples=100,
        seed=0,
    )
    assert result.value == math.inf
    assert float(result) == math.inf


def test_monte_carlo_errors() -> None:
    p = scipy.stats.norm(0, 1)
    with pytest.raises(
        ValueError,
        match=r"estimator must be one of \('k1', 'k2', 'k3'\), got 'k4'",
    ):
        kl_monte_carlo(p, p, estimator="k4")
    with pytest.raises(
        ValueError, match="n_samples must be at least 2, got 1"
    ):
        kl_monte_carlo(p, p, n_samples=1)
    with pytest.raises(TypeError, match="n_samples must be an integer"):
        kl_monte_carlo(p, p, n_samples=10.5)
    with pytest.raises(
        TypeError, match="q must be a torch.distributions.Distribution"
    ):
        kl_monte_carlo(p, "normal")
    with pytest.raises(TypeError, match="seed must be an int"):
        make_rng(1.5)


# --- k nearest neighbours ------------------------------------------------------------------


@pytest.mark.parametrize(("d", "k"), [(1, 1), (2, 1), (2, 5), (5, 3)])
def test_kl_knn_converges_to_the_closed_form(d: int, k: int) -> None:
    rng = np.random.default_rng(10 + d + k)
    mean_q = np.full(d, 0.5)
    cov_q = np.diag(np.linspace(0.8, 2.0, d))
    truth = float(kl_mvn(np.zeros(d), np.eye(d), mean_q, cov_q))
    estimates = [
        kl_knn(
            rng.normal(size=(4000, d)),
            rng.multivariate_normal(mean_q, cov_q, size=4000),
            k=k,
        )
        for _ in range(10)
    ]
    assert abs(np.mean(estimates) - truth) < 0.05 + 0.1 * truth


def test_kl_knn_equals_a_direct_loop_over_points() -> None:
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=(60, 3)), rng.normal(1.0, 1.0, size=(45, 3))
    k = 2
    terms = []
    for i, point in enumerate(x):
        rho = np.sort(np.linalg.norm(np.delete(x, i, axis=0) - point, axis=1))[
            k - 1
        ]
        nu = np.sort(np.linalg.norm(y - point, axis=1))[k - 1]
        terms.append(math.log(nu / rho))
    expected = 3 * np.mean(terms) + math.log(45 / 59)
    assert kl_knn(x, y, k=k) == pytest.approx(expected, rel=1e-12)


def test_kl_knn_accepts_one_dimensional_arrays() -> None:
    rng = np.random.default_rng(12)
    x, y = rng.normal(size=500), rng.normal(size=700)
    assert kl_knn(x, y) == kl_knn(x[:, None], y[:, None])


@pytest.mark.parametrize(
    ("x", "y", "kwargs", "error", "message"),
    [
        (
            np.zeros((5, 2)) + np.arange(5)[:, None],
            np.ones((4, 3)),
            {},
            ValueError,
            "same dimension, got 2 and 3",
        ),
        (
            np.arange(3.0),
            np.arange(10.0) + 0.5,
            {"k": 3},
            ValueError,
            "x needs more than k=3 samples, got 3",
        ),
        (
            np.arange(10.0),
            np.arange(2.0) + 0.5,
            {"k": 3},
            ValueError,
            "y needs at least k=3 samples, got 2",
        ),
        (
            np.array([0.0, 1.0, 1.0, 2.0]),
            np.array([0.5, 3.5]),
            {},
            ValueError,
            "x contains duplicate points",
        ),
        (
            np.array([0.0, 1.0, 2.0]),
            np.array([1.0, 5.0]),
            {},
            ValueError,
            "x and y share points",
        ),
        (
            np.array([0.0, np.nan, 2.0]),
            np.array([1.5]),
            {},
            ValueError,
            "x must be finite",
        ),
        (
            np.zeros((2, 2, 2)),
            np.zeros((2, 2)),
            {},
            ValueError,
            r"x must have shape \(n, d\)",
        ),
        (
            np.arange(5.0),
            np.arange(5.0) + 0.5,
            {"k": 0},
            ValueError,
            "k must be at least 1",
        ),
        (
            np.arange(5.0),
            np.arange(5.0) + 0.5,
            {"k": 1.0},
            TypeError,
            "k must be an integer",
        ),
    ],
)
def test_kl_knn_errors(x, y, kwargs, error, message: str) -> None:
    with pytest.raises(error, match=message):
        kl_knn(x, y, **kwargs)


def test_monte_carlo_refuses_batches_with_a_message_that_says_what_to_do() -> (
    None
):
    batch_p = D.Normal(torch.zeros(3), 1.0)
    batch_q = D.Normal(torch.ones(3), 1.0)
    with pytest.raises(
        ValueError,
        match=r"p is a batch of distributions \(batch_shape=\(3,\)\).*Independent",
    ):
        kl_monte_carlo(batch_p, batch_q)
    with pytest.raises(
        ValueError, match="q is a batch of scipy.stats distributions"
    ):
        kl_monte_carlo(
            scipy.stats.norm(0, 1), scipy.stats.norm(np.zeros(3), 1)
        )
    # The suggested fix works and agrees with the closed form: 3 × 0.5 nats.
    joint = kl_monte_carlo(
        D.Independent(batch_p, 1),
        D.Independent(batch_q, 1),
        estimator="k3",
        seed=0,
    )
    assert abs(joint.value - 1.5) < 4 * joint.stderr


def test_monte_carlo_refuses_distributions_over_different_spaces() -> None:
    mvn = D.MultivariateNormal(
        torch.zeros(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64)
    )
    with pytest.raises(
        ValueError, match=r"same space, got event shapes \(\) and \(2,\)"
    ):
        kl_monte_carlo(torch_normal(0.0, 1.0), mvn)


def test_monte_carlo_accepts_float32_torch_distributions() -> None:
    result = kl_monte_carlo(
        D.Normal(0.0, 1.0), D.Normal(1.0, 1.0), estimator="k3", seed=1
    )
    assert abs(result.value - 0.5) < 4 * result.stderr


# --- many Monte Carlo estimates at once ------------------------------------------------------


@pytest.mark.parametrize("estimator", ["k1", "k2", "k3"])
def test_repeated_estimates_have_the_predicted_mean_and_spread(
    estimator: str,
) -> None:
    from klcourse.estimators import kl_monte_carlo_repeated

    # A near pair (sigma_q^2 < 4/3 sigma_p^2): every term has finite fourth
    # moments, so the sample spread of the estimates is itself reliable.
    p, q = scipy.stats.norm(0.0, 1.0), torch_normal(0.3, 1.1)
    values = kl_monte_carlo_repeated(
        p, q, n_samples=200, n_repeats=4000, estimator=estimator, seed=0
    )
    assert values.shape == (4000,)
    # The oracle: the mean and variance of one term, by numerical integration.
    log_r = lambda x: scipy.stats.norm(0.3, 1.1).logpdf(x) - p.logpdf(x)
    term = lambda x: ESTIMATORS[estimator](log_r(x))
    moment = lambda k: scipy.integrate.quad(
        lambda x: p.pdf(x) * term(x) ** k, -15, 15, limit=200
    )[0]  # beyond |x| = 15 every moment's integrand is below 1e-20
    mean, variance = moment(1), moment(2) - moment(1) ** 2
    assert values.std(ddof=1) == pytest.approx(
        math.sqrt(variance / 200), rel=0.06
    )
    assert abs(values.mean() - mean) < 4 * math.sqrt(variance / 200 / 4000)


def test_repeated_estimates_are_seeded_and_leave_global_state_alone() -> None:
    from klcourse.estimators import kl_monte_carlo_repeated

    p, q = torch_normal(0.0, 1.0), torch_normal(0.5, 1.0)
    torch.manual_seed(5)
    before = torch.get_rng_state().clone()
    a = kl_monte_carlo_repeated(p, q, n_samples=10, n_repeats=5, seed=3)
    b = kl_monte_carlo_repeated(
        p, q, n_samples=10, n_repeats=5, seed=np.random.default_rng(3)
    )
    assert np.array_equal(a, b)
    assert torch.equal(before, torch.get_rng_state())
    assert not np.array_equal(
        a, kl_monte_carlo_repeated(p, q, n_samples=10, n_repeats=5, seed=4)
    )


def test_repeated_estimates_are_infinite_where_q_misses_p() -> None:
    from klcourse.estimators import kl_monte_carlo_repeated

    values = kl_monte_carlo_repeated(
        scipy.stats.uniform(0, 2),
        scipy.stats.uniform(0, 1),
        n_samples=50,
        n_repeats=4,
        estimator="k3",
        seed=0,
    )
    assert np.all(np.isinf(values))
    finite = kl_monte_carlo_repeated(
        scipy.stats.uniform(0, 1),
        scipy.stats.uniform(0, 2),
        n_samples=50,
        n_repeats=4,
        seed=0,
    )
    assert np.allclose(finite, math.log(2), rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"estimator": "k4"}, ValueError, "estimator must be one of"),
        ({"n_samples": 1}, ValueError, "n_samples must be at least 2"),
        ({"n_repeats": 0}, ValueError, "n_repeats must be at least 1"),
        ({"n_repeats": 2.5}, TypeError, "n_repeats must be an integer"),
    ],
)
def test_repeated_estimate_errors(kwargs, error, message: str) -> None:
    from klcourse.estimators import kl_monte_carlo_repeated

    options = {"n_samples": 10, "n_repeats": 3, **kwargs}
    with pytest.raises(error, match=message):
        kl_monte_carlo_repeated(
            scipy.stats.norm(0, 1), scipy.stats.norm(1, 1), **options
        )
    with pytest.raises(ValueError, match="same space"):
        kl_monte_carlo_repeated(
            scipy.stats.norm(0, 1),
            scipy.stats.multivariate_normal(np.zeros(2)),
            n_samples=10,
            n_repeats=2,
        )


@pytest.mark.parametrize("estimator", ["k1", "k2", "k3"])
def test_one_repeat_is_the_single_estimate(estimator: str) -> None:
    """Both Monte Carlo functions share one validation and one draw."""
    from klcourse.estimators import kl_monte_carlo_repeated

    p, q = scipy.stats.norm(0, 1), torch_normal(0.4, 1.3)
    single = kl_monte_carlo(p, q, n_samples=64, estimator=estimator, seed=7)
    repeated = kl_monte_carlo_repeated(
        p, q, n_samples=64, n_repeats=1, estimator=estimator, seed=7
    )
    assert repeated.shape == (1,) and repeated[0] == single.value


def test_kl_knn_refuses_repeated_points_for_every_k() -> None:
    """Continuous samples never repeat; a repeat biases the estimate for any k.

    Issue 18: 500 duplicated rows in 2,000 draws of P = Q gave 0.31 with
    k = 2 (the truth is 0), because only a zero k-th neighbour distance was
    refused. Now any repeat is refused by name, within x, within y, or
    across the two.
    """
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2000, 2)), rng.normal(size=(2000, 2))
    x[1500:] = x[:500]
    for k in (1, 2, 3, 5):
        with pytest.raises(ValueError, match="x contains duplicate points"):
            kl_knn(x, y, k=k)
    x = rng.normal(size=(2000, 2))
    one_copy = np.vstack([x, x[:1]])  # a single duplicate is enough
    with pytest.raises(ValueError, match=r"duplicate points \(2 samples"):
        kl_knn(one_copy, y, k=2)
    y_copies = y.copy()
    y_copies[1500:] = y[:500]
    with pytest.raises(ValueError, match="y contains duplicate points"):
        kl_knn(x, y_copies, k=2)
    shared = np.vstack([y[:1], y[1:]])
    shared[0] = x[7]
    with pytest.raises(ValueError, match="x and y share points"):
        kl_knn(x, shared, k=3)
    with pytest.raises(ValueError, match="x and y share points"):
        kl_knn(x, x, k=2)  # the same sample twice is not two samples
    # distinct points pass, and one of y's may stand alone (m = k = 1)
    assert np.isfinite(kl_knn(x, y, k=2))
    assert np.isfinite(kl_knn(x, y[:1], k=1))


def test_kl_knn_is_near_zero_for_distinct_draws_of_one_distribution() -> None:
    """The same data without repeats: P = Q gives about the truth, 0."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(2000, 2)), rng.normal(size=(2000, 2))
    estimate = kl_knn(x, y, k=2)
    assert abs(estimate) < 0.05  # P = Q, distinct points: near the truth 0


@pytest.mark.parametrize(
    ("workers", "error", "message"),
    [
        (0, ValueError, "workers must be -1"),
        (-2, ValueError, "workers must be -1"),
        ("2", TypeError, "workers must be an integer"),
        (1.0, TypeError, "workers must be an integer"),
        (True, TypeError, "workers must be an integer"),
    ],
)
def test_kl_knn_workers_are_checked(workers, error, message: str) -> None:
    x, y = np.arange(5.0), np.arange(5.0) + 0.5
    with pytest.raises(error, match=message):
        kl_knn(x, y, workers=workers)
    assert kl_knn(x, y, workers=1) == kl_knn(x, y, workers=-1)


# --- issue 18: estimators at the edges of their inputs ---------------------------------------


def test_an_infinite_monte_carlo_estimate_has_no_nan_stderr() -> None:
    """q = 0 at a sample of P makes KL infinite for certain: stderr 0, not NaN."""
    result = kl_monte_carlo(
        scipy.stats.uniform(0, 2),
        scipy.stats.uniform(0, 1),
        n_samples=100,
        seed=0,
    )
    assert result.value == math.inf and result.stderr == 0.0


def test_monte_carlo_refuses_sizes_that_do_not_fit_in_memory() -> None:
    from klcourse.estimators import kl_monte_carlo_repeated

    p, q = scipy.stats.norm(0, 1), scipy.stats.norm(1, 1)
    with pytest.raises(
        ValueError, match="n_samples asks for 1,000,000,000,000 numbers"
    ):
        kl_monte_carlo(p, q, n_samples=10**12)
    with pytest.raises(ValueError, match=r"n_samples \* n_repeats asks for"):
        kl_monte_carlo_repeated(p, q, n_samples=10**6, n_repeats=10**6)
    with pytest.raises(TypeError, match="estimator must be one of"):
        kl_monte_carlo(
            p, q, estimator=["k1"]
        )  # unhashable: was a bare TypeError


@pytest.mark.parametrize("name", ["k1", "k2", "k3"])
def test_estimator_terms_refuse_text_nan_and_impossible_ratios(
    name: str,
) -> None:
    term = ESTIMATORS[name]
    with pytest.raises(TypeError, match="log_r must be a numeric array"):
        term("0.5")
    with pytest.raises(
        TypeError, match="log_r must be a numeric array, got text"
    ):
        term(["0.5", "1"])
    with pytest.raises(ValueError, match=r"log_r = log q\(x\) - log p\(x\)"):
        term([0.0, np.nan])
    with pytest.raises(ValueError, match=r"NaN or \+inf"):
        term([np.inf])
    assert term(np.array([-np.inf]))[0] == math.inf  # q = 0: infinite term
    # torch tensors keep their graph, as chapter 7's penalties need
    log_r = torch.tensor([-0.3, 0.2], dtype=torch.float64, requires_grad=True)
    value = term(log_r)
    assert isinstance(value, torch.Tensor) and value.requires_grad
    np.testing.assert_allclose(
        value.detach().numpy(), term(log_r.detach().numpy())
    )


def test_k3_beyond_float_range_is_inf_without_a_warning() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ESTIMATORS["k3"](np.array([800.0]))[0] == math.inf
