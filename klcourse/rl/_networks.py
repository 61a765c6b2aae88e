"""The agent's networks: the policy and the state-value network.

Both are multilayer perceptrons with tanh between their layers. A
:class:`Policy` turns their outputs into a torch action distribution: a
Categorical for ``Discrete`` actions, a diagonal Normal for ``Box`` ones.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from klcourse._validation import as_float_array, check_size, positive_int

D = torch.distributions


def check_hidden(hidden: Any) -> tuple[int, ...]:
    """``hidden`` as a tuple of positive layer widths, or a clear error."""
    if isinstance(hidden, (str, bytes)) or not isinstance(
        hidden, (Sequence, np.ndarray)
    ):
        raise TypeError(
            "hidden must be a sequence of layer widths, "
            f"got {type(hidden).__name__}"
        )
    return tuple(positive_int(w, "hidden") for w in hidden)


def mlp(n_inputs: int, hidden: Sequence[int], n_outputs: int) -> nn.Sequential:
    """Linear layers with tanh between them: ``hidden=()`` is one linear map.

    Networks whose weights would not fit comfortably in memory are refused
    (a ``ValueError`` naming ``hidden`` and the number of inputs).
    """
    widths = [n_inputs, *hidden]
    check_size(  # the largest weight matrix
        max(a * b for a, b in itertools.pairwise([*widths, n_outputs])),
        f"hidden={tuple(hidden)} on {n_inputs:,} inputs (the env's encoded "
        "observations)",
        item_bytes=4,
    )
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(widths):
        layers += [nn.Linear(a, b, dtype=torch.float32), nn.Tanh()]
    layers.append(nn.Linear(widths[-1], n_outputs, dtype=torch.float32))
    return nn.Sequential(*layers)


class Policy(nn.Module):
    """An MLP from (encoded) observations to a torch action distribution.

    Discrete actions: a Categorical over logits. Box actions: a diagonal Normal with
    a state-independent log standard deviation. ``hidden=()`` gives a linear policy,
    which on one-hot observations is exactly a table of logits.

    Examples
    --------
    >>> policy = Policy(4, gym.spaces.Discrete(2), hidden=(8,))
    >>> policy(torch.zeros(3, 4)).probs.shape
    torch.Size([3, 2])
    """

    def __init__(
        self, n_inputs: int, action_space: gym.Space, hidden: Sequence[int]
    ) -> None:
        super().__init__()
        self.n_inputs = positive_int(n_inputs, "n_inputs")
        if not isinstance(action_space, (gym.spaces.Discrete, gym.spaces.Box)):
            raise TypeError(
                "action_space must be a gymnasium Discrete or Box space, "
                f"got {type(action_space).__name__}"
            )
        hidden = check_hidden(hidden)
        self.discrete = isinstance(action_space, gym.spaces.Discrete)
        n_out = (
            int(getattr(action_space, "n", 0))
            if self.discrete
            else int(np.prod(action_space.shape or ()))
        )
        self.body = mlp(n_inputs, hidden, n_out)
        if not self.discrete:
            self.log_std = nn.Parameter(
                torch.full((n_out,), -0.5, dtype=torch.float32)
            )

    def forward(self, obs: torch.Tensor) -> D.Distribution:
        """The action distribution at encoded observations, (batch, n_inputs).

        Real tensors and arrays of any float dtype are taken as float32 (the
        network's precision); other shapes, NaN and infinities are refused.
        """
        if not isinstance(obs, torch.Tensor):
            obs = torch.from_numpy(as_float_array(obs, "obs"))
        if obs.is_complex() or obs.dtype == torch.bool:
            raise TypeError(f"obs must be real numbers, got {obs.dtype}")
        if obs.ndim != 2 or obs.shape[1] != self.n_inputs:
            raise ValueError(
                f"obs must have shape (batch, {self.n_inputs}), "
                f"got {tuple(obs.shape)}"
            )
        obs = obs.detach().to(torch.float32)
        if not torch.isfinite(obs).all():
            raise ValueError("obs must be finite, got NaN or infinity")
        out = self.body(obs)
        if self.discrete:
            return D.Categorical(logits=out)
        return D.Independent(D.Normal(out, self.log_std.exp()), 1)
