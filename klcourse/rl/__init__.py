"""Reinforcement learning as reverse KL (chapter 5).

- :func:`tabular_mdp`, :class:`TabularMDP`, :func:`soft_value_iteration`,
  :func:`soft_values`, :func:`trajectory_kl`, :func:`state_distribution`,
  :func:`enumerate_trajectories` -- the exact optimal-trajectory distribution
  of small tabular MDPs, for any reference policy, and the reverse KL to it;
- :func:`stationary_projection` -- the best policy that cannot see the time
  step, in either direction of the KL;
- :func:`train_tabular`, :func:`sample_episodes`,
  :func:`natural_gradient_step` -- a tabular agent that learns from sampled
  episodes only and reaches the exact minimum;
- :class:`MaxEntReinforce` -- maximum-entropy REINFORCE on Gymnasium
  environments; its settings are keyword arguments, kept as one
  :class:`ReinforceConfig` record.

The modules: ``tabular`` (exact), ``projection`` (stationary policies),
``natural`` (the tabular agent),
``reinforce`` (the REINFORCE algorithm), ``config`` (its settings),
``wrappers`` (``TimeIndexed`` and ``policy_table``); files whose names
start with an underscore hold what these share (the table arithmetic, the
networks, the environment plumbing, saving and loading).
"""

from klcourse.rl.config import ReinforceConfig
from klcourse.rl.natural import (
    EpisodeBatch,
    TabularTraining,
    natural_gradient_step,
    sample_episodes,
    train_tabular,
)
from klcourse.rl.projection import StationaryProjection, stationary_projection
from klcourse.rl.reinforce import Episode, MaxEntReinforce, Policy
from klcourse.rl.tabular import (
    SoftOptimum,
    SoftValues,
    TabularMDP,
    Trajectories,
    TrajectoryKL,
    enumerate_trajectories,
    soft_value_iteration,
    soft_values,
    state_distribution,
    tabular_mdp,
    trajectory_kl,
)
from klcourse.rl.wrappers import TimeIndexed, policy_table

__all__ = [
    "Episode",
    "EpisodeBatch",
    "MaxEntReinforce",
    "Policy",
    "ReinforceConfig",
    "SoftOptimum",
    "SoftValues",
    "StationaryProjection",
    "TabularMDP",
    "TabularTraining",
    "TimeIndexed",
    "Trajectories",
    "TrajectoryKL",
    "enumerate_trajectories",
    "natural_gradient_step",
    "policy_table",
    "sample_episodes",
    "soft_value_iteration",
    "soft_values",
    "state_distribution",
    "stationary_projection",
    "tabular_mdp",
    "train_tabular",
    "trajectory_kl",
]
