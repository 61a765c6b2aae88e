"""Properties of the divergences, checked with hypothesis on random parameters.

KL(P||Q) >= 0 (or +inf), KL(P||P) = 0, and the routes to the same number agree:
closed forms (kl_gaussian, kl_mvn), numerical integration (kl_quadrature),
discrete KL on fine bins (kl_divergence), Gauss-Hermite (kl_gauss_hermite) and
torch.distributions.kl_divergence. kl_quadrature is also run on random pairs
from SciPy's location-scale families, heavy tails included, where it must never
return a negative or a finite value for an infinite divergence.

The hypothesis profile (tests/conftest.py) is derandomised, so every run draws
the same examples.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.stats as st
import torch
from hypothesis import given, settings
from hypothesis import strategies as hs
from hypothesis.extra.numpy import arrays

from klcourse import (
    cross_entropy,
    entropy,
    kl_divergence,
    kl_gaussian,
    kl_mvn,
    kl_quadrature,
)
from klcourse.divergences import kl_gauss_hermite

D = torch.distributions

means = hs.floats(-5.0, 5.0)
widths = hs.floats(0.2, 5.0)


def simplex(n: int) -> hs.SearchStrategy[np.ndarray]:
    """Probability vectors of length n, zeros allowed."""
    weights = arrays(np.float64, n, elements=hs.floats(0, 1e3))
    return weights.filter(lambda w: w.sum() > 1e-6).map(lambda w: w / w.sum())


# --- discrete ------------------------------------------------------------------------------


@given(p=simplex(6), q=simplex(6))
def test_discrete_kl_is_non_negative_and_matches_torch(
    p: np.ndarray, q: np.ndarray
) -> None:
    kl = float(kl_divergence(p, q))
    assert kl >= 0.0  # rel_entr's terms sum to >= 0 up to rounding
    if not math.isfinite(kl):  # infinite exactly when q misses p's mass
        assert np.any((q == 0) & (p > 0))
        return
    # the definition, term by term in Python floats
    direct = math.fsum(
        pi * (math.log(pi) - math.log(qi)) for pi, qi in zip(p, q) if pi > 0
    )
    assert kl == pytest.approx(direct, rel=1e-9, abs=1e-12)
    # Gibbs: the cross-entropy is never below the entropy
    assert cross_entropy(p, q) >= entropy(p) - 1e-12
    if q.min() > 1e-12:  # torch clamps probabilities near its float epsilon
        oracle = D.kl_divergence(
            D.Categorical(probs=torch.tensor(p)),
            D.Categorical(probs=torch.tensor(q)),
        )
        assert kl == pytest.approx(float(oracle), rel=1e-9, abs=1e-12)


@given(p=simplex(6))
def test_discrete_kl_is_zero_at_equality(p: np.ndarray) -> None:
    assert kl_divergence(p, p) == 0.0


# --- Gaussians: four routes to one number ----------------------------------------------------


@given(mp=means, sp=widths, mq=means, sq=widths)
def test_kl_gaussian_is_non_negative_and_zero_at_equality(
    mp: float, sp: float, mq: float, sq: float
) -> None:
    assert kl_gaussian(mp, sp, mq, sq) >= 0.0
    assert kl_gaussian(mp, sp, mp, sp) == 0.0


@settings(max_examples=40)
@given(mp=means, sp=widths, mq=means, sq=widths)
def test_gaussian_closed_form_quadrature_and_torch_agree(
    mp: float, sp: float, mq: float, sq: float
) -> None:
    closed = float(kl_gaussian(mp, sp, mq, sq))
    p = D.Normal(*torch.tensor([mp, sp], dtype=torch.float64))
    q = D.Normal(*torch.tensor([mq, sq], dtype=torch.float64))
    assert closed == pytest.approx(
        float(D.kl_divergence(p, q)), rel=1e-9, abs=1e-12
    )
    quadrature = kl_quadrature(st.norm(mp, sp), st.norm(mq, sq))
    assert quadrature == pytest.approx(closed, rel=1e-7, abs=1e-10)
    # exact with 4 nodes: the log-ratio of two Normals is a quadratic
    hermite = kl_gauss_hermite(p, q, n_nodes=4)
    assert float(hermite) == pytest.approx(closed, rel=1e-9, abs=1e-12)


def _bin_probabilities(dist, edges: np.ndarray) -> np.ndarray:
    """P(bin) for bins between ``edges`` (the end bins hold the tails).

    Left of the median from differences of the CDF, right of it from
    differences of the survival function, so that no tail bin cancels to 0.
    """
    left = np.diff(dist.cdf(edges))
    right = -np.diff(dist.sf(edges))
    return np.where(
        0.5 * (edges[:-1] + edges[1:]) < dist.median(), left, right
    )


@settings(max_examples=30)
@given(
    mp=means,
    sp=widths,
    shift=hs.floats(-2.0, 2.0),
    ratio=hs.floats(0.5, 2.0),
)
def test_discrete_kl_on_fine_bins_approaches_the_closed_form(
    mp: float, sp: float, shift: float, ratio: float
) -> None:
    mq, sq = mp + shift * sp, sp * ratio
    p, q = st.norm(mp, sp), st.norm(mq, sq)
    span = 12 * max(sp, sq)
    edges = np.linspace(min(mp, mq) - span, max(mp, mq) + span, 20_001)
    edges[[0, -1]] = -np.inf, np.inf
    binned = float(
        kl_divergence(
            _bin_probabilities(p, edges), _bin_probabilities(q, edges)
        )
    )
    closed = float(kl_gaussian(mp, sp, mq, sq))
    # binning only loses information (data processing), and fine bins lose little
    assert binned <= closed + 1e-12
    assert binned == pytest.approx(closed, rel=1e-4, abs=1e-8)


def spd(d: int) -> hs.SearchStrategy[np.ndarray]:
    """Symmetric positive-definite d x d matrices, condition number below ~1e4."""
    entries = arrays(np.float64, (d, d), elements=hs.floats(-2.0, 2.0))
    return entries.map(lambda a: a @ a.T + 0.1 * np.eye(d))


@settings(max_examples=60)
@given(data=hs.data(), d=hs.integers(1, 4))
def test_kl_mvn_is_non_negative_zero_at_equality_and_matches_torch(
    data: hs.DataObject, d: int
) -> None:
    vector = arrays(np.float64, d, elements=hs.floats(-3.0, 3.0))
    mp, mq = data.draw(vector), data.draw(vector)
    cp, cq = data.draw(spd(d)), data.draw(spd(d))
    kl = float(kl_mvn(mp, cp, mq, cq))
    assert kl >= 0.0
    assert kl_mvn(mp, cp, mp, cp) == 0.0
    mvn = D.MultivariateNormal
    oracle = D.kl_divergence(
        mvn(torch.tensor(mp), covariance_matrix=torch.tensor(cp)),
        mvn(torch.tensor(mq), covariance_matrix=torch.tensor(cq)),
    )
    assert kl == pytest.approx(float(oracle), rel=1e-7, abs=1e-9)


@given(
    mp=arrays(np.float64, 3, elements=means),
    sp=arrays(np.float64, 3, elements=widths),
    mq=arrays(np.float64, 3, elements=means),
    sq=arrays(np.float64, 3, elements=widths),
)
def test_kl_mvn_of_diagonal_covariances_is_a_sum_of_kl_gaussian(
    mp: np.ndarray, sp: np.ndarray, mq: np.ndarray, sq: np.ndarray
) -> None:
    joint = float(kl_mvn(mp, np.diag(sp**2), mq, np.diag(sq**2)))
    assert joint == pytest.approx(
        float(kl_gaussian(mp, sp, mq, sq).sum()), rel=1e-10, abs=1e-12
    )


# --- kl_quadrature on SciPy's location-scale families, heavy tails included -------------------

# Families for P. Q is drawn from those whose SciPy log-density is computed in
# log space (SciPy's Laplace and hyperbolic secant take the log of a density
# that underflows beyond |x| ~ 745, which kl_quadrature refuses by name); the
# Laplace enters Q through torch, whose log-density is exact.
P_FAMILIES = (
    "norm",
    "laplace",
    "logistic",
    "cauchy",
    "t",
    "gumbel_r",
    "gumbel_l",
    "hypsecant",
)
Q_FAMILIES = (
    "norm",
    "logistic",
    "cauchy",
    "t",
    "gumbel_r",
    "gumbel_l",
    "torch_laplace",
)
degrees_of_freedom = hs.sampled_from([0.7, 1.0, 1.5, 2.0, 2.5, 3.0, 5.0, 30.0])


def make(family: str, loc: float, scale: float, df: float):
    if family == "t":
        return st.t(df, loc, scale)
    if family == "torch_laplace":
        return D.Laplace(
            torch.tensor(loc, dtype=torch.float64),
            torch.tensor(scale, dtype=torch.float64),
        )
    return getattr(st, family)(loc, scale)


def quietly(p, q, **kwargs) -> float:
    """kl_quadrature, with any warning (an IntegrationWarning, a RuntimeWarning) an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return kl_quadrature(p, q, **kwargs)


pairs = hs.tuples(
    hs.sampled_from(P_FAMILIES),
    means,
    widths,
    degrees_of_freedom,
    hs.sampled_from(Q_FAMILIES),
    means,
    widths,
    degrees_of_freedom,
)


@settings(max_examples=100)
@given(pair=pairs)
def test_kl_quadrature_is_never_negative_on_random_pairs(pair: tuple) -> None:
    p = make(*pair[:4])
    q = make(*pair[4:])
    try:
        value = quietly(p, q)
    except ValueError as error:
        # The one refusal allowed: a Gumbel's log-density overflows to -inf in
        # its double-exponential tail while a heavier p still has mass there,
        # and the tail matters (it decays like exp(-|x|/b + |x|/beta)).
        assert pair[4].startswith("gumbel"), error
        assert "q's log-density is -inf" in str(error)
        return
    assert value >= 0.0  # +inf included; never a negative divergence
    assert quietly(p, p) == 0.0


def _has_variance(family: str, df: float) -> bool:
    return family not in ("cauchy", "t") or (family == "t" and df > 2)


@settings(max_examples=100)
@given(
    family=hs.sampled_from(P_FAMILIES),
    loc=means,
    scale=widths,
    df=degrees_of_freedom,
    mq=means,
    sq=widths,
)
def test_kl_quadrature_to_a_normal_is_infinite_exactly_without_a_variance(
    family: str, loc: float, scale: float, df: float, mq: float, sq: float
) -> None:
    """KL(P || N(m, s^2)) = -H(P) + log(s sqrt(2 pi)) + E[(X - m)^2] / (2 s^2).

    SciPy's analytic entropy, mean and variance make it an oracle for every
    family; it is infinite exactly when P has no variance (Cauchy, t with df <= 2).
    """
    p = make(family, loc, scale, df)
    value = quietly(p, st.norm(mq, sq))
    if not _has_variance(family, df):
        assert value == math.inf
        return
    second_moment = float(p.var()) + (float(p.mean()) - mq) ** 2
    oracle = (
        -float(p.entropy())
        + math.log(sq * math.sqrt(2 * math.pi))
        + second_moment / (2 * sq**2)
    )
    assert value == pytest.approx(oracle, rel=1e-7, abs=1e-9)


@settings(max_examples=50)
@given(pair=pairs, shift=hs.floats(-10.0, 10.0), stretch=hs.floats(0.1, 10.0))
def test_kl_quadrature_is_invariant_under_a_common_affine_map(
    pair: tuple, shift: float, stretch: float
) -> None:
    """KL(P||Q) does not change when both are moved and scaled alike."""
    pf, pl, ps, pdf, qf, ql, qs, qdf = pair
    try:
        before = quietly(make(pf, pl, ps, pdf), make(qf, ql, qs, qdf))
    except ValueError:  # the refusal of the test above: nothing to compare
        return
    after = quietly(
        make(pf, shift + stretch * pl, stretch * ps, pdf),
        make(qf, shift + stretch * ql, stretch * qs, qdf),
    )
    if before == math.inf:
        assert after == math.inf
    else:
        assert after == pytest.approx(before, rel=1e-6, abs=1e-9)
