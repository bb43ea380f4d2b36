"""Cancelling an order, as a plan (rules X1, D2).

Without invoices, every open authorization is voided, one at a time, stopping at a
void in doubt (O3); then a deposit taken when the order was placed (D1) is refunded
the way it came, less the cancellation charge: each card deposit capture by a linked
refund (one batch); then posted prepayments not yet refunded, and the rest of each
cash or check deposit, go back by the fallback method, with a refund voucher, and
the order is cancelled. A deposit refund declined or in doubt leaves the order open:
cancelling again refunds only what is still due (so does cancelling a cancelled order
whose deposit holds money due back again, D2), a line's later refund numbered
(``{order}/cancel:{line}#2``: the first keeps its key, O4). Everything is planned before
the card deposit's refund is sent, so a refusal comes while no money has moved. Once an
invoice exists, payments are left alone: the order is cancelled and the caller is told
a manual refund is needed.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from ocop.domain import keys, postings, steps
from ocop.domain.deposits import CANCEL_RETURN, deposit_refunds, has_deposit
from ocop.domain.journal import Voucher, VoucherKind
from ocop.domain.money import Money, total
from ocop.domain.operations import Failed, Operation, Outcome
from ocop.domain.order import Order
from ocop.domain.plan import Context, Next, lapses, void_step
from ocop.domain.refunds import refund_steps
from ocop.domain.tender import PaymentLine, Refund
from ocop.domain.values import replaced


@attrs.frozen(kw_only=True)
class CancelRun:
    """``voided``: authorizations released; ``in_doubt``: the key of a void or refund in
    doubt; ``refunded``: what this run refunded; ``charged``: what the cancellation kept of
    the deposit (D2); ``failed``: deposit captures whose linked refund was declined;
    ``manual``: the order was invoiced while the run was on its way (X1, O5)."""

    voided: tuple[str, ...] = ()
    tried: tuple[str, ...] = ()
    in_doubt: tuple[str, ...] = ()
    refunded: Money | None = None
    charged: Money | None = None
    sent: bool = False
    failed: tuple[Failed, ...] = ()
    manual: bool = False
    #: The card deposits' refunds were planned again after one was never received (O2).
    resent: bool = False

    def next(self, order: Order, ctx: Context) -> Next[CancelRun]:
        if self.in_doubt:
            return Next(goal=self, done=True)  # O3: nothing more moves on this order
        if order.invoices:  # X1, O5: invoiced meanwhile (a recovery settled this run's call,
            # then an invoice found nothing in doubt): its payments are left alone, as when
            # cancelling an invoiced order, and a manual refund is needed; a deposit refund
            # of the batch that failed (never received) is no longer due: the invoice may
            # have used that deposit.
            cancelled = order if order.cancelled else order.cancel()
            return Next(goal=replaced(self, manual=True), order=cancelled, done=True)
        if self.failed:
            return Next(goal=self, done=True)  # D2: the order stays open: cancel again
        for line in order.lines:
            for auth in line.open_authorizations():
                if auth.auth_id not in self.tried:
                    tried = replaced(self, tried=(*self.tried, auth.auth_id))
                    if lapses(auth, ctx):  # expired, manual void off: no call, it lapses
                        lapsed = order.with_line(line.lapsed_auth(auth.auth_id))
                        return Next(goal=tried, order=lapsed)
                    void = void_step(line, auth.auth_id, steps.VoidPurpose.CANCEL)
                    return Next(goal=tried, steps=(void,))
        plan = deposit_refunds(order, ctx.settings.deposits, CANCEL_RETURN)
        # The rest is planned before the card deposit's refund is sent: whatever it would
        # refuse is refused while no money has moved (after the refund, it is planned again
        # on the order the refund left, never for more).
        still_linked = total((due for _, due in plan.linked), order.currency)
        refunded, vouchers = refund_deposits(order, ctx, dict(plan.fallback),
                                             kept=plan.charge + still_linked)  # fmt: skip
        # An order cancelled before (its deposit refund failed later) stays cancelled.
        final = refunded if refunded.cancelled else refunded.cancel()
        if plan.linked and not self.sent:
            # D2, X1: a card deposit goes back to its capture, all at once (one batch).
            linked = refund_steps(order, CANCEL_RETURN, plan.linked)
            return Next(goal=replaced(self, sent=True), steps=linked)
        earlier = self.refunded or Money.zero(order.currency)
        done = replaced(self, refunded=earlier + (refunded.refunded - order.refunded),
                        charged=plan.charge if has_deposit(order) else None)  # fmt: skip
        return Next(goal=done, order=final, vouchers=vouchers, done=True)

    def after(self, operations: tuple[Operation, ...]) -> CancelRun:
        goal = self
        for op in operations:
            if op.in_doubt:
                goal = replaced(goal, in_doubt=(*goal.in_doubt, op.key))
            elif op.outcome is Outcome.APPROVED and isinstance(op.step, steps.Void):
                goal = replaced(goal, voided=(*goal.voided, op.step.auth_id))
            elif op.outcome is Outcome.NOT_RECEIVED and isinstance(op.step, steps.Void):
                # O2: never received (a recovery settled the key on its way) is no refusal:
                # the void is sent once more, under a new attempt.
                again = f"{op.step.auth_id}#resent"
                if again not in goal.tried:
                    tried = tuple(t for t in goal.tried if t != op.step.auth_id)
                    goal = replaced(goal, tried=(*tried, again))
            elif (
                op.outcome is Outcome.NOT_RECEIVED
                and isinstance(op.step, steps.Refund)
                and not self.resent
            ):
                # O2: a recovery spent its key on its way (a batch's refund not yet sent):
                # no refusal; the deposit's refunds are planned again on the order as read
                # then (one another worker made since is not made twice).
                goal = replaced(goal, sent=False, resent=True)
            elif isinstance(op.step, steps.Refund) and op.outcome is not None:
                if op.outcome.moves_money:
                    earlier = goal.refunded or Money.zero(op.step.amount.currency)
                    goal = replaced(goal, refunded=earlier + op.step.amount)
                elif op.outcome.failed:
                    goal = replaced(goal, failed=(*goal.failed, Failed.of(op.step.capture_id, op)))
        return goal


def refund_deposits(
    order: Order,
    ctx: Context,
    deposits: Mapping[str, Money] | None = None,
    *,
    kept: Money | None = None,
) -> tuple[Order, tuple[Voucher, ...]]:
    """X1, R3: posted prepayments not yet refunded go back through the fallback method;
    a cash or check deposit line (D2) only the amount ``deposits`` gives it, before the
    others. ``kept``: what else the order's money must still give (D2: the cancellation
    charge, and the card deposits' linked refunds still to send), which the other
    prepayments' refunds never reach."""
    method = ctx.settings.refunds.fallback_method.value
    vouchers: list[Voucher] = []
    due = deposits or {}
    zero = Money.zero(order.currency)
    for line in sorted(order.lines, key=lambda line: not line.deposit):
        # A return may already have refunded part of the order by the fallback method, and a
        # refund still pending counts as made (N1): what the order has left is its cap.
        held = order.received - order.refunded - order.refunding - order.charged_back
        left = (line.received - line.refunded).min(held)
        if line.deposit:
            left = left.min(due.get(line.line_id, zero))
        elif kept is not None:
            left = left.min(held - kept)
        if not line.is_prepayment or not left.is_positive():
            continue
        key = _cancellation_key(order, line)
        journal = postings.journal_name(VoucherKind.REFUND, order, ctx.settings)
        entry = Refund(refund_id=key, return_id=CANCEL_RETURN, amount=left,
                       refunded_at=ctx.now, method=method, journal=journal)  # fmt: skip
        order = order.with_line(line.refunded_with(entry))
        voucher = postings.voucher(VoucherKind.REFUND, order, key, CANCEL_RETURN, method, left,
                                   ctx.settings, ctx.now, journal=journal)  # fmt: skip
        vouchers.append(voucher)
    return order, tuple(vouchers)


def _cancellation_key(order: Order, line: PaymentLine) -> str:
    """The key of the line's next refund at cancellation (X1, O4): the first has the key
    it always had; cancelling again (D2: money still due back) numbers the next one, so
    it never takes the key, or the voucher (J3), of a refund already made."""
    recorded = {r.refund_id for r in (*line.refunds, *line.rejected_refunds)}
    number = 1
    while keys.cancellation_key(order.order_id, line.line_id, number) in recorded:
        number += 1
    return keys.cancellation_key(order.order_id, line.line_id, number)
