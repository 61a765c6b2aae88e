"""A tabular agent that learns from sampled episodes (chapter 5).

The policy is a table of log-probabilities log pi_t(a | s), one row per time
step t and state s. The agent never reads the environment's model: it samples
episodes, scores each decision with the soft reward of the chapter,

    r_t - alpha log(pi_t(a_t | s_t) / pi_ref(a_t | s_t)),

and moves the table along the natural gradient of the soft return
J_alpha(pi). For a softmax table the natural gradient is the soft advantage
(see :func:`natural_gradient_step`), estimated from the episodes as

    A(t, s, a) = mean of G_t after taking a in s at time t
                 - mean of G_t after any action in s at time t,

where G_t is the soft reward-to-go. A step of size ``step_size`` (lambda)
moves log pi by lambda / alpha times that estimate; with lambda = 1 and exact
advantages the step is one iteration of soft policy iteration,
pi <- pi_ref exp(Q^pi / alpha) / normaliser.

The model is read (by :func:`train_tabular` only) to score each policy
exactly with :func:`~klcourse.rl.trajectory_kl`; the scores never feed back
into learning.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import logsumexp
from tqdm.auto import tqdm

from klcourse._deprecation import renamed_keywords
from klcourse._history import History
from klcourse._progress import show_progress
from klcourse._random import Seed, derive_seed, make_rng
from klcourse._validation import (
    as_float_array,
    check_size,
    detached,
    finite_array,
    input_precision,
    positive_float,
    positive_int,
    probability_array,
    sum_tolerance,
)
from klcourse.rl._tables import (
    MAX_SCALED_RETURN,
    kl_and_soft_return,
    log_prior_table,
    table_shape,
)
from klcourse.rl.tabular import soft_value_iteration, tabular_mdp

__all__ = [
    "EpisodeBatch",
    "TabularTraining",
    "natural_gradient_step",
    "sample_episodes",
    "train_tabular",
]


@dataclass(frozen=True, eq=False)
class EpisodeBatch:
    """Episodes of a fixed horizon H, as (episodes, H) arrays.

    Step t of episode i is a decision when ``decided[i, t]``; after the
    episode ends (a terminal state) the row is padded with action -1 and
    reward 0.

    Attributes
    ----------
    states, actions : numpy.ndarray of int, shape (B, H)
        The state s_t seen and the action a_t taken.
    rewards : numpy.ndarray, shape (B, H)
        The reward r_t received.
    decided : numpy.ndarray of bool, shape (B, H)
        Whether step t was a decision of the episode.

    Examples
    --------
    >>> import gymnasium as gym
    >>> env = gym.make("FrozenLake-v1", is_slippery=False)
    >>> batch = sample_episodes(env, np.full((3, 16, 4), 0.25), episodes=5,
    ...                         seed=0)
    >>> batch.states.shape, batch.env_steps <= 15
    ((5, 3), True)
    """

    states: NDArray[np.int64]
    actions: NDArray[np.int64]
    rewards: NDArray[np.float64]
    decided: NDArray[np.bool_]

    def __post_init__(self) -> None:
        """Check the four arrays and store them as read-only NumPy copies.

        Every array has the same shape (B, H) with B, H >= 1; states and
        actions are integers, ``decided`` booleans, rewards finite. A
        decision has a state and an action >= 0; after an episode ends,
        nothing happens: no decision follows, the action is -1 and the
        reward 0.
        """
        decided = np.asarray(self.decided)
        if decided.dtype != np.bool_:
            raise TypeError(
                f"decided must be an array of bool, got dtype {decided.dtype}"
            )
        if decided.ndim != 2 or 0 in decided.shape:
            raise ValueError(
                "decided must have shape (episodes, H) with both at least 1, "
                f"got {decided.shape}"
            )
        arrays: dict[str, NDArray[Any]] = {"decided": decided}
        for name in ("states", "actions"):
            arrays[name] = _integers(getattr(self, name), name)
        arrays["rewards"] = finite_array(
            self.rewards, "rewards", allow_bool=False
        )
        for name, array in arrays.items():
            if array.shape != decided.shape:
                raise ValueError(
                    f"{name} must have the shape of decided, "
                    f"{decided.shape}, got {array.shape}"
                )
        _check_padding(arrays)
        for name, array in arrays.items():
            array = np.array(array)
            array.setflags(write=False)
            object.__setattr__(self, name, array)

    @property
    def env_steps(self) -> int:
        """The number of environment steps in the batch."""
        return int(self.decided.sum())


def _integers(value: Any, name: str) -> NDArray[np.int64]:
    """An array of integers (any integer dtype), refusing floats and booleans."""
    try:
        array = np.asarray(detached(value))
    except ValueError as error:  # a ragged list
        raise ValueError(
            f"{name} must be a rectangular array ({error})"
        ) from error
    if array.dtype.kind not in "iu":
        raise TypeError(
            f"{name} must be an array of integers, got dtype {array.dtype}"
        )
    return array.astype(np.int64)


def _check_padding(arrays: dict[str, NDArray[Any]]) -> None:
    """Decisions have states and actions >= 0; the padding after an end is inert."""
    decided = arrays["decided"]
    if np.any(arrays["states"][decided] < 0):
        raise ValueError("states must be >= 0 wherever a decision was taken")
    if np.any(arrays["actions"][decided] < 0):
        raise ValueError("actions must be >= 0 wherever a decision was taken")
    if np.any(arrays["actions"][~decided] != -1) or np.any(
        arrays["rewards"][~decided] != 0
    ):
        raise ValueError(
            "actions must be -1 and rewards 0 after an episode ends (where "
            "decided is False)"
        )
    ends = ~decided[:, :-1] & decided[:, 1:]
    if np.any(ends):
        raise ValueError(
            "decided must be True for an episode's first steps and False "
            "after it ends; an episode cannot resume"
        )


def _toy_text(env: Any) -> Any:
    raw = getattr(env, "unwrapped", env)
    if not isinstance(getattr(raw, "P", None), dict):
        raise TypeError(
            "env must be a toy-text environment with a transition table "
            f"env.unwrapped.P, got {env!r}"
        )
    return raw


def sample_episodes(
    env: Any, policy: ArrayLike, *, episodes: int, seed: Seed = None
) -> EpisodeBatch:
    """Run a time-dependent tabular policy for ``episodes`` episodes.

    Each episode starts from ``env.reset`` and lasts ``H = len(policy)``
    decisions or until a terminal state. The episodes step
    ``env.unwrapped`` (the environment whose model :func:`tabular_mdp`
    reads), so wrappers such as a time limit do not cut them short.

    Parameters
    ----------
    env : gymnasium.Env
        A toy-text environment (FrozenLake, CliffWalking, ...); it is reset
        and stepped.
    policy : array_like, shape (H, S, A)
        ``policy[t, s]`` is the distribution of the action at time t in s.
    episodes : int
        Number of episodes B.
    seed : int, numpy.random.Generator or None, optional
        Seeds the actions and the environment's first reset.

    Returns
    -------
    EpisodeBatch

    Examples
    --------
    >>> import gymnasium as gym
    >>> env = gym.make("FrozenLake-v1", is_slippery=False)
    >>> right = np.zeros((2, 16, 4)); right[..., 2] = 1.0
    >>> sample_episodes(env, right, episodes=1, seed=0).states.tolist()
    [[0, 1]]
    """
    raw = _toy_text(env)
    n_states, n_actions = raw.observation_space.n, raw.action_space.n
    pi = probability_array(policy, "policy", axis=-1, allow_bool=False)
    if pi.ndim != 3 or pi.shape[1:] != (n_states, n_actions) or not len(pi):
        raise ValueError(
            f"policy must have shape (H, {n_states}, {n_actions}) for this "
            f"env, with a horizon H of at least 1, got {pi.shape}"
        )
    n = positive_int(episodes, "episodes")
    # four (episodes, H) arrays and the random draws
    check_size(5 * n * len(pi), f"episodes={n:,} of {len(pi)} steps")
    rng = make_rng(seed)
    horizon = pi.shape[0]
    cumulative = np.cumsum(pi, axis=-1)
    cumulative[..., -1] = 1.0  # guard against rounding in the last sum
    draws = rng.random((n, horizon))
    states = np.zeros((n, horizon), dtype=np.int64)
    actions = np.full((n, horizon), -1, dtype=np.int64)
    rewards = np.zeros((n, horizon))
    decided = np.zeros((n, horizon), dtype=bool)
    s, _ = raw.reset(seed=derive_seed(rng))
    for i in range(n):
        if i:
            s, _ = raw.reset()
        for t in range(horizon):
            # the first action whose cumulative probability exceeds the draw
            a = int(np.searchsorted(cumulative[t, s], draws[i, t], "right"))
            states[i, t], actions[i, t], decided[i, t] = s, a, True
            s, reward, terminated, _, _ = raw.step(a)
            rewards[i, t] = reward
            if terminated:
                break
    return EpisodeBatch(states, actions, rewards, decided)


def _step_inputs(
    log_policy: ArrayLike,
    batch: Any,
    alpha: Any,
    step_size: Any,
    prior: ArrayLike | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], float, float]:
    """Check the arguments of :func:`natural_gradient_step`.

    Returns log pi, log pi_ref (both (H, S, A)), alpha and the step size.
    """
    log_pi = as_float_array(log_policy, "log_policy", allow_bool=False)
    if log_pi.ndim != 3 or 0 in log_pi.shape:
        raise ValueError(
            f"log_policy must have shape (H, S, A), none of them 0, got "
            f"{log_pi.shape}"
        )
    if np.isnan(log_pi).any() or np.isposinf(log_pi).any():
        raise ValueError("log_policy must not contain NaN or +inf")
    with np.errstate(divide="ignore"):  # a row of -inf is caught below
        row_logs = logsumexp(log_pi, axis=-1)
    tolerance = sum_tolerance(input_precision(log_policy), log_pi.shape[-1])
    if not np.all(np.abs(row_logs) <= tolerance):
        worst = row_logs.ravel()[np.argmax(np.abs(row_logs).ravel())]
        raise ValueError(
            "log_policy must hold log-probabilities whose rows sum to 1 "
            f"after exp, but a row's log-sum-exp is {worst:.6g}; pass "
            "np.log(policy), not the policy or unnormalised logits"
        )
    if not isinstance(batch, EpisodeBatch):
        raise TypeError(
            f"batch must be an EpisodeBatch, got {type(batch).__name__}"
        )
    if batch.states.shape[1] != log_pi.shape[0]:
        raise ValueError(
            f"batch has episodes of {batch.states.shape[1]} steps, but "
            f"log_policy has a horizon of {log_pi.shape[0]}"
        )
    alpha = positive_float(alpha, "alpha")
    step = positive_float(step_size, "step_size", maximum=1.0)
    log_prior = log_prior_table(prior, log_pi.shape)
    _check_batch_fits(batch, log_pi, log_prior, alpha)
    return log_pi, log_prior, alpha, step


def _check_batch_fits(
    batch: EpisodeBatch,
    log_pi: NDArray[np.float64],
    log_prior: NDArray[np.float64],
    alpha: float,
) -> None:
    """The batch's decisions are possible under log pi and the prior.

    Every state and action indexes the tables, every action taken has a
    probability that is a positive float64 under the policy (which sampled
    the batch) and under the prior (or the KL is infinite), and the returns
    divided by alpha stay inside float64.
    """
    H, S, A = log_pi.shape
    taken = batch.decided
    states, actions = batch.states[taken], batch.actions[taken]
    if states.size and (states.max() >= S or actions.max() >= A):
        raise ValueError(
            f"batch has states up to {states.max()} and actions up to "
            f"{actions.max()}, but log_policy has {S} states and {A} actions"
        )
    t = np.broadcast_to(np.arange(H), taken.shape)[taken]
    for name, table in [("log_policy", log_pi), ("prior", log_prior)]:
        impossible = np.exp(table[t, states, actions]) == 0
        if impossible.any():
            i = int(np.argmax(impossible))
            raise ValueError(
                f"batch takes action {actions[i]} in state {states[i]} at "
                f"t={t[i]}, to which {name} gives probability 0; "
                + (
                    "the batch was not sampled by this policy"
                    if name == "log_policy"
                    else "the KL to the prior would be infinite"
                )
            )
    largest = float(np.abs(batch.rewards).max())
    if H * largest > alpha * MAX_SCALED_RETURN or H * largest > 1e300:
        raise ValueError(
            f"alpha={alpha!r} is too small for rewards up to {largest:g} "
            f"over {H} steps: returns / alpha exceed {MAX_SCALED_RETURN:g} "
            "and the step would overflow float64"
        )


def natural_gradient_step(
    log_policy: ArrayLike,
    batch: EpisodeBatch,
    *,
    alpha: float,
    step_size: float,
    prior: ArrayLike | None = None,
) -> NDArray[np.float64]:
    r"""One natural-gradient step of the soft return, estimated from episodes.

    .. math::
        \log\pi_t(a|s) \leftarrow \log\pi_t(a|s)
            + \frac{\lambda}{\alpha}\,\hat A_t(s, a) + \text{const}

    where :math:`\hat A_t(s, a)` is the mean soft reward-to-go after
    (t, s, a) minus the mean after (t, s) in ``batch``, and 0 for actions
    the batch did not try there (no evidence, no change).

    Parameters
    ----------
    log_policy : array_like, shape (H, S, A)
        log pi_t(a | s) of the policy that sampled ``batch`` (-inf where an
        action is never taken): each row's exponentials sum to one, and
        every action of the batch has a positive probability.
    batch : EpisodeBatch
        Episodes sampled with that policy.
    alpha : float
        Temperature (> 0).
    step_size : float
        lambda in (0, 1]: the fraction of a soft-policy-iteration step.
    prior : array_like, shape (S, A) or (H, S, A), optional
        The reference policy (uniform if omitted); positive wherever the
        batch acted, or the soft rewards would be infinite.

    Returns
    -------
    numpy.ndarray, shape (H, S, A)
        The new log-probabilities (each row normalised).

    Raises
    ------
    ValueError
        For a ``log_policy`` that is not normalised (probabilities or raw
        logits), a batch that does not fit the table or took an action
        the policy or the prior rules out, and an alpha so small that
        returns / alpha pass 1e300.

    Examples
    --------
    >>> batch = EpisodeBatch(  # two one-step episodes in state 0
    ...     states=np.array([[0], [0]]), actions=np.array([[0], [1]]),
    ...     rewards=np.array([[1.0], [0.0]]), decided=np.ones((2, 1), bool),
    ... )
    >>> uniform = np.log(np.full((1, 1, 2), 0.5))
    >>> new = natural_gradient_step(uniform, batch, alpha=1.0, step_size=1.0)
    >>> np.exp(new[0, 0]).round(4)  # soft policy iteration: pi ~ e^(r)
    array([0.7311, 0.2689])
    """
    log_pi, log_prior, alpha, step = _step_inputs(
        log_policy, batch, alpha, step_size, prior
    )
    H, S, A = log_pi.shape
    # the (t, s, a) of every decision in the batch, flat
    taken = batch.decided
    t = np.broadcast_to(np.arange(H), taken.shape)[taken]
    s, a = batch.states[taken], batch.actions[taken]
    # the soft reward of each decision: r - alpha log(pi / pi_ref), (B, H)
    soft = np.zeros(taken.shape)
    soft[taken] = batch.rewards[taken] - alpha * (
        log_pi[t, s, a] - log_prior[t, s, a]
    )
    # soft reward-to-go G_t = sum_{k >= t} soft_k, (B, H)
    to_go = np.cumsum(soft[:, ::-1], axis=1)[:, ::-1]
    # average G_t over the visits of each (t, s, a) and of each (t, s)
    total, visits = np.zeros((H, S, A)), np.zeros((H, S, A))
    np.add.at(total, (t, s, a), to_go[taken])
    np.add.at(visits, (t, s, a), 1.0)
    state_mean = total.sum(-1, keepdims=True) / np.maximum(
        visits.sum(-1, keepdims=True), 1.0
    )
    advantage = np.where(
        visits > 0, total / np.maximum(visits, 1.0) - state_mean, 0.0
    )
    new = log_pi + step / alpha * advantage
    return new - logsumexp(new, axis=-1, keepdims=True)


@dataclass(frozen=True, eq=False)
class TabularTraining:
    """The result of :func:`train_tabular`.

    Attributes
    ----------
    policy : numpy.ndarray, shape (H, S, A)
        The learned policy pi_t(a | s).
    history : History
        One row per update (x-axis ``"env_steps"``): ``update`` (1, 2,
        ...), ``env_steps`` (environment steps taken by the end of the
        update) and ``kl``, the exact KL(q_pi || P) after it.
    min_kl : float
        The smallest KL any policy reaches (``SoftOptimum.min_kl``).
    settings : dict
        The agent settings used, defaults included (``batch_episodes``,
        ``step_size``).

    Examples
    --------
    >>> import gymnasium as gym
    >>> env = gym.make("FrozenLake-v1", is_slippery=False)
    >>> run = train_tabular(env, horizon=6, alpha=0.5, env_steps=2_000, seed=0)
    >>> run.policy.shape, run.history.x, list(run.history)
    ((6, 16, 4), 'env_steps', ['update', 'env_steps', 'kl'])
    >>> run.settings
    {'batch_episodes': 200, 'step_size': 0.2}
    """

    policy: NDArray[np.float64]
    history: History
    min_kl: float
    settings: dict[str, Any]

    @property
    def kl_history(self) -> NDArray[np.float64]:
        """The column ``history["kl"]`` (deprecated name)."""
        return self._moved("kl_history", "kl")

    @property
    def env_steps(self) -> NDArray[np.int64]:
        """The column ``history["env_steps"]`` (deprecated name)."""
        return self._moved("env_steps", "env_steps")

    def _moved(self, old: str, column: str) -> NDArray[Any]:
        warnings.warn(
            f"TabularTraining.{old} is now TabularTraining.history"
            f"[{column!r}]; {old} will be removed in a later release",
            FutureWarning,
            stacklevel=3,
        )
        return self.history[column]


@renamed_keywords(steps="env_steps")
def train_tabular(
    env: Any,
    *,
    horizon: int,
    alpha: float,
    env_steps: int,
    batch_episodes: int = 200,
    step_size: float = 0.2,
    prior: ArrayLike | None = None,
    seed: Seed = None,
    progress: bool | None = None,
) -> TabularTraining:
    """Train the time-indexed tabular agent on a toy-text environment.

    The policy starts at the prior. Each update samples ``batch_episodes``
    episodes (:func:`sample_episodes`) and takes one
    :func:`natural_gradient_step`; after it the policy is scored exactly
    with the reverse KL to the optimal-trajectory distribution.

    Parameters
    ----------
    env : gymnasium.Env
        A toy-text environment; a copy is stepped, ``env`` is left alone.
    horizon : int
        Decisions per episode H.
    alpha : float
        Temperature (> 0), the weight of the KL to the prior.
    env_steps : int
        Environment steps to train for (the last batch may overshoot).
        Formerly ``steps``, which still works with a ``FutureWarning``.
    batch_episodes : int, default 200
        Episodes per update.
    step_size : float, default 0.2
        lambda of :func:`natural_gradient_step`, in (0, 1].
    prior : array_like, shape (S, A) or (H, S, A), optional
        The reference policy pi_ref (uniform if omitted); the agent never
        takes an action the prior forbids.
    seed : int, numpy.random.Generator or None, optional
        Seeds the actions and the environment's resets.
    progress : bool or None, optional
        Show a progress bar of the environment steps; None shows one only
        in interactive use (a terminal or Jupyter).

    Returns
    -------
    TabularTraining

    Examples
    --------
    >>> import gymnasium as gym
    >>> env = gym.make("FrozenLake-v1", desc=["SF", "FG"], is_slippery=False)
    >>> run = train_tabular(env, horizon=3, alpha=0.5, env_steps=3_000, seed=0)
    >>> bool(run.history["kl"][-1] - run.min_kl < 0.1)
    True
    """
    batch_episodes = positive_int(batch_episodes, "batch_episodes")
    step_size = positive_float(step_size, "step_size", maximum=1.0)
    alpha = positive_float(alpha, "alpha")
    env_steps = positive_int(env_steps, "env_steps")
    show = show_progress(progress)
    mdp = tabular_mdp(env, horizon=horizon)
    log_prior = log_prior_table(prior, table_shape(mdp))
    optimum = soft_value_iteration(mdp, alpha=alpha, prior=prior)
    rng = make_rng(seed)
    own_env = copy.deepcopy(_toy_text(env))
    log_pi = log_prior.copy()  # start at the prior
    kls: list[float] = []
    steps_taken: list[int] = []
    taken = 0
    with tqdm(
        total=env_steps, disable=not show, unit="step", desc="train_tabular"
    ) as bar:
        while taken < env_steps:
            batch = sample_episodes(
                own_env, np.exp(log_pi), episodes=batch_episodes, seed=rng
            )
            taken += batch.env_steps
            log_pi = natural_gradient_step(
                log_pi, batch, alpha=alpha, step_size=step_size, prior=prior
            )
            # trajectory_kl's KL, without recomputing log Z at every update
            kl, _, _ = kl_and_soft_return(np.exp(log_pi), mdp, alpha, prior)
            kls.append(kl)
            steps_taken.append(taken)
            bar.update(min(taken, env_steps) - bar.n)
    history = History(
        {
            "update": np.arange(1, len(kls) + 1),
            "env_steps": np.array(steps_taken, dtype=np.int64),
            "kl": np.array(kls),
        },
        x="env_steps",
    )
    return TabularTraining(
        np.exp(log_pi),
        history,
        optimum.min_kl,
        {"batch_episodes": batch_episodes, "step_size": step_size},
    )
