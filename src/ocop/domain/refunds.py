"""Refund rules, pure: which captures a return refunds, and how much (R1-R5).

A linked refund goes first to the captures of the invoices the return names,
then to the newest capture first, each up to what it can still refund. Gift
card and loyalty lines are never linked-refunded. What captures cannot cover
goes to the fallback method; more than the order received is refused whole.
"""

from __future__ import annotations

from collections.abc import Sequence

from ocop.domain.errors import InvalidInput, RefundExceedsReceived
from ocop.domain.money import Money, total
from ocop.domain.order import Order
from ocop.domain.tender import Capture, PaymentMethod


def refunded_for(order: Order, return_id: str) -> Money:
    """What the order already refunded for ``return_id`` (R5: retries refund only the rest)."""
    linked = (r.amount for line in order.lines for r in line.refunds if r.return_id == return_id)
    others = (r.amount for r in order.other_refunds if r.return_id == return_id)
    return total((*linked, *others), order.currency)


def check_refund(order: Order, return_id: str, amount: Money) -> Money:
    """R3: validate a return's amount; returns what is still to refund for it."""
    if not isinstance(amount, Money) or amount.currency != order.currency:
        raise InvalidInput(f"a refund amount is Money in {order.currency}")
    if not amount.is_positive():
        raise InvalidInput("a refund amount must be positive")
    still = (amount - refunded_for(order, return_id)).max(Money.zero(order.currency))
    available = order.received - order.refunded
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
    named = [c for invoice_id in invoices for c in captures if c.invoice_id == invoice_id]
    newest_first = sorted(
        (c for c in captures if c not in named),
        key=lambda c: (c.captured_at, captures.index(c)),
        reverse=True,
    )
    return (*named, *newest_first)


def plan_refund(
    order: Order, amount: Money, invoices: Sequence[str], *, multiple_captures: bool
) -> tuple[tuple[tuple[Capture, Money], ...], Money]:
    """R1, R2: the linked refunds per capture, and the rest for the fallback method."""
    captures = linked_captures(order, invoices)
    if not multiple_captures:
        captures = captures[:1]
    parts, rest = amount.fill([c.refundable for c in captures])
    linked = tuple((c, part) for c, part in zip(captures, parts, strict=True) if part.is_positive())
    return linked, rest
