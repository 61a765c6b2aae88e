"""The exceptions klcourse's estimators raise, in one module that every estimator imports.

:class:`NotFittedError` is what
:class:`~klcourse.supervised.models.Classifier`,
:class:`~klcourse.supervised.models.Regressor`,
:class:`~klcourse.variational.encoders.VAE` and
:class:`~klcourse.variational.encoders.VIBClassifier` raise when a method
that needs a fitted model runs before ``fit``.
"""

from __future__ import annotations

__all__ = ["NotFittedError"]


class NotFittedError(ValueError, AttributeError):
    """A model was used before ``fit``, as scikit-learn's exception of that name.

    A ``ValueError`` and an ``AttributeError``, like scikit-learn's, so that
    code written for either catches it; it is not scikit-learn's own class,
    which would make scikit-learn a dependency of klcourse.

    Examples
    --------
    >>> from klcourse import Classifier
    >>> try:
    ...     Classifier().predict([[0.0, 0.0]])
    ... except NotFittedError as error:
    ...     print("not fitted")
    not fitted
    """
