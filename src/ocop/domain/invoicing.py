"""Invoicing rules, pure: how an invoice is covered (I1), authorization age (I3).

An invoice is covered by posted prepayments first, then by deposits (D1: a cash
or check deposit like a prepayment, a card deposit by what its capture still
holds, without a processor call), then by authorized card lines in line order,
each up to what it can still give, never beyond the invoice amount. With
duplicate payment protection (I4) what earlier attempts of the same invoice
already captured counts as covered. Prepayments and card deposits are taken without
a processor call; a capture's step is numbered by the invoice's captures so far (I4).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from enum import StrEnum

import attrs

from ocop.domain import keys
from ocop.domain.errors import (
    CurrencyMismatch,
    IdempotencyConflict,
    IllegalTransition,
    InvalidInput,
)
from ocop.domain.money import Money, total
from ocop.domain.order import Order
from ocop.domain.settings import AuthorizationPolicy, Settings
from ocop.domain.tender import Authorization, Capture, PaymentLine


class AuthorizationAge(StrEnum):
    FRESH = "fresh"
    #: Past the expiry age: re-authorize before capture (I3).
    EXPIRED = "expired"
    #: Past the stale period: no capture, no processor call (I3).
    STALE = "stale"


def age_of(auth: Authorization, now: datetime, policy: AuthorizationPolicy) -> AuthorizationAge:
    """I3 at day boundaries: exactly ``expiry_days`` old is expired, ``stale_days`` old stale."""
    age = now - auth.authorized_at
    if age >= timedelta(days=policy.stale_days):
        return AuthorizationAge.STALE
    if age >= timedelta(days=policy.expiry_days):
        return AuthorizationAge.EXPIRED
    return AuthorizationAge.FRESH


@attrs.frozen(kw_only=True)
class Part:
    """What one line gives towards an invoice."""

    line_id: str
    amount: Money
    prepayment: bool
    #: A card deposit's capture used by the invoice (D1), not a new capture.
    deposit: bool = False


def for_invoice(order: Order, invoice_id: str) -> tuple[Capture, ...]:
    """The invoice's captures, prepayment applications and card deposit uses."""
    return tuple(
        c
        for line in order.lines
        for c in (*line.captures, *line.applications)
        if c.invoice_id == invoice_id
    )


def covered(order: Order, invoice_id: str) -> Money:
    """What captures, prepayment applications and deposit uses already give to
    ``invoice_id``."""
    return total((c.amount for c in for_invoice(order, invoice_id)), order.currency)


def still_due(
    order: Order, invoice_id: str, planned: Money, settings: Settings, *, later: Money | None = None
) -> Money:
    """What a run that planned to cover ``planned`` of ``invoice_id`` covers now: with
    duplicate payment protection (I4), no more than the invoice still lacks as the order
    stands, less what the run covers ``later`` (another worker may have covered it since
    the run began, O5); without it, ``planned`` (every attempt captures again, as before
    the feature)."""
    if not settings.features.duplicate_payment_protection:
        return planned
    zero = Money.zero(order.currency)
    for invoice in order.invoices:
        if invoice.invoice_id == invoice_id:
            lacking = invoice.amount - covered(order, invoice_id) - (later or zero)
            return planned.min(lacking.max(zero))
    return planned


def nothing_will_capture(order: Order) -> bool:
    """A cancelled order, or one whose total is invoiced and every invoice covered: its
    open authorizations are released (A1). An invoice still short (its capture failed)
    may be retried, and keeps them (I4)."""
    if order.cancelled:
        return True
    return not order.needs_completion and invoiced_in_full(order)


def invoiced_in_full(order: Order) -> bool:
    """Whether the order's total is invoiced and every invoice covered: no invoice can take
    more (I1), so a new authorization would hold money nothing will ever capture."""
    if not order.invoices or order.invoiced < order.total:
        return False
    given: dict[str, Money] = {}  # one pass over the captures (an order may hold many)
    for line in order.lines:
        for taken in (*line.captures, *line.applications):
            if taken.invoice_id is not None:
                earlier = given.get(taken.invoice_id)
                given[taken.invoice_id] = (
                    taken.amount if earlier is None else earlier + taken.amount
                )
    zero = Money.zero(order.currency)
    return all(given.get(inv.invoice_id, zero) >= inv.amount for inv in order.invoices)


def check_invoice(order: Order, invoice_id: str, amount: Money) -> bool:
    """I1: validate an invoice request; True when it repeats a recorded invoice."""
    message = f"an invoice amount is Money in {order.currency}"
    if not isinstance(amount, Money):
        raise InvalidInput(message)
    if amount.currency != order.currency:
        raise CurrencyMismatch(amount.currency, order.currency, message)
    if not amount.is_positive():
        raise InvalidInput("an invoice amount must be positive")
    for existing in order.invoices:
        if existing.invoice_id == invoice_id:
            if existing.amount != amount:
                raise IdempotencyConflict(keys.invoice_key(order.order_id, invoice_id))
            return True
    if order.invoiced + amount > order.total:
        raise IllegalTransition(
            f"order {order.order_id}: invoicing {amount} exceeds the {order.total - order.invoiced}"
            " not yet invoiced (I1)",
            order_id=order.order_id,
            amount=amount.amount,
        )
    return False


def capturable(line: PaymentLine) -> Money:
    """What a line can still give to invoices (zero for inactive or pending lines): a card
    line what its open authorizations hold, never beyond its amount less what it captured
    (an authorization left holding more, its void declined, pays no more than the line)."""
    if not line.active or line.pending_removal:
        return Money.zero(line.currency)
    if line.is_card:
        return line.capturable.min(unpaid(line))
    return line.capturable


def unpaid(line: PaymentLine) -> Money:
    """What a card line may still be charged (I1): its amount less what it captured. A run
    that goes on from an order another worker changed (O5) captures, and authorizes, no
    more than that."""
    return (line.amount - line.captured).max(Money.zero(line.currency))


def deposit_usable(line: PaymentLine) -> Money:
    """What a card deposit can still give to invoices (zero for inactive lines)."""
    if not line.active or line.pending_removal:
        return Money.zero(line.currency)
    return line.deposit_available


def refunded_from_uninvoiced(order: Order) -> Money:
    """What refunds not linked to a capture (by the fallback method, R3, or to another
    card, R4) paid back beyond the invoiced money they may stand for (prepayments applied
    to invoices, invoiced captures and used deposits, less what was refunded of them):
    it came out of money received that no invoice used (prepayments, card deposits), which
    can no longer cover one (I1)."""
    zero = Money.zero(order.currency)
    others = total([r.amount for r in order.other_refunds], order.currency)
    if not others.is_positive():
        return zero
    invoiced: list[Money] = []
    for line in order.lines:
        if line.is_prepayment:
            invoiced.append((line.invoiced - line.refunded).max(zero))
            continue
        kept = total([c.refundable for c in line.deposit_captures], order.currency)
        used = total([a.amount for a in line.applications], order.currency)
        invoiced.append(used.min(kept))
        invoiced.extend(c.refundable for c in line.captures if c.invoice_id is not None)
    return (others - total(invoiced, order.currency)).max(zero)


def plan_parts(order: Order, amount: Money) -> tuple[tuple[Part, ...], Money]:
    """I1: prepayments first, then deposits, then card lines in line order; and what
    nothing covers."""
    sources = _sources(order)
    parts, rest = amount.fill([available for _, available, _ in sources])
    chosen = tuple(
        Part(line_id=line.line_id, amount=part, prepayment=line.is_prepayment, deposit=deposit)
        for (line, _, deposit), part in zip(sources, parts, strict=True)
        if part.is_positive()
    )
    return chosen, rest


def rest_wanted(order: Order, line_id: str) -> Money:
    """I2, I1: how much more than the card line ``line_id`` now holds the invoices may still
    take from it: what is left to invoice (the total not yet invoiced, and what recorded
    invoices still lack), less what the sources I1 takes first (prepayments, deposits,
    earlier card lines) and the line itself can give. A released rest authorized again
    beyond that would hold money no invoice needs (an overpaid order's)."""
    zero = Money.zero(order.currency)
    lacking = [(inv.amount - covered(order, inv.invoice_id)).max(zero) for inv in order.invoices]
    need = (order.total - order.invoiced).max(zero) + total(lacking, order.currency)
    for line, available, deposit in _sources(order):
        if line.line_id == line_id and not deposit:
            return (need - available).max(zero)
        need = (need - available).max(zero)
    return zero


def _sources(order: Order) -> list[tuple[PaymentLine, Money, bool]]:
    """What each line can give to invoices, in I1's order (a card deposit flagged), less
    the money received and paid back that covers no invoice."""
    sources: list[tuple[PaymentLine, Money, bool]] = [
        (line, capturable(line), False)
        for line in order.lines
        if line.is_prepayment and not line.deposit
    ]
    for line in order.lines:
        if line.deposit:
            if line.is_prepayment:
                sources.append((line, capturable(line), False))
            else:
                sources.append((line, deposit_usable(line), True))
    sources.extend((line, capturable(line), False) for line in order.lines if line.is_card)
    gone = refunded_from_uninvoiced(order)
    if gone.is_positive():  # money received and paid back covers no invoice, first first
        cut: list[tuple[PaymentLine, Money, bool]] = []
        for line, whole, deposit in sources:
            received = line.is_prepayment or deposit  # a card deposit was captured
            taken = whole.min(gone) if received else Money.zero(order.currency)
            gone -= taken
            cut.append((line, whole - taken, deposit))
        sources = cut
    return sources


def split_over_authorizations(line: PaymentLine, amount: Money) -> tuple[tuple[str, Money], ...]:
    """A card line's part spread over its open authorizations, oldest first."""
    opened = line.open_authorizations()
    parts, _ = amount.fill([auth.open_amount for auth in opened])
    return tuple(
        (auth.auth_id, part) for auth, part in zip(opened, parts, strict=True) if part.is_positive()
    )


def applied_prepayment(
    order: Order, invoice_id: str, line_id: str, amount: Money, now: datetime
) -> Order:
    """A posted prepayment applied to the invoice (I1)."""
    line = order.line(line_id)
    key = keys.application_key(order.order_id, invoice_id, line_id, len(line.captures) + 1)
    return order.with_line(line.applied(_taken(key, line_id, invoice_id, amount, now)))


def deposit_used(
    order: Order, invoice_id: str, line_id: str, amount: Money, now: datetime
) -> Order:
    """Part of a card deposit's capture used by the invoice (I1, D1): no processor call,
    and no voucher, the deposit's receipt having been posted when it was captured (J1)."""
    line = order.line(line_id)
    key = keys.deposit_use_key(order.order_id, invoice_id, line_id, len(line.applications) + 1)
    return order.with_line(line.used_deposit(_taken(key, line_id, invoice_id, amount, now)))


def _taken(key: str, line_id: str, invoice_id: str, amount: Money, now: datetime) -> Capture:
    """Money an invoice takes from what the line already received, with no processor call."""
    return Capture(capture_id=key, line_id=line_id, invoice_id=invoice_id, amount=amount,
                   refunded=Money.zero(amount.currency), captured_at=now)  # fmt: skip


def capture_ids(order: Order, invoice_id: str) -> tuple[str, ...]:
    """The ids of the captures ``invoice_id`` has on the order, rejected ones included."""
    return tuple(
        c.capture_id
        for line in order.lines
        for c in (*line.captures, *line.rejected_captures)
        if c.invoice_id == invoice_id
    )


def capture_number(
    line: PaymentLine,
    invoice_id: str,
    auth_id: str,
    *,
    protect: bool,
    among: Collection[str] | None = None,
) -> int:
    """Which capture of the invoice on this authorization this is (I4): with duplicate
    payment protection, one more than those recorded (of ``among``, capture ids, when
    given), so a capture the invoice already has stands for itself and a further one gets
    a step of its own. Without it, every attempt is a new attempt of the first (as before
    the feature)."""
    if not protect:
        return 1
    # A capture the processor rejected after approving it (N4) keeps its key: counted too.
    taken = (*line.captures, *line.rejected_captures)
    return 1 + sum(
        1
        for c in taken
        if c.invoice_id == invoice_id
        and c.auth_id == auth_id
        and (among is None or c.capture_id in among)
    )
