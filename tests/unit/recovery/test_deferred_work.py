"""What ``recover()`` leaves for the next run because the store failed (A2, O2, E3).

A busy store while recovery finishes one order's renewal, lists the placements to finish,
reads the outbox, or reads what asking about a call needs, is logged and that work left
for the next run; the report keeps what the run did, and names what it left in
``RecoveryReport.deferred``, so that a scheduler (and ``ocop recover``'s exit status)
can tell the run was not whole. On the in-memory store and on SQLite, through a store
wrapper that raises ``StorageBusy`` on the one call named.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from ocop import (
    BackOffice,
    Channel,
    Customer,
    DepositPolicy,
    RecoveryReport,
    RenewalReport,
    Settings,
    StorageBusy,
)
from ocop.adapters.memory import InMemoryStore, ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.adapters.sqlite import SqliteStore
from ocop.domain.journal import Voucher
from ocop.domain.order import Order
from ocop.domain.queries import OrderQuery
from ocop.ports.store import OrderRepository, OrderStore, UnitOfWork, VoucherOutbox
from ocop.testing.counting import DelegatingStore, DelegatingUnitOfWork
from worlds import START, by_card, card, usd


class _Orders:
    def __init__(self, inner: OrderRepository, store: BusyStore) -> None:
        self._inner = inner
        self._store = store

    def query(self, query: OrderQuery, now: datetime) -> tuple[str, ...]:
        if self._store.failing == "placements" and query.needs_completion:
            raise StorageBusy("the database stayed busy")
        return self._inner.query(query, now)

    def get(self, order_id: str) -> Any:
        if self._store.failing == "call" and order_id == "SO-2":
            raise StorageBusy("the database stayed busy")
        return self._inner.get(order_id)

    def update(self, order: Order) -> None:
        if self._store.failing == "settle" and order.order_id == "SO-2":
            raise StorageBusy("the database stayed busy")
        self._inner.update(order)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _Outbox:
    def __init__(self, inner: VoucherOutbox, store: BusyStore) -> None:
        self._inner = inner
        self._store = store

    def pending(self) -> tuple[Voucher, ...]:
        if self._store.failing == "outbox":
            raise StorageBusy("the database stayed busy")
        return self._inner.pending()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _Unit(DelegatingUnitOfWork):
    def __init__(self, inner: UnitOfWork, store: BusyStore) -> None:
        super().__init__(inner)
        self._store = store

    @property
    def orders(self) -> OrderRepository:
        return _Orders(super().orders, self._store)

    @property
    def outbox(self) -> VoucherOutbox:
        return _Outbox(super().outbox, self._store)


class BusyStore(DelegatingStore):
    """A store over another that raises ``StorageBusy`` on the call ``failing`` names."""

    def __init__(self, inner: OrderStore) -> None:
        super().__init__(inner)
        self.failing = ""

    def unit_of_work(self) -> UnitOfWork:
        return _Unit(self.inner.unit_of_work(), self)

    def claim(
        self, names: Sequence[str], holder: str, until: datetime, now: datetime
    ) -> tuple[str, ...]:
        if self.failing == "renewal" and "renew:SO-2" in names:
            raise StorageBusy("the database stayed busy")
        if self.failing == "placement" and "complete:SO-3" in names:
            raise StorageBusy("the database stayed busy")
        return super().claim(names, holder, until, now)


@attrs.frozen
class Office:
    bo: BackOffice
    store: BusyStore
    sim: SimulatedProcessor
    clock: ManualClock


@pytest.fixture(params=["memory", "sqlite"])
def office(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Office]:
    """SO-1 and SO-2 (50.00 each by card) whose renewals' voids were left in doubt."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    inner = (
        InMemoryStore(keeps_journal=True)
        if request.param == "memory"
        else SqliteStore(tmp_path / "ocop.db", keeps_journal=True)
    )
    store = BusyStore(inner)
    bo = BackOffice(store=store, processor=sim, journal=inner.journal, clock=clock)
    for order_id in ("SO-1", "SO-2"):
        bo.place_order(order_id, channel=Channel.ECOMMERCE, customer=Customer.guest(),
                       total=usd("50.00"), payments=[by_card("50.00")])  # fmt: skip
    clock.advance(days=13)
    sim.script("void", "timeout_after_success", "timeout_after_success")
    assert bo.renew_authorizations() == RenewalReport(in_doubt=("SO-1", "SO-2"))
    yield Office(bo=bo, store=store, sim=sim, clock=clock)
    close = getattr(inner, "close", None)
    if close is not None:
        close()


VOIDS = ("SO-1/void:L1.A1#1", "SO-2/void:L1.A1#1")


def test_a_whole_run_defers_nothing(
    office: Office,
) -> None:
    bo = office.bo
    report = bo.recover()
    assert (report.resolved, report.renewals, report.deferred) == (VOIDS, ("SO-1", "SO-2"), ())


@pytest.mark.parametrize(
    ("failing", "deferred"),
    [
        ("renewal", ("renewal of SO-2",)),
        ("placements", ("placements to finish",)),
        ("outbox", ("outbox",)),
    ],
)
def test_what_a_busy_store_stopped_is_reported_deferred(
    office: Office,
    failing: str,
    deferred: tuple[str, ...],
) -> None:
    """A2, O2, E3: the run reports what it did, and names what it left for the next run
    because the store failed (the report was clean: a scheduler saw nothing skipped)."""
    bo, store = office.bo, office.store
    store.failing = failing
    report = bo.recover()
    assert report.resolved == VOIDS
    assert report.renewals == (("SO-1",) if failing == "renewal" else ("SO-1", "SO-2"))
    assert report.deferred == deferred
    store.failing = ""  # the store is back: the next run defers nothing
    assert bo.recover().deferred == ()


@pytest.mark.parametrize("failing", ["call", "settle"])
def test_a_call_the_store_failed_on_is_deferred(office: Office, failing: str) -> None:
    """O2, E3: a busy store when recovery reads what asking about SO-2's void needs, or
    stores its outcome, leaves the call in doubt for the next run, and says the store
    deferred it."""
    bo, store = office.bo, office.store
    store.failing = failing
    report = bo.recover()
    assert (report.resolved, report.still_in_doubt) == (VOIDS[:1], VOIDS[1:])
    assert report.deferred == ("call SO-2/void:L1.A1#1",)
    store.failing = ""
    assert bo.recover() == RecoveryReport(resolved=VOIDS[1:], renewals=("SO-2",))


def test_a_placement_the_store_failed_on_is_deferred(
    office: Office,
) -> None:
    """O2, S3, E3: SO-3's placement was interrupted (its authorization's answer lost); a
    busy store when recovery claims it to finish it leaves it for the next run, and says
    so (the run reported no completion, and nothing deferred)."""
    bo, store, sim = office.bo, office.store, office.sim
    sim.script("authorize", "timeout_after_success")
    bo.place_order("SO-3", channel=Channel.POS, customer=Customer.guest(),
                   total=usd("100.00"), payments=[by_card("100.00")])  # fmt: skip
    office.clock.advance(minutes=10)
    store.failing = "placement"
    report = bo.recover()
    assert report.resolved == (*VOIDS, "SO-3/authorize:L1.A1#1")
    assert (report.completions, report.deferred) == ((), ("placement of SO-3",))
    store.failing = ""
    assert bo.recover() == RecoveryReport(completions=("SO-3",))


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_deposit_the_store_failed_on_is_deferred(kind: str, tmp_path: Path) -> None:
    """D1, O2, E3: SO-3's first deposit capture was in doubt; recovery settles it, and a
    busy store when it claims the order to take the rest of the deposit leaves that for
    the next run, and says so."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    inner = (
        InMemoryStore(keeps_journal=True)
        if kind == "memory"
        else SqliteStore(tmp_path / "ocop.db", keeps_journal=True)
    )
    store = BusyStore(inner)
    policy = DepositPolicy(default_percent=Decimal("0"))
    settings = Settings.default().with_policies(deposits=policy)
    bo = BackOffice(store=store, processor=sim, journal=inner.journal, clock=clock,
                    settings=settings)  # fmt: skip
    sim.script("capture", "timeout_after_success")
    second = by_card("20.00", card("tok_2", last4="2222"))
    bo.place_order("SO-3", channel=Channel.POS, customer=Customer.named("C-1"),
                   total=usd("100.00"), payments=[by_card("10.00"), second],
                   deposit=True)  # fmt: skip
    store.failing = "placement"
    report = bo.recover()
    assert len(report.resolved) == 1
    assert (report.completions, report.deferred) == ((), ("deposit of SO-3",))
    store.failing = ""
    clock.advance(minutes=10)
    again = bo.recover()
    assert again.deferred == ()
    assert [line.captured for line in bo.order("SO-3").lines] == [usd("10.00"), usd("20.00")]
