"""What a processor outcome does to an order: one dispatch for the live path and for
recovery alike (rule O2: recovery applies an outcome exactly as if the call had
returned).

An :class:`~ocop.domain.operations.Operation` carries its typed step, which names
everything the outcome touches: the line, the authorization, the invoice or return,
and the purpose of a void.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

from ocop.domain import line_auths, postings, steps
from ocop.domain.errors import IllegalTransition
from ocop.domain.holds import (
    REST_DECLINED,
    deposit_declined,
    deposit_taken,
    ended_by_retry,
    out_of_balance,
)
from ocop.domain.invoice_tasks import released_short
from ocop.domain.journal import Voucher, VoucherKind
from ocop.domain.keys import voucher_id
from ocop.domain.money import Money
from ocop.domain.operations import Operation, ProcessorResult
from ocop.domain.order import Hold, HoldCode, Order
from ocop.domain.outcomes import Outcome
from ocop.domain.settings import Settings
from ocop.domain.settlement import DEPOSIT_REFERENCE, capture_voucher, settle_pending
from ocop.domain.tender import Authorization, Capture, LineStatus, Refund
from ocop.domain.tokens import AuthorizationToken, CaptureToken, RefundToken
from ocop.domain.values import built, replaced

__all__ = [
    "DEPOSIT_REFERENCE",
    "NOT_UNDONE",
    "Applied",
    "apply_outcome",
    "apply_outcomes",
    "voucher_id",
]

#: Pending calls the order counts as done at once and does not undo when they are refused
#: in the end (N1): a person must look at the order (their notification is kept for review,
#: a recovery lists them for reconciliation).
NOT_UNDONE = steps.Authorize | steps.Adjust | steps.Void | steps.Tokenize


@attrs.frozen(kw_only=True)
class Applied:
    """The order after an outcome, and the vouchers it posts."""

    order: Order
    vouchers: tuple[Voucher, ...] = ()


def _answer_error(op: Operation, what: str) -> IllegalTransition:
    return IllegalTransition(
        f"the processor's answer to {op.key} carries no {what}", order_id=op.order_id
    )


def apply_outcome(
    order: Order,
    op: Operation,
    result: ProcessorResult,
    settings: Settings,
    now: datetime,
    *,
    after_doubt: bool = False,
) -> Applied:
    """The order once ``result`` (an outcome of ``op`` other than unknown) is known.

    ``op`` as logged: when its outcome was pending (N1), ``result`` settles it.
    ``after_doubt``: found by ``recover()`` or a notification (a timeout, a crash), not live."""
    step = op.step
    if op.outcome is Outcome.PENDING:
        settled, vouchers = settle_pending(order, op, result, settings, now)
        return Applied(order=settled, vouchers=vouchers)
    if not result.outcome.moves_money:
        doubted = after_doubt or op.outcome is Outcome.UNKNOWN  # a crash leaves no outcome
        failed = _failed(order, step, result, after_doubt=doubted, settings=settings, now=now)
        if isinstance(step, steps.DepositCapture) and result.outcome is Outcome.DECLINED:
            return Applied(order=deposit_declined(failed.order, now))  # D1, live or not
        return failed
    match step:
        case steps.Tokenize():
            if result.card is None:
                raise _answer_error(op, "card token")
            line = order.line(step.line_id).not_pending()
            return Applied(order=order.with_line(line.tokenized(result.card)))
        case steps.Authorize():
            return Applied(order=_authorized(order, op, step, result, settings, now))
        case steps.Adjust():
            line = line_auths.approved_adjustment(order.line(step.line_id), step,
                                                  cancelled=order.cancelled)  # fmt: skip
            return Applied(order=order.with_line(line))
        case steps.Void():
            return Applied(order=_voided(order, step, result.amount))
        case steps.Capture() | steps.DepositCapture():
            if not isinstance(result.token, CaptureToken):
                raise _answer_error(op, "capture token")
            pending = result.outcome is Outcome.PENDING
            return _captured(order, op, step, result.token, pending=pending, settings=settings,
                             now=now)  # fmt: skip
        case steps.Refund():
            refund, voucher = _linked_refund(order, op, step, result, settings, now)
            line = order.line(step.line_id)
            refunded = order.with_line(line.refunded_with(refund))
            return Applied(order=refunded, vouchers=() if refund.pending else (voucher,))
        case steps.UnlinkedRefund():
            pending = result.outcome is Outcome.PENDING  # refunding until settled (N1)
            voucher = postings.voucher(VoucherKind.REFUND, order, op.key, step.return_id,
                                       "card", step.amount, settings, now)  # fmt: skip
            refund = Refund(refund_id=op.key, return_id=step.return_id, amount=step.amount,
                            token=_refund_token(result), refunded_at=now, method="card",
                            pending=pending,
                            journal="" if pending else voucher.journal_name)  # fmt: skip
            return Applied(order=order.with_other_refund(refund, approved=True),
                           vouchers=() if pending else (voucher,))  # fmt: skip


def _authorized(  # noqa: PLR0917 - the outcome, and what judges the order after it
    order: Order,
    op: Operation,
    step: steps.Authorize,
    result: ProcessorResult,
    settings: Settings,
    now: datetime,
) -> Order:
    if not isinstance(result.token, AuthorizationToken):
        raise _answer_error(op, "authorization token")
    granted = _granted(step.amount, result.amount)
    auth = Authorization.new(step.auth_id, result.token, granted, at=now,
                             multi_capture=result.multi_capture,
                             card_value=step.target)  # fmt: skip
    line = order.line(step.line_id)
    # X1, A1, V5: the line retired, or the order cancelled, while the call was away (a
    # cancellation raced it): nothing will capture what the processor holds now. The line
    # records it, marked (A2), and recover() or the renewal job releases it.
    if line.status is LineStatus.VOIDED:
        return order.with_line(line_auths.strayed(line, auth))
    if order.cancelled:
        return order.with_line(line.resubmittable().authorized_with(auth).renewal(under_way=True))
    # A2: a declined line of a validated order authorized again is the renewal job's
    # retry; its holds whose cause is gone end, found live or by recover() (O2).
    retried = line.status is LineStatus.DECLINED and not order.needs_completion
    partial = granted < step.amount
    if partial:
        # N4: a partial approval; the line holds what was approved, and the order is short
        # by the rest (out of balance beyond its threshold, S1).
        line = line.with_amount(line.amount - (step.amount - granted))
    authorized = order.with_line(line.resubmittable().authorized_with(auth))
    if partial and not authorized.needs_completion and out_of_balance(authorized, settings):
        # Placement and completion judge that when they validate; after them (a renewal,
        # an invoice's, found live or by recover()) the order is held here, as they would.
        short = Hold(code=HoldCode.OUT_OF_BALANCE, placed_at=now,
                     reason="an authorization was approved for less")  # fmt: skip
        authorized = authorized.with_hold(short)
    return ended_by_retry(authorized, settings, now) if retried else authorized


def _granted(asked: Money, approved: Money | None) -> Money:
    """What an approved authorization holds: the amount asked, or less when the processor
    approved part of it (a partial approval, N4); never more than asked."""
    if approved is None or approved.currency != asked.currency or not approved.is_positive():
        return asked
    return approved.min(asked)


def apply_outcomes(
    order: Order,
    answers: Sequence[tuple[Operation, ProcessorResult]],
    settings: Settings,
    now: datetime,
    *,
    after_doubt: bool = False,
) -> Applied:
    """The order once every outcome of a batch is known: each applied as
    :func:`apply_outcome` applies it (``after_doubt`` alike), the linked refunds of a
    return line by line at once, so a batch costs in proportion to its size."""
    vouchers: list[Voucher] = []
    refunds: dict[str, list[Refund]] = {}
    for op, result in answers:
        step = op.step
        if isinstance(step, steps.Refund) and result.outcome.moves_money and op.outcome is None:
            refund, voucher = _linked_refund(order, op, step, result, settings, now)
            refunds.setdefault(step.line_id, []).append(refund)
            if not refund.pending:
                vouchers.append(voucher)
            continue
        applied = apply_outcome(order, op, result, settings, now, after_doubt=after_doubt)
        order = applied.order
        vouchers.extend(applied.vouchers)
    for line_id, batch in refunds.items():
        order = order.with_line(order.line(line_id).refunded_with_all(batch))
    return Applied(order=order, vouchers=tuple(vouchers))


def _linked_refund(  # noqa: PLR0917 - what one refund's record and voucher need
    order: Order,
    op: Operation,
    step: steps.Refund,
    result: ProcessorResult,
    settings: Settings,
    now: datetime,
) -> tuple[Refund, Voucher]:
    pending = result.outcome is Outcome.PENDING
    journal = "" if pending else postings.journal_name(VoucherKind.REFUND, order, settings)
    refund = Refund(refund_id=op.key, return_id=step.return_id, amount=step.amount,
                    capture_id=step.capture_id, token=_refund_token(result),
                    refunded_at=now, pending=pending, journal=journal)  # fmt: skip
    method = order.line(step.line_id).method.value
    voucher = postings.voucher(VoucherKind.REFUND, order, op.key, step.return_id, method,
                               step.amount, settings, now, journal=journal)  # fmt: skip
    return refund, voucher


def _failed(
    order: Order,
    step: steps.Step,
    result: ProcessorResult,
    *,
    after_doubt: bool,
    settings: Settings,
    now: datetime,
) -> Applied:
    """A declined call, or one the processor never received, changes only a line waiting
    for authorization (or tokenization): it waits again, or is declined; and a line that
    captured money, short of its amount after a declined authorization or adjustment (held
    for a new payment past completion); and a line whose adjustment is found declined after
    a doubt, or whose declined adjustment's release failed."""
    if result.outcome is Outcome.DECLINED and isinstance(step, steps.Authorize | steps.Adjust):
        order = _kept_held(order, step.line_id, short_only=True)
    if result.outcome is Outcome.DECLINED and isinstance(step, steps.Authorize):
        order = _rest_declined(order, step.line_id, settings, now)
    if (
        result.outcome is Outcome.DECLINED
        and isinstance(step, steps.Authorize | steps.Adjust | steps.Tokenize)
        and order.needs_completion
        and not order.line(step.line_id).renewing
    ):
        order = replaced(order, declined_in_completion=True)  # S2, whoever finishes it
    if result.outcome is Outcome.DECLINED and isinstance(step, steps.Adjust) and after_doubt:
        order = _kept_held(order, step.line_id)
    if isinstance(step, steps.Void) and step.purpose is steps.VoidPurpose.DECLINED:
        # C3: the authorization a declined adjustment was to release is still held.
        order = _kept_held(order, step.line_id)
    if not isinstance(step, steps.Authorize | steps.Tokenize):
        return Applied(order=order)
    line = order.line(step.line_id)
    if result.outcome is Outcome.NOT_RECEIVED:
        return Applied(order=order.with_line(line.not_pending()))
    if line.authorized.is_zero() and line.captured.is_zero():
        return Applied(order=order.with_line(line.declined()))
    return Applied(order=order.with_line(line.not_pending()))


def _kept_held(order: Order, line_id: str, *, short_only: bool = False) -> Order:
    """C3, C5, S1, O2: a line of an order in completion keeps what the processor holds for
    it (captured, and anything still open) as its amount, the difference to the order's
    total due (or overpaid) for a person to settle, never asked again of the card that
    declined it by an untouched submit. Renewal (A1) and invoicing (I3) hold a line at its
    amount instead.

    ``short_only``: the card declined more for a line that captured money (live, or found
    by ``recover()`` or a notification after a doubt, alike), so it keeps what it holds
    when that is less than its amount, as for a partial approval (N4). Else: the line's
    adjustment, up or down, found declined after a doubt, or declined live and its release
    declined or never received, while it still holds an authorization: the processor holds
    it as it was (live, the submit releases it, the line declined or kept at what it
    captured)."""
    line = order.line(line_id)
    held = line.captured + line.authorized
    if short_only:
        keeps = line.captured.is_positive() and line.amount > held
    else:
        keeps = line.authorized.is_positive()
    completing = order.needs_completion and not line.renewing
    if not (completing and line.active and keeps):
        return order
    return order.with_line(line.settled_with(amount=held))


#: The same for a line that holds nothing (a pickup's retry after its void, I6), declined.
RETRY_DECLINED = (
    "the card declined a new authorization of a line that holds nothing: a new payment is required"
)


def _rest_declined(order: Order, line_id: str, settings: Settings, now: datetime) -> Order:
    """I2, I6, S1, S2: past completion, a line whose card declined a new authorization of
    what it still has to pay (the rest a single capture released, I2; a pickup's retry,
    I6). One that captured money keeps what it holds as its amount, so no later invoice
    asks that card again; one that holds nothing (a pickup's retry after its void) is
    declined. Either way the order gets a ``PAYMENT_DECLINED`` hold (S4: released without
    the override once no declined line remains and, for a kept line, nothing is due), and an
    ``OUT_OF_BALANCE`` one when it is then out of balance: it waits for a new payment
    through completion. The same live, found by ``recover()`` or told by a notification
    (O2). A line under renewal (A1, I3) is held at its amount instead
    (``AUTHORIZATION_EXPIRED``); a line declined already (the renewal job's retry, A2)
    leaves the holds as they are; an order being placed is held by its validation; a
    cancelled order is never held. An uncaptured line still open on another
    authorization is left as it is (as in completion, C3)."""
    line = order.line(line_id)
    held = line.captured + line.authorized
    elsewhere = (order.cancelled or order.needs_completion or order.placing
                 or line.renewing or not line.active)  # fmt: skip
    if elsewhere or line.amount <= held:
        return order
    if line.captured.is_positive():
        kept, reason = order.with_line(line.settled_with(amount=held)), REST_DECLINED
    elif held.is_zero():
        kept, reason = order.with_line(line.declined()), RETRY_DECLINED
    else:
        return order
    kept = kept.with_hold(Hold(code=HoldCode.PAYMENT_DECLINED, reason=reason, placed_at=now))
    if out_of_balance(kept, settings):
        kept = kept.with_hold(Hold(code=HoldCode.OUT_OF_BALANCE, reason=reason, placed_at=now))
    return kept


def _voided(order: Order, step: steps.Void, released: Money | None) -> Order:
    """``released``: what the processor says the void released (None: all that was open).
    Less than is open now when money came back to the authorization after the void (a
    failed pending capture undone while the void's answer was unknown): that stays open."""
    line = order.line(step.line_id)
    auth = line.authorization(step.auth_id)
    if auth.open_amount.is_zero():
        if auth.unreleased:  # V5: what a refused pending void left held is released now
            return order.with_line(line_auths.released_again(line, auth.auth_id, step.number))
        return order
    voided = line.voided_auth(auth.auth_id, awaiting_new=step.purpose.makes_way,
                              number=step.number, amount=released)  # fmt: skip
    if step.purpose is steps.VoidPurpose.DECLINED:
        # C3: a declined adjustment declines the line; its authorization is released. A
        # partly captured line (C5) keeps what it holds and asks no more of that card: the
        # rest is due by a new payment, as for a partial approval (N4).
        if voided.captured.is_zero():
            voided = voided.declined()
        else:
            voided = voided.settled_with(amount=voided.captured + voided.authorized)
    if (
        step.purpose is steps.VoidPurpose.EXPIRED
        and voided.captured.is_zero()
        and voided.authorized.is_zero()
    ):
        # I3: an expired authorization without a reusable card token declines its line.
        voided = voided.declined()
    return order.with_line(voided)


def _captured(
    order: Order,
    op: Operation,
    step: steps.Capture | steps.DepositCapture,
    token: CaptureToken,
    *,
    pending: bool,
    settings: Settings,
    now: datetime,
) -> Applied:
    """A capture for an invoice, or a deposit's (D1: no invoice; its voucher's reference is
    :data:`DEPOSIT_REFERENCE`)."""
    line = order.line(step.line_id)
    invoice_id = step.invoice_id if isinstance(step, steps.Capture) else None
    # Every field comes from values already checked: the key of ids checked at the edge,
    # the planned amount (the line refuses one that is not positive or exceeds what its
    # authorization holds open).
    journal = "" if pending else postings.journal_name(VoucherKind.PAYMENT, order, settings)
    capture = built(Capture, capture_id=op.key, line_id=line.line_id, invoice_id=invoice_id,
                    amount=step.amount, auth_id=step.auth_id, token=token,
                    refunded=Money.zero(step.amount.currency), captured_at=now,
                    pending=pending, journal=journal)  # fmt: skip
    captured = order.with_line(line.captured_with(capture))
    if isinstance(step, steps.Capture):  # I2: a rest released that the card cannot be
        captured = released_short(captured, step, settings, now)  # asked again holds it
    if pending:  # nothing is received yet: the voucher comes with the settlement (J1)
        return Applied(order=captured)
    if isinstance(step, steps.DepositCapture):  # D1, S4: a declined one's hold may end
        captured = deposit_taken(captured, settings, now)
    voucher = capture_voucher(order, op, step, settings, now, journal=journal)
    return Applied(order=captured, vouchers=(voucher,))


def _refund_token(result: ProcessorResult) -> RefundToken | None:
    return result.token if isinstance(result.token, RefundToken) else None
