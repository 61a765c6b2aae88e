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

``import klcourse`` loads NumPy and SciPy only. The names that need torch
(and the submodules) load when first used, as SciPy's do, so a reader who
only wants a divergence never waits for torch.
"""

from importlib import import_module as _import_module
from importlib import metadata as _metadata
from typing import TYPE_CHECKING

from klcourse._history import History
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
from klcourse.exceptions import NotFittedError

#: Names loaded on first use, by the module that defines them: each of these
#: modules imports torch, which takes longer to load than NumPy and SciPy
#: together.
_LAZY = {
    "klcourse.alignment": (
        "DistillResult",
        "FactorizedLM",
        "FineTuneResult",
        "PreferencePairs",
        "TabularLM",
        "all_sequences",
        "distill",
        "dpo_loss",
        "fine_tune",
        "ipo_loss",
        "kl_penalty",
        "kl_regularized_objective",
        "kl_regularized_policy",
        "kl_regularized_value",
        "preference_pairs",
        "train_dpo",
    ),
    "klcourse.fitting": (
        "GaussianFit",
        "GaussianParams",
        "alpha_divergence",
        "bimodal",
        "fit_gaussian",
        "fit_gaussian_alpha",
        "forward_kl_optimum",
        "kl_landscape",
        "reverse_kl_optimum",
    ),
    "klcourse.supervised": (
        "ClassificationData",
        "Classifier",
        "RegressionData",
        "Regressor",
        "make_classification_task",
        "make_regression_task",
    ),
    "klcourse.variational": (
        "VAE",
        "CAVIResult",
        "ConjugateNormal",
        "VIBClassifier",
        "cavi_gaussian",
        "mean_field_gaussian",
    ),
}
_HOME = {name: module for module, names in _LAZY.items() for name in names}

#: Submodules reachable as attributes (``klcourse.rl``) without an import.
_SUBMODULES = (
    "alignment",
    "divergences",
    "estimators",
    "fitting",
    "plotting",
    "rl",
    "supervised",
    "variational",
)

if TYPE_CHECKING:  # what type checkers and editors see: every name, eagerly
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
        ipo_loss,
        kl_penalty,
        kl_regularized_objective,
        kl_regularized_policy,
        kl_regularized_value,
        preference_pairs,
        train_dpo,
    )
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
    "History",
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
    "ipo_loss",
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


def __getattr__(name: str) -> object:
    """Load a torch-backed name or a submodule on first use (PEP 562)."""
    if name in _HOME:
        value = getattr(_import_module(_HOME[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    if name in _SUBMODULES:
        return _import_module(f"klcourse.{name}")
    raise AttributeError(f"module 'klcourse' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_SUBMODULES))


try:
    __version__ = _metadata.version("klcourse")
except (
    _metadata.PackageNotFoundError
):  # imported from a source tree, not installed
    __version__ = "0+unknown"
