"""Payment lines, method by method: exact amounts, derived statuses and refusals (V1, V2, V3).

Each refusal is checked for its class, its message and its attributes (``line_id``,
``amount``), since callers read them. The boundaries are checked on both sides: equal
amounts pass, one cent more is refused.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest

from ocop import (
    Authorization,
    AuthorizationToken,
    Capture,
    CurrencyMismatch,
    IllegalTransition,
    InvalidInput,
    LineStatus,
    PaymentLine,
    PaymentMethod,
    Refund,
)
from ocop.domain import line_auths, steps
from ocop.domain.tender import INACTIVE

from .builders import (
    AT,
    CARD,
    auth,
    authorized_line,
    capture,
    card_line,
    cash_line,
    eur,
    refund,
    usd,
    zero,
)


def refused(
    err: IllegalTransition, message: str, *, line_id: str = "L1", amount: str | None = None
) -> None:
    """Assert an IllegalTransition's message and structured attributes."""
    assert str(err) == message
    assert err.line_id == line_id
    assert err.amount == (None if amount is None else Decimal(amount))
    assert err.order_id is None


def posted_cash(amount: str = "50.00") -> PaymentLine:
    """A cash line of ``amount`` dollars, received and posted."""
    return cash_line(amount).posted()


# -- values and validators -----------------------------------------------------------------
def test_status_and_method_values_are_the_stored_names() -> None:
    """Statuses and methods keep the names stores and reports use."""
    assert [s.value for s in LineStatus] == [
        "not_submitted",
        "pending_authorization",
        "authorized",
        "declined",
        "partially_paid",
        "paid",
        "voided",
        "refunded",
    ]
    assert [m.value for m in PaymentMethod] == [
        "cash",
        "card",
        "customer_account",
        "currency",
        "check",
        "loyalty",
        "credit_memo",
        "gift_card",
    ]
    assert PaymentMethod.GIFT_CARD.pos_operation == 214


@pytest.mark.parametrize("status", list(LineStatus))
def test_only_declined_and_voided_lines_are_inactive(status: LineStatus) -> None:
    """A line counts towards the order unless it is declined or voided."""
    line = attrs.evolve(card_line(), status=status)
    inactive = status in (LineStatus.DECLINED, LineStatus.VOIDED)
    assert line.active is not inactive
    assert (status in INACTIVE) is inactive


@pytest.mark.parametrize("amount", [Decimal("10.00"), usd("0.00"), usd("-0.01")])
def test_a_line_amount_must_be_positive_money(amount: object) -> None:
    """A line of zero, a negative amount or a bare number is refused."""
    with pytest.raises(InvalidInput) as caught:
        PaymentLine.card_line("L1", CARD, amount)  # type: ignore[arg-type]
    assert str(caught.value) == "PaymentLine.amount must be positive money"


def test_one_cent_is_a_valid_line_amount() -> None:
    """The smallest positive amount makes a valid line."""
    assert card_line("0.01").amount == usd("0.01")


def test_a_card_line_needs_a_card_and_a_prepayment_takes_none() -> None:
    """The card token is there exactly when the method is card."""
    message = "a card line needs a card token; other lines take none"
    with pytest.raises(InvalidInput) as caught:
        PaymentLine(line_id="L1", method=PaymentMethod.CARD, amount=usd("5.00"))
    assert str(caught.value) == message
    with pytest.raises(InvalidInput) as caught:
        PaymentLine(line_id="P1", method=PaymentMethod.CASH, amount=usd("5.00"), card=CARD)
    assert str(caught.value) == message


def test_a_card_is_not_a_prepayment() -> None:
    """prepayment_line refuses the card method."""
    with pytest.raises(InvalidInput) as caught:
        PaymentLine.prepayment_line("P1", PaymentMethod.CARD, usd("5.00"))
    assert str(caught.value) == "a card is not a prepayment"


def test_new_lines_start_not_submitted_with_their_details() -> None:
    """Both constructors give a fresh line with nothing recorded."""
    card = PaymentLine.card_line("L1", CARD, usd("20.00"), instrument_id="I-1")
    check = PaymentLine.prepayment_line(
        "P1", PaymentMethod.CHECK, usd("30.00"), check_number="1234"
    )
    assert (card.status, card.card, card.instrument_id, card.method) == (
        LineStatus.NOT_SUBMITTED,
        CARD,
        "I-1",
        PaymentMethod.CARD,
    )
    assert (check.status, check.card, check.check_number, check.method) == (
        LineStatus.NOT_SUBMITTED,
        None,
        "1234",
        PaymentMethod.CHECK,
    )
    for line in (card, check):
        assert line.authorizations == ()
        assert line.captures == ()
        assert line.refunds == ()
        assert not line.pending_removal
        assert not line.needs_tokenize
        assert line.currency == "USD"
    assert card.is_card
    assert not card.is_prepayment
    assert check.is_prepayment
    assert not check.is_card


def test_a_new_authorization_is_unused() -> None:
    """Authorization.new records nothing captured or voided, and no card value by default."""
    made = Authorization.new(
        "A1", AuthorizationToken("tok_a", "sim", "sa-1"), usd("25.00"), at=AT, multi_capture=True
    )
    assert (made.captured, made.voided, made.open_amount) == (zero(), zero(), usd("25.00"))
    assert made.card_value == ""
    assert made.multi_capture
    assert made.authorized_at == AT
    with_card = Authorization.new(
        "A2", AuthorizationToken("tok_b", "sim", "sa-1"), usd("5.00"), at=AT,
        multi_capture=False, card_value="tok_1",
    )  # fmt: skip
    assert with_card.card_value == "tok_1"
    assert not with_card.multi_capture


def test_the_open_amount_is_what_is_neither_captured_nor_voided() -> None:
    """open = authorized - captured - voided."""
    partly = auth("A1", usd("100.00"), captured=usd("30.00"), voided=usd("20.00"))
    assert partly.open_amount == usd("50.00")


def test_an_authorization_may_be_used_exactly_up_to_its_amount() -> None:
    """V1 at its edge: captured + voided equal to the amount is valid."""
    used = auth("A1", usd("100.00"), captured=usd("60.00"), voided=usd("40.00"))
    assert used.open_amount.is_zero()


@pytest.mark.parametrize(("captured", "voided"), [("60.01", "40.00"), ("0.00", "100.01")])
def test_an_authorization_used_beyond_its_amount_is_refused(captured: str, voided: str) -> None:
    """V1: captured + voided above the authorized amount raises, naming the authorization."""
    with pytest.raises(IllegalTransition) as caught:
        auth("A1", usd("100.00"), captured=usd(captured), voided=usd(voided))
    assert str(caught.value) == "authorization A1: captured + voided exceeds authorized (V1)"
    assert caught.value.context == {"auth_id": "A1"}
    assert caught.value.line_id is None


@pytest.mark.parametrize("field", ["captured", "voided"])
@pytest.mark.parametrize("value", [usd("-0.01"), Decimal(0)])
def test_authorization_counters_are_not_negative(field: str, value: object) -> None:
    """Captured and voided may be zero, never negative nor a bare number."""
    changes: dict[str, Any] = {field: value}
    with pytest.raises(InvalidInput) as caught:
        attrs.evolve(auth("A1", usd("10.00")), **changes)
    assert str(caught.value) == f"Authorization.{field} must not be negative"


def test_an_authorization_amount_is_positive() -> None:
    """An authorization of zero is refused."""
    with pytest.raises(InvalidInput) as caught:
        auth("A1", zero())
    assert str(caught.value) == "Authorization.amount must be positive money"


def test_a_capture_may_be_refunded_exactly_in_full() -> None:
    """V2 at its edge: refunded equal to the captured amount is valid."""
    full = attrs.evolve(capture("C1", usd("40.00")), refunded=usd("40.00"))
    assert full.refundable.is_zero()
    half = attrs.evolve(capture("C1", usd("40.00")), refunded=usd("15.00"))
    assert half.refundable == usd("25.00")


def test_a_capture_refunded_beyond_its_amount_is_refused() -> None:
    """V2: a capture whose refunds exceed it raises, naming the capture."""
    with pytest.raises(IllegalTransition) as caught:
        attrs.evolve(capture("C1", usd("40.00")), refunded=usd("40.01"))
    assert str(caught.value) == "capture C1: refunded exceeds captured (V2)"
    assert caught.value.context == {"capture_id": "C1"}


def test_capture_and_refund_amounts_are_positive_and_refunds_not_negative() -> None:
    """A capture or refund of zero, or a negative refunded counter, is refused."""
    with pytest.raises(InvalidInput) as caught:
        capture("C1", zero())
    assert str(caught.value) == "Capture.amount must be positive money"
    with pytest.raises(InvalidInput) as caught:
        attrs.evolve(capture("C1", usd("1.00")), refunded=usd("-0.01"))
    assert str(caught.value) == "Capture.refunded must not be negative"
    with pytest.raises(InvalidInput) as caught:
        refund("R1", zero())
    assert str(caught.value) == "Refund.amount must be positive money"


def test_records_default_to_unlinked_untokened_card_refunds() -> None:
    """A capture names no authorization or token unless told; a refund goes back to the card."""
    bare = Capture(
        capture_id="X1", line_id="P1", invoice_id="INV-1", amount=usd("1.00"),
        refunded=zero(), captured_at=AT,
    )  # fmt: skip
    assert (bare.auth_id, bare.token) == (None, None)
    back = Refund(refund_id="R1", return_id="RMA-1", amount=usd("1.00"), refunded_at=AT)
    assert (back.capture_id, back.token, back.method) == (None, None, "card")


# -- derived amounts -----------------------------------------------------------------------
def test_card_line_amounts_follow_its_records() -> None:
    """Open money is authorized, captures are received; paid adds the open and nets refunds."""
    line = authorized_line("100.00")
    line = line.captured_with(capture("C1", usd("40.00")))
    line = line.captured_with(capture("C2", usd("25.00")))
    line = line.refunded_with(refund("R1", usd("10.00"), "C1"))
    assert line.authorized == usd("35.00")
    assert line.captured == usd("65.00")
    assert line.received == usd("65.00")
    assert line.invoiced == usd("65.00")
    assert line.refunded == usd("10.00")
    assert line.paid == usd("90.00")
    assert line.capturable == usd("35.00")
    assert line.status is LineStatus.PARTIALLY_PAID


def test_an_inactive_line_counts_only_money_received_net_of_refunds() -> None:
    """S1: an inactive line's open authorization does not count as paid."""
    taken = attrs.evolve(capture("C1", usd("40.00")), refunded=usd("10.00"))
    line = attrs.evolve(
        card_line(),
        status=LineStatus.DECLINED,
        authorizations=(auth("A1", usd("70.00"), captured=usd("40.00")),),
        captures=(taken,),
        refunds=(refund("R1", usd("10.00")),),
    )
    assert line.authorized == usd("30.00")
    assert line.paid == usd("30.00")
    assert attrs.evolve(line, status=LineStatus.PARTIALLY_PAID).paid == usd("60.00")


def test_a_prepayment_receives_its_amount_only_once_posted() -> None:
    """Before posting a prepayment holds nothing; posted, it holds its whole amount."""
    waiting = cash_line("50.00")
    assert (waiting.received, waiting.paid, waiting.capturable) == (zero(), zero(), zero())
    posted = waiting.posted()
    assert posted.status is LineStatus.PAID
    assert (posted.received, posted.paid, posted.capturable) == (
        usd("50.00"),
        usd("50.00"),
        usd("50.00"),
    )


def test_applying_a_prepayment_invoices_it_without_capturing() -> None:
    """An applied prepayment is invoiced but never captured; what is left stays capturable."""
    line = posted_cash("50.00").applied(capture("X1", usd("30.00"), None, line_id="P1"))
    assert line.captured == zero()
    assert line.invoiced == usd("30.00")
    assert line.capturable == usd("20.00")
    assert line.received == usd("50.00")
    assert line.status is LineStatus.PAID
    line = line.refunded_with(refund("R1", usd("5.00"), None))
    assert line.capturable == usd("15.00")
    assert line.paid == usd("45.00")


def test_a_prepayment_capturable_never_goes_below_zero() -> None:
    """Applied and refunded beyond its amount together, a prepayment can give nothing more."""
    line = posted_cash("50.00").applied(capture("X1", usd("30.00"), None, line_id="P1"))
    line = line.refunded_with(refund("R1", usd("30.00"), None))
    assert line.capturable == zero()
    assert line.status is LineStatus.PAID


def test_a_fully_refunded_prepayment_is_refunded_and_gives_nothing() -> None:
    """Refunding a posted prepayment in full leaves it refunded, received, and paying nothing."""
    line = posted_cash("50.00").refunded_with(refund("R1", usd("50.00"), None))
    assert line.status is LineStatus.REFUNDED
    assert line.received == usd("50.00")
    assert (line.paid, line.capturable) == (zero(), zero())
    assert line.posted() is line


def test_lookups_find_records_or_name_what_is_missing() -> None:
    """authorization() and capture() return the record with that id, or raise naming it."""
    line = authorized_line().captured_with(capture("C1", usd("10.00")))
    assert line.authorization("A1").amount == usd("100.00")
    assert line.capture("C1").amount == usd("10.00")
    with pytest.raises(IllegalTransition) as caught:
        line.authorization("A9")
    assert str(caught.value) == "line L1 has no authorization A9"
    with pytest.raises(IllegalTransition) as caught:
        line.capture("C9")
    assert str(caught.value) == "line L1 has no capture C9"


def test_open_authorizations_skip_closed_ones_in_order() -> None:
    """Only authorizations with money still open are listed, oldest first."""
    line = card_line("300.00").authorized_with(auth("A1", usd("100.00")))
    line = line.authorized_with(auth("A2", usd("100.00")))
    line = line.authorized_with(auth("A3", usd("100.00")))
    line = line.captured_with(capture("C1", usd("100.00"), "A2"))
    assert [a.auth_id for a in line.open_authorizations()] == ["A1", "A3"]
    line = line.captured_with(capture("C2", usd("99.99"), "A1"))
    assert [a.auth_id for a in line.open_authorizations()] == ["A1", "A3"]
    assert line.authorization("A1").open_amount == usd("0.01")


# -- begin_authorization, authorized_with, declined, not_pending, resubmittable ------------
def test_beginning_authorization_marks_a_waiting_line_pending() -> None:
    """Only a line not submitted or already pending becomes pending; others stay as they are."""
    pending = card_line().begin_authorization()
    assert pending.status is LineStatus.PENDING_AUTHORIZATION
    assert pending.begin_authorization().status is LineStatus.PENDING_AUTHORIZATION
    authorized = authorized_line()
    assert authorized.begin_authorization() is authorized
    declined = card_line().declined()
    assert declined.begin_authorization() is declined


@pytest.mark.parametrize(
    ("verb", "step"),
    [
        ("authorize", lambda line: line.begin_authorization()),
        ("authorize", lambda line: line.authorized_with(auth("A1", usd("5.00")))),
        ("decline", lambda line: line.declined()),
        ("adjust", lambda line: line.adjusted("A1", usd("5.00"))),
        ("void", lambda line: line.voided_auth("A1")),
        ("capture", lambda line: line.captured_with(capture("C1", usd("5.00")))),
    ],
)
def test_card_transitions_refuse_a_prepayment(verb: str, step: object) -> None:
    """A prepayment line cannot be authorized, declined, adjusted, voided or captured."""
    assert callable(step)
    with pytest.raises(IllegalTransition) as caught:
        step(cash_line())
    refused(caught.value, f"line P1 (not_submitted): cannot {verb} a cash line", line_id="P1")


def test_an_authorization_makes_a_pending_line_authorized() -> None:
    """authorized_with records the authorization and derives AUTHORIZED."""
    line = card_line().begin_authorization().authorized_with(auth("A1", usd("100.00")))
    assert line.status is LineStatus.AUTHORIZED
    assert [a.auth_id for a in line.authorizations] == ["A1"]
    assert line.authorized == usd("100.00")


def test_a_refunded_line_short_of_its_amount_is_authorized_again() -> None:
    """A line whose single capture was refunded whole takes a new authorization for the rest."""
    line = authorized_line("100.00", auth_amount="100.00", multi=False)
    line = line.captured_with(capture("C1", usd("40.00")))
    line = line.refunded_with(
        Refund(
            refund_id="R1", return_id="RMA-1", amount=usd("40.00"), capture_id="C1", refunded_at=AT
        )
    )
    assert line.status is LineStatus.REFUNDED
    line = line.authorized_with(auth("A2", usd("60.00")))
    assert line.authorized == usd("60.00")
    assert line.status is LineStatus.PARTIALLY_PAID


def test_a_further_authorization_adds_to_what_is_open() -> None:
    """A second authorization of a partly captured line keeps it partially paid."""
    line = authorized_line("100.00", auth_amount="60.00", multi=False)
    line = line.captured_with(capture("C1", usd("60.00")))
    line = line.authorized_with(auth("A2", usd("40.00")))
    assert [a.auth_id for a in line.authorizations] == ["A1", "A2"]
    assert line.authorized == usd("40.00")
    assert line.status is LineStatus.PARTIALLY_PAID


@pytest.mark.parametrize("status", [LineStatus.DECLINED, LineStatus.VOIDED])
def test_declined_or_voided_lines_are_not_authorized(status: LineStatus) -> None:
    """An authorization of an inactive line is refused, with its amount."""
    line = attrs.evolve(card_line(), status=status)
    with pytest.raises(IllegalTransition) as caught:
        line.authorized_with(auth("A1", usd("12.34")))
    refused(caught.value, f"line L1 ({status}): cannot authorize", amount="12.34")


def test_an_authorization_is_recorded_once() -> None:
    """The same authorization id twice is refused."""
    with pytest.raises(IllegalTransition) as caught:
        authorized_line().authorized_with(auth("A1", usd("5.00")))
    refused(caught.value, "line L1 (authorized): authorization A1 already recorded")


def test_an_authorization_in_another_currency_is_refused() -> None:
    """V7: an authorization in euros on a dollar line is refused."""
    with pytest.raises(IllegalTransition) as caught:
        card_line().authorized_with(auth("A1", eur("5.00")))
    refused(caught.value, "line L1 (not_submitted): authorization in another currency")


@pytest.mark.parametrize(("captured", "voided"), [("0.01", "0.00"), ("0.00", "0.01")])
def test_a_new_authorization_starts_unused(captured: str, voided: str) -> None:
    """An authorization already captured or voided cannot be recorded as new."""
    used = auth("A1", usd("5.00"), captured=usd(captured), voided=usd(voided))
    with pytest.raises(IllegalTransition) as caught:
        card_line().authorized_with(used)
    refused(caught.value, "line L1 (not_submitted): a new authorization starts unused")


def test_declining_retires_a_line_with_nothing_open_or_captured() -> None:
    """A decline makes the line DECLINED; a saved card not tokenized stays to tokenize (T1:
    its card is used only with a CVV)."""
    line = attrs.evolve(card_line(), needs_tokenize=True).begin_authorization().declined()
    assert line.status is LineStatus.DECLINED
    assert line.needs_tokenize is True
    assert card_line().begin_authorization().declined().needs_tokenize is False
    voided = authorized_line().voided_auth("A1")
    assert voided.declined().status is LineStatus.DECLINED


def test_a_line_with_open_money_is_not_declined() -> None:
    """A decline of a line with an open authorization is refused."""
    with pytest.raises(IllegalTransition) as caught:
        authorized_line().declined()
    refused(
        caught.value,
        "line L1 (authorized): a line with open or captured money cannot be declined",
    )


def test_a_line_with_captured_money_is_not_declined() -> None:
    """A decline of a captured line (nothing open) is refused."""
    line = authorized_line(multi=False).captured_with(capture("C1", usd("10.00")))
    assert line.authorized.is_zero()
    with pytest.raises(IllegalTransition) as caught:
        line.declined()
    refused(
        caught.value,
        "line L1 (partially_paid): a line with open or captured money cannot be declined",
    )


def test_not_pending_returns_only_a_pending_line_to_waiting() -> None:
    """A pending line waits again; any other line is returned as it is."""
    assert card_line().begin_authorization().not_pending().status is LineStatus.NOT_SUBMITTED
    for line in (authorized_line(), card_line().declined(), cash_line(), posted_cash()):
        assert line.not_pending() is line


def test_resubmittable_returns_only_a_declined_line_to_waiting() -> None:
    """A declined line waits for authorization again; any other line is returned as it is."""
    assert card_line().declined().resubmittable().status is LineStatus.NOT_SUBMITTED
    pending = card_line().begin_authorization()
    for line in (authorized_line(), pending, authorized_line().voided_auth("A1")):
        assert line.resubmittable() is line


# -- adjusted ---------------------------------------------------------------------------------
def test_an_adjustment_moves_the_authorized_amount() -> None:
    """C3: an adjustment up or down changes what is open, not the line's target."""
    line = authorized_line("100.00")
    up = line.adjusted("A1", usd("150.00"))
    assert up.authorization("A1").amount == usd("150.00")
    assert up.authorized == usd("150.00")
    assert up.amount == usd("100.00")
    assert up.status is LineStatus.AUTHORIZED
    assert line.adjusted("A1", usd("0.01")).authorized == usd("0.01")


def test_an_adjustment_may_go_down_exactly_to_what_was_used() -> None:
    """The new amount may equal captured + voided, never one cent less."""
    line = attrs.evolve(
        card_line(),
        authorizations=(auth("A1", usd("100.00"), captured=usd("30.00"), voided=usd("20.00")),),
        status=LineStatus.PARTIALLY_PAID,
    )
    assert line.adjusted("A1", usd("50.00")).authorized.is_zero()
    with pytest.raises(IllegalTransition) as caught:
        line.adjusted("A1", usd("49.99"))
    refused(
        caught.value,
        "line L1 (partially_paid): cannot adjust below what was captured",
        amount="49.99",
    )


def test_an_adjustment_to_zero_is_refused() -> None:
    """An authorization is never adjusted to nothing (that is a void)."""
    with pytest.raises(IllegalTransition) as caught:
        authorized_line().adjusted("A1", zero())
    refused(
        caught.value, "line L1 (authorized): cannot adjust below what was captured", amount="0.00"
    )


def test_a_closed_authorization_is_not_adjusted() -> None:
    """An authorization with nothing open is refused, with the asked amount."""
    line = authorized_line(multi=False).captured_with(capture("C1", usd("40.00")))
    with pytest.raises(IllegalTransition) as caught:
        line.adjusted("A1", usd("80.00"))
    refused(caught.value, "line L1 (partially_paid): authorization A1 is closed", amount="80.00")
    with pytest.raises(IllegalTransition) as caught:
        line.adjusted("A9", usd("80.00"))
    assert str(caught.value) == "line L1 has no authorization A9"


# -- voided_auth ------------------------------------------------------------------------------
def test_voiding_releases_what_is_open_and_retires_an_unused_line() -> None:
    """A void releases the open amount; a line left with nothing is VOIDED."""
    line = authorized_line("100.00").voided_auth("A1")
    assert line.authorization("A1").voided == usd("100.00")
    assert line.authorization("A1").open_amount.is_zero()
    assert line.authorized.is_zero()
    assert line.status is LineStatus.VOIDED
    assert line.paid.is_zero()


def test_a_void_making_way_leaves_the_line_waiting() -> None:
    """awaiting_new: a line left with nothing open waits for its next authorization."""
    line = authorized_line().voided_auth("A1", awaiting_new=True)
    assert line.status is LineStatus.NOT_SUBMITTED
    assert line.authorization("A1").voided == usd("100.00")


def test_a_void_of_a_partly_captured_authorization_keeps_the_capture() -> None:
    """Voiding releases only the rest; the line stays partially paid, awaiting or not."""
    line = authorized_line("100.00").captured_with(capture("C1", usd("30.00")))
    for awaiting in (False, True):
        voided = line.voided_auth("A1", awaiting_new=awaiting)
        used = voided.authorization("A1")
        assert (used.captured, used.voided) == (usd("30.00"), usd("70.00"))
        assert voided.status is LineStatus.PARTIALLY_PAID


def test_a_void_leaves_other_open_authorizations_authorized() -> None:
    """With another authorization still open the line stays AUTHORIZED, awaiting or not."""
    line = authorized_line("100.00", auth_amount="60.00").authorized_with(auth("A2", usd("40.00")))
    for awaiting in (False, True):
        voided = line.voided_auth("A1", awaiting_new=awaiting)
        assert voided.status is LineStatus.AUTHORIZED
        assert voided.authorized == usd("40.00")
        assert voided.authorization("A2").voided.is_zero()


def test_a_closed_authorization_is_not_voided_again() -> None:
    """A second void of the same authorization is refused."""
    line = authorized_line().voided_auth("A1")
    with pytest.raises(IllegalTransition) as caught:
        line.voided_auth("A1")
    refused(caught.value, "line L1 (voided): authorization A1 has nothing open to void")


# -- captured_with ----------------------------------------------------------------------------
def test_a_capture_may_take_exactly_what_is_open() -> None:
    """V1 at its edge: capturing the whole open amount passes, one cent more is refused."""
    line = authorized_line("100.00").captured_with(capture("C1", usd("70.00")))
    with pytest.raises(IllegalTransition) as caught:
        line.captured_with(capture("C2", usd("30.01")))
    refused(
        caught.value,
        "line L1 (partially_paid): capture of 30.01 USD exceeds the 30.00 USD open on "
        "authorization A1 (V1)",
        amount="30.01",
    )
    full = line.captured_with(capture("C2", usd("30.00")))
    assert full.status is LineStatus.PAID
    assert full.authorization("A1").captured == usd("100.00")
    assert full.authorization("A1").voided.is_zero()


def test_a_multi_capture_keeps_the_rest_open() -> None:
    """A capture on a multi-capture authorization releases nothing."""
    line = authorized_line("100.00").captured_with(capture("C1", usd("30.00")))
    used = line.authorization("A1")
    assert (used.captured, used.voided, used.open_amount) == (
        usd("30.00"),
        zero(),
        usd("70.00"),
    )
    assert line.captured == usd("30.00")
    assert [c.capture_id for c in line.captures] == ["C1"]


def test_a_full_single_capture_releases_nothing() -> None:
    """A single capture of the whole authorization leaves nothing to release."""
    line = authorized_line("100.00", multi=False).captured_with(capture("C1", usd("100.00")))
    assert line.authorization("A1").voided.is_zero()
    assert line.status is LineStatus.PAID


def test_capturing_more_than_the_target_leaves_the_line_paid() -> None:
    """A line captured beyond its target amount is PAID."""
    line = authorized_line("50.00", auth_amount="80.00").captured_with(capture("C1", usd("60.00")))
    assert line.status is LineStatus.PAID
    assert line.authorized == usd("20.00")


def test_a_capture_one_cent_short_of_the_target_is_partial() -> None:
    """A line captured one cent short of its amount is PARTIALLY_PAID."""
    line = authorized_line("100.00").captured_with(capture("C1", usd("99.99")))
    assert line.status is LineStatus.PARTIALLY_PAID


def test_a_card_capture_names_its_line_and_authorization() -> None:
    """A capture without an authorization, or of another line, is refused."""
    line = authorized_line()
    message = "line L1 (authorized): a card capture names its line and authorization"
    with pytest.raises(IllegalTransition) as caught:
        line.captured_with(capture("C1", usd("5.00"), None))
    refused(caught.value, message)
    with pytest.raises(IllegalTransition) as caught:
        line.captured_with(capture("C1", usd("5.00"), line_id="L2"))
    refused(caught.value, message)


def test_a_capture_is_recorded_once_and_on_a_known_authorization() -> None:
    """The same capture id twice, or an unknown authorization, is refused."""
    line = authorized_line().captured_with(capture("C1", usd("5.00")))
    with pytest.raises(IllegalTransition) as caught:
        line.captured_with(capture("C1", usd("5.00")))
    refused(caught.value, "line L1 (partially_paid): capture C1 already recorded")
    with pytest.raises(IllegalTransition) as caught:
        line.captured_with(capture("C2", usd("5.00"), "A9"))
    assert str(caught.value) == "line L1 has no authorization A9"


# -- posted, applied --------------------------------------------------------------------------
def test_a_card_line_is_never_posted() -> None:
    """Posting is for prepayments."""
    with pytest.raises(IllegalTransition) as caught:
        card_line().posted()
    refused(caught.value, "line L1 (not_submitted): only a prepayment is posted")


def test_a_removed_prepayment_cannot_be_posted() -> None:
    """A prepayment taken off before submit is never posted."""
    with pytest.raises(IllegalTransition) as caught:
        cash_line().removed().posted()
    refused(caught.value, "line P1 (voided): cannot post", line_id="P1")


def test_posting_is_idempotent() -> None:
    """Posting a posted prepayment returns it unchanged."""
    line = posted_cash()
    assert line.posted() is line


def test_only_a_prepayment_is_applied_and_without_authorization() -> None:
    """A card line, or an application naming an authorization, is refused."""
    message = "only a prepayment is applied without authorization"
    with pytest.raises(IllegalTransition) as caught:
        authorized_line().applied(capture("X1", usd("5.00"), None))
    refused(caught.value, f"line L1 (authorized): {message}")
    with pytest.raises(IllegalTransition) as caught:
        posted_cash().applied(capture("X1", usd("5.00"), "A1", line_id="P1"))
    refused(caught.value, f"line P1 (paid): {message}", line_id="P1")


def test_a_prepayment_applies_exactly_what_it_holds() -> None:
    """An application up to what is capturable passes, one cent more is refused."""
    line = posted_cash("50.00").applied(capture("X1", usd("30.00"), None, line_id="P1"))
    with pytest.raises(IllegalTransition) as caught:
        line.applied(capture("X2", usd("20.01"), None, line_id="P1"))
    refused(
        caught.value,
        "line P1 (paid): applied beyond what the prepayment holds",
        line_id="P1",
        amount="20.01",
    )
    full = line.applied(capture("X2", usd("20.00"), None, line_id="P1"))
    assert full.capturable.is_zero()
    assert [c.capture_id for c in full.captures] == ["X1", "X2"]


# -- refunded_with ----------------------------------------------------------------------------
def test_a_prepayment_refund_is_limited_to_what_was_received_and_not_refunded() -> None:
    """V3 on a prepayment: later refunds count the earlier ones."""
    line = posted_cash("50.00").refunded_with(refund("R1", usd("20.00"), None))
    assert line.status is LineStatus.PAID
    assert line.refunded == usd("20.00")
    with pytest.raises(IllegalTransition) as caught:
        line.refunded_with(refund("R2", usd("30.01"), None))
    refused(
        caught.value,
        "line P1 (paid): refund exceeds what was received (V3)",
        line_id="P1",
        amount="30.01",
    )
    line = line.refunded_with(refund("R2", usd("30.00"), None))
    assert line.status is LineStatus.REFUNDED
    assert line.refunded == usd("50.00")


def test_an_unposted_prepayment_refunds_nothing() -> None:
    """A prepayment not posted has received nothing to refund."""
    with pytest.raises(IllegalTransition) as caught:
        cash_line().refunded_with(refund("R1", usd("0.01"), None))
    refused(
        caught.value,
        "line P1 (not_submitted): refund exceeds what was received (V3)",
        line_id="P1",
        amount="0.01",
    )


def test_a_refund_is_recorded_once() -> None:
    """The same refund id twice is refused, on a prepayment and on a card line."""
    cash = posted_cash().refunded_with(refund("R1", usd("1.00"), None))
    with pytest.raises(IllegalTransition) as caught:
        cash.refunded_with(refund("R1", usd("1.00"), None))
    refused(caught.value, "line P1 (paid): refund R1 already recorded", line_id="P1")
    card = authorized_line().captured_with(capture("C1", usd("10.00")))
    card = card.refunded_with(refund("R1", usd("1.00")))
    with pytest.raises(IllegalTransition) as caught:
        card.refunded_with(refund("R1", usd("1.00")))
    refused(caught.value, "line L1 (partially_paid): refund R1 already recorded")


def test_a_card_refund_names_a_known_capture() -> None:
    """A card refund without a capture, or of an unknown capture, is refused."""
    line = authorized_line().captured_with(capture("C1", usd("10.00")))
    with pytest.raises(IllegalTransition) as caught:
        line.refunded_with(refund("R1", usd("1.00"), None))
    refused(caught.value, "line L1 (partially_paid): a card line's refund names its capture")
    with pytest.raises(IllegalTransition) as caught:
        line.refunded_with(refund("R1", usd("1.00"), "C9"))
    assert str(caught.value) == "line L1 has no capture C9"


def test_a_card_refund_is_limited_to_its_capture() -> None:
    """V2: a refund above what its capture still holds is refused; exactly that much passes."""
    line = authorized_line("100.00").captured_with(capture("C1", usd("60.00")))
    line = line.captured_with(capture("C2", usd("40.00")))
    line = line.refunded_with(refund("R1", usd("25.00"), "C1"))
    with pytest.raises(IllegalTransition) as caught:
        line.refunded_with(refund("R2", usd("35.01"), "C1"))
    refused(
        caught.value,
        "line L1 (paid): refund of 35.01 USD exceeds the 35.00 USD refundable on capture C1 (V2)",
        amount="35.01",
    )
    line = line.refunded_with(refund("R2", usd("35.00"), "C1"))
    assert line.capture("C1").refunded == usd("60.00")
    assert line.capture("C2").refunded.is_zero()
    assert [r.refund_id for r in line.refunds] == ["R1", "R2"]
    assert line.status is LineStatus.PAID


def test_refunding_every_capture_with_nothing_open_refunds_the_line() -> None:
    """A card line is REFUNDED when all it captured is refunded and nothing stays open."""
    line = authorized_line("100.00", multi=False).captured_with(capture("C1", usd("40.00")))
    line = line.refunded_with(refund("R1", usd("40.00")))
    assert line.status is LineStatus.REFUNDED
    assert line.paid.is_zero()


def test_a_fully_refunded_capture_with_money_still_open_is_not_refunded() -> None:
    """While an authorization is still open, a line whose captures are refunded stays partial."""
    line = authorized_line("100.00").captured_with(capture("C1", usd("40.00")))
    line = line.refunded_with(refund("R1", usd("40.00")))
    assert line.status is LineStatus.PARTIALLY_PAID
    assert line.paid == usd("60.00")


def test_a_partly_refunded_full_capture_stays_paid() -> None:
    """A capture of the whole line refunded one cent short is still PAID."""
    line = authorized_line("100.00").captured_with(capture("C1", usd("100.00")))
    line = line.refunded_with(refund("R1", usd("99.99")))
    assert line.status is LineStatus.PAID
    assert line.paid == usd("0.01")


# -- with_amount, removed ---------------------------------------------------------------------
def test_a_new_target_amount_keeps_everything_else() -> None:
    """with_amount changes only the target; a zero target is refused."""
    line = authorized_line("100.00")
    moved = line.with_amount(usd("80.00"))
    assert moved.amount == usd("80.00")
    assert moved.status is LineStatus.AUTHORIZED
    assert moved.authorized == usd("100.00")
    with pytest.raises(InvalidInput):
        line.with_amount(zero())


def test_removing_retires_a_line_without_money() -> None:
    """A removed line is VOIDED and no longer pending removal."""
    line = attrs.evolve(authorized_line().voided_auth("A1"), pending_removal=True)
    gone = line.removed()
    assert gone.status is LineStatus.VOIDED
    assert gone.pending_removal is False
    assert cash_line().removed().status is LineStatus.VOIDED


def test_a_line_with_an_open_authorization_is_not_removed() -> None:
    """Removing an authorized line is refused until its authorization is voided."""
    with pytest.raises(IllegalTransition) as caught:
        authorized_line().removed()
    refused(
        caught.value, "line L1 (authorized): void its open authorization before removing the line"
    )


def test_a_line_that_received_money_is_not_removed() -> None:
    """C5: neither a captured card line nor a posted prepayment is removed."""
    message = "a line that received money cannot be removed (C5)"
    captured = authorized_line(multi=False).captured_with(capture("C1", usd("10.00")))
    with pytest.raises(IllegalTransition) as caught:
        captured.removed()
    refused(caught.value, f"line L1 (partially_paid): {message}")
    with pytest.raises(IllegalTransition) as caught:
        posted_cash().removed()
    refused(caught.value, f"line P1 (paid): {message}", line_id="P1")


def test_a_capture_in_another_currency_is_refused() -> None:
    """V7: a capture in euros on a dollar authorization raises CurrencyMismatch."""
    with pytest.raises(CurrencyMismatch) as caught:
        authorized_line().captured_with(capture("C1", eur("5.00")))
    assert (caught.value.left, caught.value.right) == ("EUR", "USD")


def test_an_empty_batch_of_refunds_leaves_a_card_line_as_it_was() -> None:
    """refunded_with_all() of no refunds changes nothing, the status of a line that was never
    authorized included."""
    for line in (card_line(), authorized_line("100.00")):
        assert line.refunded_with_all(()) == line


def test_an_adjustment_approved_after_a_cancellation_marks_its_line_for_release() -> None:
    """X1, A1, V5: an open authorization of an order cancelled while its adjustment was away
    (an invoiced order's, which X1 leaves alone) takes the adjustment, its line keeping its
    status, marked as renewing (A2) so that recover() or the renewal job releases it."""
    line = authorized_line("100.00")
    step = steps.Adjust(line_id="L1", auth_id="A1", amount=usd("120.00"), target="tok_A1")
    late = line_auths.approved_adjustment(line, step, cancelled=True)
    assert (late.status, late.renewing, late.authorized) == (line.status, True, usd("120.00"))
    live = line_auths.approved_adjustment(line, step, cancelled=False)
    assert live == line.adjusted("A1", usd("120.00"))
    assert not live.renewing
