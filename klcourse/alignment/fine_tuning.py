r"""Fine-tuning by policy gradient with a KL penalty.

:func:`fine_tune` trains a copy of a reference :class:`.TabularLM` to collect
reward while a per-token penalty (:func:`.kl_penalty`) holds it near the
reference, and records the exact distance to the KL-regularised optimum as it
goes. One update is the gradient of :func:`policy_gradient_loss`, which the
book prints. :class:`FineTuneResult` holds the trained policy and its record
(:func:`.train_dpo` returns one too).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike

from klcourse._deprecation import renamed_keywords
from klcourse._history import History
from klcourse._progress import show_progress
from klcourse._random import Seed, torch_generator
from klcourse._threads import limited_threads
from klcourse._validation import check_choice, positive_float, positive_int
from klcourse.alignment._common import check_model, sequence_rewards
from klcourse.alignment._training import (
    PolicyMeasures,
    Record,
    adam_step,
    optional_batch,
    update_history,
    updates_bar,
)
from klcourse.alignment.losses import kl_penalty
from klcourse.alignment.models import TabularLM
from klcourse.estimators import ESTIMATORS

__all__ = [
    "KL_PLACES",
    "FineTuneResult",
    "fine_tune",
    "policy_gradient_loss",
]

#: Where :func:`fine_tune` can put the KL penalty.
KL_PLACES = ("reward", "loss")


@dataclass(frozen=True)
class FineTuneResult:
    """The result of :func:`fine_tune` or :func:`.train_dpo`.

    Attributes
    ----------
    policy : TabularLM
        The trained policy.
    history : History
        Exact quantities recorded during training, one row every
        ``record_every`` updates and after the last, with the x-axis
        ``"update"`` (the number of Adam updates made): ``"reward"``, the
        expected reward; ``"kl_ref"``, KL(pi || pi_ref) between sequence
        distributions; ``"kl_optimum"``, KL(pi || pi*) to the KL-regularised
        optimum; ``"objective"``, E[r] - beta KL(pi || pi_ref).
        ``train_dpo`` records ``"loss"`` too, and the others only when given
        the rewards. ``history["step"]``, the old name of ``"update"``,
        still works with a ``FutureWarning``.

    Examples
    --------
    >>> ref = TabularLM(2, 2)
    >>> rewards = [0.0, 0.0, 0.0, 1.0]
    >>> result = fine_tune(ref, rewards, beta=1.0, updates=2, record_every=1)
    >>> result.history["update"].tolist()
    [0, 1, 2]
    """

    policy: TabularLM
    history: History

    def __post_init__(self) -> None:
        check_model(self.policy, "policy", TabularLM)
        object.__setattr__(self, "history", update_history(self.history))


def policy_gradient_loss(
    policy: TabularLM,
    ref_logp: torch.Tensor,
    rewards: torch.Tensor,
    *,
    beta: float,
    kl_in: str,
    estimator: str,
    batch_size: int | None,
    generator: torch.Generator,
) -> torch.Tensor:
    """The surrogate loss whose gradient is one update of :func:`fine_tune`.

    REINFORCE with a leave-one-out baseline, the KL penalty in the reward
    (a constant for the gradient) or in the loss (differentiated).
    :func:`fine_tune` checks the arguments; this function takes them as
    given.

    Parameters
    ----------
    policy : TabularLM
        The policy being trained.
    ref_logp : torch.Tensor, shape (V^T, T)
        The reference's token log-probabilities of every sequence.
    rewards : torch.Tensor, shape (V^T,)
        The reward of every sequence.
    beta : float
        The KL weight, > 0.
    kl_in : {"reward", "loss"}
        Where the penalty goes.
    estimator : {"k1", "k2", "k3"}
        Which per-token term of :func:`.kl_penalty`.
    batch_size : int or None
        Sequences drawn from the policy (at least 2); None weighs every
        sequence by its probability instead: the expected loss.
    generator : torch.Generator
        Source of randomness for the draws.

    Returns
    -------
    torch.Tensor
        A 0-d tensor that keeps the graph of ``policy.logits``.

    Examples
    --------
    Two sequences of one token, equally likely, the second rewarded: a
    step down the gradient raises its logit.

    >>> ref = TabularLM(2, 1)
    >>> with torch.no_grad():
    ...     ref_logp = ref.token_log_probs(ref.sequences)
    >>> policy = ref.copy()
    >>> loss = policy_gradient_loss(
    ...     policy, ref_logp, torch.tensor([0.0, 1.0]), beta=1.0,
    ...     kl_in="reward", estimator="k1", batch_size=None,
    ...     generator=torch.Generator(),
    ... )
    >>> loss.backward()
    >>> np.round(policy.logits.grad.tolist(), 6)
    array([[ 0.25, -0.25]])
    """
    probs = policy.sequence_probs().detach()  # (V^T,); the sampler is fixed
    if batch_size is None:  # the exact expectation over every sequence
        index = torch.nonzero(probs > 0).squeeze(1)
        weights = probs[index]
    else:  # sequences drawn from the policy, equally weighted
        index = torch.multinomial(
            probs, batch_size, replacement=True, generator=generator
        )
        weights = torch.full(
            (batch_size,), 1.0 / batch_size, dtype=torch.float64
        )
    logp = policy.token_log_probs(policy.sequences)[index]  # (n, T)
    penalty = kl_penalty(logp, ref_logp[index], estimator=estimator).sum(-1)
    returns = rewards[index]  # (n,)
    if kl_in == "reward":
        returns = returns - beta * penalty.detach()
    if batch_size is None:
        baseline = (weights * returns).sum()
    else:  # leave-one-out: the mean return of the other samples
        baseline = (returns.sum() - returns) / (batch_size - 1)
    advantage = (returns - baseline).detach()
    loss = -(weights * advantage * logp.sum(-1)).sum()
    if kl_in == "loss":
        loss = loss + beta * (weights * penalty).sum()
    return loss


@renamed_keywords(steps="updates")
@limited_threads
def fine_tune(
    ref: TabularLM,
    rewards: ArrayLike,
    *,
    beta: float,
    kl_in: str = "reward",
    estimator: str = "k1",
    updates: int = 500,
    batch_size: int | None = 64,
    lr: float = 0.05,
    record_every: int = 10,
    seed: Seed = None,
    progress: bool | None = None,
) -> FineTuneResult:
    r"""Fine-tune a copy of ``ref`` by policy gradient with a KL penalty.

    Each update samples ``batch_size`` sequences from the policy and follows
    REINFORCE with a leave-one-out baseline
    (:func:`policy_gradient_loss`). The per-token penalty
    :func:`.kl_penalty` (summed over the sequence) goes either

    - into the reward (``kl_in="reward"``): the return of :math:`x` is
      :math:`r(x) - \beta \sum_t k(x_t)`, a constant for the gradient, as
      RLHF with PPO does with ``"k1"``; or
    - into the loss (``kl_in="loss"``): :math:`\beta \sum_t k(x_t)` is added
      to the policy-gradient loss and differentiated, as GRPO does with
      ``"k3"``.

    With ``"k1"`` in the reward the expected update is the gradient of
    :math:`\mathbb{E}_\pi[r] - \beta\,\mathrm{KL}(\pi\,\|\,\pi_{ref})`, so
    training can come to rest only at its maximiser
    (:func:`.kl_regularized_policy`). With ``"k3"`` in the loss the
    penalty's expected gradient is that of a forward KL per token instead,
    and training settles elsewhere.

    Parameters
    ----------
    ref : TabularLM
        The reference model; the policy starts as a copy of it.
    rewards : array_like, shape (V^T,)
        The reward of every sequence of ``ref.sequences``.
    beta : float
        The KL weight, > 0. It is the same knob as chapter 5's temperature
        :math:`\alpha`: alignment calls the weight of the KL to a reference
        :math:`\beta`, reinforcement learning :math:`\alpha`.
    kl_in : {"reward", "loss"}, optional
        Where the penalty goes.
    estimator : {"k1", "k2", "k3"}, optional
        Which per-token term.
    updates : int, optional
        Adam updates (formerly ``steps``, which still works with a
        ``FutureWarning``).
    batch_size : int or None, optional
        Sequences per update (at least 2, and ``batch_size * T`` at most
        ``MAX_TABLE_ENTRIES``). None replaces the sample average
        by the exact expectation over every sequence: the expected update,
        without noise.
    lr : float, optional
        Adam's learning rate.
    record_every : int, optional
        Record exact quantities every so many updates (and after the last).
    seed : int, numpy.random.Generator or None, optional
        Source of randomness for the samples.
    progress : bool or None, optional
        Show a progress bar over the updates; None shows it only in an
        interactive session.

    Returns
    -------
    FineTuneResult

    Raises
    ------
    ValueError
        If a gradient grows beyond what Adam can square in float64 (rewards
        of about 1e150 and more), rather than letting training silently
        stop.

    Examples
    --------
    >>> ref = TabularLM.bigram([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]], length=2)
    >>> rewards = [0.0, 0.0, 0.0, 1.0]
    >>> result = fine_tune(
    ...     ref, rewards, beta=0.5, updates=300, batch_size=None
    ... )
    >>> bool(result.history["kl_optimum"][-1] < 1e-4)
    True
    """
    check_model(ref, "ref", TabularLM)
    reward = sequence_rewards(rewards, ref)
    beta = positive_float(beta, "beta")
    check_choice(kl_in, "kl_in", KL_PLACES)
    check_choice(estimator, "estimator", tuple(ESTIMATORS))
    updates = positive_int(updates, "updates")
    batch = optional_batch(batch_size, ref.length)
    lr = positive_float(lr, "lr")
    record = Record(every=record_every, last=updates)
    show = show_progress(progress)
    measure = PolicyMeasures(ref, reward, beta)
    generator = torch_generator(seed)
    policy = ref.copy()
    with torch.no_grad():
        ref_logp = ref.token_log_probs(ref.sequences)
    blame = (
        f"rewards up to {np.abs(reward).max():.3g} in size and beta = {beta}"
        " set the gradients' scale: rescale the rewards"
    )
    reward_t = torch.as_tensor(reward)
    optimizer = torch.optim.Adam(policy.parameters(), lr=lr)
    for update in updates_bar(updates, show=show, desc="fine_tune"):
        if record.due(update):
            record.add(update, **measure(policy))
        loss = policy_gradient_loss(
            policy,
            ref_logp,
            reward_t,
            beta=beta,
            kl_in=kl_in,
            estimator=estimator,
            batch_size=batch,
            generator=generator,
        )
        adam_step(optimizer, loss, policy, update=update, blame=blame)
    record.add(updates, **measure(policy))
    return FineTuneResult(policy, record.history())
