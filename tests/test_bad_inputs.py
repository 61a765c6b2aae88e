"""The bad-input catalogue: every public function of klcourse at the edges of its inputs.

Each row (``tests/bad_inputs/<module>.py``) feeds one bad input to one public name
and expects either the right answer or a ``ValueError``/``TypeError`` whose message
names the argument. An error must be raised by klcourse itself, not deep inside
numpy or torch, and no call may emit a numpy ``RuntimeWarning`` (the sign of a NaN
or an overflow on the way to an answer).
"""

from __future__ import annotations

import importlib
import traceback
import warnings
from pathlib import Path

import pytest
from bad_inputs._case import Case, Raises

import klcourse
import klcourse.rl

MODULES = sorted(
    p.stem for p in (Path(__file__).parent / "bad_inputs").glob("[!_]*.py")
)
CASES: list[Case] = [
    case
    for module in MODULES
    for case in importlib.import_module(f"bad_inputs.{module}").CASES
]
PACKAGE = Path(klcourse.__file__).resolve().parent


def _raised_in_klcourse(error: BaseException) -> bool:
    """True when the innermost frame that raised ``error`` belongs to klcourse."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and Path(frames[-1].filename).resolve().is_relative_to(
        PACKAGE
    )


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case: Case) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        if isinstance(case.expect, Raises):
            with pytest.raises(case.expect.types) as info:
                case.call()
            message = str(info.value)
            for word in case.expect.words:
                assert word in message, f"{word!r} not named in {message!r}"
            assert _raised_in_klcourse(info.value), (
                "raised outside klcourse:\n"
                + "".join(traceback.format_tb(info.value.__traceback__)[-2:])
            )
        else:
            value = case.call()
            assert case.expect.check(value), (
                f"expected {case.expect.what}, got {value!r}"
            )


def test_catalogue_is_large_and_ids_unique() -> None:
    assert len(CASES) >= 200, len(CASES)
    ids = [case.id for case in CASES]
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, duplicates


def _public_names() -> set[str]:
    names = set(klcourse.__all__)
    names |= {f"rl.{name}" for name in klcourse.rl.__all__}
    return names


def test_every_public_name_has_a_case() -> None:
    covered = {case.target.split(".", 2)[0] for case in CASES}
    covered |= {
        ".".join(case.target.split(".")[:2])
        for case in CASES
        if case.target.startswith("rl.")
    }
    missing = sorted(_public_names() - covered)
    assert not missing, f"public names without a bad-input case: {missing}"
