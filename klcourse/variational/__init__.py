"""Variational inference: reverse KL to a posterior we can evaluate but not sample (chapter 6).

- :mod:`klcourse.variational.closed_form` -- in NumPy:
  :class:`~klcourse.variational.closed_form.ConjugateNormal`, a model on which
  log p(x) = ELBO(q) + KL(q || p(z|x)) holds exactly, and the best fully
  factorised Gaussian for a correlated Gaussian, in closed form
  (:func:`~klcourse.variational.closed_form.mean_field_gaussian`) and by
  coordinate ascent (:func:`~klcourse.variational.closed_form.cavi_gaussian`);
- :mod:`klcourse.variational.encoders` -- in torch: the
  :class:`~klcourse.variational.encoders.VAE` and the information bottleneck
  :class:`~klcourse.variational.encoders.VIBClassifier`, whose encoders give
  every input its own Gaussian q(z|x).

Every name is importable from here (``from klcourse.variational import VAE``).
The torch-backed ones load on first use, so that the closed forms do not wait
for torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from klcourse.variational.closed_form import (
    CAVIResult,
    ConjugateNormal,
    cavi_gaussian,
    mean_field_gaussian,
)

if TYPE_CHECKING:
    from klcourse.variational.encoders import VAE, VIBClassifier

__all__ = [
    "VAE",
    "CAVIResult",
    "ConjugateNormal",
    "VIBClassifier",
    "cavi_gaussian",
    "mean_field_gaussian",
]

_IN_ENCODERS = ("VAE", "VIBClassifier")


def __getattr__(name: str) -> Any:
    if name in _IN_ENCODERS:
        module = importlib.import_module("klcourse.variational.encoders")
        return getattr(module, name)
    raise AttributeError(
        f"module 'klcourse.variational' has no attribute {name!r}"
    )


def __dir__() -> list[str]:
    return sorted({*globals(), *_IN_ENCODERS})
