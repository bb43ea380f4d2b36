"""Journal vouchers: balanced double-entry postings (rules J1-J3).

Every receipt (capture, prepayment) and every refund posts exactly one
voucher; a voucher whose debits and credits differ cannot be built. Voucher
ids derive from operation keys, so posting the same voucher twice stores it
once.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict, Unpack

import attrs

from ocop.domain.cardguard import validate_no_card_data
from ocop.domain.enums import Members
from ocop.domain.errors import VoucherUnbalanced
from ocop.domain.money import Money, total


class VoucherKind(Members):
    PAYMENT = "payment"
    REFUND = "refund"


#: The account every receipt credits and every refund debits.
CUSTOMER_ACCOUNT = "customer_balance"


def tender_account(method: str) -> str:
    """The clearing account of a payment method (``"tender:card"``)."""
    return f"tender:{method}"


@attrs.frozen(kw_only=True)
class VoucherLine:
    """One side of a posting; the side a line does not use is zero."""

    account: str = attrs.field(validator=validate_no_card_data)
    debit: Money
    credit: Money

    def __attrs_post_init__(self) -> None:
        if self.debit.is_negative() or self.credit.is_negative():
            raise VoucherUnbalanced("voucher amounts are never negative")
        if self.debit.is_positive() == self.credit.is_positive():
            raise VoucherUnbalanced("a voucher line is either a debit or a credit")


class Posting(TypedDict):
    """What a receipt or refund voucher says: its id and journal, the order and what it
    refers to (an invoice, a return, a line), the payment method, the amount, when."""

    voucher_id: str
    journal_name: str
    order_id: str
    reference: str
    method: str
    amount: Money
    at: datetime


@attrs.frozen(kw_only=True)
class Voucher:
    """A balanced posting in a named payment journal."""

    voucher_id: str = attrs.field(validator=validate_no_card_data)
    journal_name: str = attrs.field(validator=validate_no_card_data)
    kind: VoucherKind
    order_id: str = attrs.field(validator=validate_no_card_data)
    reference: str = attrs.field(validator=validate_no_card_data)
    amount: Money
    lines: tuple[VoucherLine, ...]
    posted_at: datetime

    def __attrs_post_init__(self) -> None:
        currency = self.amount.currency
        debits = total((line.debit for line in self.lines), currency)
        credits = total((line.credit for line in self.lines), currency)
        if debits != credits or debits != self.amount or not self.amount.is_positive():
            raise VoucherUnbalanced(
                f"voucher {self.voucher_id}: debits {debits} and credits {credits} "
                f"must both equal its amount {self.amount}"
            )

    @classmethod
    def receipt(cls, **posting: Unpack[Posting]) -> Voucher:
        """Money received: debit the tender's clearing account, credit the customer."""
        return cls._posting(VoucherKind.PAYMENT, **posting)

    @classmethod
    def refund(cls, **posting: Unpack[Posting]) -> Voucher:
        """Money paid back: debit the customer, credit the tender's clearing account."""
        return cls._posting(VoucherKind.REFUND, **posting)

    @classmethod
    def _posting(cls, kind: VoucherKind, **posting: Unpack[Posting]) -> Voucher:
        amount = posting["amount"]
        zero = Money.zero(amount.currency)
        tender = tender_account(posting["method"])
        debit, credit = (
            (tender, CUSTOMER_ACCOUNT)
            if kind is VoucherKind.PAYMENT
            else (CUSTOMER_ACCOUNT, tender)
        )
        return cls(
            voucher_id=posting["voucher_id"],
            journal_name=posting["journal_name"],
            kind=kind,
            order_id=posting["order_id"],
            reference=posting["reference"],
            amount=amount,
            lines=(
                VoucherLine(account=debit, debit=amount, credit=zero),
                VoucherLine(account=credit, debit=zero, credit=amount),
            ),
            posted_at=posting["at"],
        )
