"""Renamed keywords keep working for a while, with a warning that names the new word."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def renamed_keywords(**old_to_new: str) -> Callable[[F], F]:
    """Accept each old keyword as its new name, with a ``FutureWarning``.

    Passing both the old and the new name is a ``TypeError``.

    Examples
    --------
    >>> @renamed_keywords(steps="updates")
    ... def fit(*, updates: int = 10) -> int:
    ...     return updates
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     fit(steps=3)
    3
    >>> str(caught[0].message)
    'fit(steps=...) is now fit(updates=...); steps will be removed in a later release'
    """

    def decorate(func: F) -> F:
        name = func.__qualname__.replace(".__init__", "")

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in old_to_new.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise TypeError(
                        f"{name}() got both {old} and {new}; {old} is the old "
                        f"name of {new}, pass only {new}"
                    )
                warnings.warn(
                    f"{name}({old}=...) is now {name}({new}=...); {old} will be "
                    "removed in a later release",
                    FutureWarning,
                    stacklevel=2,
                )
                kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
