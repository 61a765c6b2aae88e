"""Randomness without side effects: one way to turn a ``seed`` into generators.

Every public function or method that draws random numbers takes ``seed``: None
(fresh entropy), an int, or a :class:`numpy.random.Generator` (used as is, so a
caller can thread one generator through several calls). From it,
:func:`make_rng` gives the NumPy generator and :func:`torch_generator` a
``torch.Generator``. Torch code that cannot take a generator (a module's
weight initialisation, ``Distribution.sample``) runs inside :func:`seeded`,
which forks torch's global generator and restores it afterwards. Nothing here
reads or changes NumPy's or torch's global random state, and only the two
torch helpers import torch.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

#: What a ``seed`` argument accepts.
Seed = int | np.random.Generator | None

_SEED_BOUND = 2**63 - 1


def make_rng(seed: Seed, name: str = "seed") -> np.random.Generator:
    """Return a NumPy generator from a seed, an existing generator, or None.

    None draws fresh entropy from the operating system, not from NumPy's
    global state. A generator is returned unchanged.

    Examples
    --------
    >>> int(make_rng(0).integers(100)) == int(make_rng(0).integers(100))
    True
    >>> rng = np.random.default_rng(1)
    >>> make_rng(rng) is rng
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
    ):
        raise TypeError(
            f"{name} must be an int, a numpy.random.Generator or None, "
            f"got {type(seed).__name__}"
        )
    if seed is not None and seed < 0:
        raise ValueError(f"{name} must be non-negative, got {seed}")
    return np.random.default_rng(seed)


def derive_seed(rng: np.random.Generator) -> int:
    """Draw an integer seed for another generator from ``rng``."""
    return int(rng.integers(_SEED_BOUND))


def torch_generator(seed: Seed, name: str = "seed") -> torch.Generator:
    """A CPU ``torch.Generator`` seeded from ``seed`` (see :func:`make_rng`)."""
    import torch

    return torch.Generator().manual_seed(derive_seed(make_rng(seed, name)))


@contextmanager
def seeded(generator: torch.Generator | np.random.Generator) -> Iterator[None]:
    """Run torch code that uses the global generator, seeded from ``generator``.

    Torch's global CPU generator is forked on entry and restored on exit, so
    the caller's random state is unchanged; ``generator`` advances by one draw.
    """
    import torch

    if isinstance(generator, torch.Generator):
        value = int(torch.randint(_SEED_BOUND, (1,), generator=generator))
    else:
        value = derive_seed(generator)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(value)
        yield
