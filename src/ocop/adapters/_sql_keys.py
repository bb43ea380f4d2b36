"""The key columns of the orders a SQL store has seen, so that a write sets only the
ones that change.

Every key column an ``UPDATE`` names has its index entry rewritten, changed or not: on
SQLite each one costs the commit a page. A write knows the columns the row holds when
this store read or wrote the version the write replaces, and the write's version check
makes sure the row is still at that version.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence

from ocop.adapters._sql_schema import KEY_COLUMNS

__all__ = ["KnownKeys", "changed_columns", "update_sql"]

Columns = tuple[object, ...]


class KnownKeys:
    """The key columns each order's row holds at a version this store read or wrote.

    A version is made by one write (a version claimed without a change keeps the columns
    of the one before), and every write checks the version it replaces; so a pair kept
    here stays true whoever writes next. The most recently seen ``keep`` orders are kept.
    """

    def __init__(self, keep: int = 10_000) -> None:
        self._rows: dict[str, tuple[int, Columns]] = {}
        self._keep = keep
        self._lock = threading.Lock()

    def at(self, order_id: str, version: int | None) -> Columns | None:
        """The columns of ``order_id``'s row at ``version``, when known."""
        known = self._rows.get(order_id)
        return known[1] if known is not None and known[0] == version else None

    def keep(self, order_id: str, version: int, columns: Sequence[object] | None) -> None:
        """The row of ``order_id`` holds ``columns`` at ``version`` (None: not known)."""
        with self._lock:
            rows = self._rows
            rows.pop(order_id, None)  # kept again at the end: the oldest go first
            if columns is None:
                return
            if len(rows) >= self._keep:
                del rows[next(iter(rows))]
            rows[order_id] = (version, tuple(columns))

    def forget(self, order_ids: Sequence[str]) -> None:
        """What a failed write may have left: nothing is known of these rows any more."""
        with self._lock:
            for order_id in order_ids:
                self._rows.pop(order_id, None)


def changed_columns(stored: Columns | None, columns: Columns) -> tuple[int, ...] | None:
    """The positions of the key columns whose values differ from ``stored``; None when the
    row's columns are not known (every column is set)."""
    if stored is None:
        return None
    return tuple(i for i, (old, new) in enumerate(zip(stored, columns, strict=True)) if old != new)


@functools.cache
def update_sql(changed: tuple[int, ...] | None) -> str:
    """The ``UPDATE`` of an order's body and version, setting the key columns at the
    positions ``changed`` (every one for None), checked against the expected version."""
    names = KEY_COLUMNS if changed is None else tuple(KEY_COLUMNS[i] for i in changed)
    sets = "".join(f", {name} = ?" for name in names)
    return f"UPDATE ocop_orders SET body = ?, version = ?{sets} WHERE order_id = ? AND version = ?"  # noqa: S608 - our column names
