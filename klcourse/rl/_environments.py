"""Environment plumbing for the REINFORCE agent: making, encoding, playing.

:class:`EnvSource` turns what the user passed as ``env`` (an id, an instance
or a function) into fresh environments and checks their spaces; it also
encodes observations as network inputs and actions as the environment takes
them. :func:`play_episodes` runs whole episodes in several environments side
by side, with one forward pass of the policy for all of them, and records
them as :class:`Episode`.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from numpy.typing import NDArray

from klcourse._random import derive_seed
from klcourse._validation import as_float_array, detached


@dataclass
class Episode:
    """One whole episode, step by step, as MaxEntReinforce.collect keeps it.

    Attributes
    ----------
    obs : list of numpy.ndarray
        The encoded observation before each step (see
        :meth:`MaxEntReinforce.encode`).
    actions : list
        The action sampled at each step (unclipped, for ``Box`` actions).
    rewards : list of float
        The environment's reward for each step.
    log_probs : list of float
        log pi(a_t | s_t) of each action under the parameters that sampled
        it. An update checks them against its own policy and refuses
        episodes that other parameters sampled.

    The lists grow together, one entry per step; ``log_probs`` may be left
    empty only by episodes that are never used for an update.

    Examples
    --------
    >>> episode = Episode()
    >>> episode.rewards += [1.0, 1.0]
    >>> sum(episode.rewards), len(episode.obs)
    (2.0, 0)
    """

    obs: list[NDArray[np.float32]] = field(default_factory=list)
    actions: list[Any] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    log_probs: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, list):
                raise TypeError(
                    f"{f.name} must be a list (one entry per step), "
                    f"got {type(value).__name__}"
                )
        steps = len(self.obs)
        for name in ("actions", "rewards", "log_probs"):
            n = len(getattr(self, name))
            if n != steps and not (name == "log_probs" and n == 0):
                raise ValueError(
                    f"{name} must have one entry per step: {steps} "
                    f"observations, got {n} {name}"
                )


class EnvSource:
    """Fresh environments from an id, an instance or a function; their spaces.

    An instance is copied for every environment made, so that training and
    evaluation never share state. One environment is made and closed at
    construction to check the spaces: ``Discrete`` or ``Box`` actions and
    observations.
    """

    def __init__(
        self,
        env: str | gym.Env | Callable[[], gym.Env],
        env_kwargs: Mapping[str, Any] | None,
    ) -> None:
        if env_kwargs is not None and not isinstance(env_kwargs, Mapping):
            raise TypeError(
                "env_kwargs must be a dict of gymnasium.make arguments, "
                f"got {type(env_kwargs).__name__}"
            )
        self.env_kwargs = dict(env_kwargs or {})
        for key in self.env_kwargs:
            if not isinstance(key, str):
                raise TypeError(
                    "env_kwargs must have argument names (str) as keys, "
                    f"got {key!r}"
                )
        if isinstance(env, str):
            try:
                gym.spec(env)
            except gym.error.Error as error:
                raise ValueError(
                    f"env {env!r} is not a registered Gymnasium environment "
                    f"id: {error}"
                ) from error
        elif not isinstance(env, gym.Env) and not callable(env):
            raise TypeError(
                "env must be an environment id, a gymnasium.Env or a "
                f"function returning one, got {type(env).__name__}"
            )
        if self.env_kwargs and not isinstance(env, str):
            raise TypeError(
                "env_kwargs are gymnasium.make arguments: give env as an id "
                "to use them"
            )
        self.env_id = env if isinstance(env, str) else None
        self._factory = (
            (lambda: copy.deepcopy(env))
            if isinstance(env, gym.Env)
            else (None if isinstance(env, str) else env)
        )
        probe = self._probe()
        self.spec = probe.spec
        self.observation_space = probe.observation_space
        self.action_space = probe.action_space
        probe.close()
        space = self.observation_space
        self.n_inputs = (
            int(space.n)
            if isinstance(space, gym.spaces.Discrete)
            else int(np.prod(space.shape or ()))
        )

    def make(self) -> gym.Env:
        """A new environment."""
        if self._factory is not None:
            return self._factory()
        assert self.env_id is not None
        return gym.make(self.env_id, **self.env_kwargs)

    def _probe(self) -> gym.Env:
        """One environment, checked: a gymnasium.Env with supported spaces."""
        try:
            probe = self.make()
        except (TypeError, ValueError, gym.error.Error) as error:
            if not self.env_kwargs:
                raise
            raise TypeError(
                f"env_kwargs {self.env_kwargs!r} were refused by "
                f"gymnasium.make({self.env_id!r}): {error}"
            ) from error
        if not isinstance(probe, gym.Env):
            raise TypeError(
                "env must be an environment id, a gymnasium.Env or a "
                f"function returning one; the function returned "
                f"{type(probe).__name__}"
            )
        check_spaces(
            getattr(probe, "observation_space", None),
            getattr(probe, "action_space", None),
        )
        return probe

    def encode(self, batch: NDArray[Any]) -> NDArray[np.float32]:
        """A checked batch of raw observations as network inputs, (n, n_inputs)."""
        if isinstance(self.observation_space, gym.spaces.Discrete):
            index = batch - int(self.observation_space.start)
            encoded = np.zeros((len(batch), self.n_inputs), dtype=np.float32)
            encoded[np.arange(len(batch)), index] = 1.0
            return encoded
        return batch.reshape(-1, self.n_inputs).astype(np.float32)

    def as_batch(self, obs: Any) -> tuple[NDArray[Any], bool]:
        """``obs`` as a checked batch of raw observations; whether it was one.

        A ``Box`` observation must be finite real numbers of the space's
        shape; a ``Discrete`` one an integer state of the space.
        """
        space = self.observation_space
        if isinstance(space, gym.spaces.Discrete):
            single_shape: tuple[int, ...] = ()
            array = np.asarray(detached(obs))
            if array.dtype.kind not in "iu":  # bool, float, text, objects
                raise TypeError(
                    f"obs must be integer states of {space}, got "
                    f"{array.tolist()!r} (dtype {array.dtype})"
                )
        else:
            single_shape = tuple(space.shape or ())
            array = as_float_array(obs, "obs")
        if array.shape == single_shape:
            batch, single = array[None], True
        elif array.shape[1:] == single_shape and array.ndim > len(
            single_shape
        ):
            batch, single = array, False
        else:
            raise ValueError(
                f"obs must have shape {single_shape} (one observation) or "
                f"(n, *{single_shape}) (a batch), got {array.shape}"
            )
        if isinstance(space, gym.spaces.Discrete):
            if not np.all(
                (batch >= space.start) & (batch < space.start + space.n)
            ):
                raise ValueError(
                    f"obs must be states of {space}, got {array.tolist()!r}"
                )
        elif not np.all(np.isfinite(batch)):
            raise ValueError("obs must be finite, got NaN or infinity")
        return batch, single

    def to_env(self, actions: NDArray[Any]) -> NDArray[Any]:
        """Sampled actions as the environment takes them (Box actions clipped)."""
        space = self.action_space
        if isinstance(space, gym.spaces.Box):
            # the sampled action is learned from; the env gets it clipped
            clipped = np.clip(actions, space.low, space.high)
            return clipped.reshape((-1, *space.shape)).astype(space.dtype)
        return np.asarray(actions, dtype=np.int64)


def check_spaces(observation_space: Any, action_space: Any) -> None:
    """Refuse spaces other than ``Discrete`` and ``Box``."""
    if not isinstance(action_space, (gym.spaces.Discrete, gym.spaces.Box)):
        raise TypeError(
            "env must have a Discrete or Box action space, "
            f"got {type(action_space).__name__}"
        )
    if not isinstance(
        observation_space, (gym.spaces.Discrete, gym.spaces.Box)
    ):
        raise TypeError(
            "env must have a Discrete or Box observation space, "
            f"got {type(observation_space).__name__}"
        )


def play_episodes(
    envs: Sequence[gym.Env],
    n_episodes: int,
    *,
    rng: np.random.Generator,
    encode: Callable[[NDArray[Any]], NDArray[np.float32]],
    sample: Callable[[NDArray[np.float32]], tuple[NDArray[Any], NDArray[Any]]],
    to_env: Callable[[NDArray[Any]], NDArray[Any]],
) -> list[Episode]:
    """Run ``n_episodes`` whole episodes in ``envs``, side by side.

    Episode k is reset with the k-th seed drawn from ``rng``. At each step
    the running environments' observations are encoded together and
    ``sample`` returns their actions and log-probabilities (one forward pass
    of the policy); ``to_env`` turns the actions into what the environments
    take. An environment whose episode ends starts the next while any
    remain, and then waits. (``gymnasium.vector`` steps all its environments
    together and cannot leave one idle, so they are stepped one by one
    here.) Returns the episodes in the order they started.
    """
    episodes: list[Episode] = []
    running: dict[int, Episode] = {}  # environment index -> its episode
    obs: dict[int, Any] = {}  # environment index -> its raw observation
    while len(episodes) < n_episodes or running:
        for i, env in enumerate(envs):  # idle environments start episodes
            if i not in running and len(episodes) < n_episodes:
                obs[i], _ = env.reset(seed=derive_seed(rng))
                running[i] = Episode()
                episodes.append(running[i])
        acting = list(running)
        encoded = encode(np.stack([obs[i] for i in acting]))
        actions, log_probs = sample(encoded)
        to_step = to_env(actions)  # (len(acting), *action shape)
        for k, i in enumerate(acting):
            obs[i], reward, terminated, truncated, _ = envs[i].step(to_step[k])
            episode = running[i]
            episode.obs.append(encoded[k])
            episode.actions.append(actions[k])
            episode.rewards.append(float(reward))
            episode.log_probs.append(float(log_probs[k]))
            if terminated or truncated:
                del running[i]
    return episodes


def check_episodes(episodes: Sequence[Episode], n_inputs: int) -> None:
    """Refuse all but a non-empty batch of whole, recorded episodes."""
    if isinstance(episodes, Episode) or not isinstance(episodes, Sequence):
        raise TypeError(
            f"episodes must be a list of Episode, got {type(episodes).__name__}"
        )
    if not episodes:
        raise ValueError("episodes must hold at least one episode")
    for i, episode in enumerate(episodes):
        if not isinstance(episode, Episode):
            raise TypeError(
                f"episodes[{i}] must be an Episode, "
                f"got {type(episode).__name__}"
            )
        steps = len(episode.obs)
        lengths = [len(episode.actions), len(episode.rewards)]
        if steps == 0 or lengths != [steps, steps]:
            raise ValueError(
                f"episodes[{i}] must have at least one step and as many "
                f"actions and rewards as observations, got {steps} "
                f"observations, {lengths[0]} actions, {lengths[1]} "
                "rewards"
            )
        if len(episode.log_probs) != steps:
            raise ValueError(
                f"episodes[{i}] must record the log-probability of each "
                f"action (episode.log_probs), got {len(episode.log_probs)}"
                f" for {steps} steps: sample episodes with collect()"
            )
        shapes = {np.shape(o) for o in episode.obs}
        if shapes != {(n_inputs,)}:
            raise ValueError(
                f"episodes[{i}] must hold encoded observations of shape "
                f"({n_inputs},), got shapes {sorted(shapes)}"
            )
        if not np.all(np.isfinite(episode.rewards)):
            raise ValueError(
                f"episodes[{i}] has a reward that is NaN or infinite"
            )


@dataclass(frozen=True)
class Steps:
    """A batch of episodes flattened over its steps, in episode order."""

    obs: torch.Tensor  # (steps, n_inputs) encoded observations
    actions: torch.Tensor  # (steps,) or (steps, action dim)
    rewards: torch.Tensor  # (steps,) float32
    recorded: torch.Tensor  # (steps,) log pi(a_t | s_t) when a_t was drawn
    lengths: list[int]  # steps of each episode


def flatten(episodes: Sequence[Episode]) -> Steps:
    """The steps of checked ``episodes`` as flat tensors (see :class:`Steps`)."""
    return Steps(
        obs=torch.from_numpy(np.stack([o for e in episodes for o in e.obs])),
        actions=torch.as_tensor(
            np.stack([a for e in episodes for a in e.actions])
        ),
        rewards=torch.tensor(
            [r for e in episodes for r in e.rewards], dtype=torch.float32
        ),
        recorded=torch.tensor(
            [p for e in episodes for p in e.log_probs], dtype=torch.float32
        ),
        lengths=[len(e.rewards) for e in episodes],
    )


def rebuildable(spec: Any) -> bool:
    """Whether ``gymnasium.make(spec)`` rebuilds the environment that has ``spec``."""
    if spec is None or any(
        w.kwargs is None for w in getattr(spec, "additional_wrappers", ())
    ):
        return False
    try:
        spec.to_json()
    except (TypeError, ValueError):
        return False
    return True
