"""Processor notifications: ``bo.handle_notification(n)`` (rules N1, N2, N4).

A notification settles the operation it names exactly once, through the same commit
as a live answer or a recovery (:func:`~ocop.services._outcomes.settle`: the outcome, the
order and its vouchers together, once even when two deliveries race). A pending
capture or refund that failed is undone; one approved that the processor rejected later
is undone too (N4). Chargebacks, their reversals and authorizations ended by the
processor are applied by :mod:`ocop.services._unsolicited` (N4). The same notification
again changes nothing; one that names nothing ocop knows, contradicts an outcome already
final in a way ocop cannot apply, or reports what ocop does not apply, is kept for review
in the store, never dropped.
"""

from __future__ import annotations

from ocop.domain import steps
from ocop.domain.effects import NOT_UNDONE
from ocop.domain.errors import OcopError, StorageError
from ocop.domain.keys import escaped
from ocop.domain.notifications import Notification, NotificationEvent, NotificationResult
from ocop.domain.operations import Operation, Outcome, ProcessorResult
from ocop.domain.tokens import AuthorizationToken, CaptureToken, ProcessorToken, RefundToken
from ocop.ports import Ports
from ocop.services._logs import logger
from ocop.services._outcomes import settle
from ocop.services._unsolicited import (
    apply_kept,
    handle_unsolicited,
    keep,
    named,
    rejected_after_approval,
)

log = logger("ocop.notifications")


def handle_notification(ports: Ports, notification: Notification) -> NotificationResult:
    """Apply ``notification`` to the operation it names (by key, or with none by the
    processor's reference: :func:`~ocop.services._unsolicited.named`), once (N2)."""
    if notification.event is not NotificationEvent.OUTCOME:
        return handle_unsolicited(ports, notification)
    op = named(ports, notification)
    if op is None:
        return _kept(ports, notification, "a notification that names no operation")
    if not op.awaiting:
        if (op.outcome is Outcome.APPROVED) is notification.success:
            result = op.result
            if notification.success and result is not None and not _same_call(result, notification):
                # It names this key, but another call (its amount or reference): kept for
                # review, as while the call was pending or in doubt.
                return _kept(ports, notification, f"a notification that does not match {op.key}")
            return NotificationResult(duplicate=True, order_id=op.order_id, key=op.key)
        if op.outcome is Outcome.APPROVED and isinstance(op.step, _UNDONE):
            return rejected_after_approval(ports, op, notification)  # N4
        return _kept(ports, notification, f"a notification contradicting the final {op.key}")
    result = _result(ports, op, notification)
    if result is None:
        return _kept(ports, notification, f"a notification that does not match {op.key}")
    try:
        settled = settle(ports, op.order_id, [(op, result)], after_doubt=True)
    except StorageError:
        raise
    except OcopError:
        # The order refuses the outcome (an answer ocop cannot apply): a person looks.
        log.exception("notification %s could not be applied", notification.notification_id)
        return _kept(ports, notification, f"a notification {op.key} could not be applied to")
    mine = settled.outcomes.get(op.key)
    if mine is None or mine.result is not result:
        # Settled first by another delivery, or by a recovery, just now.
        return NotificationResult(duplicate=True, order_id=op.order_id, key=op.key)
    failed = not notification.success
    # Pending when settled: as read here, or recorded pending since (by the live call).
    was_pending = op.key in settled.from_pending
    if failed and was_pending and isinstance(op.step, NOT_UNDONE):
        # The order counted it as done: a person must look at it.
        _kept(ports, notification, f"a failed pending {op.kind.value}")
    if not was_pending:  # N4: what came while the call was in doubt applies now
        apply_kept(ports, {escaped(op.order_id)})
    undone = failed and isinstance(op.step, _MINTS)
    log.info("notification %s settled %s as %s", notification.notification_id, op.key,
             result.outcome.value)  # fmt: skip
    return NotificationResult(applied=True, order_id=op.order_id, key=op.key,
                              undone=undone and was_pending)  # fmt: skip


def _result(ports: Ports, op: Operation, notification: Notification) -> ProcessorResult | None:
    """The processor's answer the notification stands for: a pending operation keeps the
    references its pending answer gave; one in doubt takes them from the notification."""
    outcome = Outcome.APPROVED if notification.success else Outcome.DECLINED
    if op.outcome is Outcome.PENDING and op.result is not None:
        if not _same_call(op.result, notification):
            return None  # it names this key, but another call: kept for review
        # A void whose pending answer said no amount (Adyen's): the notification says
        # what it released.
        amount = op.result.amount
        if amount is None and isinstance(op.step, steps.Void):
            amount = notification.amount
        return ProcessorResult(key=op.key, outcome=outcome, amount=amount,
                               token=op.result.token, multi_capture=op.result.multi_capture,
                               reason=notification.reason)  # fmt: skip
    asked = op.step.amount
    if asked is not None and notification.amount is not None and notification.amount != asked:
        return None  # it names this key, but another call: kept for review, as when pending
    token: ProcessorToken | None = None
    account = _account(ports, op)
    if notification.success:
        token = _token(op.step, notification.reference, account)
        if token is None and isinstance(op.step, steps.Authorize | steps.Tokenize | _MINTS):
            return None  # the answer would carry a token the notification cannot give
    # The card's own processor's, as its answer to a recovery carries it (I5).
    multi = ports.processor.capabilities.multi_capture_of(*account)
    return ProcessorResult(key=op.key, outcome=outcome, amount=notification.amount,
                           token=token, multi_capture=multi,
                           reason=notification.reason)  # fmt: skip


def _same_call(answer: ProcessorResult, notification: Notification) -> bool:
    """Whether ``notification`` is about the call that answered pending: its reference and
    amount, where both sides give them, are the pending answer's."""
    token = answer.token
    if token is not None and notification.reference and notification.reference != token.value:
        return False
    if answer.amount is not None and notification.amount is not None:
        return notification.amount == answer.amount
    return True


#: What a failure after approval undoes (N4): money that never moved after all.
_UNDONE = steps.Capture | steps.DepositCapture | steps.Refund
_MINTS = steps.Capture | steps.DepositCapture | steps.Refund | steps.UnlinkedRefund


def _account(ports: Ports, op: Operation) -> tuple[str, str]:
    """The connector and service account that answered ``op`` (I5): its line's card's,
    as a router sends the call to the processor that issued the card's token."""
    if isinstance(op.step, steps.UnlinkedRefund) and op.step.service_account:
        return op.step.connector, op.step.service_account  # the card paid, not the order's
    line_id = getattr(op.step, "line_id", None)
    if line_id is not None:
        with ports.store.unit_of_work() as uow:
            order = uow.orders.get(op.order_id)
        for line in order.lines:
            if line.line_id == line_id and line.card is not None:
                return line.card.connector, line.card.service_account
    caps = ports.processor.capabilities
    return caps.connector, caps.service_account


def _token(step: steps.Step, reference: str, account: tuple[str, str]) -> ProcessorToken | None:
    """The processor's reference of a call in doubt, as the token its answer carries."""
    if not reference:
        return None
    match step:
        case steps.Authorize():
            return AuthorizationToken(reference, *account)
        case steps.Capture() | steps.DepositCapture():
            return CaptureToken(reference, *account)
        case steps.Refund() | steps.UnlinkedRefund():
            return RefundToken(reference, *account)
    return None


def _kept(ports: Ports, notification: Notification, what: str) -> NotificationResult:
    return keep(ports, notification, what)
