"""Command line: train and evaluate a max-entropy REINFORCE agent.

python -m klcourse.rl train --env CartPole-v1 --alpha 0.01 --steps 200000 --seed 0 --out run/
python -m klcourse.rl evaluate run/
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from klcourse.rl.reinforce import MaxEntReinforce


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m klcourse.rl", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser(
        "train", help="train an agent and save it with its history"
    )
    train.add_argument(
        "--env", default="CartPole-v1", help="Gymnasium environment id"
    )
    train.add_argument(
        "--alpha", type=float, default=0.01, help="entropy temperature"
    )
    train.add_argument(
        "--gamma",
        type=float,
        default=0.99,
        help="discount (1 = exact reverse KL)",
    )
    train.add_argument("--lr", type=float, default=1e-2)
    train.add_argument(
        "--hidden",
        type=int,
        nargs="*",
        default=[64],
        help="hidden layer widths",
    )
    train.add_argument("--batch-steps", type=int, default=2_000)
    train.add_argument("--num-envs", type=int, default=8)
    train.add_argument(
        "--steps",
        type=int,
        default=200_000,
        help="environment steps to train for",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--out",
        type=Path,
        required=True,
        help="directory for agent.pt, history.csv, learning_curve.png",
    )
    train.add_argument(
        "--no-progress", action="store_true", help="hide the progress bar"
    )
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
    evaluate.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    return _train(args) if args.command == "train" else _evaluate(args)


def _train(args: argparse.Namespace) -> int:
    agent = MaxEntReinforce(
        args.env,
        alpha=args.alpha,
        gamma=args.gamma,
        lr=args.lr,
        hidden=args.hidden,
        batch_steps=args.batch_steps,
        num_envs=args.num_envs,
        seed=args.seed,
    )
    history = agent.train(args.steps, progress=not args.no_progress)
    args.out.mkdir(parents=True, exist_ok=True)
    agent.save(args.out / "agent.pt")
    with open(args.out / "history.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    _plot(
        history,
        args.out / "learning_curve.png",
        title=f"{args.env}, alpha = {args.alpha}",
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
