"""Placement refuses payments that break a rule before anything is stored or sent (C1, V7, S3).

Every refusal is checked for its error class and message, and for what it
leaves: no order under the id, nothing at the processor, nothing journaled.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop import (
    Actor,
    CardPayment,
    Channel,
    CurrencyMismatch,
    Customer,
    InstrumentNotFound,
    InvalidArgument,
    InvalidInput,
    LineStatus,
    Money,
    OrderStatus,
    PaymentMethod,
    Prepayment,
    SavedCardPayment,
    Settings,
)
from ocop.domain.payments import ChannelPayment
from worlds import CUSTOMER, World, card, new_world, usd

from .support import assert_nothing_stored

LIMITED = Customer.named("C-1", on_account_limit=usd("50.00"))


def refused(
    world: World,
    payments: list[Any],
    *,
    total: Any = None,
    channel: Channel = Channel.ECOMMERCE,
    customer: Customer = CUSTOMER,
) -> InvalidInput:
    """Place ``SO-1`` (100.00 by default); return the InvalidInput it raised."""
    with pytest.raises(InvalidInput) as caught:
        world.bo.place_order(
            "SO-1",
            channel=channel,
            customer=customer,
            total=usd("100.00") if total is None else total,
            payments=payments,
        )
    return caught.value


# -- customer account (S2 at the channel) --------------------------------------------------------


def test_customer_account_payments_up_to_the_limit_are_posted() -> None:
    """A customer-account payment equal to the customer's on-account limit is accepted."""
    world = new_world()
    order = world.bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=LIMITED,
        total=usd("50.00"),
        payments=[Prepayment("customer_account", usd("50.00"))],
    )
    assert [(x.method, x.status, x.amount) for x in order.lines] == [
        (PaymentMethod.CUSTOMER_ACCOUNT, LineStatus.PAID, usd("50.00"))
    ]
    assert order.status is OrderStatus.APPROVED
    assert world.sim.calls == 0


def test_a_customer_account_payment_a_cent_above_the_limit_is_refused() -> None:
    """50.01 on account against a 50.00 limit is refused, naming both amounts."""
    world = new_world()
    error = refused(world, [Prepayment("customer_account", usd("50.01"))], customer=LIMITED)
    assert type(error) is InvalidInput
    assert str(error) == "customer account payments of 50.01 USD exceed the limit 50.00 USD"
    assert_nothing_stored(world, "SO-1")


def test_customer_account_payments_are_summed_against_the_limit() -> None:
    """Two account payments of 30.00 (each within the limit) exceed a 50.00 limit together."""
    world = new_world()
    payments = [
        Prepayment("customer_account", usd("30.00")),
        Prepayment("customer_account", usd("30.00")),
    ]
    error = refused(world, payments, customer=LIMITED)
    assert str(error) == "customer account payments of 60.00 USD exceed the limit 50.00 USD"
    assert_nothing_stored(world, "SO-1")


@pytest.mark.parametrize(
    "customer", [Customer.named("C-1"), Customer.guest()], ids=["no-limit", "guest"]
)
def test_customer_account_payments_need_a_customer_with_a_limit(customer: Customer) -> None:
    """A named customer without an on-account limit, or a guest, cannot pay on account."""
    world = new_world()
    error = refused(world, [Prepayment("customer_account", usd("10.00"))], customer=customer)
    assert type(error) is InvalidInput
    assert str(error) == (
        "customer account payments need a named customer with an on-account limit"
    )
    assert_nothing_stored(world, "SO-1")


def test_a_limit_in_another_currency_refuses_account_payments() -> None:
    """An on-account limit in EUR cannot cover a USD order: the payment is refused."""
    world = new_world()
    customer = Customer.named("C-1", on_account_limit=Money.of("500.00", "EUR"))
    error = refused(world, [Prepayment("customer_account", usd("10.00"))], customer=customer)
    assert isinstance(error, CurrencyMismatch)
    assert (error.left, error.right) == ("EUR", "USD")  # the limit's, the order's (V7)
    assert str(error) == (
        "the customer's on-account limit is in EUR, the order in USD: customer account "
        "payments cannot be checked against it"
    )
    assert_nothing_stored(world, "SO-1")


# -- gift cards ----------------------------------------------------------------------------------


def test_a_gift_card_may_pay_exactly_the_balance_left_by_the_other_payments() -> None:
    """Cash 30.00 and a 70.00 gift card on a 100.00 order are both posted; it is approved."""
    world = new_world()
    order = world.bo.place_order(
        "SO-1",
        channel=Channel.POS,
        customer=CUSTOMER,
        total=usd("100.00"),
        payments=[Prepayment("cash", usd("30.00")), Prepayment("gift_card", usd("70.00"))],
    )
    assert [(x.method, x.amount) for x in order.lines] == [
        (PaymentMethod.CASH, usd("30.00")),
        (PaymentMethod.GIFT_CARD, usd("70.00")),
    ]
    assert order.status is OrderStatus.APPROVED


def test_a_gift_card_a_cent_above_the_balance_is_refused() -> None:
    """Cash 30.00 and a 70.01 gift card on a 100.00 order: the gift card would overpay."""
    world = new_world()
    payments = [Prepayment("cash", usd("30.00")), Prepayment("gift_card", usd("70.01"))]
    error = refused(world, payments)
    assert type(error) is InvalidInput
    assert str(error) == "a gift card never pays more than the order balance"
    assert_nothing_stored(world, "SO-1")


def test_a_gift_card_on_an_order_already_overpaid_by_other_payments_is_refused() -> None:
    """When cash already exceeds the total, the balance is zero and any gift card overpays."""
    world = new_world()
    payments = [Prepayment("cash", usd("120.00")), Prepayment("gift_card", usd("0.01"))]
    error = refused(world, payments)
    assert str(error) == "a gift card never pays more than the order balance"
    assert_nothing_stored(world, "SO-1")


def test_the_gift_card_balance_counts_card_payments_placed_after_it() -> None:
    """A gift card listed before a card payment is checked against the balance after the card."""
    world = new_world()
    payments = [Prepayment("gift_card", usd("60.01")), CardPayment(card(), usd("40.00"))]
    error = refused(world, payments)
    assert str(error) == "a gift card never pays more than the order balance"
    assert_nothing_stored(world, "SO-1")


# -- V7 and amounts ------------------------------------------------------------------------------

EUR_10 = Money.of("10.00", "EUR")


@pytest.mark.parametrize(
    "payment",
    [
        Prepayment("cash", EUR_10),
        Prepayment("check", EUR_10, check_number="1001"),
        CardPayment(card(), EUR_10),
    ],
    ids=["cash", "check", "card"],
)
def test_a_payment_in_another_currency_than_the_order_is_refused(payment: ChannelPayment) -> None:
    """V7: a EUR payment on a USD order is refused, naming both currencies."""
    world = new_world()
    error = refused(world, [payment])
    assert isinstance(error, CurrencyMismatch)
    assert (error.left, error.right) == ("EUR", "USD")
    assert str(error) == "a payment in EUR on an order in USD (V7)"
    assert_nothing_stored(world, "SO-1")


@pytest.mark.parametrize("amount", ["0.00", "-0.01", "-25.00"])
@pytest.mark.parametrize("kind", ["cash", "card", "gift_card", "customer_account"])
def test_zero_and_negative_payments_are_refused(kind: str, amount: str) -> None:
    """Every payment amount must be positive: zero and negative ones are refused."""
    world = new_world()
    payment: ChannelPayment = (
        CardPayment(card(), usd(amount)) if kind == "card" else Prepayment(kind, usd(amount))
    )
    error = refused(world, [payment], customer=LIMITED)
    assert type(error) is InvalidInput
    assert str(error) == "a payment amount must be positive"
    assert_nothing_stored(world, "SO-1")


@pytest.mark.parametrize("amount", [Decimal("10.00"), "10.00", 10])
def test_a_payment_amount_that_is_not_money_is_refused(amount: object) -> None:
    """A payment amount must be a Money value; a Decimal, string or int is refused as the
    payment is built (E1), before any call."""
    with pytest.raises(InvalidArgument) as caught:
        Prepayment("cash", amount)  # type: ignore[arg-type]
    assert str(caught.value) == f"Prepayment.amount must be a Money, not {type(amount).__name__}"


# -- checks --------------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", [Channel.ECOMMERCE, Channel.CALL_CENTER])
@pytest.mark.parametrize("number", [None, ""])
def test_a_check_without_its_number_is_refused_outside_the_pos(
    channel: Channel, number: str | None
) -> None:
    """Outside the POS, a check needs its check number."""
    world = new_world()
    error = refused(
        world, [Prepayment("check", usd("40.00"), check_number=number)], channel=channel
    )
    assert type(error) is InvalidInput
    assert str(error) == "a check needs its check number"
    assert_nothing_stored(world, "SO-1")


@pytest.mark.parametrize("number", [None, ""])
def test_a_pos_check_without_a_number_gets_the_pos_check_number(number: str | None) -> None:
    """A check taken at the POS carries no number of its own: it is posted as check 9999."""
    world = new_world()
    order = world.bo.place_order(
        "SO-1",
        channel=Channel.POS,
        customer=CUSTOMER,
        total=usd("40.00"),
        payments=[Prepayment("check", usd("40.00"), check_number=number)],
    )
    line = order.line("L1")
    assert (line.method, line.check_number, line.status) == (
        PaymentMethod.CHECK,
        "9999",
        LineStatus.PAID,
    )
    assert order.status is OrderStatus.APPROVED


def test_a_pos_check_with_a_number_keeps_it() -> None:
    """A POS check that has a number keeps its own number."""
    world = new_world()
    order = world.bo.place_order(
        "SO-1",
        channel=Channel.POS,
        customer=CUSTOMER,
        total=usd("40.00"),
        payments=[Prepayment("check", usd("40.00"), check_number="1234")],
    )
    assert order.line("L1").check_number == "1234"


# -- totals and payment kinds --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "error_type", "message"),
    [
        (usd("-0.01"), InvalidInput, "an order total is non-negative Money"),
        ("100.00", InvalidArgument, "total must be a Money, not str"),
        (Decimal("100.00"), InvalidArgument, "total must be a Money, not Decimal"),
        (100, InvalidArgument, "total must be a Money, not int"),
    ],
)
def test_an_order_total_must_be_non_negative_money(
    total: object, error_type: type[InvalidInput], message: str
) -> None:
    """A negative total, or a total that is not Money (E1, at the edge), is refused."""
    world = new_world()
    error = refused(world, [], total=total)
    assert type(error) is error_type
    assert str(error) == message
    assert_nothing_stored(world, "SO-1")


def test_an_order_of_zero_without_payments_is_approved() -> None:
    """A zero total is non-negative: the order is placed and approved with no line."""
    world = new_world()
    order = world.bo.place_order(
        "SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER, total=usd("0.00")
    )
    assert (order.status, order.lines, order.holds) == (OrderStatus.APPROVED, (), ())


def test_a_card_passed_as_a_prepayment_is_refused() -> None:
    """A card is paid with CardPayment or SavedCardPayment, never as Prepayment("card")."""
    world = new_world()
    error = refused(world, [Prepayment("card", usd("10.00"))])
    assert type(error) is InvalidInput
    assert str(error) == "a card is paid with CardPayment or SavedCardPayment"
    assert_nothing_stored(world, "SO-1")


def test_an_unknown_payment_method_is_refused() -> None:
    """A prepayment method ocop does not know is refused, listing the known ones."""
    world = new_world()
    error = refused(world, [Prepayment("barter", usd("10.00"))])
    assert type(error) is InvalidInput
    assert str(error) == (
        "unknown payment method; one of cash, card, customer_account, currency, "
        "check, loyalty, credit_memo, gift_card"
    )
    assert_nothing_stored(world, "SO-1")


@pytest.mark.parametrize(
    ("payment", "name"), [("cash", "str"), ({"cash": "10.00"}, "dict"), (usd("10.00"), "Money")]
)
def test_an_object_that_is_no_channel_payment_is_refused(payment: object, name: str) -> None:
    """Only CardPayment, SavedCardPayment and Prepayment are payments; anything else is refused."""
    world = new_world()
    error = refused(world, [payment])
    assert type(error) is InvalidArgument
    assert str(error) == (
        f"payments[0] must be a CardPayment or a SavedCardPayment or a Prepayment, not {name}"
    )
    assert_nothing_stored(world, "SO-1")


# -- saved instruments (T1) ----------------------------------------------------------------------


def test_an_unknown_saved_instrument_is_refused_with_its_id_and_customer() -> None:
    """A saved-card payment naming an instrument the customer does not have is refused."""
    world = new_world()
    with pytest.raises(InstrumentNotFound) as caught:
        world.bo.place_order(
            "SO-1",
            channel=Channel.ECOMMERCE,
            customer=CUSTOMER,
            total=usd("10.00"),
            payments=[SavedCardPayment("PI-7", "123", usd("10.00"))],
        )
    assert (caught.value.instrument_id, caught.value.customer_id) == ("PI-7", "C-1")
    assert_nothing_stored(world, "SO-1")


def test_another_customers_instrument_cannot_pay() -> None:
    """T1: C-1 cannot pay with C-2's saved card; nothing is tokenized."""
    world = new_world()
    theirs = world.bo.save_instrument(Customer.named("C-2"), card("tok_2"), consent=True)
    with pytest.raises(InstrumentNotFound) as caught:
        world.bo.place_order(
            "SO-1",
            channel=Channel.ECOMMERCE,
            customer=CUSTOMER,
            total=usd("10.00"),
            payments=[SavedCardPayment(theirs.instrument_id, "123", usd("10.00"))],
        )
    assert (caught.value.instrument_id, caught.value.customer_id) == (theirs.instrument_id, "C-1")
    assert_nothing_stored(world, "SO-1")


def test_a_guest_has_no_saved_instrument() -> None:
    """A guest's saved-card payment is refused, naming the customer "guest"."""
    world = new_world()
    with pytest.raises(InstrumentNotFound) as caught:
        world.bo.place_order(
            "SO-1",
            channel=Channel.ECOMMERCE,
            customer=Customer.guest(),
            total=usd("10.00"),
            payments=[SavedCardPayment("PI-1", "123", usd("10.00"))],
        )
    assert (caught.value.instrument_id, caught.value.customer_id) == ("PI-1", "guest")
    assert_nothing_stored(world, "SO-1")


def test_a_saved_card_payment_in_another_currency_is_refused() -> None:
    """V7 holds for saved cards too: a EUR amount on a USD order is refused before tokenizing."""
    world = new_world()
    mine = world.bo.save_instrument(CUSTOMER, card("tok_s"), consent=True)
    error = refused(world, [SavedCardPayment(mine.instrument_id, "123", EUR_10)])
    assert isinstance(error, CurrencyMismatch)
    assert str(error) == "a payment in EUR on an order in USD (V7)"
    assert_nothing_stored(world, "SO-1")


# -- property: validation comes before any effect ------------------------------------------------

GOOD: st.SearchStrategy[ChannelPayment] = st.sampled_from(
    [
        CardPayment(card(), usd("10.00")),
        Prepayment("cash", usd("5.00")),
        Prepayment("check", usd("5.00"), check_number="1001"),
    ]
)

BAD: st.SearchStrategy[Any] = st.sampled_from(
    [
        Prepayment("cash", Money.of("5.00", "EUR")),
        Prepayment("cash", usd("0.00")),
        CardPayment(card(), usd("-1.00")),
        Prepayment("check", usd("5.00")),
        Prepayment("customer_account", usd("5.00")),
        Prepayment("card", usd("5.00")),
        Prepayment("barter", usd("5.00")),
        Prepayment("gift_card", usd("500.00")),
        SavedCardPayment("PI-404", "123", usd("5.00")),
        "cash",
    ]
)


@given(
    before=st.lists(GOOD, max_size=3),
    bad=BAD,
    after=st.lists(GOOD, max_size=3),
    channel=st.sampled_from([Channel.ECOMMERCE, Channel.CALL_CENTER]),
)
def test_any_refused_placement_leaves_no_order_and_calls_no_processor(
    before: list[ChannelPayment], bad: Any, after: list[ChannelPayment], channel: Channel
) -> None:
    """Wherever an invalid payment sits among valid ones, nothing is stored or sent."""
    world = new_world()
    with pytest.raises((InvalidInput, InstrumentNotFound)):
        world.bo.place_order(
            "SO-1",
            channel=channel,
            customer=CUSTOMER,
            total=usd("100.00"),
            payments=[*before, bad, *after],
        )
    assert_nothing_stored(world, "SO-1")
    # The id is still free: the same order placed with the valid payments goes through.
    order = world.bo.place_order(
        "SO-1", channel=channel, customer=CUSTOMER, total=usd("100.00"), payments=before
    )
    assert len(order.lines) == len(before)


def test_a_saved_card_on_a_call_center_order_waiting_for_completion_is_refused() -> None:
    """T1: a call center order makes no processor call before its completion, and the CVV
    is kept nowhere: a saved card given at placement is refused, nothing stored, the CVV
    in no message. (It was accepted, its CVV dropped, and the submit declined the line
    without a call.) The completion draft takes it with its CVV."""
    world = new_world()
    mine = world.bo.save_instrument(CUSTOMER, card("tok_s"), consent=True)
    payment = SavedCardPayment(mine.instrument_id, "123", usd("100.00"))
    error = refused(world, [payment], channel=Channel.CALL_CENTER)
    assert "add_saved_card" in str(error)
    assert "123" not in str(error)
    assert_nothing_stored(world, "SO-1")
    agent = Actor.call_center("agent-1")
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=CUSTOMER,
                         total=usd("100.00"), created_by=agent)  # fmt: skip
    draft = world.bo.begin_completion("SO-1", agent)
    draft = draft.add_saved_card(mine.instrument_id, cvv="123", amount=usd("100.00"))
    assert world.bo.submit(draft).approved


def test_a_saved_card_on_a_call_center_order_without_completion_is_used_at_placement() -> None:
    """Without order completion for call centers, the order is validated as placed: the
    saved card is tokenized with its CVV and authorized then."""
    settings = Settings.default().with_features(omni_channel_order_payments=False)
    settings = settings.with_policies(
        completion=attrs.evolve(settings.completion, completion_for_call_center=False)
    )
    world = new_world(settings)
    mine = world.bo.save_instrument(CUSTOMER, card("tok_s"), consent=True)
    payment = SavedCardPayment(mine.instrument_id, "123", usd("100.00"))
    order = world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=CUSTOMER,
                                 total=usd("100.00"), payments=[payment])  # fmt: skip
    assert order.approved
