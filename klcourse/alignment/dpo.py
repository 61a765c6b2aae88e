"""Direct preference optimisation: a policy trained on preference pairs.

:func:`train_dpo` minimises :func:`.dpo_loss` (or :func:`.ipo_loss`) on
:class:`.PreferencePairs` with Adam, starting from the reference, and can
record the exact distance to the KL-regularised optimum that DPO aims at.
"""

from __future__ import annotations

from typing import Any

import torch
from numpy.typing import ArrayLike

from klcourse._deprecation import renamed_keywords
from klcourse._progress import show_progress
from klcourse._random import Seed, torch_generator
from klcourse._threads import limited_threads
from klcourse._validation import check_choice, positive_float, positive_int
from klcourse.alignment._common import (
    check_model,
    ipo_squared_error,
    preference_nll,
    sequence_rewards,
)
from klcourse.alignment._training import (
    PolicyMeasures,
    Record,
    adam_step,
    optional_batch,
    updates_bar,
)
from klcourse.alignment.fine_tuning import FineTuneResult
from klcourse.alignment.models import TabularLM
from klcourse.alignment.preferences import PreferencePairs

__all__ = ["train_dpo"]

#: The losses :func:`train_dpo` can minimise: DPO's and IPO's.
PREFERENCE_LOSSES = ("dpo", "ipo")


@renamed_keywords(steps="updates")
@limited_threads
def train_dpo(
    ref: TabularLM,
    pairs: PreferencePairs,
    *,
    beta: float,
    loss: str = "dpo",
    updates: int = 300,
    lr: float = 0.05,
    batch_size: int | None = None,
    rewards: ArrayLike | None = None,
    record_every: int = 10,
    seed: Seed = None,
    progress: bool | None = None,
) -> FineTuneResult:
    r"""Train a copy of ``ref`` by minimising :func:`.dpo_loss` on ``pairs``.

    With ``loss="ipo"`` it minimises :func:`.ipo_loss` instead, whose
    optimum is another tilt of the reference (see there).

    Parameters
    ----------
    ref : TabularLM
        The reference model; the policy starts as a copy of it.
    pairs : PreferencePairs
        The data.
    beta : float
        The KL weight of the objective whose optimum DPO targets, > 0. It
        is the same knob as chapter 5's temperature :math:`\alpha`:
        alignment calls the weight of the KL to a reference :math:`\beta`,
        reinforcement learning :math:`\alpha`. With ``loss="ipo"``, IPO's
        KL weight (Azar et al.'s :math:`\tau`).
    loss : {"dpo", "ipo"}, optional
        Which loss to minimise.
    updates : int, optional
        Adam updates (formerly ``steps``, which still works with a
        ``FutureWarning``).
    lr : float, optional
        Adam's learning rate.
    batch_size : int or None, optional
        Pairs per update, drawn at random; None uses every pair every
        update.
    rewards : array_like, shape (V^T,), optional
        The true reward, used only to record the exact reward, the KL to
        the reference and the distance to the KL-regularised optimum for
        this reward and ``beta`` in the history (the optimum DPO aims at,
        not IPO's).
    record_every : int, optional
        Record every so many updates (and after the last).
    seed : int, numpy.random.Generator or None, optional
        Source of randomness for the mini-batches.
    progress : bool or None, optional
        Show a progress bar over the updates; None shows it only in an
        interactive session.

    Returns
    -------
    FineTuneResult
        Its history holds ``"loss"``, the loss minimised (DPO's or IPO's) on
        all pairs.

    Raises
    ------
    ValueError
        If the pairs do not fit ``ref`` (another length or vocabulary, or a
        sequence ``ref`` gives probability zero, whose log-ratio is
        undefined), or if a gradient grows beyond what Adam can square in
        float64 (a huge ``beta``).

    Examples
    --------
    >>> ref = TabularLM(2, 1)
    >>> pairs = PreferencePairs(torch.tensor([[1]]), torch.tensor([[0]]))
    >>> result = train_dpo(ref, pairs, beta=1.0, updates=20)
    >>> bool(result.history["loss"][-1] < result.history["loss"][0])
    True
    """
    check_model(ref, "ref", TabularLM)
    _check_pairs(pairs, ref)
    beta = positive_float(beta, "beta")
    check_choice(loss, "loss", PREFERENCE_LOSSES)
    updates = positive_int(updates, "updates")
    lr = positive_float(lr, "lr")
    batch = optional_batch(batch_size, ref.length)
    reward = None if rewards is None else sequence_rewards(rewards, ref)
    record = Record(every=record_every, last=updates)
    show = show_progress(progress)
    measure = PolicyMeasures(ref, reward, beta)
    generator = torch_generator(seed)
    chosen, rejected = ref.index(pairs.chosen), ref.index(pairs.rejected)
    with torch.no_grad():
        ref_logp = ref.log_prob(ref.sequences)
    _check_support(pairs, chosen, rejected, torch.isneginf(ref_logp))
    blame = f"beta = {beta} sets the gradients' scale: lower it"
    policy = ref.copy()
    optimizer = torch.optim.Adam(policy.parameters(), lr=lr)

    def loss_on(rows: torch.Tensor) -> torch.Tensor:
        # dpo_loss or ipo_loss, with each sequence's log-ratio computed once
        log_ratio = policy.log_prob(policy.sequences) - ref_logp
        margin = log_ratio[chosen[rows]] - log_ratio[rejected[rows]]
        if loss == "ipo":
            return ipo_squared_error(margin, beta)
        return preference_nll(beta * margin)

    every = torch.arange(len(pairs))
    for update in updates_bar(updates, show=show, desc="train_dpo"):
        if record.due(update):
            with torch.no_grad():
                value = loss_on(every).item()
            record.add(update, loss=value, **measure(policy))
        rows = every
        if batch is not None:
            rows = torch.randint(len(pairs), (batch,), generator=generator)
        adam_step(optimizer, loss_on(rows), policy, update=update, blame=blame)
    with torch.no_grad():
        value = loss_on(every).item()
    record.add(updates, loss=value, **measure(policy))
    return FineTuneResult(policy, record.history())


def _check_pairs(pairs: Any, ref: TabularLM) -> None:
    """Pairs that ``ref`` can score: its length and its vocabulary."""
    if not isinstance(pairs, PreferencePairs):
        raise TypeError(
            f"pairs must be PreferencePairs, got {type(pairs).__name__}"
        )
    length = pairs.chosen.shape[1]
    if length != ref.length:
        raise ValueError(
            f"pairs hold sequences of length {length}, but ref has length "
            f"{ref.length}"
        )
    if pairs.vocab_size is not None and pairs.vocab_size != ref.vocab_size:
        raise ValueError(
            f"pairs were drawn over a vocabulary of {pairs.vocab_size} tokens,"
            f" but ref has vocab_size {ref.vocab_size}"
        )
    top = int(max(pairs.chosen.max(), pairs.rejected.max()))
    if top >= ref.vocab_size:
        raise ValueError(
            f"pairs hold tokens up to {top}, but ref has vocab_size "
            f"{ref.vocab_size}"
        )


def _check_support(
    pairs: PreferencePairs,
    chosen: torch.Tensor,
    rejected: torch.Tensor,
    excluded: torch.Tensor,
) -> None:
    """Refuse a sequence that ``ref`` excludes: its log-ratio is undefined."""
    for tokens, index in ((pairs.chosen, chosen), (pairs.rejected, rejected)):
        if excluded[index].any():
            bad = tokens[excluded[index]][0].tolist()
            raise ValueError(
                "pairs hold a sequence that ref gives probability zero: "
                f"{bad}; DPO's log-ratio log(pi / pi_ref) is undefined there"
            )
