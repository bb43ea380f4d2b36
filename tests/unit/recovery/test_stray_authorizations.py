"""An authorization approved after its order was cancelled or its line retired (V5, X1,
A1, O1, O2).

A renewal's new authorization is on its way (its intent committed, the processor
approved it, the worker died before storing the answer) when a cancellation's commit
lands: the order is cancelled, and its line retired or left waiting. The interleaving
is made by hand: the cancellation is committed through the store port, as the rival
worker's commit would have been. Nothing will capture the authorization any more:
``recover()`` (or, after a notification, the renewal job) resolves it and voids it at
the processor under a committed void intent of its own key, never leaving the money held
nor the key unapplied run after run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ocop import (
    BackOffice,
    CardToken,
    Channel,
    Customer,
    Money,
    Notification,
    NotificationEvent,
    Operation,
    Order,
    Outcome,
    ProcessorResult,
    RecoveryReport,
    ReleaseVoid,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedCrash, SimulatedProcessor
from ocop.domain import steps
from ocop.ports.store import OrderStore
from ocop.services._outcomes import settle
from pg_support import STORES, Stores
from worlds import CUSTOMER, START, by_card, usd

from .support import AGENT as CLERK

#: The renewal's new authorization (A1), in doubt when the cancellation lands.
RENEWAL = "SO-1/authorize:L1.A2#1"


#: SO-1's back office, its processor, and the store of another worker on its database.
Placed = tuple[BackOffice, SimulatedProcessor, OrderStore]


@pytest.fixture(params=STORES)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    """Stores in memory, in SQLite files or in PostgreSQL schemas."""
    with Stores(request.param, tmp_path) as opened:
        yield opened


def _on(stores: Stores, sim: SimulatedProcessor, clock: ManualClock) -> BackOffice:
    store = stores.new()
    return BackOffice(store=store, journal=store.journal, processor=sim, clock=clock)


@pytest.fixture(params=["job", "invoice"])
def back_office(request: pytest.FixtureRequest, stores: Stores) -> Placed:
    """SO-1's renewal (the job's, A1, or an invoice's, I3) voided its old authorization;
    the processor approved the new one and the worker died before storing the answer."""
    renewal = request.param
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    bo = _on(stores, sim, clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("50.00"), payments=[by_card("50.00")])  # fmt: skip
    sim.script("authorize", "crash_after_success")
    if renewal == "job":
        clock.advance(days=13)
        with pytest.raises(SimulatedCrash):
            bo.renew_authorizations()
    else:
        clock.advance(days=14)  # expired: the invoice renews it before capturing (I3)
        with pytest.raises(SimulatedCrash):
            bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert [op.key for op in bo.operations("SO-1") if op.in_doubt] == [RENEWAL]
    return bo, sim, stores.again(bo.ports.store)


def _cancelled_meanwhile(rival: OrderStore, edit: Callable[[Order], Order]) -> None:
    """The rival cancellation's commit (another worker's), landed while the authorization
    was away."""
    with rival.unit_of_work() as uow:
        order = uow.orders.get("SO-1")
        uow.orders.update(edit(order).cancel())
        uow.commit()


def _retired(order: Order) -> Order:
    return order.with_line(order.line("L1").removed())


def _left_waiting(order: Order) -> Order:
    return order


def _held_at_processor(sim: SimulatedProcessor) -> Money | None:
    token = sim.lookup(RENEWAL).token
    assert token is not None
    return sim.authorization_open(token.value)


def _released(bo: BackOffice, sim: SimulatedProcessor) -> None:
    assert _held_at_processor(sim) == usd("0.00")
    log = {op.key: op.outcome.value for op in bo.operations("SO-1")}
    assert log[RENEWAL] == "approved"
    assert log["SO-1/void:L1.A2#1"] == "approved"  # O1: its intent committed, its key minted
    line = bo.order("SO-1").lines[0]
    assert line.authorized == usd("0.00")
    assert line.status.value == "voided"
    assert not line.renewing
    again = bo.recover()
    assert (again.resolved, again.unapplied, again.still_in_doubt) == ((), (), ())


@pytest.mark.parametrize("cancel", [_retired, _left_waiting], ids=["retired", "waiting"])
def test_recover_voids_an_authorization_approved_after_the_order_was_cancelled(
    back_office: Placed, cancel: Callable[[Order], Order]
) -> None:
    """V5, X1, A1, O2: recover() resolves the renewal's authorization, then releases it at
    the processor (nothing will capture it); it is never reported unapplied, and the void
    it sent is reported in ``releases`` (it was in no field of the report)."""
    bo, sim, rival = back_office
    _cancelled_meanwhile(rival, cancel)
    report = bo.recover()
    assert report.unapplied == ()
    assert report.resolved == (RENEWAL,)
    assert report.still_in_doubt == ()
    assert report.releases == (ReleaseVoid(order_id="SO-1", key="SO-1/void:L1.A2#1",
                                           auth_id="L1.A2", outcome=Outcome.APPROVED,
                                           amount=usd("50.00")),)  # fmt: skip
    _released(bo, sim)


def test_a_notification_of_it_is_applied_and_the_renewal_job_voids_it(
    back_office: Placed,
) -> None:
    """V5, N2, A1: the processor's notification of the same approval is applied (not kept
    for review); the line is marked, so the renewal job's next run releases it."""
    bo, sim, rival = back_office
    _cancelled_meanwhile(rival, _retired)
    token = sim.lookup(RENEWAL).token
    assert token is not None
    told = bo.handle_notification(Notification(
        notification_id="n-1", event=NotificationEvent.OUTCOME, key=RENEWAL,
        at=bo.ports.clock.now(), reference=token.value, amount=usd("50.00"),
    ))  # fmt: skip
    assert told.applied
    assert bo.renew_authorizations().voided == ("SO-1",)
    _released(bo, sim)


class _CancelledWhileAway(SimulatedProcessor):
    """A simulator during whose approval of the renewal's authorization ``meanwhile``
    runs (the rival cancellation's commit), before the answer returns."""

    meanwhile: Callable[[], None] | None = None

    def authorize(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        result = super().authorize(key, card, amount)
        if key == RENEWAL and self.meanwhile is not None:
            self.meanwhile()
        return result


@pytest.mark.parametrize("cancel", [_retired, _left_waiting], ids=["retired", "waiting"])
def test_a_live_invoice_never_captures_on_a_line_retired_while_its_renewal_was_away(
    cancel: Callable[[Order], Order], stores: Stores
) -> None:
    """I3, X1, A1, V5: the invoice's renewal is approved after a cancellation retired the
    line, or left it waiting (an order cancelled once invoiced keeps its payments, X1): the
    run takes nothing on it, and the renewal job releases it."""
    clock = ManualClock(START)
    sim = _CancelledWhileAway(clock=clock)
    bo = _on(stores, sim, clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("50.00"), payments=[by_card("50.00")])  # fmt: skip
    clock.advance(days=14)
    rival = stores.again(bo.ports.store)
    sim.meanwhile = lambda: _cancelled_meanwhile(rival, cancel)
    result = bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert (result.captures, result.in_doubt) == ((), ())
    assert [entry.kind for entry in sim.ledger()] == ["authorize", "void", "authorize"]
    assert bo.recover().unapplied == ()
    assert bo.renew_authorizations().voided == ("SO-1",)
    _released(bo, sim)


def test_recover_applies_an_increase_approved_before_the_cancellation_voided_it(
    stores: Stores,
) -> None:
    """C3, X1, V5, O2: an adjustment reached the processor, then the cancellation's void
    released all the authorization held, adjusted (a cancellation raced the call): nothing
    is held, and recover() records the adjustment so, never leaving it unapplied."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    bo = _on(stores, sim, clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER,
                   total=usd("100.00"), payments=[by_card("100.00")])  # fmt: skip
    token = bo.order("SO-1").line("L1").authorizations[0].token
    bo.change_total("SO-1", usd("120.00"), CLERK)
    sim.script("adjust", "crash_after_success")
    with pytest.raises(SimulatedCrash):
        bo.submit(bo.begin_completion("SO-1", CLERK).change_amount("L1", usd("120.00")))
    adjustment = "SO-1/adjust:L1.A1:120.00#1"
    assert [op.key for op in bo.operations("SO-1") if op.in_doubt] == [adjustment]
    # The rival cancellation's void, as CancelRun makes it: intent, call, outcome (O1).
    void = steps.Void(line_id="L1", auth_id="L1.A1", purpose=steps.VoidPurpose.CANCEL,
                      target=token.value)  # fmt: skip
    intent = Operation.intent("SO-1", void, 1, clock.now())
    with bo.ports.store.unit_of_work() as uow:
        uow.operations.record_intents((intent,))
        uow.commit()
    answer = sim.void(intent.key, token)
    assert answer.amount == usd("120.00")  # the processor released all it held
    settle(bo.ports, "SO-1", [(intent, answer)])
    _cancelled_meanwhile(stores.again(bo.ports.store), lambda order: order)
    assert bo.order("SO-1").line("L1").status.value == "voided"
    report = bo.recover()
    assert (report.resolved, report.unapplied) == ((adjustment,), ())
    assert sim.authorization_open(token.value) == usd("0.00")
    auth = bo.order("SO-1").line("L1").authorizations[0]
    assert (auth.amount, auth.voided, auth.open_amount) == (
        usd("120.00"), usd("120.00"), usd("0.00"))  # fmt: skip
    assert bo.recover() == RecoveryReport()


def test_a_refused_release_of_a_removed_line_never_stops_the_other_lines_renewal(
    stores: Stores,
) -> None:
    """A1, A2, V5: a line removed (C6) while its renewal's authorization was away holds
    that authorization, approved; its release refused, the mark stays for the next run,
    and the order's other line is still renewed before its authorization expires."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    bo = _on(stores, sim, clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("50.00"), payments=[by_card("30.00"), by_card("20.00")])  # fmt: skip
    sim.script("authorize", "crash_after_success")
    clock.advance(days=13)
    with pytest.raises(SimulatedCrash):
        bo.renew_authorizations()
    assert [op.key for op in bo.operations("SO-1") if op.in_doubt] == [RENEWAL]
    with stores.again(bo.ports.store).unit_of_work() as uow:  # the rival removal's (C6)
        order = uow.orders.get("SO-1")
        uow.orders.update(order.with_line(order.line("L1").removed()))
        uow.commit()
    sim.script("void", "decline")
    report = bo.recover()
    assert (report.resolved, report.unapplied) == ((RENEWAL,), ())
    line = bo.order("SO-1").line("L2")
    assert [a.auth_id for a in line.open_authorizations()] == ["L2.A2"]  # renewed (A1)
    assert bo.order("SO-1").line("L1").renewing  # its release is tried again next run
    assert _held_at_processor(sim) == usd("30.00")
    sim.script("void", "decline")
    assert bo.renew_authorizations().voided == ()  # refused again: the mark stays
    assert bo.renew_authorizations().voided == ("SO-1",)
    assert _held_at_processor(sim) == usd("0.00")
    retired = bo.order("SO-1").line("L1")
    assert (retired.status.value, retired.authorized, retired.renewing) == (
        "voided", usd("0.00"), False)  # fmt: skip
    assert bo.recover() == RecoveryReport()
