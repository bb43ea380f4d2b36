"""Notifications kept for review in SQL tables
(:meth:`~ocop.ports.store.OrderStore.keep_for_review`): one row of ``ocop_review`` per
notification id, its body the notification as the codec writes it, read back in the order
the rows were first written (``seq``). Each row also carries what the back office looks
kept notifications up by (:class:`~ocop.ports.store.ReviewByOrder`), indexed: its key's
order part (``order_key``), its ``event`` and its ``dispute``."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from ocop.adapters._codec import dumps, read_row
from ocop.adapters._pool import ConnectionPool
from ocop.adapters._sql_session import Dialect, Session
from ocop.domain.keys import order_part
from ocop.domain.notifications import Notification, NotificationEvent

#: The most order keys one query names (a statement's parameters are limited).
_CHUNK = 500


def columns(notification: Notification) -> list[object]:
    """The looked-up columns of ``notification``'s row: order_key, event, dispute."""
    return [order_part(notification.key), notification.event.value, notification.dispute]


def keep(dialect: Dialect, pool: ConnectionPool, notification: Notification) -> bool:
    """Keep ``notification`` in one transaction; True when its id was not kept before (a
    kept one is left as it is)."""
    session = Session(dialect, pool)

    def kept() -> bool:
        _, count = session.run(
            "INSERT INTO ocop_review (notification_id, body, order_key, event, dispute) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (notification_id) DO NOTHING",
            [notification.notification_id, dumps(notification), *columns(notification)],
        )
        return count == 1

    try:
        return session.transaction(kept)
    finally:
        session.close()


def kept(dialect: Dialect, pool: ConnectionPool) -> tuple[Notification, ...]:
    """Every notification kept, in the order they were first kept."""
    session = Session(dialect, pool)
    try:
        rows, _ = session.run("SELECT body FROM ocop_review ORDER BY seq")
        return tuple(read_row(body, Notification) for (body,) in rows)
    finally:
        session.close()


def kept_of(
    dialect: Dialect,
    pool: ConnectionPool,
    order_keys: Collection[str],
    events: Collection[NotificationEvent],
) -> tuple[Notification, ...]:
    """Those of ``events`` whose key's order part is one of ``order_keys``, in the order
    kept (by the index on order_key, event, seq)."""
    keys, values = sorted(set(order_keys)), sorted({e.value for e in events})
    if not keys or not values:
        return ()
    session = Session(dialect, pool)
    try:
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            found, _ = session.run(
                f"SELECT seq, body FROM ocop_review WHERE order_key IN ({_marks(chunk)}) "  # noqa: S608
                f"AND event IN ({_marks(values)}) ORDER BY seq",
                [*chunk, *values],
            )
            rows += found
    finally:
        session.close()
    return tuple(read_row(body, Notification) for _, body in sorted(rows))


def kept_in(
    dialect: Dialect, pool: ConnectionPool, dispute: str, events: Collection[NotificationEvent]
) -> tuple[Notification, ...]:
    """Those of ``events`` in ``dispute``, in the order kept (by the partial index on
    dispute); none for ""."""
    values = sorted({e.value for e in events})
    if not dispute or not values:
        return ()
    session = Session(dialect, pool)
    try:
        rows, _ = session.run(
            "SELECT body FROM ocop_review WHERE dispute = ? AND dispute <> '' "  # noqa: S608
            f"AND event IN ({_marks(values)}) ORDER BY seq",
            [dispute, *values],
        )
    finally:
        session.close()
    return tuple(read_row(body, Notification) for (body,) in rows)


def fill_columns(session: Session) -> None:
    """Migration 7: each kept notification's looked-up columns, from its body."""
    rows, _ = session.run("SELECT notification_id, body FROM ocop_review")
    for notification_id, body in rows:
        session.run(
            "UPDATE ocop_review SET order_key = ?, event = ?, dispute = ? "
            "WHERE notification_id = ?",
            [*columns(read_row(body, Notification)), notification_id],
        )


def _marks(values: Collection[object]) -> str:
    return ", ".join("?" * len(values))
