"""Linked refunds over captures (R1), one capture only (R2), the fallback method and the
bound of what the order received (R3)."""

from __future__ import annotations

import pytest

from ocop import (
    Channel,
    InvalidInput,
    Money,
    PaymentMethod,
    PaymentsType,
    RefundExceedsReceived,
    RefundPolicy,
    Settings,
)
from ocop.domain.keys import voucher_id
from worlds import CUSTOMER, World, by_card, card, new_world, usd

from .conftest import (
    AGENT,
    card_order,
    credited_accounts,
    entries,
    invoice_daily,
    linked,
    place,
    prepaid,
    refund_vouchers,
    snapshot,
)

# -- R1: which captures, in which order, how much ------------------------------------------


def test_a_return_refunds_the_captures_of_its_invoices_first_then_the_newest(
    world: World,
) -> None:
    """The named invoice's capture goes first, then the newest capture, then older ones."""
    card_order(world, "30.00", "30.00", "40.00")
    result = world.bo.refund("SO-1", "RMA-1", usd("80.00"), AGENT, invoices=("INV-2",))
    assert linked(result) == [
        ("INV-2", usd("30.00")),
        ("INV-3", usd("40.00")),
        ("INV-1", usd("10.00")),
    ]
    assert result.fallback == usd("0.00")
    assert result.failed == ()


def test_a_return_naming_no_invoice_refunds_the_newest_capture_first(world: World) -> None:
    """Without named invoices the most recent capture is refunded before older ones."""
    card_order(world, "30.00", "30.00", "40.00")
    result = world.bo.refund("SO-1", "RMA-1", usd("50.00"), AGENT)
    assert linked(result) == [("INV-3", usd("40.00")), ("INV-2", usd("10.00"))]


def test_named_invoices_are_refunded_in_the_order_the_return_names_them(world: World) -> None:
    """Two named invoices are taken in the order given, before any other capture."""
    card_order(world, "30.00", "30.00", "40.00")
    result = world.bo.refund("SO-1", "RMA-1", usd("70.00"), AGENT, invoices=("INV-1", "INV-3"))
    assert linked(result) == [("INV-1", usd("30.00")), ("INV-3", usd("40.00"))]


def test_a_capture_is_refunded_at_most_what_it_can_still_refund(world: World) -> None:
    """A capture already partly refunded by another return gives only its remainder."""
    card_order(world, "30.00", "30.00", "40.00")
    world.bo.refund("SO-1", "RMA-1", usd("20.00"), AGENT, invoices=("INV-2",))
    result = world.bo.refund("SO-1", "RMA-2", usd("50.00"), AGENT, invoices=("INV-2",))
    assert linked(result) == [("INV-2", usd("10.00")), ("INV-3", usd("40.00"))]
    for line in result.order.lines:
        for capture in line.captures:
            assert capture.refunded <= capture.amount  # V2
    tokens = {c.token.value: c.invoice_id for c in result.order.lines[0].captures if c.token}
    ledger = [(tokens[e.target], e.amount) for e in entries(world.sim, "SO-1", "refund")]
    assert ledger == [("INV-2", usd("20.00")), ("INV-2", usd("10.00")), ("INV-3", usd("40.00"))]


@pytest.mark.parametrize("method", ["gift_card", "loyalty"])
def test_gift_card_and_loyalty_prepayments_are_never_linked_refunded(
    world: World, method: str
) -> None:
    """A prepayment covering part of an invoice goes back by the fallback method, not a card."""
    place(world.bo, "SO-1", "100.00", prepaid(method, "30.00"), by_card("70.00"))
    world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    result = world.bo.refund("SO-1", "RMA-1", usd("100.00"), AGENT, invoices=("INV-1",))
    assert linked(result) == [("INV-1", usd("70.00"))]
    assert result.fallback == usd("30.00")
    prepayment = result.order.lines[0]
    assert prepayment.method is PaymentMethod(method)
    assert prepayment.refunds == ()
    assert [e.amount for e in entries(world.sim, "SO-1", "refund")] == [usd("70.00")]


def test_every_refund_records_the_journal_its_voucher_posted_to(world: World) -> None:
    """J2, V4: a linked refund and one by the fallback method alike name the journal their
    voucher went to, as the field says. (A fallback refund named none.)"""
    place(world.bo, "SO-1", "100.00", prepaid("gift_card", "30.00"), by_card("70.00"))
    world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    result = world.bo.refund("SO-1", "RMA-1", usd("100.00"), AGENT, invoices=("INV-1",))
    posted = {v.voucher_id: v.journal_name for v in refund_vouchers(world.bo, "SO-1")}
    order = result.order
    refunds = [*(r for line in order.lines for r in line.refunds), *order.other_refunds]
    assert len(refunds) == len(posted) == 2
    assert {voucher_id(r.refund_id): r.journal for r in refunds} == posted


# -- R2: refunds over one capture only -----------------------------------------------------

ONE_CAPTURE = Settings.default().with_features(
    refunds_over_multiple_captures=False, omni_channel_order_payments=False
)


def test_with_one_capture_per_return_the_first_capture_r1_picks_is_the_only_one() -> None:
    """R2: the named invoice's capture is refunded, and the rest goes to the fallback method."""
    world = new_world(settings=ONE_CAPTURE)
    card_order(world, "60.00", "40.00")
    result = world.bo.refund("SO-1", "RMA-1", usd("70.00"), AGENT, invoices=("INV-1",))
    assert result.order.payments_type is PaymentsType.LEGACY
    assert linked(result) == [("INV-1", usd("60.00"))]
    assert result.fallback == usd("10.00")
    assert len(entries(world.sim, "SO-1", "refund")) == 1


def test_with_one_capture_per_return_and_no_invoice_named_the_newest_is_used() -> None:
    """R2: without named invoices the newest capture alone is refunded, the rest by fallback."""
    world = new_world(settings=ONE_CAPTURE)
    card_order(world, "60.00", "40.00")
    result = world.bo.refund("SO-1", "RMA-1", usd("70.00"), AGENT)
    assert linked(result) == [("INV-2", usd("40.00"))]
    assert result.fallback == usd("30.00")
    assert [v.amount for v in refund_vouchers(world.bo, "SO-1")] == [usd("40.00"), usd("30.00")]


def test_with_one_capture_per_return_a_return_the_capture_covers_needs_no_fallback() -> None:
    """R2: an amount within the first capture is all linked."""
    world = new_world(settings=ONE_CAPTURE)
    card_order(world, "60.00", "40.00")
    result = world.bo.refund("SO-1", "RMA-1", usd("25.00"), AGENT)
    assert linked(result) == [("INV-2", usd("25.00"))]
    assert result.fallback == usd("0.00")


def test_with_one_capture_per_return_a_retry_after_a_timeout_refunds_no_other_capture() -> None:
    """R2, R5: the return's refund of the newest capture timed out (the processor made it);
    after recover() the same return again refunds the rest by the fallback method, exactly
    as the uninterrupted call would have, never from a second capture."""
    world = new_world(settings=ONE_CAPTURE)
    card_order(world, "60.00", "40.00")
    world.sim.script("refund", "timeout_after_success")
    assert world.bo.refund("SO-1", "RMA-1", usd("70.00"), AGENT).in_doubt
    world.bo.recover()
    result = world.bo.refund("SO-1", "RMA-1", usd("70.00"), AGENT)
    assert linked(result) == [("INV-2", usd("40.00"))]
    assert result.fallback == usd("30.00")
    assert len(entries(world.sim, "SO-1", "refund")) == 1


def test_with_one_capture_per_return_a_raised_return_refunds_the_same_capture_only() -> None:
    """R2: a return of 45.00 took all of the newest capture (40.00) and 5.00 by fallback;
    raised to 70.00, its other 25.00 go by the fallback method too, never from a second
    capture."""
    world = new_world(settings=ONE_CAPTURE)
    card_order(world, "60.00", "40.00")
    first = world.bo.refund("SO-1", "RMA-1", usd("45.00"), AGENT)
    assert (linked(first), first.fallback) == ([("INV-2", usd("40.00"))], usd("5.00"))
    raised = world.bo.refund("SO-1", "RMA-1", usd("70.00"), AGENT)
    assert raised.fallback == usd("30.00")
    refunds = entries(world.sim, "SO-1", "refund")
    assert len(refunds) == 1
    assert ":capture:INV-2:" in refunds[0].key


# -- R3: the fallback method, and never more than received ---------------------------------


def test_what_captures_cannot_cover_goes_to_the_customer_account_by_default(
    world: World,
) -> None:
    """A cash prepayment is refunded by the default fallback, with one voucher in the journal."""
    place(world.bo, "SO-1", "100.00", by_card("70.00"), prepaid("cash", "30.00"))
    world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    result = world.bo.refund("SO-1", "RMA-1", usd("100.00"), AGENT)
    assert linked(result) == [("INV-1", usd("70.00"))]
    assert result.fallback == usd("30.00")
    assert [r.method for r in result.order.other_refunds] == ["customer_account"]
    vouchers = refund_vouchers(world.bo, "SO-1")
    assert [credited_accounts(v) for v in vouchers] == [
        ["tender:card"],
        ["tender:customer_account"],
    ]
    fallback = vouchers[1]
    assert (fallback.amount, fallback.reference) == (usd("30.00"), "RMA-1")
    assert fallback.journal_name == world.bo.settings.journals.unified_refund
    assert result.order.refunded == usd("100.00")


def test_the_fallback_method_is_the_one_the_refund_policy_names() -> None:
    """With a check fallback the uncovered part goes back by check."""
    policy = RefundPolicy(fallback_method=PaymentMethod.CHECK)
    world = new_world(settings=Settings.default().with_policies(refunds=policy))
    place(world.bo, "SO-1", "100.00", by_card("70.00"), prepaid("cash", "30.00"))
    world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    result = world.bo.refund("SO-1", "RMA-1", usd("100.00"), AGENT)
    assert result.fallback == usd("30.00")
    assert [r.method for r in result.order.other_refunds] == ["check"]
    vouchers = refund_vouchers(world.bo, "SO-1")
    assert [credited_accounts(v) for v in vouchers] == [["tender:card"], ["tender:check"]]


def test_exhausted_captures_send_the_rest_of_a_later_return_to_the_fallback(
    world: World,
) -> None:
    """Once a capture is fully refunded, a later return's uncovered part goes by fallback."""
    place(world.bo, "SO-1", "100.00", by_card("60.00"), prepaid("cash", "40.00"))
    world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    world.bo.refund("SO-1", "RMA-1", usd("60.00"), AGENT)
    result = world.bo.refund("SO-1", "RMA-2", usd("25.00"), AGENT)
    assert result.refunds == ()
    assert result.fallback == usd("25.00")
    assert len(entries(world.sim, "SO-1", "refund")) == 1


def test_an_uninvoiced_cash_deposit_is_refunded_by_the_fallback(world: World) -> None:
    """A posted prepayment counts as received before any invoice, and goes back by fallback."""
    place(world.bo, "SO-1", "100.00", by_card("60.00"), prepaid("cash", "40.00"))
    result = world.bo.refund("SO-1", "RMA-1", usd("40.00"), AGENT)
    assert result.refunds == ()
    assert result.fallback == usd("40.00")


@pytest.mark.parametrize(
    ("invoiced", "returned", "later", "uncovered"),
    [
        ("0.00", "100.00", "100.00", "100.00"),  # refunded before any invoice
        ("40.00", "100.00", "60.00", "60.00"),  # more back than the invoice took
        ("40.00", "40.00", "60.00", "0.00"),  # the invoiced goods returned: the rest covers
        ("40.00", "70.00", "60.00", "30.00"),
    ],
)
def test_cash_paid_back_covers_no_later_invoice(
    world: World, invoiced: str, returned: str, later: str, uncovered: str
) -> None:
    """I1, R3: a fallback refund stands first for the invoiced cash it may pay back; what
    it pays beyond came out of cash no invoice used, which covers no later invoice. (The
    refunded cash covered it again: goods invoiced as paid with money given back.)"""
    place(world.bo, "SO-1", "100.00", prepaid("cash", "100.00"))
    if invoiced != "0.00":
        assert world.bo.invoice("SO-1", "INV-1", usd(invoiced)).uncovered == usd("0.00")
    assert world.bo.refund("SO-1", "RMA-1", usd(returned), AGENT).fallback == usd(returned)
    result = world.bo.invoice("SO-1", "INV-2", usd(later))
    assert result.uncovered == usd(uncovered)


def test_cash_paid_to_another_card_covers_no_later_invoice(world: World) -> None:
    """I1, R4: an unlinked refund of an order paid in cash, before any invoice, leaves that
    much of the cash unable to cover an invoice."""
    place(world.bo, "SO-1", "100.00", prepaid("cash", "100.00"))
    payee = card("tok_9", last4="9999")
    world.bo.refund_to_card("SO-1", "RMA-1", payee, usd("30.00"), AGENT)
    result = world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert result.uncovered == usd("30.00")


@pytest.mark.parametrize("invoiced", ["0.00", "20.00"])
def test_a_card_deposit_paid_to_another_card_covers_no_later_invoice(
    world: World, invoiced: str
) -> None:
    """I1, R4, D1: a card deposit is money received like a prepayment; what an unlinked
    refund paid back beyond the invoiced money covers no later invoice. (The deposit's
    capture covered it again, with no processor call: goods invoiced as paid with money
    given back.)"""
    world.bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER, total=usd("100.00"),
                         payments=[by_card("30.00")], deposit=True)  # fmt: skip
    if invoiced != "0.00":
        assert world.bo.invoice("SO-1", "INV-1", usd(invoiced)).uncovered == usd("0.00")
    payee = card("tok_9", last4="9999")
    world.bo.refund_to_card("SO-1", "RMA-1", payee, usd("30.00"), AGENT)
    result = world.bo.invoice("SO-1", "INV-2", usd("30.00"))
    assert result.uncovered == usd("30.00")


def test_an_amount_above_what_remains_received_is_refused_whole(world: World) -> None:
    """Above received - refunded raises RefundExceedsReceived; order, journal, ledger unchanged."""
    place(world.bo, "SO-1", "100.00", by_card("90.00"), prepaid("cash", "10.00"))
    invoice_daily(world, "SO-1", "60.00", "40.00")
    world.bo.refund("SO-1", "RMA-1", usd("60.00"), AGENT)
    before = snapshot(world, "SO-1")
    with pytest.raises(RefundExceedsReceived):
        world.bo.refund("SO-1", "RMA-2", usd("40.01"), AGENT)
    assert snapshot(world, "SO-1") == before
    result = world.bo.refund("SO-1", "RMA-2", usd("40.00"), AGENT)
    assert result.order.refunded == result.order.received == usd("100.00")


def test_money_only_authorized_is_not_received_and_cannot_be_refunded(world: World) -> None:
    """An order with an open authorization but no capture has nothing to refund."""
    place(world.bo, "SO-1", "100.00", by_card("100.00"))
    before = snapshot(world, "SO-1")
    with pytest.raises(RefundExceedsReceived):
        world.bo.refund("SO-1", "RMA-1", usd("0.01"), AGENT)
    assert snapshot(world, "SO-1") == before


def test_a_refund_posts_one_voucher_per_capture_refunded_and_one_for_the_fallback(
    world: World,
) -> None:
    """J1: each linked refund and the fallback post one refund voucher, summing to the refund."""
    place(world.bo, "SO-1", "100.00", by_card("90.00"), prepaid("cash", "10.00"))
    invoice_daily(world, "SO-1", "60.00", "40.00")
    result = world.bo.refund("SO-1", "RMA-1", usd("100.00"), AGENT, invoices=("INV-1",))
    vouchers = refund_vouchers(world.bo, "SO-1")
    assert len(vouchers) == len(result.refunds) + 1
    assert sum((v.amount for v in vouchers), usd(0)) == usd("100.00")
    assert {v.reference for v in vouchers} == {"RMA-1"}


def test_a_call_center_order_is_refunded_like_any_other(world: World) -> None:
    """A completed call center order's captures are linked-refunded (R1)."""
    place(world.bo, "SO-1", "50.00", channel=Channel.CALL_CENTER)
    draft = world.bo.begin_completion("SO-1", AGENT).add_card(by_card("50.00").card, usd("50.00"))
    assert world.bo.submit(draft).approved
    world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    result = world.bo.refund("SO-1", "RMA-1", usd("50.00"), AGENT)
    assert linked(result) == [("INV-1", usd("50.00"))]


@pytest.mark.parametrize(
    "amount", [usd("0.00"), usd("-1.00"), Money.of("5.00", "EUR")], ids=["zero", "negative", "eur"]
)
def test_a_refund_amount_that_is_not_positive_money_of_the_order_is_refused(
    world: World, amount: Money
) -> None:
    """V7: zero, negative or foreign-currency refunds raise InvalidInput and change nothing."""
    card_order(world, "100.00")
    before = snapshot(world, "SO-1")
    with pytest.raises(InvalidInput):
        world.bo.refund("SO-1", "RMA-1", amount, AGENT)
    assert snapshot(world, "SO-1") == before


def test_an_invoiced_order_cancelled_with_a_manual_refund_needed_is_still_refunded(
    world: World,
) -> None:
    """X1: cancelling leaves captures alone, and the return refunds them afterwards."""
    card_order(world, "60.00")
    assert world.bo.cancel_order("SO-1", AGENT).manual_refund_needed
    result = world.bo.refund("SO-1", "RMA-1", usd("60.00"), AGENT)
    assert linked(result) == [("INV-1", usd("60.00"))]
    assert result.order.refunded == usd("60.00")


def test_without_unified_journals_refunds_post_to_the_channels_refund_journal() -> None:
    """J2: linked and fallback refund vouchers go to the order channel's own refund journal."""
    settings = Settings.default().with_features(
        unified_journal_defaults=False, omni_channel_order_payments=False
    )
    world = new_world(settings=settings)
    place(world.bo, "SO-1", "100.00", by_card("70.00"), prepaid("cash", "30.00"))
    world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    world.bo.refund("SO-1", "RMA-1", usd("100.00"), AGENT)
    assert {v.journal_name for v in refund_vouchers(world.bo, "SO-1")} == {"ECOM-REF"}
