"""Errors carry their public attributes with exact values, and order errors name the order.

Each refusal is checked for its class, its structured attributes (``order_id``,
``amount``, ``feature``, ``actor_id``, ``action``, ``keys`` ...) and that
nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from ocop import (
    BackOffice,
    Channel,
    DuplicateOrder,
    FeatureDisabled,
    HoldCode,
    IdempotencyConflict,
    IllegalTransition,
    LineNotFound,
    OperationInDoubt,
    OrderNotFound,
    PermissionDenied,
    RefundExceedsReceived,
    RefundPolicy,
    Settings,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from worlds import START, World, by_card, card, new_world, usd

from .helpers import AGENT, CLERK, OUTSIDER, place

OCOP_OFF = Settings.default().with_features(omni_channel_order_payments=False)


def invoiced_card_order(world: World, invoiced: str = "100.00") -> None:
    """SO-1: a 100.00 e-commerce card order with ``invoiced`` captured (INV-1)."""
    place(world, "SO-1", "100.00", by_card("100.00"))
    world.bo.invoice("SO-1", "INV-1", usd(invoiced))


# -- invoicing ----------------------------------------------------------------------------------


def test_invoicing_beyond_the_total_names_the_order_and_the_amount_asked() -> None:
    """I1: 50.00 more on an order with 40.00 left raises IllegalTransition with the order id
    and the amount asked; nothing is recorded or captured."""
    world = new_world()
    invoiced_card_order(world, "60.00")
    before = world.bo.order("SO-1")
    calls = world.sim.calls
    with pytest.raises(IllegalTransition) as refused:
        world.bo.invoice("SO-1", "INV-2", usd("50.00"))
    assert refused.value.order_id == "SO-1"
    assert refused.value.amount == Decimal("50.00")
    assert refused.value.line_id is None
    assert "SO-1" in str(refused.value)
    assert "40.00" in str(refused.value)
    assert world.bo.order("SO-1") == before
    assert world.sim.calls == calls


def test_invoicing_an_order_waiting_for_completion_names_the_order() -> None:
    """S3: a call center order not yet completed is not invoiced."""
    world = new_world()
    place(world, "SO-1", "100.00", channel=Channel.CALL_CENTER)
    with pytest.raises(IllegalTransition) as refused:
        world.bo.invoice("SO-1", "INV-1", usd("10.00"))
    assert refused.value.order_id == "SO-1"
    assert refused.value.amount is None
    assert "SO-1" in str(refused.value)
    assert world.bo.order("SO-1").invoices == ()


def test_invoicing_a_cancelled_order_names_the_order() -> None:
    """X1: a cancelled order is never invoiced."""
    world = new_world()
    place(world, "SO-1", "100.00", by_card("100.00"))
    world.bo.cancel_order("SO-1", CLERK)
    with pytest.raises(IllegalTransition) as refused:
        world.bo.invoice("SO-1", "INV-1", usd("10.00"))
    assert refused.value.order_id == "SO-1"
    assert "SO-1" in str(refused.value)


def test_reusing_an_invoice_id_for_another_amount_names_the_invoice_key() -> None:
    """O4, I4: INV-1 asked again with another amount raises IdempotencyConflict with its key."""
    world = new_world()
    invoiced_card_order(world, "60.00")
    calls = world.sim.calls
    with pytest.raises(IdempotencyConflict) as refused:
        world.bo.invoice("SO-1", "INV-1", usd("30.00"))
    assert refused.value.key == "SO-1/invoice:INV-1"
    assert "SO-1/invoice:INV-1" in str(refused.value)
    assert world.sim.calls == calls


def test_invoicing_a_commerce_order_with_ocop_off_names_the_feature() -> None:
    """P2, F1: a commerce order is invoiced only while omni-channel order payments is on."""
    world = new_world()
    place(world, "SO-1", "100.00", by_card("100.00"))
    off = world.bo.with_settings(OCOP_OFF)
    with pytest.raises(FeatureDisabled) as refused:
        off.invoice("SO-1", "INV-1", usd("10.00"))
    assert refused.value.feature == "omni_channel_order_payments"
    assert "SO-1" in str(refused.value)


# -- refunds ------------------------------------------------------------------------------------


def test_refunding_more_than_received_names_the_order_and_the_amount_asked() -> None:
    """R3: 80.00 for a return when 70.00 is left unrefunded raises RefundExceedsReceived with
    the order id and the amount asked, and refunds nothing."""
    world = new_world()
    invoiced_card_order(world)
    world.bo.refund("SO-1", "RMA-1", usd("30.00"), AGENT)
    calls = world.sim.calls
    with pytest.raises(RefundExceedsReceived) as refused:
        world.bo.refund("SO-1", "RMA-2", usd("80.00"), AGENT)
    assert refused.value.order_id == "SO-1"
    assert refused.value.amount == Decimal("80.00")
    assert "SO-1" in str(refused.value)
    assert "70.00" in str(refused.value)
    assert world.sim.calls == calls
    assert world.bo.order("SO-1").refunded == usd("30.00")


def test_a_retried_return_beyond_what_is_left_reports_the_amount_asked_for_the_return() -> None:
    """R3, R5: RMA-1 refunded 30.00, then asked for 150.00: the 120.00 still to refund exceeds
    the 70.00 left; the error's amount is the 150.00 asked, its message names both."""
    world = new_world()
    invoiced_card_order(world)
    world.bo.refund("SO-1", "RMA-1", usd("30.00"), AGENT)
    with pytest.raises(RefundExceedsReceived) as refused:
        world.bo.refund("SO-1", "RMA-1", usd("150.00"), AGENT)
    assert refused.value.order_id == "SO-1"
    assert refused.value.amount == Decimal("150.00")
    assert "120.00" in str(refused.value)
    assert "70.00" in str(refused.value)


def test_refunding_an_uninvoiced_order_names_the_order() -> None:
    """R3: nothing received, nothing refunded: the whole amount is refused."""
    world = new_world()
    place(world, "SO-1", "100.00", by_card("100.00"))
    with pytest.raises(RefundExceedsReceived) as refused:
        world.bo.refund("SO-1", "RMA-1", usd("0.01"), AGENT)
    assert refused.value.order_id == "SO-1"
    assert refused.value.amount == Decimal("0.01")


def test_refunding_by_someone_outside_the_call_center_names_the_actor_and_action() -> None:
    """P1: only call center users refund."""
    world = new_world()
    invoiced_card_order(world)
    with pytest.raises(PermissionDenied) as refused:
        world.bo.refund("SO-1", "RMA-1", usd("10.00"), OUTSIDER)
    assert refused.value.actor_id == "user-1"
    assert refused.value.action == "refunding"
    assert "user-1" in str(refused.value)


def test_an_unlinked_refund_without_the_permission_names_the_actor_and_action() -> None:
    """R4: refunding to another card needs the alternate-payment permission."""
    world = new_world()
    invoiced_card_order(world)
    with pytest.raises(PermissionDenied) as refused:
        world.bo.refund_to_card("SO-1", "RMA-1", card("tok_9", last4="9999"), usd("10.00"), CLERK)
    assert refused.value.actor_id == "clerk-1"
    assert refused.value.action == "an unlinked refund"
    assert world.bo.order("SO-1").refunded == usd("0.00")


def test_unlinked_refunds_switched_off_name_the_setting() -> None:
    """R4: with unlinked refunds not allowed the refusal names allow_unlinked_refunds."""
    world = new_world(
        settings=Settings.default().with_policies(
            refunds=RefundPolicy(allow_unlinked_refunds=False)
        )
    )
    invoiced_card_order(world)
    with pytest.raises(FeatureDisabled) as refused:
        world.bo.refund_to_card("SO-1", "RMA-1", card("tok_9", last4="9999"), usd("10.00"), AGENT)
    assert refused.value.feature == "allow_unlinked_refunds"


def test_a_processor_without_unlinked_refunds_is_named_in_the_refusal() -> None:
    """R4: a processor that cannot refund unlinked is refused before any call."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock, unlinked_refunds=False)
    world = World(clock=clock, sim=sim, bo=BackOffice.in_memory(processor=sim, clock=clock))
    invoiced_card_order(world)
    calls = sim.calls
    with pytest.raises(FeatureDisabled) as refused:
        world.bo.refund_to_card("SO-1", "RMA-1", card("tok_9", last4="9999"), usd("10.00"), AGENT)
    assert refused.value.feature == "unlinked_refunds"
    assert sim.calls == calls


def test_refunding_a_commerce_order_with_ocop_off_names_the_feature() -> None:
    """P2: a commerce order is refunded only while omni-channel order payments is on."""
    world = new_world()
    invoiced_card_order(world)
    with pytest.raises(FeatureDisabled) as refused:
        world.bo.with_settings(OCOP_OFF).refund("SO-1", "RMA-1", usd("10.00"), AGENT)
    assert refused.value.feature == "omni_channel_order_payments"
    assert "SO-1" in str(refused.value)


# -- administration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "call"),
    [
        ("order completion", lambda bo: bo.begin_completion("SO-1", OUTSIDER)),
        ("changing an order", lambda bo: bo.change_total("SO-1", usd("90.00"), OUTSIDER)),
        ("cancelling an order", lambda bo: bo.cancel_order("SO-1", OUTSIDER)),
        (
            "releasing a hold",
            lambda bo: bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, OUTSIDER),
        ),
    ],
)
def test_back_office_work_by_someone_outside_the_call_center_names_actor_and_action(
    action: str, call: Callable[[BackOffice], object]
) -> None:
    """P1: each back-office use case refuses a non call center user, naming both."""
    world = new_world()
    place(world, "SO-1", "100.00", by_card("100.00"))
    with pytest.raises(PermissionDenied) as refused:
        call(world.bo)
    assert refused.value.actor_id == "user-1"
    assert refused.value.action == action


def test_releasing_an_absent_hold_names_the_order() -> None:
    """S4: releasing a hold the order does not have raises IllegalTransition with its id."""
    world = new_world()
    place(world, "SO-1", "100.00", by_card("100.00"))
    with pytest.raises(IllegalTransition) as refused:
        world.bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, CLERK)
    assert refused.value.order_id == "SO-1"
    assert "SO-1" in str(refused.value)


def test_releasing_an_out_of_balance_hold_without_override_names_the_order() -> None:
    """S4: while still out of balance, releasing needs hold_override."""
    world = new_world()
    held = place(world, "SO-1", "100.00", by_card("60.00"))
    assert [h.code for h in held.holds] == [HoldCode.OUT_OF_BALANCE]
    with pytest.raises(IllegalTransition) as refused:
        world.bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, CLERK)
    assert refused.value.order_id == "SO-1"
    assert "SO-1" in str(refused.value)
    assert world.bo.order("SO-1").has_hold(HoldCode.OUT_OF_BALANCE)


def test_cancelling_while_a_capture_is_in_doubt_names_the_order_and_its_key() -> None:
    """O3: cancel is refused with OperationInDoubt carrying the order id and the doubtful key."""
    world = new_world()
    place(world, "SO-1", "100.00", by_card("100.00"))
    world.sim.script("capture", "timeout_before")
    world.bo.invoice("SO-1", "INV-1", usd("40.00"))
    with pytest.raises(OperationInDoubt) as refused:
        world.bo.cancel_order("SO-1", CLERK)
    assert refused.value.order_id == "SO-1"
    assert refused.value.keys == ("SO-1/capture:INV-1:L1:L1.A1#1",)
    assert "SO-1" in str(refused.value)
    assert not world.bo.order("SO-1").cancelled


# -- not found, duplicates ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda bo: bo.order("SO-9"),
        lambda bo: bo.invoice("SO-9", "INV-1", usd("10.00")),
        lambda bo: bo.pickup("SO-9", "INV-1", usd("10.00")),
        lambda bo: bo.refund("SO-9", "RMA-1", usd("10.00"), AGENT),
        lambda bo: bo.begin_completion("SO-9", CLERK),
        lambda bo: bo.cancel_order("SO-9", CLERK),
    ],
    ids=["order", "invoice", "pickup", "refund", "begin_completion", "cancel_order"],
)
def test_an_unknown_order_is_named_in_the_refusal(call: Callable[[BackOffice], object]) -> None:
    """Every use case on an unknown order raises OrderNotFound with its id."""
    world = new_world()
    with pytest.raises(OrderNotFound) as refused:
        call(world.bo)
    assert refused.value.order_id == "SO-9"
    assert "SO-9" in str(refused.value)


def test_an_unknown_payment_line_is_named_in_the_refusal() -> None:
    """Editing a line the order does not have raises LineNotFound with its id."""
    world = new_world()
    place(world, "SO-1", "100.00", channel=Channel.CALL_CENTER)
    draft = world.bo.begin_completion("SO-1", CLERK)
    with pytest.raises(LineNotFound) as refused:
        draft.change_amount("L9", usd("10.00"))
    assert refused.value.line_id == "L9"
    assert "L9" in str(refused.value)
    with pytest.raises(LineNotFound) as missing:
        world.bo.order("SO-1").line("L7")
    assert missing.value.line_id == "L7"


def test_placing_an_order_id_twice_names_the_order() -> None:
    """An order id is taken once; the second order is refused and the first unchanged."""
    world = new_world()
    first = place(world, "SO-1", "100.00", by_card("100.00"))
    with pytest.raises(DuplicateOrder) as refused:
        place(world, "SO-1", "50.00")
    assert refused.value.order_id == "SO-1"
    assert "SO-1" in str(refused.value)
    assert world.bo.order("SO-1") == first
