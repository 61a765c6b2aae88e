"""Maximum-entropy REINFORCE on Gymnasium, in one file (chapter 5).

The agent maximises the soft return

    J_alpha(pi) = E[ sum_t gamma^t (r_t - alpha log(pi(a_t|s_t) / prior(a_t))) ],

which with gamma = 1 is -alpha KL(q_pi || P) + const for the optimal-trajectory
distribution P(tau) ∝ exp(sum_t r_t / alpha) (the prior is uniform for discrete
actions and absent, i.e. 1, for continuous ones, which makes the penalty
-alpha log pi, the entropy form). The soft reward enters the reward-to-go:

    grad J = E[ sum_t grad log pi(a_t|s_t) (G_t - b(s_t)) ],
    G_t = sum_{k>=t} gamma^(k-t) (r_k - alpha log(pi(a_k|s_k) / prior(a_k))).

With gamma = 1 this is the gradient of J_alpha, and the baseline b(s_t), which
does not depend on the action, leaves it unbiased while reducing its variance.
With gamma < 1 the terms lack the weight gamma^t, so the direction is the usual
discounted heuristic rather than the gradient of J_alpha (Nota and Thomas,
2020). The default normalisation of the advantages (by the batch's own mean
and standard deviation) also makes the estimate slightly biased.

Episodes end at ``terminated`` or ``truncated``. A truncation (a time limit) is the
end of the finite horizon that the objective sums over, so the return is not
bootstrapped past it -- the same horizon the exact tabular check uses.

The agent's settings are defined once, in :class:`ReinforceConfig`: the
constructor checks its keyword arguments into one, :meth:`MaxEntReinforce.save`
writes it out, and the command line (``python -m klcourse.rl``) builds its
options from its fields.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import itertools
import json
import math
import time
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn
from tqdm.auto import tqdm

from klcourse._progress import show_progress
from klcourse._random import (
    Seed,
    derive_seed,
    make_rng,
    seeded,
    torch_generator,
)
from klcourse._threads import limited_threads
from klcourse._validation import (
    check_bool,
    check_choice,
    positive_float,
    positive_int,
)

__all__ = ["Episode", "MaxEntReinforce", "Policy", "ReinforceConfig"]

D = torch.distributions


def _setting(default: Any, help: str, **extra: Any) -> Any:
    """A dataclass field with its command-line help (and choices) as metadata."""
    return field(default=default, metadata={"help": help, **extra})


@dataclass(frozen=True)
class ReinforceConfig:
    """The settings of a :class:`MaxEntReinforce` agent, checked when made.

    This is the one place where the agent's settings, their defaults and their
    descriptions are written down: the agent's constructor checks its keyword
    arguments into a ``ReinforceConfig``, :meth:`MaxEntReinforce.save` stores
    it, and ``python -m klcourse.rl train`` has one option per field, with the
    same default. Wrong types raise ``TypeError``, wrong values ``ValueError``.

    Parameters
    ----------
    {settings}

    Examples
    --------
    >>> config = ReinforceConfig(alpha=0.1, hidden=[32, 32])
    >>> config.hidden, config.gamma, config.baseline
    ((32, 32), 1.0, 'value')
    >>> try:
    ...     ReinforceConfig(gamma=1.5)
    ... except ValueError as error:
    ...     print(error)
    gamma must be at most 1.0, got 1.5
    """

    alpha: float = _setting(
        0.01, "temperature of the entropy term (>= 0; 0 is plain REINFORCE)"
    )
    gamma: float = _setting(
        1.0, "discount in (0, 1]; 1 makes the objective exactly the reverse KL"
    )
    lr: float = _setting(
        1e-2, "learning rate of the policy and of the value baseline"
    )
    hidden: tuple[int, ...] = _setting(
        (64,),
        "hidden layer widths of the policy and value networks "
        "(none: linear, a table of logits on one-hot observations)",
    )
    batch_steps: int = _setting(
        2_000, "environment steps of finished episodes per update"
    )
    num_envs: int = _setting(
        8, "environments stepped together (a synchronous vector environment)"
    )
    baseline: str = _setting(
        "value",
        "'value': a learned state-value network; 'mean': the batch mean of "
        "the returns at each time step; 'none': no baseline",
        choices=("value", "mean", "none"),
    )
    normalize_advantages: bool = _setting(
        True,
        "centre the advantages of each batch on their mean and rescale them "
        "to unit variance (a per-batch step size and baseline, computed from "
        "the batch itself: the estimate is then slightly biased)",
    )
    optimizer: str = _setting(
        "adam",
        "'adam' suits networks; 'sgd' suits tables of logits, where Adam's "
        "per-parameter scaling blows up the noisy gradients of rarely "
        "visited states",
        choices=("adam", "sgd"),
    )

    def __post_init__(self) -> None:
        assign = functools.partial(object.__setattr__, self)
        assign("alpha", positive_float(self.alpha, "alpha", allow_zero=True))
        assign("gamma", positive_float(self.gamma, "gamma", maximum=1.0))
        assign("lr", positive_float(self.lr, "lr"))
        if isinstance(self.hidden, (str, bytes)) or not isinstance(
            self.hidden, (Sequence, np.ndarray)
        ):
            raise TypeError(
                "hidden must be a sequence of layer widths, "
                f"got {type(self.hidden).__name__}"
            )
        assign("hidden", tuple(positive_int(w, "hidden") for w in self.hidden))
        assign("batch_steps", positive_int(self.batch_steps, "batch_steps"))
        assign("num_envs", positive_int(self.num_envs, "num_envs"))
        for f in dataclasses.fields(self):
            if "choices" in f.metadata:
                check_choice(
                    getattr(self, f.name), f.name, f.metadata["choices"]
                )
        assign(
            "normalize_advantages",
            check_bool(self.normalize_advantages, "normalize_advantages"),
        )

    @classmethod
    def _with(
        cls, config: ReinforceConfig | None, settings: Mapping[str, Any]
    ) -> ReinforceConfig:
        """``config`` (or the defaults) with ``settings`` replacing its fields."""
        if config is not None and not isinstance(config, cls):
            raise TypeError(
                f"config must be a ReinforceConfig, got {type(config).__name__}"
            )
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(settings) - set(names))
        if unknown:
            raise TypeError(
                f"{unknown[0]} is not a setting of MaxEntReinforce; "
                f"the settings are {', '.join(names)}"
            )
        return dataclasses.replace(config or cls(), **settings)


def _describe_settings(cls: type) -> None:
    """Write the fields of a settings dataclass into its docstring's slot."""
    hints = typing.get_type_hints(cls)
    kinds = {float: "float", int: "int", bool: "bool", str: "str"}
    lines = []
    for f in dataclasses.fields(cls):
        if "choices" in f.metadata:
            kind = (
                "{" + ", ".join(repr(c) for c in f.metadata["choices"]) + "}"
            )
        else:
            kind = kinds.get(hints[f.name], "tuple of int")
        lines += [
            f"{f.name} : {kind}, default {f.default!r}",
            f"    {f.metadata['help'][0].upper()}{f.metadata['help'][1:]}.",
        ]
    assert cls.__doc__ is not None
    cls.__doc__ = cls.__doc__.replace("{settings}", "\n    ".join(lines))


_describe_settings(ReinforceConfig)


def _mlp(
    n_inputs: int, hidden: Sequence[int], n_outputs: int
) -> nn.Sequential:
    """Linear layers with tanh between them: ``hidden=()`` is one linear map."""
    widths = [n_inputs, *hidden]
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(widths):
        layers += [nn.Linear(a, b, dtype=torch.float32), nn.Tanh()]
    layers.append(nn.Linear(widths[-1], n_outputs, dtype=torch.float32))
    return nn.Sequential(*layers)


class Policy(nn.Module):
    """An MLP from (encoded) observations to a torch action distribution.

    Discrete actions: a Categorical over logits. Box actions: a diagonal Normal with
    a state-independent log standard deviation. ``hidden=()`` gives a linear policy,
    which on one-hot observations is exactly a table of logits.

    Examples
    --------
    >>> policy = Policy(4, gym.spaces.Discrete(2), hidden=(8,))
    >>> policy(torch.zeros(3, 4)).probs.shape
    torch.Size([3, 2])
    """

    def __init__(
        self, n_inputs: int, action_space: gym.Space, hidden: Sequence[int]
    ) -> None:
        super().__init__()
        self.discrete = isinstance(action_space, gym.spaces.Discrete)
        n_out = (
            int(getattr(action_space, "n", 0))
            if self.discrete
            else int(np.prod(action_space.shape or ()))
        )
        self.body = _mlp(n_inputs, hidden, n_out)
        if not self.discrete:
            self.log_std = nn.Parameter(
                torch.full((n_out,), -0.5, dtype=torch.float32)
            )

    def forward(self, obs: torch.Tensor) -> D.Distribution:
        """The action distribution at a batch of encoded observations, shape (batch, n_inputs)."""
        out = self.body(obs)
        if self.discrete:
            return D.Categorical(logits=out)
        return D.Independent(D.Normal(out, self.log_std.exp()), 1)


@dataclass
class Episode:
    """One finished episode: encoded observations, actions and rewards, step by step.

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


def _rebuildable(spec: Any) -> bool:
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


class MaxEntReinforce:
    """Maximum-entropy REINFORCE with a baseline, on vectorised Gymnasium environments.

    Parameters
    ----------
    env : str, gymnasium.Env or callable
        An environment id (``gymnasium.make`` arguments may be passed in
        ``env_kwargs``), an environment instance (copied for every vectorised slot
        and for evaluation), or a function that builds one.
        Action space: ``Discrete`` or ``Box``; observation space: ``Box`` or
        ``Discrete`` (one-hot encoded).
    config : ReinforceConfig, optional
        The settings (the defaults of :class:`ReinforceConfig` if omitted).
    seed : int, numpy.random.Generator or None, optional
        Source of all the agent's randomness: the initial weights, the actions
        sampled in training, the seeds of the environments and of evaluation.
        One int seed reproduces a run exactly; a generator is advanced; None
        draws fresh entropy. NumPy's and torch's global random states are
        never read or changed.
    env_kwargs : dict, optional
        Extra arguments for ``gymnasium.make`` (with an id only).
    **settings
        Fields of :class:`ReinforceConfig` (``alpha``, ``gamma``, ``lr``,
        ``hidden``, ``batch_steps``, ``num_envs``, ``baseline``,
        ``normalize_advantages``, ``optimizer``), replacing those of
        ``config``.

    Attributes
    ----------
    config : ReinforceConfig
        The checked settings.
    policy : Policy
        Maps encoded observations to an action distribution.
    value : torch.nn.Sequential
        The state-value network (hidden layers ``config.hidden``), trained
        only with ``baseline="value"``.
    torch_optimizer : torch.optim.Optimizer
        Adam or SGD (``config.optimizer``) over the policy and value weights.
    history : list of dict
        One entry per update (also returned by :meth:`train`).

    Examples
    --------
    >>> agent = MaxEntReinforce(
    ...     "CartPole-v1", alpha=0.01, batch_steps=200, num_envs=2, seed=0
    ... )
    >>> history = agent.train(400, progress=False)
    >>> sorted(history[0])
    ['entropy', 'env_steps', 'mean_return', 'mean_soft_return', 'wall_time']
    >>> agent.config.alpha, agent.config.num_envs
    (0.01, 2)
    """

    def __init__(
        self,
        env: str | gym.Env | Callable[[], gym.Env],
        *,
        config: ReinforceConfig | None = None,
        seed: Seed = None,
        env_kwargs: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        self.config = ReinforceConfig._with(config, settings)
        rng = make_rng(seed)
        if env_kwargs is not None and not isinstance(env_kwargs, Mapping):
            raise TypeError(
                "env_kwargs must be a dict of gymnasium.make arguments, "
                f"got {type(env_kwargs).__name__}"
            )
        self.env_kwargs = dict(env_kwargs or {})
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
        # An instance is copied for every vector slot and for evaluation,
        # so that they never share state.
        self._env_factory = (
            (lambda: copy.deepcopy(env))
            if isinstance(env, gym.Env)
            else (None if isinstance(env, str) else env)
        )
        probe = self._make_env()
        self._env_spec = probe.spec
        self.observation_space, self.action_space = (
            probe.observation_space,
            probe.action_space,
        )
        probe.close()
        _check_spaces(self.observation_space, self.action_space)
        space = self.observation_space
        self.n_inputs = (
            int(space.n)
            if isinstance(space, gym.spaces.Discrete)
            else int(np.prod(space.shape or ()))
        )
        if isinstance(self.action_space, gym.spaces.Discrete):
            self.log_prior = -math.log(int(self.action_space.n))
        else:
            # no prior density for continuous actions: differential entropy
            self.log_prior = 0.0
        # The int seed is kept for save(); a generator or None is not.
        self.seed = (
            None
            if seed is None or isinstance(seed, np.random.Generator)
            else int(seed)
        )
        # Every stream is drawn from rng here, in a fixed order, so that
        # one seed fixes them all and no later call can shift another.
        with seeded(rng):
            self.policy = Policy(
                self.n_inputs, self.action_space, self.config.hidden
            )
            self.value = _mlp(self.n_inputs, self.config.hidden, 1)
        self._generator = torch_generator(rng)  # actions while training
        self._env_seed = derive_seed(rng)
        self._action_space_seed = derive_seed(rng)
        # Evaluation and act() draw from their own streams, so that they
        # never change what training does next.
        self._eval_rng = make_rng(derive_seed(rng))
        self._play_generator = torch_generator(rng)
        parameters = [*self.policy.parameters(), *self.value.parameters()]
        self.torch_optimizer: torch.optim.Optimizer = (
            torch.optim.Adam(parameters, lr=self.config.lr)
            if self.config.optimizer == "adam"
            else torch.optim.SGD(parameters, lr=self.config.lr)
        )
        self.history: list[dict[str, float]] = []
        self._envs: gym.vector.VectorEnv | None = None
        self.env_steps = 0

    # --- environments --------------------------------------------------------------------

    def _make_env(self) -> gym.Env:
        if self._env_factory is not None:
            return self._env_factory()
        assert self.env_id is not None
        return gym.make(self.env_id, **self.env_kwargs)

    def encode(self, obs: Any) -> NDArray[np.float32]:
        """Observations as network inputs: one-hot for Discrete, flattened for Box. Shape (batch, n_inputs).

        Examples
        --------
        >>> lake = MaxEntReinforce("FrozenLake-v1", hidden=(), seed=0)
        >>> lake.encode([0, 5]).shape
        (2, 16)
        """
        obs = np.asarray(obs)
        space = self.observation_space
        if isinstance(space, gym.spaces.Discrete):
            index = obs.astype(np.int64).reshape(-1) - int(space.start)
            return np.eye(self.n_inputs, dtype=np.float32)[index]
        return obs.reshape(-1, self.n_inputs).astype(np.float32)

    def _sample(
        self,
        encoded: NDArray[np.float32],
        generator: torch.Generator,
        deterministic: bool = False,
    ) -> NDArray[Any]:
        """Sample (or take the mode of) the policy's actions with ``generator``."""
        with torch.no_grad():
            dist = self.policy(torch.from_numpy(encoded))
            if isinstance(dist, D.Categorical):
                if deterministic:
                    return dist.probs.argmax(-1).numpy()
                return torch.multinomial(dist.probs, 1, generator=generator)[
                    :, 0
                ].numpy()
            mean, std = dist.base_dist.loc, dist.base_dist.scale
            if deterministic:
                return mean.numpy()
            noise = torch.randn(
                mean.shape, generator=generator, dtype=mean.dtype
            )
            return (mean + std * noise).numpy()

    def _to_env(self, actions: NDArray[Any]) -> NDArray[Any]:
        """Sampled actions as the environment takes them (Box actions clipped)."""
        space = self.action_space
        if isinstance(space, gym.spaces.Box):
            # the sampled action is learned from; the env gets it clipped
            clipped = np.clip(actions, space.low, space.high)
            return clipped.reshape((-1, *space.shape)).astype(space.dtype)
        return np.asarray(actions, dtype=np.int64)

    @limited_threads
    def act(self, obs: Any, *, deterministic: bool = False) -> NDArray[Any]:
        """Actions of the policy for raw observations, ready for ``env.step``.

        Parameters
        ----------
        obs : array_like
            One observation as the environment returns it (shape
            ``observation_space.shape``; an int for a ``Discrete`` space) or a
            batch of them (one more leading axis of length n).
        deterministic : bool, optional
            Take the most likely action (the mean, for ``Box`` actions)
            instead of sampling one.

        Returns
        -------
        numpy.ndarray
            One action (shape ``action_space.shape``: an int64 scalar for
            ``Discrete`` actions) or n of them, shape
            ``(n, *action_space.shape)``.
            ``Box`` actions are clipped to the space's bounds. Sampling uses
            the agent's own generator for acting, never the one training uses.

        Examples
        --------
        >>> agent = MaxEntReinforce("CartPole-v1", seed=0)
        >>> obs, _ = gym.make("CartPole-v1").reset(seed=0)
        >>> action = agent.act(obs)
        >>> action.shape, int(action) in (0, 1)
        ((), True)
        >>> agent.act(np.stack([obs, obs, obs]), deterministic=True).shape
        (3,)
        """
        deterministic = check_bool(deterministic, "deterministic")
        array = np.asarray(obs)
        space = self.observation_space
        single_shape = space.shape if isinstance(space, gym.spaces.Box) else ()
        if array.shape == single_shape:
            batch, single = array[None], True
        elif array.ndim == len(single_shape) + 1 and (
            array.shape[1:] == single_shape
        ):
            batch, single = array, False
        else:
            raise ValueError(
                f"obs must have shape {single_shape} (one observation) or "
                f"(n, *{single_shape}) (a batch), got {array.shape}"
            )
        if isinstance(space, gym.spaces.Discrete) and not (
            np.issubdtype(batch.dtype, np.integer)
            and np.all(
                (batch >= space.start) & (batch < space.start + space.n)
            )
        ):
            raise ValueError(
                f"obs must be states of {space}, got {array.tolist()!r}"
            )
        actions = self._to_env(
            self._sample(
                self.encode(batch), self._play_generator, deterministic
            )
        )
        return actions[0] if single else actions

    # --- training ------------------------------------------------------------------------

    @limited_threads
    def train(
        self, total_steps: int, *, progress: bool | None = None
    ) -> list[dict[str, float]]:
        """Run updates until ``total_steps`` more environment steps have been taken.

        Parameters
        ----------
        total_steps : int
            Environment steps to take (the last update may overshoot).
        progress : bool or None, optional
            Show a progress bar; None shows one only in interactive use
            (a terminal or Jupyter), not under pytest or in a pipe.

        Returns
        -------
        list of dict
            The history: one dict per update with ``env_steps``,
            ``mean_return``, ``mean_soft_return``, ``entropy`` and
            ``wall_time``.

        Examples
        --------
        >>> agent = MaxEntReinforce("CartPole-v1", batch_steps=100, seed=0)
        >>> history = agent.train(200, progress=False)
        >>> agent.env_steps >= 200, history[-1]["env_steps"] == agent.env_steps
        (True, True)
        """
        total_steps = positive_int(total_steps, "total_steps")
        target = self.env_steps + total_steps
        with tqdm(
            total=total_steps,
            disable=not show_progress(progress),
            unit="step",
            desc="MaxEntReinforce",
        ) as bar:
            while self.env_steps < target:
                before = self.env_steps
                episodes = self.collect()
                self.history.append(self.update(episodes))
                bar.update(min(self.env_steps, target) - before)
                bar.set_postfix(ret=f"{self.history[-1]['mean_return']:.1f}")
        return self.history

    def _start_envs(self) -> gym.vector.VectorEnv:
        if self._envs is None:
            self._envs = gym.vector.SyncVectorEnv(
                [self._make_env for _ in range(self.config.num_envs)]
            )
            obs, _ = self._envs.reset(seed=self._env_seed)
            self._envs.action_space.seed(self._action_space_seed)
            self._obs = self.encode(obs)
            self._running = [Episode() for _ in range(self.config.num_envs)]
            self._resetting = np.zeros(self.config.num_envs, dtype=bool)
            self._start = time.perf_counter()
        return self._envs

    @limited_threads
    def collect(self, min_steps: int | None = None) -> list[Episode]:
        """Step all environments until finished episodes hold ``min_steps`` steps (default ``batch_steps``).

        Episodes still running are kept and continued by the next call. The step that
        a vector environment spends resetting a finished sub-environment (gymnasium's
        next-step autoreset) is skipped: it is not a transition of either episode.

        Examples
        --------
        >>> agent = MaxEntReinforce("CartPole-v1", num_envs=2, seed=0)
        >>> episodes = agent.collect(50)
        >>> sum(len(e.rewards) for e in episodes) >= 50
        True
        """
        needed = (
            self.config.batch_steps
            if min_steps is None
            else positive_int(min_steps, "min_steps")
        )
        envs = self._start_envs()
        finished: list[Episode] = []
        collected = 0  # steps in finished episodes
        while collected < needed:
            actions = self._sample(self._obs, self._generator)
            next_obs, rewards, terminated, truncated, _ = envs.step(
                self._to_env(actions)
            )
            for i, episode in enumerate(self._running):
                if self._resetting[i]:
                    # this step only reset env i (autoreset): nothing to learn
                    continue
                episode.obs.append(self._obs[i])
                episode.actions.append(actions[i])
                episode.rewards.append(float(rewards[i]))
                self.env_steps += 1
                if terminated[i] or truncated[i]:
                    finished.append(episode)
                    collected += len(episode.rewards)
                    self._running[i] = Episode()
            self._resetting = np.logical_or(terminated, truncated)
            self._obs = self.encode(next_obs)
        return finished

    def soft_returns(
        self, episodes: Sequence[Episode]
    ) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        """Log-probabilities and soft rewards-to-go of every step.

        Returns ``(log_probs, returns_per_episode, entropies)``: ``log_probs``
        (with gradient) and ``entropies`` are flat over all steps, in episode
        order; ``returns_per_episode`` holds one tensor per episode.

        Examples
        --------
        >>> agent = MaxEntReinforce("CartPole-v1", alpha=0.0, gamma=1.0, seed=0)
        >>> episode = Episode(
        ...     obs=[np.zeros(4, np.float32)] * 3, actions=[0, 1, 0],
        ...     rewards=[1.0, 1.0, 1.0],
        ... )
        >>> _, returns, _ = agent.soft_returns([episode])
        >>> returns[0].tolist()
        [3.0, 2.0, 1.0]
        """
        obs = np.stack([o for e in episodes for o in e.obs])
        actions = np.stack([a for e in episodes for a in e.actions])
        rewards = [r for e in episodes for r in e.rewards]
        dist = self.policy(torch.from_numpy(obs))
        log_probs = dist.log_prob(torch.as_tensor(actions))  # (steps,)
        # The soft reward r - alpha log(pi / U): the KL penalty, step by step.
        kl_term = self.config.alpha * (log_probs.detach() - self.log_prior)
        soft = torch.tensor(rewards, dtype=torch.float32) - kl_term
        returns, start = [], 0
        for episode in episodes:
            steps = soft[start : start + len(episode.rewards)].tolist()
            g, out = 0.0, []
            for reward in reversed(steps):  # discounted sum, from the end
                g = reward + self.config.gamma * g
                out.append(g)
            returns.append(torch.tensor(out[::-1], dtype=torch.float32))
            start += len(episode.rewards)
        return log_probs, returns, dist.entropy()

    def loss(
        self, episodes: Sequence[Episode]
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """A surrogate loss whose gradient estimates -grad J_alpha (see the module notes).

        The value network's loss is added when ``baseline="value"``. Returns
        the loss and the history entry for ``episodes``.

        Examples
        --------
        >>> agent = MaxEntReinforce("CartPole-v1", num_envs=2, seed=0)
        >>> loss, stats = agent.loss(agent.collect(50))
        >>> loss.shape, loss.requires_grad
        (torch.Size([]), True)
        """
        log_probs, returns, entropy = self.soft_returns(episodes)
        g = torch.cat(returns)  # (steps,) soft reward-to-go
        obs = torch.from_numpy(np.stack([o for e in episodes for o in e.obs]))
        if self.config.baseline == "value":
            values = self.value(obs).squeeze(-1)
            baseline = values.detach()
            value_loss = ((values - g) ** 2).mean()
        else:
            value_loss = torch.zeros(())
            if self.config.baseline == "mean":
                baseline = self._time_mean(returns)
            else:
                baseline = torch.zeros_like(g)
        advantages = g - baseline
        if self.config.normalize_advantages and len(advantages) > 1:
            spread = advantages.std() + 1e-8
            advantages = (advantages - advantages.mean()) / spread
        # Sum over steps, mean over episodes. An unbiased estimate of
        # -grad J_alpha only with gamma = 1 and normalize_advantages=False:
        # gamma < 1 gives the discounted heuristic direction, and the
        # normalisation, by the batch's own statistics, a slight bias.
        policy_loss = -(log_probs * advantages).sum() / len(episodes)
        start = getattr(self, "_start", time.perf_counter())
        stats = {
            "env_steps": float(self.env_steps),
            "mean_return": float(np.mean([sum(e.rewards) for e in episodes])),
            "mean_soft_return": float(np.mean([r[0].item() for r in returns])),
            "entropy": float(entropy.mean().detach()),
            "wall_time": time.perf_counter() - start,
        }
        return policy_loss + value_loss, stats

    @limited_threads
    def update(self, episodes: Sequence[Episode]) -> dict[str, float]:
        """One policy-gradient step on ``episodes``; returns the history entry.

        Examples
        --------
        >>> agent = MaxEntReinforce("CartPole-v1", num_envs=2, seed=0)
        >>> stats = agent.update(agent.collect(50))
        >>> stats["env_steps"] >= 50
        True
        """
        loss, stats = self.loss(episodes)
        self.torch_optimizer.zero_grad()
        loss.backward()
        self.torch_optimizer.step()
        return stats

    @staticmethod
    def _time_mean(returns: list[torch.Tensor]) -> torch.Tensor:
        """Baseline b_t = mean over episodes of the return-to-go at time step t."""
        longest = max(len(r) for r in returns)
        padded = torch.full(
            (len(returns), longest), float("nan"), dtype=torch.float32
        )
        for i, r in enumerate(returns):
            padded[i, : len(r)] = r
        means = torch.nanmean(padded, dim=0)
        return torch.cat([means[: len(r)] for r in returns])

    # --- evaluation and persistence ------------------------------------------------------

    @limited_threads
    def evaluate(
        self,
        n_episodes: int = 20,
        *,
        deterministic: bool = False,
        seed: Seed = None,
    ) -> NDArray[np.float64]:
        """Returns (undiscounted, without entropy) of ``n_episodes`` fresh episodes.

        Parameters
        ----------
        n_episodes : int, optional
            Episodes to run, one after the other, in a new environment.
        deterministic : bool, optional
            Take the most likely actions instead of sampling them.
        seed : int, numpy.random.Generator or None, optional
            Seeds the episodes' environments and the sampled actions. None
            uses the agent's own evaluation streams (fixed by the agent's
            seed and advanced by each call). Evaluating never changes what
            training does next.

        Returns
        -------
        numpy.ndarray, shape (n_episodes,)
            The return of each episode.

        Examples
        --------
        >>> agent = MaxEntReinforce("CartPole-v1", seed=0)
        >>> returns = agent.evaluate(3, seed=1)
        >>> returns.shape, bool(np.all(returns >= 1))
        ((3,), True)
        >>> bool(np.array_equal(returns, agent.evaluate(3, seed=1)))
        True
        """
        n_episodes = positive_int(n_episodes, "n_episodes")
        deterministic = check_bool(deterministic, "deterministic")
        if seed is None:
            rng, generator = self._eval_rng, self._play_generator
        else:
            rng = make_rng(seed)
            generator = torch_generator(rng)
        env = self._make_env()
        results = []
        for _ in range(n_episodes):
            obs, _ = env.reset(seed=derive_seed(rng))
            total, done = 0.0, False
            while not done:
                action = self._to_env(
                    self._sample(self.encode(obs), generator, deterministic)
                )[0]
                obs, reward, terminated, truncated, _ = env.step(action)
                total += float(reward)
                done = terminated or truncated
            results.append(total)
        env.close()
        return np.array(results)

    def save(self, path: str | Path) -> None:
        """Save the settings, the environment and the network weights to ``path``.

        The environment is recorded as its id and ``env_kwargs``, or, for an
        instance or a function, as the ``env.spec`` that ``gymnasium.make``
        rebuilds it from (an instance made by ``gymnasium.make`` has one, and
        so does one wrapped in wrappers that record their arguments, such as
        :class:`~klcourse.rl.TimeIndexed`). An environment without such a spec
        cannot be saved. An int seed is saved; a generator is not.

        Examples
        --------
        >>> import tempfile
        >>> agent = MaxEntReinforce(gym.make("CartPole-v1"), hidden=(8,), seed=0)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     agent.save(Path(folder) / "agent.pt")
        ...     loaded = MaxEntReinforce.load(Path(folder) / "agent.pt")
        >>> loaded.config == agent.config, loaded.env_id
        (True, None)
        """
        if self.env_id is not None:
            env: dict[str, Any] = {
                "env": self.env_id,
                "env_kwargs": self.env_kwargs,
            }
        elif self._env_spec is not None and _rebuildable(self._env_spec):
            env = {"env_spec": self._env_spec.to_json()}
        else:
            raise ValueError(
                "this agent's environment cannot be saved: it was given as an "
                "instance or a function whose env.spec cannot rebuild it "
                "(make it with gymnasium.make, wrap it only in wrappers that "
                "record their arguments, or give env as an id)"
            )
        record = {**env, "seed": self.seed, **dataclasses.asdict(self.config)}
        torch.save(
            {
                "config": json.dumps(record),
                "policy": self.policy.state_dict(),
                "value": self.value.state_dict(),
                "env_steps": self.env_steps,
            },
            path,
        )

    @classmethod
    def load(cls, path: str | Path) -> MaxEntReinforce:
        """Rebuild an agent saved with :meth:`save` (weights only: ``torch.load(weights_only=True)``).

        Examples
        --------
        >>> import tempfile
        >>> agent = MaxEntReinforce("CartPole-v1", alpha=0.5, seed=0)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     agent.save(Path(folder) / "agent.pt")
        ...     loaded = MaxEntReinforce.load(Path(folder) / "agent.pt")
        >>> loaded.config.alpha, loaded.env_id
        (0.5, 'CartPole-v1')
        """
        state = torch.load(path, weights_only=True)
        record = json.loads(state["config"])
        seed = record.pop("seed", None)
        env: str | Callable[[], gym.Env]
        if "env_spec" in record:
            spec = gym.envs.registration.EnvSpec.from_json(
                record.pop("env_spec")
            )
            env = functools.partial(gym.make, spec)
        else:
            env = record.pop("env")
        env_kwargs = record.pop("env_kwargs", None)
        agent = cls(env, seed=seed, env_kwargs=env_kwargs, **record)
        agent.policy.load_state_dict(state["policy"])
        agent.value.load_state_dict(state["value"])
        agent.env_steps = int(state["env_steps"])
        return agent


def _check_spaces(
    observation_space: gym.Space, action_space: gym.Space
) -> None:
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
