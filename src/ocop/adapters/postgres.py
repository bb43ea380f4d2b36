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

from contextlib import AbstractContextManager
from typing import Any, cast

import psycopg
from psycopg.pq import TransactionStatus

from ocop.adapters.pool import Connection, ConnectionPool
from ocop.adapters.sql import Dialect, SqlJournal, SqlStore
from ocop.domain.errors import ConcurrentUpdate, OcopError

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


def _pool(conninfo: str) -> ConnectionPool:
    def connect() -> Connection:
        return cast(Connection, psycopg.connect(conninfo, autocommit=True))

    def idle(connection: Connection) -> bool:
        raw = cast(psycopg.Connection[Any], connection)
        return not raw.closed and raw.info.transaction_status is TransactionStatus.IDLE

    return ConnectionPool(connect, idle)


def _json_text(column: str, field: str) -> str:
    return f"(({column})::json ->> '{field}')"


def _pipeline(connection: Any) -> AbstractContextManager[object]:
    raw = cast(psycopg.Connection[Any], connection.raw)
    return raw.pipeline()


_DIALECT = Dialect(begin="BEGIN", placeholder="%s", schema=_SCHEMA, translate=_translate,
                   json_text=_json_text, pipeline=_pipeline,
                   lock=(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK})",))  # fmt: skip


class PostgresStore(SqlStore):
    """An :class:`~ocop.ports.store.OrderStore` in a PostgreSQL database.

    ``keeps_journal``: the database's journal table is the payment journal
    (:attr:`journal`), written in the same transaction as the change that posts.
    """

    def __init__(self, conninfo: str, *, keeps_journal: bool = False) -> None:
        pool = _pool(conninfo)
        super().__init__(_DIALECT, pool, keeps_journal=keeps_journal)


class PostgresJournal(SqlJournal):
    """A :class:`~ocop.ports.journal.PaymentJournal` in a PostgreSQL database."""

    def __init__(self, conninfo: str) -> None:
        pool = _pool(conninfo)
        super().__init__(_DIALECT, pool)
