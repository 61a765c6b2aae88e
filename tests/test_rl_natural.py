"""klcourse.rl.natural: the tabular agent that learns from sampled episodes."""

from __future__ import annotations

import copy
import inspect

import gymnasium as gym
import numpy as np
import pytest

from klcourse.rl import (
    EpisodeBatch,
    natural_gradient_step,
    sample_episodes,
    soft_value_iteration,
    soft_values,
    tabular_mdp,
    train_tabular,
    trajectory_kl,
)

TINY = {"desc": ["SF", "FG"], "is_slippery": False}
#: log pi of the uniform policy on the tiny lake over three steps
UNIFORM_LOG = np.full((3, 4, 4), np.log(0.25))


def lake(**options) -> gym.Env:
    return gym.make("FrozenLake-v1", **{"is_slippery": False, **options})


def test_train_tabular_reaches_the_minimum_on_a_small_deterministic_lake() -> (
    None
):
    run = train_tabular(lake(), horizon=8, alpha=0.2, env_steps=60_000, seed=0)
    assert (
        run.history["env_steps"][-1] >= 60_000 > run.history["env_steps"][-2]
    )
    assert np.all(np.diff(run.history["env_steps"]) > 0)
    assert run.history.x == "env_steps"
    assert list(run.history) == ["update", "env_steps", "kl"]
    assert run.history["update"].tolist() == list(
        range(1, run.history.n_rows + 1)
    )
    mdp = tabular_mdp(lake(), horizon=8)
    optimum = soft_value_iteration(mdp, alpha=0.2)
    assert run.min_kl == optimum.min_kl
    assert abs(run.min_kl) < 1e-9  # deterministic, fixed start
    assert run.history["kl"][-1] - run.min_kl < 0.1
    uniform = trajectory_kl(np.full((16, 4), 0.25), mdp, alpha=0.2).kl
    assert uniform > 0.3  # where it started: the prior
    # the history is the exact KL of the policy it reports
    kl = (
        optimum.log_partition
        - soft_values(run.policy, mdp, alpha=0.2).soft_return / 0.2
    )
    assert run.history["kl"][-1] == pytest.approx(kl, rel=1e-9)
    assert run.settings == {"batch_episodes": 200, "step_size": 0.2}
    other = train_tabular(
        lake(**TINY),
        horizon=3,
        alpha=0.5,
        env_steps=500,
        seed=0,
        step_size=0.5,
    )
    assert other.settings == {"batch_episodes": 200, "step_size": 0.5}


def test_a_stochastic_lake_leaves_a_gap_the_agent_cannot_close() -> None:
    env = gym.make("FrozenLake-v1", desc=["SFF", "FHF", "FFG"])
    run = train_tabular(
        env, horizon=4, alpha=0.2, env_steps=20_000, seed=1, batch_episodes=100
    )
    assert run.min_kl > 0.01
    assert np.all(run.history["kl"] >= run.min_kl - 1e-12)
    assert run.history["kl"][-1] - run.min_kl < 0.05


def test_with_exact_data_a_full_step_is_soft_policy_iteration() -> None:
    """Every action tried, each with a known return: pi = pi_ref e^(Q/alpha)."""
    rewards = np.array([1.0, -0.5, 0.25])
    batch = EpisodeBatch(
        states=np.zeros((6, 1), dtype=np.int64),
        actions=np.array([[0], [1], [2], [0], [1], [2]]),
        rewards=np.tile(rewards, 2)[:, None],
        decided=np.ones((6, 1), dtype=bool),
    )
    prior = np.array([[0.5, 0.3, 0.2]])
    log_pi = np.log([[[0.2, 0.5, 0.3]]])
    new = natural_gradient_step(
        log_pi, batch, alpha=0.7, step_size=1.0, prior=prior
    )
    expected = prior[0] * np.exp(rewards / 0.7)
    assert np.allclose(np.exp(new[0, 0]), expected / expected.sum())
    # a smaller step moves part of the way, geometrically
    half = natural_gradient_step(
        log_pi, batch, alpha=0.7, step_size=0.5, prior=prior
    )
    mixed = 0.5 * log_pi[0, 0] + 0.5 * np.log(expected)
    assert np.allclose(half[0, 0], mixed - np.logaddexp.reduce(mixed))


def test_no_evidence_no_change() -> None:
    batch = EpisodeBatch(
        states=np.array([[0, 1], [0, 1]]),
        actions=np.array([[0, 2], [1, 2]]),
        rewards=np.array([[1.0, 0.0], [0.0, 0.0]]),
        decided=np.ones((2, 2), dtype=bool),
    )
    rng = np.random.default_rng(0)
    log_pi = np.log(rng.dirichlet(np.ones(3), size=(2, 3)))
    new = natural_gradient_step(log_pi, batch, alpha=1.0, step_size=0.5)
    # states not visited at a time step keep their row
    assert np.allclose(new[0, 1:], log_pi[0, 1:])
    assert np.allclose(new[1, [0, 2]], log_pi[1, [0, 2]])
    # one action tried at (t=1, s=1): its advantage is 0, the row stays
    assert np.allclose(new[1, 1], log_pi[1, 1])
    # at (t=0, s=0) action 2 was not tried: its logit is unchanged
    # relative to the normaliser's shift that the tried actions cause
    shift = new[0, 0] - log_pi[0, 0]
    assert shift[0] > shift[2] > shift[1]


def test_the_sampled_step_follows_the_exact_soft_advantage() -> None:
    """With many episodes, A-hat matches Q - alpha log(pi / pi_ref) - V."""
    env = lake(**TINY)
    mdp = tabular_mdp(env, horizon=2)
    rng = np.random.default_rng(1)
    policy = rng.dirichlet(np.ones(4), size=(2, 4))
    alpha = 0.5
    batch = sample_episodes(env, policy, episodes=15_000, seed=2)
    new = natural_gradient_step(
        np.log(policy), batch, alpha=alpha, step_size=1.0
    )
    values = soft_values(policy, mdp, alpha=alpha)
    exact = values.Q - alpha * np.log(policy * 4) - values.V[:-1, :, None]
    for t, s in [(0, 0), (1, 1), (1, 2)]:  # states visited often
        estimate = alpha * (new[t, s] - np.log(policy[t, s]))
        # equal up to a constant per state (the softmax normaliser)
        difference = estimate - exact[t, s]
        assert np.ptp(difference) < 0.06, (t, s, estimate, exact[t, s])


def test_the_agent_never_takes_an_action_the_prior_forbids() -> None:
    env = lake(**TINY)
    prior = np.full((4, 4), 0.25)
    prior[0] = [0.0, 1 / 3, 1 / 3, 1 / 3]  # never "left" in the start state
    run = train_tabular(
        env, horizon=3, alpha=0.5, env_steps=5_000, seed=0, prior=prior
    )
    assert np.all(run.policy[:, 0, 0] == 0.0)
    assert run.history["kl"][-1] - run.min_kl < 0.05
    batch = sample_episodes(env, run.policy, episodes=500, seed=0)
    start = batch.decided & (batch.states == 0)
    assert start.any() and not np.any(batch.actions[start] == 0)


def test_sample_episodes_follow_the_policy_and_stop_at_terminal_states() -> (
    None
):
    env = lake(**TINY)
    down = np.zeros((4, 4, 4))
    down[..., 1] = 1.0  # down: 0 -> 2 -> 2 (the bottom edge) ...
    down[1:, 2] = [0.0, 0.0, 1.0, 0.0]  # ... then right, to the goal 3
    batch = sample_episodes(env, down, episodes=3, seed=0)
    assert batch.states.tolist() == [[0, 2, 0, 0]] * 3
    assert batch.actions.tolist() == [[1, 2, -1, -1]] * 3
    assert batch.rewards.tolist() == [[0.0, 1.0, 0.0, 0.0]] * 3
    assert batch.decided.sum() == batch.env_steps == 6


def test_sampling_is_seeded_without_side_effects() -> None:
    env = gym.make("FrozenLake-v1", desc=["SFF", "FHF", "FFG"])
    policy = np.full((5, 9, 4), 0.25)
    state = np.random.get_state()
    first = sample_episodes(env, policy, episodes=50, seed=3)
    again = sample_episodes(env, policy, episodes=50, seed=3)
    other = sample_episodes(env, policy, episodes=50, seed=4)
    assert np.array_equal(first.states, again.states)
    assert np.array_equal(first.actions, again.actions)
    assert not np.array_equal(first.states, other.states)
    after = np.random.get_state()
    assert np.array_equal(after[1], state[1]) and after[2:] == state[2:]
    # a generator is advanced; the same seed gives the same training run
    rng = np.random.default_rng(5)
    one = train_tabular(env, horizon=5, alpha=0.5, env_steps=2_000, seed=rng)
    two = train_tabular(env, horizon=5, alpha=0.5, env_steps=2_000, seed=rng)
    assert not np.array_equal(one.history["kl"], two.history["kl"])
    three = train_tabular(
        env,
        horizon=5,
        alpha=0.5,
        env_steps=2_000,
        seed=np.random.default_rng(5),
    )
    assert np.array_equal(one.history["kl"], three.history["kl"])


def test_train_tabular_leaves_the_callers_environment_alone() -> None:
    env = lake(**TINY)
    env.reset(seed=0)
    env.step(2)  # the caller's episode is at state 1
    before = copy.deepcopy(env.unwrapped.s)
    train_tabular(env, horizon=3, alpha=0.5, env_steps=500, seed=0)
    assert env.unwrapped.s == before == 1


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        (
            {"batch_size": 10},
            TypeError,
            r"train_tabular\(\) got an unexpected keyword argument 'batch_size'",
        ),
        ({"step_size": 1.5}, ValueError, "step_size must be at most 1.0"),
        ({"step_size": 0}, ValueError, "step_size must be a finite positive"),
        ({"batch_episodes": 0}, ValueError, "batch_episodes must be at least"),
        ({"alpha": 0.0}, ValueError, "alpha must be a finite positive"),
        ({"env_steps": 0}, ValueError, "env_steps must be at least 1"),
        ({"horizon": 2.5}, TypeError, "horizon must be an integer"),
        ({"seed": "0"}, TypeError, "seed must be an int"),
        (
            {"prior": np.full((4, 3), 1 / 3)},
            ValueError,
            r"prior must have shape \(S, A\) = \(4, 4\)",
        ),
        (
            {"prior": np.full((4, 4), 0.3)},
            ValueError,
            "prior must sum to 1",
        ),
    ],
)
def test_train_tabular_errors(settings, error, message) -> None:
    arguments = {"horizon": 3, "alpha": 0.5, "env_steps": 100, **settings}
    with pytest.raises(error, match="^" + message):
        train_tabular(lake(**TINY), **arguments)


def test_sampling_and_step_errors() -> None:
    env = lake(**TINY)
    with pytest.raises(TypeError, match="^env must be a toy-text environment"):
        sample_episodes(
            gym.make("CartPole-v1"), np.ones((1, 4, 2)) / 2, episodes=1
        )
    with pytest.raises(
        ValueError, match=r"^policy must have shape \(H, 4, 4\)"
    ):
        sample_episodes(env, np.full((4, 4), 0.25), episodes=1)
    with pytest.raises(ValueError, match="^policy must sum to 1"):
        sample_episodes(env, np.full((2, 4, 4), 0.3), episodes=1)
    with pytest.raises(ValueError, match="^episodes must be at least 1"):
        sample_episodes(env, np.full((2, 4, 4), 0.25), episodes=0)
    batch = sample_episodes(env, np.full((2, 4, 4), 0.25), episodes=2)
    with pytest.raises(ValueError, match=r"^log_policy must have shape"):
        natural_gradient_step(
            np.zeros((4, 4)), batch, alpha=1.0, step_size=0.5
        )
    with pytest.raises(TypeError, match="^batch must be an EpisodeBatch"):
        natural_gradient_step(
            UNIFORM_LOG[:2], [batch], alpha=1.0, step_size=0.5
        )
    with pytest.raises(ValueError, match="^batch has episodes of 2 steps"):
        natural_gradient_step(UNIFORM_LOG, batch, alpha=1.0, step_size=0.5)
    with pytest.raises(ValueError, match="^prior must sum to 1"):
        natural_gradient_step(
            UNIFORM_LOG[:2],
            batch,
            alpha=1.0,
            step_size=0.5,
            prior=np.full((4, 4), 0.3),
        )


# --- bad batches and log-policies are refused, not turned into NaN ----------


def one_step(**changes) -> EpisodeBatch:
    """One decision in state 0 of the tiny lake (action 1, reward 1), changed."""
    arrays = {
        "states": [[0]],
        "actions": [[1]],
        "rewards": [[1.0]],
        "decided": [[True]],
        **changes,
    }
    return EpisodeBatch(**{k: np.asarray(v) for k, v in arrays.items()})


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"actions": [[1, 0]]}, ValueError, r"^actions must have the shape"),
        (
            {"states": [[0.0]]},
            TypeError,
            "^states must be an array of integers",
        ),
        ({"decided": [[1]]}, TypeError, "^decided must be an array of bool"),
        ({"rewards": [[np.nan]]}, ValueError, "^rewards must be finite"),
        ({"rewards": [["1"]]}, TypeError, "^rewards must be a numeric array"),
        ({"actions": [[-1]]}, ValueError, "^actions must be >= 0 wherever"),
        (
            {
                "states": np.zeros((0, 1), int),
                "actions": np.zeros((0, 1), int),
                "rewards": np.zeros((0, 1)),
                "decided": np.zeros((0, 1), bool),
            },
            ValueError,
            r"^decided must have shape \(episodes, H\) with both at least 1",
        ),
        (
            {
                "states": [[0, 0]],
                "actions": [[-1, 1]],
                "rewards": [[0.0, 1.0]],
                "decided": [[False, True]],
            },
            ValueError,
            "^decided must be True for an episode's first steps",
        ),
    ],
)
def test_an_episode_batch_checks_itself(changes, error, message) -> None:
    with pytest.raises(error, match=message):
        one_step(**changes)


def test_a_batch_written_by_hand_is_stored_read_only() -> None:
    batch = one_step()
    assert batch.env_steps == 1 and batch.states.dtype == np.int64
    with pytest.raises(ValueError, match="read-only"):
        batch.rewards[0, 0] = 5.0


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize(
    ("log_policy", "changes", "options", "message"),
    [
        (UNIFORM_LOG[:1] * np.nan, {}, {}, "^log_policy must not contain NaN"),
        (
            np.full((1, 4, 4), 0.25),
            {},
            {},
            "^log_policy must hold log-probabilities",
        ),
        (
            np.zeros((1, 4, 4)),
            {},
            {},
            "^log_policy must hold log-probabilities",
        ),
        (
            np.where(np.eye(4)[np.zeros((1, 4), int)] > 0, 0.0, -np.inf),
            {},
            {},
            "^batch takes action 1 in state 0 at t=0, to which log_policy gives",
        ),
        (
            UNIFORM_LOG[:1],
            {},
            {"prior": np.eye(4)[np.zeros(4, int)]},
            "^batch takes action 1 in state 0 at t=0, to which prior gives",
        ),
        (
            UNIFORM_LOG[:1, :2],
            {"states": [[3]]},
            {},
            (
                r"^batch has states up to 3 and actions up to 1, but "
                r"log_policy has 2 states and 4 actions"
            ),
        ),
        (UNIFORM_LOG[:1], {}, {"alpha": 1e-320}, "^alpha=1e-320 is too small"),
    ],
)
def test_the_step_refuses_what_it_cannot_use(
    log_policy, changes, options, message
) -> None:
    """Each of these used to give NaN, a silently renormalised table or an IndexError."""
    settings = {"alpha": 1.0, "step_size": 0.5, **options}
    with pytest.raises(ValueError, match=message):
        natural_gradient_step(log_policy, one_step(**changes), **settings)


def test_sampling_refuses_a_horizon_of_0_and_batches_beyond_memory() -> None:
    env = lake(**TINY)
    with pytest.raises(ValueError, match="with a horizon H of at least 1"):
        sample_episodes(env, np.zeros((0, 4, 4)), episodes=2, seed=0)
    with pytest.raises(
        ValueError,
        match=r"^episodes=1,000,000,000,000 of 3 steps asks for .* GiB",
    ):
        sample_episodes(env, np.full((3, 4, 4), 0.25), episodes=10**12)
    with pytest.raises(
        TypeError, match="^policy must hold numbers, got booleans"
    ):
        sample_episodes(
            env, np.eye(4, dtype=bool)[np.zeros((3, 4), int)], episodes=1
        )


def test_train_tabular_settings_are_keywords_in_its_signature() -> None:
    parameters = inspect.signature(train_tabular).parameters
    assert parameters["batch_episodes"].default == 200
    assert parameters["step_size"].default == 0.2
    assert parameters["progress"].default is None
    assert all(
        p.kind is inspect.Parameter.KEYWORD_ONLY
        for name, p in parameters.items()
        if name != "env"
    )
    assert not any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def test_old_names_of_train_tabular_warn_and_still_work() -> None:
    new = train_tabular(
        lake(**TINY), horizon=3, alpha=0.5, env_steps=600, seed=0
    )
    with pytest.warns(
        FutureWarning,
        match=r"^train_tabular\(steps=\.\.\.\) is now train_tabular\(env_steps",
    ):
        old = train_tabular(
            lake(**TINY), horizon=3, alpha=0.5, steps=600, seed=0
        )
    assert np.array_equal(old.history["kl"], new.history["kl"])
    with pytest.warns(FutureWarning, match=r"history\['kl'\]"):
        kls = old.kl_history
    assert np.array_equal(kls, new.history["kl"])
    with pytest.warns(FutureWarning, match=r"history\['env_steps'\]"):
        steps = old.env_steps
    assert np.array_equal(steps, new.history["env_steps"])
    with pytest.raises(TypeError, match="got both steps and env_steps"):
        train_tabular(
            lake(**TINY), horizon=3, alpha=0.5, steps=600, env_steps=600
        )


def test_train_tabular_progress_bar(capsys) -> None:
    train_tabular(
        lake(**TINY),
        horizon=3,
        alpha=0.5,
        env_steps=300,
        seed=0,
        progress=True,
    )
    assert "train_tabular" in capsys.readouterr().err
    train_tabular(
        lake(**TINY),
        horizon=3,
        alpha=0.5,
        env_steps=300,
        seed=0,
        progress=False,
    )
    assert capsys.readouterr().err == ""
    with pytest.raises(
        TypeError, match="^progress must be True, False or None"
    ):
        train_tabular(
            lake(**TINY), horizon=3, alpha=0.5, env_steps=300, progress=1
        )
