"""Cancelling an order, as a plan (rule X1).

Without invoices, every open authorization is voided, one at a time, stopping at a
void in doubt (O3); then posted prepayments (deposits) not yet refunded go back by
the fallback method, with a refund voucher, and the order is cancelled. Once an
invoice exists, payments are left alone: the order is cancelled and the caller is
told a manual refund is needed.
"""

from __future__ import annotations

import attrs

from ocop.domain import keys, postings, steps
from ocop.domain.journal import Voucher, VoucherKind
from ocop.domain.money import Money
from ocop.domain.operations import Operation, Outcome
from ocop.domain.order import Order
from ocop.domain.plan import Context, Next, void_step
from ocop.domain.tender import Refund
from ocop.domain.values import replaced

#: The return id deposits refunded at cancellation are recorded under.
CANCEL_RETURN = "CANCEL"


@attrs.frozen(kw_only=True)
class CancelRun:
    """``voided``: authorizations released; ``in_doubt``: the key of a void in doubt."""

    voided: tuple[str, ...] = ()
    tried: tuple[str, ...] = ()
    in_doubt: tuple[str, ...] = ()
    refunded: Money | None = None

    def next(self, order: Order, ctx: Context) -> Next[CancelRun]:
        if self.in_doubt:
            return Next(goal=self, done=True)  # O3: nothing more moves on this order
        for line in order.lines:
            for auth in line.open_authorizations():
                if auth.auth_id not in self.tried:
                    tried = replaced(self, tried=(*self.tried, auth.auth_id))
                    void = void_step(line, auth.auth_id, steps.VoidPurpose.CANCEL)
                    return Next(goal=tried, steps=(void,))
        refunded, vouchers = refund_deposits(order, ctx)
        done = replaced(self, refunded=refunded.refunded - order.refunded)
        return Next(goal=done, order=refunded.cancel(), vouchers=vouchers, done=True)

    def after(self, operations: tuple[Operation, ...]) -> CancelRun:
        goal = self
        for op in operations:
            if op.in_doubt:
                goal = replaced(goal, in_doubt=(*goal.in_doubt, op.key))
            elif op.outcome is Outcome.APPROVED and isinstance(op.step, steps.Void):
                goal = replaced(goal, voided=(*goal.voided, op.step.auth_id))
        return goal


def refund_deposits(order: Order, ctx: Context) -> tuple[Order, tuple[Voucher, ...]]:
    """X1, R3: posted prepayments not yet refunded go back through the fallback method."""
    method = ctx.settings.refunds.fallback_method.value
    vouchers: list[Voucher] = []
    for line in order.lines:
        # A return may already have refunded part of the order by the fallback method.
        left = (line.received - line.refunded).min(order.received - order.refunded)
        if not line.is_prepayment or not left.is_positive():
            continue
        key = keys.cancellation_key(order.order_id, line.line_id)
        entry = Refund(refund_id=key, return_id=CANCEL_RETURN, amount=left,
                       refunded_at=ctx.now, method=method)  # fmt: skip
        order = order.with_line(line.refunded_with(entry))
        vouchers.append(
            postings.voucher(
                VoucherKind.REFUND, order, key, CANCEL_RETURN, method, left, ctx.settings, ctx.now
            )
        )
    return order, tuple(vouchers)
