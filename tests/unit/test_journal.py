"""Journal vouchers: balanced double-entry postings (rules J1, V4)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop import Money, Voucher, VoucherKind, VoucherLine, VoucherUnbalanced
from ocop.domain.journal import CUSTOMER_ACCOUNT, tender_account
from ocop.domain.money import total
from ocop.testing.strategies import positive_money

NOW = datetime(2026, 1, 1, tzinfo=UTC)
methods = st.sampled_from(["card", "cash", "check", "customer_account", "gift_card"])
POSTINGS: list[Callable[..., Voucher]] = [Voucher.receipt, Voucher.refund]


def _post(posting: Callable[..., Voucher], amount: Money, method: str = "card") -> Voucher:
    return posting(
        voucher_id="SO-1/capture:INV-1#1",
        journal_name="OCOP-PAY",
        order_id="SO-1",
        reference="INV-1",
        method=method,
        amount=amount,
        at=NOW,
    )


def _line(account: str, debit: Money, credit: Money) -> VoucherLine:
    return VoucherLine(account=account, debit=debit, credit=credit)


@pytest.mark.parametrize("posting", POSTINGS)
@given(amount=positive_money(), method=methods)
def test_receipts_and_refunds_always_balance(
    posting: Callable[..., Voucher], amount: Money, method: str
) -> None:
    """Debits and credits of a receipt or refund voucher each equal its amount (J1, V4)."""
    voucher = _post(posting, amount, method)
    debits = total((line.debit for line in voucher.lines), amount.currency)
    credits = total((line.credit for line in voucher.lines), amount.currency)
    assert debits == credits == voucher.amount == amount
    assert all(line.debit.is_zero() != line.credit.is_zero() for line in voucher.lines)


@given(amount=positive_money(), method=methods)
def test_a_receipt_debits_the_tender_and_credits_the_customer(amount: Money, method: str) -> None:
    """A receipt debits the method's clearing account and credits the customer balance."""
    voucher = _post(Voucher.receipt, amount, method)
    assert voucher.kind is VoucherKind.PAYMENT
    zero = Money.zero(amount.currency)
    assert voucher.lines == (
        _line(tender_account(method), amount, zero),
        _line(CUSTOMER_ACCOUNT, zero, amount),
    )


@given(amount=positive_money(), method=methods)
def test_a_refund_mirrors_a_receipt(amount: Money, method: str) -> None:
    """A refund debits the customer balance and credits the method's clearing account."""
    receipt = _post(Voucher.receipt, amount, method)
    refund = _post(Voucher.refund, amount, method)
    assert refund.kind is VoucherKind.REFUND
    assert [(line.account, line.debit, line.credit) for line in refund.lines] == [
        (line.account, line.credit, line.debit) for line in reversed(receipt.lines)
    ]


@pytest.mark.parametrize("posting", POSTINGS)
@pytest.mark.parametrize("amount", [Money.zero("USD"), Money.of("-5.00", "USD")])
def test_a_voucher_of_nothing_or_less_cannot_be_posted(
    posting: Callable[..., Voucher], amount: Money
) -> None:
    """A receipt or refund of zero or a negative amount raises VoucherUnbalanced."""
    with pytest.raises(VoucherUnbalanced):
        _post(posting, amount)


@given(positive_money("USD"), positive_money("USD"))
def test_a_hand_built_voucher_whose_sides_differ_is_refused(debit: Money, credit: Money) -> None:
    """Building a voucher whose debits and credits differ raises VoucherUnbalanced."""
    zero = Money.zero("USD")
    lines = (_line("tender:card", debit, zero), _line(CUSTOMER_ACCOUNT, zero, credit))
    voucher = _post(Voucher.receipt, debit)
    if debit == credit:
        assert attrs.evolve(voucher, lines=lines) == voucher
    else:
        with pytest.raises(VoucherUnbalanced):
            attrs.evolve(voucher, lines=lines)


@given(positive_money("USD"), positive_money("USD"))
def test_a_balanced_voucher_must_also_equal_its_amount(amount: Money, other: Money) -> None:
    """Balanced lines that add up to another amount than the voucher's raise VoucherUnbalanced."""
    zero = Money.zero("USD")
    lines = (_line("tender:card", other, zero), _line(CUSTOMER_ACCOUNT, zero, other))
    voucher = _post(Voucher.receipt, amount)
    if amount == other:
        attrs.evolve(voucher, lines=lines)
    else:
        with pytest.raises(VoucherUnbalanced):
            attrs.evolve(voucher, lines=lines)


def test_a_voucher_without_lines_is_refused() -> None:
    """A voucher with no lines has nothing on either side and raises VoucherUnbalanced."""
    with pytest.raises(VoucherUnbalanced):
        attrs.evolve(_post(Voucher.receipt, Money.of("1.00", "USD")), lines=())


@given(positive_money("USD"), positive_money("USD"))
def test_a_voucher_line_with_both_sides_is_refused(debit: Money, credit: Money) -> None:
    """A voucher line that is both a debit and a credit raises VoucherUnbalanced."""
    with pytest.raises(VoucherUnbalanced):
        _line("tender:card", debit, credit)


def test_a_voucher_line_with_neither_side_is_refused() -> None:
    """A voucher line of zero on both sides raises VoucherUnbalanced."""
    zero = Money.zero("USD")
    with pytest.raises(VoucherUnbalanced):
        _line("tender:card", zero, zero)


@given(positive_money("USD"))
def test_a_negative_voucher_line_is_refused(amount: Money) -> None:
    """A negative debit or credit raises VoucherUnbalanced, whatever the other side holds."""
    zero = Money.zero("USD")
    for debit, credit in [(-amount, zero), (zero, -amount), (-amount, amount), (amount, -amount)]:
        with pytest.raises(VoucherUnbalanced):
            _line("tender:card", debit, credit)


@given(st.lists(positive_money("EUR"), min_size=1, max_size=6))
def test_split_receipts_balance_as_one_voucher(parts: list[Money]) -> None:
    """A voucher debiting several tenders and crediting the customer their sum balances."""
    zero = Money.zero("EUR")
    amount = total(parts, "EUR")
    lines = (
        *(_line(f"tender:{i}", part, zero) for i, part in enumerate(parts)),
        _line(CUSTOMER_ACCOUNT, zero, amount),
    )
    voucher = attrs.evolve(_post(Voucher.receipt, amount), lines=lines)
    assert total((line.debit for line in voucher.lines), "EUR") == amount
