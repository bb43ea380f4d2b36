"""The statements that write an order's row in a SQL store, each setting only the key
columns that change.

Every key column an ``UPDATE`` names has its index entry rewritten, changed or not: on
SQLite each one costs the commit a page. A store remembers the columns each row holds at
the version it read or wrote (:class:`KnownKeys`); a write that replaces a version it
remembers names only the columns whose values differ, and its version check makes sure
the row is still at that version.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence

from ocop.adapters._codec import dumps
from ocop.adapters._sql_schema import KEY_COLUMNS, key_columns
from ocop.adapters._sql_session import Session, Statement
from ocop.domain.errors import ConcurrentUpdate, DuplicateOrder, OrderNotFound
from ocop.domain.order import Order

__all__ = ["KnownKeys", "OrderRows", "changed_columns", "update_sql"]

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
        """Nothing is known of these rows any more (a precaution after a failed write: what
        a write sets is kept only once it is committed)."""
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


_INSERT = (
    f"INSERT INTO ocop_orders (order_id, version, body, {', '.join(KEY_COLUMNS)}) "  # noqa: S608
    f"VALUES (?, ?, ?{', ?' * len(KEY_COLUMNS)}) ON CONFLICT (order_id) DO NOTHING"
)
_TOUCH = "UPDATE ocop_orders SET version = ? WHERE order_id = ? AND version = ?"


class OrderRows:
    """The orders' rows one unit of work writes: a statement for each, and what each row
    holds once the write is committed (or nothing, when it failed)."""

    def __init__(self, session: Session, known: KnownKeys) -> None:
        self._session = session
        self.known = known
        #: what the rows will hold once committed: (order id, version, key columns)
        self._writing: list[tuple[str, int, Columns | None]] = []

    def write(self, order_id: str, order: Order, expected: int | None, *, touched: bool
              ) -> Statement:  # fmt: skip
        """The statement that writes ``order`` over the row at version ``expected`` (a new
        row for None); ``touched``: only the version moves, the body is as stored."""
        stored = self.known.at(order_id, expected)
        if touched:  # and the key columns stay those of the version before
            self._writing.append((order_id, order.version, stored))
            return Statement(_TOUCH, [order.version, order_id, expected], self._updated(order_id))
        columns = tuple(key_columns(order))
        self._writing.append((order_id, order.version, columns))
        if expected is None:

            def added(count: int) -> None:
                if count != 1:
                    raise DuplicateOrder(order_id)

            return Statement(_INSERT, [order_id, order.version, dumps(order), *columns], added)
        changed = changed_columns(stored, columns)  # None: all, the row's being unknown
        keys = columns if changed is None else [columns[i] for i in changed]
        params = [dumps(order), order.version, *keys, order_id, expected]
        return Statement(update_sql(changed), params, self._updated(order_id))

    def _updated(self, order_id: str) -> Callable[[int], None]:
        def updated(count: int) -> None:
            if count != 1:
                rows, _ = self._session.run(
                    "SELECT version FROM ocop_orders WHERE order_id = ?", [order_id]
                )
                raise ConcurrentUpdate(order_id) if rows else OrderNotFound(order_id)

        return updated

    def committed(self) -> None:
        """The rows written hold what the statements set."""
        for order_id, version, columns in self._writing:
            self.known.keep(order_id, version, columns)
        self._writing.clear()

    def failed(self) -> None:
        """The write was rolled back."""
        self.known.forget([order_id for order_id, _, _ in self._writing])
        self._writing.clear()
