"""A submit or a placement and a cancellation of the same order racing (rules X1, S1-S3,
C1, D1, O5), with the harness of :mod:`test_cancel_races`: the other worker's recover()
settles the run's call while it is on its way, then cancels the order; the run, reading
the order again, must see it cancelled and call nothing more."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from ocop import CardPayment, Channel, DepositPolicy, Settings
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
