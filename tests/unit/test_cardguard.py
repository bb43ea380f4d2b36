"""The card-number guard (rules T1, T2, V8): no stored text holds a card number or a CVV."""

from __future__ import annotations

import base64
import re
import unicodedata
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
    InvalidCvv,
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
from ocop.domain.cardguard import check_cvv, contains_card_number, luhn_valid, refuse_card_data
from ocop.domain.cardnumbers import CARD_MASK, mask
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

# Text around a card number that glues neither digits nor a letter onto its first or last
# group (a group glued to a letter joins no other group across spaces or dashes).
before = st.text(max_size=12).filter(lambda s: not s[-1:].isalnum())
after = st.text(max_size=12).filter(lambda s: not s[:1].isalnum())
# Text that may end (or start) with a letter, never with a digit.
lettered_before = st.text(max_size=12).filter(lambda s: not s[-1:].isdecimal())
lettered_after = st.text(max_size=12).filter(lambda s: not s[:1].isdecimal())


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


@given(number=card_numbers(with_separators=False), prefix=lettered_before, suffix=lettered_after)
def test_an_unbroken_card_number_glued_to_letters_is_refused(
    number: str, prefix: str, suffix: str
) -> None:
    """An unbroken Luhn-valid 13-19 digit run is a card number whatever letters touch it."""
    with pytest.raises(CardNumberRefused):
        refuse_card_data(prefix + number + suffix, "note")


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
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "x 4111111111111111 y",
        "ab4111111111111111cd",
        "x1 4111 1111 1111 1111",  # the glued "1" stays out; the groups after it still join
        "4111 1111 1111 1111 2y",
        "19b9e527-3295-4391-970c-a4111111111111111f",  # a whole card inside a hex word
        "41111111-1111-4115-8abc-def012345678",  # all-digit UUID groups join across dashes
        _in_script(0xFF10, "4111111111111111"),  # fullwidth digits
        _in_script(0x0660, "4111 1111 1111 1111"),  # Arabic-Indic digits
        "4111\t1111\t1111\t1111",  # tabs, no-break spaces pasted with it, en dashes
        "4111\xa01111\xa01111\xa01111",
        "4111\u20131111\u20131111\u20131111",
        "4111\u20281111 1111\u30001111",
        "4111\uff0d1111\uff0d1111\uff0d1111",  # the fullwidth hyphen-minus of CJK keyboards
        "4111\ufe631111\u301c1111\u2e3a1111",
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
        "19b9e527-3295-4391-970c-ad55cf3dd776",  # 527-3295-4391-970 would pass the Luhn check
        "x4111 1111 1111 1111",  # the glued 4111 joins no group: 12 digits are left
        "4111 1111 1111 1111x",
        "",
    ],
)
def test_ids_dates_and_long_unbroken_runs_are_not_cards(text: str) -> None:
    """Non-Luhn runs, unbroken runs over 19 digits, short ids, dates and hex words are not cards.

    A digit group glued to a letter on its outer side belongs to a word (a hex id's
    ``e527`` or ``970c``): it joins no other group across spaces or dashes.
    """
    assert not contains_card_number(text)


def _luhn(digits: str) -> bool:
    """The Luhn check, written out again: every second digit from the right is doubled."""
    values = [int(char) for char in digits]
    doubled = [(2 * d) // 10 + (2 * d) % 10 for d in values[-2::-2]]
    return (sum(values[-1::-2]) + sum(doubled)) % 10 == 0


def _is_card(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and _luhn(digits)


def _letter(char: str) -> bool:
    return char.isalnum() and not char.isdecimal()


def _joins(char: str) -> bool:
    """White space of any kind, or a dash of any kind: what may stand between groups."""
    return char.isspace() or unicodedata.category(char) == "Pd" or char == "\u2212"


def _oracle(text: str) -> bool:
    """Brute force: some stretch from a digit to another, over digits, spaces and dashes,
    with no digit touching it, and no letter touching it if it crosses a space or dash."""
    for start in range(len(text)):
        for end in range(start + 1, len(text) + 1):
            stretch = text[start:end]
            outside = text[start - 1 : start] + text[end : end + 1]
            if (
                stretch[0].isdecimal()
                and stretch[-1].isdecimal()
                and not any(char.isdecimal() for char in outside)
                and all(char.isdecimal() or _joins(char) for char in stretch)
                and (stretch.isdecimal() or not any(_letter(char) for char in outside))
                and _is_card("".join(char for char in stretch if char.isdecimal()))
            ):
                return True
    return False


texts = st.lists(
    card_numbers() | non_card_text() | st.text(" -ab,٣\u2013\u2212\uff0d", max_size=4), max_size=5
).map("".join)


def _unbroken_runs_hold_a_card(text: str) -> bool:
    """Whether some maximal run of ASCII digits, taken whole, is a card number."""
    return any(_is_card(run) for run in re.findall("[0-9]+", text))


DIGITS = "0123456789"
HEX = "0123456789abcdef"
BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _hex_group(size: int) -> st.SearchStrategy[str]:
    """``size`` hex characters: often all digits, so that joined groups are drawn too."""
    digits = st.text(DIGITS, min_size=size, max_size=size)
    return digits | st.text(HEX, min_size=size, max_size=size)


uuid4_shaped = st.one_of(
    st.uuids(version=4).map(str),
    st.builds(
        "{}-{}-4{}-{}{}-{}".format,
        _hex_group(8),
        _hex_group(4),
        _hex_group(3),
        st.sampled_from("89ab"),
        _hex_group(3),
        _hex_group(12),
    ),
)
# Long hex and base64 ids, with stretches of digits long enough to hold a card now and then.
hex_ids = st.text(HEX, max_size=64) | st.lists(
    st.text(DIGITS, min_size=1, max_size=20) | st.text(HEX, max_size=8), max_size=8
).map("".join)
base64_ids = st.one_of(
    st.binary(max_size=48).map(lambda raw: base64.b64encode(raw).decode("ascii")),
    st.tuples(
        st.lists(st.text(DIGITS, min_size=1, max_size=20) | st.text(BASE64, max_size=8)),
        st.sampled_from(["", "=", "=="]),
    ).map(lambda parts: "".join(parts[0]) + parts[1]),
)


def _uuid_oracle(text: str) -> bool:
    """A UUID holds a card in an unbroken digit run, or in dash-joined groups that are all
    digits: a group that mixes in a hex letter has its digits glued to that letter."""
    groups = text.split("-")
    joined = [
        "".join(groups[first : last + 1])
        for first in range(len(groups))
        for last in range(first + 1, len(groups))
        if all(group.isdecimal() for group in groups[first : last + 1])
    ]
    return _unbroken_runs_hold_a_card(text) or any(_is_card(digits) for digits in joined)


@given(uuid4_shaped)
def test_a_uuid_is_refused_only_if_it_really_holds_a_card_number(text: str) -> None:
    """A uuid4 is a card only through an unbroken digit run or dash-joined all-digit groups."""
    assert contains_card_number(text) == _uuid_oracle(text)
    assert (mask(text) == text) != _uuid_oracle(text)


@given(hex_ids)
def test_a_hex_id_is_refused_exactly_when_an_unbroken_digit_run_is_a_card(text: str) -> None:
    """A hex id is a card exactly when one of its unbroken digit runs is a Luhn-valid 13-19."""
    assert contains_card_number(text) == _unbroken_runs_hold_a_card(text)


@given(base64_ids)
def test_a_base64_id_is_refused_exactly_when_an_unbroken_digit_run_is_a_card(text: str) -> None:
    """A base64 id is a card exactly when one of its unbroken digit runs is a Luhn-valid 13-19."""
    assert contains_card_number(text) == _unbroken_runs_hold_a_card(text)


def test_the_uuid_of_the_issue_is_accepted_and_left_as_it_is() -> None:
    """The digits 527-3295-4391-970 pass the Luhn check, but 527 and 970 belong to hex words."""
    uuid = "19b9e527-3295-4391-970c-ad55cf3dd776"
    assert luhn_valid("527329543919" + "70")
    assert refuse_card_data(uuid, "id") == uuid
    assert mask(uuid) == uuid


@given(texts)
def test_the_guard_agrees_with_a_brute_force_search(text: str) -> None:
    """contains_card_number finds a card exactly when a brute-force search over stretches does."""
    assert contains_card_number(text) == _oracle(text)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("pay 4111 1111 1111 1111 now", f"pay {CARD_MASK} now"),
        ("4111-1111-1111-1111", CARD_MASK),
        ("ab4111111111111111cd", f"ab{CARD_MASK}cd"),
        ("12-4111-1111-1111-1111 ok", f"{CARD_MASK} ok"),  # the run joined to it goes too
        ("x527-4111111111111111", f"x527-{CARD_MASK}"),  # a glued group is a run of its own
        ("4111111111111111 and 5500005555555559", f"{CARD_MASK} and {CARD_MASK}"),
        ("19b9e527-3295-4391-970c-ad55cf3dd776", "19b9e527-3295-4391-970c-ad55cf3dd776"),
        ("x4111 1111 1111 1111", "x4111 1111 1111 1111"),
        ("a\x00b\nc\u2028", "a\\x00b\\nc\\u2028"),
        ("4111111111111111\x00", f"{CARD_MASK}\\x00"),
        ("\x1b[31m 4111 1111 1111 1111", f"\\x1b[31m {CARD_MASK}"),
    ],
)
def test_mask_replaces_exactly_the_runs_holding_a_card_and_escapes_control_characters(
    text: str, masked: str
) -> None:
    """mask() puts [card number] for each run holding a card, and escapes what is not printable."""
    assert mask(text) == masked


def test_mask_finds_a_card_an_escape_writes_into_the_text() -> None:
    """An escape ending in digits that run into the digits after it is searched again."""
    digits = "10000000000071"  # no card, but "85" + digits is one
    assert not contains_card_number(digits)
    assert luhn_valid("85" + digits)
    masked = mask("\x85" + digits)
    assert masked == f"\\x{CARD_MASK}"
    assert not contains_card_number(masked)


def _masked_from(text: str, pieces: list[str]) -> bool:
    """Whether ``text`` is ``pieces`` with, between each two, a stretch of digits, spaces and
    dashes that holds a card number."""
    if not text.startswith(pieces[0]):
        return False
    if len(pieces) == 1:
        return text == pieces[0]
    rest = text[len(pieces[0]) :]
    return any(
        _oracle(rest[:end]) and _masked_from(rest[end:], pieces[1:])
        for end in range(1, len(rest) + 1)
        if all(char.isdecimal() or _joins(char) for char in rest[:end])
    )


@given(texts)
def test_mask_replaces_only_runs_that_hold_a_card(text: str) -> None:
    """mask() leaves text without a card as it is; each piece it replaced held a card."""
    masked = mask(text)
    assert not _oracle(masked)
    if not _oracle(text):
        assert masked == text
        return
    pieces = masked.split(CARD_MASK)
    assert len(pieces) > 1
    assert _masked_from(text, pieces)


@given(st.lists(texts | st.text(max_size=3), max_size=4).map("".join))
def test_masked_text_is_printable_and_holds_no_card(text: str) -> None:
    """Whatever the text, mask() returns printable text without a card number."""
    masked = mask(text)
    assert masked.isprintable()
    assert not contains_card_number(masked)
    assert not _oracle(masked)


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


@pytest.mark.parametrize("cvv", ["123", "0000", "9371"])
def test_a_cvv_of_three_or_four_ascii_digits_is_returned(cvv: str) -> None:
    """check_cvv returns a CVV of exactly 3 or 4 ASCII digits unchanged."""
    assert check_cvv(cvv) == cvv


@pytest.mark.parametrize(
    "cvv",
    [
        "",
        "12",
        "12345",
        "12a",
        " 123",
        "123\n",
        _in_script(0x0660, "123"),  # Arabic-Indic digits
        _in_script(0xFF10, "123"),  # fullwidth digits
        "²³⁴",  # digits that are not decimal
        "4111111111111111",
        "4111 1111 1111 1111",
        123,
        None,
        b"123",
    ],
)
def test_anything_else_given_as_a_cvv_is_refused_without_being_echoed(cvv: object) -> None:
    """check_cvv raises InvalidCvv for anything else, a card number included, showing none of it."""
    with pytest.raises(InvalidCvv) as refused:
        check_cvv(cvv)
    shown = f"{refused.value} {refused.value!r} {refused.value.args!r}"
    assert str(refused.value) == "a CVV is 3 or 4 digits"
    assert not contains_card_number(shown)


@given(card_numbers())
def test_a_card_number_given_as_a_cvv_is_refused(number: str) -> None:
    """No card number, however written, passes as a CVV."""
    with pytest.raises(InvalidCvv):
        check_cvv(number)
