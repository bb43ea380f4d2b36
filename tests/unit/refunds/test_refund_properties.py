"""Property: whatever the captures and the returns, refunds never exceed what was taken,
the journal and the processor agree with ocop, and retries refund only the rest
(V2, V3, V4, V5, R3, R5)."""

from __future__ import annotations

from collections import defaultdict

import attrs
from hypothesis import event, given
from hypothesis import strategies as st

from ocop import Capture, Money, Order, RefundExceedsReceived
from ocop.domain.payments import ChannelPayment
from worlds import World, by_card, card, new_world

from .conftest import (
    AGENT,
    OTHER_CARD,
    entries,
    invoice_daily,
    place,
    prepaid,
    refund_vouchers,
    snapshot,
)

RETURN_IDS = ("RMA-1", "RMA-2", "RMA-3")


def cents(units: int) -> Money:
    """``units`` US cents."""
    return Money.from_minor(units, "USD")


def dollars(units: int) -> str:
    """``units`` cents written as a dollar amount (``"12.34"``)."""
    return str(cents(units).amount)


@attrs.frozen(kw_only=True)
class Plan:
    """An order: its invoices (cents), how its total was paid, and the processor's answers."""

    invoices: tuple[int, ...]
    cards: tuple[int, ...]
    cash: int
    gift_card: int
    declines: tuple[bool, ...]

    @property
    def total(self) -> int:
        return sum(self.invoices)


@attrs.frozen(kw_only=True)
class Step:
    """One refund request: linked (with named invoices) or to another card."""

    return_id: str
    amount: int
    invoices: tuple[str, ...]
    unlinked: bool


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    """Up to four invoices, paid by one or two cards, maybe cash and a gift card."""
    invoices = tuple(draw(st.lists(st.integers(1, 40_000), min_size=1, max_size=4)))
    total = sum(invoices)
    cash = draw(st.integers(0, total // 4))
    gift_card = draw(st.integers(0, (total - cash) // 4))
    on_cards = total - cash - gift_card
    first = draw(st.integers(1, on_cards)) if on_cards > 1 else on_cards
    cards = (first, on_cards - first) if first < on_cards else (first,)
    declines = tuple(draw(st.lists(st.booleans(), max_size=3)))
    return Plan(invoices=invoices, cards=cards, cash=cash, gift_card=gift_card, declines=declines)


def steps(plan: Plan) -> st.SearchStrategy[list[Step]]:
    """Refund requests on the plan's order, repeating return ids, some above what was taken."""
    invoice_ids = [f"INV-{n}" for n in range(1, len(plan.invoices) + 1)]
    step = st.builds(
        Step,
        return_id=st.sampled_from(RETURN_IDS),
        amount=st.integers(1, plan.total + 500),
        invoices=st.lists(st.sampled_from(invoice_ids), max_size=2, unique=True).map(tuple),
        unlinked=st.booleans(),
    )
    return st.lists(step, min_size=1, max_size=6)


def place_plan(world: World, plan: Plan) -> None:
    """Place SO-1 as planned, invoice it one invoice a day, and script the refund answers."""
    payments: list[ChannelPayment] = [
        by_card(dollars(amount), card(f"tok_{n}", last4=f"000{n}"))
        for n, amount in enumerate(plan.cards, start=1)
    ]
    if plan.cash:
        payments.append(prepaid("cash", dollars(plan.cash)))
    if plan.gift_card:
        payments.append(prepaid("gift_card", dollars(plan.gift_card)))
    place(world.bo, "SO-1", dollars(plan.total), *payments)
    invoice_daily(world, "SO-1", *(dollars(amount) for amount in plan.invoices))
    if plan.declines:
        world.sim.script("refund", *("decline" if d else "approve" for d in plan.declines))


def refunded_for(order: Order, return_id: str) -> int:
    """Cents refunded so far for one return: linked, fallback and unlinked."""
    refunds = [r for line in order.lines for r in line.refunds] + list(order.other_refunds)
    return sum(r.amount.minor for r in refunds if r.return_id == return_id)


def card_captures(order: Order) -> list[Capture]:
    """The order's card captures (a prepayment applied to an invoice is not one)."""
    return [c for line in order.lines if line.is_card for c in line.captures]


def assert_refunds_consistent(world: World) -> None:
    """V2, V3, V4 for refunds, and the processor's refunds match ocop's card refunds (V5)."""
    order = world.bo.order("SO-1")
    captures = {c.token.value: c for c in card_captures(order) if c.token is not None}
    for capture in captures.values():
        assert capture.refunded <= capture.amount  # V2
    assert order.refunded <= order.received  # V3
    vouchers = refund_vouchers(world.bo, "SO-1")
    assert sum(v.amount.minor for v in vouchers) == order.refunded.minor  # V4
    per_capture: defaultdict[str, int] = defaultdict(int)
    for entry in entries(world.sim, "SO-1", "refund"):
        per_capture[entry.target] += entry.amount.minor
    for target, refunded in per_capture.items():
        assert refunded <= captures[target].amount.minor
        assert refunded == captures[target].refunded.minor  # V5
    processor = sum(e.amount.minor for e in entries(world.sim, "SO-1", "refund", "unlinked_refund"))
    linked = sum(r.amount.minor for line in order.lines if line.is_card for r in line.refunds)
    unlinked = sum(r.amount.minor for r in order.other_refunds if r.method == "card")
    assert processor == linked + unlinked  # V5


def request(world: World, step: Step) -> None:
    """Ask for one refund as the step says."""
    amount = cents(step.amount)
    if step.unlinked:
        world.bo.refund_to_card("SO-1", step.return_id, OTHER_CARD, amount, AGENT)
    else:
        world.bo.refund("SO-1", step.return_id, amount, AGENT, invoices=step.invoices)


@given(data=st.data(), plan=plans())
def test_refunds_never_exceed_what_was_taken_and_every_record_agrees(
    data: st.DataObject, plan: Plan
) -> None:
    """Random returns on random captures keep V2-V5, refuse exactly what exceeds R3's bound,
    and bring each return to the highest amount asked for it (R5)."""
    world = new_world()
    place_plan(world, plan)
    exact = not any(plan.declines)  # without declines every accepted request completes
    for step in data.draw(steps(plan)):
        order = world.bo.order("SO-1")
        before = refunded_for(order, step.return_id)
        still = max(step.amount - before, 0)
        available = order.received.minor - order.refunded.minor
        event("refused" if still > available else "accepted")
        event("unlinked" if step.unlinked else "linked")
        if still > available:
            unchanged = snapshot(world, "SO-1")
            try:
                request(world, step)
            except RefundExceedsReceived:
                pass
            else:
                raise AssertionError("a refund above what remains received was accepted (R3)")
            assert snapshot(world, "SO-1") == unchanged
        else:
            request(world, step)
            after = refunded_for(world.bo.order("SO-1"), step.return_id)
            assert before <= after <= max(before, step.amount)  # R5: never beyond what was asked
            if exact:
                assert after == max(before, step.amount)
        assert_refunds_consistent(world)
