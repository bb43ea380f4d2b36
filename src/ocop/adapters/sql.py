"""What the SQL stores share: a staged-unit-of-work backend over a DB-API connection.

Each backend module (:mod:`ocop.adapters.sqlite`, :mod:`ocop.adapters.postgres`)
gives a :class:`Dialect` (how to begin, and its table definitions) and a pool of
connections.
The statements here are written with ``?`` placeholders and plain SQL both
backends speak (``INSERT ... ON CONFLICT DO NOTHING``). Uniqueness and versions
are enforced by the database (primary keys, ``UPDATE ... WHERE version = ?``) and
reported as the same errors the in-memory store raises (rule O5).

Every error of the database driver, from opening a connection to the commit, is
translated by the backend's :attr:`Dialect.translate` into a
:class:`~ocop.domain.errors.StorageError` (rule E3): the database cannot be reached
(:class:`~ocop.domain.errors.StorageUnavailable`), stayed busy
(:class:`~ocop.domain.errors.StorageBusy`), or cannot hold a value
(:class:`~ocop.domain.errors.StorageLimitExceeded`). A write that fails is rolled back
whole: nothing of the unit of work is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, suppress
from datetime import datetime
from typing import Any, TypeVar

import attrs

from ocop.adapters.codec import dumps, loads
from ocop.adapters.pool import Connection, ConnectionPool
from ocop.adapters.staged import Staged, StagedUnitOfWork
from ocop.domain.errors import (
    ConcurrentUpdate,
    DuplicateOrder,
    IdempotencyConflict,
    OcopError,
    OrderNotFound,
    StorageBusy,
    StorageError,
    StorageUnavailable,
)
from ocop.domain.journal import Voucher
from ocop.domain.operations import Operation
from ocop.domain.order import Order, OrderStatus
from ocop.domain.queries import OrderQuery, keys_of, micros
from ocop.domain.values import replaced

_T = TypeVar("_T")


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
    json_text: Callable[[str, str], str]
    #: A query with one placeholder, for a table name: a row if that table exists.
    has_table: str
    #: Run first in the transaction that creates or migrates the schema.
    lock: tuple[str, ...] = ()
    #: Sends several statements in one round trip (a context manager over the driver's
    #: connection, leaving with every result in); None runs them one by one.
    pipeline: Callable[[Any], AbstractContextManager[object]] | None = None
    #: Indexes this backend needs beyond the shared ones (created by migration 3).
    extra_indexes: tuple[str, ...] = ()


@attrs.frozen
class _Statement:
    """One statement of a write, and what to do with the count of rows it touched."""

    sql: str
    params: Sequence[object] = ()
    then: Callable[[int], None] | None = None


#: One step of a migration: a statement, or work done with the session (reading rows).
_Step = str | Callable[["_Session"], None]


def _migrations(dialect: Dialect) -> tuple[tuple[_Step, ...], ...]:
    """The schema's versions after the first: each a list of steps, in order.

    Version 2: operations carry their step and attempt as columns (the attempts of one
    step are found by index); indexes for every query the engine runs and no more, since
    each costs every commit a page: operations by order and step (which also serves
    by order alone), operations in doubt (a partial index: only the few in doubt),
    pending outbox rows, the journal by order.

    Version 3: orders carry their query keys as columns (:class:`~ocop.domain.queries.
    OrderKeys`, filled from each stored body, then kept by every write of the order),
    each with an index that holds only the orders it can list: held without end, the end
    of the latest lapsing hold, the status apart from holds, the oldest open authorization
    (times as microseconds since the epoch).
    """
    body = dialect.json_text  # column and field names written here, never input
    return (
        (
            "ALTER TABLE ocop_operations ADD COLUMN step TEXT",
            "ALTER TABLE ocop_operations ADD COLUMN attempt INTEGER",
            f"UPDATE ocop_operations SET step = {body('body', 'step')}",  # noqa: S608
            f"UPDATE ocop_operations SET attempt = CAST({body('body', 'attempt')} AS INTEGER)",  # noqa: S608
            "CREATE INDEX IF NOT EXISTS ocop_operations_by_step "
            "ON ocop_operations (order_id, step, attempt)",
            "CREATE INDEX IF NOT EXISTS ocop_operations_open "
            "ON ocop_operations (seq) WHERE in_doubt = 1",
            "DROP INDEX IF EXISTS ocop_operations_by_order",
            "DROP INDEX IF EXISTS ocop_operations_in_doubt",
            "CREATE INDEX IF NOT EXISTS ocop_outbox_pending ON ocop_outbox (seq) WHERE posted = 0",
            "CREATE INDEX IF NOT EXISTS ocop_journal_by_order ON ocop_journal (order_id, seq)",
        ),
        (
            "ALTER TABLE ocop_orders ADD COLUMN held INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE ocop_orders ADD COLUMN held_until BIGINT",
            "ALTER TABLE ocop_orders ADD COLUMN status TEXT",
            "ALTER TABLE ocop_orders ADD COLUMN authorized_from BIGINT",
            _fill_order_keys,
            "CREATE INDEX IF NOT EXISTS ocop_orders_held "
            "ON ocop_orders (seq, order_id) WHERE held = 1",
            "CREATE INDEX IF NOT EXISTS ocop_orders_held_until "
            "ON ocop_orders (held_until, seq, order_id) WHERE held_until IS NOT NULL",
            "CREATE INDEX IF NOT EXISTS ocop_orders_by_status "
            "ON ocop_orders (status, seq, order_id)",
            "CREATE INDEX IF NOT EXISTS ocop_orders_authorized_from "
            "ON ocop_orders (authorized_from, seq, order_id) WHERE authorized_from IS NOT NULL",
            *dialect.extra_indexes,
        ),
    )


def _key_columns(order: Order) -> list[object]:
    """The values of ``held, held_until, status, authorized_from`` for ``order``."""
    keys = keys_of(order)
    return [
        1 if keys.held else 0,
        None if keys.held_until is None else micros(keys.held_until),
        keys.status.value,
        None if keys.authorized_from is None else micros(keys.authorized_from),
    ]


def _fill_order_keys(session: _Session) -> None:
    """Migration 3: each stored order's query keys, from its body."""
    rows, _ = session.run("SELECT order_id, body FROM ocop_orders")
    for order_id, body in rows:
        session.run(
            "UPDATE ocop_orders SET held = ?, held_until = ?, status = ?, authorized_from = ? "
            "WHERE order_id = ?",
            [*_key_columns(loads(body, Order)), order_id],
        )


#: An order held at a moment (one parameter: the moment), and one not held.
_HELD = "(o.held = 1 OR o.held_until > ?)"
_FREE = "(o.held = 0 AND (o.held_until IS NULL OR o.held_until <= ?))"
_DOUBTFUL = "SELECT order_id FROM ocop_operations WHERE in_doubt = 1"


#: The schema version this code writes; older databases are migrated in place.
SCHEMA_VERSION = 3


class _Session:
    """One autocommit connection: reads run alone, writes inside :meth:`transaction`."""

    def __init__(self, dialect: Dialect, pool: ConnectionPool) -> None:
        self._dialect = dialect
        self._pool = pool
        self._connection: Connection | None = None

    @property
    def dialect(self) -> Dialect:
        return self._dialect

    def run(self, sql: str, params: Sequence[object] = ()) -> tuple[list[tuple[Any, ...]], int]:
        try:
            if self._connection is None:
                self._connection = self._pool.take()
            cursor = self._connection.cursor()
            try:
                cursor.execute(sql.replace("?", self._dialect.placeholder), tuple(params))
                rows = cursor.fetchall() if cursor.description is not None else []
                return rows, cursor.rowcount
            finally:
                cursor.close()
        except Exception as error:
            mapped = self._dialect.translate(error)
            if mapped is None:
                raise
            raise mapped from error

    def batch(self, statements: Sequence[_Statement]) -> list[int]:
        """Run ``statements`` in order, in one round trip where the driver can; the count of
        rows each touched."""
        return [count for _, count in self.batch_rows(statements)]

    def batch_rows(
        self, statements: Sequence[_Statement]
    ) -> list[tuple[list[tuple[Any, ...]], int]]:
        """:meth:`batch`, with the rows each statement returned."""
        pipeline = self._dialect.pipeline
        if pipeline is None:
            return [self.run(s.sql, s.params) for s in statements]
        cursors: list[Any] = []
        try:
            if self._connection is None:
                self._connection = self._pool.take()
            with pipeline(self._connection):
                for statement in statements:
                    cursor = self._connection.cursor()
                    cursors.append(cursor)
                    sql = statement.sql.replace("?", self._dialect.placeholder)
                    cursor.execute(sql, tuple(statement.params))
            return [
                (cursor.fetchall() if cursor.description is not None else [], cursor.rowcount)
                for cursor in cursors
            ]
        except Exception as error:
            mapped = self._dialect.translate(error)
            if mapped is None:
                raise
            raise mapped from error
        finally:
            for cursor in cursors:
                cursor.close()

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


def _in_doubt_of(order_id: str) -> _Statement:
    return _Statement(
        "SELECT body FROM ocop_operations WHERE order_id = ? AND in_doubt = 1 ORDER BY seq",
        [order_id],
    )


def _conditions(query: OrderQuery, moment: int) -> dict[str, tuple[str, list[object]]]:
    """Each filter's condition on the key columns of ``o`` (the orders table), by name."""
    found: dict[str, tuple[str, list[object]]] = {}
    if query.in_doubt is not None:
        negation = "" if query.in_doubt else "NOT "
        found["in_doubt"] = (f"o.order_id {negation}IN ({_DOUBTFUL})", [])
    if query.on_hold is not None:
        found["on_hold"] = (_HELD if query.on_hold else _FREE, [moment])
    if query.authorized_before is not None:
        found["authorized"] = ("o.authorized_from < ?", [micros(query.authorized_before)])
    status = query.status
    if status is OrderStatus.ON_HOLD:  # held, and not cancelled (which outranks holds)
        found["status"] = ("o.status <> ?", [OrderStatus.CANCELLED.value])
        found["status_hold"] = (_HELD, [moment])
    elif status is not None:
        found["status"] = ("o.status = ?", [status.value])
        if status is not OrderStatus.CANCELLED:
            found["status_hold"] = (_FREE, [moment])
    return found


def _driver(
    query: OrderQuery, moment: int, after: list[object]
) -> tuple[tuple[str, ...], str, list[object]] | None:
    """For the query's most narrowing filter: the names of the conditions it decides, and
    the ``seq, order_id`` of its rows from a covering index (after ``after``'s seq, if
    given); None when no filter narrows by index."""
    # Only fixed text is put together here: every value is a bound parameter.
    later = " AND seq > ?" if after else ""
    if query.in_doubt:
        found = f"SELECT seq, order_id FROM ocop_orders WHERE order_id IN ({_DOUBTFUL}){later}"  # noqa: S608
        return ("in_doubt",), found, after
    if query.on_hold or query.status is OrderStatus.ON_HOLD:
        found = (
            f"SELECT seq, order_id FROM ocop_orders WHERE held = 1{later} "  # noqa: S608
            f"UNION SELECT seq, order_id FROM ocop_orders WHERE held_until > ?{later}"
        )
        covered = ("on_hold",) if query.on_hold else ("status_hold",)
        return covered, found, [*after, moment, *after]
    if query.authorized_before is not None:
        found = f"SELECT seq, order_id FROM ocop_orders WHERE authorized_from < ?{later}"  # noqa: S608
        return ("authorized",), found, [micros(query.authorized_before), *after]
    if query.status is not None:
        found = f"SELECT seq, order_id FROM ocop_orders WHERE status = ?{later}"  # noqa: S608
        return ("status",), found, [query.status.value, *after]
    return None


class SqlBackend:
    """A :class:`~ocop.adapters.staged.Backend` in SQL tables, one connection at a time."""

    def __init__(self, dialect: Dialect, pool: ConnectionPool, *, keeps_journal: bool) -> None:
        self.session = _Session(dialect, pool)
        self.keeps_journal = keeps_journal
        #: operations in doubt read with an order, for the question that follows it
        self._doubt_ahead: dict[str, list[Operation]] = {}

    def _bodies(self, sql: str, params: Sequence[object] = ()) -> list[str]:
        rows, _ = self.session.run(sql, params)
        return [row[0] for row in rows]

    def _operations(self, sql: str, params: Sequence[object] = ()) -> list[Operation]:
        return [loads(body, Operation) for body in self._bodies(sql, params)]

    def order(self, order_id: str) -> Order | None:
        read = _Statement("SELECT body, version FROM ocop_orders WHERE order_id = ?", [order_id])
        if self.session.dialect.pipeline is None:
            rows, _ = self.session.run(read.sql, read.params)
        else:
            # One round trip: the order, and its operations in doubt, which the engine asks
            # for next whenever it is about to move money (O3).
            (rows, _), (doubt, _) = self.session.batch_rows([read, _in_doubt_of(order_id)])
            self._doubt_ahead[order_id] = [loads(body, Operation) for (body,) in doubt]
        if not rows:
            return None
        body, version = rows[0]
        order = loads(body, Order)
        # A version claimed without a change leaves the body one version behind its column.
        return order if order.version == version else replaced(order, version=version)

    def order_ids(self) -> list[str]:
        return self._bodies("SELECT order_id FROM ocop_orders ORDER BY seq")

    def query(self, query: OrderQuery, now: datetime) -> list[str]:
        """The orders ``query`` lists at ``now``, in ``seq`` order: the rows one covering
        index gives for the most narrowing filter (:func:`_driver`), checked against the
        other filters' conditions on the key columns (only then is the table read)."""
        after: list[object] = []
        if query.after is not None:
            rows, _ = self.session.run(
                "SELECT seq FROM ocop_orders WHERE order_id = ?", [query.after]
            )
            if not rows:
                raise OrderNotFound(query.after)
            after = [rows[0][0]]
        if query.limit is not None and query.limit <= 0:
            return []
        moment = micros(now)
        conditions = _conditions(query, moment)
        driver = _driver(query, moment, after)
        params: list[object] = []
        if driver is None:
            sql = "SELECT o.order_id FROM ocop_orders AS o"
            if after:
                conditions["after"] = ("o.seq > ?", after)
        else:
            covered, found, params = driver
            for name in covered:
                del conditions[name]
            sql = f"SELECT d.order_id FROM ({found}) AS d"  # noqa: S608
            if conditions:
                sql += " JOIN ocop_orders AS o ON o.seq = d.seq"
        if conditions:
            sql += " WHERE " + " AND ".join(text for text, _ in conditions.values())
            for _, values in conditions.values():
                params += values
        # The driver's rows are sorted (+: never by scanning the table in seq order instead)
        sql += " ORDER BY o.seq" if driver is None else " ORDER BY +d.seq"
        if query.limit is not None:
            sql += " LIMIT ?"
            params.append(query.limit)
        return self._bodies(sql, params)

    def operation(self, key: str) -> Operation | None:
        found = self._operations("SELECT body FROM ocop_operations WHERE key = ?", [key])
        return found[0] if found else None

    def attempts(self, order_id: str, name: str) -> list[Operation]:
        return self._operations(
            "SELECT body FROM ocop_operations WHERE order_id = ? AND step = ? ORDER BY attempt",
            [order_id, name],
        )

    def operations_of(self, order_id: str) -> list[Operation]:
        return self._operations(
            "SELECT body FROM ocop_operations WHERE order_id = ? ORDER BY seq", [order_id]
        )

    def operations_in_doubt(self, order_id: str | None) -> list[Operation]:
        if order_id is not None and order_id in self._doubt_ahead:
            return self._doubt_ahead.pop(order_id)
        if order_id is None:
            return self._operations(
                "SELECT body FROM ocop_operations WHERE in_doubt = 1 ORDER BY seq"
            )
        read = _in_doubt_of(order_id)
        return self._operations(read.sql, read.params)

    def pending_vouchers(self) -> list[Voucher]:
        bodies = self._bodies("SELECT body FROM ocop_outbox WHERE posted = 0 ORDER BY seq")
        return [loads(body, Voucher) for body in bodies]

    def write(self, staged: Staged) -> tuple[Voucher, ...]:
        """One transaction: every statement sent at once (one round trip on PostgreSQL),
        then what each touched checked, then the commit."""
        to_post: list[Voucher] = []
        session = self.session
        statements = self._statements(staged, to_post)
        begin = _Statement(session.dialect.begin)
        if session.dialect.pipeline is None:
            session.run(begin.sql)  # a busy database fails here, with nothing begun
        else:
            statements = [begin, *statements]  # sent with the rest
        try:
            counts = session.batch(statements)
            for statement, count in zip(statements, counts, strict=True):
                if statement.then is not None:
                    statement.then(count)
            session.run("COMMIT")
        except BaseException:
            session.rollback()  # E3: nothing of the unit of work is stored
            raise
        return tuple(to_post)

    def _statements(self, staged: Staged, to_post: list[Voucher]) -> list[_Statement]:
        found: list[_Statement] = []
        for order_id, (order, expected) in staged.orders.items():
            found.append(self._order(order_id, order, expected, order_id in staged.touched))
        for key, op in staged.intents.items():
            found.append(self._intent(key, op))
        for key, (op, strict) in staged.outcomes.items():
            found.append(self._outcome(key, op, strict=strict))
        found.extend(self._voucher(voucher, to_post) for voucher in staged.vouchers.values())
        found.extend(
            _Statement("UPDATE ocop_outbox SET posted = 1 WHERE voucher_id = ?", [voucher_id])
            for voucher_id in staged.posted
        )
        return found

    def _order(
        self, order_id: str, order: Order, expected: int | None, touched: bool
    ) -> _Statement:
        if expected is None:

            def added(count: int) -> None:
                if count != 1:
                    raise DuplicateOrder(order_id)

            return _Statement(
                "INSERT INTO ocop_orders (order_id, version, body, held, held_until, status, "
                "authorized_from) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (order_id) DO NOTHING",
                [order_id, order.version, dumps(order), *_key_columns(order)],
                added,
            )

        def updated(count: int) -> None:
            if count != 1:
                rows, _ = self.session.run(
                    "SELECT version FROM ocop_orders WHERE order_id = ?", [order_id]
                )
                raise ConcurrentUpdate(order_id) if rows else OrderNotFound(order_id)

        if touched:  # the body is as stored: only the version moves
            return _Statement(
                "UPDATE ocop_orders SET version = ? WHERE order_id = ? AND version = ?",
                [order.version, order_id, expected],
                updated,
            )
        return _Statement(
            "UPDATE ocop_orders SET body = ?, version = ?, held = ?, held_until = ?, status = ?, "
            "authorized_from = ? WHERE order_id = ? AND version = ?",
            [dumps(order), order.version, *_key_columns(order), order_id, expected],
            updated,
        )

    def _intent(self, key: str, op: Operation) -> _Statement:
        def logged(count: int) -> None:
            if count == 1:
                return
            stored = self.operation(key)
            if stored is None or stored.request != op.request:
                raise IdempotencyConflict(key)
            if stored.in_doubt and op.outcome is not None:
                self._run(self._outcome(key, op, strict=False))

        return _Statement(
            "INSERT INTO ocop_operations (key, order_id, step, attempt, in_doubt, body) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
            [key, op.order_id, op.name, op.attempt, 1 if op.in_doubt else 0, dumps(op)],
            logged,
        )

    def _outcome(self, key: str, op: Operation, *, strict: bool) -> _Statement:
        def settled(count: int) -> None:
            if count == 1:
                return
            rows, _ = self.session.run("SELECT in_doubt FROM ocop_operations WHERE key = ?", [key])
            if not rows:
                raise OcopError(f"no intent logged for operation {key!r}")
            if strict:
                raise ConcurrentUpdate(op.order_id)  # settled by another unit of work first

        return _Statement(
            "UPDATE ocop_operations SET body = ?, in_doubt = ? WHERE key = ? AND in_doubt = 1",
            [dumps(op), 1 if op.in_doubt else 0, key],
            settled,
        )

    def _voucher(self, voucher: Voucher, to_post: list[Voucher]) -> _Statement:
        """A voucher to the journal the store keeps, or to the outbox for an outside one."""
        table = "ocop_journal" if self.keeps_journal else "ocop_outbox"

        def same_as_stored() -> None:
            """J3: a voucher id already stored must hold the same voucher."""
            rows, _ = self.session.run(
                f"SELECT body FROM {table} WHERE voucher_id = ?",  # noqa: S608 - our table name
                [voucher.voucher_id],
            )
            if rows and loads(rows[0][0], Voucher) != voucher:
                raise IdempotencyConflict(voucher.voucher_id)

        if self.keeps_journal:
            return _Statement(
                "INSERT INTO ocop_journal (voucher_id, order_id, body) VALUES (?, ?, ?) "
                "ON CONFLICT (voucher_id) DO NOTHING",
                [voucher.voucher_id, voucher.order_id, dumps(voucher)],
                lambda count: None if count == 1 else same_as_stored(),
            )

        def waiting(count: int) -> None:
            if count == 1:
                to_post.append(voucher)
            else:
                same_as_stored()

        return _Statement(
            "INSERT INTO ocop_outbox (voucher_id, posted, body) VALUES (?, 0, ?) "
            "ON CONFLICT (voucher_id) DO NOTHING",
            [voucher.voucher_id, dumps(voucher)],
            waiting,
        )

    def _run(self, statement: _Statement) -> None:
        _, count = self.session.run(statement.sql, statement.params)
        if statement.then is not None:
            statement.then(count)

    def release(self) -> None:
        self._doubt_ahead.clear()
        self.session.close()


def _schema_version(session: _Session) -> int:
    rows, _ = session.run("SELECT MAX(version) FROM ocop_schema")
    return int(rows[0][0]) if rows and rows[0][0] is not None else 1


def _create_schema(dialect: Dialect, pool: ConnectionPool) -> None:
    """Create ocop's tables if they are missing, and migrate older ones in place."""
    session = _Session(dialect, pool)

    def current() -> bool:
        """Whether the schema is at this ocop's version: the only case with no DDL to run."""
        try:
            return _schema_version(session) == SCHEMA_VERSION
        except (StorageUnavailable, StorageBusy):
            raise
        except StorageError:
            if session.run(dialect.has_table, ["ocop_schema"])[0]:
                raise  # the table is there: something else failed
            return False  # no schema table yet: create it below

    def create() -> None:
        for statement in (*dialect.lock, *dialect.schema):
            session.run(statement)
        session.run("CREATE TABLE IF NOT EXISTS ocop_schema (version INTEGER NOT NULL)")
        version = _schema_version(session)
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"the database's schema is version {version}, newer than this ocop's "
                f"({SCHEMA_VERSION}): upgrade ocop before opening it"
            )
        for number, statements in enumerate(_migrations(dialect), start=2):
            if version < number:
                for step in statements:
                    if isinstance(step, str):
                        session.run(step)
                    else:
                        step(session)
        if version < SCHEMA_VERSION:  # one row per upgrade, in the same transaction
            session.run("INSERT INTO ocop_schema (version) VALUES (?)", [SCHEMA_VERSION])

    try:
        if not current():
            session.transaction(create)
    finally:
        session.close()


class _SqlTables:
    """A backend's tables, created (or migrated) on first use, reached through a pool."""

    def __init__(self, dialect: Dialect, pool: ConnectionPool, *, create: bool = True) -> None:
        self._dialect = dialect
        self._pool = pool
        if create:
            _create_schema(dialect, pool)

    def close(self) -> None:
        """Close the idle connections (also done when garbage collected)."""
        self._pool.close()


class SqlJournal(_SqlTables):
    """A :class:`~ocop.ports.journal.PaymentJournal` in SQL tables (may share the store's)."""

    def post(self, voucher: Voucher) -> None:
        """J3: store a voucher once; the same id with another voucher is a conflict."""
        session = _Session(self._dialect, self._pool)

        def post() -> None:
            _, count = session.run(
                "INSERT INTO ocop_journal (voucher_id, order_id, body) VALUES (?, ?, ?) "
                "ON CONFLICT (voucher_id) DO NOTHING",
                [voucher.voucher_id, voucher.order_id, dumps(voucher)],
            )
            if count != 1:
                rows, _ = session.run(
                    "SELECT body FROM ocop_journal WHERE voucher_id = ?", [voucher.voucher_id]
                )
                if loads(rows[0][0], Voucher) != voucher:
                    raise IdempotencyConflict(voucher.voucher_id)

        try:
            session.transaction(post)
        finally:
            session.close()

    def vouchers(self, order_id: str | None = None) -> tuple[Voucher, ...]:
        """The journal's vouchers (of one order), in the order they were first posted."""
        session = _Session(self._dialect, self._pool)
        try:
            if order_id is None:
                rows, _ = session.run("SELECT body FROM ocop_journal ORDER BY seq")
            else:
                rows, _ = session.run(
                    "SELECT body FROM ocop_journal WHERE order_id = ? ORDER BY seq", [order_id]
                )
            return tuple(loads(row[0], Voucher) for row in rows)
        finally:
            session.close()


class SqlStore(_SqlTables):
    """An :class:`~ocop.ports.store.OrderStore` in SQL tables; each backend subclasses it.

    ``keeps_journal``: the store also keeps the payment journal (:attr:`journal`, the
    same tables), and writes each unit of work's vouchers to it in the same commit.
    """

    def __init__(
        self, dialect: Dialect, pool: ConnectionPool, *, keeps_journal: bool = False
    ) -> None:
        super().__init__(dialect, pool)
        self.keeps_journal = keeps_journal
        self.journal = SqlJournal(dialect, pool, create=False)

    def unit_of_work(self) -> StagedUnitOfWork:
        """A unit of work whose changes are written in one transaction at commit."""
        backend = SqlBackend(self._dialect, self._pool, keeps_journal=self.keeps_journal)
        return StagedUnitOfWork(backend)
