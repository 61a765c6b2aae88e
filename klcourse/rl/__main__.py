"""Command line: train and evaluate a max-entropy REINFORCE agent.

python -m klcourse.rl train --env CartPole-v1 --alpha 0.01 --steps 200000 --seed 0 --out run/
python -m klcourse.rl evaluate run/

The training options are the fields of :class:`klcourse.rl.ReinforceConfig`,
with its defaults and descriptions (``python -m klcourse.rl train --help``).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
import typing
from pathlib import Path
from typing import Any

from klcourse.rl.reinforce import MaxEntReinforce, ReinforceConfig


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


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error}") from error
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m klcourse.rl`` (subcommands ``train`` and ``evaluate``).

    Examples
    --------
    >>> args = build_parser().parse_args(["train", "--out", "run"])
    >>> args.command, args.env, args.steps
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
        "--steps",
        type=int,
        default=200_000,
        help="environment steps to train for (default: %(default)s)",
    )
    train.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the whole run (default: fresh entropy)",
    )
    train.add_argument(
        "--out",
        type=Path,
        required=True,
        help="directory for agent.pt, history.csv, learning_curve.png",
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
    evaluate.add_argument("--episodes", type=int, default=20)
    evaluate.add_argument(
        "--deterministic",
        action="store_true",
        help="take the most likely action",
    )
    evaluate.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the episodes (default: the agent's own evaluation "
        "streams, fixed by its training seed)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    Examples
    --------
    >>> main(["evaluate", "no-such-run"])
    2
    """
    args = build_parser().parse_args(argv)
    return _train(args) if args.command == "train" else _evaluate(args)


def _train(args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
        agent = MaxEntReinforce(
            args.env,
            config=config,
            seed=args.seed,
            env_kwargs=args.env_kwargs,
        )
    except (TypeError, ValueError) as error:  # a setting or env was wrong
        print(f"error: {error}", file=sys.stderr)
        return 2
    history = agent.train(args.steps, progress=args.progress)
    args.out.mkdir(parents=True, exist_ok=True)
    agent.save(args.out / "agent.pt")
    with open(args.out / "history.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    _plot(
        history,
        args.out / "learning_curve.png",
        title=f"{args.env}, alpha = {config.alpha}",
    )
    print(
        json.dumps(
            {
                "out": str(args.out),
                "updates": len(history),
                "env_steps": agent.env_steps,
                "final_mean_return": history[-1]["mean_return"],
            }
        )
    )
    return 0


def _plot(history: list[dict[str, float]], path: Path, *, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from klcourse.plotting import COLORS, use_style

    use_style()
    steps = [h["env_steps"] for h in history]
    fig, ax = plt.subplots()
    ax.plot(
        steps,
        [h["mean_return"] for h in history],
        color=COLORS["p"],
        label="mean return",
    )
    ax.plot(
        steps,
        [h["mean_soft_return"] for h in history],
        color=COLORS["reverse"],
        label="mean soft return",
    )
    ax.set(xlabel="environment steps", ylabel="return", title=title)
    ax.legend()
    fig.savefig(path)
    plt.close(fig)


def _evaluate(args: argparse.Namespace) -> int:
    path = args.run / "agent.pt" if args.run.is_dir() else args.run
    if not path.exists():
        print(f"error: no saved agent at {path}", file=sys.stderr)
        return 2
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
