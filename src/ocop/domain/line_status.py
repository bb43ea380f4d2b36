"""How a payment line pays, the statuses it goes through, and what an illegal change of it
says (rule F3: each method's POS operation)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocop.domain.enums import Members
from ocop.domain.errors import IllegalTransition
from ocop.domain.money import Money

if TYPE_CHECKING:
    from ocop.domain.tender import PaymentLine

__all__ = [
    "INACTIVE",
    "POSTED",
    "LineStatus",
    "PaymentMethod",
    "derived_status",
    "refused",
    "require_card",
]


class PaymentMethod(Members):
    """How a line pays, with the POS operation each maps to (rule F3)."""

    CASH = "cash"
    CARD = "card"
    CUSTOMER_ACCOUNT = "customer_account"
    CURRENCY = "currency"
    CHECK = "check"
    LOYALTY = "loyalty"
    CREDIT_MEMO = "credit_memo"
    GIFT_CARD = "gift_card"

    @property
    def pos_operation(self) -> int:
        return _POS_OPERATIONS[self]


_POS_OPERATIONS = {
    PaymentMethod.CASH: 200,
    PaymentMethod.CARD: 201,
    PaymentMethod.CUSTOMER_ACCOUNT: 202,
    PaymentMethod.CURRENCY: 203,
    PaymentMethod.CHECK: 204,
    PaymentMethod.LOYALTY: 207,
    PaymentMethod.CREDIT_MEMO: 213,
    PaymentMethod.GIFT_CARD: 214,
}


class LineStatus(Members):
    """Where a payment line stands: not submitted yet, its authorization awaited,
    authorized, declined, paid in part or in full, voided, or refunded."""

    NOT_SUBMITTED = "not_submitted"
    PENDING_AUTHORIZATION = "pending_authorization"
    AUTHORIZED = "authorized"
    DECLINED = "declined"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOIDED = "voided"
    REFUNDED = "refunded"


#: Statuses of lines that no longer count towards what the order is paid.
INACTIVE = frozenset({LineStatus.DECLINED, LineStatus.VOIDED})

#: Statuses of a prepayment line that received its money.
POSTED = frozenset({LineStatus.PAID, LineStatus.REFUNDED})


def refused(line: PaymentLine, what: str, amount: Money | None = None) -> IllegalTransition:
    """The error of an illegal change of ``line``: ``what`` was refused."""
    return IllegalTransition(
        f"line {line.line_id} ({line.status}): {what}",
        line_id=line.line_id,
        amount=None if amount is None else amount.amount,
    )


def require_card(line: PaymentLine, what: str) -> None:
    """Refuse ``what`` (a change only a card line takes) on a line of another method."""
    if not line.is_card:
        raise refused(line, f"cannot {what} a {line.method} line")


def derived_status(line: PaymentLine) -> LineStatus:
    """The status ``line``'s money gives it (a status set by hand, such as declined, stays)."""
    if line.is_prepayment:
        if line.status not in POSTED:
            return line.status
        received = line.received
        return LineStatus.REFUNDED if line.refunded == received else LineStatus.PAID
    captured = line.captured
    open_amount = line.authorized
    if captured.is_positive():
        if line.refunded == captured and open_amount.is_zero():
            return LineStatus.REFUNDED
        return LineStatus.PAID if captured >= line.amount else LineStatus.PARTIALLY_PAID
    if open_amount.is_positive():
        return LineStatus.AUTHORIZED
    if line.authorizations:
        return LineStatus.VOIDED
    return line.status
