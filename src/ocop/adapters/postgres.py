"""PostgreSQL adapters: store and journal for back offices sharing one database.

Needs the ``postgres`` extra (``pip install 'ocop[postgres]'``); psycopg is
imported here only, and importing this module without it raises
:class:`~ocop.domain.errors.MissingExtra`. A unit of work reads freely and writes
its changes at commit in one transaction; ``UPDATE ... WHERE version = ...`` and
unique keys decide between workers on other machines (rule O5): a rival update
waits for the row lock, then finds the version moved and raises
:class:`~ocop.domain.errors.ConcurrentUpdate`.

Tables are prefixed ``ocop_``. ``schema=`` puts them in a schema of their own,
created if missing, and sets it as the search path of the store's connections;
without it they live where the connection string's ``search_path`` says.

psycopg's errors are reported as :class:`~ocop.domain.errors.StorageError` (rule
E3): a server that cannot be reached, a lost connection or a missing schema as
:class:`~ocop.domain.errors.StorageUnavailable`; a transaction the server aborted to
resolve a conflict (serialization failure, deadlock), a lock or statement timeout, or
a server with no connection free for one more as
:class:`~ocop.domain.errors.StorageBusy`; a value the server cannot hold (a NUL
character, text that cannot be encoded, an id too long to index) as
:class:`~ocop.domain.errors.StorageLimitExceeded`.
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from typing import Any, cast

import attrs

from ocop.adapters._pool import Connection, ConnectionPool
from ocop.adapters._sql import Dialect, SqlJournal, SqlStore
from ocop.domain.cardguard import refuse_card_data
from ocop.domain.errors import (
    InvalidArgument,
    MissingExtra,
    StorageBusy,
    StorageError,
    StorageLimitExceeded,
    StorageUnavailable,
)

try:
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict
    from psycopg.pq import TransactionStatus
except ImportError as missing:
    raise MissingExtra("postgres", "psycopg") from missing

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

#: The advisory lock key of a claim's name (one placeholder): a 64-bit hash of the name in
#: the schema the store's tables are in, so stores in other schemas never meet.
_NAME_KEY = "hashtextextended(current_schema() || '/' || CAST(? AS TEXT), 0)"

#: The advisory lock key that new orders of one schema take in turn (see
#: ``Dialect.new_orders_lock``).
_NEW_ORDERS_KEY = "hashtextextended(current_schema() || ' new orders', 0)"

#: A schema name ocop creates: a plain identifier PostgreSQL keeps whole (at most 63 bytes).
_SCHEMA_NAME = re.compile(r"[A-Za-z0-9_]{1,63}")

#: SQLSTATEs of contention the caller may retry: serialization failure, deadlock, a lock
#: or statement timeout, too many connections.
_BUSY = frozenset({"40001", "40P01", "55P03", "57014", "53300"})
#: What the server says when it refuses a connection for want of a free one (53300: too
#: many clients, too many connections for the role or the database, the last slots kept
#: for others). It says it while the connection starts, where psycopg gives the error no
#: SQLSTATE, so only its text tells it from a server that cannot be reached: the words
#: that open its FATAL message, not the same words in a name it repeats (a database or a
#: role that does not exist).
_NO_FREE_CONNECTION = re.compile(
    r"FATAL:\s+(?:sorry, too many clients already"
    r'|too many connections for (?:role|database) "'
    r"|remaining connection slots are reserved for )"
)
#: SQLSTATEs of a server that cannot be used now: shut down, starting, crashed; a database
#: that does not exist.
_UNAVAILABLE = frozenset({"57P01", "57P02", "57P03", "3D000"})
#: SQLSTATE classes of values the server cannot hold (data exceptions, program limits).
_LIMIT_CLASSES = frozenset({"22", "54"})


def _translate(error: Exception) -> StorageError | None:
    """The StorageError for an error of psycopg (E3), named by its SQLSTATE and class,
    never by the value or statement that caused it; None for an error of anything else."""
    if isinstance(error, UnicodeEncodeError):
        return StorageLimitExceeded(
            "the database cannot store a text with a character its encoding lacks "
            "(a lone surrogate, or one outside the database's character set)"
        )
    if not isinstance(error, psycopg.Error):
        return None
    state = error.sqlstate or ""
    kind = f"{state} {type(error).__name__}".strip()
    if (
        not state
        and isinstance(error, psycopg.OperationalError)
        and _NO_FREE_CONNECTION.search(str(error)) is not None
    ):
        return StorageBusy(
            f"the database has no connection free for one more (53300 {kind}); retry the call"
        )
    if state in _BUSY:
        return StorageBusy(
            f"the transaction met a contention the database would not wait out ({kind}); "
            "retry the call"
        )
    if state == "3F000":
        return StorageUnavailable(
            "the schema the search path names does not exist: create it, or pass schema= "
            f"to have the store create it ({kind})"
        )
    if state[:2] in {"08", "28"} or state in _UNAVAILABLE:
        return StorageUnavailable(f"the database cannot be reached or used ({kind})")
    if (
        not state
        and isinstance(error, psycopg.OperationalError)
        and not isinstance(error, psycopg.errors.PipelineAborted)
    ):
        return StorageUnavailable(f"the connection to the database failed or was lost ({kind})")
    if not state and isinstance(error, psycopg.DataError) and "NUL (0x00)" in str(error):
        return StorageLimitExceeded(f"PostgreSQL cannot store a text with a NUL character ({kind})")
    if state[:2] in _LIMIT_CLASSES or state == "53100" or isinstance(error, psycopg.DataError):
        return StorageLimitExceeded(f"the database cannot hold a value of this call ({kind})")
    return StorageError(f"the database refused the statement ({kind})")


def _checked_schema(schema: str | None) -> str | None:
    """``schema`` if ocop may create and use it (letters, digits, underscore, at most 63,
    not PostgreSQL's own ``pg_`` prefix); InvalidArgument otherwise, naming no value."""
    if schema is None:
        return None
    if (
        not isinstance(schema, str)
        or _SCHEMA_NAME.fullmatch(schema) is None
        or schema.lower().startswith("pg_")
    ):
        raise InvalidArgument(
            "schema must be 1 to 63 ASCII letters, digits or underscores, not starting with pg_",
            argument="schema",
        )
    refuse_card_data(schema, "schema")  # T2: it is stored (as the schema's name)
    return schema


def check_conninfo(value: object, argument: str) -> None:
    """E1: ``value`` is a connection string that names something: libpq reads an empty or
    blank one (spaces, a tab) or a URI naming nothing (``postgresql://``) as no settings at
    all: its defaults, another database than the host meant. One libpq cannot read is left
    for the connection to report, as before."""
    if not (isinstance(value, str) and value.strip()) or _names_nothing(value):
        raise InvalidArgument(
            f"{argument} must be a PostgreSQL connection string", argument=argument
        )


def _names_nothing(conninfo: str) -> bool:
    try:
        return not conninfo_to_dict(conninfo)
    except psycopg.Error:  # not readable: the connection says so, as it always has
        return False


def _tables_of(conninfo: str, schema: str) -> frozenset[str]:
    """The names of the tables in ``schema``, read without writing (none for a schema that
    does not exist): for a command that checks a store before it opens one. A bad name is
    :class:`InvalidArgument`, a server it cannot use a :class:`StorageError`."""
    check_conninfo(conninfo, "conninfo")
    name = _checked_schema(schema)
    query = "SELECT tablename FROM pg_tables WHERE schemaname = %s"
    try:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            rows = connection.execute(query, [name]).fetchall()
    except psycopg.Error as error:
        raise _translate(error) or StorageError("the database refused the statement") from None
    return frozenset(row[0] for row in rows)


def _pool(conninfo: str, schema: str | None) -> ConnectionPool:
    """Connections to ``conninfo`` (E1: a string that is not blank, checked before any is
    opened: an empty or blank one would take libpq's defaults, another database than the
    host meant)."""
    check_conninfo(conninfo, "conninfo")

    def connect() -> Connection:
        connection = psycopg.connect(conninfo, autocommit=True)
        if schema is not None:
            try:
                connection.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
            except BaseException:
                connection.close()
                raise
        return cast(Connection, connection)

    def idle(connection: Connection) -> bool:
        raw = cast(psycopg.Connection[Any], connection)
        return not raw.closed and raw.info.transaction_status is TransactionStatus.IDLE

    def closed(connection: Connection) -> bool:
        return cast(psycopg.Connection[Any], connection).closed

    return ConnectionPool(connect, idle, closed=closed)


def _json_text(column: str, path: str) -> str:
    return f"(({column})::json #>> '{{{path.replace('.', ',')}}}')"


def _ordered_key(column: str) -> str:
    return f"seq BIGSERIAL, {column} TEXT PRIMARY KEY"


def _pipeline(connection: Any) -> AbstractContextManager[object]:
    raw = cast(psycopg.Connection[Any], connection.raw)
    return raw.pipeline()


_DIALECT = Dialect(begin="BEGIN", placeholder="%s", schema=_SCHEMA, translate=_translate,
                   json_text=_json_text, pipeline=_pipeline,
                   has_table="SELECT 1 WHERE to_regclass(?) IS NOT NULL",
                   ordered_key=_ordered_key,
                   extra_indexes=("CREATE INDEX IF NOT EXISTS ocop_orders_by_seq "
                                  "ON ocop_orders (seq)",),
                   lock=(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK})",),
                   try_lock_name=f"SELECT pg_try_advisory_xact_lock({_NAME_KEY})",
                   lock_name=f"SELECT pg_advisory_xact_lock({_NAME_KEY})",
                   new_orders_lock=f"SELECT pg_advisory_xact_lock({_NEW_ORDERS_KEY})")  # fmt: skip


def _dialect(schema: str | None) -> Dialect:
    """The dialect of a store in ``schema``: its first start also creates the schema, under
    the advisory lock (``CREATE SCHEMA IF NOT EXISTS`` alone races with another start)."""
    if schema is None:
        return _DIALECT
    create = f'CREATE SCHEMA IF NOT EXISTS "{schema}"'  # a checked name, quoted
    return attrs.evolve(_DIALECT, lock=(*_DIALECT.lock, create))


class PostgresStore(SqlStore):
    """An :class:`~ocop.ports.store.OrderStore` in a PostgreSQL database.

    ``keeps_journal``: the database's journal table is the payment journal
    (:attr:`journal`), written in the same transaction as the change that posts.
    ``schema``: the tables live in this schema, created if missing (InvalidArgument for
    a name that is not 1 to 63 letters, digits or underscores); None keeps the search
    path of ``conninfo``.
    """

    def __init__(
        self, conninfo: str, *, keeps_journal: bool = False, schema: str | None = None
    ) -> None:
        schema = _checked_schema(schema)
        super().__init__(_dialect(schema), _pool(conninfo, schema), keeps_journal=keeps_journal)


class PostgresJournal(SqlJournal):
    """A :class:`~ocop.ports.journal.PaymentJournal` in a PostgreSQL database (``schema``:
    as for :class:`PostgresStore`)."""

    def __init__(self, conninfo: str, *, schema: str | None = None) -> None:
        schema = _checked_schema(schema)
        super().__init__(_dialect(schema), _pool(conninfo, schema))
