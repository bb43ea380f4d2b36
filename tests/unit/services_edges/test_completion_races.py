"""A submit or a placement and a cancellation of the same order racing (rules X1, S1-S3,
C1, D1, O5), with the harness of :mod:`test_cancel_races`: the other worker's recover()
settles the run's call while it is on its way, then cancels the order; the run, reading
the order again, must see it cancelled and call nothing more."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from ocop import (
    BackOffice,
    CardPayment,
    Channel,
    DepositPolicy,
    Notification,
    NotificationEvent,
    Settings,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from worlds import CUSTOMER, card, usd

from . import test_cancel_races as races
from .support import AGENT
from .test_cancel_races import World, _held, _recovered_then

make = races.make  # the fixture: two back offices over one store, memory and SQLite


def test_a_submit_authorizes_nothing_after_a_cancellation_seen_on_its_way(
    make: Callable[..., World],
) -> None:
    """C1, X1, O5: a draft adds two card lines; a recover() settles the first one's
    authorization on its way and the order is cancelled (both authorizations voided). The
    submit, reading the order again, authorizes nothing more (it authorized the third line,
    25.00 held on a card of a cancelled order), and does not validate a cancelled order."""
    bo, other, sim, _ = make("20.00")
    draft = bo.begin_completion("SO-1", AGENT)
    draft = draft.add_card(card("tok_a", "2222"), usd("15.00"))
    draft = draft.add_card(card("tok_b", "3333"), usd("25.00"))
    sim.match = "authorize:L2"
    sim.then = _recovered_then(other, lambda: other.cancel_order("SO-1", AGENT))
    result = bo.submit(draft)
    assert (result.order.cancelled, result.approved, result.holds) == (True, False, ())
    assert [(e.kind, e.key) for e in sim.ledger()] == [
        ("authorize", "SO-1/authorize:L1.A1#1"),
        ("authorize", "SO-1/authorize:L2.A1#1"),
        ("void", "SO-1/void:L1.A1#1"),
        ("void", "SO-1/void:L2.A1#1"),
    ]
    assert _held(sim, bo) == [("L1.A1", usd("0.00")), ("L2.A1", usd("0.00"))]
    assert bo.order("SO-1").line("L3").authorizations == ()


def test_a_deposit_placement_takes_nothing_after_a_cancellation_seen_on_its_way(
    make: Callable[..., World],
) -> None:
    """D1, X1, O5: a POS order takes two card deposits; a recover() settles the first
    one's authorization on its way and the order is cancelled. The placement, reading the
    order again, authorizes and captures nothing more: no deposit is taken on a cancelled
    order (it authorized the second card and captured it as a deposit, with nothing to
    refund it)."""
    policy = DepositPolicy(default_percent=Decimal(0), cancellation_charge_percent=Decimal(5))
    bo, other, sim, _ = make(settings=Settings.default().with_policies(deposits=policy))
    sim.match = "authorize:L1"
    sim.then = _recovered_then(other, lambda: other.cancel_order("SO-1", AGENT))
    placed = bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER, total=usd("200.00"),
                            payments=[CardPayment(card("tok_a", "2222"), usd("50.00")),
                                      CardPayment(card("tok_b", "3333"), usd("30.00"))],
                            deposit=True)  # fmt: skip
    assert (placed.cancelled, placed.approved) == (True, False)
    assert [(e.kind, e.key) for e in sim.ledger()] == [
        ("authorize", "SO-1/authorize:L1.A1#1"),
        ("void", "SO-1/void:L1.A1#1"),
    ]
    assert _held(sim, bo) == [("L1.A1", usd("0.00"))]
    assert bo.order("SO-1").received == usd("0.00")


def _notified_then(
    other: BackOffice, sim: SimulatedProcessor, clock: ManualClock, action: Callable[[], object]
) -> Callable[[], None]:
    """The processor's notification of the call on its way (N1) settles it at the other
    worker, then ``action`` runs."""

    def run() -> None:
        key = [r.key for r in other.operations("SO-1") if r.in_doubt][-1]
        found = sim.lookup(key)
        reference = found.token.value if found.token is not None else ""
        note = Notification(notification_id="N-1", event=NotificationEvent.OUTCOME, key=key,
                            success=True, reference=reference, amount=found.amount,
                            at=clock.now())  # fmt: skip
        assert other.handle_notification(note).applied
        action()

    return run


def test_a_submit_authorizes_nothing_after_a_notification_and_a_cancellation(
    make: Callable[..., World],
) -> None:
    """C4, X1, N1, O5: a draft replaces the card of a line; the old authorization's void
    is settled on its way by the processor's notification, and the order is cancelled.
    The submit authorizes nothing on the new card."""
    bo, other, sim, clock = make("20.00", "30.00")
    draft = bo.begin_completion("SO-1", AGENT).replace_card("L2", card("tok_z", "9999"))
    sim.match = "void:L2.A1"
    sim.then = _notified_then(other, sim, clock, lambda: other.cancel_order("SO-1", AGENT))
    result = bo.submit(draft)
    assert (result.order.cancelled, result.holds) == (True, ())
    assert [(e.kind, e.key) for e in sim.ledger()][2:] == [
        ("void", "SO-1/void:L2.A1#1"),
        ("void", "SO-1/void:L1.A1#1"),
    ]
    assert _held(sim, bo) == [("L1.A1", usd("0.00")), ("L2.A1", usd("0.00"))]


def test_an_ecommerce_placement_authorizes_nothing_after_a_cancellation_seen_on_its_way(
    make: Callable[..., World],
) -> None:
    """S3, X1, O5: an e-commerce order paid by two cards; the first authorization is
    settled on its way by a recover() and the order cancelled: the second card is not
    authorized (30.00 was held on it, the cancelled order validated out of balance)."""
    bo, other, sim, _ = make()
    sim.match = "authorize:L1"
    sim.then = _recovered_then(other, lambda: other.cancel_order("SO-1", AGENT))
    cards = [
        CardPayment(card("tok_a", "2222"), usd("20.00")),
        CardPayment(card("tok_b", "3333"), usd("30.00")),
    ]
    placed = bo.place_order(
        "SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER, total=usd("50.00"), payments=cards
    )
    assert (placed.cancelled, placed.holds) == (True, ())
    assert [(e.kind, e.key) for e in sim.ledger()] == [
        ("authorize", "SO-1/authorize:L1.A1#1"),
        ("void", "SO-1/void:L1.A1#1"),
    ]
    assert bo.order("SO-1").line("L2").authorizations == ()
