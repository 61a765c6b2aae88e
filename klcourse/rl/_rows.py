"""The agent's history as columns, still answering the old access by row.

Before issue 21, ``MaxEntReinforce.history`` was a list with one dict per
update, so ``history[-1]["mean_return"]`` read the last update's return. It
is now a :class:`~klcourse.History` of columns; an integer key
still returns that row, with a ``FutureWarning`` naming the new spelling.
"""

from __future__ import annotations

import warnings
from typing import Any

from klcourse._history import History


class RowsHistory(History):
    """A :class:`History` whose integer keys give rows, with a FutureWarning."""

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, int) and not isinstance(key, bool):
            warnings.warn(
                f"history[{key}] as one update's dict is deprecated: the "
                "history is now a mapping of columns; use history[name]"
                f"[{key}] (e.g. history['mean_return'][{key}]) or "
                f"pandas.DataFrame(history).iloc[{key}]",
                FutureWarning,
                stacklevel=2,
            )
            if not -self.n_rows <= key < self.n_rows:
                raise IndexError(
                    f"history has {self.n_rows} updates, got row {key}"
                )
            return {name: column[key].item() for name, column in self.items()}
        return super().__getitem__(key)
