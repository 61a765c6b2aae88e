"""Maximum-entropy REINFORCE on Gymnasium, in one file (chapter 5).

The agent maximises the soft return

    J_alpha(pi) = E[ sum_t gamma^t (r_t - alpha log(pi(a_t|s_t) / prior(a_t))) ],

which with gamma = 1 is -alpha KL(q_pi || P) + const for the optimal-trajectory
distribution P(tau) ∝ exp(sum_t r_t / alpha) (the prior is uniform for discrete
actions and absent, i.e. 1, for continuous ones, which makes the penalty
-alpha log pi, the entropy form). The soft reward enters the reward-to-go:

    grad J = E[ sum_t grad log pi(a_t|s_t) (G_t - b_t) ],
    G_t = sum_{k>=t} gamma^(k-t) (r_k - alpha log(pi(a_k|s_k) / prior(a_k))).

One update, read top to bottom in :meth:`MaxEntReinforce.train`:

1. :meth:`~MaxEntReinforce.collect` samples a batch of N whole episodes with
   the current parameters. Each episode starts from a reset and runs to its
   end; none is carried over to the next batch, so every step an update uses
   was sampled by the parameters it updates, and ``Episode.log_probs`` holds
   the log-probability each action had when it was drawn. N is fixed before
   the batch is sampled (from the mean length of the previous batch's
   episodes), never by the batch's own episodes.
2. :meth:`~MaxEntReinforce.soft_returns` checks that the recorded
   log-probabilities are the current policy's and computes every G_t.
3. :meth:`~MaxEntReinforce.loss` subtracts the baseline b_t and averages the
   score-function terms over the N episodes; :meth:`~MaxEntReinforce.update`
   takes one optimiser step.

The baselines do not depend on the episode's own actions: ``"value"`` is a
network fitted to earlier batches, ``"mean"`` the mean over the batch's
*other* episodes of their return at step t (leave-one-out), ``"none"`` zero.
So with gamma = 1 and ``normalize_advantages=False`` the gradient of the loss
is an unbiased estimate of -grad J_alpha. With gamma < 1 the terms lack the
weight gamma^t, so the direction is the usual discounted heuristic rather than
the gradient of J_alpha (Nota and Thomas, 2020). The default normalisation of
the advantages (by the batch's own mean and standard deviation) also makes
the estimate slightly biased.

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
import os
import pickle
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
    as_float_array,
    check_bool,
    check_choice,
    check_size,
    detached,
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
        2_000,
        "environment steps per update, approximately: a batch is as many "
        "whole episodes as held this many steps at the previous batch's mean "
        "episode length (the first batch has num_envs episodes)",
    )
    num_envs: int = _setting(
        8,
        "environments run side by side, so that one forward pass of the "
        "policy acts in all of them; a batch's episodes are shared out "
        "among them",
    )
    baseline: str = _setting(
        "value",
        "'value': a learned state-value network; 'mean': at each time step, "
        "the mean return of the batch's other episodes (leave-one-out); "
        "'none': no baseline",
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
        assign("hidden", _check_hidden(self.hidden))
        assign("batch_steps", positive_int(self.batch_steps, "batch_steps"))
        assign("num_envs", positive_int(self.num_envs, "num_envs"))
        if self.num_envs > self.batch_steps:
            raise ValueError(
                f"num_envs must be at most batch_steps ({self.batch_steps}): "
                "a batch of that many steps has no more episodes than steps, "
                f"got {self.num_envs}"
            )
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


def _check_hidden(hidden: Any) -> tuple[int, ...]:
    """``hidden`` as a tuple of positive layer widths, or a clear error."""
    if isinstance(hidden, (str, bytes)) or not isinstance(
        hidden, (Sequence, np.ndarray)
    ):
        raise TypeError(
            "hidden must be a sequence of layer widths, "
            f"got {type(hidden).__name__}"
        )
    return tuple(positive_int(w, "hidden") for w in hidden)


def _mlp(
    n_inputs: int, hidden: Sequence[int], n_outputs: int
) -> nn.Sequential:
    """Linear layers with tanh between them: ``hidden=()`` is one linear map.

    Networks whose weights would not fit comfortably in memory are refused
    (a ``ValueError`` naming ``hidden`` and the number of inputs).
    """
    widths = [n_inputs, *hidden]
    check_size(  # the largest weight matrix
        max(a * b for a, b in itertools.pairwise([*widths, n_outputs])),
        f"hidden={tuple(hidden)} on {n_inputs:,} inputs (the env's encoded "
        "observations)",
        item_bytes=4,
    )
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
        self.n_inputs = positive_int(n_inputs, "n_inputs")
        if not isinstance(action_space, (gym.spaces.Discrete, gym.spaces.Box)):
            raise TypeError(
                "action_space must be a gymnasium Discrete or Box space, "
                f"got {type(action_space).__name__}"
            )
        hidden = _check_hidden(hidden)
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
        """The action distribution at encoded observations, (batch, n_inputs).

        Real tensors and arrays of any float dtype are taken as float32 (the
        network's precision); other shapes, NaN and infinities are refused.
        """
        if not isinstance(obs, torch.Tensor):
            obs = torch.from_numpy(as_float_array(obs, "obs"))
        if obs.is_complex() or obs.dtype == torch.bool:
            raise TypeError(f"obs must be real numbers, got {obs.dtype}")
        if obs.ndim != 2 or obs.shape[1] != self.n_inputs:
            raise ValueError(
                f"obs must have shape (batch, {self.n_inputs}), "
                f"got {tuple(obs.shape)}"
            )
        obs = obs.detach().to(torch.float32)
        if not torch.isfinite(obs).all():
            raise ValueError("obs must be finite, got NaN or infinity")
        out = self.body(obs)
        if self.discrete:
            return D.Categorical(logits=out)
        return D.Independent(D.Normal(out, self.log_std.exp()), 1)


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
    """Maximum-entropy REINFORCE with a baseline, on Gymnasium environments.

    Each update uses a batch of whole episodes that the parameters being
    updated sampled (see the module notes and :meth:`collect`).

    Parameters
    ----------
    env : str, gymnasium.Env or callable
        An environment id (``gymnasium.make`` arguments may be passed in
        ``env_kwargs``), an environment instance (copied for every training
        environment and for evaluation), or a function that builds one.
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
        # An instance is copied for every training environment and for
        # evaluation, so that they never share state.
        self._env_factory = (
            (lambda: copy.deepcopy(env))
            if isinstance(env, gym.Env)
            else (None if isinstance(env, str) else env)
        )
        probe = self._probe_env()
        self._env_spec = probe.spec
        self.observation_space, self.action_space = (
            probe.observation_space,
            probe.action_space,
        )
        probe.close()
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
        # the largest array a batch builds: its encoded observations
        check_size(
            self.config.batch_steps * self.n_inputs,
            "batch_steps",
            item_bytes=4,
        )
        self._generator = torch_generator(rng)  # actions while training
        self._env_rng = make_rng(derive_seed(rng))  # training episodes' seeds
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
        self._envs: list[gym.Env] = []  # made on first use
        self._last_mean_length: float | None = None  # of the last batch
        self._start = time.perf_counter()
        self.env_steps = 0

    # --- environments --------------------------------------------------------------------

    def _make_env(self) -> gym.Env:
        if self._env_factory is not None:
            return self._env_factory()
        assert self.env_id is not None
        return gym.make(self.env_id, **self.env_kwargs)

    def _probe_env(self) -> gym.Env:
        """One environment, checked: a gymnasium.Env with supported spaces."""
        try:
            probe = self._make_env()
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
        _check_spaces(
            getattr(probe, "observation_space", None),
            getattr(probe, "action_space", None),
        )
        return probe

    def encode(self, obs: Any) -> NDArray[np.float32]:
        """Observations as network inputs: one-hot for Discrete, flattened for Box. Shape (batch, n_inputs).

        ``obs`` is one observation or a batch of them, as for :meth:`act`.

        Examples
        --------
        >>> lake = MaxEntReinforce("FrozenLake-v1", hidden=(), seed=0)
        >>> lake.encode([0, 5]).shape
        (2, 16)
        """
        batch, _ = self._as_batch(obs)
        if isinstance(self.observation_space, gym.spaces.Discrete):
            index = batch - int(self.observation_space.start)
            encoded = np.zeros((len(batch), self.n_inputs), dtype=np.float32)
            encoded[np.arange(len(batch)), index] = 1.0
            return encoded
        return batch.reshape(-1, self.n_inputs).astype(np.float32)

    def _as_batch(self, obs: Any) -> tuple[NDArray[Any], bool]:
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

    def _sample(
        self,
        encoded: NDArray[np.float32],
        generator: torch.Generator,
        deterministic: bool = False,
    ) -> tuple[NDArray[Any], NDArray[np.float32]]:
        """Actions at encoded observations, and their log-probabilities.

        The actions are sampled with ``generator`` (or are the policy's mode,
        with ``deterministic``); ``log_probs[i]`` is log pi(actions[i] | obs i)
        under the current parameters.
        """
        with torch.no_grad():
            dist = self.policy(torch.from_numpy(encoded))
            if isinstance(dist, D.Categorical):
                if deterministic:
                    actions = dist.probs.argmax(-1)
                else:
                    actions = torch.multinomial(
                        dist.probs, 1, generator=generator
                    )[:, 0]
            else:
                actions = dist.base_dist.loc  # the mean
                if not deterministic:
                    actions = actions + dist.base_dist.scale * torch.randn(
                        actions.shape, generator=generator, dtype=actions.dtype
                    )
            return actions.numpy(), dist.log_prob(actions).numpy()

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
        batch, single = self._as_batch(obs)
        if len(batch) == 0:  # an empty batch: no actions
            shape = self.action_space.shape or ()
            return self._to_env(np.empty((0, *shape)))
        sampled, _ = self._sample(
            self.encode(batch), self._play_generator, deterministic
        )
        actions = self._to_env(sampled)
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
                episodes = self.collect()  # whole episodes, these parameters
                self.history.append(self.update(episodes))  # one step
                bar.update(min(self.env_steps, target) - before)
                bar.set_postfix(ret=f"{self.history[-1]['mean_return']:.1f}")
        return self.history

    def _environments(self, n_episodes: int) -> list[gym.Env]:
        """The training environments for a batch of ``n_episodes``, made once.

        At most ``num_envs``: one per episode that can run at the same time.
        """
        while len(self._envs) < min(self.config.num_envs, n_episodes):
            self._envs.append(self._make_env())
        return self._envs[: min(self.config.num_envs, n_episodes)]

    def _batch_episodes(self) -> int:
        """How many episodes the next batch holds, fixed before it is sampled.

        As many as made ``batch_steps`` steps at the mean length of the
        previous batch's episodes (rounded, at least one); ``num_envs`` for
        the first batch. Fixing the number in advance keeps each episode's
        place in the batch independent of its own actions, which the
        unbiased gradient and the leave-one-out baseline need.
        """
        if self._last_mean_length is None:
            return self.config.num_envs
        return max(1, round(self.config.batch_steps / self._last_mean_length))

    @limited_threads
    def collect(self, n_episodes: int | None = None) -> list[Episode]:
        """Sample ``n_episodes`` whole episodes with the current parameters.

        Each episode starts from a reset (seeded from the agent's training
        stream) and runs until it is terminated or truncated; the
        ``num_envs`` environments run them side by side, and an environment
        whose episode ends starts the next one while any remain. Every step
        is therefore sampled by the current parameters, and nothing is left
        running for the next call.

        Parameters
        ----------
        n_episodes : int, optional
            Episodes to sample. By default the number is fixed, before the
            batch is sampled, so that it would have held ``batch_steps``
            steps at the mean length of the previous batch's episodes
            (rounded, at least one); the first batch has ``num_envs``.

        Returns
        -------
        list of Episode
            In the order they started.

        Examples
        --------
        >>> agent = MaxEntReinforce("CartPole-v1", num_envs=2, seed=0)
        >>> episodes = agent.collect(5)
        >>> len(episodes), [len(e.log_probs) == len(e.obs) for e in episodes]
        (5, [True, True, True, True, True])
        """
        n = (
            self._batch_episodes()
            if n_episodes is None
            else positive_int(n_episodes, "n_episodes")
        )
        check_size(n * self.n_inputs, "n_episodes", item_bytes=4)
        batch = self._play(
            self._environments(n), n, self._env_rng, self._generator
        )
        lengths = [len(e.rewards) for e in batch]
        self.env_steps += sum(lengths)
        self._last_mean_length = float(np.mean(lengths))
        return batch

    def _play(
        self,
        envs: Sequence[gym.Env],
        n_episodes: int,
        rng: np.random.Generator,
        generator: torch.Generator,
        deterministic: bool = False,
    ) -> list[Episode]:
        """Run ``n_episodes`` whole episodes in ``envs``, side by side.

        Episode k is reset with the k-th seed drawn from ``rng``; actions are
        sampled with ``generator`` (or are the mode, with ``deterministic``).
        An environment whose episode ends starts the next while any remain,
        and then waits. (``gymnasium.vector`` steps all its environments
        together and cannot leave one idle, so they are stepped one by one
        here, with one forward pass of the policy for all of them.) Returns
        the episodes in the order they started.
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
            encoded = self.encode(np.stack([obs[i] for i in acting]))
            actions, log_probs = self._sample(
                encoded, generator, deterministic
            )
            to_env = self._to_env(actions)  # (len(acting), *action shape)
            for k, i in enumerate(acting):
                obs[i], reward, terminated, truncated, _ = envs[i].step(
                    to_env[k]
                )
                episode = running[i]
                episode.obs.append(encoded[k])
                episode.actions.append(actions[k])
                episode.rewards.append(float(reward))
                episode.log_probs.append(float(log_probs[k]))
                if terminated or truncated:
                    del running[i]
        return episodes

    def soft_returns(
        self, episodes: Sequence[Episode]
    ) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        """Log-probabilities and soft rewards-to-go of every step.

        Returns ``(log_probs, returns_per_episode, entropies)``: ``log_probs``
        (with gradient) and ``entropies`` are flat over all steps, in episode
        order; ``returns_per_episode`` holds one tensor per episode. Raises
        ``ValueError`` if the episodes' recorded log-probabilities are not
        the current policy's: a REINFORCE update needs episodes sampled by
        the parameters it updates.

        Examples
        --------
        >>> agent = MaxEntReinforce("CartPole-v1", alpha=0.0, gamma=1.0, seed=0)
        >>> (episode,) = agent.collect(1)
        >>> _, returns, _ = agent.soft_returns([episode])
        >>> returns[0][-3:].tolist()
        [3.0, 2.0, 1.0]
        """
        self._check_episodes(episodes)
        obs = np.stack([o for e in episodes for o in e.obs])
        actions = np.stack([a for e in episodes for a in e.actions])
        rewards = [r for e in episodes for r in e.rewards]
        recorded = torch.tensor(
            [p for e in episodes for p in e.log_probs], dtype=torch.float32
        )  # (steps,) log pi(a_t | s_t) when a_t was drawn
        dist = self.policy(torch.from_numpy(obs))
        log_probs = dist.log_prob(torch.as_tensor(actions))  # (steps,)
        # REINFORCE needs the actions drawn by this very policy: check it.
        gap = (log_probs.detach() - recorded).abs().max().item()
        if not gap <= 1e-4:  # float32 rounding only (NaN fails too)
            raise ValueError(
                "episodes were not sampled by the current policy: their "
                "recorded log-probabilities differ from its own by up to "
                f"{gap:.3g} (collect a new batch after each update)"
            )
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

    def _check_episodes(self, episodes: Sequence[Episode]) -> None:
        """Refuse all but a non-empty batch of this agent's whole episodes."""
        if isinstance(episodes, Episode) or not isinstance(episodes, Sequence):
            raise TypeError(
                "episodes must be a list of Episode, "
                f"got {type(episodes).__name__}"
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
            if shapes != {(self.n_inputs,)}:
                raise ValueError(
                    f"episodes[{i}] must hold encoded observations of shape "
                    f"({self.n_inputs},), got shapes {sorted(shapes)}"
                )
            if not np.all(np.isfinite(episode.rewards)):
                raise ValueError(
                    f"episodes[{i}] has a reward that is NaN or infinite"
                )

    def loss(
        self, episodes: Sequence[Episode]
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """A surrogate loss whose gradient estimates -grad J_alpha (see the module notes).

        The value network's loss is added when ``baseline="value"``. Returns
        the loss and the history entry for ``episodes``.

        Examples
        --------
        >>> agent = MaxEntReinforce("CartPole-v1", num_envs=2, seed=0)
        >>> loss, stats = agent.loss(agent.collect())
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
                baseline = self._leave_one_out_mean(returns)
            else:
                baseline = torch.zeros_like(g)
        advantages = g - baseline
        if self.config.normalize_advantages and len(advantages) > 1:
            spread = advantages.std() + 1e-8
            advantages = (advantages - advantages.mean()) / spread
        # Sum over steps, mean over the batch's episodes, whose number was
        # fixed before they were sampled. An unbiased estimate of
        # -grad J_alpha only with gamma = 1 and normalize_advantages=False:
        # gamma < 1 gives the discounted heuristic direction, and the
        # normalisation, by the batch's own statistics, a slight bias.
        policy_loss = -(log_probs * advantages).sum() / len(episodes)
        stats = {
            "env_steps": float(self.env_steps),
            "mean_return": float(np.mean([sum(e.rewards) for e in episodes])),
            "mean_soft_return": float(np.mean([r[0].item() for r in returns])),
            "entropy": float(entropy.mean().detach()),
            "wall_time": time.perf_counter() - self._start,
        }
        return policy_loss + value_loss, stats

    @limited_threads
    def update(self, episodes: Sequence[Episode]) -> dict[str, float]:
        """One policy-gradient step on ``episodes``; returns the history entry.

        ``episodes`` must have been sampled by the current parameters (as
        :meth:`collect` does); episodes from before an update are refused.

        Examples
        --------
        >>> agent = MaxEntReinforce("CartPole-v1", num_envs=2, seed=0)
        >>> stats = agent.update(agent.collect())
        >>> stats["env_steps"] == agent.env_steps > 0
        True
        """
        loss, stats = self.loss(episodes)
        self.torch_optimizer.zero_grad()
        loss.backward()
        weights = [*self.policy.parameters(), *self.value.parameters()]
        before = [w.detach().clone() for w in weights]
        self.torch_optimizer.step()
        if not all(torch.isfinite(w).all() for w in weights):
            with torch.no_grad():  # keep the last finite weights
                for w, old in zip(weights, before, strict=True):
                    w.copy_(old)
            raise ValueError(
                f"lr = {self.config.lr:g} is too large here: this update "
                "made the weights overflow to inf or NaN (the agent keeps "
                "its weights from before it; lower lr)"
            )
        return stats

    @staticmethod
    def _leave_one_out_mean(returns: list[torch.Tensor]) -> torch.Tensor:
        """Leave-one-out baseline b_t: the other episodes' mean return at t.

        For each episode and step t, the mean return-to-go at step t of the
        *other* episodes that reached t; 0 where no other episode did. Flat
        over all steps, in episode order.
        """
        longest = max(len(r) for r in returns)
        padded = torch.zeros((len(returns), longest), dtype=torch.float64)
        reached = torch.zeros_like(padded)  # 1 where episode i reached t
        for i, r in enumerate(returns):
            padded[i, : len(r)] = r
            reached[i, : len(r)] = 1.0
        others_sum = padded.sum(0) - padded  # (episodes, longest)
        others_count = reached.sum(0) - reached
        means = others_sum / others_count.clamp(min=1.0)  # 0 with no others
        return torch.cat(
            [means[i, : len(r)] for i, r in enumerate(returns)]
        ).float()

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
            Episodes to run in new environments, up to ``num_envs`` side by
            side, each reset with its own seed.
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
        check_size(n_episodes * self.n_inputs, "n_episodes", item_bytes=4)
        deterministic = check_bool(deterministic, "deterministic")
        if seed is None:
            rng, generator = self._eval_rng, self._play_generator
        else:
            rng = make_rng(seed)
            generator = torch_generator(rng)
        envs = [
            self._make_env()
            for _ in range(min(n_episodes, self.config.num_envs))
        ]
        episodes = self._play(envs, n_episodes, rng, generator, deterministic)
        for env in envs:
            env.close()
        return np.array([sum(e.rewards) for e in episodes])

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
        path = _check_path(path)
        if not path.parent.is_dir():
            raise FileNotFoundError(
                f"path {str(path)!r}: the folder {str(path.parent)!r} does "
                "not exist"
            )
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
        path = _check_path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"path {str(path)!r} is not a file saved by "
                "MaxEntReinforce.save: there is no such file"
            )
        try:
            state = torch.load(path, weights_only=True)
            record = json.loads(state["config"])
            weights = state["policy"], state["value"], state["env_steps"]
        except (
            pickle.UnpicklingError,
            RuntimeError,
            EOFError,
            KeyError,
            TypeError,
            ValueError,
        ) as error:
            raise ValueError(
                f"path {str(path)!r} is not an agent saved by "
                f"MaxEntReinforce.save ({type(error).__name__}: {error})"
            ) from error
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
        agent.policy.load_state_dict(weights[0])
        agent.value.load_state_dict(weights[1])
        agent.env_steps = int(weights[2])
        return agent


def _check_path(path: Any) -> Path:
    """``path`` as a :class:`~pathlib.Path`, if it is a str or path-like."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be a str or a path-like object, got "
            f"{type(path).__name__}"
        )
    return Path(path)


def _check_spaces(observation_space: Any, action_space: Any) -> None:
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
