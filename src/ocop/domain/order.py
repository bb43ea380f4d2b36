"""Orders: the aggregate whose payment lines ocop manages.

An :class:`Order` records its channel, its payments type (fixed at creation,
rule P2), its customer, total, payment lines, invoices and holds. Its status
and balance are derived from those. Every change returns a new order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cached_property

import attrs

from ocop.domain.cardguard import validate_no_card_data
from ocop.domain.errors import (
    CurrencyMismatch,
    IllegalTransition,
    InvalidInput,
    LineNotFound,
    RefundExceedsReceived,
)
from ocop.domain.money import Money, total
from ocop.domain.order_kinds import Channel, HoldCode, OrderStatus, PaymentsType
from ocop.domain.order_records import SYSTEM, Hold, Invoice, ReleasedHold
from ocop.domain.parties import Customer
from ocop.domain.tender import PaymentLine, Refund
from ocop.domain.values import replaced

__all__ = [
    "SYSTEM",
    "Channel",
    "Hold",
    "HoldCode",
    "Invoice",
    "Order",
    "OrderStatus",
    "PaymentsType",
    "ReleasedHold",
]


def _id(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    """A non-empty string with no card number: spaces alone are an id too, as E1 says (the
    facade checks the rest of E1 at the edge)."""
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{attribute.name} must be a non-empty string")
    validate_no_card_data(instance, attribute, value)


@attrs.frozen(kw_only=True)
class Order:
    """An order of any channel with its payments. Build with :meth:`open`."""

    order_id: str = attrs.field(validator=_id)
    channel: Channel
    payments_type: PaymentsType
    customer: Customer
    total: Money
    lines: tuple[PaymentLine, ...] = ()
    invoices: tuple[Invoice, ...] = ()
    holds: tuple[Hold, ...] = ()
    #: Holds released (or lapsed), oldest release first (S4).
    released_holds: tuple[ReleasedHold, ...] = ()
    #: Refunds not tied to a payment line: fallback refunds (R3) and unlinked refunds (R4).
    other_refunds: tuple[Refund, ...] = ()
    needs_completion: bool = False
    #: Placed and never validated since (S3): its placement has not ended. One whose
    #: placement a call in doubt or a crash interrupted is finished by ``recover()`` (O2).
    #: None: not known (an order stored before this field existed).
    placing: bool | None = None
    #: D1: the deposit the order was placed to take, its payments' amounts then; kept apart
    #: from its lines, which hold what a card was approved for (N4). None: no deposit, or an
    #: order stored before this field existed (its deposit lines' amounts are its deposit).
    deposit_asked: Money | None = None
    #: S2: a call of the completion under way (a submit or a placement) was declined; its
    #: validation holds the order even when a run resumed after a doubt or a crash makes it.
    declined_in_completion: bool = False
    cancelled: bool = False
    placed_at: datetime
    version: int = 0

    def __attrs_post_init__(self) -> None:
        if self.total.is_negative():
            raise InvalidInput("an order total is not negative")
        for line in self.lines:
            if line.currency != self.currency:
                raise InvalidInput(f"line {line.line_id} is not in the order's currency (V7)")
        if self.deposit_asked is not None and self.deposit_asked.currency != self.currency:
            raise InvalidInput("the deposit is in the order's currency (V7)")
        ids = [line.line_id for line in self.lines]
        if len(ids) != len(set(ids)):
            raise InvalidInput("payment line ids are unique within an order")
        self._check_received()

    def _check_received(self) -> None:
        """V3: never refunded more than received (refunds pending counted, N1)."""
        if not self.other_refunds and not any(line.refunds for line in self.lines):
            return  # nothing refunded: V3 holds, whatever was received
        if self.refunded + self.refunding > self.received:
            raise RefundExceedsReceived(
                f"order {self.order_id}: refunded {self.refunded} exceeds received "
                f"{self.received} (V3)",
                order_id=self.order_id,
                amount=self.refunded.amount,
            )

    @classmethod
    def open(
        cls,
        order_id: str,
        *,
        channel: Channel,
        payments_type: PaymentsType,
        customer: Customer,
        total: Money,
        placed_at: datetime,
    ) -> Order:
        return cls(
            order_id=order_id,
            channel=channel,
            payments_type=payments_type,
            customer=customer,
            total=total,
            placed_at=placed_at,
            placing=True,
        )

    # -- derived -----------------------------------------------------------------------
    @property
    def currency(self) -> str:
        return self.total.currency

    @cached_property
    def received(self) -> Money:
        """Money taken from the customer: captures and posted prepayments."""
        return total([line.received for line in self.lines], self.currency)

    @cached_property
    def captured(self) -> Money:
        return total([line.captured for line in self.lines], self.currency)

    @cached_property
    def refunded(self) -> Money:
        """Every refund settled: of lines, by the fallback method, and to other cards."""
        amounts = [line.refunded for line in self.lines]
        amounts.extend(r.amount for r in self.other_refunds if not r.pending)
        return total(amounts, self.currency)

    @cached_property
    def refunding(self) -> Money:
        """Refunds accepted by the processor and not settled yet (N1)."""
        amounts = [line.refunding for line in self.lines]
        amounts.extend(r.amount for r in self.other_refunds if r.pending)
        return total(amounts, self.currency)

    @cached_property
    def charged_back(self) -> Money:
        """What chargebacks not reversed took back from the order's captures (N4)."""
        return total([line.charged_back for line in self.lines], self.currency)

    @property
    def returnable(self) -> Money:
        """What the order may still pay back (R3, R4, V3): received, less what was
        refunded (or is being refunded) and what chargebacks took back; never below zero
        (a chargeback may take more than was left, N4)."""
        left = self.received - self.refunded - self.refunding - self.charged_back
        return left.max(Money.zero(self.currency))

    @cached_property
    def authorized(self) -> Money:
        """Open, uncaptured authorizations."""
        return total([line.authorized for line in self.lines], self.currency)

    @cached_property
    def paid(self) -> Money:
        """Rule S1: prepayments + authorized-uncaptured + captured - refunded, active lines."""
        others = total([r.amount for r in self.other_refunds], self.currency)
        return total([line.paid for line in self.lines], self.currency) - others

    @property
    def balance_due(self) -> Money:
        """What is still to be paid; negative when overpaid."""
        return self.total - self.paid

    @cached_property
    def invoiced(self) -> Money:
        return total([inv.amount for inv in self.invoices], self.currency)

    @property
    def status(self) -> OrderStatus:
        if self.cancelled:
            return OrderStatus.CANCELLED
        if self.holds:
            return OrderStatus.ON_HOLD
        if self.needs_completion:
            return OrderStatus.PENDING_COMPLETION
        if self.invoices:
            if self.invoiced >= self.total:
                return OrderStatus.INVOICED
            return OrderStatus.PARTIALLY_INVOICED
        return OrderStatus.APPROVED

    @property
    def approved(self) -> bool:
        """Rule S3: submitted, no holds, not cancelled."""
        return not (self.cancelled or self.holds or self.needs_completion)

    def line(self, line_id: str) -> PaymentLine:
        for line in self.lines:
            if line.line_id == line_id:
                return line
        raise LineNotFound(line_id)

    def has_hold(self, code: HoldCode) -> bool:
        return any(h.code is code for h in self.holds)

    def hold(self, code: HoldCode) -> Hold | None:
        """The order's hold of ``code``, or None."""
        for found in self.holds:
            if found.code is code:
                return found
        return None

    def as_of(self, now: datetime) -> Order:
        """The order at ``now`` (S4): each hold whose ``until`` has come moves to
        ``released_holds``, released by :data:`SYSTEM` at its ``until``. A pure function of
        the order and ``now``, whether a lapse was stored already or not; the order itself
        when nothing lapsed (the version never changes here)."""
        lapsed = [h for h in self.holds if h.lapsed(now)]
        if not lapsed:
            return self
        released = [
            ReleasedHold(hold=h, released_by=SYSTEM, released_at=h.until or now) for h in lapsed
        ]
        history = sorted((*self.released_holds, *released), key=lambda r: r.released_at)
        return replaced(
            self,
            holds=tuple(h for h in self.holds if not h.lapsed(now)),
            released_holds=tuple(history),
        )

    # -- changes -----------------------------------------------------------------------
    def _require_open(self) -> None:
        if self.cancelled:
            raise IllegalTransition(f"order {self.order_id} is cancelled", order_id=self.order_id)

    def with_line(self, line: PaymentLine) -> Order:
        """Add ``line``, or replace the line with its id.

        Allowed on a cancelled order too: money still moves on it (voids settling,
        refunds of an invoiced order cancelled with a manual refund needed).
        """
        if line.currency != self.currency:
            raise InvalidInput(f"line {line.line_id} is not in the order's currency (V7)")
        if any(existing.line_id == line.line_id for existing in self.lines):
            lines = tuple(line if x.line_id == line.line_id else x for x in self.lines)
        else:
            lines = (*self.lines, line)
        changed = replaced(self, lines=lines)
        changed._check_received()
        return changed

    def with_total(self, new_total: Money) -> Order:
        """The order was edited: a new total, and completion is needed again (S3)."""
        self._require_open()
        if new_total < self.invoiced:
            raise IllegalTransition(
                f"order {self.order_id}: total below what is already invoiced",
                order_id=self.order_id,
                amount=new_total.amount,
            )
        return attrs.evolve(
            self, total=new_total, needs_completion=True, placing=self._placing_on_change()
        )

    def with_hold(self, hold: Hold) -> Order:
        if self.has_hold(hold.code):
            return self
        return replaced(self, holds=(*self.holds, hold))

    def without_hold(self, code: HoldCode) -> Order:
        if not self.has_hold(code):
            raise IllegalTransition(
                f"order {self.order_id} has no {code} hold", order_id=self.order_id
            )
        return replaced(self, holds=tuple(h for h in self.holds if h.code is not code))

    def released(self, code: HoldCode, *, by: str, at: datetime, override: bool = False) -> Order:
        """The order without its ``code`` hold, the release kept in ``released_holds``."""
        hold = self.hold(code)
        if hold is None:
            raise IllegalTransition(
                f"order {self.order_id} has no {code.value} hold", order_id=self.order_id
            )
        entry = ReleasedHold(hold=hold, released_by=by, released_at=at, override=override)
        return replaced(
            self,
            holds=tuple(h for h in self.holds if h.code is not code),
            released_holds=(*self.released_holds, entry),
        )

    def with_holds(self, holds: Iterable[Hold]) -> Order:
        """Replace every hold (validation at submit decides them all again)."""
        return replaced(self, holds=tuple(holds))

    def submitted(self) -> Order:
        """Completion ran: the order no longer waits for it, and its placement is over."""
        return replaced(self, needs_completion=False, placing=False, declined_in_completion=False)

    def pending_completion(self) -> Order:
        return replaced(self, needs_completion=True, placing=self._placing_on_change())

    def _placing_on_change(self) -> bool | None:
        """``placing`` once the order waits for completion again: an order stored before
        the field existed (None) that no longer waited for completion was validated."""
        if self.placing is None and not self.needs_completion:
            return False
        return self.placing

    def with_invoice(self, invoice: Invoice) -> Order:
        self._require_open()
        if any(i.invoice_id == invoice.invoice_id for i in self.invoices):
            raise IllegalTransition(
                f"invoice {invoice.invoice_id} already recorded", order_id=self.order_id
            )
        if self.invoiced + invoice.amount > self.total:
            raise IllegalTransition(
                f"order {self.order_id}: invoice beyond the order total (I1)",
                order_id=self.order_id,
                amount=invoice.amount.amount,
            )
        return replaced(self, invoices=(*self.invoices, invoice))

    def with_other_refund(self, refund: Refund, *, approved: bool = False) -> Order:
        """A fallback or unlinked refund; never beyond what the order received and has not
        paid back or lost to a chargeback (V3, N4). ``approved``: the processor's answer
        to an unlinked refund, recorded up to V3 alone (a chargeback recorded while it was
        away does not refuse money that moved, N4)."""
        if any(r.refund_id == refund.refund_id for r in self.other_refunds):
            raise IllegalTransition(
                f"refund {refund.refund_id} already recorded", order_id=self.order_id
            )
        if refund.amount.currency != self.currency:
            raise CurrencyMismatch(
                refund.amount.currency,
                self.currency,
                f"a refund in {refund.amount.currency} on an order in {self.currency}",
            )
        left = self.received - self.refunded - self.refunding if approved else self.returnable
        if refund.amount > left:
            raise RefundExceedsReceived(
                f"order {self.order_id}: refunding {refund.amount} exceeds the "
                f"{left} received and not yet refunded (V3)",
                order_id=self.order_id,
                amount=refund.amount.amount,
            )
        return replaced(self, other_refunds=(*self.other_refunds, refund))

    def cancel(self) -> Order:
        self._require_open()
        return replaced(self, cancelled=True)

    def next_version(self) -> Order:
        """The same order as stored one version later."""
        return self.at_version(self.version + 1)

    def at_version(self, version: int) -> Order:
        """The same order at ``version``: nothing else changes, so nothing is validated
        again. Its totals are not carried over: each sums its lines' own (kept with the
        lines, which the copy shares), which costs less than carrying them."""
        return replaced(self, version=version)
