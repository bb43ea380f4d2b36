"""Duplicate payment protection (I4) with the operation log (O2-O4), and the legacy mode."""

from __future__ import annotations

import pytest

from ocop import (
    IdempotencyConflict,
    OperationInDoubt,
    Outcome,
    PaymentsType,
    Settings,
)
from worlds import World, by_card, card, new_world, usd

from .conftest import AGENT, assert_consistent, entries, operations, place, snapshot

KEY_1 = "SO-1/capture:INV-1:L1:L1.A1#1"
KEY_2 = "SO-1/capture:INV-1:L1:L1.A1#2"


def capture_keys(world: World) -> list[str]:
    """The keys of the processor's captures for SO-1, oldest first."""
    return [e.key for e in entries(world.sim, "SO-1", "capture")]


def test_invoicing_the_same_invoice_twice_captures_once(world: World) -> None:
    """A repeated invoice finds its capture and returns it without capturing again."""
    place(world.bo, "SO-1", "100.00", by_card("100.00"))
    first = world.bo.invoice("SO-1", "INV-1", usd("40.00"))
    second = world.bo.invoice("SO-1", "INV-1", usd("40.00"))
    assert capture_keys(world) == [KEY_1]
    assert second.captures == first.captures
    assert second.uncovered == usd("0.00")
    assert second.order.captured == usd("40.00")
    assert len(second.order.invoices) == 1
    assert_consistent(world, "SO-1")


def test_a_retry_after_a_declined_capture_captures_once_under_the_next_attempt_key(
    world: World,
) -> None:
    """A decline ends its key; the retry is attempt #2 of the same step and captures once."""
    place(world.bo, "SO-1", "100.00", by_card("100.00"))
    world.sim.script("capture", "decline")
    declined = world.bo.invoice("SO-1", "INV-1", usd("40.00"))
    assert declined.failed == ("L1",)
    assert declined.captures == ()
    retried = world.bo.invoice("SO-1", "INV-1", usd("40.00"))
    assert [c.capture_id for c in retried.captures] == [KEY_2]
    assert capture_keys(world) == [KEY_2]
    outcomes = {op.key: op.outcome for op in operations(world.bo, "SO-1")}
    assert (outcomes[KEY_1], outcomes[KEY_2]) == (Outcome.DECLINED, Outcome.APPROVED)
    world.bo.invoice("SO-1", "INV-1", usd("40.00"))
    assert capture_keys(world) == [KEY_2]
    assert_consistent(world, "SO-1")


def test_a_retry_completes_a_partly_captured_invoice_without_capturing_twice(
    world: World,
) -> None:
    """When one of two lines failed, the retry captures only the missing line."""
    place(
        world.bo,
        "SO-1",
        "100.00",
        by_card("50.00", card("tok_1")),
        by_card("50.00", card("tok_2")),
    )
    world.sim.script("capture", "approve", "decline")
    partial = world.bo.invoice("SO-1", "INV-1", usd("80.00"))
    assert partial.failed == ("L2",)
    assert partial.uncovered == usd("30.00")
    retried = world.bo.invoice("SO-1", "INV-1", usd("80.00"))
    assert [(c.line_id, c.amount) for c in retried.captures] == [
        ("L1", usd("50.00")),
        ("L2", usd("30.00")),
    ]
    assert capture_keys(world) == [KEY_1, "SO-1/capture:INV-1:L2:L2.A1#2"]
    assert retried.uncovered == usd("0.00")
    assert_consistent(world, "SO-1")


def test_a_capture_that_timed_out_after_success_is_recovered_once_and_never_repeated(
    world: World,
) -> None:
    """A timeout is unknown: money moves are refused until recover() finds the capture."""
    place(world.bo, "SO-1", "100.00", by_card("100.00"))
    world.sim.script("capture", "timeout_after_success")
    doubtful = world.bo.invoice("SO-1", "INV-1", usd("40.00"))
    assert doubtful.in_doubt
    assert doubtful.captures == ()
    for retry in (
        lambda: world.bo.invoice("SO-1", "INV-1", usd("40.00")),
        lambda: world.bo.invoice("SO-1", "INV-2", usd("10.00")),
        lambda: world.bo.cancel_order("SO-1", AGENT),
    ):
        with pytest.raises(OperationInDoubt):
            retry()
    report = world.bo.recover()
    assert report.resolved == (KEY_1,)
    assert report.still_in_doubt == ()
    order = world.bo.order("SO-1")
    assert order.captured == usd("40.00")
    assert [v.voucher_id for v in world.bo.journal("SO-1")] == [f"V:{KEY_1}"]
    calls = world.sim.calls
    retried = world.bo.invoice("SO-1", "INV-1", usd("40.00"))
    assert [c.capture_id for c in retried.captures] == [KEY_1]
    assert world.sim.calls == calls
    assert capture_keys(world) == [KEY_1]
    assert_consistent(world, "SO-1")


def test_a_capture_that_never_reached_the_processor_is_retried_under_the_next_attempt_key(
    world: World,
) -> None:
    """A lookup that finds nothing ends the key; the retry captures once as attempt #2."""
    place(world.bo, "SO-1", "100.00", by_card("100.00"))
    world.sim.script("capture", "timeout_before")
    assert world.bo.invoice("SO-1", "INV-1", usd("40.00")).in_doubt
    report = world.bo.recover()
    assert report.resolved == (KEY_1,)
    assert {op.key: op.outcome for op in operations(world.bo, "SO-1")}[KEY_1] is (
        Outcome.NOT_RECEIVED
    )
    assert world.bo.order("SO-1").captured == usd("0.00")
    assert capture_keys(world) == []
    retried = world.bo.invoice("SO-1", "INV-1", usd("40.00"))
    assert [c.capture_id for c in retried.captures] == [KEY_2]
    assert capture_keys(world) == [KEY_2]
    assert_consistent(world, "SO-1")


def test_the_legacy_mode_without_protection_captures_a_repeated_invoice_again() -> None:
    """Unsafe legacy behaviour, kept on purpose: without protection a repeat captures again.

    With ``duplicate_payment_protection`` off (and OCOP off, as rule F1 demands)
    every invoice attempt gets a new operation key, as before the feature: the
    customer is charged twice for one invoice. This is what the feature exists
    to prevent; the test pins the documented legacy behaviour.
    """
    settings = Settings.default().with_features(
        duplicate_payment_protection=False, omni_channel_order_payments=False
    )
    world = new_world(settings=settings)
    order = place(world.bo, "SO-1", "100.00", by_card("100.00"))
    assert order.payments_type is PaymentsType.LEGACY
    world.bo.invoice("SO-1", "INV-1", usd("40.00"))
    again = world.bo.invoice("SO-1", "INV-1", usd("40.00"))
    assert capture_keys(world) == [KEY_1, KEY_2]
    assert [c.capture_id for c in again.captures] == [KEY_1, KEY_2]
    assert again.order.captured == usd("80.00")
    assert again.order.invoiced == usd("40.00")
    assert_consistent(world, "SO-1", protected=False)


def test_an_invoice_id_repeated_with_another_amount_is_refused(world: World) -> None:
    """O4: the same invoice id with a different amount is an IdempotencyConflict."""
    place(world.bo, "SO-1", "100.00", by_card("100.00"))
    world.bo.invoice("SO-1", "INV-1", usd("40.00"))
    before = snapshot(world, "SO-1")
    with pytest.raises(IdempotencyConflict):
        world.bo.invoice("SO-1", "INV-1", usd("41.00"))
    assert snapshot(world, "SO-1") == before


def test_a_repeat_after_protection_is_turned_back_on_finds_the_invoice_covered() -> None:
    """I4: an invoice the legacy mode captured twice, repeated once protection is on
    again, is covered: nothing is called and nothing is reported uncovered (the retry
    raised InvalidAmount, "only a non-negative amount can be poured into caps")."""
    world = new_world(settings=Settings.default().with_features(duplicate_payment_protection=False))
    place(world.bo, "SO-1", "100.00", by_card("100.00"))
    world.bo.invoice("SO-1", "INV-1", usd("40.00"))
    world.bo.invoice("SO-1", "INV-1", usd("40.00"))
    protected = world.bo.with_settings(Settings.default())
    calls = world.sim.calls
    again = protected.invoice("SO-1", "INV-1", usd("40.00"))
    picked = protected.pickup("SO-1", "INV-1", usd("40.00"))
    assert world.sim.calls == calls
    assert again.uncovered == picked.uncovered == usd("0.00")
    assert [c.capture_id for c in again.captures] == [KEY_1, KEY_2]
    assert (again.failed, again.in_doubt, again.new_payment_required) == ((), (), False)
    assert again.order.captured == usd("80.00")


def test_without_protection_a_declined_capture_is_reported_uncovered() -> None:
    """I4 off (legacy keys), the result still tells what this attempt left uncovered: a
    declined capture covers nothing (it said 0.00 uncovered, as if the invoice were paid);
    a repeat that captures reports nothing uncovered."""
    world = new_world(settings=Settings.default().with_features(duplicate_payment_protection=False))
    place(world.bo, "SO-1", "100.00", by_card("100.00"))
    world.sim.script("capture", "decline")
    declined = world.bo.invoice("SO-1", "INV-1", usd("40.00"))
    assert declined.failed == ("L1",)
    assert declined.uncovered == usd("40.00")
    again = world.bo.invoice("SO-1", "INV-1", usd("40.00"))
    assert (again.failed, again.uncovered) == ((), usd("0.00"))
    assert again.order.captured == usd("40.00")
