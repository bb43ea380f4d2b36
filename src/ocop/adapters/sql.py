"""What the SQL stores share: one unit of work over a DB-API connection.

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
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

import attrs

from ocop.adapters.codec import dumps, loads
from ocop.domain.errors import (
    ConcurrentUpdate,
    DuplicateOrder,
    IdempotencyConflict,
    OcopError,
    OrderNotFound,
)
from ocop.domain.journal import Voucher
from ocop.domain.operations import Operation, ProcessorResult
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


class _Staged:
    """Changes of one unit of work, applied together at commit."""

    def __init__(self) -> None:
        # order id -> (new value, version expected in the store; None for a new order)
        self.orders: dict[str, tuple[Order, int | None]] = {}
        self.operations: dict[str, Operation] = {}
        self.vouchers: dict[str, Voucher] = {}
        self.posted: set[str] = set()


class _Orders:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    def find(self, order_id: str) -> Order | None:
        staged = self._uow.staged.orders.get(order_id)
        if staged is not None:
            return staged[0]
        rows, _ = self._uow.session.run(
            "SELECT body, version FROM ocop_orders WHERE order_id = ?", [order_id]
        )
        if not rows:
            return None
        body, version = rows[0]
        return attrs.evolve(loads(body, Order), version=version)

    def get(self, order_id: str) -> Order:
        order = self.find(order_id)
        if order is None:
            raise OrderNotFound(order_id)
        return order

    def add(self, order: Order) -> None:
        if self.find(order.order_id) is not None:
            raise DuplicateOrder(order.order_id)
        self._uow.staged.orders[order.order_id] = (attrs.evolve(order, version=1), None)

    def update(self, order: Order) -> None:
        current = self.find(order.order_id)
        if current is None:
            raise OrderNotFound(order.order_id)
        if current.version != order.version:
            raise ConcurrentUpdate(order.order_id)
        staged = self._uow.staged.orders.get(order.order_id)
        expected = staged[1] if staged is not None else order.version
        self._uow.staged.orders[order.order_id] = (order.next_version(), expected)

    def ids(self) -> tuple[str, ...]:
        rows, _ = self._uow.session.run("SELECT order_id FROM ocop_orders ORDER BY seq")
        known = [row[0] for row in rows]
        return tuple(known + [i for i in self._uow.staged.orders if i not in known])


class _Operations:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    def _stored(self, where: str, params: Sequence[object]) -> dict[str, Operation]:
        rows, _ = self._uow.session.run(
            f"SELECT body FROM ocop_operations WHERE {where} ORDER BY seq",  # noqa: S608 - fixed text
            params,
        )
        found = (loads(row[0], Operation) for row in rows)
        return {op.key: op for op in found}

    def get(self, key: str) -> Operation | None:
        if key in self._uow.staged.operations:
            return self._uow.staged.operations[key]
        return self._stored("key = ?", [key]).get(key)

    def record_intent(self, operation: Operation) -> None:
        existing = self.get(operation.key)
        if existing is not None:
            if existing.request != operation.request:
                raise IdempotencyConflict(operation.key)
            return
        self._uow.staged.operations[operation.key] = operation

    def record_outcome(self, key: str, result: ProcessorResult, at: datetime) -> Operation:
        existing = self.get(key)
        if existing is None:
            raise OcopError(f"no intent logged for operation {key!r}")
        if not existing.in_doubt:
            return existing
        resolved = existing.resolved(result, at)
        self._uow.staged.operations[key] = resolved
        return resolved

    def for_order(self, order_id: str) -> tuple[Operation, ...]:
        found = self._stored("order_id = ?", [order_id])
        staged = self._uow.staged.operations.items()
        found.update((k, op) for k, op in staged if op.order_id == order_id)
        return tuple(found.values())

    def in_doubt(self) -> tuple[Operation, ...]:
        found = self._stored("in_doubt = 1", [])
        for key, op in self._uow.staged.operations.items():
            if op.in_doubt:
                found[key] = op
            else:
                found.pop(key, None)
        return tuple(found.values())


class _Outbox:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    def add(self, voucher: Voucher) -> None:
        self._uow.staged.vouchers.setdefault(voucher.voucher_id, voucher)

    def pending(self) -> tuple[Voucher, ...]:
        rows, _ = self._uow.session.run(
            "SELECT body FROM ocop_outbox WHERE posted = 0 ORDER BY seq"
        )
        found = {v.voucher_id: v for v in (loads(row[0], Voucher) for row in rows)}
        for voucher_id, voucher in self._uow.staged.vouchers.items():
            found.setdefault(voucher_id, voucher)
        return tuple(v for k, v in found.items() if k not in self._uow.staged.posted)

    def mark_posted(self, voucher_id: str) -> None:
        self._uow.staged.posted.add(voucher_id)


class SqlUnitOfWork:
    """A :class:`~ocop.ports.store.UnitOfWork` whose changes are written in one transaction.

    Reads go to the database (and see this unit's own changes); writes are staged
    and applied at :meth:`commit`, where the database checks versions and keys.
    """

    def __init__(self, dialect: Dialect) -> None:
        self.session = _Session(dialect)
        self.staged = _Staged()
        self.orders = _Orders(self)
        self.operations = _Operations(self)
        self.outbox = _Outbox(self)

    def commit(self) -> None:
        try:
            self.session.transaction(self._write)
        finally:
            self.rollback()

    def _write(self) -> None:
        run = self.session.run
        for order_id, (order, expected) in self.staged.orders.items():
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
        for key, op in self.staged.operations.items():
            self._write_operation(key, op)
        for voucher_id, voucher in self.staged.vouchers.items():
            run(
                "INSERT INTO ocop_outbox (voucher_id, posted, body) VALUES (?, 0, ?) "
                "ON CONFLICT (voucher_id) DO NOTHING",
                [voucher_id, dumps(voucher)],
            )
        for voucher_id in self.staged.posted:
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
        rows, _ = run("SELECT body FROM ocop_operations WHERE key = ?", [key])
        stored = loads(rows[0][0], Operation)
        if stored.request != op.request:
            raise IdempotencyConflict(key)
        if stored.in_doubt and op.outcome is not None:
            run(
                "UPDATE ocop_operations SET body = ?, in_doubt = ? WHERE key = ?",
                [dumps(op), 1 if op.in_doubt else 0, key],
            )

    def rollback(self) -> None:
        self.staged = _Staged()
        self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()


def create_schema(dialect: Dialect) -> None:
    """Create ocop's tables if they are missing."""
    session = _Session(dialect)

    def create() -> None:
        for statement in dialect.schema:
            session.run(statement)

    try:
        session.transaction(create)
    finally:
        session.close()


def post_to_journal(dialect: Dialect, voucher: Voucher) -> None:
    """J3: store a voucher once; the same id with another voucher is a conflict."""
    session = _Session(dialect)

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


def journal_vouchers(dialect: Dialect, order_id: str | None) -> tuple[Voucher, ...]:
    """The journal's vouchers (of one order), in the order they were first posted."""
    session = _Session(dialect)
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
