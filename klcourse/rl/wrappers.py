"""A wrapper that makes a finite-horizon tabular policy time-dependent (chapter 5)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
import torch
from numpy.typing import NDArray

from klcourse._validation import positive_int

if TYPE_CHECKING:
    from klcourse.rl.reinforce import MaxEntReinforce

__all__ = ["TimeIndexed", "policy_table"]


class TimeIndexed(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Observe ``t * n_states + s`` instead of ``s``, and stop after ``horizon`` steps.

    A linear policy on the one-hot encoding of this observation (``hidden=()``) is a
    full table pi_t(a | s) -- the time-dependent policies that finite-horizon soft
    optimality needs.

    The wrapper records its arguments, so an environment made with
    ``gymnasium.make`` and wrapped in it keeps a complete ``env.spec``, from
    which ``gymnasium.make`` rebuilds it (and :meth:`MaxEntReinforce.save
    <klcourse.rl.MaxEntReinforce.save>` can save an agent trained on it).

    Parameters
    ----------
    env : gymnasium.Env
        An environment with a ``Discrete`` observation space.
    horizon : int
        Steps per episode; the episode is truncated after them.

    Examples
    --------
    >>> env = TimeIndexed(gym.make("FrozenLake-v1", is_slippery=False), horizon=8)
    >>> env.observation_space
    Discrete(128)
    >>> obs, info = env.reset(seed=0)
    >>> obs, info["time_step"]
    (0, 0)
    >>> obs, *_, info = env.step(2)  # right, to cell 1 at time 1
    >>> obs, info["time_step"]
    (17, 1)
    """

    def __init__(self, env: gym.Env, *, horizon: int) -> None:
        horizon = positive_int(horizon, "horizon")
        if not isinstance(env, gym.Env):
            raise TypeError(
                "env must be a gymnasium.Env (e.g. gymnasium.make(...)), "
                f"got {type(env).__name__}"
            )
        if not isinstance(env.observation_space, gym.spaces.Discrete):
            raise TypeError(
                "env must have a Discrete observation space, "
                f"got {env.observation_space}"
            )
        gym.utils.RecordConstructorArgs.__init__(self, horizon=horizon)
        gym.ObservationWrapper.__init__(
            self, gym.wrappers.TimeLimit(env, max_episode_steps=horizon)
        )
        self.horizon = horizon
        self.n_states = int(env.observation_space.n)
        self._start = int(env.observation_space.start)
        self.observation_space = gym.spaces.Discrete(horizon * self.n_states)
        self._t = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset the wrapped environment and the clock; ``info["time_step"]`` is 0."""
        self._t = 0
        obs, info = super().reset(seed=seed, options=options)
        return obs, {**info, "time_step": self._t}

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        """Step the wrapped environment; ``info["time_step"]`` is the new time."""
        self._t += 1
        obs, reward, terminated, truncated, info = super().step(action)
        return (
            obs,
            reward,
            terminated,
            truncated,
            {**info, "time_step": self._t},
        )

    def observation(self, observation: Any) -> int:
        """The index of (time step, state); time is capped at ``horizon - 1``."""
        time_step = min(self._t, self.horizon - 1)
        return time_step * self.n_states + int(observation) - self._start


def policy_table(
    agent: MaxEntReinforce, *, horizon: int, n_states: int
) -> NDArray[np.float64]:
    """The (H, S, A) table of action probabilities of an agent trained on :class:`TimeIndexed`.

    Parameters
    ----------
    agent : MaxEntReinforce
        An agent with ``Discrete`` actions whose observations are the
        ``horizon * n_states`` indices of :class:`TimeIndexed`.
    horizon, n_states : int
        The wrapper's horizon and the wrapped environment's number of states.

    Returns
    -------
    numpy.ndarray, shape (horizon, n_states, n_actions)
        ``table[t, s, a]`` = pi_t(a | s).

    Examples
    --------
    >>> import gymnasium as gym
    >>> from klcourse.rl import MaxEntReinforce
    >>> env = TimeIndexed(gym.make("FrozenLake-v1"), horizon=3)
    >>> agent = MaxEntReinforce(env, hidden=(), num_envs=1, seed=0)
    >>> table = policy_table(agent, horizon=3, n_states=16)
    >>> table.shape, bool(np.allclose(table.sum(axis=-1), 1.0))
    ((3, 16, 4), True)
    """
    horizon = positive_int(horizon, "horizon")
    n_states = positive_int(n_states, "n_states")
    from klcourse.rl.reinforce import MaxEntReinforce  # reinforce imports us

    if not isinstance(agent, MaxEntReinforce):
        raise TypeError(
            f"agent must be a MaxEntReinforce, got {type(agent).__name__}"
        )
    if not isinstance(agent.action_space, gym.spaces.Discrete):
        raise TypeError(
            "agent must have Discrete actions for a table of probabilities, "
            f"got {agent.action_space}"
        )
    if horizon * n_states != agent.n_inputs:
        raise ValueError(
            f"horizon * n_states must equal the agent's {agent.n_inputs} "
            f"observations, got {horizon} * {n_states}"
        )
    inputs = agent.encode(np.arange(horizon * n_states))
    with torch.no_grad():
        logits = agent.policy(torch.from_numpy(inputs)).logits
        # normalised in float64, so that each row sums to 1 to float64 precision
        probs = torch.softmax(logits.double(), dim=-1).numpy()
    return probs.reshape(horizon, n_states, -1)
