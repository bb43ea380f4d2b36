"""Connections for the SQL stores: what they use of a DB-API connection, and a small pool.

A unit of work takes a connection for its reads and its commit and hands it back;
idle connections are kept for the next one and closed with the pool.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["Connection", "ConnectionPool", "Pooled"]


class Connection(Protocol):
    """The part of a DB-API connection the SQL stores use."""

    def cursor(self) -> Any: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def close(self) -> None: ...


class Pooled:
    """A pooled connection: closing it hands it back for the next unit of work.

    ``reused``: it was kept from an earlier unit of work (the database may have closed it
    since: a restart, an idle timeout), rather than opened for this one."""

    def __init__(self, pool: ConnectionPool, connection: Connection, *, reused: bool) -> None:
        self._pool = pool
        self._connection = connection
        self.reused = reused

    def cursor(self) -> Any:
        return self._connection.cursor()

    def commit(self) -> None:
        self._connection.commit()

    def rollback(self) -> None:
        self._connection.rollback()

    def close(self) -> None:
        self._pool.give_back(self._connection)

    @property
    def raw(self) -> Connection:
        """The driver's own connection (for what only that driver offers)."""
        return self._connection

    @property
    def lost(self) -> bool:
        """Whether the connection is closed (the database ended it): an error in an open
        connection (a transaction the database aborted, say) is not a lost one."""
        return self._pool.closed(self._connection)


def _close_all(connections: list[Connection], lock: threading.Lock) -> None:
    with lock:  # after a give_back deciding to keep a connection, never beside it
        while connections:
            connections.pop().close()


class ConnectionPool:
    """A few open autocommit connections kept for reuse; idle ones closed with the pool."""

    def __init__(
        self,
        connect: Callable[[], Connection],
        idle: Callable[[Connection], bool],
        keep: int = 4,
        closed: Callable[[Connection], bool] = lambda _: False,
    ) -> None:
        self._connect = connect
        self._is_idle = idle
        self._is_closed = closed
        self._keep = keep
        self._idle: list[Connection] = []
        self._lock = threading.Lock()
        # Closed when the pool is closed, or garbage collected, whichever comes first.
        self.close = weakref.finalize(self, _close_all, self._idle, self._lock)

    @property
    def keep(self) -> int:
        """How many idle connections the pool keeps at most."""
        return self._keep

    def closed(self, connection: Connection) -> bool:
        """Whether ``connection`` is closed: the database ended it (a driver that cannot
        tell says no)."""
        return self._is_closed(connection)

    def take(self) -> Pooled:
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        if connection is not None:
            return Pooled(self, connection, reused=True)
        return Pooled(self, self._connect(), reused=False)

    def give_back(self, connection: Connection) -> None:
        """Keep ``connection`` for the next unit of work if it is idle and there is room;
        close it otherwise, and always once the pool is closed (a unit of work another
        thread ran while the host closed the store: nothing would close it later)."""
        if self._is_idle(connection):
            with self._lock:
                if self.close.alive and len(self._idle) < self._keep:
                    self._idle.append(connection)
                    return
        connection.close()
