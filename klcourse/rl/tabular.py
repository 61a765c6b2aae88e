"""Exact control as inference on small tabular MDPs (chapter 5).

Given a reference policy pi_ref (uniform by default) and a temperature
alpha > 0, the distribution of optimal trajectories over a horizon of H
decisions is

    P(tau) = p(s_0) prod_t p(s_{t+1} | s_t, a_t) pi_ref(a_t | s_t)
             exp(r(s_t, a_t) / alpha) / Z.

A policy pi induces q_pi(tau) = p(s_0) prod_t p(s_{t+1} | s_t, a_t)
pi_t(a_t | s_t), and the dynamics cancel in the ratio:

    KL(q_pi || P) = log Z - J_alpha(pi) / alpha,
    J_alpha(pi) = E_q[ sum_t r(s_t, a_t)
                       - alpha log(pi_t(a_t | s_t) / pi_ref(a_t | s_t)) ].

Minimising the reverse KL over policies is maximising the soft return
J_alpha. Its smallest value is log Z - E_{s_0}[V*_0(s_0)] / alpha, where V*
are the soft values of :func:`soft_value_iteration`.

The reward r(s, a) is the *expected* reward of taking a in s. On a task with
random transitions, building P from it or from the reward received on each
transition gives the same optimal policy but a different P, Z and minimum.

Everything here is exact and in float64: arrays, not samples. Terminal states
end the episode: no decision is taken there and no reward is earned, so their
rows of P and R are never read and neither the policy nor the prior enters.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import logsumexp

from klcourse._validation import (
    as_float_array,
    check_size,
    finite_array,
    positive_float,
    positive_int,
    probability_array,
)
from klcourse.rl._tables import (
    MAX_SCALED_RETURN,
    best_allowed,
    evaluate_policy,
    kl_and_soft_return,
    kl_to_p,
    log_prior_table,
    policy_and_prior,
    safe_log,
    table_shape,
    time_table,
)

__all__ = [
    "SoftOptimum",
    "SoftValues",
    "TabularMDP",
    "Trajectories",
    "TrajectoryKL",
    "enumerate_trajectories",
    "soft_value_iteration",
    "soft_values",
    "state_distribution",
    "tabular_mdp",
    "trajectory_kl",
]


def _frozen(array: NDArray[Any]) -> NDArray[Any]:
    """A read-only copy, so that a frozen dataclass stays unchanged."""
    copy = np.array(array)
    copy.setflags(write=False)
    return copy


@dataclass(frozen=True, eq=False)
class TabularMDP:
    """Transition probabilities, rewards and start distribution of a finite MDP.

    Every instance is checked when made (use :meth:`from_arrays` or
    :func:`tabular_mdp`); the arrays are stored as read-only float64 copies.
    Numbers must be numbers (not text or booleans), a policy table of
    H x S x A must fit in 1 GiB, and horizon x max ``|R|`` must stay below
    1e300, so that every sum of rewards is a float64.

    Attributes
    ----------
    P : numpy.ndarray, shape (S, A, S)
        ``P[s, a, s2]`` = p(s2 | s, a).
    R : numpy.ndarray, shape (S, A)
        Expected reward of taking a in s.
    initial : numpy.ndarray, shape (S,)
        Distribution of the start state.
    terminal : numpy.ndarray of bool, shape (S,)
        States where an episode has ended: no decision is taken there and
        their rows of ``P`` and ``R`` are never read.
    horizon : int
        Number of decisions per episode, H.

    Examples
    --------
    >>> import gymnasium as gym
    >>> lake = tabular_mdp(gym.make("FrozenLake-v1"), horizon=5)
    >>> lake.P.shape, lake.R.shape, lake.horizon
    ((16, 4, 16), (16, 4), 5)
    """

    P: NDArray[np.float64]
    R: NDArray[np.float64]
    initial: NDArray[np.float64]
    terminal: NDArray[np.bool_]
    horizon: int

    def __post_init__(self) -> None:
        P = as_float_array(self.P, "P", allow_bool=False)
        if P.ndim != 3 or P.shape[0] != P.shape[2] or 0 in P.shape:
            raise ValueError(
                "P must have shape (S, A, S) with at least one state and one "
                f"action, got {P.shape}"
            )
        n_states = P.shape[0]
        P = probability_array(P, "P", axis=2)
        R = finite_array(self.R, "R", allow_bool=False)
        if R.shape != P.shape[:2]:
            raise ValueError(
                f"R must have shape {P.shape[:2]} to match P, got {R.shape}"
            )
        initial = probability_array(
            self.initial, "initial", axis=-1, allow_bool=False
        )
        if initial.shape != (n_states,):
            raise ValueError(
                f"initial must have shape ({n_states},), got {initial.shape}"
            )
        terminal = np.asarray(self.terminal)
        if terminal.dtype != np.bool_:
            raise TypeError(
                f"terminal must be an array of bool, got dtype {terminal.dtype}"
            )
        if terminal.shape != (n_states,):
            raise ValueError(
                f"terminal must have shape ({n_states},), got {terminal.shape}"
            )
        horizon = positive_int(self.horizon, "horizon")
        check_size(  # a policy table of H x S x A
            horizon * P.shape[0] * P.shape[1],
            f"horizon={horizon:,} with {P.shape[0]} states and {P.shape[1]} "
            "actions",
        )
        largest = float(np.abs(R).max())
        if horizon * largest > MAX_SCALED_RETURN:
            raise ValueError(
                f"R is too large: rewards up to {largest:g} over a horizon of "
                f"{horizon} steps give returns beyond {MAX_SCALED_RETURN:g}, "
                "where float64 sums overflow; rescale the rewards"
            )
        assign = object.__setattr__
        assign(self, "P", _frozen(P))
        assign(self, "R", _frozen(R))
        assign(self, "initial", _frozen(initial))
        assign(self, "terminal", _frozen(terminal))
        assign(self, "horizon", horizon)

    @classmethod
    def from_arrays(
        cls,
        P: ArrayLike,
        R: ArrayLike,
        initial: ArrayLike,
        *,
        horizon: int,
        terminal: ArrayLike | None = None,
    ) -> TabularMDP:
        """Check the arrays of an MDP and build it.

        Parameters
        ----------
        P : array_like, shape (S, A, S)
            Transition probabilities; each ``P[s, a]`` sums to one.
        R : array_like, shape (S, A)
            Finite expected rewards.
        initial : array_like, shape (S,)
            Start distribution.
        horizon : int
            Number of decisions per episode (at least 1).
        terminal : array_like of bool, shape (S,), optional
            States where the episode has ended (default: none).

        Returns
        -------
        TabularMDP

        Examples
        --------
        >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = P[:, 1, 1] = 1.0
        >>> mdp = TabularMDP.from_arrays(
        ...     P, [[0.0, 1.0], [0.0, 0.0]], [1.0, 0.0], horizon=3
        ... )
        >>> mdp.n_states, mdp.n_actions, bool(mdp.terminal.any())
        (2, 2, False)
        """
        n_states = np.shape(P)[0] if np.ndim(P) > 0 else 0
        done = np.zeros(n_states, dtype=bool) if terminal is None else terminal
        return cls(P, R, initial, done, horizon)  # type: ignore[arg-type]

    @property
    def n_states(self) -> int:
        """Number of states S."""
        return int(self.P.shape[0])

    @property
    def n_actions(self) -> int:
        """Number of actions A."""
        return int(self.P.shape[1])

    def replace(self, **changes: Any) -> TabularMDP:
        """A checked copy with some fields changed (``horizon=``, ``initial=``...).

        Examples
        --------
        >>> import gymnasium as gym
        >>> lake = tabular_mdp(gym.make("FrozenLake-v1"), horizon=5)
        >>> lake.replace(horizon=8).horizon
        8
        """
        fields = [field.name for field in dataclasses.fields(self)]
        unknown = sorted(set(changes) - set(fields))
        if unknown:
            raise TypeError(
                f"{unknown[0]} is not a field of TabularMDP; the fields are "
                f"{', '.join(fields)}"
            )
        return dataclasses.replace(self, **changes)


def tabular_mdp(env: Any, *, horizon: int) -> TabularMDP:
    """Read a Gymnasium toy-text environment's model into arrays.

    Uses ``env.unwrapped.P`` (lists of ``(prob, next_state, reward,
    terminated)``) and ``env.unwrapped.initial_state_distrib``. States entered
    by a terminating transition are terminal: absorbing, with zero reward.

    Examples
    --------
    >>> import gymnasium as gym
    >>> env = gym.make("FrozenLake-v1", is_slippery=False)
    >>> mdp = tabular_mdp(env, horizon=8)
    >>> mdp.P.shape, int(mdp.terminal.sum())
    ((16, 4, 16), 5)
    """
    horizon = positive_int(horizon, "horizon")
    model = getattr(getattr(env, "unwrapped", env), "P", None)
    if not isinstance(model, dict):
        raise TypeError(
            "env must be a toy-text environment with a transition table "
            f"env.unwrapped.P, got {env!r}"
        )
    n_states = env.observation_space.n
    n_actions = env.action_space.n
    check_size(  # its transition table
        n_states * n_actions * n_states,
        f"env, with {n_states} states and {n_actions} actions,",
    )
    P = np.zeros((n_states, n_actions, n_states))
    R = np.zeros((n_states, n_actions))
    terminal = np.zeros(n_states, dtype=bool)
    for s, actions in model.items():
        for a, transitions in actions.items():
            for prob, s2, reward, done in transitions:
                P[s, a, s2] += prob
                R[s, a] += prob * reward
                terminal[s2] |= bool(done)
    P[terminal] = 0.0
    ends = np.flatnonzero(terminal)
    P[ends, :, ends] = 1.0  # each terminal state loops to itself
    R[terminal] = 0.0
    initial = np.asarray(env.unwrapped.initial_state_distrib, np.float64)
    return TabularMDP(P, R, initial, terminal, horizon)


def _check_mdp(mdp: Any) -> TabularMDP:
    if not isinstance(mdp, TabularMDP):
        raise TypeError(
            "mdp must be a TabularMDP (TabularMDP.from_arrays or "
            f"tabular_mdp), got {type(mdp).__name__}"
        )
    return mdp


def _check_model(mdp: Any, alpha: Any) -> tuple[TabularMDP, float]:
    """The checks every exact computation starts with: a model and alpha > 0."""
    mdp = _check_mdp(mdp)
    return mdp, _check_alpha(alpha, mdp)


def _check_alpha(alpha: Any, mdp: TabularMDP) -> float:
    """alpha > 0, and not so small that returns / alpha overflow float64.

    Every exact quantity (log Z, log P(tau), the KL) is made of returns
    divided by alpha; past ``MAX_SCALED_RETURN`` their sums and
    differences are no longer float64 numbers.
    """
    alpha = positive_float(alpha, "alpha")
    live = ~mdp.terminal
    largest = float(np.abs(mdp.R[live]).max()) if live.any() else 0.0
    if mdp.horizon * largest > alpha * MAX_SCALED_RETURN:
        raise ValueError(
            f"alpha={alpha!r} is too small for this model: rewards up to "
            f"{largest:g} over {mdp.horizon} steps, divided by alpha, exceed "
            f"{MAX_SCALED_RETURN:g} and overflow float64"
        )
    return alpha


def _log_backward(
    mdp: TabularMDP, alpha: float, log_prior: NDArray[Any]
) -> NDArray[np.float64]:
    """log beta_t(s), t = 0..H: the log-partition function of P from s at step t.

    beta_H = 1, beta_t = 1 at terminal states, and otherwise
    beta_t(s) = sum_a pi_ref(a | s) e^{r(s, a) / alpha} E_{s'}[beta_{t+1}(s')].
    """
    live = ~mdp.terminal
    H, S, _ = log_prior.shape
    log_P = safe_log(mdp.P)
    log_beta = np.zeros((H + 1, S))
    for t in reversed(range(H)):
        # log E_{s'}[beta_{t+1}(s')] for each live (s, a), then the sum over a
        log_next = logsumexp(log_P[live] + log_beta[t + 1], axis=2)
        log_beta[t, live] = logsumexp(
            log_prior[t, live] + mdp.R[live] / alpha + log_next, axis=1
        )
    return log_beta


@dataclass(frozen=True, eq=False)
class SoftOptimum:
    """The result of :func:`soft_value_iteration`.

    Attributes
    ----------
    policy : numpy.ndarray, shape (H, S, A)
        The soft-optimal policy pi*_t(a | s) = pi_ref(a | s)
        exp((Q_t(s, a) - V_t(s)) / alpha); the prior at terminal states.
    V : numpy.ndarray, shape (H + 1, S)
        Soft values V*_t(s), in reward units (V*_H = 0; 0 at terminal states).
    Q : numpy.ndarray, shape (H, S, A)
        Soft action values (0 at terminal states).
    log_partition : float
        log Z of the optimal-trajectory distribution P(tau).
    min_kl : float
        The smallest reverse KL any policy reaches,
        log Z - E_{s_0}[V*_0(s_0)] / alpha (>= 0; zero when the environment's
        chance choices never change log beta), computed as a sum of
        non-negative Jensen gaps so that it keeps its digits for small
        alpha.
    log_beta : numpy.ndarray, shape (H + 1, S)
        log beta_t(s), the log-partition function of P's remaining steps
        from s at step t (0 at t = H and at terminal states);
        Z = E_{s_0}[beta_0(s_0)]. P is a Markov process with start
        p(s_0) beta_0(s_0) / Z and transitions p(s' | s, a) beta_{t+1}(s')
        renormalised.

    Examples
    --------
    >>> P = np.ones((1, 2, 1))  # one state, two actions
    >>> mdp = TabularMDP.from_arrays(P, [[1.0, 0.0]], [1.0], horizon=2)
    >>> optimum = soft_value_iteration(mdp, alpha=1.0)
    >>> optimum.policy.shape, optimum.V.shape, optimum.Q.shape
    ((2, 1, 2), (3, 1), (2, 1, 2))
    >>> round(optimum.min_kl, 6)
    0.0
    """

    policy: NDArray[np.float64]
    V: NDArray[np.float64]
    Q: NDArray[np.float64]
    log_partition: float
    min_kl: float
    log_beta: NDArray[np.float64]


def soft_value_iteration(
    mdp: TabularMDP, *, alpha: float, prior: ArrayLike | None = None
) -> SoftOptimum:
    r"""Finite-horizon soft Bellman backups: the policy that minimises KL(q_pi || P).

    .. math::
        Q_t(s,a) &= r(s,a) + \mathbb E_{s' \sim p(\cdot|s,a)}[V_{t+1}(s')], \\
        V_t(s) &= \alpha \log \textstyle\sum_a \pi_{\mathrm{ref}}(a|s)\,
            e^{Q_t(s,a)/\alpha}, \\
        \pi^*_t(a|s) &= \pi_{\mathrm{ref}}(a|s)\, e^{(Q_t(s,a) - V_t(s))/\alpha}

    The log-partition function comes from a separate, exact backward
    recursion of P(tau), ``log beta_t(s) = log sum_a pi_ref e^{r/alpha}
    E_{s'}[beta_{t+1}(s')]``: an expectation of exponentials where the soft
    values take an exponential of an expectation. The difference,
    log Z - E[V_0] / alpha, is the minimum KL: a sum of Jensen gaps, zero
    exactly when log beta is the same at every possible start and at every
    possible next state of each move.

    Parameters
    ----------
    mdp : TabularMDP
        The model.
    alpha : float
        Temperature (> 0).
    prior : array_like, shape (S, A) or (H, S, A), optional
        The reference policy pi_ref (rows sum to one; zeros forbid actions).
        Uniform if omitted.

    Returns
    -------
    SoftOptimum

    Examples
    --------
    >>> P = np.ones((1, 2, 1))
    >>> mdp = TabularMDP.from_arrays(P, [[1.0, 0.0]], [1.0], horizon=1)
    >>> result = soft_value_iteration(mdp, alpha=1.0)
    >>> np.round(result.policy[0, 0], 4)
    array([0.7311, 0.2689])
    >>> skewed = soft_value_iteration(mdp, alpha=1.0, prior=[[0.2, 0.8]])
    >>> np.round(skewed.policy[0, 0], 4)
    array([0.4046, 0.5954])
    """
    mdp, alpha = _check_model(mdp, alpha)
    log_prior = log_prior_table(prior, table_shape(mdp))
    live = ~mdp.terminal
    H, S, A = log_prior.shape
    V = np.zeros((H + 1, S))
    Q = np.zeros((H, S, A))
    policy = np.exp(log_prior)  # terminal states keep the prior
    for t in reversed(range(H)):
        Q[t, live] = mdp.R[live] + mdp.P[live] @ V[t + 1]
        # shifted by the best allowed Q, so that Q / alpha keeps its digits
        best = best_allowed(Q[t, live], log_prior[t, live])
        logits = log_prior[t, live] + (Q[t, live] - best) / alpha
        log_normaliser = logsumexp(logits, axis=1)
        V[t, live] = best[:, 0] + alpha * log_normaliser
        policy[t, live] = np.exp(logits - log_normaliser[:, None])
    log_beta = _log_backward(mdp, alpha, log_prior)
    log_partition = float(logsumexp(log_beta[0], b=mdp.initial))
    min_kl = kl_to_p(policy, Q, V, mdp, alpha, log_prior)
    return SoftOptimum(policy, V, Q, log_partition, min_kl, log_beta)


@dataclass(frozen=True, eq=False)
class SoftValues:
    """The result of :func:`soft_values`: the soft values of a given policy.

    Attributes
    ----------
    Q : numpy.ndarray, shape (H, S, A)
        Q_t(s, a) = r(s, a) + E_{s'}[V_{t+1}(s')] (0 at terminal states).
    V : numpy.ndarray, shape (H + 1, S)
        V_t(s) = E_{a ~ pi_t}[Q_t(s, a) - alpha log(pi_t(a | s) /
        pi_ref(a | s))] (V_H = 0; 0 at terminal states).
    soft_return : float
        J_alpha(pi) = E_{s_0}[V_0(s_0)].

    Examples
    --------
    >>> P = np.ones((1, 2, 1))
    >>> mdp = TabularMDP.from_arrays(P, [[1.0, 0.0]], [1.0], horizon=2)
    >>> values = soft_values([[0.5, 0.5]], mdp, alpha=1.0)
    >>> values.V[:, 0].round(6).tolist()
    [1.0, 0.5, 0.0]
    """

    Q: NDArray[np.float64]
    V: NDArray[np.float64]
    soft_return: float


def soft_values(
    policy: ArrayLike,
    mdp: TabularMDP,
    *,
    alpha: float,
    prior: ArrayLike | None = None,
) -> SoftValues:
    """The soft values of a policy, by backward recursion (policy evaluation).

    Parameters
    ----------
    policy : array_like, shape (S, A) or (H, S, A)
        A stationary or time-dependent policy (rows are distributions).
    mdp : TabularMDP
        The model.
    alpha : float
        Temperature (> 0).
    prior : array_like, shape (S, A) or (H, S, A), optional
        The reference policy (uniform if omitted). It must be positive
        wherever the policy acts at a non-terminal state.

    Returns
    -------
    SoftValues

    Examples
    --------
    >>> P = np.ones((1, 2, 1))
    >>> mdp = TabularMDP.from_arrays(P, [[1.0, 0.0]], [1.0], horizon=3)
    >>> round(soft_values([[1.0, 0.0]], mdp, alpha=0.5).soft_return, 6)
    1.960279
    """
    mdp, alpha = _check_model(mdp, alpha)
    pi, log_ratio, _ = policy_and_prior(policy, mdp, prior)
    return SoftValues(*evaluate_policy(pi, log_ratio, mdp, alpha))


@dataclass(frozen=True)
class TrajectoryKL:
    """The result of :func:`trajectory_kl`.

    Attributes
    ----------
    kl : float
        KL(q_pi || P) in nats.
    soft_return : float
        J_alpha(pi) = E[sum_t r - alpha log(pi / pi_ref)], in reward units.
    log_partition : float
        log Z; the identity ``kl == log_partition - soft_return / alpha``
        holds to rounding. ``kl`` itself is computed as a sum of
        non-negative terms, a KL and a Jensen gap per step, so that it is
        never negative and keeps its digits where the difference of log Z
        and J / alpha (each of size 1 / alpha) would lose them.

    Examples
    --------
    >>> P = np.ones((1, 2, 1))
    >>> mdp = TabularMDP.from_arrays(P, [[1.0, 0.0]], [1.0], horizon=2)
    >>> result = trajectory_kl([[0.5, 0.5]], mdp, alpha=1.0)
    >>> round(result.kl, 6), round(result.log_partition, 6)
    (0.240229, 1.240229)
    """

    kl: float
    soft_return: float
    log_partition: float


def trajectory_kl(
    policy: ArrayLike,
    mdp: TabularMDP,
    *,
    alpha: float,
    prior: ArrayLike | None = None,
) -> TrajectoryKL:
    """Exact reverse KL from a tabular policy's trajectories to the optimal ones.

    Evaluates the soft return J_alpha(pi) exactly (:func:`soft_values`) and
    log Z by the backward recursion of P(tau); KL = log Z - J/alpha. The KL
    itself is summed from non-negative terms (a KL between action
    distributions and a Jensen gap over next states, per step), so that it
    is never negative and, for small alpha, does not lose its digits in the
    difference of two numbers of size 1/alpha. Its error is then that of
    the values it divides by alpha: about machine epsilon times
    H max ``|r|`` / alpha. An alpha so small that returns / alpha would pass
    1e300 is refused.

    Parameters
    ----------
    policy : array_like, shape (S, A) or (H, S, A)
        A stationary or time-dependent policy (rows are distributions over
        actions).
    mdp : TabularMDP
        The model.
    alpha : float
        Temperature (> 0).
    prior : array_like, shape (S, A) or (H, S, A), optional
        The reference policy pi_ref (uniform if omitted); it must be positive
        wherever the policy acts, or the KL would be infinite.

    Returns
    -------
    TrajectoryKL

    Examples
    --------
    >>> P = np.ones((1, 2, 1))
    >>> mdp = TabularMDP.from_arrays(P, [[1.0, 0.0]], [1.0], horizon=3)
    >>> optimum = soft_value_iteration(mdp, alpha=1.0)
    >>> abs(trajectory_kl(optimum.policy, mdp, alpha=1.0).kl) < 1e-12
    True
    """
    mdp, alpha = _check_model(mdp, alpha)
    kl, soft_return, log_prior = kl_and_soft_return(policy, mdp, alpha, prior)
    log_beta = _log_backward(mdp, alpha, log_prior)
    log_partition = float(logsumexp(log_beta[0], b=mdp.initial))
    return TrajectoryKL(kl, soft_return, log_partition)


def state_distribution(
    policy: ArrayLike, mdp: TabularMDP
) -> NDArray[np.float64]:
    """The distribution of the state s_t under q_pi, for t = 0, ..., H.

    Propagates p(s_0) forward, ``d[t + 1, s2] = sum over s, a of
    d[t, s] pi_t(a | s) p(s2 | s, a)``; an episode that has reached a
    terminal state stays there.

    Parameters
    ----------
    policy : array_like, shape (S, A) or (H, S, A)
        The policy.
    mdp : TabularMDP
        The model.

    Returns
    -------
    numpy.ndarray, shape (H + 1, S)
        Row t is the distribution of s_t (each row sums to one).

    Examples
    --------
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = P[:, 1, 1] = 1.0
    >>> mdp = TabularMDP.from_arrays(P, np.zeros((2, 2)), [1, 0], horizon=2)
    >>> state_distribution([[0.5, 0.5], [0.0, 1.0]], mdp).tolist()
    [[1.0, 0.0], [0.5, 0.5], [0.25, 0.75]]
    """
    mdp = _check_mdp(mdp)
    pi = time_table(policy, "policy", table_shape(mdp))
    live = ~mdp.terminal
    d = np.zeros((mdp.horizon + 1, mdp.n_states))
    d[0] = mdp.initial
    for t in range(mdp.horizon):
        moving = np.where(live, d[t], 0.0)
        d[t + 1] = np.einsum("s,sa,sat->t", moving, pi[t], mdp.P)
        d[t + 1] += np.where(live, 0.0, d[t])  # ended episodes stay put
    return d


@dataclass(frozen=True, eq=False)
class Trajectories:
    """Every trajectory of positive probability, from :func:`enumerate_trajectories`.

    Row n describes one trajectory tau_n. After an episode ends, the state
    stays the terminal state and the action is -1.

    Attributes
    ----------
    mdp : TabularMDP
        The model the trajectories belong to.
    states : numpy.ndarray of int, shape (N, H + 1)
    actions : numpy.ndarray of int, shape (N, H)
    decided : numpy.ndarray of bool, shape (N, H)
        Whether a decision was taken at step t (the episode was still on).
    log_dynamics : numpy.ndarray, shape (N,)
        log p(s_0) + sum_t log p(s_{t+1} | s_t, a_t).
    rewards : numpy.ndarray, shape (N,)
        The total reward sum_t r(s_t, a_t).

    Examples
    --------
    >>> P = np.ones((1, 2, 1))
    >>> mdp = TabularMDP.from_arrays(P, [[1.0, 0.0]], [1.0], horizon=2)
    >>> paths = enumerate_trajectories(mdp)
    >>> paths.actions.tolist(), paths.rewards.tolist()
    ([[0, 0], [0, 1], [1, 0], [1, 1]], [2.0, 1.0, 1.0, 0.0])
    """

    mdp: TabularMDP
    states: NDArray[np.int64]
    actions: NDArray[np.int64]
    decided: NDArray[np.bool_]
    log_dynamics: NDArray[np.float64]
    rewards: NDArray[np.float64]

    def log_q(self, policy: ArrayLike) -> NDArray[np.float64]:
        """log q_pi(tau) of every trajectory: the dynamics and the policy's choices.

        Parameters
        ----------
        policy : array_like, shape (S, A) or (H, S, A)
            The policy.

        Returns
        -------
        numpy.ndarray, shape (N,)

        Examples
        --------
        >>> P = np.ones((1, 2, 1))
        >>> mdp = TabularMDP.from_arrays(P, [[1.0, 0.0]], [1.0], horizon=2)
        >>> paths = enumerate_trajectories(mdp)
        >>> np.exp(paths.log_q([[0.75, 0.25]])).round(4).tolist()
        [0.5625, 0.1875, 0.1875, 0.0625]
        """
        pi = time_table(policy, "policy", table_shape(self.mdp))
        return self.log_dynamics + self._sum_decisions(safe_log(pi))

    def log_p(
        self, *, alpha: float, prior: ArrayLike | None = None
    ) -> NDArray[np.float64]:
        """log P(tau) of every trajectory, normalised by summing over them all.

        The normaliser is the sum over the listed trajectories, computed
        independently of :func:`soft_value_iteration`'s log Z.

        Parameters
        ----------
        alpha : float
            Temperature (> 0).
        prior : array_like, shape (S, A) or (H, S, A), optional
            The reference policy (uniform if omitted).

        Returns
        -------
        numpy.ndarray, shape (N,)

        Examples
        --------
        >>> P = np.ones((1, 2, 1))
        >>> mdp = TabularMDP.from_arrays(P, [[1.0, 0.0]], [1.0], horizon=2)
        >>> paths = enumerate_trajectories(mdp)
        >>> np.exp(paths.log_p(alpha=1.0)).round(4).tolist()
        [0.534, 0.1965, 0.1965, 0.0723]
        """
        alpha = _check_alpha(alpha, self.mdp)
        weights = (
            self.log_dynamics
            + self._sum_decisions(
                log_prior_table(prior, table_shape(self.mdp))
            )
            + self.rewards / alpha
        )
        return weights - logsumexp(weights)

    def _sum_decisions(self, table: NDArray[np.float64]) -> NDArray[Any]:
        """sum_t table[t, s_t, a_t] over the decisions taken."""
        t = np.arange(self.actions.shape[1])
        picked = table[t, self.states[:, :-1], np.maximum(self.actions, 0)]
        return np.where(self.decided, picked, 0.0).sum(axis=1)


def _count_trajectories(mdp: TabularMDP) -> float:
    """The number of trajectories of positive probability, by dynamic programming.

    ``counts[s]`` is the number of partial trajectories now in s; a float,
    so that an astronomically large count is a number (or inf), not an
    overflowing integer.
    """
    branches = (mdp.P > 0).sum(axis=1).astype(np.float64)  # (S, S): #actions
    counts = (mdp.initial > 0).astype(np.float64)
    live = ~mdp.terminal
    with np.errstate(over="ignore"):
        for _ in range(mdp.horizon):
            counts = np.where(live, counts, 0.0) @ branches + np.where(
                live, 0.0, counts
            )
    return float(counts.sum())


def _check_listing(mdp: TabularMDP, limit: int) -> None:
    """Refuse a listing longer than ``limit`` or larger than memory allows."""
    total = _count_trajectories(mdp)
    if total > limit:
        raise ValueError(
            f"max_trajectories is {limit:,}, but this model has {total:.4g} "
            f"trajectories over its horizon of {mdp.horizon}: shorten the "
            "horizon or raise max_trajectories"
        )
    # per trajectory: states, actions, a flag per step and two totals, kept
    # about three times over while listing, or a row of possible moves
    per_row = max(3 * (2 * mdp.horizon + 3), mdp.n_actions * mdp.n_states)
    check_size(
        int(total) * per_row,
        f"horizon={mdp.horizon}, listing {int(total):,} trajectories,",
    )


def enumerate_trajectories(
    mdp: TabularMDP, *, max_trajectories: int = 1_000_000
) -> Trajectories:
    """List every trajectory of positive probability (for checks and pictures).

    The number of trajectories grows like (A x branching)^H, so this is for
    tiny models: it refuses to list more than ``max_trajectories``.

    Parameters
    ----------
    mdp : TabularMDP
        The model.
    max_trajectories : int, optional
        The largest number of trajectories to list.

    Returns
    -------
    Trajectories

    Examples
    --------
    >>> import gymnasium as gym
    >>> env = gym.make("FrozenLake-v1", is_slippery=False)
    >>> paths = enumerate_trajectories(tabular_mdp(env, horizon=3))
    >>> uniform = np.full((16, 4), 0.25)
    >>> len(paths.rewards), round(float(np.exp(paths.log_q(uniform)).sum()), 6)
    (58, 1.0)
    """
    mdp = _check_mdp(mdp)
    limit = positive_int(max_trajectories, "max_trajectories")
    _check_listing(mdp, limit)
    possible = mdp.P > 0
    start = np.flatnonzero(mdp.initial > 0)
    states = start[:, None]
    actions = np.zeros((len(start), 0), dtype=np.int64)
    log_dyn = np.log(mdp.initial[start])
    rewards = np.zeros(len(start))
    for _ in range(mdp.horizon):
        s = states[:, -1]
        on = ~mdp.terminal[s]
        # every (trajectory, action, next state) of positive probability
        n, a, s2 = np.nonzero(on[:, None, None] & possible[s])
        ended = np.flatnonzero(~on)
        states = np.concatenate(
            [
                np.column_stack([states[n], s2]),
                np.column_stack([states[ended], states[ended, -1]]),
            ]
        )
        actions = np.concatenate(
            [
                np.column_stack([actions[n], a]),
                np.column_stack([actions[ended], np.full(len(ended), -1)]),
            ]
        )
        log_dyn = np.concatenate(
            [log_dyn[n] + np.log(mdp.P[s[n], a, s2]), log_dyn[ended]]
        )
        rewards = np.concatenate([rewards[n] + mdp.R[s[n], a], rewards[ended]])
    order = np.lexsort(actions.T[::-1])
    return Trajectories(
        mdp,
        states[order],
        actions[order],
        actions[order] >= 0,
        log_dyn[order],
        rewards[order],
    )
