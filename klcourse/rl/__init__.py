"""Reinforcement learning as reverse KL (chapter 5).

- :class:`MaxEntReinforce` -- maximum-entropy REINFORCE on Gymnasium environments,
  with its settings in one :class:`ReinforceConfig`;
- :func:`tabular_mdp`, :func:`soft_value_iteration`, :func:`trajectory_kl` -- the exact
  optimal-trajectory distribution of small tabular MDPs and the reverse KL to it.
"""

from klcourse.rl.reinforce import (
    Episode,
    MaxEntReinforce,
    Policy,
    ReinforceConfig,
)
from klcourse.rl.tabular import (
    SoftOptimum,
    TabularMDP,
    TrajectoryKL,
    soft_value_iteration,
    tabular_mdp,
    trajectory_kl,
)
from klcourse.rl.wrappers import TimeIndexed, policy_table

__all__ = [
    "Episode",
    "MaxEntReinforce",
    "Policy",
    "ReinforceConfig",
    "SoftOptimum",
    "TabularMDP",
    "TimeIndexed",
    "TrajectoryKL",
    "policy_table",
    "soft_value_iteration",
    "tabular_mdp",
    "trajectory_kl",
]
