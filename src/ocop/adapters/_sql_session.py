"""The SQL stores' connection handling: a backend's dialect, statements, and one session
(an autocommit connection whose writes run inside a transaction); every driver error is
translated by the dialect (rule E3)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, suppress
from typing import Any, TypeVar

import attrs

from ocop.adapters._pool import Connection, ConnectionPool, Pooled
from ocop.domain.cardnumbers import contains_card_number
from ocop.domain.errors import StorageError, StorageUnavailable

_T = TypeVar("_T")


def _shown(error: Exception | None) -> Exception | None:
    """The driver error a :class:`StorageError` is chained to (what a traceback prints
    under it), or None when its text holds a card number or a control character other
    than the line breaks and tabs drivers write themselves (E2): a driver may quote the
    input it could not read, as psycopg quotes a connection string it cannot parse."""
    if error is None:
        return None
    text = f"{error} {error.args!r}"
    if contains_card_number(text) or not text.replace("\n", "").replace("\t", "").isprintable():
        return None
    return error


@attrs.frozen
class Dialect:
    """How one backend begins a write, writes placeholders, creates its first tables,
    translates its errors, and reads a text field of a JSON column (for migrations)."""

    begin: str
    placeholder: str
    schema: tuple[str, ...]
    #: The :class:`StorageError` for an error of the driver (E3); None for any other error.
    #: Its message says what kind of failure it was, never the value that caused it.
    translate: Callable[[Exception], StorageError | None]
    #: The text at a dotted path (``result.token.value``) of a JSON column; NULL where
    #: the path leads nowhere or to a JSON null.
    json_text: Callable[[str, str], str]
    #: A query with one placeholder, for a table name: a row if that table exists.
    has_table: str
    #: The columns that open a table kept in insertion order (``seq``) and keyed by one
    #: text column, given its name, as the backend's first tables are made (migrations
    #: create tables with it).
    ordered_key: Callable[[str], str]
    #: Run first in the transaction that creates or migrates the schema.
    lock: tuple[str, ...] = ()
    #: Sends several statements in one round trip (a context manager over the driver's
    #: connection, leaving with every result in); None runs them one by one.
    pipeline: Callable[[Any], AbstractContextManager[object]] | None = None
    #: Indexes this backend needs beyond the shared ones (created by migration 3).
    extra_indexes: tuple[str, ...] = ()
    #: A query with one placeholder, for a claim's name: one row whose value is true if
    #: this transaction now has the name to itself, false (never waiting) if another has
    #: it; None where the transaction has the claims to itself anyway (its begin locks).
    try_lock_name: str | None = None
    #: The same lock, taken waiting (to end claims); None with ``try_lock_name``.
    lock_name: str | None = None
    #: Run first in a write that stores new orders, held to its end: new orders then take
    #: their ``seq`` in the order they are committed, so a page read by ``seq`` never
    #: misses one committed later with a smaller number. None where writes run one at a
    #: time anyway (their begin locks).
    new_orders_lock: str | None = None


@attrs.frozen
class Statement:
    """One statement of a write, and what to do with the count of rows it touched."""

    sql: str
    params: Sequence[object] = ()
    then: Callable[[int], None] | None = None


class Session:
    """One autocommit connection: reads run alone, writes inside :meth:`transaction`."""

    def __init__(self, dialect: Dialect, pool: ConnectionPool) -> None:
        self._dialect = dialect
        self._pool = pool
        self._connection: Pooled | None = None
        #: Nothing has run on the connection in this session yet.
        self._untried = False

    @property
    def dialect(self) -> Dialect:
        return self._dialect

    def _use(self, work: Callable[[Connection], _T]) -> _T:
        """``work`` on this session's connection, driver errors translated (E3).

        A connection the pool kept from an earlier unit of work may have been closed by the
        database since (a restart, an idle timeout): when the first use of one finds it
        lost, nothing of this session has run, so the work runs again on another."""
        lost: Exception | None = None
        for _ in range(self._pool.keep + 1):
            connection: Pooled | None = None
            untried = False
            try:
                if self._connection is None:
                    self._connection, self._untried = self._pool.take(), True
                connection, untried, self._untried = self._connection, self._untried, False
                return work(connection)
            except Exception as error:
                mapped = self._dialect.translate(error)
                if mapped is None:
                    raise
                retry = untried and connection is not None and connection.reused
                if not (retry and connection is not None and connection.lost):
                    raise mapped from _shown(error)
                lost = error
                self.close()  # the pool closes a lost connection; the next one is tried
        raise StorageUnavailable("every kept connection to the database was lost") from _shown(lost)

    def run(self, sql: str, params: Sequence[object] = ()) -> tuple[list[tuple[Any, ...]], int]:
        def execute(connection: Connection) -> tuple[list[tuple[Any, ...]], int]:
            cursor = connection.cursor()
            try:
                cursor.execute(sql.replace("?", self._dialect.placeholder), tuple(params))
                rows = cursor.fetchall() if cursor.description is not None else []
                return rows, cursor.rowcount
            finally:
                cursor.close()

        return self._use(execute)

    def batch(self, statements: Sequence[Statement]) -> list[int]:
        """Run ``statements`` in order, in one round trip where the driver can; the count of
        rows each touched."""
        return [count for _, count in self.batch_rows(statements)]

    def batch_rows(
        self, statements: Sequence[Statement]
    ) -> list[tuple[list[tuple[Any, ...]], int]]:
        """:meth:`batch`, with the rows each statement returned."""
        pipeline = self._dialect.pipeline
        if pipeline is None:
            return [self.run(s.sql, s.params) for s in statements]

        def send(connection: Connection) -> list[tuple[list[tuple[Any, ...]], int]]:
            cursors: list[Any] = []
            try:
                with pipeline(connection):
                    for statement in statements:
                        cursor = connection.cursor()
                        cursors.append(cursor)
                        sql = statement.sql.replace("?", self._dialect.placeholder)
                        cursor.execute(sql, tuple(statement.params))
                return [
                    (cursor.fetchall() if cursor.description is not None else [], cursor.rowcount)
                    for cursor in cursors
                ]
            finally:
                for cursor in cursors:
                    cursor.close()

        return self._use(send)

    def transaction(self, work: Callable[[], _T]) -> _T:
        """Run ``work`` in one transaction: all of it is stored, or none."""
        self.run(self._dialect.begin)  # a busy database fails here, with nothing begun
        try:
            done = work()
            self.run("COMMIT")
        except BaseException:
            self.rollback()
            raise
        return done

    def rollback(self) -> None:
        """End the open transaction, storing nothing of it.

        A connection that cannot roll back (lost, or its transaction already ended by the
        database) is left as it is: the pool hands out again only a connection that is
        idle, and closes any other, which ends its transaction on the database.
        """
        if self._connection is None:
            return
        with suppress(StorageError):
            self.run("ROLLBACK")

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
