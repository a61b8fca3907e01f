"""``mt_access.sorting``: the engine's integer sorts give numpy's exact answers."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from mt_access.sorting import lex_order, stable_argsort

BOUNDS = st.sampled_from((1, 2, 200, 1 << 16, (1 << 16) + 1, 1 << 32, 1 << 47, 1 << 48, 1 << 60))


@given(st.data(), BOUNDS, st.booleans())
def test_stable_argsort_is_numpys_stable_argsort(
    data: st.DataObject, bound: int, give_bound: bool
) -> None:
    """Radix passes of 16 bits (one, two or three) or numpy's own sort: the same order,
    ties in input order, for keys below any bound; negative keys too."""
    keys = np.array(data.draw(st.lists(st.integers(0, bound - 1), max_size=60)), dtype=np.int64)
    got = stable_argsort(keys, bound if give_bound else None)
    assert got.dtype == np.int64
    assert got.tolist() == np.argsort(keys, kind="stable").tolist()
    negative = keys - bound // 2
    assert stable_argsort(negative).tolist() == np.argsort(negative, kind="stable").tolist()


def test_stable_argsort_keeps_ties_in_input_order_across_digits() -> None:
    """Keys equal in their low 16 bits and different above, and equal keys far apart."""
    keys = np.array([3 << 16 | 5, 1 << 16 | 5, 3 << 16 | 5, 5, 1 << 40, 5], dtype=np.int64)
    assert stable_argsort(keys).tolist() == [3, 5, 1, 0, 2, 4]


@given(st.data())
def test_lex_order_is_numpys_lexsort(data: st.DataObject) -> None:
    """Packed into one key when the ranges allow, numpy's lexsort otherwise (a column of
    range 2⁴⁰ twice): the same order."""
    n = data.draw(st.integers(1, 40))
    widths = data.draw(st.lists(st.sampled_from((1, 3, 1000, 1 << 40)), min_size=1, max_size=4))
    columns = tuple(
        np.array(data.draw(st.lists(st.integers(-w, w), min_size=n, max_size=n)), np.int64)
        for w in widths
    )
    assert lex_order(columns).tolist() == np.lexsort(columns).tolist()
    assert lex_order(tuple(c[:0] for c in columns)).tolist() == []
