"""Bad inputs for the tabular side of klcourse.rl (chapter 5): exact control as
inference on small MDPs, and the agent that learns from sampled episodes."""

from __future__ import annotations

import functools
import math

import gymnasium as gym
import numpy as np

from bad_inputs._case import Case, raises, returns
from klcourse.rl import (
    EpisodeBatch,
    SoftOptimum,
    SoftValues,
    TabularMDP,
    TabularTraining,
    Trajectories,
    TrajectoryKL,
    enumerate_trajectories,
    natural_gradient_step,
    sample_episodes,
    soft_value_iteration,
    soft_values,
    state_distribution,
    tabular_mdp,
    train_tabular,
    trajectory_kl,
)

#: a two-state, two-action chain: action 1 moves to state 1, where reward waits
P = np.zeros((2, 2, 2))
P[:, 0, 0] = P[:, 1, 1] = 1.0
R = np.array([[0.0, 0.0], [1.0, 0.5]])
START = np.array([1.0, 0.0])
HALF = np.full((2, 2), 0.5)
TINY = {"desc": ["SF", "FG"], "is_slippery": False}


def chain(**changes: object) -> TabularMDP:
    arrays = {"P": P, "R": R, "initial": START, "horizon": 3, **changes}
    horizon = arrays.pop("horizon")
    return TabularMDP.from_arrays(**arrays, horizon=horizon)  # type: ignore[arg-type]


def lake(**options: object) -> gym.Env:
    return gym.make("FrozenLake-v1", **{**TINY, **options})


@functools.cache
def paths() -> Trajectories:
    return enumerate_trajectories(chain())


@functools.cache
def batch() -> EpisodeBatch:
    """Five episodes of the uniform policy on the 2x2 lake, three steps each."""
    return sample_episodes(
        lake(), np.full((3, 4, 4), 0.25), episodes=5, seed=0
    )


UNIFORM_LOG = np.full((3, 4, 4), math.log(0.25))
#: log pi of a one-step policy that always takes action 0
ALWAYS_FIRST = np.where(np.eye(4)[np.zeros((1, 4), int)] > 0, 0.0, -math.inf)
#: two one-step episodes from state 0: action 0 earns 0, action 1 earns 1
TWO_TRIES = EpisodeBatch(
    [[0], [0]], [[0], [1]], [[0.0], [1.0]], [[True], [True]]
)


def step(
    log_policy: object = UNIFORM_LOG,
    episodes: object = None,
    **options: object,
):
    settings = {"alpha": 1.0, "step_size": 0.5, **options}
    return natural_gradient_step(
        log_policy,
        batch() if episodes is None else episodes,
        **settings,  # type: ignore[arg-type]
    )


def one_step_batch(**changes: object) -> EpisodeBatch:
    """One episode of one decision in state 0 of the lake, with ``changes``."""
    arrays = {
        "states": np.array([[0]]),
        "actions": np.array([[1]]),
        "rewards": np.array([[1.0]]),
        "decided": np.ones((1, 1), dtype=bool),
        **changes,
    }
    return EpisodeBatch(**arrays)  # type: ignore[arg-type]


def optimum_kl(alpha: float) -> TrajectoryKL:
    """trajectory_kl of the deterministic 4x4 lake's own optimum (truth: 0)."""
    mdp = tabular_mdp(gym.make("FrozenLake-v1", is_slippery=False), horizon=8)
    return trajectory_kl(
        soft_value_iteration(mdp, alpha=alpha).policy, mdp, alpha=alpha
    )


def greedy_at(alpha: float) -> tuple[float, float]:
    """The deterministic 4x4 lake's optimum at a small alpha: row-sum error and KL."""
    mdp = tabular_mdp(gym.make("FrozenLake-v1", is_slippery=False), horizon=8)
    optimum = soft_value_iteration(mdp, alpha=alpha)
    row_error = float(np.abs(optimum.policy.sum(-1) - 1).max())
    return row_error, trajectory_kl(optimum.policy, mdp, alpha=alpha).kl


CASES = [
    # --- the model -----------------------------------------------------------------------
    Case(
        "rl.TabularMDP",
        "transition probabilities as numeric strings",
        lambda: TabularMDP.from_arrays(P.astype(str), R, START, horizon=3),
        raises(TypeError, "P"),
    ),
    Case(
        "rl.TabularMDP",
        "boolean transitions (a one-hot table)",
        lambda: TabularMDP.from_arrays(P.astype(bool), R, START, horizon=3),
        raises(TypeError, "P"),
    ),
    Case(
        "rl.TabularMDP",
        "rewards as numeric strings",
        lambda: chain(R=R.astype(str)),
        raises(TypeError, "R"),
    ),
    Case(
        "rl.TabularMDP",
        "boolean rewards",
        lambda: chain(R=R > 0),
        raises(TypeError, "R"),
    ),
    Case(
        "rl.TabularMDP",
        "complex transitions",
        lambda: chain(P=P + 0j),
        raises(TypeError, "P"),
    ),
    Case(
        "rl.TabularMDP",
        "transitions that do not sum to one",
        lambda: chain(P=P * 0.9),
        raises(ValueError, "P", "sum to 1"),
    ),
    Case(
        "rl.TabularMDP",
        "NaN transitions",
        lambda: chain(P=P * math.nan),
        raises(ValueError, "P"),
    ),
    Case(
        "rl.TabularMDP",
        "no actions (shape (2, 0, 2))",
        lambda: chain(P=np.zeros((2, 0, 2)), R=np.zeros((2, 0))),
        raises(ValueError, "P", "action"),
    ),
    Case(
        "rl.TabularMDP",
        "no states",
        lambda: chain(P=np.zeros((0, 2, 0)), R=np.zeros((0, 2)), initial=[]),
        raises(ValueError, "P"),
    ),
    Case(
        "rl.TabularMDP",
        "rewards of shape (2,) for two actions",
        lambda: chain(R=[0.0, 1.0]),
        raises(ValueError, "R"),
    ),
    Case(
        "rl.TabularMDP",
        "infinite reward",
        lambda: chain(R=[[0.0, math.inf], [0.0, 0.0]]),
        raises(ValueError, "R"),
    ),
    Case(
        "rl.TabularMDP",
        "rewards of 1e300 over 3 steps (returns overflow)",
        lambda: chain(R=R * 1e300),
        raises(ValueError, "R"),
    ),
    Case(
        "rl.TabularMDP",
        "a start distribution of three states for two",
        lambda: chain(initial=[1.0, 0.0, 0.0]),
        raises(ValueError, "initial"),
    ),
    Case(
        "rl.TabularMDP",
        "a boolean start distribution",
        lambda: chain(initial=[True, False]),
        raises(TypeError, "initial"),
    ),
    Case(
        "rl.TabularMDP",
        "horizon 0",
        lambda: chain(horizon=0),
        raises(ValueError, "horizon"),
    ),
    Case(
        "rl.TabularMDP",
        "horizon as a numeric string",
        lambda: chain(horizon="3"),
        raises(TypeError, "horizon"),
    ),
    Case(
        "rl.TabularMDP",
        "horizon is a bool",
        lambda: chain(horizon=True),
        raises(TypeError, "horizon"),
    ),
    Case(
        "rl.TabularMDP",
        "a horizon of 10^9 (tables of 32 GB)",
        lambda: chain(horizon=10**9),
        raises(ValueError, "horizon", "GiB"),
    ),
    Case(
        "rl.TabularMDP",
        "terminal flags as integers",
        lambda: TabularMDP.from_arrays(
            P, R, START, horizon=3, terminal=[0, 1]
        ),
        raises(TypeError, "terminal"),
    ),
    Case(
        "rl.TabularMDP.replace",
        "a field that does not exist",
        lambda: chain().replace(gamma=0.9),
        raises(TypeError, "gamma"),
    ),
    Case(
        "rl.TabularMDP.replace",
        "a new horizon of 0",
        lambda: chain().replace(horizon=0),
        raises(ValueError, "horizon"),
    ),
    Case(
        "rl.tabular_mdp",
        "an environment without a model (CartPole)",
        lambda: tabular_mdp(gym.make("CartPole-v1"), horizon=3),
        raises(TypeError, "env"),
    ),
    Case(
        "rl.tabular_mdp",
        "horizon as a numeric string",
        lambda: tabular_mdp(lake(), horizon="3"),
        raises(TypeError, "horizon"),
    ),
    Case(
        "rl.tabular_mdp",
        "a negative horizon",
        lambda: tabular_mdp(lake(), horizon=-1),
        raises(ValueError, "horizon"),
    ),
    # --- exact soft values and KL ---------------------------------------------------------------
    Case(
        "rl.soft_value_iteration",
        "alpha zero",
        lambda: soft_value_iteration(chain(), alpha=0.0),
        raises(ValueError, "alpha"),
    ),
    Case(
        "rl.soft_value_iteration",
        "negative alpha",
        lambda: soft_value_iteration(chain(), alpha=-1.0),
        raises(ValueError, "alpha"),
    ),
    Case(
        "rl.soft_value_iteration",
        "alpha as a numeric string",
        lambda: soft_value_iteration(chain(), alpha="0.5"),
        raises(TypeError, "alpha"),
    ),
    Case(
        "rl.soft_value_iteration",
        "alpha is a bool",
        lambda: soft_value_iteration(chain(), alpha=True),
        raises(TypeError, "alpha"),
    ),
    Case(
        "rl.soft_value_iteration",
        "alpha 1e-320 (returns / alpha overflow)",
        lambda: soft_value_iteration(chain(), alpha=1e-320),
        raises(ValueError, "alpha", "small"),
    ),
    Case(
        "rl.soft_value_iteration",
        "the arrays instead of a TabularMDP",
        lambda: soft_value_iteration((P, R, START), alpha=1.0),
        raises(TypeError, "mdp"),
    ),
    Case(
        "rl.soft_value_iteration",
        "a prior of numeric strings",
        lambda: soft_value_iteration(
            chain(), alpha=1.0, prior=HALF.astype(str)
        ),
        raises(TypeError, "prior"),
    ),
    Case(
        "rl.soft_value_iteration",
        "a boolean prior",
        lambda: soft_value_iteration(
            chain(), alpha=1.0, prior=np.eye(2, dtype=bool)
        ),
        raises(TypeError, "prior"),
    ),
    Case(
        "rl.soft_value_iteration",
        "a prior for three actions",
        lambda: soft_value_iteration(
            chain(), alpha=1.0, prior=np.full((2, 3), 1 / 3)
        ),
        raises(ValueError, "prior"),
    ),
    Case(
        "rl.soft_value_iteration",
        "alpha 1e-8 on the 4x4 lake",
        lambda: greedy_at(1e-8),
        returns(
            lambda r: r[0] < 1e-12 and 0 <= r[1] < 1e-9,
            "rows that sum to one and KL(pi*) of 0, not below",
        ),
    ),
    Case(
        "rl.SoftOptimum",
        "alpha 1e-14 on a deterministic chain",
        lambda: soft_value_iteration(chain(), alpha=1e-14),
        returns(
            lambda o: (
                isinstance(o, SoftOptimum)
                and 0 <= o.min_kl < 1e-12
                and np.allclose(o.policy.sum(-1), 1, rtol=0, atol=1e-12)
            ),
            "min_kl 0 (no chance), never negative; normalised rows",
        ),
    ),
    Case(
        "rl.soft_values",
        "a policy of numeric strings",
        lambda: soft_values(HALF.astype(str), chain(), alpha=1.0),
        raises(TypeError, "policy"),
    ),
    Case(
        "rl.soft_values",
        "a boolean policy",
        lambda: soft_values(np.eye(2, dtype=bool), chain(), alpha=1.0),
        raises(TypeError, "policy"),
    ),
    Case(
        "rl.soft_values",
        "a policy whose rows sum to 0.8",
        lambda: soft_values(np.full((2, 2), 0.4), chain(), alpha=1.0),
        raises(ValueError, "policy", "sum to 1"),
    ),
    Case(
        "rl.soft_values",
        "an empty policy",
        lambda: soft_values([], chain(), alpha=1.0),
        raises(ValueError, "policy"),
    ),
    Case(
        "rl.soft_values",
        "a time-dependent policy of the wrong horizon",
        lambda: soft_values(np.full((5, 2, 2), 0.5), chain(), alpha=1.0),
        raises(ValueError, "policy"),
    ),
    Case(
        "rl.SoftValues",
        "a deterministic policy at alpha 1e-10",
        lambda: soft_values([[0.0, 1.0], [1.0, 0.0]], chain(), alpha=1e-10),
        returns(
            lambda v: (
                isinstance(v, SoftValues)
                and math.isclose(
                    v.soft_return, 1.0 - 3e-10 * math.log(2), rel_tol=1e-12
                )
            ),
            "one reward of 1, minus alpha log 2 for each of 3 decisions",
        ),
    ),
    Case(
        "rl.trajectory_kl",
        "alpha as a numeric string",
        lambda: trajectory_kl(HALF, chain(), alpha="1"),
        raises(TypeError, "alpha"),
    ),
    Case(
        "rl.trajectory_kl",
        "NaN in the policy",
        lambda: trajectory_kl(HALF * math.nan, chain(), alpha=1.0),
        raises(ValueError, "policy"),
    ),
    Case(
        "rl.trajectory_kl",
        "complex policy",
        lambda: trajectory_kl(HALF + 0j, chain(), alpha=1.0),
        raises(TypeError, "policy"),
    ),
    Case(
        "rl.trajectory_kl",
        "a prior that forbids what the policy does",
        lambda: trajectory_kl(
            HALF, chain(), alpha=1.0, prior=[[1.0, 0.0], [0.5, 0.5]]
        ),
        raises(ValueError, "prior", "infinite"),
    ),
    Case(
        "rl.trajectory_kl",
        "alpha 1e-300 (returns / alpha overflow)",
        lambda: trajectory_kl(HALF, chain(), alpha=1e-300),
        raises(ValueError, "alpha"),
    ),
    Case(
        "rl.TrajectoryKL",
        "the 4x4 lake's optimum at alpha 0.01 (log Z about 100)",
        lambda: optimum_kl(0.01),
        returns(
            lambda r: isinstance(r, TrajectoryKL) and 0 <= r.kl < 1e-12,
            "0, not a rounding error of log Z - J / alpha below zero",
        ),
    ),
    Case(
        "rl.state_distribution",
        "a policy of numeric strings",
        lambda: state_distribution(HALF.astype(str), chain()),
        raises(TypeError, "policy"),
    ),
    Case(
        "rl.state_distribution",
        "a policy for three states",
        lambda: state_distribution(np.full((3, 2), 0.5), chain()),
        raises(ValueError, "policy"),
    ),
    Case(
        "rl.state_distribution",
        "no model",
        lambda: state_distribution(HALF, None),
        raises(TypeError, "mdp"),
    ),
    # --- listing trajectories ----------------------------------------------------------------
    Case(
        "rl.enumerate_trajectories",
        "10^96 trajectories (slippery 4x4 lake, horizon 100)",
        lambda: enumerate_trajectories(
            tabular_mdp(gym.make("FrozenLake-v1"), horizon=100),
            max_trajectories=10**12,
        ),
        raises(ValueError, "max_trajectories", "trajectories", "horizon"),
    ),
    Case(
        "rl.enumerate_trajectories",
        "8e7 trajectories, within the limit, but 39 GiB to list",
        lambda: enumerate_trajectories(
            tabular_mdp(gym.make("FrozenLake-v1"), horizon=8),
            max_trajectories=10**9,
        ),
        raises(ValueError, "horizon", "GiB"),
    ),
    Case(
        "rl.enumerate_trajectories",
        "max_trajectories as a numeric string",
        lambda: enumerate_trajectories(chain(), max_trajectories="10"),
        raises(TypeError, "max_trajectories"),
    ),
    Case(
        "rl.enumerate_trajectories",
        "max_trajectories zero",
        lambda: enumerate_trajectories(chain(), max_trajectories=0),
        raises(ValueError, "max_trajectories"),
    ),
    Case(
        "rl.enumerate_trajectories",
        "a dict instead of a model",
        lambda: enumerate_trajectories({"P": P}),
        raises(TypeError, "mdp"),
    ),
    Case(
        "rl.Trajectories.log_q",
        "a policy of the wrong shape",
        lambda: paths().log_q(np.full((2, 3), 1 / 3)),
        raises(ValueError, "policy"),
    ),
    Case(
        "rl.Trajectories.log_q",
        "a policy of numeric strings",
        lambda: paths().log_q(HALF.astype(str)),
        raises(TypeError, "policy"),
    ),
    Case(
        "rl.Trajectories.log_p",
        "alpha zero",
        lambda: paths().log_p(alpha=0.0),
        raises(ValueError, "alpha"),
    ),
    Case(
        "rl.Trajectories.log_p",
        "alpha 1e-320",
        lambda: paths().log_p(alpha=1e-320),
        raises(ValueError, "alpha"),
    ),
    Case(
        "rl.Trajectories.log_p",
        "a prior whose rows sum to 1.2",
        lambda: paths().log_p(alpha=1.0, prior=np.full((2, 2), 0.6)),
        raises(ValueError, "prior"),
    ),
    # --- the sampling agent -----------------------------------------------------------------
    Case(
        "rl.sample_episodes",
        "a policy of numeric strings",
        lambda: sample_episodes(
            lake(), np.full((3, 4, 4), "0.25"), episodes=2, seed=0
        ),
        raises(TypeError, "policy"),
    ),
    Case(
        "rl.sample_episodes",
        "a boolean one-hot policy",
        lambda: sample_episodes(
            lake(),
            np.eye(4, dtype=bool)[np.zeros((3, 4), int)],
            episodes=2,
            seed=0,
        ),
        raises(TypeError, "policy"),
    ),
    Case(
        "rl.sample_episodes",
        "a horizon of 0",
        lambda: sample_episodes(
            lake(), np.zeros((0, 4, 4)), episodes=2, seed=0
        ),
        raises(ValueError, "policy", "horizon"),
    ),
    Case(
        "rl.sample_episodes",
        "a stationary (S, A) policy",
        lambda: sample_episodes(
            lake(), np.full((4, 4), 0.25), episodes=2, seed=0
        ),
        raises(ValueError, "policy"),
    ),
    Case(
        "rl.sample_episodes",
        "episodes as a numeric string",
        lambda: sample_episodes(
            lake(), np.full((3, 4, 4), 0.25), episodes="2", seed=0
        ),
        raises(TypeError, "episodes"),
    ),
    Case(
        "rl.sample_episodes",
        "10^12 episodes (would not fit in memory)",
        lambda: sample_episodes(
            lake(), np.full((3, 4, 4), 0.25), episodes=10**12, seed=0
        ),
        raises(ValueError, "episodes", "GiB"),
    ),
    Case(
        "rl.sample_episodes",
        "seed as a numeric string",
        lambda: sample_episodes(
            lake(), np.full((3, 4, 4), 0.25), episodes=2, seed="0"
        ),
        raises(TypeError, "seed"),
    ),
    Case(
        "rl.EpisodeBatch",
        "states and actions of different shapes",
        lambda: one_step_batch(actions=np.array([[1, 0]])),
        raises(ValueError, "actions"),
    ),
    Case(
        "rl.EpisodeBatch",
        "states as floats",
        lambda: one_step_batch(states=np.array([[0.0]])),
        raises(TypeError, "states"),
    ),
    Case(
        "rl.EpisodeBatch",
        "decided as integers",
        lambda: one_step_batch(decided=np.ones((1, 1), dtype=int)),
        raises(TypeError, "decided"),
    ),
    Case(
        "rl.EpisodeBatch",
        "a NaN reward",
        lambda: one_step_batch(rewards=np.array([[math.nan]])),
        raises(ValueError, "rewards"),
    ),
    Case(
        "rl.EpisodeBatch",
        "rewards as numeric strings",
        lambda: one_step_batch(rewards=np.array([["1"]])),
        raises(TypeError, "rewards"),
    ),
    Case(
        "rl.EpisodeBatch",
        "no episodes",
        lambda: one_step_batch(
            states=np.zeros((0, 1), int),
            actions=np.zeros((0, 1), int),
            rewards=np.zeros((0, 1)),
            decided=np.zeros((0, 1), bool),
        ),
        raises(ValueError, "decided"),
    ),
    Case(
        "rl.EpisodeBatch",
        "a decision with action -1",
        lambda: one_step_batch(actions=np.array([[-1]])),
        raises(ValueError, "actions"),
    ),
    Case(
        "rl.EpisodeBatch",
        "an episode that resumes after it ended",
        lambda: EpisodeBatch(
            np.zeros((1, 3), int),
            np.array([[1, -1, 0]]),
            np.zeros((1, 3)),
            np.array([[True, False, True]]),
        ),
        raises(ValueError, "decided"),
    ),
    Case(
        "rl.EpisodeBatch",
        "lists (a batch written by hand)",
        lambda: EpisodeBatch([[0]], [[1]], [[1.0]], [[True]]).env_steps,
        returns(lambda n: n == 1, "one environment step"),
    ),
    Case(
        "rl.natural_gradient_step",
        "NaN log-probabilities",
        lambda: step(UNIFORM_LOG * math.nan),
        raises(ValueError, "log_policy", "NaN"),
    ),
    Case(
        "rl.natural_gradient_step",
        "probabilities instead of their logs",
        lambda: step(np.full((3, 4, 4), 0.25)),
        raises(ValueError, "log_policy"),
    ),
    Case(
        "rl.natural_gradient_step",
        "unnormalised logits",
        lambda: step(np.zeros((3, 4, 4))),
        raises(ValueError, "log_policy"),
    ),
    Case(
        "rl.natural_gradient_step",
        "log-probabilities as numeric strings",
        lambda: step(UNIFORM_LOG.astype(str)),
        raises(TypeError, "log_policy"),
    ),
    Case(
        "rl.natural_gradient_step",
        "a (S, A) table without the time axis",
        lambda: step(UNIFORM_LOG[0]),
        raises(ValueError, "log_policy"),
    ),
    Case(
        "rl.natural_gradient_step",
        "a batch with state 9 for a four-state table",
        lambda: step(UNIFORM_LOG[:1], one_step_batch(states=np.array([[9]]))),
        raises(ValueError, "batch", "states"),
    ),
    Case(
        "rl.natural_gradient_step",
        "a batch taking an action the policy never takes",
        lambda: step(ALWAYS_FIRST, one_step_batch()),
        raises(ValueError, "log_policy", "probability 0"),
    ),
    Case(
        "rl.natural_gradient_step",
        "a prior that forbids an action the batch took",
        lambda: step(
            UNIFORM_LOG[:1],
            one_step_batch(),
            prior=np.eye(4)[np.zeros(4, int)],
        ),
        raises(ValueError, "prior"),
    ),
    Case(
        "rl.natural_gradient_step",
        "a batch of 3 steps for a horizon of 1",
        lambda: step(UNIFORM_LOG[:1]),
        raises(ValueError, "log_policy", "horizon"),
    ),
    Case(
        "rl.natural_gradient_step",
        "a list of episodes, not an EpisodeBatch",
        lambda: step(UNIFORM_LOG, [batch()]),
        raises(TypeError, "batch"),
    ),
    Case(
        "rl.natural_gradient_step",
        "step_size 2",
        lambda: step(step_size=2.0),
        raises(ValueError, "step_size"),
    ),
    Case(
        "rl.natural_gradient_step",
        "step_size as a numeric string",
        lambda: step(step_size="0.5"),
        raises(TypeError, "step_size"),
    ),
    Case(
        "rl.natural_gradient_step",
        "alpha 1e-320 (the step overflows)",
        lambda: step(alpha=1e-320),
        raises(ValueError, "alpha"),
    ),
    Case(
        "rl.natural_gradient_step",
        "alpha 1e-290: a step of 10^289 times the advantage",
        lambda: np.exp(step(UNIFORM_LOG[:1], TWO_TRIES, alpha=1e-290)[0, 0]),
        returns(
            lambda p: p.tolist() == [0.0, 1.0, 0.0, 0.0],
            "all mass on the better of the two actions tried",
        ),
    ),
    Case(
        "rl.train_tabular",
        "horizon as a numeric string",
        lambda: train_tabular(
            lake(), horizon="3", alpha=0.5, env_steps=100, seed=0
        ),
        raises(TypeError, "horizon"),
    ),
    Case(
        "rl.train_tabular",
        "horizon 0",
        lambda: train_tabular(
            lake(), horizon=0, alpha=0.5, env_steps=100, seed=0
        ),
        raises(ValueError, "horizon"),
    ),
    Case(
        "rl.train_tabular",
        "alpha as a numeric string",
        lambda: train_tabular(
            lake(), horizon=3, alpha="0.5", env_steps=100, seed=0
        ),
        raises(TypeError, "alpha"),
    ),
    Case(
        "rl.train_tabular",
        "negative alpha",
        lambda: train_tabular(
            lake(), horizon=3, alpha=-0.5, env_steps=100, seed=0
        ),
        raises(ValueError, "alpha"),
    ),
    Case(
        "rl.train_tabular",
        "env_steps as a numeric string",
        lambda: train_tabular(
            lake(), horizon=3, alpha=0.5, env_steps="100", seed=0
        ),
        raises(TypeError, "env_steps"),
    ),
    Case(
        "rl.train_tabular",
        "zero env_steps",
        lambda: train_tabular(
            lake(), horizon=3, alpha=0.5, env_steps=0, seed=0
        ),
        raises(ValueError, "env_steps"),
    ),
    Case(
        "rl.train_tabular",
        "batch_episodes as a numeric string",
        lambda: train_tabular(
            lake(), horizon=3, alpha=0.5, env_steps=100, batch_episodes="10"
        ),
        raises(TypeError, "batch_episodes"),
    ),
    Case(
        "rl.train_tabular",
        "an unknown setting",
        lambda: train_tabular(
            lake(), horizon=3, alpha=0.5, env_steps=100, lr=0.1
        ),
        raises(TypeError, "lr"),
    ),
    Case(
        "rl.train_tabular",
        "CartPole (no model to score against)",
        lambda: train_tabular(
            gym.make("CartPole-v1"), horizon=3, alpha=0.5, env_steps=100
        ),
        raises(TypeError, "env"),
    ),
    Case(
        "rl.train_tabular",
        "a prior of numeric strings",
        lambda: train_tabular(
            lake(),
            horizon=3,
            alpha=0.5,
            env_steps=100,
            prior=np.full((4, 4), "0.25"),
        ),
        raises(TypeError, "prior"),
    ),
    Case(
        "rl.TabularTraining",
        "alpha 0.01 on the deterministic 2x2 lake",
        lambda: train_tabular(
            lake(), horizon=3, alpha=0.01, env_steps=600, seed=0
        ),
        returns(
            lambda run: (
                isinstance(run, TabularTraining)
                and bool(np.all(run.history["kl"] >= 0))
                and run.min_kl >= 0
            ),
            "a KL history that is never negative",
        ),
    ),
]
