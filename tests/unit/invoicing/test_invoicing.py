"""Invoicing: how an invoice is covered (I1), multi-capture (I2), accounts (I5),
journals (J1, J3) and cancelling an invoiced order (X1)."""

from __future__ import annotations

import pytest

from ocop import (
    Actor,
    BackOffice,
    Channel,
    ConnectorMismatch,
    HoldCode,
    IllegalTransition,
    OrderStatus,
    Settings,
    VoucherKind,
)
from ocop.adapters.memory import InMemoryJournal, InMemoryStore, ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from worlds import World, by_card, card, in_cash, new_world, usd

from .conftest import AGENT, assert_consistent, entries, kinds, place, snapshot

# -- I1: what an invoice may bill, and what covers it ----------------------------------------


def test_an_invoice_beyond_what_is_left_to_invoice_is_refused_and_stores_nothing(
    world: World,
) -> None:
    """An invoice above total - invoiced raises IllegalTransition and changes nothing."""
    place(world.bo, "SO-1", "100.00", by_card("100.00"))
    world.bo.invoice("SO-1", "INV-1", usd("60.00"))
    before = snapshot(world, "SO-1")
    with pytest.raises(IllegalTransition):
        world.bo.invoice("SO-1", "INV-2", usd("40.01"))
    assert snapshot(world, "SO-1") == before


def test_a_first_invoice_above_the_order_total_is_refused(world: World) -> None:
    """An invoice for more than the order total is refused before any processor call."""
    place(world.bo, "SO-1", "100.00", by_card("100.00"))
    before = snapshot(world, "SO-1")
    with pytest.raises(IllegalTransition):
        world.bo.invoice("SO-1", "INV-1", usd("100.01"))
    assert snapshot(world, "SO-1") == before


def test_an_invoice_for_exactly_what_is_left_is_accepted(world: World) -> None:
    """The bound of I1 is inclusive: the last invoice may bill exactly what is left."""
    place(world.bo, "SO-1", "100.00", by_card("100.00"))
    world.bo.invoice("SO-1", "INV-1", usd("60.00"))
    result = world.bo.invoice("SO-1", "INV-2", usd("40.00"))
    assert result.uncovered == usd("0.00")
    assert result.order.status is OrderStatus.INVOICED


def test_prepayments_cover_an_invoice_first_then_card_lines_in_line_order(world: World) -> None:
    """Cash is applied first, then the first card line up to its authorization, then the next."""
    place(
        world.bo,
        "SO-1",
        "100.00",
        by_card("30.00", card("tok_1")),
        in_cash("10.00"),
        by_card("60.00", card("tok_2")),
    )
    result = world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    assert {c.line_id: c.amount for c in result.captures} == {
        "L1": usd("30.00"),
        "L2": usd("10.00"),
        "L3": usd("10.00"),
    }
    assert result.uncovered == usd("0.00")
    assert [e.key for e in entries(world.sim, "SO-1", "capture")] == [
        "SO-1/capture:INV-1:L1:L1.A1#1",
        "SO-1/capture:INV-1:L3:L3.A1#1",
    ]
    assert_consistent(world, "SO-1")


def test_each_line_gives_at_most_its_capturable_amount_and_never_beyond_the_invoice(
    world: World,
) -> None:
    """A second invoice takes only what the first left open: the exhausted lines give nothing."""
    place(
        world.bo,
        "SO-1",
        "100.00",
        by_card("30.00", card("tok_1")),
        in_cash("10.00"),
        by_card("60.00", card("tok_2")),
    )
    world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    result = world.bo.invoice("SO-1", "INV-2", usd("45.00"))
    assert [(c.line_id, c.amount) for c in result.captures] == [("L3", usd("45.00"))]
    order = result.order
    assert [line.captured for line in order.lines if line.is_card] == [usd("30.00"), usd("55.00")]
    assert order.line("L3").authorized == usd("5.00")
    assert_consistent(world, "SO-1")


def test_a_card_line_gives_no_more_than_its_amount_though_its_authorization_holds_more() -> None:
    """I1, C3: an agent brings a 100.00 card line down to 60.00 and adds a second card for
    40.00; the old authorization's void is declined, so it still holds 100.00, and a
    supervisor overrides the holds. The invoice takes 60.00 from the first card and 40.00
    from the second (it took all 100.00 from the first card, beyond its line, and left
    the second card unused)."""
    world = new_world(adjustments=False)
    bo = world.bo
    supervisor = Actor.call_center("sup", permissions=frozenset({"hold_override"}))
    place(bo, "SO-1", "100.00", by_card("100.00", card("tok_1")), channel=Channel.CALL_CENTER)
    assert bo.submit(bo.begin_completion("SO-1", AGENT)).approved
    draft = bo.begin_completion("SO-1", AGENT).change_amount("L1", usd("60.00"))
    world.sim.script("void", "decline")
    held = bo.submit(draft.add_card(card("tok_2"), usd("40.00")))
    assert held.order.line("L1").authorized == usd("100.00")
    for hold in held.order.holds:
        bo.release_hold("SO-1", hold.code, supervisor)
    result = bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert [(c.line_id, c.amount) for c in result.captures] == [
        ("L1", usd("60.00")),
        ("L2", usd("40.00")),
    ]
    assert result.order.line("L1").captured == usd("60.00")


def test_an_invoice_covered_by_a_prepayment_alone_calls_no_processor(world: World) -> None:
    """A small invoice is covered by the cash deposit without any capture."""
    place(world.bo, "SO-1", "100.00", by_card("60.00"), in_cash("40.00"))
    calls = world.sim.calls
    result = world.bo.invoice("SO-1", "INV-1", usd("25.00"))
    assert [(c.line_id, c.amount, c.auth_id) for c in result.captures] == [
        ("L2", usd("25.00"), None)
    ]
    assert world.sim.calls == calls
    assert_consistent(world, "SO-1")


def test_a_call_center_order_pending_completion_cannot_be_invoiced(world: World) -> None:
    """S3: a call center order waits for completion before it can be invoiced."""
    place(world.bo, "SO-1", "100.00", by_card("100.00"), channel=Channel.CALL_CENTER)
    assert world.bo.order("SO-1").status is OrderStatus.PENDING_COMPLETION
    before = snapshot(world, "SO-1")
    with pytest.raises(IllegalTransition):
        world.bo.invoice("SO-1", "INV-1", usd("10.00"))
    assert snapshot(world, "SO-1") == before


def test_an_order_on_hold_cannot_be_invoiced(world: World) -> None:
    """S3: an order whose authorization was declined is on hold and refuses invoices."""
    world.sim.script("authorize", "decline")
    place(world.bo, "SO-1", "100.00", by_card("100.00"))
    assert world.bo.order("SO-1").has_hold(HoldCode.PAYMENT_DECLINED)
    before = snapshot(world, "SO-1")
    with pytest.raises(IllegalTransition):
        world.bo.invoice("SO-1", "INV-1", usd("10.00"))
    assert snapshot(world, "SO-1") == before


def test_an_order_changed_after_submit_cannot_be_invoiced(world: World) -> None:
    """S3: a new total needs completion again before the order can be invoiced."""
    place(world.bo, "SO-1", "100.00", by_card("100.00"))
    world.bo.change_total("SO-1", usd("90.00"), AGENT)
    before = snapshot(world, "SO-1")
    with pytest.raises(IllegalTransition):
        world.bo.invoice("SO-1", "INV-1", usd("10.00"))
    assert snapshot(world, "SO-1") == before


def test_a_cancelled_order_cannot_be_invoiced(world: World) -> None:
    """A cancelled order refuses invoices and calls no processor."""
    place(world.bo, "SO-1", "100.00", by_card("100.00"))
    world.bo.cancel_order("SO-1", AGENT)
    before = snapshot(world, "SO-1")
    with pytest.raises(IllegalTransition):
        world.bo.invoice("SO-1", "INV-1", usd("10.00"))
    assert snapshot(world, "SO-1") == before


# -- I2: multi-capture, or re-authorization of the rest --------------------------------------


def test_two_invoices_capture_twice_on_one_multi_capture_authorization(world: World) -> None:
    """With multi-capture, each invoice captures again on the same authorization."""
    place(world.bo, "SO-1", "100.00", by_card("100.00"))
    first = world.bo.invoice("SO-1", "INV-1", usd("60.00"))
    second = world.bo.invoice("SO-1", "INV-2", usd("40.00"))
    assert [c.auth_id for c in (*first.captures, *second.captures)] == ["L1.A1", "L1.A1"]
    assert kinds(world.sim, "SO-1") == ["authorize", "capture", "capture"]
    line = second.order.line("L1")
    assert len(line.authorizations) == 1
    assert world.sim.authorization_open(line.authorizations[0].token.value) == usd("0.00")
    assert_consistent(world, "SO-1")


def test_without_multi_capture_the_rest_is_reauthorized_after_a_partial_capture() -> None:
    """A single-capture authorization is closed by a partial capture; the rest is re-authorized."""
    world = new_world(multi_capture=False)
    place(world.bo, "SO-1", "100.00", by_card("100.00"))
    first = world.bo.invoice("SO-1", "INV-1", usd("60.00"))
    assert kinds(world.sim, "SO-1") == ["authorize", "capture", "authorize"]
    assert entries(world.sim, "SO-1")[-1].amount == usd("40.00")
    line = first.order.line("L1")
    assert [(a.auth_id, a.open_amount) for a in line.open_authorizations()] == [
        ("L1.A2", usd("40.00"))
    ]
    second = world.bo.invoice("SO-1", "INV-2", usd("40.00"))
    assert [(c.auth_id, c.amount) for c in second.captures] == [("L1.A2", usd("40.00"))]
    assert kinds(world.sim, "SO-1") == ["authorize", "capture", "authorize", "capture"]
    assert_consistent(world, "SO-1")


# -- I5: the connector and service account that authorized -----------------------------------


def test_capturing_through_another_connector_than_the_one_that_authorized_is_refused(
    clock: ManualClock, sim: SimulatedProcessor
) -> None:
    """An authorization of connector ``other`` cannot be captured through ``sim``."""
    store, journal = InMemoryStore(), InMemoryJournal()
    other = SimulatedProcessor(clock=clock, connector="other")
    settings = Settings.default()
    placing = BackOffice(
        store=store, processor=other, journal=journal, settings=settings, clock=clock
    )
    invoicing = BackOffice(
        store=store, processor=sim, journal=journal, settings=settings, clock=clock
    )
    place(placing, "SO-1", "100.00", by_card("100.00", card(connector="other")))
    before = invoicing.order("SO-1")
    with pytest.raises(ConnectorMismatch):
        invoicing.invoice("SO-1", "INV-1", usd("50.00"))
    assert invoicing.order("SO-1") == before
    assert sim.calls == 0
    assert sim.ledger() == ()
    assert [e.kind for e in other.ledger()] == ["authorize"]


# -- J1, J3: one voucher per receipt ---------------------------------------------------------


def test_each_capture_posts_one_balanced_payment_voucher_referencing_its_invoice(
    world: World,
) -> None:
    """Captures post one payment voucher each; applying the cash deposit posts none."""
    place(world.bo, "SO-1", "100.00", by_card("90.00"), in_cash("10.00"))
    deposit = world.bo.journal("SO-1")
    assert [(v.reference, v.amount) for v in deposit] == [("L2", usd("10.00"))]
    first = world.bo.invoice("SO-1", "INV-1", usd("60.00"))
    second = world.bo.invoice("SO-1", "INV-2", usd("40.00"))
    captures = [c for c in (*first.captures, *second.captures) if c.auth_id is not None]
    vouchers = world.bo.journal("SO-1")[len(deposit) :]
    assert [(v.voucher_id, v.reference, v.amount) for v in vouchers] == [
        (f"V:{c.capture_id}", c.invoice_id, c.amount) for c in captures
    ]
    for voucher in vouchers:
        assert voucher.kind is VoucherKind.PAYMENT
        assert sum((x.debit.minor for x in voucher.lines), 0) == voucher.amount.minor
        assert sum((x.credit.minor for x in voucher.lines), 0) == voucher.amount.minor
    assert_consistent(world, "SO-1")


# -- X1: cancelling once invoiced ------------------------------------------------------------


def test_cancelling_an_invoiced_order_leaves_authorizations_and_captures_alone(
    world: World,
) -> None:
    """Once invoiced, cancelling voids nothing, refunds nothing and asks for a manual refund."""
    place(world.bo, "SO-1", "100.00", by_card("100.00"))
    invoiced = world.bo.invoice("SO-1", "INV-1", usd("60.00")).order
    ledger = world.sim.ledger()
    result = world.bo.cancel_order("SO-1", AGENT)
    assert result.manual_refund_needed
    assert result.voided == ()
    assert result.refunded is None
    assert result.order.status is OrderStatus.CANCELLED
    assert result.order.lines == invoiced.lines
    assert world.sim.ledger() == ledger
    token = invoiced.line("L1").authorizations[0].token.value
    assert world.sim.authorization_open(token) == usd("40.00")
    assert_consistent(world, "SO-1")
