"""The reference tilted by the reward, in log space (NumPy only).

:mod:`klcourse.alignment.optimum` computes the KL-regularised optimum from
these, and the trainers' record measures the distance to it; both need the
same care with large rewards and small ``beta``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import logsumexp


def best_reward(
    reward: NDArray[np.float64], allowed: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """The best reward of the allowed outcomes, keeping the last axis."""
    return np.max(np.where(allowed, reward, -np.inf), axis=-1, keepdims=True)


def shifted_rewards(
    reward: NDArray[np.float64], beta: float, *, allowed: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """``(r - best) / beta``, with ``best`` the best reward of ``allowed``.

    Subtracting ``best`` before dividing keeps ``r / beta`` from overflowing:
    every entry is at most 0, and the best outcome's is 0. ``r - best`` is
    taken in halves, so rewards spread over more than the float range do not
    overflow either; an entry that still reaches ``-inf`` is below ``-1e308``
    and its exponential is zero anyway. Outcomes not allowed (those the
    reference excludes) get ``-inf``.
    """
    best = best_reward(reward, allowed)
    with np.errstate(over="ignore"):
        scaled = (reward / 2 - best / 2) / beta * 2
    return np.where(allowed, scaled, -np.inf)


def log_tilted(
    log_ref: NDArray[np.float64], reward: NDArray[np.float64], beta: float
) -> NDArray[np.float64]:
    """``log pi*``, finite wherever ``pi_ref > 0``, even where ``pi*`` is 0."""
    allowed = log_ref > -np.inf
    logits = log_ref + shifted_rewards(reward, beta, allowed=allowed)
    return logits - logsumexp(logits, axis=-1, keepdims=True)
