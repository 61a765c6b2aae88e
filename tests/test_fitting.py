"""klcourse.fitting: forward = moment matching, reverse = mode seeking, exact landscapes."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from klcourse import (
    GaussianParams,
    alpha_divergence,
    bimodal,
    fit_gaussian,
    fit_gaussian_alpha,
    forward_kl_optimum,
    kl_gaussian,
    kl_landscape,
    kl_quadrature,
    reverse_kl_optimum,
)
from klcourse._history import History
from klcourse.fitting import reverse_kl_loss

D = torch.distributions

MIXTURES = {
    "default": {},
    "equal weights": {"weights": (0.5, 0.5), "means": (-3.5, 3.5)},
    "unequal widths": {
        "weights": (0.3, 0.7),
        "means": (-2.5, 3.5),
        "stds": (0.6, 1.0),
    },
    "far apart": {
        "weights": (0.45, 0.55),
        "means": (-5.0, 4.0),
        "stds": (1.0, 0.7),
    },
}


def normal(mu: float, sigma: float) -> D.Normal:
    return D.Normal(
        torch.tensor(mu, dtype=torch.float64),
        torch.tensor(sigma, dtype=torch.float64),
    )


# --- the target ----------------------------------------------------------------------------


def test_bimodal_is_the_mixture_it_says() -> None:
    p = bimodal(weights=(0.25, 0.75), means=(-1.0, 2.0), stds=(0.5, 1.5))
    x = torch.linspace(-5, 6, 23, dtype=torch.float64)
    expected = torch.log(
        0.25 * normal(-1.0, 0.5).log_prob(x).exp()
        + 0.75 * normal(2.0, 1.5).log_prob(x).exp()
    )
    assert torch.allclose(p.log_prob(x), expected, rtol=1e-12)
    assert p.mean.dtype == torch.float64


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weights": (0.5, 0.6)}, "weights must be positive and sum to 1"),
        ({"weights": (1.2, -0.2)}, "weights must be positive"),
        ({"stds": (0.5, 0.0)}, "stds must be positive"),
        ({"means": (0.0, 1.0, 2.0)}, "means must hold two numbers"),
        ({"means": (0.0, float("nan"))}, "means must be finite"),
    ],
)
def test_bimodal_errors(kwargs, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        bimodal(**kwargs)


# --- forward -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MIXTURES)
def test_forward_fit_converges_to_moment_matching(name: str) -> None:
    p = bimodal(**MIXTURES[name])
    star = forward_kl_optimum(p)
    fit = fit_gaussian(
        p,
        direction="forward",
        init=(0.0, 1.0),
        updates=600,
        lr=0.1,
        n_samples=20_000,
        seed=1,
    )
    # The data set has 20,000 points: its mean and std differ from P's by ~ sigma/sqrt(n).
    tolerance = 4 * star.sigma / math.sqrt(20_000)
    assert abs(fit.mu - star.mu) < tolerance
    assert abs(fit.sigma - star.sigma) < tolerance
    assert fit.kl == pytest.approx(kl_quadrature(p, fit.q), rel=1e-12)


def test_forward_optimum_is_the_minimum_of_the_exact_forward_kl() -> None:
    p = bimodal(**MIXTURES["unequal widths"])
    star = forward_kl_optimum(p)
    best = kl_quadrature(p, normal(*star))
    for d_mu, d_sigma in [(0.05, 0), (-0.05, 0), (0, 0.05), (0, -0.05)]:
        assert (
            kl_quadrature(p, normal(star.mu + d_mu, star.sigma + d_sigma))
            > best
        )


def test_forward_fit_on_samples_is_the_sample_mle() -> None:
    data = np.random.default_rng(3).normal(1.0, 2.0, size=500)
    fit = fit_gaussian(
        data, direction="forward", updates=2_000, lr=0.05, seed=0
    )
    assert fit.mu == pytest.approx(data.mean(), abs=1e-6)
    assert fit.sigma == pytest.approx(
        data.std(), abs=1e-6
    )  # the MLE uses ddof=0
    assert fit.kl is None


# --- reverse -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MIXTURES)
@pytest.mark.parametrize("mode", [0, 1])
def test_reverse_fit_locks_onto_the_mode_it_starts_near(
    name: str, mode: int
) -> None:
    params = {
        "weights": (0.3, 0.7),
        "means": (-3.0, 3.0),
        "stds": (0.8, 0.8),
    } | MIXTURES[name]
    p = bimodal(**MIXTURES[name])
    mean, std = params["means"][mode], params["stds"][mode]
    fit = fit_gaussian(
        p, direction="reverse", init=(mean + 0.5, 1.0), updates=800, seed=2
    )
    assert abs(fit.mu - mean) < 0.25 * std
    assert fit.sigma == pytest.approx(std, rel=0.1)
    exact = reverse_kl_optimum(p, init=(mean + 0.5, 1.0))
    assert (
        abs(fit.mu - exact.mu) < 0.05 and abs(fit.sigma - exact.sigma) < 0.05
    )
    assert fit.kl == pytest.approx(kl_quadrature(fit.q, p), rel=1e-12)


def test_the_two_reverse_optima_differ_when_the_weights_do() -> None:
    p = bimodal(weights=(0.3, 0.7))
    left = fit_gaussian(p, direction="reverse", init=(-2.5, 1.0), seed=0)
    right = fit_gaussian(p, direction="reverse", init=(2.5, 1.0), seed=0)
    # Locking onto a mode of weight w costs about log(1/w): the heavier mode is the better fit.
    assert left.kl == pytest.approx(math.log(1 / 0.3), abs=0.02)
    assert right.kl == pytest.approx(math.log(1 / 0.7), abs=0.02)


def test_reverse_optimum_can_be_a_broad_minimum_between_the_modes() -> None:
    # Equal weights: besides one minimum per mode there is a broad one at
    # mu = 0, and a start off the axis still ends there.
    p = bimodal(weights=(0.5, 0.5))
    broad = reverse_kl_optimum(p, init=(1.0, 3.0))
    narrow = reverse_kl_optimum(p, init=(3.0, 1.0))
    assert abs(broad.mu) < 1e-3 and broad.sigma > 2
    assert abs(narrow.mu - 3) < 0.05 and narrow.sigma < 1
    kl = {
        name: kl_quadrature(torch.distributions.Normal(*fit), p)
        for name, fit in [("broad", broad), ("narrow", narrow)]
    }
    assert kl["narrow"] < kl["broad"]  # the broad one is only a local minimum


def test_unnormalised_log_density_gives_the_same_reverse_fit() -> None:
    p = bimodal()
    unnormalised = lambda x: p.log_prob(x) + 17.3
    fit = fit_gaussian(p, direction="reverse", init=(1.0, 2.0), seed=5)
    same = fit_gaussian(
        unnormalised, direction="reverse", init=(1.0, 2.0), seed=5
    )
    assert same.mu == pytest.approx(fit.mu, abs=1e-9)
    assert same.sigma == pytest.approx(fit.sigma, abs=1e-9)
    np.testing.assert_allclose(
        same.history["loss"], fit.history["loss"] - 17.3, atol=1e-9
    )
    assert same.kl is None


def test_dropping_the_entropy_term_collapses_sigma() -> None:
    p = bimodal()
    fit = fit_gaussian(
        p,
        direction="reverse",
        init=(2.0, 1.0),
        updates=1_000,
        seed=0,
        entropy=False,
    )
    assert fit.sigma < 0.05
    assert abs(fit.mu - 3.0) < 0.1  # onto the peak of the mode
    assert (
        fit.history["sigma"][-1]
        < fit.history["sigma"][100]
        < fit.history["sigma"][0]
    )


def test_seeds_reproduce_fits_exactly() -> None:
    p = bimodal()
    for direction in ("forward", "reverse"):
        a = fit_gaussian(p, direction=direction, updates=50, seed=11)
        b = fit_gaussian(p, direction=direction, updates=50, seed=11)
        c = fit_gaussian(p, direction=direction, updates=50, seed=12)
        assert (a.mu, a.sigma) == (b.mu, b.sigma)
        assert (a.mu, a.sigma) != (c.mu, c.sigma)


def test_history_records_every_update() -> None:
    fit = fit_gaussian(
        bimodal(), direction="reverse", updates=37, init=(0.5, 2.0), seed=0
    )
    assert isinstance(fit.history, History) and fit.history.x == "update"
    assert list(fit.history) == ["update", "mu", "sigma", "loss"]
    assert all(v.shape == (37,) for v in fit.history.values())
    np.testing.assert_array_equal(fit.history["update"], np.arange(37))
    assert fit.history["mu"][0] == 0.5 and fit.history["sigma"][
        0
    ] == pytest.approx(2.0)
    frame = pd.DataFrame(fit.history)
    assert frame.shape == (37, 4)


def test_reverse_kl_loss_estimates_the_reverse_kl() -> None:
    """The printed loss of chapter 3: KL(Q||P) up to log p's constant."""
    p = D.Normal(torch.tensor(1.0, dtype=torch.float64), 2.0)
    eps = torch.randn(
        200_000,
        generator=torch.Generator().manual_seed(0),
        dtype=torch.float64,
    )
    mu = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    log_sigma = torch.zeros((), dtype=torch.float64, requires_grad=True)
    loss = reverse_kl_loss(p.log_prob, mu, log_sigma, eps)
    exact = float(kl_gaussian(0.0, 1.0, 1.0, 2.0))
    assert loss.item() == pytest.approx(exact, abs=0.01)
    loss.backward()  # d KL / d mu = (mu - 1) / 4 at mu = 0
    assert mu.grad is not None and mu.grad.item() == pytest.approx(
        -0.25, abs=0.01
    )
    shifted = reverse_kl_loss(
        lambda x: p.log_prob(x) + 5.0, mu, log_sigma, eps
    )
    assert shifted.item() == pytest.approx(loss.item() - 5.0, abs=1e-12)
    no_entropy = reverse_kl_loss(p.log_prob, mu, log_sigma, eps, entropy=False)
    entropy_q = 0.5 * math.log(2 * math.pi * math.e)
    assert no_entropy.item() == pytest.approx(loss.item() + entropy_q)


def test_steps_is_the_old_name_of_updates() -> None:
    p = D.Normal(1.0, 2.0)
    new = fit_gaussian(p, direction="reverse", updates=20, seed=3)
    with pytest.warns(FutureWarning, match=r"fit_gaussian\(updates=\.\.\.\)"):
        old = fit_gaussian(p, direction="reverse", steps=20, seed=3)
    assert (old.mu, old.sigma) == (new.mu, new.sigma)
    assert old.history.n_rows == 20
    with pytest.raises(TypeError, match="both steps and updates"):
        fit_gaussian(p, steps=20, updates=20)


def test_progress_shows_a_bar_over_the_updates(
    capsys: pytest.CaptureFixture[str],
) -> None:
    p = D.Normal(1.0, 2.0)
    quiet = fit_gaussian(p, updates=7, seed=0, progress=False)
    assert capsys.readouterr().err == ""
    shown = fit_gaussian(p, updates=7, seed=0, progress=True)
    assert "7/7" in capsys.readouterr().err
    assert (shown.mu, shown.sigma) == (quiet.mu, quiet.sigma)
    with pytest.raises(TypeError, match="progress"):
        fit_gaussian(p, updates=7, progress="yes")  # type: ignore[arg-type]


# --- exact landscapes and alpha-divergences ------------------------------------------------


@pytest.mark.parametrize("name", MIXTURES)
def test_landscape_matches_quadrature(name: str) -> None:
    p = bimodal(**MIXTURES[name])
    rng = np.random.default_rng(0)
    for mu, sigma in zip(rng.uniform(-4, 4, 3), rng.uniform(0.3, 4, 3)):
        q = normal(mu, sigma)
        fwd = kl_landscape(p, mu, np.log(sigma), direction="forward")
        rev = kl_landscape(p, mu, np.log(sigma), direction="reverse")
        assert fwd == pytest.approx(kl_quadrature(p, q), rel=1e-8)
        assert rev == pytest.approx(kl_quadrature(q, p), rel=1e-8)


def test_landscape_broadcasts_over_a_grid() -> None:
    mu, log_sigma = np.meshgrid(np.linspace(-4, 4, 7), np.linspace(-1, 1, 5))
    assert kl_landscape(
        bimodal(), mu, log_sigma, direction="reverse"
    ).shape == (5, 7)


def gaussian_alpha_divergence(
    m1: float, s1: float, m2: float, s2: float, alpha: float
) -> float:
    """For Gaussians, int p^a q^(1-a) has a closed form (a Gaussian integral)."""
    var = alpha * s2**2 + (1 - alpha) * s1**2
    log_integral = 0.5 * math.log(
        s1 ** (2 * (1 - alpha)) * s2 ** (2 * alpha) / var
    ) - alpha * (1 - alpha) * (m1 - m2) ** 2 / (2 * var)
    return (1 - math.exp(log_integral)) / (alpha * (1 - alpha))


def one_component_mixture(mean: float, std: float) -> D.MixtureSameFamily:
    """A Normal written as a one-component mixture, the form the alpha functions take."""
    return D.MixtureSameFamily(
        D.Categorical(torch.tensor([1.0], dtype=torch.float64)),
        D.Normal(
            torch.tensor([mean], dtype=torch.float64),
            torch.tensor([std], dtype=torch.float64),
        ),
    )


@pytest.mark.parametrize("alpha", [-1.0, 0.25, 0.5, 2.0])
def test_alpha_divergence_between_gaussians_matches_closed_form(
    alpha: float,
) -> None:
    m1, s1, m2, s2 = 0.3, 1.1, -0.4, 1.4
    p = one_component_mixture(m1, s1)
    expected = gaussian_alpha_divergence(m1, s1, m2, s2, alpha)
    assert alpha_divergence(p, m2, s2, alpha=alpha) == pytest.approx(
        expected, rel=1e-9
    )


@pytest.mark.parametrize(("m2", "s2"), [(4.0, 5.0), (-6.0, 0.2)])
def test_alpha_divergence_when_q_sets_the_grid(m2: float, s2: float) -> None:
    # Q much wider, or far off and narrow: the grid follows Q, not P.
    m1, s1, alpha = 0.3, 1.1, 0.4
    p = one_component_mixture(m1, s1)
    expected = gaussian_alpha_divergence(m1, s1, m2, s2, alpha)
    assert alpha_divergence(p, m2, s2, alpha=alpha) == pytest.approx(
        expected, rel=1e-9
    )


def test_alpha_divergence_overflow_is_inf_without_a_warning() -> None:
    # alpha = -1 and a Q far wider than P: the integral of p^-1 q^2 diverges.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert alpha_divergence(bimodal(), 0.0, 3.0, alpha=-1.0) == math.inf


def test_alpha_divergence_limits_are_the_two_kls() -> None:
    p = bimodal()
    q = normal(0.5, 1.5)
    assert alpha_divergence(p, 0.5, 1.5, alpha=1.0) == pytest.approx(
        kl_quadrature(p, q), rel=1e-8
    )
    assert alpha_divergence(p, 0.5, 1.5, alpha=0.0) == pytest.approx(
        kl_quadrature(q, p), rel=1e-8
    )
    assert alpha_divergence(p, 0.5, 1.5, alpha=1 - 1e-6) == pytest.approx(
        kl_quadrature(p, q), rel=1e-5
    )
    assert alpha_divergence(p, 0.5, 1.5, alpha=1e-6) == pytest.approx(
        kl_quadrature(q, p), rel=1e-5
    )


def test_alpha_fits_move_from_mode_seeking_to_mass_covering() -> None:
    p = bimodal()
    star = forward_kl_optimum(p)
    fits = {
        a: fit_gaussian_alpha(p, alpha=a, init=(2.0, 1.0))
        for a in (-1.0, 0.0, 0.5, 1.0, 2.0)
    }
    assert (
        abs(fits[1.0].mu - star.mu) < 1e-3
        and abs(fits[1.0].sigma - star.sigma) < 1e-3
    )
    assert abs(fits[0.0].mu - 3.0) < 0.05 and abs(fits[-1.0].mu - 3.0) < 0.05
    sigmas = [fits[a].sigma for a in sorted(fits)]
    assert all(np.diff(sigmas) >= -1e-9), "larger alpha, wider fit"
    assert fits[2.0].sigma > star.sigma


@pytest.mark.parametrize("alpha", [-1.0, 0.0, 0.5, 1.0, 2.0])
def test_alpha_fit_recovers_a_gaussian_target(alpha: float) -> None:
    # D_alpha(P||Q) = 0 only at Q = P: a Gaussian P is its own best fit for every alpha.
    p = one_component_mixture(-0.7, 1.3)
    # a start where every one of these alphas has a finite divergence (at
    # sigma = 0.8 the alpha = 2 integral diverges: 1 / 0.8^2 > 2 / 1.3^2)
    fit = fit_gaussian_alpha(p, alpha=alpha, init=(0.5, 1.0))
    assert fit.mu == pytest.approx(
        -0.7, abs=1e-4
    ) and fit.sigma == pytest.approx(1.3, abs=1e-4)


def test_alpha_fit_refuses_a_start_where_the_divergence_is_infinite() -> None:
    with pytest.raises(
        ValueError, match=r"infinite at init=\(mu=0.0, sigma=3.0\)"
    ):
        fit_gaussian_alpha(bimodal(), alpha=-1.0, init=(0.0, 3.0))


def test_alpha_fit_zero_agrees_with_gradient_reverse_fit() -> None:
    p = bimodal()
    exact = reverse_kl_optimum(p, init=(-2.0, 1.0))
    sgd = fit_gaussian(
        p,
        direction="reverse",
        init=(-2.0, 1.0),
        updates=1_000,
        n_samples=4_000,
        seed=0,
    )
    assert sgd.mu == pytest.approx(
        exact.mu, abs=0.03
    ) and sgd.sigma == pytest.approx(exact.sigma, abs=0.03)


# --- errors --------------------------------------------------------------------------------


def test_fit_gaussian_errors() -> None:
    p = bimodal()
    with pytest.raises(
        ValueError,
        match=r"direction must be one of \('forward', 'reverse'\), got 'sideways'",
    ):
        fit_gaussian(p, direction="sideways")
    with pytest.raises(
        ValueError, match="init must have a finite mu and a positive sigma"
    ):
        fit_gaussian(p, init=(0.0, -1.0))
    with pytest.raises(TypeError, match=r"init must be a pair \(mu, sigma\)"):
        fit_gaussian(p, init=1.0)
    with pytest.raises(ValueError, match="updates must be at least 1"):
        fit_gaussian(p, updates=0)
    with pytest.raises(
        ValueError, match="lr must be a finite positive number, got 0.0"
    ):
        fit_gaussian(p, lr=0.0)
    with pytest.raises(ValueError, match="n_samples must be at least 2"):
        fit_gaussian(p, n_samples=1)
    with pytest.raises(TypeError, match="seed must be an int"):
        fit_gaussian(p, seed=1.5)
    with pytest.raises(TypeError, match="lr must be a number, got str"):
        fit_gaussian(p, lr="fast")
    with pytest.raises(TypeError, match="direction must be one of"):
        fit_gaussian(p, direction=1)
    with pytest.raises(TypeError, match="forward KL needs samples from P"):
        fit_gaussian(lambda x: p.log_prob(x), direction="forward")
    with pytest.raises(TypeError, match="reverse KL needs log P"):
        fit_gaussian(np.zeros(10), direction="reverse")
    with pytest.raises(
        ValueError, match="entropy=False only applies to direction='reverse'"
    ):
        fit_gaussian(p, direction="forward", entropy=False)
    with pytest.raises(
        ValueError, match="p must be one univariate distribution"
    ):
        fit_gaussian(
            D.Normal(torch.zeros(2), torch.ones(2)), direction="reverse"
        )
    with pytest.raises(
        ValueError, match="p given as samples must be a 1-D array"
    ):
        fit_gaussian(np.zeros((3, 2)), direction="forward")
    with pytest.raises(
        FloatingPointError,
        match="the reverse objective became inf at update 0",
    ):
        fit_gaussian(
            lambda x: -1e308 * x**2, direction="reverse", updates=5, seed=0
        )


def test_other_errors() -> None:
    with pytest.raises(
        TypeError, match="p must be a torch.distributions.Distribution"
    ):
        forward_kl_optimum(np.zeros(3))
    with pytest.raises(ValueError, match="direction must be one of"):
        kl_landscape(bimodal(), 0.0, 0.0, direction="both")
    with pytest.raises(ValueError, match="alpha must be a finite number"):
        alpha_divergence(bimodal(), 0.0, 1.0, alpha=float("inf"))
    with pytest.raises(
        TypeError, match="alpha must be a real number, got str"
    ):
        alpha_divergence(bimodal(), 0.0, 1.0, alpha="half")
    with pytest.raises(ValueError, match="log_sigma must be finite"):
        kl_landscape(bimodal(), 0.0, np.nan, direction="reverse")


def test_kl_gaussian_agrees_with_the_forward_landscape_decomposition() -> None:
    # KL(P||Q) - KL(P||Q*) = KL(Q*||Q) for Gaussian Q: the identity kl_landscape relies on.
    p = bimodal(**MIXTURES["unequal widths"])
    star = forward_kl_optimum(p)
    for mu, sigma in [(0.0, 1.0), (1.0, 3.0), (-2.0, 0.5)]:
        gap = kl_quadrature(p, normal(mu, sigma)) - kl_quadrature(
            p, normal(*star)
        )
        assert gap == pytest.approx(
            kl_gaussian(star.mu, star.sigma, mu, sigma), rel=1e-7
        )


# --- randomness and threads ----------------------------------------------------------------


@pytest.mark.parametrize("direction", ["forward", "reverse"])
@pytest.mark.parametrize("seed", [None, 3])
def test_fit_gaussian_leaves_global_random_state_alone(
    direction: str, seed: int | None
) -> None:
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    fit_gaussian(
        bimodal(), direction=direction, updates=5, n_samples=50, seed=seed
    )
    assert torch.equal(torch.get_rng_state(), torch_state)
    after = np.random.get_state()
    assert (
        after[0] == numpy_state[0]
        and np.array_equal(after[1], numpy_state[1])
        and after[2:] == numpy_state[2:]
    )


@pytest.mark.parametrize("direction", ["forward", "reverse"])
def test_fit_gaussian_takes_a_generator(direction: str) -> None:
    def fit(seed: object) -> tuple[float, float]:
        result = fit_gaussian(
            bimodal(), direction=direction, updates=20, n_samples=50, seed=seed
        )
        return result.mu, result.sigma

    assert fit(np.random.default_rng(5)) == fit(np.random.default_rng(5))
    rng = np.random.default_rng(5)
    first, second = fit(rng), fit(rng)  # one generator threads through calls
    assert first != second
    assert fit(7) == fit(7) != fit(8)


def test_fit_gaussian_trains_single_threaded_and_restores_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[int] = []

    def log_p(x: torch.Tensor) -> torch.Tensor:
        seen.append(torch.get_num_threads())
        return D.Normal(0.0, 1.0).log_prob(x)

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        fit_gaussian(
            log_p, direction="reverse", updates=3, n_samples=10, seed=0
        )
        assert set(seen) == {1}
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


# --- issue 18: no silently wrong answer --------------------------------------------------------


def test_gaussian_params_refuse_what_is_not_a_gaussian() -> None:
    with pytest.raises(TypeError, match="mu must be a real number, got str"):
        GaussianParams(mu="0", sigma=1.0)
    with pytest.raises(
        TypeError, match="sigma must be a real number, got bool"
    ):
        GaussianParams(mu=0.0, sigma=True)
    with pytest.raises(ValueError, match="sigma must be positive"):
        GaussianParams(0.0, -1.0)
    with pytest.raises(ValueError, match="sigma must be a finite number"):
        GaussianParams(0.0, math.inf)
    params = GaussianParams(np.float32(1.5), 2)
    assert params == (1.5, 2.0) and type(params.sigma) is float
    assert repr(params) == "GaussianParams(mu=1.5, sigma=2.0)"


def test_no_optimum_for_a_target_without_a_variance() -> None:
    """Forward KL to any Gaussian is infinite for a Cauchy: the old code
    returned GaussianParams(mu=nan, sigma=inf)."""
    cauchy = D.Cauchy(torch.tensor(0.0), torch.tensor(1.0))
    with pytest.raises(
        ValueError, match="p must have a finite mean and variance"
    ):
        forward_kl_optimum(cauchy)
    with pytest.raises(
        ValueError, match="p must have a finite mean and variance"
    ):
        kl_landscape(cauchy, 0.0, 0.0, direction="forward")
    with pytest.raises(
        ValueError, match="p must have a finite mean and variance"
    ):
        alpha_divergence(cauchy, 0.0, 1.0, alpha=0.5)
    # a forward fit to Cauchy samples reports the truth about its divergence
    fit = fit_gaussian(cauchy, updates=3, n_samples=50, seed=0)
    assert fit.kl == math.inf


def test_text_and_booleans_are_refused_as_numbers() -> None:
    p = bimodal()
    with pytest.raises(TypeError, match=r"init must be a pair \(mu, sigma\)"):
        fit_gaussian(p, init="01")  # was read as (0.0, 1.0)
    with pytest.raises(
        TypeError, match="init mu must be a real number, got str"
    ):
        reverse_kl_optimum(p, init=("0", "1"))  # was converted
    with pytest.raises(
        TypeError, match="init mu must be a real number, got bool"
    ):
        fit_gaussian(p, init=(True, 1.0))
    with pytest.raises(TypeError, match="mu must be a real number, got str"):
        alpha_divergence(p, "0", 1.0, alpha=0.5)
    with pytest.raises(TypeError, match="entropy must be True or False"):
        fit_gaussian(p, direction="reverse", entropy="no")
    with pytest.raises(
        TypeError, match="weights must be a numeric array, got text"
    ):
        bimodal(weights=("0.3", "0.7"))
    with pytest.raises(
        TypeError, match="stds must hold numbers, got booleans"
    ):
        bimodal(stds=(True, True))
    # NumPy numbers are numbers (np.float32 was refused as "not a number")
    assert math.isfinite(alpha_divergence(p, 0.0, 1.0, alpha=np.float32(0.5)))


def test_reverse_kl_to_a_bounded_support_is_infinite_or_refused() -> None:
    """A Gaussian Q puts mass where a uniform p is 0: KL(Q||P) = inf for every Q.

    The old code crashed inside torch (log_prob outside the support)."""
    uniform = D.Uniform(
        torch.tensor(0.0, dtype=torch.float64),
        torch.tensor(1.0, dtype=torch.float64),
    )
    assert np.all(
        np.isinf(
            kl_landscape(uniform, [0.2, 0.5], [-1.0, 0.0], direction="reverse")
        )
    )
    assert alpha_divergence(uniform, 0.5, 0.2, alpha=0.0) == math.inf
    assert alpha_divergence(uniform, 0.5, 0.2, alpha=-1.0) == math.inf
    forward = alpha_divergence(uniform, 0.5, 0.3, alpha=1.0)
    # the trapezoid rule meets the jumps of a uniform: first order only
    assert forward == pytest.approx(
        kl_quadrature(uniform, normal(0.5, 0.3)), rel=1e-2
    )
    with pytest.raises(
        ValueError, match="p must have the whole real line as its support"
    ):
        fit_gaussian(uniform, direction="reverse", updates=3, seed=0)
    with pytest.raises(
        ValueError, match="p must have the whole real line as its support"
    ):
        reverse_kl_optimum(uniform, init=(0.5, 0.1))


def test_a_log_density_that_returns_the_wrong_thing_is_named() -> None:
    p = bimodal()
    with pytest.raises(
        TypeError, match="p, a log-density, must return a torch tensor"
    ):
        fit_gaussian(
            lambda x: np.zeros(x.shape), direction="reverse", updates=3, seed=0
        )
    with pytest.raises(
        ValueError, match="p, a log-density, must return one value per point"
    ):
        fit_gaussian(
            lambda x: p.log_prob(x).sum(),
            direction="reverse",
            updates=3,
            seed=0,
        )


def test_landscape_and_grid_sizes_are_checked() -> None:
    p = bimodal()
    with pytest.raises(
        ValueError, match=r"log_sigma must lie in \[-700, 700\]"
    ):
        kl_landscape(p, 0.0, 1000.0, direction="forward")  # was a std_q error
    with pytest.raises(
        ValueError,
        match="mu with shape .3,. and log_sigma with shape .4,. do not broadcast",
    ):
        kl_landscape(p, np.zeros(3), np.zeros(4), direction="forward")
    with pytest.raises(
        ValueError, match=r"mu and log_sigma \(broadcast\) asks for"
    ):
        kl_landscape(
            p, np.zeros((100_000, 1)), np.zeros(100_000), direction="reverse"
        )
    with pytest.raises(ValueError, match="n_grid asks for"):
        alpha_divergence(p, 0.0, 1.0, alpha=0.5, n_grid=10**10)
    with pytest.raises(ValueError, match="updates asks for"):
        fit_gaussian(p, updates=10**12)
    with pytest.raises(ValueError, match="n_samples asks for"):
        fit_gaussian(p, n_samples=10**12)


def test_alpha_divergence_is_infinite_where_its_integral_diverges() -> None:
    """The old grid returned a finite number for these divergent integrals."""
    p = one_component_mixture(-0.7, 1.3)
    # alpha = 2: p^2 / q grows in both tails when 1 / sigma_q^2 > 2 / sigma_p^2
    assert alpha_divergence(p, 0.5, 0.8, alpha=2.0) == math.inf
    heavy = D.StudentT(torch.tensor(3.0, dtype=torch.float64))
    assert alpha_divergence(heavy, 0.0, 1.0, alpha=2.0) == math.inf
    # the KL limits of a heavy-tailed p: its tails beyond the grid count
    assert alpha_divergence(heavy, 0.0, 1.0, alpha=1.0) == pytest.approx(
        kl_quadrature(heavy, normal(0.0, 1.0)), rel=1e-9
    )
    laplace = D.Laplace(
        torch.tensor(0.0, dtype=torch.float64),
        torch.tensor(1.0, dtype=torch.float64),
    )  # KL(Laplace || N(0, 1)) = -(1 + log 2) + log(2 pi) / 2 + 1
    assert alpha_divergence(laplace, 0.0, 1.0, alpha=1.0) == pytest.approx(
        -math.log(2) + 0.5 * math.log(2 * math.pi), rel=1e-9
    )
