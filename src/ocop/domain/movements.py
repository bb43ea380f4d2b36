"""Money movements on a payment line: authorizations, captures, refunds, chargebacks.

Invariants checked on construction: per authorization captured + voided <=
authorized (V1); per capture refunded <= captured (V2). What a capture can still
refund is what it took less what was refunded and what the card holder's bank took
back (its chargebacks, N4), never below zero.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property

import attrs

from ocop.domain.cardguard import validate_no_card_data
from ocop.domain.errors import IllegalTransition, InvalidInput
from ocop.domain.money import Money
from ocop.domain.tokens import AuthorizationToken, CaptureToken, RefundToken, mask

__all__ = ["Authorization", "Capture", "Chargeback", "Refund", "positive"]


def positive(instance: object, attribute: attrs.Attribute[Money], value: Money) -> None:
    if not isinstance(value, Money) or not value.is_positive():
        raise InvalidInput(f"{type(instance).__name__}.{attribute.name} must be positive money")


def _not_negative(instance: object, attribute: attrs.Attribute[Money], value: Money) -> None:
    if not isinstance(value, Money) or value.is_negative():
        raise InvalidInput(f"{type(instance).__name__}.{attribute.name} must not be negative")


@attrs.frozen(kw_only=True)
class Authorization:
    """An authorization on a card line. ``voided`` counts what was released unused."""

    auth_id: str = attrs.field(validator=validate_no_card_data)
    token: AuthorizationToken
    amount: Money = attrs.field(validator=positive)
    authorized_at: datetime
    multi_capture: bool
    captured: Money = attrs.field(validator=_not_negative)
    voided: Money = attrs.field(validator=_not_negative)
    #: The card token value this authorization was made with.
    card_value: str = attrs.field(default="", validator=validate_no_card_data, repr=mask)
    #: Expired and left to lapse at the processor, never voided (its line was removed while
    #: manual void of expired authorizations was off): nothing is open on it any more.
    lapsed: bool = False
    #: The id of the notification by which the processor ended it (cancelled or let it
    #: expire, N4); it is lapsed from then on. Empty: not ended by the processor.
    ended_by: str = attrs.field(default="", validator=validate_no_card_data)
    #: How many voids released money from it (the next void is numbered one more).
    voids: int = 0
    #: What a void released beyond what was open: money pending captures took that the
    #: processor had given back already (they failed before the void). Their failure,
    #: when its notification comes, gives none of it back (N2, V5). None: nothing.
    released_early: Money | None = None
    #: A void counted done when it answered pending (N1) was refused in the end: the
    #: processor still holds what it was to release, though nothing is open on it here.
    #: The renewal job (or the ``recover()`` that learnt the refusal) voids it again (V5).
    unreleased: bool = False

    @classmethod
    def new(
        cls,
        auth_id: str,
        token: AuthorizationToken,
        amount: Money,
        *,
        at: datetime,
        multi_capture: bool,
        card_value: str = "",
    ) -> Authorization:
        """A fresh authorization, nothing captured or voided yet."""
        zero = Money.zero(amount.currency)
        return cls(
            auth_id=auth_id,
            token=token,
            amount=amount,
            authorized_at=at,
            multi_capture=multi_capture,
            captured=zero,
            voided=zero,
            card_value=card_value,
        )

    def __attrs_post_init__(self) -> None:
        if self.captured + self.voided > self.amount:
            raise IllegalTransition(
                f"authorization {self.auth_id}: captured + voided exceeds authorized (V1)",
                auth_id=self.auth_id,
            )

    @cached_property
    def open_amount(self) -> Money:
        """What can still be captured."""
        if self.lapsed:
            return Money.zero(self.amount.currency)
        return self.amount - self.captured - self.voided


@attrs.frozen(kw_only=True)
class Chargeback:
    """Money the card holder's bank took back from a capture (N4), recorded once per
    notification (``chargeback_id`` is the notification's id). ``dispute``: the
    processor's id of the dispute, which its reversal names. A reversed chargeback
    (``reversed_by``: the reversal notification's id) is kept as history and no longer
    counts."""

    chargeback_id: str = attrs.field(validator=validate_no_card_data)
    dispute: str = attrs.field(validator=validate_no_card_data)
    amount: Money = attrs.field(validator=positive)
    charged_back_at: datetime
    reversed_by: str = attrs.field(default="", validator=validate_no_card_data)
    reversed_at: datetime | None = None
    #: The journal its voucher posted to (J2), where a voucher undoing it posts too (V4);
    #: empty until its voucher posts (pending), or recorded before it was kept.
    journal: str = attrs.field(default="", validator=validate_no_card_data)

    @property
    def reversed(self) -> bool:
        return bool(self.reversed_by)


@attrs.frozen(kw_only=True)
class Capture:
    """Money taken against an authorization for one invoice (or a prepayment applied).

    A deposit (rule D1) is captured before any invoice: its ``invoice_id`` is None.
    """

    capture_id: str = attrs.field(validator=validate_no_card_data)
    line_id: str = attrs.field(validator=validate_no_card_data)
    invoice_id: str | None = attrs.field(validator=validate_no_card_data)
    amount: Money = attrs.field(validator=positive)
    auth_id: str | None = attrs.field(default=None, validator=validate_no_card_data)
    token: CaptureToken | None = None
    refunded: Money = attrs.field(validator=_not_negative)
    captured_at: datetime
    #: Accepted by the processor, its outcome still to come (N1): it counts against its
    #: authorization, but nothing is received (nor refundable) until it is settled.
    pending: bool = False
    #: Chargebacks against it (N4), reversed ones included, oldest first.
    chargebacks: tuple[Chargeback, ...] = ()
    #: The journal its voucher posted to (J2), where a voucher undoing it posts too (V4);
    #: empty until its voucher posts (pending), or recorded before it was kept.
    journal: str = attrs.field(default="", validator=validate_no_card_data)

    def __attrs_post_init__(self) -> None:
        if self.refunded > self.amount:
            raise IllegalTransition(
                f"capture {self.capture_id}: refunded exceeds captured (V2)",
                capture_id=self.capture_id,
            )

    @cached_property
    def charged_back(self) -> Money:
        """What chargebacks not reversed took back (N4)."""
        taken = Money.zero(self.amount.currency)
        for chargeback in self.chargebacks:
            if not chargeback.reversed:
                taken += chargeback.amount
        return taken

    @cached_property
    def unrefunded(self) -> Money:
        """What V2 still lets a refund *recorded* on it take: captured - refunded, nothing
        while pending. A refund the processor approved is recorded up to this even when a
        chargeback took part of it meanwhile (N4): the money moved at the processor."""
        if self.pending:
            return Money.zero(self.amount.currency)
        return self.amount - self.refunded

    @cached_property
    def refundable(self) -> Money:
        """What a refund may still take: captured - refunded - charged back, never below
        zero (a chargeback may take more than was left, N4); nothing while pending."""
        zero = Money.zero(self.amount.currency)
        if self.pending:
            return zero
        return (self.amount - self.refunded - self.charged_back).max(zero)


@attrs.frozen(kw_only=True)
class Refund:
    """Money returned: against a capture (linked) or to another card (unlinked)."""

    refund_id: str = attrs.field(validator=validate_no_card_data)
    return_id: str = attrs.field(validator=validate_no_card_data)
    amount: Money = attrs.field(validator=positive)
    capture_id: str | None = attrs.field(default=None, validator=validate_no_card_data)
    token: RefundToken | None = None
    refunded_at: datetime
    #: How the money went back: ``"card"`` (linked or unlinked), or the fallback method.
    method: str = attrs.field(default="card", validator=validate_no_card_data)
    #: Accepted by the processor, its outcome still to come (N1): it counts against its
    #: capture (and what the order may still refund), but is not refunded until settled.
    pending: bool = False
    #: The journal its voucher posted to (J2), where a voucher undoing it posts too (V4);
    #: empty until its voucher posts (pending), or recorded before it was kept.
    journal: str = attrs.field(default="", validator=validate_no_card_data)
