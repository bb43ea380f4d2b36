"""SQLite adapters: the embedded, durable default store and journal.

A unit of work reads freely and writes its changes at commit in one
``BEGIN IMMEDIATE`` transaction, so writers are serialised by the database
file's lock across threads and processes; versions and unique keys then decide
conflicts (rule O5).

sqlite3's errors are reported as :class:`~ocop.domain.errors.StorageError` (rule E3):
a file that cannot be opened as :class:`~ocop.domain.errors.StorageUnavailable`, a
file still locked by another writer when ``timeout`` runs out as
:class:`~ocop.domain.errors.StorageBusy`, a value SQLite cannot hold (text that
cannot be encoded, too big, a full disk) as
:class:`~ocop.domain.errors.StorageLimitExceeded`.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import cast

from ocop.adapters._pool import Connection, ConnectionPool
from ocop.adapters._sql import Dialect, SqlJournal, SqlStore
from ocop.domain.edge import check_path, check_seconds
from ocop.domain.errors import (
    InvalidArgument,
    StorageBusy,
    StorageError,
    StorageLimitExceeded,
    StorageUnavailable,
)

__all__ = ["SqliteJournal", "SqliteStore"]

# ``seq`` keeps the order rows were written in: no row of these tables is ever deleted, so
# SQLite's next rowid is always the largest plus one. Without ``AUTOINCREMENT``, which would
# add the ``sqlite_sequence`` page to every commit that inserts (files created before keep
# it: the same order, one more page).
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS ocop_orders (seq INTEGER PRIMARY KEY, "
    "order_id TEXT NOT NULL UNIQUE, version INTEGER NOT NULL, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ocop_operations (seq INTEGER PRIMARY KEY, "
    "key TEXT NOT NULL UNIQUE, order_id TEXT NOT NULL, in_doubt INTEGER NOT NULL, "
    "body TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ocop_operations_by_order ON ocop_operations (order_id)",
    "CREATE INDEX IF NOT EXISTS ocop_operations_in_doubt ON ocop_operations (in_doubt)",
    "CREATE TABLE IF NOT EXISTS ocop_outbox (seq INTEGER PRIMARY KEY, "
    "voucher_id TEXT NOT NULL UNIQUE, posted INTEGER NOT NULL, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ocop_journal (seq INTEGER PRIMARY KEY, "
    "voucher_id TEXT NOT NULL UNIQUE, order_id TEXT NOT NULL, body TEXT NOT NULL)",
)


#: Primary result codes (the low byte of an extended code), by the error they become.
_BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
_UNAVAILABLE = frozenset(
    {sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_PERM, sqlite3.SQLITE_READONLY,
     sqlite3.SQLITE_AUTH}
)  # fmt: skip
_LIMITS = frozenset({sqlite3.SQLITE_FULL, sqlite3.SQLITE_TOOBIG})
_NOT_A_DATABASE = frozenset({sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT})


def _translate(error: Exception) -> StorageError | None:
    """The StorageError for an error of sqlite3 (E3), named by its result code, never by
    the value or statement that caused it; None for an error of anything else."""
    if isinstance(error, UnicodeEncodeError):
        return StorageLimitExceeded(
            "SQLite cannot store a text with a character that has no UTF-8 encoding "
            "(a lone surrogate)"
        )
    if isinstance(error, UnicodeDecodeError):
        return StorageError("the database file holds text that is not UTF-8")
    if isinstance(error, OverflowError):
        return StorageLimitExceeded("SQLite cannot store an integer this large")
    if not isinstance(error, sqlite3.Error):
        return None
    code: int | None = getattr(error, "sqlite_errorcode", None)
    name = getattr(error, "sqlite_errorname", None) or type(error).__name__
    primary = None if code is None else code & 0xFF
    if primary in _BUSY:
        return StorageBusy(
            f"the database file stayed locked by another connection past the timeout ({name}); "
            "retry the call"
        )
    if primary in _UNAVAILABLE:
        return StorageUnavailable(f"the database file cannot be opened or written ({name})")
    if primary in _LIMITS or isinstance(error, sqlite3.DataError):
        return StorageLimitExceeded(f"SQLite cannot hold a value of this call ({name})")
    if primary in _NOT_A_DATABASE:
        return StorageError(f"the file is not a database, or is damaged ({name})")
    return StorageError(f"SQLite refused the statement ({name})")


def _pool(path: str | Path, timeout: float) -> ConnectionPool:
    """Connections to the file at ``path`` (E1: checked before any is opened). SQLite's
    ``:memory:`` names no file but a database of each connection's own: the pool's
    connections would each see another, so it is refused (``BackOffice.in_memory()``)."""
    file, wait = check_path(path, "path"), check_seconds(timeout, "timeout")
    if os.fspath(file) == ":memory:":
        raise InvalidArgument(
            "path must name a file: ':memory:' gives each connection a database of its own "
            "(use BackOffice.in_memory() or InMemoryStore)",
            argument="path",
        )

    def connect() -> Connection:
        connection = sqlite3.connect(
            os.fspath(file), timeout=wait, isolation_level=None, check_same_thread=False
        )
        try:
            # WAL with NORMAL sync: a commit survives the process dying; only a power cut
            # can lose the last transactions, never corrupt the file.
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            connection.close()
            raise
        return connection

    def idle(connection: Connection) -> bool:
        return not cast(sqlite3.Connection, connection).in_transaction

    return ConnectionPool(connect, idle)


def _json_text(column: str, path: str) -> str:
    return f"json_extract({column}, '$.{path}')"


def _ordered_key(column: str) -> str:
    return f"seq INTEGER PRIMARY KEY, {column} TEXT NOT NULL UNIQUE"  # no deletes: see _SCHEMA


_HAS_TABLE = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"

_DIALECT = Dialect(begin="BEGIN IMMEDIATE", placeholder="?", schema=_SCHEMA,
                   translate=_translate, json_text=_json_text, has_table=_HAS_TABLE,
                   ordered_key=_ordered_key)  # fmt: skip


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
