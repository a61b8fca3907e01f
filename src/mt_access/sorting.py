"""Stable integer sorts for the engine's columns, faster than numpy's general ones.

numpy sorts 16-bit integers with a radix sort (a few passes over the data) but wider ones
with a comparison sort: a month's 250,000 requests sort in 2.4 ms as ``uint16`` and in 15 ms
as ``int64``. Keys below 2⁴⁸ are therefore sorted as up to three 16-bit digits, lowest first (a
least-significant-digit radix sort: each pass stable, so the result is the stable order of
the whole key); and several integer columns are packed into one key when their ranges
allow, instead of :func:`numpy.lexsort`'s one pass per column. The results are exactly
those of ``numpy.argsort(kind="stable")`` and :func:`numpy.lexsort`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["lex_order", "numbered_by_appearance", "stable_argsort"]

IntArray = npt.NDArray[np.int64]

_DIGIT = 1 << 16
_PACKED = 1 << 62
_MAX_DIGITS = 3
"""Up to three 16-bit passes (keys below 2⁴⁸) are faster than one comparison sort."""


def stable_argsort(keys: npt.NDArray[np.integer], bound: int | None = None) -> IntArray:
    """``numpy.argsort(keys, kind="stable")``; ``bound``: a number above every key, if
    known (the keys must then be non-negative)."""
    keys = np.asarray(keys)
    if keys.size == 0:
        return np.empty(0, dtype=np.int64)
    if bound is None:
        low, high = int(keys.min()), int(keys.max())
        if low < 0:
            return np.argsort(keys, kind="stable").astype(np.int64, copy=False)
        bound = high + 1
    digits = max(1, (int(bound - 1).bit_length() + 15) // 16)
    if digits > _MAX_DIGITS:
        return np.argsort(keys, kind="stable").astype(np.int64, copy=False)
    if digits == 1:
        return np.argsort(keys.astype(np.uint16), kind="stable").astype(np.int64, copy=False)
    wide = keys.astype(np.int64, copy=False)
    order = np.argsort((wide & (_DIGIT - 1)).astype(np.uint16), kind="stable")
    for d in range(1, digits):
        digit = ((wide[order] >> (16 * d)) & (_DIGIT - 1)).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
    found: IntArray = order.astype(np.int64, copy=False)
    return found


def lex_order(columns: Sequence[npt.NDArray[np.integer]]) -> IntArray:
    """``numpy.lexsort(columns)`` for integer columns (the last one sorts first): one stable
    sort of a packed key when the columns' ranges multiply to under 2⁶², else lexsort."""
    if not columns:
        raise ValueError("no column to sort by")
    n = int(np.asarray(columns[0]).size)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    key = np.zeros(n, dtype=np.int64)
    span = 1
    for column in reversed(columns):  # the primary column first
        values = np.asarray(column)
        low, high = int(values.min()), int(values.max())
        width = high - low + 1
        span *= width
        if span >= _PACKED:
            return np.lexsort(tuple(columns)).astype(np.int64, copy=False)
        key *= width
        key += values.astype(np.int64, copy=False) - low
    return stable_argsort(key, span)


def numbered_by_appearance(key: IntArray, bound: int) -> tuple[IntArray, IntArray]:
    """Each row's class (its ``key``, classes numbered in order of first appearance) and the
    first row of each class, classes in order; ``bound``: above every key."""
    if key.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    by_key = stable_argsort(key, bound)
    ordered = key[by_key]
    new = np.r_[True, ordered[1:] != ordered[:-1]]
    first = by_key[new]  # stable: each key's first row
    inverse = np.empty(key.size, dtype=np.int64)
    inverse[by_key] = np.cumsum(new) - 1
    by_first = np.argsort(first, kind="stable")
    number = np.empty(by_first.size, dtype=np.int64)
    number[by_first] = np.arange(by_first.size, dtype=np.int64)
    return number[inverse], first[by_first]
