"""Retried returns refund only the rest (R5); refunds in doubt are recovered once (O3, O4)."""

from __future__ import annotations

import pytest

from ocop import OperationInDoubt
from ocop.domain import steps
from worlds import World, by_card, usd

from .conftest import (
    AGENT,
    OTHER_CARD,
    card_order,
    entries,
    invoice_daily,
    linked,
    operations,
    place,
    prepaid,
    refund_vouchers,
    snapshot,
)

# -- R5: retries ---------------------------------------------------------------------------


def test_retrying_an_identical_return_refunds_nothing_more(world: World) -> None:
    """The same return asked twice makes no new processor refund and no new voucher."""
    card_order(world, "60.00", "40.00")
    first = world.bo.refund("SO-1", "RMA-1", usd("70.00"), AGENT)
    before = snapshot(world, "SO-1")
    again = world.bo.refund("SO-1", "RMA-1", usd("70.00"), AGENT)
    assert again.refunds == first.refunds
    assert again.fallback == first.fallback
    assert len(entries(world.sim, "SO-1", "refund")) == 2
    assert snapshot(world, "SO-1") == before


def test_raising_a_returns_amount_later_refunds_only_the_difference(world: World) -> None:
    """A return refunded for 50 and asked again for 70 refunds 20 more."""
    card_order(world, "60.00", "40.00")
    world.bo.refund("SO-1", "RMA-1", usd("50.00"), AGENT)
    result = world.bo.refund("SO-1", "RMA-1", usd("70.00"), AGENT)
    assert linked(result) == [
        ("INV-2", usd("40.00")),
        ("INV-1", usd("10.00")),
        ("INV-1", usd("20.00")),
    ]
    amounts = [e.amount for e in entries(world.sim, "SO-1", "refund")]
    assert amounts == [usd("40.00"), usd("10.00"), usd("20.00")]
    assert result.order.refunded == usd("70.00")
    assert sum((v.amount for v in refund_vouchers(world.bo, "SO-1")), usd(0)) == usd("70.00")


def test_asking_a_refunded_return_for_less_refunds_nothing(world: World) -> None:
    """A lower amount for a return already refunded more is a no-op, not a reversal (our choice)."""
    card_order(world, "100.00")
    world.bo.refund("SO-1", "RMA-1", usd("50.00"), AGENT)
    before = snapshot(world, "SO-1")
    result = world.bo.refund("SO-1", "RMA-1", usd("30.00"), AGENT)
    assert linked(result) == [("INV-1", usd("50.00"))]
    assert snapshot(world, "SO-1") == before


def test_a_declined_capture_refund_keeps_the_others_and_is_reported(world: World) -> None:
    """R5: the approved refund stays, the declined capture is in ``failed``, no fallback."""
    place(world.bo, "SO-1", "100.00", by_card("90.00"), prepaid("cash", "10.00"))
    order = invoice_daily(world, "SO-1", "60.00", "40.00")
    older = next(c.capture_id for c in order.lines[0].captures if c.invoice_id == "INV-1")
    world.sim.script("refund", "approve", "decline")
    result = world.bo.refund("SO-1", "RMA-1", usd("100.00"), AGENT)
    assert linked(result) == [("INV-2", usd("40.00"))]
    assert result.failed == (older,)
    assert result.fallback == usd("0.00")
    assert result.order.other_refunds == ()
    assert result.order.refunded == usd("40.00")
    assert [v.amount for v in refund_vouchers(world.bo, "SO-1")] == [usd("40.00")]


def test_a_retry_after_a_declined_capture_refunds_the_rest_under_a_new_attempt_key(
    world: World,
) -> None:
    """R5, O4: the retry refunds the declined capture with attempt #2, then the fallback."""
    place(world.bo, "SO-1", "100.00", by_card("90.00"), prepaid("cash", "10.00"))
    invoice_daily(world, "SO-1", "60.00", "40.00")
    world.sim.script("refund", "approve", "decline")
    first = world.bo.refund("SO-1", "RMA-1", usd("100.00"), AGENT)
    (declined,) = first.failed
    retry = world.bo.refund("SO-1", "RMA-1", usd("100.00"), AGENT)
    assert retry.failed == ()
    assert linked(retry) == [("INV-2", usd("40.00")), ("INV-1", usd("50.00"))]
    assert retry.fallback == usd("10.00")
    refunds = entries(world.sim, "SO-1", "refund")
    assert [e.amount for e in refunds] == [usd("40.00"), usd("50.00")]
    attempts = [
        op
        for op in operations(world.bo, "SO-1")
        if isinstance(op.step, steps.Refund) and op.step.capture_id == declined
    ]
    assert [(op.attempt, op.name) for op in attempts] == [
        (1, attempts[0].name),
        (2, attempts[0].name),
    ]
    assert refunds[1].key == attempts[1].key
    assert refunds[1].key.endswith("#2")
    assert retry.order.refunded == retry.order.received


# -- O3, O4: a refund in doubt -------------------------------------------------------------


def test_a_refund_timing_out_after_success_is_in_doubt_and_blocks_further_refunds(
    world: World,
) -> None:
    """O3: the result is in doubt, and refunding again raises OperationInDoubt."""
    card_order(world, "100.00")
    world.sim.script("refund", "timeout_after_success")
    result = world.bo.refund("SO-1", "RMA-1", usd("40.00"), AGENT)
    assert result.in_doubt
    assert result.order.refunded == usd("0.00")
    assert len(entries(world.sim, "SO-1", "refund")) == 1  # the money did move
    before = snapshot(world, "SO-1")
    with pytest.raises(OperationInDoubt):
        world.bo.refund("SO-1", "RMA-1", usd("40.00"), AGENT)
    with pytest.raises(OperationInDoubt):
        world.bo.refund("SO-1", "RMA-2", usd("10.00"), AGENT)
    with pytest.raises(OperationInDoubt):
        world.bo.refund_to_card("SO-1", "RMA-3", OTHER_CARD, usd("10.00"), AGENT)
    assert snapshot(world, "SO-1") == before


def test_recovery_records_a_refund_in_doubt_exactly_once_with_its_voucher(world: World) -> None:
    """O2, O4: recover() applies the refund once; a retry makes no new processor refund."""
    card_order(world, "100.00")
    world.sim.script("refund", "timeout_after_success")
    world.bo.refund("SO-1", "RMA-1", usd("40.00"), AGENT)
    (ledger_refund,) = entries(world.sim, "SO-1", "refund")
    report = world.bo.recover()
    assert report.resolved == (ledger_refund.key,)
    assert report.still_in_doubt == ()
    order = world.bo.order("SO-1")
    assert order.refunded == usd("40.00")
    assert [r.refund_id for line in order.lines for r in line.refunds] == [ledger_refund.key]
    vouchers = refund_vouchers(world.bo, "SO-1")
    assert [(v.voucher_id, v.amount) for v in vouchers] == [
        (f"V:{ledger_refund.key}", usd("40.00"))
    ]
    calls = world.sim.calls
    retry = world.bo.refund("SO-1", "RMA-1", usd("40.00"), AGENT)
    assert not retry.in_doubt
    assert linked(retry) == [("INV-1", usd("40.00"))]
    assert world.sim.calls == calls
    assert len(entries(world.sim, "SO-1", "refund")) == 1
    assert world.bo.recover().resolved == ()
    assert len(refund_vouchers(world.bo, "SO-1")) == 1


def test_a_doubt_on_one_capture_does_not_stop_the_others_of_the_return(world: World) -> None:
    """R5: the return's refunds go out together; one in doubt is finished by recovery, and a
    retry afterwards refunds nothing more."""
    card_order(world, "60.00", "40.00")
    world.sim.script("refund", "timeout_after_success")
    first = world.bo.refund("SO-1", "RMA-1", usd("70.00"), AGENT)
    assert len(first.in_doubt) == 1
    assert linked(first) == [("INV-1", usd("30.00"))]
    assert [e.amount for e in entries(world.sim, "SO-1", "refund")] == [
        usd("40.00"),
        usd("30.00"),
    ]
    world.bo.recover()
    retry = world.bo.refund("SO-1", "RMA-1", usd("70.00"), AGENT)
    assert linked(retry) == [("INV-1", usd("30.00")), ("INV-2", usd("40.00"))]  # as recorded
    assert len(entries(world.sim, "SO-1", "refund")) == 2
    assert retry.order.refunded == usd("70.00")


def test_a_refund_that_never_reached_the_processor_is_retried_under_the_next_key(
    world: World,
) -> None:
    """O4: a lookup finding nothing ends the key; the retry refunds once with attempt #2."""
    card_order(world, "100.00")
    world.sim.script("refund", "timeout_before")
    assert world.bo.refund("SO-1", "RMA-1", usd("40.00"), AGENT).in_doubt
    world.bo.recover()
    assert world.bo.order("SO-1").refunded == usd("0.00")
    assert entries(world.sim, "SO-1", "refund") == []
    retry = world.bo.refund("SO-1", "RMA-1", usd("40.00"), AGENT)
    (refund,) = entries(world.sim, "SO-1", "refund")
    assert refund.key.endswith("#2")
    assert [r.refund_id for r in retry.refunds] == [refund.key]
    assert retry.order.refunded == usd("40.00")


def test_an_unlinked_refund_in_doubt_is_recovered_once(world: World) -> None:
    """O2: an unlinked refund that timed out after success is recorded once by recover()."""
    card_order(world, "100.00")
    world.sim.script("unlinked_refund", "timeout_after_success")
    assert world.bo.refund_to_card("SO-1", "RMA-1", OTHER_CARD, usd("10.00"), AGENT).in_doubt
    world.bo.recover()
    again = world.bo.refund_to_card("SO-1", "RMA-1", OTHER_CARD, usd("10.00"), AGENT)
    assert [r.amount for r in again.refunds] == [usd("10.00")]
    assert len(entries(world.sim, "SO-1", "unlinked_refund")) == 1
    assert len(refund_vouchers(world.bo, "SO-1")) == 1
