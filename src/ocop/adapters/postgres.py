"""PostgreSQL adapters: store and journal for back offices sharing one database.

Needs the ``postgres`` extra (``pip install 'ocop[postgres]'``); psycopg is
imported here only. A unit of work reads freely and writes its changes at commit
in one transaction; ``UPDATE ... WHERE version = ...`` and unique keys decide
between workers on other machines (rule O5): a rival update waits for the row
lock, then finds the version moved and raises
:class:`~ocop.domain.errors.ConcurrentUpdate`. Tables are prefixed ``ocop_`` and
may live in their own schema (``search_path`` in the connection string).
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import psycopg

from ocop.adapters.sql import (
    Connection,
    Dialect,
    SqlUnitOfWork,
    create_schema,
    journal_vouchers,
    post_to_journal,
)
from ocop.domain.errors import ConcurrentUpdate, OcopError
from ocop.domain.journal import Voucher

__all__ = ["PostgresJournal", "PostgresStore"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS ocop_orders (seq BIGSERIAL, order_id TEXT PRIMARY KEY, "
    "version INTEGER NOT NULL, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ocop_operations (seq BIGSERIAL, key TEXT PRIMARY KEY, "
    "order_id TEXT NOT NULL, in_doubt INTEGER NOT NULL, body TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ocop_operations_by_order ON ocop_operations (order_id)",
    "CREATE INDEX IF NOT EXISTS ocop_operations_in_doubt ON ocop_operations (in_doubt)",
    "CREATE TABLE IF NOT EXISTS ocop_outbox (seq BIGSERIAL, voucher_id TEXT PRIMARY KEY, "
    "posted INTEGER NOT NULL, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ocop_journal (seq BIGSERIAL, voucher_id TEXT PRIMARY KEY, "
    "order_id TEXT NOT NULL, body TEXT NOT NULL)",
)

#: Advisory lock taken while the schema is created, so parallel first starts don't race.
_SCHEMA_LOCK = 4_242_001


def _translate(error: Exception) -> OcopError | None:
    if isinstance(error, psycopg.errors.SerializationFailure | psycopg.errors.DeadlockDetected):
        return ConcurrentUpdate("(serialization failure)")
    return None


class _Pooled:
    """A pooled connection: closing it hands it back, idle, for the next unit of work."""

    def __init__(self, pool: _Pool, connection: psycopg.Connection[Any]) -> None:
        self._pool = pool
        self._connection = connection

    def cursor(self) -> Any:
        return self._connection.cursor()

    def commit(self) -> None:
        self._connection.commit()

    def rollback(self) -> None:
        self._connection.rollback()

    def close(self) -> None:
        self._pool.give_back(self._connection)


def _close_all(connections: list[psycopg.Connection[Any]]) -> None:
    while connections:
        connections.pop().close()


class _Pool:
    """A few open connections kept for reuse (a round trip to connect costs milliseconds)."""

    def __init__(self, conninfo: str, keep: int = 4) -> None:
        self._conninfo = conninfo
        self._keep = keep
        self._idle: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        # Idle connections are closed when the pool is (or when it is garbage collected).
        self.close = weakref.finalize(self, _close_all, self._idle)

    def take(self) -> Connection:
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        if connection is None or connection.closed:
            connection = psycopg.connect(self._conninfo, autocommit=True)
        return _Pooled(self, connection)

    def give_back(self, connection: psycopg.Connection[Any]) -> None:
        idle = connection.info.transaction_status is psycopg.pq.TransactionStatus.IDLE
        with self._lock:
            if idle and not connection.closed and len(self._idle) < self._keep:
                self._idle.append(connection)
                return
        connection.close()


def _dialect(pool: _Pool) -> Dialect:
    return Dialect(
        connect=pool.take,
        begin="BEGIN",
        placeholder="%s",
        schema=(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK})", *_SCHEMA),
        translate=_translate,
    )


class PostgresStore:
    """An :class:`~ocop.ports.store.OrderStore` in a PostgreSQL database."""

    def __init__(self, conninfo: str) -> None:
        self._pool = _Pool(conninfo)
        self._dialect = _dialect(self._pool)
        create_schema(self._dialect)

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._dialect)

    def close(self) -> None:
        """Close the idle connections (also done when the store is garbage collected)."""
        self._pool.close()


class PostgresJournal:
    """A :class:`~ocop.ports.journal.PaymentJournal` in a PostgreSQL database."""

    def __init__(self, conninfo: str) -> None:
        self._pool = _Pool(conninfo)
        self._dialect = _dialect(self._pool)
        create_schema(self._dialect)

    def close(self) -> None:
        """Close the idle connections (also done when the journal is garbage collected)."""
        self._pool.close()

    def post(self, voucher: Voucher) -> None:
        post_to_journal(self._dialect, voucher)

    def vouchers(self, order_id: str | None = None) -> tuple[Voucher, ...]:
        return journal_vouchers(self._dialect, order_id)
