"""klcourse.alignment: every result checked against enumeration, closed forms or autograd."""

from __future__ import annotations

import importlib
import inspect
import itertools
import math
import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.special
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import klcourse
from klcourse import kl_divergence
from klcourse._history import History
from klcourse.alignment import (
    FactorizedLM,
    PreferencePairs,
    TabularLM,
    all_sequences,
    distill,
    dpo_loss,
    fine_tune,
    ipo_loss,
    kl_penalty,
    kl_regularized_objective,
    kl_regularized_policy,
    kl_regularized_value,
    policy_gradient_loss,
    preference_pairs,
    train_dpo,
)
from klcourse.estimators import ESTIMATORS

INITIAL = [0.5, 0.3, 0.2]
TRANSITION = [[0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.3, 0.5, 0.2]]


def small_lm(length: int = 3) -> TabularLM:
    return TabularLM.bigram(INITIAL, TRANSITION, length=length)


def count_of(token: int, lm: TabularLM) -> np.ndarray:
    return (lm.sequences == token).sum(1).double().numpy()


def numpy_probs(lm: TabularLM | FactorizedLM) -> np.ndarray:
    with torch.no_grad():
        return lm.sequence_probs().numpy()


def dirichlet(n: int, seed: int, size: int | None = None) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(n), size=size)


# --- the KL-regularised optimum ------------------------------------------------------------


def test_optimum_matches_the_closed_form_and_broadcasts() -> None:
    ref = dirichlet(5, 0, size=3)  # three decisions at once
    rewards = np.random.default_rng(1).normal(size=5)  # shared by all three
    beta = 0.7
    unnormalised = ref * np.exp(rewards / beta)
    expected = unnormalised / unnormalised.sum(-1, keepdims=True)
    got = kl_regularized_policy(ref, rewards, beta=beta)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    value = kl_regularized_value(ref, rewards, beta=beta)
    np.testing.assert_allclose(value, beta * np.log(unnormalised.sum(-1)), rtol=1e-12)


def test_zero_reward_returns_the_reference() -> None:
    ref = dirichlet(6, 2)
    for beta in (0.01, 1.0, 100.0):
        np.testing.assert_allclose(kl_regularized_policy(ref, np.zeros(6), beta=beta), ref, rtol=1e-12)
        assert kl_regularized_value(ref, np.zeros(6), beta=beta) == pytest.approx(0.0, abs=1e-12)


def test_beta_moves_the_optimum_from_the_reference_to_the_argmax() -> None:
    ref, rewards = np.array([0.5, 0.3, 0.15, 0.05]), np.array([0.0, 0.2, 0.1, 1.0])
    near_ref = kl_regularized_policy(ref, rewards, beta=1e4)
    greedy = kl_regularized_policy(ref, rewards, beta=1e-3)
    assert kl_divergence(near_ref, ref) < 1e-8
    assert greedy[3] > 1 - 1e-12
    assert kl_regularized_value(ref, rewards, beta=1e4) == pytest.approx(ref @ rewards, abs=1e-4)
    assert kl_regularized_value(ref, rewards, beta=1e-3) == pytest.approx(1.0, abs=1e-2)


def test_outcomes_the_reference_excludes_stay_excluded() -> None:
    ref, rewards = np.array([0.0, 0.4, 0.6]), np.array([10.0, 0.0, 1.0])
    best = kl_regularized_policy(ref, rewards, beta=0.1)
    assert best[0] == 0.0 and best[2] > 0.99
    assert kl_regularized_value(ref, rewards, beta=1e-3) == pytest.approx(1.0, abs=1e-2)
    assert kl_regularized_objective([1.0, 0.0, 0.0], ref, rewards, beta=0.1) == -np.inf


@given(
    st.integers(2, 8).flatmap(
        lambda n: st.tuples(
            arrays(np.float64, n, elements=st.floats(0.01, 1.0)),
            arrays(np.float64, n, elements=st.floats(-5, 5)),
            arrays(np.float64, n, elements=st.floats(0.0, 1.0)),
        )
    ),
    st.floats(0.05, 20.0),
)
def test_no_policy_beats_the_value(
    draw: tuple[np.ndarray, np.ndarray, np.ndarray], beta: float
) -> None:
    weights, rewards, other = draw
    ref = weights / weights.sum()
    value = kl_regularized_value(ref, rewards, beta=beta)
    best = kl_regularized_policy(ref, rewards, beta=beta)
    assert kl_regularized_objective(best, ref, rewards, beta=beta) == pytest.approx(value, abs=1e-9)
    if other.sum() > 0:
        policy = other / other.sum()
        objective = kl_regularized_objective(policy, ref, rewards, beta=beta)
        assert objective <= value + 1e-9
        # The gap is exactly beta KL(policy || best).
        gap = beta * kl_divergence(policy, best)
        assert objective == pytest.approx(value - gap, abs=1e-8)


# --- per-token penalties -----------------------------------------------------------------------


def test_penalty_formulas() -> None:
    p, q = np.array([0.5, 0.2, 0.9]), np.array([0.25, 0.4, 0.9])  # policy, reference
    logp, ref_logp = np.log(p), np.log(q)
    np.testing.assert_allclose(kl_penalty(logp, ref_logp, estimator="k1"), np.log(p / q), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(kl_penalty(logp, ref_logp, estimator="k2"), 0.5 * np.log(q / p) ** 2, atol=1e-15)
    np.testing.assert_allclose(kl_penalty(logp, ref_logp, estimator="k3"), q / p - 1 - np.log(q / p), atol=1e-15)
    for name, term in ESTIMATORS.items():  # the same table as chapter 1
        np.testing.assert_array_equal(kl_penalty(logp, ref_logp, estimator=name), term(ref_logp - logp))


@given(arrays(np.float64, 20, elements=st.floats(-30, 0)), arrays(np.float64, 20, elements=st.floats(-30, 0)))
def test_k3_is_never_negative(logp: np.ndarray, ref_logp: np.ndarray) -> None:
    assert np.all(kl_penalty(logp, ref_logp, estimator="k3") >= 0)


def test_torch_penalties_keep_the_graph_and_match_numpy() -> None:
    logits = torch.randn(5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    logp = torch.log_softmax(logits, -1)[:, 0]
    ref_logp = torch.log(torch.full((5,), 0.3, dtype=torch.float64))
    for name in ESTIMATORS:
        penalty = kl_penalty(logp, ref_logp, estimator=name)
        assert isinstance(penalty, torch.Tensor) and penalty.requires_grad
        np.testing.assert_allclose(
            penalty.detach().numpy(), kl_penalty(logp.detach().numpy(), ref_logp.numpy(), estimator=name), rtol=1e-12
        )
    # d k3 / d logp = 1 - r: the oracle is the derivative taken by hand.
    (grad,) = torch.autograd.grad(kl_penalty(logp, ref_logp, estimator="k3").sum(), logp)
    np.testing.assert_allclose(grad.numpy(), (1 - torch.exp(ref_logp - logp)).detach().numpy(), rtol=1e-12)
    mixed = kl_penalty(logp, ref_logp.numpy(), estimator="k1")  # a tensor and an array
    assert isinstance(mixed, torch.Tensor) and mixed.requires_grad


def test_float32_penalties_stay_float32() -> None:
    logp = torch.log_softmax(torch.tensor([[0.1, 2.0, -1.0]]), -1)
    penalty = kl_penalty(logp, torch.log(torch.tensor([[0.2, 0.5, 0.3]])), estimator="k3")
    assert penalty.dtype == torch.float32


@pytest.mark.parametrize("estimator", ["k1", "k3"])
def test_summed_penalties_average_to_the_sequence_kl(estimator: str) -> None:
    ref, policy = small_lm(), small_lm().tempered(0.6)
    exact = kl_divergence(numpy_probs(policy), numpy_probs(ref))
    with torch.no_grad():
        # Exactly, by enumeration ...
        terms = kl_penalty(policy.token_log_probs(ref.sequences), ref.token_log_probs(ref.sequences), estimator=estimator)
        assert (policy.sequence_probs() * terms.sum(1)).sum().item() == pytest.approx(exact, rel=1e-12)
        # ... and by sampling: the sample mean converges to it.
        x = policy.sample(40_000, seed=1)
        sums = kl_penalty(policy.token_log_probs(x), ref.token_log_probs(x), estimator=estimator).sum(1)
    stderr = sums.std().item() / math.sqrt(len(sums))
    assert abs(sums.mean().item() - exact) < 4 * stderr
    assert stderr < 0.02 * exact


@pytest.mark.parametrize("model", ["tabular", "factorized"])
def test_next_token_distributions_hold_the_sampled_tokens_conditionals(model: str) -> None:
    lm = small_lm() if model == "tabular" else FactorizedLM(3, 3, logits=np.random.default_rng(2).normal(size=(3, 3)))
    x = lm.sequences
    full = lm.next_token_log_probs(x)
    assert full.shape == (len(x), 3, 3)
    np.testing.assert_allclose(full.exp().sum(-1).detach().numpy(), 1.0, rtol=1e-12)
    picked = full.gather(-1, x[..., None]).squeeze(-1)
    np.testing.assert_allclose(picked.detach().numpy(), lm.token_log_probs(x).detach().numpy(), rtol=0, atol=1e-14)
    full.sum().backward()
    assert lm.logits.grad is not None and lm.logits.grad.abs().sum() > 0


def test_next_token_kl_sums_to_the_sequence_kl_without_token_noise() -> None:
    ref, policy = small_lm(), small_lm().tempered(0.6)
    exact = kl_divergence(numpy_probs(policy), numpy_probs(ref))
    with torch.no_grad():
        p, q = (m.next_token_log_probs(ref.sequences).exp().numpy() for m in (policy, ref))
    per_token = kl_divergence(p, q)  # (V^T, T): the exact KL of each next-token distribution
    probs = numpy_probs(policy)
    assert probs @ per_token.sum(1) == pytest.approx(exact, rel=1e-12)  # chain rule
    assert np.allclose(per_token[:, 0], per_token[0, 0])  # the first token: one prefix, no noise
    with torch.no_grad():
        k1 = kl_penalty(policy.token_log_probs(ref.sequences), ref.token_log_probs(ref.sequences), estimator="k1")

    def variance(values: np.ndarray) -> float:
        return float(probs @ (values - probs @ values) ** 2)

    assert variance(per_token.sum(1)) < variance(k1.sum(1).numpy())


def test_next_token_log_probs_checks_the_sequences() -> None:
    with pytest.raises(ValueError, match=r"sequences must have shape \(n, 3\)"):
        small_lm().next_token_log_probs([[0, 1]])
    with pytest.raises(ValueError, match=r"sequences must hold tokens in \[0, 3\)"):
        FactorizedLM(3, 3).next_token_log_probs([[0, 1, 3]])


def test_k2_is_biased_for_sequences() -> None:
    ref, policy = small_lm(), small_lm().tempered(0.6)
    exact = kl_divergence(numpy_probs(policy), numpy_probs(ref))
    with torch.no_grad():
        terms = kl_penalty(policy.token_log_probs(ref.sequences), ref.token_log_probs(ref.sequences), estimator="k2")
        mean = (policy.sequence_probs() * terms.sum(1)).sum().item()
    assert abs(mean - exact) > 0.01 * exact


# --- DPO ---------------------------------------------------------------------------------------------


def test_dpo_loss_is_minus_log_sigmoid_of_the_implicit_reward_margin() -> None:
    rng = np.random.default_rng(3)
    c, r, rc, rr = -rng.uniform(0.1, 8, size=(4, 50))
    beta = 0.3
    margin = beta * (c - rc) - beta * (r - rr)
    expected = np.mean(np.log1p(np.exp(-margin)))
    assert dpo_loss(c, r, rc, rr, beta=beta) == pytest.approx(expected, rel=1e-12)
    assert dpo_loss([-1.0], [-1.0], [-2.0], [-2.0], beta=5.0) == pytest.approx(math.log(2), rel=1e-12)


def test_dpo_loss_on_tensors_is_a_differentiable_scalar() -> None:
    c = torch.tensor([-1.0, -3.0], dtype=torch.float64, requires_grad=True)
    r = torch.tensor([-2.0, -1.0], dtype=torch.float64)
    rc = rr = np.array([-1.5, -1.5])
    beta = 0.5
    loss = dpo_loss(c, r, rc, rr, beta=beta)
    assert isinstance(loss, torch.Tensor) and loss.ndim == 0
    loss.backward()
    margin = beta * ((c.detach().numpy() - rc) - (r.numpy() - rr))
    # d/dc of mean(-log sigmoid(m)) = -beta * sigmoid(-m) / n
    np.testing.assert_allclose(c.grad.numpy(), -beta * scipy.special.expit(-margin) / 2, rtol=1e-12)
    assert loss.item() == pytest.approx(dpo_loss(c.detach().numpy(), r.numpy(), rc, rr, beta=beta), rel=1e-12)


def test_dpo_gradient_weighs_each_pair_by_the_probability_of_the_wrong_order() -> None:
    """Chapter 7's eq-dpo-gradient against autograd, on a trainable model."""
    policy, ref, beta = small_lm(), small_lm().tempered(1.5), 0.7
    rng = np.random.default_rng(4)
    w, lo = (torch.as_tensor(rng.integers(0, 27, size=40)) for _ in range(2))
    with torch.no_grad():
        ref_logp = ref.log_prob(ref.sequences)
    logp = policy.log_prob(policy.sequences)
    loss = dpo_loss(logp[w], logp[lo], ref_logp[w], ref_logp[lo], beta=beta)
    (autograd,) = torch.autograd.grad(loss, policy.logits)
    implicit = beta * (policy.log_prob(policy.sequences) - ref_logp).detach()
    weight = torch.sigmoid(implicit[lo] - implicit[w])
    logp = policy.log_prob(policy.sequences)
    (formula,) = torch.autograd.grad(-beta * (weight * (logp[w] - logp[lo])).mean(), policy.logits)
    torch.testing.assert_close(autograd, formula, rtol=1e-10, atol=1e-14)
    assert bool((weight > 0).all() and (weight < 1).all())


def test_ipo_loss_is_the_squared_distance_of_the_margin_from_one_over_two_beta() -> None:
    rng = np.random.default_rng(5)
    c, r, rc, rr = -rng.uniform(0.1, 8, size=(4, 50))
    beta = 0.3
    expected = np.mean(((c - rc) - (r - rr) - 1 / (2 * beta)) ** 2)
    assert ipo_loss(c, r, rc, rr, beta=beta) == pytest.approx(expected, rel=1e-12)
    # zero exactly where every margin is 1 / (2 beta)
    assert ipo_loss([-1.0], [-2.0], [-1.5], [-1.5], beta=0.5) == 0.0
    # on tensors: a differentiable scalar with the same value and gradient 2 (m - 1/(2 beta)) / n
    ct = torch.tensor(c, requires_grad=True)
    loss = ipo_loss(ct, r, rc, rr, beta=beta)
    assert isinstance(loss, torch.Tensor) and loss.ndim == 0
    loss.backward()
    margin = (c - rc) - (r - rr)
    np.testing.assert_allclose(ct.grad.numpy(), 2 * (margin - 1 / (2 * beta)) / 50, rtol=1e-12)
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_ipo_settles_where_dpo_keeps_pushing_a_winner_that_never_loses() -> None:
    """One pair: IPO's margin goes to 1/(2 beta) and stays; DPO's keeps growing."""
    ref, beta = TabularLM(2, 1), 1.0
    one_pair = PreferencePairs(torch.tensor([[1]]), torch.tensor([[0]]))

    def margin(result: object) -> float:
        with torch.no_grad():
            logp = result.policy.log_prob(result.policy.sequences)  # type: ignore[attr-defined]
        return float(logp[1] - logp[0])  # the reference is uniform

    ipo = [margin(train_dpo(ref, one_pair, beta=beta, loss="ipo", updates=u)) for u in (300, 600)]
    dpo = [margin(train_dpo(ref, one_pair, beta=beta, updates=u)) for u in (300, 600)]
    assert ipo == pytest.approx([0.5, 0.5], abs=1e-3)
    assert dpo[1] > dpo[0] > 2.0
    result = train_dpo(ref, one_pair, beta=beta, loss="ipo", updates=300)
    assert result.history["loss"][-1] < 1e-6


def test_train_dpo_loss_dpo_is_the_default() -> None:
    ref = small_lm()
    pairs = preference_pairs(ref, count_of(2, ref), n_pairs=50, seed=0)
    a = train_dpo(ref, pairs, beta=0.5, updates=5).history["loss"]
    b = train_dpo(ref, pairs, beta=0.5, updates=5, loss="dpo").history["loss"]
    np.testing.assert_array_equal(a, b)


def test_dpo_optimum_is_the_kl_regularised_optimum() -> None:
    """With every pair weighted by its Bradley-Terry probability, pi* minimises the loss."""
    ref_probs, rewards, beta = dirichlet(4, 5), np.array([0.0, 1.0, -0.5, 2.0]), 0.8
    best = kl_regularized_policy(ref_probs, rewards, beta=beta)

    def population_loss(policy: np.ndarray) -> float:
        total = 0.0
        for a, b in itertools.permutations(range(4), 2):
            weight = 0.25 * scipy.special.expit(rewards[a] - rewards[b])  # pairs drawn uniformly
            logs = np.log([policy[a], policy[b], ref_probs[a], ref_probs[b]])
            total += weight * dpo_loss(*[[v] for v in logs], beta=beta)
        return total

    for seed in range(5):
        assert population_loss(best) < population_loss(dirichlet(4, 10 + seed))


def test_preference_pairs_follow_bradley_terry() -> None:
    lm = TabularLM(2, 1)  # two sequences, equally likely
    rewards = np.array([0.0, 1.0])
    pairs = preference_pairs(lm, rewards, n_pairs=20_000, seed=0)
    differ = pairs.chosen[:, 0] != pairs.rejected[:, 0]
    wins = (pairs.chosen[differ, 0] == 1).double().mean().item()
    n = int(differ.sum())
    assert abs(wins - scipy.special.expit(1.0)) < 4 * math.sqrt(0.25 / n)
    assert len(pairs) == 20_000


def test_dpo_trained_policy_approaches_the_optimum() -> None:
    ref = small_lm(length=2)
    rewards = 2.0 * count_of(2, ref)
    beta = 0.5
    pairs = preference_pairs(TabularLM(3, 2), rewards, n_pairs=5_000, seed=0)
    result = train_dpo(ref, pairs, beta=beta, updates=100, lr=0.05, rewards=rewards, record_every=10)
    kl = result.history["kl_optimum"]
    assert kl[-1] < kl[0] / 10
    assert np.all(np.diff(kl[:6]) < 0), "the exact KL falls at first"
    assert np.all(np.diff(result.history["loss"]) < 1e-12), "full-batch Adam lowers the loss"
    # Independent checks of the recorded history: recompute the last KL and loss.
    best = kl_regularized_policy(numpy_probs(ref), rewards, beta=beta)
    assert kl[-1] == pytest.approx(kl_divergence(numpy_probs(result.policy), best), rel=1e-10)
    with torch.no_grad():
        logs = [m.log_prob(x).numpy() for x in (pairs.chosen, pairs.rejected) for m in (result.policy, ref)]
    final = dpo_loss(logs[0], logs[2], logs[1], logs[3], beta=beta)
    assert result.history["loss"][-1] == pytest.approx(final, rel=1e-10)


def test_dpo_mini_batches_are_seeded() -> None:
    ref = small_lm(length=2)
    pairs = preference_pairs(ref, count_of(2, ref), n_pairs=200, seed=0)
    runs = [train_dpo(ref, pairs, beta=1.0, updates=5, batch_size=16, seed=s).policy.logits for s in (0, 0, 1)]
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])


# --- the sequence models -------------------------------------------------------------------------


def test_bigram_probabilities_match_the_product_of_its_tables() -> None:
    lm = small_lm(length=4)
    start, move = np.array(INITIAL), np.array(TRANSITION)
    for x, p in zip(lm.sequences.tolist(), numpy_probs(lm)):
        expected = start[x[0]] * np.prod([move[a, b] for a, b in itertools.pairwise(x)])
        assert p == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("vocab_size", "length"), [(2, 1), (2, 4), (3, 3), (4, 2)])
def test_any_distribution_round_trips_through_the_chain_rule(vocab_size: int, length: int) -> None:
    probs = dirichlet(vocab_size**length, vocab_size + length)
    probs[0] = 0.0  # a sequence of probability zero, and so a prefix of probability zero if length is 1
    probs /= probs.sum()
    lm = TabularLM.from_sequence_probs(probs, vocab_size=vocab_size, length=length)
    np.testing.assert_allclose(numpy_probs(lm), probs, atol=1e-15)
    assert lm.logits.shape == (sum(vocab_size**t for t in range(length)), vocab_size)


def test_index_and_all_sequences_agree() -> None:
    lm = TabularLM(3, 3)
    assert all_sequences(3, 3).tolist() == [list(x) for x in itertools.product(range(3), repeat=3)]
    assert torch.equal(lm.index(lm.sequences), torch.arange(27))


def test_samples_follow_the_sequence_probabilities() -> None:
    lm = small_lm()
    counts = torch.bincount(lm.index(lm.sample(60_000, seed=2)), minlength=27).numpy()
    expected = 60_000 * numpy_probs(lm)
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 26 + 6 * math.sqrt(2 * 26)  # 26 degrees of freedom, far in the tail


def test_sampling_is_seeded_and_leaves_global_state_alone() -> None:
    lm = small_lm()
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    a, b = lm.sample(50, seed=3), lm.sample(50, seed=3)
    pairs = preference_pairs(lm, count_of(1, lm), n_pairs=10, seed=np.random.default_rng(0))
    fine_tune(lm, count_of(1, lm), beta=1.0, updates=3, batch_size=8, seed=4)
    assert torch.equal(a, b) and not torch.equal(a, lm.sample(50, seed=4))
    assert len(pairs) == 10
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.random.get_state()[1].tolist() == numpy_state[1].tolist()


def test_temperature_raises_every_conditional_to_a_power() -> None:
    lm = small_lm(length=2)
    tau = 1.7
    start, move = np.array(INITIAL) ** (1 / tau), np.array(TRANSITION) ** (1 / tau)
    start, move = start / start.sum(), move / move.sum(1, keepdims=True)
    expected = TabularLM.bigram(start, move, length=2)
    np.testing.assert_allclose(numpy_probs(lm.tempered(tau)), numpy_probs(expected), rtol=1e-12)
    np.testing.assert_allclose(numpy_probs(lm.tempered(1.0)), numpy_probs(lm), rtol=1e-12)


def test_token_log_probs_are_differentiable_conditionals() -> None:
    lm = small_lm()
    x = torch.tensor([[2, 1, 0]])
    logp = lm.token_log_probs(x)
    np.testing.assert_allclose(logp.exp().detach().numpy(), [[0.2, 0.5, 0.2]], rtol=1e-12)
    logp.sum().backward()
    assert lm.logits.grad is not None and lm.logits.grad.abs().sum() > 0


def test_factorized_model_is_a_product_of_its_rows() -> None:
    logits = np.random.default_rng(4).normal(size=(3, 4))
    q = FactorizedLM(4, 3, logits=logits)
    rows = scipy.special.softmax(logits, axis=1)
    expected = [np.prod([rows[t, x[t]] for t in range(3)]) for x in q.sequences.tolist()]
    np.testing.assert_allclose(numpy_probs(q), expected, rtol=1e-12)


# --- fine-tuning with a KL penalty -------------------------------------------------------------------


def test_k1_in_the_reward_follows_the_exact_gradient_to_the_optimum() -> None:
    ref = small_lm()
    rewards = count_of(2, ref)
    result = fine_tune(ref, rewards, beta=0.5, updates=400, batch_size=None, lr=0.05)
    history = result.history
    assert history["kl_optimum"][-1] < 1e-6
    value = kl_regularized_value(numpy_probs(ref), rewards, beta=0.5)
    assert history["objective"][-1] == pytest.approx(value, abs=1e-6)
    assert np.all(history["objective"] <= value + 1e-12)
    # The identity J(pi) = value - beta KL(pi || pi*) holds along the way.
    np.testing.assert_allclose(history["objective"], value - 0.5 * history["kl_optimum"], atol=1e-10)


def test_sampled_k1_in_the_reward_gets_close_to_the_optimum() -> None:
    ref = small_lm()
    result = fine_tune(ref, count_of(2, ref), beta=0.5, updates=400, batch_size=64, lr=0.05, seed=0)
    kl = result.history["kl_optimum"]
    assert kl[-1] < kl[0] / 20


def test_k3_in_the_loss_settles_away_from_the_optimum() -> None:
    ref = small_lm()
    rewards = 2.0 * count_of(2, ref)
    k3 = fine_tune(ref, rewards, beta=0.5, kl_in="loss", estimator="k3", updates=600, batch_size=None, lr=0.05)
    kl = k3.history["kl_optimum"]
    assert kl[-1] > 0.05 and abs(kl[-1] - kl[-10]) < 1e-4, "a fixed point that is not pi*"


def expected_gradient(policy: TabularLM, ref: TabularLM, surrogate) -> torch.Tensor:  # type: ignore[no-untyped-def]
    """The exact expectation, over the policy's own samples, of the gradient of a surrogate."""
    weights = policy.sequence_probs().detach()
    logp = policy.token_log_probs(policy.sequences)
    ref_logp = ref.token_log_probs(ref.sequences).detach()
    return torch.autograd.grad((weights * surrogate(logp, ref_logp)).sum(), policy.logits)[0]


def test_exact_gradients_of_the_penalty_forms() -> None:
    ref = small_lm()
    policy = TabularLM.from_sequence_probs(
        kl_regularized_policy(numpy_probs(ref), count_of(2, ref), beta=0.5), vocab_size=3, length=3
    )
    # Oracle: autograd of the exact KL between the sequence distributions.
    logq = policy.log_prob(policy.sequences)
    kl = (logq.exp() * (logq - ref.log_prob(ref.sequences).detach())).sum()
    (true,) = torch.autograd.grad(kl, policy.logits)
    k1_reward = expected_gradient(
        policy, ref, lambda lp, rlp: kl_penalty(lp, rlp).sum(1).detach() * lp.sum(1)
    )
    k3_loss = expected_gradient(policy, ref, lambda lp, rlp: kl_penalty(lp, rlp, estimator="k3").sum(1))
    k1_loss = expected_gradient(policy, ref, lambda lp, rlp: kl_penalty(lp, rlp).sum(1))
    torch.testing.assert_close(k1_reward, true, rtol=1e-10, atol=1e-12)
    assert (k3_loss - true).norm() > 0.05 * true.norm(), "k3 in the loss is biased"
    assert k1_loss.abs().max() < 1e-12, "k1 in the loss has zero expected gradient"
    # The k3 form is the gradient of the forward KL of every next-token distribution,
    # weighted by how often the policy visits the prefix (the weights are not differentiated).
    visits = torch.zeros(policy.n_prefixes, dtype=torch.float64)
    rows = policy.prefix_rows(policy.sequences)
    for t in range(3):
        visits.index_add_(0, rows[:, t], policy.sequence_probs().detach())
    ref_table = torch.log_softmax(ref.logits.detach(), -1)
    forward = (visits[:, None] * ref_table.exp() * (ref_table - torch.log_softmax(policy.logits, -1))).sum()
    (forward_grad,) = torch.autograd.grad(forward, policy.logits)
    torch.testing.assert_close(k3_loss, forward_grad, rtol=1e-10, atol=1e-12)


# --- distillation ------------------------------------------------------------------------------------


def two_mode_teacher() -> TabularLM:
    seqs = all_sequences(4, 3).numpy()
    a, b = np.array([0.6, 0.37, 0.02, 0.01]), np.array([0.01, 0.02, 0.37, 0.6])
    probs = 0.7 * a[seqs].prod(1) + 0.3 * b[seqs].prod(1)
    return TabularLM.from_sequence_probs(probs, vocab_size=4, length=3)


def test_forward_student_is_the_product_of_the_teachers_marginals() -> None:
    teacher = two_mode_teacher()
    student = distill(teacher, direction="forward", updates=400, lr=0.1).student
    marginals = numpy_probs(teacher).reshape(4, 4, 4)
    rows = [marginals.sum((1, 2)), marginals.sum((0, 2)), marginals.sum((0, 1))]
    np.testing.assert_allclose(torch.softmax(student.logits, -1).detach().numpy(), rows, atol=1e-4)


def test_reverse_students_commit_to_the_mode_they_start_near() -> None:
    teacher = two_mode_teacher()
    english, french = np.tile([2.0, 1.0, 0.0, 0.0], (3, 1)), np.tile([0.0, 0.0, 1.0, 2.0], (3, 1))
    heavy = distill(teacher, direction="reverse", init=FactorizedLM(4, 3, logits=english), updates=400).student
    light = distill(teacher, direction="reverse", init=FactorizedLM(4, 3, logits=french), updates=400).student
    forward = distill(teacher, direction="forward", updates=400).student
    seqs = all_sequences(4, 3).numpy()
    first_mode = (seqs < 2).all(1)
    assert numpy_probs(heavy)[first_mode].sum() > 0.85  # the mode itself holds 0.97**3
    assert numpy_probs(light)[first_mode].sum() < 0.01
    teacher_probs = numpy_probs(teacher)
    reverse = {m: kl_divergence(numpy_probs(m), teacher_probs) for m in (heavy, light, forward)}
    assert reverse[heavy] < reverse[light] and reverse[heavy] < reverse[forward]
    assert reverse[heavy] == pytest.approx(math.log(1 / 0.7), abs=0.05)
    assert kl_divergence(teacher_probs, numpy_probs(forward)) < kl_divergence(teacher_probs, numpy_probs(heavy))


def test_distillation_history_matches_a_recomputation() -> None:
    teacher = two_mode_teacher()
    result = distill(teacher, direction="reverse", temperature=2.0, updates=50)
    hot = numpy_probs(teacher.tempered(2.0))
    assert result.history["reverse_kl"][-1] == pytest.approx(kl_divergence(numpy_probs(result.student), hot), rel=1e-10)
    assert result.history["forward_kl"][-1] == pytest.approx(kl_divergence(hot, numpy_probs(result.student)), rel=1e-10)


# --- bad input -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("beta", [0.0, -1.0, math.inf, math.nan])
def test_beta_must_be_positive(beta: float) -> None:
    lm = small_lm()
    calls = [
        lambda: kl_regularized_policy([0.5, 0.5], [0.0, 1.0], beta=beta),
        lambda: kl_regularized_value([0.5, 0.5], [0.0, 1.0], beta=beta),
        lambda: kl_regularized_objective([0.5, 0.5], [0.5, 0.5], [0.0, 1.0], beta=beta),
        lambda: dpo_loss([-1.0], [-1.0], [-1.0], [-1.0], beta=beta),
        lambda: fine_tune(lm, count_of(0, lm), beta=beta, updates=1),
        lambda: train_dpo(lm, PreferencePairs(lm.sequences[:1], lm.sequences[1:2]), beta=beta, updates=1),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="beta must be a finite positive number"):
            call()


def test_probabilities_must_sum_to_one() -> None:
    with pytest.raises(ValueError, match="ref_probs must sum to 1"):
        kl_regularized_policy([0.5, 0.6], [0.0, 1.0], beta=1.0)
    with pytest.raises(ValueError, match="probs must sum to 1"):
        kl_regularized_objective([0.2, 0.2], [0.5, 0.5], [0.0, 1.0], beta=1.0)
    with pytest.raises(ValueError, match="transition must sum to 1"):
        TabularLM.bigram([0.5, 0.5], [[0.5, 0.4], [0.5, 0.5]], length=2)
    with pytest.raises(ValueError, match="probs must sum to 1"):
        TabularLM.from_sequence_probs([0.5, 0.2, 0.1, 0.1], vocab_size=2, length=2)


def test_shapes_must_match() -> None:
    with pytest.raises(ValueError, match="same number of outcomes"):
        kl_regularized_policy([0.5, 0.5], [0.0, 1.0, 2.0], beta=1.0)
    with pytest.raises(ValueError, match="do not broadcast"):
        kl_regularized_policy(np.full((2, 2), 0.5), np.zeros((3, 2)), beta=1.0)
    with pytest.raises(ValueError, match=r"same shape, got logp \(3,\), ref_logp \(2,\)"):
        kl_penalty(np.log([0.5, 0.5, 0.5]), np.log([0.5, 0.5]))
    with pytest.raises(ValueError, match="same shape"):
        dpo_loss([-1.0, -2.0], [-1.0], [-1.0], [-1.0], beta=1.0)
    lm = small_lm()
    with pytest.raises(ValueError, match=r"rewards must hold one reward per sequence, shape \(27,\)"):
        fine_tune(lm, np.zeros(26), beta=1.0)
    with pytest.raises(ValueError, match=r"sequences must have shape \(n, 3\)"):
        lm.token_log_probs([[0, 1]])
    with pytest.raises(ValueError, match=r"tokens in \[0, 3\)"):
        lm.token_log_probs([[0, 1, 3]])
    with pytest.raises(TypeError, match="integer tokens"):
        lm.index([[0.0, 1.0, 2.0]])
    with pytest.raises(ValueError, match=r"logits must have shape \(3, 2\)"):
        TabularLM(2, 2, logits=np.zeros((4, 2)))  # prefixes: empty, 0 and 1
    with pytest.raises(ValueError, match="init must have the teacher's vocab_size and length"):
        distill(lm, direction="forward", init=FactorizedLM(3, 2))


def test_log_probabilities_must_not_exceed_zero() -> None:
    with pytest.raises(ValueError, match=r"logp must be log-probabilities \(<= 0\), got 0.5"):
        kl_penalty([0.5, -1.0], [-1.0, -1.0])
    with pytest.raises(ValueError, match="ref_logp must be log-probabilities"):
        kl_penalty(torch.tensor([-1.0]), torch.tensor([0.1]))
    with pytest.raises(ValueError, match="ref_rejected_logp must be log-probabilities"):
        dpo_loss([-1.0], [-1.0], [-1.0], [2.0], beta=1.0)
    with pytest.raises(ValueError, match="logp contains -inf"):
        kl_penalty([-np.inf], [-1.0])
    with pytest.raises(ValueError, match="logp contains NaN"):
        kl_penalty([np.nan], [-1.0])


def test_choices_and_types_are_checked() -> None:
    lm = small_lm()
    with pytest.raises(ValueError, match="estimator must be one of"):
        kl_penalty([-1.0], [-1.0], estimator="k4")
    with pytest.raises(ValueError, match="kl_in must be one of"):
        fine_tune(lm, count_of(0, lm), beta=1.0, kl_in="advantage")
    with pytest.raises(ValueError, match="direction must be one of"):
        distill(lm, direction="sideways")
    with pytest.raises(TypeError, match="ref must be a TabularLM, got ndarray"):
        fine_tune(np.zeros(3), count_of(0, lm), beta=1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="pairs must be PreferencePairs"):
        train_dpo(lm, (lm.sequences, lm.sequences), beta=1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size must be at least 2"):
        fine_tune(lm, count_of(0, lm), beta=1.0, batch_size=1)
    with pytest.raises(ValueError, match="temperature must be a finite positive number"):
        distill(lm, direction="forward", temperature=0.0)
    with pytest.raises(ValueError, match="vocab_size must be at least 2"):
        TabularLM(1, 3)


# Every name of the single module klcourse/alignment.py, before it became a subpackage.
OLD_ALL = [
    "DistillResult", "FactorizedLM", "FineTuneResult", "PreferencePairs", "TabularLM", "all_sequences", "distill",
    "dpo_loss", "fine_tune", "kl_penalty", "kl_regularized_objective", "kl_regularized_policy",
    "kl_regularized_value", "preference_pairs", "train_dpo",
]


# Names added since (issue #20): IPO's loss.
NEW_ALL = ["ipo_loss"]


def test_every_old_name_still_imports_from_klcourse_alignment() -> None:
    assert sorted(klcourse.alignment.__all__) == sorted(OLD_ALL + NEW_ALL)
    for name in NEW_ALL:
        found = getattr(klcourse.alignment, name)
        home = found.__module__
        assert home.startswith("klcourse.alignment.") and not home.rsplit(".", 1)[1].startswith("_"), name
        assert getattr(importlib.import_module(home), name) is found
    for name in OLD_ALL:
        found = getattr(klcourse.alignment, name)
        home = found.__module__
        assert home.startswith("klcourse.alignment.") and not home.rsplit(".", 1)[1].startswith("_"), name
        assert getattr(importlib.import_module(home), name) is found  # one object, one public home
        assert getattr(klcourse, name) is found
    assert klcourse.alignment.MAX_TABLE_ENTRIES == 2**24 and klcourse.alignment.KL_PLACES == ("reward", "loss")


# --- the trainers: one vocabulary, one record ----------------------------------------------------


def bigram_pairs() -> PreferencePairs:
    return PreferencePairs([[2, 2], [0, 2], [2, 1]], [[0, 0], [1, 1], [1, 0]], vocab_size=3)


TRAINERS = {
    "fine_tune": lambda **kw: fine_tune(small_lm(2), count_of(2, small_lm(2)), beta=0.5, batch_size=8, seed=0, **kw),
    "train_dpo": lambda **kw: train_dpo(small_lm(2), bigram_pairs(), beta=0.5, batch_size=2, seed=0, **kw),
    "distill": lambda **kw: distill(small_lm(2), direction="reverse", **kw),
}


def trained(result):  # type: ignore[no-untyped-def]
    return result.student if isinstance(result, klcourse.alignment.DistillResult) else result.policy


@pytest.mark.parametrize("name", TRAINERS)
def test_every_trainer_records_a_history_over_updates(name: str) -> None:
    history = TRAINERS[name](updates=7, record_every=3).history
    assert isinstance(history, History) and history.x == "update"
    assert history["update"].tolist() == [0, 3, 6, 7] and history["update"].dtype == np.int64
    frame = pd.DataFrame(history)
    assert frame.columns[0] == "update" and len(frame) == 4 and "step" not in frame
    assert all(np.issubdtype(frame[key].dtype, np.floating) for key in frame.columns[1:])


@pytest.mark.parametrize("name", TRAINERS)
def test_the_old_steps_keyword_warns_and_still_works(name: str) -> None:
    with pytest.warns(FutureWarning, match=rf"{name}\(steps=\.\.\.\) is now {name}\(updates=\.\.\.\)"):
        old = TRAINERS[name](steps=4, record_every=2)
    new = TRAINERS[name](updates=4, record_every=2)
    assert list(old.history) == list(new.history)
    for key in new.history:
        np.testing.assert_array_equal(old.history[key], new.history[key])
    assert torch.equal(trained(old).logits, trained(new).logits)


@pytest.mark.parametrize("name", TRAINERS)
def test_the_old_step_column_warns_and_still_works(name: str) -> None:
    history = TRAINERS[name](updates=2, record_every=1).history
    for copy in (history, pickle.loads(pickle.dumps(history))):
        with pytest.warns(FutureWarning, match=r'history\["step"\] is now history\["update"\]'):
            assert copy["step"].tolist() == [0, 1, 2]
    with pytest.raises(KeyError, match="epoch"):
        history["epoch"]


@pytest.mark.parametrize("name", TRAINERS)
def test_progress_shows_a_bar_over_the_updates(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    TRAINERS[name](updates=3, progress=True)
    bar = capsys.readouterr().err
    assert name in bar and "3/3" in bar and "update" in bar
    TRAINERS[name](updates=3, progress=False)
    TRAINERS[name](updates=3)  # None: hidden outside an interactive session
    assert capsys.readouterr().err == ""


def test_each_trainer_says_that_beta_is_chapter_5s_alpha() -> None:
    for trainer in (fine_tune, train_dpo, distill):
        doc = inspect.getdoc(trainer) or ""
        assert "chapter 5's temperature" in doc and r":math:`\alpha`" in doc, trainer.__name__


def test_the_exact_policy_gradient_loss_is_minus_the_objectives_gradient() -> None:
    ref = small_lm(2)
    policy, rewards, beta = ref.tempered(0.7), torch.as_tensor(count_of(2, ref)), 0.5
    ref_logp = ref.token_log_probs(ref.sequences).detach()
    loss = policy_gradient_loss(
        policy, ref_logp, rewards, beta=beta, kl_in="reward", estimator="k1", batch_size=None,
        generator=torch.Generator(),
    )
    (grad,) = torch.autograd.grad(loss, policy.logits)
    # Oracle: autograd of J(pi) = E_pi[r] - beta KL(pi || pi_ref), summed over every sequence.
    logq = policy.log_prob(policy.sequences)
    objective = (logq.exp() * (rewards - beta * (logq - ref_logp.sum(1)))).sum()
    (oracle,) = torch.autograd.grad(-objective, policy.logits)
    torch.testing.assert_close(grad, oracle, rtol=1e-10, atol=1e-12)


# --- issue 18: the edges of the inputs ----------------------------------------------------------


@pytest.fixture
def no_runtime_warnings():  # type: ignore[no-untyped-def]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


@pytest.mark.usefixtures("no_runtime_warnings")
def test_rewards_beyond_beta_times_the_float_range_give_the_optimum() -> None:
    # r / beta overflows float64 in every call below; the answers do not.
    np.testing.assert_array_equal(kl_regularized_policy([0.5, 0.5], [0.0, 1e308], beta=0.5), [0.0, 1.0])
    ties = kl_regularized_policy([0.2, 0.3, 0.5], [1e308, 1e308, 0.0], beta=0.5)
    np.testing.assert_allclose(ties, [0.4, 0.6, 0.0], rtol=1e-15, atol=0)  # the reference, renormalised on the ties
    value = kl_regularized_value([0.2, 0.3, 0.5], [1e308, 1e308, 0.0], beta=0.5)
    assert value == pytest.approx(1e308 + 0.5 * math.log(0.5), rel=1e-15)
    assert kl_regularized_objective(ties, [0.2, 0.3, 0.5], [1e308, 1e308, 0.0], beta=0.5) == pytest.approx(value, rel=1e-15)
    np.testing.assert_array_equal(kl_regularized_policy([0.5, 0.5], [1.0, 1.5], beta=1e-309), [0.0, 1.0])
    assert kl_regularized_value([0.5, 0.5], [1.0, 1.5], beta=1e-309) == pytest.approx(1.5, rel=1e-15)


@pytest.mark.usefixtures("no_runtime_warnings")
def test_rewards_spread_over_more_than_the_float_range_keep_the_value() -> None:
    # r / beta = +-10 is harmless, but the largest reward minus the smallest is 2e308.
    ref, rewards, beta = np.array([1e-300, 1 - 1e-300]), np.array([1e308, -1e308]), 1e307
    oracle = beta * scipy.special.logsumexp(rewards / beta, b=ref)
    assert kl_regularized_value(ref, rewards, beta=beta) == pytest.approx(oracle, rel=1e-12)
    probs = ref * np.exp(rewards / beta)
    np.testing.assert_allclose(kl_regularized_policy(ref, rewards, beta=beta), probs / probs.sum(), rtol=1e-12)


@pytest.mark.usefixtures("no_runtime_warnings")
def test_fine_tune_records_the_true_kl_to_an_optimum_that_underflows() -> None:
    ref, rewards, beta = TabularLM(2, 2), np.array([0.0, 0.0, 0.0, 1e6]), 1.0
    history = fine_tune(ref, rewards, beta=beta, updates=3, batch_size=None, record_every=1).history
    # Oracle: log pi* by scipy in log space (r / beta = 1e6 is representable), log pi by autograd's model.
    log_star = scipy.special.log_softmax(np.log(numpy_probs(ref)) + rewards / beta)
    assert np.exp(log_star)[0] == 0.0  # pi* underflows, its logarithm does not
    result = fine_tune(ref, rewards, beta=beta, updates=3, batch_size=None, record_every=1)
    with torch.no_grad():
        log_pi = result.policy.log_prob(result.policy.sequences).numpy()
    oracle = float(np.sum(np.exp(log_pi) * (log_pi - log_star)))
    assert np.all(np.isfinite(history["kl_optimum"]))
    assert result.history["kl_optimum"][-1] == pytest.approx(oracle, rel=1e-9)
    assert oracle > 1e5  # about 0.75e6: the policy is still close to uniform
    value = kl_regularized_value(numpy_probs(ref), rewards, beta=beta)
    np.testing.assert_allclose(history["objective"], value - beta * history["kl_optimum"], rtol=1e-9)


def test_dpo_loss_refuses_per_token_log_probs() -> None:
    per_token = -np.ones((3, 2))
    with pytest.raises(ValueError, match=r"chosen_logp must be 1-D.*one log-probability per sequence.*\(3, 2\)"):
        dpo_loss(per_token, per_token, per_token, per_token, beta=0.5)
    with pytest.raises(ValueError, match="rejected_logp must be 1-D"):
        dpo_loss(torch.tensor([-1.0]), torch.tensor([[-1.0]]), [-1.0], [-1.0], beta=0.5)


@pytest.mark.parametrize(
    ("chosen", "rejected", "error", "words"),
    [
        ([[0, 1], [1, 1]], [[0, 1]], ValueError, "chosen and rejected must have the same shape"),
        ([[0, 1]], [[0, 1, 1]], ValueError, "chosen and rejected must have the same shape"),
        (np.zeros((0, 2), dtype=int), np.zeros((0, 2), dtype=int), ValueError, "at least one pair"),
        ([0, 1], [1, 1], ValueError, r"chosen must have shape \(n_pairs, T\)"),
        ([[0.0, 1.0]], [[1, 1]], TypeError, "chosen must hold integer tokens"),
        ([[0, 1]], [[True, False]], TypeError, "rejected must hold integer tokens"),
        ([["0", "1"]], [[1, 1]], TypeError, "chosen must hold integer tokens"),
        ([[0, -1]], [[1, 1]], ValueError, "chosen must hold tokens >= 0"),
        ([[0, 1], [1]], [[1, 1], [0, 0]], ValueError, "chosen must be a rectangular"),
    ],
)
def test_preference_pairs_validate_themselves(chosen, rejected, error, words) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=words):
        PreferencePairs(chosen, rejected)


def test_preference_pairs_take_lists_and_a_known_vocabulary() -> None:
    pairs = PreferencePairs([[1, 1], [0, 1]], np.array([[0, 1], [0, 0]]), vocab_size=2)
    assert len(pairs) == 2 and pairs.chosen.dtype == torch.long and pairs.rejected.dtype == torch.long
    with pytest.raises(ValueError, match=r"rejected must hold tokens in \[0, 2\), got 2"):
        PreferencePairs([[1, 1]], [[0, 2]], vocab_size=2)
    assert preference_pairs(TabularLM(3, 2), np.zeros(9), n_pairs=4, seed=0).vocab_size == 3


def test_train_dpo_refuses_pairs_that_do_not_fit_ref() -> None:
    ref = TabularLM(2, 2)
    with pytest.raises(ValueError, match=r"pairs hold sequences of length 3, but ref has length 2"):
        train_dpo(ref, PreferencePairs([[0, 1, 1]], [[0, 0, 0]]), beta=1.0, updates=1)
    with pytest.raises(ValueError, match=r"pairs hold tokens up to 2, but ref has vocab_size 2"):
        train_dpo(ref, PreferencePairs([[0, 2]], [[0, 0]]), beta=1.0, updates=1)
    with pytest.raises(ValueError, match="pairs were drawn over a vocabulary of 3 tokens, but ref has vocab_size 2"):
        train_dpo(ref, PreferencePairs([[0, 1]], [[0, 0]], vocab_size=3), beta=1.0, updates=1)
    excluding = TabularLM.bigram([1.0, 0.0], [[0.5, 0.5], [0.5, 0.5]], length=2)  # never starts with 1
    with pytest.raises(ValueError, match=r"pairs hold a sequence that ref gives probability zero: \[1, 0\]"):
        train_dpo(excluding, PreferencePairs([[0, 1]], [[1, 0]]), beta=1.0, updates=1)


def test_sizes_that_would_not_fit_in_memory_are_refused() -> None:
    words = r"vocab_size \*\* length.*40\*\*6.*MAX_TABLE_ENTRIES"
    with pytest.raises(ValueError, match=words):
        TabularLM(40, 6)  # 32 GB of logits before the fix
    with pytest.raises(ValueError, match=words):
        FactorizedLM(40, 6)
    with pytest.raises(ValueError, match=words):
        all_sequences(40, 6)
    assert klcourse.alignment.MAX_TABLE_ENTRIES >= 4**4 * 4  # chapter 7's models fit
    lm = TabularLM(2, 3)
    with pytest.raises(ValueError, match=r"n = 10000000000 sequences of length 3 .* MAX_TABLE_ENTRIES"):
        lm.sample(10**10)
    with pytest.raises(ValueError, match=r"n_pairs = 10000000000 .* MAX_TABLE_ENTRIES"):
        preference_pairs(lm, np.zeros(8), n_pairs=10**10)
    with pytest.raises(ValueError, match=r"batch_size = 10000000000 .* MAX_TABLE_ENTRIES"):
        fine_tune(lm, np.zeros(8), beta=1.0, batch_size=10**10)


def test_bools_and_text_are_refused_where_numbers_are_meant() -> None:
    with pytest.raises(TypeError, match="chosen_logp must hold numbers, got booleans"):
        dpo_loss([True], [-1.0], [-1.0], [-1.0], beta=1.0)
    with pytest.raises(TypeError, match="logp must hold numbers, got booleans"):
        kl_penalty(torch.tensor([False]), [-1.0])
    with pytest.raises(TypeError, match="logits must hold numbers, got booleans"):
        TabularLM(2, 1, logits=[[True, False]])
    with pytest.raises(TypeError, match="sequences must hold integer tokens"):
        TabularLM(2, 2).log_prob([["0", "1"]])
    with pytest.raises(TypeError, match="ref_logp must be a numeric array"):
        kl_penalty([-1.0], ["-0.5"])
    with pytest.raises(TypeError, match="ref_probs must hold numbers, got booleans"):
        kl_regularized_policy([True, False], [0.0, 1.0], beta=1.0)
    with pytest.raises(TypeError, match="transition must hold numbers, got booleans"):
        TabularLM.bigram([0.5, 0.5], np.eye(2, dtype=bool), length=2)


def test_integer_tensors_give_float64_losses() -> None:
    ints = [torch.tensor([v]) for v in (-1, -2, -1, -1)]
    loss = dpo_loss(*ints, beta=1.0)
    assert loss.dtype == torch.float64
    assert loss.item() == pytest.approx(dpo_loss([-1.0], [-2.0], [-1.0], [-1.0], beta=1.0), rel=1e-15)


def test_tempering_to_extreme_temperatures_keeps_the_model() -> None:
    lm = TabularLM.bigram([0.3, 0.7], [[0.9, 0.1], [0.2, 0.8]], length=2)
    np.testing.assert_array_equal(numpy_probs(lm.tempered(1e-320)), [0.0, 0.0, 0.0, 1.0])  # greedy decoding
    np.testing.assert_allclose(numpy_probs(lm.tempered(1e300)), 0.25, rtol=1e-12)
    result = distill(lm, direction="forward", temperature=1e-320, updates=1)
    assert np.isfinite(result.history["forward_kl"]).all()
    assert np.isposinf(result.history["reverse_kl"]).all()  # the uniform student says what greedy never does
    with pytest.raises(ValueError, match="temperature 1e-320 excludes"):
        distill(lm, direction="reverse", temperature=1e-320, updates=1)


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: fine_tune(TabularLM(2, 2), [0.0, 0.0, 0.0, 1e200], beta=1.0, updates=3, seed=0), "rewards"),
        (lambda: fine_tune(TabularLM(2, 2), [-1e308, 0.0, 0.0, 1e308], beta=1.0, updates=3, seed=0), "rewards"),
        (lambda: train_dpo(TabularLM(2, 2), PreferencePairs([[1, 1]], [[0, 0]]), beta=1e300, updates=3), "beta"),
    ],
)
def test_training_whose_gradients_overflow_says_so(call, words) -> None:  # type: ignore[no-untyped-def]
    # Before: Adam's squared gradients overflowed and the policy silently never moved.
    with pytest.raises(ValueError, match=words):
        call()


def test_distillation_from_an_infinite_divergence_is_refused() -> None:
    teacher = TabularLM.bigram([1.0, 0.0], [[0.9, 0.1], [0.1, 0.9]], length=2)  # never starts with 1
    with pytest.raises(ValueError, match=r"KL\(student \|\| teacher\) is infinite at the start"):
        distill(teacher, direction="reverse", updates=5)
    able = FactorizedLM(2, 2, logits=[[0.0, -np.inf], [0.0, 0.0]])  # excludes what the teacher excludes
    result = distill(teacher, direction="reverse", init=able, updates=5)
    assert np.isfinite(result.history["forward_kl"]).all() and np.isfinite(result.history["reverse_kl"]).all()


def test_result_containers_check_what_they_hold() -> None:
    with pytest.raises(TypeError, match="policy must be a TabularLM"):
        klcourse.FineTuneResult(FactorizedLM(2, 2), {"update": np.arange(2)})
    with pytest.raises(ValueError, match="history: every column must have one length"):
        klcourse.DistillResult(FactorizedLM(2, 2), {"update": np.arange(2), "forward_kl": np.zeros(3)})
    with pytest.raises(ValueError, match="history: the x-axis 'update' must be one of the columns"):
        klcourse.DistillResult(FactorizedLM(2, 2), {"forward_kl": np.zeros(3)})
    with pytest.raises(TypeError, match="history must be a mapping"):
        klcourse.DistillResult(FactorizedLM(2, 2), [0.0, 1.0])  # type: ignore[arg-type]


@pytest.mark.parametrize("beta", [1e6, 1e12, 1e16, 1e20, 1e300])
@pytest.mark.parametrize("n", [2, 3, 7])
def test_value_at_a_large_beta_is_the_expected_reward_plus_a_little(n: int, beta: float) -> None:
    """beta log E_ref[exp(r / beta)] -> E_ref[r]; float64 must not multiply its rounding by beta."""
    import mpmath

    ref, rewards = dirichlet(n, n), np.arange(n, dtype=float)
    with mpmath.workdps(60):
        b = mpmath.mpf(beta)
        total = mpmath.fsum(mpmath.mpf(p) for p in ref)  # 1 up to float rounding: the oracle's ref sums to 1 exactly
        excess = mpmath.fsum(mpmath.mpf(p) / total * mpmath.expm1(mpmath.mpf(r) / b) for p, r in zip(ref, rewards))
        oracle = float(b * mpmath.log1p(excess))  # E[exp(r / beta)] = 1 + excess
    value = kl_regularized_value(ref, rewards, beta=beta)
    assert value == pytest.approx(oracle, rel=1e-12)
    assert ref @ rewards - 1e-12 <= value <= rewards.max()
