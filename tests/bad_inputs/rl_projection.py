"""Bad inputs for klcourse.rl.projection (chapter 5): the best stationary
policy in each direction of the KL."""

from __future__ import annotations

import numpy as np

from bad_inputs._case import Case, raises, returns
from klcourse.rl import StationaryProjection, TabularMDP, stationary_projection

#: a two-state, two-action chain: action 1 moves to state 1, where reward waits
P = np.zeros((2, 2, 2))
P[:, 0, 0] = P[:, 1, 1] = 1.0
CHAIN = TabularMDP.from_arrays(
    P, [[0.0, 0.0], [1.0, 0.5]], [1.0, 0.0], horizon=3
)

CASES = [
    Case(
        "rl.stationary_projection",
        "a direction that is not forward or reverse",
        lambda: stationary_projection(CHAIN, alpha=1.0, direction="both"),
        raises(ValueError, "direction", "forward", "reverse"),
    ),
    Case(
        "rl.stationary_projection",
        "a direction given as a number",
        lambda: stationary_projection(CHAIN, alpha=1.0, direction=0),
        raises(TypeError, "direction"),
    ),
    Case(
        "rl.stationary_projection",
        "a negative temperature",
        lambda: stationary_projection(CHAIN, alpha=-1.0, direction="reverse"),
        raises(ValueError, "alpha"),
    ),
    Case(
        "rl.stationary_projection",
        "a gymnasium environment instead of a model",
        lambda: stationary_projection(
            "FrozenLake-v1", alpha=1.0, direction="forward"
        ),
        raises(TypeError, "mdp", "TabularMDP"),
    ),
    Case(
        "rl.stationary_projection",
        "a time-dependent prior of shape (H, S, A)",
        lambda: stationary_projection(
            CHAIN,
            alpha=1.0,
            direction="forward",
            prior=np.full((3, 2, 2), 0.5),
        ),
        raises(ValueError, "prior", "(S, A)"),
    ),
    Case(
        "rl.stationary_projection",
        "a prior whose rows do not sum to one",
        lambda: stationary_projection(
            CHAIN, alpha=1.0, direction="reverse", prior=np.full((2, 2), 0.4)
        ),
        raises(ValueError, "prior"),
    ),
    Case(
        "rl.StationaryProjection",
        "alpha 1e-3, where the reward is 1000 times alpha",
        lambda: stationary_projection(CHAIN, alpha=1e-3, direction="reverse"),
        returns(
            lambda r: (
                isinstance(r, StationaryProjection)
                and r.reverse_kl >= 0
                and r.forward_kl >= 0
                and bool(np.all(np.isfinite(r.policy)))
            ),
            "finite policies and KLs that are never negative",
        ),
    ),
]
