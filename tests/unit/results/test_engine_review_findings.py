"""Found reading the new engine cold: each a scenario that went wrong, now an example.

- A repeated invoice that needs more from an authorization it already captured on gets a
  capture step of its own (the second is numbered), not the first one's approval (I4, O4).
- Local changes planned before a step that is reused are committed with it.
- The void releasing a declined adjustment, left in doubt, is reported, and nothing more
  is called on the order (O3).
- A processor error in the middle of a return's batch still records the refunds approved
  before it.
"""

from __future__ import annotations

from typing import Any

import pytest

from ocop import Actor, BackOffice, Channel, HoldCode, Money
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from worlds import CUSTOMER, START, World, by_card, card, new_world, usd

AGENT = Actor.call_center("u1")
BOSS = Actor.call_center("boss-1", permissions=frozenset({"hold_override"}))


def _pickup_leaving_line_two_short(world: World) -> None:
    """INV-1 of 70.00 picked up: L1's capture and its retry fail, L2 gives 20.00; the
    declined retry holds the order (I6, S2, S1), and a supervisor goes on without a new
    payment (S4, with the override)."""
    world.bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER,
                         total=usd("150.00"),
                         payments=[by_card("50.00"), by_card("100.00")])  # fmt: skip
    world.sim.script("capture", "decline")
    world.sim.script("authorize", "decline")
    first = world.bo.pickup("SO-1", "INV-1", usd("70.00"))
    assert first.new_payment_required
    assert [(c.line_id, c.amount) for c in first.captures] == [("L2", usd("20.00"))]
    held = {HoldCode.PAYMENT_DECLINED, HoldCode.OUT_OF_BALANCE}
    assert {h.code for h in first.order.holds} == held
    for code in sorted(held):
        world.bo.release_hold("SO-1", code, BOSS)


def test_an_invoice_that_comes_back_for_more_captures_it_under_a_step_of_its_own() -> None:
    """The repeated invoice captures the 50.00 it still needs from L2, under a numbered key."""
    world = new_world()
    _pickup_leaving_line_two_short(world)
    again = world.bo.invoice("SO-1", "INV-1", usd("70.00"))
    assert sum((c.amount for c in again.captures), Money.zero("USD")) == usd("70.00")
    assert [c.capture_id for c in again.captures if c.line_id == "L2"] == [
        "SO-1/capture:INV-1:L2:L2.A1#1",
        "SO-1/capture:INV-1:L2:L2.A1:2#1",
    ]
    assert again.uncovered == usd("0.00")


def test_what_a_run_changed_before_a_reused_step_is_stored() -> None:
    """A prepayment applied before a step the log already holds is committed, as returned."""
    world = new_world()
    _pickup_leaving_line_two_short(world)
    world.bo.change_total("SO-1", usd("110.00"), AGENT)
    draft = world.bo.begin_completion("SO-1", AGENT).add_prepayment("cash", usd("10.00"))
    assert world.bo.submit(draft).approved
    again = world.bo.invoice("SO-1", "INV-1", usd("70.00"))
    assert world.bo.order("SO-1") == again.order


def test_a_release_void_in_doubt_is_reported_and_stops_the_submit() -> None:
    """A declined adjustment whose releasing void times out: its key is in doubt, no later
    line is authorized (O3)."""
    world = new_world()
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=CUSTOMER,
                         total=usd("50.00"))  # fmt: skip
    draft = world.bo.begin_completion("SO-1", AGENT).add_card(card(), usd("50.00"))
    assert world.bo.submit(draft).approved
    world.bo.change_total("SO-1", usd("70.00"), AGENT)
    world.sim.script("adjust", "decline")
    world.sim.script("void", "timeout_before")
    draft = (world.bo.begin_completion("SO-1", AGENT).change_amount("L1", usd("60.00"))
             .add_card(card("tok_2", "2222"), usd("10.00")))  # fmt: skip
    result = world.bo.submit(draft)
    with world.bo.ports.store.unit_of_work() as uow:
        in_doubt = tuple(op.key for op in uow.operations.in_doubt("SO-1"))
    assert in_doubt == ("SO-1/void:L1.A1#1",)
    assert result.in_doubt == in_doubt
    assert [e.kind for e in world.sim.ledger()].count("authorize") == 1


class _ResetOnSecondRefund:
    """The simulated processor, whose second refund raises as a reset connection would."""

    def __init__(self, sim: SimulatedProcessor) -> None:
        self._sim = sim
        self.refunds = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sim, name)

    def refund(self, key: str, capture: Any, amount: Any) -> Any:
        self.refunds += 1
        if self.refunds == 2:
            raise ConnectionResetError("reset by peer")
        return self._sim.refund(key, capture, amount)


def test_an_error_in_a_batch_still_records_the_refunds_approved_before_it() -> None:
    """The first refund of the return is on the order although the second call raised."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    processor = _ResetOnSecondRefund(sim)
    bo = BackOffice.in_memory(processor=processor, clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER, total=usd("100.00"),
                   payments=[by_card("60.00"), by_card("40.00")])  # fmt: skip
    bo.invoice("SO-1", "INV-1", usd("100.00"))
    with pytest.raises(ConnectionResetError):
        bo.refund("SO-1", "RMA-1", usd("100.00"), AGENT)
    at_processor = [e.amount for e in sim.ledger() if e.kind == "refund"]
    assert len(at_processor) == 1
    assert bo.order("SO-1").refunded == at_processor[0]
