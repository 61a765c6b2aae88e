"""Checks and small tools that several modules of the subpackage share.

The size limit of the tables, integer tokens, sequences drawn from a model,
one reward per sequence, and the two losses on a preference margin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from torch import nn

from klcourse._validation import finite_array

if TYPE_CHECKING:  # models imports this module
    from klcourse.alignment.models import TabularLM

#: The most entries (tokens or numbers) in one table this subpackage builds:
#: 2**24, 128 MiB of int64. The sequence models enumerate all ``V**T``
#: sequences of ``T`` tokens (their largest table, bigger than the logits),
#: and training keeps several tables of that size, so a model or a sample
#: past this limit is refused before anything is allocated.
MAX_TABLE_ENTRIES = 2**24


def check_size(count: int, name: str, each: int, what: str) -> None:
    """Refuse ``count`` items of ``each`` entries beyond MAX_TABLE_ENTRIES."""
    if count * each > MAX_TABLE_ENTRIES:
        raise ValueError(
            f"{name} = {count} {what} would need {count * each:,} entries, "
            f"more than MAX_TABLE_ENTRIES = {MAX_TABLE_ENTRIES:,}"
        )


def integer_tokens(
    value: Any, name: str, vocab_size: int | None = None
) -> torch.Tensor:
    """Tokens as an int64 tensor: integers only, >= 0 (and < vocab_size)."""
    if isinstance(value, torch.Tensor):
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


@torch.no_grad()
def draw_sequences(
    model: TabularLM, n: int, generator: torch.Generator
) -> torch.Tensor:
    """``n`` whole sequences drawn from ``model.sequence_probs()``, (n, T)."""
    drawn = torch.multinomial(
        model.sequence_probs(), n, replacement=True, generator=generator
    )
    return model.sequences[drawn]


def check_model(model: Any, name: str, kind: type) -> None:
    """Refuse anything but a ``kind`` (a sequence model class) as ``name``."""
    if not isinstance(model, kind):
        raise TypeError(
            f"{name} must be a {kind.__name__}, got {type(model).__name__}"
        )


def sequence_rewards(
    rewards: ArrayLike, model: TabularLM
) -> NDArray[np.float64]:
    """One finite reward per sequence of ``model``, shape (V^T,)."""
    reward = finite_array(rewards, "rewards")
    if reward.shape != (len(model.sequences),):
        raise ValueError(
            f"rewards must hold one reward per sequence, shape "
            f"({len(model.sequences)},), got {reward.shape}"
        )
    return reward


def preference_nll(margin: torch.Tensor) -> torch.Tensor:
    """Mean of -log sigma(margin): Bradley--Terry, the first one preferred."""
    return -nn.functional.logsigmoid(margin).mean()


def ipo_squared_error(
    log_ratio_margin: torch.Tensor, beta: float
) -> torch.Tensor:
    """Mean of (margin - 1 / (2 beta))^2: IPO's regression of the margin."""
    return ((log_ratio_margin - 1 / (2 * beta)) ** 2).mean()
