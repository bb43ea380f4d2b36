"""Authorization lifecycle: expiry and staleness at day boundaries (I3), pickup retries (I6).

The default policy: an authorization expires after 14 days and is stale after 30.
"""

from __future__ import annotations

import contextlib

import pytest

from ocop import Actor, BackOffice, HoldCode, IllegalTransition, LineStatus, OrderStatus
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedCrash, SimulatedProcessor
from worlds import World, by_card, card, new_world, usd

from .conftest import AGENT, assert_consistent, entries, kinds, place

# -- I3: expiry and staleness ----------------------------------------------------------------


def test_an_authorization_a_minute_short_of_expiry_is_captured_as_it_is(world: World) -> None:
    """At 13 days 23:59 the original authorization is captured, with no re-authorization."""
    place(world.bo, "SO-1", "50.00", by_card("50.00"))
    world.clock.advance(days=13, hours=23, minutes=59)
    result = world.bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert [(c.auth_id, c.amount) for c in result.captures] == [("L1.A1", usd("20.00"))]
    assert kinds(world.sim, "SO-1") == ["authorize", "capture"]
    assert result.order.holds == ()
    assert_consistent(world, "SO-1")


def test_an_authorization_exactly_at_expiry_is_voided_reauthorized_and_captured(
    world: World,
) -> None:
    """At exactly 14 days the authorization is voided, renewed with the card token, captured."""
    place(world.bo, "SO-1", "50.00", by_card("50.00"))
    world.clock.advance(days=14)
    result = world.bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert kinds(world.sim, "SO-1") == ["authorize", "void", "authorize", "capture"]
    renewal = entries(world.sim, "SO-1", "authorize")[-1]
    assert (renewal.amount, renewal.target) == (usd("50.00"), "tok_1")
    assert [(c.auth_id, c.amount) for c in result.captures] == [("L1.A2", usd("20.00"))]
    line = result.order.line("L1")
    assert [(a.auth_id, a.open_amount) for a in line.authorizations] == [
        ("L1.A1", usd("0.00")),
        ("L1.A2", usd("30.00")),
    ]
    assert result.failed == ()
    assert result.order.holds == ()
    assert_consistent(world, "SO-1")


def test_an_authorization_a_minute_short_of_stale_is_still_renewed(world: World) -> None:
    """At 29 days 23:59 the authorization is expired, not stale: it is renewed and captured."""
    place(world.bo, "SO-1", "50.00", by_card("50.00"))
    world.clock.advance(days=29, hours=23, minutes=59)
    result = world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    assert kinds(world.sim, "SO-1") == ["authorize", "void", "authorize", "capture"]
    assert [c.auth_id for c in result.captures] == ["L1.A2"]
    assert_consistent(world, "SO-1")


def test_an_expired_authorization_without_a_reusable_card_token_declines_the_line(
    world: World,
) -> None:
    """Without a reusable token an expired authorization is voided and its line declined."""
    place(world.bo, "SO-1", "50.00", by_card("50.00", card(reusable=False)))
    world.clock.advance(days=14)
    result = world.bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert kinds(world.sim, "SO-1") == ["authorize", "void"]
    assert result.captures == ()
    assert result.failed == ("L1",)
    assert result.uncovered == usd("20.00")
    assert result.order.line("L1").status is LineStatus.DECLINED
    assert result.order.has_hold(HoldCode.AUTHORIZATION_EXPIRED)
    assert result.order.status is OrderStatus.ON_HOLD
    assert_consistent(world, "SO-1")


def test_an_expired_partly_captured_line_without_a_reusable_token_keeps_its_captures(
    world: World,
) -> None:
    """A line that already captured is not declined: its rest is voided, the order held."""
    place(world.bo, "SO-1", "100.00", by_card("100.00", card(reusable=False)))
    world.bo.invoice("SO-1", "INV-1", usd("40.00"))
    world.clock.advance(days=14)
    result = world.bo.invoice("SO-1", "INV-2", usd("30.00"))
    assert kinds(world.sim, "SO-1") == ["authorize", "capture", "void"]
    line = result.order.line("L1")
    assert line.status is LineStatus.PARTIALLY_PAID
    assert (line.captured, line.authorized) == (usd("40.00"), usd("0.00"))
    assert result.order.has_hold(HoldCode.AUTHORIZATION_EXPIRED)
    assert_consistent(world, "SO-1")


def test_a_stale_authorization_is_refused_without_any_processor_call(world: World) -> None:
    """At exactly 30 days the capture is refused locally and the order held."""
    place(world.bo, "SO-1", "50.00", by_card("50.00"))
    world.clock.advance(days=30)
    calls, ledger = world.sim.calls, world.sim.ledger()
    result = world.bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert world.sim.calls == calls
    assert world.sim.ledger() == ledger
    assert result.captures == ()
    assert result.failed == ("L1",)
    assert result.order.has_hold(HoldCode.AUTHORIZATION_EXPIRED)
    assert result.order.status is OrderStatus.ON_HOLD


def test_an_order_held_for_an_expired_authorization_refuses_further_invoices(
    world: World,
) -> None:
    """The AUTHORIZATION_EXPIRED hold stops the next invoice until it is dealt with."""
    place(world.bo, "SO-1", "50.00", by_card("50.00"))
    world.clock.advance(days=30)
    world.bo.invoice("SO-1", "INV-1", usd("20.00"))
    calls = world.sim.calls
    with pytest.raises(IllegalTransition):
        world.bo.invoice("SO-1", "INV-2", usd("20.00"))
    assert world.sim.calls == calls


# -- I6: pickup in store ---------------------------------------------------------------------


def test_a_pickup_applies_the_authorizations_in_sequence_up_to_the_amount_due(
    world: World,
) -> None:
    """Pickup takes the first card line whole, then what is due from the next."""
    place(
        world.bo,
        "SO-1",
        "100.00",
        by_card("50.00", card("tok_1")),
        by_card("50.00", card("tok_2")),
    )
    result = world.bo.pickup("SO-1", "INV-1", usd("70.00"))
    assert [(c.line_id, c.amount) for c in result.captures] == [
        ("L1", usd("50.00")),
        ("L2", usd("20.00")),
    ]
    assert_consistent(world, "SO-1")


def test_a_declined_pickup_capture_is_retried_as_a_new_authorization_and_capture(
    world: World,
) -> None:
    """I6: after a declined capture, the old authorization is voided and a new one with the
    same card is captured, so the card never holds the money twice."""
    place(world.bo, "SO-1", "50.00", by_card("50.00"))
    world.sim.script("capture", "decline")
    result = world.bo.pickup("SO-1", "INV-1", usd("50.00"))
    assert kinds(world.sim, "SO-1") == ["authorize", "void", "authorize", "capture"]
    assert result.order.balance_due == usd("0.00")
    assert entries(world.sim, "SO-1", "authorize")[-1].target == "tok_1"
    assert [(c.auth_id, c.amount) for c in result.captures] == [("L1.A2", usd("50.00"))]
    assert result.failed == ()
    assert not result.new_payment_required
    assert result.uncovered == usd("0.00")
    assert_consistent(world, "SO-1")


def test_a_pickup_whose_retry_also_fails_requires_a_new_payment(world: World) -> None:
    """I6: when the new authorization's capture fails too, a new payment is required."""
    place(world.bo, "SO-1", "50.00", by_card("50.00"))
    world.sim.script("capture", "decline", "decline")
    result = world.bo.pickup("SO-1", "INV-1", usd("50.00"))
    assert result.new_payment_required
    assert result.captures == ()
    assert result.uncovered == usd("50.00")
    assert "capture" not in kinds(world.sim, "SO-1")
    assert [a.open_amount for a in result.order.lines[0].authorizations] == [
        usd("0.00"),
        usd("50.00"),
    ]
    assert_consistent(world, "SO-1")


def test_a_declined_invoice_capture_outside_pickup_is_not_retried(world: World) -> None:
    """Only pickup retries with a new authorization; an invoice reports the failed line."""
    place(world.bo, "SO-1", "50.00", by_card("50.00"))
    world.sim.script("capture", "decline")
    result = world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    assert kinds(world.sim, "SO-1") == ["authorize"]
    assert result.failed == ("L1",)
    assert not result.new_payment_required
    assert_consistent(world, "SO-1")


def _single_capture(clock: ManualClock) -> World:
    """A world whose processor closes an authorization at its first capture."""
    sim = SimulatedProcessor(clock=clock, multi_capture=False)
    return World(clock=clock, sim=sim, bo=BackOffice.in_memory(processor=sim, clock=clock))


def test_a_released_rest_the_card_cannot_renew_holds_the_order_for_a_new_payment(
    clock: ManualClock,
) -> None:
    """I2: a single capture released the rest, and the card's token cannot be authorized
    again: the order is out of balance, so it is held (OUT_OF_BALANCE) and the invoice
    says a new payment is required; the next invoice waits for it. A new card through
    completion pays the rest, and the order is invoiced again."""
    world = _single_capture(clock)
    place(world.bo, "SO-1", "100.00", by_card("100.00", card(reusable=False)))
    first = world.bo.invoice("SO-1", "INV-1", usd("30.00"))
    assert [c.amount for c in first.captures] == [usd("30.00")]
    assert first.new_payment_required
    assert first.order.status is OrderStatus.ON_HOLD
    assert [h.code for h in first.order.holds] == [HoldCode.OUT_OF_BALANCE]
    assert kinds(world.sim, "SO-1") == ["authorize", "capture"]
    with pytest.raises(IllegalTransition):
        world.bo.invoice("SO-1", "INV-2", usd("70.00"))
    # The call center takes the line down to what it captured and adds a card for the rest.
    draft = world.bo.begin_completion("SO-1", AGENT).change_amount("L1", usd("30.00"))
    assert world.bo.submit(draft.add_card(card("tok_2", "2222"), usd("70.00"))).approved
    second = world.bo.invoice("SO-1", "INV-2", usd("70.00"))
    assert [(c.line_id, c.amount) for c in second.captures] == [("L2", usd("70.00"))]
    assert not second.new_payment_required
    assert second.order.received == usd("100.00")
    assert_consistent(world, "SO-1")


@pytest.mark.parametrize("answer", ["timeout_after_success", "crash_after_success"])
def test_a_released_rest_found_by_recovery_holds_the_order_as_live(
    clock: ManualClock, answer: str
) -> None:
    """I2, S1: the single capture of 30.00 left in doubt (no answer, or the process died)
    and found approved by recover() holds the order (OUT_OF_BALANCE) for the 70.00 its
    single-use card cannot be asked again, as when the capture is answered live; the order
    is listed on hold and not invoiced again. (It was left partially invoiced with no
    hold, 30.00 of 100.00 paid, until a next invoice found the shortfall.)"""
    world = _single_capture(clock)
    place(world.bo, "SO-1", "100.00", by_card("100.00", card(reusable=False)))
    world.sim.script("capture", answer)
    with contextlib.suppress(SimulatedCrash):
        world.bo.invoice("SO-1", "INV-1", usd("30.00"))
    world.bo.recover()
    order = world.bo.order("SO-1")
    assert order.received == usd("30.00")
    assert (order.status, [h.code for h in order.holds]) == (
        OrderStatus.ON_HOLD, [HoldCode.OUT_OF_BALANCE],
    )  # fmt: skip
    assert world.bo.orders(on_hold=True) == ("SO-1",)
    with pytest.raises(IllegalTransition):
        world.bo.pickup("SO-1", "INV-2", usd("70.00"))
    assert_consistent(world, "SO-1")


def test_a_new_card_for_a_released_rest_leaves_the_single_use_token_alone(
    clock: ManualClock,
) -> None:
    """I2, C3: the agent adds a card for the rest and leaves the line as it is: submit never
    authorizes the used single-use token again (a processor declines it), the line stays
    short of its amount and the new card pays the rest."""
    world = _single_capture(clock)
    place(world.bo, "SO-1", "100.00", by_card("100.00", card(reusable=False)))
    assert world.bo.invoice("SO-1", "INV-1", usd("30.00")).new_payment_required
    draft = world.bo.begin_completion("SO-1", AGENT).add_card(card("tok_2", "2222"), usd("70.00"))
    result = world.bo.submit(draft)
    assert result.approved
    assert [(e.target, e.amount) for e in entries(world.sim, "SO-1", "authorize")] == [
        ("tok_1", usd("100.00")),
        ("tok_2", usd("70.00")),
    ]
    line = result.order.line("L1")
    assert (line.amount, line.captured, line.authorized) == (
        usd("100.00"),
        usd("30.00"),
        usd("0.00"),
    )
    second = world.bo.invoice("SO-1", "INV-2", usd("70.00"))
    assert [(c.line_id, c.amount) for c in second.captures] == [("L2", usd("70.00"))]
    assert_consistent(world, "SO-1")


def test_a_released_rest_a_reusable_card_renews_leaves_the_order_approved(
    clock: ManualClock,
) -> None:
    """I2, the usual way: the rest is authorized again with the card's token."""
    world = _single_capture(clock)
    place(world.bo, "SO-1", "100.00", by_card("100.00"))
    first = world.bo.invoice("SO-1", "INV-1", usd("30.00"))
    assert not first.new_payment_required
    assert first.order.approved
    assert kinds(world.sim, "SO-1") == ["authorize", "capture", "authorize"]
    assert first.order.lines[0].authorized == usd("70.00")
    assert_consistent(world, "SO-1")


def test_a_pickup_retry_on_a_single_capture_authorization_renews_the_released_rest(
    clock: ManualClock,
) -> None:
    """I6 with I2: the retry's new authorization is closed by its capture too, and the rest
    of the line is authorized again, as after a first capture."""
    world = _single_capture(clock)
    place(world.bo, "SO-1", "100.00", by_card("100.00"))
    world.sim.script("capture", "decline")
    result = world.bo.pickup("SO-1", "INV-1", usd("50.00"))
    assert [c.amount for c in result.captures] == [usd("50.00")]
    assert kinds(world.sim, "SO-1") == ["authorize", "void", "authorize", "capture", "authorize"]
    assert result.order.lines[0].authorized == usd("50.00")
    assert result.order.approved
    assert_consistent(world, "SO-1")


def test_an_override_of_the_short_orders_hold_stands_at_the_next_invoice(
    clock: ManualClock,
) -> None:
    """S4: a supervisor who releases the OUT_OF_BALANCE hold with the override chose to go
    on: the next invoice does not hold the order again for the same shortfall (it captures
    what it can and reports the rest uncovered)."""
    world = _single_capture(clock)
    place(world.bo, "SO-1", "100.00", by_card("100.00", card(reusable=False)))
    world.bo.invoice("SO-1", "INV-1", usd("30.00"))
    supervisor = Actor.call_center("supervisor", permissions=frozenset({"hold_override"}))
    released = world.bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, supervisor)
    assert released.released_holds[-1].override
    second = world.bo.invoice("SO-1", "INV-2", usd("70.00"))
    assert (second.captures, second.uncovered) == ((), usd("70.00"))
    assert not second.new_payment_required
    assert second.order.holds == ()


def test_an_override_of_another_shortfall_does_not_stand_for_a_released_rest(
    clock: ManualClock,
) -> None:
    """I2, S4: a supervisor overrode the OUT_OF_BALANCE hold of a 10.00 shortfall at
    placement; later a partial single capture settled by recover() released the card's
    rest, which it cannot authorize again. recover() holds the order for that new
    shortfall, as the invoice run does live, and the next invoice waits for a new payment.
    (The earlier override stood for it: the order was invoiced with 50.00 never captured,
    and no hold.)"""
    world = _single_capture(clock)
    place(world.bo, "SO-1", "100.00", by_card("90.00", card(reusable=False)))
    supervisor = Actor.call_center("supervisor", permissions=frozenset({"hold_override"}))
    world.bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, supervisor)
    world.sim.script("capture", "timeout_after_success")
    assert world.bo.invoice("SO-1", "INV-1", usd("50.00")).in_doubt
    world.bo.recover()
    assert [h.code for h in world.bo.order("SO-1").holds] == [HoldCode.OUT_OF_BALANCE]
    with pytest.raises(IllegalTransition):
        world.bo.invoice("SO-1", "INV-2", usd("50.00"))


@pytest.mark.parametrize("reusable_first", [False, True])
def test_an_expired_line_that_cannot_be_renewed_holds_the_order_whatever_the_line_order(
    world: World, reusable_first: bool
) -> None:
    """I3: of two expired card lines, one whose card cannot be authorized again is declined
    and the order held (AUTHORIZATION_EXPIRED), whether the other line, renewed, comes
    before or after it."""
    tokens = [card("tok_1", reusable=False), card("tok_2", "2222")]
    if reusable_first:
        tokens.reverse()
    place(world.bo, "SO-1", "100.00", *(by_card("50.00", token) for token in tokens))
    world.clock.advance(days=15)
    result = world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    declined = "L2" if reusable_first else "L1"
    assert [str(f) for f in result.failed] == [declined]
    assert result.uncovered == usd("50.00")
    assert [h.code for h in result.order.holds] == [HoldCode.AUTHORIZATION_EXPIRED]
    assert_consistent(world, "SO-1")


def give_back_to_a_voided_authorization(world: World) -> None:
    """SO-1 (100.00, one card): a capture of 30.00 pending when the renewal job voided
    L1.A1's rest and renewed it fails, giving its 30.00 back to the voided L1.A1."""
    place(world.bo, "SO-1", "100.00", by_card("100.00"))
    world.sim.script("capture", "pending")
    world.bo.invoice("SO-1", "INV-1", usd("30.00"))
    world.clock.advance(days=12)
    world.bo.renew_authorizations()
    for note in world.sim.settle_pending("decline"):
        assert world.bo.handle_notification(note).undone


def test_a_rest_released_beside_another_open_authorization_is_authorized_again() -> None:
    """I2 with two open authorizations on a line (a capture pending when the renewal job
    ran failed, giving 30.00 back to the voided one, which the next run renewed apart):
    the retried INV-1's single capture releases 40.00, authorized again at once, so INV-2
    captures its whole 70.00. (The rest waited while the other authorization was open:
    INV-2 came out 40.00 short with no failure, the order invoiced with 60.00 received.)"""
    world = new_world(multi_capture=False)
    give_back_to_a_voided_authorization(world)
    world.bo.renew_authorizations()
    assert len(world.bo.order("SO-1").line("L1").open_authorizations()) == 2
    first = world.bo.invoice("SO-1", "INV-1", usd("30.00"))
    assert (first.uncovered, first.failed) == (usd("0.00"), ())
    assert world.bo.order("SO-1").line("L1").authorized == usd("70.00")
    second = world.bo.invoice("SO-1", "INV-2", usd("70.00"))
    assert (second.uncovered, second.failed) == (usd("0.00"), ())
    order = world.bo.order("SO-1")
    assert (order.received, order.status) == (usd("100.00"), OrderStatus.INVOICED)
    assert order.line("L1").authorized == usd("0.00")
    assert_consistent(world, "SO-1")


@pytest.mark.parametrize("days", [14, 19])
def test_an_expired_authorization_left_holds_the_order_though_another_of_its_line_renewed(
    world: World, days: int
) -> None:
    """I3, counted per authorization: line L1 holds two open authorizations (a capture
    pending when the renewal job ran failed, giving 30.00 back to the voided L1.A1). Both
    have expired; L1.A1 cannot be renewed (its void declined; or, 19 days on, it is
    stale), L1.A2 is renewed. The order is held AUTHORIZATION_EXPIRED for L1.A1. (The
    renewal of L1.A2 cleared the line's note, so the order was left unheld, 30.00 short.)"""
    give_back_to_a_voided_authorization(world)
    world.clock.advance(days=days)
    if days == 14:
        world.sim.script("void", "decline")
    result = world.bo.invoice("SO-1", "INV-2", usd("70.00"))
    assert [str(f) for f in result.failed] == ["L1"]
    assert result.uncovered == usd("30.00")
    assert [c.amount for c in result.captures] == [usd("40.00")]
    assert [h.code for h in result.order.holds] == [HoldCode.AUTHORIZATION_EXPIRED]
    assert_consistent(world, "SO-1")
