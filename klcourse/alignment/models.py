r"""Sequence models small enough for every sequence to be listed.

:class:`TabularLM` keeps one row of logits for every prefix, so it can
represent every distribution over its ``V**T`` sequences of ``T`` tokens, as a
language model's conditionals do; :class:`FactorizedLM` has one row per
position, a student too small to make one token depend on another.
:func:`all_sequences` lists the sequences both enumerate, in the order of
their rows of probabilities. Their tables hold at most ``MAX_TABLE_ENTRIES``
entries. The logits are float64 ``torch`` parameters.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn

from klcourse._random import Seed, torch_generator
from klcourse._validation import (
    as_float_array,
    positive_float,
    positive_int,
    probability_array,
)
from klcourse.alignment._common import (
    MAX_TABLE_ENTRIES,
    check_size,
    draw_sequences,
    integer_tokens,
)

__all__ = ["MAX_TABLE_ENTRIES", "FactorizedLM", "TabularLM", "all_sequences"]


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
        tokens = integer_tokens(sequences, "sequences", self.vocab_size)
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
        >>> moves = [[0.9, 0.1], [0.2, 0.8]]
        >>> lm = TabularLM.bigram([0.5, 0.5], moves, length=2)
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
        check_size(n, "n", self.length, f"sequences of length {self.length}")
        return draw_sequences(self, n, torch_generator(seed))

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
