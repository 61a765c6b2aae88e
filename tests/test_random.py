"""klcourse._random: one way from a seed to generators, with no global side effects."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from klcourse._random import make_rng, seeded, torch_generator


def test_make_rng_accepts_none_int_and_generator() -> None:
    rng = np.random.default_rng(3)
    assert make_rng(rng) is rng
    assert make_rng(4).integers(10**9) == make_rng(4).integers(10**9)
    assert make_rng(np.int64(4)).integers(10**9) == make_rng(4).integers(10**9)
    assert make_rng(None).integers(10**9) != make_rng(None).integers(10**9)


@pytest.mark.parametrize(
    ("seed", "error"),
    [(1.5, TypeError), ("0", TypeError), (True, TypeError), (-1, ValueError)],
)
def test_make_rng_refuses_other_seeds(
    seed: object, error: type[Exception]
) -> None:
    with pytest.raises(error, match="seed must be"):
        make_rng(seed)  # type: ignore[arg-type]


def test_torch_generator_is_reproducible_and_leaves_global_state() -> None:
    state = torch.get_rng_state()
    a = torch.rand(3, generator=torch_generator(1))
    b = torch.rand(3, generator=torch_generator(1))
    assert torch.equal(a, b)
    assert not torch.equal(a, torch.rand(3, generator=torch_generator(2)))
    torch_generator(None)
    assert torch.equal(torch.get_rng_state(), state)


def test_seeded_restores_torch_global_state() -> None:
    state = torch.get_rng_state()
    with seeded(np.random.default_rng(0)):
        inside = torch.rand(2)
    assert torch.equal(torch.get_rng_state(), state)
    with seeded(np.random.default_rng(0)):
        assert torch.equal(torch.rand(2), inside)
    with seeded(torch.Generator().manual_seed(0)):
        torch.nn.Linear(3, 3)
    assert torch.equal(torch.get_rng_state(), state)


def test_numpy_seeds_do_not_load_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from klcourse._random import make_rng, derive_seed;"
        "derive_seed(make_rng(0)); print('torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"
