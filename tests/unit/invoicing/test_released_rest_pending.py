"""I2, S1: a single capture that releases what a single-use card cannot be asked again
holds the order whether its answer comes live or through recover(), approved or pending."""

from __future__ import annotations

from typing import Any

import pytest

from ocop import BackOffice, HoldCode, IllegalTransition, OrderStatus
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain.operations import Outcome, ProcessorResult
from worlds import by_card, card, usd

from .conftest import place


@pytest.mark.parametrize("answer_lost", [False, True], ids=["live", "recovered"])
def test_a_pending_single_capture_releasing_a_rest_holds_the_order(
    clock: ManualClock, monkeypatch: pytest.MonkeyPatch, answer_lost: bool
) -> None:
    """I2, S1, N1: a 30.00 single capture of a 100.00 order paid by a single-use card,
    answered pending (a provider that confirms captures later), releases 70.00 the card
    cannot be asked again: the order is held OUT_OF_BALANCE, live and when its answer was
    lost and recover() finds it pending alike. (Found by recover(), the order was left
    partially invoiced, 30.00 of 100.00 paid, with no hold and missing from
    orders(on_hold=True).)"""
    sim = SimulatedProcessor(clock=clock, multi_capture=False)
    bo = BackOffice.in_memory(processor=sim, clock=clock)
    place(bo, "SO-1", "100.00", by_card("100.00", card(reusable=False)))
    sim.script("capture", "pending")
    if answer_lost:
        real = sim.capture

        def lost(*args: Any) -> ProcessorResult:
            answer = real(*args)
            return ProcessorResult(key=answer.key, outcome=Outcome.UNKNOWN, reason="timeout")

        monkeypatch.setattr(sim, "capture", lost)
        assert bo.invoice("SO-1", "INV-1", usd("30.00")).in_doubt
        monkeypatch.setattr(sim, "capture", real)
        bo.recover()
    else:
        bo.invoice("SO-1", "INV-1", usd("30.00"))
    order = bo.order("SO-1")
    assert order.line("L1").captured == usd("30.00")
    assert (order.status, [h.code for h in order.holds]) == (
        OrderStatus.ON_HOLD, [HoldCode.OUT_OF_BALANCE],
    )  # fmt: skip
    assert bo.orders(on_hold=True) == ("SO-1",)
    with pytest.raises(IllegalTransition):
        bo.invoice("SO-1", "INV-2", usd("70.00"))


@pytest.mark.parametrize("answer_lost", [False, True], ids=["live", "recovered"])
def test_a_pending_single_capture_that_fails_ends_the_hold_its_released_rest_placed(
    clock: ManualClock, monkeypatch: pytest.MonkeyPatch, answer_lost: bool
) -> None:
    """I2, S4, N2: the 30.00 pending single capture of the 100.00 order fails: the
    authorization holds the whole 100.00 again (nothing was released), so the
    OUT_OF_BALANCE hold the released 70.00 placed has no cause left and the system ends it.
    (The order stayed on hold, paid 100.00 of 100.00, until a person released it.)"""
    sim = SimulatedProcessor(clock=clock, multi_capture=False)
    bo = BackOffice.in_memory(processor=sim, clock=clock)
    place(bo, "SO-1", "100.00", by_card("100.00", card(reusable=False)))
    sim.script("capture", "pending")
    if answer_lost:
        real = sim.capture

        def lost(*args: Any) -> ProcessorResult:
            answer = real(*args)
            return ProcessorResult(key=answer.key, outcome=Outcome.UNKNOWN, reason="timeout")

        monkeypatch.setattr(sim, "capture", lost)
        bo.invoice("SO-1", "INV-1", usd("30.00"))
        monkeypatch.setattr(sim, "capture", real)
        bo.recover()
    else:
        bo.invoice("SO-1", "INV-1", usd("30.00"))
    assert bo.order("SO-1").has_hold(HoldCode.OUT_OF_BALANCE)
    for note in sim.settle_pending("decline"):
        assert bo.handle_notification(note).undone
    order = bo.order("SO-1")
    assert (order.line("L1").authorized, order.paid) == (usd("100.00"), usd("100.00"))
    assert order.holds == ()
    assert [(r.hold.code, r.released_by, r.override) for r in order.released_holds] == [
        (HoldCode.OUT_OF_BALANCE, "system", False)
    ]
    assert bo.orders(on_hold=True) == ()
    assert bo.invoice("SO-1", "INV-1", usd("30.00")).captures


def test_a_pending_single_capture_approved_keeps_the_one_hold_as_placed(
    clock: ManualClock,
) -> None:
    """I2, S4, N2: approved later, the pending capture's hold stays the one placed when it
    was made (the 70.00 is still missing): not placed again, not released."""
    sim = SimulatedProcessor(clock=clock, multi_capture=False)
    bo = BackOffice.in_memory(processor=sim, clock=clock)
    place(bo, "SO-1", "100.00", by_card("100.00", card(reusable=False)))
    sim.script("capture", "pending")
    bo.invoice("SO-1", "INV-1", usd("30.00"))
    placed = bo.order("SO-1").holds
    clock.advance(hours=1)
    for note in sim.settle_pending("approve"):
        assert bo.handle_notification(note).applied
    order = bo.order("SO-1")
    assert (order.received, order.holds, order.released_holds) == (usd("30.00"), placed, ())
