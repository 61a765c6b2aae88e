"""klcourse.rl.reinforce and klcourse.rl.wrappers: max-entropy REINFORCE.

The exact tabular functions are tested in test_rl_tabular.py, the tabular
natural-gradient agent in test_rl_natural.py.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import klcourse
from klcourse.rl import (
    MaxEntReinforce,
    ReinforceConfig,
    TimeIndexed,
    policy_table,
    tabular_mdp,
    trajectory_kl,
)
from klcourse.rl.reinforce import HISTORY_COLUMNS

ROOT = Path(__file__).resolve().parents[1]


# --- the TimeIndexed wrapper ---------------------------------------------------------------


@pytest.mark.parametrize("env_id", ["FrozenLake-v1", "CliffWalking-v1"])
def test_time_indexed_passes_gymnasiums_env_checker(env_id: str) -> None:
    env = TimeIndexed(gym.make(env_id), horizon=6)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Rendering is the wrapped environment's (and needs pygame); the rest
        # of the checks, the rebuild from env.spec and close included, run.
        check_env(env, skip_render_check=True)
    messages = [str(w.message) for w in caught]
    # The checker always notes that a wrapper is not the raw environment.
    complaints = [
        m for m in messages if "different from the unwrapped version" not in m
    ]
    assert complaints == []


def test_time_indexed_observes_time_and_state_and_stops_at_the_horizon() -> (
    None
):
    env = TimeIndexed(gym.make("FrozenLake-v1", is_slippery=False), horizon=3)
    obs, info = env.reset(seed=0)
    assert (obs, info["time_step"]) == (0, 0)
    seen = []
    for action in (2, 2, 1):  # right, right, down
        obs, _, terminated, truncated, info = env.step(action)
        seen.append((obs, info["time_step"], terminated, truncated))
    # cells 1, 2, 6 at times 1, 2 and then capped at horizon - 1 = 2; truncated after 3 steps
    assert seen == [
        (16 + 1, 1, False, False),
        (32 + 2, 2, False, False),
        (32 + 6, 3, False, True),
    ]
    rebuilt = gym.make(env.spec)  # the wrapper records its arguments
    assert isinstance(rebuilt, TimeIndexed) and rebuilt.horizon == 3
    assert rebuilt.observation_space == gym.spaces.Discrete(48)
    with pytest.raises(
        TypeError, match="^env must have a Discrete observation space"
    ):
        TimeIndexed(gym.make("CartPole-v1"), horizon=3)
    with pytest.raises(ValueError, match="^horizon must be at least 1, got 0"):
        TimeIndexed(gym.make("FrozenLake-v1"), horizon=0)
    with pytest.raises(TypeError, match="^horizon must be an integer"):
        TimeIndexed(gym.make("FrozenLake-v1"), horizon=2.5)


# --- REINFORCE -----------------------------------------------------------------------------

TINY = {"desc": ["SF", "FG"], "is_slippery": False}


def tiny_lake(horizon: int = 3) -> TimeIndexed:
    return TimeIndexed(gym.make("FrozenLake-v1", **TINY), horizon=horizon)


def exact_soft_return(logits: torch.Tensor, mdp, alpha: float) -> torch.Tensor:
    """J_alpha of the softmax policy with (H, S, A) logits, differentiably (the oracle)."""
    horizon, _, n_actions = logits.shape
    P, R = torch.tensor(mdp.P), torch.tensor(mdp.R)  # copies: read-only
    live = torch.tensor(~mdp.terminal).double()
    state, total = (
        torch.tensor(mdp.initial),
        torch.zeros((), dtype=torch.float64),
    )
    for t in range(horizon):
        pi = torch.softmax(logits[t].double(), -1)
        per_state = (pi * R).sum(1) - alpha * (
            pi * (torch.log(pi) + math.log(n_actions))
        ).sum(1)
        total = total + (state * live * per_state).sum()
        state = torch.einsum("s,sa,sat->t", state, pi, P)
    return total


def test_reinforce_gradient_matches_the_exact_gradient() -> None:
    horizon, alpha = 3, 0.5
    agent = MaxEntReinforce(
        lambda: tiny_lake(horizon),
        alpha=alpha,
        hidden=(),
        baseline="none",
        normalize_advantages=False,
        batch_steps=20_000,
        num_envs=4,
        seed=0,
    )
    with (
        torch.no_grad()
    ):  # a non-uniform policy, so that the gradient is not trivially small
        agent.policy.body[0].weight.copy_(
            torch.randn(
                agent.policy.body[0].weight.shape,
                generator=torch.Generator().manual_seed(1),
            )
        )
    episodes = agent.collect(8_000)  # 20,000 steps: the error is about 0.04
    loss, _ = agent.loss(episodes)
    agent.torch_optimizer.zero_grad()
    loss.backward()
    estimate = -agent.policy.body[0].weight.grad.T.reshape(
        horizon, 4, 4
    )  # (t * S + s, a) -> (t, s, a)

    mdp = tabular_mdp(gym.make("FrozenLake-v1", **TINY), horizon=horizon)
    weight = agent.policy.body[0].weight.detach().clone().requires_grad_(True)
    logits = (weight.T + agent.policy.body[0].bias.detach()).reshape(
        horizon, 4, 4
    )
    exact_soft_return(logits, mdp, alpha).backward()
    exact = weight.grad.T.reshape(horizon, 4, 4)
    reachable = exact.abs() > 1e-3
    assert reachable.sum() > 5
    error = (estimate - exact)[reachable].abs().max() / exact[
        reachable
    ].abs().max()
    assert error < 0.1, (estimate, exact)


def test_agent_improves_on_cartpole() -> None:
    agent = MaxEntReinforce(
        "CartPole-v1",
        alpha=0.01,
        gamma=0.99,
        batch_steps=1_000,
        num_envs=4,
        seed=0,
    )
    history = agent.train(30_000, progress=False)
    first = np.mean(history["mean_return"][:3])
    last = np.mean(history["mean_return"][-3:])
    assert last > 2 * first and last > 60


@pytest.mark.parametrize(
    ("baseline", "optimizer", "lr"),
    [("mean", "adam", 0.05), ("value", "sgd", 0.5), ("none", "sgd", 1.0)],
)
def test_baselines_and_optimizers_learn_a_tiny_lake(
    baseline: str, optimizer: str, lr: float
) -> None:
    """Each baseline and optimizer brings the exact reverse KL down."""
    horizon, alpha = 3, 0.2
    mdp = tabular_mdp(gym.make("FrozenLake-v1", **TINY), horizon=horizon)
    agent = MaxEntReinforce(
        lambda: tiny_lake(horizon),
        alpha=alpha,
        hidden=(),
        baseline=baseline,
        optimizer=optimizer,
        lr=lr,
        normalize_advantages=False,
        batch_steps=300,
        num_envs=2,
        seed=0,
    )
    expected = torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam
    assert isinstance(agent.torch_optimizer, expected)
    before = trajectory_kl(
        policy_table(agent, horizon=horizon, n_states=4), mdp, alpha=alpha
    ).kl
    agent.train(6_000, progress=False)
    after = trajectory_kl(
        policy_table(agent, horizon=horizon, n_states=4), mdp, alpha=alpha
    ).kl
    assert after < before / 2, (before, after)


def test_leave_one_out_baseline_by_hand() -> None:
    returns = [
        torch.tensor([3.0, 2.0, 1.0]),
        torch.tensor([5.0, 4.0]),
        torch.tensor([7.0]),
    ]
    # episode 0: t = 0 mean(5, 7) = 6, t = 1: 4, t = 2: no other episode, 0
    # episode 1: t = 0 mean(3, 7) = 5, t = 1: 2; episode 2: mean(3, 5) = 4
    expected = torch.tensor([6.0, 4.0, 0.0, 5.0, 2.0, 4.0])
    assert torch.equal(MaxEntReinforce._leave_one_out_mean(returns), expected)
    assert torch.equal(  # one episode alone: no baseline at all
        MaxEntReinforce._leave_one_out_mean(returns[:1]), torch.zeros(3)
    )


def test_mean_baseline_enters_the_loss() -> None:
    """The mean baseline's loss: -(log pi * (G - b_t)).sum() / episodes."""
    agent = MaxEntReinforce(
        "CartPole-v1",
        baseline="mean",
        normalize_advantages=False,
        num_envs=2,
        seed=0,
    )
    episodes = agent.collect(6)
    loss, _ = agent.loss(episodes)
    log_probs, returns, _ = agent.soft_returns(episodes)
    g = torch.cat(returns)
    baseline = []
    for i, r in enumerate(returns):  # the other episodes still running at t
        for t in range(len(r)):
            others = [
                o[t].item()
                for j, o in enumerate(returns)
                if j != i and len(o) > t
            ]
            baseline.append(np.mean(others) if others else 0.0)
    assert max(len(r) for r in returns) > min(len(r) for r in returns)
    expected = -(
        log_probs * (g - torch.tensor(baseline, dtype=torch.float32))
    ).sum() / len(episodes)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_same_seed_same_run_and_save_load_round_trip(tmp_path) -> None:
    runs = []
    for _ in range(2):
        agent = MaxEntReinforce(
            "CartPole-v1", batch_steps=300, num_envs=2, seed=3
        )
        history = agent.train(900, progress=False)
        runs.append((without_time(history), agent))
    assert runs[0][0] == runs[1][0]
    agent = runs[0][1]
    agent.save(tmp_path / "agent.pt")
    loaded = MaxEntReinforce.load(tmp_path / "agent.pt")
    assert loaded.config == agent.config and loaded.seed == 3
    x = torch.randn(5, 4)
    assert torch.equal(agent.policy(x).probs, loaded.policy(x).probs)
    assert torch.equal(agent.value(x), loaded.value(x))
    assert np.array_equal(
        agent.evaluate(3, deterministic=True, seed=0),
        loaded.evaluate(3, deterministic=True, seed=0),
    )
    assert loaded.env_steps == agent.env_steps


def without_time(history):
    """The history's columns but wall_time, as lists that compare with ==."""
    return {k: v.tolist() for k, v in history.items() if k != "wall_time"}


def small_cartpole(seed) -> MaxEntReinforce:
    return MaxEntReinforce(
        "CartPole-v1", batch_steps=200, num_envs=2, seed=seed
    )


def test_evaluating_and_acting_do_not_change_training() -> None:
    plain = small_cartpole(5)
    plain.train(400, progress=False)
    plain.train(400, progress=False)
    interrupted = small_cartpole(5)
    interrupted.train(400, progress=False)
    interrupted.evaluate(3)
    interrupted.evaluate(2, seed=9)
    interrupted.act(np.zeros(4, dtype=np.float32))
    interrupted.train(400, progress=False)
    assert without_time(interrupted.history) == without_time(plain.history)
    for a, b in zip(
        plain.policy.parameters(), interrupted.policy.parameters()
    ):
        assert torch.equal(a, b)


def test_evaluation_streams_are_the_agents_own() -> None:
    a, b = small_cartpole(4), small_cartpole(4)
    first = a.evaluate(4)
    assert np.array_equal(
        first, b.evaluate(4)
    )  # the same seed, the same evaluation
    assert not np.array_equal(
        first, a.evaluate(4)
    )  # a second call continues the stream
    assert np.array_equal(a.evaluate(4, seed=1), b.evaluate(4, seed=1))


@pytest.mark.parametrize("seed", [None, 7])
def test_global_random_states_are_left_alone(seed) -> None:
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    agent = MaxEntReinforce(
        "CartPole-v1", batch_steps=100, num_envs=2, seed=seed
    )
    agent.train(200, progress=False)
    agent.evaluate(2)
    agent.evaluate(1, seed=0)
    agent.act(np.zeros((3, 4), dtype=np.float32))
    assert torch.equal(torch.get_rng_state(), torch_state)
    after = np.random.get_state()
    assert (
        after[0] == numpy_state[0]
        and np.array_equal(after[1], numpy_state[1])
        and after[2:] == numpy_state[2:]
    )


def test_a_numpy_generator_seeds_everything() -> None:
    runs = []
    for _ in range(2):
        rng = np.random.default_rng(11)
        agent = MaxEntReinforce(
            "CartPole-v1", batch_steps=200, num_envs=2, seed=rng
        )
        agent.train(400, progress=False)
        runs.append(
            (
                without_time(agent.history),
                agent.evaluate(2),
                rng.integers(1_000_000),
            )
        )
    assert (
        runs[0][0] == runs[1][0]
    )  # weights, actions and environments all follow rng
    assert np.array_equal(runs[0][1], runs[1][1])
    assert (
        runs[0][2]
        == runs[1][2]
        != np.random.default_rng(11).integers(1_000_000)
    )  # rng was advanced
    other = MaxEntReinforce(
        "CartPole-v1",
        batch_steps=200,
        num_envs=2,
        seed=np.random.default_rng(12),
    )
    other.train(400, progress=False)
    assert without_time(other.history) != runs[0][0]


def test_continuous_actions_and_discrete_observations_work() -> None:
    pendulum = MaxEntReinforce(
        "Pendulum-v1", batch_steps=400, num_envs=2, seed=0
    )
    assert pendulum.train(400, progress=False).n_rows >= 1
    assert pendulum.evaluate(1, seed=0).shape == (1,)
    lake = MaxEntReinforce(
        "FrozenLake-v1",
        env_kwargs={"is_slippery": False},
        hidden=(),
        batch_steps=100,
        num_envs=2,
        seed=0,
    )
    assert lake.n_inputs == 16 and lake.train(100, progress=False).n_rows >= 1


class _RecordActions(gym.Wrapper):
    """Keeps every action the environment receives."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.received: list[np.ndarray] = []

    def step(self, action):
        self.received.append(np.array(action, copy=True))
        return super().step(action)


def test_box_actions_reach_the_env_clipped_and_are_learned_unclipped() -> None:
    made: list[_RecordActions] = []

    def make() -> gym.Env:
        made.append(_RecordActions(gym.make("Pendulum-v1")))
        return made[-1]

    agent = MaxEntReinforce(make, batch_steps=200, num_envs=1, seed=0)
    with torch.no_grad():
        agent.policy.log_std.fill_(
            math.log(3.0)
        )  # wide enough to leave [-2, 2] often
    (episode,) = agent.collect(1)  # 200 steps
    sampled = np.array(episode.actions)  # (200, 1): what the learner keeps
    received = np.array(made[-1].received[: len(sampled)])
    low, high = agent.action_space.low, agent.action_space.high
    assert np.any(sampled > high) and np.any(sampled < low)
    assert np.all((received >= low) & (received <= high))
    assert np.array_equal(received, np.clip(sampled, low, high))
    # log-probabilities are of the sampled actions, not of the clipped ones
    log_probs, _, _ = agent.soft_returns([episode])
    dist = agent.policy(torch.from_numpy(np.stack(episode.obs)))
    assert torch.allclose(log_probs, dist.log_prob(torch.from_numpy(sampled)))


def test_act_takes_one_observation_or_a_batch() -> None:
    cartpole = MaxEntReinforce("CartPole-v1", seed=0)
    obs, _ = gym.make("CartPole-v1").reset(seed=0)
    one = cartpole.act(obs)
    assert one.shape == () and cartpole.action_space.contains(one)
    batch = cartpole.act(np.stack([obs] * 5), deterministic=True)
    assert batch.shape == (5,) and len(set(batch.tolist())) == 1
    probs = cartpole.policy(torch.from_numpy(obs[None])).probs[0]
    assert int(cartpole.act(obs, deterministic=True)) == int(probs.argmax())
    pendulum = MaxEntReinforce("Pendulum-v1", seed=0)
    with torch.no_grad():
        pendulum.policy.body[-1].bias.fill_(
            10.0
        )  # a mean far beyond the bound 2
    actions = pendulum.act(
        np.zeros((4, 3), dtype=np.float32), deterministic=True
    )
    assert (
        actions.shape == (4, 1)
        and actions.dtype == np.float32
        and np.all(actions == 2.0)
    )
    assert pendulum.act(np.zeros(3, dtype=np.float32)).shape == (1,)
    lake = MaxEntReinforce("FrozenLake-v1", hidden=(), seed=0)
    assert lake.act(5).shape == () and lake.act([0, 5, 15]).shape == (3,)
    with pytest.raises(ValueError, match=r"^obs must have shape \(4,\)"):
        cartpole.act(np.zeros(3))
    with pytest.raises(ValueError, match="^obs must be states of Discrete"):
        lake.act(16)
    with pytest.raises(
        TypeError, match="^deterministic must be True or False"
    ):
        cartpole.act(obs, deterministic="yes")


def test_policy_table_against_the_softmax_of_the_weights() -> None:
    horizon = 3
    agent = MaxEntReinforce(tiny_lake(horizon), hidden=(), num_envs=1, seed=0)
    generator = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for parameter in agent.policy.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator))
    weight = (
        agent.policy.body[0].weight.detach().double().numpy()
    )  # (A, H * S)
    bias = agent.policy.body[0].bias.detach().double().numpy()
    table = policy_table(agent, horizon=horizon, n_states=4)
    for t in range(horizon):
        for s in range(4):
            logits = weight[:, t * 4 + s] + bias
            expected = (
                np.exp(logits - logits.max())
                / np.exp(logits - logits.max()).sum()
            )
            assert np.allclose(table[t, s], expected, atol=1e-6)
    with pytest.raises(
        ValueError, match=r"^horizon \* n_states must equal the agent's 12"
    ):
        policy_table(agent, horizon=2, n_states=4)
    with pytest.raises(TypeError, match="^n_states must be an integer"):
        policy_table(agent, horizon=3, n_states=4.0)
    with pytest.raises(TypeError, match="^agent must have Discrete actions"):
        policy_table(
            MaxEntReinforce("Pendulum-v1", seed=0), horizon=1, n_states=3
        )


def test_value_network_is_built_from_hidden_and_the_optimizer_is_renamed() -> (
    None
):
    deep = MaxEntReinforce("CartPole-v1", hidden=(8, 5), seed=0)
    shapes = [tuple(p.shape) for p in deep.value.parameters()]
    assert shapes == [(8, 4), (8,), (5, 8), (5,), (1, 5), (1,)]
    linear = MaxEntReinforce("CartPole-v1", hidden=(), seed=0)
    assert [tuple(p.shape) for p in linear.value.parameters()] == [
        (1, 4),
        (1,),
    ]
    assert isinstance(deep.torch_optimizer, torch.optim.Adam)
    assert not hasattr(deep, "optimiser") and not hasattr(deep, "optimizer")
    assert deep.config.optimizer == "adam"


def test_the_chapters_saved_agent_still_loads() -> None:
    agent = MaxEntReinforce.load(
        ROOT / "benchmarks" / "results" / "cartpole_agent.pt"
    )
    assert agent.config.hidden == (64,) and agent.config.alpha == 0.01
    assert agent.config.gamma == 0.99 and agent.config.batch_steps == 500
    assert agent.config.lr == 0.02  # the settings of rl_cartpole.py
    assert agent.env_id == "CartPole-v1" and agent.env_steps >= 100_000
    assert agent.evaluate(2, seed=0).min() == 500  # the chapter's claim


def test_saving_agents_built_from_environment_instances(tmp_path) -> None:
    made = MaxEntReinforce(
        gym.make("CartPole-v1", max_episode_steps=50), hidden=(8,), seed=1
    )
    made.save(tmp_path / "made.pt")
    loaded = MaxEntReinforce.load(tmp_path / "made.pt")
    assert loaded.config == made.config and loaded.env_id is None
    assert (
        loaded.evaluate(1, deterministic=True, seed=0).max() <= 50
    )  # the time limit came back
    x = torch.randn(3, 4)
    assert torch.equal(loaded.policy(x).probs, made.policy(x).probs)

    wrapped = MaxEntReinforce(
        tiny_lake(3), hidden=(), seed=1
    )  # TimeIndexed records its arguments
    wrapped.save(tmp_path / "wrapped.pt")
    loaded = MaxEntReinforce.load(tmp_path / "wrapped.pt")
    assert loaded.observation_space == gym.spaces.Discrete(12)
    assert np.array_equal(
        policy_table(loaded, horizon=3, n_states=4),
        policy_table(wrapped, horizon=3, n_states=4),
    )
    loaded.save(tmp_path / "again.pt")  # and a loaded agent saves again

    class Hidden(gym.Wrapper):  # records nothing: the spec cannot rebuild it
        pass

    with pytest.raises(
        ValueError, match="^this agent's environment cannot be saved"
    ):
        MaxEntReinforce(Hidden(gym.make("CartPole-v1")), seed=0).save(
            tmp_path / "x.pt"
        )
    with pytest.raises(
        ValueError, match="^this agent's environment cannot be saved"
    ):
        MaxEntReinforce(_BoxEnv(), seed=0).save(tmp_path / "y.pt")


def test_autoreset_steps_are_not_learned_from() -> None:
    agent = MaxEntReinforce("CartPole-v1", batch_steps=500, num_envs=3, seed=1)
    agent.train(500, progress=False)
    episodes = agent.collect()
    for episode in episodes:
        # every recorded step is a real transition: an episode ends exactly once, at its last step
        assert len(episode.obs) == len(episode.actions) == len(episode.rewards)
        assert all(
            r == 1.0 for r in episode.rewards
        )  # a reset step would show reward 0


def test_training_runs_on_one_thread_and_restores_the_callers_setting() -> (
    None
):
    agent = MaxEntReinforce("CartPole-v1", batch_steps=100, num_envs=2, seed=0)
    seen: list[int] = []
    agent.policy.register_forward_pre_hook(
        lambda module, inputs: seen.append(torch.get_num_threads())
    )
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        agent.train(100, progress=False)
        agent.evaluate(1, seed=0)
        agent.act(np.zeros(4, dtype=np.float32))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert seen and set(seen) == {1}
    # klcourse.set_torch_threads(None) leaves torch's own setting in place
    previous = klcourse.set_torch_threads(None)
    torch.set_num_threads(2)
    try:
        seen.clear()
        agent.act(np.zeros(4, dtype=np.float32))
        assert seen == [2]
    finally:
        klcourse.set_torch_threads(previous)
        torch.set_num_threads(before)


def test_progress_bar_is_hidden_by_default_under_pytest(capsys) -> None:
    small_cartpole(0).train(200)
    assert capsys.readouterr().err == ""
    small_cartpole(0).train(200, progress=True)
    assert "MaxEntReinforce" in capsys.readouterr().err
    with pytest.raises(
        TypeError, match="^progress must be True, False or None"
    ):
        small_cartpole(0).train(200, progress="yes")


class _MultiBinaryEnv(gym.Env):
    observation_space = gym.spaces.Box(-1, 1, (2,))
    action_space = gym.spaces.MultiBinary(2)


class _TupleObsEnv(gym.Env):
    observation_space = gym.spaces.Tuple(
        (gym.spaces.Discrete(2), gym.spaces.Discrete(2))
    )
    action_space = gym.spaces.Discrete(2)


class _BoxEnv(gym.Env):
    observation_space = gym.spaces.Box(-1, 1, (2,))
    action_space = gym.spaces.Discrete(2)


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        (
            {"alpha": -1.0},
            ValueError,
            "alpha must be a finite non-negative number, got -1.0",
        ),
        ({"alpha": "0.1"}, TypeError, "alpha must be a number, got str"),
        (
            {"gamma": 0.0},
            ValueError,
            r"gamma must be a finite positive number, got 0.0",
        ),
        ({"gamma": 1.5}, ValueError, r"gamma must be at most 1.0, got 1.5"),
        (
            {"lr": float("nan")},
            ValueError,
            "lr must be a finite positive number",
        ),
        ({"lr": None}, TypeError, "lr must be a number, got NoneType"),
        (
            {"hidden": 64},
            TypeError,
            "hidden must be a sequence of layer widths, got int",
        ),
        ({"hidden": (64, 0)}, ValueError, "hidden must be at least 1, got 0"),
        (
            {"hidden": (6.5,)},
            TypeError,
            "hidden must be an integer, got float",
        ),
        (
            {"batch_steps": 0},
            ValueError,
            "batch_steps must be at least 1, got 0",
        ),
        (
            {"num_envs": 2.0},
            TypeError,
            "num_envs must be an integer, got float",
        ),
        (
            {"num_envs": True},
            TypeError,
            "num_envs must be an integer, got bool",
        ),
        (
            {"baseline": "critic"},
            ValueError,
            r"baseline must be one of \('value', 'mean', 'none'\), got 'critic'",
        ),
        ({"baseline": None}, TypeError, "baseline must be one of"),
        (
            {"optimizer": "rmsprop"},
            ValueError,
            r"optimizer must be one of \('adam', 'sgd'\), got 'rmsprop'",
        ),
        (
            {"normalize_advantages": 1},
            TypeError,
            "normalize_advantages must be True or False, got int",
        ),
        (
            {"learning_rate": 0.1},
            TypeError,
            (
                r"MaxEntReinforce.__init__\(\) got an unexpected keyword "
                "argument 'learning_rate'"
            ),
        ),
        (
            {"config": {"alpha": 0.1}},
            TypeError,
            "config must be a ReinforceConfig, got dict",
        ),
        (
            {"seed": 1.5},
            TypeError,
            "seed must be an int, a numpy.random.Generator or None, got float",
        ),
        ({"seed": -1}, ValueError, "seed must be non-negative, got -1"),
        (
            {"env_kwargs": [("is_slippery", False)]},
            TypeError,
            "env_kwargs must be a dict",
        ),
    ],
)
def test_agent_setting_errors(settings, error, message) -> None:
    with pytest.raises(error, match="^" + message):
        MaxEntReinforce("CartPole-v1", **settings)


def test_agent_errors() -> None:
    with pytest.raises(
        TypeError,
        match="^env must have a Discrete or Box action space, got MultiBinary",
    ):
        MaxEntReinforce(_MultiBinaryEnv())
    with pytest.raises(
        TypeError,
        match="^env must have a Discrete or Box observation space, got Tuple",
    ):
        MaxEntReinforce(_TupleObsEnv())
    with pytest.raises(TypeError, match="^env must be an environment id"):
        MaxEntReinforce(42)
    with pytest.raises(
        TypeError, match="^env_kwargs are gymnasium.make arguments"
    ):
        MaxEntReinforce(
            gym.make("CartPole-v1"), env_kwargs={"render_mode": None}
        )
    with pytest.raises(
        ValueError,
        match="^env 'CartPol-v1' is not a registered Gymnasium environment id",
    ) as raised:
        MaxEntReinforce("CartPol-v1")
    assert isinstance(raised.value.__cause__, gym.error.Error)
    with pytest.raises(
        ValueError, match="^env 'not an id' is not a registered"
    ):
        MaxEntReinforce("not an id")
    agent = small_cartpole(0)
    with pytest.raises(
        ValueError, match="^env_steps must be at least 1, got 0"
    ):
        agent.train(0)
    with pytest.raises(
        TypeError, match="^env_steps must be an integer, got float"
    ):
        agent.train(1e3)
    with pytest.raises(ValueError, match="^n_episodes must be at least 1"):
        agent.collect(0)
    with pytest.raises(
        ValueError, match="^n_episodes must be at least 1, got 0"
    ):
        agent.evaluate(0)
    with pytest.raises(
        TypeError, match="^deterministic must be True or False"
    ):
        agent.evaluate(1, deterministic=None)
    with pytest.raises(TypeError, match="^seed must be an int"):
        agent.evaluate(1, seed="0")


def test_config_is_the_one_definition_of_the_settings() -> None:
    defaults = ReinforceConfig()
    agent = MaxEntReinforce("CartPole-v1", seed=0)
    assert agent.config == defaults
    custom = MaxEntReinforce("CartPole-v1", alpha=0.5, hidden=[8], seed=0)
    assert custom.config == dataclasses.replace(
        defaults, alpha=0.5, hidden=(8,)
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        custom.config.alpha = 1.0  # type: ignore[misc]
    # the signature shows every setting, keyword-only, with the default
    # and the description of ReinforceConfig
    parameters = inspect.signature(MaxEntReinforce).parameters
    for doc in (ReinforceConfig.__doc__ or "", MaxEntReinforce.__doc__ or ""):
        assert "{settings}" not in doc
    for f in dataclasses.fields(ReinforceConfig):
        assert parameters[f.name].default == f.default
        assert parameters[f.name].kind is inspect.Parameter.KEYWORD_ONLY
        for doc in (ReinforceConfig.__doc__, MaxEntReinforce.__doc__):
            assert f"{f.name} : " in (doc or "") and f.metadata["help"]
    assert not any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def test_the_old_config_argument_warns_and_gives_the_same_agent() -> None:
    config = ReinforceConfig(alpha=0.5, hidden=[8], batch_steps=100)
    with pytest.warns(
        FutureWarning, match=r"MaxEntReinforce\(config=\.\.\.\)"
    ):
        old = MaxEntReinforce("CartPole-v1", config=config, seed=0)
    new = MaxEntReinforce("CartPole-v1", **dataclasses.asdict(config), seed=0)
    assert old.config == new.config == config
    old.train(200, progress=False)
    new.train(200, progress=False)
    assert without_time(old.history) == without_time(new.history)
    # a setting beside it could disagree with it: refused, not replaced
    with pytest.raises(
        TypeError, match="^MaxEntReinforce\\(\\) got both config and lr"
    ):
        MaxEntReinforce("CartPole-v1", config=config, lr=0.1)


def test_old_names_of_train_and_of_history_rows_warn_and_still_work() -> None:
    new, old = small_cartpole(2), small_cartpole(2)
    new.train(400, progress=False)
    with pytest.warns(
        FutureWarning,
        match=r"^MaxEntReinforce.train\(total_steps=\.\.\.\) is now "
        r"MaxEntReinforce.train\(env_steps=\.\.\.\)",
    ):
        history = old.train(total_steps=400, progress=False)
    assert without_time(history) == without_time(new.history)
    with pytest.warns(FutureWarning, match=r"history\['mean_return'\]\[-1\]"):
        last = history[-1]
    assert last["mean_return"] == history["mean_return"][-1]
    assert last["env_steps"] == old.env_steps
    with pytest.warns(FutureWarning), pytest.raises(IndexError):
        history[history.n_rows]


def test_the_history_is_one_row_per_update() -> None:
    agent = small_cartpole(4)
    empty = agent.history
    assert empty.x == "env_steps" and empty.n_rows == 0
    assert list(empty) == list(HISTORY_COLUMNS)
    history = agent.train(600, progress=False)
    assert history.x == "env_steps" and list(history) == list(HISTORY_COLUMNS)
    assert history["update"].tolist() == list(range(1, history.n_rows + 1))
    assert history["env_steps"][-1] == agent.env_steps >= 600
    assert np.all(np.diff(history["env_steps"]) > 0)
    assert agent.updates == history.n_rows
    frame = pd.DataFrame(history)
    assert frame.shape == (history.n_rows, len(HISTORY_COLUMNS))


# --- on-policy batches and the leave-one-out baseline (issue 18) --------


def test_every_step_of_a_batch_was_sampled_by_the_parameters_updated() -> None:
    """Each step handed to an update was sampled after the previous update."""
    agent = MaxEntReinforce("CartPole-v1", batch_steps=300, num_envs=4, seed=0)
    version = [0]  # optimiser steps taken so far
    sampled_at: dict[bytes, int] = {}  # observation -> version that acted

    def remember(module, inputs):
        if not torch.is_grad_enabled():  # a forward pass that samples
            for row in inputs[0]:
                sampled_at[row.numpy().tobytes()] = version[0]

    agent.policy.register_forward_pre_hook(remember)
    step = agent.torch_optimizer.step

    def counted_step(*args, **kwargs):
        version[0] += 1
        return step(*args, **kwargs)

    agent.torch_optimizer.step = counted_step
    stale, total = 0, 0
    for _ in range(6):
        episodes = agent.collect()
        for episode in episodes:
            versions = [sampled_at[o.tobytes()] for o in episode.obs]
            stale += sum(v != version[0] for v in versions)
            total += len(versions)
        agent.update(episodes)
    assert total > 1_000 and stale == 0, f"{stale} of {total} steps stale"


def test_recorded_log_probs_are_the_policys_at_the_update() -> None:
    agent = MaxEntReinforce(
        "CartPole-v1", alpha=0.1, batch_steps=300, num_envs=3, seed=2
    )
    agent.train(600, progress=False)  # a few updates: the policy has moved
    episodes = agent.collect()
    recorded = torch.tensor(
        [p for e in episodes for p in e.log_probs], dtype=torch.float32
    )
    log_probs, _, _ = agent.soft_returns(episodes)  # what update() uses
    assert recorded.shape == log_probs.shape
    assert torch.allclose(recorded, log_probs.detach(), atol=1e-5, rtol=0)
    # and the update refuses episodes that an older policy sampled
    agent.update(episodes)
    with pytest.raises(ValueError, match="episodes.*not sampled by the"):
        agent.update(episodes)


def lake_episode(agent, states, actions, rewards):
    """A hand-made episode on the tiny TimeIndexed lake, with its log-probs."""
    episode = klcourse.rl.Episode()
    episode.obs = list(agent.encode(states))
    episode.actions = list(actions)
    episode.rewards = list(rewards)
    with torch.no_grad():
        dist = agent.policy(torch.from_numpy(np.stack(episode.obs)))
        episode.log_probs = dist.log_prob(torch.tensor(actions)).tolist()
    return episode


def policy_gradient(agent, episodes) -> torch.Tensor:
    """d loss / d weights of the linear policy, shape (actions, inputs)."""
    agent.torch_optimizer.zero_grad()
    loss, _ = agent.loss(episodes)
    loss.backward()
    return agent.policy.body[0].weight.grad.clone()


def mean_baseline_agent() -> MaxEntReinforce:
    return MaxEntReinforce(
        lambda: tiny_lake(3),
        alpha=0.0,
        hidden=(),
        baseline="mean",
        normalize_advantages=False,
        seed=0,
    )


def test_mean_baseline_leaves_each_episode_out() -> None:
    """At a time step only one episode reached, its advantage is not 0."""
    agent = mean_baseline_agent()
    # Observations are t * 4 + s: each (time, cell) has its own column.
    long = lake_episode(agent, [0, 4 + 1, 8 + 1], [2, 3, 1], [0.0, 0.0, 0.0])
    short = lake_episode(agent, [0], [1], [0.0])
    # the long episode's reward at its last step is 1: G = 1 at t = 0, 1, 2
    long.rewards[-1] = 1.0
    grad = policy_gradient(agent, [long, short])
    lonely = grad[:, 8 + 1]  # time 2, cell 1: only the long episode
    assert lonely.abs().max() > 0.1, lonely


def test_mean_baseline_of_an_episode_ignores_its_own_rewards() -> None:
    """Changing episode i's return changes its advantage by exactly as much."""
    agent = mean_baseline_agent()
    others = [
        lake_episode(agent, [0, 4 + 1], [2, 3], [0.0, 0.5]),
        lake_episode(agent, [0, 4 + 1], [1, 0], [0.0, 0.25]),
    ]
    first = lake_episode(agent, [0, 4 + 2], [1, 2], [0.0, 0.0])
    before = policy_gradient(agent, [first, *others])
    first.rewards[-1] = 1.0  # G_1 of the first episode rises by 1
    after = policy_gradient(agent, [first, *others])
    # Column 4 + 2 (time 1, cell 2) is the first episode's alone: its
    # gradient is -(G_1 - b_1) * score / n_episodes, with the score
    # onehot(2) - pi(. | 4 + 2). If b_1 ignores G_1, it moves by -score / 3.
    obs = torch.from_numpy(agent.encode([4 + 2]))
    pi = agent.policy(obs).probs[0].detach()
    score = torch.nn.functional.one_hot(torch.tensor(2), 4) - pi
    change = after[:, 4 + 2] - before[:, 4 + 2]
    assert torch.allclose(change, -score / 3, atol=1e-6), (change, -score / 3)


class _Ends(gym.Wrapper):
    """Counts the steps taken and remembers whether the episode has ended."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.steps, self.ended = 0, True

    def reset(self, **kwargs):
        self.ended = False
        return super().reset(**kwargs)

    def step(self, action):
        assert not self.ended, "stepped after the end of an episode"
        self.steps += 1
        result = super().step(action)
        self.ended = bool(result[2] or result[3])
        return result


def test_a_batch_is_whole_episodes_counted_before_it_is_sampled() -> None:
    made: list[_Ends] = []

    def make() -> gym.Env:
        made.append(_Ends(gym.make("CartPole-v1")))
        return made[-1]

    agent = MaxEntReinforce(make, batch_steps=300, num_envs=3, seed=4)
    made.clear()  # the constructor's probe
    sizes, lengths = [], []
    for _ in range(4):
        expected = (  # num_envs first, then batch_steps / previous mean
            3 if not lengths else max(1, round(300 / np.mean(lengths[-1])))
        )
        episodes = agent.collect()
        sizes.append((len(episodes), expected))
        lengths.append([len(e.rewards) for e in episodes])
        assert all(env.ended for env in made)  # nothing left running
        agent.update(episodes)
    assert all(n == expected for n, expected in sizes), sizes
    assert len(made) == 3 and sum(e.steps for e in made) == agent.env_steps
    assert agent.env_steps == sum(map(sum, lengths))
    assert sizes[-1][0] > 3  # later batches hold more, shorter episodes
