"""What the processor reports unasked does to an order (rule N4), pure.

- A **chargeback**: the card holder's bank took money back from a capture. It is recorded
  on the capture, once per notification, with a voucher of its own kind posted like a
  refund; what the capture can still refund shrinks by it (never below zero).
- Its **reversal**: the chargeback no longer counts, and a reversal voucher posts the
  money back. On a cancelled order whose deposit then holds money due back (D2), it is
  marked for review: only cancelling again refunds that money.
- Every reversal voucher posts to the journal of the voucher it undoes, which the
  movement records, even when the settings name other journals now (J2, V4).
- An **authorization ended** by the processor (cancelled, or expired there): nothing is
  open on it any more; the line waits for a new authorization, which invoicing makes
  with a reusable card (I2, I3), or the order is held as for an expired authorization.
- A capture or refund the processor **rejected after approving it**: undone (its money
  never moved), kept on the line as history, its voucher reversed.

Each function returns the order and its vouchers, or None when the notification was
applied already (nothing changes); one the order cannot take raises
:class:`~ocop.domain.errors.IllegalTransition` (the caller keeps it for review).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import attrs

from ocop.domain import keys, postings, steps
from ocop.domain.deposits import CANCEL_RETURN, deposit_refunds
from ocop.domain.effects import DEPOSIT_REFERENCE
from ocop.domain.errors import IllegalTransition
from ocop.domain.holds import deposit_declined, held_unless_renewable
from ocop.domain.journal import Voucher, VoucherKind
from ocop.domain.line_refunds import awaiting, uncaptured
from ocop.domain.money import Money
from ocop.domain.movements import Capture, Chargeback
from ocop.domain.operations import Operation
from ocop.domain.order import Order
from ocop.domain.settings import Settings
from ocop.domain.tender import PaymentLine
from ocop.domain.values import replaced

__all__ = [
    "Recorded",
    "charge_back",
    "end_authorization",
    "reject_capture",
    "reject_refund",
    "reverse_chargeback",
]


@attrs.frozen(kw_only=True)
class Recorded:
    """The order once a notification is applied, and the vouchers it posts. ``review``:
    why a person should look at it as well (empty: nothing to look at)."""

    order: Order
    vouchers: tuple[Voucher, ...] = ()
    review: str = ""


def _refused(order: Order, what: str) -> IllegalTransition:
    return IllegalTransition(f"order {order.order_id}: {what} (N4)", order_id=order.order_id)


def _with_capture(line: PaymentLine, capture: Capture) -> PaymentLine:
    captures = tuple(capture if c.capture_id == capture.capture_id else c for c in line.captures)
    return line.settled_with(captures=captures)


def _reference(capture: Capture) -> str:
    return DEPOSIT_REFERENCE if capture.invoice_id is None else capture.invoice_id


def _chargebacks(order: Order) -> list[tuple[PaymentLine, Capture, Chargeback]]:
    return [(line, cap, cb) for line in order.lines for cap in line.captures
            for cb in cap.chargebacks]  # fmt: skip


# -- chargebacks ----------------------------------------------------------------------------
def charge_back(
    order: Order,
    line_id: str,
    capture_id: str,
    chargeback: Chargeback,
    *,
    settings: Settings,
    now: datetime,
) -> Recorded | None:
    """Record ``chargeback`` against a capture, once per ``chargeback_id``.

    The bank took the money: a chargeback beyond what the capture could still refund, or
    beyond what the order has left to pay back (refunds not linked to a capture), is
    recorded whole (its refundable amount goes to zero) and marked for review; one beyond
    what the capture took, less its other chargebacks, cannot be and is refused."""
    if any(cb.chargeback_id == chargeback.chargeback_id for _, _, cb in _chargebacks(order)):
        return None
    line = order.line(line_id)
    capture = line.capture(capture_id)
    amount = chargeback.amount
    if capture.pending or not line.is_card:
        raise _refused(order, f"capture {capture_id} has no money received to charge back")
    if amount.currency != order.currency:
        raise _refused(order, "a chargeback in another currency")
    if amount > capture.amount - capture.charged_back:
        raise _refused(order, f"a chargeback of {amount} beyond what capture {capture_id} took")
    review = ""
    if amount > capture.refundable:
        review = f"a chargeback of {amount} beyond the {capture.refundable} left refundable"
    elif amount > order.returnable:
        # Refunds not linked to a capture (fallback, R3; to another card, R4) paid back
        # part of what the order received: the customer was refunded and disputed too.
        review = (f"a chargeback of {amount} beyond the {order.returnable} the order has "
                  "left to pay back")  # fmt: skip
    key = keys.chargeback_key(capture_id, chargeback.chargeback_id)
    voucher = postings.voucher(VoucherKind.CHARGEBACK, order, key, _reference(capture),
                               line.method.value, amount, settings, now)  # fmt: skip
    recorded = replaced(chargeback, journal=voucher.journal_name)
    charged = replaced(capture, chargebacks=(*capture.chargebacks, recorded))
    return Recorded(order=order.with_line(_with_capture(line, charged)), vouchers=(voucher,),
                    review=review)  # fmt: skip


def reverse_chargeback(
    order: Order,
    reversal_id: str,
    *,
    dispute: str,
    captures: Collection[str],
    amount: Money | None,
    settings: Settings,
    now: datetime,
) -> Recorded | None:
    """Reverse the chargeback of ``dispute`` (without one: a chargeback against one of
    ``captures``), once per ``reversal_id``: the newest such chargeback not yet reversed
    (by when the processor says it happened), of ``amount`` when given."""
    found = _chargebacks(order)
    if any(cb.reversed_by == reversal_id for _, _, cb in found):
        return None
    open_ = [
        (line, cap, cb)
        for line, cap, cb in found
        if not cb.reversed
        and (cb.dispute == dispute if dispute else cap.capture_id in captures)
        and (amount is None or cb.amount == amount)
    ]
    if not open_:
        raise _refused(order, "a chargeback reversal that names no chargeback recorded")
    line, capture, chargeback = max(open_, key=lambda found: found[2].charged_back_at)
    undone = replaced(chargeback, reversed_by=reversal_id, reversed_at=now)
    chargebacks = tuple(undone if cb is chargeback else cb for cb in capture.chargebacks)
    line = _with_capture(line, replaced(capture, chargebacks=chargebacks))
    key = keys.reversal_key(keys.chargeback_key(capture.capture_id, chargeback.chargeback_id))
    voucher = postings.voucher(VoucherKind.CHARGEBACK_REVERSAL, order, key, _reference(capture),
                               line.method.value, chargeback.amount, settings, now,
                               journal=chargeback.journal)  # fmt: skip
    reversed_ = order.with_line(line)
    return Recorded(order=reversed_, vouchers=(voucher,), review=_due_back(reversed_, settings))


def _due_back(order: Order, settings: Settings) -> str:
    """D2: a cancelled order (no invoice) whose deposit holds money due back again, which
    only cancelling it again refunds: a person must be told (empty: nothing due)."""
    if not order.cancelled or order.invoices:
        return ""
    plan = deposit_refunds(order, settings.deposits, CANCEL_RETURN)
    if not plan.linked and not plan.fallback:
        return ""
    return "a chargeback reversed on a cancelled order: its deposit holds money due back"


# -- authorizations ended by the processor ---------------------------------------------------
def end_authorization(
    order: Order, line_id: str, auth_id: str, *, by: str, now: datetime
) -> Recorded | None:
    """The processor cancelled an authorization or let it expire: nothing is open on it
    any more, once (``by``: the notification's id)."""
    line = order.line(line_id)
    auth = line.authorization(auth_id)
    if auth.ended_by:
        return None
    was_open = auth.open_amount.is_positive()
    ended = replaced(auth, ended_by=by, lapsed=auth.lapsed or was_open)
    auths = tuple(ended if a.auth_id == auth_id else a for a in line.authorizations)
    if not was_open:  # nothing open on it: only the record changes, never the line's status
        return Recorded(order=order.with_line(replaced(line, authorizations=auths)))
    line = awaiting(line.settled_with(authorizations=auths), cancelled=order.cancelled)
    why = "the processor ended an authorization and the card cannot be authorized again"
    return Recorded(order=held_unless_renewable(order.with_line(line), line, now, why))


# -- captures and refunds rejected after their approval --------------------------------------
def reject_capture(
    op: Operation, order: Order, settings: Settings, now: datetime
) -> Recorded | None:
    """The processor rejected capture ``op`` after approving it: the money never moved.

    The capture leaves the line (kept in ``rejected_captures``), its authorization holds
    again what the line still needs (as after a failed pending capture, N2; an expired one
    is renewed before the next capture, I3), the invoice needs the amount again, and its
    receipt is reversed; a deposit capture holds the order as a deposit declined later
    does (D1, ``PAYMENT_DECLINED``). A capture refunded, charged back, or a deposit already
    used by an invoice cannot be undone."""
    step = op.step
    if not isinstance(step, steps.Capture | steps.DepositCapture):
        raise _refused(order, f"{op.key} is not a capture")
    line = order.line(step.line_id)
    if any(c.capture_id == op.key for c in line.rejected_captures):
        return None
    capture = line.capture(op.key)
    if (capture.pending or not capture.refunded.is_zero() or capture.chargebacks
            or any(r.capture_id == op.key for r in line.refunds)):  # fmt: skip
        raise _refused(order, f"capture {op.key} was refunded or charged back: kept as it is")
    if capture.invoice_id is None and line.applications:
        raise _refused(order, f"deposit capture {op.key} was used by an invoice")
    undone = line.settled_with(
        authorizations=uncaptured(line, capture),
        captures=tuple(c for c in line.captures if c.capture_id != op.key),
        rejected_captures=(*line.rejected_captures, capture),
    )
    undone = awaiting(undone, cancelled=order.cancelled)
    changed = held_unless_renewable(order.with_line(undone), undone, now,
                                     "a capture was rejected and the card cannot be "
                                     "authorized again")  # fmt: skip
    if isinstance(step, steps.DepositCapture):  # D1: a deposit declined later holds the order
        changed = deposit_declined(changed, now)
    voucher = postings.voucher(VoucherKind.PAYMENT_REVERSAL, order, keys.reversal_key(op.key),
                               _reference(capture), line.method.value, capture.amount,
                               settings, now, journal=capture.journal)  # fmt: skip
    return Recorded(order=changed, vouchers=(voucher,))


def reject_refund(
    op: Operation, order: Order, settings: Settings, now: datetime
) -> Recorded | None:
    """The processor rejected refund ``op`` after approving it: the money never went back.

    The refund leaves the line (kept in ``rejected_refunds``), its capture may be refunded
    again (a retry of the return refunds it under a key of its own, R5), and its voucher
    is reversed."""
    step = op.step
    if not isinstance(step, steps.Refund):
        raise _refused(order, f"{op.key} is not a linked refund")
    line = order.line(step.line_id)
    if any(r.refund_id == op.key for r in line.rejected_refunds):
        return None
    found = [r for r in line.refunds if r.refund_id == op.key and not r.pending]
    if not found:
        raise _refused(order, f"no refund {op.key} to undo")
    undone = line.refund_settled(op.key, approved=False)
    undone = replaced(undone, rejected_refunds=(*line.rejected_refunds, found[0]))
    voucher = postings.voucher(VoucherKind.REFUND_REVERSAL, order, keys.reversal_key(op.key),
                               step.return_id, line.method.value, found[0].amount, settings,
                               now, journal=found[0].journal)  # fmt: skip
    return Recorded(order=order.with_line(undone), vouchers=(voucher,))
