"""klcourse.variational: the ELBO identity, mean-field Gaussians, a VAE and the bottleneck."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.integrate
import scipy.linalg
import scipy.optimize
import scipy.special
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from sklearn.datasets import load_digits

import klcourse
from klcourse import kl_gaussian, kl_mvn
from klcourse._history import History
from klcourse.exceptions import NotFittedError
from klcourse.variational import (
    VAE,
    CAVIResult,
    ConjugateNormal,
    VIBClassifier,
    cavi_gaussian,
    mean_field_gaussian,
)


def same_history(a, b) -> bool:
    """Whether two histories have the same x-axis, columns and values."""
    return (
        a.x == b.x
        and list(a) == list(b)
        and all(np.array_equal(a[k], b[k]) for k in a)
    )


def random_covariance(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.2 * np.eye(d)


# --- the ELBO identity on the conjugate model --------------------------------------------------


def evidence_oracle(model: ConjugateNormal, x: np.ndarray) -> float:
    """log p(x) from the marginal x ~ N(m0 1, sigma^2 I + s0^2 1 1^T) (scipy)."""
    n = x.size
    cov = model.noise_std**2 * np.eye(n) + model.prior_std**2 * np.ones((n, n))
    return float(
        stats.multivariate_normal(np.full(n, model.prior_mean), cov).logpdf(x)
    )


def posterior_oracle(
    model: ConjugateNormal, x: np.ndarray
) -> tuple[float, float]:
    """Mean and std of z | x by conditioning the joint Gaussian of (z, x)."""
    n = x.size
    cov_xx = model.noise_std**2 * np.eye(n) + model.prior_std**2 * np.ones(
        (n, n)
    )
    cov_zx = model.prior_std**2 * np.ones(n)
    gain = np.linalg.solve(cov_xx, cov_zx)
    mean = model.prior_mean + gain @ (x - model.prior_mean)
    return float(mean), float(np.sqrt(model.prior_std**2 - gain @ cov_zx))


MODELS = [
    ConjugateNormal(0.0, 1.0, 1.0),
    ConjugateNormal(prior_mean=-2.0, prior_std=3.0, noise_std=0.5),
    ConjugateNormal(prior_mean=1.5, prior_std=0.2, noise_std=4.0),
]


@pytest.mark.parametrize("model", MODELS)
def test_posterior_and_evidence_match_gaussian_conditioning(
    model: ConjugateNormal,
) -> None:
    x = np.random.default_rng(0).normal(1.0, 2.0, size=7)
    mean, std = model.posterior(x)
    oracle_mean, oracle_std = posterior_oracle(model, x)
    assert mean == pytest.approx(oracle_mean, rel=1e-10, abs=1e-12)
    assert std == pytest.approx(oracle_std, rel=1e-10)
    assert model.log_evidence(x) == pytest.approx(
        evidence_oracle(model, x), rel=1e-12, abs=1e-10
    )


def test_log_joint_matches_scipy() -> None:
    model, x, z = (
        MODELS[1],
        np.array([0.3, -1.0, 2.0]),
        np.array([-1.0, 0.0, 0.7]),
    )
    expected = stats.norm(model.prior_mean, model.prior_std).logpdf(
        z
    ) + stats.norm(z[None, :], model.noise_std).logpdf(x[:, None]).sum(axis=0)
    assert np.allclose(model.log_joint(x, z), expected, rtol=1e-12)
    assert isinstance(model.log_joint(x, 0.5), float)


@pytest.mark.parametrize("model", MODELS)
def test_elbo_identity_holds_to_1e_10(model: ConjugateNormal) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=5)
    post_mean, post_std = model.posterior(x)
    q_mean = post_mean + rng.normal(0, 2, size=50)
    q_std = post_std * np.exp(rng.normal(0, 1, size=50))
    elbo = model.elbo(x, q_mean, q_std)
    kl = kl_gaussian(q_mean, q_std, post_mean, post_std)
    assert np.all(np.abs(elbo + kl - evidence_oracle(model, x)) < 1e-10)
    assert np.all(elbo < evidence_oracle(model, x))
    assert model.elbo(x, post_mean, post_std) == pytest.approx(
        evidence_oracle(model, x), abs=1e-10
    )


def test_elbo_closed_form_matches_quadrature() -> None:
    model, x = MODELS[1], np.array([0.5, -0.2, 1.7, 0.9])
    for m, s in [(0.0, 1.0), (1.2, 0.1), (-3.0, 2.5)]:
        q = stats.norm(m, s)

        def integrand(z: float, q=q) -> float:
            return q.pdf(z) * (model.log_joint(x, z) - q.logpdf(z))

        quad, _ = scipy.integrate.quad(
            integrand, m - 12 * s, m + 12 * s, epsabs=1e-12
        )
        assert model.elbo(x, m, s) == pytest.approx(quad, abs=1e-8)


def test_conjugate_model_refuses_bad_input() -> None:
    with pytest.raises(
        ValueError, match="prior_std must be a finite positive"
    ):
        ConjugateNormal(prior_std=0.0)
    with pytest.raises(
        ValueError, match="noise_std must be a finite positive"
    ):
        ConjugateNormal(noise_std=float("nan"))
    with pytest.raises(TypeError, match="prior_std must be a number"):
        ConjugateNormal(prior_std="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="prior_mean must be finite"):
        ConjugateNormal(prior_mean=float("inf"))
    model = ConjugateNormal()
    with pytest.raises(ValueError, match="x must be a non-empty 1-D array"):
        model.posterior([[1.0, 2.0]])
    with pytest.raises(ValueError, match="x must be a non-empty 1-D array"):
        model.log_evidence([])
    with pytest.raises(ValueError, match="x must be finite"):
        model.log_evidence([1.0, np.nan])
    with pytest.raises(ValueError, match="std must be strictly positive"):
        model.elbo([1.0], 0.0, -1.0)


TEXT_AND_BOOLEANS = [
    (lambda: ConjugateNormal(prior_mean=True), "prior_mean"),
    (lambda: ConjugateNormal().posterior(["1", "2"]), "x"),
    (lambda: ConjugateNormal().posterior([True, False]), "x"),
    (lambda: ConjugateNormal().log_joint([0.0], ["0"]), "z"),
    (lambda: ConjugateNormal().log_joint([0.0], True), "z"),
    (lambda: ConjugateNormal().elbo([0.0], "0", 1.0), "mean"),
    (lambda: ConjugateNormal().elbo([0.0], 0.0, [True]), "std"),
    (lambda: mean_field_gaussian(["0", "0"], np.eye(2)), "mean"),
    (lambda: mean_field_gaussian([0.0, 0.0], np.eye(2).astype(str)), "cov"),
    (lambda: mean_field_gaussian([True, False], np.eye(2)), "mean"),
    (lambda: mean_field_gaussian([0.0, 0.0], np.eye(2, dtype=bool)), "cov"),
    (lambda: cavi_gaussian([0.0, 0.0], np.eye(2), init=["0", "0"]), "init"),
    (lambda: cavi_gaussian([0.0, 0.0], np.eye(2), init=[True, True]), "init"),
]


@pytest.mark.parametrize(("call", "name"), TEXT_AND_BOOLEANS)
def test_text_and_booleans_are_refused_by_name(call, name: str) -> None:
    """Numeric strings and booleans are not numbers here (the README's promise)."""
    with pytest.raises(TypeError, match=f"^{name} must"):
        call()


def test_scales_whose_squares_leave_float64_are_refused() -> None:
    for name in ("prior_std", "noise_std"):
        for value in (1e-200, 1e200):
            with pytest.raises(
                ValueError, match=f"^{name} must lie between 1e-150 and 1e"
            ):
                ConjugateNormal(**{name: value})


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_values_beyond_float64_are_minus_infinity_or_exact() -> None:
    """Far-out densities round to -inf, as they should; no overflow warning on the way."""
    model = ConjugateNormal()
    assert model.log_joint([0.0], 1e200) == -np.inf
    assert model.log_evidence([1e200]) == -np.inf
    assert model.elbo([0.0], 0.0, 1e200) == -np.inf
    # the mean of two observations of 1.5e308 exists although their sum does not
    assert model.posterior([1.5e308, 1.5e308]).mu == pytest.approx(
        1e308, rel=1e-12
    )


def test_elbo_names_mean_and_std_when_they_do_not_broadcast() -> None:
    with pytest.raises(
        ValueError,
        match=r"^mean with shape \(2,\) and std with shape \(3,\) do not broadcast",
    ):
        ConjugateNormal().elbo([0.0], [0.0, 1.0], [1.0, 1.0, 1.0])


# --- mean-field Gaussians ----------------------------------------------------------------------


@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_mean_field_is_one_over_the_precision_diagonal_or_the_marginals(
    d: int,
) -> None:
    rng = np.random.default_rng(d)
    mean, cov = rng.normal(size=d), random_covariance(rng, d)
    rev_mean, rev_var = mean_field_gaussian(mean, cov)
    fwd_mean, fwd_var = mean_field_gaussian(mean, cov, direction="forward")
    assert np.array_equal(rev_mean, mean) and np.array_equal(fwd_mean, mean)
    assert np.allclose(rev_var, 1 / np.diag(np.linalg.inv(cov)), rtol=1e-10)
    assert np.array_equal(fwd_var, np.diag(cov))
    assert np.all(rev_var <= fwd_var * (1 + 1e-12))


@pytest.mark.parametrize("direction", ["reverse", "forward"])
def test_mean_field_minimises_the_kl_over_factorised_gaussians(
    direction: str,
) -> None:
    """Independent oracle: minimise kl_mvn numerically over diagonal Gaussians."""
    rng = np.random.default_rng(7)
    mean, cov = rng.normal(size=3), random_covariance(rng, 3)

    def kl(params: np.ndarray) -> float:
        m, var = params[:3], np.diag(np.exp(params[3:]))
        if direction == "reverse":
            return float(kl_mvn(m, var, mean, cov))
        return float(kl_mvn(mean, cov, m, var))

    found = scipy.optimize.minimize(
        kl, np.zeros(6), method="BFGS", options={"gtol": 1e-10}
    )
    exact_mean, exact_var = mean_field_gaussian(mean, cov, direction=direction)
    assert np.allclose(found.x[:3], exact_mean, atol=1e-4)
    assert np.allclose(np.exp(found.x[3:]), exact_var, rtol=1e-4)
    assert (
        kl(np.concatenate([exact_mean, np.log(exact_var)]))
        <= found.fun + 1e-10
    )


@given(st.floats(-0.999, 0.999), st.floats(0.1, 10.0), st.floats(0.1, 10.0))
def test_in_two_dimensions_both_minima_equal_the_mutual_information(
    rho: float, scale_1: float, scale_2: float
) -> None:
    cov = np.array(
        [
            [scale_1**2, rho * scale_1 * scale_2],
            [rho * scale_1 * scale_2, scale_2**2],
        ]
    )
    mean = np.zeros(2)
    information = -0.5 * np.log1p(-(rho**2))
    _, rev_var = mean_field_gaussian(mean, cov)
    _, fwd_var = mean_field_gaussian(mean, cov, direction="forward")
    assert np.all(rev_var <= fwd_var * (1 + 1e-12))
    assert float(kl_mvn(mean, np.diag(rev_var), mean, cov)) == pytest.approx(
        information, rel=1e-6, abs=1e-9
    )
    assert float(kl_mvn(mean, cov, mean, np.diag(fwd_var))) == pytest.approx(
        information, rel=1e-6, abs=1e-9
    )


def test_mean_field_refuses_a_covariance_that_is_not_positive_definite() -> (
    None
):
    with pytest.raises(ValueError, match="cov must be positive definite"):
        mean_field_gaussian([0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="cov must be positive definite"):
        cavi_gaussian([0.0, 0.0], [[1.0, 1.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="cov must be symmetric"):
        mean_field_gaussian([0.0, 0.0], [[1.0, 0.5], [0.0, 1.0]])
    with pytest.raises(ValueError, match=r"cov must have shape \(2, 2\)"):
        mean_field_gaussian([0.0, 0.0], np.eye(3))
    with pytest.raises(ValueError, match="mean must have shape"):
        mean_field_gaussian([[0.0, 0.0]], np.eye(2))
    with pytest.raises(ValueError, match="cov must be finite"):
        mean_field_gaussian([0.0, 0.0], [[1.0, np.nan], [np.nan, 1.0]])
    with pytest.raises(ValueError, match="direction must be one of"):
        mean_field_gaussian([0.0], [[1.0]], direction="sideways")
    with pytest.raises(TypeError, match="direction must be one of"):
        mean_field_gaussian([0.0], [[1.0]], direction=1)  # type: ignore[arg-type]


def test_a_covariance_singular_to_working_precision_is_refused() -> None:
    """Hilbert matrices of order 8 and 12 (condition numbers 1.5e10 and 1.8e16) have
    inverses with no reliable digits; scipy.stats.multivariate_normal treats them as
    singular, and so does klcourse."""
    for order in (8, 12):
        with pytest.raises(
            ValueError, match="^cov is singular to working precision"
        ):
            mean_field_gaussian(np.zeros(order), scipy.linalg.hilbert(order))
    # order 7 (condition number 4.8e8) is fine and agrees with the exact inverse
    exact = np.diag(scipy.linalg.invhilbert(7, exact=True)).astype(float)
    assert np.allclose(
        mean_field_gaussian(np.zeros(7), scipy.linalg.hilbert(7))[1],
        1 / exact,
        rtol=1e-6,
    )


@pytest.mark.parametrize("scale", [1e-300, 1e300])
def test_mean_field_at_extreme_scales(scale: float) -> None:
    """The variances scale with the covariance while its precision is a float64."""
    cov = np.array([[1.0, 0.5], [0.5, 1.0]]) * scale
    assert np.allclose(
        mean_field_gaussian([0.0, 0.0], cov)[1],
        0.75 * scale,
        rtol=1e-14,
        atol=0,
    )
    assert np.allclose(
        cavi_gaussian([0.0, 0.0], cov).var, 0.75 * scale, rtol=1e-14, atol=0
    )
    with pytest.raises(
        ValueError,
        match=r"^cov's inverse \(the precision\) is not a normal float64",
    ):
        mean_field_gaussian([0.0, 0.0], cov * (1e-10 if scale < 1 else 1e8))


def test_cavi_converges_to_the_mean_field_optimum() -> None:
    rng = np.random.default_rng(3)
    for d in (2, 4, 6):
        mean, cov = rng.normal(size=d), random_covariance(rng, d)
        result = cavi_gaussian(mean, cov, init=rng.normal(0, 5, size=d))
        exact_mean, exact_var = mean_field_gaussian(mean, cov)
        assert isinstance(result, CAVIResult) and result.converged
        assert np.allclose(result.mean, exact_mean, atol=1e-9)
        assert np.allclose(result.var, exact_var, rtol=1e-12)
        assert result.path.shape == (result.n_sweeps * d + 1, d)


def test_every_cavi_update_lowers_the_reverse_kl() -> None:
    rng = np.random.default_rng(4)
    mean, cov = rng.normal(size=4), random_covariance(rng, 4)
    result = cavi_gaussian(mean, cov, init=np.full(4, 10.0), max_sweeps=20)
    kls = [
        float(kl_mvn(m, np.diag(result.var), mean, cov)) for m in result.path
    ]
    assert np.all(np.diff(kls) <= 1e-12 * (1 + np.abs(kls[:-1])))
    assert kls[-1] < kls[0]


def test_cavi_error_shrinks_by_rho_squared_per_sweep_in_two_dimensions() -> (
    None
):
    rho = 0.9
    result = cavi_gaussian(
        [0.0, 0.0], [[1.0, rho], [rho, 1.0]], init=[0.0, 1.0], max_sweeps=5
    )
    second = result.path[2::2, 1]  # z_2 after each sweep
    assert np.allclose(second, rho ** (2 * np.arange(1, 6)), rtol=1e-12)
    assert not result.converged and result.n_sweeps == 5


def test_cavi_refuses_bad_options() -> None:
    with pytest.raises(ValueError, match="init must have shape"):
        cavi_gaussian([0.0, 0.0], np.eye(2), init=[1.0])
    with pytest.raises(ValueError, match="max_sweeps must be at least 1"):
        cavi_gaussian([0.0], [[1.0]], max_sweeps=0)
    with pytest.raises(ValueError, match="tol must be a finite positive"):
        cavi_gaussian([0.0], [[1.0]], tol=-1.0)


# --- the VAE -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return (load_digits().data[:600] > 7).astype(float)


@pytest.fixture(scope="module")
def vae(digits: np.ndarray) -> VAE:
    return VAE(2, hidden=(64,), epochs=15, lr=3e-3, seed=0).fit(digits[:500])


def test_vae_kl_term_matches_kl_mvn(vae: VAE, digits: np.ndarray) -> None:
    mean, var = vae.encode(digits[500:])
    covariances = var[:, :, None] * np.eye(2)
    expected = kl_mvn(mean, covariances, np.zeros(2), np.eye(2))
    assert np.allclose(vae.kl(digits[500:]), expected, rtol=1e-10, atol=1e-12)
    assert vae.kl(digits).min() > 0


def test_vae_history_records_both_terms_per_epoch(vae: VAE) -> None:
    assert isinstance(vae.history_, History) and vae.history_.x == "epoch"
    assert list(vae.history_) == ["epoch", "reconstruction", "kl"]
    assert vae.history_["epoch"].tolist() == list(range(1, 16))
    assert (
        vae.history_["reconstruction"][-1] < vae.history_["reconstruction"][0]
    )


def mean_and_error(values: np.ndarray) -> tuple[float, float]:
    """The mean of paired differences and its standard error."""
    return float(values.mean()), float(
        values.std(ddof=1) / np.sqrt(len(values))
    )


def test_importance_weighted_bound_tightens_with_more_samples(
    vae: VAE, digits: np.ndarray
) -> None:
    test = np.repeat(digits[500:], 10, axis=0)  # 10 draws per held-out image
    elbo = vae.elbo(test, n_samples=64, seed=1)
    bounds = {
        k: vae.log_likelihood(test, n_samples=k, seed=2) for k in (1, 16, 256)
    }
    # K = 1 is an unbiased estimate of the ELBO: they agree within Monte Carlo error
    mean, error = mean_and_error(bounds[1] - elbo)
    assert abs(mean) < 4 * error
    # on average, 16 samples give a clearly higher (tighter) bound than one
    mean, error = mean_and_error(bounds[16] - elbo)
    assert mean > 6 * error
    mean, error = mean_and_error(bounds[16] - bounds[1])
    assert mean > 4 * error
    # and 256 samples are no worse than 16 (the gain is small once q fits well)
    mean, error = mean_and_error(bounds[256] - bounds[16])
    assert mean > -2 * error


def test_bounds_stay_below_log_likelihood_by_quadrature() -> None:
    """With a 1-D latent, log p(x) is an integral over z, computed by quad."""
    rng = np.random.default_rng(5)
    patterns = np.kron(np.eye(4), np.ones((1, 3)))  # four images of 12 pixels
    X = patterns[rng.integers(0, 4, size=200)]
    model = VAE(1, hidden=(16,), epochs=40, lr=1e-2, seed=0).fit(X)

    def log_p(x: np.ndarray) -> float:
        def integrand(z: float) -> float:
            pixels = model.decode([[z]])[0]
            likelihood = np.prod(np.where(x == 1, pixels, 1 - pixels))
            return float(likelihood * stats.norm.pdf(z))

        value, _ = scipy.integrate.quad(
            integrand,
            -10,
            10,
            epsabs=1e-14,
            limit=400,
            points=[-3, -1, 0, 1, 3],
        )
        return float(np.log(value))

    exact = np.repeat([log_p(x) for x in patterns], 300)
    repeated = np.repeat(patterns, 300, axis=0)  # 300 draws per pattern
    estimates = {
        "elbo": model.elbo(repeated, n_samples=64, seed=5),
        "K=1": model.log_likelihood(repeated, n_samples=1, seed=3),
        "K=16": model.log_likelihood(repeated, n_samples=16, seed=3),
    }
    for name, estimate in estimates.items():
        mean, error = mean_and_error(estimate - exact)
        assert mean < 2 * error, name  # never significantly above log p(x)
    gap, error = mean_and_error(estimates["elbo"] - exact)
    assert gap < -3 * error, "the ELBO is a strict bound here"
    tight = model.log_likelihood(patterns, n_samples=20_000, seed=4)
    assert np.allclose(tight, exact[::300], atol=0.03)


def test_beta_weighs_the_kl_term(digits: np.ndarray) -> None:
    rates = [
        VAE(2, hidden=(32,), epochs=10, lr=3e-3, beta=beta, seed=0)
        .fit(digits)
        .kl(digits)
        .mean()
        for beta in (0.5, 10.0)
    ]
    assert rates[1] < 0.1 < rates[0]


def test_vae_decode_and_sample(vae: VAE) -> None:
    probabilities = vae.decode(np.zeros((3, 2)))
    assert probabilities.shape == (3, 64) and np.all(
        (probabilities > 0) & (probabilities < 1)
    )
    images = vae.sample(5, seed=0)
    assert images.shape == (5, 64) and set(np.unique(images)) <= {0.0, 1.0}
    means = vae.sample(5, mean=True, seed=0)
    assert np.all((means > 0) & (means < 1))
    assert np.array_equal(images, vae.sample(5, seed=0))
    assert not np.array_equal(images, vae.sample(5, seed=1))


def test_vae_is_deterministic_with_a_seed(digits: np.ndarray) -> None:
    fits = [
        VAE(2, hidden=(16,), epochs=3, seed=11).fit(digits[:200])
        for _ in range(2)
    ]
    assert same_history(fits[0].history_, fits[1].history_)
    assert np.array_equal(fits[0].encode(digits)[0], fits[1].encode(digits)[0])
    assert np.array_equal(
        fits[0].elbo(digits, seed=3), fits[1].elbo(digits, seed=3)
    )
    assert np.array_equal(
        fits[0].log_likelihood(digits, n_samples=4, seed=3),
        fits[1].log_likelihood(digits, n_samples=4, seed=3),
    )
    other = VAE(2, hidden=(16,), epochs=3, seed=12).fit(digits[:200])
    assert not same_history(other.history_, fits[0].history_)
    generator = np.random.default_rng(0)
    first = fits[0].elbo(digits, seed=generator)
    assert not np.array_equal(first, fits[0].elbo(digits, seed=generator)), (
        "a generator advances"
    )


def global_random_states() -> tuple[torch.Tensor, tuple]:
    return torch.get_rng_state().clone(), np.random.get_state()


@pytest.mark.parametrize("seed", [None, 0])
def test_no_global_random_state_changes(
    seed: int | None, digits: np.ndarray
) -> None:
    torch.manual_seed(1)
    np.random.seed(1)
    torch_before, numpy_before = global_random_states()
    model = VAE(2, hidden=(8,), epochs=2, seed=seed).fit(digits[:100])
    (
        model.elbo(digits[:10], seed=seed),
        model.log_likelihood(digits[:10], n_samples=3, seed=seed),
    )
    (
        model.sample(3, seed=seed),
        model.encode(digits[:5]),
        model.decode(np.zeros((1, 2))),
    )
    labels = np.arange(100) % 3
    vib = VIBClassifier(2, hidden=(8,), epochs=2, seed=seed).fit(
        digits[:100], labels
    )
    vib.predict(digits[:5]), vib.kl(digits[:5])
    torch_after, numpy_after = global_random_states()
    assert torch.equal(torch_before, torch_after)
    assert (
        np.array_equal(numpy_before[1], numpy_after[1])
        and numpy_before[2:] == numpy_after[2:]
    )


def test_vae_refuses_bad_input(vae: VAE, digits: np.ndarray) -> None:
    with pytest.raises(
        ValueError, match=r"X must have shape \(n_samples, n_features\)"
    ):
        VAE(epochs=1).fit(digits[0])
    with pytest.raises(ValueError, match="X must be finite"):
        VAE(epochs=1).fit(np.where(digits[:20] == 1, np.nan, 0.0))
    with pytest.raises(ValueError, match="X must be binary"):
        VAE(epochs=1).fit(digits[:20] * 0.5)
    with pytest.raises(ValueError, match="latent_dim must be at least 1"):
        VAE(0).fit(digits[:20])
    with pytest.raises(TypeError, match="latent_dim must be an integer"):
        VAE(2.5).fit(digits[:20])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="beta must be a finite non-negative"):
        VAE(beta=-1.0).fit(digits[:20])
    with pytest.raises(ValueError, match=r"hidden\[0\] must be at least 1"):
        VAE(hidden=(0,)).fit(digits[:20])
    with pytest.raises(TypeError, match="hidden must be a sequence"):
        VAE(hidden=64).fit(digits[:20])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="epochs must be at least 1"):
        VAE(epochs=0).fit(digits[:20])
    with pytest.raises(
        ValueError,
        match="X has 10 features, but VAE is expecting 64 features as input",
    ):
        vae.elbo(digits[:5, :10])
    with pytest.raises(ValueError, match="n_samples must be at least 1"):
        vae.log_likelihood(digits[:5], n_samples=0)
    with pytest.raises(ValueError, match=r"Z must have shape \(n, 2\)"):
        vae.decode(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="n must be at least 1"):
        vae.sample(0)
    with pytest.raises(TypeError, match="seed must be an int"):
        vae.sample(2, seed=1.5)  # type: ignore[arg-type]
    with pytest.raises(NotFittedError, match="not fitted yet"):
        VAE().encode(digits[:5])
    failed = VAE(epochs=1)
    with pytest.raises(ValueError):
        failed.fit(digits[:20] * 0.5)
    assert not hasattr(failed, "encoder_"), "no half-fitted model"


def test_vae_keeps_the_latent_dimension_it_was_fitted_with(
    digits: np.ndarray,
) -> None:
    """Changing ``latent_dim`` after fit (as set_params would) takes effect at the next fit."""
    model = VAE(2, hidden=(8,), epochs=1, seed=0).fit(digits[:20])
    model.latent_dim = 3
    assert model.decode(np.zeros((1, 2))).shape == (1, 64)
    assert model.sample(2, seed=0).shape == (2, 64)
    assert model.kl(digits[:3]).shape == (3,)
    with pytest.raises(ValueError, match=r"^Z must have shape \(n, 2\)"):
        model.decode(np.zeros((1, 3)))
    assert model.fit(digits[:20]).encode(digits[:1])[0].shape == (1, 3)


def test_requests_that_would_not_fit_in_memory_are_refused(
    vae: VAE, digits: np.ndarray
) -> None:
    with pytest.raises(
        ValueError, match=r"^n_samples=1,000,000,000,000 asks for .* GiB"
    ):
        vae.log_likelihood(digits[:2], n_samples=10**12)
    with pytest.raises(
        ValueError, match=r"^n=1,000,000,000,000 asks for .* GiB"
    ):
        vae.sample(10**12)
    with pytest.raises(
        ValueError,
        match=r"^hidden=\(1000000, 1000000\) with latent_dim=2 and 64 features asks",
    ):
        VAE(hidden=(10**6, 10**6), epochs=1).fit(digits[:20])


def test_decode_refuses_an_empty_or_boolean_code(vae: VAE) -> None:
    with pytest.raises(
        ValueError,
        match=r"^Z must have shape \(n, 2\) with n >= 1, got \(0, 2\)",
    ):
        vae.decode(np.zeros((0, 2)))
    with pytest.raises(TypeError, match="^Z must hold numbers, got booleans"):
        vae.decode([[True, False]])


# --- the information bottleneck ----------------------------------------------------------------


def test_vib_learns_and_its_kl_matches_kl_mvn() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = np.where(X[:, 0] + X[:, 1] > 0, 7, 3)
    model = VIBClassifier(
        2, hidden=(16,), epochs=40, lr=1e-2, beta=1e-3, seed=0
    ).fit(X, y)
    assert np.array_equal(model.classes_, [3, 7])
    assert model.score(X, y) > 0.9
    assert set(np.unique(model.predict(X))) <= {3, 7}
    assert np.allclose(model.predict_proba(X).sum(axis=1), 1.0)
    mean, var = model.encode(X)
    expected = kl_mvn(
        mean, var[:, :, None] * np.eye(2), np.zeros(2), np.eye(2)
    )
    assert np.allclose(model.kl(X), expected, rtol=1e-10, atol=1e-12)
    assert list(model.history_) == ["epoch", "cross_entropy", "kl"]
    squeezed = VIBClassifier(
        2, hidden=(16,), epochs=40, lr=1e-2, beta=10.0, seed=0
    ).fit(X, y)
    assert squeezed.kl(X).mean() < 0.05 < model.kl(X).mean()


def test_vib_refuses_bad_labels() -> None:
    X = np.eye(3)[[0, 1, 2] * 4]
    with pytest.raises(ValueError, match="y must hold class labels"):
        VIBClassifier(epochs=1).fit(X, np.linspace(0, 1, 12))
    with pytest.raises(ValueError, match=r"y must have shape \(12,\)"):
        VIBClassifier(epochs=1).fit(X, np.zeros(11))
    with pytest.raises(ValueError, match="y has only one class"):
        VIBClassifier(epochs=1).fit(X, np.zeros(12))
    with pytest.raises(ValueError, match="y must be finite"):
        VIBClassifier(epochs=1).fit(X, np.full(12, np.nan))
    with pytest.raises(ValueError, match="beta must be a finite non-negative"):
        VIBClassifier(beta=float("nan")).fit(X, np.arange(12) % 3)
    with pytest.raises(NotFittedError):
        VIBClassifier().predict(X)


def test_public_names_are_exported() -> None:
    for name in (
        "VAE",
        "VIBClassifier",
        "ConjugateNormal",
        "CAVIResult",
        "cavi_gaussian",
        "mean_field_gaussian",
    ):
        assert getattr(klcourse, name) is getattr(klcourse.variational, name)


def test_torch_runs_on_one_thread_and_the_setting_is_restored(
    vae: VAE, digits: np.ndarray
) -> None:
    seen: list[int] = []
    hooks = [
        network.register_forward_hook(
            lambda *_: seen.append(torch.get_num_threads())
        )
        for network in (vae.encoder_, vae.decoder_)
    ]
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        (
            vae.elbo(digits[:5], seed=0),
            vae.log_likelihood(digits[:5], n_samples=2, seed=0),
        )
        vae.sample(2, seed=0), vae.encode(digits[:5]), vae.kl(digits[:5])
        vae.decode(np.zeros((1, 2)))
        assert torch.get_num_threads() == 2, "the caller's setting is restored"
    finally:
        torch.set_num_threads(before)
        for hook in hooks:
            hook.remove()
    assert seen and set(seen) == {1}


# --- one estimator design ----------------------------------------------------------------------


def test_cavi_history_is_a_history_of_sweeps() -> None:
    result = cavi_gaussian(
        [0.0, 0.0], [[1.0, 0.9], [0.9, 1.0]], init=[0.0, 1.0], max_sweeps=3
    )
    history = result.history
    assert isinstance(history, History) and history.x == "sweep"
    assert list(history) == ["sweep", "m_1", "m_2"]
    assert history["sweep"].tolist() == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    assert np.array_equal(
        result.path, np.column_stack([history["m_1"], history["m_2"]])
    )
    assert np.array_equal(result.path[-1], result.mean)


def test_the_old_cavi_matrix_still_works_with_a_warning() -> None:
    result = cavi_gaussian(
        [0.0, 0.0], [[1.0, 0.5], [0.5, 1.0]], init=[1.0, 1.0], max_sweeps=2
    )
    with pytest.warns(FutureWarning, match="CAVIResult.path"):
        assert result.history.shape == result.path.shape
    with pytest.warns(FutureWarning, match="CAVIResult.path"):
        assert np.array_equal(result.history[2::2, 1], result.path[2::2, 1])
    with pytest.warns(FutureWarning, match="CAVIResult.path"):
        assert np.array_equal(result.history.T, result.path.T)
    with pytest.warns(FutureWarning, match="CAVIResult.path"):
        assert np.array_equal(np.asarray(result.history), result.path)


def test_vib_takes_text_labels_as_the_classifier_does() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    numbers = (X[:, 0] > 0).astype(int)
    names = np.array(["cat", "dog"])[numbers]
    by_number = VIBClassifier(2, hidden=(8,), epochs=5, lr=1e-2, seed=0).fit(
        X, numbers
    )
    by_name = VIBClassifier(2, hidden=(8,), epochs=5, lr=1e-2, seed=0).fit(
        X, names
    )
    assert by_name.classes_.tolist() == ["cat", "dog"]
    assert np.array_equal(by_name.predict_proba(X), by_number.predict_proba(X))
    assert np.array_equal(
        by_name.predict(X), np.array(["cat", "dog"])[by_number.predict(X)]
    )
    assert by_name.score(X, names) == by_number.score(X, numbers)
    with pytest.raises(TypeError, match="but the classes are text"):
        by_name.score(X, numbers)


def test_vae_binarize_thresholds_its_input() -> None:
    grey = np.random.default_rng(0).uniform(size=(30, 6))
    binary = (grey > 0.5).astype(float)
    thresholded = VAE(hidden=(4,), epochs=2, seed=0, binarize=0.5).fit(grey)
    plain = VAE(hidden=(4,), epochs=2, seed=0).fit(binary)
    assert np.array_equal(thresholded.encode(grey)[0], plain.encode(binary)[0])
    with pytest.raises(ValueError, match="X must be binary"):
        VAE(hidden=(4,), epochs=1).fit(grey)
    with pytest.raises(TypeError, match="binarize must be a number or None"):
        VAE(hidden=(4,), epochs=1, binarize="0.5").fit(grey)


def test_variational_does_not_import_supervised() -> None:
    import subprocess
    import sys

    code = (
        "import sys, klcourse.variational.encoders, klcourse.variational.closed_form\n"
        "assert not any(m.startswith('klcourse.supervised') for m in sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_vib_settings_are_explicit_keywords() -> None:
    import inspect

    parameters = inspect.signature(VIBClassifier).parameters
    assert not any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    assert list(parameters) == [
        "latent_dim",
        "hidden",
        "beta",
        "epochs",
        "lr",
        "batch_size",
        "seed",
        "progress",
    ]


# --- exact answers on a grid, KL annealing and free bits ---------------------------------------


@pytest.fixture(scope="module")
def vae_1d() -> tuple[VAE, np.ndarray]:
    """A VAE with a 1-D latent on four images of 12 pixels (quad is the oracle)."""
    rng = np.random.default_rng(5)
    patterns = np.kron(np.eye(4), np.ones((1, 3)))
    X = patterns[rng.integers(0, 4, size=200)]
    return VAE(1, hidden=(16,), epochs=40, lr=1e-2, seed=0).fit(X), patterns


def log_joint_1d(model: VAE, x: np.ndarray, z: float) -> float:
    """log p(x, z) for one image and a scalar z, from decode and scipy."""
    pixels = model.decode([[z]])[0]
    log_likelihood = np.sum(np.log(np.where(x == 1, pixels, 1 - pixels)))
    return float(log_likelihood + stats.norm.logpdf(z))


def test_log_evidence_matches_quadrature_in_one_dimension(vae_1d) -> None:
    model, patterns = vae_1d
    for x, grid in zip(patterns, model.log_evidence(patterns)):
        value, _ = scipy.integrate.quad(
            lambda z, x=x: np.exp(log_joint_1d(model, x, z)),
            -10,
            10,
            epsabs=1e-14,
            limit=400,
            points=[-3, -1, 0, 1, 3],
        )
        assert grid == pytest.approx(np.log(value), abs=1e-6)


def test_gaussian_elbo_matches_quadrature_and_stays_below_log_p(
    vae_1d,
) -> None:
    model, patterns = vae_1d
    mean, var = model.encode(patterns)
    grid = model.gaussian_elbo(patterns, mean, var)
    for x, m, v, value in zip(patterns, mean[:, 0], var[:, 0], grid):
        q = stats.norm(m, np.sqrt(v))
        expected, _ = scipy.integrate.quad(
            lambda z, x=x, q=q: q.pdf(z) * log_joint_1d(model, x, z),
            m - 12 * np.sqrt(v),
            m + 12 * np.sqrt(v),
            epsabs=1e-12,
            limit=200,
        )
        assert value == pytest.approx(expected + q.entropy(), abs=1e-6)
    # the sampled ELBO estimates the same number
    repeated = np.repeat(patterns, 500, axis=0)
    sampled = model.elbo(repeated, n_samples=16, seed=0).reshape(4, 500)
    error = sampled.std(axis=1, ddof=1) / np.sqrt(500)
    assert np.all(np.abs(sampled.mean(axis=1) - grid) < 4 * error + 1e-9)
    assert np.all(grid < model.log_evidence(patterns))


def test_log_evidence_in_two_dimensions_matches_gauss_legendre(
    vae: VAE, digits: np.ndarray
) -> None:
    """An independent rule: Gauss-Legendre on 24 panels per axis of [-6, 6]."""
    nodes, weights = scipy.special.roots_legendre(12)
    edges = np.linspace(-6, 6, 25)
    half = np.diff(edges)[:, None] / 2
    points = ((edges[:-1, None] + edges[1:, None]) / 2 + half * nodes).ravel()
    point_weights = (half * weights).ravel()
    z1, z2 = np.meshgrid(points, points, indexing="ij")
    z = np.stack([z1.ravel(), z2.ravel()], axis=1)
    pixels = vae.decode(z)  # (points, 64)
    images = digits[500:520]
    log_likelihood = (
        images @ np.log(pixels).T + (1 - images) @ np.log1p(-pixels).T
    )
    log_prior = stats.norm.logpdf(z).sum(axis=1)
    log_w = np.log(np.outer(point_weights, point_weights).ravel())
    oracle = scipy.special.logsumexp(
        log_likelihood + log_prior + log_w, axis=1
    )
    assert np.allclose(vae.log_evidence(images), oracle, atol=1e-6)
    # refining and widening the grid changes nothing that matters
    finer = vae.log_evidence(images, limit=8.0, n_points=240)
    assert np.allclose(vae.log_evidence(images), finer, atol=1e-5)


def test_refined_gaussians_close_most_of_the_gap(
    vae: VAE, digits: np.ndarray
) -> None:
    images = digits[500:560]
    exact = vae.log_evidence(images)
    encoder = vae.gaussian_elbo(images, *vae.encode(images))
    mean, var = vae.refine_gaussians(images)
    refined = vae.gaussian_elbo(images, mean, var)
    assert mean.shape == var.shape == (60, 2)
    assert np.all(refined >= encoder - 1e-9)  # L-BFGS never loses
    assert np.all(refined < exact)  # no Gaussian reaches log p(x)
    # a small perturbation of a refined Gaussian is no better: a local optimum
    for shift in (1e-3, -1e-3):
        moved = vae.gaussian_elbo(images, mean + shift, var)
        assert np.all(moved <= refined + 1e-9)
        wider = vae.gaussian_elbo(images, mean, var * np.exp(2 * shift))
        assert np.all(wider <= refined + 1e-9)


def test_grid_methods_refuse_a_latent_of_three(digits: np.ndarray) -> None:
    model = VAE(3, hidden=(8,), epochs=1, seed=0).fit(digits[:50])
    with pytest.raises(ValueError, match="latent of 1 or 2 dimensions"):
        model.log_evidence(digits[:2])
    with pytest.raises(ValueError, match="latent of 1 or 2 dimensions"):
        model.refine_gaussians(digits[:2])


def test_gaussian_elbo_refuses_gaussians_narrower_than_the_grid(
    vae: VAE, digits: np.ndarray
) -> None:
    mean = np.zeros((1, 2))
    with pytest.raises(ValueError, match="var is too small for the grid"):
        vae.gaussian_elbo(digits[:1], mean, np.full((1, 2), 1e-4))
    # a finer grid accepts it
    fine = vae.gaussian_elbo(
        digits[:1], mean, np.full((1, 2), 1e-4), limit=1.0, n_points=200
    )
    assert np.isfinite(fine).all()


def test_kl_warmup_raises_the_weight_linearly() -> None:
    model = VAE(beta=3.0, kl_warmup=3)
    assert [model.kl_weight(e) for e in (1, 2, 3, 4, 50)] == [0, 1, 2, 3, 3]
    assert VAE(beta=3.0).kl_weight(1) == 3.0


def test_defaults_train_exactly_as_before(digits: np.ndarray) -> None:
    """kl_warmup=0 and free_bits=0 leave the loss of the ELBO untouched."""
    model = VAE(2, hidden=(8,), epochs=1, seed=0).fit(digits[:64])
    x = torch.from_numpy(digits[:64])
    loss, terms = model.training_loss(x, torch.Generator().manual_seed(0))
    by_hand = (terms["reconstruction"] + terms["kl"]).mean()
    assert float(loss.detach()) == float(by_hand.detach())
    again = VAE(2, hidden=(8,), epochs=3, seed=0, kl_warmup=0, free_bits=0.0)
    default = VAE(2, hidden=(8,), epochs=3, seed=0)
    assert same_history(
        again.fit(digits[:100]).history_, default.fit(digits[:100]).history_
    )


def test_free_bits_charges_each_dimension_above_lambda(
    digits: np.ndarray,
) -> None:
    model = VAE(2, hidden=(8,), epochs=1, seed=0, beta=2.0, free_bits=0.7)
    model.fit(digits[:64])
    x = torch.from_numpy(digits[:64])
    loss, terms = model.training_loss(x, torch.Generator().manual_seed(0))
    mean, var = model.encode(digits[:64])
    per_dim = 0.5 * (mean**2 + var - 1 - np.log(var)).mean(axis=0)
    expected = (
        terms["reconstruction"].mean().item()
        + 2.0 * np.maximum(0.7, per_dim).sum()
    )
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-12)
    assert np.allclose(terms["kl"].detach().numpy(), model.kl(digits[:64]))


def test_free_bits_keeps_a_code_where_the_elbo_collapses(
    digits: np.ndarray,
) -> None:
    settings = {"hidden": (32,), "epochs": 15, "lr": 3e-3, "seed": 0}
    collapsed = VAE(2, beta=6.0, **settings).fit(digits)
    kept = VAE(2, beta=6.0, free_bits=0.5, **settings).fit(digits)
    annealed = VAE(2, beta=6.0, kl_warmup=10, **settings).fit(digits)
    assert collapsed.kl(digits).mean() < 0.1
    assert kept.kl(digits).mean() > 0.7  # about 0.5 nats in each dimension
    assert annealed.history_["kl"][0] > 10 * annealed.history_["kl"][-1]


def test_vib_cross_entropy_matches_its_definition() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = np.where(X[:, 0] > 0, "pos", "neg")
    model = VIBClassifier(2, hidden=(8,), epochs=20, lr=1e-2, seed=0)
    model.fit(X, y)
    estimate = model.cross_entropy(X, y, n_samples=4000, seed=1)
    # the same expectation by Gauss-Hermite quadrature over each q(z|x)
    nodes, weights = np.polynomial.hermite_e.hermegauss(30)
    weights = weights / weights.sum()
    mean, var = model.encode(X)
    column = (y == "pos").astype(int)  # classes_ is ["neg", "pos"]
    with torch.no_grad():
        z1, z2 = np.meshgrid(nodes, nodes, indexing="ij")
        eps = np.stack([z1.ravel(), z2.ravel()], axis=1)
        z = mean[:, None, :] + np.sqrt(var)[:, None, :] * eps
        logits = model.head_(torch.from_numpy(z))
        log_q = torch.log_softmax(logits, dim=-1).numpy()
    picked = np.take_along_axis(
        log_q, np.broadcast_to(column[:, None, None], (40, 900, 1)), axis=-1
    )[..., 0]
    exact = -(picked * np.outer(weights, weights).ravel()).sum(axis=1)
    assert np.allclose(estimate, exact, atol=0.05)
    with pytest.raises(ValueError, match="y has label 'maybe'"):
        model.cross_entropy(X[:1], ["maybe"])
