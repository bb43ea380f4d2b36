"""Completion draft edges: new line ids, money and card checks, F3 and retired lines (C1-C6)."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest

from ocop import (
    Actor,
    CompletionDraft,
    InvalidDraftEdit,
    InvalidInput,
    LineStatus,
    PaymentMethod,
    Settings,
)
from ocop.domain.settings import DEFAULT_METHOD_OPERATIONS

from .builders import CARD, OTHER_CARD, authorized_line, card_line, order, usd

AGENT = Actor.call_center("cc-1")


def without(method: PaymentMethod, *, ocop: bool = True) -> Settings:
    """Default settings where ``method`` maps to no POS operation (F3)."""
    mapped = tuple((m, op) for m, op in DEFAULT_METHOD_OPERATIONS if m is not method)
    settings = Settings.default().with_policies(method_operations=mapped)
    return settings if ocop else settings.with_features(omni_channel_order_payments=False)


def draft(*line_ids: str, settings: Settings | None = None) -> CompletionDraft:
    """A draft of a 300.00 order holding new card lines of 10.00 with ``line_ids``."""
    lines = [card_line("10.00", line_id) for line_id in line_ids]
    chosen = Settings.default() if settings is None else settings
    return CompletionDraft.begin(order("300.00", *lines), AGENT, chosen)


@pytest.mark.parametrize(
    ("existing", "expected"),
    [((), "L1"), (("L1",), "L2"), (("L2",), "L3"), (("L1", "L3"), "L4"), (("L3", "L4"), "L5")],
)
def test_a_new_line_takes_the_first_free_number_after_the_count(
    existing: tuple[str, ...], expected: str
) -> None:
    """A new line's id is L<n+1> for n lines, moving up past ids already used."""
    added = draft(*existing).add_card(CARD, usd("5.00"))
    assert [x.line_id for x in added.lines] == [*existing, expected]
    assert added.line(expected).amount == usd("5.00")


def test_a_line_removed_in_the_draft_keeps_its_id_taken() -> None:
    """An id of a line removed in this draft is not reused."""
    removed = draft("L1", "L2").remove("L2")
    added = removed.add_card(CARD, usd("5.00"))
    assert [x.line_id for x in added.lines] == ["L1", "L3"]
    assert added.removed == frozenset({"L2"})


@pytest.mark.parametrize("amount", [Decimal("5.00"), "5.00", 5])
def test_amounts_are_money_values(amount: object) -> None:
    """A bare number as amount is refused before anything else is checked."""
    with pytest.raises(InvalidInput) as caught:
        draft().add_card(CARD, amount)  # type: ignore[arg-type]
    assert str(caught.value) == "amounts are Money values"
    assert not isinstance(caught.value, InvalidDraftEdit)
    with pytest.raises(InvalidInput) as caught:
        draft("L1").change_amount("L1", amount)  # type: ignore[arg-type]
    assert str(caught.value) == "amounts are Money values"


@pytest.mark.parametrize("card", ["tok_1", None, 1111])
def test_a_card_is_a_card_token(card: object) -> None:
    """add_card and replace_card refuse anything but a CardToken."""
    with pytest.raises(InvalidInput) as caught:
        draft().add_card(card, usd("5.00"))  # type: ignore[arg-type]
    assert str(caught.value) == "a card is a CardToken from the processor"
    with pytest.raises(InvalidInput) as caught:
        draft("L1").replace_card("L1", card)  # type: ignore[arg-type]
    assert str(caught.value) == "a card is a CardToken from the processor"


def test_an_unmapped_method_cannot_be_added_with_ocop_on() -> None:
    """F3: a card line cannot be added while card maps to no POS operation."""
    with pytest.raises(InvalidDraftEdit) as caught:
        draft(settings=without(PaymentMethod.CARD)).add_card(CARD, usd("5.00"))
    assert (caught.value.rule, caught.value.line_id) == ("F3", None)
    assert str(caught.value) == "F3: payment method 'card' maps to no POS operation"


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.change_amount("L1", usd("20.00")),
        lambda d: d.replace_card("L1", OTHER_CARD),
        lambda d: d.remove("L1"),
    ],
)
def test_an_unmapped_method_line_cannot_be_edited_with_ocop_on(edit: object) -> None:
    """F3: a line of an unmapped method is not edited, and the refusal names it."""
    assert callable(edit)
    with pytest.raises(InvalidDraftEdit) as caught:
        edit(draft("L1", settings=without(PaymentMethod.CARD)))
    assert (caught.value.rule, caught.value.line_id) == ("F3", "L1")


def test_an_unmapped_prepayment_cannot_be_added_with_ocop_on() -> None:
    """F3 holds for prepayments too."""
    with pytest.raises(InvalidDraftEdit) as caught:
        draft(settings=without(PaymentMethod.LOYALTY)).add_prepayment("loyalty", usd("5.00"))
    assert str(caught.value) == "F3: payment method 'loyalty' maps to no POS operation"


def test_an_unmapped_method_is_editable_with_ocop_off() -> None:
    """F3 only binds with OCOP on: otherwise every method is edited."""
    settings = without(PaymentMethod.CARD, ocop=False)
    edited = draft("L1", settings=settings).change_amount("L1", usd("20.00"))
    assert edited.line("L1").amount == usd("20.00")
    assert draft(settings=settings).add_card(CARD, usd("5.00")).line("L1").card == CARD


def test_a_voided_line_keeps_its_card() -> None:
    """C2: a retired line's card is not replaced, and the refusal names the line."""
    voided = authorized_line().voided_auth("A1")
    assert voided.status is LineStatus.VOIDED
    base = CompletionDraft.begin(order("100.00", voided), AGENT, Settings.default())
    assert base.lines == ()  # a voided line is not brought into the draft ...
    loaded = attrs.evolve(base, lines=(voided,))  # ... unless a store hands one over
    with pytest.raises(InvalidDraftEdit) as caught:
        loaded.replace_card("L1", OTHER_CARD)
    assert (caught.value.rule, caught.value.line_id) == ("C2", "L1")
    assert str(caught.value) == "C2: line is voided"


def test_a_declined_line_gets_a_new_card_and_waits_again() -> None:
    """C2: replacing a declined line's card makes it wait for authorization with that card."""
    declined = card_line().declined()
    base = CompletionDraft.begin(order("100.00", declined), AGENT, Settings.default())
    replaced = base.replace_card("L1", OTHER_CARD).line("L1")
    assert replaced.status is LineStatus.NOT_SUBMITTED
    assert replaced.card == OTHER_CARD
    assert replaced.instrument_id is None
    assert not replaced.needs_tokenize
