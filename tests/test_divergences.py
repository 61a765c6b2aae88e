"""klcourse.divergences against scipy/torch oracles, properties and every error path."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.special
import scipy.stats
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from klcourse import (
    cross_entropy,
    entropy,
    kl_divergence,
    kl_gaussian,
    kl_mvn,
    kl_quadrature,
)


@pytest.fixture(autouse=True)
def float64_by_default():
    """These tests build torch distributions from Python floats: make those float64, then restore."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def random_simplex(
    rng: np.random.Generator, shape: tuple[int, ...], zeros: bool = False
) -> np.ndarray:
    p = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    if zeros:
        p = np.where(rng.random(shape) < 0.3, 0.0, p)
        p[..., 0] += 1e-3  # keep at least one outcome
        p /= p.sum(axis=-1, keepdims=True)
    return p


def simplex(n: int) -> st.SearchStrategy[np.ndarray]:
    """Probability vectors of length n (hypothesis), zeros allowed."""
    weights = arrays(
        np.float64, n, elements=st.floats(0, 1e3, allow_subnormal=False)
    )
    return weights.filter(lambda w: w.sum() > 1e-6).map(lambda w: w / w.sum())


# --- discrete: oracles -------------------------------------------------------------------


@pytest.mark.parametrize("zeros", [False, True])
def test_kl_divergence_matches_scipy_rel_entr_and_entropy(zeros: bool) -> None:
    rng = np.random.default_rng(1)
    for size in range(2, 30):
        p = random_simplex(rng, (size,), zeros=zeros)
        q = random_simplex(rng, (size,))
        expected = scipy.special.rel_entr(p, q).sum()
        assert kl_divergence(p, q) == pytest.approx(
            expected, rel=1e-12, abs=1e-15
        )
        assert kl_divergence(p, q) == pytest.approx(
            scipy.stats.entropy(p, q), rel=1e-12, abs=1e-15
        )
        assert kl_divergence(p, q, base=2) == pytest.approx(
            scipy.stats.entropy(p, q, base=2), rel=1e-12
        )
        assert entropy(p) == pytest.approx(
            scipy.stats.entropy(p), rel=1e-12, abs=1e-15
        )


def test_kl_divergence_matches_torch_categorical_batched() -> None:
    rng = np.random.default_rng(2)
    p = random_simplex(rng, (40, 6))
    q = random_simplex(rng, (40, 6))
    oracle = torch.distributions.kl_divergence(
        torch.distributions.Categorical(probs=torch.tensor(p)),
        torch.distributions.Categorical(probs=torch.tensor(q)),
    ).numpy()
    np.testing.assert_allclose(kl_divergence(p, q), oracle, rtol=1e-12)


def test_axis_and_broadcasting() -> None:
    rng = np.random.default_rng(3)
    p = random_simplex(rng, (4, 5))
    q = random_simplex(rng, (5,))
    batched = kl_divergence(p, q)
    assert batched.shape == (4,)
    np.testing.assert_allclose(
        batched, [kl_divergence(row, q) for row in p], rtol=0
    )
    np.testing.assert_allclose(
        kl_divergence(p.T, q[:, None], axis=0), batched, rtol=1e-15
    )
    np.testing.assert_allclose(
        cross_entropy(p.T, q[:, None], axis=0), cross_entropy(p, q), rtol=1e-15
    )
    np.testing.assert_allclose(entropy(p.T, axis=0), entropy(p), rtol=1e-15)


def test_returns_numpy_scalar_for_single_distributions() -> None:
    value = kl_divergence([0.2, 0.8], [0.5, 0.5])
    assert isinstance(value, np.float64)


# --- discrete: semantics -------------------------------------------------------------------


def test_q_zero_where_p_positive_gives_exactly_inf() -> None:
    assert kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert cross_entropy([0.5, 0.5], [1.0, 0.0]) == math.inf


def test_p_zero_terms_contribute_exactly_zero() -> None:
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.25, 0.5])
    assert kl_divergence(p, q) == 0.5 * math.log(2) + 0.5 * math.log(2)
    assert (
        kl_divergence([1.0, 0.0], [1.0, 0.0]) == 0.0
    )  # 0 log 0/0 is 0, not NaN
    assert entropy([1.0, 0.0]) == 0.0


def test_kl_of_a_distribution_with_itself_is_exactly_zero() -> None:
    rng = np.random.default_rng(4)
    p = random_simplex(rng, (200, 7), zeros=True)
    assert np.all(kl_divergence(p, p) == 0.0)


def test_bits_are_nats_over_log_two() -> None:
    p, q = [0.1, 0.2, 0.7], [0.3, 0.3, 0.4]
    assert kl_divergence(p, q, base=2) == pytest.approx(
        kl_divergence(p, q) / math.log(2), rel=1e-15
    )


# --- discrete: properties ------------------------------------------------------------------


@given(p=simplex(5), q=simplex(5))
def test_non_negative_and_cross_entropy_identity(
    p: np.ndarray, q: np.ndarray
) -> None:
    kl = kl_divergence(p, q)
    assert kl >= -1e-12
    h, ce = entropy(p), cross_entropy(p, q)
    if math.isfinite(kl):
        assert ce == pytest.approx(h + kl, rel=1e-9, abs=1e-9)
    else:
        assert ce == math.inf


@given(p=simplex(4))
def test_zero_at_equality(p: np.ndarray) -> None:
    assert kl_divergence(p, p) == 0.0


@given(p=simplex(3), q=simplex(3))
def test_asymmetry_is_the_rule(p: np.ndarray, q: np.ndarray) -> None:
    forward, reverse = kl_divergence(p, q), kl_divergence(q, p)
    assume(
        math.isfinite(forward) and math.isfinite(reverse) and forward > 1e-3
    )
    # Symmetry holds only on a measure-zero set; hypothesis's generic pairs break it.
    mirrored = np.allclose(np.sort(p), np.sort(q)) or np.allclose(p, q)
    assume(not mirrored)
    assert forward != pytest.approx(reverse, rel=1e-9)


def test_a_known_asymmetric_pair() -> None:
    p, q = [0.9, 0.1], [0.5, 0.5]
    assert kl_divergence(p, q) == pytest.approx(
        0.9 * math.log(1.8) + 0.1 * math.log(0.2)
    )
    assert kl_divergence(q, p) == pytest.approx(
        0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(5)
    )
    assert kl_divergence(p, q) < kl_divergence(q, p)


# --- discrete: errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "q", "message"),
    [
        ([0.5, -0.5, 1.0], [0.3, 0.3, 0.4], "p contains negative"),
        ([0.5, 0.5], [np.nan, 1.0], "q contains NaN"),
        ([0.5, 0.6], [0.5, 0.5], "p must sum to 1"),
        ([0.5, 0.5], [0.2, 0.2], "q must sum to 1"),
        ([0.5, 0.5], [0.2, 0.3, 0.5], "same number of outcomes"),
        (np.full((2, 2), 0.5), np.full((3, 2), 0.5), "do not broadcast"),
        (1.0, [1.0], "p must have at least one dimension"),
    ],
)
def test_discrete_errors_name_the_argument(p, q, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kl_divergence(p, q)


def test_discrete_type_and_option_errors() -> None:
    with pytest.raises(TypeError, match="p must be a numeric array"):
        kl_divergence("abc", [1.0])
    with pytest.raises(TypeError, match="axis must be an integer"):
        kl_divergence([1.0], [1.0], axis=0.5)
    with pytest.raises(ValueError, match="axis 3 is out of range for p"):
        entropy([0.5, 0.5], axis=3)
    with pytest.raises(ValueError, match="base must be positive"):
        entropy([0.5, 0.5], base=1)
    with pytest.raises(TypeError, match="base must be a positive number"):
        cross_entropy([0.5, 0.5], [0.5, 0.5], base="2")
    with pytest.raises(ValueError, match="p contains infinite"):
        entropy([np.inf, 0.5])


# --- univariate Gaussian -------------------------------------------------------------------


def test_kl_gaussian_matches_torch_over_many_cases() -> None:
    rng = np.random.default_rng(5)
    mp, mq = rng.normal(0, 3, 5000), rng.normal(0, 3, 5000)
    sp, sq = rng.lognormal(0, 1, 5000), rng.lognormal(0, 1, 5000)
    oracle = torch.distributions.kl_divergence(
        torch.distributions.Normal(torch.tensor(mp), torch.tensor(sp)),
        torch.distributions.Normal(torch.tensor(mq), torch.tensor(sq)),
    ).numpy()
    np.testing.assert_allclose(
        kl_gaussian(mp, sp, mq, sq), oracle, rtol=1e-10, atol=1e-14
    )


def test_kl_gaussian_broadcasts_and_is_zero_at_equality() -> None:
    assert kl_gaussian(np.zeros((3, 1)), 1.0, np.zeros(4), 2.0).shape == (3, 4)
    mean, std = np.linspace(-5, 5, 50), np.geomspace(1e-3, 1e3, 50)
    assert np.all(kl_gaussian(mean, std, mean, std) == 0.0)


def test_kl_gaussian_keeps_relative_precision_for_nearly_equal_widths() -> (
    None
):
    """x - log(1 + x) cancels for small x; 50-digit decimals are the oracle."""
    from decimal import Decimal, getcontext

    getcontext().prec = 50
    for k in range(3, 15):
        std_q = 1.0 + 10.0**-k
        r = Decimal(1) / Decimal(std_q)  # sigma_p / sigma_q, exactly as stored
        exact = -r.ln() + (r * r - 1) / 2
        got = kl_gaussian(0.0, 1.0, 0.0, std_q)
        assert abs(got / float(exact) - 1) < 1e-12, (k, got, exact)
    # The textbook form loses these digits, so the test can fail.
    naive = math.log(1.0 + 1e-12) + 1 / (2 * (1.0 + 1e-12) ** 2) - 0.5
    exact_12 = kl_gaussian(0.0, 1.0, 0.0, 1.0 + 1e-12)
    assert abs(naive / exact_12 - 1) > 1e-6


def test_kl_mvn_keeps_relative_precision_for_nearly_equal_covariances() -> (
    None
):
    # A diagonal case is a sum of univariate ones, which the test above pins down.
    for k in range(3, 14):
        std_q = np.array([1.0 + 10.0**-k, 1.0, 1.0 - 2 * 10.0**-k])
        got = kl_mvn(np.zeros(3), np.eye(3), np.zeros(3), np.diag(std_q**2))
        want = sum(
            kl_gaussian(0.0, 1.0, 0.0, float(np.sqrt(s * s))) for s in std_q
        )
        assert abs(got / want - 1) < 1e-10, (k, got, want)


@given(
    mp=st.floats(-10, 10),
    sp=st.floats(0.01, 10),
    mq=st.floats(-10, 10),
    sq=st.floats(0.01, 10),
)
def test_kl_gaussian_non_negative_and_matches_quadrature(
    mp, sp, mq, sq
) -> None:
    value = kl_gaussian(mp, sp, mq, sq)
    assert value >= 0.0
    if abs(mp - mq) < 5 * max(
        sp, sq
    ):  # keep quad's integrand well inside float range
        quad = kl_quadrature(
            scipy.stats.norm(mp, sp), scipy.stats.norm(mq, sq)
        )
        assert quad == pytest.approx(value, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0.0, 0.0, 0.0, 1.0), "std_p must be finite and strictly positive"),
        ((0.0, 1.0, 0.0, -1.0), "std_q must be finite and strictly positive"),
        ((np.nan, 1.0, 0.0, 1.0), "mean_p must be finite"),
        ((0.0, 1.0, np.inf, 1.0), "mean_q must be finite"),
        (
            (0.0, np.nan, 0.0, 1.0),
            "std_p must be finite and strictly positive",
        ),
    ],
)
def test_kl_gaussian_errors(args, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kl_gaussian(*args)


def test_kl_gaussian_shape_mismatch() -> None:
    with pytest.raises(
        ValueError,
        match=r"do not broadcast: mean_p\(3,\), std_p\(\), mean_q\(4,\)",
    ):
        kl_gaussian(np.zeros(3), 1.0, np.zeros(4), 1.0)


# --- multivariate Gaussian -----------------------------------------------------------------


def random_spd(
    rng: np.random.Generator, batch: tuple[int, ...], d: int
) -> np.ndarray:
    a = rng.normal(size=batch + (d, d))
    return a @ np.swapaxes(a, -1, -2) + 0.1 * np.eye(d)


@pytest.mark.parametrize("d", [1, 2, 5, 10])
def test_kl_mvn_matches_torch_batched(d: int) -> None:
    rng = np.random.default_rng(d)
    mp, mq = rng.normal(size=(50, d)), rng.normal(size=(50, d))
    cp, cq = random_spd(rng, (50,), d), random_spd(rng, (50,), d)
    mvn = torch.distributions.MultivariateNormal
    oracle = torch.distributions.kl_divergence(
        mvn(torch.tensor(mp), covariance_matrix=torch.tensor(cp)),
        mvn(torch.tensor(mq), covariance_matrix=torch.tensor(cq)),
    ).numpy()
    np.testing.assert_allclose(kl_mvn(mp, cp, mq, cq), oracle, rtol=1e-9)


def test_kl_mvn_reduces_to_kl_gaussian_for_diagonal_covariances() -> None:
    rng = np.random.default_rng(7)
    mp, mq = rng.normal(size=3), rng.normal(size=3)
    sp, sq = rng.uniform(0.5, 2, 3), rng.uniform(0.5, 2, 3)
    expected = kl_gaussian(mp, sp, mq, sq).sum()
    assert kl_mvn(mp, np.diag(sp**2), mq, np.diag(sq**2)) == pytest.approx(
        expected, rel=1e-12
    )


def test_kl_mvn_zero_at_equality_and_broadcasting() -> None:
    rng = np.random.default_rng(8)
    mean, cov = rng.normal(size=(20, 4)), random_spd(rng, (20,), 4)
    assert np.all(kl_mvn(mean, cov, mean, cov) == 0.0)
    shared = kl_mvn(mean, cov, np.zeros(4), np.eye(4))
    assert shared.shape == (20,)
    assert shared[3] == pytest.approx(
        kl_mvn(mean[3], cov[3], np.zeros(4), np.eye(4)), rel=1e-12
    )


def test_kl_mvn_is_stable_for_ill_conditioned_covariances() -> None:
    cov = np.diag([1e-5, 1.0, 1e5])  # condition number 1e10
    rotation = np.linalg.qr(np.random.default_rng(9).normal(size=(3, 3)))[0]
    cov = rotation @ cov @ rotation.T
    cov = (cov + cov.T) / 2
    value = kl_mvn(np.zeros(3), cov, np.zeros(3), cov * 1.01)
    expected = (
        0.5 * 3 * (1 / 1.01 - 1 + math.log(1.01))
    )  # scaling by c: d/2 (1/c - 1 + log c)
    assert value == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            (
                np.zeros(2),
                np.array([[1.0, 0.5], [0.0, 1.0]]),
                np.zeros(2),
                np.eye(2),
            ),
            "cov_p must be symmetric",
        ),
        (
            (
                np.zeros(2),
                np.eye(2),
                np.zeros(2),
                np.array([[1.0, 2.0], [2.0, 1.0]]),
            ),
            "cov_q must be positive definite",
        ),
        (
            (np.zeros(2), np.eye(2), np.zeros(3), np.eye(3)),
            "mean_p has dimension 2 but mean_q has dimension 3",
        ),
        (
            (np.zeros(2), np.eye(3), np.zeros(2), np.eye(2)),
            "cov_p is 3x3 but the means have dimension 2",
        ),
        (
            (np.zeros(2), np.ones(2), np.zeros(2), np.eye(2)),
            r"cov_p must have shape \(..., d, d\)",
        ),
        ((0.0, np.eye(1), 0.0, np.eye(1)), "got a scalar"),
        (
            (np.zeros((3, 2)), np.eye(2), np.zeros((4, 2)), np.eye(2)),
            "do not broadcast",
        ),
        (
            (np.zeros(2), np.full((2, 2), np.nan), np.zeros(2), np.eye(2)),
            "cov_p must be finite",
        ),
    ],
)
def test_kl_mvn_errors(args, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kl_mvn(*args)


# --- quadrature ----------------------------------------------------------------------------


def test_kl_quadrature_accepts_torch_and_scipy_alike() -> None:
    torch_p = torch.distributions.Normal(torch.tensor(0.3), torch.tensor(0.7))
    scipy_q = scipy.stats.norm(-1.0, 1.9)
    expected = kl_gaussian(0.3, 0.7, -1.0, 1.9)
    assert kl_quadrature(torch_p, scipy_q) == pytest.approx(expected, rel=1e-9)
    assert kl_quadrature(scipy.stats.norm(0.3, 0.7), scipy_q) == pytest.approx(
        expected, rel=1e-9
    )


def test_kl_quadrature_matches_torch_for_other_families() -> None:
    d = torch.distributions
    pairs = [
        (d.Exponential(torch.tensor(1.5)), d.Exponential(torch.tensor(0.4))),
        (
            d.Laplace(torch.tensor(0.0), torch.tensor(1.0)),
            d.Laplace(torch.tensor(1.0), torch.tensor(2.0)),
        ),
        (
            d.Gamma(torch.tensor(2.0), torch.tensor(1.0)),
            d.Gamma(torch.tensor(3.0), torch.tensor(2.0)),
        ),
        (
            d.Beta(torch.tensor(2.0), torch.tensor(3.0)),
            d.Beta(torch.tensor(1.5), torch.tensor(1.5)),
        ),
    ]
    for p, q in pairs:
        assert kl_quadrature(p, q) == pytest.approx(
            float(d.kl_divergence(p, q)), rel=1e-7
        )


def test_kl_quadrature_finds_narrow_far_densities() -> None:
    assert kl_quadrature(
        scipy.stats.norm(1e3, 1e-2), scipy.stats.norm(1e3 + 1e-2, 1e-2)
    ) == pytest.approx(0.5)


def test_kl_quadrature_infinite_when_q_misses_mass_of_p() -> None:
    wide, narrow = scipy.stats.uniform(0, 2), scipy.stats.uniform(0, 1)
    assert kl_quadrature(wide, narrow) == math.inf
    assert kl_quadrature(narrow, wide) == pytest.approx(math.log(2), rel=1e-9)
    torch_wide = torch.distributions.Uniform(
        torch.tensor(0.0), torch.tensor(2.0)
    )
    torch_narrow = torch.distributions.Uniform(
        torch.tensor(0.0), torch.tensor(1.0)
    )
    assert kl_quadrature(torch_wide, torch_narrow) == math.inf
    assert kl_quadrature(torch_narrow, torch_wide) == pytest.approx(
        math.log(2), rel=1e-9
    )


def test_kl_quadrature_on_a_mixture() -> None:
    d = torch.distributions
    mixture = d.MixtureSameFamily(
        d.Categorical(torch.tensor([0.3, 0.7])),
        d.Normal(torch.tensor([-2.0, 2.0]), torch.tensor([0.5, 0.8])),
    )
    q = d.Normal(torch.tensor(0.0), torch.tensor(2.0))
    grid = np.linspace(-12, 12, 200_001)
    log_p = mixture.log_prob(torch.tensor(grid)).numpy()
    log_q = q.log_prob(torch.tensor(grid)).numpy()
    riemann = np.trapezoid(np.exp(log_p) * (log_p - log_q), grid)
    assert kl_quadrature(mixture, q) == pytest.approx(riemann, rel=1e-8)


def test_kl_quadrature_errors() -> None:
    normal = scipy.stats.norm(0, 1)
    with pytest.raises(
        TypeError,
        match="p must be a torch.distributions.Distribution or a frozen",
    ):
        kl_quadrature([0.5, 0.5], normal)
    with pytest.raises(
        TypeError, match="q is an unfrozen scipy.stats distribution"
    ):
        kl_quadrature(normal, scipy.stats.norm)
    with pytest.raises(TypeError, match="q must be a continuous distribution"):
        kl_quadrature(normal, scipy.stats.poisson(3))
    with pytest.raises(
        TypeError, match="p must be a single univariate distribution"
    ):
        kl_quadrature(
            torch.distributions.Normal(torch.zeros(2), torch.ones(2)), normal
        )
    with pytest.raises(TypeError, match="p must be univariate"):
        kl_quadrature(
            scipy.stats.multivariate_normal(np.zeros(2), np.eye(2)), normal
        )
    with pytest.raises(ValueError, match="lower must be smaller than upper"):
        kl_quadrature(normal, normal, lower=1.0, upper=0.0)


def test_kl_quadrature_through_a_kink_of_log_q() -> None:
    # KL(N(0,1) || Laplace(m, b)) = -H(N) + E|x - m| / b + log(2b), E|x - m| = 2 phi(m) + m (2 Phi(m) - 1)
    for m, b in [(0.3, 1.0), (1.7, 0.5), (-2.2, 2.0)]:
        mean_abs = 2 * scipy.stats.norm.pdf(m) + m * (
            2 * scipy.stats.norm.cdf(m) - 1
        )
        exact = (
            -0.5 * math.log(2 * math.pi * math.e)
            + mean_abs / b
            + math.log(2 * b)
        )
        assert kl_quadrature(
            scipy.stats.norm(0, 1), scipy.stats.laplace(m, b)
        ) == pytest.approx(exact, rel=1e-10)


def test_kl_quadrature_falls_back_where_tanh_sinh_fails() -> None:
    # A sharp Laplace inside a uniform: tanh-sinh does not converge, adaptive quad does.
    # KL = -log 2 + (1/2) (int_0^2 |x - 0.5| dx / b + 2 log(2b)), and the integral is 1.25.
    b = 0.01
    exact = -math.log(2) + 0.5 * (1.25 / b + 2 * math.log(2 * b))
    assert kl_quadrature(
        scipy.stats.uniform(0, 2), scipy.stats.laplace(0.5, b)
    ) == pytest.approx(exact, rel=1e-9)


def test_kl_quadrature_integrates_over_the_support_of_p_only() -> None:
    p = torch.distributions.Beta(torch.tensor(2.0), torch.tensor(3.0))
    q = torch.distributions.Beta(torch.tensor(1.5), torch.tensor(1.5))
    expected = float(torch.distributions.kl_divergence(p, q))
    assert kl_quadrature(p, q, lower=-5.0, upper=5.0) == pytest.approx(
        expected, rel=1e-7
    )
    assert (
        kl_quadrature(p, q, lower=2.0, upper=3.0) == 0.0
    )  # no mass of p there


# --- inputs as users have them ---------------------------------------------------------------


def test_torch_tensors_including_float32_softmax_outputs() -> None:
    # float32: 0.9 + 0.1 sums to 0.9999999776, within float32's precision.
    value = kl_divergence(torch.tensor([0.5, 0.5]), torch.tensor([0.9, 0.1]))
    assert value == pytest.approx(
        0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1), rel=1e-6
    )
    logits = torch.randn(
        8, 1000, generator=torch.Generator().manual_seed(0), requires_grad=True
    )
    p, q = torch.softmax(logits, -1), torch.softmax(2 * logits, -1)
    expected = torch.distributions.kl_divergence(
        torch.distributions.Categorical(probs=p.double().detach()),
        torch.distributions.Categorical(probs=q.double().detach()),
    )
    np.testing.assert_allclose(
        kl_divergence(p, q), expected.numpy(), rtol=1e-5
    )
    assert entropy(p).shape == (8,) and cross_entropy(p, q).shape == (8,)


def test_float32_arrays_and_pandas() -> None:
    tenth = np.full(10, 0.1, dtype=np.float32)
    assert kl_divergence(tenth, tenth) == 0.0
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [0.2, 0.5], "b": [0.8, 0.5]})
    np.testing.assert_allclose(
        kl_divergence(frame, frame[["b", "a"]].to_numpy()),
        [0.2 * math.log(0.2 / 0.8) + 0.8 * math.log(0.8 / 0.2), 0.0],
        atol=1e-12,
    )
    series = pd.Series([0.25, 0.75])
    assert kl_divergence(series, series) == 0.0


@pytest.mark.parametrize(
    "dtype", [np.float32, np.float64, torch.float32, torch.float64]
)
def test_a_real_misnormalisation_is_still_refused(dtype: object) -> None:
    for n in (2, 10, 10_000):
        values = np.full(n, 0.99 / n)
        bad = (
            torch.tensor(values, dtype=dtype)
            if isinstance(dtype, torch.dtype)
            else values.astype(dtype)
        )
        with pytest.raises(ValueError, match="p must sum to 1 along axis -1"):
            kl_divergence(bad, np.full(n, 1 / n))


def test_float64_keeps_its_tight_tolerance() -> None:
    with pytest.raises(ValueError, match="q must sum to 1"):
        kl_divergence([0.5, 0.5], [0.5, 0.5 + 1e-7])


def test_complex_input_is_a_type_error_naming_the_argument() -> None:
    with pytest.raises(TypeError, match="q must be real, got complex values"):
        kl_divergence([0.5, 0.5], np.array([0.5, 0.5], dtype=complex))
    with pytest.raises(TypeError, match="mean_p must be real"):
        kl_gaussian(1j, 1.0, 0.0, 1.0)


# --- Gauss-Hermite: a Normal or a mixture of Normals to any smooth density -----------------


def _mixture(weights, locs, scales) -> torch.distributions.MixtureSameFamily:
    d = torch.distributions
    return d.MixtureSameFamily(
        d.Categorical(probs=torch.tensor(weights)),
        d.Normal(torch.tensor(locs), torch.tensor(scales)),
    )


def _scipy_kl(log_p, log_q, lo: float = -30.0, hi: float = 30.0) -> float:
    """The oracle: scipy's adaptive quadrature on densities written with scipy.stats."""
    integrand = lambda x: np.exp(log_p(x)) * (log_p(x) - log_q(x))
    return scipy.integrate.quad(
        integrand, lo, hi, epsabs=1e-13, epsrel=1e-12, limit=500
    )[0]


def test_kl_gauss_hermite_is_exact_between_normals() -> None:
    from klcourse.divergences import kl_gauss_hermite

    rng = np.random.default_rng(0)
    mp, mq = rng.normal(size=(2, 50))
    sp, sq = rng.uniform(0.3, 3.0, size=(2, 50))
    d = torch.distributions
    ours = kl_gauss_hermite(
        d.Normal(torch.tensor(mp), torch.tensor(sp)),
        d.Normal(torch.tensor(mq), torch.tensor(sq)),
        n_nodes=3,  # degree 2 < 2 * 3: exact already
    )
    np.testing.assert_allclose(ours, kl_gaussian(mp, sp, mq, sq), rtol=1e-10)


def test_kl_gauss_hermite_matches_scipy_for_mixtures() -> None:
    from klcourse.divergences import kl_gauss_hermite

    w, m, s = [0.3, 0.7], [-1.0, 1.5], [0.15, 0.4]
    p = _mixture(w, m, s)
    log_p = lambda x: scipy.special.logsumexp(
        [
            np.log(wi) + scipy.stats.norm(mi, si).logpdf(x)
            for wi, mi, si in zip(w, m, s)
        ],
        axis=0,
    )
    normal_q = torch.distributions.Normal(torch.tensor(0.2), torch.tensor(1.1))
    mixture_q = _mixture([0.5, 0.5], [-0.8, 1.2], [0.2, 0.3])
    log_normal_q = scipy.stats.norm(0.2, 1.1).logpdf
    log_mixture_q = lambda x: scipy.special.logsumexp(
        [
            np.log(0.5) + scipy.stats.norm(mi, si).logpdf(x)
            for mi, si in [(-0.8, 0.2), (1.2, 0.3)]
        ],
        axis=0,
    )
    assert float(kl_gauss_hermite(p, normal_q)) == pytest.approx(
        _scipy_kl(log_p, log_normal_q), rel=1e-6
    )
    assert float(kl_gauss_hermite(p, mixture_q)) == pytest.approx(
        _scipy_kl(log_p, log_mixture_q), rel=1e-6
    )
    assert float(kl_gauss_hermite(p, p)) == pytest.approx(0.0, abs=1e-12)


def test_kl_gauss_hermite_is_batched_like_its_arguments() -> None:
    from klcourse.divergences import kl_gauss_hermite

    d = torch.distributions
    locs = torch.tensor([[-1.0, 1.0], [0.0, 2.0], [-3.0, -1.0]])
    p = d.MixtureSameFamily(
        d.Categorical(probs=torch.full((3, 2), 0.5)),
        d.Normal(locs, torch.full((3, 2), 0.3)),
    )
    q = d.Normal(torch.tensor([0.0, 1.0, -2.0]), torch.tensor([1.0, 0.5, 2.0]))
    batched = kl_gauss_hermite(p, q)
    assert batched.shape == (3,)
    one_by_one = [
        kl_quadrature(
            _mixture([0.5, 0.5], locs[i].tolist(), [0.3, 0.3]),
            d.Normal(q.loc[i], q.scale[i]),
        )
        for i in range(3)
    ]
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-6)


def test_kl_gauss_hermite_errors() -> None:
    from klcourse.divergences import kl_gauss_hermite

    d = torch.distributions
    normal = d.Normal(torch.tensor(0.0), torch.tensor(1.0))
    with pytest.raises(
        TypeError, match="p must be a torch Normal or a MixtureSameFamily"
    ):
        kl_gauss_hermite(
            d.Laplace(torch.tensor(0.0), torch.tensor(1.0)), normal
        )
    with pytest.raises(TypeError, match="p must be a torch Normal"):
        kl_gauss_hermite(scipy.stats.norm(0, 1), normal)
    with pytest.raises(
        TypeError, match="q must be a univariate torch distribution"
    ):
        kl_gauss_hermite(normal, scipy.stats.norm(0, 1))
    with pytest.raises(TypeError, match="q must be a univariate"):
        kl_gauss_hermite(
            normal, d.MultivariateNormal(torch.zeros(2), torch.eye(2))
        )
    with pytest.raises(ValueError, match="n_nodes must be at least 2, got 1"):
        kl_gauss_hermite(normal, normal, n_nodes=1)
    with pytest.raises(
        ValueError, match="n_nodes must be at most 256, got 300"
    ):
        kl_gauss_hermite(normal, normal, n_nodes=300)


# --- issue 18: no silently wrong answer ----------------------------------------------------

D = torch.distributions


def _t64(value: float) -> torch.Tensor:
    return torch.tensor(value, dtype=torch.float64)


DIVERGENT = {
    # heavy-tailed P, lighter-tailed Q: E_P[-log q] is infinite
    "Cauchy || Normal": (scipy.stats.cauchy(), scipy.stats.norm()),
    "Cauchy || wide Normal": (scipy.stats.cauchy(), scipy.stats.norm(0, 10)),
    "Student-t(2) || Normal": (scipy.stats.t(2), scipy.stats.norm()),
    "Student-t(1.5) || Normal": (scipy.stats.t(1.5), scipy.stats.norm(3, 2)),
    "Cauchy || Laplace": (scipy.stats.cauchy(), scipy.stats.laplace()),
    "Cauchy || Logistic": (scipy.stats.cauchy(), scipy.stats.logistic()),
    "Pareto(1) || Exponential": (scipy.stats.pareto(1), scipy.stats.expon()),
    "half-Cauchy || Exponential": (
        scipy.stats.halfcauchy(),
        scipy.stats.expon(),
    ),
    "Levy || Exponential": (scipy.stats.levy(), scipy.stats.expon()),
    "Gumbel || mirrored Gumbel": (
        scipy.stats.gumbel_r(),
        scipy.stats.gumbel_l(),
    ),
    "torch Student-t(1.5) || Normal": (
        D.StudentT(_t64(1.5), _t64(0.0), _t64(0.2)),
        D.Normal(_t64(0.0), _t64(1.0)),
    ),
    "torch Cauchy || float32 Normal": (
        D.Cauchy(_t64(0.0), _t64(1.0)),
        D.Normal(torch.tensor(0.0), torch.tensor(1.0)),
    ),
    # Q vanishes too fast at an end of P's support: E_P[-log q] ~ int 1/x
    "Exponential || inverse gamma": (
        scipy.stats.expon(),
        scipy.stats.invgamma(2),
    ),
    "Exponential || Levy": (scipy.stats.expon(), scipy.stats.levy()),
}


@pytest.mark.parametrize("pair", DIVERGENT, ids=list(DIVERGENT))
def test_kl_quadrature_is_infinite_where_the_integral_diverges(
    pair: str,
) -> None:
    """Issue 18: Cauchy || Normal gave -2.43, Cauchy || N(0, 10) gave 0.68."""
    import warnings

    p, q = DIVERGENT[pair]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no IntegrationWarning on the way
        assert kl_quadrature(p, q) == math.inf


def _kl_student_normal(df: float, sigma: float) -> float:
    """KL(t_df || N(0, sigma^2)) = -H(t) + log(sigma sqrt(2 pi)) + E[X^2] / (2 sigma^2)."""
    variance = df / (df - 2)
    return (
        -float(scipy.stats.t(df).entropy())
        + math.log(sigma * math.sqrt(2 * math.pi))
        + variance / (2 * sigma**2)
    )


def _kl_cauchy(l1: float, s1: float, l2: float, s2: float) -> float:
    """Closed form of Chyzak and Nielsen (2019) for two Cauchy distributions."""
    return math.log(((s1 + s2) ** 2 + (l1 - l2) ** 2) / (4 * s1 * s2))


@pytest.mark.parametrize("df", [2.05, 2.5, 3.0, 10.0])
def test_kl_quadrature_finite_heavy_tails_match_the_closed_form(
    df: float,
) -> None:
    # a tail decaying like |x|^(1 - df): slowly, but integrably
    value = kl_quadrature(scipy.stats.t(df), scipy.stats.norm(0, 1.5))
    assert value == pytest.approx(_kl_student_normal(df, 1.5), rel=1e-8)


@pytest.mark.parametrize(
    "params",
    [(0, 1, 0, 1), (0, 1, 3, 0.1), (0, 1e-3, 1, 1e3), (5, 2, -5, 0.5)],
)
def test_kl_quadrature_between_cauchy_distributions(params) -> None:
    l1, s1, l2, s2 = params
    value = kl_quadrature(
        scipy.stats.cauchy(l1, s1), scipy.stats.cauchy(l2, s2)
    )
    assert value == pytest.approx(_kl_cauchy(*params), rel=1e-9, abs=1e-12)


def test_kl_quadrature_finite_pairs_with_one_sided_supports() -> None:
    gamma = float(np.euler_gamma)
    lognormal, exponential = scipy.stats.lognorm(1.0), scipy.stats.expon()
    # KL(LogN(0, 1) || Exp(1)) = -H(LogN) + E[X];  KL(Exp || LogN) = -1 - E log q
    entropy_lognormal = 0.5 + 0.5 * math.log(2 * math.pi)
    assert kl_quadrature(lognormal, exponential) == pytest.approx(
        -entropy_lognormal + math.exp(0.5), rel=1e-9
    )
    mean_log, mean_log2 = -gamma, gamma**2 + math.pi**2 / 6
    assert kl_quadrature(exponential, lognormal) == pytest.approx(
        -1 + mean_log + 0.5 * math.log(2 * math.pi) + 0.5 * mean_log2, rel=1e-9
    )
    # Laplace || Normal: -H(Laplace) + log(sqrt(2 pi)) + E[X^2] / 2, E[X^2] = 2
    assert kl_quadrature(
        scipy.stats.laplace(), scipy.stats.norm()
    ) == pytest.approx(
        -(1 + math.log(2)) + 0.5 * math.log(2 * math.pi) + 1.0, rel=1e-9
    )


def _oracle(log_p, log_q, edges) -> float:
    """KL by mpmath's quadrature at 30 digits, on log-densities written by hand."""
    mp = pytest.importorskip("mpmath")
    with mp.workdps(30):
        value = mp.quad(
            lambda x: mp.exp(log_p(mp, x)) * (log_p(mp, x) - log_q(mp, x)),
            [mp.mpf(e) for e in edges],
        )
    return float(value)


def test_kl_quadrature_no_longer_calls_finite_pairs_infinite() -> None:
    """The old code returned inf for all three: a node rounding onto the end of
    the support, or a far tail where q's formula overflowed, looked like q = 0."""

    def log_halfcauchy(mp, x):
        return mp.log(2 / mp.pi) - mp.log(1 + x * x)

    def log_lognormal(mp, x):
        return -mp.log(x) - mp.log(2 * mp.pi) / 2 - mp.log(x) ** 2 / 2

    def log_levy(mp, x):
        return -mp.log(2 * mp.pi) / 2 - 1.5 * mp.log(x) - 1 / (2 * x)

    edges = [0.0, 1e-6, 1e-2, 1.0, 10.0, 1e3, 1e6, math.inf]
    assert kl_quadrature(
        scipy.stats.halfcauchy(), scipy.stats.lognorm(1.0)
    ) == pytest.approx(_oracle(log_halfcauchy, log_lognormal, edges), rel=1e-8)
    assert kl_quadrature(
        scipy.stats.levy(), scipy.stats.halfcauchy()
    ) == pytest.approx(_oracle(log_levy, log_halfcauchy, edges), rel=1e-8)
    # -H(arcsine) = log(4 / pi); float64 cannot resolve 1 - x below 1e-16,
    # where the arcsine still holds ~6e-9 of its mass: hence 1e-6
    arcsine = D.Beta(_t64(0.5), _t64(0.5))
    uniform = D.Uniform(_t64(0.0), _t64(1.0))
    assert kl_quadrature(arcsine, uniform) == pytest.approx(
        math.log(4 / math.pi), rel=1e-6
    )


def test_kl_quadrature_refuses_a_log_density_that_underflowed() -> None:
    """SciPy's Laplace logpdf is log(pdf): -inf beyond |x| = 745, though q > 0.

    The old code took that for q = 0 and returned inf for this finite KL.
    """
    with pytest.raises(
        ValueError, match="q's log-density is -inf at x=.*inside its support"
    ):
        kl_quadrature(scipy.stats.t(5), scipy.stats.laplace())

    # torch's Laplace log-density is exact: the same pair is finite
    def log_t5(mp, x):
        return (
            mp.loggamma(3)
            - mp.loggamma(2.5)
            - mp.log(5 * mp.pi) / 2
            - 3 * mp.log(1 + x * x / 5)
        )

    def log_laplace(mp, x):
        return -abs(x) - mp.log(2)

    edges = [-math.inf, -1e3, -10.0, 0.0, 10.0, 1e3, math.inf]
    value = kl_quadrature(
        D.StudentT(_t64(5.0)), D.Laplace(_t64(0.0), _t64(1.0))
    )
    assert value == pytest.approx(
        _oracle(log_t5, log_laplace, edges), rel=1e-8
    )


def test_kl_quadrature_never_returns_a_negative_divergence(
    monkeypatch,
) -> None:
    from klcourse import divergences

    p, q = scipy.stats.norm(0, 1), scipy.stats.norm(0, 1.1)
    # an integrator that claims a clearly negative value with a tiny error
    monkeypatch.setattr(
        divergences,
        "_integrate",
        lambda *args: (np.array([-0.4, 0.1]), np.array([1e-12, 1e-12])),
    )
    with pytest.raises(ValueError, match="negative divergence"):
        kl_quadrature(p, q)
    # a value below 0 within the error estimate is rounding: it is 0
    monkeypatch.setattr(
        divergences,
        "_integrate",
        lambda *args: (np.array([-3e-12, 1e-12]), np.array([1e-12, 1e-12])),
    )
    assert kl_quadrature(p, q) == 0.0
    # an error estimate far above the targets is refused, not returned
    monkeypatch.setattr(
        divergences,
        "_integrate",
        lambda *args: (np.array([0.3, 0.1]), np.array([0.2, 1e-12])),
    )
    with pytest.raises(ValueError, match="cannot vouch"):
        kl_quadrature(p, q)


def test_kl_quadrature_over_a_part_of_the_support_may_be_negative() -> None:
    # documented: limits that cut p's support give a partial integral
    p, q = scipy.stats.norm(0, 1), scipy.stats.norm(0, 0.5)
    partial = kl_quadrature(p, q, lower=-0.5, upper=0.5)
    expected = scipy.integrate.quad(
        lambda x: p.pdf(x) * (p.logpdf(x) - q.logpdf(x)), -0.5, 0.5
    )[0]
    assert partial < 0 and partial == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"lower": "0"}, TypeError, "lower must be a real number"),
        ({"upper": True}, TypeError, "upper must be a real number"),
        ({"lower": math.nan}, ValueError, "lower must be a number"),
        ({"epsabs": -1.0}, ValueError, "epsabs must be a finite non-negative"),
        ({"epsrel": "1e-9"}, TypeError, "epsrel must be a number"),
        ({"epsabs": 0.0, "epsrel": 0.0}, ValueError, "cannot both be zero"),
    ],
)
def test_kl_quadrature_checks_its_options(kwargs, error, message: str) -> None:
    with pytest.raises(error, match=message):
        kl_quadrature(scipy.stats.norm(), scipy.stats.norm(1, 1), **kwargs)
    # a NumPy or 0-d torch number is a number
    assert (
        kl_quadrature(
            scipy.stats.norm(),
            scipy.stats.norm(),
            lower=np.float32(-40),
            upper=torch.tensor(40.0),
        )
        == 0.0
    )


def test_text_and_booleans_are_refused_where_numbers_are_meant() -> None:
    """The README promises a TypeError for strings; numeric ones were converted."""
    with pytest.raises(TypeError, match="p must be a numeric array, got text"):
        kl_divergence(["0.5", "0.5"], [0.5, 0.5])
    with pytest.raises(TypeError, match="q must be a numeric array, got text"):
        cross_entropy([0.5, 0.5], np.array(["0.5", "0.5"], dtype=object))
    with pytest.raises(TypeError, match="p must be a numeric array, got text"):
        entropy(np.array([b"1"]))
    with pytest.raises(TypeError, match="std_p must be a numeric array"):
        kl_gaussian(0.0, "1", 0.0, 1.0)
    with pytest.raises(
        TypeError, match="std_q must hold numbers, got booleans"
    ):
        kl_gaussian(0.0, 1.0, 0.0, True)
    with pytest.raises(TypeError, match="p must hold numbers, got booleans"):
        kl_divergence([True, False], [0.5, 0.5])
    with pytest.raises(
        TypeError, match="cov_q must hold numbers, got booleans"
    ):
        kl_mvn(np.zeros(2), np.eye(2), np.zeros(2), np.eye(2, dtype=bool))


def test_kl_gaussian_keeps_precision_for_very_different_widths() -> None:
    """x = sigma_p/sigma_q - 1 near -1 loses 1 + x; the old code gave inf at 1e-17."""
    for ratio in [1e-300, 1e-17, 1e-15, 1e-8, 0.3]:
        exact = -math.log(ratio) + (ratio**2 - 1) / 2
        assert kl_gaussian(0.0, ratio, 0.0, 1.0) == pytest.approx(
            exact, rel=1e-13
        )
    covariance = 1e-300 * np.eye(2)
    assert kl_mvn(
        np.zeros(2), covariance, np.zeros(2), np.eye(2)
    ) == pytest.approx(2 * (-0.5 * math.log(1e-300) - 0.5), rel=1e-13)


def test_shape_errors_come_from_klcourse_not_numpy_or_torch() -> None:
    with pytest.raises(ValueError, match="mean_p must have shape .* d >= 1"):
        kl_mvn(np.zeros(0), np.zeros((0, 0)), np.zeros(0), np.zeros((0, 0)))
    from klcourse.divergences import kl_gauss_hermite

    with pytest.raises(
        ValueError, match=r"batch shapes that broadcast, got \(3,\) and \(4,\)"
    ):
        kl_gauss_hermite(
            D.Normal(torch.zeros(3), 1.0), D.Normal(torch.zeros(4), 1.0)
        )
    with pytest.raises(
        ValueError, match="p and q .broadcast. asks for .* GiB"
    ):
        kl_divergence(
            np.broadcast_to([0.5, 0.5], (40_000, 1, 2)),
            np.broadcast_to([0.5, 0.5], (1, 40_000, 2)),
        )
