"""The order store port: orders, the operation log and the voucher outbox,
changed together in units of work."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

import attrs

from ocop.domain.journal import Voucher
from ocop.domain.notifications import Notification, NotificationEvent
from ocop.domain.operations import Operation, ProcessorResult
from ocop.domain.order import Order
from ocop.domain.queries import OrderQuery

__all__ = [
    "Committed",
    "Notification",
    "NotificationEvent",
    "Operation",
    "OperationLog",
    "OperationsByReference",
    "Order",
    "OrderQuery",
    "OrderRepository",
    "OrderStore",
    "ProcessorResult",
    "ReviewByOrder",
    "UnitOfWork",
    "Voucher",
    "VoucherOutbox",
]


class OrderRepository(Protocol):
    """Orders inside one unit of work.

    Contract: :meth:`get` and :meth:`find` see what this unit of work staged (an
    order added or updated in it reads as staged); :meth:`get` raises
    :class:`~ocop.domain.errors.OrderNotFound`; :meth:`add` raises
    :class:`~ocop.domain.errors.DuplicateOrder` for a known id, at once or at commit
    (two units adding one id: the second to commit gets it, and nothing it staged is
    stored); :meth:`update` takes an order whose ``version`` is the one it was read
    at and stores it as ``version + 1``, without reading it again: the store
    checks the version when it writes. If another unit of work committed a
    change to the order in between, :meth:`update` or the commit raises
    :class:`~ocop.domain.errors.ConcurrentUpdate` and nothing is stored (O5).
    """

    def get(self, order_id: str) -> Order: ...

    def find(self, order_id: str) -> Order | None: ...

    def add(self, order: Order) -> None: ...

    def update(self, order: Order) -> None: ...

    def touch(self, order: Order) -> None:
        """Claim the order's next version without changing it: as :meth:`update`, for a
        unit of work that must serialise with other workers on the order (O5) but has
        nothing of the order to store."""
        ...

    def ids(self) -> tuple[str, ...]:
        """Every order id, in the order orders were added."""
        ...

    def query(self, query: OrderQuery, now: datetime) -> tuple[str, ...]:
        """The ids of the committed orders that ``query`` lists at ``now``
        (:func:`~ocop.domain.queries.matches` of each order's
        :func:`~ocop.domain.queries.keys_of`), in the order they were added; what this unit
        of work staged is not seen. ``query.after`` names an order the store holds, else
        :class:`~ocop.domain.errors.OrderNotFound`. Served by indexes kept with each write:
        its cost grows with the orders that match, not with the orders stored."""
        ...


class OperationLog(Protocol):
    """The processor-call log (rules O1-O4).

    Contract: an intent's key is unique. :meth:`record_intent` of a key already
    logged with the same request does nothing; with a different request it raises
    :class:`~ocop.domain.errors.IdempotencyConflict` (at once or at commit, the
    same error either way); :meth:`record_intents` logs intents without reading
    first, and the commit checks their keys as :meth:`record_intent` would: a key
    already logged with the same request stays as logged, one logged with a different
    request fails the commit with that error and stores nothing of the unit.
    :meth:`get`, :meth:`attempts`, :meth:`for_order` and :meth:`in_doubt` see what this
    unit of work staged.
    :meth:`record_outcome` sets the outcome of a logged key; a definitive outcome
    is never replaced. :meth:`settle` stores an operation's outcome only if the
    operation still has no definitive outcome when the unit commits
    (:attr:`~ocop.domain.operations.Operation.awaiting`: in doubt, or accepted pending,
    N1; a pending operation is settled by its notification); if another unit gave it a
    definitive outcome first, the commit raises
    :class:`~ocop.domain.errors.ConcurrentUpdate` (``order_id``: the operation's order)
    and stores nothing, so an outcome is applied to its order once. Every query is
    served by an index.

    An operation log may also find operations by the processor's reference
    (:class:`OperationsByReference`, which the bundled stores implement); without it, a
    notification that names its operation by reference alone is kept for review (N2).
    """

    def record_intent(self, operation: Operation) -> None: ...

    def record_intents(self, operations: tuple[Operation, ...]) -> None: ...

    def record_outcome(self, key: str, result: ProcessorResult, at: datetime) -> Operation: ...

    def settle(self, operation: Operation) -> None: ...

    def get(self, key: str) -> Operation | None: ...

    def attempts(self, order_id: str, name: str) -> tuple[Operation, ...]:
        """The attempts logged for one step of an order, first attempt first."""
        ...

    def for_order(self, order_id: str) -> tuple[Operation, ...]:
        """The order's operations in the order their intents were logged."""
        ...

    def in_doubt(self, order_id: str | None = None) -> tuple[Operation, ...]:
        """Every operation without a definitive outcome (of one order), oldest first."""
        ...


class OperationsByReference(Protocol):
    """What an :class:`OperationLog` may do besides (optional: the back office looks for
    :meth:`by_reference` on the log and, where it is missing, keeps for review a
    notification that names no operation key, N2).

    Contract (:class:`~ocop.testing.contracts.OrderStoreContract` checks it on a store
    whose log has it): :meth:`by_reference` lists the operations whose recorded answer
    carried ``reference`` as its token's value
    (:attr:`~ocop.domain.operations.Operation.reference`: an authorization's, capture's
    or refund's token; a void or an amount update carries its authorization's), each
    once, in no promised order, with what this unit of work staged; none for "", nor an
    operation with no answer yet. Served by an index: its cost grows with the
    operations that carry the reference, not with the operations logged.
    """

    def by_reference(self, reference: str) -> tuple[Operation, ...]: ...


class VoucherOutbox(Protocol):
    """Vouchers committed with the change that produced them, until the journal has them.

    Contract: :meth:`add` is idempotent by voucher id: a voucher id added before, even
    one marked posted since, is not added again (a store that deletes posted vouchers
    keeps their ids). :meth:`pending` lists vouchers not yet marked posted, in the order
    they were added, with what this unit of work staged. :meth:`mark_posted` takes
    effect with the unit's commit (a rollback undoes it); an id the outbox does not hold
    is ignored.
    """

    def add(self, voucher: Voucher) -> None: ...

    def pending(self) -> tuple[Voucher, ...]: ...

    def mark_posted(self, voucher_id: str) -> None: ...


@attrs.frozen(kw_only=True)
class Committed:
    """What a commit stored: each order it added, updated or touched, as now stored (with
    its new version; the back office reads the order it changed from here), and the
    vouchers this unit of work added to the outbox, which the back office then posts to
    the journal (none when the store keeps the journal and wrote them with the change).
    Not the outbox's older vouchers still waiting: ``recover()`` posts those."""

    orders: Mapping[str, Order] = attrs.Factory(dict)
    vouchers: tuple[Voucher, ...] = ()


class UnitOfWork(Protocol):
    """One atomic change: nothing is stored unless :meth:`commit` is called.

    Used as a context manager; leaving the block without committing rolls back.
    After a commit or rollback the unit of work may be used again. :meth:`commit`
    returns what it stored, so nothing is read again to learn it.
    """

    @property
    def orders(self) -> OrderRepository: ...

    @property
    def operations(self) -> OperationLog: ...

    @property
    def outbox(self) -> VoucherOutbox: ...

    def commit(self) -> Committed: ...

    def rollback(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class OrderStore(Protocol):
    """A durable (or in-memory) home for orders, operations and the voucher outbox.

    Several threads (and, for a store whose database several processes share, each
    process) use one store at once, each thread with units of work of its own: the store
    is safe to use so, and serialises their changes as the contracts here say (O5); a
    unit of work is used by one thread.

    Errors: a store raises the errors of :mod:`ocop.domain.errors` (importable from
    :mod:`ocop`), never its driver's own, and a failed commit stores nothing (E3):
    :class:`~ocop.domain.errors.StorageUnavailable` when its database cannot be reached,
    :class:`~ocop.domain.errors.StorageBusy` when it stayed locked or busy past the wait
    (the back office retries a commit that holds a processor's answer, and ``recover()``
    leaves that operation for its next run and goes on with the others),
    :class:`~ocop.domain.errors.StorageLimitExceeded` for a value it cannot hold, and
    :class:`~ocop.domain.errors.StorageError` for any other failure. Any other exception
    stops the call at once: an answer in hand is then left in doubt, for ``recover()``.

    A store may also keep the payment journal: then the vouchers a unit of work adds
    are written to the journal in its commit, and :class:`Committed` lists none. Such a
    store says so with an attribute ``keeps_journal`` that is true, and offers that
    journal (a :class:`~ocop.ports.journal.PaymentJournal`) as its attribute
    ``journal``: the back office is then wired with ``journal=store.journal`` and
    refuses any other (:class:`~ocop.domain.errors.InvalidInput`). A store without
    ``keeps_journal`` keeps the vouchers in its outbox and lists them in
    :class:`Committed`, and the back office posts them to the journal it was given.
    """

    def unit_of_work(self) -> UnitOfWork: ...

    def claim(
        self, names: Sequence[str], holder: str, until: datetime, now: datetime
    ) -> tuple[str, ...]:
        """Claim for ``holder`` until ``until`` each of ``names`` that no other holder has
        claimed at ``now`` (never claimed, released, or claimed until ``now`` or before);
        the names claimed, in the order given, each once (a name given twice is listed
        once, where it first comes). A name ``holder`` holds already is claimed
        again (its claim extended). Committed when it returns, and it never waits for
        another holder: a name another worker is claiming at that moment is not claimed.
        Workers running the same job pass by each other's orders this way (A2)."""
        ...

    def release(self, names: Sequence[str], holder: str) -> None:
        """End ``holder``'s claims on ``names``; other holders' claims are left alone."""
        ...

    def keep_for_review(self, notification: Notification) -> bool:
        """Keep a processor notification ocop could not apply (N2: it matches nothing; N4:
        unsolicited), committed when it returns; once per ``notification_id`` (True when
        it was not kept before). Nothing kept is ever dropped."""
        ...

    def kept_for_review(self) -> tuple[Notification, ...]:
        """Every notification kept for review, in the order they were first kept."""
        ...


@runtime_checkable
class ReviewByOrder(Protocol):
    """What an :class:`OrderStore` may do besides (optional: the back office looks for
    :meth:`kept_for_review_of` on the store and, where it is missing, reads the whole
    review list, :meth:`OrderStore.kept_for_review`, and picks from it).

    Contract (:class:`~ocop.testing.contracts.OrderStoreContract` checks it on a store
    that has it): :meth:`kept_for_review_of` lists the notifications kept for review
    whose ``event`` is one of ``events`` and whose order key is one of ``order_keys``,
    where a notification's order key is the part of its ``key`` before the first "/"
    (the escaped order id, :func:`~ocop.domain.keys.escaped`), and "" when it has no
    key; :meth:`kept_for_dispute` those whose ``event`` is one of ``events`` and whose
    ``dispute`` is ``dispute`` (none for ""). Each in the order they were first kept:
    exactly what filtering :meth:`OrderStore.kept_for_review` gives. Served by an index:
    the cost grows with the notifications listed, not with those kept."""

    def kept_for_review_of(
        self, order_keys: Collection[str], events: Collection[NotificationEvent]
    ) -> tuple[Notification, ...]: ...

    def kept_for_dispute(
        self, dispute: str, events: Collection[NotificationEvent]
    ) -> tuple[Notification, ...]: ...
