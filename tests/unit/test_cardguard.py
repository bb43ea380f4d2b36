"""The card-number guard (rules T2, V8): no stored text holds a card number."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop import (
    Actor,
    AuthorizationToken,
    CaptureToken,
    CardNumberRefused,
    CardToken,
    Channel,
    Customer,
    Hold,
    HoldCode,
    Invoice,
    Money,
    Operation,
    Order,
    Outcome,
    PaymentLine,
    PaymentMethod,
    PaymentsType,
    ProcessorResult,
    RefundToken,
    SavedInstrument,
    Voucher,
    VoucherLine,
)
from ocop.domain import steps
from ocop.domain.cardguard import contains_card_number, luhn_valid, refuse_card_data
from ocop.testing.strategies import card_numbers, non_card_text

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TEN = Money.of("10.00", "USD")
CARD = CardToken("tok_1", "sim", "sa-1", brand="visa", last4="1111")


def _voucher(voucher_id: str = "V-1", reference: str = "INV-1") -> Voucher:
    return Voucher.receipt(
        voucher_id=voucher_id,
        journal_name="OCOP-PAY",
        order_id="SO-1",
        reference=reference,
        method="card",
        amount=TEN,
        at=NOW,
    )


def _capture(target: str = "tok_1") -> steps.Capture:
    return steps.Capture(invoice_id="INV-1", line_id="L1", auth_id="A1", amount=TEN,
                         target=target)  # fmt: skip


def _operation(name: str = "capture:INV-1") -> Operation:
    return Operation(key="SO-1/capture:INV-1#1", order_id="SO-1", name=name, attempt=1,
                     step=_capture(), recorded_at=NOW)  # fmt: skip


def _order(order_id: str) -> Order:
    return Order.open(
        order_id,
        channel=Channel.CALL_CENTER,
        payments_type=PaymentsType.CALL_CENTER,
        customer=Customer.guest(),
        total=TEN,
        placed_at=NOW,
    )


# Every free-text field guarded by validate_no_card_data, with the field name the error gives.
GUARDED: dict[str, Callable[[str], object]] = {
    "CardToken.value": lambda t: CardToken(t, "sim", "sa-1", brand="visa", last4="1111"),
    "CardToken.connector": lambda t: CardToken("tok_1", t, "sa-1", brand="visa", last4="1111"),
    "CardToken.service_account": lambda t: CardToken("tok_1", "sim", t, brand="visa", last4="1111"),
    "AuthorizationToken.value": lambda t: AuthorizationToken(t, "sim", "sa-1"),
    "CaptureToken.connector": lambda t: CaptureToken("cap_1", t, "sa-1"),
    "RefundToken.service_account": lambda t: RefundToken("ref_1", "sim", t),
    "SavedInstrument.instrument_id": lambda t: SavedInstrument(
        instrument_id=t, customer_id="C-1", card=CARD
    ),
    "SavedInstrument.customer_id": lambda t: SavedInstrument(
        instrument_id="PI-1", customer_id=t, card=CARD
    ),
    "PaymentLine.line_id": lambda t: PaymentLine.card_line(t, CARD, TEN),
    "PaymentLine.instrument_id": lambda t: PaymentLine.card_line("L-1", CARD, TEN, instrument_id=t),
    "PaymentLine.check_number": lambda t: PaymentLine.prepayment_line(
        "L-1", PaymentMethod.CHECK, TEN, check_number=t
    ),
    "Customer.customer_id": Customer.named,
    "Actor.actor_id": Actor.call_center,
    "VoucherLine.account": lambda t: VoucherLine(account=t, debit=TEN, credit=Money.zero("USD")),
    "Voucher.voucher_id": lambda t: _voucher(voucher_id=t),
    "Voucher.reference": lambda t: _voucher(reference=t),
    "Hold.reason": lambda t: Hold(code=HoldCode.MANUAL, reason=t, placed_at=NOW),
    "Invoice.invoice_id": lambda t: Invoice(invoice_id=t, amount=TEN, invoiced_at=NOW),
    "Order.order_id": _order,
    "ProcessorResult.reason": lambda t: ProcessorResult(
        key="SO-1/capture#1", outcome=Outcome.DECLINED, reason=t
    ),
    "Operation.name": lambda t: _operation(name=t),
    "Capture.target": lambda t: _capture(target=t),
}

# Text around a card number that does not glue digits onto its first or last group.
before = st.text(max_size=12).filter(lambda s: not s[-1:].isdecimal())
after = st.text(max_size=12).filter(lambda s: not s[:1].isdecimal())


def _in_script(zero: int, text: str) -> str:
    """``text`` with its ASCII digits written in the script whose zero is ``chr(zero)``."""
    return "".join(chr(zero + int(char)) if char.isdigit() else char for char in text)


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdecimal())


@pytest.mark.parametrize("field", sorted(GUARDED))
@given(number=card_numbers(), prefix=before, suffix=after)
def test_a_card_number_in_any_guarded_field_is_refused_without_being_echoed(
    field: str, number: str, prefix: str, suffix: str
) -> None:
    """A Luhn-valid 13-19 digit run anywhere in a stored text field raises CardNumberRefused."""
    with pytest.raises(CardNumberRefused) as refused:
        GUARDED[field](prefix + number + suffix)
    message = str(refused.value)
    assert refused.value.field == field
    assert _digits(number) not in _digits(message)
    assert number not in message
    assert not contains_card_number(message)
    assert not contains_card_number(repr(refused.value))


@pytest.mark.parametrize("field", sorted(GUARDED))
@given(text=non_card_text())
def test_ids_that_are_not_card_numbers_are_accepted_in_every_guarded_field(
    field: str, text: str
) -> None:
    """UUIDs, order ids, short and non-Luhn digit runs pass the guard of every field."""
    GUARDED[field](text)


@given(non_card_text())
def test_non_card_text_is_not_a_card_number(text: str) -> None:
    """Ids and numbers that are not Luhn-valid 13-19 digit runs are not taken for cards."""
    assert not contains_card_number(text)


@given(st.integers(12, 18).flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n)))
def test_a_run_failing_the_luhn_check_passes(body: str) -> None:
    """A 13-19 digit run whose check digit is wrong is no card number."""
    for digit in "0123456789":
        assert contains_card_number(body + digit) == luhn_valid(body + digit)
    assert sum(luhn_valid(body + digit) for digit in "0123456789") == 1


@pytest.mark.parametrize(
    "text",
    [
        "12 4111111111111111",
        "12-4111-1111-1111-1111",
        "card 4111 1111 1111 1111 exp 12/30",
        "4111 - 1111 - 1111 - 1111",
        "4111  1111  1111  1111",
        "ref4111111111111111end",
        "378282246310005",  # 15-digit amex test number
        "4111111111111111 2",
        _in_script(0xFF10, "4111111111111111"),  # fullwidth digits
        _in_script(0x0660, "4111 1111 1111 1111"),  # Arabic-Indic digits
    ],
)
def test_a_card_number_next_to_other_text_is_found(text: str) -> None:
    """A card number is found glued to letters, after another number, or in any script's digits."""
    assert contains_card_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111112",
        "00004111111111111111",  # a 20-digit id: unbroken runs are checked whole
        "SO-123",
        "411111111111",
        "2026-01-01 12:30",
        "00000000-0000-4000-8000-00000000000a",
        "",
    ],
)
def test_ids_dates_and_long_unbroken_runs_are_not_cards(text: str) -> None:
    """Non-Luhn runs, unbroken runs over 19 digits, short ids and dates are not cards."""
    assert not contains_card_number(text)


def _oracle(text: str) -> bool:
    """Brute force: some stretch from a run's digit to another, over digits, spaces and dashes."""
    for start in range(len(text)):
        for end in range(start + 1, len(text) + 1):
            stretch = text[start:end]
            if (
                stretch[0].isdecimal()
                and stretch[-1].isdecimal()
                and not text[start - 1 : start].isdecimal()
                and not text[end : end + 1].isdecimal()
                and all(char.isdecimal() or char in " -" for char in stretch)
            ):
                digits = [int(char) for char in stretch if char.isdecimal()]
                doubled = [(2 * d) // 10 + (2 * d) % 10 for d in digits[-2::-2]]
                if 13 <= len(digits) <= 19 and (sum(digits[::-1][::2]) + sum(doubled)) % 10 == 0:
                    return True
    return False


texts = st.lists(card_numbers() | non_card_text() | st.text(" -ab,٣", max_size=4), max_size=5).map(
    "".join
)


@given(texts)
def test_the_guard_agrees_with_a_brute_force_search(text: str) -> None:
    """contains_card_number finds a card exactly when a brute-force search over stretches does."""
    assert contains_card_number(text) == _oracle(text)


@given(card_numbers(with_separators=False))
def test_generated_card_numbers_are_luhn_valid_runs_of_13_to_19_digits(number: str) -> None:
    """card_numbers() without separators yields plain Luhn-valid 13-19 digit strings."""
    assert number.isdigit()
    assert 13 <= len(number) <= 19
    assert luhn_valid(number)


@given(card_numbers())
def test_refuse_card_data_names_the_field_not_the_value(number: str) -> None:
    """refuse_card_data raises with the field name and without the number."""
    with pytest.raises(CardNumberRefused, match=r"^note looks like a card number") as refused:
        refuse_card_data(number, "note")
    assert _digits(number) not in str(refused.value)


@given(non_card_text())
def test_refuse_card_data_returns_clean_text_unchanged(text: str) -> None:
    """Text without a card number comes back as it went in."""
    assert refuse_card_data(text, "note") == text
