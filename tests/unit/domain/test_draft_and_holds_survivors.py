"""Draft refusals name their rule, line and reason; plans name their line; holds keep their time.

Each test pins a value a caller sees: the exact message, ``rule`` and ``line_id`` of an
:class:`InvalidDraftEdit` (C1-C5, V7), the message of an :class:`InvalidCvv` (T1), what a
draft plans to be paid, the line each planned step names (C3-C6), and the holds submit
places (S1, S2) with the time placed.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest

from ocop import (
    Actor,
    BackOffice,
    CardPayment,
    Channel,
    CompletionDraft,
    CurrencyMismatch,
    Customer,
    Hold,
    HoldCode,
    InvalidCvv,
    InvalidDraftEdit,
    LineStatus,
    PaymentLine,
    PaymentMethod,
    SavedInstrument,
    Settings,
)
from ocop.adapters.memory import InMemoryJournal, InMemoryStore, ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain import steps
from ocop.domain.holds import over_credit_limit
from ocop.domain.plan import Post, line_step

from .builders import (
    AT,
    CARD,
    OTHER_CARD,
    auth,
    authorized_line,
    capture,
    card_line,
    cash_line,
    eur,
    order,
    refund,
    usd,
)

AGENT = Actor.call_center("cc-1")
SAVED = SavedInstrument(instrument_id="inst_1", customer_id="C-1", card=CARD)


def begin(*lines: PaymentLine, total: str = "300.00") -> CompletionDraft:
    """A draft of an order of ``total`` dollars holding ``lines``, with one saved card."""
    return CompletionDraft.begin(order(total, *lines), AGENT, Settings.default(), (SAVED,))


def refusal(edit: Callable[[], object]) -> tuple[str, str, str | None]:
    """The message, rule and line id of the InvalidDraftEdit that ``edit`` raises."""
    with pytest.raises(InvalidDraftEdit) as caught:
        edit()
    return str(caught.value), caught.value.rule, caught.value.line_id


def captured_line(amount: str, captured: str) -> PaymentLine:
    """Card line L1 of ``amount`` authorized (A1) in full, ``captured`` of it captured (C1)."""
    return authorized_line(amount).captured_with(capture("C1", usd(captured)))


# -- C1, V7: amounts -----------------------------------------------------------------------


def test_an_amount_in_another_currency_is_refused_under_v7() -> None:
    """V7: a line's amount must be in the order's currency: CurrencyMismatch says both."""
    with pytest.raises(CurrencyMismatch) as caught:
        begin().add_card(CARD, eur("5.00"))
    assert str(caught.value) == "V7: amount in EUR, order in USD"
    assert (caught.value.left, caught.value.right) == ("EUR", "USD")


@pytest.mark.parametrize("amount", ["0.00", "-5.00"])
def test_a_line_amount_must_be_positive_under_c1(amount: str) -> None:
    """C1: a zero or negative amount is refused, naming the rule."""
    assert refusal(lambda: begin().add_card(CARD, usd(amount))) == (
        "C1: a payment line's amount must be positive",
        "C1",
        None,
    )


def test_a_card_is_not_added_as_a_prepayment() -> None:
    """C1: add_prepayment refuses the card method and points at add_card."""
    assert refusal(lambda: begin().add_prepayment("card", usd("5.00"))) == (
        "C1: a card is added with add_card",
        "C1",
        None,
    )


@pytest.mark.parametrize("cvv", ["12", "12345", "12a", "", "4111111111111111"])
def test_a_saved_card_needs_a_three_or_four_digit_security_code(cvv: str) -> None:
    """T1: a saved card without a 3 or 4 digit CVV is refused by InvalidCvv, showing none of it."""
    with pytest.raises(InvalidCvv) as refused:
        begin().add_saved_card("inst_1", cvv=cvv, amount=usd("5.00"))
    assert str(refused.value) == "a CVV is 3 or 4 digits"


# -- C3, C5, C1: changing an amount -------------------------------------------------------


def test_an_inactive_line_amount_is_not_changed() -> None:
    """C3: a declined line's amount is not changed, and the refusal names the line."""
    declined = card_line("10.00").declined()
    assert refusal(lambda: begin(declined).change_amount("L1", usd("20.00"))) == (
        "C3: line is declined",
        "C3",
        "L1",
    )


def test_a_gift_card_is_not_raised_beyond_the_balance_due() -> None:
    """C1: raising a gift card past the balance due is refused, naming the line."""
    gift = PaymentLine.prepayment_line("P1", PaymentMethod.GIFT_CARD, usd("50.00"))
    draft = begin(gift, total="100.00")
    assert refusal(lambda: draft.change_amount("P1", usd("100.01"))) == (
        "C1: a gift card never pays more than the balance due",
        "C1",
        "P1",
    )
    assert draft.change_amount("P1", usd("100.00")).line("P1").amount == usd("100.00")


def test_a_fully_captured_line_is_not_reduced() -> None:
    """C5: a line captured in full cannot be reduced; the refusal names the line."""
    draft = begin(captured_line("100.00", "100.00"))
    assert refusal(lambda: draft.change_amount("L1", usd("99.99"))) == (
        "C5: a fully captured line cannot be reduced",
        "C5",
        "L1",
    )


def test_a_partly_captured_line_is_not_reduced_below_its_captures() -> None:
    """C5: a line is reduced at most down to what was captured, and the refusal says how much."""
    draft = begin(captured_line("100.00", "40.00"))
    assert refusal(lambda: draft.change_amount("L1", usd("39.99"))) == (
        "C5: cannot reduce below the 40.00 USD already captured",
        "C5",
        "L1",
    )
    assert draft.change_amount("L1", usd("40.00")).line("L1").amount == usd("40.00")


# -- C2: replacing a card ------------------------------------------------------------------


def test_only_a_card_line_card_is_replaced() -> None:
    """C2: replacing the card of a prepayment line is refused with the reason and the line."""
    assert refusal(lambda: begin(cash_line()).replace_card("P1", OTHER_CARD)) == (
        "C2: only a card line's card can be replaced",
        "C2",
        "P1",
    )


def test_a_captured_card_is_not_replaced() -> None:
    """C2: a card with captures is not replaced, and the refusal says when it could be."""
    draft = begin(captured_line("100.00", "40.00"))
    assert refusal(lambda: draft.replace_card("L1", OTHER_CARD)) == (
        "C2: a card can be replaced only while uncaptured and before any invoice",
        "C2",
        "L1",
    )


# -- C5, C6: removing a line ---------------------------------------------------------------


def test_a_captured_line_is_not_removed() -> None:
    """C5: a line with captures stays, and the refusal names it."""
    draft = begin(captured_line("100.00", "40.00"))
    assert refusal(lambda: draft.remove("L1")) == (
        "C5: a captured line cannot be removed",
        "C5",
        "L1",
    )


def test_removing_a_saved_card_line_forgets_its_security_code() -> None:
    """T1: the CVV of a removed saved-card line is dropped, so a later line never inherits it."""
    added = begin().add_saved_card("inst_1", cvv="123", amount=usd("5.00"))
    assert added.cvv_for("L1") == "123"
    removed = added.remove("L1")
    assert removed.lines == ()
    assert removed.cvv_for("L1") is None
    again = removed.add_card(OTHER_CARD, usd("5.00"))
    assert again.line("L1").card == OTHER_CARD
    assert again.cvv_for("L1") is None


# -- planned paid ------------------------------------------------------------------------


def test_an_inactive_line_plans_what_it_kept_net_of_refunds() -> None:
    """An inactive line holding money counts its received less its refunds in planned_paid."""
    kept = captured_line("100.00", "40.00").refunded_with(refund("R1", usd("10.00")))
    declined = attrs.evolve(kept, status=LineStatus.DECLINED)
    draft = begin(declined, total="100.00")
    assert draft.planned_paid == usd("30.00")
    assert draft.balance_due == usd("70.00")


# -- next steps name their line (C3-C6) ----------------------------------------------------


def test_removing_an_authorized_line_voids_it_for_that_line() -> None:
    """C6: a line taken off with an open authorization is voided first, for that line."""
    line = attrs.evolve(authorized_line("100.00"), pending_removal=True)
    step = line_step(line, adjustments=True)
    assert isinstance(step, steps.Void)
    assert (step.line_id, step.auth_id, step.purpose) == ("L1", "A1", steps.VoidPurpose.REMOVE)


def test_a_new_prepayment_is_posted_for_its_line() -> None:
    """C1: a prepayment not yet submitted is posted, for that line."""
    assert line_step(cash_line(), adjustments=True) == Post()


def test_a_replaced_card_voids_its_old_authorization_for_that_line() -> None:
    """C4: after a card replacement the old card's authorization is voided, for that line."""
    granted = attrs.evolve(auth("A1", usd("100.00")), card_value=CARD.value)
    line = attrs.evolve(card_line("100.00").authorized_with(granted), card=OTHER_CARD)
    step = line_step(line, adjustments=True)
    assert isinstance(step, steps.Void)
    assert (step.line_id, step.auth_id, step.purpose) == ("L1", "A1", steps.VoidPurpose.REPLACE)


def test_raising_an_authorized_line_adjusts_it_for_that_line() -> None:
    """C3: with adjustments, an increase adjusts the open authorization to the new amount."""
    line = authorized_line("100.00").with_amount(usd("120.00"))
    step = line_step(line, adjustments=True)
    assert isinstance(step, steps.Adjust)
    assert (step.line_id, step.auth_id, step.amount) == ("L1", "A1", usd("120.00"))


def test_reducing_without_adjustments_voids_for_that_line() -> None:
    """C3: without adjustments, a reduction voids the open authorization first, for that line."""
    line = authorized_line("100.00").with_amount(usd("60.00"))
    step = line_step(line, adjustments=False)
    assert isinstance(step, steps.Void)
    assert (step.line_id, step.auth_id, step.purpose) == ("L1", "A1", steps.VoidPurpose.REDUCE)


# -- S1, S2: holds placed at submit --------------------------------------------------------


def back_office() -> BackOffice:
    """A back office in memory over a simulated processor, its clock stopped at ``AT``."""
    clock = ManualClock(AT)
    return BackOffice(
        store=InMemoryStore(),
        processor=SimulatedProcessor(clock=clock),
        journal=InMemoryJournal(),
        clock=clock,
    )


def test_an_out_of_balance_hold_records_when_it_was_placed() -> None:
    """S1: an underpaid order gets an out-of-balance hold stamped with the submit time."""
    bo = back_office()
    bo.place_order(
        "SO-1",
        channel=Channel.CALL_CENTER,
        customer=Customer.named("C-1"),
        total=usd("100.00"),
        payments=[CardPayment(CARD, usd("50.00"))],
    )
    result = bo.submit(bo.begin_completion("SO-1", AGENT))
    assert result.holds == (
        Hold(
            code=HoldCode.OUT_OF_BALANCE,
            reason="paid 50.00 USD of 100.00 USD",
            placed_at=AT,
            placed_by=AGENT.actor_id,
        ),
    )


def test_a_credit_limit_in_another_currency_holds_the_order() -> None:
    """S2, V7: a draft refuses a customer-account line against a limit in another currency
    (as placement does); an order stored with one before that refusal existed is beyond
    its credit (the limit cannot be compared), so validation holds it."""
    bo = back_office()
    bo.place_order(
        "SO-1",
        channel=Channel.CALL_CENTER,
        customer=Customer.named("C-1", on_account_limit=eur("500.00")),
        total=usd("100.00"),
    )
    with pytest.raises(CurrencyMismatch):
        bo.begin_completion("SO-1", AGENT).add_prepayment("customer_account", usd("100.00"))
    line = PaymentLine.prepayment_line("P1", PaymentMethod.CUSTOMER_ACCOUNT, usd("100.00"))
    stored = attrs.evolve(
        order("100.00", line), customer=Customer.named("C-1", on_account_limit=eur("500.00"))
    )
    assert over_credit_limit(stored)
    within = attrs.evolve(stored, customer=Customer.named("C-1", on_account_limit=usd("500.00")))
    assert not over_credit_limit(within)
