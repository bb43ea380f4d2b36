"""The product owner's reading of the seed (omni-channel order payments), scenario by
scenario, through the public API only: which orders get back-office payment management
(channels and payments types, OCOP on and off), editing an e-commerce order's payments
after the customer calls, cancelling uncaptured payments, linked refunds over several
captures, unlinked refunds, saved payment instruments (List PI) and the prerequisites.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ocop import (
    Actor,
    BackOffice,
    CardPayment,
    CardToken,
    Channel,
    CompletionPolicy,
    Customer,
    HoldCode,
    LineStatus,
    Money,
    OcopError,
    OrderStatus,
    PaymentsType,
    Prepayment,
    SavedCardPayment,
    Settings,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor

START = datetime(2026, 1, 1, tzinfo=UTC)
AGENT = Actor.call_center("agent", channel="CC-1", permissions=frozenset({"alternate_payment"}))
CLERK = Actor.call_center("clerk", channel="CC-1")
USER = Actor.user("back-office-user")
VISA = CardToken(value="tok_visa", connector="sim", service_account="sa-1", brand="visa",
                 last4="1111", expiry="2030-12", reusable=True)  # fmt: skip
AMEX = CardToken(value="tok_amex", connector="sim", service_account="sa-1", brand="amex",
                 last4="0005", expiry="2030-12", reusable=True)  # fmt: skip


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def world(settings: Settings | None = None) -> tuple[BackOffice, SimulatedProcessor]:
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    return BackOffice.in_memory(settings=settings, processor=sim, clock=clock), sim


def ocop_off() -> Settings:
    return Settings.default().with_features(omni_channel_order_payments=False)


def online(bo: BackOffice, order_id: str = "SO-1", amount: str = "100.00") -> None:
    """A named customer's e-commerce order paid in full by Visa."""
    bo.place_order(order_id, channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                   total=usd(amount), payments=[CardPayment(VISA, usd(amount))])  # fmt: skip


def kinds(sim: SimulatedProcessor) -> list[tuple[str, Money]]:
    return [(entry.kind, entry.amount) for entry in sim.ledger()]


# -- Overview: which orders the payments form and order completion reach ------------------
@pytest.mark.parametrize("channel", [Channel.POS, Channel.ECOMMERCE])
def test_with_ocop_on_pos_and_online_orders_open_in_order_completion(channel: Channel) -> None:
    """ "This feature essentially enables access to the payments form for orders created in
    e-commerce and the point of sale ... those orders can be edited using the order
    completion function that was previously only available to Call Center orders."""
    bo, _ = world()
    bo.place_order("SO-1", channel=channel, customer=Customer.named("C-1"), total=usd("50.00"),
                   payments=[CardPayment(VISA, usd("50.00"))])  # fmt: skip
    assert bo.order("SO-1").payments_type is PaymentsType.COMMERCE
    draft = bo.begin_completion("SO-1", AGENT)
    assert [line.amount for line in draft.lines] == [usd("50.00")]
    assert draft.balance_due == usd("0.00")


@pytest.mark.parametrize("channel", [Channel.POS, Channel.ECOMMERCE])
def test_with_ocop_off_pos_and_online_orders_stay_out_of_order_completion(
    channel: Channel,
) -> None:
    """Before the feature, POS and e-commerce orders "have not supported Call Center order
    completion"; an order placed then stays a legacy order after OCOP is turned on (P2)."""
    bo, _ = world(ocop_off())
    bo.place_order("SO-1", channel=channel, customer=Customer.named("C-1"), total=usd("50.00"),
                   payments=[CardPayment(VISA, usd("50.00"))])  # fmt: skip
    assert bo.order("SO-1").payments_type is PaymentsType.LEGACY
    with pytest.raises(OcopError):
        bo.begin_completion("SO-1", AGENT)
    later = bo.with_settings(Settings.default())
    assert later.order("SO-1").payments_type is PaymentsType.LEGACY
    with pytest.raises(OcopError):
        later.begin_completion("SO-1", AGENT)


def test_call_center_orders_are_completed_whatever_ocop_says() -> None:
    """Call center orders always had order completion: with OCOP off too, a call center
    order waits for completion and is approved once its payment is designated."""
    bo, _ = world(ocop_off())
    bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=Customer.named("C-1"),
                   total=usd("80.00"), created_by=AGENT)  # fmt: skip
    assert bo.order("SO-1").payments_type is PaymentsType.CALL_CENTER
    assert bo.order("SO-1").status is OrderStatus.PENDING_COMPLETION
    draft = bo.begin_completion("SO-1", AGENT)
    assert draft.balance_due == usd("80.00")
    result = bo.submit(draft.add_card(VISA, usd("80.00")))
    assert result.approved
    assert result.order.lines[0].authorized == usd("80.00")


def test_a_commerce_order_waits_while_ocop_is_turned_off() -> None:
    """P2: an order placed while OCOP was on is managed only while OCOP is on."""
    bo, _ = world()
    online(bo)
    off = bo.with_settings(ocop_off())
    with pytest.raises(OcopError):
        off.begin_completion("SO-1", AGENT)
    with pytest.raises(OcopError):
        off.invoice("SO-1", "INV-1", usd("100.00"))
    assert bo.invoice("SO-1", "INV-1", usd("100.00")).order.captured == usd("100.00")


# -- Prerequisite configurations: a call center user ---------------------------------------
def test_only_a_call_center_user_manages_an_online_orders_payments() -> None:
    """ "Need to be call center user": anyone else is refused and nothing changes."""
    bo, sim = world()
    online(bo)
    bo.invoice("SO-1", "INV-1", usd("40.00"))
    before = (bo.order("SO-1"), len(sim.ledger()))
    for attempt in (
        lambda: bo.begin_completion("SO-1", USER),
        lambda: bo.change_total("SO-1", usd("120.00"), USER),
        lambda: bo.cancel_order("SO-1", USER),
        lambda: bo.refund("SO-1", "RMA-1", usd("10.00"), USER),
        lambda: bo.refund_to_card("SO-1", "RMA-2", AMEX, usd("10.00"), USER),
    ):
        with pytest.raises(OcopError):
            attempt()
    assert (bo.order("SO-1"), len(sim.ledger())) == before


def test_a_back_office_order_by_a_user_who_is_not_in_a_call_center_is_none() -> None:
    """P2: such an order's payments cannot be edited through order completion."""
    bo, _ = world()
    bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=Customer.named("C-1"),
                   total=usd("30.00"), created_by=USER)  # fmt: skip
    assert bo.order("SO-1").payments_type is PaymentsType.NONE
    with pytest.raises(OcopError):
        bo.begin_completion("SO-1", AGENT)


# -- Editing order payments ----------------------------------------------------------------
def test_customer_calls_to_add_an_item_and_the_agent_covers_the_new_balance() -> None:
    """ "If a customer places an online order, then calls into the Call Center to request a
    change to the order, the order completion function will allow for the payments on that
    order to be adjusted to support the new balance due." The order cannot be invoiced for
    the new total until its payments cover it."""
    bo, sim = world()
    online(bo)
    bo.change_total("SO-1", usd("120.00"), AGENT)
    with pytest.raises(OcopError):
        bo.invoice("SO-1", "INV-1", usd("120.00"))
    draft = bo.begin_completion("SO-1", AGENT)
    assert draft.balance_due == usd("20.00")
    result = bo.submit(draft.change_amount(draft.lines[0].line_id, usd("120.00")))
    assert result.approved
    assert result.order.lines[0].authorized == usd("120.00")
    assert kinds(sim) == [("authorize", usd("100.00")), ("adjust", usd("120.00"))]
    inv = bo.invoice("SO-1", "INV-1", usd("120.00"))
    assert [c.amount for c in inv.captures] == [usd("120.00")]
    assert bo.order("SO-1").status is OrderStatus.INVOICED


def test_customer_pays_the_new_balance_with_a_second_card() -> None:
    """The new balance may come from another card: both are captured at invoicing."""
    bo, _ = world()
    online(bo)
    bo.change_total("SO-1", usd("150.00"), AGENT)
    draft = bo.begin_completion("SO-1", AGENT)
    result = bo.submit(draft.add_card(AMEX, usd("50.00")))
    assert result.approved
    inv = bo.invoice("SO-1", "INV-1", usd("150.00"))
    assert sorted(c.amount.amount for c in inv.captures) == [usd("50.00").amount,
                                                             usd("100.00").amount]  # fmt: skip
    assert bo.order("SO-1").captured == usd("150.00")


def test_an_unpaid_increase_holds_the_order_out_of_balance() -> None:
    """ "Business logic enforces that those orders have payments available prior to
    submittal for processing": submitting without covering the new total holds it."""
    bo, _ = world()
    online(bo)
    bo.change_total("SO-1", usd("120.00"), AGENT)
    result = bo.submit(bo.begin_completion("SO-1", AGENT))
    assert not result.approved
    assert [h.code for h in result.holds] == [HoldCode.OUT_OF_BALANCE]
    with pytest.raises(OcopError):
        bo.invoice("SO-1", "INV-1", usd("100.00"))


def test_customer_removes_an_item_and_the_authorization_is_reduced() -> None:
    """A lower total: the card's authorization is adjusted down to the new balance."""
    bo, sim = world()
    online(bo)
    bo.change_total("SO-1", usd("70.00"), AGENT)
    draft = bo.begin_completion("SO-1", AGENT)
    assert draft.balance_due == usd("-30.00")
    result = bo.submit(draft.change_amount(draft.lines[0].line_id, usd("70.00")))
    assert result.approved
    assert result.order.lines[0].authorized == usd("70.00")
    assert kinds(sim)[-1] == ("adjust", usd("70.00"))


def test_a_pos_cash_prepayment_cannot_be_edited_in_completion() -> None:
    """A prepayment taken by the channel is posted: never removed or reduced (C5)."""
    bo, _ = world()
    bo.place_order("SO-1", channel=Channel.POS, customer=Customer.named("C-1"),
                   total=usd("60.00"),
                   payments=[Prepayment("cash", amount=usd("20.00"), check_number=None),
                             CardPayment(VISA, usd("40.00"))])  # fmt: skip
    draft = bo.begin_completion("SO-1", AGENT)
    cash = next(line for line in draft.lines if line.method == "cash")
    with pytest.raises(OcopError):
        bo.submit(draft.remove(cash.line_id))
    with pytest.raises(OcopError):
        bo.submit(bo.begin_completion("SO-1", AGENT).change_amount(cash.line_id, usd("10.00")))
    assert bo.order("SO-1").received == usd("20.00")


# -- Cancelling order payments --------------------------------------------------------------
def test_an_online_orders_uncaptured_card_is_cancelled_through_completion() -> None:
    """ "Support cancellation of uncaptured payments for non-Call Center orders through order
    completion": the customer pays by another card instead; the first is voided."""
    bo, sim = world()
    online(bo)
    draft = bo.begin_completion("SO-1", AGENT)
    old = draft.lines[0].line_id
    result = bo.submit(draft.remove(old).add_card(AMEX, usd("100.00")))
    assert result.approved
    removed = next(line for line in result.order.lines if line.line_id == old)
    assert removed.status is LineStatus.VOIDED
    assert removed.authorized == usd("0.00")
    assert kinds(sim) == [("authorize", usd("100.00")), ("void", usd("100.00")),
                          ("authorize", usd("100.00"))]  # fmt: skip


def test_cancelling_a_pos_order_voids_its_uncaptured_authorization() -> None:
    bo, sim = world()
    bo.place_order("SO-1", channel=Channel.POS, customer=Customer.named("C-1"),
                   total=usd("45.00"), payments=[CardPayment(VISA, usd("45.00"))])  # fmt: skip
    result = bo.cancel_order("SO-1", CLERK)
    assert result.order.status is OrderStatus.CANCELLED
    assert kinds(sim)[-1] == ("void", usd("45.00"))
    assert result.order.lines[0].authorized == usd("0.00")
    assert not result.manual_refund_needed


# -- Linked refunds over multiple captures --------------------------------------------------
def test_a_return_of_an_online_order_is_refunded_to_the_card_that_paid() -> None:
    """ "Return orders for non-Call Center orders generated in the back office can execute
    linked refunds against the credit card used to pay for the original order.\""""
    bo, sim = world()
    online(bo)
    inv = bo.invoice("SO-1", "INV-1", usd("100.00"))
    ret = bo.refund("SO-1", "RMA-1", usd("35.00"), CLERK)
    assert [(r.capture_id, r.amount) for r in ret.refunds] == [
        (inv.captures[0].capture_id, usd("35.00"))]  # fmt: skip
    assert ret.fallback == usd("0.00")
    assert kinds(sim)[-1] == ("refund", usd("35.00"))
    assert bo.order("SO-1").refunded == usd("35.00")


def test_a_return_spanning_two_shipments_is_refunded_over_both_captures() -> None:
    """Enable refunds over multiple captures: two shipments (two invoices, two captures),
    one return of 90.00 refunds 40.00 of the newest capture and 50.00 of the first."""
    bo, sim = world()
    online(bo)
    first = bo.invoice("SO-1", "INV-1", usd("60.00")).captures[0]
    second = bo.invoice("SO-1", "INV-2", usd("40.00")).captures[0]
    ret = bo.refund("SO-1", "RMA-1", usd("90.00"), CLERK)
    assert [(r.capture_id, r.amount) for r in ret.refunds] == [
        (second.capture_id, usd("40.00")), (first.capture_id, usd("50.00"))]  # fmt: skip
    assert ret.fallback == usd("0.00")
    assert [k for k in kinds(sim) if k[0] == "refund"] == [
        ("refund", usd("40.00")), ("refund", usd("50.00"))]  # fmt: skip
    # and a second return refunds what is left, 10.00 of the first capture
    again = bo.refund("SO-1", "RMA-2", usd("10.00"), CLERK)
    assert [(r.capture_id, r.amount) for r in again.refunds] == [(first.capture_id, usd("10.00"))]
    with pytest.raises(OcopError):
        bo.refund("SO-1", "RMA-3", usd("0.01"), CLERK)


def test_several_linked_refunds_against_one_order() -> None:
    """ "This feature addresses an issue with performing multiple linked refunds against an
    order": three returns of one shipped order, each linked to the card."""
    bo, _ = world()
    online(bo)
    bo.invoice("SO-1", "INV-1", usd("100.00"))
    for n, amount in enumerate(("10.00", "20.00", "30.00"), start=1):
        ret = bo.refund("SO-1", f"RMA-{n}", usd(amount), CLERK)
        assert [r.amount for r in ret.refunds] == [usd(amount)]
    order = bo.order("SO-1")
    assert order.refunded == usd("60.00")
    assert order.lines[0].refunded == usd("60.00")


def test_a_pos_return_with_cash_and_card_refunds_the_card_and_falls_back_for_cash() -> None:
    """Cash cannot be linked-refunded: it goes by the fallback method (R3)."""
    bo, _ = world()
    bo.place_order("SO-1", channel=Channel.POS, customer=Customer.named("C-1"),
                   total=usd("100.00"),
                   payments=[Prepayment("cash", amount=usd("30.00"), check_number=None),
                             CardPayment(VISA, usd("70.00"))])  # fmt: skip
    bo.invoice("SO-1", "INV-1", usd("100.00"))
    ret = bo.refund("SO-1", "RMA-1", usd("100.00"), CLERK)
    assert [r.amount for r in ret.refunds] == [usd("70.00")]
    assert ret.fallback == usd("30.00")
    assert bo.order("SO-1").refunded == usd("100.00")


# -- Unlinked refund ------------------------------------------------------------------------
def test_a_return_is_refunded_to_another_card() -> None:
    """ "Return orders can be refunded to a credit card other than the one used to pay for
    the original order" (R4: permission, policy, bounded by what was received)."""
    bo, sim = world()
    online(bo)
    bo.invoice("SO-1", "INV-1", usd("100.00"))
    with pytest.raises(OcopError):
        bo.refund_to_card("SO-1", "RMA-1", AMEX, usd("25.00"), CLERK)
    ret = bo.refund_to_card("SO-1", "RMA-1", AMEX, usd("25.00"), AGENT)
    assert [r.amount for r in ret.refunds] == [usd("25.00")]
    assert kinds(sim)[-1] == ("unlinked_refund", usd("25.00"))
    assert bo.order("SO-1").refunded == usd("25.00")
    with pytest.raises(OcopError):
        bo.refund_to_card("SO-1", "RMA-2", AMEX, usd("75.01"), AGENT)
    assert bo.refund_to_card("SO-1", "RMA-2", AMEX, usd("75.00"), AGENT).refunds[0].amount == (
        usd("75.00"))  # fmt: skip


def test_unlinked_refunds_turned_off_refuse_another_card() -> None:
    settings = Settings.default()
    bo, sim = world(settings.with_policies(
        refunds=type(settings.refunds)(allow_unlinked_refunds=False)))  # fmt: skip
    online(bo)
    bo.invoice("SO-1", "INV-1", usd("100.00"))
    with pytest.raises(OcopError):
        bo.refund_to_card("SO-1", "RMA-1", AMEX, usd("25.00"), AGENT)
    assert bo.order("SO-1").refunded == usd("0.00")
    assert "unlinked_refund" not in [k for k, _ in kinds(sim)]


# -- Duplicate payment protection on invoicing -------------------------------------------
def test_invoicing_the_same_invoice_twice_captures_once() -> None:
    bo, sim = world()
    online(bo)
    first = bo.invoice("SO-1", "INV-1", usd("60.00"))
    second = bo.invoice("SO-1", "INV-1", usd("60.00"))
    assert [c.capture_id for c in second.captures] == [c.capture_id for c in first.captures]
    assert [k for k in kinds(sim) if k[0] == "capture"] == [("capture", usd("60.00"))]
    assert bo.order("SO-1").captured == usd("60.00")


# -- Guest and named user checkout: saved payment instruments (List PI) -------------------
def test_a_guest_cannot_save_a_card_a_named_customer_can_with_consent() -> None:
    bo, _ = world()
    with pytest.raises(OcopError):
        bo.save_instrument(Customer.guest(), VISA, consent=True)
    with pytest.raises(OcopError):
        bo.save_instrument(Customer.named("C-1"), VISA, consent=False)
    saved = bo.save_instrument(Customer.named("C-1"), VISA, consent=True)
    assert [i.instrument_id for i in bo.saved_instruments(Customer.named("C-1"))] == [
        saved.instrument_id]  # fmt: skip
    assert bo.saved_instruments(Customer.named("C-2")) == ()


def test_saving_needs_allow_saving_payment_information() -> None:
    """ "You must set the Allow saving payment information in e-commerce option ... to Yes"."""
    bo, _ = world(Settings.default().with_policies(allow_saving_payment_information=False))
    with pytest.raises(OcopError):
        bo.save_instrument(Customer.named("C-1"), VISA, consent=True)
    assert bo.saved_instruments(Customer.named("C-1")) == ()


def test_next_visit_the_saved_card_pays_with_its_cvv_only_for_its_owner() -> None:
    """ "If the same customer signs in during future visits ... he or she will be able to
    select the same credit card": with the CVV; another customer cannot use it."""
    bo, _ = world()
    saved = bo.save_instrument(Customer.named("C-1"), VISA, consent=True)
    pay = SavedCardPayment(saved.instrument_id, cvv="123", amount=usd("55.00"))
    with pytest.raises(OcopError):
        bo.place_order("SO-2", channel=Channel.ECOMMERCE, customer=Customer.named("C-2"),
                       total=usd("55.00"), payments=[pay])  # fmt: skip
    with pytest.raises(OcopError):
        bo.place_order("SO-3", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                       total=usd("55.00"), payments=[pay])  # fmt: skip
    order = bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                           total=usd("55.00"), payments=[pay])  # fmt: skip
    assert order.status is OrderStatus.APPROVED
    assert order.lines[0].authorized == usd("55.00")
    assert order.lines[0].card is not None
    assert order.lines[0].card.last4 == "1111"


def test_an_order_paid_by_a_saved_card_is_fulfilled_like_any_other() -> None:
    """ "From the standpoint of order processing and fulfillment, the two types of payment
    are indistinguishable": the same invoice, capture, refund and journal."""
    results = []
    for saved in (False, True):
        bo, sim = world()
        customer = Customer.named("C-1")
        if saved:
            pi = bo.save_instrument(customer, VISA, consent=True)
            pay: CardPayment | SavedCardPayment = SavedCardPayment(
                pi.instrument_id, cvv="123", amount=usd("80.00"))  # fmt: skip
        else:
            pay = CardPayment(VISA, usd("80.00"))
        bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=customer,
                       total=usd("80.00"), payments=[pay])  # fmt: skip
        bo.invoice("SO-1", "INV-1", usd("50.00"))
        bo.invoice("SO-1", "INV-2", usd("30.00"))
        bo.refund("SO-1", "RMA-1", usd("40.00"), CLERK)
        o = bo.order("SO-1")
        results.append((
            o.status, o.captured, o.refunded,
            [(k, a) for k, a in kinds(sim) if k != "tokenize"],
            [(v.kind, v.amount) for v in bo.journal("SO-1")],
        ))  # fmt: skip
    assert results[0] == results[1]


# -- Call center agent completes an online order with a saved card ---------------------
def test_an_agent_adds_the_customers_saved_card_with_its_cvv() -> None:
    bo, _ = world()
    customer = Customer.named("C-1")
    saved = bo.save_instrument(customer, AMEX, consent=True)
    online(bo)
    bo.change_total("SO-1", usd("130.00"), AGENT)
    draft = bo.begin_completion("SO-1", AGENT)
    result = bo.submit(draft.add_saved_card(saved.instrument_id, cvv="1234", amount=usd("30.00")))
    assert result.approved
    assert sorted(line.authorized.amount for line in result.order.lines) == [
        usd("30.00").amount, usd("100.00").amount]  # fmt: skip


def test_an_agent_replaces_the_card_of_an_online_order_before_it_ships() -> None:
    """C4: the old authorization is voided and the new card authorized at submit."""
    bo, sim = world()
    online(bo)
    draft = bo.begin_completion("SO-1", AGENT)
    result = bo.submit(draft.replace_card(draft.lines[0].line_id, AMEX))
    assert result.approved
    line = result.order.lines[0]
    assert line.card is not None
    assert (line.card.brand, line.card.last4, line.authorized) == ("amex", "0005", usd("100.00"))
    assert kinds(sim) == [("authorize", usd("100.00")), ("void", usd("100.00")),
                          ("authorize", usd("100.00"))]  # fmt: skip


def test_once_part_is_shipped_the_card_stays_and_cannot_drop_below_what_was_captured() -> None:
    """C2, C5: after a 40.00 shipment the card is neither replaced nor removed nor reduced
    below 40.00; the customer's lower total of 70.00 reduces its authorization to 70.00."""
    bo, _ = world()
    online(bo)
    bo.invoice("SO-1", "INV-1", usd("40.00"))
    bo.change_total("SO-1", usd("70.00"), AGENT)
    with pytest.raises(OcopError):
        bo.submit(bo.begin_completion("SO-1", AGENT).replace_card("L1", AMEX))
    with pytest.raises(OcopError):
        bo.submit(bo.begin_completion("SO-1", AGENT).remove("L1"))
    with pytest.raises(OcopError):
        bo.submit(bo.begin_completion("SO-1", AGENT).change_amount("L1", usd("39.99")))
    result = bo.submit(bo.begin_completion("SO-1", AGENT).change_amount("L1", usd("70.00")))
    assert result.approved
    line = result.order.lines[0]
    assert (line.captured, line.authorized) == (usd("40.00"), usd("30.00"))
    assert bo.invoice("SO-1", "INV-2", usd("30.00")).captures[0].amount == usd("30.00")
    assert bo.order("SO-1").captured == usd("70.00")


# -- Holds and their release -----------------------------------------------------------------
def test_a_pos_order_short_by_ten_dollars_is_held_until_the_agent_takes_cash() -> None:
    bo, _ = world()
    bo.place_order("SO-1", channel=Channel.POS, customer=Customer.named("C-1"),
                   total=usd("100.00"), payments=[CardPayment(VISA, usd("90.00"))])  # fmt: skip
    assert [h.code for h in bo.order("SO-1").holds] == [HoldCode.OUT_OF_BALANCE]
    with pytest.raises(OcopError):
        bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, CLERK)
    with pytest.raises(OcopError):
        bo.invoice("SO-1", "INV-1", usd("100.00"))
    result = bo.submit(bo.begin_completion("SO-1", CLERK).add_prepayment("cash", usd("10.00")))
    assert result.approved
    # I1: the first shipment of 50.00 takes the cash first, then 40.00 of the card
    inv = bo.invoice("SO-1", "INV-1", usd("50.00"))
    assert sorted((c.line_id, c.amount.amount) for c in inv.captures) == [
        ("L1", usd("40.00").amount), ("L2", usd("10.00").amount)]  # fmt: skip


def test_a_supervisor_overrides_the_out_of_balance_hold() -> None:
    bo, _ = world()
    bo.place_order("SO-1", channel=Channel.POS, customer=Customer.named("C-1"),
                   total=usd("100.00"), payments=[CardPayment(VISA, usd("90.00"))])  # fmt: skip
    supervisor = Actor.call_center("sup", permissions=frozenset({"hold_override"}))
    order = bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, supervisor)
    assert order.status is OrderStatus.APPROVED
    assert order.released_holds[-1].override
    assert bo.invoice("SO-1", "INV-1", usd("90.00")).captures[0].amount == usd("90.00")


def test_a_declined_online_card_holds_the_order_until_another_card_is_given() -> None:
    bo, sim = world()
    sim.script("authorize", "decline")
    online(bo)
    order = bo.order("SO-1")
    assert {h.code for h in order.holds} == {HoldCode.PAYMENT_DECLINED, HoldCode.OUT_OF_BALANCE}
    assert order.lines[0].status is LineStatus.DECLINED
    result = bo.submit(bo.begin_completion("SO-1", AGENT).replace_card("L1", AMEX))
    assert result.approved
    assert result.order.lines[0].authorized == usd("100.00")


def test_a_large_check_at_the_call_center_holds_the_order_three_days() -> None:
    clock = ManualClock(START)
    policy = CompletionPolicy(check_hold_threshold=usd("100.00"), check_hold_days=3)
    settings = Settings.default().with_policies(completion=policy)
    bo = BackOffice.in_memory(settings=settings, processor=SimulatedProcessor(clock=clock),
                              clock=clock)  # fmt: skip
    bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=Customer.named("C-1"),
                   total=usd("150.00"), created_by=AGENT)  # fmt: skip
    draft = bo.begin_completion("SO-1", AGENT)
    result = bo.submit(draft.add_prepayment("check", usd("150.00"), check_number="1001"))
    assert [h.code for h in result.holds] == [HoldCode.CHECK]
    with pytest.raises(OcopError):
        bo.invoice("SO-1", "INV-1", usd("150.00"))
    clock.advance(days=3)
    assert bo.order("SO-1").holds == ()
    assert bo.order("SO-1").released_holds[-1].released_at == START + timedelta(days=3)
    assert bo.invoice("SO-1", "INV-1", usd("150.00")).captures[0].amount == usd("150.00")


def test_a_large_check_in_another_currency_than_the_threshold_is_held_too() -> None:
    """S2: a 10,000.00 EUR check at the POS under a 100.00 USD check hold threshold cannot
    be measured against it; it is held its days rather than let through unchecked."""
    policy = CompletionPolicy(check_hold_threshold=usd("100.00"), check_hold_days=3)
    bo, _ = world(Settings.default().with_policies(completion=policy))
    eur = Money.of("10000.00", "EUR")
    bo.place_order("SO-1", channel=Channel.POS, customer=Customer.named("C-1"), total=eur,
                   payments=[Prepayment("check", amount=eur, check_number="77")])  # fmt: skip
    assert [(h.code, h.reason) for h in bo.order("SO-1").holds] == [
        (HoldCode.CHECK, "check in another currency than 100.00 USD")]  # fmt: skip
    with pytest.raises(OcopError):
        bo.invoice("SO-1", "INV-1", eur)


# -- Pickup in store (buy online, pick up in store) ----------------------------------------
def test_an_online_order_picked_up_in_store_takes_its_cards_in_sequence() -> None:
    """I6: the POS captures the order's authorizations in line order up to the amount due."""
    bo, _ = world()
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                   total=usd("150.00"),
                   payments=[CardPayment(VISA, usd("100.00")),
                             CardPayment(AMEX, usd("50.00"))])  # fmt: skip
    pickup = bo.pickup("SO-1", "INV-1", usd("120.00"))
    assert [(c.line_id, c.amount) for c in pickup.captures] == [
        ("L1", usd("100.00")), ("L2", usd("20.00"))]  # fmt: skip
    assert bo.order("SO-1").lines[1].authorized == usd("30.00")


def test_a_pickup_whose_capture_fails_twice_asks_for_a_new_payment() -> None:
    bo, sim = world()
    online(bo)
    sim.script("capture", "decline")
    sim.script("capture", "decline")
    pickup = bo.pickup("SO-1", "INV-1", usd("100.00"))
    assert pickup.new_payment_required
    assert pickup.captures == ()
    assert [f.reason for f in pickup.failed] == ["scripted decline", "scripted decline"]
    assert bo.order("SO-1").captured == usd("0.00")


def test_after_a_failed_pickup_the_agent_takes_another_card_and_the_pickup_goes_through() -> None:
    """I6, C6: the Visa declined twice at the counter; the agent removes it (its new
    authorization voided) and adds the Amex; the same pickup, retried, captures 100.00."""
    bo, sim = world()
    online(bo)
    sim.script("capture", "decline")
    sim.script("capture", "decline")
    assert bo.pickup("SO-1", "INV-1", usd("100.00")).new_payment_required
    draft = bo.begin_completion("SO-1", AGENT)
    assert bo.submit(draft.remove("L1").add_card(AMEX, usd("100.00"))).approved
    pickup = bo.pickup("SO-1", "INV-1", usd("100.00"))
    assert [(c.line_id, c.amount) for c in pickup.captures] == [("L2", usd("100.00"))]
    assert not pickup.new_payment_required
    order = bo.order("SO-1")
    assert (order.status, order.captured, order.lines[0].authorized) == (
        OrderStatus.INVOICED, usd("100.00"), usd("0.00"))  # fmt: skip


def test_pickup_needs_omni_channel_payments() -> None:
    """ "Omni-channel payments: enables ... buy online, pick up in store"."""
    bo, _ = world(Settings.default().with_features(omni_channel_order_payments=False,
                                                   omni_channel_payments=False))  # fmt: skip
    online(bo)
    with pytest.raises(OcopError):
        bo.pickup("SO-1", "INV-1", usd("100.00"))
    assert bo.invoice("SO-1", "INV-1", usd("100.00")).captures[0].amount == usd("100.00")


# -- POS customer orders and deposits ------------------------------------------------------
def deposit_settings(default: str = "0", charge: str = "0") -> Settings:
    settings = Settings.default()
    return settings.with_policies(deposits=type(settings.deposits)(
        default_percent=Decimal(default), cancellation_charge_percent=Decimal(charge)))  # fmt: skip


def test_a_pos_customer_order_deposit_is_taken_then_used_by_the_invoice() -> None:
    """D1: a 50.00 card deposit on a 200.00 customer order is captured at once; the
    invoice at pickup uses it first, then the card the agent added for the rest."""
    bo, sim = world(deposit_settings())
    bo.place_order("SO-1", channel=Channel.POS, customer=Customer.named("C-1"),
                   total=usd("200.00"), payments=[CardPayment(VISA, usd("50.00"))],
                   deposit=True)  # fmt: skip
    order = bo.order("SO-1")
    assert (order.status, order.captured, order.balance_due) == (
        OrderStatus.APPROVED, usd("50.00"), usd("150.00"))  # fmt: skip
    assert kinds(sim) == [("authorize", usd("50.00")), ("capture", usd("50.00"))]
    assert [(v.kind.value, v.amount) for v in bo.journal("SO-1")] == [("payment", usd("50.00"))]
    bo.submit(bo.begin_completion("SO-1", CLERK).add_card(AMEX, usd("150.00")))
    inv = bo.invoice("SO-1", "INV-1", usd("200.00"))
    assert [(c.line_id, c.amount) for c in inv.captures] == [
        ("L1", usd("50.00")), ("L2", usd("150.00"))]  # fmt: skip
    assert kinds(sim)[-1] == ("capture", usd("150.00"))
    assert bo.order("SO-1").status is OrderStatus.INVOICED


def test_a_deposit_other_than_twenty_percent_needs_the_override() -> None:
    bo, _ = world(deposit_settings(default="20"))
    with pytest.raises(OcopError):
        bo.place_order("SO-1", channel=Channel.POS, customer=Customer.named("C-1"),
                       total=usd("200.00"), payments=[CardPayment(VISA, usd("50.00"))],
                       deposit=True)  # fmt: skip
    manager = Actor.call_center("mgr", permissions=frozenset({"deposit_override"}))
    bo.place_order("SO-1", channel=Channel.POS, customer=Customer.named("C-1"),
                   total=usd("200.00"), payments=[CardPayment(VISA, usd("50.00"))],
                   deposit=True, created_by=manager)  # fmt: skip
    bo.place_order("SO-2", channel=Channel.POS, customer=Customer.named("C-1"),
                   total=usd("200.00"), payments=[CardPayment(VISA, usd("40.00"))],
                   deposit=True)  # fmt: skip
    assert (bo.order("SO-1").captured, bo.order("SO-2").captured) == (usd("50.00"),
                                                                      usd("40.00"))  # fmt: skip


def test_cancelling_a_customer_order_refunds_the_deposit_less_the_charge() -> None:
    """D2: a 40.00 card deposit on 200.00, 5 % charge: 10.00 kept, 30.00 refunded to the
    card; a cash deposit goes back by the fallback method."""
    for payment, linked in ((CardPayment(VISA, usd("40.00")), True),
                            (Prepayment("cash", amount=usd("40.00")), False)):  # fmt: skip
        bo, sim = world(deposit_settings(default="20", charge="5"))
        bo.place_order("SO-1", channel=Channel.POS, customer=Customer.named("C-1"),
                       total=usd("200.00"), payments=[payment], deposit=True)  # fmt: skip
        result = bo.cancel_order("SO-1", CLERK)
        assert (result.charged, result.refunded) == (usd("10.00"), usd("30.00"))
        assert result.order.status is OrderStatus.CANCELLED
        refunds = [k for k in kinds(sim) if k[0] == "refund"]
        assert refunds == ([("refund", usd("30.00"))] if linked else [])
        assert [(v.kind.value, v.amount) for v in bo.journal("SO-1")] == [
            ("payment", usd("40.00")), ("refund", usd("30.00"))]  # fmt: skip


def test_only_pos_orders_of_named_customers_take_a_deposit() -> None:
    bo, _ = world()
    for channel, customer in ((Channel.ECOMMERCE, Customer.named("C-1")),
                              (Channel.POS, Customer.guest())):  # fmt: skip
        with pytest.raises(OcopError):
            bo.place_order("SO-1", channel=channel, customer=customer, total=usd("200.00"),
                           payments=[CardPayment(VISA, usd("50.00"))], deposit=True)  # fmt: skip
