"""A pending capture that fails is undone as the processor undoes it (N2, N4, I2).

A failed pending capture is undone: the money never moved. Its authorization holds again
what the capture took and released, as the processor's does, and nothing on an
authorization the processor has ended (N4): a line left with nothing open or captured
waits for a new authorization, and the next invoice authorizes its card again. (A single
capture's rest authorized again since is held twice until a capture releases it.)
"""

from __future__ import annotations

from datetime import timedelta

from ocop import (
    Actor,
    BackOffice,
    CardPayment,
    Channel,
    Customer,
    Notification,
    NotificationEvent,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from worlds import START, card, usd

LATER = START + timedelta(hours=1)


def _world(
    *, multi_capture: bool = True, reusable: bool = True
) -> tuple[SimulatedProcessor, BackOffice]:
    """SO-1, an e-commerce order of 100.00 paid by one card, authorized."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock, multi_capture=multi_capture)
    bo = BackOffice.in_memory(processor=sim, clock=clock)
    paid = [CardPayment(card(reusable=reusable), usd("100.00"))]
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("100.00"), payments=paid)  # fmt: skip
    return sim, bo


def _auth_key(bo: BackOffice) -> str:
    (key,) = [r.key for r in bo.operations("SO-1") if r.kind.value == "authorize"]
    return key


def _end_authorization(bo: BackOffice) -> None:
    """The processor ended the order's authorization (N4). (The simulator cannot end one
    itself: its own records still show it open, so these tests check ocop's side only.)"""
    ended = Notification(notification_id="N-1", event=NotificationEvent.AUTHORIZATION_ENDED,
                         key=_auth_key(bo), at=LATER)  # fmt: skip
    assert bo.handle_notification(ended).applied


def _decline_pending(sim: SimulatedProcessor, bo: BackOffice) -> None:
    for note in sim.settle_pending("decline"):
        assert bo.handle_notification(note).undone


def test_a_line_whose_ended_authorization_loses_its_pending_capture_is_authorized_again() -> None:
    """The processor ended the authorization while a capture of it was pending; the capture
    then failed: the line waits for a new authorization (not retired), and the next invoice
    authorizes the card again and captures on the new authorization."""
    sim, bo = _world()
    sim.script("capture", "pending")
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    _end_authorization(bo)
    _decline_pending(sim, bo)
    line = bo.order("SO-1").lines[0]
    assert line.active
    assert line.authorized == usd("0.00")
    again = bo.invoice("SO-1", "INV-1", usd("60.00"))
    assert [(c.auth_id, c.amount) for c in again.captures] == [("L1.A2", usd("60.00"))]
    assert bo.order("SO-1").received == usd("60.00")


def test_a_failed_capture_gives_nothing_back_to_an_authorization_the_processor_ended() -> None:
    """The pending capture held the whole authorization, which the processor then ended:
    once the capture fails nothing is open on the dead authorization; the next invoice
    captures on a new one."""
    sim, bo = _world()
    sim.script("capture", "pending")
    bo.invoice("SO-1", "INV-1", usd("100.00"))
    _end_authorization(bo)
    _decline_pending(sim, bo)
    (first,) = bo.order("SO-1").lines[0].authorizations
    assert first.ended_by == "N-1"
    assert first.open_amount == usd("0.00")
    again = bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert [c.auth_id for c in again.captures] == ["L1.A2"]


def test_a_failed_single_capture_reopens_what_the_processor_reopens() -> None:
    """A single capture of 60 released the rest, which was authorized again (I2, 40); the
    capture then failed: the first authorization is whole again at the processor, and ocop
    records as much (V5). The next captures take what they need from it, and nothing more
    is captured than the line's amount."""
    sim, bo = _world(multi_capture=False)
    sim.script("capture", "pending")
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    _decline_pending(sim, bo)
    for auth in bo.order("SO-1").lines[0].authorizations:
        assert sim.authorization_open(auth.token.value) == auth.open_amount  # V5
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    bo.invoice("SO-1", "INV-2", usd("40.00"))
    order = bo.order("SO-1")
    assert order.received == usd("100.00")
    assert sum(e.amount.minor for e in sim.ledger() if e.kind == "capture") == 10_000


def test_a_failed_capture_on_a_live_authorization_holds_no_order() -> None:
    """A card that cannot be authorized again, whose pending capture fails on a live
    authorization: the authorization holds the money again, so the order stays approved
    and the invoice is taken again on it."""
    sim, bo = _world(reusable=False)
    sim.script("capture", "pending")
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    _decline_pending(sim, bo)
    order = bo.order("SO-1")
    assert order.approved
    assert order.lines[0].authorized == usd("100.00")
    again = bo.invoice("SO-1", "INV-1", usd("60.00"))
    assert [c.auth_id for c in again.captures] == ["L1.A1"]


def test_on_a_cancelled_order_a_failed_capture_leaves_the_line_retired_and_no_hold() -> None:
    """An order cancelled with invoices keeps its payments; when a pending capture of it
    then fails on an authorization the processor ended, the line stays retired (nothing
    will invoice it) and no hold is placed (none could be released on a cancelled order)."""
    sim, bo = _world(reusable=False)
    sim.script("capture", "pending")
    bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert bo.cancel_order("SO-1", Actor.call_center("agent-1")).manual_refund_needed
    _end_authorization(bo)
    _decline_pending(sim, bo)
    order = bo.order("SO-1")
    assert order.holds == ()
    assert not order.lines[0].active
    assert bo.orders(on_hold=True) == ()


def test_a_capture_failing_while_a_void_of_its_authorization_is_in_doubt_keeps_v5() -> None:
    """V5, N2, I3: an invoice's renewal voids an expired authorization while an earlier
    invoice's capture on it is pending; the void times out, then the capture fails, giving
    its 60.00 back to the authorization at the processor. The void released only the 40.00
    open when it was carried out: recovery records that much, so the 60.00 given back is
    still open and voided too, never left held on the card unknown to ocop (the void was
    taken to release all that was open when its answer was learnt, 100.00)."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    bo = BackOffice.in_memory(processor=sim, clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("100.00"), payments=[CardPayment(card(), usd("100.00"))])  # fmt: skip
    sim.script("capture", "pending")
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    clock.advance(days=14)
    sim.script("void", "timeout_after_success")
    assert bo.invoice("SO-1", "INV-2", usd("40.00")).in_doubt
    _decline_pending(sim, bo)
    bo.recover()
    line = bo.order("SO-1").line("L1")
    for auth in line.authorizations:
        assert sim.authorization_open(auth.token.value) == auth.open_amount
    assert line.captured + line.authorized == usd("100.00")
