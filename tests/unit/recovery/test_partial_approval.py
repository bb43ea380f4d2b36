"""A partial approval (rule N4): the processor approves less than asked.

The line holds what was approved, the order is short by the rest and, beyond its
underpaid threshold, held out of balance (S1); nothing asks the card for the rest.
"""

from __future__ import annotations

from ocop import (
    BackOffice,
    CardToken,
    Channel,
    Customer,
    HoldCode,
    Money,
    ProcessorResult,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from worlds import START, by_card, usd

from .support import UnsureProcessor


class Partial(UnsureProcessor):
    """Approves at most ``limit`` of an authorization (the simulator holds only that)."""

    def __init__(self, sim: SimulatedProcessor, limit: Money) -> None:
        super().__init__(sim)
        self.limit = limit

    def authorize(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        return super().authorize(key, card, amount.min(self.limit))


def test_a_partial_approval_leaves_the_line_holding_what_was_approved() -> None:
    clock = ManualClock(START)
    processor = Partial(SimulatedProcessor(clock=clock), usd("60.00"))
    bo = BackOffice.in_memory(processor=processor, clock=clock)
    order = bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                           total=usd("100.00"), payments=[by_card("100.00")])  # fmt: skip
    line = order.lines[0]
    assert (line.amount, line.authorized) == (usd("60.00"), usd("60.00"))
    assert order.balance_due == usd("40.00")
    assert [hold.code for hold in order.holds] == [HoldCode.OUT_OF_BALANCE]
    assert len(bo.operations("SO-1")) == 1  # the card is not asked for the rest
    assert processor.sim.authorization_open(line.authorizations[0].token.value) == usd("60.00")
