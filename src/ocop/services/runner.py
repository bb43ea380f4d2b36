"""Running processor operations through the operation log (rules O1-O5, I4).

Every call: its intent is committed (with a version bump of the order, so
concurrent workers serialise, O5), the processor is called with the operation
key, then the outcome, the new order value and its vouchers are committed
together. Vouchers then go from the outbox to the journal. A crash anywhere
leaves an intent or an unposted voucher that ``recover()`` finishes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import attrs

from ocop.domain.effects import Applied, apply_outcome
from ocop.domain.errors import ConcurrentUpdate, OperationInDoubt
from ocop.domain.money import Money
from ocop.domain.operations import Operation, OperationKind, Outcome, ProcessorResult
from ocop.domain.order import Order
from ocop.domain.settings import Settings
from ocop.ports.clock import Clock
from ocop.ports.journal import PaymentJournal
from ocop.ports.processor import PaymentProcessor
from ocop.ports.store import OrderStore, UnitOfWork

log = logging.getLogger("ocop.operations")

#: How often a commit that lost a version race is retried before giving up (O5).
RETRIES = 5


@attrs.frozen(kw_only=True)
class Ports:
    """Everything a service needs from the outside, plus the settings in force."""

    store: OrderStore
    processor: PaymentProcessor
    journal: PaymentJournal
    clock: Clock
    settings: Settings


def require_no_doubt(uow: UnitOfWork, order_id: str) -> None:
    """O3: refuse to move money on an order while one of its operations is in doubt."""
    doubt = tuple(op.key for op in uow.operations.for_order(order_id) if op.in_doubt)
    if doubt:
        raise OperationInDoubt(order_id, doubt)


def change_order(ports: Ports, order_id: str, change: Callable[[Order], Applied]) -> Order:
    """Apply a local change to the stored order (retrying lost races) and post its vouchers."""
    for _ in range(RETRIES):
        try:
            with ports.store.unit_of_work() as uow:
                applied = change(uow.orders.get(order_id))
                uow.orders.update(applied.order)
                for voucher in applied.vouchers:
                    uow.outbox.add(voucher)
                uow.commit()
            break
        except ConcurrentUpdate:
            continue
    else:
        raise ConcurrentUpdate(order_id)
    post_vouchers(ports)
    return applied.order


def post_vouchers(ports: Ports) -> int:
    """Move committed vouchers from the outbox to the journal (J3 makes it idempotent).

    The journal is called outside any unit of work (it may be another system, or
    another connection to the same database); a crash between posting and marking
    posts the voucher again, which the journal stores once.
    """
    with ports.store.unit_of_work() as uow:
        pending = uow.outbox.pending()
    for voucher in pending:
        ports.journal.post(voucher)
        with ports.store.unit_of_work() as uow:
            uow.outbox.mark_posted(voucher.voucher_id)
            uow.commit()
    return len(pending)


def record_intent(
    ports: Ports,
    *,
    order_id: str,
    step: str,
    kind: OperationKind,
    amount: Money | None,
    target: str,
    context: Mapping[str, str],
    reuse_approved: bool = True,
) -> Operation:
    """Commit the intent of the next attempt of ``step`` (O1, O4).

    Returns the approved earlier attempt instead when there is one and
    ``reuse_approved`` (duplicate protection, I4): the step already happened.
    """
    now = ports.clock.now()
    with ports.store.unit_of_work() as uow:
        order = uow.orders.get(order_id)
        require_no_doubt(uow, order_id)
        attempts = [op for op in uow.operations.for_order(order_id) if op.step == step]
        if reuse_approved:
            for op in attempts:
                if op.outcome is Outcome.APPROVED:
                    log.info("reused %s: step %s already approved", op.key, step)
                    return op
        attempt = max((op.attempt for op in attempts), default=0) + 1
        op = Operation.intent(
            order_id=order_id,
            step=step,
            attempt=attempt,
            kind=kind,
            amount=amount,
            target=target,
            at=now,
            context=context,
        )
        uow.operations.record_intent(op)
        if kind is OperationKind.AUTHORIZE:
            line = order.line(context["line_id"])
            order = order.with_line(line.begin_authorization())
        uow.orders.update(order)  # the version bump serialises concurrent workers (O5)
        uow.commit()
    log.info("intent %s %s %s", op.key, kind.value, amount if amount is not None else "-")
    return op


def settle(ports: Ports, op: Operation, result: ProcessorResult) -> Operation:
    """Commit ``result`` for ``op`` with its effect on the order and its vouchers."""
    settled = op
    for _ in range(RETRIES):
        try:
            settled = _settle_once(ports, op, result)
            break
        except ConcurrentUpdate:
            continue
    else:
        raise ConcurrentUpdate(op.order_id)
    post_vouchers(ports)
    return settled


def _settle_once(ports: Ports, op: Operation, result: ProcessorResult) -> Operation:
    now = ports.clock.now()
    with ports.store.unit_of_work() as uow:
        stored = uow.operations.get(op.key)
        if stored is not None and not stored.in_doubt:
            return stored  # settled already (by recovery, or another worker)
        resolved = uow.operations.record_outcome(op.key, result, now)
        if result.outcome.definitive:
            order = uow.orders.get(op.order_id)
            applied = apply_outcome(order, op, result, ports.settings, now)
            uow.orders.update(applied.order)
            for voucher in applied.vouchers:
                uow.outbox.add(voucher)
        uow.commit()
    log.info("outcome %s %s %s", op.key, result.outcome.value, result.reason or "-")
    return resolved


def run(
    ports: Ports,
    call: Callable[[str], ProcessorResult],
    *,
    order_id: str,
    step: str,
    kind: OperationKind,
    amount: Money | None,
    target: str,
    context: Mapping[str, str],
    reuse_approved: bool = True,
) -> Operation:
    """One processor call for one business step: intent, call, outcome (O1).

    A timeout leaves the operation in doubt (outcome ``UNKNOWN``); an exception
    from the call (a crash) propagates and leaves the intent for ``recover()``.
    """
    op = record_intent(
        ports,
        order_id=order_id,
        step=step,
        kind=kind,
        amount=amount,
        target=target,
        context=context,
        reuse_approved=reuse_approved,
    )
    if op.outcome is not None:
        return op
    return settle(ports, op, call(op.key))
