"""The Adyen emulator's book of payments: state per PSP reference and the rules it enforces.

No HTTP here: :mod:`ocop.testing.adyen_emulator` parses requests and calls these methods
under its lock. Amounts are Adyen's: an integer ``value`` in minor units and a ``currency``.

Rules (Adyen's Checkout API reference, v72, the modification endpoints' descriptions):

- a capture may not exceed what remains authorised; without multiple partial captures
  the first capture closes the authorisation (the unclaimed rest is cancelled);
- refunds together may not exceed what was captured;
- a cancel or an amount update needs an authorisation not yet captured (with multiple
  partial captures enabled the emulator lets a cancel release what remains);
- a reversal cancels an uncaptured payment and refunds a captured one in full;
- an authorisation that expires closes: nothing more can be captured on it;
- a cancel or an expiry is final: a modification held before it and declined after it
  opens nothing again (the emulator's choice: the reference has a cancel end the
  authorisation, and says nothing of a capture in flight that fails after it).

A modification may be *held* (:meth:`Ledger.hold`): booked as if it succeeded, its
amount counted, until :meth:`Ledger.decide` settles it; declined, it is undone.

A request that breaks a rule is still answered ``received`` (as Adyen does): its outcome,
``success: "false"`` with a reason, comes in the webhook.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field, replace

__all__ = ["Held", "Ledger", "Outcome", "Payment", "Record"]

# A documented test card number has this prefix when sent "encrypted" on the test platform.
TEST_PREFIX = "test_"


@dataclass(frozen=True, slots=True)
class Record:
    """One movement as the emulator booked it, for reconciliation with the client's books.

    ``kind``: authorise, capture, cancel, refund, amount_update or reversal.
    ``psp_reference``: this movement's reference; ``payment_psp_reference``: the payment's
    (equal for an authorisation). ``merchant_reference``: the request's ``reference``.
    ``value``/``currency``: the amount in minor units. ``state``: authorised, refused,
    succeeded, failed (refused by the rules), or capture_failed / refund_failed (reported
    in CAPTURE_FAILED / REFUND_FAILED after a successful CAPTURE / REFUND), held (accepted,
    its outcome not decided yet), declined (held, then declined); an ``expire`` record is
    an authorisation's remaining amount lapsing.
    """

    kind: str
    psp_reference: str
    payment_psp_reference: str
    merchant_reference: str
    value: int
    currency: str
    state: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one modification: the webhook items it produces, in order."""

    psp_reference: str
    succeeded: bool
    reason: str
    events: tuple[tuple[str, bool, str], ...]  # (eventCode, success, reason)


@dataclass(slots=True)
class Payment:
    """An authorisation and what happened to it since."""

    psp_reference: str
    reference: str
    merchant_account: str
    currency: str
    authorised: int
    brand: str
    captured: int = 0
    refunded: int = 0
    open: bool = True
    captures: int = 0
    #: Closed for good: cancelled (a cancel decided, not held) or expired. A held
    #: modification declined since opens nothing again.
    ended: bool = False

    @property
    def remaining(self) -> int:
        """What can still be captured."""
        return self.authorised - self.captured if self.open else 0


@dataclass(slots=True)
class StoredCard:
    """A stored payment method (a token), with no card number kept."""

    id: str
    shopper_reference: str
    merchant_account: str
    last_four: str
    brand: str
    models: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Held:
    """A modification accepted and counted, its outcome not decided yet."""

    index: int  # of its record
    payment: Payment
    outcome: Outcome
    undo: tuple[int, bool]  # the payment's authorised amount and openness before it


@dataclass(slots=True)
class Ledger:
    """Payments by PSP reference, stored cards by id, and every movement booked."""

    multi_capture: bool
    payments: dict[str, Payment] = field(default_factory=dict)
    cards: dict[str, StoredCard] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    held: dict[str, Held] = field(default_factory=dict)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def new_reference(self) -> str:
        """A fresh 16-character PSP reference."""
        return f"EMU{next(self._counter):07d}{secrets.token_hex(3).upper()}"

    # -- cards --------------------------------------------------------------------------

    def store_card(
        self, shopper: str, merchant: str, pan: str, models: tuple[str, ...]
    ) -> StoredCard:
        """Keep a token for a card; only its last four digits are kept."""
        card = StoredCard(self.new_reference(), shopper, merchant, pan[-4:], brand_of(pan), models)
        self.cards[card.id] = card
        return card

    # -- authorisation ------------------------------------------------------------------

    def authorise(
        self, *, reference: str, merchant: str, currency: str, value: int, brand: str, refused: bool
    ) -> Payment | None:
        """Book an authorisation; None if refused (still booked, as ``refused``)."""
        psp = self.new_reference()
        state = "refused" if refused else "authorised"
        self.records.append(Record("authorise", psp, psp, reference, value, currency, state))
        if refused:
            return None
        payment = Payment(psp, reference, merchant, currency, value, brand)
        self.payments[psp] = payment
        return payment

    # -- modifications ------------------------------------------------------------------

    def _finish(
        self,
        kind: str,
        event: str,
        p: Payment,
        what: tuple[str, int, str],
        why: str,
        *,
        failed_later: str = "",
    ) -> Outcome:
        ref, value, cur = what
        psp = self.new_reference()
        ok = not why
        state = "succeeded" if ok else "failed"
        if ok and failed_later:
            state = f"{kind}_failed"
        self.records.append(Record(kind, psp, p.psp_reference, ref, value, cur, state))
        events: list[tuple[str, bool, str]] = [(event, ok, why)]
        if ok and failed_later:
            events.append((failed_later, True, f"{kind.capitalize()} Failed"))
        return Outcome(psp, ok, why, tuple(events))

    def capture(self, p: Payment, ref: str, value: int, cur: str, *, fail_later: bool) -> Outcome:
        """Capture ``value``; with ``fail_later`` the scheme rejects it after CAPTURE.

        A capture that fails later takes nothing: with multiple partial captures its amount
        may be captured again; without them it still closed the authorisation.
        """
        why = _amount_problem(p, value, cur)
        if not why and not p.open:
            why = "Payment is not open for capture"
        elif not why and value > p.remaining:
            why = "Insufficient balance on payment"
        outcome = self._finish(
            "capture",
            "CAPTURE",
            p,
            (ref, value, cur),
            why,
            failed_later="CAPTURE_FAILED" if fail_later else "",
        )
        if outcome.succeeded:
            p.captures += 1
            if not fail_later:
                p.captured += value
            if not self.multi_capture or p.captured >= p.authorised:
                p.open = False
        return outcome

    def refund(self, p: Payment, ref: str, value: int, cur: str, *, fail_later: bool) -> Outcome:
        """Refund ``value`` of what was captured; with ``fail_later`` REFUND_FAILED follows."""
        why = _amount_problem(p, value, cur)
        if not why and p.captured == 0:
            why = "Transaction hasn't been captured, refund not possible"
        elif not why and value > p.captured - p.refunded:
            why = "Insufficient balance on payment"
        outcome = self._finish(
            "refund",
            "REFUND",
            p,
            (ref, value, cur),
            why,
            failed_later="REFUND_FAILED" if fail_later else "",
        )
        if outcome.succeeded and not fail_later:
            p.refunded += value
        return outcome

    def cancel(self, p: Payment, ref: str) -> Outcome:
        """Cancel the authorisation; after partial captures (multi-capture), what remains."""
        why = "" if p.open else "Payment is not open"
        outcome = self._finish("cancel", "CANCELLATION", p, (ref, p.remaining, p.currency), why)
        if outcome.succeeded:
            p.open, p.ended = False, True
        return outcome

    def update_amount(self, p: Payment, ref: str, value: int, cur: str) -> Outcome:
        """Set the authorised amount to ``value`` (only before any capture)."""
        why = ""
        if cur != p.currency:
            why = "Currency does not match the payment"
        elif value <= 0:
            why = "Invalid amount specified"
        elif not p.open or p.captures:
            why = "Payment is not open for an amount update"
        outcome = self._finish(
            "amount_update", "AUTHORISATION_ADJUSTMENT", p, (ref, value, cur), why
        )
        if outcome.succeeded:
            p.authorised = value
        return outcome

    def reverse(self, p: Payment, ref: str) -> Outcome:
        """Cancel if not captured, else refund what was captured and not refunded."""
        if p.captured == 0 and p.open:
            p.open = False
            return self._finish(
                "reversal", "CANCEL_OR_REFUND", p, (ref, p.authorised, p.currency), ""
            )
        rest = p.captured - p.refunded
        why = "" if rest > 0 else "Nothing left to cancel or refund"
        outcome = self._finish("reversal", "CANCEL_OR_REFUND", p, (ref, rest, p.currency), why)
        if outcome.succeeded:
            p.refunded += rest
            p.open = False
        return outcome

    # -- held outcomes and expiry ----------------------------------------------------------

    def before(self, p: Payment) -> tuple[int, bool]:
        """What :meth:`hold` needs to undo a modification of ``p`` made next."""
        return p.authorised, p.open

    def hold(self, p: Payment, outcome: Outcome, undo: tuple[int, bool]) -> None:
        """Keep the modification just booked (the last record) undecided."""
        index = len(self.records) - 1
        self.records[index] = replace(self.records[index], state="held")
        if self.records[index].kind == "cancel":
            p.ended = False  # not before it is decided
        self.held[self.records[index].merchant_reference] = Held(index, p, outcome, undo)

    def decide(self, merchant_reference: str, *, success: bool) -> tuple[Held, Record]:
        """Settle a held modification; declined, its effect on the payment is undone
        (what changed since by other modifications stays)."""
        held = self.held.pop(merchant_reference)
        record = self.records[held.index]
        p = held.payment
        if not success:
            authorised, was_open = held.undo
            if record.kind == "capture":
                p.captured -= record.value
                p.captures -= 1
            elif record.kind == "refund":
                p.refunded -= record.value
            elif record.kind == "amount_update":
                p.authorised = authorised
            p.open = (p.open or was_open) and not p.ended
        elif record.kind == "cancel":
            p.ended = True
        record = replace(record, state="succeeded" if success else "declined")
        self.records[held.index] = record
        return held, record

    def expire(self, p: Payment) -> Record:
        """The authorisation's remaining amount lapses; the payment closes."""
        record = Record("expire", self.new_reference(), p.psp_reference, p.reference,
                        p.remaining, p.currency, "succeeded")  # fmt: skip
        p.open, p.ended = False, True
        self.records.append(record)
        return record


def _amount_problem(p: Payment, value: int, currency: str) -> str:
    if currency != p.currency:
        return "Currency does not match the payment"
    if value <= 0:
        return "Invalid amount specified"
    return ""


def brand_of(pan: str) -> str:
    """A card brand from the first digit of a test card number (enough for an emulator)."""
    return {"4": "visa", "5": "mc", "3": "amex"}.get(pan[:1], "scheme")
