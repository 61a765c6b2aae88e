"""The public API: every exported name exists, is documented, and has an example."""

from __future__ import annotations

import inspect

import pytest

import klcourse


@pytest.mark.parametrize("name", klcourse.__all__)
def test_public_name_is_documented_with_an_example(name: str) -> None:
    obj = getattr(klcourse, name)
    doc = inspect.getdoc(obj)
    assert doc, f"klcourse.{name} has no docstring"
    if inspect.isfunction(obj) or (inspect.isclass(obj) and not issubclass(obj, Exception) and "Data" not in name
                                   and name not in {"GaussianParams", "GaussianFit", "MonteCarloResult"}):
        assert ">>>" in doc, f"klcourse.{name} has no doctest example"


def test_public_functions_have_type_hints() -> None:
    for name in klcourse.__all__:
        obj = getattr(klcourse, name)
        if inspect.isfunction(obj):
            hints = obj.__annotations__
            assert "return" in hints, f"klcourse.{name} has no return annotation"


def test_rl_public_names_are_documented() -> None:
    import klcourse.rl

    for name in klcourse.rl.__all__:
        assert inspect.getdoc(getattr(klcourse.rl, name)), f"klcourse.rl.{name} has no docstring"
