"""Order completion for every channel: the seed feature's scenarios, and cancellation (X1)."""

from __future__ import annotations

from support import ALICE, CARD_1, CARD_2, CLERK, CVV, capture_line, kinds, make_world

from ocop import (
    CardPayment,
    Channel,
    Customer,
    OrderStatus,
    Prepayment,
    SavedCardPayment,
    VoucherKind,
)
from worlds import usd

# -- seed scenarios -----------------------------------------------------------------------


def test_call_center_edits_ecommerce_payments_after_the_customer_calls() -> None:
    """An e-commerce order paid with a saved card gets a larger total, line and a second card."""
    world = make_world()
    saved = world.bo.save_instrument(ALICE, CARD_1, consent=True)
    placed = world.bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=ALICE,
        total=usd("100.00"),
        payments=[SavedCardPayment(saved.instrument_id, cvv=CVV, amount=usd("100.00"))],
    )
    assert placed.approved
    world.bo.change_total("SO-1", usd("150.00"), CLERK)
    draft = world.bo.begin_completion("SO-1", CLERK)
    assert draft.balance_due == usd("50.00")
    draft = draft.change_amount("L1", usd("120.00")).add_card(CARD_2, usd("30.00"))
    assert draft.balance_due == usd("0.00")
    result = world.bo.submit(draft)
    assert result.approved
    assert result.holds == ()
    assert result.order.status is OrderStatus.APPROVED
    assert [line.authorized for line in result.order.lines] == [usd("120.00"), usd("30.00")]
    ledger = world.sim.ledger()
    assert kinds(ledger) == ["authorize", "adjust", "authorize"]
    assert [entry.amount for entry in ledger] == [usd("100.00"), usd("120.00"), usd("30.00")]


def test_cancelling_a_pos_order_voids_its_authorizations_and_refunds_the_deposit() -> None:
    """A POS order cancelled: every authorization voided, the cash deposit refunded by fallback."""
    world = make_world()
    world.bo.place_order(
        "SO-2",
        channel=Channel.POS,
        customer=Customer.guest(),
        total=usd("80.00"),
        payments=[
            CardPayment(CARD_1, usd("30.00")),
            CardPayment(CARD_2, usd("30.00")),
            Prepayment("cash", usd("20.00")),
        ],
    )
    tokens = [line.authorizations[0].token.value for line in world.bo.order("SO-2").lines[:2]]
    result = world.bo.cancel_order("SO-2", CLERK)
    assert result.order.status is OrderStatus.CANCELLED
    assert result.voided == ("L1.A1", "L2.A1")
    assert all(world.sim.authorization_open(token) == usd("0.00") for token in tokens)
    assert kinds(world.sim.ledger()) == ["authorize", "authorize", "void", "void"]
    assert result.refunded == usd("20.00")
    assert not result.manual_refund_needed
    refunds = [v for v in world.bo.journal("SO-2") if v.kind is VoucherKind.REFUND]
    assert [(v.amount, v.journal_name) for v in refunds] == [(usd("20.00"), "OCOP-REF")]
    fallback = world.bo.settings.refunds.fallback_method.value
    assert any(line.account == f"tender:{fallback}" for line in refunds[0].lines)


# -- X1: cancellation ---------------------------------------------------------------------


def test_cancelling_an_uninvoiced_order_voids_authorizations_and_refunds_deposits() -> None:
    """X1: with no invoice, open authorizations are voided and a posted check refunded."""
    world = make_world()
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=ALICE, total=usd("90.00"))
    draft = (
        world.bo.begin_completion("SO-1", CLERK)
        .add_card(CARD_1, usd("60.00"))
        .add_prepayment("check", usd("30.00"), check_number="1001")
    )
    assert world.bo.submit(draft).approved
    result = world.bo.cancel_order("SO-1", CLERK)
    assert result.order.status is OrderStatus.CANCELLED
    assert result.voided == ("L1.A1",)
    assert result.refunded == usd("30.00")
    assert result.order.refunded == usd("30.00")
    assert kinds(world.sim.ledger()) == ["authorize", "void"]
    assert [v.kind.value for v in world.bo.journal("SO-1")] == ["payment", "refund"]


def test_cancelling_an_invoiced_order_leaves_its_money_and_asks_for_a_manual_refund() -> None:
    """X1: once invoiced, authorizations and captures stay and a manual refund is needed."""
    world = make_world()
    world.bo.place_order(
        "SO-1", channel=Channel.ECOMMERCE, customer=ALICE, total=usd("100.00"),
        payments=[CardPayment(CARD_1, usd("100.00"))],
    )  # fmt: skip
    capture_line(world, "SO-1", "L1", usd("40.00"))
    ledger = world.sim.ledger()
    result = world.bo.cancel_order("SO-1", CLERK)
    assert result.manual_refund_needed
    assert result.voided == ()
    assert result.order.status is OrderStatus.CANCELLED
    assert world.sim.ledger() == ledger
    assert result.order.line("L1").authorized == usd("60.00")
