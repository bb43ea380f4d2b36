"""Deposits of POS customer orders, pure (rules D1, D2).

A POS order of a named customer may take its payments as a *deposit*: the amount is
``settings.deposits.default_percent`` of the total (another amount needs the
``deposit_override`` permission; a default of 0 asks for no particular amount). A card
deposit is captured when the order is placed, a capture with no invoice
(:class:`TakeDeposit`); a cash or check deposit is posted like any prepayment. Later
invoices use the deposit before any card is captured (I1).

Cancelled before any invoice, the order refunds its deposit the way it came, less
``settings.deposits.cancellation_charge_percent`` of its total (:func:`deposit_refunds`):
the charge is kept from the deposit's parts in line order, the rest of each card
capture refunded by linked refund, the rest of each cash or check deposit by the
fallback method.
"""

from __future__ import annotations

import attrs

from ocop.domain import steps
from ocop.domain.completion import Complete
from ocop.domain.holds import deposit_declined
from ocop.domain.money import Money, total
from ocop.domain.operations import Failed, Operation, Outcome
from ocop.domain.order import Order
from ocop.domain.plan import Context, Next
from ocop.domain.settings import DepositPolicy
from ocop.domain.tender import Capture, PaymentLine, PaymentMethod
from ocop.domain.values import replaced

#: The return id deposits refunded at cancellation are recorded under.
CANCEL_RETURN = "CANCEL"

#: What a deposit may be paid with: a card is captured at once, cash or a check posted.
DEPOSIT_METHODS = frozenset({PaymentMethod.CARD, PaymentMethod.CASH, PaymentMethod.CHECK})


def default_deposit(order_total: Money, policy: DepositPolicy) -> Money | None:
    """D1: the deposit an order takes by default, or None when no default is set (0 %)."""
    if policy.default_percent.is_zero():
        return None
    return order_total.percent(policy.default_percent)


def cancellation_charge(order_total: Money, policy: DepositPolicy) -> Money:
    """D2: what cancelling keeps of a deposit, before it is capped by the deposit."""
    return order_total.percent(policy.cancellation_charge_percent)


def has_deposit(order: Order) -> bool:
    """Whether the order took a deposit when it was placed (D1)."""
    return any(line.deposit and line.active for line in order.lines)


@attrs.frozen(kw_only=True)
class TakeDeposit:
    """D1: capture each authorized card deposit line at once, a capture with no invoice,
    all in one batch.

    ``tried``: authorizations whose capture was asked for; ``failed``: lines whose
    capture was declined (the order gets a ``PAYMENT_DECLINED`` hold and the
    authorization stays open, for an invoice to capture); ``in_doubt``: keys. A capture
    answered never received is no decline: a recovery found it so while the call was on
    its way (its lookup spent the key), and that recovery takes the deposit on (O2).
    """

    tried: tuple[str, ...] = ()
    failed: tuple[Failed, ...] = ()
    in_doubt: tuple[str, ...] = ()

    def next(self, order: Order, ctx: Context) -> Next[TakeDeposit]:
        if self.in_doubt or order.cancelled:  # O3; X1, O5: no deposit of a cancelled order
            return Next(goal=self, done=True)  # nothing more moves on this order
        batch = tuple(
            steps.DepositCapture(line_id=line.line_id, auth_id=auth.auth_id,
                                 amount=auth.open_amount, target=auth.token.value)
            for line in order.lines
            if line.deposit and line.is_card and line.active and not line.deposit_captures
            for auth in line.open_authorizations()
            if auth.auth_id not in self.tried
        )  # fmt: skip
        if batch:
            # One batch: every capture's intent is stored before the first call (O1), so a
            # process that dies between two captures leaves the rest in doubt, for recover()
            # to make (O2); one at a time, it left them unrecorded, never taken.
            tried = (*self.tried, *(step.auth_id for step in batch))
            return Next(goal=replaced(self, tried=tried), steps=batch)
        if self.failed:  # D1: the decline's outcome placed the hold already
            return Next(goal=self, order=deposit_declined(order, ctx.now), done=True)
        return Next(goal=self, done=True)

    def after(self, operations: tuple[Operation, ...]) -> TakeDeposit:
        goal = self
        for op in operations:
            if op.in_doubt:
                goal = replaced(goal, in_doubt=(*goal.in_doubt, op.key))
            elif op.outcome is Outcome.DECLINED:  # not NOT_RECEIVED: see the class
                line_id = op.step.line_id if isinstance(op.step, steps.DepositCapture) else ""
                goal = replaced(goal, failed=(*goal.failed, Failed.of(line_id, op)))
        return goal


@attrs.frozen(kw_only=True)
class CompleteAndTake:
    """D1, O2: a deposit order's placement validated (:class:`Complete`), then its deposit
    taken (:class:`TakeDeposit`), as one plan: the validation is stored with the deposit
    captures' intents, never alone. A placement that dies before leaves the order
    waiting for the ``recover()`` run (or the submit) that finishes its placement and takes
    the deposit; after, the captures not answered are in doubt and the run that settles
    them takes the rest. A completion in doubt takes nothing yet (O3)."""

    complete: Complete
    deposit: TakeDeposit | None = None

    @property
    def calls(self) -> int:
        return self.complete.calls + (len(self.deposit.tried) if self.deposit else 0)

    @property
    def in_doubt(self) -> tuple[str, ...]:
        return (*self.complete.in_doubt, *(self.deposit.in_doubt if self.deposit else ()))

    def next(self, order: Order, ctx: Context) -> Next[CompleteAndTake]:
        if self.deposit is not None:
            took = self.deposit.next(order, ctx)
            return Next(goal=replaced(self, deposit=took.goal), order=took.order,
                        vouchers=took.vouchers, steps=took.steps, done=took.done)  # fmt: skip
        step = self.complete.next(order, ctx)
        goal = replaced(self, complete=step.goal)
        ended = step.done and not step.goal.in_doubt
        if ended:  # validated: go on to the deposit, the validation not yet stored
            goal = replaced(goal, deposit=TakeDeposit())
        return Next(goal=goal, order=step.order, vouchers=step.vouchers, steps=step.steps,
                    done=step.done and not ended)  # fmt: skip

    def after(self, operations: tuple[Operation, ...]) -> CompleteAndTake:
        if self.deposit is not None:
            return replaced(self, deposit=self.deposit.after(operations))
        return replaced(self, complete=self.complete.after(operations))


@attrs.frozen(kw_only=True)
class DepositRefunds:
    """D2: what cancelling still refunds of the deposit, and the charge it keeps.

    ``linked``: per card deposit capture, the linked refund still due; ``fallback``: per
    cash or check deposit line, the refund by the fallback method still due; ``charge``:
    what the cancellation keeps.
    """

    linked: tuple[tuple[Capture, Money], ...]
    fallback: tuple[tuple[str, Money], ...]
    charge: Money


def _refunded_for(line: PaymentLine, return_id: str, capture_id: str | None) -> Money:
    return total(
        (
            r.amount
            for r in line.refunds
            if r.return_id == return_id and (capture_id is None or r.capture_id == capture_id)
        ),
        line.currency,
    )


def deposit_refunds(order: Order, policy: DepositPolicy, return_id: str) -> DepositRefunds:
    """D2: the deposit's refunds at cancellation, ``return_id`` naming them.

    Each part of the deposit (a card deposit capture, a cash or check deposit line)
    counts what it holds, its refunds for ``return_id`` included, so the plan is the same
    before and after some of its refunds were made (a retry refunds only the rest).
    The charge is kept from the parts in line order, capped by what the order still
    holds of the deposit, each part keeping no more than it still holds (what the return
    refunded of it already is gone).
    """
    parts: list[tuple[PaymentLine, Capture | None, Money, Money]] = []
    for line in order.lines:
        if not line.deposit:
            continue
        if line.is_card:
            for capture in line.deposit_captures:
                done = _refunded_for(line, return_id, capture.capture_id)
                parts.append((line, capture, capture.refundable + done, done))
        elif line.received.is_positive():
            done = _refunded_for(line, return_id, None)
            parts.append((line, None, line.received - line.refunded + done, done))
    held = [base for _, _, base, _ in parts]
    # What the order still holds, before these refunds of the deposit: a return's fallback
    # or unlinked refund (R3, R4) gave part of it back already, and counts as given back
    # from the deposit's parts in line order, before the charge (V3: never more than
    # received). The other prepayments an earlier attempt refunded are not the deposit's.
    zero = Money.zero(order.currency)
    done = total([made for _, _, _, made in parts], order.currency)
    left = order.received - order.refunded - order.refunding - order.charged_back
    before = (left + done).max(zero)
    deposit = total(held, order.currency)
    still_held = deposit.min(before)
    # The charge is kept from what the deposit still holds: refunds this return made
    # already (an earlier attempt, under another total or charge) gave the rest back.
    charge = cancellation_charge(order.total, policy).min((still_held - done).max(zero))
    # What is kept is kept from what each part still holds, the return's own refunds
    # made: a part given back already keeps nothing more, and money given back since by
    # another return counts against the parts that still hold it (V3).
    kept, _ = (deposit - still_held + charge).fill([base - made for _, _, base, made in parts])
    linked: list[tuple[Capture, Money]] = []
    fallback: list[tuple[str, Money]] = []
    for (line, part, base, done), keep in zip(parts, kept, strict=True):
        due = base - keep - done
        if not due.is_positive():
            continue
        if part is not None:
            linked.append((part, due))
        else:
            fallback.append((line.line_id, due))
    return DepositRefunds(linked=tuple(linked), fallback=tuple(fallback), charge=charge)
