"""klcourse: the companion package of the course *KL Divergence for Machine Learning*.

The functions here are the ones the chapters call; every result is in nats unless
``base=2`` asks for bits.

- :mod:`klcourse.divergences` -- discrete, closed-form and quadrature KL (chapters 1-2)
- :mod:`klcourse.estimators` -- Monte Carlo and k-nearest-neighbour estimates (chapter 1)
- :mod:`klcourse.plotting` -- the course's figure style
"""

from klcourse.divergences import (
    cross_entropy,
    entropy,
    kl_divergence,
    kl_gaussian,
    kl_mvn,
    kl_quadrature,
)
from klcourse.estimators import MonteCarloResult, kl_knn, kl_monte_carlo

__all__ = [
    "MonteCarloResult",
    "cross_entropy",
    "entropy",
    "kl_divergence",
    "kl_gaussian",
    "kl_knn",
    "kl_monte_carlo",
    "kl_mvn",
    "kl_quadrature",
]

__version__ = "0.1.0"
