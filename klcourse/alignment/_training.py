"""What the three trainers share: Adam's update, the record and the bar.

:func:`~klcourse.alignment.fine_tune`, :func:`~klcourse.alignment.train_dpo`
and :func:`~klcourse.alignment.distill` each run a number of Adam
``updates``, record exact quantities every ``record_every`` updates and after
the last in a :class:`UpdateHistory` (x-axis ``"update"``), and show a tqdm
bar over the updates when ``progress`` is on.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from tqdm.auto import tqdm

from klcourse._history import History
from klcourse._validation import positive_int
from klcourse.alignment._common import check_size
from klcourse.alignment._tilt import log_tilted
from klcourse.alignment.models import FactorizedLM, TabularLM

#: Adam squares every gradient: beyond this size the square overflows
#: float64 and the update silently stops, so training refuses it.
MAX_GRADIENT = 1e150


class UpdateHistory(History):
    """A :class:`History` over optimiser updates (``x == "update"``).

    It still answers to ``"step"``, the key of its x-axis before the
    vocabulary said "update": ``history["step"]`` returns
    ``history["update"]`` with a ``FutureWarning``. ``"step"`` is not a
    column, so a ``pandas.DataFrame`` of the history does not repeat it.
    """

    def __missing__(self, key: str) -> NDArray[Any]:
        if key != "step":
            raise KeyError(key)
        warnings.warn(
            'history["step"] is now history["update"]; "step" will be '
            "removed in a later release",
            FutureWarning,
            stacklevel=2,
        )
        return self["update"]

    def __reduce__(self) -> tuple[Any, ...]:  # pickling keeps the class
        return (_rebuild, (dict(self),))


def _rebuild(columns: dict[str, NDArray[Any]]) -> UpdateHistory:
    return UpdateHistory(columns, x="update")


def update_history(history: Any) -> UpdateHistory:
    """``history`` as an :class:`UpdateHistory`, for a result's field.

    A mapping of 1-D columns of one length, ``"update"`` among them.
    """
    if isinstance(history, UpdateHistory):
        return history
    if not isinstance(history, Mapping):
        raise TypeError(
            "history must be a mapping of metric name to 1-D values, got "
            f"{type(history).__name__}"
        )
    try:
        return UpdateHistory(history, x="update")
    except ValueError as error:
        raise ValueError(f"history: {error}") from error


class Record:
    """Rows of measurements, due every ``every`` updates and after ``last``."""

    def __init__(self, *, every: int, last: int) -> None:
        self.every = positive_int(every, "record_every")
        self.last = last
        self.rows: list[dict[str, float]] = []

    def due(self, update: int) -> bool:
        """Whether the state after ``update`` updates is recorded."""
        return update % self.every == 0 or update == self.last

    def add(self, update: int, **values: float) -> None:
        self.rows.append({"update": update, **values})

    def history(self) -> UpdateHistory:
        keys = self.rows[0]  # every row has the same keys
        columns = {key: [row[key] for row in self.rows] for key in keys}
        return UpdateHistory(columns, x="update")


class PolicyMeasures:
    """The exact reward, KLs and objective of a policy, given the rewards.

    In log-probabilities throughout: pi* underflows to 0 on sequences whose
    reward is far below the best, but its logarithm does not.
    """

    def __init__(
        self,
        ref: TabularLM,
        rewards: NDArray[np.float64] | None,
        beta: float,
    ) -> None:
        self.ref_logp = numpy_log_probs(ref)
        self.rewards, self.beta = rewards, beta
        self.log_optimum = (
            None
            if rewards is None
            else log_tilted(self.ref_logp, rewards, beta)
        )

    def __call__(self, policy: TabularLM) -> dict[str, float]:
        """Nothing without the rewards; else reward, two KLs and objective."""
        if self.rewards is None or self.log_optimum is None:
            return {}
        logp = numpy_log_probs(policy)
        kl_ref = kl_from_logs(logp, self.ref_logp)
        reward = float(np.exp(logp) @ self.rewards)
        return {
            "reward": reward,
            "kl_ref": kl_ref,
            "kl_optimum": kl_from_logs(logp, self.log_optimum),
            "objective": reward - self.beta * kl_ref,
        }


def updates_bar(updates: int, *, show: bool, desc: str) -> Iterable[int]:
    """``range(updates)``, with a tqdm bar if ``show``."""
    bar: Iterable[int] = tqdm(
        range(updates), desc=desc, unit="update", disable=not show
    )
    return bar


def optional_batch(batch_size: int | None, length: int) -> int | None:
    """A batch size of at least 2 sequences that fits, or None (all)."""
    if batch_size is None:
        return None
    batch = positive_int(batch_size, "batch_size", minimum=2)
    check_size(batch, "batch_size", length, f"sequences of length {length}")
    return batch


def adam_step(
    optimizer: torch.optim.Optimizer,
    loss: torch.Tensor,
    model: TabularLM | FactorizedLM,
    *,
    update: int,
    blame: str,
) -> None:
    """One Adam update, refusing to go on from a loss or a gradient that
    float64 cannot carry (Adam would silently stop, or fill with NaN).

    ``blame`` names the arguments that set the scale of the gradients.
    """
    optimizer.zero_grad()
    loss.backward()
    grad = model.logits.grad
    assert grad is not None
    largest = grad.abs().max().item()
    if not (math.isfinite(loss.item()) and largest <= MAX_GRADIENT):
        raise ValueError(
            f"training stopped at update {update}: the loss is "
            f"{loss.item():.3g} and the largest gradient {largest:.3g}, "
            f"beyond what Adam can square in float64 ({MAX_GRADIENT:.0e}); "
            f"{blame}"
        )
    finite = torch.isfinite(model.logits)
    optimizer.step()
    if not torch.isfinite(model.logits[finite]).all():
        raise ValueError(
            f"training stopped at update {update}: the logits overflowed "
            "float64; lr is too large"
        )


def numpy_log_probs(model: TabularLM | FactorizedLM) -> NDArray[np.float64]:
    """The log-probability of every sequence of ``model``, float64."""
    with torch.no_grad():
        logp = model.log_prob(model.sequences).numpy()
    return np.asarray(logp, dtype=np.float64)


def kl_from_logs(
    log_p: NDArray[np.float64], log_q: NDArray[np.float64]
) -> float:
    """KL(P || Q) from log-probabilities, so no underflow turns it to inf.

    ``+inf`` if Q excludes an outcome P allows. A sum that rounding leaves a
    few ulps below zero (P equal to Q) is reported as 0.
    """
    support = log_p > -np.inf
    if np.isneginf(log_q[support]).any():
        return math.inf
    lp, lq = log_p[support], log_q[support]
    return max(float(np.sum(np.exp(lp) * (lp - lq))), 0.0)
