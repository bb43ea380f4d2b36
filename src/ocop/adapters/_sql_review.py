"""Notifications kept for review in SQL tables
(:meth:`~ocop.ports.store.OrderStore.keep_for_review`): one row of ``ocop_review`` per
notification id, its body the notification as the codec writes it, read back in the order
the rows were first written (``seq``)."""

from __future__ import annotations

from ocop.adapters._codec import dumps, read_row
from ocop.adapters._pool import ConnectionPool
from ocop.adapters._sql_session import Dialect, Session
from ocop.domain.notifications import Notification


def keep(dialect: Dialect, pool: ConnectionPool, notification: Notification) -> bool:
    """Keep ``notification`` in one transaction; True when its id was not kept before (a
    kept one is left as it is)."""
    session = Session(dialect, pool)

    def kept() -> bool:
        _, count = session.run(
            "INSERT INTO ocop_review (notification_id, body) VALUES (?, ?) "
            "ON CONFLICT (notification_id) DO NOTHING",
            [notification.notification_id, dumps(notification)],
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
