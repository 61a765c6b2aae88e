"""The settings of a max-entropy REINFORCE agent: :class:`ReinforceConfig`.

Each field carries its default and a one-line description. From them come
the parameters of :class:`~klcourse.rl.MaxEntReinforce` (its docstring and
the record ``agent.config``), the file :meth:`MaxEntReinforce.save` writes,
and the options of ``python -m klcourse.rl train``.
"""

from __future__ import annotations

import dataclasses
import functools
import textwrap
import typing
from dataclasses import dataclass, field
from typing import Any

from klcourse._validation import (
    check_bool,
    check_choice,
    positive_float,
    positive_int,
)
from klcourse.rl._networks import check_hidden

__all__ = ["ReinforceConfig"]


def _setting(default: Any, help: str, **extra: Any) -> Any:
    """A dataclass field with its command-line help (and choices) as metadata."""
    return field(default=default, metadata={"help": help, **extra})


@dataclass(frozen=True)
class ReinforceConfig:
    """The settings of a :class:`MaxEntReinforce` agent, checked when made.

    The record of an agent's settings, and the one place where their
    defaults and descriptions are written down: the agent's constructor
    takes them as keyword arguments (with these defaults and descriptions)
    and keeps them as ``agent.config``, :meth:`MaxEntReinforce.save` stores
    the record, and ``python -m klcourse.rl train`` has one option per
    field, with the same default. To build an agent from a record, pass its
    fields: ``MaxEntReinforce(env, **dataclasses.asdict(config))``. Wrong
    types raise ``TypeError``, wrong values ``ValueError``.

    Parameters
    ----------
    {settings}

    Examples
    --------
    >>> config = ReinforceConfig(alpha=0.1, hidden=[32, 32])
    >>> config.hidden, config.gamma, config.baseline
    ((32, 32), 1.0, 'value')
    >>> try:
    ...     ReinforceConfig(gamma=1.5)
    ... except ValueError as error:
    ...     print(error)
    gamma must be at most 1.0, got 1.5
    """

    alpha: float = _setting(
        0.01, "temperature of the entropy term (>= 0; 0 is plain REINFORCE)"
    )
    gamma: float = _setting(
        1.0,
        "discount in (0, 1]; the discounted soft return is exactly a reverse "
        "KL for the process that ends each step with probability 1 - gamma, "
        "but with gamma < 1 the update is a heuristic, not its gradient",
    )
    lr: float = _setting(
        1e-2, "learning rate of the policy and of the value baseline"
    )
    hidden: tuple[int, ...] = _setting(
        (64,),
        "hidden layer widths of the policy and value networks "
        "(none: linear, a table of logits on one-hot observations)",
    )
    batch_steps: int = _setting(
        2_000,
        "environment steps per update, approximately: a batch is as many "
        "whole episodes as held this many steps at the previous batch's mean "
        "episode length (the first batch has num_envs episodes)",
    )
    num_envs: int = _setting(
        8,
        "environments run side by side, so that one forward pass of the "
        "policy acts in all of them; a batch's episodes are shared out "
        "among them",
    )
    baseline: str = _setting(
        "value",
        "'value': a learned state-value network; 'mean': at each time step, "
        "the mean return of the batch's other episodes (leave-one-out); "
        "'none': no baseline",
        choices=("value", "mean", "none"),
    )
    normalize_advantages: bool = _setting(
        True,
        "centre the advantages of each batch on their mean and rescale them "
        "to unit variance (a per-batch step size and baseline, computed from "
        "the batch itself: the estimate is then slightly biased)",
    )
    optimizer: str = _setting(
        "adam",
        "'adam' suits networks; 'sgd' suits tables of logits, where Adam's "
        "per-parameter scaling blows up the noisy gradients of rarely "
        "visited states",
        choices=("adam", "sgd"),
    )

    def __post_init__(self) -> None:
        assign = functools.partial(object.__setattr__, self)
        assign("alpha", positive_float(self.alpha, "alpha", allow_zero=True))
        assign("gamma", positive_float(self.gamma, "gamma", maximum=1.0))
        assign("lr", positive_float(self.lr, "lr"))
        assign("hidden", check_hidden(self.hidden))
        assign("batch_steps", positive_int(self.batch_steps, "batch_steps"))
        assign("num_envs", positive_int(self.num_envs, "num_envs"))
        if self.num_envs > self.batch_steps:
            raise ValueError(
                f"num_envs must be at most batch_steps ({self.batch_steps}): "
                "a batch of that many steps has no more episodes than steps, "
                f"got {self.num_envs}"
            )
        for f in dataclasses.fields(self):
            if "choices" in f.metadata:
                check_choice(
                    getattr(self, f.name), f.name, f.metadata["choices"]
                )
        assign(
            "normalize_advantages",
            check_bool(self.normalize_advantages, "normalize_advantages"),
        )


def describe_settings(documented: Any) -> None:
    """Write the fields of :class:`ReinforceConfig` into a docstring's slot.

    ``documented`` (the config itself, or the agent whose constructor takes
    the same settings) has ``{settings}`` in its docstring where the
    numpydoc entries go.
    """
    hints = typing.get_type_hints(ReinforceConfig)
    kinds = {float: "float", int: "int", bool: "bool", str: "str"}
    lines = []
    for f in dataclasses.fields(ReinforceConfig):
        if "choices" in f.metadata:
            kind = (
                "{" + ", ".join(repr(c) for c in f.metadata["choices"]) + "}"
            )
        else:
            kind = kinds.get(hints[f.name], "tuple of int")
        text = f.metadata["help"]
        lines += [
            f"{f.name} : {kind}, default {f.default!r}",
            *textwrap.wrap(
                f"{text[0].upper()}{text[1:]}.",
                width=72,
                initial_indent="    ",
                subsequent_indent="    ",
            ),
        ]
    assert documented.__doc__ is not None
    documented.__doc__ = documented.__doc__.replace(
        "{settings}", "\n    ".join(lines)
    )


describe_settings(ReinforceConfig)
