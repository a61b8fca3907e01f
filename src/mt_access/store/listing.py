"""The orders of :meth:`~mt_access.store.base.Store.summary_slice`, shared by the stores."""

from __future__ import annotations

import datetime as dt

from mt_access.errors import StoreError

__all__ = ["SLICE_ORDERS", "check_slice_order"]

SLICE_ORDERS: tuple[str, ...] = ("id", "received", "last_event", "commune", "waiting")
"""The orders of :meth:`~mt_access.store.base.Store.summary_slice`."""


def check_slice_order(order: str, on: dt.date | None) -> None:
    """Refuse an ``order`` of :meth:`~mt_access.store.base.Store.summary_slice` not in
    :data:`SLICE_ORDERS`, or ``waiting`` without its date (the stores put the order in their
    query: checked first).

    Raises:
        StoreError: as above.
    """
    if order not in SLICE_ORDERS:
        raise StoreError(
            f"ordre de liste inconnu : {order!r} (attendu : {', '.join(SLICE_ORDERS)})"
        )
    if order == "waiting" and on is None:
        raise StoreError("ordre de liste « waiting » sans date de référence")
