"""The SQL stores' connection pool: idle connections are reused, others never handed out again."""

from __future__ import annotations

from typing import Any

import attrs

from ocop.adapters._pool import Connection, ConnectionPool


@attrs.define
class Recorded:
    """A stand-in for a DB-API connection that says whether it is idle and whether it closed."""

    number: int
    idle: bool = True
    closed: bool = False

    def cursor(self) -> Any:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.closed = True


def recording_pool(keep: int = 4) -> tuple[ConnectionPool, list[Recorded]]:
    """A pool over :class:`Recorded` connections, and every connection it opened, in order."""
    opened: list[Recorded] = []

    def connect() -> Connection:
        opened.append(Recorded(len(opened) + 1))
        return opened[-1]

    def idle(connection: Connection) -> bool:
        assert isinstance(connection, Recorded)
        return connection.idle

    return ConnectionPool(connect, idle, keep=keep), opened


def test_an_idle_connection_given_back_is_reused() -> None:
    """A connection handed back idle stays open and serves the next unit of work."""
    pool, opened = recording_pool()
    pool.take().close()
    pool.take().close()
    assert [(c.number, c.closed) for c in opened] == [(1, False)]


def test_a_connection_given_back_mid_transaction_is_closed_not_reused() -> None:
    """A connection handed back while not idle (a transaction left open, a broken link) is
    closed, and the next unit of work gets a new one."""
    pool, opened = recording_pool()
    pool.take().close()
    opened[0].idle = False
    pool.take().close()
    pool.take().close()
    assert [(c.number, c.closed) for c in opened] == [(1, True), (2, False)]


def test_connections_beyond_what_the_pool_keeps_are_closed() -> None:
    """Given back idle beyond ``keep``, a connection is closed; those kept close with the pool."""
    pool, opened = recording_pool(keep=1)
    first, second = pool.take(), pool.take()
    first.close()
    second.close()
    assert [(c.number, c.closed) for c in opened] == [(1, False), (2, True)]
    pool.close()
    assert opened[0].closed


def test_a_connection_given_back_after_the_pool_closed_is_closed_not_kept() -> None:
    """A host closing the store while another thread's unit of work still runs: the
    connection that thread gives back afterwards is closed, not kept open (with nothing
    left to close it) by a pool already closed."""
    pool, opened = recording_pool()
    in_use = pool.take()
    pool.take().close()  # an idle one, kept
    pool.close()
    in_use.close()
    assert [(c.number, c.closed) for c in opened] == [(1, True), (2, True)]
