"""A wrapper that makes a finite-horizon tabular policy time-dependent (chapter 5)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

__all__ = ["TimeIndexed", "policy_table"]


class TimeIndexed(gym.ObservationWrapper):
    """Observe ``t * n_states + s`` instead of ``s``, and stop after ``horizon`` steps.

    A linear policy on the one-hot encoding of this observation (``hidden=()``) is a
    full table pi_t(a | s) -- the time-dependent policies that finite-horizon soft
    optimality needs.

    Examples
    --------
    >>> env = TimeIndexed(gym.make("FrozenLake-v1", is_slippery=False), horizon=8)
    >>> env.observation_space
    Discrete(128)
    """

    def __init__(self, env: gym.Env, *, horizon: int) -> None:
        if not isinstance(env.observation_space, gym.spaces.Discrete):
            raise TypeError(
                f"TimeIndexed needs a Discrete observation space, got {env.observation_space}"
            )
        super().__init__(
            gym.wrappers.TimeLimit(env, max_episode_steps=horizon)
        )
        self.horizon, self.n_states = horizon, int(env.observation_space.n)
        self.observation_space = gym.spaces.Discrete(horizon * self.n_states)
        self._t = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self._t = 0
        return super().reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        self._t += 1
        return super().step(action)

    def observation(self, observation: Any) -> int:
        return min(self._t, self.horizon - 1) * self.n_states + int(
            observation
        )


def policy_table(
    agent: Any, *, horizon: int, n_states: int
) -> NDArray[np.float64]:
    """The (H, S, A) table of action probabilities of an agent trained on :class:`TimeIndexed`.

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
    import torch

    inputs = agent.encode(np.arange(horizon * n_states))
    with torch.no_grad():
        probs = agent.policy(torch.from_numpy(inputs)).probs.double().numpy()
    return probs.reshape(horizon, n_states, -1)
