"""KL in practice: the KL-regularised optimum, penalties, DPO, distillation.

Chapter 7 of the course.

Fine-tuning a model against a reward while a KL divergence keeps it near a
reference model, and distilling a teacher into a smaller student, are the two
ways large models meet KL every day. This module computes both exactly on
sequence models small enough for every sequence to be enumerated.

- :func:`kl_regularized_policy`, :func:`kl_regularized_value` and
  :func:`kl_regularized_objective` -- the maximiser of
  E_pi[r] - beta KL(pi || pi_ref), its value, and the objective of any policy;
- :func:`kl_penalty` -- chapter 1's Monte Carlo terms k1, k2, k3 per token,
  as RLHF code adds them to a reward or a loss;
- :func:`dpo_loss` -- the direct preference optimisation loss;
- :class:`TabularLM` -- an autoregressive model with one row of logits per
  prefix, able to represent every distribution over its sequences, and
  :class:`FactorizedLM`, a smaller model whose tokens are independent;
- :func:`fine_tune`, :func:`train_dpo` and :func:`distill` -- training loops
  that record exact divergences as they go.

Exact computations are in float64. Randomness goes through explicit seeds only
(``klcourse._random``), and torch runs single-threaded during training
(``klcourse._threads``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from scipy.special import log_expit, logsumexp, softmax
from torch import nn

from klcourse._random import Seed, torch_generator
from klcourse._threads import limited_threads
from klcourse._validation import (
    DIRECTIONS,
    as_float_array,
    check_choice,
    finite_array,
    positive_float,
    positive_int,
    probability_array,
)
from klcourse.divergences import kl_divergence
from klcourse.estimators import ESTIMATORS

__all__ = [
    "DistillResult",
    "FactorizedLM",
    "FineTuneResult",
    "PreferencePairs",
    "TabularLM",
    "all_sequences",
    "distill",
    "dpo_loss",
    "fine_tune",
    "kl_penalty",
    "kl_regularized_objective",
    "kl_regularized_policy",
    "kl_regularized_value",
    "preference_pairs",
    "train_dpo",
]

KL_PLACES = ("reward", "loss")

#: The most entries (tokens or numbers) in one table this module builds:
#: 2**24, 128 MiB of int64. The sequence models enumerate all ``V**T``
#: sequences of ``T`` tokens (their largest table, bigger than the logits),
#: and training keeps several tables of that size, so a model or a sample
#: past this limit is refused before anything is allocated.
MAX_TABLE_ENTRIES = 2**24

#: Adam squares every gradient: beyond this size the square overflows
#: float64 and the update silently stops, so training refuses it.
_MAX_GRADIENT = 1e150


# --- the KL-regularised optimum ----------------------------------------------


def _ref_and_rewards(
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


def _scaled_rewards(
    allowed: NDArray[np.bool_], reward: NDArray[np.float64], beta: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(r - m) / beta`` and ``m``, the best reward of the allowed outcomes.

    Subtracting ``m`` before dividing keeps ``r / beta`` from overflowing:
    every entry is at most 0, and the best outcome's is 0. ``r - m`` is
    taken in halves, so rewards spread over more than the float range do not
    overflow either; an entry that still reaches ``-inf`` is below ``-1e308``
    and its exponential is zero anyway. Outcomes not allowed (those the
    reference excludes) get ``-inf``.
    """
    best = np.max(np.where(allowed, reward, -np.inf), axis=-1, keepdims=True)
    with np.errstate(over="ignore"):
        scaled = (reward / 2 - best / 2) / beta * 2
    return np.where(allowed, scaled, -np.inf), best[..., 0]


def _log_optimum(
    log_ref: NDArray[np.float64], reward: NDArray[np.float64], beta: float
) -> NDArray[np.float64]:
    """``log pi*``, finite wherever ``pi_ref > 0`` even if ``pi*`` underflows."""
    scaled, _ = _scaled_rewards(log_ref > -np.inf, reward, beta)
    logits = log_ref + scaled
    return logits - logsumexp(logits, axis=-1, keepdims=True)


def _log(probs: NDArray[np.float64]) -> NDArray[np.float64]:
    with np.errstate(divide="ignore"):
        return np.log(probs)


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
    ref, reward = _ref_and_rewards(ref_probs, rewards)
    # log pi_ref + (r - max r) / beta: the shift cancels in the softmax
    scaled, _ = _scaled_rewards(ref > 0, reward, beta)
    return np.asarray(softmax(_log(ref) + scaled, axis=-1))


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
    ref, reward = _ref_and_rewards(ref_probs, rewards)
    scaled, best = _scaled_rewards(ref > 0, reward, beta)
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
    ref, reward = _ref_and_rewards(ref_probs, rewards)
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


# --- per-token penalties and the DPO loss ------------------------------------


def _is_tensor(value: Any) -> bool:
    return isinstance(value, torch.Tensor)


def _log_probs(value: Any, name: str, *, finite: bool) -> NDArray[np.float64]:
    """Check log-probabilities: no NaN, nothing above zero (and finite)."""
    array = as_float_array(value, name, allow_bool=False)
    if np.isnan(array).any():
        raise ValueError(f"{name} contains NaN")
    if (array > 0).any():
        raise ValueError(
            f"{name} must be log-probabilities (<= 0), got "
            f"{float(array[array > 0].ravel()[0])!r}"
        )
    if finite and np.isneginf(array).any():
        raise ValueError(
            f"{name} contains -inf: a sampled sequence has positive "
            "probability, so its log-probability is finite"
        )
    return array


def _same_shapes(values: dict[str, NDArray[np.float64]]) -> None:
    shapes = {name: value.shape for name, value in values.items()}
    if len(set(shapes.values())) != 1:
        listed = ", ".join(f"{n} {s}" for n, s in shapes.items())
        raise ValueError(
            f"the arguments must have the same shape, got {listed}"
        )


def _tensors(*values: Any) -> list[torch.Tensor]:
    """The values as floating tensors on the first tensor's device.

    Floating tensors are kept as they are (and keep their graph); the rest
    take the first floating tensor's dtype, or float64 if every tensor holds
    integers.
    """
    tensors = [v for v in values if _is_tensor(v)]
    floating = [t for t in tensors if t.is_floating_point()]
    dtype = floating[0].dtype if floating else torch.float64
    return [
        v
        if _is_tensor(v) and v.is_floating_point()
        else torch.as_tensor(v, dtype=dtype, device=tensors[0].device)
        for v in values
    ]


def kl_penalty(
    logp: ArrayLike | torch.Tensor,
    ref_logp: ArrayLike | torch.Tensor,
    *,
    estimator: str = "k1",
) -> NDArray[np.float64] | torch.Tensor:
    r"""Per-token KL penalties: chapter 1's Monte Carlo terms k1, k2, k3.

    With :math:`\log r = \log\pi_{ref}(x_t \mid x_{<t})
    - \log\pi(x_t \mid x_{<t})` for a token drawn from :math:`\pi`, each
    term is the one in ``klcourse.estimators.ESTIMATORS``:

    - ``"k1"``: :math:`-\log r`, the log-ratio RLHF subtracts from the reward;
    - ``"k2"``: :math:`\tfrac12 (\log r)^2`;
    - ``"k3"``: :math:`(r - 1) - \log r`, never negative, the term several
      methods add to the loss.

    The k1 and k3 terms average to :math:`\mathrm{KL}(\pi\,\|\,\pi_{ref})`
    given the prefix, so summed over a sequence they average to the KL
    between the two sequence distributions. Their *gradients* are another
    matter: see :func:`fine_tune` and chapter 7.

    Parameters
    ----------
    logp : array_like or torch.Tensor
        Log-probabilities of the sampled tokens under the policy (finite,
        <= 0), one per token: any shape, usually (n, T).
    ref_logp : array_like or torch.Tensor
        Log-probabilities of the same tokens under the reference (<= 0;
        ``-inf`` gives an infinite penalty). Exactly the shape of ``logp``:
        nothing is broadcast.
    estimator : {"k1", "k2", "k3"}, optional
        Which term.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        One penalty per token, with the shape of the inputs. If either input
        is a tensor, the result is a tensor that keeps the autograd graph, so
        it can enter a loss; otherwise a float64 array.

    Examples
    --------
    >>> logp, ref_logp = np.log([0.5, 0.2]), np.log([0.25, 0.4])
    >>> np.round(kl_penalty(logp, ref_logp, estimator="k3"), 6)
    array([0.193147, 0.306853])
    >>> import torch
    >>> x = torch.log(torch.tensor([0.5, 0.2], requires_grad=True))
    >>> kl_penalty(x, ref_logp).requires_grad
    True
    """
    check_choice(estimator, "estimator", tuple(ESTIMATORS))
    checked = {
        "logp": _log_probs(logp, "logp", finite=True),
        "ref_logp": _log_probs(ref_logp, "ref_logp", finite=False),
    }
    _same_shapes(checked)
    if not (_is_tensor(logp) or _is_tensor(ref_logp)):
        with np.errstate(over="ignore"):
            return np.asarray(
                ESTIMATORS[estimator](checked["ref_logp"] - checked["logp"])
            )
    policy, ref = _tensors(logp, ref_logp)
    log_r = ref - policy
    if (
        estimator == "k3"
    ):  # ESTIMATORS["k3"] with torch's expm1, to keep the graph
        return torch.expm1(log_r) - log_r
    return ESTIMATORS[estimator](log_r)  # type: ignore[no-any-return]


def dpo_loss(
    chosen_logp: ArrayLike | torch.Tensor,
    rejected_logp: ArrayLike | torch.Tensor,
    ref_chosen_logp: ArrayLike | torch.Tensor,
    ref_rejected_logp: ArrayLike | torch.Tensor,
    *,
    beta: float,
) -> float | torch.Tensor:
    r"""The DPO loss, averaged over preference pairs.

    With the implicit reward
    :math:`\hat r(y) = \beta\log(\pi(y)/\pi_{ref}(y))`,
    the loss is the Bradley--Terry negative log-likelihood of the chosen
    sequence :math:`y_w` winning over the rejected one :math:`y_l`:

    .. math:: -\log\sigma\big(\hat r(y_w) - \hat r(y_l)\big)

    Parameters
    ----------
    chosen_logp, rejected_logp : array_like or torch.Tensor
        Sequence log-probabilities under the policy, shape (n_pairs,): one
        per sequence (finite, <= 0). Per-token log-probabilities of shape
        (n_pairs, T) are refused; sum them over each sequence first.
    ref_chosen_logp, ref_rejected_logp : array_like or torch.Tensor
        The same under the reference. All four have the same shape.
    beta : float
        The KL weight of the objective whose optimum DPO targets, > 0.

    Returns
    -------
    float or torch.Tensor
        The mean loss in nats. If any input is a tensor, a 0-d tensor that
        keeps the autograd graph, ready for ``backward()``.

    Examples
    --------
    >>> round(dpo_loss([-1.0], [-2.0], [-1.5], [-1.5], beta=0.5), 6)
    0.474077
    """
    beta = positive_float(beta, "beta")
    names = (
        "chosen_logp",
        "rejected_logp",
        "ref_chosen_logp",
        "ref_rejected_logp",
    )
    values = (chosen_logp, rejected_logp, ref_chosen_logp, ref_rejected_logp)
    checked = {
        name: _log_probs(value, name, finite=True)
        for name, value in zip(names, values)
    }
    for name, array in checked.items():
        if array.ndim != 1:
            raise ValueError(
                f"{name} must be 1-D, one log-probability per sequence "
                f"(sum the tokens' log-probabilities first), got shape "
                f"{array.shape}"
            )
    _same_shapes(checked)
    if checked["chosen_logp"].size == 0:
        raise ValueError("chosen_logp must hold at least one pair, got none")
    if not any(_is_tensor(v) for v in values):
        c, r, rc, rr = checked.values()
        with np.errstate(over="ignore"):  # a margin beyond 1e308 is +-inf
            losses = -log_expit(beta * ((c - rc) - (r - rr)))
            mean = losses.mean()
        if np.isinf(mean) and np.isfinite(losses).all():  # the sum overflowed
            mean = np.sum(losses / losses.size)
        return float(mean)
    tc, tr, trc, trr = _tensors(*values)
    return _preference_nll(beta * ((tc - trc) - (tr - trr)))


def _preference_nll(margin: torch.Tensor) -> torch.Tensor:
    """Mean of -log sigma(margin): Bradley--Terry, the first one preferred."""
    return -nn.functional.logsigmoid(margin).mean()


# --- sequence models ---------------------------------------------------------


def all_sequences(vocab_size: int, length: int) -> torch.Tensor:
    """Every sequence of ``length`` tokens from ``range(vocab_size)``.

    Sequence ``i`` has the base-``vocab_size`` digits of ``i`` as its tokens.

    The table holds ``vocab_size ** length * length`` tokens; more than
    ``MAX_TABLE_ENTRIES`` (2**24) is refused.

    Examples
    --------
    >>> all_sequences(2, 2).tolist()
    [[0, 0], [0, 1], [1, 0], [1, 1]]
    """
    vocab_size = positive_int(vocab_size, "vocab_size")
    length = positive_int(length, "length")
    count = vocab_size**length  # a Python int: no overflow
    if count * length > MAX_TABLE_ENTRIES:
        raise ValueError(
            f"vocab_size ** length = {vocab_size}**{length} = {count:,} "
            f"sequences of {length} tokens would need {count * length:,} "
            f"entries, more than MAX_TABLE_ENTRIES = {MAX_TABLE_ENTRIES:,}: "
            "these models enumerate every sequence, so keep vocab_size ** "
            "length small"
        )
    index = torch.arange(vocab_size**length)
    powers = vocab_size ** torch.arange(length - 1, -1, -1)
    return (index[:, None] // powers) % vocab_size


def _check_size(count: int, name: str, each: int, what: str) -> None:
    """Refuse ``count`` items of ``each`` entries beyond MAX_TABLE_ENTRIES."""
    if count * each > MAX_TABLE_ENTRIES:
        raise ValueError(
            f"{name} = {count} {what} would need {count * each:,} entries, "
            f"more than MAX_TABLE_ENTRIES = {MAX_TABLE_ENTRIES:,}"
        )


def _integer_tokens(
    value: Any, name: str, vocab_size: int | None = None
) -> torch.Tensor:
    """Tokens as an int64 tensor: integers only, >= 0 (and < vocab_size)."""
    if _is_tensor(value):
        if (
            value.dtype.is_floating_point
            or value.dtype.is_complex
            or value.dtype == torch.bool
        ):
            raise TypeError(
                f"{name} must hold integer tokens, got dtype {value.dtype}"
            )
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{name} must be a rectangular array of integer tokens ({error})"
        ) from error
    if array.size == 0 and array.dtype.kind == "f":
        array = array.astype(np.int64)  # an empty list holds no bad token
    if array.dtype.kind not in "iu":
        raise TypeError(
            f"{name} must hold integer tokens, got dtype {array.dtype}"
        )
    if array.size:
        low, high = array.min(), array.max()
        if vocab_size is not None and not 0 <= low <= high < vocab_size:
            bad = low if low < 0 else high
            raise ValueError(
                f"{name} must hold tokens in [0, {vocab_size}), got {bad}"
            )
        if low < 0:
            raise ValueError(f"{name} must hold tokens >= 0, got {low}")
        if high > np.iinfo(np.int64).max:
            raise ValueError(f"{name} holds a token beyond int64: {high}")
    return torch.as_tensor(array.astype(np.int64, copy=False))


def _logits_table(
    logits: Any, shape: tuple[int, int], name: str = "logits"
) -> torch.Tensor:
    if logits is None:
        return torch.zeros(shape, dtype=torch.float64)
    array = as_float_array(logits, name, allow_bool=False)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    if np.isnan(array).any() or np.isposinf(array).any():
        raise ValueError(f"{name} must not contain NaN or +inf")
    if np.isneginf(array).all(axis=-1).any():
        raise ValueError(f"{name} has a row of -inf: no token could follow")
    return torch.tensor(array, dtype=torch.float64)


class _SequenceModel(nn.Module):
    """What the two sequence models share: the enumeration and the checks."""

    vocab_size: int
    length: int
    sequences: torch.Tensor

    def __init__(self, vocab_size: int, length: int) -> None:
        super().__init__()
        self.vocab_size = positive_int(vocab_size, "vocab_size", minimum=2)
        self.length = positive_int(length, "length")
        self.register_buffer(
            "sequences", all_sequences(self.vocab_size, self.length)
        )

    def _tokens(self, sequences: Any) -> torch.Tensor:
        if sequences is self.sequences:  # checked once, at construction
            return self.sequences
        tokens = _integer_tokens(sequences, "sequences", self.vocab_size)
        if tokens.ndim != 2 or tokens.shape[1] != self.length:
            raise ValueError(
                f"sequences must have shape (n, {self.length}), got "
                f"{tuple(tokens.shape)}"
            )
        return tokens

    def index(self, sequences: Any) -> torch.Tensor:
        """The position of each sequence in :attr:`sequences`, shape (n,).

        Examples
        --------
        >>> TabularLM(3, 2).index([[0, 0], [2, 1]]).tolist()
        [0, 7]
        """
        tokens = self._tokens(sequences)
        powers = self.vocab_size ** torch.arange(self.length - 1, -1, -1)
        return (tokens * powers).sum(-1)

    def _gather(self, tokens: torch.Tensor) -> torch.Tensor:
        """Token log-probabilities of checked tokens, (n, T)."""
        raise NotImplementedError

    def token_log_probs(self, sequences: Any) -> torch.Tensor:
        """Token log-probabilities, shape (n, T); see the subclasses."""
        return self._gather(self._tokens(sequences))

    def log_prob(self, sequences: Any) -> torch.Tensor:
        """Sequence log-probabilities (sums of :meth:`token_log_probs`), (n,).

        Examples
        --------
        >>> round(TabularLM(2, 3).log_prob([[0, 1, 1]]).item(), 6)
        -2.079442
        """
        return self.token_log_probs(sequences).sum(-1)

    def sequence_probs(self) -> torch.Tensor:
        """The probability of every sequence, in the order of ``sequences``.

        Examples
        --------
        >>> TabularLM(2, 2).sequence_probs().tolist()
        [0.25, 0.25, 0.25, 0.25]
        """
        return self._gather(self.sequences).sum(-1).exp()


class TabularLM(_SequenceModel):
    r"""An autoregressive model with one row of logits for every prefix.

    .. math:: \pi(x) = \prod_{t} \mathrm{softmax}(L[x_{<t}])_{x_t}

    There is one row for each of the :math:`1 + V + \dots + V^{T-1}`
    prefixes (the empty one first, then those of length 1, 2, ...), so the
    model can represent every distribution over its :math:`V^T` sequences,
    and its conditionals are what a language model outputs token by token.

    Parameters
    ----------
    vocab_size : int
        V, at least 2.
    length : int
        T, the number of tokens of every sequence. The model enumerates
        all ``V**T`` sequences: ``V**T * T`` may not exceed
        ``MAX_TABLE_ENTRIES`` (2**24).
    logits : array_like or torch.Tensor, optional
        Initial logits, shape (n_prefixes, V); ``-inf`` excludes a token.
        Default: zeros (every sequence equally likely).

    Attributes
    ----------
    logits : torch.nn.Parameter
        The table L, float64, shape (n_prefixes, V).
    n_prefixes : int
        The number of prefixes, and of rows of :attr:`logits`.
    sequences : torch.Tensor
        All :math:`V^T` sequences, shape (V^T, T), as :func:`all_sequences`.

    Examples
    --------
    >>> lm = TabularLM.bigram([0.5, 0.5], [[0.9, 0.1], [0.1, 0.9]], length=3)
    >>> lm.sequence_probs().shape
    torch.Size([8])
    >>> round(lm.sequence_probs()[0].item(), 6)  # the sequence 0 0 0
    0.405
    """

    _offsets: torch.Tensor
    _rows: torch.Tensor

    def __init__(
        self, vocab_size: int, length: int, *, logits: Any = None
    ) -> None:
        super().__init__(vocab_size, length)
        v, t = self.vocab_size, self.length
        self.n_prefixes = (v**t - 1) // (v - 1)
        self.logits = nn.Parameter(_logits_table(logits, (self.n_prefixes, v)))
        offsets = (v ** torch.arange(t) - 1) // (v - 1)
        self.register_buffer("_offsets", offsets)
        self.register_buffer("_rows", self._prefix_rows(self.sequences))

    def prefix_rows(self, sequences: Any) -> torch.Tensor:
        """The row of :attr:`logits` that predicts each token, shape (n, T).

        Examples
        --------
        >>> TabularLM(2, 3).prefix_rows([[1, 0, 1]]).tolist()
        [[0, 2, 5]]
        """
        return self._prefix_rows(self._tokens(sequences))

    def _prefix_rows(self, tokens: torch.Tensor) -> torch.Tensor:
        codes = torch.zeros_like(tokens)
        for t in range(1, self.length):  # the prefix x_<t read as a number
            codes[:, t] = codes[:, t - 1] * self.vocab_size + tokens[:, t - 1]
        return self._offsets + codes

    def token_log_probs(self, sequences: Any) -> torch.Tensor:
        r"""Token log-probabilities :math:`\log\pi(x_t \mid x_{<t})`, (n, T).

        Differentiable with respect to :attr:`logits`.

        Examples
        --------
        >>> lm = TabularLM(4, 2)
        >>> np.round(lm.token_log_probs([[0, 3]]).exp().tolist(), 6)
        array([[0.25, 0.25]])
        """
        return self._gather(self._tokens(sequences))

    def next_token_log_probs(self, sequences: Any) -> torch.Tensor:
        r"""The whole next-token distribution at every position, (n, T, V).

        Entry ``[i, t, v]`` is :math:`\log\pi(v \mid x_{<t})` for sequence
        ``i``: the log-softmax a language model computes before a token is
        picked. Summing ``p * (log p - log q)`` over the last axis gives the
        exact KL of each next-token distribution. Differentiable with respect
        to :attr:`logits`.

        Examples
        --------
        >>> lm = TabularLM.bigram([0.5, 0.5], [[0.9, 0.1], [0.2, 0.8]], length=2)
        >>> np.round(lm.next_token_log_probs([[1, 0]]).exp().tolist(), 6)
        array([[[0.5, 0.5],
                [0.2, 0.8]]])
        """
        rows = self._prefix_rows(self._tokens(sequences))
        return torch.log_softmax(self.logits, dim=-1)[rows]

    def _gather(self, tokens: torch.Tensor) -> torch.Tensor:
        every = tokens is self.sequences  # their rows are computed once
        rows = self._rows if every else self._prefix_rows(tokens)
        return torch.log_softmax(self.logits, dim=-1)[rows, tokens]

    def sample(self, n: int, *, seed: Seed = None) -> torch.Tensor:
        """Draw ``n`` sequences from the model, shape (n, T).

        Whole sequences are drawn from :meth:`sequence_probs`, which gives
        them the distribution of generating token by token.

        Parameters
        ----------
        n : int
            How many sequences; ``n * T`` at most
            ``MAX_TABLE_ENTRIES`` (2**24).
        seed : int, numpy.random.Generator or None, optional
            Source of randomness; the global random state is left alone.

        Examples
        --------
        >>> alternate = [[0.0, 1.0], [1.0, 0.0]]  # 0 then 1 then 0...
        >>> lm = TabularLM.bigram([1.0, 0.0], alternate, length=4)
        >>> lm.sample(2, seed=0).tolist()
        [[0, 1, 0, 1], [0, 1, 0, 1]]
        """
        n = positive_int(n, "n")
        _check_size(n, "n", self.length, f"sequences of length {self.length}")
        return self._sample(n, torch_generator(seed))

    @torch.no_grad()
    def _sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        probs = self.sequence_probs()
        drawn = torch.multinomial(
            probs, n, replacement=True, generator=generator
        )
        return self.sequences[drawn]

    def copy(self) -> TabularLM:
        """An independent copy (a fresh parameter with the same values).

        Examples
        --------
        >>> lm = TabularLM(2, 2)
        >>> lm.copy().logits is lm.logits
        False
        """
        return TabularLM(
            self.vocab_size, self.length, logits=self.logits.detach().clone()
        )

    def tempered(self, temperature: float) -> TabularLM:
        r"""The model at a temperature: conditionals to the power 1/tau.

        :math:`\pi_\tau(x_t \mid x_{<t})
        \propto \pi(x_t \mid x_{<t})^{1/\tau}`:
        the softmax of the logits divided by :math:`\tau`, as a language model
        samples at temperature :math:`\tau`. Above 1 the conditionals flatten,
        below 1 they sharpen.

        Examples
        --------
        >>> flat = [[0.5, 0.5], [0.5, 0.5]]
        >>> lm = TabularLM.bigram([0.8, 0.2], flat, length=1)
        >>> np.round(lm.tempered(2.0).sequence_probs().tolist(), 6)
        array([0.666667, 0.333333])
        """
        temperature = positive_float(temperature, "temperature")
        log_table = torch.log_softmax(self.logits.detach(), dim=-1)
        # Shifted to a maximum of 0 per row, which stays 0 at any
        # temperature: a tiny one gives greedy rows, never rows of -inf.
        top = log_table.max(dim=-1, keepdim=True).values
        return TabularLM(
            self.vocab_size,
            self.length,
            logits=(log_table - top) / temperature,
        )

    @classmethod
    def bigram(
        cls, initial: ArrayLike, transition: ArrayLike, *, length: int
    ) -> TabularLM:
        r"""A bigram model: a first token, then :math:`\pi(x_t \mid x_{t-1})`.

        Parameters
        ----------
        initial : array_like, shape (V,)
            Probabilities of the first token.
        transition : array_like, shape (V, V)
            Row ``a`` holds the probabilities of the token that follows ``a``.
        length : int
            T.

        Examples
        --------
        >>> sticky = [[0.9, 0.1], [0.1, 0.9]]
        >>> lm = TabularLM.bigram([0.5, 0.5], sticky, length=2)
        >>> np.round(lm.sequence_probs().tolist(), 6)
        array([0.45, 0.05, 0.05, 0.45])
        """
        start = probability_array(initial, "initial", -1, allow_bool=False)
        moves = probability_array(
            transition, "transition", -1, allow_bool=False
        )
        v = start.shape[0]
        if start.ndim != 1 or moves.shape != (v, v):
            raise ValueError(
                "initial must have shape (V,) and transition (V, V), got "
                f"{start.shape} and {moves.shape}"
            )
        if v < 2:
            raise ValueError(
                f"initial must have at least 2 tokens (V >= 2), got {v}"
            )
        model = cls(v, length)
        with np.errstate(divide="ignore"):
            rows = torch.as_tensor(np.log(np.vstack([start, moves])))
        # Row 0 is the empty prefix; row i > 0 ends with token (i - 1) % V,
        # whose transition probabilities are row 1 + (i - 1) % V of `rows`.
        source = 1 + (torch.arange(model.n_prefixes) - 1) % v
        source[0] = 0
        with torch.no_grad():
            model.logits.copy_(rows[source])
        return model

    @classmethod
    def from_sequence_probs(
        cls, probs: ArrayLike, *, vocab_size: int, length: int
    ) -> TabularLM:
        r"""The model whose sequence distribution is ``probs`` (chain rule).

        :math:`\pi(x_t \mid x_{<t}) = P(x_{\le t}) / P(x_{<t})`; a prefix of
        probability zero gets uniform conditionals.

        Parameters
        ----------
        probs : array_like, shape (V^T,)
            Probabilities of the sequences of :func:`all_sequences`.
        vocab_size, length : int
            V and T.

        Examples
        --------
        >>> lm = TabularLM.from_sequence_probs(
        ...     [0.1, 0.2, 0.3, 0.4], vocab_size=2, length=2
        ... )
        >>> np.round(lm.sequence_probs().tolist(), 6)
        array([0.1, 0.2, 0.3, 0.4])
        """
        model = cls(vocab_size, length)
        v, t = model.vocab_size, model.length
        p = probability_array(probs, "probs", -1, allow_bool=False)
        if p.shape != (v**t,):
            raise ValueError(f"probs must have shape ({v**t},), got {p.shape}")
        rows = []
        for depth in range(t):  # P(prefix of this depth, next token)
            joint = p.reshape((v,) * (depth + 1) + (v,) * (t - depth - 1))
            joint = joint.sum(axis=tuple(range(depth + 1, t)))
            joint = joint.reshape(-1, v)
            total = joint.sum(-1, keepdims=True)
            with np.errstate(divide="ignore", invalid="ignore"):
                rows.append(np.where(total > 0, np.log(joint / total), 0.0))
        with torch.no_grad():
            model.logits.copy_(torch.as_tensor(np.vstack(rows)))
        return model


class FactorizedLM(_SequenceModel):
    r"""A model whose tokens are independent: :math:`q(x) = \prod_t q_t(x_t)`.

    It has one row of logits per position, so it cannot make one token
    depend on another: a student with less capacity than :class:`TabularLM`.

    Parameters
    ----------
    vocab_size, length : int
        V (at least 2) and T, with ``V**T * T`` at most
        ``MAX_TABLE_ENTRIES`` (2**24), as for :class:`TabularLM`.
    logits : array_like or torch.Tensor, optional
        Initial logits, shape (T, V). Default: zeros (uniform).

    Attributes
    ----------
    logits : torch.nn.Parameter
        The (T, V) table, float64.
    sequences : torch.Tensor
        All sequences, shape (V^T, T).

    Examples
    --------
    >>> q = FactorizedLM(2, 2, logits=[[0.0, 0.0], [np.log(3), 0.0]])
    >>> np.round(q.sequence_probs().tolist(), 6)
    array([0.375, 0.125, 0.375, 0.125])
    """

    def __init__(
        self, vocab_size: int, length: int, *, logits: Any = None
    ) -> None:
        super().__init__(vocab_size, length)
        self.logits = nn.Parameter(
            _logits_table(logits, (self.length, self.vocab_size))
        )

    def token_log_probs(self, sequences: Any) -> torch.Tensor:
        r"""Log-probabilities :math:`\log q_t(x_t)` of the tokens, (n, T).

        Examples
        --------
        >>> logp = FactorizedLM(2, 3).token_log_probs([[0, 1, 0]])
        >>> np.round(logp.tolist(), 4)
        array([[-0.6931, -0.6931, -0.6931]])
        """
        return self._gather(self._tokens(sequences))

    def next_token_log_probs(self, sequences: Any) -> torch.Tensor:
        r"""The distribution :math:`\log q_t` at every position, (n, T, V).

        The same for every sequence, since the model ignores the tokens
        before.

        Examples
        --------
        >>> q = FactorizedLM(2, 2, logits=[[0.0, 0.0], [np.log(3), 0.0]])
        >>> np.round(q.next_token_log_probs([[0, 1]]).exp().tolist(), 6)
        array([[[0.5 , 0.5 ],
                [0.75, 0.25]]])
        """
        n = self._tokens(sequences).shape[0]
        log_table = torch.log_softmax(self.logits, dim=-1)
        return log_table.expand(n, -1, -1)

    def _gather(self, tokens: torch.Tensor) -> torch.Tensor:
        log_table = torch.log_softmax(self.logits, dim=-1)
        return log_table[torch.arange(self.length), tokens]


def _check_model(model: Any, name: str, kind: type = TabularLM) -> None:
    if not isinstance(model, kind):
        raise TypeError(
            f"{name} must be a {kind.__name__}, got {type(model).__name__}"
        )


def _numpy_log_probs(model: _SequenceModel) -> NDArray[np.float64]:
    with torch.no_grad():
        return model.log_prob(model.sequences).numpy().astype(np.float64)


def _sequence_rewards(
    rewards: ArrayLike, model: _SequenceModel
) -> NDArray[np.float64]:
    reward = finite_array(rewards, "rewards")
    if reward.shape != (len(model.sequences),):
        raise ValueError(
            f"rewards must hold one reward per sequence, shape "
            f"({len(model.sequences)},), got {reward.shape}"
        )
    return reward


def _optional_batch(batch_size: int | None, length: int) -> int | None:
    if batch_size is None:
        return None
    batch = positive_int(batch_size, "batch_size", minimum=2)
    _check_size(batch, "batch_size", length, f"sequences of length {length}")
    return batch


def _check_history(history: Any) -> None:
    if not isinstance(history, dict):
        raise TypeError(
            f"history must be a dict of arrays, got {type(history).__name__}"
        )
    if "step" not in history:
        raise ValueError("history must record 'step', the x-axis")
    lengths = {key: np.shape(value) for key, value in history.items()}
    if any(len(shape) != 1 for shape in lengths.values()) or (
        len(set(lengths.values())) != 1
    ):
        raise ValueError(
            "history arrays must all have the same length, 1-D, got shapes "
            f"{lengths}"
        )


def _kl_from_logs(
    log_p: NDArray[np.float64], log_q: NDArray[np.float64]
) -> float:
    """KL(P || Q) from log-probabilities, so no underflow turns it to inf.

    ``+inf`` if Q excludes an outcome P allows. A sum that rounding leaves a
    few ulps below zero (P equal to Q) is reported as 0.
    """
    support = log_p > -np.inf
    if np.isneginf(log_q[support]).any():
        return math.inf
    lp, lq = log_p[support], log_q[support]
    return max(float(np.sum(np.exp(lp) * (lp - lq))), 0.0)


def _adam_step(
    optimizer: torch.optim.Optimizer,
    loss: torch.Tensor,
    model: TabularLM | FactorizedLM,
    *,
    step: int,
    blame: str,
) -> None:
    """One Adam update, refusing to go on from a loss or a gradient that
    float64 cannot carry (Adam would silently stop, or fill with NaN).

    ``blame`` names the arguments that set the scale of the gradients.
    """
    optimizer.zero_grad()
    loss.backward()
    grad = model.logits.grad
    assert grad is not None
    largest = grad.abs().max().item()
    if not (math.isfinite(loss.item()) and largest <= _MAX_GRADIENT):
        raise ValueError(
            f"training stopped at step {step}: the loss is {loss.item():.3g}"
            f" and the largest gradient {largest:.3g}, beyond what Adam can "
            f"square in float64 ({_MAX_GRADIENT:.0e}); {blame}"
        )
    finite = torch.isfinite(model.logits)
    optimizer.step()
    if not torch.isfinite(model.logits[finite]).all():
        raise ValueError(
            f"training stopped at step {step}: the logits overflowed float64;"
            " lr is too large"
        )


# --- fine-tuning with a KL penalty -------------------------------------------


@dataclass(frozen=True)
class FineTuneResult:
    """The result of :func:`fine_tune` or :func:`train_dpo`.

    Attributes
    ----------
    policy : TabularLM
        The trained policy.
    history : dict
        Arrays of exact quantities recorded during training: ``"step"``;
        ``"reward"``, the expected reward; ``"kl_ref"``, KL(pi || pi_ref)
        between sequence distributions; ``"kl_optimum"``, KL(pi || pi*) to
        the KL-regularised optimum; ``"objective"``,
        E[r] - beta KL(pi || pi_ref). ``train_dpo`` records ``"loss"`` too,
        and the others only when given the rewards.

    Examples
    --------
    >>> ref = TabularLM(2, 2)
    >>> rewards = [0.0, 0.0, 0.0, 1.0]
    >>> result = fine_tune(ref, rewards, beta=1.0, steps=2, record_every=1)
    >>> result.history["step"].tolist()
    [0, 1, 2]
    """

    policy: TabularLM
    history: dict[str, NDArray[np.float64]]

    def __post_init__(self) -> None:
        _check_model(self.policy, "policy")
        _check_history(self.history)


class _Recorder:
    """Exact KLs, reward and objective of a policy, every few steps."""

    def __init__(
        self,
        ref: TabularLM,
        rewards: NDArray[np.float64] | None,
        beta: float,
        every: int,
        last: int,
    ) -> None:
        # Log-probabilities throughout: pi* underflows to 0 on sequences
        # whose reward is far below the best, but its logarithm does not.
        self.ref_logp = _numpy_log_probs(ref)
        self.rewards, self.beta, self.every, self.last = (
            rewards,
            beta,
            every,
            last,
        )
        self.log_optimum = (
            None
            if rewards is None
            else _log_optimum(self.ref_logp, rewards, beta)
        )
        self.rows: dict[str, list[float]] = {}

    def __call__(self, step: int, policy: TabularLM, **extra: float) -> None:
        if step % self.every and step != self.last:
            return
        row = {"step": float(step), **extra}
        if self.rewards is not None and self.log_optimum is not None:
            logp = _numpy_log_probs(policy)
            kl_ref = _kl_from_logs(logp, self.ref_logp)
            reward = float(np.exp(logp) @ self.rewards)
            row |= {
                "reward": reward,
                "kl_ref": kl_ref,
                "kl_optimum": _kl_from_logs(logp, self.log_optimum),
                "objective": reward - self.beta * kl_ref,
            }
        for key, value in row.items():
            self.rows.setdefault(key, []).append(value)

    def history(self) -> dict[str, NDArray[np.float64]]:
        history = {k: np.asarray(v) for k, v in self.rows.items()}
        history["step"] = history["step"].astype(np.int64)
        return history  # type: ignore[return-value]


def _policy_gradient_loss(
    policy: TabularLM,
    ref_logp: torch.Tensor,
    rewards: torch.Tensor,
    *,
    beta: float,
    kl_in: str,
    estimator: str,
    batch_size: int | None,
    generator: torch.Generator,
) -> torch.Tensor:
    """The surrogate loss whose gradient is the update of :func:`fine_tune`."""
    if batch_size is None:  # the exact expectation over every sequence
        probs = policy.sequence_probs().detach()
        index = torch.nonzero(probs > 0).squeeze(1)
        weights = probs[index]
    else:
        index = policy.index(policy._sample(batch_size, generator))
        weights = torch.full(
            (batch_size,), 1.0 / batch_size, dtype=torch.float64
        )
    logp = policy.token_log_probs(policy.sequences)[index]  # (n, T)
    penalty = kl_penalty(logp, ref_logp[index], estimator=estimator).sum(-1)
    returns = rewards[index]  # (n,)
    if kl_in == "reward":
        returns = returns - beta * penalty.detach()
    if batch_size is None:
        baseline = (weights * returns).sum()
    else:  # leave-one-out: the mean return of the other samples
        baseline = (returns.sum() - returns) / (batch_size - 1)
    advantage = (returns - baseline).detach()
    loss = -(weights * advantage * logp.sum(-1)).sum()
    if kl_in == "loss":
        loss = loss + beta * (weights * penalty).sum()
    return loss


@limited_threads
def fine_tune(
    ref: TabularLM,
    rewards: ArrayLike,
    *,
    beta: float,
    kl_in: str = "reward",
    estimator: str = "k1",
    steps: int = 500,
    batch_size: int | None = 64,
    lr: float = 0.05,
    record_every: int = 10,
    seed: Seed = None,
) -> FineTuneResult:
    r"""Fine-tune a copy of ``ref`` by policy gradient with a KL penalty.

    Each step samples ``batch_size`` sequences from the policy and follows
    REINFORCE with a leave-one-out baseline. The per-token penalty
    :func:`kl_penalty` (summed over the sequence) goes either

    - into the reward (``kl_in="reward"``): the return of :math:`x` is
      :math:`r(x) - \beta \sum_t k(x_t)`, a constant for the gradient, as
      RLHF with PPO does with ``"k1"``; or
    - into the loss (``kl_in="loss"``): :math:`\beta \sum_t k(x_t)` is added
      to the policy-gradient loss and differentiated, as GRPO does with
      ``"k3"``.

    With ``"k1"`` in the reward the expected update is the gradient of
    :math:`\mathbb{E}_\pi[r] - \beta\,\mathrm{KL}(\pi\,\|\,\pi_{ref})`, so
    training can come to rest only at its maximiser
    (:func:`kl_regularized_policy`). With ``"k3"`` in the loss the penalty's
    expected gradient is that of a forward KL per token instead, and training
    settles elsewhere.

    Parameters
    ----------
    ref : TabularLM
        The reference model; the policy starts as a copy of it.
    rewards : array_like, shape (V^T,)
        The reward of every sequence of ``ref.sequences``.
    beta : float
        The KL weight, > 0.
    kl_in : {"reward", "loss"}, optional
        Where the penalty goes.
    estimator : {"k1", "k2", "k3"}, optional
        Which per-token term.
    steps : int, optional
        Adam updates.
    batch_size : int or None, optional
        Sequences per update (at least 2, and ``batch_size * T`` at most
        ``MAX_TABLE_ENTRIES``). None replaces the sample average
        by the exact expectation over every sequence: the expected update,
        without noise.
    lr : float, optional
        Adam's learning rate.
    record_every : int, optional
        Record exact quantities every so many steps (and after the last).
    seed : int, numpy.random.Generator or None, optional
        Source of randomness for the samples.

    Returns
    -------
    FineTuneResult

    Raises
    ------
    ValueError
        If a gradient grows beyond what Adam can square in float64 (rewards
        of about 1e150 and more), rather than letting training silently
        stop.

    Examples
    --------
    >>> ref = TabularLM.bigram([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]], length=2)
    >>> rewards = [0.0, 0.0, 0.0, 1.0]
    >>> result = fine_tune(ref, rewards, beta=0.5, steps=300, batch_size=None)
    >>> bool(result.history["kl_optimum"][-1] < 1e-4)
    True
    """
    _check_model(ref, "ref")
    reward = _sequence_rewards(rewards, ref)
    beta = positive_float(beta, "beta")
    check_choice(kl_in, "kl_in", KL_PLACES)
    check_choice(estimator, "estimator", tuple(ESTIMATORS))
    steps = positive_int(steps, "steps")
    batch = _optional_batch(batch_size, ref.length)
    lr = positive_float(lr, "lr")
    record = _Recorder(
        ref, reward, beta, positive_int(record_every, "record_every"), steps
    )
    generator = torch_generator(seed)
    policy = ref.copy()
    with torch.no_grad():
        ref_logp = ref.token_log_probs(ref.sequences)
    blame = (
        f"rewards up to {np.abs(reward).max():.3g} in size and beta = {beta}"
        " set the gradients' scale: rescale the rewards"
    )
    reward_t = torch.as_tensor(reward)
    optimizer = torch.optim.Adam(policy.parameters(), lr=lr)
    for step in range(steps):
        record(step, policy)
        loss = _policy_gradient_loss(
            policy,
            ref_logp,
            reward_t,
            beta=beta,
            kl_in=kl_in,
            estimator=estimator,
            batch_size=batch,
            generator=generator,
        )
        _adam_step(optimizer, loss, policy, step=step, blame=blame)
    record(steps, policy)
    return FineTuneResult(policy, record.history())


# --- DPO ---------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PreferencePairs:
    """Pairs of sequences, the preferred one first.

    The pairs check themselves when made: integer tokens (a tensor, an array
    or nested lists), both of shape (n_pairs, T) with at least one pair and
    one token, tokens >= 0 and, when ``vocab_size`` is given, below it.
    Tokens are stored as int64 tensors.

    Attributes
    ----------
    chosen, rejected : torch.Tensor
        Integer tokens, shape (n_pairs, T) each.
    vocab_size : int or None
        The vocabulary the tokens come from, if known (keyword only).

    Examples
    --------
    >>> pairs = PreferencePairs([[1, 1]], [[0, 1]], vocab_size=2)
    >>> len(pairs), pairs.chosen.dtype
    (1, torch.int64)
    """

    chosen: torch.Tensor
    rejected: torch.Tensor
    vocab_size: int | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        vocab = self.vocab_size
        if vocab is not None:
            vocab = positive_int(vocab, "vocab_size", minimum=2)
        shapes = []
        for name in ("chosen", "rejected"):
            tokens = _integer_tokens(getattr(self, name), name, vocab)
            if tokens.ndim != 2:
                raise ValueError(
                    f"{name} must have shape (n_pairs, T), got "
                    f"{tuple(tokens.shape)}"
                )
            object.__setattr__(self, name, tokens)
            shapes.append(tuple(tokens.shape))
        if shapes[0] != shapes[1]:
            raise ValueError(
                "chosen and rejected must have the same shape, got "
                f"{shapes[0]} and {shapes[1]}"
            )
        if 0 in shapes[0]:
            raise ValueError(
                "chosen and rejected must hold at least one pair of "
                f"sequences of at least one token, got shape {shapes[0]}"
            )
        object.__setattr__(self, "vocab_size", vocab)

    def __len__(self) -> int:
        return int(self.chosen.shape[0])


def preference_pairs(
    model: TabularLM, rewards: ArrayLike, *, n_pairs: int, seed: Seed = None
) -> PreferencePairs:
    r"""Pairs of sequences from ``model``, labelled by Bradley--Terry.

    The first sequence :math:`a` is preferred over the second :math:`b` with
    probability :math:`\sigma(r(a) - r(b))`, as a rater whose taste is the
    reward would choose.

    Parameters
    ----------
    model : TabularLM
        Where the two sequences come from (usually the reference).
    rewards : array_like, shape (V^T,)
        The reward of every sequence.
    n_pairs : int
        How many pairs; ``2 * n_pairs * T`` at most
        ``MAX_TABLE_ENTRIES`` (2**24).
    seed : int, numpy.random.Generator or None, optional
        Source of randomness.

    Returns
    -------
    PreferencePairs

    Examples
    --------
    >>> lm = TabularLM(2, 1)
    >>> pairs = preference_pairs(lm, [0.0, 30.0], n_pairs=500, seed=0)
    >>> bool((pairs.chosen >= pairs.rejected).all())
    True
    """
    _check_model(model, "model")
    reward = torch.as_tensor(_sequence_rewards(rewards, model))
    n = positive_int(n_pairs, "n_pairs")
    _check_size(n, "n_pairs", 2 * model.length, "pairs of sequences")
    generator = torch_generator(seed)
    first = model._sample(n, generator)
    second = model._sample(n, generator)
    margin = reward[model.index(first)] - reward[model.index(second)]
    prefer_first = torch.rand(n, generator=generator, dtype=torch.float64) < (
        torch.sigmoid(margin)
    )
    keep = prefer_first[:, None]
    return PreferencePairs(
        torch.where(keep, first, second),
        torch.where(keep, second, first),
        vocab_size=model.vocab_size,
    )


@limited_threads
def train_dpo(
    ref: TabularLM,
    pairs: PreferencePairs,
    *,
    beta: float,
    steps: int = 300,
    lr: float = 0.05,
    batch_size: int | None = None,
    rewards: ArrayLike | None = None,
    record_every: int = 10,
    seed: Seed = None,
) -> FineTuneResult:
    """Train a copy of ``ref`` by minimising :func:`dpo_loss` on ``pairs``.

    Parameters
    ----------
    ref : TabularLM
        The reference model; the policy starts as a copy of it.
    pairs : PreferencePairs
        The data.
    beta : float
        The KL weight of the objective whose optimum DPO targets, > 0.
    steps : int, optional
        Adam updates.
    lr : float, optional
        Adam's learning rate.
    batch_size : int or None, optional
        Pairs per update, drawn at random; None uses every pair every step.
    rewards : array_like, shape (V^T,), optional
        The true reward, used only to record the exact distance to the
        KL-regularised optimum in the history.
    record_every : int, optional
        Record every so many steps (and after the last).
    seed : int, numpy.random.Generator or None, optional
        Source of randomness for the mini-batches.

    Returns
    -------
    FineTuneResult
        Its history holds ``"loss"``, the DPO loss on all pairs.

    Raises
    ------
    ValueError
        If the pairs do not fit ``ref`` (another length or vocabulary, or a
        sequence ``ref`` gives probability zero, whose log-ratio is
        undefined), or if a gradient grows beyond what Adam can square in
        float64 (a huge ``beta``).

    Examples
    --------
    >>> ref = TabularLM(2, 1)
    >>> pairs = PreferencePairs(torch.tensor([[1]]), torch.tensor([[0]]))
    >>> result = train_dpo(ref, pairs, beta=1.0, steps=20)
    >>> bool(result.history["loss"][-1] < result.history["loss"][0])
    True
    """
    _check_model(ref, "ref")
    _check_pairs(pairs, ref)
    beta = positive_float(beta, "beta")
    steps = positive_int(steps, "steps")
    lr = positive_float(lr, "lr")
    batch = _optional_batch(batch_size, ref.length)
    reward = None if rewards is None else _sequence_rewards(rewards, ref)
    record = _Recorder(
        ref, reward, beta, positive_int(record_every, "record_every"), steps
    )
    generator = torch_generator(seed)
    chosen, rejected = ref.index(pairs.chosen), ref.index(pairs.rejected)
    with torch.no_grad():
        ref_logp = ref.log_prob(ref.sequences)
    excluded = torch.isneginf(ref_logp)
    for tokens, index in ((pairs.chosen, chosen), (pairs.rejected, rejected)):
        if excluded[index].any():
            bad = tokens[excluded[index]][0].tolist()
            raise ValueError(
                "pairs hold a sequence that ref gives probability zero: "
                f"{bad}; DPO's log-ratio log(pi / pi_ref) is undefined there"
            )
    blame = f"beta = {beta} sets the gradients' scale: lower it"
    policy = ref.copy()
    optimizer = torch.optim.Adam(policy.parameters(), lr=lr)

    def loss_on(rows: torch.Tensor) -> torch.Tensor:
        # dpo_loss, with each sequence's log-ratio computed once
        log_ratio = policy.log_prob(policy.sequences) - ref_logp
        margin = log_ratio[chosen[rows]] - log_ratio[rejected[rows]]
        return _preference_nll(beta * margin)

    every = torch.arange(len(pairs))
    for step in range(steps + 1):
        with torch.no_grad():
            record(step, policy, loss=loss_on(every).item())
        if step == steps:
            break
        rows = every
        if batch is not None:
            rows = torch.randint(len(pairs), (batch,), generator=generator)
        _adam_step(optimizer, loss_on(rows), policy, step=step, blame=blame)
    return FineTuneResult(policy, record.history())


def _check_pairs(pairs: Any, ref: TabularLM) -> None:
    """Pairs that ``ref`` can score: its length and its vocabulary."""
    if not isinstance(pairs, PreferencePairs):
        raise TypeError(
            f"pairs must be PreferencePairs, got {type(pairs).__name__}"
        )
    length = pairs.chosen.shape[1]
    if length != ref.length:
        raise ValueError(
            f"pairs hold sequences of length {length}, but ref has length "
            f"{ref.length}"
        )
    if pairs.vocab_size is not None and pairs.vocab_size != ref.vocab_size:
        raise ValueError(
            f"pairs were drawn over a vocabulary of {pairs.vocab_size} tokens,"
            f" but ref has vocab_size {ref.vocab_size}"
        )
    top = int(max(pairs.chosen.max(), pairs.rejected.max()))
    if top >= ref.vocab_size:
        raise ValueError(
            f"pairs hold tokens up to {top}, but ref has vocab_size "
            f"{ref.vocab_size}"
        )


# --- distillation ------------------------------------------------------------


@dataclass(frozen=True)
class DistillResult:
    """The result of :func:`distill`.

    Attributes
    ----------
    student : FactorizedLM
        The trained student.
    history : dict
        Arrays: ``"step"``, ``"forward_kl"`` (KL(teacher || student)) and
        ``"reverse_kl"`` (KL(student || teacher)), exact, with the teacher at
        the temperature of training.

    Examples
    --------
    >>> teacher = TabularLM(2, 2)
    >>> result = distill(teacher, direction="forward", steps=2, record_every=1)
    >>> result.history["forward_kl"].tolist()
    [0.0, 0.0, 0.0]
    """

    student: FactorizedLM
    history: dict[str, NDArray[np.float64]]

    def __post_init__(self) -> None:
        _check_model(self.student, "student", FactorizedLM)
        _check_history(self.history)


def _sequence_kl(
    p: torch.Tensor, log_p: torch.Tensor, log_q: torch.Tensor
) -> torch.Tensor:
    """KL(P || Q) over all sequences; terms with p = 0 count as zero.

    Those terms are left out rather than masked by ``torch.where``, whose
    gradient would carry the NaN of ``0 * (-inf - -inf)`` into the logits.
    """
    support = p > 0
    return (p[support] * (log_p[support] - log_q[support])).sum()


@limited_threads
def distill(
    teacher: TabularLM,
    *,
    direction: str,
    temperature: float = 1.0,
    init: FactorizedLM | None = None,
    steps: int = 200,
    lr: float = 0.2,
    record_every: int = 10,
) -> DistillResult:
    r"""Distil a teacher into a :class:`FactorizedLM` by forward or reverse KL.

    - ``"forward"`` minimises :math:`\mathrm{KL}(p_\tau\,\|\,q)`, the usual
      distillation loss: the cross-entropy of the student on the teacher's
      sequences. It is mass-covering.
    - ``"reverse"`` minimises :math:`\mathrm{KL}(q\,\|\,p_\tau)`, an average
      over the student's own sequences, as MiniLLM does (on-policy
      distillation in general scores the student's own sequences with either
      direction, or a mixture). It is mode-seeking.

    :math:`p_\tau` is the teacher at ``temperature`` (see
    :meth:`TabularLM.tempered`). Both divergences are computed exactly over
    every sequence, so the training is deterministic.

    Parameters
    ----------
    teacher : TabularLM
        The teacher.
    direction : {"forward", "reverse"}
        Which KL to minimise.
    temperature : float, optional
        The teacher's temperature, > 0.
    init : FactorizedLM, optional
        The student to start from (it is copied, not changed). Default:
        uniform.
    steps : int, optional
        Adam updates.
    lr : float, optional
        Adam's learning rate.
    record_every : int, optional
        Record every so many steps (and after the last).

    Returns
    -------
    DistillResult

    Raises
    ------
    ValueError
        If the divergence being minimised is infinite at the start (the
        student gives mass where the tempered teacher has none, or the
        reverse), or if a gradient grows beyond what Adam can square in
        float64 (a temperature near zero).

    Examples
    --------
    >>> sticky = [[0.9, 0.1], [0.1, 0.9]]
    >>> teacher = TabularLM.bigram([0.5, 0.5], sticky, length=2)
    >>> result = distill(teacher, direction="forward", steps=200)
    >>> np.round(result.student.sequence_probs().tolist(), 3)
    array([0.25, 0.25, 0.25, 0.25])
    """
    _check_model(teacher, "teacher")
    check_choice(direction, "direction", DIRECTIONS)
    tempered = teacher.tempered(temperature)
    temperature = float(temperature)
    steps = positive_int(steps, "steps")
    lr = positive_float(lr, "lr")
    every = positive_int(record_every, "record_every")
    student = FactorizedLM(teacher.vocab_size, teacher.length)
    if init is not None:
        _check_model(init, "init", FactorizedLM)
        if (init.vocab_size, init.length) != (
            student.vocab_size,
            student.length,
        ):
            raise ValueError(
                "init must have the teacher's vocab_size and length, got "
                f"{(init.vocab_size, init.length)} and "
                f"{(student.vocab_size, student.length)}"
            )
        with torch.no_grad():
            student.logits.copy_(init.logits)
    with torch.no_grad():
        log_p = tempered.log_prob(tempered.sequences)
    p = log_p.exp()
    optimizer = torch.optim.Adam(student.parameters(), lr=lr)
    rows: dict[str, list[float]] = {
        "step": [],
        "forward_kl": [],
        "reverse_kl": [],
    }
    blame = (
        f"temperature = {temperature} sets the scale of the teacher's "
        "log-probabilities: raise it"
    )
    for step in range(steps + 1):
        log_q = student.log_prob(student.sequences)
        forward = _sequence_kl(p, log_p, log_q)
        reverse = _sequence_kl(log_q.exp(), log_q, log_p)
        loss = forward if direction == "forward" else reverse
        if step == 0 and torch.isinf(loss):
            raise ValueError(_infinite_start(direction, temperature))
        if step % every == 0 or step == steps:
            rows["step"].append(step)
            rows["forward_kl"].append(forward.item())
            rows["reverse_kl"].append(reverse.item())
        if step == steps:
            break
        _adam_step(optimizer, loss, student, step=step, blame=blame)
    history = {k: np.asarray(v) for k, v in rows.items()}
    return DistillResult(student, history)


def _infinite_start(direction: str, temperature: float) -> str:
    if direction == "reverse":
        return (
            "KL(student || teacher) is infinite at the start: the student "
            "(init, or uniform) gives positive probability to sequences the "
            f"teacher at temperature {temperature} excludes, so reverse "
            "distillation has no finite gradient to follow; pass an init "
            "that excludes them too"
        )
    return (
        "KL(teacher || student) is infinite at the start: init excludes "
        f"sequences the teacher at temperature {temperature} produces; pass "
        "an init that allows them"
    )
