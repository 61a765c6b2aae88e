"""Command line: train and evaluate a max-entropy REINFORCE agent.

python -m klcourse.rl train --env CartPole-v1 --alpha 0.01 --env-steps 200000 --seed 0 --out run/
python -m klcourse.rl evaluate run/

The training options are the fields of :class:`klcourse.rl.ReinforceConfig`,
with its defaults and descriptions (``python -m klcourse.rl train --help``).
A wrong option stops the command before any work with one line,
``python -m klcourse.rl train: error: argument --env-steps: ...``, and exit
code 2. ``--steps`` is the old name of ``--env-steps``: it still works, with a
``FutureWarning``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
import typing
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from klcourse._history import History
from klcourse.rl.config import ReinforceConfig
from klcourse.rl.reinforce import MaxEntReinforce


def _flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one option per field of :class:`ReinforceConfig`, with its default and help.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_config_arguments(parser)
    >>> args = parser.parse_args(["--hidden", "8", "8", "--no-normalize-advantages"])
    >>> args.hidden, args.normalize_advantages, args.gamma
    ([8, 8], False, 1.0)
    """
    group = parser.add_argument_group(
        "agent settings", "the fields of klcourse.rl.ReinforceConfig"
    )
    hints = typing.get_type_hints(ReinforceConfig)
    for f in dataclasses.fields(ReinforceConfig):
        kind = hints[f.name]
        options: dict[str, Any] = {
            "default": f.default,
            "help": f.metadata["help"] + " (default: %(default)s)",
        }
        if kind is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(kind) is tuple:
            options.update(type=int, nargs="*", metavar="WIDTH")
        else:
            options["type"] = kind
        if "choices" in f.metadata:
            options["choices"] = f.metadata["choices"]
        group.add_argument(_flag_name(f.name), **options)


def config_from_args(args: argparse.Namespace) -> ReinforceConfig:
    """The :class:`ReinforceConfig` that parsed options describe (checked).

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_config_arguments(parser)
    >>> config_from_args(parser.parse_args(["--alpha", "0.5"])).alpha
    0.5
    """
    return ReinforceConfig(
        **{
            f.name: getattr(args, f.name)
            for f in dataclasses.fields(ReinforceConfig)
        }
    )


def _count(text: str) -> int:
    """An option's value as a positive integer (argparse reports the error)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a positive integer, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"must be a positive integer, got {value}"
        )
    return value


def _seed(text: str) -> int:
    """An option's value as a non-negative integer seed."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a non-negative integer, got {text!r}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"must be a non-negative integer, got {value}"
        )
    return value


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error}") from error
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


class _OldName(argparse.Action):
    """An option's old name: it sets the new one, with a FutureWarning."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        new = _flag_name(self.dest)
        warnings.warn(
            f"{option_string} is now {new}; {option_string} will be removed "
            "in a later release",
            FutureWarning,
            stacklevel=2,
        )
        setattr(namespace, self.dest, values)


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m klcourse.rl`` (subcommands ``train`` and ``evaluate``).

    Examples
    --------
    >>> args = build_parser().parse_args(["train", "--out", "run"])
    >>> args.command, args.env, args.env_steps
    ('train', 'CartPole-v1', 200000)
    """
    parser = argparse.ArgumentParser(
        prog="python -m klcourse.rl",
        description=(__doc__ or "").split("\n\n")[0],
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser(
        "train",
        help="train an agent and save it with its history",
    )
    train.add_argument(
        "--env",
        default="CartPole-v1",
        help="Gymnasium environment id (default: %(default)s)",
    )
    train.add_argument(
        "--env-kwargs",
        type=_json_object,
        default={},
        metavar="JSON",
        help="gymnasium.make arguments, e.g. '{\"is_slippery\": false}'",
    )
    train.add_argument(
        "--env-steps",
        type=_count,
        default=200_000,
        help="environment steps to train for, a positive integer "
        "(default: %(default)s)",
    )
    train.add_argument(
        "--steps",
        type=_count,
        dest="env_steps",
        default=argparse.SUPPRESS,
        action=_OldName,
        help="the old name of --env-steps (deprecated)",
    )
    train.add_argument(
        "--seed",
        type=_seed,
        default=None,
        help="seed of the whole run (default: fresh entropy)",
    )
    train.add_argument(
        "--out",
        type=Path,
        required=True,
        help="directory for agent.pt, history.csv, learning_curve.png; "
        "it must not hold a run already, unless --overwrite is given",
    )
    train.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the files of a run already in --out",
    )
    train.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar (default: only in a terminal)",
    )
    add_config_arguments(train)
    evaluate = commands.add_parser("evaluate", help="evaluate a saved agent")
    evaluate.add_argument(
        "run", type=Path, help="a directory written by 'train'"
    )
    evaluate.add_argument(
        "--episodes",
        type=_count,
        default=20,
        help="episodes to run, a positive integer (default: %(default)s)",
    )
    evaluate.add_argument(
        "--deterministic",
        action="store_true",
        help="take the most likely action",
    )
    evaluate.add_argument(
        "--seed",
        type=_seed,
        default=None,
        help="seed of the episodes (default: the agent's own evaluation "
        "streams, fixed by its training seed)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    A wrong option raises ``SystemExit(2)`` after one line on stderr that
    names it (argparse's ``parser.error``), before any training starts.

    Examples
    --------
    >>> try:
    ...     main(["evaluate", "no-such-run"])
    ... except SystemExit as stop:
    ...     print("exit code", stop.code)
    exit code 2
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    command = _subparser(parser, args.command)
    return (
        _train(args, command)
        if args.command == "train"
        else _evaluate(args, command)
    )


def _subparser(
    parser: argparse.ArgumentParser, name: str
) -> argparse.ArgumentParser:
    """The parser of subcommand ``name``, whose errors name it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return typing.cast(argparse.ArgumentParser, action.choices[name])
    raise LookupError(name)  # pragma: no cover - build_parser has both


RUN_FILES = ("agent.pt", "history.csv", "learning_curve.png")


def _train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    out: Path = args.out
    if out.exists() and not out.is_dir():
        parser.error(f"argument --out: {out} is a file, not a directory")
    existing = [name for name in RUN_FILES if (out / name).exists()]
    if existing and not args.overwrite:
        parser.error(
            f"argument --out: {out} already holds a run ({existing[0]}); "
            "choose another directory or add --overwrite"
        )
    try:
        config = config_from_args(args)
        agent = MaxEntReinforce(
            args.env,
            **dataclasses.asdict(config),
            seed=args.seed,
            env_kwargs=args.env_kwargs,
        )
    except (TypeError, ValueError) as error:  # a setting or env was wrong
        parser.error(f"argument {_option_of(str(error))}: {error}")
    history = agent.train(args.env_steps, progress=args.progress)
    out.mkdir(parents=True, exist_ok=True)
    agent.save(out / "agent.pt")
    with open(out / "history.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(history))  # one column per metric
        writer.writerows(zip(*(c.tolist() for c in history.values())))
    _plot(
        history,
        out / "learning_curve.png",
        title=f"{args.env}, alpha = {config.alpha}",
    )
    print(
        json.dumps(
            {
                "out": str(out),
                "updates": history.n_rows,
                "env_steps": agent.env_steps,
                "final_mean_return": float(history["mean_return"][-1]),
            }
        )
    )
    return 0


def _option_of(message: str) -> str:
    """The option an agent's error message is about (it starts with it)."""
    name = message.split(" ", 1)[0]
    settings = {f.name for f in dataclasses.fields(ReinforceConfig)}
    if name in settings | {"env", "env_kwargs"}:
        return _flag_name(name)
    return "--env"  # gymnasium refused the environment or its arguments


def _plot(history: History, path: Path, *, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from klcourse.plotting import COLORS, use_style

    use_style()
    steps = history["env_steps"]
    fig, ax = plt.subplots()
    ax.plot(
        steps,
        history["mean_return"],
        color=COLORS["p"],
        label="mean return",
    )
    ax.plot(
        steps,
        history["mean_soft_return"],
        color=COLORS["reverse"],
        label="mean soft return",
    )
    ax.set(xlabel="environment steps", ylabel="return", title=title)
    ax.legend()
    fig.savefig(path)
    plt.close(fig)


def _evaluate(
    args: argparse.Namespace, parser: argparse.ArgumentParser
) -> int:
    path = args.run / "agent.pt" if args.run.is_dir() else args.run
    if not path.exists():
        parser.error(f"argument run: no saved agent at {path}")
    agent = MaxEntReinforce.load(path)
    returns = agent.evaluate(
        args.episodes, deterministic=args.deterministic, seed=args.seed
    )
    print(
        json.dumps(
            {
                "episodes": len(returns),
                "mean_return": float(returns.mean()),
                "std_return": float(returns.std()),
                "min_return": float(returns.min()),
                "max_return": float(returns.max()),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
