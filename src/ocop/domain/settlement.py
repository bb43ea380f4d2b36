"""What a pending call's settlement does to an order (N1, N2), and a capture's receipt
voucher: the part of :mod:`ocop.domain.effects` that a notification or a recovery applies
to a call answered *pending*, once its final outcome is known."""

from __future__ import annotations

from datetime import datetime

from ocop.domain import line_auths, postings, steps
from ocop.domain.holds import deposit_declined, deposit_taken, held_unless_renewable
from ocop.domain.invoice_tasks import short_undone
from ocop.domain.journal import Voucher, VoucherKind
from ocop.domain.line_refunds import awaiting
from ocop.domain.operations import Operation, ProcessorResult
from ocop.domain.order import Order
from ocop.domain.settings import Settings
from ocop.domain.values import replaced

__all__ = ["DEPOSIT_REFERENCE", "capture_voucher", "settle_pending"]

#: The reference of a deposit capture's voucher: a deposit has no invoice (D1).
DEPOSIT_REFERENCE = "DEPOSIT"


def capture_voucher(
    order: Order,
    op: Operation,
    step: steps.Capture | steps.DepositCapture,
    settings: Settings,
    now: datetime,
    *,
    journal: str = "",
) -> Voucher:
    """A capture's receipt voucher, in ``journal`` (else the one the settings name, J2)."""
    invoice_id = step.invoice_id if isinstance(step, steps.Capture) else None
    reference = DEPOSIT_REFERENCE if invoice_id is None else invoice_id
    method = order.line(step.line_id).method.value
    return postings.voucher(VoucherKind.PAYMENT, order, op.key, reference, method,
                            step.amount, settings, now, journal=journal)  # fmt: skip


def settle_pending(
    order: Order, op: Operation, result: ProcessorResult, settings: Settings, now: datetime
) -> tuple[Order, tuple[Voucher, ...]]:
    """A pending operation settled (N1, N2): a capture or refund approved is received or
    refunded now, with its voucher; one that failed is undone. Any other pending call
    (:data:`~ocop.domain.effects.NOT_UNDONE`) counted as done already: its settlement
    changes nothing here (a failed one is kept for review by the caller), but a failed
    void marks its authorization to be voided again (V5: the processor still holds it).
    The order as settled, and the vouchers to post."""
    approved = result.outcome.moves_money
    step = op.step
    match step:
        case steps.Capture() | steps.DepositCapture():
            journal = postings.journal_name(VoucherKind.PAYMENT, order, settings)
            line = order.line(step.line_id).capture_settled(op.key, approved=approved,
                                                            journal=journal)  # fmt: skip
            if not approved:
                # Undone: a line left with nothing open waits for a new authorization (the
                # processor ended the one it had, N4); one whose card cannot be authorized
                # again holds the order.
                line = awaiting(line, cancelled=order.cancelled)
                settled = order.with_line(line)
                if isinstance(step, steps.DepositCapture):  # D1: as a live decline holds it
                    settled = deposit_declined(settled, now)
                else:  # I2, S4: the rest it released is held again: its hold may end
                    settled = short_undone(settled, settings, now)
                if line.authorized.is_positive():
                    return settled, ()
                why = "a pending capture failed and the card cannot be authorized again"
                return held_unless_renewable(settled, line, now, why), ()
            settled = order.with_line(line)
            if isinstance(step, steps.DepositCapture):  # D1, S4: a declined one's hold may end
                settled = deposit_taken(settled, settings, now)
            voucher = capture_voucher(order, op, step, settings, now, journal=journal)
            return settled, (voucher,)
        case steps.Refund():
            journal = postings.journal_name(VoucherKind.REFUND, order, settings)
            line = order.line(step.line_id).refund_settled(op.key, approved=approved,
                                                           journal=journal)  # fmt: skip
            settled = order.with_line(line)
            if not approved:
                return settled, ()
            method = order.line(step.line_id).method.value
            voucher = postings.voucher(VoucherKind.REFUND, order, op.key, step.return_id,
                                       method, step.amount, settings, now,
                                       journal=journal)  # fmt: skip
            return settled, (voucher,)
        case steps.UnlinkedRefund():
            # Approved, refunded now with its voucher; failed, the money never went: it
            # leaves the order, whose return can be refunded again (R5).
            if not approved:
                others = tuple(r for r in order.other_refunds if r.refund_id != op.key)
                return replaced(order, other_refunds=others), ()
            voucher = postings.voucher(VoucherKind.REFUND, order, op.key, step.return_id,
                                       "card", step.amount, settings, now)  # fmt: skip
            others = tuple(replaced(r, pending=False, journal=voucher.journal_name)
                           if r.refund_id == op.key else r
                           for r in order.other_refunds)  # fmt: skip
            return replaced(order, other_refunds=others), (voucher,)
        case steps.Void() if not approved:
            line = line_auths.unreleased(order.line(step.line_id), step.auth_id, step.number)
            return order.with_line(line), ()
        case steps.Void() if op.result and op.result.amount is None and result.amount is not None:
            # N2, V5: what a pending answer did not say (Adyen's cancel), the settlement does.
            line = line_auths.released_as_settled(order.line(step.line_id), step.auth_id,
                result.amount, awaiting_new=step.purpose.makes_way)  # fmt: skip
            return order.with_line(line), ()
    return order, ()
