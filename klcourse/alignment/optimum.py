r"""The KL-regularised optimum: the reference tilted by the reward.

Over all distributions :math:`\pi`, the maximiser of
:math:`\mathbb{E}_\pi[r] - \beta\,\mathrm{KL}(\pi\,\|\,\pi_{ref})` is
:math:`\pi^* \propto \pi_{ref}\, e^{r/\beta}`
(:func:`kl_regularized_policy`); its value is a soft maximum of the rewards
(:func:`kl_regularized_value`), and :func:`kl_regularized_objective` scores
any policy. NumPy and SciPy only, in float64.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import logsumexp, softmax

from klcourse._validation import (
    finite_array,
    positive_float,
    probability_array,
)
from klcourse.alignment._tilt import best_reward, shifted_rewards
from klcourse.divergences import kl_divergence

__all__ = [
    "kl_regularized_objective",
    "kl_regularized_policy",
    "kl_regularized_value",
]


def kl_regularized_policy(
    ref_probs: ArrayLike, rewards: ArrayLike, *, beta: float
) -> NDArray[np.float64]:
    r"""The policy that maximises the KL-regularised objective.

    Over all distributions :math:`\pi`, the maximiser of
    :math:`\mathbb{E}_\pi[r] - \beta\,\mathrm{KL}(\pi\,\|\,\pi_{ref})` is

    .. math:: \pi^*(y) = \pi_{ref}(y)\, e^{r(y)/\beta} \big/
       \textstyle\sum_{y'} \pi_{ref}(y')\, e^{r(y')/\beta}

    Parameters
    ----------
    ref_probs : array_like
        The reference distribution :math:`\pi_{ref}` along the last axis
        (non-negative, summing to one). Outcomes it gives probability zero
        keep probability zero.
    rewards : array_like
        Finite rewards, with the same number of outcomes on the last axis;
        the other axes broadcast against those of ``ref_probs``.
    beta : float
        The weight of the KL term, > 0. Large values keep
        :math:`\pi_{ref}`; small values concentrate on the best outcomes.

    Returns
    -------
    numpy.ndarray
        :math:`\pi^*`, with the broadcast shape of the inputs. It is computed
        in log space with the largest reward subtracted first, so rewards as
        large as float64 allows, or a tiny ``beta``, still give a
        distribution (the best outcomes share the mass in the limit).

    Examples
    --------
    >>> best = kl_regularized_policy([0.5, 0.5], [0.0, np.log(3)], beta=1.0)
    >>> np.round(best, 6)
    array([0.25, 0.75])
    """
    beta = positive_float(beta, "beta")
    ref, reward = _check_ref_and_rewards(ref_probs, rewards)
    # pi* is the softmax of log pi_ref + r / beta, with the best reward
    # subtracted from r first: the shift cancels in the softmax, and
    # e^((r - best) / beta) <= 1 cannot overflow.
    allowed = ref > 0  # pi_ref excludes the rest, and so does pi*
    with np.errstate(divide="ignore"):  # log 0 = -inf
        logits = np.log(ref) + shifted_rewards(reward, beta, allowed=allowed)
    return np.asarray(softmax(logits, axis=-1))


def kl_regularized_value(
    ref_probs: ArrayLike, rewards: ArrayLike, *, beta: float
) -> NDArray[np.float64] | np.float64:
    r"""The maximum of the KL-regularised objective.

    It is a soft maximum of the rewards, weighted by the reference:

    .. math:: \max_\pi \Big(\mathbb{E}_\pi[r]
       - \beta\,\mathrm{KL}(\pi\,\|\,\pi_{ref})\Big)
       = \beta \log \mathbb{E}_{y\sim\pi_{ref}}\big[e^{r(y)/\beta}\big]

    Parameters
    ----------
    ref_probs, rewards, beta
        As in :func:`kl_regularized_policy`.

    Returns
    -------
    numpy.float64 or numpy.ndarray
        The value, with the last axis removed. It lies between
        :math:`\mathbb{E}_{\pi_{ref}}[r]` (as :math:`\beta \to \infty`) and the
        largest reward that :math:`\pi_{ref}` can produce (as
        :math:`\beta \to 0`).

    Examples
    --------
    >>> round(float(kl_regularized_value([0.5, 0.5], [0.0, 2.0], beta=1.0)), 6)
    1.433781
    """
    beta = positive_float(beta, "beta")
    ref, reward = _check_ref_and_rewards(ref_probs, rewards)
    scaled = shifted_rewards(reward, beta, allowed=ref > 0)
    best = best_reward(reward, ref > 0)[..., 0]
    weights = ref / ref.sum(axis=-1, keepdims=True)
    # log E[e^s] with s = (r - best) / beta <= 0. For a large beta it is
    # close to 0: log1p of E[e^s - 1], a sum of terms of one sign, keeps its
    # relative precision, where a logsumexp's rounding would be multiplied
    # by beta. Far from 0 the logsumexp is accurate.
    excess = np.sum(weights * np.expm1(scaled), axis=-1)  # in [-1, 0]
    near = excess > -0.5
    log_mean = np.where(
        near,
        np.log1p(np.where(near, excess, 0.0)),
        logsumexp(_log(weights) + scaled, axis=-1),
    )
    # best + beta * log_mean, in halves: beta * log_mean may overflow
    # although the value lies between the smallest and the largest reward.
    value = 2 * (best / 2 + beta * (log_mean / 2))
    return np.float64(value) if np.ndim(value) == 0 else np.asarray(value)


def kl_regularized_objective(
    probs: ArrayLike, ref_probs: ArrayLike, rewards: ArrayLike, *, beta: float
) -> NDArray[np.float64] | np.float64:
    r"""The KL-regularised objective of a policy.

    .. math:: J_\beta(\pi) = \mathbb{E}_\pi[r]
       - \beta\,\mathrm{KL}(\pi\,\|\,\pi_{ref})

    It equals :func:`kl_regularized_value` minus
    :math:`\beta\,\mathrm{KL}(\pi\,\|\,\pi^*)`, so no policy beats the value
    and only :math:`\pi^*` reaches it.

    Parameters
    ----------
    probs : array_like
        The policy :math:`\pi` along the last axis.
    ref_probs, rewards, beta
        As in :func:`kl_regularized_policy`.

    Returns
    -------
    numpy.float64 or numpy.ndarray
        The objective, ``-inf`` where :math:`\pi` puts mass on an outcome
        that :math:`\pi_{ref}` excludes (or where the objective is below
        the float range).

    Examples
    --------
    >>> ref, r = [0.5, 0.5], [0.0, 2.0]
    >>> best = kl_regularized_policy(ref, r, beta=1.0)
    >>> round(float(kl_regularized_objective(best, ref, r, beta=1.0)), 6)
    1.433781
    >>> round(float(kl_regularized_objective(ref, ref, r, beta=1.0)), 6)
    1.0
    """
    beta = positive_float(beta, "beta")
    ref, reward = _check_ref_and_rewards(ref_probs, rewards)
    policy = probability_array(probs, "probs", -1, allow_bool=False)
    if policy.shape[-1] != ref.shape[-1]:
        raise ValueError(
            "probs and ref_probs must have the same number of outcomes, got "
            f"shapes {policy.shape} and {ref.shape}"
        )
    expected = np.sum(np.where(policy > 0, policy * reward, 0.0), axis=-1)
    with np.errstate(over="ignore"):  # -inf only below -1.8e308
        value = expected - beta * kl_divergence(policy, ref)
    return np.float64(value) if np.ndim(value) == 0 else np.asarray(value)


def _check_ref_and_rewards(
    ref_probs: ArrayLike, rewards: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Probabilities and rewards along the last axis, broadcast together."""
    ref = probability_array(ref_probs, "ref_probs", -1, allow_bool=False)
    reward = finite_array(rewards, "rewards")
    if reward.ndim == 0 or reward.shape[-1] != ref.shape[-1]:
        raise ValueError(
            "ref_probs and rewards must have the same number of outcomes "
            f"along the last axis, got shapes {ref.shape} and {reward.shape}"
        )
    try:
        ref, reward = np.broadcast_arrays(ref, reward)
    except ValueError as error:
        raise ValueError(
            f"ref_probs with shape {ref.shape} and rewards with shape "
            f"{reward.shape} do not broadcast"
        ) from error
    return ref, reward


def _log(probs: NDArray[np.float64]) -> NDArray[np.float64]:
    with np.errstate(divide="ignore"):
        return np.log(probs)
