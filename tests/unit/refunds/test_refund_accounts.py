"""I5 for refunds: a linked refund goes through the connector and account that captured;
a capture of another account is refused locally, before any processor call."""

from __future__ import annotations

import pytest

from ocop import Actor, BackOffice, CardPayment, Channel, ConnectorMismatch, Customer
from ocop.adapters.memory import InMemoryStore, ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from worlds import START, card, usd

AGENT = Actor.call_center("agent-1")


def test_a_refund_of_a_capture_made_under_another_account_is_refused_before_any_call() -> None:
    """Captured through sim/sa-1, refunded through a processor of sim/sa-2: ConnectorMismatch
    naming the capture and both accounts; nothing sent, the order and log unchanged."""
    clock = ManualClock(START)
    store = InMemoryStore(keeps_journal=True)
    first = SimulatedProcessor(clock=clock)
    bo = BackOffice(store=store, journal=store.journal, processor=first, clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("50.00"), payments=[CardPayment(card(), usd("50.00"))])  # fmt: skip
    bo.invoice("SO-1", "INV-1", usd("50.00"))
    other = SimulatedProcessor(clock=clock, service_account="sa-2")
    moved = BackOffice(store=store, journal=store.journal, processor=other, clock=clock)
    before = moved.order("SO-1")
    with store.unit_of_work() as uow:
        log = uow.operations.for_order("SO-1")
    with pytest.raises(ConnectorMismatch) as caught:
        moved.refund("SO-1", "RMA-1", usd("20.00"), AGENT)
    assert str(caught.value) == (
        "capture SO-1/capture:INV-1:L1:L1.A1#1 belongs to sim/sa-1, not sim/sa-2"
    )
    assert other.calls == 0
    assert moved.order("SO-1") == before
    with store.unit_of_work() as uow:
        assert uow.operations.for_order("SO-1") == log
    # Through the account that captured, the same return is refunded.
    assert bo.refund("SO-1", "RMA-1", usd("20.00"), AGENT).refunds[0].amount == usd("20.00")
