"""klcourse._threads: one torch thread while klcourse works, the caller's setting restored."""

from __future__ import annotations

import pytest
import torch

import klcourse
from klcourse._threads import limited_threads, torch_threads


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)
    klcourse.set_torch_threads(1)


def test_default_is_one_thread_and_restores(two_threads: None) -> None:
    with torch_threads():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_restores_after_an_error(two_threads: None) -> None:
    @limited_threads
    def fails() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fails()
    assert torch.get_num_threads() == 2


def test_users_can_choose_otherwise(two_threads: None) -> None:
    assert klcourse.set_torch_threads(None) == 1
    with torch_threads():
        assert torch.get_num_threads() == 2  # torch's own setting, untouched
    klcourse.set_torch_threads(3)
    with torch_threads():
        assert torch.get_num_threads() == 3
    assert torch.get_num_threads() == 2


def test_importing_klcourse_does_not_change_the_setting() -> None:
    import subprocess
    import sys

    code = (
        "import torch; torch.set_num_threads(2); import klcourse, klcourse.rl;"
        "print(torch.get_num_threads())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "2"


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (0, ValueError),
        (-1, ValueError),
        (1.5, TypeError),
        (True, TypeError),
        ("2", TypeError),
    ],
)
def test_set_torch_threads_refuses_bad_counts(
    bad: object, error: type[Exception]
) -> None:
    with pytest.raises(error, match="^n must be"):
        klcourse.set_torch_threads(bad)  # type: ignore[arg-type]
    assert klcourse.set_torch_threads(1) == 1  # the setting did not change


def test_without_torch_loaded_nothing_loads_it() -> None:
    """A klcourse call that starts before torch is imported leaves it unloaded."""
    import subprocess
    import sys

    code = (
        "import sys; from klcourse._threads import limited_threads, "
        "torch_threads\n"
        "with torch_threads(): pass\n"
        "limited_threads(lambda: None)()\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"
