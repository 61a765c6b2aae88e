"""The one history shape every trainer records, and renamed keywords."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from klcourse._deprecation import renamed_keywords
from klcourse._history import History


def make() -> History:
    return History({"update": [1, 2, 3], "loss": [0.9, 0.5, 0.4]}, x="update")


def test_a_history_is_a_table_for_pandas() -> None:
    frame = pd.DataFrame(make())
    assert list(frame.columns) == ["update", "loss"]
    assert frame["loss"].tolist() == [0.9, 0.5, 0.4]


def test_columns_are_copied_and_read_only() -> None:
    values = np.array([1.0, 2.0])
    history = History({"epoch": [1, 2], "loss": values}, x="epoch")
    values[0] = 99.0
    assert history["loss"][0] == 1.0
    with pytest.raises(ValueError, match="read-only"):
        history["loss"][0] = 5.0
    with pytest.raises(TypeError, match="read-only"):
        history["new"] = np.zeros(2)
    with pytest.raises(TypeError, match="read-only"):
        history.update(new=np.zeros(2))


@pytest.mark.parametrize(
    ("columns", "x", "words"),
    [
        ({"update": [1, 2], "loss": [1.0]}, "update", "one length"),
        ({"update": [[1, 2]]}, "update", "1-D"),
        ({"loss": [1.0]}, "update", "x-axis"),
        ({"step": [1]}, "step", "x must be one of"),
    ],
)
def test_malformed_histories_are_refused(columns, x, words) -> None:
    with pytest.raises(ValueError, match=words):
        History(columns, x=x)


def test_copies_and_pickles_keep_the_x_axis() -> None:
    for twin in (copy.deepcopy(make()), pickle.loads(pickle.dumps(make()))):
        assert isinstance(twin, History) and twin.x == "update"
        assert twin["loss"].tolist() == [0.9, 0.5, 0.4]


def test_from_rows_refuses_rows_with_different_keys() -> None:
    with pytest.raises(ValueError, match="row 1"):
        History.from_rows(
            [{"update": 1}, {"update": 2, "loss": 1.0}], x="update"
        )


def test_a_renamed_keyword_warns_and_still_works() -> None:
    @renamed_keywords(steps="updates")
    def fit(*, updates: int = 10) -> int:
        return updates

    with pytest.warns(FutureWarning, match=r"fit\(updates=\.\.\.\)"):
        assert fit(steps=3) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fit(updates=4) == 4
    with pytest.raises(TypeError, match="both steps and updates"):
        fit(steps=1, updates=2)
