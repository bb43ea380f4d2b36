"""Payment lines (tender lines) and the money movements on them.

A :class:`PaymentLine` is one tender on an order. A card line holds its
authorizations, captures and refunds; a prepayment line (cash, check, customer
account, gift card ...) holds the amount received. Every change returns a new
line; an illegal one raises :class:`IllegalTransition` and changes nothing.
Invariants: per authorization captured + voided <= authorized (V1); per capture
refunded <= captured (V2).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import attrs

from ocop.domain import line_applications, line_auths, line_refunds
from ocop.domain.cardguard import validate_no_card_data
from ocop.domain.errors import IllegalTransition, InvalidInput
from ocop.domain.line_status import (
    INACTIVE,
    POSTED,
    LineStatus,
    PaymentMethod,
    derived_status,
    refused,
    require_card,
)
from ocop.domain.money import Money, total
from ocop.domain.movements import Authorization, Capture, Chargeback, Refund, positive
from ocop.domain.tokens import CardToken
from ocop.domain.values import replaced, setter


@attrs.frozen(kw_only=True)
class PaymentLine:
    """One tender on an order. Build with :meth:`card_line` or :meth:`prepayment_line`."""

    line_id: str = attrs.field(validator=validate_no_card_data)
    method: PaymentMethod
    amount: Money = attrs.field(validator=positive)
    status: LineStatus = LineStatus.NOT_SUBMITTED
    card: CardToken | None = None
    instrument_id: str | None = attrs.field(default=None, validator=validate_no_card_data)
    check_number: str | None = attrs.field(default=None, validator=validate_no_card_data)
    authorizations: tuple[Authorization, ...] = ()
    captures: tuple[Capture, ...] = ()
    refunds: tuple[Refund, ...] = ()
    #: Taken off in completion; voided and retired when the draft is submitted.
    pending_removal: bool = False
    #: A saved card waiting to be tokenized with its CVV before authorization.
    needs_tokenize: bool = False
    #: Taken as the order's deposit when it was placed (D1): a card is captured at once.
    deposit: bool = False
    #: A card deposit's uses by invoices (I1, D1): no processor call, nothing posted.
    applications: tuple[Capture, ...] = ()
    #: The renewal job (A1), or an invoice (I3), is renewing the line's authorization: set
    #: before its void, and kept until the line is authorized again or declined and the
    #: order held, so a renewal interrupted anywhere is found and finished (A2).
    renewing: bool = False
    #: Captures the processor approved, then rejected (N4): their money never moved. Kept
    #: as history, so the invoice's next capture gets a key of its own (I4).
    rejected_captures: tuple[Capture, ...] = ()
    #: Refunds the processor approved, then rejected (N4), likewise (R5).
    rejected_refunds: tuple[Refund, ...] = ()

    def __attrs_post_init__(self) -> None:
        if (self.method is PaymentMethod.CARD) != (self.card is not None):
            raise InvalidInput("a card line needs a card token; other lines take none")

    @classmethod
    def card_line(
        cls, line_id: str, card: CardToken, amount: Money, *, instrument_id: str | None = None
    ) -> PaymentLine:
        return cls(
            line_id=line_id,
            method=PaymentMethod.CARD,
            amount=amount,
            card=card,
            instrument_id=instrument_id,
        )

    @classmethod
    def prepayment_line(
        cls, line_id: str, method: PaymentMethod, amount: Money, *, check_number: str | None = None
    ) -> PaymentLine:
        if method is PaymentMethod.CARD:
            raise InvalidInput("a card is not a prepayment")
        return cls(line_id=line_id, method=method, amount=amount, check_number=check_number)

    # -- derived amounts -------------------------------------------------------------
    @property
    def currency(self) -> str:
        return self.amount.currency

    @property
    def is_card(self) -> bool:
        return self.method is PaymentMethod.CARD

    @property
    def is_prepayment(self) -> bool:
        return not self.is_card

    @property
    def active(self) -> bool:
        return self.status not in INACTIVE

    @cached_property
    def authorized(self) -> Money:
        """Open, uncaptured authorized money."""
        return total([a.open_amount for a in self.authorizations], self.currency)

    @cached_property
    def captured(self) -> Money:
        if self.is_prepayment:
            return Money.zero(self.currency)
        return total([c.amount for c in self.captures], self.currency)

    @cached_property
    def refunded(self) -> Money:
        """Refunds settled (a pending one is in :attr:`refunding`)."""
        return total([r.amount for r in self.refunds if not r.pending], self.currency)

    @cached_property
    def refunding(self) -> Money:
        """Refunds the processor accepted and has not settled yet (N1)."""
        return total([r.amount for r in self.refunds if r.pending], self.currency)

    @cached_property
    def received(self) -> Money:
        """Money actually taken from the customer on this line (a pending capture is not,
        yet: N1)."""
        if self.is_prepayment:
            return self.amount if self.status in POSTED else Money.zero(self.currency)
        return total([c.amount for c in self.captures if not c.pending], self.currency)

    @cached_property
    def charged_back(self) -> Money:
        """What chargebacks not reversed took back from this line's captures (N4)."""
        return total([c.charged_back for c in self.captures], self.currency)

    @cached_property
    def paid(self) -> Money:
        """This line's share of the order's paid total (rule S1); pending captures and
        refunds count as if approved (N1); what chargebacks took back is not paid (N4)."""
        taken = self.captured if self.is_card else self.received
        back = self.refunded + self.refunding + self.charged_back
        if not self.active:
            return taken - back
        return taken + self.authorized - back

    @cached_property
    def invoiced(self) -> Money:
        """Money of this line applied to invoices (captures, or prepayment applications)."""
        return total([c.amount for c in self.captures], self.currency)

    @cached_property
    def capturable(self) -> Money:
        """What invoicing may still take from this line."""
        if self.is_prepayment:
            if self.status not in POSTED:
                return Money.zero(self.currency)
            return (self.amount - self.invoiced - self.refunded).max(Money.zero(self.currency))
        return self.authorized

    @property
    def deposit_captures(self) -> tuple[Capture, ...]:
        """A card line's captures taken as the order's deposit, before any invoice (D1)."""
        return tuple(c for c in self.captures if c.invoice_id is None)

    @cached_property
    def deposit_available(self) -> Money:
        """What a card deposit can still give to invoices: captured, not refunded, not yet
        used by an invoice (I1, D1)."""
        zero = Money.zero(self.currency)
        if not self.is_card:
            return zero
        kept = total([c.refundable for c in self.deposit_captures], self.currency)
        used = total([a.amount for a in self.applications], self.currency)
        return (kept - used).max(zero)

    def authorization(self, auth_id: str) -> Authorization:
        for auth in self.authorizations:
            if auth.auth_id == auth_id:
                return auth
        raise IllegalTransition(f"line {self.line_id} has no authorization {auth_id}")

    def capture(self, capture_id: str) -> Capture:
        cap = self._captures_by_id.get(capture_id)
        if cap is None:
            raise IllegalTransition(f"line {self.line_id} has no capture {capture_id}")
        return cap

    @cached_property
    def _captures_by_id(self) -> dict[str, Capture]:
        return {cap.capture_id: cap for cap in self.captures}

    def open_authorizations(self) -> tuple[Authorization, ...]:
        return tuple(a for a in self.authorizations if a.open_amount.is_positive())

    @property
    def unreleased(self) -> bool:
        """Whether an authorization of it is to be voided again (a refused pending void, V5)."""
        return any(a.unreleased for a in self.authorizations)

    # -- transitions -----------------------------------------------------------------
    def _illegal(self, what: str, amount: Money | None = None) -> IllegalTransition:
        return refused(self, what, amount)

    def _require_card(self, what: str) -> None:
        require_card(self, what)

    def settled_with(self, **changes: object) -> PaymentLine:
        """The line with ``changes`` (already checked by the caller) applied and its status
        derived from its money again."""
        line = replaced(self, **changes)
        status = derived_status(line)
        if status is not line.status:
            # The copy is this call's alone: its status is set in place, and it keeps the
            # amounts that derived it (a prepayment receives the same as paid or refunded).
            _set_status(line, status)
        return line

    def begin_authorization(self) -> PaymentLine:
        """An authorization was asked for and its answer is not known yet."""
        self._require_card("authorize")
        if self.status not in (LineStatus.NOT_SUBMITTED, LineStatus.PENDING_AUTHORIZATION):
            return self
        return replaced(self, status=LineStatus.PENDING_AUTHORIZATION)

    def authorized_with(self, auth: Authorization) -> PaymentLine:
        """The processor approved ``auth`` for this line."""
        self._require_card("authorize")
        # A refunded line may still be short of its amount (a single capture released the
        # rest, then was refunded): it is authorized again like any partly captured line.
        if self.status in INACTIVE:
            raise self._illegal("cannot authorize", auth.amount)
        if any(a.auth_id == auth.auth_id for a in self.authorizations):
            raise self._illegal(f"authorization {auth.auth_id} already recorded")
        if auth.amount.currency != self.currency:
            raise self._illegal("authorization in another currency")
        if not auth.captured.is_zero() or not auth.voided.is_zero():
            raise self._illegal("a new authorization starts unused")
        return self.settled_with(authorizations=(*self.authorizations, auth), renewing=False)

    def declined(self) -> PaymentLine:
        """The processor declined this line's authorization (or adjustment, or tokenization).

        A saved card declined before its tokenization succeeded (a wrong CVV, or no CVV to
        give) still ``needs_tokenize``: its card is the vault's, used only with a CVV (T1)."""
        self._require_card("decline")
        if self.authorized.is_positive() or self.captured.is_positive():
            raise self._illegal("a line with open or captured money cannot be declined")
        return replaced(self, status=LineStatus.DECLINED)

    def tokenized(self, card: CardToken) -> PaymentLine:
        """A saved card was tokenized with its CVV: the line pays with the one-time token."""
        return replaced(self, card=card, needs_tokenize=False)

    def not_pending(self) -> PaymentLine:
        """An authorization in flight came to nothing: the line waits for one again."""
        if self.status is LineStatus.PENDING_AUTHORIZATION:
            return replaced(self, status=LineStatus.NOT_SUBMITTED)
        return self

    def resubmittable(self) -> PaymentLine:
        """A declined line given a new card: it waits for authorization again."""
        if self.status is LineStatus.DECLINED:
            return replaced(self, status=LineStatus.NOT_SUBMITTED)
        return self

    def authorizations_with(self, auth: Authorization) -> tuple[Authorization, ...]:
        """The line's authorizations, ``auth`` in place of the one with its id."""
        return tuple(auth if a.auth_id == auth.auth_id else a for a in self.authorizations)

    # Authorizations adjusted, voided or left to lapse (ocop.domain.line_auths).
    def adjusted(self, auth_id: str, new_amount: Money) -> PaymentLine:
        """The processor adjusted an authorization to ``new_amount`` (rule C3)."""
        return line_auths.adjusted(self, auth_id, new_amount)

    def voided_auth(self, auth_id: str, *, awaiting_new: bool = False, number: int = 1,
                    amount: Money | None = None) -> PaymentLine:  # fmt: skip
        """The open remainder of an authorization was voided (released) by its
        ``number``-th void (``amount``: no more than this was released).

        ``awaiting_new``: the void makes way for a new authorization (a replaced
        card, a re-authorization), so a line left with nothing open waits for it
        instead of being retired.
        """
        return line_auths.voided(self, auth_id, awaiting_new=awaiting_new, number=number,
                                 amount=amount)  # fmt: skip

    def lapsed_auth(self, auth_id: str, *, awaiting_new: bool = False) -> PaymentLine:
        """An expired authorization left to lapse at the processor, never voided (manual
        void of expired authorizations off, or gone there already): nothing is open on it
        any more. ``awaiting_new``: as for :meth:`voided_auth`."""
        return line_auths.lapsed(self, auth_id, awaiting_new=awaiting_new)

    def renewal(self, *, under_way: bool) -> PaymentLine:
        """The line with its renewal (A1) marked as under way, or as ended."""
        self._require_card("renew")
        return self if self.renewing is under_way else replaced(self, renewing=under_way)

    def captured_with(self, capture: Capture) -> PaymentLine:
        """The processor captured ``capture`` against one of this line's authorizations.

        A capture on an authorization without multi-capture closes it: the rest
        is released, as processors do.
        """
        self._require_card("capture")
        if capture.auth_id is None or capture.line_id != self.line_id:
            raise self._illegal("a card capture names its line and authorization")
        if any(c.capture_id == capture.capture_id for c in self.captures):
            raise self._illegal(f"capture {capture.capture_id} already recorded")
        if not capture.amount.is_positive():
            raise self._illegal(f"a capture of {capture.amount} moves no money", capture.amount)
        auth = self.authorization(capture.auth_id)
        # V1 only: planning captures within what is open, but an authorization the
        # processor ended (N4) while the capture was away must not refuse its answer.
        unused = auth.amount - auth.captured - auth.voided
        if capture.amount > unused:
            raise self._illegal(
                f"capture of {capture.amount} exceeds the {unused} open on "
                f"authorization {auth.auth_id} (V1)",
                capture.amount,
            )
        captured = auth.captured + capture.amount
        # Without multi-capture the rest is released.
        voided = auth.voided if auth.multi_capture else auth.amount - captured
        used = replaced(auth, captured=captured, voided=voided)
        return self.settled_with(
            authorizations=self.authorizations_with(used), captures=(*self.captures, capture)
        )

    # Refunds, and pending captures and refunds settled (ocop.domain.line_refunds).
    def capture_settled(self, capture_id: str, *, approved: bool, journal: str = "") -> PaymentLine:
        """A pending capture's outcome (N1, N2): approved, received (its voucher posted to
        ``journal``); failed, undone."""
        return line_refunds.capture_settled(self, capture_id, approved=approved, journal=journal)

    def refund_settled(self, refund_id: str, *, approved: bool, journal: str = "") -> PaymentLine:
        """A pending refund's outcome (N1, N2): approved, refunded (its voucher posted to
        ``journal``); failed, undone."""
        return line_refunds.refund_settled(self, refund_id, approved=approved, journal=journal)

    def refunded_with(self, refund: Refund) -> PaymentLine:
        """A refund of this line: against one capture, or of a prepayment (V2, V3)."""
        return line_refunds.refunded_with(self, refund)

    def refunded_with_all(self, refunds: Sequence[Refund]) -> PaymentLine:
        """Refunds of this card line's captures, a return's batch at once (V2)."""
        return line_refunds.refunded_with_all(self, refunds)

    # Prepayments posted and applied, deposits used (ocop.domain.line_applications).
    def posted(self) -> PaymentLine:
        """A prepayment was received and posted (at submit)."""
        return line_applications.posted(self)

    def applied(self, capture: Capture) -> PaymentLine:
        """A posted prepayment was applied to an invoice (rule I1)."""
        return line_applications.applied(self, capture)

    def used_deposit(self, application: Capture) -> PaymentLine:
        """Part of this card line's deposit was applied to an invoice (I1, D1)."""
        return line_applications.used_deposit(self, application)

    def with_amount(self, amount: Money) -> PaymentLine:
        """The line's target amount changed (a completion edit, applied at submit)."""
        return attrs.evolve(self, amount=amount)

    def removed(self, *, lapsing: bool = False) -> PaymentLine:
        """The line was taken off the order; it stays for history, inactive.

        ``lapsing``: its open authorizations expired and are left to lapse at the processor
        (manual void of expired authorizations off) instead of being voided.
        """
        if lapsing:
            lapsed = tuple(
                replaced(a, lapsed=True) if a.open_amount.is_positive() else a
                for a in self.authorizations
            )
            return replaced(self, authorizations=lapsed).removed()
        if self.authorized.is_positive():
            raise self._illegal("void its open authorization before removing the line")
        if not self.captured.is_zero() or self.received.is_positive():
            raise self._illegal("a line that received money cannot be removed (C5)")
        return replaced(self, status=LineStatus.VOIDED, pending_removal=False, renewing=False)


#: Sets a line's status past its frozen ``__setattr__`` (on a copy not yet returned).
_set_status = setter(PaymentLine, "status")

__all__ = [
    "INACTIVE",
    "Authorization",
    "Capture",
    "Chargeback",
    "LineStatus",
    "PaymentLine",
    "PaymentMethod",
    "Refund",
]
