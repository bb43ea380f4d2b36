"""Unlinked refunds to another card (R4), and who may refund which orders (P1, P2)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ocop import (
    Actor,
    Channel,
    ConnectorMismatch,
    FeatureDisabled,
    PaymentsType,
    PermissionDenied,
    RefundExceedsReceived,
    RefundPolicy,
    RefundResult,
    Settings,
)
from worlds import World, by_card, card, new_world, usd

from .conftest import (
    AGENT,
    CLERK,
    OTHER_CARD,
    OUTSIDER,
    card_order,
    credited_accounts,
    entries,
    linked,
    place,
    refund_vouchers,
    snapshot,
)

# -- R4: unlinked refunds ------------------------------------------------------------------


def test_an_unlinked_refund_pays_another_card_and_posts_a_refund_voucher(world: World) -> None:
    """Success records a card refund without capture, one voucher, and an unlinked ledger entry."""
    card_order(world, "100.00")
    result = world.bo.refund_to_card("SO-1", "RMA-1", OTHER_CARD, usd("10.00"), AGENT)
    assert [(r.amount, r.capture_id, r.method) for r in result.refunds] == [
        (usd("10.00"), None, "card")
    ]
    assert result.fallback == usd("0.00")
    assert result.order.refunded == usd("10.00")
    unlinked = entries(world.sim, "SO-1", "unlinked_refund")
    assert [(e.amount, e.target) for e in unlinked] == [(usd("10.00"), OTHER_CARD.value)]
    assert entries(world.sim, "SO-1", "refund") == []
    vouchers = refund_vouchers(world.bo, "SO-1")
    assert [(v.amount, v.reference) for v in vouchers] == [(usd("10.00"), "RMA-1")]
    assert credited_accounts(vouchers[0]) == ["tender:card"]


def test_an_unlinked_refund_needs_unlinked_refunds_allowed() -> None:
    """With allow_unlinked_refunds off the refund is refused with FeatureDisabled."""
    policy = RefundPolicy(allow_unlinked_refunds=False)
    world = new_world(settings=Settings.default().with_policies(refunds=policy))
    card_order(world, "100.00")
    before = snapshot(world, "SO-1")
    with pytest.raises(FeatureDisabled):
        world.bo.refund_to_card("SO-1", "RMA-1", OTHER_CARD, usd("10.00"), AGENT)
    assert snapshot(world, "SO-1") == before


def test_an_unlinked_refund_needs_the_alternate_payment_permission(world: World) -> None:
    """A call center user without "alternate_payment" gets PermissionDenied."""
    card_order(world, "100.00")
    before = snapshot(world, "SO-1")
    with pytest.raises(PermissionDenied):
        world.bo.refund_to_card("SO-1", "RMA-1", OTHER_CARD, usd("10.00"), CLERK)
    assert snapshot(world, "SO-1") == before


def test_an_unlinked_refund_needs_a_processor_that_supports_it() -> None:
    """A processor without unlinked refunds makes the refund FeatureDisabled, with no call."""
    world = new_world(unlinked_refunds=False)
    card_order(world, "100.00")
    before = snapshot(world, "SO-1")
    with pytest.raises(FeatureDisabled):
        world.bo.refund_to_card("SO-1", "RMA-1", OTHER_CARD, usd("10.00"), AGENT)
    assert snapshot(world, "SO-1") == before


@pytest.mark.parametrize(
    ("connector", "service_account"), [("other", "sa-1"), ("sim", "sa-2"), ("other", "sa-9")]
)
def test_an_unlinked_refund_needs_a_card_of_the_same_connector_and_account(
    world: World, connector: str, service_account: str
) -> None:
    """I5: a card tokenized by another connector or service account is refused."""
    card_order(world, "100.00")
    foreign = card("tok_f", connector=connector, service_account=service_account)
    before = snapshot(world, "SO-1")
    with pytest.raises(ConnectorMismatch):
        world.bo.refund_to_card("SO-1", "RMA-1", foreign, usd("10.00"), AGENT)
    assert snapshot(world, "SO-1") == before


def test_an_unlinked_refund_is_bounded_by_received_minus_refunded(world: World) -> None:
    """After a linked refund, only what remains received can go to another card."""
    card_order(world, "100.00")
    world.bo.refund("SO-1", "RMA-1", usd("95.00"), AGENT)
    before = snapshot(world, "SO-1")
    with pytest.raises(RefundExceedsReceived):
        world.bo.refund_to_card("SO-1", "RMA-2", OTHER_CARD, usd("5.01"), AGENT)
    assert snapshot(world, "SO-1") == before
    result = world.bo.refund_to_card("SO-1", "RMA-2", OTHER_CARD, usd("5.00"), AGENT)
    assert result.order.refunded == result.order.received


def test_an_unlinked_refund_retried_pays_the_other_card_once(world: World) -> None:
    """R5: the same unlinked refund asked twice reaches the processor once."""
    card_order(world, "100.00")
    first = world.bo.refund_to_card("SO-1", "RMA-1", OTHER_CARD, usd("10.00"), AGENT)
    again = world.bo.refund_to_card("SO-1", "RMA-1", OTHER_CARD, usd("10.00"), AGENT)
    assert again.refunds == first.refunds
    assert len(entries(world.sim, "SO-1", "unlinked_refund")) == 1
    assert again.order.refunded == usd("10.00")


def test_a_declined_unlinked_refund_changes_nothing_and_is_reported(world: World) -> None:
    """A processor decline records no refund and names the card in ``failed``."""
    card_order(world, "100.00")
    world.sim.script("unlinked_refund", "decline")
    result = world.bo.refund_to_card("SO-1", "RMA-1", OTHER_CARD, usd("10.00"), AGENT)
    assert result.refunds == ()
    assert result.failed == (OTHER_CARD.display,)
    assert result.order.refunded == usd("0.00")
    assert refund_vouchers(world.bo, "SO-1") == []


# -- P1: call center users only ------------------------------------------------------------


def _refund(world: World, actor: Actor) -> RefundResult:
    return world.bo.refund("SO-1", "RMA-1", usd("10.00"), actor)


def _refund_to_card(world: World, actor: Actor) -> RefundResult:
    return world.bo.refund_to_card("SO-1", "RMA-1", OTHER_CARD, usd("10.00"), actor)


@pytest.mark.parametrize("action", [_refund, _refund_to_card])
def test_a_user_who_is_not_a_call_center_user_cannot_refund(
    world: World, action: Callable[[World, Actor], RefundResult]
) -> None:
    """P1: Actor.user gets PermissionDenied and nothing changes."""
    card_order(world, "100.00")
    before = snapshot(world, "SO-1")
    with pytest.raises(PermissionDenied):
        action(world, OUTSIDER)
    assert snapshot(world, "SO-1") == before


def test_even_with_every_permission_a_non_call_center_user_cannot_refund(world: World) -> None:
    """P1: permissions do not make a user a call center user."""
    card_order(world, "100.00")
    user = Actor.user("user-2")
    with pytest.raises(PermissionDenied):
        world.bo.refund("SO-1", "RMA-1", usd("10.00"), user)
    assert world.bo.order("SO-1").refunded == usd("0.00")


# -- P2: which orders -----------------------------------------------------------------------

OCOP_OFF = Settings.default().with_features(omni_channel_order_payments=False)


@pytest.mark.parametrize("action", [_refund, _refund_to_card])
def test_a_commerce_order_is_not_refunded_while_ocop_is_off(
    world: World, action: Callable[[World, Actor], RefundResult]
) -> None:
    """P2: FeatureDisabled while OCOP is off, nothing changes; refunded once it is on again."""
    card_order(world, "100.00")
    assert world.bo.order("SO-1").payments_type is PaymentsType.COMMERCE
    off = World(clock=world.clock, sim=world.sim, bo=world.bo.with_settings(OCOP_OFF))
    before = snapshot(world, "SO-1")
    with pytest.raises(FeatureDisabled):
        action(off, AGENT)
    assert snapshot(world, "SO-1") == before
    assert action(world, AGENT).order.refunded == usd("10.00")


def test_a_legacy_order_is_refunded_while_ocop_is_off() -> None:
    """P2 bars legacy orders from completion only: their returns are refunded (our choice)."""
    world = new_world(settings=OCOP_OFF)
    card_order(world, "100.00")
    result = world.bo.refund("SO-1", "RMA-1", usd("30.00"), AGENT)
    assert result.order.payments_type is PaymentsType.LEGACY
    assert linked(result) == [("INV-1", usd("30.00"))]


def test_a_none_order_still_gets_linked_refunds(world: World) -> None:
    """P2: a call center order created by a non call center user is linked-refunded."""
    place(
        world.bo,
        "SO-N",
        "100.00",
        by_card("100.00"),
        channel=Channel.CALL_CENTER,
        created_by=OUTSIDER,
    )
    assert world.bo.order("SO-N").payments_type is PaymentsType.NONE
    world.bo.invoice("SO-N", "INV-1", usd("100.00"))
    result = world.bo.refund("SO-N", "RMA-1", usd("40.00"), AGENT)
    assert linked(result) == [("INV-1", usd("40.00"))]
    assert result.fallback == usd("0.00")
    assert len(entries(world.sim, "SO-N", "refund")) == 1
