"""Refunds on a payment line, and the settlement of its pending captures and refunds
(V2, V3, N1, N2). :class:`~ocop.domain.tender.PaymentLine` has each as a method."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ocop.domain.line_status import LineStatus, refused, require_card
from ocop.domain.money import Money
from ocop.domain.movements import Authorization, Capture, Refund
from ocop.domain.values import replaced

if TYPE_CHECKING:
    from ocop.domain.tender import PaymentLine

__all__ = [
    "awaiting",
    "capture_settled",
    "refund_settled",
    "refunded_with",
    "refunded_with_all",
    "uncaptured",
]


def capture_settled(
    line: PaymentLine, capture_id: str, *, approved: bool, journal: str = ""
) -> PaymentLine:
    """A pending capture's outcome (N1, N2): approved, it is received (its voucher posted
    to ``journal``); failed, it is undone: its authorization holds again what the capture
    took and (a single capture) released, as the processor's does, unless the processor
    ended it (:func:`uncaptured`)."""
    cap = line.capture(capture_id)
    if approved:
        kept = tuple(replaced(c, pending=False, journal=journal) if c is cap else c
                     for c in line.captures)  # fmt: skip
        return line.settled_with(captures=kept)
    if not cap.refunded.is_zero():
        raise refused(line, f"capture {capture_id} was refunded: it cannot be undone")
    captures = tuple(c for c in line.captures if c is not cap)
    back = uncaptured(line, cap, as_processor=True)
    return line.settled_with(authorizations=back, captures=captures)


def uncaptured(
    line: PaymentLine, cap: Capture, *, as_processor: bool = False
) -> tuple[Authorization, ...]:
    """The line's authorizations once capture ``cap`` never happened (a pending capture
    that failed, or one the processor rejected after approving it): its authorization holds
    again what the capture took and (a single capture) released, as the processor's does
    (``as_processor``), or only what the line still needs of that (another authorization
    may have taken over what a single capture released, I2); nothing on an authorization
    the processor ended (N4: it is gone there)."""
    if cap.auth_id is None:
        return line.authorizations
    auth = line.authorization(cap.auth_id)
    zero = Money.zero(line.currency)
    need = line.amount - (line.captured - cap.amount) - line.authorized
    closed = cap.amount + (zero if auth.multi_capture else auth.voided)
    reopen = closed if as_processor else need.max(zero).min(closed)
    if auth.ended_by:
        reopen = zero
    # A void released it already (the capture had failed at the processor before it).
    early = (auth.released_early or zero).min(reopen) if cap.pending else zero
    left = (auth.released_early or zero) - early
    back = replaced(auth, captured=auth.captured - cap.amount,
                    voided=auth.voided + cap.amount - reopen + early,
                    released_early=left if left.is_positive() else None)  # fmt: skip
    return line.authorizations_with(back)


def awaiting(line: PaymentLine, *, cancelled: bool) -> PaymentLine:
    """A line left with nothing captured or open waits for a new authorization: it is not
    retired as a voided line is (the next invoice authorizes its card again). On a
    ``cancelled`` order it stays retired: nothing will invoice it."""
    if line.status is LineStatus.VOIDED and not line.pending_removal and not cancelled:
        return replaced(line, status=LineStatus.NOT_SUBMITTED)
    return line


def refund_settled(
    line: PaymentLine, refund_id: str, *, approved: bool, journal: str = ""
) -> PaymentLine:
    """A pending refund's outcome (N1, N2): approved, it is refunded (its voucher posted
    to ``journal``); failed, it is undone and its capture may be refunded again."""
    found = [r for r in line.refunds if r.refund_id == refund_id]
    if not found:
        raise refused(line, f"no refund {refund_id}")
    refund = found[0]
    if approved:
        kept = tuple(replaced(r, pending=False, journal=journal) if r is refund else r
                     for r in line.refunds)  # fmt: skip
        return line.settled_with(refunds=kept)
    refunds = tuple(r for r in line.refunds if r is not refund)
    captures = tuple(
        replaced(c, refunded=c.refunded - refund.amount) if c.capture_id == refund.capture_id else c
        for c in line.captures
    )
    return line.settled_with(refunds=refunds, captures=captures)


def refunded_with(line: PaymentLine, refund: Refund) -> PaymentLine:
    """A refund of this line: against one capture, or of a prepayment (fallback)."""
    if not line.is_prepayment:
        return line.refunded_with_all((refund,))
    if any(r.refund_id == refund.refund_id for r in line.refunds):
        raise refused(line, f"refund {refund.refund_id} already recorded")
    if refund.amount > line.received - line.refunded - line.refunding:
        raise refused(line, "refund exceeds what was received (V3)", refund.amount)
    return line.settled_with(refunds=(*line.refunds, refund))


def refunded_with_all(line: PaymentLine, refunds: Sequence[Refund]) -> PaymentLine:
    """Refunds of this card line's captures (a return's batch at once): none recorded
    before, each naming its capture, and no capture refunded beyond what it took (V2);
    the captures are rebuilt once."""
    require_card(line, "refund a capture of")
    known = {r.refund_id for r in line.refunds}
    by_capture: dict[str, Money] = {}
    for refund in refunds:
        if refund.refund_id in known:
            raise refused(line, f"refund {refund.refund_id} already recorded")
        if refund.capture_id is None:
            raise refused(line, "a card line's refund names its capture")
        known.add(refund.refund_id)
        earlier = by_capture.get(refund.capture_id)
        by_capture[refund.capture_id] = (
            refund.amount if earlier is None else earlier + refund.amount
        )
    for capture_id, amount in by_capture.items():
        cap = line.capture(capture_id)
        # V2 only: planning keeps refunds within what chargebacks left (refundable), but
        # a chargeback recorded while a refund was away must not refuse its answer (N4).
        if amount > cap.unrefunded:
            raise refused(
                line,
                f"refund of {amount} exceeds the {cap.unrefunded} refundable on "
                f"capture {cap.capture_id} (V2)",
                amount,
            )
    rebuilt = tuple(
        replaced(c, refunded=c.refunded + by_capture[c.capture_id])
        if c.capture_id in by_capture
        else c
        for c in line.captures
    )
    return line.settled_with(captures=rebuilt, refunds=(*line.refunds, *refunds))
