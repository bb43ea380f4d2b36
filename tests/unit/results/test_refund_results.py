"""What refund() and refund_to_card() tell the caller (R1-R5, O3, J1, J3).

Refunds made, fallback, failed captures and doubt are asserted exactly; every
fallback refund posts its own voucher, so the journal always balances with the
order; the processor's refund token is kept on each refund.
"""

from __future__ import annotations

import pytest

from ocop import OperationInDoubt, RefundResult, RefundToken, VoucherKind
from worlds import World, by_card, card, in_cash, new_world, usd

from .helpers import AGENT, journal_totals, place


def refunds_of(result: RefundResult) -> list[tuple[str | None, str]]:
    """The result's refunds as (capture id, amount in dollars)."""
    return [(r.capture_id, str(r.amount.amount)) for r in result.refunds]


def two_captures(world: World) -> None:
    """SO-1: a 100.00 card order invoiced 60.00 (INV-1), then 40.00 a day later (INV-2)."""
    place(world, "SO-1", "100.00", by_card("100.00"))
    world.bo.invoice("SO-1", "INV-1", usd("60.00"))
    world.clock.advance(days=1)
    world.bo.invoice("SO-1", "INV-2", usd("40.00"))


INV1 = "SO-1/capture:INV-1:L1:L1.A1#1"
INV2 = "SO-1/capture:INV-2:L1:L1.A1#1"


# -- in doubt or not ----------------------------------------------------------------------------


def test_a_successful_refund_is_not_in_doubt_and_lists_its_refunds() -> None:
    """R1: 70.00 back over the newest capture first; nothing in doubt, nothing failed."""
    world = new_world()
    two_captures(world)
    result = world.bo.refund("SO-1", "RMA-1", usd("70.00"), AGENT)
    assert not result.in_doubt
    assert result.return_id == "RMA-1"
    assert refunds_of(result) == [(INV2, "40.00"), (INV1, "30.00")]
    assert result.fallback == usd("0.00")
    assert result.failed == ()


def test_repeating_a_fully_refunded_return_is_not_in_doubt_and_moves_nothing() -> None:
    """R5: asking again for a return already refunded calls nothing and reports its refunds."""
    world = new_world()
    two_captures(world)
    world.bo.refund("SO-1", "RMA-1", usd("70.00"), AGENT)
    calls = world.sim.calls
    again = world.bo.refund("SO-1", "RMA-1", usd("70.00"), AGENT)
    assert world.sim.calls == calls
    assert not again.in_doubt
    assert refunds_of(again) == [(INV2, "40.00"), (INV1, "30.00")]
    assert again.failed == ()


def test_a_refund_in_doubt_lists_the_refunds_already_made_for_the_return() -> None:
    """O3: the second capture's refund times out; the result is in doubt and lists the first
    refund made; after recover() the return is complete without refunding twice."""
    world = new_world()
    two_captures(world)
    world.sim.script("refund", "approve", "timeout_after_success")
    result = world.bo.refund("SO-1", "RMA-1", usd("100.00"), AGENT)
    assert result.in_doubt
    assert refunds_of(result) == [(INV2, "40.00")]
    assert result.fallback == usd("0.00")
    assert result.failed == ()
    assert result.order.refunded == usd("40.00")

    doubtful = "SO-1/refund:RMA-1:capture:INV-1:L1:L1.A1#1:1#1"
    with pytest.raises(OperationInDoubt) as refused:
        world.bo.refund("SO-1", "RMA-1", usd("100.00"), AGENT)
    assert refused.value.order_id == "SO-1"
    assert refused.value.keys == (doubtful,)
    assert world.bo.recover().resolved == (doubtful,)

    calls = world.sim.calls
    done = world.bo.refund("SO-1", "RMA-1", usd("100.00"), AGENT)
    assert world.sim.calls == calls
    assert not done.in_doubt
    assert refunds_of(done) == [(INV2, "40.00"), (INV1, "60.00")]
    assert journal_totals(world, "SO-1") == (usd("100.00"), usd("100.00"))


# -- failures attributed to their capture or card -----------------------------------------------


def test_a_declined_linked_refund_names_its_capture_and_takes_no_fallback() -> None:
    """R5: the newest capture's refund is declined: it is named, the other capture's refund
    stands, and no fallback covers the declined part."""
    world = new_world()
    two_captures(world)
    world.sim.script("refund", "decline")
    result = world.bo.refund("SO-1", "RMA-1", usd("70.00"), AGENT)
    assert result.failed == (INV2,)
    assert refunds_of(result) == [(INV1, "30.00")]
    assert result.fallback == usd("0.00")
    assert not result.in_doubt


def test_a_declined_unlinked_refund_names_the_card_as_shown() -> None:
    """R4: a declined refund to another card names that card by brand and last four digits,
    and refunds nothing; a retry refunds it once."""
    world = new_world()
    place(world, "SO-1", "100.00", by_card("100.00"))
    world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    other = card("tok_9", last4="9999")
    world.sim.script("unlinked_refund", "decline")
    result = world.bo.refund_to_card("SO-1", "RMA-1", other, usd("30.00"), AGENT)
    assert result.failed == ("VISA ****9999",)
    assert result.refunds == ()
    assert not result.in_doubt

    retried = world.bo.refund_to_card("SO-1", "RMA-1", other, usd("30.00"), AGENT)
    assert retried.failed == ()
    assert [(r.refund_id, r.capture_id, r.amount, r.method) for r in retried.refunds] == [
        ("SO-1/unlinked_refund:RMA-1:1#2", None, usd("30.00"), "card")
    ]
    token = retried.refunds[0].token
    assert token == world.sim.lookup("SO-1/unlinked_refund:RMA-1:1#2").token
    assert isinstance(token, RefundToken)
    assert token.value.startswith("ref_")


# -- the processor's refund token is kept -------------------------------------------------------


def test_each_linked_refund_keeps_the_refund_token_the_processor_issued() -> None:
    """Every linked refund stores the processor's own RefundToken (connector sim, account sa-1)."""
    world = new_world()
    two_captures(world)
    result = world.bo.refund("SO-1", "RMA-1", usd("70.00"), AGENT)
    refunds = result.order.line("L1").refunds
    assert len(refunds) == 2
    for refund in refunds:
        token = refund.token
        assert isinstance(token, RefundToken)
        assert token == world.sim.lookup(refund.refund_id).token
        assert token.value.startswith("ref_")
        assert (token.connector, token.service_account) == ("sim", "sa-1")
    assert len({r.token for r in refunds}) == 2


def test_a_refund_recovered_after_a_timeout_keeps_its_refund_token() -> None:
    """O2: a refund whose answer was lost gets the processor's token when recovered."""
    world = new_world()
    place(world, "SO-1", "100.00", by_card("100.00"))
    world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    world.sim.script("refund", "timeout_after_success")
    world.bo.refund("SO-1", "RMA-1", usd("25.00"), AGENT)
    world.bo.recover()
    (refund,) = world.bo.order("SO-1").line("L1").refunds
    assert refund.token == world.sim.lookup(refund.refund_id).token
    assert isinstance(refund.token, RefundToken)
    assert refund.token.value.startswith("ref_")


# -- R3: every fallback refund posts its own voucher --------------------------------------------


def fallback_vouchers(world: World) -> list[tuple[str, str, str]]:
    """The order's fallback refund vouchers as (voucher id, reference, amount in dollars)."""
    return [
        (v.voucher_id, v.reference, str(v.amount.amount))
        for v in world.bo.journal("SO-1")
        if v.kind is VoucherKind.REFUND and "/fallback:" in v.voucher_id
    ]


def cash_and_card(world: World) -> None:
    """SO-1: 40.00 cash and 60.00 by card, invoiced whole."""
    place(world, "SO-1", "100.00", in_cash("40.00"), by_card("60.00"))
    world.bo.invoice("SO-1", "INV-1", usd("100.00"))


def test_fallback_refunds_of_two_returns_post_two_vouchers_and_the_journal_balances() -> None:
    """R3, J1, J3: two returns beyond the captures each post their own fallback voucher;
    refund vouchers add up to what the order refunded."""
    world = new_world()
    cash_and_card(world)
    first = world.bo.refund("SO-1", "RMA-1", usd("70.00"), AGENT)
    assert refunds_of(first) == [("SO-1/capture:INV-1:L2:L2.A1#1", "60.00")]
    assert first.fallback == usd("10.00")
    second = world.bo.refund("SO-1", "RMA-2", usd("20.00"), AGENT)
    assert second.refunds == ()
    assert second.fallback == usd("20.00")
    assert fallback_vouchers(world) == [
        ("V:SO-1/fallback:RMA-1#1", "RMA-1", "10.00"),
        ("V:SO-1/fallback:RMA-2#1", "RMA-2", "20.00"),
    ]
    order = world.bo.order("SO-1")
    assert [(r.refund_id, r.amount) for r in order.other_refunds] == [
        ("SO-1/fallback:RMA-1#1", usd("10.00")),
        ("SO-1/fallback:RMA-2#1", usd("20.00")),
    ]
    assert order.refunded == usd("90.00")
    assert journal_totals(world, "SO-1") == (usd("100.00"), usd("90.00"))


def test_fallback_refunds_of_one_return_in_several_calls_post_one_voucher_each() -> None:
    """R3, R5: a return asked for 10.00, then 25.00, then 40.00 refunds 10.00, 15.00 and
    15.00 by fallback, each with its own voucher id; the journal balances with the order."""
    world = new_world()
    place(world, "SO-1", "100.00", in_cash("100.00"))
    results = [
        world.bo.refund("SO-1", "RMA-1", usd(amount), AGENT)
        for amount in ("10.00", "25.00", "40.00")
    ]
    assert [r.fallback for r in results] == [usd("10.00"), usd("25.00"), usd("40.00")]
    assert all(not r.in_doubt and r.refunds == () and r.failed == () for r in results)
    assert fallback_vouchers(world) == [
        ("V:SO-1/fallback:RMA-1#1", "RMA-1", "10.00"),
        ("V:SO-1/fallback:RMA-1#2", "RMA-1", "15.00"),
        ("V:SO-1/fallback:RMA-1#3", "RMA-1", "15.00"),
    ]
    order = world.bo.order("SO-1")
    assert order.refunded == usd("40.00")
    assert journal_totals(world, "SO-1") == (usd("100.00"), usd("40.00"))


def test_a_return_retried_after_a_decline_posts_each_later_fallback_as_its_own_voucher() -> None:
    """R3, R5: a declined capture refund blocks the fallback; the retry refunds the capture
    and then the rest by fallback, each part once, and the journal balances."""
    world = new_world()
    cash_and_card(world)
    world.sim.script("refund", "decline")
    blocked = world.bo.refund("SO-1", "RMA-1", usd("50.00"), AGENT)
    assert blocked.failed == ("SO-1/capture:INV-1:L2:L2.A1#1",)
    assert blocked.fallback == usd("0.00")
    first = world.bo.refund("SO-1", "RMA-1", usd("50.00"), AGENT)
    assert refunds_of(first) == [("SO-1/capture:INV-1:L2:L2.A1#1", "50.00")]
    assert first.fallback == usd("0.00")
    more = world.bo.refund("SO-1", "RMA-1", usd("80.00"), AGENT)
    assert refunds_of(more) == [
        ("SO-1/capture:INV-1:L2:L2.A1#1", "50.00"),
        ("SO-1/capture:INV-1:L2:L2.A1#1", "10.00"),
    ]
    assert more.fallback == usd("20.00")
    again = world.bo.refund("SO-1", "RMA-1", usd("90.00"), AGENT)
    assert again.fallback == usd("30.00")
    assert fallback_vouchers(world) == [
        ("V:SO-1/fallback:RMA-1#1", "RMA-1", "20.00"),
        ("V:SO-1/fallback:RMA-1#2", "RMA-1", "10.00"),
    ]
    assert journal_totals(world, "SO-1") == (usd("100.00"), usd("90.00"))
    assert world.bo.order("SO-1").refunded == usd("90.00")
