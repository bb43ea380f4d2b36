"""In-memory adapters: order store with operation log and outbox, journal, clocks.

The store stages every change in its unit of work and applies it at commit
under one lock, checking order versions and operation-key uniqueness there:
the same errors an SQL store raises from its constraints.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right, insort
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from math import isfinite

from ocop.adapters._memory_tables import Tables
from ocop.adapters._staged import Staged, StagedUnitOfWork
from ocop.domain.edge import check_bool, check_moment
from ocop.domain.errors import (
    ConcurrentUpdate,
    DuplicateOrder,
    IdempotencyConflict,
    InvalidArgument,
    InvalidInput,
    OcopError,
    OrderNotFound,
)
from ocop.domain.journal import Voucher
from ocop.domain.notifications import Notification, NotificationEvent
from ocop.domain.operations import Operation
from ocop.domain.order import Order, OrderStatus
from ocop.domain.queries import OrderQuery, keys_of, matches

__all__ = ["InMemoryJournal", "InMemoryStore", "ManualClock", "SystemClock"]


class ManualClock:
    """A clock that moves only when told: ``clock.advance(days=3)``."""

    def __init__(self, start: datetime) -> None:
        self._now = check_moment(start, "start")
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._now  # one reference read: atomic; advance() swaps it under the lock

    def advance(
        self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0
    ) -> datetime:
        parts = {"days": days, "hours": hours, "minutes": minutes, "seconds": seconds}
        for name, value in parts.items():  # E1: numbers only, and finite
            # An int is finite: isfinite would convert it to a float, and 10**400 fits none.
            if isinstance(value, bool) or not (
                isinstance(value, int) or (isinstance(value, float) and isfinite(value))
            ):
                raise InvalidArgument(f"{name} must be a finite number", argument=name)
        try:
            step = timedelta(**parts)
        except OverflowError:  # beyond timedelta's 999999999 days
            raise InvalidArgument("a clock moves at most 999999999 days", argument="days") from None
        if step < timedelta(0):
            raise InvalidInput("a clock does not go back")
        with self._lock:
            try:
                # Elapsed time, not the wall clock: in a zone with daylight saving a day
                # is not always 24 hours of its wall clock (A1, I3 count elapsed time).
                zone = self._now.tzinfo
                self._now = (self._now.astimezone(UTC) + step).astimezone(zone)
            except OverflowError:
                raise InvalidArgument("a clock does not move past the year 9999",
                                      argument="days") from None  # fmt: skip
            return self._now


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class _Memory:
    """The in-memory backend: tables behind one lock, written whole at commit."""

    def __init__(self, *, keeps_journal: bool) -> None:
        self.tables = Tables()
        self.lock = threading.Lock()
        self.keeps_journal = keeps_journal

    def order(self, order_id: str) -> Order | None:
        with self.lock:
            return self.tables.orders.get(order_id)

    def order_ids(self) -> list[str]:
        with self.lock:
            return list(self.tables.orders)

    def query(self, query: OrderQuery, now: datetime) -> list[str]:
        """The orders ``query`` lists at ``now``: candidates from one index, in position
        order, each checked by :func:`matches` until ``limit`` are found."""
        with self.lock:
            tables = self.tables
            while tables.stale:  # one at a time: an order stays stale until indexed
                order_id = next(iter(tables.stale))
                self._index(tables.orders[order_id])
                del tables.stale[order_id]
            start = 0
            if query.after is not None:
                after = tables.position.get(query.after)
                if after is None:
                    raise OrderNotFound(query.after)
                start = after + 1
            if query.limit is not None and query.limit <= 0:
                return []
            chosen = self._candidates(query, now)
            candidates: Iterable[int] = (
                range(start, len(tables.sequence))
                if chosen is None
                else chosen[bisect_left(chosen, start) :]
            )
            found: list[str] = []
            for position in candidates:
                order_id = tables.sequence[position]
                doubt = tables.doubting.get(order_id, 0) > 0
                if matches(tables.keys[order_id], doubt, query, now):
                    found.append(order_id)
                    if query.limit is not None and len(found) >= query.limit:
                        break
            return found

    def _candidates(self, query: OrderQuery, now: datetime) -> list[int] | None:
        """The sorted positions one index gives for ``query`` (a superset of the answer);
        None when no filter narrows by index (every order is a candidate)."""
        tables = self.tables
        if query.in_doubt:
            return sorted(tables.position[o] for o in tables.doubting if o in tables.position)
        if query.on_hold or query.status is OrderStatus.ON_HOLD:
            first = bisect_right(tables.held_until, (now, len(tables.sequence)))
            lapsing = (position for _, position in tables.held_until[first:])
            return sorted(tables.held.union(lapsing))
        # An order the renewal job has work on has an open authorization or a renewal under
        # way, and the job asks only for those close to expiry: no wider than authorized_before.
        if query.renew_before is not None:
            last = bisect_left(tables.renew_from, (query.renew_before, -1))
            return sorted(position for _, position in tables.renew_from[:last])
        if query.authorized_before is not None:
            last = bisect_left(tables.authorized_from, (query.authorized_before, -1))
            return sorted(position for _, position in tables.authorized_from[:last])
        if query.status is not None:
            return sorted(tables.by_status.get(query.status, ()))
        if query.needs_completion:
            return sorted(tables.by_status.get(OrderStatus.PENDING_COMPLETION, ()))
        return None

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

    def operations_by_reference(self, reference: str) -> list[Operation]:
        with self.lock:
            keys = self.tables.by_reference.get(reference, ())
            return [self.tables.operations[k] for k in keys]

    def pending_vouchers(self) -> list[Voucher]:
        with self.lock:
            return [self.tables.outbox[k] for k in self.tables.pending]

    def write(self, staged: Staged) -> tuple[Voucher, ...]:
        tables = self.tables
        with self.lock:
            self._check(staged)
            for order_id, (order, _) in staged.orders.items():
                tables.orders[order_id] = order
                if order_id not in tables.position:
                    tables.position[order_id] = len(tables.sequence)
                    tables.sequence.append(order_id)
                # indexed by the next query; a touch moves the version only
                if order_id not in staged.touched or order_id not in tables.keys:
                    tables.stale[order_id] = None
            for key, op in staged.intents.items():
                self._write_operation(key, op)
            for key, (op, _) in staged.outcomes.items():
                if tables.operations[key].awaiting:
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
            if strict and not stored.awaiting:
                raise ConcurrentUpdate(stored.order_id)
        kept = tables.journal if self.keeps_journal else tables.outbox
        for voucher_id, voucher in staged.vouchers.items():
            earlier = kept.get(voucher_id)
            if earlier is not None and earlier != voucher:
                raise IdempotencyConflict(voucher_id)  # J3: one id, one voucher

    def _index(self, order: Order) -> None:
        """Bring the query indexes of ``order`` (stored, with its position) up to date."""
        tables = self.tables
        order_id = order.order_id
        position = tables.position[order_id]
        new = keys_of(order)  # first: should it fail, the indexes are as they were
        old = tables.keys.get(order_id)
        if old is not None:
            tables.held.discard(position)
            if old.held_until is not None:
                _drop(tables.held_until, (old.held_until, position))
            tables.by_status[old.status].discard(position)
            if old.authorized_from is not None:
                _drop(tables.authorized_from, (old.authorized_from, position))
            if old.renew_from is not None:
                _drop(tables.renew_from, (old.renew_from, position))
        tables.keys[order_id] = new
        if new.held:
            tables.held.add(position)
        if new.held_until is not None:
            insort(tables.held_until, (new.held_until, position))
        tables.by_status.setdefault(new.status, set()).add(position)
        if new.authorized_from is not None:
            insort(tables.authorized_from, (new.authorized_from, position))
        if new.renew_from is not None:
            insort(tables.renew_from, (new.renew_from, position))

    def _write_operation(self, key: str, op: Operation) -> None:
        tables = self.tables
        stored = tables.operations.get(key)
        if stored is None:
            tables.by_order.setdefault(op.order_id, []).append(key)
            tables.by_step.setdefault((op.order_id, op.name), []).append(key)
        elif not (stored.awaiting and op.outcome is not None):
            return  # a stored definitive outcome is never replaced
        old = stored.reference if stored is not None else ""
        if op.reference != old:
            if old:
                tables.by_reference[old].remove(key)
            if op.reference:
                tables.by_reference.setdefault(op.reference, []).append(key)
        tables.operations[key] = op
        was_in_doubt = key in tables.doubtful
        if op.awaiting:
            tables.doubtful[key] = None
        else:
            tables.doubtful.pop(key, None)
        if op.awaiting and not was_in_doubt:
            tables.doubting[op.order_id] = tables.doubting.get(op.order_id, 0) + 1
        elif was_in_doubt and not op.awaiting:
            left = tables.doubting[op.order_id] - 1
            if left:
                tables.doubting[op.order_id] = left
            else:
                del tables.doubting[op.order_id]

    def claim(
        self, names: Sequence[str], holder: str, until: datetime, now: datetime
    ) -> tuple[str, ...]:
        with self.lock:
            claims = self.tables.claims
            found: list[str] = []
            for name in dict.fromkeys(names):
                current = claims.get(name)
                if current is None or current[0] == holder or current[1] <= now:
                    claims[name] = (holder, until)
                    found.append(name)
            return tuple(found)

    def unclaim(self, names: Sequence[str], holder: str) -> None:
        with self.lock:
            claims = self.tables.claims
            for name in names:
                current = claims.get(name)
                if current is not None and current[0] == holder:
                    del claims[name]

    def keep_for_review(self, notification: Notification) -> bool:
        with self.lock:
            return self.tables.keep_for_review(notification)

    def kept_for_review(self) -> tuple[Notification, ...]:
        with self.lock:
            return tuple(self.tables.review.values())

    def release(self) -> None:
        pass


def _drop(entries: list[tuple[datetime, int]], entry: tuple[datetime, int]) -> None:
    """Remove ``entry`` from the sorted ``entries``, found by bisection."""
    del entries[bisect_left(entries, entry)]


class InMemoryStore:
    """An :class:`~ocop.ports.store.OrderStore` in a process's memory, safe across threads.

    ``keeps_journal``: the store also keeps the payment journal (:attr:`journal`), and
    writes each unit of work's vouchers to it in the same commit.
    """

    def __init__(self, *, keeps_journal: bool = False) -> None:
        self._memory = _Memory(keeps_journal=check_bool(keeps_journal, "keeps_journal"))
        self.journal = InMemoryJournal(_shared=self._memory)

    @property
    def keeps_journal(self) -> bool:
        return self._memory.keeps_journal

    @property
    def _tables(self) -> Tables:
        return self._memory.tables

    def unit_of_work(self) -> StagedUnitOfWork:
        return StagedUnitOfWork(self._memory)

    def claim(
        self, names: Sequence[str], holder: str, until: datetime, now: datetime
    ) -> tuple[str, ...]:
        """Claim the ``names`` free at ``now`` for ``holder`` until ``until``, under the
        store's lock (see :meth:`~ocop.ports.store.OrderStore.claim`)."""
        return self._memory.claim(names, holder, until, now)

    def release(self, names: Sequence[str], holder: str) -> None:
        """End ``holder``'s claims on ``names``."""
        self._memory.unclaim(names, holder)

    def keep_for_review(self, notification: Notification) -> bool:
        """Keep ``notification`` once per id, under the store's lock."""
        return self._memory.keep_for_review(notification)

    def kept_for_review(self) -> tuple[Notification, ...]:
        """The notifications kept for review, oldest first."""
        return self._memory.kept_for_review()

    def kept_for_review_of(
        self, order_keys: Collection[str], events: Collection[NotificationEvent]
    ) -> tuple[Notification, ...]:
        """Those of ``events`` kept for ``order_keys`` (:class:`~ocop.ports.store.
        ReviewByOrder`), found by order key."""
        with self._memory.lock:
            return self._tables.kept_for_review_of(order_keys, events)

    def kept_for_dispute(
        self, dispute: str, events: Collection[NotificationEvent]
    ) -> tuple[Notification, ...]:
        """Those of ``events`` kept in ``dispute``, found by dispute."""
        with self._memory.lock:
            return self._tables.kept_for_dispute(dispute, events)


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
