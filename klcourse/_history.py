"""The one shape of a training record: :class:`History`.

Every trainer in klcourse (the estimators' ``history_``, the ``history`` of a
fit or a run) records what it measured as a mapping from a metric's name to a
1-D NumPy array, one entry per record and all of one length. The x-axis (the
epoch, the optimiser update or the environment step at which each row was
recorded) is one of the keys, and :attr:`History.x` names it, so that

>>> import pandas as pd
>>> history = History({"update": [1, 2, 3], "loss": [0.9, 0.5, 0.4]}, x="update")
>>> frame = pd.DataFrame(history)  # a table; frame.plot(x=history.x) a figure
>>> frame.shape
(3, 2)

Keras' ``History.history`` and scikit-learn's ``loss_curve_`` are the models.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: The x-axis keys, one per word of the training-length vocabulary.
X_KEYS = ("epoch", "update", "env_steps", "sweep")


class History(dict[str, NDArray[Any]]):
    """Metric name -> 1-D array, all of one length, with the x-axis among the keys.

    A ``dict`` (so ``pandas.DataFrame(history)`` is a table and
    ``history["loss"][-1]`` the last loss) whose values are read-only NumPy
    arrays, checked when made.

    Parameters
    ----------
    columns : mapping of str to array_like
        The records, each 1-D and all of the same length.
    x : str
        The key of the x-axis: ``"epoch"`` (passes over the training data),
        ``"update"`` (optimiser updates), ``"env_steps"`` (environment
        steps taken so far) or ``"sweep"`` (coordinate-ascent sweeps).

    Attributes
    ----------
    x : str
        The key of the x-axis.

    Examples
    --------
    >>> history = History({"epoch": [1, 2], "train_loss": [0.7, 0.6]}, x="epoch")
    >>> history
    History(x='epoch', 2 rows: epoch, train_loss)
    >>> history.x, float(history["train_loss"][-1])
    ('epoch', 0.6)
    """

    x: str

    def __init__(self, columns: Mapping[str, ArrayLike], *, x: str) -> None:
        if not isinstance(columns, Mapping):
            raise TypeError(
                f"columns must be a mapping of name to values, got {type(columns).__name__}"
            )
        if x not in X_KEYS:
            raise ValueError(
                f"x must be one of {', '.join(X_KEYS)}; got {x!r}"
            )
        if x not in columns:
            raise ValueError(f"the x-axis {x!r} must be one of the columns")
        arrays: dict[str, NDArray[Any]] = {}
        for name, values in columns.items():
            if not isinstance(name, str):
                raise TypeError(f"column names must be str, got {name!r}")
            array = np.array(values)  # a copy the caller cannot change
            if array.ndim != 1:
                raise ValueError(
                    f"column {name!r} must be 1-D, got shape {array.shape}"
                )
            array.flags.writeable = False
            arrays[name] = array
        lengths = {len(a) for a in arrays.values()}
        if len(lengths) > 1:
            sizes = ", ".join(f"{k}: {len(a)}" for k, a in arrays.items())
            raise ValueError(f"every column must have one length, got {sizes}")
        super().__init__(arrays)
        self.x = x

    @classmethod
    def from_rows(
        cls, rows: Iterable[Mapping[str, Any]], *, x: str
    ) -> History:
        """A history from one mapping per record, all with the same keys.

        Examples
        --------
        >>> rows = [{"update": 1, "loss": 0.5}, {"update": 2, "loss": 0.25}]
        >>> History.from_rows(rows, x="update")["loss"].tolist()
        [0.5, 0.25]
        """
        rows = list(rows)
        if not rows:
            raise ValueError(
                "rows is empty; pass columns to make an empty history"
            )
        keys = list(rows[0])
        for i, row in enumerate(rows):
            if list(row) != keys:
                raise ValueError(
                    f"row {i} has keys {list(row)}, row 0 has {keys}"
                )
        return cls({k: [row[k] for row in rows] for k in keys}, x=x)

    @property
    def n_rows(self) -> int:
        """The number of records (the length of every column)."""
        return len(self[self.x])

    def __repr__(self) -> str:
        return f"History(x={self.x!r}, {self.n_rows} rows: {', '.join(self)})"

    def __reduce__(self) -> tuple[Any, ...]:  # pickling keeps x
        return (_rebuild, (dict(self), self.x))

    # a read-only record: no item assignment, deletion or update
    def _read_only(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("a History is read-only; make a new one")

    __setitem__ = __delitem__ = _read_only  # type: ignore[assignment]
    update = pop = popitem = clear = setdefault = _read_only  # type: ignore[assignment]
    __ior__ = _read_only  # type: ignore[assignment]


def _rebuild(columns: dict[str, NDArray[Any]], x: str) -> History:
    return History(columns, x=x)


# Documented (and cross-referenced by type hints) as klcourse.History.
History.__module__ = "klcourse"
