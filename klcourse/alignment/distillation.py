r"""Distillation of a teacher into a smaller student, by forward or reverse KL.

:func:`distill` trains a :class:`.FactorizedLM` student to match a
:class:`.TabularLM` teacher (at a temperature) by minimising either
:math:`\mathrm{KL}(p_\tau\,\|\,q)` or :math:`\mathrm{KL}(q\,\|\,p_\tau)`,
both computed exactly over every sequence; :class:`DistillResult` holds the
student and the record of both divergences.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from klcourse._deprecation import renamed_keywords
from klcourse._history import History
from klcourse._progress import show_progress
from klcourse._threads import limited_threads
from klcourse._validation import (
    DIRECTIONS,
    check_choice,
    positive_float,
    positive_int,
)
from klcourse.alignment._common import check_model
from klcourse.alignment._training import (
    Record,
    adam_step,
    update_history,
    updates_bar,
)
from klcourse.alignment.models import FactorizedLM, TabularLM

__all__ = ["DistillResult", "distill"]


@dataclass(frozen=True)
class DistillResult:
    """The result of :func:`distill`.

    Attributes
    ----------
    student : FactorizedLM
        The trained student.
    history : History
        One row every ``record_every`` updates and after the last, with the
        x-axis ``"update"`` (the number of Adam updates made):
        ``"forward_kl"`` (KL(teacher || student)) and ``"reverse_kl"``
        (KL(student || teacher)), exact, with the teacher at the temperature
        of training. ``history["step"]``, the old name of ``"update"``,
        still works with a ``FutureWarning``.

    Examples
    --------
    >>> teacher = TabularLM(2, 2)
    >>> result = distill(
    ...     teacher, direction="forward", updates=2, record_every=1
    ... )
    >>> result.history["forward_kl"].tolist()
    [0.0, 0.0, 0.0]
    """

    student: FactorizedLM
    history: History

    def __post_init__(self) -> None:
        check_model(self.student, "student", FactorizedLM)
        object.__setattr__(self, "history", update_history(self.history))


@renamed_keywords(steps="updates")
@limited_threads
def distill(
    teacher: TabularLM,
    *,
    direction: str,
    temperature: float = 1.0,
    init: FactorizedLM | None = None,
    updates: int = 200,
    lr: float = 0.2,
    record_every: int = 10,
    progress: bool | None = None,
) -> DistillResult:
    r"""Distil a teacher into a smaller :class:`.FactorizedLM`, by either KL.

    - ``"forward"`` minimises :math:`\mathrm{KL}(p_\tau\,\|\,q)`, the usual
      distillation loss: the cross-entropy of the student on the teacher's
      sequences. It is mass-covering.
    - ``"reverse"`` minimises :math:`\mathrm{KL}(q\,\|\,p_\tau)`, an average
      over the student's own sequences, as MiniLLM does (on-policy
      distillation in general scores the student's own sequences with either
      direction, or with a generalised Jensen--Shannon divergence, which
      takes both KLs to the mixture of the two models and is not a weighted
      sum of the two directions). It is mode-seeking.

    :math:`p_\tau` is the teacher at ``temperature`` (see
    :meth:`.TabularLM.tempered`). Both divergences are computed exactly over
    every sequence, so the training is deterministic.

    The KL here has no weight: the student only matches the teacher. (In
    :func:`.fine_tune` and :func:`.train_dpo` the weight :math:`\beta` of
    the KL to a reference is the same knob as chapter 5's temperature
    :math:`\alpha`; the teacher's temperature :math:`\tau` is another
    thing, a reshaping of the target.)

    Parameters
    ----------
    teacher : TabularLM
        The teacher.
    direction : {"forward", "reverse"}
        Which KL to minimise.
    temperature : float, optional
        The teacher's temperature, > 0.
    init : FactorizedLM, optional
        The student to start from (it is copied, not changed). Default:
        uniform.
    updates : int, optional
        Adam updates (formerly ``steps``, which still works with a
        ``FutureWarning``).
    lr : float, optional
        Adam's learning rate.
    record_every : int, optional
        Record every so many updates (and after the last).
    progress : bool or None, optional
        Show a progress bar over the updates; None shows it only in an
        interactive session.

    Returns
    -------
    DistillResult

    Raises
    ------
    ValueError
        If the divergence being minimised is infinite at the start (the
        student gives mass where the tempered teacher has none, or the
        reverse), or if a gradient grows beyond what Adam can square in
        float64 (a temperature near zero).

    Examples
    --------
    >>> import numpy as np
    >>> sticky = [[0.9, 0.1], [0.1, 0.9]]
    >>> teacher = TabularLM.bigram([0.5, 0.5], sticky, length=2)
    >>> result = distill(teacher, direction="forward", updates=200)
    >>> np.round(result.student.sequence_probs().tolist(), 3)
    array([0.25, 0.25, 0.25, 0.25])
    """
    check_model(teacher, "teacher", TabularLM)
    check_choice(direction, "direction", DIRECTIONS)
    tempered = teacher.tempered(temperature)
    temperature = float(temperature)
    updates = positive_int(updates, "updates")
    lr = positive_float(lr, "lr")
    record = Record(every=record_every, last=updates)
    show = show_progress(progress)
    student = _starting_student(teacher, init)
    with torch.no_grad():
        log_p = tempered.log_prob(tempered.sequences)
    p = log_p.exp()
    optimizer = torch.optim.Adam(student.parameters(), lr=lr)
    blame = (
        f"temperature = {temperature} sets the scale of the teacher's "
        "log-probabilities: raise it"
    )

    def divergences() -> tuple[torch.Tensor, torch.Tensor]:
        # KL(teacher || student) and KL(student || teacher), exactly
        log_q = student.log_prob(student.sequences)
        forward = _sequence_kl(p, log_p, log_q)
        return forward, _sequence_kl(log_q.exp(), log_q, log_p)

    for update in updates_bar(updates, show=show, desc="distill"):
        forward, reverse = divergences()
        loss = forward if direction == "forward" else reverse
        if update == 0 and torch.isinf(loss):
            raise ValueError(_infinite_start(direction, temperature))
        if record.due(update):
            record.add(
                update, forward_kl=forward.item(), reverse_kl=reverse.item()
            )
        adam_step(optimizer, loss, student, update=update, blame=blame)
    with torch.no_grad():
        forward, reverse = divergences()
    record.add(updates, forward_kl=forward.item(), reverse_kl=reverse.item())
    return DistillResult(student, record.history())


def _starting_student(
    teacher: TabularLM, init: FactorizedLM | None
) -> FactorizedLM:
    """A copy of ``init``, or a uniform student, of the teacher's shape."""
    student = FactorizedLM(teacher.vocab_size, teacher.length)
    if init is None:
        return student
    check_model(init, "init", FactorizedLM)
    if (init.vocab_size, init.length) != (student.vocab_size, student.length):
        raise ValueError(
            "init must have the teacher's vocab_size and length, got "
            f"{(init.vocab_size, init.length)} and "
            f"{(student.vocab_size, student.length)}"
        )
    with torch.no_grad():
        student.logits.copy_(init.logits)
    return student


def _sequence_kl(
    p: torch.Tensor, log_p: torch.Tensor, log_q: torch.Tensor
) -> torch.Tensor:
    """KL(P || Q) over all sequences; terms with p = 0 count as zero.

    Those terms are left out rather than masked by ``torch.where``, whose
    gradient would carry the NaN of ``0 * (-inf - -inf)`` into the logits.
    """
    support = p > 0
    return (p[support] * (log_p[support] - log_q[support])).sum()


def _infinite_start(direction: str, temperature: float) -> str:
    if direction == "reverse":
        return (
            "KL(student || teacher) is infinite at the start: the student "
            "(init, or uniform) gives positive probability to sequences the "
            f"teacher at temperature {temperature} excludes, so reverse "
            "distillation has no finite gradient to follow; pass an init "
            "that excludes them too"
        )
    return (
        "KL(teacher || student) is infinite at the start: init excludes "
        f"sequences the teacher at temperature {temperature} produces; pass "
        "an init that allows them"
    )
