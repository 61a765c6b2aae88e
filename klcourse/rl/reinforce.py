"""Maximum-entropy REINFORCE on Gymnasium: the algorithm (chapter 5).

The agent maximises the soft return

    J_alpha(pi) = E[ sum_t gamma^t (r_t - alpha log(pi(a_t|s_t) / prior(a_t))) ],

which is -alpha KL(q_pi || P) + const for the optimal-trajectory distribution
P(tau) ∝ exp(sum_t r_t / alpha) (with gamma < 1, of the process that ends each
step with probability 1 - gamma) (the prior is uniform for discrete
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

Episodes end at ``terminated`` or ``truncated``. A truncation (a time limit)
is the end of the finite horizon that the objective sums over, so the return
is not bootstrapped past it -- the same horizon the exact tabular check uses.

Beside this module: the settings in :mod:`klcourse.rl.config`
(:class:`ReinforceConfig`), the networks in ``_networks.py``, the environment
plumbing (making, encoding, playing episodes side by side) in
``_environments.py`` and saving and loading in ``_persistence.py``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from numpy.typing import NDArray
from tqdm.auto import tqdm

from klcourse._deprecation import renamed_keywords
from klcourse._history import History
from klcourse._progress import show_progress
from klcourse._random import (
    Seed,
    derive_seed,
    make_rng,
    seeded,
    torch_generator,
)
from klcourse._threads import limited_threads
from klcourse._validation import check_bool, check_size, positive_int
from klcourse.rl._environments import (
    EnvSource,
    Episode,
    check_episodes,
    flatten,
    play_episodes,
)
from klcourse.rl._networks import Policy, mlp
from klcourse.rl._persistence import load_agent, save_agent
from klcourse.rl._rows import RowsHistory
from klcourse.rl.config import ReinforceConfig, describe_settings

__all__ = ["Episode", "MaxEntReinforce", "Policy", "ReinforceConfig"]

D = torch.distributions

#: The columns of ``MaxEntReinforce.history``, one row per update.
HISTORY_COLUMNS = (
    "update",
    "env_steps",
    "mean_return",
    "mean_soft_return",
    "entropy",
    "wall_time",
)

_SETTINGS = tuple(f.name for f in dataclasses.fields(ReinforceConfig))


def _config_as_settings(init: Callable[..., None]) -> Callable[..., None]:
    """Accept the old ``config=ReinforceConfig(...)`` with a FutureWarning.

    Its fields become the keyword arguments they stand for; passing a
    setting beside it is refused, so that the two cannot disagree.
    """

    @functools.wraps(init)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
        if "config" in kwargs:
            config = kwargs.pop("config")
            if config is not None:
                if not isinstance(config, ReinforceConfig):
                    raise TypeError(
                        "config must be a ReinforceConfig, "
                        f"got {type(config).__name__}"
                    )
                both = sorted(set(kwargs) & set(_SETTINGS))
                if both:
                    raise TypeError(
                        f"MaxEntReinforce() got both config and {both[0]}; "
                        "pass the settings as keywords only"
                    )
                warnings.warn(
                    "MaxEntReinforce(config=...) is deprecated: pass the "
                    "settings as keywords, "
                    "MaxEntReinforce(env, **dataclasses.asdict(config)); "
                    "config will be removed in a later release",
                    FutureWarning,
                    stacklevel=2,
                )
                kwargs.update(dataclasses.asdict(config))
        init(self, *args, **kwargs)

    return wrapper


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
    {settings}
    seed : int, numpy.random.Generator or None, optional
        Source of all the agent's randomness: the initial weights, the actions
        sampled in training, the seeds of the environments and of evaluation.
        One int seed reproduces a run exactly; a generator is advanced; None
        draws fresh entropy. NumPy's and torch's global random states are
        never read or changed.
    env_kwargs : dict, optional
        Extra arguments for ``gymnasium.make`` (with an id only).

    Attributes
    ----------
    config : ReinforceConfig
        The checked settings, as one record (what :meth:`save` stores).
    policy : Policy
        Maps encoded observations to an action distribution.
    value : torch.nn.Sequential
        The state-value network (hidden layers ``config.hidden``), trained
        only with ``baseline="value"``.
    torch_optimizer : torch.optim.Optimizer
        Adam or SGD (``config.optimizer``) over the policy and value weights.
    env_steps : int
        Environment steps taken in training so far.
    updates : int
        Optimiser updates taken so far.

    The record of training is :attr:`history` (a property, below).

    Notes
    -----
    The settings were once passed as ``config=ReinforceConfig(...)``; that
    still works, with a ``FutureWarning``, and is refused beside a setting
    given as a keyword. ``alpha`` is the weight of the KL to the reference
    policy: the knob that chapters 6 and 7 call beta.

    Examples
    --------
    >>> agent = MaxEntReinforce(
    ...     "CartPole-v1", alpha=0.01, batch_steps=200, num_envs=2, seed=0
    ... )
    >>> history = agent.train(400, progress=False)
    >>> list(history)[:3]
    ['update', 'env_steps', 'mean_return']
    >>> len(history)  # and mean_soft_return, entropy, wall_time
    6
    >>> agent.config.alpha, agent.config.num_envs, history.x
    (0.01, 2, 'env_steps')
    """

    @_config_as_settings
    def __init__(
        self,
        env: str | gym.Env | Callable[[], gym.Env],
        *,
        alpha: float = 0.01,
        gamma: float = 1.0,
        lr: float = 1e-2,
        hidden: Sequence[int] = (64,),
        batch_steps: int = 2_000,
        num_envs: int = 8,
        baseline: str = "value",
        normalize_advantages: bool = True,
        optimizer: str = "adam",
        seed: Seed = None,
        env_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.config = ReinforceConfig(
            alpha=alpha,
            gamma=gamma,
            lr=lr,
            hidden=hidden,  # type: ignore[arg-type]  # made a tuple
            batch_steps=batch_steps,
            num_envs=num_envs,
            baseline=baseline,
            normalize_advantages=normalize_advantages,
            optimizer=optimizer,
        )
        rng = make_rng(seed)
        self.env_source = EnvSource(env, env_kwargs)
        source = self.env_source
        self.env_id, self.env_kwargs = source.env_id, source.env_kwargs
        self.observation_space = source.observation_space
        self.action_space = source.action_space
        self.n_inputs = source.n_inputs
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
            self.value = mlp(self.n_inputs, self.config.hidden, 1)
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
        self._rows: list[dict[str, float]] = []  # one per update in train
        self._envs: list[gym.Env] = []  # made on first use
        self._last_mean_length: float | None = None  # of the last batch
        self._start = time.perf_counter()
        self.env_steps = 0
        self.updates = 0

    @property
    def history(self) -> History:
        """One row per update of :meth:`train` (see the class notes)."""
        if not self._rows:
            return RowsHistory(
                {name: [] for name in HISTORY_COLUMNS}, x="env_steps"
            )
        return RowsHistory.from_rows(self._rows, x="env_steps")

    # --- training: collect -> soft returns -> loss -> update ---------------

    @renamed_keywords(total_steps="env_steps")
    @limited_threads
    def train(
        self, env_steps: int, *, progress: bool | None = None
    ) -> History:
        """Run updates until ``env_steps`` more environment steps are taken.

        Parameters
        ----------
        env_steps : int
            Environment steps to take (the last update may overshoot).
            Formerly ``total_steps``, which still works with a
            ``FutureWarning``.
        progress : bool or None, optional
            Show a progress bar; None shows one only in interactive use
            (a terminal or Jupyter), not under pytest or in a pipe.

        Returns
        -------
        History
            :attr:`history`: one row per update of this agent's training.

        Examples
        --------
        >>> agent = MaxEntReinforce("CartPole-v1", batch_steps=100, seed=0)
        >>> history = agent.train(200, progress=False)
        >>> last = int(history["env_steps"][-1])
        >>> agent.env_steps >= 200, last == agent.env_steps
        (True, True)
        """
        env_steps = positive_int(env_steps, "env_steps")
        target = self.env_steps + env_steps
        with tqdm(
            total=env_steps,
            disable=not show_progress(progress),
            unit="step",
            desc="MaxEntReinforce",
        ) as bar:
            while self.env_steps < target:
                before = self.env_steps
                episodes = self.collect()  # whole episodes, these parameters
                self._rows.append(self.update(episodes))  # one step
                bar.update(min(self.env_steps, target) - before)
                bar.set_postfix(ret=f"{self._rows[-1]['mean_return']:.1f}")
        return self.history

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

    def soft_returns(
        self, episodes: Sequence[Episode]
    ) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        """Log-probabilities and soft rewards-to-go of every step.

        Returns ``(log_probs, returns, entropies)``: ``log_probs`` (with
        gradient) and ``entropies`` are flat over all steps, in episode
        order; ``returns`` holds one tensor per episode. Raises
        ``ValueError`` if the episodes' recorded log-probabilities are not
        the current policy's: a REINFORCE update needs episodes sampled by
        the parameters it updates.

        Examples
        --------
        >>> agent = MaxEntReinforce("CartPole-v1", alpha=0.0, seed=0)
        >>> (episode,) = agent.collect(1)
        >>> _, returns, _ = agent.soft_returns([episode])
        >>> returns[0][-3:].tolist()
        [3.0, 2.0, 1.0]
        """
        check_episodes(episodes, self.n_inputs)
        steps = flatten(episodes)  # every step of the batch, in order
        dist = self.policy(steps.obs)  # pi(. | s_t) at each step
        log_probs = dist.log_prob(steps.actions)  # (steps,)
        self._check_on_policy(log_probs.detach(), steps.recorded)
        # The soft reward r_t - alpha log(pi(a_t|s_t) / prior(a_t)): the KL
        # penalty, step by step, (steps,)
        kl_term = self.config.alpha * (log_probs.detach() - self.log_prior)
        soft = steps.rewards - kl_term
        # G_t = soft_t + gamma G_{t+1}, from each episode's last step back
        returns = []
        for episode_soft in soft.split(steps.lengths):
            g, to_go = 0.0, []
            for reward in reversed(episode_soft.tolist()):
                g = reward + self.config.gamma * g
                to_go.append(g)
            returns.append(torch.tensor(to_go[::-1], dtype=torch.float32))
        return log_probs, returns, dist.entropy()

    def loss(
        self, episodes: Sequence[Episode]
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The surrogate loss of a batch, whose gradient estimates -grad J.

        The value network's loss is added when ``baseline="value"``.
        Returns the loss and the batch's statistics (its row of history).

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
            values = self.value(obs).squeeze(-1)  # (steps,)
            baseline = values.detach()
            value_loss = ((values - g) ** 2).mean()
        else:
            value_loss = torch.zeros(())
            if self.config.baseline == "mean":
                baseline = self._leave_one_out_mean(returns)
            else:
                baseline = torch.zeros_like(g)
        advantages = g - baseline  # (steps,)
        if self.config.normalize_advantages and len(advantages) > 1:
            spread = advantages.std() + 1e-8
            advantages = (advantages - advantages.mean()) / spread
        # Sum over steps, mean over the batch's episodes, whose number was
        # fixed before they were sampled. An unbiased estimate of
        # -grad J_alpha only with gamma = 1 and no normalisation: gamma < 1
        # gives the discounted heuristic direction, and the normalisation,
        # by the batch's own statistics, a slight bias.
        policy_loss = -(log_probs * advantages).sum() / len(episodes)
        stats = {
            "env_steps": self.env_steps,
            "mean_return": float(np.mean([sum(e.rewards) for e in episodes])),
            "mean_soft_return": float(np.mean([r[0].item() for r in returns])),
            "entropy": float(entropy.mean().detach()),
            "wall_time": time.perf_counter() - self._start,
        }
        return policy_loss + value_loss, stats

    @limited_threads
    def update(self, episodes: Sequence[Episode]) -> dict[str, float]:
        """One policy-gradient step on ``episodes``; returns its history row.

        ``episodes`` must have been sampled by the current parameters (as
        :meth:`collect` does); episodes from before an update are refused.

        Examples
        --------
        >>> agent = MaxEntReinforce("CartPole-v1", num_envs=2, seed=0)
        >>> stats = agent.update(agent.collect())
        >>> stats["update"], stats["env_steps"] == agent.env_steps > 0
        (1, True)
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
        self.updates += 1
        return {"update": self.updates, **stats}

    # --- the pieces the update uses ----------------------------------------

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

    @staticmethod
    def _check_on_policy(
        log_probs: torch.Tensor, recorded: torch.Tensor
    ) -> None:
        """REINFORCE needs the actions drawn by this very policy: check it."""
        gap = (log_probs - recorded).abs().max().item()
        if not gap <= 1e-4:  # float32 rounding only (NaN fails too)
            raise ValueError(
                "episodes were not sampled by the current policy: their "
                "recorded log-probabilities differ from its own by up to "
                f"{gap:.3g} (collect a new batch after each update)"
            )

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

    # --- acting in environments --------------------------------------------

    def encode(self, obs: Any) -> NDArray[np.float32]:
        """Observations as network inputs, shape (batch, n_inputs).

        One-hot for ``Discrete`` observations, flattened for ``Box`` ones.
        ``obs`` is one observation or a batch of them, as for :meth:`act`.

        Examples
        --------
        >>> lake = MaxEntReinforce("FrozenLake-v1", hidden=(), seed=0)
        >>> lake.encode([0, 5]).shape
        (2, 16)
        """
        batch, _ = self.env_source.as_batch(obs)
        return self.env_source.encode(batch)

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

    def _environments(self, n_episodes: int) -> list[gym.Env]:
        """The training environments for a batch of ``n_episodes``, made once.

        At most ``num_envs``: one per episode that can run at the same time.
        """
        while len(self._envs) < min(self.config.num_envs, n_episodes):
            self._envs.append(self.env_source.make())
        return self._envs[: min(self.config.num_envs, n_episodes)]

    def _play(
        self,
        envs: Sequence[gym.Env],
        n_episodes: int,
        rng: np.random.Generator,
        generator: torch.Generator,
        deterministic: bool = False,
    ) -> list[Episode]:
        """Run ``n_episodes`` whole episodes in ``envs`` with this policy."""
        return play_episodes(
            envs,
            n_episodes,
            rng=rng,
            encode=self.encode,
            sample=functools.partial(
                self._sample, generator=generator, deterministic=deterministic
            ),
            to_env=self.env_source.to_env,
        )

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
        batch, single = self.env_source.as_batch(obs)
        if len(batch) == 0:  # an empty batch: no actions
            shape = self.action_space.shape or ()
            return self.env_source.to_env(np.empty((0, *shape)))
        sampled, _ = self._sample(
            self.encode(batch), self._play_generator, deterministic
        )
        actions = self.env_source.to_env(sampled)
        return actions[0] if single else actions

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
            self.env_source.make()
            for _ in range(min(n_episodes, self.config.num_envs))
        ]
        episodes = self._play(envs, n_episodes, rng, generator, deterministic)
        for env in envs:
            env.close()
        return np.array([sum(e.rewards) for e in episodes])

    # --- persistence ---------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Save the settings, the environment and the network weights to ``path``.

        The environment is recorded as its id and ``env_kwargs``, or, for an
        instance or a function, as the ``env.spec`` that ``gymnasium.make``
        rebuilds it from (an instance made by ``gymnasium.make`` has one, and
        so does one wrapped in wrappers that record their arguments, such as
        :class:`~klcourse.rl.TimeIndexed`). An environment without such a spec
        cannot be saved. An int seed is saved; a generator is not. The
        history is not saved.

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
        save_agent(self, path)

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
        return load_agent(cls, path)


describe_settings(MaxEntReinforce)
