"""The package's examples are portable: no expected output relies on a float's last digits.

The last digits of a float depend on the CPU's vector code and the thread count, so an
example that prints ``1.4142135623730951`` fails where the sum came out one unit in the
last place away. Examples round (``round(x, 6)``, ``np.round``) or print fewer digits
(pytest's ``NUMBER`` option, set in pyproject.toml, matches to the digits written).
"""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
MAX_SIGNIFICANT = 12
FLOAT = re.compile(r"(?<![\w.])[-+]?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?")


def significant_digits(literal: str) -> int:
    """Significant digits of a float literal: ``0.00123`` has 3, ``1.50`` has 3."""
    mantissa = re.sub(r"[eE].*", "", literal).lstrip("+-")
    return len(mantissa.replace(".", "").lstrip("0")) or 1


def module_names() -> list[str]:
    names = []
    for path in sorted((ROOT / "klcourse").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        names.append(".".join(parts).removesuffix(".__init__"))
    return names


def examples(module: str) -> list[tuple[str, doctest.Example]]:
    found = doctest.DocTestFinder().find(importlib.import_module(module))
    return [
        (test.name, example)
        for test in found
        for ex in [test.examples]
        for example in ex
    ]


def test_significant_digits() -> None:
    assert significant_digits("1.4142135623730951") == 17
    assert significant_digits("0.00123") == 3
    assert significant_digits("-2.50e-3") == 3
    assert significant_digits("0.0") == 1


@pytest.mark.parametrize("module", module_names())
def test_no_example_expects_a_float_to_more_than_12_digits(
    module: str,
) -> None:
    long = [
        (name, match.group())
        for name, example in examples(module)
        for match in FLOAT.finditer(example.want)
        if significant_digits(match.group()) > MAX_SIGNIFICANT
    ]
    assert not long, (
        f"{module}: expected outputs with more than {MAX_SIGNIFICANT} significant "
        f"digits fail on other CPUs; round them: {long}"
    )


def test_the_rule_catches_the_float_that_broke_a_fresh_machine() -> None:
    want = "GaussianParams(mu=0.0, sigma=1.4142135623730951)\n"
    assert any(
        significant_digits(m.group()) > MAX_SIGNIFICANT
        for m in FLOAT.finditer(want)
    )


def test_doctests_compare_floats_to_the_digits_written() -> None:
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"][
        "pytest"
    ]["ini_options"]
    assert "NUMBER" in options["doctest_optionflags"]


@pytest.mark.parametrize("module", module_names())
def test_no_example_shows_a_traceback(module: str) -> None:
    """The API page renders the examples, and a site test rejects any traceback on
    a page; an example of an error catches it and prints the message instead."""
    raising = [name for name, example in examples(module) if example.exc_msg]
    assert not raising, f"{module}: examples that show a traceback: {raising}"
