"""Exact control as inference on small tabular MDPs (chapter 5).

With a uniform action prior U and a temperature alpha, the distribution of optimal
trajectories over a horizon H is

    P(tau) ∝ p(s_0) prod_t p(s_{t+1} | s_t, a_t) U(a_t) exp(r(s_t, a_t) / alpha).

A policy pi induces q_pi(tau) = p(s_0) prod_t p(s_{t+1} | s_t, a_t) pi_t(a_t | s_t), and

    KL(q_pi || P) = log Z - J_alpha(pi) / alpha,
    J_alpha(pi) = E_q[ sum_t r(s_t, a_t) - alpha log(pi_t(a_t | s_t) / U(a_t)) ],

so minimising the reverse KL over policies is maximising the soft return J_alpha.
Everything here is exact: arrays, not samples. Terminal states end the episode: they
are absorbing, give no reward, and their steps count for nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import logsumexp, xlogy

from klcourse._validation import (
    as_float_array,
    finite_array,
    positive_float,
    positive_int,
    probability_array,
)

__all__ = [
    "SoftOptimum",
    "TabularMDP",
    "TrajectoryKL",
    "soft_value_iteration",
    "tabular_mdp",
    "trajectory_kl",
]


@dataclass(frozen=True)
class TabularMDP:
    """Transition probabilities, rewards and start distribution of a finite MDP.

    Attributes
    ----------
    P : numpy.ndarray, shape (S, A, S)
        ``P[s, a, s2]`` = p(s2 | s, a).
    R : numpy.ndarray, shape (S, A)
        Expected reward of taking a in s.
    initial : numpy.ndarray, shape (S,)
        Distribution of the start state.
    terminal : numpy.ndarray of bool, shape (S,)
        States where an episode has ended (absorbing, reward 0).
    horizon : int
        Number of decisions per episode.

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


def tabular_mdp(env: Any, *, horizon: int) -> TabularMDP:
    """Read a Gymnasium toy-text environment's model into arrays.

    Uses ``env.unwrapped.P`` (lists of ``(prob, next_state, reward, terminated)``)
    and ``env.unwrapped.initial_state_distrib``. States entered by a terminating
    transition are made absorbing with zero reward.

    Examples
    --------
    >>> import gymnasium as gym
    >>> mdp = tabular_mdp(gym.make("FrozenLake-v1", is_slippery=False), horizon=8)
    >>> mdp.P.shape, int(mdp.terminal.sum())
    ((16, 4, 16), 5)
    """
    horizon = positive_int(horizon, "horizon")
    model = getattr(getattr(env, "unwrapped", env), "P", None)
    if not isinstance(model, dict):
        raise TypeError(
            f"env must be a toy-text environment with a transition table env.unwrapped.P, got {env!r}"
        )
    n_states = env.observation_space.n
    n_actions = env.action_space.n
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
    initial = np.asarray(env.unwrapped.initial_state_distrib, dtype=np.float64)
    return TabularMDP(P, R, initial, terminal, horizon)


@dataclass(frozen=True)
class SoftOptimum:
    """The result of :func:`soft_value_iteration`.

    Attributes
    ----------
    policy : numpy.ndarray, shape (H, S, A)
        The soft-optimal, time-dependent policy pi*_t(a | s).
    V : numpy.ndarray, shape (H + 1, S)
        Soft values V_t(s) (V_H = 0), in reward units.
    Q : numpy.ndarray, shape (H, S, A)
        Soft action values.
    log_partition : float
        log Z of the optimal-trajectory distribution P(tau).

    Examples
    --------
    >>> P = np.ones((1, 2, 1))  # one state, two actions
    >>> optimum = soft_value_iteration(
    ...     P, [[1.0, 0.0]], [1.0], alpha=1.0, horizon=2
    ... )
    >>> optimum.policy.shape, optimum.V.shape, optimum.Q.shape
    ((2, 1, 2), (3, 1), (2, 1, 2))
    """

    policy: NDArray[np.float64]
    V: NDArray[np.float64]
    Q: NDArray[np.float64]
    log_partition: float


def _check_model(
    P: ArrayLike, R: ArrayLike, initial: ArrayLike, terminal: ArrayLike | None
) -> tuple[
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.bool_],
]:
    """Check the arrays of an MDP: shapes, then probabilities and rewards."""
    P_ = as_float_array(P, "P")
    if P_.ndim != 3 or P_.shape[0] != P_.shape[2]:
        raise ValueError(f"P must have shape (S, A, S), got {P_.shape}")
    n_states = P_.shape[0]
    R_ = finite_array(R, "R")
    if R_.shape != P_.shape[:2]:
        raise ValueError(
            f"R must have shape {P_.shape[:2]} to match P, got {R_.shape}"
        )
    initial_ = probability_array(initial, "initial", axis=-1)
    if initial_.shape != (n_states,):
        raise ValueError(
            f"initial must have shape ({n_states},), got {initial_.shape}"
        )
    P_ = probability_array(P_, "P", axis=2)
    done = (
        np.zeros(n_states, dtype=bool)
        if terminal is None
        else np.asarray(terminal, dtype=bool)
    )
    if done.shape != (n_states,):
        raise ValueError(
            f"terminal must have shape ({n_states},), got {done.shape}"
        )
    return P_, R_, initial_, done


def soft_value_iteration(
    P: ArrayLike,
    R: ArrayLike,
    initial: ArrayLike,
    *,
    alpha: float,
    horizon: int,
    terminal: ArrayLike | None = None,
) -> SoftOptimum:
    r"""Finite-horizon soft Bellman backups: the policy that minimises KL(q_pi || P).

    .. math::
        Q_t(s,a) &= r(s,a) + \mathbb E_{s'}[V_{t+1}(s')], \\
        V_t(s) &= \alpha \log \tfrac{1}{|A|}\sum_a e^{Q_t(s,a)/\alpha}, \\
        \pi^*_t(a|s) &= \tfrac{1}{|A|} e^{(Q_t(s,a) - V_t(s))/\alpha}

    The log-partition function is computed separately, by the exact backward
    recursion of P(tau) (an expectation of exponentials rather than an exponential
    of an expectation): the two agree only when the dynamics are deterministic.

    Parameters
    ----------
    P, R, initial : array_like
        The MDP (see :class:`TabularMDP`).
    alpha : float
        Temperature (> 0).
    horizon : int
        Number of decisions H.
    terminal : array_like of bool, optional
        States where the episode has ended: V = 0 and no decisions count there.

    Returns
    -------
    SoftOptimum

    Examples
    --------
    >>> P = np.zeros((1, 2, 1)); P[0, :, 0] = 1.0
    >>> result = soft_value_iteration(P, [[1.0, 0.0]], [1.0], alpha=1.0, horizon=1)
    >>> np.round(result.policy[0, 0], 4)
    array([0.7311, 0.2689])
    """
    P_, R_, initial_, done = _check_model(P, R, initial, terminal)
    return _soft_value_iteration(
        P_,
        R_,
        initial_,
        done,
        positive_float(alpha, "alpha"),
        positive_int(horizon, "horizon"),
    )


def _soft_value_iteration(
    P: NDArray[np.float64],
    R: NDArray[np.float64],
    initial: NDArray[np.float64],
    done: NDArray[np.bool_],
    alpha: float,
    horizon: int,
) -> SoftOptimum:
    n_states, n_actions = R.shape
    log_prior = -math.log(n_actions)
    V = np.zeros((horizon + 1, n_states))
    Q = np.zeros((horizon, n_states, n_actions))
    policy = np.zeros((horizon, n_states, n_actions))
    # log of the backward message of P(tau), in units of 1/alpha
    log_beta = np.zeros(n_states)
    for t in reversed(range(horizon)):
        Q[t] = R + P @ V[t + 1]
        V[t] = alpha * logsumexp(Q[t] / alpha + log_prior, axis=1)
        V[t, done] = 0.0
        policy[t] = np.exp(log_prior + (Q[t] - V[t][:, None]) / alpha)
        policy[t, done] = 1.0 / n_actions
        # log sum_a U(a) e^{r/alpha} sum_s' p(s'|s,a) beta(s'), in log space
        log_next = logsumexp(
            np.log(P, where=P > 0, out=np.full_like(P, -np.inf)) + log_beta,
            axis=2,
        )
        log_beta = logsumexp(log_prior + R / alpha + log_next, axis=1)
        log_beta[done] = 0.0
    log_partition = float(logsumexp(log_beta, b=initial))
    return SoftOptimum(policy, V, Q, log_partition)


@dataclass(frozen=True)
class TrajectoryKL:
    """The result of :func:`trajectory_kl`.

    Attributes
    ----------
    kl : float
        KL(q_pi || P) in nats.
    soft_return : float
        J_alpha(pi) = E[sum_t r - alpha log(pi / U)], in reward units.
    log_partition : float
        log Z; the identity ``kl == log_partition - soft_return / alpha`` holds.

    Examples
    --------
    >>> P = np.ones((1, 2, 1))
    >>> model = dict(R=[[1.0, 0.0]], initial=[1.0], alpha=1.0, horizon=2)
    >>> uniform = np.full((2, 1, 2), 0.5)
    >>> result = trajectory_kl(uniform, P, **model)
    >>> bool(result.kl > 0)
    True
    >>> gap = result.log_partition - result.soft_return / 1.0
    >>> bool(abs(result.kl - gap) < 1e-12)
    True
    """

    kl: float
    soft_return: float
    log_partition: float


def trajectory_kl(
    policy: ArrayLike,
    P: ArrayLike,
    R: ArrayLike,
    initial: ArrayLike,
    *,
    alpha: float,
    horizon: int,
    terminal: ArrayLike | None = None,
) -> TrajectoryKL:
    """Exact reverse KL from a tabular policy's trajectories to the optimal ones.

    Propagates the state distribution of q_pi forward through the horizon and
    accumulates the soft return exactly; then KL = log Z - J_alpha / alpha.

    Parameters
    ----------
    policy : array_like, shape (S, A) or (H, S, A)
        A stationary or time-dependent policy (rows are distributions over actions).
    P, R, initial, alpha, horizon, terminal
        As for :func:`soft_value_iteration`.

    Returns
    -------
    TrajectoryKL

    Examples
    --------
    >>> P = np.zeros((1, 2, 1)); P[0, :, 0] = 1.0
    >>> model = dict(R=[[1.0, 0.0]], initial=[1.0], alpha=1.0, horizon=3)
    >>> optimum = soft_value_iteration(P, **model)
    >>> abs(trajectory_kl(optimum.policy, P, **model).kl) < 1e-12
    True
    """
    P_, R_, initial_, done = _check_model(P, R, initial, terminal)
    alpha = positive_float(alpha, "alpha")
    horizon = positive_int(horizon, "horizon")
    n_states, n_actions = R_.shape
    pi = as_float_array(policy, "policy")
    if pi.shape == (n_states, n_actions):
        pi = np.broadcast_to(pi, (horizon, n_states, n_actions))
    if pi.shape != (horizon, n_states, n_actions):
        raise ValueError(
            f"policy must have shape (S, A) or (H, S, A) = ({horizon}, {n_states}, {n_actions}), got {pi.shape}"
        )
    pi = probability_array(pi, "policy", axis=-1)
    log_prior = -math.log(n_actions)
    state = initial_.copy()
    soft_return = 0.0
    live = ~done
    for t in range(horizon):
        # r(s,a) - alpha log(pi(a|s) / U(a)) averaged over pi, at states still in play
        per_state = (pi[t] * R_).sum(1) - alpha * (
            xlogy(pi[t], pi[t]).sum(1) - log_prior
        )
        soft_return += float(state[live] @ per_state[live])
        state = np.einsum("s,sa,sat->t", state, pi[t], P_)
    log_partition = _soft_value_iteration(
        P_, R_, initial_, done, alpha, horizon
    ).log_partition
    return TrajectoryKL(
        log_partition - soft_return / alpha, soft_return, log_partition
    )
