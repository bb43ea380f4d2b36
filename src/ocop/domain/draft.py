"""The completion draft: pure edits to an order's payment lines (rules C1-C6, F3).

:class:`CompletionDraft` is a value. Each edit validates and returns a new
draft, or raises a specific error and leaves the draft as it was. Nothing
reaches the processor until the draft is submitted; :func:`plan` turns a draft
into the processor steps submit runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs

from ocop.domain.cardguard import check_cvv, validate_cvvs
from ocop.domain.cardnumbers import quoted
from ocop.domain.edge import check_id, check_optional_id
from ocop.domain.errors import (
    CurrencyMismatch,
    InvalidDraftEdit,
    InvalidInput,
    LineNotFound,
)
from ocop.domain.money import Money, total
from ocop.domain.order import Order
from ocop.domain.parties import Actor
from ocop.domain.settings import Settings
from ocop.domain.tender import LineStatus, PaymentLine, PaymentMethod
from ocop.domain.tokens import CardToken, SavedInstrument, pick_instrument

POS_CHECK_NUMBER = "9999"


def _frozen_map(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


@attrs.frozen(kw_only=True)
class CompletionDraft:
    """An order's payment lines as the call center is editing them.

    ``lines`` are the draft's lines, each ``line_id`` stable; ``removed`` the ids
    of the order's lines taken off. CVVs for saved cards are held here until
    submit and appear in no repr, comparison or stored value.
    """

    order: Order
    actor: Actor
    settings: Settings = attrs.field(repr=False)
    lines: tuple[PaymentLine, ...]
    removed: frozenset[str] = frozenset()
    instruments: tuple[SavedInstrument, ...] = attrs.field(default=(), repr=False)
    _cvvs: Mapping[str, str] = attrs.field(
        default=MappingProxyType({}),
        converter=_frozen_map,
        validator=validate_cvvs,
        repr=False,
        eq=False,
        alias="cvvs",
    )

    @classmethod
    def begin(
        cls,
        order: Order,
        actor: Actor,
        settings: Settings,
        instruments: tuple[SavedInstrument, ...] = (),
    ) -> CompletionDraft:
        live = tuple(line for line in order.lines if line.status is not LineStatus.VOIDED)
        return cls(order=order, actor=actor, settings=settings, lines=live, instruments=instruments)

    # -- reading -----------------------------------------------------------------------
    @property
    def order_id(self) -> str:
        return self.order.order_id

    @property
    def currency(self) -> str:
        return self.order.currency

    def line(self, line_id: str) -> PaymentLine:
        check_id(line_id, "line_id")
        for line in self.lines:
            if line.line_id == line_id:
                return line
        raise LineNotFound(line_id)

    def cvv_for(self, line_id: str) -> str | None:
        """The CVV given for a saved-card line added in this draft (used once, at submit)."""
        return self._cvvs.get(line_id)

    @property
    def planned_paid(self) -> Money:
        """What the order will be paid once every draft line is authorized or posted; a line
        still pending removal (its void declined before) counts as removed, as submit
        finishes its removal."""
        return total((_planned(line) for line in self.lines), self.currency)

    @property
    def balance_due(self) -> Money:
        return self.order.total - self.planned_paid

    @property
    def changed(self) -> bool:
        """Whether submitting would change any line."""
        return bool(self.removed) or self.lines != tuple(
            line
            for line in self.order.lines
            if line.line_id not in self.removed and line.status is not LineStatus.VOIDED
        )

    # -- edits -------------------------------------------------------------------------
    def _next_line_id(self) -> str:
        used = {line.line_id for line in self.order.lines} | {line.line_id for line in self.lines}
        number = len(used) + 1
        while f"L{number}" in used:
            number += 1
        return f"L{number}"

    def _money(self, amount: Money) -> Money:
        if not isinstance(amount, Money):
            raise InvalidInput("amounts are Money values")
        if amount.currency != self.currency:
            message = f"V7: amount in {amount.currency}, order in {self.currency}"
            raise CurrencyMismatch(amount.currency, self.currency, message)
        if not amount.is_positive():
            raise InvalidDraftEdit("a payment line's amount must be positive", rule="C1")
        return amount

    def _require_editable_method(self, method: PaymentMethod, line_id: str | None = None) -> None:
        if not self.settings.editable_method(method):
            raise InvalidDraftEdit(
                f"payment method {method.value!r} maps to no POS operation",
                rule="F3",
                line_id=line_id,
            )

    def require_editable_under(self, settings: Settings) -> None:
        """F3 at submit: every line this draft adds, changes or removes is of a method that
        ``settings`` (those in force now, perhaps not those it was begun under) let
        completion edit."""
        stored = {line.line_id: line for line in self.order.lines}
        edited = [line for line in self.lines if stored.get(line.line_id) != line]
        edited += [stored[x] for x in sorted(self.removed) if x in stored]
        for line in edited:
            if not settings.editable_method(line.method):
                raise InvalidDraftEdit(
                    f"payment method {line.method.value!r} maps to no POS operation",
                    rule="F3",
                    line_id=line.line_id,
                )

    def _with(self, line: PaymentLine, **changes: object) -> CompletionDraft:
        if any(x.line_id == line.line_id for x in self.lines):
            lines = tuple(line if x.line_id == line.line_id else x for x in self.lines)
        else:
            lines = (*self.lines, line)
        return attrs.evolve(self, lines=lines, **changes)  # type: ignore[arg-type]

    def add_card(self, card: CardToken, amount: Money) -> CompletionDraft:
        """C1: a new card line, authorized at submit."""
        self._require_editable_method(PaymentMethod.CARD)
        self._require_card(card)
        line = PaymentLine.card_line(self._next_line_id(), card, self._money(amount))
        return self._with(line)

    def add_saved_card(self, instrument_id: str, *, cvv: str, amount: Money) -> CompletionDraft:
        """C1: a card line from a saved instrument, tokenized with the CVV at submit.

        A CVV that is not 3 or 4 ASCII digits raises
        :class:`~ocop.domain.errors.InvalidCvv` (T1). The instrument is one of those the
        customer had saved when the completion began: a card saved since is added in a
        new completion (:class:`~ocop.domain.errors.InstrumentNotFound` says so).
        """
        check_id(instrument_id, "instrument_id")
        self._require_editable_method(PaymentMethod.CARD)
        customer_id = self.order.customer.customer_id
        # The draft knows the instruments saved when it was begun (begin_completion).
        began = None if customer_id is None else (
            f"customer {quoted(customer_id)} had no saved instrument {quoted(instrument_id)} "
            "when this completion began (to pay with a card saved since, begin a new completion)"
        )  # fmt: skip
        instrument = pick_instrument(self.instruments, instrument_id, customer_id, not_found=began)
        check_cvv(cvv)
        line = PaymentLine.card_line(
            self._next_line_id(), instrument.card, self._money(amount), instrument_id=instrument_id
        )
        line = attrs.evolve(line, needs_tokenize=True)
        return self._with(line, cvvs={**self._cvvs, line.line_id: cvv})

    def _require_limit(self) -> None:
        """C1, V7: customer account payments need an on-account limit in the order's
        currency, as at placement."""
        limit = self.order.customer.on_account_limit
        if limit is None:
            raise InvalidDraftEdit(
                "customer account payments need a named customer with an on-account limit",
                rule="C1",
            )
        if limit.currency != self.currency:
            raise CurrencyMismatch(
                limit.currency,
                self.currency,
                f"the customer's on-account limit is in {limit.currency}, the order in "
                f"{self.currency}: customer account payments cannot be checked against it",
            )

    def add_prepayment(
        self, method: str, amount: Money, *, check_number: str | None = None
    ) -> CompletionDraft:
        """C1: a prepayment (cash, check, customer account, gift card ...), posted at submit."""
        kind = parse_method(method)
        if check_number != "":
            check_optional_id(check_number, "check_number")
        if kind is PaymentMethod.CARD:
            raise InvalidDraftEdit("a card is added with add_card", rule="C1")
        self._require_editable_method(kind)
        amount = self._money(amount)
        if kind is PaymentMethod.CHECK and not check_number:
            raise InvalidDraftEdit("a check needs its check number", rule="C1")
        if kind is PaymentMethod.CUSTOMER_ACCOUNT:
            self._require_limit()
        if kind is PaymentMethod.GIFT_CARD and amount > self.balance_due:
            raise InvalidDraftEdit("a gift card never pays more than the balance due", rule="C1")
        line = PaymentLine.prepayment_line(
            self._next_line_id(), kind, amount, check_number=check_number
        )
        return self._with(line)

    def change_amount(self, line_id: str, amount: Money) -> CompletionDraft:
        """C3, C5: change a line's amount within what its captures and status allow.

        A line still pending removal (its void was declined at an earlier submit) is kept
        instead, at the new amount."""
        line = self.line(line_id)
        amount = self._money(amount)
        self._require_editable_method(line.method, line_id)
        if not line.active:
            raise InvalidDraftEdit(f"line is {line.status}", rule="C3", line_id=line_id)
        if line.is_prepayment:
            if line.status is not LineStatus.NOT_SUBMITTED:
                raise InvalidDraftEdit(
                    "a posted prepayment is never edited", rule="C5", line_id=line_id
                )
            raised = amount - _planned(line)
            if line.method is PaymentMethod.GIFT_CARD and raised > self.balance_due:
                raise InvalidDraftEdit(
                    "a gift card never pays more than the balance due", rule="C1", line_id=line_id
                )
            return self._with(_kept(line).with_amount(amount))
        captured = line.captured
        if captured.is_positive() and amount < line.amount:
            if captured >= line.amount:
                raise InvalidDraftEdit(
                    "a fully captured line cannot be reduced", rule="C5", line_id=line_id
                )
            if amount < captured:
                raise InvalidDraftEdit(
                    f"cannot reduce below the {captured} already captured",
                    rule="C5",
                    line_id=line_id,
                )
        return self._with(_kept(line).with_amount(amount))

    def replace_card(self, line_id: str, card: CardToken) -> CompletionDraft:
        """C2, C4: another card for an uncaptured line; the old authorization is voided.

        A line still pending removal is kept instead, with the new card."""
        line = self.line(line_id)
        self._require_card(card)
        self._require_editable_method(line.method, line_id)
        if not line.is_card:
            raise InvalidDraftEdit(
                "only a card line's card can be replaced", rule="C2", line_id=line_id
            )
        if line.status is LineStatus.VOIDED:
            raise InvalidDraftEdit(f"line is {line.status}", rule="C2", line_id=line_id)
        if line.captured.is_positive() or self.order.invoices:
            raise InvalidDraftEdit(
                "a card can be replaced only while uncaptured and before any invoice",
                rule="C2",
                line_id=line_id,
            )
        cvvs = {k: v for k, v in self._cvvs.items() if k != line_id}
        replaced = attrs.evolve(
            _kept(line).resubmittable(), card=card, instrument_id=None, needs_tokenize=False
        )
        return self._with(replaced, cvvs=cvvs)

    def remove(self, line_id: str) -> CompletionDraft:
        """C5, C6: take a line off; an authorized one is voided at submit."""
        line = self.line(line_id)
        self._require_editable_method(line.method, line_id)
        if line.is_prepayment and line.status is not LineStatus.NOT_SUBMITTED:
            raise InvalidDraftEdit(
                "a posted prepayment is never removed", rule="C5", line_id=line_id
            )
        if line.captured.is_positive():
            raise InvalidDraftEdit("a captured line cannot be removed", rule="C5", line_id=line_id)
        lines = tuple(x for x in self.lines if x.line_id != line_id)
        known = any(x.line_id == line_id for x in self.order.lines)
        removed = self.removed | {line_id} if known else self.removed
        cvvs = {k: v for k, v in self._cvvs.items() if k != line_id}
        return attrs.evolve(self, lines=lines, removed=removed, cvvs=cvvs)

    def _require_card(self, card: CardToken) -> None:
        if not isinstance(card, CardToken):
            raise InvalidInput("a card is a CardToken from the processor")


def parse_method(method: str | PaymentMethod) -> PaymentMethod:
    """A payment method from its name, or :class:`InvalidInput`."""
    try:
        return PaymentMethod(method)
    except ValueError:
        known = ", ".join(m.value for m in PaymentMethod)
        raise InvalidInput(f"unknown payment method; one of {known}") from None


def _kept(line: PaymentLine) -> PaymentLine:
    """A line an edit keeps on the order: a removal still pending (its void was declined)
    is given up, and the edit is what submit brings the line to."""
    return attrs.evolve(line, pending_removal=False) if line.pending_removal else line


def _planned(line: PaymentLine) -> Money:
    if not line.active or line.pending_removal:
        return line.received - line.refunded
    return line.amount - line.refunded
