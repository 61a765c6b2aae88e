"""Maximum-entropy REINFORCE on Gymnasium, in one file (chapter 5).

The agent maximises the soft return

    J_alpha(pi) = E[ sum_t gamma^t (r_t - alpha log(pi(a_t|s_t) / prior(a_t))) ],

which with gamma = 1 is -alpha KL(q_pi || P) + const for the optimal-trajectory
distribution P(tau) ∝ exp(sum_t r_t / alpha) (the prior is uniform for discrete
actions and absent, i.e. 1, for continuous ones). The soft reward enters the
reward-to-go, so the policy gradient is that of J_alpha itself:

    grad J = E[ sum_t grad log pi(a_t|s_t) (G_t - b(s_t)) ],
    G_t = sum_{k>=t} gamma^(k-t) (r_k - alpha log(pi(a_k|s_k) / prior(a_k))).

The baseline b(s_t) does not depend on the action, so it leaves the gradient
unbiased while reducing its variance.

Episodes end at ``terminated`` or ``truncated``. A truncation (a time limit) is the
end of the finite horizon that the objective sums over, so the return is not
bootstrapped past it -- the same horizon the exact tabular check uses.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn
from tqdm.auto import tqdm

__all__ = ["Episode", "MaxEntReinforce", "Policy"]

D = torch.distributions


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
        widths = [n_inputs, *hidden]
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b, dtype=torch.float32), nn.Tanh()]
        layers.append(nn.Linear(widths[-1], n_out, dtype=torch.float32))
        self.body = nn.Sequential(*layers)
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


def _check_positive(value: Any, name: str) -> None:
    """Refuse anything but a positive int (bools included) with a ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


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
    alpha : float
        Temperature of the entropy term (>= 0; 0 is plain REINFORCE).
    gamma : float
        Discount in (0, 1]; 1 makes the objective exactly the reverse KL.
    lr : float
        Adam learning rate for the policy (and the value baseline).
    hidden : sequence of int
        Hidden layers of the policy and value networks.
    batch_steps : int
        Environment steps of finished episodes per update.
    num_envs : int
        Environments stepped together (``gymnasium.vector.SyncVectorEnv``).
    baseline : {"value", "mean", "none"}
        A learned state-value network, the batch mean of the returns at each time
        step, or nothing.
    normalize_advantages : bool
        Rescale advantages to unit variance per batch (changes the step size, not
        the direction in expectation).
    optimizer : {"adam", "sgd"}
        Adam suits networks; plain SGD suits tables of logits, where Adam's
        per-parameter normalisation blows up the noisy gradients of rarely visited
        states.
    seed : int, optional
        Seeds torch (weights, action sampling), the environments and their action
        spaces: one seed reproduces a run exactly.
    env_kwargs : dict, optional
        Extra arguments for ``gymnasium.make``.

    Attributes
    ----------
    policy : Policy
        Maps encoded observations to an action distribution.
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
    """

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
        seed: int | None = None,
        env_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if (
            not isinstance(alpha, (int, float))
            or isinstance(alpha, bool)
            or not (math.isfinite(alpha) and alpha >= 0)
        ):
            raise ValueError(
                f"alpha must be a non-negative number, got {alpha!r}"
            )
        if not isinstance(gamma, (int, float)) or not 0 < gamma <= 1:
            raise ValueError(f"gamma must be in (0, 1], got {gamma!r}")
        if not isinstance(lr, (int, float)) or not (
            math.isfinite(lr) and lr > 0
        ):
            raise ValueError(f"lr must be a positive number, got {lr!r}")
        if optimizer not in ("adam", "sgd"):
            raise ValueError(
                f"optimizer must be 'adam' or 'sgd', got {optimizer!r}"
            )
        if baseline not in ("value", "mean", "none"):
            raise ValueError(
                f"baseline must be 'value', 'mean' or 'none', got {baseline!r}"
            )
        _check_positive(batch_steps, "batch_steps")
        _check_positive(num_envs, "num_envs")
        if not (isinstance(env, (str, gym.Env)) or callable(env)):
            raise TypeError(
                f"env must be an environment id, a gymnasium.Env or a function returning one, got {type(env).__name__}"
            )
        self.env_spec = env if isinstance(env, str) else None
        self.alpha, self.gamma, self.lr, self.hidden = (
            float(alpha),
            float(gamma),
            float(lr),
            tuple(hidden),
        )
        self.batch_steps, self.num_envs, self.baseline = (
            batch_steps,
            num_envs,
            baseline,
        )
        self.normalize_advantages, self.seed = normalize_advantages, seed
        self.env_kwargs = dict(env_kwargs or {})
        # An instance is copied for every vector slot and for evaluation, so that they never share state.
        self._env_factory = (
            (lambda: copy.deepcopy(env))
            if isinstance(env, gym.Env)
            else (None if isinstance(env, str) else env)
        )
        probe = self._make_env()
        self.observation_space, self.action_space = (
            probe.observation_space,
            probe.action_space,
        )
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
            self.log_prior = 0.0  # no prior density for continuous actions: differential entropy
        self.generator = torch.Generator().manual_seed(
            seed if seed is not None else int(torch.seed() % 2**62)
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(
                int(torch.randint(2**62, (1,), generator=self.generator))
            )
            self.policy = Policy(self.n_inputs, self.action_space, self.hidden)
            self.value = nn.Sequential(
                nn.Linear(self.n_inputs, 64, dtype=torch.float32),
                nn.Tanh(),
                nn.Linear(64, 1, dtype=torch.float32),
            )
        self.optimizer = optimizer
        parameters = [*self.policy.parameters(), *self.value.parameters()]
        self.optimiser = (
            torch.optim.Adam(parameters, lr=self.lr)
            if optimizer == "adam"
            else torch.optim.SGD(parameters, lr=self.lr)
        )
        self.history: list[dict[str, float]] = []
        self._envs: gym.vector.VectorEnv | None = None
        self.env_steps = 0

    # --- environments --------------------------------------------------------------------

    def _make_env(self) -> gym.Env:
        if self._env_factory is not None:
            return self._env_factory()
        assert self.env_spec is not None
        return gym.make(self.env_spec, **self.env_kwargs)

    def encode(self, obs: Any) -> NDArray[np.float32]:
        """Observations as network inputs: one-hot for Discrete, flattened for Box. Shape (batch, n_inputs)."""
        obs = np.asarray(obs)
        if isinstance(self.observation_space, gym.spaces.Discrete):
            return np.eye(self.n_inputs, dtype=np.float32)[
                obs.astype(np.int64).reshape(-1)
            ]
        return obs.reshape(-1, self.n_inputs).astype(np.float32)

    def _act(
        self, encoded: NDArray[np.float32], deterministic: bool = False
    ) -> NDArray[Any]:
        """Sample (or take the mode of) the policy's actions with the agent's own generator."""
        with torch.no_grad():
            dist = self.policy(torch.from_numpy(encoded))
            if isinstance(dist, D.Categorical):
                if deterministic:
                    return dist.probs.argmax(-1).numpy()
                return torch.multinomial(
                    dist.probs, 1, generator=self.generator
                )[:, 0].numpy()
            mean, std = dist.base_dist.loc, dist.base_dist.scale
            if deterministic:
                return mean.numpy()
            return (
                mean
                + std
                * torch.randn(
                    mean.shape, generator=self.generator, dtype=mean.dtype
                )
            ).numpy()

    def _to_env(self, actions: NDArray[Any]) -> NDArray[Any]:
        if isinstance(
            self.action_space, gym.spaces.Box
        ):  # the sampled action is learned from; the env gets it clipped
            return np.clip(
                actions, self.action_space.low, self.action_space.high
            ).reshape((-1, *self.action_space.shape))
        return actions

    # --- training ------------------------------------------------------------------------

    def train(
        self, total_steps: int, *, progress: bool = True
    ) -> list[dict[str, float]]:
        """Run updates until ``total_steps`` more environment steps have been taken.

        Returns the history (one dict per update: ``env_steps``, ``mean_return``,
        ``mean_soft_return``, ``entropy``, ``wall_time``).
        """
        _check_positive(total_steps, "total_steps")
        target = self.env_steps + total_steps
        with tqdm(
            total=total_steps,
            disable=not progress,
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
                [self._make_env for _ in range(self.num_envs)]
            )
            obs, _ = self._envs.reset(seed=self.seed)
            self._envs.action_space.seed(self.seed)
            self._obs = self.encode(obs)
            self._running = [Episode() for _ in range(self.num_envs)]
            self._resetting = np.zeros(self.num_envs, dtype=bool)
            self._start = time.perf_counter()
        return self._envs

    def collect(self, min_steps: int | None = None) -> list[Episode]:
        """Step all environments until finished episodes hold ``min_steps`` steps (default ``batch_steps``).

        Episodes still running are kept and continued by the next call. The step that
        a vector environment spends resetting a finished sub-environment (gymnasium's
        next-step autoreset) is skipped: it is not a transition of either episode.
        """
        envs = self._start_envs()
        needed = self.batch_steps if min_steps is None else min_steps
        finished: list[Episode] = []
        collected = 0  # steps in finished episodes
        while collected < needed:
            actions = self._act(self._obs)
            next_obs, rewards, terminated, truncated, _ = envs.step(
                self._to_env(actions)
            )
            for i, episode in enumerate(self._running):
                if self._resetting[
                    i
                ]:  # this step only reset env i (autoreset): nothing to learn from it
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
        """
        obs = np.stack([o for e in episodes for o in e.obs])
        actions = np.stack([a for e in episodes for a in e.actions])
        rewards = [r for e in episodes for r in e.rewards]
        dist = self.policy(torch.from_numpy(obs))
        log_probs = dist.log_prob(torch.as_tensor(actions))  # (steps,)
        # The soft reward r - alpha log(pi / U): the KL penalty, step by step.
        kl_term = self.alpha * (log_probs.detach() - self.log_prior)
        soft = torch.tensor(rewards, dtype=torch.float32) - kl_term
        returns, start = [], 0
        for episode in episodes:
            steps = soft[start : start + len(episode.rewards)].tolist()
            g, out = 0.0, []
            for reward in reversed(steps):  # discounted sum, from the end
                g = reward + self.gamma * g
                out.append(g)
            returns.append(torch.tensor(out[::-1], dtype=torch.float32))
            start += len(episode.rewards)
        return log_probs, returns, dist.entropy()

    def loss(
        self, episodes: Sequence[Episode]
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """A surrogate loss whose gradient estimates -grad J_alpha.

        The value network's loss is added when ``baseline="value"``. Returns
        the loss and the history entry for ``episodes``.
        """
        log_probs, returns, entropy = self.soft_returns(episodes)
        g = torch.cat(returns)  # (steps,) soft reward-to-go
        obs = torch.from_numpy(np.stack([o for e in episodes for o in e.obs]))
        if self.baseline == "value":
            values = self.value(obs).squeeze(-1)
            baseline = values.detach()
            value_loss = ((values - g) ** 2).mean()
        else:
            value_loss = torch.zeros(())
            if self.baseline == "mean":
                baseline = self._time_mean(returns)
            else:
                baseline = torch.zeros_like(g)
        advantages = g - baseline
        if self.normalize_advantages and len(advantages) > 1:
            spread = advantages.std() + 1e-8
            advantages = (advantages - advantages.mean()) / spread
        # Sum over steps, mean over episodes: an unbiased estimate of
        # -grad J_alpha.
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

    def update(self, episodes: Sequence[Episode]) -> dict[str, float]:
        """One policy-gradient step on ``episodes``; returns the history entry."""
        loss, stats = self.loss(episodes)
        self.optimiser.zero_grad()
        loss.backward()
        self.optimiser.step()
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

    def evaluate(
        self,
        n_episodes: int = 20,
        *,
        deterministic: bool = False,
        seed: int | None = None,
    ) -> NDArray[np.float64]:
        """Returns (undiscounted, without entropy) of ``n_episodes`` fresh episodes."""
        if (
            isinstance(n_episodes, bool)
            or not isinstance(n_episodes, int)
            or n_episodes < 1
        ):
            raise ValueError(
                f"n_episodes must be a positive integer, got {n_episodes!r}"
            )
        env = self._make_env()
        results = []
        for k in range(n_episodes):
            obs, _ = env.reset(seed=None if seed is None else seed + k)
            total, done = 0.0, False
            while not done:
                action = self._to_env(
                    self._act(self.encode(obs), deterministic)
                )[0]
                obs, reward, terminated, truncated, _ = env.step(action)
                total += float(reward)
                done = terminated or truncated
            results.append(total)
        return np.array(results)

    def save(self, path: str | Path) -> None:
        """Save the configuration and the network weights (state dicts) to ``path``."""
        if self.env_spec is None:
            raise ValueError(
                "an agent built on an environment instance cannot be saved; build it from an id"
            )
        config = {
            "env": self.env_spec,
            "alpha": self.alpha,
            "gamma": self.gamma,
            "lr": self.lr,
            "hidden": list(self.hidden),
            "batch_steps": self.batch_steps,
            "num_envs": self.num_envs,
            "baseline": self.baseline,
            "normalize_advantages": self.normalize_advantages,
            "optimizer": self.optimizer,
            "seed": self.seed,
            "env_kwargs": self.env_kwargs,
        }
        torch.save(
            {
                "config": json.dumps(config),
                "policy": self.policy.state_dict(),
                "value": self.value.state_dict(),
                "env_steps": self.env_steps,
            },
            path,
        )

    @classmethod
    def load(cls, path: str | Path) -> MaxEntReinforce:
        """Rebuild an agent saved with :meth:`save` (weights only: ``torch.load(weights_only=True)``)."""
        state = torch.load(path, weights_only=True)
        config = json.loads(state["config"])
        agent = cls(config.pop("env"), **config)
        agent.policy.load_state_dict(state["policy"])
        agent.value.load_state_dict(state["value"])
        agent.env_steps = int(state["env_steps"])
        return agent


def _check_spaces(
    observation_space: gym.Space, action_space: gym.Space
) -> None:
    if not isinstance(action_space, (gym.spaces.Discrete, gym.spaces.Box)):
        raise TypeError(
            f"action space must be Discrete or Box, got {type(action_space).__name__}"
        )
    if not isinstance(
        observation_space, (gym.spaces.Discrete, gym.spaces.Box)
    ):
        raise TypeError(
            f"observation space must be Discrete or Box, got {type(observation_space).__name__}"
        )
