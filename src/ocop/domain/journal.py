"""Journal vouchers: balanced double-entry postings (rules J1-J3, N4).

Every receipt (capture, prepayment) and every refund posts exactly one
voucher; a voucher whose debits and credits differ cannot be built. Voucher
ids derive from operation keys, so posting the same voucher twice stores it
once.

A chargeback (N4) posts a voucher of its own kind, money going back to the customer
like a refund. Vouchers are never changed or deleted: what the processor undoes after
the fact (a capture or refund it rejected after approving it, a chargeback reversed)
posts a *reversal*, the mirror of the voucher it undoes, of the matching
``*_REVERSAL`` kind. So V4 reads, per kind: the vouchers of that kind less their
reversals (:func:`net_amounts`) add up to what ocop records (payments to receipts,
refunds to refunds, chargebacks to what chargebacks still take back).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypedDict, Unpack

import attrs

from ocop.domain.cardguard import refuse_card_data, validate_no_card_data
from ocop.domain.enums import Members
from ocop.domain.errors import VoucherUnbalanced
from ocop.domain.money import Money, total
from ocop.domain.values import built


class VoucherKind(Members):
    """What a voucher posts: a receipt, a refund, a chargeback, or the reversal of one."""

    PAYMENT = "payment"
    REFUND = "refund"
    #: Money the card holder's bank took back (N4): posted like a refund.
    CHARGEBACK = "chargeback"
    #: A receipt undone: the processor rejected the capture after approving it (N4).
    PAYMENT_REVERSAL = "payment_reversal"
    #: A refund undone: the processor rejected it after approving it (N4).
    REFUND_REVERSAL = "refund_reversal"
    #: A chargeback reversed in the merchant's favour (N4).
    CHARGEBACK_REVERSAL = "chargeback_reversal"

    @property
    def reverses(self) -> VoucherKind | None:
        """The kind a reversal undoes; None for a kind that is not a reversal."""
        return _REVERSES.get(self)

    @property
    def money_in(self) -> bool:
        """Whether the voucher records money coming in (debit the tender, credit the
        customer): a receipt, or the reversal of money going out."""
        return self in _MONEY_IN

    @property
    def refund_side(self) -> bool:
        """Whether it posts to the refund journal (refunds, chargebacks, their reversals)."""
        return (self.reverses or self) is not VoucherKind.PAYMENT


_REVERSES = {
    VoucherKind.PAYMENT_REVERSAL: VoucherKind.PAYMENT,
    VoucherKind.REFUND_REVERSAL: VoucherKind.REFUND,
    VoucherKind.CHARGEBACK_REVERSAL: VoucherKind.CHARGEBACK,
}
_MONEY_IN = frozenset(
    {VoucherKind.PAYMENT, VoucherKind.REFUND_REVERSAL, VoucherKind.CHARGEBACK_REVERSAL}
)


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
        debits = total([line.debit for line in self.lines], currency)
        credits = total([line.credit for line in self.lines], currency)
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
    def of_kind(cls, kind: VoucherKind, **posting: Unpack[Posting]) -> Voucher:
        """A voucher of ``kind``: money in debits the tender's clearing account and credits
        the customer; money out (a refund, a chargeback, a receipt undone) the reverse."""
        return cls._posting(kind, **posting)

    @classmethod
    def _posting(cls, kind: VoucherKind, **posting: Unpack[Posting]) -> Voucher:
        return cls(**_posting_fields(kind, posting, checked=True))


def _posting_fields(kind: VoucherKind, posting: Posting, *, checked: bool) -> dict[str, Any]:
    """The fields of a voucher of ``kind`` saying ``posting``, balanced by construction;
    ``checked``: its lines are made by their constructor."""
    line = VoucherLine if checked else functools.partial(built, VoucherLine)
    amount = posting["amount"]
    zero = Money.zero(amount.currency)
    tender = tender_account(posting["method"])
    debit, credit = (tender, CUSTOMER_ACCOUNT) if kind.money_in else (CUSTOMER_ACCOUNT, tender)
    return {
        "voucher_id": posting["voucher_id"],
        "journal_name": posting["journal_name"],
        "kind": kind,
        "order_id": posting["order_id"],
        "reference": posting["reference"],
        "amount": amount,
        "lines": (
            line(account=debit, debit=amount, credit=zero),
            line(account=credit, debit=zero, credit=amount),
        ),
        "posted_at": posting["at"],
    }


def derived_voucher(kind: VoucherKind, **posting: Unpack[Posting]) -> Voucher:
    """The voucher of ``kind`` of a movement ocop recorded, as :meth:`Voucher.of_kind`
    makes it. Its ids and reference derive from ids checked at the edge (or are ocop's own
    constants) and its lines are balanced by construction, so only its journal's name is
    checked for card data, and its amount for a positive value (else the constructor runs,
    raising what it always raised)."""
    if not posting["amount"].is_positive():
        return Voucher._posting(kind, **posting)
    refuse_card_data(posting["journal_name"], "Voucher.journal_name")
    return built(Voucher, **_posting_fields(kind, posting, checked=False))


def net_amounts(vouchers: Iterable[Voucher], currency: str) -> dict[VoucherKind, Money]:
    """V4: per kind that is not a reversal (payment, refund, chargeback), its vouchers
    less their reversals."""
    net = {kind: Money.zero(currency) for kind in VoucherKind if kind.reverses is None}
    for voucher in vouchers:
        undone = voucher.kind.reverses
        if undone is None:
            net[voucher.kind] += voucher.amount
        else:
            net[undone] -= voucher.amount
    return net
