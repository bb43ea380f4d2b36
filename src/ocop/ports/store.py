"""The order store port: orders, the operation log and the voucher outbox,
changed together in units of work."""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from ocop.domain.journal import Voucher
from ocop.domain.operations import Operation, ProcessorResult
from ocop.domain.order import Order


class OrderRepository(Protocol):
    """Orders inside one unit of work.

    Contract: :meth:`get` raises :class:`~ocop.domain.errors.OrderNotFound`;
    :meth:`add` raises :class:`~ocop.domain.errors.DuplicateOrder` for a known
    id; :meth:`update` takes an order whose ``version`` is the one it was read
    at and stores it as ``version + 1``. If another unit of work committed a
    change to the order in between, :meth:`update` or the commit raises
    :class:`~ocop.domain.errors.ConcurrentUpdate` and nothing is stored (O5).
    """

    def get(self, order_id: str) -> Order: ...

    def find(self, order_id: str) -> Order | None: ...

    def add(self, order: Order) -> None: ...

    def update(self, order: Order) -> None: ...

    def ids(self) -> tuple[str, ...]:
        """Every order id, in the order orders were added."""
        ...


class OperationLog(Protocol):
    """The processor-call log (rules O1-O4).

    Contract: an intent's key is unique. :meth:`record_intent` of a key already
    logged with the same request does nothing; with a different request it raises
    :class:`~ocop.domain.errors.IdempotencyConflict` (at once or at commit, the
    same error either way). :meth:`record_outcome` sets the outcome of a logged
    key; a definitive outcome is never replaced.
    """

    def record_intent(self, operation: Operation) -> None: ...

    def record_outcome(self, key: str, result: ProcessorResult, at: datetime) -> Operation: ...

    def get(self, key: str) -> Operation | None: ...

    def for_order(self, order_id: str) -> tuple[Operation, ...]:
        """The order's operations in the order their intents were logged."""
        ...

    def in_doubt(self) -> tuple[Operation, ...]:
        """Every operation without a definitive outcome, oldest first."""
        ...


class VoucherOutbox(Protocol):
    """Vouchers committed with the change that produced them, until the journal has them.

    Contract: :meth:`add` is idempotent by voucher id; :meth:`pending` lists
    vouchers not yet marked posted, in the order they were added.
    """

    def add(self, voucher: Voucher) -> None: ...

    def pending(self) -> tuple[Voucher, ...]: ...

    def mark_posted(self, voucher_id: str) -> None: ...


class UnitOfWork(Protocol):
    """One atomic change: nothing is stored unless :meth:`commit` is called.

    Used as a context manager; leaving the block without committing rolls back.
    After a commit or rollback the unit of work may be used again.
    """

    @property
    def orders(self) -> OrderRepository: ...

    @property
    def operations(self) -> OperationLog: ...

    @property
    def outbox(self) -> VoucherOutbox: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class OrderStore(Protocol):
    """A durable (or in-memory) home for orders, operations and the voucher outbox."""

    def unit_of_work(self) -> UnitOfWork: ...
