"""Structure, not timing: units of work and commits one invoice of one capture costs."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from harness import Progress, Row

from fixtures import clock, place, usd
from ocop import BackOffice, Voucher
from ocop.adapters.memory import InMemoryJournal, InMemoryStore
from ocop.adapters.simulated import SimulatedProcessor
from ocop.ports.store import Committed, OperationLog, OrderRepository, UnitOfWork, VoucherOutbox


class _Counts:
    def __init__(self) -> None:
        self.units = 0
        self.commits = 0
        self.posts = 0


class _CountedUnit:
    """A unit of work that counts its commits and delegates everything else."""

    def __init__(self, inner: UnitOfWork, counts: _Counts) -> None:
        self._inner = inner
        self._counts = counts

    @property
    def orders(self) -> OrderRepository:
        return self._inner.orders

    @property
    def operations(self) -> OperationLog:
        return self._inner.operations

    @property
    def outbox(self) -> VoucherOutbox:
        return self._inner.outbox

    def commit(self) -> Committed:
        self._counts.commits += 1
        return self._inner.commit()

    def rollback(self) -> None:
        self._inner.rollback()

    def __enter__(self) -> Self:
        self._inner.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._inner.__exit__(exc_type, exc, tb)


class CountingStore:
    """An OrderStore over an InMemoryStore, counting units of work opened and committed."""

    def __init__(self, counts: _Counts) -> None:
        self._inner = InMemoryStore()
        self._counts = counts

    def unit_of_work(self) -> UnitOfWork:
        self._counts.units += 1
        return _CountedUnit(self._inner.unit_of_work(), self._counts)


class CountingJournal:
    """A PaymentJournal over an InMemoryJournal, counting posts."""

    def __init__(self, counts: _Counts) -> None:
        self._inner = InMemoryJournal()
        self._counts = counts

    def post(self, voucher: Voucher) -> None:
        self._counts.posts += 1
        self._inner.post(voucher)

    def vouchers(self, order_id: str | None = None) -> tuple[Voucher, ...]:
        return self._inner.vouchers(order_id)


def units_per_capture(progress: Progress) -> Row:
    progress.start("units of work per capture (one invoice, one capture, counted)")
    counts = _Counts()
    now = clock()
    bo = BackOffice(
        store=CountingStore(counts),
        processor=SimulatedProcessor(clock=now),
        journal=CountingJournal(counts),
        clock=now,
    )
    place(bo, "SO-1", "10.00")
    counts.units = counts.commits = counts.posts = 0
    result = bo.invoice("SO-1", "INV-1", usd("10.00"))
    if len(result.captures) != 1:
        raise RuntimeError("the invoice did not make one capture")
    progress.done(
        f"{counts.units} units of work, {counts.commits} commits, {counts.posts} journal "
        f"post(s) (on SQLite each post is one more commit: {counts.commits + counts.posts})"
    )
    return Row(
        "units of work per capture",
        f"{counts.units} ({counts.commits} commits; {counts.commits + counts.posts} on SQLite)",
        "≤ 3, 2 commits",
    )
