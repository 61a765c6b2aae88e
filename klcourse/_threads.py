"""Torch's thread count while klcourse trains or predicts.

The course's networks are tiny. For them torch's intra-op threads buy nothing
alone and cost a great deal beside any other busy process (a fit measured 11 to
20 times slower on two cores with one other job running). So klcourse runs its
own torch work on one thread by default, restores the caller's setting
afterwards, and never changes it at import. :func:`set_torch_threads` chooses
otherwise.

Nothing here imports torch: a call that starts before anything has imported
torch does no torch work (klcourse's torch-backed modules import torch when
they load), so there is no thread count to set.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from klcourse._validation import positive_int

__all__ = ["set_torch_threads", "torch_threads"]

_threads: int | None = 1

F = TypeVar("F", bound=Callable[..., Any])

#: More threads than this many per core only add overhead (and a huge count
#: can exhaust memory when torch starts them), so ``set_torch_threads``
#: refuses it.
MAX_THREADS_PER_CORE = 4


def set_torch_threads(n: int | None) -> int | None:
    """Set how many threads klcourse's training and inference use; return the old setting.

    Parameters
    ----------
    n : int or None
        A positive count, at most four per CPU core, used for the duration of each klcourse call and
        restored afterwards; None leaves torch's own setting alone. The
        default is 1, which suits the course's small models.

    Examples
    --------
    >>> previous = set_torch_threads(None)  # use torch's setting
    >>> set_torch_threads(previous)  # back to the default
    """
    global _threads
    if n is not None:
        n = positive_int(n, "n")
        limit = MAX_THREADS_PER_CORE * (os.cpu_count() or 1)
        if n > limit:
            raise ValueError(
                f"n must be at most {limit} ({MAX_THREADS_PER_CORE} per CPU"
                f" core of this machine), got {n}"
            )
    previous, _threads = _threads, n
    return previous


@contextmanager
def torch_threads() -> Iterator[None]:
    """Run a block with klcourse's thread setting, restoring torch's afterwards.

    Without torch loaded it does nothing (and does not load torch).

    Examples
    --------
    >>> import torch
    >>> before = torch.get_num_threads()
    >>> with torch_threads():
    ...     inside = torch.get_num_threads()
    >>> inside, torch.get_num_threads() == before
    (1, True)
    """
    torch = sys.modules.get("torch")
    wanted = _threads
    if torch is None or wanted is None:
        yield
        return
    before = torch.get_num_threads()
    if wanted == before:
        yield
        return
    torch.set_num_threads(wanted)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def limited_threads(function: F) -> F:
    """Decorate a function so that it runs under :func:`torch_threads`."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with torch_threads():
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
