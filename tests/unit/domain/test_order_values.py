"""Orders as values: their invariants (V3, V7), derived amounts and status, and each change.

Refusals are checked for class, message and attributes (``order_id``, ``amount``,
``line_id``).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop import (
    CardNumberRefused,
    Channel,
    Hold,
    HoldCode,
    IllegalTransition,
    InvalidInput,
    Invoice,
    LineNotFound,
    Money,
    Order,
    OrderStatus,
    PaymentsType,
    RefundExceedsReceived,
)

from .builders import (
    AT,
    CUSTOMER,
    authorized_line,
    capture,
    card_line,
    cash_line,
    eur,
    order,
    refund,
    usd,
    zero,
)


def invoice(invoice_id: str, amount: str) -> Invoice:
    return Invoice(invoice_id=invoice_id, amount=usd(amount), invoiced_at=AT)


def hold(code: HoldCode = HoldCode.MANUAL) -> Hold:
    return Hold(code=code, reason="checked by hand", placed_at=AT)


def paid_order() -> Order:
    """SO-1 of 100.00: card L1 captured 60.00 (refunded 10.00) with 40.00 open; cash 20.00."""
    line = authorized_line("100.00").captured_with(capture("C1", usd("60.00")))
    line = line.refunded_with(refund("R1", usd("10.00")))
    return order("100.00", line, cash_line("20.00").posted())


# -- construction -----------------------------------------------------------------------------
def test_open_builds_an_empty_approved_order() -> None:
    """A new order has no lines, invoices, holds or refunds, at version 0."""
    new = order("80.00")
    assert (new.order_id, new.channel, new.payments_type) == (
        "SO-1",
        Channel.ECOMMERCE,
        PaymentsType.COMMERCE,
    )
    assert (new.customer, new.total, new.placed_at) == (CUSTOMER, usd("80.00"), AT)
    assert new.lines == ()
    assert new.invoices == ()
    assert new.holds == ()
    assert new.other_refunds == ()
    assert (new.needs_completion, new.cancelled, new.version) == (False, False, 0)
    assert new.status is OrderStatus.APPROVED
    assert new.approved
    assert new.currency == "USD"
    assert new.balance_due == usd("80.00")


@pytest.mark.parametrize("order_id", ["", 42, None])
def test_an_order_id_is_a_non_empty_string(order_id: object) -> None:
    """Empty or non-text order ids are refused (spaces alone are an id, as E1 says)."""
    with pytest.raises(InvalidInput) as caught:
        order(order_id=order_id)  # type: ignore[arg-type]
    assert str(caught.value) == "order_id must be a non-empty string"


def test_an_order_id_of_spaces_alone_is_an_id() -> None:
    """E1: 1 to 128 printable characters; a space is printable."""
    assert order(order_id="   ").order_id == "   "


def test_an_order_id_is_never_a_card_number() -> None:
    """T2: a card number as order id is refused, naming the field only."""
    with pytest.raises(CardNumberRefused) as caught:
        order(order_id="4111 1111 1111 1111")
    assert caught.value.field == "Order.order_id"
    assert "4111" not in str(caught.value)


def test_an_order_total_may_be_zero_but_not_negative() -> None:
    """A zero total is valid; one cent below is refused."""
    assert order("0.00").total == zero()
    with pytest.raises(InvalidInput) as caught:
        order("-0.01")
    assert str(caught.value) == "an order total is not negative"


def test_every_line_is_in_the_order_currency() -> None:
    """V7: a euro line on a dollar order is refused, naming the line."""
    euro_line = cash_line().with_amount(eur("5.00"))
    with pytest.raises(InvalidInput) as caught:
        order("10.00", euro_line)
    assert str(caught.value) == "line P1 is not in the order's currency (V7)"


def test_line_ids_are_unique_within_an_order() -> None:
    """Two lines with one id are refused."""
    with pytest.raises(InvalidInput) as caught:
        attrs.evolve(order("10.00"), lines=(card_line(), card_line()))
    assert str(caught.value) == "payment line ids are unique within an order"


def test_an_order_never_refunds_more_than_it_received() -> None:
    """V3: other refunds above what the lines received are refused; equal is valid."""
    base = order("100.00", cash_line("30.00").posted())
    exact = attrs.evolve(base, other_refunds=(refund("R1", usd("30.00"), None),))
    assert exact.refunded == usd("30.00")
    with pytest.raises(RefundExceedsReceived) as caught:
        attrs.evolve(base, other_refunds=(refund("R1", usd("30.01"), None),))
    assert caught.value.order_id == "SO-1"
    assert caught.value.amount == Decimal("30.01")
    assert str(caught.value) == "order SO-1: refunded 30.01 USD exceeds received 30.00 USD (V3)"


# -- derived ----------------------------------------------------------------------------------
def test_order_amounts_sum_their_lines_and_other_refunds() -> None:
    """received, captured, refunded, authorized and paid (S1) add the lines' amounts."""
    paid = paid_order().with_other_refund(refund("U1", usd("5.00"), None))
    assert paid.received == usd("80.00")
    assert paid.captured == usd("60.00")
    assert paid.authorized == usd("40.00")
    assert paid.refunded == usd("15.00")
    assert paid.paid == usd("105.00")  # 60 + 40 - 10 + 20 - 5
    assert paid.balance_due == usd("-5.00")


def test_status_follows_cancellation_holds_completion_then_invoices() -> None:
    """Cancelled beats on hold, which beats pending completion, which beats invoiced."""
    base = order("100.00", cash_line("100.00").posted())
    assert base.status is OrderStatus.APPROVED
    invoiced = base.with_invoice(invoice("INV-1", "99.99"))
    assert invoiced.status is OrderStatus.PARTIALLY_INVOICED
    full = invoiced.with_invoice(invoice("INV-2", "0.01"))
    assert full.status is OrderStatus.INVOICED
    pending = full.pending_completion()
    assert pending.status is OrderStatus.PENDING_COMPLETION
    assert not pending.approved
    held = pending.with_hold(hold())
    assert held.status is OrderStatus.ON_HOLD
    assert not held.approved
    cancelled = attrs.evolve(held, cancelled=True)
    assert cancelled.status is OrderStatus.CANCELLED
    assert not cancelled.approved
    assert pending.submitted().status is OrderStatus.INVOICED
    assert pending.submitted().approved


def test_an_order_of_zero_with_an_invoice_is_invoiced() -> None:
    """Invoices that reach the total make the order invoiced, even beyond a lowered total."""
    over = attrs.evolve(order("0.00"), invoices=(invoice("INV-1", "5.00"),))
    assert over.status is OrderStatus.INVOICED


def test_a_line_is_found_by_its_id() -> None:
    """line() returns the line with that id, or raises LineNotFound naming it."""
    paid = paid_order()
    assert paid.line("P1").amount == usd("20.00")
    assert paid.line("L1").captured == usd("60.00")
    with pytest.raises(LineNotFound) as caught:
        paid.line("L9")
    assert caught.value.line_id == "L9"
    assert str(caught.value) == "no payment line 'L9'"


def test_hold_lapses_only_at_or_after_its_end() -> None:
    """A hold without end never lapses; one with an end lapses from that moment on."""
    assert not hold().lapsed(AT + timedelta(days=999))
    timed = attrs.evolve(hold(HoldCode.CHECK), until=AT + timedelta(days=3))
    assert not timed.lapsed(AT + timedelta(days=3) - timedelta(microseconds=1))
    assert timed.lapsed(AT + timedelta(days=3))
    assert timed.lapsed(AT + timedelta(days=4))


@pytest.mark.parametrize(
    ("channel", "ocop_on", "by_user", "expected"),
    [
        (Channel.CALL_CENTER, True, True, PaymentsType.CALL_CENTER),
        (Channel.CALL_CENTER, False, True, PaymentsType.CALL_CENTER),
        (Channel.CALL_CENTER, True, False, PaymentsType.NONE),
        (Channel.POS, True, True, PaymentsType.COMMERCE),
        (Channel.ECOMMERCE, True, False, PaymentsType.COMMERCE),
        (Channel.POS, False, True, PaymentsType.LEGACY),
        (Channel.ECOMMERCE, False, False, PaymentsType.LEGACY),
    ],
)
def test_the_payments_type_is_fixed_by_channel_switch_and_user(
    channel: Channel, ocop_on: bool, by_user: bool, expected: PaymentsType
) -> None:
    """P2: call center orders by call center users, other channels by the OCOP switch."""
    made = PaymentsType.at_creation(channel, ocop_on=ocop_on, by_call_center_user=by_user)
    assert made is expected


def test_a_call_center_order_defaults_to_a_call_center_user() -> None:
    """Without saying who created it, a call center order is of type call center."""
    assert PaymentsType.at_creation(Channel.CALL_CENTER, ocop_on=False) is PaymentsType.CALL_CENTER


def test_enum_values_are_the_stored_names() -> None:
    """Channels, payments types, statuses and hold codes keep their stored names."""
    assert [c.value for c in Channel] == ["call_center", "pos", "ecommerce"]
    assert [p.value for p in PaymentsType] == ["call_center", "commerce", "legacy", "none"]
    assert [s.value for s in OrderStatus] == [
        "pending_completion",
        "approved",
        "on_hold",
        "partially_invoiced",
        "invoiced",
        "cancelled",
    ]
    assert [h.value for h in HoldCode] == [
        "out_of_balance",
        "payment_declined",
        "check",
        "credit_limit",
        "authorization_expired",
        "manual",
    ]


# -- changes ----------------------------------------------------------------------------------
def test_with_line_replaces_in_place_or_appends() -> None:
    """A known line id is replaced where it stands; a new one goes last."""
    base = order("100.00", card_line("40.00", "L1"), card_line("60.00", "L2"))
    replaced = base.with_line(card_line("45.00", "L1"))
    assert [(x.line_id, x.amount) for x in replaced.lines] == [
        ("L1", usd("45.00")),
        ("L2", usd("60.00")),
    ]
    added = base.with_line(cash_line("5.00", "P1"))
    assert [x.line_id for x in added.lines] == ["L1", "L2", "P1"]


def test_a_cancelled_order_still_takes_line_changes() -> None:
    """Money still moves on a cancelled order: with_line is allowed."""
    cancelled = order("100.00", authorized_line()).cancel()
    settled = cancelled.with_line(cancelled.line("L1").voided_auth("A1"))
    assert settled.line("L1").authorized.is_zero()
    assert settled.cancelled


def test_a_new_total_needs_completion_again() -> None:
    """S3: with_total sets the total and marks the order for completion."""
    edited = order("100.00").with_total(usd("120.00"))
    assert edited.total == usd("120.00")
    assert edited.needs_completion
    assert edited.status is OrderStatus.PENDING_COMPLETION


def test_a_total_may_drop_to_what_is_invoiced_but_not_below() -> None:
    """The total can equal the invoiced amount; one cent less is refused with the new total."""
    invoiced = order("100.00").with_invoice(invoice("INV-1", "60.00"))
    assert invoiced.with_total(usd("60.00")).total == usd("60.00")
    with pytest.raises(IllegalTransition) as caught:
        invoiced.with_total(usd("59.99"))
    assert str(caught.value) == "order SO-1: total below what is already invoiced"
    assert (caught.value.order_id, caught.value.amount) == ("SO-1", Decimal("59.99"))


@pytest.mark.parametrize(
    "change",
    [
        lambda o: o.with_total(usd("10.00")),
        lambda o: o.with_invoice(invoice("INV-1", "1.00")),
        lambda o: o.cancel(),
    ],
)
def test_a_cancelled_order_refuses_edits_invoices_and_a_second_cancel(change: object) -> None:
    """Once cancelled, an order's total, invoices and cancellation are final."""
    assert callable(change)
    cancelled = order("100.00").cancel()
    with pytest.raises(IllegalTransition) as caught:
        change(cancelled)
    assert str(caught.value) == "order SO-1 is cancelled"
    assert caught.value.order_id == "SO-1"
    assert caught.value.amount is None


def test_cancel_marks_the_order_cancelled() -> None:
    """cancel() makes a new, cancelled order and leaves the old one open."""
    open_order = order("100.00")
    assert open_order.cancel().status is OrderStatus.CANCELLED
    assert not open_order.cancelled


def test_a_hold_code_is_held_once() -> None:
    """Adding a hold whose code is already held changes nothing."""
    held = order().with_hold(hold(HoldCode.MANUAL))
    again = held.with_hold(attrs.evolve(hold(HoldCode.MANUAL), reason="another reason"))
    assert again is held
    both = held.with_hold(hold(HoldCode.CHECK))
    assert [h.code for h in both.holds] == [HoldCode.MANUAL, HoldCode.CHECK]
    assert both.has_hold(HoldCode.CHECK)
    assert not both.has_hold(HoldCode.CREDIT_LIMIT)


def test_releasing_a_hold_removes_only_its_code() -> None:
    """without_hold drops the named code and keeps the others."""
    both = order().with_hold(hold(HoldCode.MANUAL)).with_hold(hold(HoldCode.CHECK))
    released = both.without_hold(HoldCode.MANUAL)
    assert [h.code for h in released.holds] == [HoldCode.CHECK]


def test_releasing_a_hold_that_is_not_there_is_refused() -> None:
    """without_hold of a code not held raises, naming the order."""
    with pytest.raises(IllegalTransition) as caught:
        order().with_hold(hold(HoldCode.CHECK)).without_hold(HoldCode.MANUAL)
    assert str(caught.value) == "order SO-1 has no manual hold"
    assert caught.value.order_id == "SO-1"


def test_with_holds_replaces_every_hold() -> None:
    """with_holds sets exactly the given holds, none at all included."""
    held = order().with_hold(hold(HoldCode.MANUAL))
    assert [h.code for h in held.with_holds([hold(HoldCode.CHECK)]).holds] == [HoldCode.CHECK]
    assert held.with_holds([]).holds == ()


def test_an_invoice_may_reach_the_total_exactly() -> None:
    """I1: invoices up to the total are recorded in order; one cent beyond is refused."""
    first = order("100.00").with_invoice(invoice("INV-1", "70.00"))
    with pytest.raises(IllegalTransition) as caught:
        first.with_invoice(invoice("INV-2", "30.01"))
    assert str(caught.value) == "order SO-1: invoice beyond the order total (I1)"
    assert (caught.value.order_id, caught.value.amount) == ("SO-1", Decimal("30.01"))
    full = first.with_invoice(invoice("INV-2", "30.00"))
    assert [i.invoice_id for i in full.invoices] == ["INV-1", "INV-2"]
    assert full.invoiced == usd("100.00")


def test_an_invoice_is_recorded_once() -> None:
    """The same invoice id twice is refused."""
    first = order("100.00").with_invoice(invoice("INV-1", "10.00"))
    with pytest.raises(IllegalTransition) as caught:
        first.with_invoice(invoice("INV-1", "10.00"))
    assert str(caught.value) == "invoice INV-1 already recorded"
    assert caught.value.order_id == "SO-1"


def test_other_refunds_reach_what_was_received_but_not_beyond() -> None:
    """V3: other refunds count line refunds; exactly the rest passes, one cent more does not."""
    paid = paid_order()  # received 80.00, refunded 10.00 on L1
    with pytest.raises(RefundExceedsReceived) as caught:
        paid.with_other_refund(refund("U1", usd("70.01"), None))
    assert (caught.value.order_id, caught.value.amount) == ("SO-1", Decimal("70.01"))
    assert str(caught.value) == (
        "order SO-1: refunding 70.01 USD exceeds the 70.00 USD received and not yet refunded (V3)"
    )
    done = paid.with_other_refund(refund("U1", usd("70.00"), None))
    assert done.refunded == done.received == usd("80.00")
    assert [r.refund_id for r in done.other_refunds] == ["U1"]


def test_an_other_refund_is_recorded_once_and_in_the_order_currency() -> None:
    """A repeated refund id is refused; so is a refund in another currency."""
    once = paid_order().with_other_refund(refund("U1", usd("1.00"), None))
    with pytest.raises(IllegalTransition) as caught:
        once.with_other_refund(refund("U1", usd("1.00"), None))
    assert str(caught.value) == "refund U1 already recorded"
    assert caught.value.order_id == "SO-1"
    with pytest.raises(InvalidInput) as error:
        once.with_other_refund(refund("U2", eur("1.00"), None))
    assert str(error.value) == "a refund in EUR on an order in USD"


def test_an_other_refund_is_allowed_on_a_cancelled_order() -> None:
    """Refunds still go out after a cancellation."""
    cancelled = paid_order().cancel()
    assert cancelled.with_other_refund(refund("U1", usd("1.00"), None)).refunded == usd("11.00")


def test_completion_flags_and_versions() -> None:
    """pending_completion and submitted toggle completion; next_version counts up by one."""
    base = order()
    assert base.pending_completion().needs_completion is True
    assert base.pending_completion().submitted().needs_completion is False
    assert base.next_version().version == 1
    assert base.next_version().next_version().version == 2


@given(st.lists(st.integers(min_value=1, max_value=5_000), max_size=6))
def test_invoices_are_recorded_while_they_fit_the_total(parts: list[int]) -> None:
    """Every invoice that fits the rest of the total is recorded; the others are refused."""
    current = order("100.00")
    for n, part in enumerate(parts):
        amount = Money.from_minor(part, "USD")
        fits = current.invoiced + amount <= current.total
        if fits:
            current = current.with_invoice(
                Invoice(invoice_id=f"INV-{n}", amount=amount, invoiced_at=AT)
            )
        else:
            with pytest.raises(IllegalTransition) as caught:
                current.with_invoice(Invoice(invoice_id=f"INV-{n}", amount=amount, invoiced_at=AT))
            assert caught.value.amount == amount.amount
    assert current.invoiced <= current.total
    expected = OrderStatus.APPROVED
    if current.invoices:
        expected = (
            OrderStatus.INVOICED
            if current.invoiced == current.total
            else OrderStatus.PARTIALLY_INVOICED
        )
    assert current.status is expected


def test_zero_helpers_agree() -> None:
    """An order without lines has received, captured, refunded and authorized nothing."""
    empty = order("10.00")
    assert (empty.received, empty.captured, empty.refunded, empty.authorized, empty.paid) == (
        zero(),
        zero(),
        zero(),
        zero(),
        zero(),
    )
    assert empty.invoiced == zero()


def test_an_order_built_with_a_line_in_another_currency_is_refused() -> None:
    """V7 holds however an order is built: one made with a euro line among its lines (not
    through with_line) is refused, naming the line."""
    euro_line = cash_line().with_amount(eur("5.00"))
    with pytest.raises(InvalidInput) as caught:
        attrs.evolve(order("10.00", card_line()), lines=(card_line(), euro_line))
    assert str(caught.value) == "line P1 is not in the order's currency (V7)"
