"""Service behaviour a second mutation run showed unchecked: messages, keys, times, counts.

Each test pins what a host can see through the public API and the ports: the
exact text of refusals, the keys of the processor's ledger, the times stored on
the order, and the processor calls a submit reports.
"""

from __future__ import annotations

import pytest

from ocop import (
    Authorization,
    AuthorizationPolicy,
    AuthorizationToken,
    Channel,
    ConnectorMismatch,
    FeatureDisabled,
    HoldCode,
    IllegalTransition,
    LineStatus,
    Settings,
)
from worlds import CUSTOMER, by_card, card, in_cash, new_world, usd

from .support import AGENT, OCOP_OFF, card_order, ledger

#: Authorizations expire after 3 days and are stale (refused locally) from day 7 (I3).
SHORT = Settings.default().with_policies(
    authorization=AuthorizationPolicy(expiry_days=3, stale_days=7)
)

# -- refusals and their messages (P2, S3, I5, T1) --------------------------------------------


def test_completion_of_a_commerce_order_while_ocop_is_off_is_refused_with_its_message() -> None:
    """P2: order completion of a commerce order with OCOP off names the order and the feature."""
    world = new_world()
    card_order(world)
    with pytest.raises(FeatureDisabled) as caught:
        world.bo.with_settings(OCOP_OFF).begin_completion("SO-1", AGENT)
    assert str(caught.value) == (
        "order SO-1 is a commerce order: its payments are managed only while "
        "omni-channel order payments is on"
    )
    assert caught.value.feature == "omni_channel_order_payments"


def test_an_invoice_of_a_commerce_order_while_ocop_is_off_is_refused_with_its_message() -> None:
    """P2: invoicing a commerce order with OCOP off is refused with the full message."""
    world = new_world()
    card_order(world)
    with pytest.raises(FeatureDisabled) as caught:
        world.bo.with_settings(OCOP_OFF).invoice("SO-1", "INV-1", usd("10.00"))
    assert str(caught.value) == (
        "order SO-1 is a commerce order: processed only while omni-channel order payments is on"
    )
    assert caught.value.feature == "omni_channel_order_payments"


def test_an_invoice_of_an_order_on_hold_is_refused_naming_its_status() -> None:
    """S3: an order on hold is not invoiced; the message names its status and the rule."""
    world = new_world()
    world.bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=CUSTOMER,
        total=usd("50.00"),
        payments=[by_card("40.00")],
    )
    with pytest.raises(IllegalTransition) as caught:
        world.bo.invoice("SO-1", "INV-1", usd("10.00"))
    assert str(caught.value) == "order SO-1 is on_hold: only approved orders are invoiced (S3)"
    assert caught.value.order_id == "SO-1"


def test_a_card_of_another_account_is_refused_naming_both_accounts() -> None:
    """I5: saving a card tokenized by another service account names the card and both accounts."""
    world = new_world()
    foreign = card("tok_2", last4="4242", service_account="sa-9")
    with pytest.raises(ConnectorMismatch) as caught:
        world.bo.save_instrument(CUSTOMER, foreign, consent=True)
    assert str(caught.value) == "VISA ****4242 was tokenized by sim/sa-9, not by sim/sa-1"
    assert world.bo.saved_instruments(CUSTOMER) == ()


def test_saving_a_card_while_the_settings_disallow_it_is_refused_with_its_message() -> None:
    """T1: with saving payment information off, the refusal says the settings forbid it."""
    world = new_world(Settings.default().with_policies(allow_saving_payment_information=False))
    with pytest.raises(FeatureDisabled) as caught:
        world.bo.save_instrument(CUSTOMER, card(), consent=True)
    assert str(caught.value) == "saving payment information is not allowed by the settings"
    assert caught.value.feature == "allow_saving_payment_information"


# -- refunds (R5) --------------------------------------------------------------------------


def test_a_second_linked_refund_of_a_return_on_the_same_capture_is_its_second_key() -> None:
    """R5: raising a return refunds the rest of the capture under the return's next number."""
    world = new_world()
    card_order(world, amount="100.00")
    world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    world.bo.refund("SO-1", "RMA-1", usd("10.00"), AGENT)
    result = world.bo.refund("SO-1", "RMA-1", usd("25.00"), AGENT)
    keys = [
        "SO-1/refund:RMA-1:capture:INV-1:L1:L1.A1#1:1#1",
        "SO-1/refund:RMA-1:capture:INV-1:L1:L1.A1#1:2#1",
    ]
    assert [(r.refund_id, r.amount) for r in result.refunds] == [
        (keys[0], usd("10.00")),
        (keys[1], usd("15.00")),
    ]
    assert [(k, a) for kind, k, a in ledger(world) if kind == "refund"] == [
        (keys[0], usd("10.00")),
        (keys[1], usd("15.00")),
    ]


# -- invoicing (I1, I3) --------------------------------------------------------------------


def test_a_prepayment_applied_to_an_invoice_is_stamped_with_the_time_of_the_invoice() -> None:
    """I1: a deposit applied to an invoice is recorded as a capture at the clock's time."""
    world = new_world()
    world.bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=CUSTOMER,
        total=usd("30.00"),
        payments=[in_cash("30.00")],
    )
    later = world.clock.advance(days=2)
    result = world.bo.invoice("SO-1", "INV-1", usd("30.00"))
    assert [(c.capture_id, c.amount, c.captured_at) for c in result.captures] == [
        ("SO-1/apply:INV-1:L1#1", usd("30.00"), later)
    ]
    assert result.uncovered == usd("0.00")


def test_a_stale_first_authorization_does_not_stop_the_capture_on_the_next_one() -> None:
    """I3: the stale authorization's part fails locally; the fresh one's part is still captured."""
    world = new_world(SHORT)
    order = card_order(world, amount="100.00")
    world.clock.advance(days=8)  # L1.A1 is stale from here on
    # The line is now held by L1.A1 (cut to 60.00) and a fresh L1.A2 of 40.00.
    line = order.line("L1")
    first = line.authorizations[0]
    assert world.sim.adjust("SO-1/setup:adjust", first.token, usd("60.00")).approved
    second = world.sim.authorize("SO-1/setup:authorize", card(), usd("40.00"))
    assert isinstance(second.token, AuthorizationToken)
    extra = Authorization.new(
        "L1.A2",
        second.token,
        usd("40.00"),
        at=world.clock.now(),
        multi_capture=True,
        card_value=card().value,
    )
    changed = order.with_line(line.adjusted("L1.A1", usd("60.00")).authorized_with(extra))
    with world.bo.ports.store.unit_of_work() as uow:
        uow.orders.update(changed)
        uow.commit()
    result = world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert [(c.capture_id, c.auth_id, c.amount) for c in result.captures] == [
        ("SO-1/capture:INV-1:L1:L1.A2#1", "L1.A2", usd("40.00"))
    ]
    assert result.failed == ("L1",)
    assert result.uncovered == usd("60.00")
    assert not result.in_doubt
    assert [h.code for h in result.order.holds] == [HoldCode.AUTHORIZATION_EXPIRED]
    assert [(kind, k) for kind, k, _ in ledger(world)][-1] == (
        "capture",
        "SO-1/capture:INV-1:L1:L1.A2#1",
    )


# -- completion (C3, S1) -------------------------------------------------------------------


def test_a_declined_adjustment_counts_the_adjustment_and_its_void_as_two_calls() -> None:
    """C3, S1: a declined adjustment and the void that releases the authorization are two calls."""
    world = new_world()
    card_order(world, amount="100.00")
    world.bo.change_total("SO-1", usd("150.00"), AGENT)
    world.sim.script("adjust", "decline")
    draft = world.bo.begin_completion("SO-1", AGENT).change_amount("L1", usd("150.00"))
    result = world.bo.submit(draft)
    assert result.processor_calls == 2
    assert not result.approved
    assert not result.in_doubt
    assert result.order.line("L1").status is LineStatus.DECLINED
    assert [kind for kind, _, _ in ledger(world)] == ["authorize", "void"]
