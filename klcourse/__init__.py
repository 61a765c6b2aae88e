"""klcourse: the companion package of the course *KL Divergence for Machine Learning*.

The functions here are the ones the chapters call; every result is in nats unless
``base=2`` asks for bits.

- :mod:`klcourse.divergences` -- discrete, closed-form and quadrature KL (chapters 1-2)
- :mod:`klcourse.estimators` -- Monte Carlo and k-nearest-neighbour estimates (chapter 1)
- :mod:`klcourse.fitting` -- a Gaussian fitted by forward or reverse KL (chapter 3)
- :mod:`klcourse.supervised` -- a classifier and regressors trained by likelihood (chapter 4)
- :mod:`klcourse.plotting` -- the course's figure style

klcourse trains and predicts with torch on one thread (its models are tiny, and extra
threads make them many times slower beside any other busy process);
:func:`set_torch_threads` changes that.
"""

from importlib import metadata as _metadata

from klcourse._threads import set_torch_threads
from klcourse.divergences import (
    cross_entropy,
    entropy,
    kl_divergence,
    kl_gaussian,
    kl_mvn,
    kl_quadrature,
)
from klcourse.estimators import MonteCarloResult, kl_knn, kl_monte_carlo
from klcourse.fitting import (
    GaussianFit,
    GaussianParams,
    alpha_divergence,
    bimodal,
    fit_gaussian,
    fit_gaussian_alpha,
    forward_kl_optimum,
    kl_landscape,
    reverse_kl_optimum,
)
from klcourse.supervised import (
    ClassificationData,
    Classifier,
    NotFittedError,
    RegressionData,
    Regressor,
    make_classification_task,
    make_regression_task,
)

__all__ = [
    "ClassificationData",
    "Classifier",
    "GaussianFit",
    "GaussianParams",
    "MonteCarloResult",
    "NotFittedError",
    "RegressionData",
    "Regressor",
    "alpha_divergence",
    "bimodal",
    "cross_entropy",
    "entropy",
    "fit_gaussian",
    "fit_gaussian_alpha",
    "forward_kl_optimum",
    "kl_divergence",
    "kl_gaussian",
    "kl_knn",
    "kl_landscape",
    "kl_monte_carlo",
    "kl_mvn",
    "kl_quadrature",
    "make_classification_task",
    "make_regression_task",
    "reverse_kl_optimum",
    "set_torch_threads",
]

try:
    __version__ = _metadata.version("klcourse")
except (
    _metadata.PackageNotFoundError
):  # imported from a source tree, not installed
    __version__ = "0+unknown"
