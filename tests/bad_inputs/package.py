"""Bad inputs for the package-level settings: ``set_torch_threads``."""

from __future__ import annotations

from collections.abc import Callable

import torch

from bad_inputs._case import Case, raises, returns
from klcourse import History, set_torch_threads
from klcourse._threads import torch_threads


def _then_restored(n: object) -> Callable[[], object]:
    """Call ``set_torch_threads(n)`` and undo it at once if it was accepted.

    A refused ``n`` changes nothing; an accepted one must not leak into the
    rest of the test session (a million threads would abort the process).
    """

    def call() -> object:
        previous = set_torch_threads(n)  # type: ignore[arg-type]
        set_torch_threads(previous)
        return previous

    return call


def _none_leaves_torch_alone() -> bool:
    """With ``None``, a klcourse call runs on torch's own thread count."""
    before = torch.get_num_threads()
    previous = set_torch_threads(None)
    try:
        with torch_threads():
            inside = torch.get_num_threads()
    finally:
        set_torch_threads(previous)
    return inside == before


CASES = [
    Case(
        "set_torch_threads",
        "a numeric string",
        _then_restored("2"),
        raises(TypeError, "n"),
    ),
    Case(
        "set_torch_threads",
        "bool",
        _then_restored(True),
        raises(TypeError, "n"),
    ),
    Case(
        "set_torch_threads",
        "a float count",
        _then_restored(2.0),
        raises(TypeError, "n"),
    ),
    Case(
        "set_torch_threads",
        "zero threads",
        _then_restored(0),
        raises(ValueError, "n"),
    ),
    Case(
        "set_torch_threads",
        "a negative count",
        _then_restored(-1),
        raises(ValueError, "n"),
    ),
    Case(
        "set_torch_threads",
        "a million threads (libgomp aborts the process on the next call)",
        _then_restored(10**6),
        raises(ValueError, "n"),
    ),
    Case(
        "set_torch_threads",
        "None leaves torch's own setting alone",
        _none_leaves_torch_alone,
        returns(lambda same: same is True, "torch's thread count, unchanged"),
    ),
]


# --- History, the record of every trainer ---------------------------------
CASES += [
    Case(
        "History",
        "columns of different lengths",
        lambda: History({"update": [1, 2], "loss": [0.5]}, x="update"),
        raises(ValueError, "column", "length"),
    ),
    Case(
        "History",
        "an x-axis that is not a column",
        lambda: History({"loss": [0.5]}, x="update"),
        raises(ValueError, "x-axis"),
    ),
    Case(
        "History",
        "an unknown x-axis word",
        lambda: History({"step": [1]}, x="step"),
        raises(ValueError, "x"),
    ),
    Case(
        "History",
        "a 2-D column",
        lambda: History({"update": [[1, 2]]}, x="update"),
        raises(ValueError, "update", "1-D"),
    ),
    Case(
        "History",
        "a list of rows instead of columns",
        lambda: History([{"update": 1}], x="update"),
        raises(TypeError, "columns"),
    ),
    Case(
        "History.from_rows",
        "rows with different keys",
        lambda: History.from_rows([{"update": 1}, {"loss": 2.0}], x="update"),
        raises(ValueError, "row 1"),
    ),
]
