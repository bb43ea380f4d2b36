"""Domain behaviour the first mutation run showed unchecked: error messages and attributes,
the times stamped on refunds, vouchers and resolved operations, a tokenized line's flag,
the F1-F3 settings texts and Money's tie-breaking.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ocop import (
    Actor,
    AuthorizationToken,
    BackOffice,
    CaptureToken,
    CardToken,
    Channel,
    CompletionPolicy,
    ConcurrentUpdate,
    ConnectorMismatch,
    CurrencyMismatch,
    Features,
    InvalidAmount,
    InvalidInput,
    InvalidSettings,
    JournalNames,
    Money,
    Operation,
    OperationInDoubt,
    Outcome,
    PaymentMethod,
    ProcessorResult,
    SavedCardPayment,
    Settings,
    UnknownCurrency,
    Voucher,
    VoucherKind,
    VoucherLine,
    VoucherUnbalanced,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain import steps

from .builders import AT, CUSTOMER, eur, usd, zero

AGENT = Actor.call_center("agent-1")
DAY_2 = datetime(2026, 1, 2, tzinfo=UTC)
DAY_3 = datetime(2026, 1, 3, tzinfo=UTC)
CARD = CardToken(
    value="tok_1",
    connector="sim",
    service_account="sa-1",
    brand="visa",
    last4="1111",
    expiry="2030-12",
)


def back_office() -> tuple[ManualClock, BackOffice]:
    """An in-memory back office over a simulated processor and a clock at 2026-01-01 UTC."""
    clock = ManualClock(AT)
    return clock, BackOffice.in_memory(processor=SimulatedProcessor(clock=clock), clock=clock)


# -- effects and journal: what an approved outcome stamps -----------------------------------------


def test_a_saved_card_order_records_its_token_flag_and_the_times_of_its_capture_and_refund() -> (
    None
):
    """A tokenized line no longer needs tokenizing; refunds and vouchers carry the clock's time."""
    clock, bo = back_office()
    saved = bo.save_instrument(CUSTOMER, CARD, consent=True)
    placed = bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=CUSTOMER,
        total=usd("40.00"),
        payments=[SavedCardPayment(saved.instrument_id, "123", usd("40.00"))],
    )
    assert placed.line("L1").needs_tokenize is False
    clock.advance(days=1)
    bo.invoice("SO-1", "INV-1", usd("40.00"))
    clock.advance(days=1)
    result = bo.refund("SO-1", "RMA-1", usd("10.00"), AGENT)
    line = bo.order("SO-1").line("L1")
    assert line.needs_tokenize is False
    assert [(r.amount, r.refunded_at) for r in line.refunds] == [(usd("10.00"), DAY_3)]
    assert [r.refunded_at for r in result.refunds] == [DAY_3]
    assert [(v.kind, v.amount, v.posted_at) for v in bo.journal("SO-1")] == [
        (VoucherKind.PAYMENT, usd("40.00"), DAY_2),
        (VoucherKind.REFUND, usd("10.00"), DAY_3),
    ]


def test_a_receipt_voucher_is_posted_at_the_given_time() -> None:
    """Voucher.receipt debits the tender, credits the customer and keeps ``at`` as posted_at."""
    voucher = Voucher.receipt(
        voucher_id="V:SO-1/p#1",
        journal_name="OCOP-PAY",
        order_id="SO-1",
        reference="INV-1",
        method="cash",
        amount=usd("5.00"),
        at=DAY_2,
    )
    assert voucher.posted_at == DAY_2
    assert voucher.kind is VoucherKind.PAYMENT
    assert [(line.account, line.debit, line.credit) for line in voucher.lines] == [
        ("tender:cash", usd("5.00"), zero()),
        ("customer_balance", zero(), usd("5.00")),
    ]


def test_a_voucher_line_with_a_negative_amount_is_refused_with_its_reason() -> None:
    """J1: a negative debit or credit raises VoucherUnbalanced saying amounts are never negative."""
    with pytest.raises(VoucherUnbalanced) as caught:
        VoucherLine(account="tender:cash", debit=usd("-1.00"), credit=zero())
    assert str(caught.value) == "voucher amounts are never negative"
    with pytest.raises(VoucherUnbalanced) as caught:
        VoucherLine(account="tender:cash", debit=zero(), credit=usd("-1.00"))
    assert str(caught.value) == "voucher amounts are never negative"


def test_a_resolved_operation_keeps_its_outcome_result_and_resolution_time() -> None:
    """O1: resolving an intent records the outcome, the processor's answer and when it came."""
    capture = steps.Capture(invoice_id="INV-1", line_id="L1", auth_id="A1", amount=usd("5.00"),
                            target="tok_a")  # fmt: skip
    intent = Operation.intent("SO-1", capture, 1, AT)
    answer = ProcessorResult(key=intent.key, outcome=Outcome.APPROVED, amount=usd("5.00"))
    resolved = intent.resolved(answer, DAY_2)
    assert (resolved.outcome, resolved.result, resolved.resolved_at) == (
        Outcome.APPROVED,
        answer,
        DAY_2,
    )
    assert (resolved.recorded_at, resolved.key) == (AT, "SO-1/capture:INV-1:L1:A1#1")
    assert not resolved.in_doubt


# -- errors: messages and attributes ------------------------------------------------------------


def test_concurrent_update_names_the_order_and_says_to_reload() -> None:
    """O5: the error carries the order id and tells the caller to reload and retry."""
    error = ConcurrentUpdate("SO-1")
    assert error.order_id == "SO-1"
    assert str(error) == "order 'SO-1' was changed by someone else; reload and retry"


def test_operation_in_doubt_counts_the_keys_and_says_to_run_recover() -> None:
    """O3: the error carries the order id and keys and tells the caller to run recover()."""
    keys = ("SO-1/capture:INV-1#1", "SO-1/refund:RMA-1#1")
    error = OperationInDoubt("SO-1", keys)
    assert (error.order_id, error.keys) == ("SO-1", keys)
    assert str(error) == (
        "order 'SO-1' has 2 processor operation(s) in doubt; "
        "run recover() before moving money on it"
    )


def test_a_token_of_another_account_is_refused_naming_both_token_kinds_and_accounts() -> None:
    """I5: ConnectorMismatch names the other token's kind and account, then the receiver's."""
    authorization = AuthorizationToken("tok_a", "sim", "sa-1")
    foreign = CaptureToken("tok_c", "other", "sa-9")
    with pytest.raises(ConnectorMismatch) as caught:
        authorization.require_same_account(foreign)
    assert str(caught.value) == (
        "CaptureToken from other/sa-9 cannot be used with AuthorizationToken from sim/sa-1"
    )


def test_a_card_expiry_not_in_year_month_form_is_refused_with_the_expected_form() -> None:
    """A card token's expiry is 'YYYY-MM' with a month from 01 to 12."""
    with pytest.raises(InvalidInput) as caught:
        CardToken(
            value="tok_1",
            connector="sim",
            service_account="sa-1",
            brand="visa",
            last4="1111",
            expiry="2030-13",
        )
    assert type(caught.value) is InvalidInput
    assert str(caught.value) == "expiry must be 'YYYY-MM'"


# -- money --------------------------------------------------------------------------------------


def test_an_unknown_currency_is_refused_naming_the_code() -> None:
    """V7: UnknownCurrency carries the code it was given, in its attribute and message."""
    with pytest.raises(UnknownCurrency) as caught:
        Money.of("1.00", "XYZ")
    assert caught.value.code == "XYZ"
    assert str(caught.value) == "unknown currency code 'XYZ'"


def test_a_float_amount_is_refused_saying_floats_are_never_exact() -> None:
    """V7: a float is refused with its type named and the reason."""
    with pytest.raises(InvalidAmount) as caught:
        Money.of(1.5, "USD")  # type: ignore[arg-type]
    assert str(caught.value) == (
        "amounts are str, int or Decimal, not float (floats are never exact money)"
    )


def test_a_negative_amount_cannot_be_poured_into_caps() -> None:
    """Money.fill refuses a negative amount with the reason."""
    with pytest.raises(InvalidAmount) as caught:
        usd("-1.00").fill([usd("5.00")])
    assert str(caught.value) == "only a non-negative amount can be poured into caps"


def test_max_and_min_return_the_receiver_on_a_tie() -> None:
    """Of two equal amounts, max and min both give back the one they were called on."""
    first = usd("5.00")
    second = usd("5.00")
    assert first.max(second) is first
    assert second.max(first) is second
    assert first.min(second) is first
    assert second.min(first) is second


# -- refunds ------------------------------------------------------------------------------------


def test_a_refund_in_another_currency_is_refused_naming_the_orders_currency() -> None:
    """R3: a refund amount must be Money in the order's currency; nothing is refunded."""
    _, bo = back_office()
    saved = bo.save_instrument(CUSTOMER, CARD, consent=True)
    bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=CUSTOMER,
        total=usd("40.00"),
        payments=[SavedCardPayment(saved.instrument_id, "123", usd("40.00"))],
    )
    bo.invoice("SO-1", "INV-1", usd("40.00"))
    with pytest.raises(CurrencyMismatch) as caught:
        bo.refund("SO-1", "RMA-1", eur("10.00"), AGENT)
    assert (caught.value.left, caught.value.right) == ("EUR", "USD")
    assert str(caught.value) == "a refund amount is Money in USD"
    assert bo.order("SO-1").line("L1").refunds == ()


# -- settings (F1-F3, J2) -----------------------------------------------------------------------


def test_f1_names_every_missing_prerequisite_in_its_message() -> None:
    """F1: turning OCOP on with prerequisites off is refused, listing them in declaration
    order; a value with OCOP on names those that must stay on."""
    off = Settings.default().with_features(omni_channel_order_payments=False)
    with pytest.raises(InvalidSettings) as caught:
        off.with_features(omni_channel_order_payments=True, omni_channel_payments=False,
                          refunds_over_multiple_captures=False)  # fmt: skip
    assert str(caught.value) == (
        "F1: omni_channel_order_payments can be turned on only with these features on: "
        "omni_channel_payments, refunds_over_multiple_captures"
    )
    with pytest.raises(InvalidSettings) as stays:
        Features(omni_channel_payments=False, manual_void_of_expired_authorizations=False)
    assert str(stays.value) == (
        "F1: while omni_channel_order_payments is on, these features stay on: "
        "omni_channel_payments, manual_void_of_expired_authorizations"
    )


def test_f2_refuses_ocop_without_call_center_completion_with_its_message() -> None:
    """F2: with OCOP on, turning off completion for call centers is refused."""
    with pytest.raises(InvalidSettings) as caught:
        Settings(completion=CompletionPolicy(completion_for_call_center=False))
    assert str(caught.value) == "F2: with OCOP on, order completion is on for call centers"


def test_unknown_features_are_refused_listed_in_sorted_order() -> None:
    """Switching features that do not exist names them all, sorted and comma-separated."""
    with pytest.raises(InvalidSettings) as caught:
        Settings.default().with_features(zebra=True, alpha=False)
    assert str(caught.value) == "unknown feature(s): alpha, zebra"


@pytest.mark.parametrize("name", ["", "   "])
def test_an_empty_unified_journal_name_is_refused_naming_the_field(name: str) -> None:
    """J2: a unified journal name must be a non-empty name; the message names the field."""
    with pytest.raises(InvalidSettings) as caught:
        JournalNames(unified_refund=name)
    assert str(caught.value) == "unified_refund must be a non-empty name"


def test_f3_warns_of_an_unmapped_method_with_the_completion_note_only_under_ocop() -> None:
    """F3: an unmapped method is a warning; only with OCOP on does it add the editing note."""
    mapped = tuple(
        (method, method.pos_operation)
        for method in PaymentMethod
        if method is not PaymentMethod.GIFT_CARD
    )
    off = Settings(features=Features(omni_channel_order_payments=False), method_operations=mapped)
    assert off.warnings() == ("F3: payment method 'gift_card' maps to no POS operation",)
    on = Settings(method_operations=mapped)
    assert on.warnings() == (
        "F3: payment method 'gift_card' maps to no POS operation; "
        "its lines cannot be edited in order completion",
    )
