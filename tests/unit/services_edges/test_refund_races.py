"""A return's refund racing another refund of the same return, or a cancellation (rules
R1-R5, X1, O5), with the harness of :mod:`test_cancel_races`: the other worker's recover()
settles the run's linked refund while it is on its way, then the other worker acts; the
run, reading the order again, must judge what the return still needs."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from ocop import BackOffice, CardPayment, Channel, DepositPolicy, Money, Settings
from worlds import CUSTOMER, card, in_cash, usd

from . import test_cancel_races as races
from .support import AGENT
from .test_cancel_races import World, _moved, _recovered_then
from .test_completion_races import _notified_then

make = races.make  # the fixture: two back offices over one store, memory and SQLite


def _invoiced(bo: BackOffice) -> None:
    """SO-1: 100.00 paid 20.00 by card and 80.00 in cash, invoiced in full."""
    bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER, total=usd("100.00"),
                   payments=[CardPayment(card(), usd("20.00")), in_cash("80.00")])  # fmt: skip
    bo.invoice("SO-1", "INV-1", usd("100.00"))


def test_a_return_refunded_twice_at_once_goes_back_by_the_fallback_once(
    make: Callable[..., World],
) -> None:
    """R1, R3, R5, O5: a 40.00 return refunds the card's 20.00 (linked), the rest by the
    fallback method. A recover() settles the linked refund on its way, and the same return
    is refunded again: 20.00 still due, by the fallback. The first run, reading the order
    again, finds nothing left for the return: it went back 40.00, not 60.00 (the fallback
    refunded twice)."""
    bo, other, sim, _ = make()
    _invoiced(bo)
    again: list[str] = []
    sim.match = "refund:RET-1"
    sim.then = _recovered_then(
        other,
        lambda: again.append(str(other.refund("SO-1", "RET-1", usd("40.00"), AGENT).fallback)),
    )
    result = bo.refund("SO-1", "RET-1", usd("40.00"), AGENT)
    assert again == ["20.00 USD"]
    assert (result.fallback, [r.amount for r in result.refunds]) == (usd("20.00"), [usd("20.00")])
    assert _moved(sim)[1:] == [
        ("refund", "SO-1/refund:RET-1:capture:INV-1:L1:L1.A1#1:1#1", usd("20.00"))
    ]
    order = bo.order("SO-1")
    assert (order.received, order.refunded) == (usd("100.00"), usd("40.00"))
    refunds = [v.amount for v in bo.journal("SO-1") if v.kind.value == "refund"]
    assert refunds == [usd("20.00"), usd("20.00")]


def test_a_return_refunded_again_after_a_notification_goes_back_by_the_fallback_once(
    make: Callable[..., World],
) -> None:
    """R3, R5, N1, O5: as above, the linked refund settled on its way by the processor's
    notification instead of a recover()."""
    bo, other, sim, clock = make()
    _invoiced(bo)
    sim.match = "refund:RET-1"
    sim.then = _notified_then(
        other, sim, clock, lambda: other.refund("SO-1", "RET-1", usd("40.00"), AGENT)
    )
    result = bo.refund("SO-1", "RET-1", usd("40.00"), AGENT)
    assert result.fallback == usd("20.00")
    assert (bo.order("SO-1").refunded, len(_moved(sim))) == (usd("40.00"), 2)


def test_a_return_refunded_while_a_deposit_order_is_cancelled_leaves_the_charge(
    make: Callable[..., World],
) -> None:
    """D2, R3, X1, O5: a POS order with a card deposit (50.00) and a cash one (30.00); a
    60.00 return refunds the card's 50.00, the rest by the fallback. A recover() settles
    the linked refund on its way and the order is cancelled: it keeps its 10.00 charge and
    refunds the cash's other 20.00. The return, reading the order again, refunds no more:
    what the order holds is the charge (the customer got all 80.00 back, the charge the
    cancellation said it kept given back by the return's fallback)."""
    policy = DepositPolicy(default_percent=Decimal(0), cancellation_charge_percent=Decimal(5))
    bo, other, sim, _ = make(settings=Settings.default().with_policies(deposits=policy))
    bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER, total=usd("200.00"),
                   payments=[CardPayment(card(), usd("50.00")), in_cash("30.00")],
                   deposit=True)  # fmt: skip
    charged: list[Money | None] = []
    sim.match = "refund:RET-1"
    sim.then = _recovered_then(
        other, lambda: charged.append(other.cancel_order("SO-1", AGENT).charged)
    )
    result = bo.refund("SO-1", "RET-1", usd("60.00"), AGENT)
    assert charged == [usd("10.00")]
    assert (result.fallback, [r.amount for r in result.refunds]) == (usd("0.00"), [usd("50.00")])
    order = bo.order("SO-1")
    assert (order.cancelled, order.received, order.refunded) == (
        True, usd("80.00"), usd("70.00"),
    )  # fmt: skip
    refunds = [v.amount for v in bo.journal("SO-1") if v.kind.value == "refund"]
    assert sorted(refunds) == [usd("20.00"), usd("50.00")]


@pytest.mark.parametrize("again", [False, True], ids=["recovered", "cancelled-again"])
def test_a_deposit_refund_a_recovery_found_never_received_is_no_failure(
    make: Callable[..., World], again: bool
) -> None:
    """D2, O2, X1, O5: the cancellation of a POS order with two card deposits (50.00,
    20.00) and a cash one (30.00) sends the card deposits' refunds in one batch. A
    recover() runs while the first is on its way: it settles it and finds the second
    never received (its key spent; with ``again``, another cancellation then refunds it
    under a new attempt). The second's call answers never received: no failure, it is
    planned again (as a void never received is sent again): the order is cancelled, the
    deposit refunded once less the 10.00 charge, and the caller is not told a refund
    failed (it was told the second deposit's refund failed, the order left uncancelled
    or its refund made by the other cancellation)."""
    policy = DepositPolicy(default_percent=Decimal(0), cancellation_charge_percent=Decimal(5))
    bo, other, sim, _ = make(settings=Settings.default().with_policies(deposits=policy))
    bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER, total=usd("200.00"),
                   payments=[CardPayment(card(), usd("50.00")), in_cash("30.00"),
                             CardPayment(card("tok_q", "5555"), usd("20.00"))],
                   deposit=True)  # fmt: skip
    sim.match = "refund:CANCEL:deposit:L1"
    if again:
        sim.then = _recovered_then(other, lambda: other.cancel_order("SO-1", AGENT))
    else:
        sim.then = _recovered_then(other, lambda: None)
    result = bo.cancel_order("SO-1", AGENT)
    assert (result.failed, result.order.cancelled) == ((), True)
    refunds = [(key.split(":")[3], amount) for kind, key, amount in _moved(sim) if kind == "refund"]
    assert refunds == [("L1", usd("40.00")), ("L3", usd("20.00"))]
    order = bo.order("SO-1")
    assert (order.received, order.refunded) == (usd("100.00"), usd("90.00"))


@pytest.mark.parametrize("amount", ["30.00", "70.00"])
def test_a_return_refund_sent_again_after_the_order_is_cancelled_leaves_the_charge(
    make: Callable[..., World], amount: str
) -> None:
    """D2, O2, R1, X1, O5: a POS order with card deposits of 50.00 (L1) and 20.00 (L3) and
    a cash one (30.00); a return's linked refunds go in one batch, L3's first. A recover()
    settles L3's on its way and finds L1's never received (its key spent); the order is
    then cancelled: L1 refunded 40.00, the cash 30.00, the 10.00 charge kept. The return,
    reading the order again, sends L1's refund once more only for what it still may give
    back: nothing. (It sent it as planned: 10.00 for a 30.00 return, the charge the
    cancellation said it kept paid back to the card; 50.00 for a 70.00 return, refused by
    the processor, and the caller told the return's refund of L1 failed.)"""
    policy = DepositPolicy(default_percent=Decimal(0), cancellation_charge_percent=Decimal(5))
    bo, other, sim, _ = make(settings=Settings.default().with_policies(deposits=policy))
    bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER, total=usd("200.00"),
                   payments=[CardPayment(card(), usd("50.00")), in_cash("30.00"),
                             CardPayment(card("tok_q", "5555"), usd("20.00"))],
                   deposit=True)  # fmt: skip
    charged: list[Money | None] = []
    sim.match = "refund:RET-1"
    sim.then = _recovered_then(
        other, lambda: charged.append(other.cancel_order("SO-1", AGENT).charged)
    )
    result = bo.refund("SO-1", "RET-1", usd(amount), AGENT)
    assert charged == [usd("10.00")]
    assert (result.failed, result.in_doubt, result.fallback) == ((), (), usd("0.00"))
    assert [(r.capture_id, r.amount) for r in result.refunds] == [
        ("SO-1/deposit:L3:L3.A1#1", usd("20.00"))
    ]
    refunds = [(key.split(":")[1], amount) for kind, key, amount in _moved(sim) if kind == "refund"]
    assert refunds == [("RET-1", usd("20.00")), ("CANCEL", usd("40.00"))]
    order = bo.order("SO-1")
    assert (order.cancelled, order.received, order.refunded) == (True, usd("100.00"), usd("90.00"))


def test_a_return_goes_back_by_the_fallback_only_with_no_refund_of_it_in_doubt(
    make: Callable[..., World],
) -> None:
    """R3, R5, O3, O5: a 40.00 return refunds the first card's 20.00 (linked), the rest by
    the fallback method. A recover() settles the linked refund on its way; the second card
    is then invoiced and the same return refunded again: its 20.00 goes to that capture,
    and the call is in doubt. The first run, reading the order again, moves no money while
    that refund is in doubt (it refunded its 20.00 by the fallback: once the refund in
    doubt was settled, the return had gone back 60.00): the caller is told which call is
    in doubt, and a retry after recover() refunds only what is still due (nothing)."""
    bo, other, sim, _ = make()
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER, total=usd("100.00"),
                   payments=[CardPayment(card(), usd("20.00")),
                             CardPayment(card("tok_q", "5555"), usd("30.00")),
                             in_cash("50.00")])  # fmt: skip
    bo.invoice("SO-1", "INV-1", usd("70.00"))  # the first card and the cash

    def then() -> None:
        other.recover()
        other.invoice("SO-1", "INV-2", usd("30.00"))
        sim.script("refund", "timeout_after_success")
        other.refund("SO-1", "RET-1", usd("40.00"), AGENT)

    sim.match, sim.then = "refund:RET-1", then
    result = bo.refund("SO-1", "RET-1", usd("40.00"), AGENT)
    doubt = "SO-1/refund:RET-1:capture:INV-2:L2:L2.A1#1:1#1"
    assert (result.fallback, result.in_doubt) == (usd("0.00"), (doubt,))
    assert other.recover().resolved == (doubt,)
    again = bo.refund("SO-1", "RET-1", usd("40.00"), AGENT)
    assert (again.fallback, [r.amount for r in again.refunds]) == (
        usd("0.00"), [usd("20.00"), usd("20.00")],
    )  # fmt: skip
    assert bo.order("SO-1").refunded == usd("40.00")
    assert [v.amount for v in bo.journal("SO-1") if v.kind.value == "refund"] == [
        usd("20.00"), usd("20.00"),
    ]  # fmt: skip
