"""Bad inputs for the REINFORCE side of klcourse.rl.

MaxEntReinforce (its constructor, train, evaluate, act, encode, collect,
update, loss, save and load), ReinforceConfig, Policy, Episode, and the
TimeIndexed wrapper with policy_table.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from bad_inputs._case import Case, raises, returns
from klcourse.rl import (
    Episode,
    MaxEntReinforce,
    Policy,
    ReinforceConfig,
    TimeIndexed,
    policy_table,
)


@functools.cache
def cartpole() -> MaxEntReinforce:
    """A small CartPole agent, shared by the rows that leave it unchanged."""
    return MaxEntReinforce(
        "CartPole-v1", hidden=(8,), batch_steps=50, num_envs=2, seed=0
    )


@functools.cache
def lake() -> MaxEntReinforce:
    """A table of logits on FrozenLake's 16 states."""
    return MaxEntReinforce("FrozenLake-v1", hidden=(), num_envs=1, seed=0)


@functools.cache
def folder() -> Path:
    """A folder with one file that is not a saved agent."""
    path = Path(tempfile.mkdtemp(prefix="klcourse-bad-inputs-"))
    (path / "notes.txt").write_text("not an agent")
    return path


def fresh_batch() -> tuple[MaxEntReinforce, list[Episode]]:
    agent = MaxEntReinforce(
        "CartPole-v1", hidden=(8,), batch_steps=50, num_envs=2, seed=1
    )
    return agent, agent.collect(2)


def stale_update() -> None:
    """Update twice on one batch: the second time, older weights sampled it."""
    agent, episodes = fresh_batch()
    agent.update(episodes)
    agent.update(episodes)


def update_with(change) -> None:
    agent, episodes = fresh_batch()
    change(episodes[0])
    agent.update(episodes)


def drop_log_probs(episode: Episode) -> None:
    episode.log_probs.clear()


def nan_reward(episode: Episode) -> None:
    episode.rewards[0] = float("nan")


def short_obs(episode: Episode) -> None:
    episode.obs[0] = episode.obs[0][:3]


def diverge() -> None:
    agent = MaxEntReinforce(
        "CartPole-v1",
        lr=1e30,
        optimizer="sgd",
        hidden=(8,),
        batch_steps=100,
        num_envs=2,
        seed=0,
    )
    agent.train(500, progress=False)


class _MultiBinaryActions(gym.Env):
    observation_space = gym.spaces.Box(-1, 1, (2,))
    action_space = gym.spaces.MultiBinary(2)


def small_policy() -> Policy:
    return Policy(4, gym.spaces.Discrete(2), hidden=(8,))


def float64_matches_float32() -> bool:
    policy = small_policy()
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    wide, narrow = policy(x.double()).probs, policy(x).probs
    return wide.dtype == torch.float32 and torch.equal(wide, narrow)


CONFIG = "rl.ReinforceConfig"
AGENT = "rl.MaxEntReinforce"
CASES = [
    # --- the settings --------------------------------------------------------
    Case(
        CONFIG,
        "negative temperature",
        lambda: ReinforceConfig(alpha=-0.1),
        raises(ValueError, "alpha"),
    ),
    Case(
        CONFIG,
        "numeric string temperature",
        lambda: ReinforceConfig(alpha="0.1"),
        raises(TypeError, "alpha"),
    ),
    Case(
        CONFIG,
        "bool temperature",
        lambda: ReinforceConfig(alpha=True),
        raises(TypeError, "alpha"),
    ),
    Case(
        CONFIG,
        "complex temperature",
        lambda: ReinforceConfig(alpha=1j),
        raises(TypeError, "alpha"),
    ),
    Case(
        CONFIG,
        "zero discount",
        lambda: ReinforceConfig(gamma=0.0),
        raises(ValueError, "gamma"),
    ),
    Case(
        CONFIG,
        "NaN discount",
        lambda: ReinforceConfig(gamma=float("nan")),
        raises(ValueError, "gamma"),
    ),
    Case(
        CONFIG,
        "discount above 1",
        lambda: ReinforceConfig(gamma=1.5),
        raises(ValueError, "gamma"),
    ),
    Case(
        CONFIG,
        "infinite learning rate",
        lambda: ReinforceConfig(lr=float("inf")),
        raises(ValueError, "lr"),
    ),
    Case(
        CONFIG,
        "hidden as one int",
        lambda: ReinforceConfig(hidden=64),
        raises(TypeError, "hidden"),
    ),
    Case(
        CONFIG,
        "hidden as a string",
        lambda: ReinforceConfig(hidden="64"),
        raises(TypeError, "hidden"),
    ),
    Case(
        CONFIG,
        "zero-width layer",
        lambda: ReinforceConfig(hidden=(8, 0)),
        raises(ValueError, "hidden"),
    ),
    Case(
        CONFIG,
        "zero batch",
        lambda: ReinforceConfig(batch_steps=0),
        raises(ValueError, "batch_steps"),
    ),
    Case(
        CONFIG,
        "float number of environments",
        lambda: ReinforceConfig(num_envs=4.0),
        raises(TypeError, "num_envs"),
    ),
    Case(
        CONFIG,
        "more environments than steps per batch",
        lambda: ReinforceConfig(batch_steps=10, num_envs=11),
        raises(ValueError, "num_envs", "batch_steps"),
    ),
    Case(
        CONFIG,
        "unknown baseline",
        lambda: ReinforceConfig(baseline="critic"),
        raises(ValueError, "baseline"),
    ),
    Case(
        CONFIG,
        "optimizer None",
        lambda: ReinforceConfig(optimizer=None),
        raises(TypeError, "optimizer"),
    ),
    Case(
        CONFIG,
        "string for a bool",
        lambda: ReinforceConfig(normalize_advantages="no"),
        raises(TypeError, "normalize_advantages"),
    ),
    # --- the agent's constructor ---------------------------------------------
    Case(
        AGENT,
        "env an int",
        lambda: MaxEntReinforce(42),
        raises(TypeError, "env"),
    ),
    Case(
        AGENT,
        "env id misspelt",
        lambda: MaxEntReinforce("CartPol-v1"),
        raises(ValueError, "env", "CartPol-v1"),
    ),
    Case(
        AGENT,
        "MultiBinary actions",
        lambda: MaxEntReinforce(_MultiBinaryActions()),
        raises(TypeError, "env", "MultiBinary"),
    ),
    Case(
        AGENT,
        "env factory returns an int",
        lambda: MaxEntReinforce(lambda: 42),
        raises(TypeError, "env", "int"),
    ),
    Case(
        AGENT,
        "env class without spaces",
        lambda: MaxEntReinforce(gym.Env),
        raises(TypeError, "env", "space"),
    ),
    Case(
        AGENT,
        "env_kwargs a list",
        lambda: MaxEntReinforce("CartPole-v1", env_kwargs=[("a", 1)]),
        raises(TypeError, "env_kwargs"),
    ),
    Case(
        AGENT,
        "env_kwargs the env does not take",
        lambda: MaxEntReinforce("CartPole-v1", env_kwargs={"nonsense": 1}),
        raises(TypeError, "env_kwargs", "nonsense"),
    ),
    Case(
        AGENT,
        "env_kwargs with an int key",
        lambda: MaxEntReinforce("CartPole-v1", env_kwargs={1: 1}),
        raises(TypeError, "env_kwargs"),
    ),
    Case(
        AGENT,
        "unknown setting",
        lambda: MaxEntReinforce("CartPole-v1", learning_rate=0.1),
        raises(TypeError, "learning_rate"),
    ),
    Case(
        AGENT,
        "negative seed",
        lambda: MaxEntReinforce("CartPole-v1", seed=-1),
        raises(ValueError, "seed"),
    ),
    Case(
        AGENT,
        "numeric string seed",
        lambda: MaxEntReinforce("CartPole-v1", seed="0"),
        raises(TypeError, "seed"),
    ),
    Case(
        AGENT,
        "network too large for memory",
        lambda: MaxEntReinforce("CartPole-v1", hidden=(10**6, 10**6)),
        raises(ValueError, "hidden", "GiB"),
    ),
    Case(
        AGENT,
        "observation space too large for a table",
        lambda: MaxEntReinforce(
            lambda: TimeIndexed(gym.make("FrozenLake-v1"), horizon=10**9),
            hidden=(),
            num_envs=1,
        ),
        raises(ValueError, "hidden", "env", "GiB"),
    ),
    Case(
        AGENT,
        "batch too large for memory",
        lambda: MaxEntReinforce("CartPole-v1", batch_steps=10**10),
        raises(ValueError, "batch_steps", "GiB"),
    ),
    # --- train, collect, update ----------------------------------------------
    Case(
        f"{AGENT}.train",
        "zero steps",
        lambda: cartpole().train(0),
        raises(ValueError, "env_steps"),
    ),
    Case(
        f"{AGENT}.train",
        "float steps",
        lambda: cartpole().train(1e3),
        raises(TypeError, "env_steps"),
    ),
    Case(
        f"{AGENT}.train",
        "numeric string steps",
        lambda: cartpole().train("100"),
        raises(TypeError, "env_steps"),
    ),
    Case(
        f"{AGENT}.train",
        "progress a string",
        lambda: cartpole().train(10, progress="yes"),
        raises(TypeError, "progress"),
    ),
    Case(
        f"{AGENT}.train",
        "learning rate so large the weights overflow",
        diverge,
        raises(ValueError, "lr"),
    ),
    Case(
        f"{AGENT}.collect",
        "zero episodes",
        lambda: cartpole().collect(0),
        raises(ValueError, "n_episodes"),
    ),
    Case(
        f"{AGENT}.collect",
        "numeric string episodes",
        lambda: cartpole().collect("3"),
        raises(TypeError, "n_episodes"),
    ),
    Case(
        f"{AGENT}.collect",
        "more episodes than memory holds",
        lambda: cartpole().collect(10**12),
        raises(ValueError, "n_episodes", "GiB"),
    ),
    Case(
        f"{AGENT}.update",
        "no episodes",
        lambda: cartpole().update([]),
        raises(ValueError, "episodes"),
    ),
    Case(
        f"{AGENT}.update",
        "one Episode, not a list",
        lambda: cartpole().update(Episode()),
        raises(TypeError, "episodes"),
    ),
    Case(
        f"{AGENT}.update",
        "dicts instead of episodes",
        lambda: cartpole().update([{"rewards": [1.0]}]),
        raises(TypeError, "episodes"),
    ),
    Case(
        f"{AGENT}.update",
        "episodes an older policy sampled",
        stale_update,
        raises(ValueError, "episodes", "not sampled by the current policy"),
    ),
    Case(
        f"{AGENT}.update",
        "episode without recorded log-probabilities",
        lambda: update_with(drop_log_probs),
        raises(ValueError, "episodes", "log_probs"),
    ),
    Case(
        f"{AGENT}.update",
        "NaN reward",
        lambda: update_with(nan_reward),
        raises(ValueError, "episodes", "NaN"),
    ),
    Case(
        f"{AGENT}.update",
        "observation of the wrong length",
        lambda: update_with(short_obs),
        raises(ValueError, "episodes", "shape"),
    ),
    Case(
        f"{AGENT}.loss",
        "no episodes",
        lambda: cartpole().loss([]),
        raises(ValueError, "episodes"),
    ),
    # --- evaluate, act, encode -----------------------------------------------
    Case(
        f"{AGENT}.evaluate",
        "zero episodes",
        lambda: cartpole().evaluate(0),
        raises(ValueError, "n_episodes"),
    ),
    Case(
        f"{AGENT}.evaluate",
        "float episodes",
        lambda: cartpole().evaluate(2.0),
        raises(TypeError, "n_episodes"),
    ),
    Case(
        f"{AGENT}.evaluate",
        "deterministic a string",
        lambda: cartpole().evaluate(1, deterministic="yes"),
        raises(TypeError, "deterministic"),
    ),
    Case(
        f"{AGENT}.evaluate",
        "float seed",
        lambda: cartpole().evaluate(1, seed=1.5),
        raises(TypeError, "seed"),
    ),
    Case(
        f"{AGENT}.act",
        "NaN observation",
        lambda: cartpole().act(np.array([0.0, np.nan, 0.0, 0.0])),
        raises(ValueError, "obs", "NaN"),
    ),
    Case(
        f"{AGENT}.act",
        "infinite observation",
        lambda: cartpole().act(np.array([0.0, np.inf, 0.0, 0.0])),
        raises(ValueError, "obs"),
    ),
    Case(
        f"{AGENT}.act",
        "numeric strings",
        lambda: cartpole().act(["0.5", "0", "0", "0"]),
        raises(TypeError, "obs"),
    ),
    Case(
        f"{AGENT}.act",
        "complex observation",
        lambda: cartpole().act(np.zeros(4, dtype=complex)),
        raises(TypeError, "obs"),
    ),
    Case(
        f"{AGENT}.act",
        "observation of the wrong shape",
        lambda: cartpole().act(np.zeros(5)),
        raises(ValueError, "obs"),
    ),
    Case(
        f"{AGENT}.act",
        "empty batch",
        lambda: cartpole().act(np.zeros((0, 4))),
        returns(lambda a: a.shape == (0,), "no actions, shape (0,)"),
    ),
    Case(
        f"{AGENT}.act",
        "deterministic an int",
        lambda: cartpole().act(np.zeros(4), deterministic=1),
        raises(TypeError, "deterministic"),
    ),
    Case(
        f"{AGENT}.act",
        "state outside a Discrete space",
        lambda: lake().act(16),
        raises(ValueError, "obs"),
    ),
    Case(
        f"{AGENT}.act",
        "float for a Discrete state",
        lambda: lake().act(3.0),
        raises(TypeError, "obs"),
    ),
    Case(
        f"{AGENT}.encode",
        "negative Discrete state",
        lambda: lake().encode([-1]),
        raises(ValueError, "obs"),
    ),
    Case(
        f"{AGENT}.encode",
        "a flat batch of the wrong size",
        lambda: cartpole().encode(np.zeros(10)),
        raises(ValueError, "obs"),
    ),
    # --- save and load -------------------------------------------------------
    Case(
        f"{AGENT}.save",
        "into a folder that does not exist",
        lambda: cartpole().save(folder() / "missing" / "agent.pt"),
        raises(FileNotFoundError, "path"),
    ),
    Case(
        f"{AGENT}.save",
        "path an int",
        lambda: cartpole().save(42),
        raises(TypeError, "path"),
    ),
    Case(
        f"{AGENT}.load",
        "no such file",
        lambda: MaxEntReinforce.load(folder() / "missing.pt"),
        raises(FileNotFoundError, "path"),
    ),
    Case(
        f"{AGENT}.load",
        "a text file",
        lambda: MaxEntReinforce.load(folder() / "notes.txt"),
        raises(ValueError, "path", "MaxEntReinforce.save"),
    ),
    # --- Policy and Episode --------------------------------------------------
    Case(
        "rl.Policy",
        "no inputs",
        lambda: Policy(0, gym.spaces.Discrete(2), hidden=(8,)),
        raises(ValueError, "n_inputs"),
    ),
    Case(
        "rl.Policy",
        "numeric string inputs",
        lambda: Policy("4", gym.spaces.Discrete(2), hidden=(8,)),
        raises(TypeError, "n_inputs"),
    ),
    Case(
        "rl.Policy",
        "MultiBinary actions",
        lambda: Policy(4, gym.spaces.MultiBinary(2), hidden=(8,)),
        raises(TypeError, "action_space"),
    ),
    Case(
        "rl.Policy",
        "hidden as one int",
        lambda: Policy(4, gym.spaces.Discrete(2), hidden=8),
        raises(TypeError, "hidden"),
    ),
    Case(
        "rl.Policy",
        "observations of the wrong width",
        lambda: small_policy()(torch.zeros(3, 5)),
        raises(ValueError, "obs"),
    ),
    Case(
        "rl.Policy",
        "NaN observations",
        lambda: small_policy()(torch.full((3, 4), float("nan"))),
        raises(ValueError, "obs"),
    ),
    Case(
        "rl.Policy",
        "float64 observations",
        float64_matches_float32,
        returns(bool, "the float32 input's probabilities"),
    ),
    Case(
        "rl.Episode",
        "observations as one array",
        lambda: Episode(obs=np.zeros((3, 4))),
        raises(TypeError, "obs"),
    ),
    Case(
        "rl.Episode",
        "more actions than observations",
        lambda: Episode(obs=[np.zeros(4)], actions=[0, 1], rewards=[1.0]),
        raises(ValueError, "actions"),
    ),
    Case(
        "rl.Episode",
        "log-probabilities of the wrong length",
        lambda: Episode(
            obs=[np.zeros(4)], actions=[0], rewards=[1.0], log_probs=[0.0] * 2
        ),
        raises(ValueError, "log_probs"),
    ),
    # --- the time-indexed wrapper and its policy table -----------------------
    Case(
        "rl.TimeIndexed",
        "zero horizon",
        lambda: TimeIndexed(gym.make("FrozenLake-v1"), horizon=0),
        raises(ValueError, "horizon"),
    ),
    Case(
        "rl.TimeIndexed",
        "float horizon",
        lambda: TimeIndexed(gym.make("FrozenLake-v1"), horizon=2.5),
        raises(TypeError, "horizon"),
    ),
    Case(
        "rl.TimeIndexed",
        "Box observations",
        lambda: TimeIndexed(gym.make("CartPole-v1"), horizon=3),
        raises(TypeError, "env"),
    ),
    Case(
        "rl.TimeIndexed",
        "an environment id instead of an environment",
        lambda: TimeIndexed("FrozenLake-v1", horizon=3),
        raises(TypeError, "env", "gymnasium.Env"),
    ),
    Case(
        "rl.policy_table",
        "no agent",
        lambda: policy_table(None, horizon=3, n_states=4),
        raises(TypeError, "agent", "MaxEntReinforce"),
    ),
    Case(
        "rl.policy_table",
        "an environment instead of an agent",
        lambda: policy_table(
            gym.make("FrozenLake-v1"), horizon=1, n_states=16
        ),
        raises(TypeError, "agent", "MaxEntReinforce"),
    ),
    Case(
        "rl.policy_table",
        "zero horizon",
        lambda: policy_table(lake(), horizon=0, n_states=16),
        raises(ValueError, "horizon"),
    ),
    Case(
        "rl.policy_table",
        "numeric string n_states",
        lambda: policy_table(lake(), horizon=1, n_states="16"),
        raises(TypeError, "n_states"),
    ),
    Case(
        "rl.policy_table",
        "horizon and states that do not match the agent",
        lambda: policy_table(lake(), horizon=2, n_states=16),
        raises(ValueError, "horizon", "n_states"),
    ),
    Case(
        "rl.policy_table",
        "an agent with Box actions",
        lambda: policy_table(
            MaxEntReinforce("Pendulum-v1", hidden=(4,), seed=0),
            horizon=1,
            n_states=3,
        ),
        raises(TypeError, "agent"),
    ),
]
