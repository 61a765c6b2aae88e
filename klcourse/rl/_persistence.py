"""Saving a REINFORCE agent to one file and loading it back.

The file is a ``torch.save`` dictionary of plain data only (so that
``torch.load(weights_only=True)`` reads it): the agent's settings, seed and
environment as JSON, the policy's and the value network's weights, and the
environment steps taken.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import torch

from klcourse.rl._environments import rebuildable

if TYPE_CHECKING:
    from klcourse.rl.reinforce import MaxEntReinforce


def save_agent(agent: MaxEntReinforce, path: str | Path) -> None:
    """Write ``agent`` to ``path`` (see :meth:`MaxEntReinforce.save`)."""
    path = check_path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"path {str(path)!r}: the folder {str(path.parent)!r} does "
            "not exist"
        )
    source = agent.env_source
    if source.env_id is not None:
        env: dict[str, Any] = {
            "env": source.env_id,
            "env_kwargs": source.env_kwargs,
        }
    elif source.spec is not None and rebuildable(source.spec):
        env = {"env_spec": source.spec.to_json()}
    else:
        raise ValueError(
            "this agent's environment cannot be saved: it was given as an "
            "instance or a function whose env.spec cannot rebuild it "
            "(make it with gymnasium.make, wrap it only in wrappers that "
            "record their arguments, or give env as an id)"
        )
    record = {**env, "seed": agent.seed, **dataclasses.asdict(agent.config)}
    torch.save(
        {
            "config": json.dumps(record),
            "policy": agent.policy.state_dict(),
            "value": agent.value.state_dict(),
            "env_steps": agent.env_steps,
        },
        path,
    )


def load_agent(
    cls: type[MaxEntReinforce], path: str | Path
) -> MaxEntReinforce:
    """Rebuild an agent of class ``cls`` written by :func:`save_agent`."""
    path = check_path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"path {str(path)!r} is not a file saved by "
            "MaxEntReinforce.save: there is no such file"
        )
    try:
        state = torch.load(path, weights_only=True)
        record = json.loads(state["config"])
        weights = state["policy"], state["value"], state["env_steps"]
    except (
        pickle.UnpicklingError,
        RuntimeError,
        EOFError,
        KeyError,
        TypeError,
        ValueError,
    ) as error:
        raise ValueError(
            f"path {str(path)!r} is not an agent saved by "
            f"MaxEntReinforce.save ({type(error).__name__}: {error})"
        ) from error
    seed = record.pop("seed", None)
    env: Any
    if "env_spec" in record:
        spec = gym.envs.registration.EnvSpec.from_json(record.pop("env_spec"))
        env = functools.partial(gym.make, spec)
    else:
        env = record.pop("env")
    env_kwargs = record.pop("env_kwargs", None)
    agent = cls(env, seed=seed, env_kwargs=env_kwargs, **record)
    agent.policy.load_state_dict(weights[0])
    agent.value.load_state_dict(weights[1])
    agent.env_steps = int(weights[2])
    return agent


def check_path(path: Any) -> Path:
    """``path`` as a :class:`~pathlib.Path`, if it is a str or path-like."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be a str or a path-like object, got "
            f"{type(path).__name__}"
        )
    return Path(path)
