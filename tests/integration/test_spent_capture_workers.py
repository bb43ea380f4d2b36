"""Two workers on one durable store, and an invoice capture a recovery spent (I4, O2).

Worker A sends an invoice's capture. Before it reaches the processor, worker B (the same
warehouse message delivered to it too, as in the workers how-to: ``OperationInDoubt``,
then ``recover()``, then the invoice again) recovers: its lookup finds nothing and spends
the key. Worker B then sends the same invoice again, which captures under the step's next
attempt. Worker A's call comes back never received, and A sends it once more: the invoice
must stay captured once.

Both workers open the same SQLite file (or PostgreSQL schema); the simulated processor
keeps its records in a file of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from ocop import (
    AuthorizationToken,
    BackOffice,
    CardPayment,
    CardToken,
    Channel,
    Money,
    OcopError,
    OperationInDoubt,
    ProcessorResult,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.postgres import PostgresStore
from ocop.adapters.simulated import SimulatedProcessor
from ocop.adapters.sqlite import SqliteStore
from pg_support import private_schema
from worlds import CUSTOMER, START, card, usd

Opener = Callable[[SimulatedProcessor, ManualClock], BackOffice]
#: A safety net so a broken race fails instead of hanging.
WAIT = 30.0


class WorkerBFirst(SimulatedProcessor):
    """Runs ``first`` (worker B's doing) once, just before the next capture reaches the
    processor."""

    first: Callable[[], None] | None = None

    def capture(
        self, key: str, authorization: AuthorizationToken, amount: Money
    ) -> ProcessorResult:
        if self.first is not None:
            first, self.first = self.first, None
            first()
        return super().capture(key, authorization, amount)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens a worker: a back office of its own over the one database of the test."""
    with ExitStack() as stack:
        if request.param == "sqlite":

            def store() -> SqliteStore | PostgresStore:
                return SqliteStore(tmp_path / "payments.db", keeps_journal=True)
        else:
            dsn = stack.enter_context(private_schema())

            def store() -> SqliteStore | PostgresStore:
                return PostgresStore(dsn, keeps_journal=True)

        def open_worker(sim: SimulatedProcessor, clock: ManualClock) -> BackOffice:
            opened = store()
            stack.callback(opened.close)
            return BackOffice(store=opened, journal=opened.journal, processor=sim, clock=clock)

        yield open_worker


def test_a_capture_a_recovery_spent_while_another_worker_resent_the_invoice_captures_once(
    opener: Opener, tmp_path: Path
) -> None:
    """I4, O2: worker A's capture of INV-1 (20.00) is spent by worker B's recover() on its
    way, and B invoices INV-1 again (captured under the step's next attempt). A's call comes
    back never received and is sent once more: INV-1 stays captured once, 20.00 at the
    processor, in the order and in the journal (A numbered its resend as the invoice's
    second capture on the authorization and captured 20.00 more: 40.00 for a 20.00
    invoice)."""
    clock = ManualClock(START)
    sim = WorkerBFirst(clock=clock, state=tmp_path / "sim.db")
    worker_a, worker_b = opener(sim, clock), opener(sim, clock)
    payments = [CardPayment(card(), usd("50.00"))]
    worker_a.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER,
                         total=usd("50.00"), payments=payments)  # fmt: skip

    def worker_b_handles_the_message_too() -> None:
        assert worker_b.recover().resolved == ("SO-1/capture:INV-1:L1:L1.A1#1",)
        again = worker_b.invoice("SO-1", "INV-1", usd("20.00"))
        assert [c.amount for c in again.captures] == [usd("20.00")]

    sim.first = worker_b_handles_the_message_too
    result = worker_a.invoice("SO-1", "INV-1", usd("20.00"))

    assert (result.failed, result.in_doubt, result.uncovered) == ((), (), usd("0.00"))
    assert [c.amount for c in result.captures] == [usd("20.00")]
    for worker in (worker_a, worker_b):
        order = worker.order("SO-1")
        assert (order.captured, order.line("L1").authorized) == (usd("20.00"), usd("30.00"))
        assert [v.amount for v in worker.journal("SO-1")] == [usd("20.00")]
    assert [(e.kind, e.amount) for e in sim.ledger()] == [
        ("authorize", usd("50.00")), ("capture", usd("20.00")),
    ]  # fmt: skip
    assert sim.authorization_open(order.line("L1").authorizations[0].token.value) == usd("30.00")
    sim.close()


class WorkerBAfterRenewal(SimulatedProcessor):
    """Runs ``then`` (worker B's doing) once, after the processor approved the next
    authorization and before its answer reaches worker A."""

    then: Callable[[], None] | None = None

    def authorize(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        answer = super().authorize(key, card, amount)
        if self.then is not None:
            then, self.then = self.then, None
            then()
        return answer


def test_an_invoice_whose_renewal_another_worker_recovered_and_invoiced_captures_once(
    opener: Opener, tmp_path: Path
) -> None:
    """I3, I4, O2: worker A invoices INV-1 (20.00) on an expired authorization: it voids
    it and authorizes the card again. Before that answer reaches A, worker B recovers
    (the new authorization is settled approved) and invoices INV-1 again, captured on the
    new authorization. A goes on to its capture: the invoice's capture on that
    authorization is B's, which stands for A's (I4), so INV-1 stays captured once (A
    counted B's capture as the invoice's first on the authorization, made a second capture
    step and captured 20.00 more: 40.00 for a 20.00 invoice)."""
    clock = ManualClock(START)
    sim = WorkerBAfterRenewal(clock=clock, state=tmp_path / "sim.db")
    worker_a, worker_b = opener(sim, clock), opener(sim, clock)
    payments = [CardPayment(card(), usd("50.00"))]
    worker_a.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER,
                         total=usd("50.00"), payments=payments)  # fmt: skip
    clock.advance(days=15)  # the authorization expired (I3)

    def worker_b_recovers_and_invoices() -> None:
        assert worker_b.recover().resolved == ("SO-1/authorize:L1.A2#1",)
        again = worker_b.invoice("SO-1", "INV-1", usd("20.00"))
        assert [(c.auth_id, c.amount) for c in again.captures] == [("L1.A2", usd("20.00"))]

    sim.then = worker_b_recovers_and_invoices
    result = worker_a.invoice("SO-1", "INV-1", usd("20.00"))

    assert (result.failed, result.in_doubt, result.uncovered) == ((), (), usd("0.00"))
    assert [(c.auth_id, c.amount) for c in result.captures] == [("L1.A2", usd("20.00"))]
    for worker in (worker_a, worker_b):
        order = worker.order("SO-1")
        assert (order.captured, order.line("L1").authorized) == (usd("20.00"), usd("30.00"))
        assert [v.amount for v in worker.journal("SO-1")] == [usd("20.00")]
    assert [(e.kind, e.amount) for e in sim.ledger() if e.kind == "capture"] == [
        ("capture", usd("20.00")),
    ]  # fmt: skip
    renewed = order.line("L1").authorizations[-1]
    assert sim.authorization_open(renewed.token.value) == usd("30.00")
    sim.close()


def test_an_invoice_another_worker_covered_while_the_run_authorized_a_released_rest_captures_once(
    opener: Opener, tmp_path: Path
) -> None:
    """I1, I2, I4, O2: on a processor without multiple captures, INV-0 captured 30.00 of
    line L1's 60.00 and the rest's new authorization never reached the processor. Worker A
    invoices INV-1 (30.00): it first authorizes L1's rest again. Before that answer reaches
    A, worker B recovers (the authorization is settled approved) and invoices INV-1 too,
    captured on it. A goes on to cover INV-1 from what the order holds now: nothing is
    left to cover, so INV-1 stays captured once (A covered the 30.00 it had planned when
    it started, from line L2: 60.00 for a 30.00 invoice)."""
    clock = ManualClock(START)
    sim = WorkerBAfterRenewal(clock=clock, state=tmp_path / "sim.db", multi_capture=False)
    worker_a, worker_b = opener(sim, clock), opener(sim, clock)
    payments = [CardPayment(card(), usd("60.00")), CardPayment(card("tok_2", "2222"), usd("40.00"))]
    worker_a.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER,
                         total=usd("100.00"), payments=payments)  # fmt: skip
    sim.script("authorize", "timeout_before")  # the rest INV-0 released: never received
    assert worker_a.invoice("SO-1", "INV-0", usd("30.00")).in_doubt
    assert worker_a.recover().resolved == ("SO-1/authorize:L1.A2#1",)

    def worker_b_recovers_and_invoices() -> None:
        assert worker_b.recover().resolved == ("SO-1/authorize:L1.A2#2",)
        again = worker_b.invoice("SO-1", "INV-1", usd("30.00"))
        assert [(c.auth_id, c.amount) for c in again.captures] == [("L1.A2", usd("30.00"))]

    sim.then = worker_b_recovers_and_invoices
    result = worker_a.invoice("SO-1", "INV-1", usd("30.00"))

    assert (result.failed, result.in_doubt, result.uncovered) == ((), (), usd("0.00"))
    assert [(c.auth_id, c.amount) for c in result.captures] == [("L1.A2", usd("30.00"))]
    for worker in (worker_a, worker_b):
        order = worker.order("SO-1")
        assert order.captured == usd("60.00")
        assert order.line("L2").authorized == usd("40.00")
        assert [v.amount for v in worker.journal("SO-1")] == [usd("30.00"), usd("30.00")]
    assert [(e.kind, e.amount) for e in sim.ledger() if e.kind == "capture"] == [
        ("capture", usd("30.00")), ("capture", usd("30.00")),
    ]  # fmt: skip
    sim.close()


class WorkerBAfterVoid(SimulatedProcessor):
    """Runs ``then`` (worker B's doing) once, after the processor voided an authorization
    and before its answer reaches worker A."""

    then: Callable[[], None] | None = None

    def void(self, key: str, authorization: AuthorizationToken) -> ProcessorResult:
        answer = super().void(key, authorization)
        if self.then is not None:
            then, self.then = self.then, None
            then()
        return answer


def test_a_pickup_retry_after_another_worker_picked_the_invoice_up_captures_once(
    opener: Opener, tmp_path: Path
) -> None:
    """I4, I6, O2: worker A picks INV-1 (30.00) up; the capture is declined, so A voids
    the authorization to authorize the card again (I6). Before the void's answer reaches
    A, worker B recovers (the void is settled) and picks INV-1 up too: it authorizes the
    line again and captures 30.00. A goes on with its retry: INV-1 lacks nothing any
    more, so A neither authorizes nor captures (it authorized the card for 60.00 once more
    and captured 30.00 more: 60.00 for a 30.00 invoice)."""
    clock = ManualClock(START)
    sim = WorkerBAfterVoid(clock=clock, state=tmp_path / "sim.db")
    worker_a, worker_b = opener(sim, clock), opener(sim, clock)
    payments = [CardPayment(card(), usd("60.00"))]
    worker_a.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER,
                         total=usd("60.00"), payments=payments)  # fmt: skip

    def worker_b_recovers_and_picks_up() -> None:
        assert worker_b.recover().resolved == ("SO-1/void:L1.A1#1",)
        again = worker_b.pickup("SO-1", "INV-1", usd("30.00"))
        assert [(c.auth_id, c.amount) for c in again.captures] == [("L1.A2", usd("30.00"))]

    sim.then = worker_b_recovers_and_picks_up
    sim.script("capture", "decline")
    result = worker_a.pickup("SO-1", "INV-1", usd("30.00"))

    assert (result.in_doubt, result.uncovered, result.new_payment_required) == (
        (),
        usd("0.00"),
        False,
    )
    assert [(c.auth_id, c.amount) for c in result.captures] == [("L1.A2", usd("30.00"))]
    for worker in (worker_a, worker_b):
        order = worker.order("SO-1")
        line = order.line("L1")
        assert (order.captured, line.authorized) == (usd("30.00"), usd("30.00"))
        assert [v.amount for v in worker.journal("SO-1")] == [usd("30.00")]
    assert [(e.kind, e.amount) for e in sim.ledger()] == [
        ("authorize", usd("60.00")), ("void", usd("60.00")),
        ("authorize", usd("60.00")), ("capture", usd("30.00")),
    ]  # fmt: skip
    sim.close()


class WorkerAWaits(SimulatedProcessor):
    """Worker A's next void waits, answered, until ``go`` is set; worker B's next capture
    (on the test's thread) runs ``b_capture`` once its money moved, before its answer is
    recorded."""

    def __init__(self, *, clock: ManualClock, state: Path) -> None:
        super().__init__(clock=clock, state=state)
        self.voided = threading.Event()
        self.go = threading.Event()
        self.b_capture: Callable[[], None] | None = None

    def void(self, key: str, authorization: AuthorizationToken) -> ProcessorResult:
        answer = super().void(key, authorization)
        if threading.current_thread() is not threading.main_thread():
            self.voided.set()
            self.go.wait(WAIT)
        return answer

    def capture(
        self, key: str, authorization: AuthorizationToken, amount: Money
    ) -> ProcessorResult:
        answer = super().capture(key, authorization, amount)
        if self.b_capture is not None and threading.current_thread() is threading.main_thread():
            then, self.b_capture = self.b_capture, None
            then()
        return answer


def test_a_run_going_on_while_another_workers_capture_is_on_its_way_moves_no_money(
    opener: Opener, tmp_path: Path
) -> None:
    """O3, O5, I4, I6: worker A picks INV-1 (30.00) up; the capture is declined and A voids
    the authorization to retry (I6). While that void's answer is on its way to A, worker B
    recovers (the void is settled) and picks INV-1 up: it authorizes the line again and
    sends its capture. While B's capture is on its way (its intent committed, its answer
    not yet recorded), A goes on: it refuses to move money (OperationInDoubt), and INV-1
    is captured once, by B (A authorized the card again and captured 30.00 more: 60.00 for
    a 30.00 invoice)."""
    clock = ManualClock(START)
    sim = WorkerAWaits(clock=clock, state=tmp_path / "sim.db")
    worker_a, worker_b = opener(sim, clock), opener(sim, clock)
    payments = [CardPayment(card(), usd("60.00"))]
    worker_a.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER,
                         total=usd("60.00"), payments=payments)  # fmt: skip
    found: list[object] = []

    def worker_a_picks_up() -> None:
        try:
            found.append(worker_a.pickup("SO-1", "INV-1", usd("30.00")))
        except OcopError as error:
            found.append(error)

    sim.script("capture", "decline")
    a = threading.Thread(target=worker_a_picks_up)
    a.start()
    assert sim.voided.wait(WAIT)
    assert worker_b.recover().resolved == ("SO-1/void:L1.A1#1",)

    def worker_a_goes_on() -> None:
        sim.go.set()
        a.join(WAIT)

    sim.b_capture = worker_a_goes_on
    again = worker_b.pickup("SO-1", "INV-1", usd("30.00"))
    assert not a.is_alive()

    assert [(c.auth_id, c.amount) for c in again.captures] == [("L1.A2", usd("30.00"))]
    assert [type(f) for f in found] == [OperationInDoubt]
    for worker in (worker_a, worker_b):
        order = worker.order("SO-1")
        assert (order.captured, order.line("L1").authorized) == (usd("30.00"), usd("30.00"))
        assert [v.amount for v in worker.journal("SO-1")] == [usd("30.00")]
    assert [(e.kind, e.amount) for e in sim.ledger()] == [
        ("authorize", usd("60.00")), ("void", usd("60.00")),
        ("authorize", usd("60.00")), ("capture", usd("30.00")),
    ]  # fmt: skip
    sim.close()


def _two_cards(worker: BackOffice) -> None:
    """SO-1, 90.00: line L1 pays 60.00 with one card, L2 30.00 with another."""
    payments = [CardPayment(card(), usd("60.00")), CardPayment(card("tok_2", "2222"), usd("30.00"))]
    worker.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER,
                       total=usd("90.00"), payments=payments)  # fmt: skip


def _card_charged_no_more_than_its_line(worker: BackOffice, sim: SimulatedProcessor) -> None:
    """INV-2 took all of L1 (60.00); INV-1 (30.00), picked up or invoiced again once
    worker A's run is over, is covered by L2, the card meant for it."""
    order = worker.order("SO-1")
    assert (order.line("L1").captured, order.line("L1").authorized) == (usd("60.00"), usd("0.00"))
    again = worker.invoice("SO-1", "INV-1", usd("30.00"))
    assert (again.uncovered, [(c.line_id, c.amount) for c in again.captures]) == (
        usd("0.00"),
        [("L2", usd("30.00"))],
    )
    order = worker.order("SO-1")
    assert (order.line("L1").captured, order.line("L2").captured) == (usd("60.00"), usd("30.00"))
    charged = [e.amount for e in sim.ledger() if e.kind == "capture"]
    assert charged == [usd("60.00"), usd("30.00")]


def test_a_pickup_retry_after_another_worker_charged_the_line_in_full_charges_it_no_more(
    opener: Opener, tmp_path: Path
) -> None:
    """I1, I6, O5: worker A picks INV-1 (30.00) up from L1 (60.00); the capture is declined
    and A voids the authorization to authorize the card again (I6). Before the void's
    answer reaches A, worker B recovers (the void is settled) and invoices INV-2 (60.00):
    it authorizes L1 again and captures all of it. A goes on with its retry: L1 has
    nothing left to pay, so A neither authorizes nor captures it again; INV-1 is reported
    uncovered, and a later call covers it from L2 (A authorized L1's card for 60.00 once
    more and captured 30.00 of it: 90.00 charged to a card that was to pay 60.00, the
    other card unused)."""
    clock = ManualClock(START)
    sim = WorkerBAfterVoid(clock=clock, state=tmp_path / "sim.db")
    worker_a, worker_b = opener(sim, clock), opener(sim, clock)
    _two_cards(worker_a)

    def worker_b_recovers_and_invoices() -> None:
        assert worker_b.recover().resolved == ("SO-1/void:L1.A1#1",)
        other = worker_b.invoice("SO-1", "INV-2", usd("60.00"))
        assert [(c.auth_id, c.amount) for c in other.captures] == [("L1.A2", usd("60.00"))]

    sim.then = worker_b_recovers_and_invoices
    sim.script("capture", "decline")
    result = worker_a.pickup("SO-1", "INV-1", usd("30.00"))

    assert (result.captures, result.in_doubt, result.uncovered) == ((), (), usd("30.00"))
    assert not result.new_payment_required
    assert [e.kind for e in sim.ledger()].count("authorize") == 3  # L1, L2, and B's L1 again
    _card_charged_no_more_than_its_line(worker_b, sim)
    sim.close()


def test_an_invoice_renewing_a_line_another_worker_renewed_and_charged_in_full_charges_it_no_more(
    opener: Opener, tmp_path: Path
) -> None:
    """I1, I3, O5: worker A invoices INV-1 (30.00) from L1 (60.00), whose authorization
    expired: it voids it to authorize the card again (I3). Before the void's answer
    reaches A, worker B recovers (the void is settled and the renewal finished: L1
    authorized again) and invoices INV-2 (60.00), all of L1. A goes on with its renewal:
    L1 has nothing left to pay, so A neither authorizes nor captures it again, and holds
    nothing for it; INV-1 is reported uncovered, and a later call covers it from L2 (A
    authorized L1's card for 60.00 once more and captured 30.00 of it: 90.00 charged to a
    card that was to pay 60.00, the other card unused)."""
    clock = ManualClock(START)
    sim = WorkerBAfterVoid(clock=clock, state=tmp_path / "sim.db")
    worker_a, worker_b = opener(sim, clock), opener(sim, clock)
    _two_cards(worker_a)
    clock.advance(days=15)  # the authorizations expired (I3)

    def worker_b_recovers_and_invoices() -> None:
        assert worker_b.recover().renewals == ("SO-1",)
        other = worker_b.invoice("SO-1", "INV-2", usd("60.00"))
        assert [(c.auth_id, c.amount) for c in other.captures] == [("L1.A2", usd("60.00"))]

    sim.then = worker_b_recovers_and_invoices
    result = worker_a.invoice("SO-1", "INV-1", usd("30.00"))

    assert (result.captures, result.failed, result.in_doubt) == ((), (), ())
    assert (result.uncovered, result.new_payment_required) == (usd("30.00"), False)
    assert worker_a.order("SO-1").holds == ()
    assert [e.kind for e in sim.ledger()].count("authorize") == 4  # L1, L2, both renewed
    _card_charged_no_more_than_its_line(worker_b, sim)
    sim.close()
