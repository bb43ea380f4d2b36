"""The unit of work every bundled store shares: read through, stage, write at commit.

A :class:`StagedUnitOfWork` reads from its :class:`Backend` and sees its own
staged changes; :meth:`~StagedUnitOfWork.commit` hands them to the backend,
which writes them atomically and checks there what only the store can know:
that no other unit of work moved the order's version, took the order id, or
logged another request under an operation key. So every store raises the same
errors at the same moments, whatever it keeps its data in.
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

import attrs

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


@attrs.define
class Staged:
    """The changes of one unit of work."""

    #: order id -> (new value, version expected in the store; None for a new order)
    orders: dict[str, tuple[Order, int | None]] = attrs.Factory(dict)
    operations: dict[str, Operation] = attrs.Factory(dict)
    vouchers: dict[str, Voucher] = attrs.Factory(dict)
    posted: set[str] = attrs.Factory(set)


class Backend(Protocol):
    """Where a store keeps its data. Reads see committed data only.

    :meth:`write` stores a unit of work's changes all together or not at all,
    raising :class:`DuplicateOrder` for a taken order id, :class:`ConcurrentUpdate`
    when an order's version is not the one expected, and
    :class:`IdempotencyConflict` for a key logged with another request. An
    operation already stored keeps its definitive outcome.
    """

    def order(self, order_id: str) -> Order | None: ...

    def order_ids(self) -> list[str]: ...

    def operation(self, key: str) -> Operation | None: ...

    def operations_of(self, order_id: str) -> list[Operation]: ...

    def operations_in_doubt(self) -> list[Operation]: ...

    def pending_vouchers(self) -> list[Voucher]: ...

    def write(self, staged: Staged) -> None: ...

    def release(self) -> None:
        """The unit of work is done with the backend for now (a connection may go back)."""
        ...


class _Orders:
    def __init__(self, uow: StagedUnitOfWork) -> None:
        self._uow = uow

    def find(self, order_id: str) -> Order | None:
        staged = self._uow.staged.orders.get(order_id)
        return staged[0] if staged is not None else self._uow.backend.order(order_id)

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
        known = self._uow.backend.order_ids()
        return tuple(known + [i for i in self._uow.staged.orders if i not in known])


class _Operations:
    def __init__(self, uow: StagedUnitOfWork) -> None:
        self._uow = uow

    def get(self, key: str) -> Operation | None:
        staged = self._uow.staged.operations.get(key)
        return staged if staged is not None else self._uow.backend.operation(key)

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
        found = {op.key: op for op in self._uow.backend.operations_of(order_id)}
        for key, op in self._uow.staged.operations.items():
            if op.order_id == order_id:
                found[key] = op
        return tuple(found.values())

    def in_doubt(self) -> tuple[Operation, ...]:
        found = {op.key: op for op in self._uow.backend.operations_in_doubt()}
        for key, op in self._uow.staged.operations.items():
            if op.in_doubt:
                found[key] = op
            else:
                found.pop(key, None)
        return tuple(found.values())


class _Outbox:
    def __init__(self, uow: StagedUnitOfWork) -> None:
        self._uow = uow

    def add(self, voucher: Voucher) -> None:
        self._uow.staged.vouchers.setdefault(voucher.voucher_id, voucher)

    def pending(self) -> tuple[Voucher, ...]:
        found = {v.voucher_id: v for v in self._uow.backend.pending_vouchers()}
        for voucher_id, voucher in self._uow.staged.vouchers.items():
            found.setdefault(voucher_id, voucher)
        return tuple(v for k, v in found.items() if k not in self._uow.staged.posted)

    def mark_posted(self, voucher_id: str) -> None:
        self._uow.staged.posted.add(voucher_id)


class StagedUnitOfWork:
    """A :class:`~ocop.ports.store.UnitOfWork` over a :class:`Backend`."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.staged = Staged()
        self.orders = _Orders(self)
        self.operations = _Operations(self)
        self.outbox = _Outbox(self)

    def commit(self) -> None:
        try:
            self.backend.write(self.staged)
        finally:
            self.rollback()

    def rollback(self) -> None:
        self.staged = Staged()
        self.backend.release()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()
