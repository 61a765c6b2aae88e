"""klcourse.rl.projection: the best stationary policy in each direction.

The oracle lists every sequence of states and actions with
``itertools.product`` and sums P(tau) and q_pi(tau) directly; it shares no
code with the recursions, the forward pass or the optimiser it checks.
"""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest
from scipy.special import logsumexp

from klcourse.rl import (
    StationaryProjection,
    TabularMDP,
    enumerate_trajectories,
    soft_value_iteration,
    stationary_projection,
    tabular_mdp,
)


class Listing:
    """Every trajectory of a small MDP without terminal states, by brute force.

    ``counts[n, s, a]`` is how often trajectory n takes a in s, so that a
    stationary policy's log q is ``log_dynamics + counts . log pi``.
    """

    def __init__(self, mdp, alpha, prior):
        S, A, H = mdp.n_states, mdp.n_actions, mdp.horizon
        rows = []
        for states in itertools.product(range(S), repeat=H + 1):
            for actions in itertools.product(range(A), repeat=H):
                p = mdp.initial[states[0]]
                counts = np.zeros((S, A))
                weight = 0.0
                for t in range(H):
                    s, a = states[t], actions[t]
                    p *= mdp.P[s, a, states[t + 1]]
                    counts[s, a] += 1
                    weight += np.log(prior[s, a]) + mdp.R[s, a] / alpha
                if p > 0:
                    rows.append((np.log(p), counts, weight))
        self.log_dynamics = np.array([r[0] for r in rows])
        self.counts = np.array([r[1] for r in rows])  # (N, S, A)
        log_w = self.log_dynamics + np.array([r[2] for r in rows])
        self.log_p = log_w - logsumexp(log_w)

    def log_q(self, policy):
        return self.log_dynamics + np.einsum(
            "nsa,...sa->...n", self.counts, np.log(policy)
        )

    def forward_kl(self, policy):  # KL(P || q_pi), one per policy
        p = np.exp(self.log_p)
        return (p * (self.log_p - self.log_q(policy))).sum(-1)

    def reverse_kl(self, policy):  # KL(q_pi || P)
        log_q = self.log_q(policy)
        return (np.exp(log_q) * (log_q - self.log_p)).sum(-1)

    def visit_shares(self):  # P's action frequencies in each state
        visits = np.einsum("n,nsa->sa", np.exp(self.log_p), self.counts)
        return visits / visits.sum(1, keepdims=True)


def random_mdp(seed, *, n_states=2, n_actions=2, horizon=3):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(n_states), size=(n_states, n_actions))
    R = rng.normal(size=(n_states, n_actions))
    initial = rng.dirichlet(np.ones(n_states))
    return TabularMDP.from_arrays(P, R, initial, horizon=horizon)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_forward_projection_is_p_visit_frequencies(seed):
    mdp = random_mdp(seed)
    prior = np.random.default_rng(seed + 10).dirichlet(np.ones(2), size=2)
    listing = Listing(mdp, 0.5, prior)
    result = stationary_projection(
        mdp, alpha=0.5, direction="forward", prior=prior
    )
    assert isinstance(result, StationaryProjection)
    assert result.policy.shape == (2, 2) and result.iterations == 0
    assert np.allclose(result.policy, listing.visit_shares(), atol=1e-12)
    assert np.isclose(result.forward_kl, listing.forward_kl(result.policy))
    assert np.isclose(result.reverse_kl, listing.reverse_kl(result.policy))
    # no stationary policy comes closer in the forward direction
    others = np.random.default_rng(seed).dirichlet(np.ones(2), size=(500, 2))
    assert listing.forward_kl(others).min() > result.forward_kl - 1e-12


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reverse_projection_beats_a_fine_grid(seed):
    mdp = random_mdp(seed)
    listing = Listing(mdp, 0.5, np.full((2, 2), 0.5))
    result = stationary_projection(mdp, alpha=0.5, direction="reverse")
    assert result.iterations > 0
    assert np.isclose(result.reverse_kl, listing.reverse_kl(result.policy))
    assert np.isclose(result.forward_kl, listing.forward_kl(result.policy))
    # two free numbers, pi(0 | s) for s = 0, 1: a grid over both
    x = np.linspace(1e-4, 1 - 1e-4, 301)
    a, b = np.meshgrid(x, x, indexing="ij")
    grid = np.stack(
        [np.stack([a, 1 - a], -1), np.stack([b, 1 - b], -1)], axis=-2
    ).reshape(-1, 2, 2)
    assert listing.reverse_kl(grid).min() > result.reverse_kl - 1e-9
    # each projection wins in its own direction
    forward = stationary_projection(mdp, alpha=0.5, direction="forward")
    assert forward.forward_kl <= result.forward_kl + 1e-12
    assert result.reverse_kl <= forward.reverse_kl + 1e-12


def test_the_directions_differ_when_p_needs_the_time_step():
    # on the deterministic lake the time-indexed optimum reaches P exactly;
    # a stationary policy cannot count the moves left
    lake = tabular_mdp(gym.make("FrozenLake-v1", is_slippery=False), horizon=8)
    best = soft_value_iteration(lake, alpha=0.1)
    forward = stationary_projection(lake, alpha=0.1, direction="forward")
    reverse = stationary_projection(lake, alpha=0.1, direction="reverse")
    assert abs(best.min_kl) < 1e-12  # a time-indexed policy reaches P
    assert forward.reverse_kl > reverse.reverse_kl + 0.1
    assert reverse.forward_kl > forward.forward_kl + 0.1
    assert np.abs(forward.policy - reverse.policy).max() > 0.05
    # against the listing, which handles the terminal states
    paths = enumerate_trajectories(lake)
    log_p = paths.log_p(alpha=0.1)
    for result in (forward, reverse):
        log_q = paths.log_q(result.policy)
        by_listing = np.exp(log_p) @ (log_p - log_q)
        assert abs(by_listing - result.forward_kl) < 1e-10
        assert abs(np.exp(log_q) @ (log_q - log_p) - result.reverse_kl) < 1e-10


def test_one_decision_both_projections_are_the_optimum():
    mdp = random_mdp(3, horizon=1)
    best = soft_value_iteration(mdp, alpha=0.7)
    for direction in ("forward", "reverse"):
        result = stationary_projection(mdp, alpha=0.7, direction=direction)
        assert np.allclose(result.policy, best.policy[0], atol=1e-6)
        assert abs(result.reverse_kl - best.min_kl) < 1e-10


def test_unweighed_states_keep_the_prior_and_forbidden_actions_stay_zero():
    desc = ["SF", "HG"]  # 2x2 lake: a hole at 2, the goal at 3
    lake = tabular_mdp(
        gym.make("FrozenLake-v1", desc=desc, is_slippery=False), horizon=3
    )
    prior = np.tile([0.0, 0.4, 0.4, 0.2], (4, 1))  # never left
    for direction in ("forward", "reverse"):
        result = stationary_projection(
            lake, alpha=0.5, direction=direction, prior=prior
        )
        assert np.all(result.policy[:, 0] == 0.0)
        assert np.allclose(result.policy[lake.terminal], prior[lake.terminal])
        assert np.isfinite(result.forward_kl)


def test_bad_arguments_are_named():
    mdp = random_mdp(0)
    with pytest.raises(ValueError, match="direction"):
        stationary_projection(mdp, alpha=1.0, direction="sideways")
    with pytest.raises(TypeError, match="direction"):
        stationary_projection(mdp, alpha=1.0, direction=1)
    with pytest.raises(ValueError, match="alpha"):
        stationary_projection(mdp, alpha=0.0, direction="forward")
    with pytest.raises(TypeError, match="mdp"):
        stationary_projection("lake", alpha=1.0, direction="forward")
    with pytest.raises(ValueError, match="prior"):
        stationary_projection(
            mdp,
            alpha=1.0,
            direction="forward",
            prior=np.full((3, 2, 2), 0.5),
        )
