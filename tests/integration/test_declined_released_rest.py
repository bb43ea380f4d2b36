"""A released rest, or a pickup's retry, the card declines (rules I2, I6, S1, S2, O2,
N2), on memory, SQLite and PostgreSQL.

On a processor without multiple captures, a partial capture releases the rest of its
authorization and I2 authorizes that rest again with the line's card token. When the
processor declines it, the line keeps what it holds (its capture) and the order waits,
held, for a new payment, whether the decline is answered live, found by ``recover()`` or
told by a failure notification after a doubt. A pickup's failed capture is retried with a
new authorization (I6); when the card declines that on a line that captured nothing, the
line is declined and the order held alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from ocop import (
    Actor,
    BackOffice,
    CardPayment,
    Channel,
    Customer,
    HoldCode,
    IllegalTransition,
    InvoiceResult,
    LineStatus,
    Notification,
    NotificationEvent,
    Order,
    OrderStatus,
    Outcome,
    ProcessorResult,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from pg_support import STORES, Stores
from worlds import START, card, usd

AGENT = Actor.call_center("agent-1")


class _DeclinedWhenAsked(SimulatedProcessor):
    """A processor without multiple captures whose lookup finds a call it never answered
    declined (it declined the call, and the answer was lost on its way)."""

    def lookup(self, key: str) -> ProcessorResult:
        found = super().lookup(key)
        if found.outcome is Outcome.NOT_RECEIVED:
            return ProcessorResult(key=key, outcome=Outcome.DECLINED, reason="declined")
        return found


@attrs.frozen
class _World:
    bo: BackOffice
    sim: _DeclinedWhenAsked
    clock: ManualClock


@pytest.fixture(params=STORES)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[_World]:
    """A back office on each store over a single-capture simulated processor, with an
    order of 100.00 paid by a reusable card."""
    clock = ManualClock(START)
    sim = _DeclinedWhenAsked(clock=clock, multi_capture=False)
    with Stores(request.param, tmp_path) as stores:
        store = stores.new()
        bo = BackOffice(store=store, journal=store.journal, processor=sim, clock=clock)
        bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                       total=usd("100.00"),
                       payments=[CardPayment(card(), usd("100.00"))])  # fmt: skip
        yield _World(bo=bo, sim=sim, clock=clock)


def _keys(bo: BackOffice) -> list[str]:
    """The operation keys of SO-1, oldest first."""
    return [r.key for r in bo.operations("SO-1")]


def _assert_waits_for_a_new_payment(world: _World) -> None:
    """The order is held for the decline and its shortfall: the line keeps its 50.00
    capture as its amount, the next invoice is refused without a processor call, and a
    new card for the 50.00 due through completion approves it and pays the next invoice."""
    bo = world.bo
    order = bo.order("SO-1")
    assert order.status is OrderStatus.ON_HOLD
    assert {h.code for h in order.holds} == {HoldCode.PAYMENT_DECLINED, HoldCode.OUT_OF_BALANCE}
    assert bo.orders(on_hold=True) == ("SO-1",)
    line = order.line("L1")
    assert (line.amount, line.captured, line.authorized) == (
        usd("50.00"),
        usd("50.00"),
        usd("0.00"),
    )
    assert order.paid == usd("50.00")
    calls = world.sim.calls
    with pytest.raises(IllegalTransition):
        bo.invoice("SO-1", "INV-2", usd("50.00"))
    assert world.sim.calls == calls  # the card that declined is not asked again
    draft = bo.begin_completion("SO-1", AGENT)
    assert draft.balance_due == usd("50.00")
    submitted = bo.submit(draft.add_card(card("tok_2", "2222"), usd("50.00")))
    assert submitted.approved
    second = bo.invoice("SO-1", "INV-2", usd("50.00"))
    assert [(c.line_id, c.amount) for c in second.captures] == [("L2", usd("50.00"))]
    assert second.order.received == usd("100.00")
    assert second.order.status is OrderStatus.INVOICED


def _assert_held_at_once(result: InvoiceResult, order: Order) -> None:
    """The run captured 50.00 of L1, says a new payment is required and returns ``order``."""
    assert [(c.line_id, c.amount) for c in result.captures] == [("L1", usd("50.00"))]
    assert result.new_payment_required
    assert result.in_doubt == ()
    assert result.order == order


def test_a_released_rest_the_card_declines_holds_the_order_for_a_new_payment(
    world: _World,
) -> None:
    """I2, S2, S1: the rest a 50.00 capture of 100.00 released is declined when authorized
    again: the invoice reports the decline and that a new payment is required, and the
    order is held (PAYMENT_DECLINED, OUT_OF_BALANCE) instead of staying approved with
    50.00 of 100.00 paid and the declining card asked again by the next invoice."""
    world.sim.script("authorize", "decline")
    first = world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    _assert_held_at_once(first, world.bo.order("SO-1"))
    assert [(str(f), f.key) for f in first.failed] == [("L1", "SO-1/authorize:L1.A2#1")]
    assert _keys(world.bo) == [
        "SO-1/authorize:L1.A1#1",
        "SO-1/capture:INV-1:L1:L1.A1#1",
        "SO-1/authorize:L1.A2#1",
    ]
    _assert_waits_for_a_new_payment(world)


def test_a_released_rest_declined_after_a_pickups_retried_capture_holds_the_order(
    world: _World,
) -> None:
    """I6, I2, S2: a pickup's declined capture is retried with a new authorization, whose
    capture of 50.00 releases the rest; that rest declined holds the order as after a
    first capture."""
    world.sim.script("capture", "decline")
    world.sim.script("authorize", "approve", "decline")
    first = world.bo.pickup("SO-1", "INV-1", usd("50.00"))
    _assert_held_at_once(first, world.bo.order("SO-1"))
    assert [f.key for f in first.failed] == ["SO-1/authorize:L1.A3#1"]  # the retry captured
    _assert_waits_for_a_new_payment(world)


@pytest.mark.parametrize("route", ["recover", "notification"])
def test_a_released_rest_found_declined_after_a_doubt_holds_the_order(
    world: _World, route: str
) -> None:
    """I2, O2, N2: the rest's new authorization times out; recover() finds it declined, or
    its failure notification says so: the order ends held for a new payment as after a
    live decline (it stayed approved, 50.00 of 100.00 paid, and the next invoice asked the
    card that declined again)."""
    world.sim.script("authorize", "timeout_before")
    first = world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    assert first.in_doubt == ("SO-1/authorize:L1.A2#1",)
    assert not first.new_payment_required
    if route == "recover":
        assert world.bo.recover().still_in_doubt == ()
    else:
        note = Notification(notification_id="N-1", event=NotificationEvent.OUTCOME,
                            key="SO-1/authorize:L1.A2#1", success=False,
                            at=world.clock.now())  # fmt: skip
        assert world.bo.handle_notification(note).applied
    _assert_waits_for_a_new_payment(world)


def test_a_pickup_retry_the_card_declines_holds_a_partly_captured_lines_order(
    world: _World,
) -> None:
    """I6, S2, S1: a line that captured 50.00 of 100.00; a pickup's capture of the rest is
    declined, and so is its retry's new authorization: the line keeps its capture as its
    amount and the order is held for the new payment the result asks for (it stayed
    approved, and the next invoice asked the card that declined again)."""
    world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    world.sim.script("capture", "decline")
    world.sim.script("authorize", "decline")
    result = world.bo.pickup("SO-1", "INV-2", usd("50.00"))
    assert result.captures == ()
    assert result.new_payment_required
    assert [f.key for f in result.failed] == [
        "SO-1/capture:INV-2:L1:L1.A2#1",
        "SO-1/authorize:L1.A3#1",
    ]
    assert result.order == world.bo.order("SO-1")
    _assert_waits_for_a_new_payment(world)


def _assert_declined_line_waits_for_a_new_payment(world: _World) -> None:
    """L1 captured nothing and is declined; the order is held for the decline and the
    100.00 it lacks: the next invoice is refused without a processor call, the hold is
    not released while the declined line is on the order, and a new card for 100.00
    through completion approves it and pays INV-1 (tried again) and INV-2."""
    bo = world.bo
    order = bo.order("SO-1")
    assert order.status is OrderStatus.ON_HOLD
    assert {h.code for h in order.holds} == {HoldCode.PAYMENT_DECLINED, HoldCode.OUT_OF_BALANCE}
    assert bo.orders(on_hold=True) == ("SO-1",)
    line = order.line("L1")
    assert line.status is LineStatus.DECLINED
    assert (line.amount, line.captured, line.authorized) == (
        usd("100.00"),
        usd("0.00"),
        usd("0.00"),
    )
    assert (order.paid, order.received) == (usd("0.00"), usd("0.00"))
    calls = world.sim.calls
    with pytest.raises(IllegalTransition):
        bo.invoice("SO-1", "INV-2", usd("50.00"))
    with pytest.raises(IllegalTransition):
        bo.release_hold("SO-1", HoldCode.PAYMENT_DECLINED, AGENT)
    assert world.sim.calls == calls  # the card that declined is not asked again
    draft = bo.begin_completion("SO-1", AGENT)
    assert draft.balance_due == usd("100.00")
    assert bo.submit(draft.add_card(card("tok_2", "2222"), usd("100.00"))).approved
    again = bo.invoice("SO-1", "INV-1", usd("50.00"))
    assert [(c.line_id, c.amount) for c in again.captures] == [("L2", usd("50.00"))]
    second = bo.invoice("SO-1", "INV-2", usd("50.00"))
    assert [(c.line_id, c.amount) for c in second.captures] == [("L2", usd("50.00"))]
    assert second.order.received == usd("100.00")
    assert second.order.status is OrderStatus.INVOICED


def test_a_pickup_retry_the_card_declines_on_a_line_that_captured_nothing_holds_the_order(
    world: _World,
) -> None:
    """I6, S2, S1: a pickup's capture of 50.00 of a 100.00 order is declined, and so is
    its retry's new authorization: the line is declined and the order held for the new
    payment the result asks for (it stayed approved with no hold, and INV-2 of 50.00 then
    recorded it invoiced with 0.00 received). Operation keys as before (O4)."""
    world.sim.script("capture", "decline")
    world.sim.script("authorize", "decline")
    result = world.bo.pickup("SO-1", "INV-1", usd("50.00"))
    assert result.captures == ()
    assert result.new_payment_required
    assert [f.key for f in result.failed] == [
        "SO-1/capture:INV-1:L1:L1.A1#1",
        "SO-1/authorize:L1.A2#1",
    ]
    assert result.uncovered == usd("50.00")
    assert result.order == world.bo.order("SO-1")
    assert _keys(world.bo) == [
        "SO-1/authorize:L1.A1#1",
        "SO-1/capture:INV-1:L1:L1.A1#1",
        "SO-1/void:L1.A1#1",
        "SO-1/authorize:L1.A2#1",
    ]
    _assert_declined_line_waits_for_a_new_payment(world)


@pytest.mark.parametrize("route", ["recover", "notification"])
def test_a_pickup_retry_found_declined_after_a_doubt_holds_the_order(
    world: _World, route: str
) -> None:
    """I6, S2, O2, N2: the retry's new authorization of a line that captured nothing times
    out; recover() finds it declined, or its failure notification says so: the line is
    declined and the order held as after a live decline."""
    world.sim.script("capture", "decline")
    world.sim.script("authorize", "timeout_before")
    result = world.bo.pickup("SO-1", "INV-1", usd("50.00"))
    assert result.in_doubt == ("SO-1/authorize:L1.A2#1",)
    if route == "recover":
        assert world.bo.recover().still_in_doubt == ()
    else:
        note = Notification(notification_id="N-1", event=NotificationEvent.OUTCOME,
                            key="SO-1/authorize:L1.A2#1", success=False,
                            at=world.clock.now())  # fmt: skip
        assert world.bo.handle_notification(note).applied
    _assert_declined_line_waits_for_a_new_payment(world)


def test_the_hold_a_declined_released_rest_left_needs_the_override_while_the_rest_is_unpaid(
    world: _World,
) -> None:
    """S4, I2, S2: the PAYMENT_DECLINED hold of a released rest the card declined stays
    while the order lacks the 50.00 that card did not pay: an agent without
    ``hold_override`` cannot release it (they could, at once, and with out of balance
    allowed the order then went on approved with 50.00 of 100.00 paid); a supervisor
    releases it with the override, recorded as such."""
    world.sim.script("authorize", "decline")
    world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    with pytest.raises(IllegalTransition):
        world.bo.release_hold("SO-1", HoldCode.PAYMENT_DECLINED, AGENT)
    assert world.bo.order("SO-1").has_hold(HoldCode.PAYMENT_DECLINED)
    boss = Actor.call_center("boss-1", permissions=frozenset({"hold_override"}))
    order = world.bo.release_hold("SO-1", HoldCode.PAYMENT_DECLINED, boss)
    assert [(r.code, r.override) for r in order.released_holds] == [
        (HoldCode.PAYMENT_DECLINED, True)
    ]
    assert {h.code for h in order.holds} == {HoldCode.OUT_OF_BALANCE}
