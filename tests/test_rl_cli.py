"""python -m klcourse.rl: options built from ReinforceConfig, and a train/evaluate round trip."""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys

import pandas as pd
import pytest

from klcourse.rl import MaxEntReinforce, ReinforceConfig
from klcourse.rl.__main__ import build_parser, config_from_args, main
from klcourse.rl.reinforce import HISTORY_COLUMNS


def parse_train(*options: str):
    return build_parser().parse_args(["train", "--out", "run", *options])


def test_parsed_defaults_are_the_agents_defaults_field_by_field() -> None:
    args = parse_train()
    defaults = ReinforceConfig()
    for f in dataclasses.fields(ReinforceConfig):
        assert getattr(args, f.name) == getattr(defaults, f.name), f.name
    assert (
        config_from_args(args)
        == defaults
        == MaxEntReinforce("CartPole-v1", seed=0).config
    )
    assert (
        args.seed is None
    )  # like the class: fresh entropy unless a seed is given


def other_value(f: dataclasses.Field) -> tuple[list[str], object]:
    """Command-line words that set field ``f`` to a non-default value, and that value."""
    flag = "--" + f.name.replace("_", "-")
    default = f.default
    if "choices" in f.metadata:
        value = next(c for c in f.metadata["choices"] if c != default)
        return [flag, value], value
    if isinstance(default, bool):
        return (["--no-" + flag[2:]], False) if default else ([flag], True)
    if isinstance(default, tuple):
        return [flag, "7", "3"], (7, 3)
    if isinstance(default, int):
        return [flag, str(default + 1)], default + 1
    return [flag, str(default / 2)], default / 2


@pytest.mark.parametrize(
    "f", dataclasses.fields(ReinforceConfig), ids=lambda f: f.name
)
def test_every_setting_has_an_option(f: dataclasses.Field) -> None:
    words, value = other_value(f)
    config = config_from_args(parse_train(*words))
    assert (
        getattr(config, f.name) == value != getattr(ReinforceConfig(), f.name)
    )
    assert config == dataclasses.replace(ReinforceConfig(), **{f.name: value})


def test_option_help_comes_from_the_config(capsys) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for f in dataclasses.fields(ReinforceConfig):
        assert " ".join(f.metadata["help"].split()) in text


def test_train_and_evaluate_round_trip(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    settings = [
        "--alpha",
        "0.05",
        "--gamma",
        "0.9",
        "--lr",
        "0.02",
        "--hidden",
        "8",
        "--batch-steps",
        "100",
        "--num-envs",
        "2",
        "--baseline",
        "mean",
        "--no-normalize-advantages",
        "--optimizer",
        "sgd",
    ]
    assert (
        main(
            [
                "train",
                "--env",
                "CartPole-v1",
                "--env-steps",
                "200",
                "--seed",
                "0",
                "--out",
                str(out),
                "--no-progress",
                *settings,
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert {"agent.pt", "history.csv", "learning_curve.png"} <= {
        p.name for p in out.iterdir()
    }
    table = pd.read_csv(out / "history.csv")  # one column per metric
    assert list(table.columns) == list(HISTORY_COLUMNS)
    assert table["update"].tolist() == list(range(1, summary["updates"] + 1))
    assert table["env_steps"].iloc[-1] == summary["env_steps"]
    assert table["mean_return"].iloc[-1] == summary["final_mean_return"]
    agent = MaxEntReinforce.load(out / "agent.pt")
    assert agent.config == ReinforceConfig(
        alpha=0.05,
        gamma=0.9,
        lr=0.02,
        hidden=(8,),
        batch_steps=100,
        num_envs=2,
        baseline="mean",
        normalize_advantages=False,
        optimizer="sgd",
    )
    assert agent.seed == 0 and agent.env_steps == summary["env_steps"] >= 200
    results = []
    for _ in range(2):
        assert (
            main(["evaluate", str(out), "--episodes", "2", "--seed", "1"]) == 0
        )
        results.append(json.loads(capsys.readouterr().out))
    assert results[0]["episodes"] == 2 and results[0] == results[1]
    assert (
        main(
            [
                "evaluate",
                str(out / "agent.pt"),
                "--episodes",
                "1",
                "--deterministic",
            ]
        )
        == 0
    )
    with pytest.raises(SystemExit) as stopped:
        main(["evaluate", str(tmp_path / "missing")])
    assert stopped.value.code == 2
    assert "error: argument run: no saved agent" in capsys.readouterr().err


def test_env_kwargs_and_an_empty_hidden_list(tmp_path, capsys) -> None:
    out = tmp_path / "lake"
    assert (
        main(
            [
                "train",
                "--env",
                "FrozenLake-v1",
                "--env-kwargs",
                '{"is_slippery": false}',
                "--hidden",
                "--env-steps",
                "50",
                "--batch-steps",
                "50",
                "--num-envs",
                "1",
                "--seed",
                "0",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    agent = MaxEntReinforce.load(out / "agent.pt")
    assert (
        agent.env_kwargs == {"is_slippery": False}
        and agent.config.hidden == ()
    )


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (
            ["--env", "CartPol-v1"],
            "error: argument --env: env 'CartPol-v1' is not a registered",
        ),
        (
            ["--gamma", "2"],
            "error: argument --gamma: gamma must be at most 1.0",
        ),
        (
            ["--hidden", "0"],
            "error: argument --hidden: hidden must be at least 1",
        ),
        (
            ["--env-kwargs", '{"no_such_argument": 1}'],
            "error: argument --env-kwargs: env_kwargs",
        ),
        (["--baseline", "critic"], "argument --baseline: invalid choice"),
        (["--env-kwargs", "[1]"], "argument --env-kwargs: must be a JSON"),
        (["--seed", "-1"], "argument --seed: must be a non-negative"),
    ],
)
def test_wrong_settings_are_one_line_errors(
    tmp_path, capsys, words, message
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["train", *words, "--out", str(tmp_path / "run")])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error
    assert not (tmp_path / "run").exists()  # stopped before any work


def test_runs_as_a_module(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "klcourse.rl", "evaluate", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2 and "no saved agent" in result.stderr


# --- bad options are one-line errors (issue 18) ------------------------


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("saved") / "run"
    assert main(_quick_train(out)) == 0
    return out


@pytest.mark.parametrize(
    ("words", "option"),
    [
        (["train", "--env-steps", "0"], "--env-steps"),
        (["train", "--env-steps", "-5"], "--env-steps"),
        (["train", "--env-steps", "1e3"], "--env-steps"),
        (["train", "--steps", "0"], "--steps"),  # the old name
        (["evaluate", "RUN", "--episodes", "0"], "--episodes"),
        (["evaluate", "RUN", "--episodes", "-1"], "--episodes"),
        (["evaluate", "RUN", "--seed", "-1"], "--seed"),
    ],
)
def test_bad_counts_are_one_line_errors(
    tmp_path, capsys, saved_run, words, option
) -> None:
    if words[0] == "train":
        words = [*words, "--out", str(tmp_path / "run"), "--no-progress"]
    else:
        words = [str(saved_run) if w == "RUN" else w for w in words]
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:
        main(words)
    assert stopped.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith(f"python -m klcourse.rl {words[0]}: error:")
    assert f"argument {option}:" in lines[-1]


def test_a_bad_count_from_the_shell_is_one_line_and_exit_code_2(
    tmp_path,
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "klcourse.rl",
            "train",
            "--env-steps",
            "0",
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "python -m klcourse.rl train: error: argument --env-steps: "
        "must be a positive integer, got 0"
    )


def _quick_train(out) -> list[str]:
    return [
        "train",
        "--env-steps",
        "50",
        "--batch-steps",
        "50",
        "--num-envs",
        "1",
        "--hidden",
        "4",
        "--seed",
        "0",
        "--no-progress",
        "--out",
        str(out),
    ]


def test_out_is_not_overwritten_unless_asked(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main(_quick_train(out)) == 0
    saved = (out / "agent.pt").read_bytes()
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:
        main([*_quick_train(out), "--seed", "1"])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert "--out" in error and "--overwrite" in error
    assert (out / "agent.pt").read_bytes() == saved  # untouched
    assert main([*_quick_train(out), "--seed", "1", "--overwrite"]) == 0
    assert (out / "agent.pt").read_bytes() != saved


def test_every_option_has_help() -> None:
    parser = build_parser()
    commands = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    for name, sub in commands.choices.items():
        for action in sub._actions:
            assert action.help and action.help.strip(), (name, action.dest)


def test_the_old_steps_option_warns_and_still_works(tmp_path, capsys) -> None:
    new = tmp_path / "new"
    assert main(_quick_train(new)) == 0
    words = _quick_train(tmp_path / "old")
    words[words.index("--env-steps")] = "--steps"
    with pytest.warns(
        FutureWarning, match="^--steps is now --env-steps; --steps will be"
    ):
        assert main(words) == 0
    old_table = pd.read_csv(tmp_path / "old" / "history.csv")
    new_table = pd.read_csv(new / "history.csv")
    columns = [c for c in HISTORY_COLUMNS if c != "wall_time"]
    assert old_table[columns].equals(new_table[columns])
