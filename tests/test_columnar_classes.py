"""The columnar path's grouping helpers against numpy's ``unique``."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from mt_access.columnar_routing import _value_classes
from mt_access.sorting import numbered_by_appearance


@given(st.lists(st.sampled_from((-1.0, 0.5, 2.0, 10.0, 30.0)), max_size=50))
def test_value_classes_are_numpys_unique_with_inverse(values: list[float]) -> None:
    """In any order, not only in runs as a run's levels give them."""
    array = np.array(values, dtype=np.float64)
    codes, index = _value_classes(array)
    want_codes, want_index = np.unique(array, return_inverse=True)
    assert codes.tolist() == want_codes.tolist()
    assert index.tolist() == want_index.reshape(-1).tolist()


@given(st.lists(st.integers(0, 70_000), max_size=60))
def test_classes_are_numbered_by_first_appearance(keys: list[int]) -> None:
    array = np.array(keys, dtype=np.int64)
    number, first = numbered_by_appearance(array, 70_001)
    seen: dict[int, int] = {}
    for k in keys:
        seen.setdefault(k, len(seen))
    assert number.tolist() == [seen[k] for k in keys]
    assert first.tolist() == [keys.index(k) for k in seen]
