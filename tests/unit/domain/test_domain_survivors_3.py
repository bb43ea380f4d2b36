"""Domain behaviour the third mutation run showed unchecked: who a missing saved card is looked
up for, the texts of draft, voucher, money, settings and token refusals, the card a replaced
line keeps, the reason of a check hold, the sign of a negated zero, the field a card number in
an operation's context is refused under, and a tokenize approved without a card.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, localcontext

import pytest

from ocop import (
    Actor,
    AuthorizationToken,
    CardNumberRefused,
    CardToken,
    Channel,
    CompletionDraft,
    CompletionPolicy,
    Customer,
    Hold,
    HoldCode,
    InstrumentNotFound,
    InvalidAmount,
    InvalidDraftEdit,
    InvalidInput,
    InvalidSettings,
    JournalNames,
    Money,
    Order,
    Outcome,
    PaymentsType,
    ProcessorResult,
    SavedInstrument,
    Settings,
    VoucherLine,
    VoucherUnbalanced,
)
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain import steps
from worlds import START, new_world

from .builders import AT, CARD, CUSTOMER, OTHER_CARD, usd

AGENT = Actor.call_center("agent-1", permissions=frozenset({"alternate_payment"}))
SAVED = SavedInstrument(instrument_id="inst_1", customer_id="C-1", card=CARD)


def draft_for(customer: Customer) -> CompletionDraft:
    """A draft of an empty 100.00 USD call-center order of ``customer``, with one saved card."""
    opened = Order.open(
        "SO-1",
        channel=Channel.CALL_CENTER,
        payments_type=PaymentsType.COMMERCE,
        customer=customer,
        total=usd("100.00"),
        placed_at=AT,
    )
    return CompletionDraft.begin(opened, AGENT, Settings.default(), (SAVED,))


# -- T1: saved cards in a draft ---------------------------------------------------------------


def test_a_saved_card_not_on_file_is_refused_naming_the_instrument_and_the_customer() -> None:
    """T1: an unknown instrument names the customer asked for, and a guest is named 'guest'."""
    with pytest.raises(InstrumentNotFound) as named:
        draft_for(CUSTOMER).add_saved_card("inst_9", cvv="123", amount=usd("5.00"))
    assert (named.value.instrument_id, named.value.customer_id) == ("inst_9", "C-1")
    assert str(named.value) == (
        "customer 'C-1' had no saved instrument 'inst_9' when this completion began (to pay "
        "with a card saved since, begin a new completion)"
    )
    with pytest.raises(InstrumentNotFound) as guest:
        draft_for(Customer.guest()).add_saved_card("inst_1", cvv="123", amount=usd("5.00"))
    assert (guest.value.instrument_id, guest.value.customer_id) == ("inst_1", "guest")
    assert str(guest.value) == "customer 'guest' has no saved instrument 'inst_1'"


def test_replacing_a_saved_card_line_card_leaves_a_plain_card_line() -> None:
    """C2: the new card needs no tokenizing, keeps no instrument and inherits no security code."""
    added = draft_for(CUSTOMER).add_saved_card("inst_1", cvv="123", amount=usd("5.00"))
    assert added.line("L1").needs_tokenize is True
    replaced = added.replace_card("L1", OTHER_CARD)
    line = replaced.line("L1")
    assert line.needs_tokenize is False
    assert (line.card, line.instrument_id, line.amount) == (OTHER_CARD, None, usd("5.00"))
    assert replaced.cvv_for("L1") is None


# -- C1: prepayment refusals ------------------------------------------------------------------


def test_prepayments_missing_what_they_need_are_refused_under_c1_saying_what() -> None:
    """C1: a check without its number, or on account without a limit, names the rule and need."""
    draft = draft_for(CUSTOMER)
    with pytest.raises(InvalidDraftEdit) as check:
        draft.add_prepayment("check", usd("5.00"))
    assert (str(check.value), check.value.rule, check.value.line_id) == (
        "C1: a check needs its check number",
        "C1",
        None,
    )
    with pytest.raises(InvalidDraftEdit) as account:
        draft.add_prepayment("customer_account", usd("5.00"))
    assert (str(account.value), account.value.rule, account.value.line_id) == (
        "C1: customer account payments need a named customer with an on-account limit",
        "C1",
        None,
    )


# -- S2: the check hold -----------------------------------------------------------------------


def test_a_check_above_the_threshold_is_held_with_the_threshold_as_its_reason() -> None:
    """S2: the CHECK hold says which threshold the check passed, when placed and until when."""
    policy = CompletionPolicy(check_hold_threshold=usd("100.00"), check_hold_days=3)
    world = new_world(Settings.default().with_policies(completion=policy))
    world.bo.place_order(
        "SO-1", channel=Channel.CALL_CENTER, customer=CUSTOMER, total=usd("250.00")
    )
    draft = world.bo.begin_completion("SO-1", AGENT).add_prepayment(
        "check", usd("250.00"), check_number="1001"
    )
    result = world.bo.submit(draft)
    assert result.holds == (
        Hold(
            code=HoldCode.CHECK,
            reason="check above 100.00 USD",
            placed_at=START,
            until=START + timedelta(days=3),
            placed_by=AGENT.actor_id,
        ),
    )


# -- O1, T1: a tokenize approved without a card -----------------------------------------------


class _CardlessTokenizer(SimulatedProcessor):
    """A simulated processor that breaks the port: it approves a tokenize but sends no card."""

    def tokenize(self, key: str, customer_id: str, instrument_id: str, cvv: str) -> ProcessorResult:
        return ProcessorResult(
            key=key, outcome=Outcome.APPROVED, token=AuthorizationToken("tok_a", "sim", "sa-1")
        )


# -- J1: voucher lines ------------------------------------------------------------------------


@pytest.mark.parametrize(("debit", "credit"), [("0.00", "0.00"), ("1.00", "2.00")])
def test_a_voucher_line_both_or_neither_debit_and_credit_is_refused_saying_so(
    debit: str, credit: str
) -> None:
    """J1: a line with neither side, or both sides, raises VoucherUnbalanced saying which it is."""
    with pytest.raises(VoucherUnbalanced) as caught:
        VoucherLine(account="tender:cash", debit=usd(debit), credit=usd(credit))
    assert str(caught.value) == "a voucher line is either a debit or a credit"


# -- V7: money --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "flaw"),
    [
        ("abc", "it needs ASCII digits, then optionally one point and more digits"),
        ("1.0.0", "it needs ASCII digits, then optionally one point and more digits"),
        ("", "it is empty"),
        ("1 000", "it has whitespace"),
        ("\u0661", "it has characters outside ASCII (digits of other scripts are refused)"),
        ("1e2", "it has an exponent (write 100, not 1e2)"),
        ("1_000", "it has underscores"),
        ("one", "it needs ASCII digits, then optionally one point and more digits"),
    ],
)
def test_text_that_is_not_plain_decimal_is_refused_saying_why_without_quoting_it(
    text: str, flaw: str
) -> None:
    """V7: Money.of refuses text that is not plain decimal notation, naming the flaw; it does
    not quote the text, which may hold a card number in digits the masking does not read."""
    with pytest.raises(InvalidAmount) as caught:
        Money.of(text, "USD")
    assert str(caught.value) == f"amount text must be plain decimal notation such as -12.50; {flaw}"


@pytest.mark.parametrize("amount", [1, "1.00", 1.0])
def test_money_built_directly_from_a_non_decimal_is_refused_naming_the_currency(
    amount: object,
) -> None:
    """V7: Money's constructor takes only a Decimal at the minor units; anything else is refused."""
    with pytest.raises(InvalidAmount) as caught:
        Money(currency="USD", amount=amount)  # type: ignore[arg-type]
    assert str(caught.value) == f"{amount!r} is not held at USD's minor units"


@pytest.mark.parametrize("currency", ["USD", "JPY", "KWD"])
@pytest.mark.parametrize("rounding", [ROUND_HALF_EVEN, ROUND_FLOOR])
def test_negating_zero_gives_an_unsigned_zero(currency: str, rounding: str) -> None:
    """V7: zero negates to a zero without a minus sign, even where Decimal would sign it."""
    with localcontext(rounding=rounding):
        negated = -Money.zero(currency)
        one = Money.of(1, currency)
        assert -one == Money.of(-1, currency)
    assert negated == Money.zero(currency)
    assert not negated.amount.is_signed()
    assert str(negated) == str(Money.zero(currency))
    assert not str(negated).startswith("-")


# -- T2: card numbers in an operation's step -------------------------------------------------


def test_a_card_number_in_an_operation_step_is_refused_naming_the_field() -> None:
    """T2: a step field holding a card number is refused under its field's name."""
    with pytest.raises(CardNumberRefused) as caught:
        steps.Authorize(line_id="4111 1111 1111 1111", auth_id="L1.A1", amount=usd("5.00"),
                        target="tok_a")  # fmt: skip
    assert caught.value.field == "Authorize.line_id"
    assert str(caught.value) == (
        "Authorize.line_id looks like a card number; "
        "ocop stores processor tokens only, never card data"
    )


# -- J2: channel journal names ----------------------------------------------------------------


def test_default_journal_names_name_every_channel() -> None:
    """J2: the default journal names map each channel to its own payment and refund journal."""
    names = JournalNames()
    assert dict(names.channel_payment) == {
        "call_center": "CC-PAY",
        "pos": "POS-PAY",
        "ecommerce": "ECOM-PAY",
    }
    assert dict(names.channel_refund) == {
        "call_center": "CC-REF",
        "pos": "POS-REF",
        "ecommerce": "ECOM-REF",
    }


@pytest.mark.parametrize(
    ("field", "mapping"),
    [
        ("channel_payment", (("call_center", "CC-PAY"), ("pos", "POS-PAY"))),
        (
            "channel_refund",
            (("call_center", "CC-REF"), ("pos", "POS-REF"), ("ecommerce", "ECOM-REF"), ("x", "X")),
        ),
        ("channel_payment", (("call_center", "CC-PAY"), ("pos", " "), ("ecommerce", "E"))),
    ],
)
def test_channel_journal_names_missing_a_channel_or_a_name_are_refused(
    field: str, mapping: tuple[tuple[str, str], ...]
) -> None:
    """J2: channel journals must name exactly call_center, pos and ecommerce, each non-blank."""
    with pytest.raises(InvalidSettings) as caught:
        JournalNames(**{field: mapping})  # type: ignore[arg-type]
    assert str(caught.value) == (
        "channel journal names must name each of call_center, pos, ecommerce"
    )


@pytest.mark.parametrize(
    "names",
    [
        {"unified_payment": "PAY 4111 1111 1111 1111"},
        {"unified_refund": "4111111111111111"},
        {
            "channel_payment": (
                ("call_center", "CC"),
                ("pos", "4111-1111-1111-1111"),
                ("ecommerce", "E"),
            )
        },
        {
            "channel_refund": (
                ("call_center", "4111111111111111"),
                ("pos", "P"),
                ("ecommerce", "E"),
            )
        },
    ],
)
def test_journal_names_holding_a_card_number_are_refused(names: dict[str, object]) -> None:
    """T2, J2: a journal name goes into every voucher; one holding a card number is refused
    when the settings are made, and the message shows nothing of it."""
    with pytest.raises(InvalidSettings) as caught:
        JournalNames(**names)  # type: ignore[arg-type]
    assert "must hold no card number" in str(caught.value)
    assert "4111" not in str(caught.value)


# -- T3: token values -------------------------------------------------------------------------


def test_a_blank_token_field_is_refused_naming_the_token_kind_and_field() -> None:
    """I5, T3: an empty value, connector or brand names its token class and field."""
    with pytest.raises(InvalidInput) as value:
        AuthorizationToken(" ", "sim", "sa-1")
    assert str(value.value) == (
        "AuthorizationToken.value must be a non-empty string of at most 512 printable characters"
    )
    with pytest.raises(InvalidInput) as brand:
        CardToken(value="tok_1", connector="sim", service_account="sa-1", brand="", last4="1111")
    assert str(brand.value) == (
        "CardToken.brand must be a non-empty string of at most 512 printable characters"
    )


@pytest.mark.parametrize("last4", ["111", "11a1", "11111"])
def test_a_last4_not_of_four_digits_is_refused_saying_so(last4: str) -> None:
    """T3: a card's last four must be exactly four digits, and the refusal says so."""
    with pytest.raises(InvalidInput) as caught:
        CardToken(value="tok_1", connector="sim", service_account="sa-1", brand="v", last4=last4)
    assert str(caught.value) == "last4 must be exactly four digits"
