"""Cancelling again (rules D2, X1, O4, J3): a cancelled order whose deposit still holds
money due back (a deposit capture approved after the cancellation, a deposit refund
declined after it, a chargeback on the deposit reversed after it) refunds only what is
still due, the charge kept, never anything twice.

When the first cancellation gave back part of a cash deposit, the second one refunded the
card deposit at the processor, then refused the rest of the cash under the first one's key
(``SO-1/cancel:L2 already recorded``): money moved, the call raised, and every later
cancellation raised the same way, so the rest of the cash could never go back.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ocop import Actor, BackOffice, Channel, IllegalTransition, OrderStatus, VoucherKind
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain.values import replaced
from unsolicited_support import chargeback, check_books, reversal
from worlds import CUSTOMER, START, World, by_card, card, in_cash, new_world, usd

from .support import AGENT, deposits, ledger, place_deposit


def assert_refunded_once(world: World, order_id: str = "SO-1") -> None:
    """The processor refunded exactly the card refunds the order records, each once; every
    refund the order records has its own refund voucher (J3), and no voucher is missing."""
    order = check_books(world.bo, order_id)
    card_refunds = sorted(
        (r.refund_id, r.amount) for line in order.lines if line.is_card for r in line.refunds
    )
    refunded = sorted((e.key, e.amount) for e in ledger(world.sim, "refund"))
    assert refunded == card_refunds
    made = [*(r for line in order.lines for r in line.refunds), *order.other_refunds]
    recorded = sorted(("V:" + r.refund_id, r.amount) for r in made)
    vouchers = sorted(
        (v.voucher_id, v.amount) for v in world.bo.journal(order_id) if v.kind is VoucherKind.REFUND
    )
    assert vouchers == recorded


def cash_refunds(world: World, line_id: str) -> list[tuple[str, str]]:
    """The refunds of a cash deposit line: (key, amount)."""
    line = world.bo.order("SO-1").line(line_id)
    return [(r.refund_id, str(r.amount.amount)) for r in line.refunds]


def test_a_deposit_capture_approved_after_the_cancellation_is_refunded_by_cancelling_again() -> (
    None
):
    """D2, O4: the card deposit's capture was pending at the cancellation, which kept the
    10.00 charge from the cash and gave 20.00 of it back; approved later, cancelling again
    refunds what is still due, 40.00 to the card and the last 10.00 of the cash under a key
    of its own. 70.00 of 80.00 in all, the charge kept once; a third cancel is refused."""
    world = new_world(deposits(charge="5"))  # 10.00 of 200.00
    world.sim.script("capture", "pending")
    place_deposit(world, "200.00", by_card("50.00"), in_cash("30.00"))
    first = world.bo.cancel_order("SO-1", AGENT)
    assert (first.refunded, first.charged) == (usd("20.00"), usd("10.00"))
    for note in world.sim.settle_pending("approve"):
        world.bo.handle_notification(note)

    again = world.bo.cancel_order("SO-1", AGENT)

    assert (again.refunded, again.charged) == (usd("50.00"), usd("10.00"))
    order = again.order
    assert order.status is OrderStatus.CANCELLED
    assert (order.received, order.refunded) == (usd("80.00"), usd("70.00"))
    assert [e.amount for e in ledger(world.sim, "refund")] == [usd("40.00")]
    assert cash_refunds(world, "L2") == [("SO-1/cancel:L2", "20.00"), ("SO-1/cancel:L2#2", "10.00")]
    assert_refunded_once(world)
    with pytest.raises(IllegalTransition):
        world.bo.cancel_order("SO-1", AGENT)
    assert world.bo.order("SO-1") == order


def test_a_return_refund_declined_after_the_cancellation_is_sent_by_cancelling_again() -> None:
    """D2: a return's refund of 50.00 to the card deposit was pending at the cancellation
    (counted as made; 20.00 more went back by the fallback method), so only 10.00 of the
    cash went back; declined later, cancelling again refunds the 30.00 the card still holds
    and the cash's last 20.00: the whole deposit is back, with no charge."""
    world = new_world()
    place_deposit(world, "200.00", by_card("50.00"), in_cash("30.00"))
    world.sim.script("refund", "pending")
    world.bo.refund("SO-1", "RMA-1", usd("70.00"), AGENT)  # 50 linked (pending) + 20 fallback
    assert world.bo.cancel_order("SO-1", AGENT).refunded == usd("10.00")
    for note in world.sim.settle_pending("decline"):
        world.bo.handle_notification(note)

    again = world.bo.cancel_order("SO-1", AGENT)

    assert again.refunded == usd("50.00")
    assert [e.amount for e in ledger(world.sim, "refund")] == [usd("30.00")]
    assert again.order.refunded == again.order.received == usd("80.00")
    assert cash_refunds(world, "L2") == [("SO-1/cancel:L2", "10.00"), ("SO-1/cancel:L2#2", "20.00")]
    assert_refunded_once(world)


def test_a_chargeback_reversed_after_the_cancellation_lets_cancelling_again_refund_the_rest() -> (
    None
):
    """D2, N4: a chargeback had taken 30.00 of the card deposit (40.00 of it refunded by a
    return), so the cancellation gave back only 10.00 of the cash; reversed later,
    cancelling again refunds the card's last 10.00 and the cash's last 20.00."""
    world = new_world()
    place_deposit(world, "200.00", in_cash("30.00"), by_card("50.00"))
    (capture,) = world.bo.order("SO-1").line("L2").captures
    world.bo.refund("SO-1", "RMA-1", usd("40.00"), AGENT)
    world.bo.handle_notification(chargeback(capture.capture_id, usd("30.00"), 1, dispute="D1"))
    assert world.bo.cancel_order("SO-1", AGENT).refunded == usd("10.00")
    world.bo.handle_notification(reversal(capture.capture_id, 2, dispute="D1"))

    again = world.bo.cancel_order("SO-1", AGENT)

    assert again.refunded == usd("30.00")
    assert again.order.refunded == again.order.received == usd("80.00")
    assert cash_refunds(world, "L1") == [("SO-1/cancel:L1", "10.00"), ("SO-1/cancel:L1#2", "20.00")]
    assert_refunded_once(world)


def test_a_chargeback_reversed_after_the_cancellation_is_kept_for_review_while_money_is_due() -> (
    None
):
    """D2, N4: the reversal gives the cancelled order's deposit 20.00 that is due back to
    the customer, and only cancelling again refunds it: the reversal is applied and kept
    for review, so a person learns of it. (It was applied silently: the money stayed.)"""
    world = new_world(deposits(charge="10"))
    place_deposit(world, "100.00", by_card("30.00"))
    (capture,) = world.bo.order("SO-1").line("L1").captures
    world.bo.handle_notification(chargeback(capture.capture_id, usd("25.00"), 1, dispute="D1"))
    first = world.bo.cancel_order("SO-1", AGENT)
    assert (first.charged, first.order.refunded) == (usd("5.00"), usd("0.00"))
    back = reversal(capture.capture_id, 2, dispute="D1")

    assert world.bo.handle_notification(back).applied

    assert world.bo.notifications_for_review() == (back,)
    again = world.bo.cancel_order("SO-1", AGENT)
    assert (again.refunded, again.charged) == (usd("20.00"), usd("10.00"))
    assert_refunded_once(world)


def test_an_order_stored_with_the_first_cancellation_key_reads_back_and_cancels_again(
    tmp_path: Path,
) -> None:
    """O4, J3: the first refund of a line at cancellation keeps the key every version gave
    it (``SO-1/cancel:L2``, its voucher ``V:SO-1/cancel:L2``); an order stored with it
    reads back from SQLite, and cancelling it again refunds the rest under a new, distinct
    key, with a voucher of its own."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    path = str(tmp_path / "payments.db")
    bo = BackOffice.sqlite(path, settings=deposits(charge="5"), processor=sim, clock=clock)
    sim.script("capture", "pending")
    bo.place_order("SO-1", channel=Channel.POS,
                   customer=CUSTOMER, total=usd("200.00"),
                   payments=[by_card("50.00"), in_cash("30.00")], deposit=True)  # fmt: skip
    bo.cancel_order("SO-1", AGENT)
    stored = [(v.voucher_id, v.amount) for v in bo.journal("SO-1") if v.kind is VoucherKind.REFUND]
    assert stored == [("V:SO-1/cancel:L2", usd("20.00"))]

    reopened = BackOffice.sqlite(path, settings=deposits(charge="5"), processor=sim, clock=clock)
    (refund,) = reopened.order("SO-1").line("L2").refunds
    assert (refund.refund_id, refund.amount) == ("SO-1/cancel:L2", usd("20.00"))
    for note in sim.settle_pending("approve"):
        reopened.handle_notification(note)
    assert reopened.cancel_order("SO-1", AGENT).refunded == usd("50.00")

    line = reopened.order("SO-1").line("L2")
    assert [r.refund_id for r in line.refunds] == ["SO-1/cancel:L2", "SO-1/cancel:L2#2"]
    vouchers = [v.voucher_id for v in reopened.journal("SO-1") if v.kind is VoucherKind.REFUND]
    assert sorted(vouchers) == sorted(
        ["V:SO-1/cancel:L2", "V:SO-1/cancel:L2#2", "V:SO-1/refund:CANCEL:deposit:L1:L1.A1#1:1#1"]
    )


def test_the_cash_part_is_planned_before_the_card_deposit_is_refunded() -> None:
    """D2, X1, O3: cancelling plans the cash or check part of the deposit before the card
    deposit's refund goes to the processor, so a refusal of that part is raised while no
    money has moved, and the order is left as it was. (A pending refund on a cash line is a
    state ocop never makes; it stands for any refusal of that part, here V3.)"""
    world = new_world(deposits(charge="5"))
    world.sim.script("capture", "pending")
    place_deposit(world, "200.00", by_card("50.00"), in_cash("30.00"))
    world.bo.cancel_order("SO-1", AGENT)
    for note in world.sim.settle_pending("approve"):
        world.bo.handle_notification(note)
    order = world.bo.order("SO-1")
    cash = order.line("L2")
    (refund,) = cash.refunds
    refusing = order.with_line(replaced(cash, refunds=(replaced(refund, pending=True),)))
    with world.bo.ports.store.unit_of_work() as uow:
        uow.orders.update(refusing)
        uow.commit()
    before = world.bo.order("SO-1")

    with pytest.raises(IllegalTransition, match="V3"):
        world.bo.cancel_order("SO-1", AGENT)

    assert ledger(world.sim, "refund") == []
    assert world.bo.order("SO-1") == before


def test_a_charge_grown_since_an_earlier_attempt_keeps_only_what_the_deposit_still_holds() -> None:
    """D2, X1: the first cancellation (charge 5 % of 10.00: 0.50) refunded 9.50 of the card
    deposit, its answer in doubt until recovery; the order went on, its total raised to
    20.00 and 5.00 cash added. Cancelling again, the 5 % charge is 1.00, but the deposit
    holds only 0.50 now: 0.50 is kept, the whole cash goes back, and the charge reported is
    the money the order kept. (The charge was capped by the whole deposit, the 9.50 already
    refunded counted as still held: 1.00 was reported, and the cash refund stopped 0.50
    short of the 5.00 to leave room for it.)"""
    world = new_world(deposits(charge="5"))
    place_deposit(world, "10.00", by_card("10.00"))
    world.sim.script("refund", "timeout_after_success")
    assert world.bo.cancel_order("SO-1", AGENT).in_doubt
    world.bo.recover()
    world.bo.change_total("SO-1", usd("20.00"), AGENT)
    world.bo.submit(world.bo.begin_completion("SO-1", AGENT).add_prepayment("cash", usd("5.00")))

    again = world.bo.cancel_order("SO-1", AGENT)

    order = again.order
    assert order.status is OrderStatus.CANCELLED
    assert (again.charged, again.refunded) == (usd("0.50"), usd("5.00"))
    assert (order.received, order.refunded) == (usd("15.00"), usd("14.50"))
    assert order.received - order.refunded == again.charged
    assert cash_refunds(world, "L2") == [("SO-1/cancel:L2", "5.00")]
    assert_refunded_once(world)


def test_cash_refunded_by_the_first_cancellation_is_not_counted_as_deposit_still_held() -> None:
    """D2, V3, V5: the card deposit's capture (10.00) was pending at the cancellation,
    which refunded the 20.00 cash paid besides the deposit; approved later, 8.00 went to
    another card for a return, so the order holds 2.00, less than the 5.00 charge (5 % of
    100.00): nothing is due back, and cancelling again is refused with nothing sent. (The
    cash's refund under the cancellation's return was counted as deposit still held: a
    5.00 linked refund was sent, the processor paid it, and ocop refused to record it,
    33.00 refunded of 30.00 received (V3): the processor's books and ocop's disagreed.)"""
    world = new_world(deposits(charge="5"))
    world.sim.script("capture", "pending")
    place_deposit(world, "100.00", by_card("10.00"))
    draft = world.bo.begin_completion("SO-1", AGENT).add_prepayment("cash", usd("20.00"))
    world.bo.submit(draft)
    assert world.bo.cancel_order("SO-1", AGENT).refunded == usd("20.00")
    for note in world.sim.settle_pending("approve"):
        world.bo.handle_notification(note)
    other = card("tok_9", "9999")
    agent = Actor.call_center("agent-2", permissions=frozenset({"alternate_payment"}))
    world.bo.refund_to_card("SO-1", "RMA-1", other, usd("8.00"), agent)
    before = world.bo.order("SO-1")

    with pytest.raises(IllegalTransition, match="cancelled"):
        world.bo.cancel_order("SO-1", AGENT)

    order = world.bo.order("SO-1")
    assert order == before
    assert (order.received, order.refunded) == (usd("30.00"), usd("28.00"))
    assert ledger(world.sim, "refund") == []
    check_books(world.bo, "SO-1")


def test_a_refund_to_another_card_after_the_cancellation_is_not_refunded_again() -> None:
    """D2, V3, V5: the cancellation gave the 60.00 cash deposit back and sent 40.00 to the
    card deposit, pending; declined later, the card holds 40.00 again, and a return sent
    20.00 of it to another card. The order holds 20.00: cancelling again refunds 20.00 to
    the card deposit. (The 20.00 paid to the other card was counted as kept from the cash,
    already refunded whole: the card deposit was refunded its whole 40.00, the processor
    paid it, and ocop refused to record it, 120.00 refunded of 100.00 received (V3); the
    refund stayed in doubt for good.)"""
    world = new_world()
    place_deposit(world, "200.00", in_cash("60.00"), by_card("40.00"))
    world.sim.script("refund", "pending")
    assert world.bo.cancel_order("SO-1", AGENT).refunded == usd("100.00")
    for note in world.sim.settle_pending("decline"):
        world.bo.handle_notification(note)
    other = card("tok_9", "9999")
    agent = Actor.call_center("agent-2", permissions=frozenset({"alternate_payment"}))
    world.bo.refund_to_card("SO-1", "RMA-1", other, usd("20.00"), agent)

    again = world.bo.cancel_order("SO-1", AGENT)

    assert (again.refunded, again.in_doubt) == (usd("20.00"), ())
    assert again.order.refunded == again.order.received == usd("100.00")
    refunds = [(e.key, e.amount) for e in ledger(world.sim, "refund")]
    assert refunds == [("SO-1/refund:CANCEL:deposit:L2:L2.A1#1:1#2", usd("20.00"))]
    assert cash_refunds(world, "L1") == [("SO-1/cancel:L1", "60.00")]
    assert_refunded_once(world)


def test_a_charge_a_return_gave_back_from_the_card_is_kept_from_the_cash() -> None:
    """D2, X1: the first cancellation (charge 5 % of 100.00: 5.00, kept from the card
    deposit) refunded 45.00 of the card's 50.00, its answer in doubt until recovery; a
    return then took 7.00, the card's last 5.00 and 2.00 by the fallback method. Cancelling
    again keeps the 5.00 charge from the cash: 33.00 of its 40.00 goes back and the order
    holds the 5.00 it reports. (The charge was kept from the card, already refunded: all
    the cash went back, the merchant kept nothing, and the result reported 5.00 charged.)"""
    world = new_world(deposits(charge="5"))
    place_deposit(world, "100.00", by_card("50.00"), in_cash("40.00"))
    world.sim.script("refund", "timeout_after_success")
    assert world.bo.cancel_order("SO-1", AGENT).in_doubt
    world.bo.recover()
    assert world.bo.refund("SO-1", "RMA-1", usd("7.00"), AGENT).fallback == usd("2.00")

    again = world.bo.cancel_order("SO-1", AGENT)

    order = again.order
    assert order.status is OrderStatus.CANCELLED
    assert (again.charged, again.refunded) == (usd("5.00"), usd("33.00"))
    assert (order.received, order.refunded) == (usd("90.00"), usd("85.00"))
    assert cash_refunds(world, "L2") == [("SO-1/cancel:L2", "33.00")]
    assert_refunded_once(world)
