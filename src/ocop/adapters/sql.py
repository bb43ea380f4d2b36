"""What the SQL stores share: a staged-unit-of-work backend over a DB-API connection.

Each backend module (:mod:`ocop.adapters.sqlite`, :mod:`ocop.adapters.postgres`)
gives a :class:`Dialect`: how to connect and begin, and its table definitions.
The statements here are written with ``?`` placeholders and plain SQL both
backends speak (``INSERT ... ON CONFLICT DO NOTHING``). Uniqueness and versions
are enforced by the database (primary keys, ``UPDATE ... WHERE version = ?``) and
reported as the same errors the in-memory store raises (rule O5).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import attrs

from ocop.adapters.codec import dumps, loads
from ocop.adapters.staged import Staged, StagedUnitOfWork
from ocop.domain.errors import (
    ConcurrentUpdate,
    DuplicateOrder,
    IdempotencyConflict,
    OcopError,
)
from ocop.domain.journal import Voucher
from ocop.domain.operations import Operation
from ocop.domain.order import Order


class Connection(Protocol):
    """The part of a DB-API connection the SQL stores use."""

    def cursor(self) -> Any: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def close(self) -> None: ...


class _Pooled:
    """A pooled connection: closing it hands it back for the next unit of work."""

    def __init__(self, pool: ConnectionPool, connection: Connection) -> None:
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


def _close_all(connections: list[Connection]) -> None:
    while connections:
        connections.pop().close()


class ConnectionPool:
    """A few open autocommit connections kept for reuse; idle ones closed with the pool."""

    def __init__(
        self,
        connect: Callable[[], Connection],
        idle: Callable[[Connection], bool],
        keep: int = 4,
    ) -> None:
        self._connect = connect
        self._is_idle = idle
        self._keep = keep
        self._idle: list[Connection] = []
        self._lock = threading.Lock()
        # Closed when the pool is closed, or garbage collected, whichever comes first.
        self.close = weakref.finalize(self, _close_all, self._idle)

    def take(self) -> Connection:
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        return _Pooled(self, connection if connection is not None else self._connect())

    def give_back(self, connection: Connection) -> None:
        if self._is_idle(connection):
            with self._lock:
                if len(self._idle) < self._keep:
                    self._idle.append(connection)
                    return
        connection.close()


@attrs.frozen
class Dialect:
    """How one backend connects (in autocommit mode), begins a write, writes placeholders."""

    connect: Callable[[], Connection]
    begin: str
    placeholder: str
    schema: tuple[str, ...]
    translate: Callable[[Exception], OcopError | None]


class _Session:
    """One autocommit connection: reads run alone, writes inside :meth:`transaction`."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._connection: Connection | None = None

    def run(self, sql: str, params: Sequence[object] = ()) -> tuple[list[tuple[Any, ...]], int]:
        if self._connection is None:
            self._connection = self._dialect.connect()
        cursor = self._connection.cursor()
        try:
            cursor.execute(sql.replace("?", self._dialect.placeholder), tuple(params))
            rows = cursor.fetchall() if cursor.description is not None else []
            return rows, cursor.rowcount
        except Exception as error:
            mapped = self._dialect.translate(error)
            if mapped is not None:
                raise mapped from error
            raise
        finally:
            cursor.close()

    def transaction(self, work: Callable[[], None]) -> None:
        """Run ``work`` in one transaction: all of it is stored, or none."""
        self.run(self._dialect.begin)
        try:
            work()
        except BaseException:
            self.run("ROLLBACK")
            raise
        self.run("COMMIT")

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


class SqlBackend:
    """A :class:`~ocop.adapters.staged.Backend` in SQL tables, one connection at a time."""

    def __init__(self, dialect: Dialect) -> None:
        self.session = _Session(dialect)

    def _bodies(self, sql: str, params: Sequence[object] = ()) -> list[str]:
        rows, _ = self.session.run(sql, params)
        return [row[0] for row in rows]

    def order(self, order_id: str) -> Order | None:
        rows, _ = self.session.run(
            "SELECT body, version FROM ocop_orders WHERE order_id = ?", [order_id]
        )
        if not rows:
            return None
        body, version = rows[0]
        return attrs.evolve(loads(body, Order), version=version)

    def order_ids(self) -> list[str]:
        return self._bodies("SELECT order_id FROM ocop_orders ORDER BY seq")

    def operation(self, key: str) -> Operation | None:
        found = self._bodies("SELECT body FROM ocop_operations WHERE key = ?", [key])
        return loads(found[0], Operation) if found else None

    def operations_of(self, order_id: str) -> list[Operation]:
        bodies = self._bodies(
            "SELECT body FROM ocop_operations WHERE order_id = ? ORDER BY seq", [order_id]
        )
        return [loads(body, Operation) for body in bodies]

    def operations_in_doubt(self) -> list[Operation]:
        bodies = self._bodies("SELECT body FROM ocop_operations WHERE in_doubt = 1 ORDER BY seq")
        return [loads(body, Operation) for body in bodies]

    def pending_vouchers(self) -> list[Voucher]:
        bodies = self._bodies("SELECT body FROM ocop_outbox WHERE posted = 0 ORDER BY seq")
        return [loads(body, Voucher) for body in bodies]

    def write(self, staged: Staged) -> None:
        self.session.transaction(lambda: self._write(staged))

    def _write(self, staged: Staged) -> None:
        run = self.session.run
        for order_id, (order, expected) in staged.orders.items():
            if expected is None:
                _, count = run(
                    "INSERT INTO ocop_orders (order_id, version, body) VALUES (?, ?, ?) "
                    "ON CONFLICT (order_id) DO NOTHING",
                    [order_id, order.version, dumps(order)],
                )
                if count != 1:
                    raise DuplicateOrder(order_id)
                continue
            _, count = run(
                "UPDATE ocop_orders SET body = ?, version = ? WHERE order_id = ? AND version = ?",
                [dumps(order), order.version, order_id, expected],
            )
            if count != 1:
                raise ConcurrentUpdate(order_id)
        for key, op in staged.operations.items():
            self._write_operation(key, op)
        for voucher_id, voucher in staged.vouchers.items():
            run(
                "INSERT INTO ocop_outbox (voucher_id, posted, body) VALUES (?, 0, ?) "
                "ON CONFLICT (voucher_id) DO NOTHING",
                [voucher_id, dumps(voucher)],
            )
        for voucher_id in staged.posted:
            run("UPDATE ocop_outbox SET posted = 1 WHERE voucher_id = ?", [voucher_id])

    def _write_operation(self, key: str, op: Operation) -> None:
        run = self.session.run
        _, count = run(
            "INSERT INTO ocop_operations (key, order_id, in_doubt, body) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key) DO NOTHING",
            [key, op.order_id, 1 if op.in_doubt else 0, dumps(op)],
        )
        if count == 1:
            return
        stored = self.operation(key)
        assert stored is not None, "the insert found the key taken"
        if stored.request != op.request:
            raise IdempotencyConflict(key)
        if stored.in_doubt and op.outcome is not None:
            run(
                "UPDATE ocop_operations SET body = ?, in_doubt = ? WHERE key = ?",
                [dumps(op), 1 if op.in_doubt else 0, key],
            )

    def release(self) -> None:
        self.session.close()


def _create_schema(dialect: Dialect) -> None:
    """Create ocop's tables if they are missing."""
    session = _Session(dialect)

    def create() -> None:
        for statement in dialect.schema:
            session.run(statement)

    try:
        session.transaction(create)
    finally:
        session.close()


class _SqlTables:
    """A backend's tables, created on first use, reached through a connection pool."""

    def __init__(self, dialect: Dialect, pool: ConnectionPool) -> None:
        self._dialect = dialect
        self._pool = pool
        _create_schema(dialect)

    def close(self) -> None:
        """Close the idle connections (also done when garbage collected)."""
        self._pool.close()


class SqlStore(_SqlTables):
    """An :class:`~ocop.ports.store.OrderStore` in SQL tables; each backend subclasses it."""

    def unit_of_work(self) -> StagedUnitOfWork:
        """A unit of work whose changes are written in one transaction at commit."""
        return StagedUnitOfWork(SqlBackend(self._dialect))


class SqlJournal(_SqlTables):
    """A :class:`~ocop.ports.journal.PaymentJournal` in SQL tables (may share the store's)."""

    def post(self, voucher: Voucher) -> None:
        """J3: store a voucher once; the same id with another voucher is a conflict."""
        session = _Session(self._dialect)

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
        session = _Session(self._dialect)
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
