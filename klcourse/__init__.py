"""klcourse: the companion package of the course *KL Divergence for Machine Learning*.

The functions here are the ones the chapters call; every result is in nats unless
``base=2`` asks for bits.

- :mod:`klcourse.divergences` -- discrete, closed-form and quadrature KL (chapters 1-2)
- :mod:`klcourse.estimators` -- Monte Carlo and k-nearest-neighbour estimates (chapter 1)
- :mod:`klcourse.fitting` -- a Gaussian fitted by forward or reverse KL (chapter 3)
- :mod:`klcourse.supervised` -- a classifier and regressors trained by likelihood (chapter 4)
- :mod:`klcourse.variational` -- the ELBO, mean-field, a VAE and the information
  bottleneck (chapter 6)
- :mod:`klcourse.alignment` -- the KL-regularised optimum, KL penalties, DPO and
  distillation (chapter 7)
- :mod:`klcourse.plotting` -- the course's figure style

klcourse trains and predicts with torch on one thread (its models are tiny, and extra
threads make them many times slower beside any other busy process);
:func:`set_torch_threads` changes that.
"""

from importlib import metadata as _metadata

from klcourse._threads import set_torch_threads
from klcourse.alignment import (
    DistillResult,
    FactorizedLM,
    FineTuneResult,
    PreferencePairs,
    TabularLM,
    all_sequences,
    distill,
    dpo_loss,
    fine_tune,
    kl_penalty,
    kl_regularized_objective,
    kl_regularized_policy,
    kl_regularized_value,
    preference_pairs,
    train_dpo,
)
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
from klcourse.variational import (
    VAE,
    CAVIResult,
    ConjugateNormal,
    VIBClassifier,
    cavi_gaussian,
    mean_field_gaussian,
)

__all__ = [
    "VAE",
    "CAVIResult",
    "ClassificationData",
    "Classifier",
    "ConjugateNormal",
    "DistillResult",
    "FactorizedLM",
    "FineTuneResult",
    "GaussianFit",
    "GaussianParams",
    "MonteCarloResult",
    "NotFittedError",
    "PreferencePairs",
    "RegressionData",
    "Regressor",
    "TabularLM",
    "VIBClassifier",
    "all_sequences",
    "alpha_divergence",
    "bimodal",
    "cavi_gaussian",
    "cross_entropy",
    "distill",
    "dpo_loss",
    "entropy",
    "fine_tune",
    "fit_gaussian",
    "fit_gaussian_alpha",
    "forward_kl_optimum",
    "kl_divergence",
    "kl_gaussian",
    "kl_knn",
    "kl_landscape",
    "kl_monte_carlo",
    "kl_mvn",
    "kl_penalty",
    "kl_quadrature",
    "kl_regularized_objective",
    "kl_regularized_policy",
    "kl_regularized_value",
    "make_classification_task",
    "make_regression_task",
    "mean_field_gaussian",
    "preference_pairs",
    "reverse_kl_optimum",
    "set_torch_threads",
    "train_dpo",
]

try:
    __version__ = _metadata.version("klcourse")
except (
    _metadata.PackageNotFoundError
):  # imported from a source tree, not installed
    __version__ = "0+unknown"
