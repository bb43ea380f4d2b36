"""Edge cases of ``invoices=`` on a refund: an invoice named twice is named once (E1)."""

from __future__ import annotations

import pytest

from ocop import Actor, BackOffice, CardPayment, Channel, Customer
from ocop.adapters.memory import InMemoryStore, ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain.cardnumbers import contains_card_number
from ocop.domain.edge import check_id
from ocop.domain.errors import InvalidId
from worlds import START, card, usd

AGENT = Actor.call_center("agent-1")


def test_an_invoice_named_twice_refunds_as_if_named_once() -> None:
    """invoices=["INV-1", "INV-1"] refunds INV-1's capture once, then the rest newest first,
    without an IdempotencyConflict after money moved."""
    clock = ManualClock(START)
    store = InMemoryStore(keeps_journal=True)
    sim = SimulatedProcessor(clock=clock)
    bo = BackOffice(store=store, journal=store.journal, processor=sim, clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("100.00"), payments=[CardPayment(card(), usd("100.00"))])  # fmt: skip
    bo.invoice("SO-1", "INV-1", usd("30.00"))
    bo.invoice("SO-1", "INV-2", usd("30.00"))
    twice = bo.refund("SO-1", "RMA-1", usd("50.00"), AGENT, invoices=["INV-1", "INV-1"])
    assert [(r.capture_id, r.amount) for r in twice.refunds] == [
        ("SO-1/capture:INV-1:L1:L1.A1#1", usd("30.00")),
        ("SO-1/capture:INV-2:L1:L1.A1#1", usd("20.00")),
    ]
    assert [e.amount for e in sim.ledger() if e.kind == "refund"] == [usd("30.00"), usd("20.00")]


def test_an_over_long_id_is_refused_without_being_scanned_or_cached() -> None:
    """An id over 128 characters is InvalidId before the card scan, so a huge id costs no
    scan and is not kept in the scan's cache."""
    before = contains_card_number.cache_info().currsize
    with pytest.raises(InvalidId):
        check_id("1 " * 5000, "order_id")
    assert contains_card_number.cache_info().currsize == before
