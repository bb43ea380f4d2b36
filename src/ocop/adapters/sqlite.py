"""SQLite adapters: the embedded, durable default store and journal.

A unit of work reads freely and writes its changes at commit in one
``BEGIN IMMEDIATE`` transaction, so writers are serialised by the database
file's lock across threads and processes; versions and unique keys then decide
conflicts (rule O5). Busy timeouts are reported as
:class:`~ocop.domain.errors.ConcurrentUpdate`.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import cast

from ocop.adapters.sql import (
    Connection,
    ConnectionPool,
    Dialect,
    create_schema,
    journal_vouchers,
    post_to_journal,
    unit_of_work,
)
from ocop.adapters.staged import StagedUnitOfWork
from ocop.domain.errors import ConcurrentUpdate, OcopError
from ocop.domain.journal import Voucher

__all__ = ["SqliteJournal", "SqliteStore"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS ocop_orders (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    "order_id TEXT NOT NULL UNIQUE, version INTEGER NOT NULL, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ocop_operations (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    "key TEXT NOT NULL UNIQUE, order_id TEXT NOT NULL, in_doubt INTEGER NOT NULL, "
    "body TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ocop_operations_by_order ON ocop_operations (order_id)",
    "CREATE INDEX IF NOT EXISTS ocop_operations_in_doubt ON ocop_operations (in_doubt)",
    "CREATE TABLE IF NOT EXISTS ocop_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    "voucher_id TEXT NOT NULL UNIQUE, posted INTEGER NOT NULL, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ocop_journal (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    "voucher_id TEXT NOT NULL UNIQUE, order_id TEXT NOT NULL, body TEXT NOT NULL)",
)


def _translate(error: Exception) -> OcopError | None:
    if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
        return ConcurrentUpdate("(database busy)")
    return None


def _pool(path: str | Path, timeout: float) -> ConnectionPool:
    def connect() -> Connection:
        connection = sqlite3.connect(
            str(path), timeout=timeout, isolation_level=None, check_same_thread=False
        )
        # WAL with NORMAL sync: a commit survives the process dying; only a power cut
        # can lose the last transactions, never corrupt the file.
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection

    def idle(connection: Connection) -> bool:
        return not cast(sqlite3.Connection, connection).in_transaction

    return ConnectionPool(connect, idle)


def _dialect(pool: ConnectionPool) -> Dialect:
    return Dialect(
        connect=pool.take,
        begin="BEGIN IMMEDIATE",
        placeholder="?",
        schema=_SCHEMA,
        translate=_translate,
    )


class SqliteStore:
    """An :class:`~ocop.ports.store.OrderStore` in one SQLite file."""

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self._pool = _pool(path, timeout)
        self._dialect = _dialect(self._pool)
        create_schema(self._dialect)

    def unit_of_work(self) -> StagedUnitOfWork:
        return unit_of_work(self._dialect)

    def close(self) -> None:
        """Close the idle connections (also done when the store is garbage collected)."""
        self._pool.close()


class SqliteJournal:
    """A :class:`~ocop.ports.journal.PaymentJournal` in a SQLite file (may be the store's)."""

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self._pool = _pool(path, timeout)
        self._dialect = _dialect(self._pool)
        create_schema(self._dialect)

    def close(self) -> None:
        """Close the idle connections (also done when the journal is garbage collected)."""
        self._pool.close()

    def post(self, voucher: Voucher) -> None:
        post_to_journal(self._dialect, voucher)

    def vouchers(self, order_id: str | None = None) -> tuple[Voucher, ...]:
        return journal_vouchers(self._dialect, order_id)
