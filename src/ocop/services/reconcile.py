"""Bringing every payment line of an order to what was asked (submit, placement).

For each line, :func:`~ocop.domain.plan.next_step` names the next call; it is
run through the operation log and its outcome applied, until the line needs
nothing more, is declined, or waits on an operation in doubt.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from ocop.domain.effects import Applied, voucher_id
from ocop.domain.journal import Voucher
from ocop.domain.money import Money
from ocop.domain.operations import Operation, OperationKind
from ocop.domain.order import Order
from ocop.domain.plan import POST, RETIRE, Step, next_step
from ocop.domain.tender import PaymentLine, PaymentMethod
from ocop.services import calls
from ocop.services.runner import Ports, change_order

#: No line needs more steps than this (void, tokenize, authorize ...); a guard against loops.
MAX_STEPS_PER_LINE = 6


@attrs.frozen(kw_only=True)
class Reconciled:
    """What bringing the lines in line came to."""

    declined: bool = False
    in_doubt: tuple[str, ...] = ()
    new_checks: tuple[Money, ...] = ()
    calls: int = 0


def reconcile(ports: Ports, order_id: str, cvvs: Mapping[str, str]) -> Reconciled:
    """Run every line's pending steps; CVVs (by line id) are used for saved cards only."""
    with ports.store.unit_of_work() as uow:
        line_ids = [line.line_id for line in uow.orders.get(order_id).lines]
    report = Reconciled()
    for line_id in line_ids:
        report = _reconcile_line(ports, order_id, line_id, cvvs, report)
    return report


def _reconcile_line(
    ports: Ports, order_id: str, line_id: str, cvvs: Mapping[str, str], report: Reconciled
) -> Reconciled:
    adjustments = ports.processor.capabilities.adjustments
    for _ in range(MAX_STEPS_PER_LINE):
        order = calls.load(ports, order_id)
        line = order.line(line_id)
        step = next_step(line, adjustments=adjustments)
        if step is None:
            return report
        if step.local:
            report = _local(ports, order, line, step, report)
            continue
        if step.kind is OperationKind.TOKENIZE and line_id not in cvvs:
            # The CVV is never stored: without it the saved card cannot be used.
            change_order(
                ports, order_id, lambda o: Applied(order=o.with_line(o.line(line_id).declined()))
            )
            return attrs.evolve(report, declined=True)
        op = _call(ports, order, line, step, cvvs)
        report = attrs.evolve(report, calls=report.calls + 1)
        if op.in_doubt:
            return attrs.evolve(report, in_doubt=(*report.in_doubt, op.key))
        assert op.outcome is not None
        if op.outcome.failed:
            if step.kind is OperationKind.ADJUST:
                # C3: a declined adjustment declines the line; release its authorization.
                assert step.auth_id is not None
                void = Step(kind=OperationKind.VOID, line_id=line_id, auth_id=step.auth_id,
                            purpose="declined")  # fmt: skip
                _call(ports, calls.load(ports, order_id), line, void, cvvs)
                return attrs.evolve(report, declined=True, calls=report.calls + 1)
            # S2: a declined authorization, tokenization or void (a replaced card's old
            # authorization still open, C4) leaves the line short of its target.
            return attrs.evolve(report, declined=True)
    return report


def _local(
    ports: Ports, order: Order, line: PaymentLine, step: Step, report: Reconciled
) -> Reconciled:
    now = ports.clock.now()
    if step.kind == RETIRE:
        change_order(
            ports,
            order.order_id,
            lambda o: Applied(order=o.with_line(o.line(line.line_id).removed())),
        )
        return report
    assert step.kind == POST
    key = f"{order.order_id}/post:{line.line_id}"
    voucher = Voucher.receipt(
        voucher_id=voucher_id(key),
        journal_name=ports.settings.payment_journal(order.channel.value),
        order_id=order.order_id,
        reference=line.line_id,
        method=line.method.value,
        amount=line.amount,
        at=now,
    )
    change_order(
        ports,
        order.order_id,
        lambda o: Applied(order=o.with_line(o.line(line.line_id).posted()), vouchers=(voucher,)),
    )
    if line.method is PaymentMethod.CHECK:
        return attrs.evolve(report, new_checks=(*report.new_checks, line.amount))
    return report


def _call(
    ports: Ports, order: Order, line: PaymentLine, step: Step, cvvs: Mapping[str, str]
) -> Operation:
    order_id, line_id = order.order_id, line.line_id
    if step.kind is OperationKind.TOKENIZE:
        return calls.tokenize(ports, order_id, line_id, cvvs[line_id])
    if step.kind is OperationKind.AUTHORIZE:
        assert step.amount is not None
        return calls.authorize(ports, order_id, line_id, step.amount)
    assert step.auth_id is not None
    if step.kind is OperationKind.ADJUST:
        assert step.amount is not None
        return calls.adjust(ports, order_id, line_id, step.auth_id, step.amount)
    assert step.kind is OperationKind.VOID
    return calls.void(ports, order_id, line_id, step.auth_id, step.purpose)
