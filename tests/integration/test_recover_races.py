"""``recover()`` racing another ``recover()``, or a live invoice, on each SQL store (O2, O5).

Every race runs in two processes (``spawn``) over one SQLite file or one PostgreSQL
schema, each process with its own store. The simulated processor lives in the memory
of one process, so the processes are made to agree on its answers: the test (or the
process whose call moved the money) hands each answer to the others, and their
simulators answer lookups from those answers (:class:`SharedLookups`). Each process
runs on its own manual clock, so the stored times tell whose outcome was kept.

Every store runs twice: with the journal kept by the store (vouchers written in the
commit) and with an outside journal fed from the outbox.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier, Event
from pathlib import Path
from typing import Any

import attrs
import pytest

from ocop import (
    AuthorizationToken,
    BackOffice,
    CardPayment,
    Channel,
    InvoiceResult,
    Money,
    Order,
    Outcome,
    ProcessorResult,
    RecoveryReport,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.postgres import PostgresJournal, PostgresStore
from ocop.adapters.simulated import SimulatedProcessor
from ocop.adapters.sqlite import SqliteJournal, SqliteStore
from ocop.domain.keys import voucher_id
from ocop.ports.clock import Clock
from ocop.ports.journal import PaymentJournal
from ocop.ports.processor import PaymentProcessor
from ocop.ports.store import OrderStore
from pg_support import private_schema
from worlds import CUSTOMER, START, card, usd

#: Processes start fresh interpreters: nothing of the test process is shared but arguments.
CTX = multiprocessing.get_context("spawn")
#: A safety net so a broken race fails instead of hanging; never reached when all is well.
WAIT = 30.0
#: Orders with an operation in doubt, in the race between recoveries.
ORDERS = 6


@attrs.frozen(kw_only=True)
class Place:
    """Where the processes meet: a SQLite file or a PostgreSQL schema, and the journal."""

    kind: str  # "sqlite" or "postgres"
    address: str  # the file's path, or the connection string
    keeps_journal: bool

    def back_office(self, processor: PaymentProcessor, clock: Clock) -> BackOffice:
        """A back office of this process over the shared database."""
        store: OrderStore
        journal: PaymentJournal
        if self.kind == "sqlite":
            sqlite = SqliteStore(self.address, keeps_journal=self.keeps_journal)
            store = sqlite
            journal = sqlite.journal if self.keeps_journal else SqliteJournal(self.address)
        else:
            postgres = PostgresStore(self.address, keeps_journal=self.keeps_journal)
            store = postgres
            journal = postgres.journal if self.keeps_journal else PostgresJournal(self.address)
        return BackOffice(store=store, processor=processor, journal=journal, clock=clock)


@pytest.fixture(
    params=[
        pytest.param(("sqlite", True), id="sqlite"),
        pytest.param(("sqlite", False), id="sqlite-outbox"),
        pytest.param(("postgres", True), id="postgres", marks=pytest.mark.postgres),
        pytest.param(("postgres", False), id="postgres-outbox", marks=pytest.mark.postgres),
    ]
)
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Place]:
    kind, keeps_journal = request.param
    if kind == "sqlite":
        yield Place(kind=kind, address=str(tmp_path / "payments.db"), keeps_journal=keeps_journal)
        return
    with private_schema() as conninfo:
        yield Place(kind=kind, address=conninfo, keeps_journal=keeps_journal)


# -- processors that agree across processes ------------------------------------------------
class SharedLookups(SimulatedProcessor):
    """A simulator whose lookups answer from ``answers`` handed over by another process.

    A key without an answer is unknown yet. ``meet``: each lookup first waits for the
    other process's lookup of the same turn, so both settle the same key together.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        answers: dict[str, ProcessorResult],
        meet: Barrier | None = None,
    ) -> None:
        super().__init__(clock=clock)
        self._shared = answers
        self._meet = meet

    def lookup(self, key: str) -> ProcessorResult:
        if self._meet is not None:
            self._meet.wait(WAIT)
        return self._shared.get(key, ProcessorResult(key=key, outcome=Outcome.UNKNOWN))


class SlowCapture(SimulatedProcessor):
    """A simulator whose capture moves the money, hands its answer to another process,
    and returns it only once that process has run ``recover()``."""

    def __init__(
        self, *, clock: Clock, reported: Queue[tuple[str, ProcessorResult]], recovered: Event
    ) -> None:
        super().__init__(clock=clock)
        self._reported = reported
        self._recovered = recovered

    def capture(
        self, key: str, authorization: AuthorizationToken, amount: Money
    ) -> ProcessorResult:
        result = super().capture(key, authorization, amount)
        self._reported.put((key, result))
        if not self._recovered.wait(WAIT):
            raise TimeoutError(f"no recover() ran while the capture {key} was away")
        return result


# -- the processes -------------------------------------------------------------------------
def _send(results: Queue[Any], name: str, work: Callable[[], object]) -> None:
    """Run ``work`` and put what it returned (or how it failed) on ``results``."""
    try:
        value = work()
    except BaseException:
        results.put((name, False, traceback.format_exc()))
        raise
    results.put((name, True, value))


@attrs.frozen(kw_only=True)
class Recovery:
    """One of the racing recoveries: where, the answers it is handed, how it meets the other
    (``start`` together; ``meet`` at every lookup, or not), and its clock's lead on START."""

    place: Place
    answers: dict[str, ProcessorResult]
    start: Barrier
    meet: Barrier | None
    hours: int


def _recover_together(run: Recovery, name: str, results: Queue[Any]) -> None:
    """A process that runs ``recover()`` as soon as the other one is ready too."""

    def work() -> RecoveryReport:
        clock = ManualClock(START + timedelta(hours=run.hours))
        processor = SharedLookups(clock=clock, answers=run.answers, meet=run.meet)
        bo = run.place.back_office(processor, clock)
        run.start.wait(WAIT)
        return bo.recover()

    _send(results, name, work)


def _invoice_slowly(
    place: Place,
    reported: Queue[tuple[str, ProcessorResult]],
    recovered: Event,
    name: str,
    results: Queue[Any],
) -> None:
    """A process that places an order and invoices it, its capture answering late."""

    def work() -> InvoiceResult:
        clock = ManualClock(START)
        processor = SlowCapture(clock=clock, reported=reported, recovered=recovered)
        bo = place.back_office(processor, clock)
        bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER, total=usd("100.00"),
                       payments=[CardPayment(card(), usd("100.00"))])  # fmt: skip
        return bo.invoice("SO-1", "INV-1", usd("100.00"))

    _send(results, name, work)


def _recover_meanwhile(
    place: Place,
    reported: Queue[tuple[str, ProcessorResult]],
    recovered: Event,
    name: str,
    results: Queue[Any],
) -> None:
    """A process that runs ``recover()`` while the other one's capture is away."""

    def work() -> RecoveryReport:
        try:
            clock = ManualClock(START + timedelta(hours=1))
            answers: dict[str, ProcessorResult] = {}
            bo = place.back_office(SharedLookups(clock=clock, answers=answers), clock)
            key, answer = reported.get(timeout=WAIT)
            answers[key] = answer
            return bo.recover()
        finally:
            recovered.set()

    _send(results, name, work)


def race(*jobs: tuple[str, Callable[..., None], tuple[object, ...]]) -> dict[str, Any]:
    """Run each job in its own process; what each returned, by name (a failure fails the test).

    A job's process is called with its arguments, then its name and the results queue.
    """
    results: Queue[Any] = CTX.Queue()
    processes = [
        CTX.Process(target=target, args=(*args, name, results), name=name)
        for name, target, args in jobs
    ]
    for process in processes:
        process.start()
    returned: dict[str, Any] = {}
    try:
        for _ in processes:
            name, ok, value = results.get(timeout=WAIT)
            if not ok:
                pytest.fail(f"process {name} failed:\n{value}")
            returned[name] = value
    except BaseException:
        for process in processes:
            if process.is_alive():
                process.kill()
        raise
    finally:
        for process in processes:
            process.join(WAIT)
        results.close()
    assert [process.exitcode for process in processes] == [0] * len(processes)
    return returned


# -- what the store must show afterwards ---------------------------------------------------
def assert_settled_once(bo: BackOffice, key: str, before: Order, at: set[datetime]) -> None:
    """The key's capture is on its order once, settled once, with one voucher, all of one
    outcome (the order's version moved once since ``before``; its time is one of ``at``)."""
    order = bo.order(before.order_id)
    assert order.version == before.version + 1
    assert order.captured == usd("100.00")
    captures = [c for line in order.lines for c in line.captures if c.capture_id == key]
    assert len(captures) == 1
    with bo.ports.store.unit_of_work() as uow:
        ops = [op for op in uow.operations.for_order(order.order_id) if op.key == key]
        assert uow.operations.in_doubt(order.order_id) == ()
        assert uow.outbox.pending() == ()
    assert len(ops) == 1
    (op,) = ops
    assert op.outcome is Outcome.APPROVED
    assert op.result is not None
    assert op.result.token == captures[0].token
    vouchers = [v for v in bo.journal(order.order_id) if v.voucher_id == voucher_id(key)]
    assert len(vouchers) == 1
    assert op.resolved_at == captures[0].captured_at == vouchers[0].posted_at
    assert op.resolved_at in at


# -- the tests -----------------------------------------------------------------------------
@pytest.mark.parametrize("lockstep", [False, True], ids=["overlapping", "lockstep"])
def test_concurrent_recoveries_settle_each_key_once(place: Place, *, lockstep: bool) -> None:
    """Two processes recovering the same captures in doubt at once settle each once, none
    unapplied."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    bo = place.back_office(sim, clock)
    keys: list[str] = []
    for n in range(ORDERS):
        order_id = f"SO-{n}"
        paid = [CardPayment(card(), usd("100.00"))]
        bo.place_order(order_id, channel=Channel.ECOMMERCE, customer=CUSTOMER,
                       total=usd("100.00"), payments=paid)  # fmt: skip
        bo.invoice(order_id, "INV-1", usd("60.00"))
        sim.script("capture", "timeout_after_success")
        keys.extend(bo.invoice(order_id, "INV-2", usd("40.00")).in_doubt)
    assert len(keys) == ORDERS
    before = {key: bo.order(key.split("/")[0]) for key in keys}
    answers = {key: sim.lookup(key) for key in keys}
    start, meet = CTX.Barrier(2), (CTX.Barrier(2) if lockstep else None)

    def recovery(hours: int) -> Recovery:
        return Recovery(place=place, answers=answers, start=start, meet=meet, hours=hours)

    reports = race(
        ("first", _recover_together, (recovery(1),)),
        ("second", _recover_together, (recovery(2),)),
    )

    first, second = reports["first"], reports["second"]
    assert isinstance(first, RecoveryReport)
    assert isinstance(second, RecoveryReport)
    for report in (first, second):
        assert report.unapplied == ()
        assert report.still_in_doubt == ()
        assert len(set(report.resolved)) == len(report.resolved)
    assert set(first.resolved) | set(second.resolved) == set(keys)
    if lockstep:
        # Both looked every key up before either settled one: the one that lost the
        # commit keeps what the other settled, and reports the key resolved too.
        assert sorted(first.resolved) == sorted(second.resolved) == sorted(keys)
    runs = {START + timedelta(hours=1), START + timedelta(hours=2)}
    for key in keys:
        assert_settled_once(bo, key, before[key], runs)
        assert [v.reference for v in bo.journal(before[key].order_id)] == ["INV-1", "INV-2"]


def test_a_recovery_during_a_live_invoice_settles_it_once(place: Place) -> None:
    """A recover() in another process while an invoice's capture is away settles it once,
    reports it resolved, and the invoice returns without error."""
    clock = ManualClock(START)
    bo = place.back_office(SimulatedProcessor(clock=clock), clock)  # creates the tables first
    reported: Queue[tuple[str, ProcessorResult]] = CTX.Queue()
    recovered = CTX.Event()

    returned = race(
        ("invoice", _invoice_slowly, (place, reported, recovered)),
        ("recover", _recover_meanwhile, (place, reported, recovered)),
    )

    invoiced, report = returned["invoice"], returned["recover"]
    assert isinstance(invoiced, InvoiceResult)
    assert isinstance(report, RecoveryReport)
    assert report.unapplied == ()
    assert report.still_in_doubt == ()
    (key,) = report.resolved
    assert invoiced.in_doubt == ()
    assert invoiced.failed == ()
    assert invoiced.uncovered == usd("0.00")
    assert [(c.capture_id, c.amount) for c in invoiced.captures] == [(key, usd("100.00"))]
    before = attrs.evolve(invoiced.order, version=invoiced.order.version - 1)
    # The recovery committed first: its outcome (at its clock's time) is the one kept.
    assert_settled_once(bo, key, before, {START + timedelta(hours=1)})
    assert bo.order("SO-1") == invoiced.order
    assert [v.reference for v in bo.journal("SO-1")] == ["INV-1"]
