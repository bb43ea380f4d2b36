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

from ocop.adapters.pool import Connection, ConnectionPool
from ocop.adapters.sql import Dialect, SqlJournal, SqlStore
from ocop.domain.errors import ConcurrentUpdate, OcopError

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


def _json_text(column: str, field: str) -> str:
    return f"json_extract({column}, '$.{field}')"


_DIALECT = Dialect(begin="BEGIN IMMEDIATE", placeholder="?", schema=_SCHEMA,
                   translate=_translate, json_text=_json_text)  # fmt: skip


class SqliteStore(SqlStore):
    """An :class:`~ocop.ports.store.OrderStore` in one SQLite file.

    ``keeps_journal``: the file's journal table is the payment journal
    (:attr:`journal`), written in the same transaction as the change that posts.
    """

    def __init__(
        self, path: str | Path, *, timeout: float = 30.0, keeps_journal: bool = False
    ) -> None:
        pool = _pool(path, timeout)
        super().__init__(_DIALECT, pool, keeps_journal=keeps_journal)


class SqliteJournal(SqlJournal):
    """A :class:`~ocop.ports.journal.PaymentJournal` in one SQLite file (may be the store's)."""

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        pool = _pool(path, timeout)
        super().__init__(_DIALECT, pool)
