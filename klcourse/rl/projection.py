"""The best stationary policy in each direction of the KL (chapter 5).

The optimal-trajectory distribution P(tau) of a finite horizon is reached
exactly by a time-indexed policy pi*_t(a | s). A *stationary* policy
pi(a | s), one that cannot see the time step, in general cannot reproduce
it, and then the direction of the divergence decides which stationary
policy is best:

- forward, min over pi of KL(P || q_pi): the dynamics cancel, and what is
  left is the expected log-likelihood of P's decisions,
  sum over (s, a) of N_P(s, a) log pi(a | s), where N_P(s, a) is how often
  P takes a in s, summed over the steps. Per state this is a cross-entropy,
  smallest at pi(a | s) = N_P(s, a) / sum_b N_P(s, b): P's action
  frequencies in each state, in closed form (maximum likelihood on P's
  trajectories);
- reverse, min over pi of KL(q_pi || P) = log Z - J_alpha(pi) / alpha:
  maximum-entropy RL restricted to stationary policies, found by
  BFGS on the logits with the exact gradient
  sum_t d_t(s) pi(a | s) A_t(s, a) of the chapter's recursions.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import logsumexp, softmax

from klcourse._validation import DIRECTIONS, check_choice
from klcourse.rl._tables import (
    evaluate_policy,
    log_prior_table,
    policy_and_prior,
    safe_log,
)
from klcourse.rl.tabular import (
    TabularMDP,
    soft_value_iteration,
    state_distribution,
    trajectory_kl,
)

__all__ = ["StationaryProjection", "stationary_projection"]


@dataclass(frozen=True, eq=False)
class StationaryProjection:
    """The result of :func:`stationary_projection`.

    Attributes
    ----------
    policy : numpy.ndarray, shape (S, A)
        The best stationary policy pi(a | s) in ``direction``. States that
        the minimised divergence does not weigh (never visited by P for the
        forward direction, by q_pi for the reverse one, and terminal
        states) keep the reference policy.
    direction : str
        Which divergence was minimised: ``"forward"`` or ``"reverse"``.
    forward_kl : float
        KL(P || q_pi) of ``policy``, in nats (inf if pi forbids a move P
        makes).
    reverse_kl : float
        KL(q_pi || P) of ``policy``, in nats.
    iterations : int
        BFGS iterations of the reverse projection (0 for the forward
        one, which is a closed form).

    Examples
    --------
    >>> P = np.ones((1, 2, 1))
    >>> mdp = TabularMDP.from_arrays(P, [[1.0, 0.0]], [1.0], horizon=1)
    >>> result = stationary_projection(mdp, alpha=1.0, direction="forward")
    >>> np.round(result.policy, 4), round(result.forward_kl, 6) + 0.0
    (array([[0.7311, 0.2689]]), 0.0)
    """

    policy: NDArray[np.float64]
    direction: str
    forward_kl: float
    reverse_kl: float
    iterations: int


def stationary_projection(
    mdp: TabularMDP,
    *,
    alpha: float,
    direction: str,
    prior: ArrayLike | None = None,
) -> StationaryProjection:
    """The stationary policy whose trajectories are closest to P(tau).

    Forward: argmin over stationary pi of KL(P || q_pi), in closed form,
    pi(a | s) = N_P(s, a) / sum_b N_P(s, b) with N_P(s, a) the expected
    number of times P takes a in s. Reverse: argmin of KL(q_pi || P) by
    BFGS on softmax logits, started from the reference policy, with
    exact gradients; the reverse KL is not convex in the logits, so this is
    the local minimum reached from the reference.

    Parameters
    ----------
    mdp : TabularMDP
        The model; P(tau) is built from its horizon, rewards and dynamics.
    alpha : float
        Temperature (> 0).
    direction : {"forward", "reverse"}
        Which divergence to minimise.
    prior : array_like, shape (S, A), optional
        The reference policy pi_ref, stationary like the policies compared
        (uniform if omitted).

    Returns
    -------
    StationaryProjection

    Examples
    --------
    >>> import gymnasium as gym
    >>> from klcourse.rl import tabular_mdp
    >>> lake = tabular_mdp(gym.make("FrozenLake-v1"), horizon=3)
    >>> fwd = stationary_projection(lake, alpha=1.0, direction="forward")
    >>> rev = stationary_projection(lake, alpha=1.0, direction="reverse")
    >>> fwd.forward_kl <= rev.forward_kl, rev.reverse_kl <= fwd.reverse_kl
    (True, True)
    """
    if not isinstance(mdp, TabularMDP):
        raise TypeError(
            "mdp must be a TabularMDP (TabularMDP.from_arrays or "
            f"tabular_mdp), got {type(mdp).__name__}"
        )
    direction = check_choice(direction, "direction", DIRECTIONS)
    stationary = (mdp.n_states, mdp.n_actions)
    if prior is not None and np.shape(prior) != stationary:
        raise ValueError(
            f"prior must be a stationary policy of shape (S, A) = "
            f"{stationary}, got shape {np.shape(prior)}"
        )
    # checks alpha (and the prior), and gives log beta and log Z
    best = soft_value_iteration(mdp, alpha=alpha, prior=prior)
    log_prior = log_prior_table(prior, (mdp.horizon, *stationary))
    if direction == "forward":
        visits = _visits_of_p(mdp, alpha, log_prior, best.log_beta)
        policy = _normalise_visits(visits, np.exp(log_prior[0]))
        iterations = 0
    else:
        policy, iterations = _reverse_optimum(mdp, alpha, log_prior[0], best)
    return StationaryProjection(
        policy=policy,
        direction=direction,
        forward_kl=_forward_kl(mdp, alpha, policy, log_prior, best.log_beta),
        reverse_kl=trajectory_kl(policy, mdp, alpha=alpha, prior=prior).kl,
        iterations=iterations,
    )


def _p_conditionals(
    mdp: TabularMDP,
    alpha: float,
    log_prior: NDArray[np.float64],
    log_beta: NDArray[np.float64],
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """log P(s_0), log P_t(a | s) and log P_t(s' | s, a) at the live states.

    P(s_0) = p(s_0) beta_0 / Z, P_t(a | s) = pi_ref e^{r / alpha}
    beta_bar_{t+1} / beta_t and P_t(s' | s, a) = p beta_{t+1}(s') /
    beta_bar_{t+1}(s, a), where beta_bar_{t+1}(s, a) = E_{s'}[beta_{t+1}].
    Rows of terminal states hold pi_ref and p, and are never read.
    """
    live = ~mdp.terminal
    log_start = safe_log(mdp.initial) + log_beta[0]
    log_start = log_start - logsumexp(log_start)
    log_dyn = safe_log(mdp.P)  # (S, A, S)
    # (H, S, A, S): log p(s'|s, a) + log beta_{t+1}(s')
    log_next = log_dyn[None] + log_beta[1:, None, None, :]
    log_bar = logsumexp(log_next, axis=-1)  # (H, S, A)
    log_act = log_prior + mdp.R / alpha + log_bar - log_beta[:-1, :, None]
    log_move = log_next - log_bar[..., None]
    log_act[:, ~live] = log_prior[:, ~live]  # never read: zero KL terms
    log_move[:, ~live] = log_dyn[~live]
    return log_start, log_act, log_move


def _visits_of_p(
    mdp: TabularMDP,
    alpha: float,
    log_prior: NDArray[np.float64],
    log_beta: NDArray[np.float64],
) -> NDArray[np.float64]:
    """P's state-action visits at each step, (H, S, A), by a forward pass."""
    live = ~mdp.terminal
    log_start, log_act, log_move = _p_conditionals(
        mdp, alpha, log_prior, log_beta
    )
    act, move = np.exp(log_act), np.exp(log_move)
    d = np.exp(log_start)
    visits = np.zeros((mdp.horizon, mdp.n_states, mdp.n_actions))
    for t in range(mdp.horizon):
        visits[t] = np.where(live, d, 0.0)[:, None] * act[t]
        d = np.einsum("sa,sax->x", visits[t], move[t]) + np.where(live, 0.0, d)
    return visits


def _normalise_visits(
    visits: NDArray[np.float64], prior: NDArray[np.float64]
) -> NDArray[np.float64]:
    """sum_t N_t(s, a) normalised over a per state; the prior where N is 0."""
    counts = visits.sum(0)  # (S, A)
    totals = counts.sum(1, keepdims=True)
    shares = counts / np.where(totals > 0, totals, 1.0)
    return np.where(totals > 0, shares, prior)


def _forward_kl(
    mdp: TabularMDP,
    alpha: float,
    policy: NDArray[np.float64],
    log_prior: NDArray[np.float64],
    log_beta: NDArray[np.float64],
) -> float:
    """KL(P || q_pi) by the chain rule with P's conditionals (terms >= 0).

    The start and transition terms, KL(P(s_0) || p(s_0)) and
    KL(P_t(.|s, a) || p(.|s, a)), do not depend on pi; the action terms are
    KL(P_t(.|s) || pi(.|s)), weighted by how often P is in s at step t.
    """
    live = ~mdp.terminal
    log_start, log_act, log_move = _p_conditionals(
        mdp, alpha, log_prior, log_beta
    )
    log_pi = safe_log(np.broadcast_to(policy, log_act.shape))
    act, move = np.exp(log_act), np.exp(log_move)

    def relative(log_p: NDArray[Any], log_q: NDArray[Any]) -> NDArray[Any]:
        # sum of p log(p / q) over the last axis, 0 log 0 = 0
        p = np.exp(log_p)
        with np.errstate(invalid="ignore"):
            terms = np.where(p > 0, p * (log_p - log_q), 0.0)
        return np.maximum(terms.sum(-1), 0.0)

    total = float(relative(log_start, safe_log(mdp.initial)))
    d = np.exp(log_start)
    for t in range(mdp.horizon):
        on = np.where(live, d, 0.0)
        moves = relative(log_move[t], safe_log(mdp.P))  # (S, A)
        total += float(on @ relative(log_act[t], log_pi[t]))
        total += float(on @ (act[t] * moves).sum(1))
        flow = on[:, None] * act[t]
        d = np.einsum("sa,sax->x", flow, move[t]) + np.where(live, 0.0, d)
    return total


def _reverse_optimum(
    mdp: TabularMDP,
    alpha: float,
    log_prior: NDArray[np.float64],
    best: Any,
) -> tuple[NDArray[np.float64], int]:
    """The stationary pi = softmax(log pi_ref + theta) that minimises KL(q || P).

    f(theta) = log Z - J_alpha(pi) / alpha, and by the table gradient
    summed over the steps that share pi,
    df / dtheta(s, a) = -sum_t d_t(s) pi(a | s) A_t(s, a) / alpha.
    """
    live = ~mdp.terminal
    shape = log_prior.shape

    def policy_of(theta: NDArray[np.float64]) -> NDArray[np.float64]:
        pi: NDArray[np.float64] = softmax(
            log_prior + theta.reshape(shape), axis=1
        )
        return pi

    def objective(
        theta: NDArray[np.float64],
    ) -> tuple[float, NDArray[np.float64]]:
        pi = policy_of(theta)
        table, log_ratio, _ = policy_and_prior(pi, mdp, np.exp(log_prior))
        Q, V, soft_return = evaluate_policy(table, log_ratio, mdp, alpha)
        d = state_distribution(pi, mdp)[:-1] * live  # (H, S)
        advantage = Q - alpha * log_ratio - V[:-1, :, None]
        grad = (d[..., None] * table * advantage).sum(0)
        value = best.log_partition - soft_return / alpha
        return value, -grad.ravel() / alpha

    found = minimize(
        objective,
        np.zeros(log_prior.size),
        jac=True,
        method="BFGS",
        options={"maxiter": 10_000, "gtol": 1e-9},
    )
    if not found.success and np.abs(found.jac).max() > 1e-6:
        warnings.warn(
            f"the reverse projection stopped before converging "
            f"({found.message}); the largest gradient entry is "
            f"{np.abs(found.jac).max():.2g}",
            RuntimeWarning,
            stacklevel=3,
        )
    pi = policy_of(found.x)
    pi[~live] = np.exp(log_prior[~live])
    return pi, int(found.nit)
