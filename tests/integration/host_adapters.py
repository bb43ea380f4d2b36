"""A host's own adapters, written from the ports' documentation alone.

A host back office embeds ocop with its own order store (dicts under a lock), its own
payment journal (a list) and its own processor connector (over the simulator, as a
provider's client would be). Nothing here imports ocop's bundled store or journal: if a
port cannot be implemented from its docstring, these adapters and their tests show it.
Returned values are equal copies, never the objects stored, and lists come in the order
each port promises and no other, so ocop relying on more than the port says fails here.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Self, TypeVar

import attrs

# The errors a store raises are public from ocop (docs/errors.md).
from ocop import ConcurrentUpdate, DuplicateOrder, IdempotencyConflict, OrderNotFound
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain.queries import keys_of, matches
from ocop.ports.journal import Voucher
from ocop.ports.processor import (
    AuthorizationToken,
    CaptureToken,
    CardToken,
    Money,
    ProcessorCapabilities,
    ProcessorResult,
    SavedInstrument,
)
from ocop.ports.store import (
    Committed,
    Notification,
    Operation,
    Order,
    OrderQuery,
)

__all__ = ["DictStore", "HostProcessor", "JournalKeepingStore", "ListJournal"]


T = TypeVar("T")


def _copy(value: T) -> T:
    """An equal value that is not the one stored (frozen attrs values)."""
    return attrs.evolve(value)  # type: ignore[misc]


class _Tables:
    """What the store has committed."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.orders: dict[str, Order] = {}  # insertion order: the order orders were added
        self.operations: dict[str, Operation] = {}  # insertion order: intents logged
        self.outbox: dict[str, Voucher] = {}
        self.posted: set[str] = set()
        self.claims: dict[str, tuple[str, datetime]] = {}
        self.review: dict[str, Notification] = {}


class _Orders:
    """OrderRepository over the unit's staged orders and the committed table."""

    def __init__(self, unit: _Unit) -> None:
        self._unit = unit

    def get(self, order_id: str) -> Order:
        found = self.find(order_id)
        if found is None:
            raise OrderNotFound(order_id)
        return found

    def find(self, order_id: str) -> Order | None:
        unit = self._unit
        if order_id in unit.orders:
            return _copy(unit.orders[order_id])
        with unit.tables.lock:
            stored = unit.tables.orders.get(order_id)
        return None if stored is None else _copy(stored)

    def add(self, order: Order) -> None:
        unit = self._unit
        with unit.tables.lock:
            known = order.order_id in unit.tables.orders
        if known or order.order_id in unit.orders:
            raise DuplicateOrder(order.order_id)
        unit.orders[order.order_id] = order
        unit.added.append(order.order_id)

    def update(self, order: Order) -> None:
        unit = self._unit
        staged = unit.orders.get(order.order_id)
        if staged is not None and staged.version != order.version:
            raise ConcurrentUpdate(order.order_id)
        if staged is None:
            with unit.tables.lock:
                if order.order_id not in unit.tables.orders:
                    raise OrderNotFound(order.order_id)
            unit.read_at[order.order_id] = order.version
        unit.orders[order.order_id] = attrs.evolve(order, version=order.version + 1)

    def touch(self, order: Order) -> None:
        self.update(order)

    def ids(self) -> tuple[str, ...]:
        with self._unit.tables.lock:
            known = tuple(self._unit.tables.orders)
        return known + tuple(i for i in self._unit.added if i not in known)

    def query(self, query: OrderQuery, now: datetime) -> tuple[str, ...]:
        tables = self._unit.tables
        with tables.lock:
            orders = list(tables.orders.values())
            doubt = {op.order_id for op in tables.operations.values() if op.awaiting}
        ids = [o.order_id for o in orders]
        if query.after is not None:
            if query.after not in ids:
                raise OrderNotFound(query.after)
            orders = orders[ids.index(query.after) + 1 :]
        found = tuple(
            o.order_id for o in orders if matches(keys_of(o), o.order_id in doubt, query, now)
        )
        return found if query.limit is None else found[: query.limit]


class _Operations:
    """OperationLog (and OperationsByReference) over staged and committed operations."""

    def __init__(self, unit: _Unit) -> None:
        self._unit = unit

    def _all(self) -> dict[str, Operation]:
        with self._unit.tables.lock:
            merged = dict(self._unit.tables.operations)
        merged.update(self._unit.operations)
        for intent in self._unit.intents:
            merged.setdefault(intent.key, intent)
        return merged

    def record_intent(self, operation: Operation) -> None:
        known = self.get(operation.key)
        if known is not None:
            if known.request != operation.request:
                raise IdempotencyConflict(operation.key)
            return
        self._unit.operations[operation.key] = operation
        self._unit.new_keys.append(operation.key)

    def record_intents(self, operations: tuple[Operation, ...]) -> None:
        for operation in operations:  # not read: the commit checks the keys
            self._unit.intents.append(operation)

    def record_outcome(self, key: str, result: ProcessorResult, at: datetime) -> Operation:
        known = self.get(key)
        if known is None:
            raise LookupError(f"no intent logged under {key!r}")
        if not known.awaiting:
            return known  # a definitive outcome is never replaced
        resolved = known.resolved(result, at)
        self._unit.operations[key] = resolved
        return _copy(resolved)

    def settle(self, operation: Operation) -> None:
        self._unit.operations[operation.key] = operation
        self._unit.settled.add(operation.key)

    def get(self, key: str) -> Operation | None:
        found = self._all().get(key)
        return None if found is None else _copy(found)

    def attempts(self, order_id: str, name: str) -> tuple[Operation, ...]:
        mine = [o for o in self._all().values() if o.order_id == order_id and o.name == name]
        return tuple(_copy(o) for o in sorted(mine, key=lambda o: o.attempt))

    def for_order(self, order_id: str) -> tuple[Operation, ...]:
        return tuple(_copy(o) for o in self._all().values() if o.order_id == order_id)

    def in_doubt(self, order_id: str | None = None) -> tuple[Operation, ...]:
        return tuple(
            _copy(o)
            for o in self._all().values()
            if o.awaiting and (order_id is None or o.order_id == order_id)
        )

    def by_reference(self, reference: str) -> tuple[Operation, ...]:
        if reference == "":
            return ()
        # In no promised order: newest first, so ocop may not rely on any order.
        found = [o for o in self._all().values() if o.reference == reference]
        return tuple(_copy(o) for o in reversed(found))


class _Outbox:
    """VoucherOutbox over staged and committed vouchers."""

    def __init__(self, unit: _Unit) -> None:
        self._unit = unit

    def add(self, voucher: Voucher) -> None:
        with self._unit.tables.lock:
            known = voucher.voucher_id in self._unit.tables.outbox
        if not known and voucher.voucher_id not in self._unit.vouchers:
            self._unit.vouchers[voucher.voucher_id] = voucher

    def pending(self) -> tuple[Voucher, ...]:
        tables = self._unit.tables
        with tables.lock:
            waiting = [v for i, v in tables.outbox.items() if i not in tables.posted]
        waiting += self._unit.vouchers.values()
        return tuple(_copy(v) for v in waiting if v.voucher_id not in self._unit.posted)

    def mark_posted(self, voucher_id: str) -> None:
        self._unit.posted.add(voucher_id)


class _Unit:
    """One unit of work: staged changes, written under the store's lock by commit."""

    def __init__(self, tables: _Tables) -> None:
        self.tables = tables
        self._reset()

    def _reset(self) -> None:
        self.orders: dict[str, Order] = {}
        self.added: list[str] = []
        self.read_at: dict[str, int] = {}
        self.operations: dict[str, Operation] = {}
        self.new_keys: list[str] = []
        self.intents: list[Operation] = []
        self.settled: set[str] = set()
        self.vouchers: dict[str, Voucher] = {}
        self.posted: set[str] = set()

    def _refusal(self) -> Exception | None:
        """What stops this unit's commit, under the lock: the error, or None."""
        tables = self.tables
        for order_id in self.added:
            if order_id in tables.orders:
                return DuplicateOrder(order_id)
        for order_id, version in self.read_at.items():
            if tables.orders[order_id].version != version:
                return ConcurrentUpdate(order_id)
        for key in self.new_keys:
            if key in tables.operations:
                return IdempotencyConflict(key)
        for intent in self.intents:
            logged = tables.operations.get(intent.key) or self.operations.get(intent.key)
            if logged is not None and logged.request != intent.request:
                return IdempotencyConflict(intent.key)
        for key in self.settled:
            stored = tables.operations.get(key)
            if stored is not None and not stored.awaiting:
                return ConcurrentUpdate(stored.order_id)
        return None

    def commit(self) -> Committed:
        tables = self.tables
        with tables.lock:
            refusal = self._refusal()
            if refusal is not None:
                self._reset()
                raise refusal
            for intent in self.intents:
                if intent.key not in tables.operations:
                    self.operations.setdefault(intent.key, intent)
            tables.orders.update(self.orders)
            for key, operation in self.operations.items():
                stored = tables.operations.get(key)
                if stored is None or stored.awaiting:
                    tables.operations[key] = operation
            tables.outbox.update(self.vouchers)
            tables.posted |= self.posted
            committed = Committed(
                orders={i: _copy(o) for i, o in self.orders.items()},
                vouchers=tuple(_copy(v) for v in self.vouchers.values()),
            )
        self._reset()
        return committed

    def rollback(self) -> None:
        self._reset()


class _UnitOfWork:
    """The UnitOfWork the store hands out."""

    def __init__(self, tables: _Tables) -> None:
        self._unit = _Unit(tables)

    @property
    def orders(self) -> _Orders:
        return _Orders(self._unit)

    @property
    def operations(self) -> _Operations:
        return _Operations(self._unit)

    @property
    def outbox(self) -> _Outbox:
        return _Outbox(self._unit)

    def commit(self) -> Committed:
        return self._unit.commit()

    def rollback(self) -> None:
        self._unit.rollback()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._unit.rollback()


class DictStore:
    """A host's OrderStore: dicts under a lock; it does not keep the journal."""

    def __init__(self) -> None:
        self._tables = _Tables()

    def unit_of_work(self) -> _UnitOfWork:
        return _UnitOfWork(self._tables)

    def claim(
        self, names: Sequence[str], holder: str, until: datetime, now: datetime
    ) -> tuple[str, ...]:
        claimed = []
        with self._tables.lock:
            for name in dict.fromkeys(names):  # each name once, where it first comes
                other = self._tables.claims.get(name)
                if other is None or other[0] == holder or other[1] <= now:
                    self._tables.claims[name] = (holder, until)
                    claimed.append(name)
        return tuple(claimed)

    def release(self, names: Sequence[str], holder: str) -> None:
        with self._tables.lock:
            for name in names:
                if self._tables.claims.get(name, ("", None))[0] == holder:
                    del self._tables.claims[name]

    def keep_for_review(self, notification: Notification) -> bool:
        with self._tables.lock:
            if notification.notification_id in self._tables.review:
                return False
            self._tables.review[notification.notification_id] = notification
            return True

    def kept_for_review(self) -> tuple[Notification, ...]:
        with self._tables.lock:
            return tuple(_copy(n) for n in self._tables.review.values())


class _JournalKeepingUnitOfWork(_UnitOfWork):
    """A unit of work that writes its vouchers to the store's journal as it commits."""

    def __init__(self, tables: _Tables, journal: ListJournal) -> None:
        super().__init__(tables)
        self._journal = journal

    def commit(self) -> Committed:
        with self._unit.tables.lock:
            committed = self._unit.commit()
            for voucher in committed.vouchers:
                self._journal.post(voucher)
                self._unit.tables.posted.add(voucher.voucher_id)
        return Committed(orders=committed.orders)


class JournalKeepingStore(DictStore):
    """A host's store that also keeps the payment journal (``keeps_journal``)."""

    keeps_journal = True

    def __init__(self) -> None:
        super().__init__()
        self.journal = ListJournal()

    def unit_of_work(self) -> _UnitOfWork:
        return _JournalKeepingUnitOfWork(self._tables, self.journal)


class ListJournal:
    """A host's PaymentJournal: posts to a list, idempotent by voucher id (J3)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.posted: list[Voucher] = []

    def post(self, voucher: Voucher) -> None:
        with self._lock:
            for known in self.posted:
                if known.voucher_id == voucher.voucher_id:
                    if known != voucher:
                        raise IdempotencyConflict(voucher.voucher_id)
                    return
            self.posted.append(voucher)

    def vouchers(self, order_id: str | None = None) -> tuple[Voucher, ...]:
        with self._lock:
            return tuple(
                _copy(v) for v in self.posted if order_id is None or v.order_id == order_id
            )


class HostProcessor:
    """A host's processor connector, every port method written out, over the simulator."""

    def __init__(self, client: SimulatedProcessor) -> None:
        self.client = client

    @property
    def capabilities(self) -> ProcessorCapabilities:
        return self.client.capabilities

    def authorize(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        return self.client.authorize(key, card, amount)

    def adjust(self, key: str, authorization: AuthorizationToken, amount: Money) -> ProcessorResult:
        return self.client.adjust(key, authorization, amount)

    def capture(
        self, key: str, authorization: AuthorizationToken, amount: Money
    ) -> ProcessorResult:
        return self.client.capture(key, authorization, amount)

    def void(self, key: str, authorization: AuthorizationToken) -> ProcessorResult:
        return self.client.void(key, authorization)

    def refund(self, key: str, capture: CaptureToken, amount: Money) -> ProcessorResult:
        return self.client.refund(key, capture, amount)

    def unlinked_refund(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        return self.client.unlinked_refund(key, card, amount)

    def tokenize(self, key: str, customer_id: str, instrument_id: str, cvv: str) -> ProcessorResult:
        return self.client.tokenize(key, customer_id, instrument_id, cvv)

    def save_instrument(self, customer_id: str, card: CardToken) -> SavedInstrument:
        return self.client.save_instrument(customer_id, card)

    def instruments(self, customer_id: str) -> tuple[SavedInstrument, ...]:
        return self.client.instruments(customer_id)

    def lookup(self, key: str) -> ProcessorResult:
        return self.client.lookup(key)
