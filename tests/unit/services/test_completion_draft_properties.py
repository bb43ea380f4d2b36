"""Property: any sequence of draft edits is refused whole or obeys C2-C6 (hypothesis)."""

from __future__ import annotations

import functools

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st
from support import ALICE, CARD_1, CARD_2, CARD_3, CLERK, CVV, World, capture_line, make_world

from ocop import (
    CardPayment,
    CardToken,
    Channel,
    CompletionDraft,
    Customer,
    InstrumentNotFound,
    InvalidCvv,
    InvalidDraftEdit,
    InvalidInput,
    LineNotFound,
    LineStatus,
    Money,
    OcopError,
    Order,
    PaymentLine,
    Prepayment,
)
from ocop.domain import steps
from ocop.domain.plan import Post, line_step
from worlds import usd

ORDERS = ("SO-A", "SO-B", "SO-C", "SO-D")
NAMES = ("add_card", "add_saved_card", "add_prepayment", "change_amount", "replace_card", "remove")
METHODS = (
    "cash",
    "check",
    "customer_account",
    "gift_card",
    "loyalty",
    "credit_memo",
    "card",
    "iou",
)
RULES = frozenset({"C1", "C2", "C3", "C5", "T1", "V7"})
#: The errors an edit may raise: specific ones, never the bare root.
SPECIFIC = frozenset({InvalidDraftEdit, LineNotFound, InstrumentNotFound, InvalidInput, InvalidCvv})


@functools.cache
def bases() -> World:
    """Four orders to edit, built once: drafts are pure values and never change them.

    SO-A (e-commerce, invoiced): L1 authorized, L2 partially captured, L3 fully captured,
    L4 cash posted. SO-B (POS): two authorized cards and a posted check. SO-C (call
    center, not submitted yet): a card, cash and customer account. SO-D (call center,
    submitted): L1 declined, L2 authorized.
    """
    world = make_world()
    customer = Customer.named("C-1", on_account_limit=usd("500.00"))
    world.bo.save_instrument(customer, CARD_2, consent=True)
    world.bo.place_order(
        "SO-A", channel=Channel.ECOMMERCE, customer=customer, total=usd("230.00"),
        payments=[CardPayment(CARD_1, usd("60.00")), CardPayment(CARD_2, usd("100.00")),
                  CardPayment(CARD_3, usd("50.00")), Prepayment("cash", usd("20.00"))],
    )  # fmt: skip
    capture_line(world, "SO-A", "L2", usd("40.00"), invoice_id="INV-1")
    capture_line(world, "SO-A", "L3", usd("50.00"), invoice_id="INV-2")
    world.bo.place_order(
        "SO-B", channel=Channel.POS, customer=ALICE, total=usd("125.00"),
        payments=[CardPayment(CARD_1, usd("70.00")), CardPayment(CARD_2, usd("30.00")),
                  Prepayment("check", usd("25.00"))],
    )  # fmt: skip
    world.bo.place_order(
        "SO-C", channel=Channel.CALL_CENTER, customer=customer, total=usd("100.00"),
        payments=[CardPayment(CARD_1, usd("50.00")), Prepayment("cash", usd("30.00")),
                  Prepayment("customer_account", usd("20.00"))],
    )  # fmt: skip
    world.bo.place_order(
        "SO-D", channel=Channel.CALL_CENTER, customer=customer, total=usd("100.00"),
        payments=[CardPayment(CARD_1, usd("40.00")), CardPayment(CARD_2, usd("60.00"))],
    )  # fmt: skip
    world.sim.script("authorize", "decline")
    world.bo.submit(world.bo.begin_completion("SO-D", CLERK))
    return world


@attrs.frozen
class Edit:
    """One draft edit with all its possible arguments; ``line`` picks a line id."""

    name: str
    line: int
    cents: int
    card: CardToken
    method: str
    check_number: str | None
    instrument_id: str
    cvv: str

    def line_id(self, draft: CompletionDraft) -> str:
        ids = sorted({x.line_id for x in draft.lines} | {x.line_id for x in draft.order.lines})
        return ids[self.line] if self.line < len(ids) else f"L{90 + self.line}"

    def apply(self, draft: CompletionDraft) -> CompletionDraft:
        amount = Money.from_minor(self.cents, "USD")
        line_id = self.line_id(draft)
        if self.name == "add_card":
            return draft.add_card(self.card, amount)
        if self.name == "add_saved_card":
            return draft.add_saved_card(self.instrument_id, cvv=self.cvv, amount=amount)
        if self.name == "add_prepayment":
            return draft.add_prepayment(self.method, amount, check_number=self.check_number)
        if self.name == "change_amount":
            return draft.change_amount(line_id, amount)
        if self.name == "replace_card":
            return draft.replace_card(line_id, self.card)
        return draft.remove(line_id)


edits = st.builds(
    Edit,
    name=st.sampled_from(NAMES),
    line=st.integers(0, 4),
    cents=st.integers(0, 30_000),
    card=st.sampled_from([CARD_1, CARD_2, CARD_3]),
    method=st.sampled_from(METHODS),
    check_number=st.sampled_from([None, "1001"]),
    instrument_id=st.sampled_from(["PI-1", "PI-404"]),
    cvv=st.sampled_from([CVV, "12"]),
)


def attempt(edit: Edit, draft: CompletionDraft) -> tuple[CompletionDraft, OcopError | None]:
    """The edited draft, or the draft as it was and the error the edit raised."""
    try:
        return edit.apply(draft), None
    except OcopError as refused:
        return draft, refused


def _state(draft: CompletionDraft) -> object:
    return (draft, draft.lines, draft.removed, [draft.cvv_for(x.line_id) for x in draft.lines])


def check_base_line(base: Order, before: PaymentLine, draft: CompletionDraft) -> None:
    """C2-C6 for one of the order's lines, as the draft now has it."""
    line_id = before.line_id
    if line_id in draft.removed:
        assert not before.captured.is_positive(), "C5: a captured line is never removed"
        assert not (before.is_prepayment and before.status is LineStatus.PAID), "C5"
        if before.open_authorizations():
            step = line_step(attrs.evolve(before, pending_removal=True), adjustments=True)
            assert isinstance(step, steps.Void)
            assert step.purpose is steps.VoidPurpose.REMOVE, "C6"
        return
    after = draft.line(line_id)
    if before.is_prepayment and before.status is LineStatus.PAID:
        assert after == before, "C5: a posted prepayment is never edited"
    captured = before.captured
    if captured.is_positive():
        assert after.amount >= captured, "C5: never below what was captured"
        if captured >= before.amount:
            assert after.amount >= before.amount, "C5: a fully captured line is never reduced"
    if after.card != before.card:
        assert captured.is_zero(), "C2: a captured line keeps its card"
        assert not base.invoices, "C2: no card is replaced once invoiced"
        if before.open_authorizations() and after.card is not None:
            step = line_step(after, adjustments=True)
            assert isinstance(step, steps.Void)
            assert step.purpose is steps.VoidPurpose.REPLACE, "C4"
    elif after.amount != before.amount and before.open_authorizations():
        for adjustments, kind in ((True, steps.Adjust), (False, steps.Void)):
            step = line_step(after, adjustments=adjustments)
            assert isinstance(step, kind), "C3"
    elif after.amount > before.amount and before.is_card and captured >= before.amount:
        step = line_step(after, adjustments=True)
        assert isinstance(step, steps.Authorize)
        assert step.amount == after.amount - captured


def check_rules(base: Order, draft: CompletionDraft) -> None:
    """The draft obeys C2-C6 with respect to the order it began from."""
    ids = [line.line_id for line in draft.lines]
    assert len(ids) == len(set(ids))
    known = {line.line_id for line in base.lines}
    assert draft.removed <= known
    assert not draft.removed & set(ids)
    for before in base.lines:
        if before.status is not LineStatus.VOIDED:
            check_base_line(base, before, draft)
    for line in draft.lines:
        assert line.amount.is_positive()
        if line.line_id not in known:
            assert line.status is LineStatus.NOT_SUBMITTED
            step = line_step(line, adjustments=True)
            assert isinstance(step, steps.Authorize | steps.Tokenize | Post)


@settings(deadline=None)  # the first example builds the cached orders
@given(order_id=st.sampled_from(ORDERS), steps=st.lists(edits, max_size=12))
def test_draft_edits_are_refused_whole_or_obey_the_completion_rules(
    order_id: str, steps: list[Edit]
) -> None:
    """Every edit either raises a specific error, leaving the draft as it was, or obeys C2-C6."""
    world = bases()
    base = world.bo.order(order_id)
    draft = world.bo.begin_completion(order_id, CLERK)
    for edit in steps:
        before = _state(draft)
        draft, refused = attempt(edit, draft)
        if refused is not None:
            assert type(refused) in SPECIFIC
            if isinstance(refused, InvalidDraftEdit):
                assert refused.rule in RULES
            assert _state(draft) == before
        check_rules(base, draft)
    assert world.bo.order(order_id) == base
