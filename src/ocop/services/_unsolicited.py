"""Unsolicited notifications applied (rule N4): chargebacks and their reversals,
authorizations the processor ended, captures and refunds it rejected after approving them.

Each is applied in one unit of work: the order (which holds the record that makes it
happen once: the chargeback under the notification's id, the reversal's id on it, the
authorization's end, the rejected capture or refund), its vouchers, committed together;
the order's version serialises two deliveries of the same notification (O5), and the one
that comes second finds the record and changes nothing. What the order cannot take is
kept for review, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from ocop.domain import postings, steps
from ocop.domain.errors import ConcurrentUpdate, IllegalTransition, OcopError, StorageError
from ocop.domain.keys import escaped, order_part
from ocop.domain.money import Money
from ocop.domain.movements import Capture, Chargeback
from ocop.domain.notifications import Notification, NotificationEvent, NotificationResult
from ocop.domain.operations import Operation, Outcome, ProcessorResult
from ocop.domain.order import Order
from ocop.domain.tokens import ProcessorToken
from ocop.domain.unsolicited import (
    Recorded,
    charge_back,
    end_authorization,
    reject_capture,
    reject_refund,
    reverse_chargeback,
)
from ocop.ports import Ports
from ocop.ports.store import UnitOfWork
from ocop.services._logs import logger
from ocop.services._outcomes import RETRIES, post, settle

__all__ = ["apply_kept", "handle_unsolicited", "keep", "named", "rejected_after_approval"]

log = logger("ocop.notifications")

_Change = Callable[[Order], Recorded | None]


def keep(ports: Ports, notification: Notification, what: str) -> NotificationResult:
    """Keep ``notification`` for review (once per id), and say so."""
    new = ports.store.keep_for_review(notification)
    if new:
        log.warning("kept for review: %s (%s)", what, notification.notification_id)
    return NotificationResult(unmatched=True)


#: The steps whose answer carries a token of their own, which a processor's reference names.
_OWN_TOKEN = (steps.Authorize | steps.Tokenize | steps.Capture | steps.DepositCapture
              | steps.Refund | steps.UnlinkedRefund)  # fmt: skip


def named(ports: Ports, notification: Notification) -> Operation | None:
    """The operation ``notification`` names (N2): the one of its key; with no key, the one
    whose recorded answer carried its ``reference`` as its own token (an authorization's,
    a capture's, a refund's: not a void or amount update, which carry their
    authorization's). None when it names none, or several by reference, or when the
    store's operation log cannot find operations by reference (an
    :class:`~ocop.ports.store.OperationsByReference` is optional), or when the processor
    serves several accounts (a router, I5: each account's token values are its own, and a
    notification names no account; another account's call in doubt may carry the same
    value): it is then kept for review, never guessed."""
    by_key = notification.key or not notification.reference
    if not by_key and ports.processor.capabilities.also_serves:
        return None
    with ports.store.unit_of_work() as uow:
        if by_key:
            return uow.operations.get(notification.key)
        find = getattr(uow.operations, "by_reference", None)
        if find is None:
            return None
        found: tuple[Operation, ...] = find(notification.reference)
    own = [op for op in found if isinstance(op.step, _OWN_TOKEN)]
    if len(own) > 1:
        log.warning("notification %s: its reference names %d operations",
                    notification.notification_id, len(own))  # fmt: skip
    return own[0] if len(own) == 1 else None


#: What names an operation ocop may not have recorded yet (a call still in doubt).
_WAITING = (NotificationEvent.CHARGEBACK, NotificationEvent.AUTHORIZATION_ENDED)


def handle_unsolicited(ports: Ports, notification: Notification) -> NotificationResult:
    """N4: a chargeback, its reversal, or an authorization ended by the processor.

    O5: one that names a call in doubt finds nothing recorded and is kept; a ``recover()``
    (or a notification) on another worker that settles the call meanwhile may look for
    what was kept for it (:func:`apply_kept`) before this is kept. So, once kept, a
    chargeback or authorization end is tried again when a call of its order it saw in
    doubt is settled now (with no key, when its reference names an operation now)."""
    event = notification.event
    if event is NotificationEvent.OTHER:
        return keep(ports, notification, "an unsolicited notification")
    op = named(ports, notification)
    again = notification.success and event in _WAITING
    doubt = _in_doubt(ports, op) if again and op is not None else frozenset()
    result = _unsolicited(ports, notification, op)
    if not (again and result.unmatched):
        return result
    if op is None:
        op = None if notification.key else named(ports, notification)
    elif not doubt - _in_doubt(ports, op):
        op = None
    return result if op is None else _unsolicited(ports, notification, op)


def _in_doubt(ports: Ports, op: Operation) -> frozenset[str]:
    """The keys of the calls of ``op``'s order awaiting an answer."""
    with ports.store.unit_of_work() as uow:
        return frozenset(o.key for o in uow.operations.in_doubt(op.order_id))


def _unsolicited(
    ports: Ports, notification: Notification, op: Operation | None
) -> NotificationResult:
    event = notification.event
    if op is None:
        return keep(ports, notification, f"a {event.value} that names no operation")
    if not notification.success:
        return keep(ports, notification, f"a {event.value} that did not happen")
    # What picks one capture among those ``op`` names: none when the reference named the
    # authorization itself (its captures are picked as by the authorization's key).
    reference = notification.reference
    if not notification.key and isinstance(op.step, steps.Authorize):
        reference = ""
    now = ports.clock.now()
    settings = ports.settings
    change: _Change
    match event:
        case NotificationEvent.CHARGEBACK:
            amount = notification.amount
            if amount is None:
                return keep(ports, notification, "a chargeback without its amount")
            if not amount.is_positive():
                return keep(ports, notification, "a chargeback of no money, or less")
            chargeback = Chargeback(chargeback_id=notification.notification_id,
                                    dispute=notification.dispute or notification.notification_id,
                                    amount=amount, charged_back_at=notification.at)  # fmt: skip
            _settle_charged(ports, op, reference, amount)

            def change(order: Order) -> Recorded | None:
                capture = _one_capture(order, op, reference)
                return charge_back(order, capture.line_id, capture.capture_id, chargeback,
                                   settings=settings, now=now)  # fmt: skip

        case NotificationEvent.CHARGEBACK_REVERSED:

            def change(order: Order) -> Recorded | None:
                named = {c.capture_id for c in _captures(order, op, reference)}
                return reverse_chargeback(order, notification.notification_id,
                                          dispute=notification.dispute, captures=named,
                                          amount=notification.amount, settings=settings,
                                          now=now)  # fmt: skip

        case _:  # NotificationEvent.AUTHORIZATION_ENDED
            step = op.step
            if not isinstance(step, steps.Authorize):
                return keep(ports, notification, f"an authorization end naming {op.key}")

            def change(order: Order) -> Recorded | None:
                return end_authorization(order, step.line_id, step.auth_id,
                                         by=notification.notification_id, now=now)  # fmt: skip

    reverses = event is NotificationEvent.CHARGEBACK_REVERSED
    result = _applied(ports, notification, op, change, reverses=reverses)
    if event is NotificationEvent.CHARGEBACK and result.applied and notification.dispute:
        _early_reversals(ports, notification.dispute)
    return result


def _early_reversals(ports: Ports, dispute: str) -> None:
    """Processors do not promise to deliver a dispute's events in order: a reversal that
    came before its chargeback was kept for review, and is applied now that the chargeback
    is recorded (once: a reversal already applied is a duplicate). It stays listed for
    review, where a person sees it came early."""
    reversed_ = (NotificationEvent.CHARGEBACK_REVERSED,)
    find = getattr(ports.store, "kept_for_dispute", None)
    found = find(dispute, reversed_) if find is not None else ports.store.kept_for_review()
    for kept in found:
        if kept.event is NotificationEvent.CHARGEBACK_REVERSED and kept.dispute == dispute:
            handle_unsolicited(ports, kept)


def apply_kept(ports: Ports, order_ids: Collection[str], deferred: list[str] | None = None) -> None:
    """N4, O2: a chargeback or an authorization's end that came while the call it names
    was in doubt named nothing recorded and was kept for review; once ``recover()``
    settled calls of ``order_ids``, each such notification of theirs is applied (once:
    one applied already is a duplicate, one the order still refuses stays
    kept); one with no key is found by its reference, which names the call once it is
    settled. A reversal with no dispute kept after a chargeback that is applied so, and
    named as it is (the same key; with none, the same reference), is applied then (one
    with a dispute is, by :func:`_early_reversals`). It stays listed for review, where a
    person sees it came early.

    The call is settled already: a store failure (or any refusal) applying one of them is
    logged, never raised (the settling notification would be delivered again as a
    duplicate, and recovery would stop, without applying it either); the others go on. One
    not applied so stays kept: delivered again (``handle_notification``), it applies. When
    the store failed so (E3), ``deferred`` (recovery's) gets ``"notifications kept for
    review"``."""
    if not order_ids:
        return
    skipped = deferred if deferred is not None else []
    try:
        kept_now = _kept_of(ports, order_ids)
    except OcopError as trouble:
        log.exception("could not read the notifications kept for review")
        _note(trouble, skipped)
        return
    charged: dict[tuple[str, str], int] = {}  # what was charged back now: where
    for at, kept in enumerate(kept_now):
        if kept.event not in _WAITING or not _of(ports, kept, order_ids, skipped):
            continue
        applied = _applied_kept(ports, kept, skipped).applied
        if applied and kept.event is NotificationEvent.CHARGEBACK:
            charged.setdefault(_names(kept), at)
    for at, kept in enumerate(kept_now):
        if kept.event is not NotificationEvent.CHARGEBACK_REVERSED or kept.dispute:
            continue
        if charged.get(_names(kept), at) < at:
            _applied_kept(ports, kept, skipped)


#: What :func:`apply_kept` applies: what waits for a call, and reversals that follow it.
_APPLIED_KEPT = (*_WAITING, NotificationEvent.CHARGEBACK_REVERSED)


def _kept_of(ports: Ports, order_ids: Collection[str]) -> tuple[Notification, ...]:
    """What :func:`apply_kept` may apply, in the order kept: found by the orders' keys and
    those with no key (:class:`~ocop.ports.store.ReviewByOrder`, one indexed read) where
    the store can; the whole review list where it cannot."""
    find = getattr(ports.store, "kept_for_review_of", None)
    if find is None:
        return ports.store.kept_for_review()
    found: tuple[Notification, ...] = find({*order_ids, ""}, _APPLIED_KEPT)
    return found


def _note(trouble: OcopError, deferred: list[str]) -> None:
    """A store failure (E3) skipped kept notifications: recovery says so."""
    if isinstance(trouble, StorageError):
        deferred.append("notifications kept for review")


def _of(ports: Ports, kept: Notification, order_ids: Collection[str], deferred: list[str]) -> bool:
    """Whether ``kept`` names an operation of ``order_ids`` (escaped): by its key, or with
    none by its reference (one indexed read), which names nothing while the call is in
    doubt."""
    if kept.key:
        return order_part(kept.key) in order_ids
    try:
        op = named(ports, kept) if kept.reference else None
    except OcopError as trouble:
        log.exception("notification %s, kept for review, could not be looked up",
                      kept.notification_id)  # fmt: skip
        _note(trouble, deferred)
        return False
    return op is not None and escaped(op.order_id) in order_ids


def _names(kept: Notification) -> tuple[str, str]:
    return (kept.key, "") if kept.key else ("", kept.reference)


def _applied_kept(ports: Ports, kept: Notification, deferred: list[str]) -> NotificationResult:
    try:
        return handle_unsolicited(ports, kept)
    except OcopError as trouble:
        log.exception("notification %s, kept for review, could not be applied; "
                      "deliver it again", kept.notification_id)  # fmt: skip
        _note(trouble, deferred)
        return NotificationResult(unmatched=True)


def rejected_after_approval(
    ports: Ports, op: Operation, notification: Notification
) -> NotificationResult:
    """N4: a failure for a capture or linked refund already approved (the processor
    rejected it after accepting it): undone, once, unless it cannot be (refunded, charged
    back): then kept for review."""
    now = ports.clock.now()
    settings = ports.settings

    def change(order: Order) -> Recorded | None:
        _same_movement(order, op, notification)
        if isinstance(op.step, steps.Refund):
            return reject_refund(op, order, settings, now)
        return reject_capture(op, order, settings, now)

    result = _applied(ports, notification, op, change, reverses=True)
    if result.applied:
        return NotificationResult(applied=True, order_id=result.order_id, key=result.key,
                                  undone=True)  # fmt: skip
    return result


def _applied(
    ports: Ports,
    notification: Notification,
    op: Operation,
    change: _Change,
    *,
    reverses: bool = False,
) -> NotificationResult:
    """Apply ``change`` to the order ``op`` belongs to, in one unit of work (retried when
    another worker changed the order first). ``reverses``: it may post a reversal, which
    goes to the journal of the voucher it undoes."""
    order_id = op.order_id
    try:
        recorded = _commit(ports, order_id, change, reverses=reverses)
    except (StorageError, ConcurrentUpdate):
        raise  # nothing was applied: the processor delivers it again
    except OcopError as refused:
        log.warning("notification %s not applied: %s", notification.notification_id, refused)
        return keep(ports, notification, f"a {notification.event.value} {op.key} refused")
    if recorded is None:
        return NotificationResult(duplicate=True, order_id=order_id, key=op.key)
    if recorded.review:
        keep(ports, notification, recorded.review)
    log.info("notification %s applied to %s", notification.notification_id, op.key)
    return NotificationResult(applied=True, order_id=order_id, key=op.key)


def _commit(ports: Ports, order_id: str, change: _Change, *, reverses: bool) -> Recorded | None:
    for _ in range(RETRIES):
        with ports.store.unit_of_work() as uow:
            order = uow.orders.get(order_id)
            if reverses and postings.unjournaled(order):
                order = postings.with_journals(order, _journals(ports, uow, order_id))
            recorded = change(order)
            if recorded is None:
                return None
            uow.orders.update(recorded.order)
            for voucher in recorded.vouchers:
                uow.outbox.add(voucher)
            try:
                committed = uow.commit()
            except ConcurrentUpdate:
                continue
        post(ports, committed.vouchers)
        return recorded
    raise ConcurrentUpdate(order_id)


def _journals(ports: Ports, uow: UnitOfWork, order_id: str) -> dict[str, str]:
    """The journal of each voucher the order posted, or left in the outbox to post: what
    an order stored before its movements named their journal has to go by (J2, V4)."""
    waiting = [v for v in uow.outbox.pending() if v.order_id == order_id]
    return {v.voucher_id: v.journal_name for v in (*ports.journal.vouchers(order_id), *waiting)}


def _captures(order: Order, op: Operation, reference: str) -> tuple[Capture, ...]:
    """The captures a notification names: the capture ``op`` made, or those made on the
    authorization ``op`` made; of them, with a ``reference``, the one whose token it is
    (none when no recorded capture has it: a capture still in doubt, say, whose money
    must not be taken from another)."""
    step = op.step
    match step:
        case steps.Capture() | steps.DepositCapture():
            line = order.line(step.line_id)
            found = tuple(c for c in line.captures if c.capture_id == op.key)
        case steps.Authorize():
            line = order.line(step.line_id)
            found = tuple(c for c in line.captures if c.auth_id == step.auth_id)
        case _:
            return ()
    if not reference:
        return found
    return tuple(c for c in found if c.token is not None and c.token.value == reference)


def _one_capture(order: Order, op: Operation, reference: str) -> Capture:
    captures = _captures(order, op, reference)
    if len(captures) != 1:
        raise IllegalTransition(f"{op.key} names {len(captures)} captures, not one")
    return captures[0]


def _settle_charged(ports: Ports, op: Operation, reference: str, amount: Money) -> None:
    """A processor charges back only money it captured: the pending capture a chargeback
    names (N1) is settled as approved first, as its own success would settle it (its
    success later is then a duplicate; its failure contradicts the chargeback and is kept
    for review). Nothing when it names no capture, several, or a settled one, or when the
    chargeback cannot be of it (beyond what it took, in another currency)."""
    with ports.store.unit_of_work() as uow:
        named = _captures(uow.orders.get(op.order_id), op, reference)
        capture_op = uow.operations.get(named[0].capture_id) if len(named) == 1 else None
    if capture_op is None or not named[0].pending:
        return
    taken = named[0].amount
    if amount.currency != taken.currency or amount > taken:
        return  # it cannot be of this capture: kept for review, the capture still pending
    answer = capture_op.result
    if capture_op.outcome is not Outcome.PENDING or answer is None:
        return
    approved = ProcessorResult(key=capture_op.key, outcome=Outcome.APPROVED,
                               amount=answer.amount, token=answer.token,
                               multi_capture=answer.multi_capture)  # fmt: skip
    try:
        settle(ports, op.order_id, [(capture_op, approved)])
    except (StorageError, ConcurrentUpdate):
        raise  # nothing was applied: the processor delivers it again
    except OcopError:  # the order refuses it: the chargeback, on a pending capture, is kept
        log.exception("capture %s charged back could not be settled", capture_op.key)


def _same_movement(order: Order, op: Operation, notification: Notification) -> None:
    """A late failure is about the capture or refund ``op`` made: its reference and amount,
    where the notification gives them, are that movement's."""
    step = op.step
    if not isinstance(step, steps.Capture | steps.DepositCapture | steps.Refund):
        raise IllegalTransition(f"{op.key} is not a capture or linked refund")
    line = order.line(step.line_id)
    movements: list[tuple[ProcessorToken | None, Money]] = [
        (c.token, c.amount) for c in line.captures if c.capture_id == op.key
    ]
    movements += [(r.token, r.amount) for r in line.refunds if r.refund_id == op.key]
    for taken, amount in movements:
        token = taken.value if taken is not None else ""
        if notification.reference and token and notification.reference != token:
            raise IllegalTransition(f"the failure's reference is not that of {op.key}")
        if notification.amount is not None and notification.amount != amount:
            raise IllegalTransition(f"the failure's amount is not that of {op.key}")
