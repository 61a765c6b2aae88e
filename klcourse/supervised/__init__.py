"""Supervised learning as forward KL (chapter 4): data with a known p(y|x), and models.

- :mod:`klcourse.supervised.tasks` -- classification and regression tasks
  that return their true conditional distribution p(y|x) with the data;
- :mod:`klcourse.supervised.models` --
  :class:`~klcourse.supervised.models.Classifier` and
  :class:`~klcourse.supervised.models.Regressor`, networks trained by the
  negative log-likelihood, which is the forward KL from the data to the
  model up to a constant.

Every name is importable from here (``from klcourse.supervised import
Classifier``) as well as from its own module.
"""

from __future__ import annotations

from klcourse.exceptions import NotFittedError
from klcourse.supervised.models import (
    LIKELIHOODS,
    LR_SCHEDULES,
    MIN_SCALE,
    Classifier,
    Regressor,
)
from klcourse.supervised.tasks import (
    BIMODAL_OFFSET,
    BIMODAL_STD,
    CLASS_CENTRES,
    NOISES,
    ClassificationData,
    RegressionData,
    class_probabilities,
    make_classification_task,
    make_regression_task,
    noise_distribution,
    true_function,
    true_noise_scale,
)

__all__ = [
    "ClassificationData",
    "Classifier",
    "NotFittedError",
    "RegressionData",
    "Regressor",
    "make_classification_task",
    "make_regression_task",
]

# The constants and the ground-truth functions stay importable from here, as
# before the split, without being part of the star-import.
_ALSO_HERE = (
    BIMODAL_OFFSET,
    BIMODAL_STD,
    CLASS_CENTRES,
    LIKELIHOODS,
    LR_SCHEDULES,
    MIN_SCALE,
    NOISES,
    class_probabilities,
    noise_distribution,
    true_function,
    true_noise_scale,
)
