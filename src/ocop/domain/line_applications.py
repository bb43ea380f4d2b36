"""A prepayment line posted and applied to invoices, a card line's deposit used by one
(I1, D1). :class:`~ocop.domain.tender.PaymentLine` has each as a method."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocop.domain.line_status import POSTED, LineStatus, refused, require_card
from ocop.domain.values import replaced

if TYPE_CHECKING:
    from ocop.domain.movements import Capture
    from ocop.domain.tender import PaymentLine

__all__ = ["applied", "posted", "used_deposit"]


def posted(line: PaymentLine) -> PaymentLine:
    """A prepayment was received and posted (at submit)."""
    if not line.is_prepayment:
        raise refused(line, "only a prepayment is posted")
    if line.status in POSTED:
        return line
    if line.status is not LineStatus.NOT_SUBMITTED:
        raise refused(line, "cannot post")
    return replaced(line, status=LineStatus.PAID)


def applied(line: PaymentLine, capture: Capture) -> PaymentLine:
    """A posted prepayment was applied to an invoice (rule I1)."""
    if not line.is_prepayment or capture.auth_id is not None:
        raise refused(line, "only a prepayment is applied without authorization")
    if capture.amount > line.capturable:
        raise refused(line, "applied beyond what the prepayment holds", capture.amount)
    return replaced(line, captures=(*line.captures, capture))


def used_deposit(line: PaymentLine, application: Capture) -> PaymentLine:
    """Part of this card line's deposit was applied to an invoice (I1, D1)."""
    require_card(line, "use the deposit of")
    if application.auth_id is not None or application.invoice_id is None:
        raise refused(line, "a deposit is used by an invoice, without authorization")
    if application.amount > line.deposit_available:
        raise refused(line, "used beyond what the deposit holds", application.amount)
    return replaced(line, applications=(*line.applications, application))
