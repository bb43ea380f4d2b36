"""In-memory adapters: order store with operation log and outbox, journal, clocks.

The store stages every change in its unit of work and applies it at commit
under one lock, checking order versions and operation-key uniqueness there:
the same errors an SQL store raises from its constraints.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import attrs

from ocop.adapters.staged import Staged, StagedUnitOfWork
from ocop.domain.errors import (
    ConcurrentUpdate,
    DuplicateOrder,
    IdempotencyConflict,
    InvalidInput,
    OcopError,
    OrderNotFound,
)
from ocop.domain.journal import Voucher
from ocop.domain.operations import Operation
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
    by_step: dict[tuple[str, str], list[str]] = attrs.Factory(dict)  # (order, step) -> keys
    doubtful: dict[str, None] = attrs.Factory(dict)  # keys in doubt, in insertion order
    outbox: dict[str, Voucher] = attrs.Factory(dict)
    pending: dict[str, None] = attrs.Factory(dict)  # outbox ids not yet posted, in order
    journal: dict[str, Voucher] = attrs.Factory(dict)
    journal_by_order: dict[str, list[str]] = attrs.Factory(dict)  # order id -> voucher ids

    def keep(self, voucher: Voucher) -> None:
        """Add ``voucher`` to the journal unless its id is there already (J3)."""
        if voucher.voucher_id not in self.journal:
            self.journal[voucher.voucher_id] = voucher
            self.journal_by_order.setdefault(voucher.order_id, []).append(voucher.voucher_id)


class _Memory:
    """The in-memory backend: tables behind one lock, written whole at commit."""

    def __init__(self, *, keeps_journal: bool) -> None:
        self.tables = _Tables()
        self.lock = threading.Lock()
        self.keeps_journal = keeps_journal

    def order(self, order_id: str) -> Order | None:
        with self.lock:
            return self.tables.orders.get(order_id)

    def order_ids(self) -> list[str]:
        with self.lock:
            return list(self.tables.orders)

    def operation(self, key: str) -> Operation | None:
        with self.lock:
            return self.tables.operations.get(key)

    def attempts(self, order_id: str, name: str) -> list[Operation]:
        with self.lock:
            keys = self.tables.by_step.get((order_id, name), ())
            return [self.tables.operations[k] for k in keys]

    def operations_of(self, order_id: str) -> list[Operation]:
        with self.lock:
            return [self.tables.operations[k] for k in self.tables.by_order.get(order_id, ())]

    def operations_in_doubt(self, order_id: str | None) -> list[Operation]:
        with self.lock:
            tables = self.tables
            if order_id is None:
                return [tables.operations[k] for k in tables.doubtful]
            keys = tables.by_order.get(order_id, ())
            return [tables.operations[k] for k in keys if k in tables.doubtful]

    def pending_vouchers(self) -> list[Voucher]:
        with self.lock:
            return [self.tables.outbox[k] for k in self.tables.pending]

    def write(self, staged: Staged) -> tuple[Voucher, ...]:
        tables = self.tables
        with self.lock:
            self._check(staged)
            for order_id, (order, _) in staged.orders.items():
                tables.orders[order_id] = order
            for key, op in staged.intents.items():
                self._write_operation(key, op)
            for key, (op, _) in staged.outcomes.items():
                if tables.operations[key].in_doubt:
                    self._write_operation(key, op)
            if self.keeps_journal:
                for voucher in staged.vouchers.values():
                    tables.keep(voucher)
                to_post: tuple[Voucher, ...] = ()
            else:
                for voucher_id, voucher in staged.vouchers.items():
                    if voucher_id not in tables.outbox:
                        tables.outbox[voucher_id] = voucher
                        tables.pending[voucher_id] = None
                to_post = tuple(staged.vouchers.values())
            for voucher_id in staged.posted:
                tables.pending.pop(voucher_id, None)
            return to_post

    def _check(self, staged: Staged) -> None:
        """Every conflict is found before anything is written (all or nothing)."""
        tables = self.tables
        for order_id, (_, expected) in staged.orders.items():
            current = tables.orders.get(order_id)
            if expected is None and current is not None:
                raise DuplicateOrder(order_id)
            if expected is not None and current is None:
                raise OrderNotFound(order_id)
            if expected is not None and current is not None and current.version != expected:
                raise ConcurrentUpdate(order_id)
        for key, op in staged.intents.items():
            stored = tables.operations.get(key)
            if stored is not None and stored.request != op.request:
                raise IdempotencyConflict(key)
        for key, (_, strict) in staged.outcomes.items():
            stored = tables.operations.get(key)
            if stored is None:
                raise OcopError(f"no intent logged for operation {key!r}")
            if strict and not stored.in_doubt:
                raise ConcurrentUpdate(stored.order_id)
        kept = tables.journal if self.keeps_journal else tables.outbox
        for voucher_id, voucher in staged.vouchers.items():
            earlier = kept.get(voucher_id)
            if earlier is not None and earlier != voucher:
                raise IdempotencyConflict(voucher_id)  # J3: one id, one voucher

    def _write_operation(self, key: str, op: Operation) -> None:
        tables = self.tables
        stored = tables.operations.get(key)
        if stored is None:
            tables.by_order.setdefault(op.order_id, []).append(key)
            tables.by_step.setdefault((op.order_id, op.name), []).append(key)
        elif not (stored.in_doubt and op.outcome is not None):
            return  # a stored definitive outcome is never replaced
        tables.operations[key] = op
        if op.in_doubt:
            tables.doubtful[key] = None
        else:
            tables.doubtful.pop(key, None)

    def release(self) -> None:
        pass


class InMemoryStore:
    """An :class:`~ocop.ports.store.OrderStore` in a process's memory, safe across threads.

    ``keeps_journal``: the store also keeps the payment journal (:attr:`journal`), and
    writes each unit of work's vouchers to it in the same commit.
    """

    def __init__(self, *, keeps_journal: bool = False) -> None:
        self._memory = _Memory(keeps_journal=keeps_journal)
        self.journal = InMemoryJournal(_shared=self._memory)

    @property
    def keeps_journal(self) -> bool:
        return self._memory.keeps_journal

    @property
    def _tables(self) -> _Tables:
        return self._memory.tables

    def unit_of_work(self) -> StagedUnitOfWork:
        return StagedUnitOfWork(self._memory)


class InMemoryJournal:
    """A :class:`~ocop.ports.journal.PaymentJournal` in memory, idempotent by voucher id."""

    def __init__(self, *, _shared: _Memory | None = None) -> None:
        memory = _shared if _shared is not None else _Memory(keeps_journal=True)
        self._tables = memory.tables
        self._lock = memory.lock

    def post(self, voucher: Voucher) -> None:
        with self._lock:
            existing = self._tables.journal.get(voucher.voucher_id)
            if existing is None:
                self._tables.keep(voucher)
            elif existing != voucher:
                raise IdempotencyConflict(voucher.voucher_id)

    def vouchers(self, order_id: str | None = None) -> tuple[Voucher, ...]:
        with self._lock:
            journal = self._tables.journal
            if order_id is None:
                return tuple(journal.values())
            return tuple(journal[k] for k in self._tables.journal_by_order.get(order_id, ()))
