"""The unit of work every bundled store shares: read through, stage, write at commit.

A :class:`StagedUnitOfWork` reads from its :class:`Backend` and sees its own
staged changes; :meth:`~StagedUnitOfWork.commit` hands them to the backend,
which writes them atomically and checks there what only the store can know:
that no other unit of work moved the order's version, took the order id, logged
another request under an operation key, or settled an operation first. So every
store raises the same errors at the same moments, whatever it keeps its data in;
and nothing is read again to learn what was written: the commit returns it.
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

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
from ocop.domain.queries import OrderQuery
from ocop.ports.store import Committed


class Staged:
    """The changes of one unit of work (one is made for every unit: a plain class)."""

    __slots__ = ("intents", "orders", "outcomes", "posted", "touched", "vouchers")

    def __init__(self) -> None:
        #: order id -> (new value, version expected in the store; None for a new order)
        self.orders: dict[str, tuple[Order, int | None]] = {}
        #: operations logged by this unit (an intent, possibly with its outcome already)
        self.intents: dict[str, Operation] = {}
        #: key -> (operation with its outcome, strict): stored only over an operation still
        #: in doubt; ``strict``: otherwise the commit fails with ConcurrentUpdate
        self.outcomes: dict[str, tuple[Operation, bool]] = {}
        self.vouchers: dict[str, Voucher] = {}
        self.posted: set[str] = set()
        #: orders whose new version changes nothing else (the backend may write the
        #: version only)
        self.touched: set[str] = set()

    @property
    def empty(self) -> bool:
        """Nothing staged (``touched`` names only orders in ``orders``)."""
        return not (self.orders or self.intents or self.outcomes or self.vouchers or self.posted)


class Backend(Protocol):
    """Where a store keeps its data. Reads see committed data only.

    :meth:`write` stores a unit of work's changes all together or not at all,
    raising :class:`DuplicateOrder` for a taken order id, :class:`ConcurrentUpdate`
    when an order's version is not the one expected (or an operation settled
    strictly was settled already), and :class:`IdempotencyConflict` for a key
    logged with another request. An operation already stored keeps its
    definitive outcome. It returns the vouchers that still wait for the journal.
    """

    def order(self, order_id: str) -> Order | None: ...

    def order_ids(self) -> list[str]: ...

    def query(self, query: OrderQuery, now: datetime) -> list[str]:
        """The committed orders ``query`` lists at ``now``, by index (see
        :meth:`~ocop.ports.store.OrderRepository.query`)."""
        ...

    def operation(self, key: str) -> Operation | None: ...

    def attempts(self, order_id: str, name: str) -> list[Operation]: ...

    def operations_of(self, order_id: str) -> list[Operation]: ...

    def operations_in_doubt(self, order_id: str | None) -> list[Operation]: ...

    def operations_by_reference(self, reference: str) -> list[Operation]:
        """The committed operations whose answer carried ``reference``, by index (see
        :class:`~ocop.ports.store.OperationsByReference`)."""
        ...

    def pending_vouchers(self) -> list[Voucher]: ...

    def write(self, staged: Staged) -> tuple[Voucher, ...]: ...

    def release(self) -> None:
        """The unit of work is done with the backend for now (a connection may go back)."""
        ...


class _Orders:
    __slots__ = ("_session",)

    def __init__(self, session: _Session) -> None:
        self._session = session

    def find(self, order_id: str) -> Order | None:
        staged = self._session.staged.orders.get(order_id)
        return staged[0] if staged is not None else self._session.backend.order(order_id)

    def get(self, order_id: str) -> Order:
        order = self.find(order_id)
        if order is None:
            raise OrderNotFound(order_id)
        return order

    def add(self, order: Order) -> None:
        if self.find(order.order_id) is not None:
            raise DuplicateOrder(order.order_id)
        self._session.staged.orders[order.order_id] = (order.at_version(1), None)

    def update(self, order: Order) -> None:
        """Stage ``order`` as its next version; the store checks the version at commit.

        An order older than the version this unit of work replaces would not move the
        version on (the change committed in between would be lost): it is refused as a
        concurrent update."""
        staged = self._session.staged.orders.get(order.order_id)
        expected = staged[1] if staged is not None else order.version
        if expected is not None and order.version < expected:
            raise ConcurrentUpdate(order.order_id)
        self._session.staged.orders[order.order_id] = (order.next_version(), expected)
        self._session.staged.touched.discard(order.order_id)

    def touch(self, order: Order) -> None:
        """Stage the order's next version, nothing else changed."""
        if order.order_id in self._session.staged.orders:
            self.update(order)
            return
        self._session.staged.orders[order.order_id] = (order.next_version(), order.version)
        self._session.staged.touched.add(order.order_id)

    def ids(self) -> tuple[str, ...]:
        known = self._session.backend.order_ids()
        return tuple(known + [i for i in self._session.staged.orders if i not in known])

    def query(self, query: OrderQuery, now: datetime) -> tuple[str, ...]:
        """The committed orders ``query`` lists at ``now`` (staged changes are not seen)."""
        return tuple(self._session.backend.query(query, now))


class _Operations:
    __slots__ = ("_session",)

    def __init__(self, session: _Session) -> None:
        self._session = session

    def get(self, key: str) -> Operation | None:
        staged = self._session.staged
        if key in staged.outcomes:
            return staged.outcomes[key][0]
        if key in staged.intents:
            return staged.intents[key]
        return self._session.backend.operation(key)

    def record_intent(self, operation: Operation) -> None:
        existing = self.get(operation.key)
        if existing is not None:
            if existing.request != operation.request:
                raise IdempotencyConflict(operation.key)
            return
        self._session.staged.intents[operation.key] = operation

    def record_intents(self, operations: tuple[Operation, ...]) -> None:
        """Log new intents without reading: a taken key fails the commit (O4)."""
        for operation in operations:
            self._session.staged.intents[operation.key] = operation

    def record_outcome(self, key: str, result: ProcessorResult, at: datetime) -> Operation:
        existing = self.get(key)
        if existing is None:
            raise OcopError(f"no intent logged for operation {key!r}")
        if not existing.awaiting:
            return existing
        resolved = existing.resolved(result, at)
        if key in self._session.staged.intents:
            self._session.staged.intents[key] = resolved
        else:
            self._session.staged.outcomes[key] = (resolved, False)
        return resolved

    def settle(self, operation: Operation) -> None:
        """Store ``operation``'s outcome; the commit fails if another unit settled it first."""
        self._session.staged.outcomes[operation.key] = (operation, True)

    def attempts(self, order_id: str, name: str) -> tuple[Operation, ...]:
        found = {op.key: op for op in self._session.backend.attempts(order_id, name)}
        for op in self._staged():
            if op.order_id == order_id and op.name == name:
                found[op.key] = op
        return tuple(sorted(found.values(), key=lambda op: op.attempt))

    def for_order(self, order_id: str) -> tuple[Operation, ...]:
        found = {op.key: op for op in self._session.backend.operations_of(order_id)}
        for op in self._staged():
            if op.order_id == order_id:
                found[op.key] = op
        return tuple(found.values())

    def in_doubt(self, order_id: str | None = None) -> tuple[Operation, ...]:
        found = {op.key: op for op in self._session.backend.operations_in_doubt(order_id)}
        for op in self._staged():
            if order_id is not None and op.order_id != order_id:
                continue
            if op.awaiting:
                found[op.key] = op
            else:
                found.pop(op.key, None)
        return tuple(found.values())

    def by_reference(self, reference: str) -> tuple[Operation, ...]:
        """The operations whose answer carried ``reference`` (N2), staged ones included."""
        if not reference:
            return ()
        found = {op.key: op for op in self._session.backend.operations_by_reference(reference)}
        for op in self._staged():
            if op.reference == reference:
                found[op.key] = op
            else:
                found.pop(op.key, None)
        return tuple(found.values())

    def _staged(self) -> list[Operation]:
        staged = self._session.staged
        return [*staged.intents.values(), *(op for op, _ in staged.outcomes.values())]


class _Outbox:
    __slots__ = ("_session",)

    def __init__(self, session: _Session) -> None:
        self._session = session

    def add(self, voucher: Voucher) -> None:
        self._session.staged.vouchers.setdefault(voucher.voucher_id, voucher)

    def pending(self) -> tuple[Voucher, ...]:
        found = {v.voucher_id: v for v in self._session.backend.pending_vouchers()}
        for voucher_id, voucher in self._session.staged.vouchers.items():
            found.setdefault(voucher_id, voucher)
        return tuple(v for k, v in found.items() if k not in self._session.staged.posted)

    def mark_posted(self, voucher_id: str) -> None:
        self._session.staged.posted.add(voucher_id)


class _Session:
    """What a unit of work shares with its repositories: the backend and the changes staged
    so far. The repositories hold this, not the unit of work, so no reference cycle keeps a
    unit of work (or its backend) alive once it is dropped: it is freed at once, not left
    to the cyclic garbage collector."""

    __slots__ = ("backend", "staged")

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.staged = Staged()


class StagedUnitOfWork:
    """A :class:`~ocop.ports.store.UnitOfWork` over a :class:`Backend`."""

    def __init__(self, backend: Backend) -> None:
        self._session = session = _Session(backend)
        self.orders = _Orders(session)
        self.operations = _Operations(session)
        self.outbox = _Outbox(session)

    @property
    def backend(self) -> Backend:
        return self._session.backend

    @property
    def staged(self) -> Staged:
        return self._session.staged

    def commit(self) -> Committed:
        staged = self._session.staged
        try:
            to_post = self._session.backend.write(staged)
        finally:
            self.rollback()
        return Committed(
            orders={order_id: order for order_id, (order, _) in staged.orders.items()},
            vouchers=to_post,
        )

    def rollback(self) -> None:
        session = self._session
        if not session.staged.empty:
            session.staged = Staged()
        session.backend.release()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()
