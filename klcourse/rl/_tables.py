"""Exact arithmetic on time-indexed tables, shared by the tabular modules.

:mod:`klcourse.rl.tabular` (the exact optimum and the exact KL of any policy)
and :mod:`klcourse.rl.natural` (the agent that learns from episodes and is
scored exactly after every update) both need these: the shape of a policy
table, the checked log-prior, policy evaluation and the KL to the
optimal-trajectory distribution as a sum of non-negative terms.
Everything here takes checked inputs and works in float64.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from klcourse._validation import as_float_array, probability_array

if TYPE_CHECKING:
    from klcourse.rl.tabular import TabularMDP


#: The largest |return| / alpha the exact recursions accept, so that sums and
#: differences of such numbers stay inside float64 (whose largest is 1.8e308).
MAX_SCALED_RETURN = 1e300


def table_shape(mdp: TabularMDP) -> tuple[int, int, int]:
    """(H, S, A): the shape of a time-dependent table of action probabilities."""
    return (mdp.horizon, mdp.n_states, mdp.n_actions)


def time_table(
    value: ArrayLike, name: str, full: tuple[int, ...]
) -> NDArray[np.float64]:
    """An (S, A) or (H, S, A) = ``full`` table of action probabilities, as (H, S, A)."""
    shape = full[1:]
    array = as_float_array(value, name, allow_bool=False)
    if array.shape == shape:
        array = np.broadcast_to(array, full)
    if array.shape != full:
        raise ValueError(
            f"{name} must have shape (S, A) = {shape} or (H, S, A) = "
            f"{full}, got {array.shape}"
        )
    return probability_array(array, name, axis=-1)


def safe_log(array: NDArray[np.float64]) -> NDArray[np.float64]:
    """Elementwise log with log 0 = -inf and no warning."""
    return np.log(array, where=array > 0, out=np.full_like(array, -np.inf))


def log_prior_table(
    prior: ArrayLike | None, full: tuple[int, ...]
) -> NDArray[Any]:
    """log pi_ref as an (H, S, A) = ``full`` table (uniform when ``prior`` is None).

    The one place where a prior is checked, for the exact code and the agent.
    """
    if prior is None:
        return np.full(full, -math.log(full[-1]))
    return safe_log(time_table(prior, "prior", full))


def best_allowed(
    Q: NDArray[np.float64], log_prior: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The largest Q over the actions the prior allows, shape (..., 1)."""
    allowed = np.where(np.isneginf(log_prior), -np.inf, Q)
    return allowed.max(axis=-1, keepdims=True)


def jensen_gap(
    log_weights: NDArray[np.float64],
    c: NDArray[np.float64],
    K: NDArray[np.float64],
) -> NDArray[np.float64]:
    """log E[e^{c + K}] - E[c] along the last axis, never below E[K].

    ``log_weights`` are log-probabilities (-inf where 0), ``c`` centred
    values and ``K`` >= 0; by Jensen's inequality the result is at least
    E[K], so rounding is not allowed to take it below.
    """
    weights = np.exp(log_weights)
    # np.logaddexp.reduce is logsumexp as a ufunc: as exact here, and fast
    # enough for train_tabular to score every update
    log_mean = np.logaddexp.reduce(log_weights + c + K, axis=-1)
    gap = log_mean - (weights * c).sum(-1)
    return np.maximum(gap, (weights * K).sum(-1))


def kl_to_p(
    pi: NDArray[np.float64],
    Q: NDArray[np.float64],
    V: NDArray[np.float64],
    mdp: TabularMDP,
    alpha: float,
    log_prior: NDArray[np.float64],
) -> float:
    """KL(q_pi || P) from the soft values Q, V of pi, as a sum of terms >= 0.

    K_t(s) = log beta_t(s) - V_t(s) / alpha is the KL between the rests of
    q_pi and P from s at step t. With K_H = 0 (and 0 at terminal states),

        G_t(s, a) = log E_{s'}[e^{c(s') + K_{t+1}(s')}] - E_{s'}[c(s')],
        K_t(s) = KL(pi_t(.|s) || P_t(.|s)) + E_{a ~ pi_t}[G_t(s, a)],

    where c = (V_{t+1} - E_{s'}[V_{t+1}]) / alpha and P's action
    distribution is P_t(a|s) ~ pi_ref e^{Q_t(s, a) / alpha + G_t(s, a)};
    the KL is the start's gap, log E[e^{c_0 + K_0}] - E[c_0]. Every term is a
    KL between two distributions or a Jensen gap, computed from differences
    of values, so, unlike log Z - J / alpha, nothing subtracts two numbers
    of size 1 / alpha; a term that rounds below its lower bound (0 for a KL,
    E[K] for a gap) is set to that bound.
    """
    live = ~mdp.terminal
    log_P = safe_log(mdp.P[live])  # (live S, A, S)
    log_pi = safe_log(pi)
    K = np.zeros(mdp.n_states)
    for t in reversed(range(mdp.horizon)):
        expected = mdp.P[live] @ V[t + 1]  # (live S, A)
        c = (V[t + 1] - expected[..., None]) / alpha
        G = jensen_gap(log_P, c, np.broadcast_to(K, c.shape))
        best = best_allowed(Q[t, live], log_prior[t, live])
        logits = log_prior[t, live] + (Q[t, live] - best) / alpha + G
        log_p_act = logits - np.logaddexp.reduce(logits, axis=1)[:, None]
        acting = pi[t, live] > 0  # elsewhere the term is 0 (0 log 0 = 0)
        step = np.zeros_like(log_p_act)
        step[acting] = pi[t, live][acting] * (
            log_pi[t, live][acting] - log_p_act[acting]
        )
        K = np.zeros(mdp.n_states)
        K[live] = np.maximum(step.sum(1), 0.0) + (pi[t, live] * G).sum(1)
    c0 = (V[0] - mdp.initial @ V[0]) / alpha
    return float(jensen_gap(safe_log(mdp.initial), c0, K))


def policy_and_prior(
    policy: ArrayLike, mdp: TabularMDP, prior: ArrayLike | None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Check a policy against the prior: pi, log(pi / pi_ref) where pi acts, log pi_ref."""
    pi = time_table(policy, "policy", table_shape(mdp))
    log_prior = log_prior_table(prior, table_shape(mdp))
    acts = (pi > 0) & ~mdp.terminal[None, :, None]
    forbidden = acts & np.isneginf(log_prior)
    if forbidden.any():
        t, s, a = (int(i) for i in np.argwhere(forbidden)[0])
        raise ValueError(
            f"prior must be positive wherever policy acts, but at t={t}, "
            f"s={s}, a={a} the prior is 0 and the policy gives "
            f"{pi[t, s, a]:.6g} (the KL would be infinite)"
        )
    log_ratio = np.zeros_like(pi)
    log_ratio[acts] = np.log(pi[acts]) - log_prior[acts]
    return pi, log_ratio, log_prior


def evaluate_policy(
    pi: NDArray[np.float64],
    log_ratio: NDArray[np.float64],
    mdp: TabularMDP,
    alpha: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    """Policy evaluation on checked inputs: Q, V and J_alpha (see ``soft_values``)."""
    live = ~mdp.terminal
    H, S, A = pi.shape
    V = np.zeros((H + 1, S))
    Q = np.zeros((H, S, A))
    for t in reversed(range(H)):
        Q[t, live] = mdp.R[live] + mdp.P[live] @ V[t + 1]
        soft_q = Q[t, live] - alpha * log_ratio[t, live]
        V[t, live] = np.einsum("sa,sa->s", pi[t, live], soft_q)
    return Q, V, float(mdp.initial @ V[0])


def kl_and_soft_return(
    policy: ArrayLike, mdp: TabularMDP, alpha: float, prior: ArrayLike | None
) -> tuple[float, float, NDArray[np.float64]]:
    """KL(q_pi || P), J_alpha(pi) and log pi_ref, without log Z's recursion."""
    pi, log_ratio, log_prior = policy_and_prior(policy, mdp, prior)
    Q, V, soft_return = evaluate_policy(pi, log_ratio, mdp, alpha)
    kl = kl_to_p(pi, Q, V, mdp, alpha, log_prior)
    return kl, soft_return, log_prior
