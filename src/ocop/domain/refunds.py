"""Refund rules, pure: which captures a return refunds, and how much (R1-R5).

A linked refund goes first to the captures of the invoices the return names,
then to the newest capture first, each up to what it can still refund. Gift
card and loyalty lines are never linked-refunded. What captures cannot cover
goes to the fallback method; more than the order received is refused whole.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

import attrs

from ocop.domain import keys, postings, steps
from ocop.domain.deposits import CANCEL_RETURN, deposit_refunds
from ocop.domain.errors import CurrencyMismatch, InvalidInput, RefundExceedsReceived
from ocop.domain.journal import Voucher, VoucherKind
from ocop.domain.money import Money, total
from ocop.domain.operations import Failed, Operation, Outcome
from ocop.domain.order import Order
from ocop.domain.plan import Context, Next
from ocop.domain.settings import Settings
from ocop.domain.tender import Capture, PaymentMethod, Refund
from ocop.domain.tokens import CardToken
from ocop.domain.values import replaced


def refunded_for(order: Order, return_id: str) -> Money:
    """What the order already refunded for ``return_id`` (R5: retries refund only the rest)."""
    linked = (r.amount for line in order.lines for r in line.refunds if r.return_id == return_id)
    others = (r.amount for r in order.other_refunds if r.return_id == return_id)
    return total((*linked, *others), order.currency)


def check_refund(order: Order, return_id: str, amount: Money) -> Money:
    """R3: validate a return's amount; returns what is still to refund for it."""
    message = f"a refund amount is Money in {order.currency}"
    if not isinstance(amount, Money):
        raise InvalidInput(message)
    if amount.currency != order.currency:
        raise CurrencyMismatch(amount.currency, order.currency, message)
    if not amount.is_positive():
        raise InvalidInput("a refund amount must be positive")
    still = (amount - refunded_for(order, return_id)).max(Money.zero(order.currency))
    available = order.returnable
    if still > available:
        raise RefundExceedsReceived(
            f"order {order.order_id}: refunding {still} exceeds the {available} received and "
            "not yet refunded (R3)",
            order_id=order.order_id,
            amount=amount.amount,
        )
    return still


def linked_captures(order: Order, invoices: Sequence[str]) -> tuple[Capture, ...]:
    """R1: the card captures a return refunds, in the order it refunds them."""
    captures = [
        capture
        for line in order.lines
        if line.method is PaymentMethod.CARD
        for capture in line.captures
        if capture.refundable.is_positive()
    ]
    # An invoice named twice is named once: its captures must not be planned twice.
    named = [
        c for invoice_id in dict.fromkeys(invoices) for c in captures if c.invoice_id == invoice_id
    ]
    taken = {c.capture_id for c in named}
    newest_first = [
        c
        for _, _, c in sorted(
            ((c.captured_at, n, c) for n, c in enumerate(captures) if c.capture_id not in taken),
            key=lambda entry: (entry[0], entry[1]),
            reverse=True,
        )
    ]
    return (*named, *newest_first)


def plan_refund(
    order: Order,
    amount: Money,
    invoices: Sequence[str],
    *,
    multiple_captures: bool,
    return_id: str = "",
) -> tuple[tuple[tuple[Capture, Money], ...], Money]:
    """R1, R2: the linked refunds per capture, and the rest for the fallback method.

    R2 (one capture per return): the capture the return ``return_id`` refunded already,
    when it did (a retry, or the return's amount raised, refunds no other); else the first
    that R1's order picks."""
    captures = linked_captures(order, invoices)
    if not multiple_captures:
        used = {
            r.capture_id
            for line in order.lines
            for r in line.refunds
            if return_id and r.return_id == return_id and r.capture_id is not None
        }
        # The return's own capture (the first in R1's order, should the feature have been
        # turned off after it refunded two); a named invoice does not move it elsewhere.
        found = tuple(c for c in captures if c.capture_id in used)
        captures = found[:1] if used else captures[:1]
    parts, rest = amount.fill([c.refundable for c in captures])
    linked = tuple((c, part) for c, part in zip(captures, parts, strict=True) if part.is_positive())
    return linked, rest


def refund_steps(
    order: Order, return_id: str, linked: Sequence[tuple[Capture, Money]]
) -> tuple[steps.Refund, ...]:
    """One refund step per capture; each names how many refunds the capture already had
    for the return (R5: raising a return's amount later refunds only the difference)."""
    recorded = [
        r
        for line in order.lines
        for r in (*line.refunds, *line.rejected_refunds)  # a rejected one keeps its key (N4)
        if r.return_id == return_id
    ]
    done = Counter(r.capture_id for r in recorded)
    taken = {keys.step_of(r.refund_id) for r in recorded}
    found: list[steps.Refund] = []
    for capture, part in linked:
        token = capture.token.value if capture.token is not None else ""
        # O4: a pending refund that failed in the end left the line; a later refund of the
        # return may hold the number after it, whose key must not be asked for another one.
        number = done[capture.capture_id] + 1
        while keys.refund_step(order.order_id, return_id, capture.capture_id, number) in taken:
            number += 1
        found.append(steps.Refund(return_id=return_id, line_id=capture.line_id,
                                  capture_id=capture.capture_id, number=number, amount=part,
                                  target=token))  # fmt: skip
    return tuple(found)


def unlinked_refund_step(
    order: Order, return_id: str, amount: Money, card: CardToken
) -> steps.UnlinkedRefund:
    """R4: a payout to another card for the return, numbered after those it already had."""
    recorded = [r for r in order.other_refunds if r.return_id == return_id and r.method == "card"]
    taken = {keys.step_of(r.refund_id) for r in recorded}
    number = len(recorded) + 1
    while keys.unlinked_refund_step(return_id, number) in taken:  # as for linked refunds
        number += 1
    return steps.UnlinkedRefund(return_id=return_id, number=number, amount=amount,
                                target=card.value, connector=card.connector,
                                service_account=card.service_account)  # fmt: skip


def fallback_refund(
    order: Order, return_id: str, amount: Money, settings: Settings, now: datetime
) -> tuple[Order, Voucher]:
    """R3: what linked refunds cannot cover goes back by the fallback method."""
    method = settings.refunds.fallback_method.value
    recorded = [r for r in order.other_refunds if r.return_id == return_id]
    taken = {r.refund_id for r in recorded}
    # O4, J3: a pending refund to another card that failed left the order, so the count
    # alone may name a fallback refund already made: numbered past every key recorded.
    number = len(recorded) + 1
    while keys.fallback_key(order.order_id, return_id, number) in taken:
        number += 1
    key = keys.fallback_key(order.order_id, return_id, number)
    voucher = postings.voucher(
        VoucherKind.REFUND, order, key, return_id, method, amount, settings, now
    )
    entry = Refund(refund_id=key, return_id=return_id, amount=amount, refunded_at=now,
                   method=method, journal=voucher.journal_name)  # fmt: skip
    return order.with_other_refund(entry), voucher


@attrs.frozen(kw_only=True)
class ReturnRun:
    """A return's refund as a plan: every linked refund at once (one batch), then the
    fallback for the rest, unless a refund failed or is in doubt (R3, R5). ``again``: the
    refunds never received (O2: a recovery spent their keys on their way, and the processor
    never carries them out), sent once more under new attempts; ``resent``: their names."""

    return_id: str
    linked: tuple[steps.Step, ...]
    rest: Money
    sent: bool = False
    failed: tuple[Failed, ...] = ()
    in_doubt: tuple[str, ...] = ()
    again: tuple[steps.Step, ...] = ()
    resent: tuple[str, ...] = ()
    #: The return's amount (R5), when the run refunds a return by it: what the fallback
    #: refunds is capped by what the return still needs on the order as read last.
    amount: Money | None = None
    #: The order was cancelled when the run began.
    cancelled: bool = False

    def next(self, order: Order, ctx: Context) -> Next[ReturnRun]:
        if self.linked and not self.sent:
            return Next(goal=replaced(self, sent=True), steps=self.linked)
        goal = self
        if self.again:
            goal = replaced(self, again=())
            again = self._sent_again(order, ctx)
            if again:
                return Next(goal=goal, steps=again)
        bound = self._bound(order, ctx)
        rest = self.rest if bound is None else self.rest.min(bound)
        if rest.is_positive() and not self.failed and not self.in_doubt:
            changed, voucher = fallback_refund(order, self.return_id, rest, ctx.settings,
                                               ctx.now)  # fmt: skip
            return Next(goal=goal, order=changed, vouchers=(voucher,), done=True)
        return Next(goal=goal, done=True)

    def _bound(self, order: Order, ctx: Context) -> Money | None:
        """What the run may still give back, judged on the order as read last (None: what
        it planned). A recovery settled this run's call, then another worker found nothing
        in doubt: another refund of the return may have refunded part of it (R5), or a
        cancellation given back what the order held but its deposit's charge (D2, X1),
        which this run does not give back (O5)."""
        bound = None
        if self.amount is not None:
            bound = self.amount - refunded_for(order, self.return_id)
        if order.cancelled and not self.cancelled and not order.invoices:
            charge = Money.zero(order.currency)
            if any(line.deposit for line in order.lines):
                charge = deposit_refunds(order, ctx.settings.deposits, CANCEL_RETURN).charge
            held = order.returnable - charge
            bound = held if bound is None else bound.min(held)
        return bound

    def _sent_again(self, order: Order, ctx: Context) -> tuple[steps.Step, ...]:
        """O2: the linked refunds never received, sent once more for no more than the run
        may still give back (:meth:`_bound`, the fallback's rest after them) nor than
        their capture may still refund: what another worker gave back since is not given
        back twice, nor refused for the caller as a failed refund."""
        bound = self._bound(order, ctx)
        found: list[steps.Step] = []
        for step in self.again:
            if isinstance(step, steps.Refund):
                capture = order.line(step.line_id).capture(step.capture_id)
                part = step.amount.min(capture.refundable)
                if bound is not None:
                    part = part.min(bound)
                    bound = bound - part.max(Money.zero(order.currency))
                if part.is_positive():
                    found.append(replaced(step, amount=part))
            else:
                found.append(step)
        return tuple(found)

    def after(self, operations: tuple[Operation, ...]) -> ReturnRun:
        lost = tuple(
            op
            for op in operations
            if op.outcome is Outcome.NOT_RECEIVED and op.name not in self.resent
        )
        failed = tuple(
            Failed.of(op.step.capture_id if isinstance(op.step, steps.Refund) else op.target, op)
            for op in operations
            if op.outcome is not None and op.outcome.failed and op not in lost
        )
        doubt = tuple(op.key for op in operations if op.in_doubt)
        return replaced(self, failed=(*self.failed, *failed),
                        in_doubt=(*self.in_doubt, *doubt),
                        again=tuple(op.step for op in lost),
                        resent=(*self.resent, *(op.name for op in lost)))  # fmt: skip
