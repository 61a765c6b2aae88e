"""Reinforcement learning as reverse KL (chapter 5).

- :class:`MaxEntReinforce` -- maximum-entropy REINFORCE on Gymnasium environments;
- :func:`tabular_mdp`, :func:`soft_value_iteration`, :func:`trajectory_kl` -- the exact
  optimal-trajectory distribution of small tabular MDPs and the reverse KL to it.
"""

from klcourse.rl.reinforce import Episode, MaxEntReinforce, Policy
from klcourse.rl.wrappers import TimeIndexed, policy_table
from klcourse.rl.tabular import (
    SoftOptimum,
    TabularMDP,
    TrajectoryKL,
    soft_value_iteration,
    tabular_mdp,
    trajectory_kl,
)

__all__ = [
    "Episode",
    "MaxEntReinforce",
    "Policy",
    "SoftOptimum",
    "TabularMDP",
    "TimeIndexed",
    "TrajectoryKL",
    "policy_table",
    "soft_value_iteration",
    "tabular_mdp",
    "trajectory_kl",
]
