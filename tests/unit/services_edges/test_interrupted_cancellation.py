"""An order a cancellation left half voided, then invoiced (rules X1, S1, S3, O2, N2, I1).

A cancellation stops at a void in doubt (O3) with the order not cancelled; once
``recover()`` (or a notification) settles that void the order is approved again with lines
voided and the agent is to cancel again. An invoice or a pickup made meanwhile used to be
taken on an order holding less than its total, or nothing: the order read ``INVOICED``
with everything uncovered and no hold. It now puts the order on an ``OUT_OF_BALANCE``
hold, captures nothing and records no invoice, as a released rest the card cannot renew
does (I2); cancelling again, or a new payment through completion, goes on from there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ocop import (
    Actor,
    BackOffice,
    Channel,
    CompletionPolicy,
    HoldCode,
    IllegalTransition,
    LineStatus,
    OrderStatus,
    Settings,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from pg_support import STORES, back_office_on
from worlds import CUSTOMER, START, by_card, card, usd

AGENT = Actor.call_center("agent-1")
BOSS = Actor.call_center("boss-1", permissions=frozenset({"hold_override"}))

World = tuple[BackOffice, SimulatedProcessor, ManualClock]


@pytest.fixture(params=STORES)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    with back_office_on(request.param, tmp_path) as found:
        yield found


def _place(bo: BackOffice) -> None:
    second = by_card("20.00", card("tok_2", "2222"))
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER, total=usd("50.00"),
                   payments=[by_card("30.00"), second])  # fmt: skip


def _half_cancelled(world: World, second: str) -> None:
    """SO-1 (50.00: L1 30.00, L2 20.00): the cancellation voids L1, L2's void is left in
    doubt (``second``), and ``recover()`` settles it."""
    bo, sim, _ = world
    _place(bo)
    sim.script("void", "approve", second)
    cancelled = bo.cancel_order("SO-1", AGENT)
    assert cancelled.in_doubt == ("SO-1/void:L2.A1#1",)
    assert not cancelled.order.cancelled
    assert bo.recover().resolved == ("SO-1/void:L2.A1#1",)


def _captures(sim: SimulatedProcessor) -> list[str]:
    return [entry.key for entry in sim.ledger() if entry.kind == "capture"]


def test_an_invoice_of_an_order_a_cancellation_voided_whole_holds_it_and_captures_nothing(
    world: World,
) -> None:
    """X1, S1, S3, O2: both voids went through; recover() leaves the order approved (the
    agent cancels again); an invoice then puts it on an OUT_OF_BALANCE hold, records no
    invoice and captures nothing, instead of reading INVOICED with 50.00 uncovered."""
    bo, sim, _ = world
    _half_cancelled(world, "timeout_after_success")
    order = bo.order("SO-1")
    assert [line.status for line in order.lines] == [LineStatus.VOIDED, LineStatus.VOIDED]
    assert (order.status, order.balance_due) == (OrderStatus.APPROVED, usd("50.00"))
    result = bo.invoice("SO-1", "INV-1", usd("50.00"))
    assert (result.captures, result.uncovered) == ((), usd("50.00"))
    assert result.new_payment_required
    stored = bo.order("SO-1")
    assert stored.status is OrderStatus.ON_HOLD
    assert [hold.code for hold in stored.holds] == [HoldCode.OUT_OF_BALANCE]
    assert (stored.invoices, stored.received) == ((), usd("0.00"))
    assert result.order == stored
    assert _captures(sim) == []
    with pytest.raises(IllegalTransition):
        bo.invoice("SO-1", "INV-1", usd("50.00"))
    again = bo.cancel_order("SO-1", AGENT)  # what the agent was to do (X1)
    assert again.order.status is OrderStatus.CANCELLED
    assert again.voided == ()


def test_an_invoice_of_an_order_whose_last_void_never_arrived_captures_none_of_the_rest(
    world: World,
) -> None:
    """X1, S1, O2: the processor never received L2's void, so L2 still holds 20.00 of the
    50.00: the invoice holds the order and does not capture those 20.00 for an order
    half cancelled."""
    bo, sim, _ = world
    _half_cancelled(world, "timeout_before")
    order = bo.order("SO-1")
    assert [line.status for line in order.lines] == [LineStatus.VOIDED, LineStatus.AUTHORIZED]
    result = bo.invoice("SO-1", "INV-1", usd("50.00"))
    assert (result.captures, result.uncovered, result.new_payment_required) == (
        (), usd("50.00"), True,
    )  # fmt: skip
    stored = bo.order("SO-1")
    assert [hold.code for hold in stored.holds] == [HoldCode.OUT_OF_BALANCE]
    assert stored.invoices == ()
    assert _captures(sim) == []


def test_a_pickup_of_an_order_a_cancellation_voided_whole_holds_it_too(world: World) -> None:
    """I6, X1, S1: a pickup goes through the same run: held, nothing captured."""
    bo, sim, _ = world
    _half_cancelled(world, "timeout_after_success")
    result = bo.pickup("SO-1", "INV-1", usd("50.00"))
    assert (result.captures, result.new_payment_required) == ((), True)
    assert bo.order("SO-1").status is OrderStatus.ON_HOLD
    assert _captures(sim) == []


def test_a_cancel_void_a_notification_settles_leaves_an_order_that_an_invoice_holds(
    world: World,
) -> None:
    """N2, X1, S1: L1's void answered pending, L2's left in doubt: recover() settles L2's,
    the notification L1's; the order holds nothing and an invoice holds it."""
    bo, sim, _ = world
    _place(bo)
    sim.script("void", "pending", "timeout_after_success")
    assert bo.cancel_order("SO-1", AGENT).in_doubt == ("SO-1/void:L2.A1#1",)
    bo.recover()
    for note in sim.settle_pending("approve"):
        assert bo.handle_notification(note).applied
    assert bo.order("SO-1").status is OrderStatus.APPROVED
    result = bo.invoice("SO-1", "INV-1", usd("50.00"))
    assert (result.captures, result.new_payment_required) == ((), True)
    assert [hold.code for hold in bo.order("SO-1").holds] == [HoldCode.OUT_OF_BALANCE]


def test_an_override_of_that_hold_lets_the_next_invoice_go_on(world: World) -> None:
    """S4: a supervisor who releases the hold with the override chose to go on: the next
    invoice takes what is left (L2's 20.00) and is not held again for the same shortfall."""
    bo, sim, _ = world
    _half_cancelled(world, "timeout_before")
    bo.invoice("SO-1", "INV-1", usd("50.00"))
    bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, BOSS)
    result = bo.invoice("SO-1", "INV-1", usd("50.00"))
    assert [c.amount for c in result.captures] == [usd("20.00")]
    assert (result.uncovered, result.new_payment_required) == (usd("30.00"), False)
    assert bo.order("SO-1").holds == ()
    assert _captures(sim) == ["SO-1/capture:INV-1:L2:L2.A1#1"]


def test_out_of_balance_allowed_lets_the_invoice_take_what_is_left() -> None:
    """S1: with out-of-balance allowed, a short order is not held: the invoice takes what
    the lines hold, as before."""
    settings = Settings.default().with_policies(
        completion=CompletionPolicy(allow_out_of_balance=True)
    )
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    bo = BackOffice.in_memory(settings=settings, processor=sim, clock=clock)
    _half_cancelled((bo, sim, clock), "timeout_before")
    result = bo.invoice("SO-1", "INV-1", usd("50.00"))
    assert [c.amount for c in result.captures] == [usd("20.00")]
    assert bo.order("SO-1").holds == ()


def test_a_line_removed_in_completion_then_a_return_leaves_later_invoices_alone(
    world: World,
) -> None:
    """C6, R1, I1: a removed line (the order validated in balance with cash) and a refunded
    return make the order's paid total short of its total, yet its lines still hold all that
    is left to invoice: the next invoice is not held."""
    bo, _, _ = world
    _place(bo)
    draft = bo.begin_completion("SO-1", AGENT).remove("L2").add_prepayment("cash", usd("20.00"))
    assert bo.submit(draft).approved
    bo.invoice("SO-1", "INV-1", usd("40.00"))
    assert not bo.refund("SO-1", "RMA-1", usd("10.00"), AGENT, invoices=("INV-1",)).failed
    result = bo.invoice("SO-1", "INV-2", usd("10.00"))
    assert (result.uncovered, result.new_payment_required) == (usd("0.00"), False)
    assert bo.order("SO-1").status is OrderStatus.INVOICED
