"""A store wrapper that counts units of work and commits: what a use case costs the store.

    counted = CountingStore(InMemoryStore(keeps_journal=True))
    bo = BackOffice(store=counted, journal=counted.journal, processor=..., clock=...)
    bo.invoice("SO-1", "INV-1", amount)
    counted.units, counted.commits      # units of work opened, and committed

Structure, not timing: a test may assert these counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from ocop.domain.notifications import Notification
from ocop.ports.journal import PaymentJournal
from ocop.ports.store import (
    Committed,
    OperationLog,
    OrderRepository,
    OrderStore,
    UnitOfWork,
    VoucherOutbox,
)

__all__ = ["CountingStore", "DelegatingStore", "DelegatingUnitOfWork"]


class _StoreWithJournal(OrderStore, Protocol):
    @property
    def journal(self) -> PaymentJournal: ...


class DelegatingStore:
    """A store that hands everything to ``inner``: subclass it and override what a test
    double changes (its units of work, most often)."""

    def __init__(self, inner: OrderStore) -> None:
        self.inner = inner

    def unit_of_work(self) -> UnitOfWork:
        return self.inner.unit_of_work()

    def claim(
        self, names: Sequence[str], holder: str, until: datetime, now: datetime
    ) -> tuple[str, ...]:
        """The inner store's claims (no unit of work)."""
        return self.inner.claim(names, holder, until, now)

    def release(self, names: Sequence[str], holder: str) -> None:
        self.inner.release(names, holder)

    def keep_for_review(self, notification: Notification) -> bool:
        """The inner store's review (no unit of work)."""
        return self.inner.keep_for_review(notification)

    def kept_for_review(self) -> tuple[Notification, ...]:
        return self.inner.kept_for_review()


class DelegatingUnitOfWork:
    """A unit of work that hands everything to another: subclass it and override what a
    test double changes (a commit that counts, that fails, ...)."""

    def __init__(self, inner: UnitOfWork) -> None:
        self._inner = inner

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


class _CountedUnit(DelegatingUnitOfWork):
    """A unit of work that counts its commits."""

    def __init__(self, inner: UnitOfWork, store: CountingStore) -> None:
        super().__init__(inner)
        self._store = store

    def commit(self) -> Committed:
        self._store.commits += 1
        return super().commit()


class CountingStore(DelegatingStore):
    """An :class:`~ocop.ports.store.OrderStore` over another, counting its units of work
    (claims and notifications kept for review take none, and are not counted)."""

    def __init__(self, inner: _StoreWithJournal) -> None:
        super().__init__(inner)
        self._journal = inner.journal
        self.units = 0
        self.commits = 0

    @property
    def journal(self) -> PaymentJournal:
        """The inner store's journal (when it keeps one, vouchers go there in its commits)."""
        return self._journal

    def reset(self) -> None:
        self.units = self.commits = 0

    def unit_of_work(self) -> UnitOfWork:
        self.units += 1
        return _CountedUnit(self.inner.unit_of_work(), self)
