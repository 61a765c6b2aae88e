"""klcourse.rl: exact control as inference, and max-entropy REINFORCE."""

from __future__ import annotations

import itertools
import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from klcourse.rl import (
    MaxEntReinforce,
    TimeIndexed,
    policy_table,
    soft_value_iteration,
    tabular_mdp,
    trajectory_kl,
)


def random_mdp(rng: np.random.Generator, n_states: int = 3, n_actions: int = 2, deterministic: bool = False):
    if deterministic:
        P = np.eye(n_states)[rng.integers(n_states, size=(n_states, n_actions))]
    else:
        P = rng.dirichlet(np.ones(n_states), size=(n_states, n_actions))
    R = rng.normal(size=(n_states, n_actions))
    return P, R


def brute_force(P, R, initial, policy, *, alpha, horizon):
    """log Z and KL(q_pi || P) by enumerating every trajectory."""
    n_states, n_actions = R.shape
    log_weights, q_probs = [], []
    for states in itertools.product(range(n_states), repeat=horizon + 1):
        for actions in itertools.product(range(n_actions), repeat=horizon):
            p_dyn = initial[states[0]] * np.prod([P[states[t], actions[t], states[t + 1]] for t in range(horizon)])
            if p_dyn == 0:
                continue
            reward = sum(R[states[t], actions[t]] for t in range(horizon))
            log_weights.append(math.log(p_dyn) + horizon * math.log(1 / n_actions) + reward / alpha)
            q_probs.append(p_dyn * np.prod([policy[t, states[t], actions[t]] for t in range(horizon)]))
    log_weights, q_probs = np.array(log_weights), np.array(q_probs)
    log_z = logsumexp(log_weights)
    keep = q_probs > 0
    kl = float(np.sum(q_probs[keep] * (np.log(q_probs[keep]) - (log_weights[keep] - log_z))))
    return float(log_z), kl


# --- exact, tabular ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_soft_value_iteration_against_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    P, R = random_mdp(rng)
    initial = rng.dirichlet(np.ones(3))
    alpha, horizon = 0.7, 3
    optimum = soft_value_iteration(P, R, initial, alpha=alpha, horizon=horizon)
    policy = rng.dirichlet(np.ones(2), size=(horizon, 3))
    log_z, kl = brute_force(P, R, initial, policy, alpha=alpha, horizon=horizon)
    assert optimum.log_partition == pytest.approx(log_z, rel=1e-12)
    assert trajectory_kl(policy, P, R, initial, alpha=alpha, horizon=horizon).kl == pytest.approx(kl, rel=1e-10)
    # The soft-optimal policy is the best policy: no random policy beats it.
    best = trajectory_kl(optimum.policy, P, R, initial, alpha=alpha, horizon=horizon).kl
    for _ in range(20):
        other = rng.dirichlet(np.ones(2), size=(horizon, 3))
        assert trajectory_kl(other, P, R, initial, alpha=alpha, horizon=horizon).kl > best


@pytest.mark.parametrize("seed", range(4))
def test_deterministic_dynamics_and_fixed_start_give_zero_kl(seed: int) -> None:
    rng = np.random.default_rng(10 + seed)
    P, R = random_mdp(rng, n_states=4, n_actions=3, deterministic=True)
    initial = np.eye(4)[0]
    optimum = soft_value_iteration(P, R, initial, alpha=0.5, horizon=5)
    assert abs(trajectory_kl(optimum.policy, P, R, initial, alpha=0.5, horizon=5).kl) < 1e-9
    uniform = np.full((4, 3), 1 / 3)
    assert trajectory_kl(uniform, P, R, initial, alpha=0.5, horizon=5).kl > 1e-3


def test_random_start_or_stochastic_dynamics_leave_a_positive_minimum() -> None:
    rng = np.random.default_rng(20)
    P, R = random_mdp(rng, deterministic=True)
    random_start = np.array([0.5, 0.3, 0.2])
    optimum = soft_value_iteration(P, R, random_start, alpha=1.0, horizon=3)
    assert trajectory_kl(optimum.policy, P, R, random_start, alpha=1.0, horizon=3).kl > 1e-6
    P_noisy, R_noisy = random_mdp(rng)
    start = np.eye(3)[0]
    optimum = soft_value_iteration(P_noisy, R_noisy, start, alpha=1.0, horizon=3)
    assert trajectory_kl(optimum.policy, P_noisy, R_noisy, start, alpha=1.0, horizon=3).kl > 1e-6


def test_kl_identity_holds() -> None:
    rng = np.random.default_rng(30)
    P, R = random_mdp(rng)
    initial = rng.dirichlet(np.ones(3))
    policy = rng.dirichlet(np.ones(2), size=3)
    result = trajectory_kl(policy, P, R, initial, alpha=0.3, horizon=4)
    assert result.kl == pytest.approx(result.log_partition - result.soft_return / 0.3, rel=1e-12)
    assert result.kl > 0


def test_tabular_mdp_reads_frozen_lake() -> None:
    mdp = tabular_mdp(gym.make("FrozenLake-v1", is_slippery=False), horizon=8)
    assert np.allclose(mdp.P.sum(-1), 1.0)
    assert mdp.R[14, 2] == 1.0  # stepping right from 14 reaches the goal
    assert mdp.terminal[15] and mdp.terminal[5] and not mdp.terminal[0]
    assert np.all(mdp.P[15, :, 15] == 1.0) and np.all(mdp.R[15] == 0.0)
    assert mdp.initial[0] == 1.0
    slippery = tabular_mdp(gym.make("FrozenLake-v1", is_slippery=True), horizon=8)
    assert slippery.P[0, 1].max() < 1.0


def test_tabular_errors() -> None:
    P, R = random_mdp(np.random.default_rng(0))
    with pytest.raises(ValueError, match="alpha must be a positive number"):
        soft_value_iteration(P, R, np.eye(3)[0], alpha=0.0, horizon=2)
    with pytest.raises(ValueError, match=r"R must have shape \(3, 2\)"):
        soft_value_iteration(P, R.T, np.eye(3)[0], alpha=1.0, horizon=2)
    with pytest.raises(ValueError, match="P must hold probability distributions"):
        soft_value_iteration(P * 2, R, np.eye(3)[0], alpha=1.0, horizon=2)
    with pytest.raises(ValueError, match="initial must be a probability distribution"):
        soft_value_iteration(P, R, np.ones(3), alpha=1.0, horizon=2)
    with pytest.raises(ValueError, match="policy must have shape"):
        trajectory_kl(np.full((2, 2), 0.5), P, R, np.eye(3)[0], alpha=1.0, horizon=2)
    with pytest.raises(ValueError, match="policy rows must be probability distributions"):
        trajectory_kl(np.full((3, 2), 0.7), P, R, np.eye(3)[0], alpha=1.0, horizon=2)
    with pytest.raises(TypeError, match="toy-text environment"):
        tabular_mdp(gym.make("CartPole-v1"), horizon=3)


# --- REINFORCE -----------------------------------------------------------------------------

TINY = {"desc": ["SF", "FG"], "is_slippery": False}


def exact_soft_return(logits: torch.Tensor, mdp, alpha: float) -> torch.Tensor:
    """J_alpha of the softmax policy with (H, S, A) logits, differentiably (the oracle)."""
    horizon, n_states, n_actions = logits.shape
    P, R = torch.from_numpy(mdp.P), torch.from_numpy(mdp.R)
    live = torch.from_numpy(~mdp.terminal).double()
    state, total = torch.from_numpy(mdp.initial), torch.zeros((), dtype=torch.float64)
    for t in range(horizon):
        pi = torch.softmax(logits[t].double(), -1)
        per_state = (pi * R).sum(1) - alpha * (pi * (torch.log(pi) + math.log(n_actions))).sum(1)
        total = total + (state * live * per_state).sum()
        state = torch.einsum("s,sa,sat->t", state, pi, P)
    return total


def test_reinforce_gradient_matches_the_exact_gradient() -> None:
    horizon, alpha = 3, 0.5
    make = lambda: TimeIndexed(gym.make("FrozenLake-v1", **TINY), horizon=horizon)  # noqa: E731
    agent = MaxEntReinforce(make, alpha=alpha, hidden=(), baseline="none", normalize_advantages=False,
                            batch_steps=60_000, num_envs=4, seed=0)
    with torch.no_grad():  # a non-uniform policy, so that the gradient is not trivially small
        agent.policy.body[0].weight.copy_(torch.randn(agent.policy.body[0].weight.shape, generator=torch.Generator().manual_seed(1)))
    episodes = agent.collect(60_000)
    loss, _ = agent.loss(episodes)
    agent.optimiser.zero_grad()
    loss.backward()
    estimate = -agent.policy.body[0].weight.grad.T.reshape(horizon, 4, 4)  # (t * S + s, a) -> (t, s, a)

    mdp = tabular_mdp(gym.make("FrozenLake-v1", **TINY), horizon=horizon)
    weight = agent.policy.body[0].weight.detach().clone().requires_grad_(True)
    logits = (weight.T + agent.policy.body[0].bias.detach()).reshape(horizon, 4, 4)
    exact_soft_return(logits, mdp, alpha).backward()
    exact = weight.grad.T.reshape(horizon, 4, 4)
    reachable = exact.abs() > 1e-3
    assert reachable.sum() > 5
    error = (estimate - exact)[reachable].abs().max() / exact[reachable].abs().max()
    assert error < 0.1, (estimate, exact)


def test_agent_improves_on_cartpole() -> None:
    agent = MaxEntReinforce("CartPole-v1", alpha=0.01, gamma=0.99, batch_steps=1_000, num_envs=4, seed=0)
    history = agent.train(30_000, progress=False)
    first = np.mean([h["mean_return"] for h in history[:3]])
    last = np.mean([h["mean_return"] for h in history[-3:]])
    assert last > 2 * first and last > 60


def test_same_seed_same_run_and_save_load_round_trip(tmp_path) -> None:
    runs = []
    for _ in range(2):
        agent = MaxEntReinforce("CartPole-v1", batch_steps=300, num_envs=2, seed=3)
        history = agent.train(900, progress=False)
        runs.append(([{k: v for k, v in h.items() if k != "wall_time"} for h in history], agent))
    assert runs[0][0] == runs[1][0]
    agent = runs[0][1]
    agent.save(tmp_path / "agent.pt")
    loaded = MaxEntReinforce.load(tmp_path / "agent.pt")
    x = torch.randn(5, 4)
    assert torch.equal(agent.policy(x).probs, loaded.policy(x).probs)
    assert np.array_equal(agent.evaluate(3, deterministic=True, seed=0), loaded.evaluate(3, deterministic=True, seed=0))
    assert loaded.env_steps == agent.env_steps


def test_continuous_actions_and_discrete_observations_work() -> None:
    pendulum = MaxEntReinforce("Pendulum-v1", batch_steps=400, num_envs=2, seed=0)
    assert len(pendulum.train(400, progress=False)) >= 1
    assert pendulum.evaluate(1, seed=0).shape == (1,)
    lake = MaxEntReinforce("FrozenLake-v1", env_kwargs={"is_slippery": False}, hidden=(), batch_steps=100, num_envs=2, seed=0)
    assert lake.n_inputs == 16 and len(lake.train(100, progress=False)) >= 1


def test_autoreset_steps_are_not_learned_from() -> None:
    agent = MaxEntReinforce("CartPole-v1", batch_steps=500, num_envs=3, seed=1)
    agent.train(500, progress=False)
    episodes = agent.collect()
    for episode in episodes:
        # every recorded step is a real transition: an episode ends exactly once, at its last step
        assert len(episode.obs) == len(episode.actions) == len(episode.rewards)
        assert all(r == 1.0 for r in episode.rewards)  # a reset step would show reward 0


class _MultiBinaryEnv(gym.Env):
    observation_space = gym.spaces.Box(-1, 1, (2,))
    action_space = gym.spaces.MultiBinary(2)


class _TupleObsEnv(gym.Env):
    observation_space = gym.spaces.Tuple((gym.spaces.Discrete(2), gym.spaces.Discrete(2)))
    action_space = gym.spaces.Discrete(2)


def test_agent_errors() -> None:
    with pytest.raises(TypeError, match="action space must be Discrete or Box, got MultiBinary"):
        MaxEntReinforce(_MultiBinaryEnv())
    with pytest.raises(TypeError, match="observation space must be Discrete or Box, got Tuple"):
        MaxEntReinforce(_TupleObsEnv())
    with pytest.raises(ValueError, match="alpha must be a non-negative number"):
        MaxEntReinforce("CartPole-v1", alpha=-1.0)
    with pytest.raises(ValueError, match=r"gamma must be in \(0, 1\]"):
        MaxEntReinforce("CartPole-v1", gamma=0.0)
    with pytest.raises(ValueError, match="baseline must be"):
        MaxEntReinforce("CartPole-v1", baseline="critic")
    with pytest.raises(ValueError, match="num_envs must be a positive integer"):
        MaxEntReinforce("CartPole-v1", num_envs=0)
    with pytest.raises(ValueError, match="total_steps must be a positive integer"):
        MaxEntReinforce("CartPole-v1").train(0)
    with pytest.raises(TypeError, match="env must be an environment id"):
        MaxEntReinforce(42)
    with pytest.raises(TypeError, match="TimeIndexed needs a Discrete observation space"):
        TimeIndexed(gym.make("CartPole-v1"), horizon=3)


def test_command_line_train_and_evaluate(tmp_path, capsys) -> None:
    from klcourse.rl.__main__ import main

    out = tmp_path / "run"
    assert main(["train", "--env", "CartPole-v1", "--steps", "600", "--batch-steps", "300", "--num-envs", "2",
                 "--seed", "0", "--out", str(out), "--no-progress"]) == 0
    assert {"agent.pt", "history.csv", "learning_curve.png"} <= {p.name for p in out.iterdir()}
    assert "env_steps" in (out / "history.csv").read_text().splitlines()[0]
    assert main(["evaluate", str(out), "--episodes", "2"]) == 0
    assert '"episodes": 2' in capsys.readouterr().out
    assert main(["evaluate", str(tmp_path / "missing")]) == 2
