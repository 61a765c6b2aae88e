"""klcourse.rl.tabular: exact control as inference, against brute force.

The oracle enumerates every sequence of states and actions with
``itertools.product`` and sums probabilities directly; it shares no code with
the recursions it checks.
"""

from __future__ import annotations

import itertools
import math

import gymnasium as gym
import numpy as np
import pytest
from scipy.special import logsumexp

from klcourse.rl import (
    TabularMDP,
    enumerate_trajectories,
    soft_value_iteration,
    soft_values,
    state_distribution,
    tabular_mdp,
    trajectory_kl,
)


def random_mdp(
    rng, n_states=3, n_actions=2, *, horizon=3, deterministic=False
):
    if deterministic:
        P = np.eye(n_states)[
            rng.integers(n_states, size=(n_states, n_actions))
        ]
    else:
        P = rng.dirichlet(np.ones(n_states), size=(n_states, n_actions))
    R = rng.normal(size=(n_states, n_actions))
    initial = rng.dirichlet(np.ones(n_states))
    return TabularMDP.from_arrays(P, R, initial, horizon=horizon)


def random_policy(rng, mdp, *, concentration=1.0):
    shape = (mdp.horizon, mdp.n_states)
    return rng.dirichlet(np.full(mdp.n_actions, concentration), size=shape)


def brute_force(mdp, policy, *, alpha, prior=None):
    """log Z, KL(q_pi || P), J_alpha(pi) and the marginals of s_t, by enumeration.

    Only for MDPs without terminal states (see ``without_terminals``).
    """
    S, A, H = mdp.n_states, mdp.n_actions, mdp.horizon
    prior = np.full((H, S, A), 1 / A) if prior is None else prior
    prior = np.broadcast_to(prior, (H, S, A))
    log_w, q, soft = [], [], []
    marginals = np.zeros((H + 1, S))
    for states in itertools.product(range(S), repeat=H + 1):
        for actions in itertools.product(range(A), repeat=H):
            p_dyn = mdp.initial[states[0]]
            for t in range(H):
                p_dyn *= mdp.P[states[t], actions[t], states[t + 1]]
            if p_dyn == 0:
                continue
            pis = [policy[t, states[t], actions[t]] for t in range(H)]
            refs = [prior[t, states[t], actions[t]] for t in range(H)]
            reward = sum(mdp.R[states[t], actions[t]] for t in range(H))
            weight = p_dyn * math.prod(refs)
            log_w.append(
                math.log(weight) + reward / alpha if weight > 0 else -np.inf
            )
            q.append(p_dyn * math.prod(pis))
            ratio = sum(
                math.log(pi / ref) for pi, ref in zip(pis, refs) if pi > 0
            )
            soft.append(reward - alpha * ratio)
            for t, s in enumerate(states):
                marginals[t, s] += q[-1]
    log_w, q, soft = np.array(log_w), np.array(q), np.array(soft)
    log_z = logsumexp(log_w)
    on = q > 0
    kl = float(np.sum(q[on] * (np.log(q[on]) - (log_w[on] - log_z))))
    return float(log_z), kl, float(q @ soft), marginals


def without_terminals(mdp, policy, prior=None):
    """The same MDP with its terminal states as ordinary absorbing states.

    There, the policy is replaced by the prior: every later action then has
    the same probability under q_pi and under P, so the KL, log Z and the
    soft return are those of the original MDP (terminal rows of ``tabular_mdp``
    are already absorbing with zero reward).
    """
    S, A, H = mdp.n_states, mdp.n_actions, mdp.horizon
    prior = np.full((H, S, A), 1 / A) if prior is None else prior
    policy = np.array(np.broadcast_to(policy, (H, S, A)))
    policy[:, mdp.terminal] = np.broadcast_to(prior, (H, S, A))[
        :, mdp.terminal
    ]
    plain = TabularMDP.from_arrays(mdp.P, mdp.R, mdp.initial, horizon=H)
    return plain, policy


# --- soft value iteration and the KL identity ----------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_soft_value_iteration_with_a_prior_against_brute_force(
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng)
    alpha = 0.7
    prior = random_policy(rng, mdp)  # (H, S, A), time-dependent
    optimum = soft_value_iteration(mdp, alpha=alpha, prior=prior)
    policy = random_policy(rng, mdp)
    log_z, kl, soft_return, _ = brute_force(
        mdp, policy, alpha=alpha, prior=prior
    )
    assert optimum.log_partition == pytest.approx(log_z, rel=1e-12)
    result = trajectory_kl(policy, mdp, alpha=alpha, prior=prior)
    assert result.kl == pytest.approx(kl, rel=1e-10)
    assert result.soft_return == pytest.approx(soft_return, rel=1e-10)
    # pi* = pi_ref exp((Q - V) / alpha), and no other policy does better
    expected = prior * np.exp((optimum.Q - optimum.V[:-1, :, None]) / alpha)
    assert np.allclose(optimum.policy, expected, rtol=1e-12, atol=0)
    _, best, _, _ = brute_force(mdp, optimum.policy, alpha=alpha, prior=prior)
    assert optimum.min_kl == pytest.approx(best, rel=1e-9, abs=1e-12)
    for _ in range(20):
        other = random_policy(rng, mdp, concentration=0.5)
        assert trajectory_kl(other, mdp, alpha=alpha, prior=prior).kl > best
    # a stationary (S, A) prior is the same as repeating it at every step
    flat = soft_value_iteration(mdp, alpha=alpha, prior=prior[0])
    repeated = soft_value_iteration(
        mdp, alpha=alpha, prior=np.repeat(prior[:1], mdp.horizon, 0)
    )
    assert np.array_equal(flat.policy, repeated.policy)


@pytest.mark.parametrize("seed", range(3))
def test_min_kl_against_enumeration_on_a_stochastic_mdp_with_a_random_start(
    seed: int,
) -> None:
    rng = np.random.default_rng(40 + seed)
    mdp = random_mdp(rng, horizon=3)  # stochastic P, random initial
    alpha = 0.5
    optimum = soft_value_iteration(mdp, alpha=alpha)
    _, kl_star, _, _ = brute_force(mdp, optimum.policy, alpha=alpha)
    assert optimum.min_kl == pytest.approx(kl_star, rel=1e-9)
    assert optimum.min_kl > 1e-4
    # log Z - E[V*_0] / alpha, by its definition
    expected = optimum.log_partition - mdp.initial @ optimum.V[0] / alpha
    assert optimum.min_kl == pytest.approx(expected, rel=1e-12)
    # Jensen: the gap of the start plus the expected gap of the transitions
    W = np.array(
        [
            soft_value_iteration(
                mdp.replace(initial=np.eye(3)[s]), alpha=alpha
            ).log_partition
            for s in range(3)
        ]
    )
    start_gap = logsumexp(W, b=mdp.initial) - mdp.initial @ W
    transition_gaps = W - optimum.V[0] / alpha
    assert start_gap > 0 and np.all(transition_gaps > 0)
    assert optimum.min_kl == pytest.approx(
        start_gap + mdp.initial @ transition_gaps, rel=1e-10
    )


def p_conditionals(mdp, optimum, prior, alpha):
    """P's start, action and transition probabilities, from log beta."""
    beta = np.exp(optimum.log_beta)  # (H + 1, S)
    start = mdp.initial * beta[0] / np.exp(optimum.log_partition)
    beta_bar = np.einsum("sax,tx->tsa", mdp.P, beta[1:])  # E[beta_{t+1}]
    actions = prior * np.exp(mdp.R / alpha) * beta_bar / beta[:-1, :, None]
    moves = mdp.P * beta[1:, None, None, :] / beta_bar[..., None]
    return start, actions, moves


@pytest.mark.parametrize("seed", range(3))
def test_log_beta_makes_p_a_markov_process(seed: int) -> None:
    """P(tau) is the product of the conditionals that log beta defines."""
    rng = np.random.default_rng(70 + seed)
    mdp = random_mdp(rng, horizon=3)  # stochastic P, random initial
    prior, alpha = random_policy(rng, mdp), 0.6
    optimum = soft_value_iteration(mdp, alpha=alpha, prior=prior)
    assert optimum.log_beta.shape == (4, 3)
    assert np.all(optimum.log_beta[-1] == 0.0)
    start, actions, moves = p_conditionals(mdp, optimum, prior, alpha)
    assert np.allclose(actions.sum(-1), 1) and np.allclose(moves.sum(-1), 1)
    log_z, _, _, _ = brute_force(mdp, prior, alpha=alpha, prior=prior)
    H = mdp.horizon
    for states in itertools.product(range(3), repeat=H + 1):
        for acts in itertools.product(range(2), repeat=H):
            steps = range(H)
            dynamics = mdp.initial[states[0]] * math.prod(
                mdp.P[states[t], acts[t], states[t + 1]] for t in steps
            )
            weight = dynamics * math.prod(
                prior[t, states[t], acts[t]]
                * math.exp(mdp.R[states[t], acts[t]] / alpha)
                for t in steps
            )
            chained = start[states[0]] * math.prod(
                actions[t, states[t], acts[t]]
                * moves[t, states[t], acts[t], states[t + 1]]
                for t in steps
            )
            assert chained == pytest.approx(weight / math.exp(log_z))


@pytest.mark.parametrize("seed", range(3))
def test_min_kl_is_a_sum_of_jensen_gaps(seed: int) -> None:
    """Start, transition and action terms of the chain rule at pi*."""
    rng = np.random.default_rng(80 + seed)
    mdp = random_mdp(rng, horizon=3)
    prior, alpha = random_policy(rng, mdp)[0], 0.5
    optimum = soft_value_iteration(mdp, alpha=alpha, prior=prior)
    _, kl_star, _, _ = brute_force(
        mdp, optimum.policy, alpha=alpha, prior=prior
    )
    start, actions, moves = p_conditionals(mdp, optimum, prior, alpha)
    pi = optimum.policy
    d = state_distribution(pi, mdp)[:-1]

    def gap(x, p, axis):  # log E[e^X] - E[X]
        return logsumexp(x, b=p, axis=axis) - (p * x).sum(axis)

    log_next = optimum.log_beta[1:, None, None, :]
    g = logsumexp(log_next, b=mdp.P, axis=-1) - np.einsum(
        "sax,tx->tsa", mdp.P, optimum.V[1:] / alpha
    )
    start_gap = gap(optimum.log_beta[0], mdp.initial, 0)
    transitions = np.einsum("ts,tsa,tsa->", d, pi, gap(log_next, mdp.P, -1))
    decisions = (d * gap(g, pi, -1)).sum()
    assert min(start_gap, transitions, decisions) > 0
    total = start_gap + transitions + decisions
    assert total == pytest.approx(optimum.min_kl, rel=1e-10)
    assert total == pytest.approx(kl_star, rel=1e-9)
    # the action terms are KL(pi*_t || P_t), the transition terms
    # KL(p || P_t), and the start term KL(p(s_0) || P(s_0))
    kl_actions = (pi * np.log(pi / actions)).sum(-1)
    assert (d * kl_actions).sum() == pytest.approx(decisions, rel=1e-9)
    kl_moves = (mdp.P * np.log(mdp.P / moves)).sum(-1)
    assert np.einsum("ts,tsa,tsa->", d, pi, kl_moves) == pytest.approx(
        transitions, rel=1e-9
    )
    kl_start = mdp.initial @ np.log(mdp.initial / start)
    assert kl_start == pytest.approx(start_gap, rel=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_deterministic_dynamics_and_fixed_start_give_zero_kl(
    seed: int,
) -> None:
    rng = np.random.default_rng(10 + seed)
    mdp = random_mdp(
        rng, n_states=4, n_actions=3, horizon=5, deterministic=True
    ).replace(initial=np.eye(4)[0])
    optimum = soft_value_iteration(mdp, alpha=0.5)
    assert abs(optimum.min_kl) < 1e-9
    assert abs(trajectory_kl(optimum.policy, mdp, alpha=0.5).kl) < 1e-9
    assert trajectory_kl(np.full((4, 3), 1 / 3), mdp, alpha=0.5).kl > 1e-3


def test_a_random_start_costs_nothing_when_the_starts_are_alike() -> None:
    """The minimum is positive only when soft values vary across starts."""
    rng = np.random.default_rng(3)
    mdp = random_mdp(rng, n_states=3, horizon=4, deterministic=True)
    P, R = mdp.P.copy(), mdp.R.copy()
    P[1], R[1] = P[0], R[0]  # state 1 behaves exactly like state 0
    twins = TabularMDP.from_arrays(P, R, [0.5, 0.5, 0.0], horizon=4)
    assert abs(soft_value_iteration(twins, alpha=1.0).min_kl) < 1e-12
    apart = twins.replace(initial=[0.5, 0.0, 0.5])
    optimum = soft_value_iteration(apart, alpha=1.0)
    V0 = optimum.V[0] / 1.0
    assert V0[0] != pytest.approx(V0[2])
    # deterministic dynamics: only the start's Jensen gap is left
    gap = logsumexp(V0, b=apart.initial) - apart.initial @ V0
    assert optimum.min_kl == pytest.approx(gap, rel=1e-9) and gap > 0


@pytest.mark.parametrize("seed", range(3))
def test_with_zero_reward_the_optimum_is_the_prior(seed: int) -> None:
    rng = np.random.default_rng(20 + seed)
    mdp = random_mdp(rng, n_actions=3, horizon=4)
    mdp = mdp.replace(R=np.zeros((3, 3)))
    prior = random_policy(rng, mdp)[0]
    prior[0] = [0.0, 0.4, 0.6]  # an action the prior forbids
    optimum = soft_value_iteration(mdp, alpha=0.3, prior=prior)
    assert np.allclose(optimum.policy, prior, rtol=0, atol=1e-15)
    assert np.all(optimum.policy[:, 0, 0] == 0.0)
    # zero to rounding: the prior's rows sum to one within float64 precision
    assert np.abs(optimum.V).max() < 1e-15
    assert abs(optimum.log_partition) < 1e-15 and abs(optimum.min_kl) < 1e-15
    kl = trajectory_kl(prior, mdp, alpha=0.3, prior=prior).kl
    assert abs(kl) < 1e-15


@pytest.mark.parametrize("seed", range(3))
def test_kl_identity_against_enumeration(seed: int) -> None:
    """KL = log Z - J/alpha, each term computed independently by enumeration."""
    rng = np.random.default_rng(30 + seed)
    mdp = random_mdp(rng, horizon=4)
    policy = rng.dirichlet(np.ones(2), size=3)  # stationary (S, A)
    alpha = 0.3
    result = trajectory_kl(policy, mdp, alpha=alpha)
    log_z, kl, soft_return, _ = brute_force(
        mdp, np.broadcast_to(policy, (4, 3, 2)), alpha=alpha
    )
    assert kl == pytest.approx(log_z - soft_return / alpha, rel=1e-10)
    assert result.soft_return == pytest.approx(soft_return, rel=1e-10)
    assert result.log_partition == pytest.approx(log_z, rel=1e-12)
    assert result.kl == pytest.approx(kl, rel=1e-10)


def test_soft_values_are_the_soft_bellman_equations_of_the_policy() -> None:
    rng = np.random.default_rng(5)
    mdp = random_mdp(rng, horizon=4)
    prior = random_policy(rng, mdp)[0]
    policy = random_policy(rng, mdp)
    alpha = 0.4
    values = soft_values(policy, mdp, alpha=alpha, prior=prior)
    ratio = np.log(policy / prior)
    for t in range(mdp.horizon):
        assert np.allclose(values.Q[t], mdp.R + mdp.P @ values.V[t + 1])
        assert np.allclose(
            values.V[t], (policy[t] * (values.Q[t] - alpha * ratio[t])).sum(1)
        )
    _, _, soft_return, _ = brute_force(mdp, policy, alpha=alpha, prior=prior)
    assert values.soft_return == pytest.approx(soft_return, rel=1e-10)
    # the excess KL of a policy is its expected per-step KL to pi*
    optimum = soft_value_iteration(mdp, alpha=alpha, prior=prior)
    d = state_distribution(policy, mdp)
    per_step = (policy * np.log(policy / optimum.policy)).sum(-1)
    excess = float((d[:-1] * per_step).sum())
    kl = trajectory_kl(policy, mdp, alpha=alpha, prior=prior).kl
    assert kl - optimum.min_kl == pytest.approx(excess, rel=1e-9)


# --- terminal states, marginals and enumeration --------------------------------

TINY = {"desc": ["SF", "FG"], "is_slippery": False}


@pytest.mark.parametrize("slippery", [False, True])
def test_terminal_states_against_brute_force(slippery: bool) -> None:
    env = gym.make("FrozenLake-v1", desc=["SF", "HG"], is_slippery=slippery)
    mdp = tabular_mdp(env, horizon=3)
    assert mdp.terminal.sum() == 2
    rng = np.random.default_rng(0)
    policy = random_policy(rng, mdp)
    prior = random_policy(rng, mdp)
    plain, extended = without_terminals(mdp, policy, prior)
    log_z, kl, soft_return, _ = brute_force(
        plain, extended, alpha=0.4, prior=prior
    )
    result = trajectory_kl(policy, mdp, alpha=0.4, prior=prior)
    assert result.log_partition == pytest.approx(log_z, rel=1e-12)
    assert result.kl == pytest.approx(kl, rel=1e-10)
    assert result.soft_return == pytest.approx(soft_return, rel=1e-10)


def test_state_distribution_against_brute_force() -> None:
    rng = np.random.default_rng(6)
    mdp = random_mdp(rng, horizon=3)
    policy = random_policy(rng, mdp)
    *_, marginals = brute_force(mdp, policy, alpha=1.0)
    d = state_distribution(policy, mdp)
    assert np.allclose(d, marginals, rtol=0, atol=1e-14)
    # with terminal states the mass that has ended stays where it is
    lake = tabular_mdp(gym.make("FrozenLake-v1", **TINY), horizon=4)
    d = state_distribution(np.full((4, 4), 0.25), lake)
    assert np.allclose(d.sum(1), 1.0) and np.all(np.diff(d[:, 3]) >= 0)


def test_enumerated_trajectories_against_brute_force() -> None:
    rng = np.random.default_rng(7)
    mdp = random_mdp(rng, horizon=3)
    prior = random_policy(rng, mdp)[0]
    policy = random_policy(rng, mdp)
    paths = enumerate_trajectories(mdp)
    assert len(paths.rewards) == 3**4 * 2**3  # every sequence is possible
    log_q, log_p = paths.log_q(policy), paths.log_p(alpha=0.6, prior=prior)
    assert np.exp(log_q).sum() == pytest.approx(1.0, abs=1e-12)
    assert np.exp(log_p).sum() == pytest.approx(1.0, abs=1e-12)
    kl = float(np.exp(log_q) @ (log_q - log_p))
    _, expected, _, _ = brute_force(mdp, policy, alpha=0.6, prior=prior)
    assert kl == pytest.approx(expected, rel=1e-10)
    # one row by hand
    row = 5
    s, a = paths.states[row], paths.actions[row]
    by_hand = math.log(mdp.initial[s[0]]) + sum(
        math.log(mdp.P[s[t], a[t], s[t + 1]] * policy[t, s[t], a[t]])
        for t in range(3)
    )
    assert log_q[row] == pytest.approx(by_hand, rel=1e-12)


def test_enumeration_stops_branching_at_terminal_states() -> None:
    lake = tabular_mdp(gym.make("FrozenLake-v1", **TINY), horizon=3)
    paths = enumerate_trajectories(lake)
    ended = paths.actions == -1
    assert ended.any() and not ended[:, 0].any()
    assert np.all(lake.terminal[paths.states[:, 1:][ended]])
    assert np.array_equal(paths.decided, ~ended)
    uniform = np.full((4, 4), 0.25)
    assert np.exp(paths.log_q(uniform)).sum() == pytest.approx(1.0)
    kl = trajectory_kl(uniform, lake, alpha=0.5).kl
    log_q, log_p = paths.log_q(uniform), paths.log_p(alpha=0.5)
    assert float(np.exp(log_q) @ (log_q - log_p)) == pytest.approx(kl)


def test_tabular_mdp_reads_frozen_lake() -> None:
    mdp = tabular_mdp(gym.make("FrozenLake-v1", is_slippery=False), horizon=8)
    assert np.allclose(mdp.P.sum(-1), 1.0)
    assert mdp.R[14, 2] == 1.0  # stepping right from 14 reaches the goal
    assert mdp.terminal[15] and mdp.terminal[5] and not mdp.terminal[0]
    assert np.all(mdp.P[15, :, 15] == 1.0) and np.all(mdp.R[15] == 0.0)
    assert mdp.initial[0] == 1.0
    slippery = tabular_mdp(
        gym.make("FrozenLake-v1", is_slippery=True), horizon=8
    )
    assert slippery.P[0, 1].max() < 1.0


def test_a_tabular_mdp_is_checked_and_cannot_change() -> None:
    rng = np.random.default_rng(0)
    mdp = random_mdp(rng)
    assert mdp.P.dtype == np.float64 and not mdp.P.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        mdp.R[0, 0] = 1.0
    assert mdp.n_states == 3 and mdp.n_actions == 2
    assert not mdp.terminal.any()
    with pytest.raises(ValueError, match="^horizon must be at least 1"):
        mdp.replace(horizon=0)


# --- errors --------------------------------------------------------------------


def test_model_errors() -> None:
    mdp = random_mdp(np.random.default_rng(0))
    P, R, start = mdp.P, mdp.R, np.eye(3)[0]
    cases = [
        ((P, R.T, start), ValueError, r"^R must have shape \(3, 2\)"),
        (
            (P, np.where(R > 0, np.inf, R), start),
            ValueError,
            "^R must be finite",
        ),
        (
            (P[:, :, :2], R, start),
            ValueError,
            r"^P must have shape \(S, A, S\)",
        ),
        ((P * 2, R, start), ValueError, "^P must sum to 1"),
        (("P", R, start), TypeError, "^P must be a numeric array"),
        ((P, R, np.ones(3)), ValueError, "^initial must sum to 1"),
        ((P, R, np.eye(4)[0]), ValueError, r"^initial must have shape \(3,\)"),
    ]
    for args, error, message in cases:
        with pytest.raises(error, match=message):
            TabularMDP.from_arrays(*args, horizon=2)
    with pytest.raises(ValueError, match=r"^terminal must have shape \(3,\)"):
        TabularMDP.from_arrays(P, R, start, horizon=2, terminal=[True])
    with pytest.raises(TypeError, match="^terminal must be an array of bool"):
        TabularMDP.from_arrays(P, R, start, horizon=2, terminal=[0, 1, 0])
    with pytest.raises(TypeError, match="^horizon must be an integer"):
        TabularMDP.from_arrays(P, R, start, horizon=2.0)
    with pytest.raises(TypeError, match="toy-text environment"):
        tabular_mdp(gym.make("CartPole-v1"), horizon=3)
    with pytest.raises(ValueError, match="^horizon must be at least 1"):
        tabular_mdp(gym.make("FrozenLake-v1"), horizon=-1)


def test_argument_errors() -> None:
    mdp = random_mdp(np.random.default_rng(0))
    half = np.full((3, 2), 0.5)
    with pytest.raises(TypeError, match="^mdp must be a TabularMDP"):
        soft_value_iteration((mdp.P, mdp.R, mdp.initial), alpha=1.0)
    with pytest.raises(
        ValueError, match="^alpha must be a finite positive number, got 0.0"
    ):
        soft_value_iteration(mdp, alpha=0.0)
    with pytest.raises(TypeError, match="^alpha must be a number, got str"):
        soft_value_iteration(mdp, alpha="1")
    with pytest.raises(TypeError, match="^alpha must be a number, got bool"):
        trajectory_kl(half, mdp, alpha=True)
    with pytest.raises(ValueError, match="^policy must have shape"):
        trajectory_kl(np.full((2, 2), 0.5), mdp, alpha=1.0)
    with pytest.raises(ValueError, match="^policy must sum to 1"):
        trajectory_kl(np.full((3, 2), 0.7), mdp, alpha=1.0)
    with pytest.raises(
        ValueError, match="^policy contains negative probabilities"
    ):
        soft_values(np.tile([1.5, -0.5], (3, 1)), mdp, alpha=1.0)
    with pytest.raises(ValueError, match="^policy must have shape"):
        state_distribution(np.full((3, 3, 3), 1 / 3), mdp)
    with pytest.raises(ValueError, match="^max_trajectories is 10"):
        enumerate_trajectories(mdp, max_trajectories=10)


@pytest.mark.parametrize(
    ("prior", "message"),
    [
        (
            np.full((3, 3), 1 / 3),
            r"^prior must have shape \(S, A\) = \(3, 2\)",
        ),
        (
            np.full((2, 3, 2), 0.5),
            r"or \(H, S, A\) = \(3, 3, 2\), got \(2, 3, 2\)",
        ),
        (np.full((3, 2), 0.6), "^prior must sum to 1 along axis -1"),
        ([[0.5, 0.5], [np.nan, 0.5], [0.5, 0.5]], "^prior contains NaN"),
        ("uniform", "^prior must be a numeric array"),
    ],
)
def test_bad_priors_are_refused(prior, message) -> None:
    mdp = random_mdp(np.random.default_rng(0))
    error = TypeError if isinstance(prior, str) else ValueError
    with pytest.raises(error, match=message):
        soft_value_iteration(mdp, alpha=1.0, prior=prior)
    with pytest.raises(error, match=message):
        trajectory_kl(np.full((3, 2), 0.5), mdp, alpha=1.0, prior=prior)


def test_a_prior_that_forbids_what_the_policy_does_is_refused() -> None:
    mdp = random_mdp(np.random.default_rng(0))
    prior = np.array([[1.0, 0.0], [0.5, 0.5], [0.5, 0.5]])
    message = (
        r"^prior must be positive wherever policy acts, but at t=0, s=0, "
        r"a=1 the prior is 0 and the policy gives 0.5 \(the KL would be "
        r"infinite\)"
    )
    with pytest.raises(ValueError, match=message):
        trajectory_kl(np.full((3, 2), 0.5), mdp, alpha=1.0, prior=prior)
    with pytest.raises(ValueError, match="^prior must be positive"):
        soft_values(np.full((3, 2), 0.5), mdp, alpha=1.0, prior=prior)
    # a policy that keeps to the prior's support is fine
    allowed = np.array([[1.0, 0.0], [0.5, 0.5], [0.5, 0.5]])
    assert np.isfinite(trajectory_kl(allowed, mdp, alpha=1.0, prior=prior).kl)
    # and at terminal states no decision is taken, so nothing is checked
    lake = tabular_mdp(gym.make("FrozenLake-v1", **TINY), horizon=2)
    prior = np.full((4, 4), 0.25)
    prior[3] = [1.0, 0.0, 0.0, 0.0]  # state 3 is the goal: terminal
    assert np.isfinite(
        trajectory_kl(np.full((4, 4), 0.25), lake, alpha=1.0, prior=prior).kl
    )


# --- small temperatures, large models: exact or refused -----------------------------


@pytest.mark.parametrize("alpha", [1e-2, 1e-4, 1e-8, 1e-12])
def test_small_alpha_keeps_the_optimum_normalised_and_its_kl_non_negative(
    alpha: float,
) -> None:
    """On the deterministic 4x4 lake min KL is 0 and so is KL(q_pi* || P).

    log Z and J / alpha are both about 1 / alpha here; their difference used
    to be a rounding error of that size, negative as often as not (-4e-14 at
    alpha = 0.01), and pi*'s rows stopped summing to one below alpha = 1e-8.
    The KL is now a sum of non-negative terms; its error is that of the
    values themselves, about eps H max|r| / alpha.
    """
    lake = tabular_mdp(gym.make("FrozenLake-v1", is_slippery=False), horizon=8)
    optimum = soft_value_iteration(lake, alpha=alpha)
    assert np.abs(optimum.policy.sum(-1) - 1).max() < 1e-13
    assert 0 <= optimum.min_kl < 1e-12
    precision = 10 * np.finfo(float).eps * lake.horizon / alpha
    kl = trajectory_kl(optimum.policy, lake, alpha=alpha).kl
    assert 0 <= kl < max(precision, 1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_kl_by_gaps_agrees_with_the_identity_and_is_never_negative(
    seed: int,
) -> None:
    """On stochastic MDPs at moderate alpha, where log Z - J / alpha is accurate."""
    rng = np.random.default_rng(90 + seed)
    mdp = random_mdp(rng, n_states=4, n_actions=3, horizon=5)
    prior = random_policy(rng, mdp)
    for alpha in (0.05, 0.5, 5.0):
        for concentration in (0.1, 1.0, 10.0):
            policy = random_policy(rng, mdp, concentration=concentration)
            result = trajectory_kl(policy, mdp, alpha=alpha, prior=prior)
            identity = result.log_partition - result.soft_return / alpha
            assert result.kl >= 0
            assert result.kl == pytest.approx(identity, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (
            lambda m: m.replace(P=m.P.astype(str)),
            TypeError,
            "^P must be a numeric",
        ),
        (lambda m: m.replace(R=m.R > 0), TypeError, "^R must hold numbers"),
        (
            lambda m: m.replace(initial=m.initial > 0.5),
            TypeError,
            "^initial must hold numbers",
        ),
        (
            lambda m: TabularMDP.from_arrays(
                np.zeros((3, 0, 3)), np.zeros((3, 0)), m.initial, horizon=2
            ),
            ValueError,
            r"^P must have shape \(S, A, S\) with at least one state and one",
        ),
        (lambda m: m.replace(R=m.R * 1e300), ValueError, "^R is too large"),
        (
            lambda m: m.replace(horizon=10**9),
            ValueError,
            (
                r"^horizon=1,000,000,000 with 3 states and 2 actions asks "
                r"for 6,000,000,000 numbers \(44.7 GiB"
            ),
        ),
        (lambda m: m.replace(gamma=0.9), TypeError, "^gamma is not a field"),
        (
            lambda m: soft_value_iteration(m, alpha=1e-320),
            ValueError,
            "^alpha=1e-320 is too small for this model",
        ),
        (
            lambda m: soft_values(
                np.eye(2, dtype=bool)[[0, 1, 0]], m, alpha=1.0
            ),
            TypeError,
            "^policy must hold numbers, got booleans",
        ),
        (
            lambda m: trajectory_kl(np.full((3, 2), "0.5"), m, alpha=1.0),
            TypeError,
            "^policy must be a numeric array",
        ),
        (
            lambda m: soft_value_iteration(
                m, alpha=1.0, prior=np.full((3, 2), "0.5")
            ),
            TypeError,
            "^prior must be a numeric array",
        ),
        (
            lambda m: enumerate_trajectories(m).log_p(alpha=1e-320),
            ValueError,
            "^alpha=1e-320 is too small",
        ),
    ],
)
def test_text_booleans_and_sizes_beyond_float64_or_memory_are_refused(
    build, error, message
) -> None:
    mdp = random_mdp(np.random.default_rng(0))
    with pytest.raises(error, match=message):
        build(mdp)


def test_enumeration_counts_before_it_lists() -> None:
    """The slippery 4x4 lake has 8.3e7 trajectories of 8 steps and 3.8e96 of 100."""
    slippery = gym.make("FrozenLake-v1")
    with pytest.raises(
        ValueError,
        match=r"^max_trajectories is 1,000,000,000,000, but this model has "
        r"3.837e\+96 trajectories over its horizon of 100",
    ):
        enumerate_trajectories(
            tabular_mdp(slippery, horizon=100), max_trajectories=10**12
        )
    with pytest.raises(
        ValueError,
        match=r"^horizon=8, listing 82,581,088 trajectories, asks for",
    ):
        enumerate_trajectories(
            tabular_mdp(slippery, horizon=8), max_trajectories=10**9
        )
    # the count is the length of the listing: one fewer allowed is refused
    small = tabular_mdp(slippery, horizon=3)
    n = len(enumerate_trajectories(small).rewards)
    with pytest.raises(
        ValueError,
        match=f"^max_trajectories is {n - 1:,}, but this model has {n:.4g} ",
    ):
        enumerate_trajectories(small, max_trajectories=n - 1)
    assert len(enumerate_trajectories(small, max_trajectories=n).rewards) == n
