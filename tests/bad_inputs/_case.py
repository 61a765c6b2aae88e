"""One row of the bad-input catalogue and the two things a row can expect."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Raises:
    """The call must raise one of ``types`` with every word of ``words`` in its message."""

    types: tuple[type[BaseException], ...]
    words: tuple[str, ...]


@dataclass(frozen=True)
class Returns:
    """The call must return a value for which ``check`` is true (``what`` says what)."""

    check: Callable[[Any], bool]
    what: str


@dataclass(frozen=True)
class Case:
    """A call of ``target`` (a public name, e.g. ``"kl_divergence"`` or
    ``"rl.MaxEntReinforce.train"``) with bad input ``what`` and what it must do."""

    target: str
    what: str
    call: Callable[[], Any]
    expect: Raises | Returns

    @property
    def id(self) -> str:
        return f"{self.target}: {self.what}"


def raises(
    types: type[BaseException] | Sequence[type[BaseException]], *words: str
) -> Raises:
    """Expect an error of ``types`` whose message names every one of ``words``.

    ``words`` must include the name of the offending argument.
    """
    if isinstance(types, type):
        types = (types,)
    if not words:
        raise ValueError("a Raises expectation must name the argument it blames")
    return Raises(tuple(types), tuple(words))


def returns(check: Callable[[Any], bool], what: str) -> Returns:
    """Expect a value for which ``check`` holds (say what in ``what``)."""
    return Returns(check, what)


def is_inf(value: Any) -> bool:
    """True for +inf (a float, or every entry of an array)."""
    try:
        return bool(math.isinf(float(value)) and float(value) > 0)
    except TypeError:
        import numpy as np

        array = np.asarray(value, dtype=float)
        return bool(np.all(np.isposinf(array)))


def close_to(expected: float, *, rel: float = 1e-9, abs: float = 1e-12):
    """A check that a scalar result is within a tolerance of ``expected``."""

    def check(value: Any) -> bool:
        return math.isclose(float(value), expected, rel_tol=rel, abs_tol=abs)

    return check
