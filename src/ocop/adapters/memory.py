"""In-memory adapters: order store with operation log and outbox, journal, clocks.

The store stages every change in its unit of work and applies it at commit
under one lock, checking order versions and operation-key uniqueness there:
the same errors an SQL store raises from its constraints.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

import attrs

from ocop.domain.errors import (
    ConcurrentUpdate,
    DuplicateOrder,
    IdempotencyConflict,
    InvalidInput,
    OcopError,
    OrderNotFound,
)
from ocop.domain.journal import Voucher
from ocop.domain.operations import Operation, ProcessorResult
from ocop.domain.order import Order

__all__ = ["InMemoryJournal", "InMemoryStore", "ManualClock", "SystemClock"]


class ManualClock:
    """A clock that moves only when told: ``clock.advance(days=3)``."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise InvalidInput("ManualClock needs a timezone-aware datetime")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(
        self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0
    ) -> datetime:
        step = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if step < timedelta(0):
            raise InvalidInput("a clock does not go back")
        with self._lock:
            self._now += step
            return self._now


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@attrs.define
class _Tables:
    orders: dict[str, Order] = attrs.Factory(dict)
    operations: dict[str, Operation] = attrs.Factory(dict)
    by_order: dict[str, list[str]] = attrs.Factory(dict)  # order id -> its operation keys
    doubtful: dict[str, None] = attrs.Factory(dict)  # keys in doubt, in insertion order
    outbox: dict[str, Voucher] = attrs.Factory(dict)
    posted: set[str] = attrs.Factory(set)


class InMemoryStore:
    """An :class:`~ocop.ports.store.OrderStore` in a process's memory, safe across threads."""

    def __init__(self) -> None:
        self._tables = _Tables()
        self._lock = threading.Lock()

    def unit_of_work(self) -> _UnitOfWork:
        return _UnitOfWork(self)


class _Orders:
    def __init__(self, uow: _UnitOfWork) -> None:
        self._uow = uow

    def find(self, order_id: str) -> Order | None:
        staged = self._uow.staged_orders.get(order_id)
        if staged is not None:
            return staged[0]
        with self._uow.store._lock:
            return self._uow.store._tables.orders.get(order_id)

    def get(self, order_id: str) -> Order:
        order = self.find(order_id)
        if order is None:
            raise OrderNotFound(order_id)
        return order

    def add(self, order: Order) -> None:
        if self.find(order.order_id) is not None:
            raise DuplicateOrder(order.order_id)
        self._uow.staged_orders[order.order_id] = (attrs.evolve(order, version=1), None)

    def update(self, order: Order) -> None:
        current = self.find(order.order_id)
        if current is None:
            raise OrderNotFound(order.order_id)
        if current.version != order.version:
            raise ConcurrentUpdate(order.order_id)
        staged = self._uow.staged_orders.get(order.order_id)
        expected = staged[1] if staged is not None else order.version
        self._uow.staged_orders[order.order_id] = (order.next_version(), expected)

    def ids(self) -> tuple[str, ...]:
        with self._uow.store._lock:
            known = list(self._uow.store._tables.orders)
        return tuple(known + [i for i in self._uow.staged_orders if i not in known])


class _Operations:
    def __init__(self, uow: _UnitOfWork) -> None:
        self._uow = uow

    def get(self, key: str) -> Operation | None:
        if key in self._uow.staged_operations:
            return self._uow.staged_operations[key]
        with self._uow.store._lock:
            return self._uow.store._tables.operations.get(key)

    def record_intent(self, operation: Operation) -> None:
        existing = self.get(operation.key)
        if existing is not None:
            if existing.request != operation.request:
                raise IdempotencyConflict(operation.key)
            return
        self._uow.staged_operations[operation.key] = operation

    def record_outcome(self, key: str, result: ProcessorResult, at: datetime) -> Operation:
        existing = self.get(key)
        if existing is None:
            raise OcopError(f"no intent logged for operation {key!r}")
        if not existing.in_doubt:
            return existing
        resolved = existing.resolved(result, at)
        self._uow.staged_operations[key] = resolved
        return resolved

    def for_order(self, order_id: str) -> tuple[Operation, ...]:
        tables = self._uow.store._tables
        with self._uow.store._lock:
            found = {k: tables.operations[k] for k in tables.by_order.get(order_id, ())}
        found.update(
            (k, op) for k, op in self._uow.staged_operations.items() if op.order_id == order_id
        )
        return tuple(found.values())

    def in_doubt(self) -> tuple[Operation, ...]:
        tables = self._uow.store._tables
        with self._uow.store._lock:
            found = {k: tables.operations[k] for k in tables.doubtful}
        found.update((k, op) for k, op in self._uow.staged_operations.items() if op.in_doubt)
        return tuple(sorted(found.values(), key=lambda op: op.recorded_at))


class _Outbox:
    def __init__(self, uow: _UnitOfWork) -> None:
        self._uow = uow

    def add(self, voucher: Voucher) -> None:
        with self._uow.store._lock:
            known = voucher.voucher_id in self._uow.store._tables.outbox
        if not known:
            self._uow.staged_vouchers.setdefault(voucher.voucher_id, voucher)

    def pending(self) -> tuple[Voucher, ...]:
        with self._uow.store._lock:
            tables = self._uow.store._tables
            vouchers = [v for k, v in tables.outbox.items() if k not in tables.posted]
        known = {v.voucher_id for v in vouchers}
        vouchers += [v for k, v in self._uow.staged_vouchers.items() if k not in known]
        return tuple(v for v in vouchers if v.voucher_id not in self._uow.staged_posted)

    def mark_posted(self, voucher_id: str) -> None:
        self._uow.staged_posted.add(voucher_id)


class _UnitOfWork:
    def __init__(self, store: InMemoryStore) -> None:
        self.store = store
        self.orders = _Orders(self)
        self.operations = _Operations(self)
        self.outbox = _Outbox(self)
        self._reset()

    def _reset(self) -> None:
        # order id -> (new value, version expected in the store; None for a new order)
        self.staged_orders: dict[str, tuple[Order, int | None]] = {}
        self.staged_operations: dict[str, Operation] = {}
        self.staged_vouchers: dict[str, Voucher] = {}
        self.staged_posted: set[str] = set()

    def commit(self) -> None:
        tables = self.store._tables
        with self.store._lock:
            for order_id, (_, expected) in self.staged_orders.items():
                current = tables.orders.get(order_id)
                if expected is None and current is not None:
                    raise DuplicateOrder(order_id)
                if expected is not None and (current is None or current.version != expected):
                    raise ConcurrentUpdate(order_id)
            for key, op in self.staged_operations.items():
                stored = tables.operations.get(key)
                if stored is not None and stored.request != op.request:
                    raise IdempotencyConflict(key)
            for order_id, (order, _) in self.staged_orders.items():
                tables.orders[order_id] = order
            for key, op in self.staged_operations.items():
                stored = tables.operations.get(key)
                if stored is None:
                    tables.by_order.setdefault(op.order_id, []).append(key)
                if stored is None or (stored.in_doubt and op.outcome is not None):
                    tables.operations[key] = op
                    if op.in_doubt:
                        tables.doubtful[key] = None
                    else:
                        tables.doubtful.pop(key, None)
            for voucher_id, voucher in self.staged_vouchers.items():
                tables.outbox.setdefault(voucher_id, voucher)
            tables.posted |= self.staged_posted
        self._reset()

    def rollback(self) -> None:
        self._reset()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()


class InMemoryJournal:
    """A :class:`~ocop.ports.journal.PaymentJournal` in memory, idempotent by voucher id."""

    def __init__(self) -> None:
        self._vouchers: dict[str, Voucher] = {}
        self._lock = threading.Lock()

    def post(self, voucher: Voucher) -> None:
        with self._lock:
            existing = self._vouchers.get(voucher.voucher_id)
            if existing is None:
                self._vouchers[voucher.voucher_id] = voucher
            elif existing != voucher:
                raise IdempotencyConflict(voucher.voucher_id)

    def vouchers(self, order_id: str | None = None) -> tuple[Voucher, ...]:
        with self._lock:
            return tuple(
                v for v in self._vouchers.values() if order_id is None or v.order_id == order_id
            )
