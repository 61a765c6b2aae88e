"""Preference data for DPO: pairs of sequences, the preferred one first.

:class:`PreferencePairs` holds and checks the pairs; :func:`preference_pairs`
draws them from a model and labels them as a rater whose taste is a known
reward would (Bradley--Terry).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from numpy.typing import ArrayLike

from klcourse._random import Seed, torch_generator
from klcourse._validation import positive_int
from klcourse.alignment._common import (
    check_model,
    check_size,
    draw_sequences,
    integer_tokens,
    sequence_rewards,
)
from klcourse.alignment.models import TabularLM

__all__ = ["PreferencePairs", "preference_pairs"]


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
            tokens = integer_tokens(getattr(self, name), name, vocab)
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
    check_model(model, "model", TabularLM)
    reward = torch.as_tensor(sequence_rewards(rewards, model))
    n = positive_int(n_pairs, "n_pairs")
    check_size(n, "n_pairs", 2 * model.length, "pairs of sequences")
    generator = torch_generator(seed)
    first = draw_sequences(model, n, generator)
    second = draw_sequences(model, n, generator)
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
