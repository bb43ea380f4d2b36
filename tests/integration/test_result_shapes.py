"""One result shape (issue 9): every call that changes an order hands back the order as
stored after the call, and ``in_doubt`` is a tuple of operation keys on every result."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ocop import (
    Actor,
    BackOffice,
    CardPayment,
    CardToken,
    Channel,
    Customer,
    HoldCode,
    Money,
    Order,
    Prepayment,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from worlds import START

AGENT = Actor.call_center("agent-1", permissions=frozenset({"alternate_payment", "hold_override"}))
CARD = CardToken("tok_1", "sim", "sa-1", brand="visa", last4="1111")
OTHER = CardToken("tok_9", "sim", "sa-1", brand="visa", last4="9999")


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


@pytest.fixture(params=["memory", "sqlite"])
def bo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BackOffice]:
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    if request.param == "memory":
        yield BackOffice.in_memory(processor=sim, clock=clock)
    else:
        yield BackOffice.sqlite(tmp_path / "shapes.db", processor=sim, clock=clock)


def _stored(bo: BackOffice, order: Order) -> None:
    assert order == bo.order(order.order_id)


def test_every_changing_call_returns_the_order_as_stored(bo: BackOffice) -> None:
    """place, submit, change_total, release_hold, invoice, pickup, refund, refund_to_card
    and cancel each return the stored order (itself or as ``.order``), never a stale one;
    every ``in_doubt`` is a tuple."""
    placed = bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=Customer.guest(),
                            total=usd("100.00"), payments=[CardPayment(CARD, usd("100.00"))],
                            created_by=AGENT)  # fmt: skip
    _stored(bo, placed)
    submitted = bo.submit(bo.begin_completion("SO-1", AGENT).change_amount("L1", usd("90.00")))
    _stored(bo, submitted.order)
    assert submitted.order.has_hold(HoldCode.OUT_OF_BALANCE)
    _stored(bo, bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, AGENT))
    _stored(bo, bo.change_total("SO-1", usd("90.00"), AGENT))
    resubmitted = bo.submit(bo.begin_completion("SO-1", AGENT))
    _stored(bo, resubmitted.order)
    invoiced = bo.invoice("SO-1", "INV-1", usd("50.00"))
    _stored(bo, invoiced.order)
    picked = bo.pickup("SO-1", "INV-2", usd("40.00"))
    _stored(bo, picked.order)
    refunded = bo.refund("SO-1", "RMA-1", usd("10.00"), AGENT)
    _stored(bo, refunded.order)
    unlinked = bo.refund_to_card("SO-1", "RMA-2", OTHER, usd("5.00"), AGENT)
    _stored(bo, unlinked.order)
    cancelled = bo.cancel_order("SO-1", AGENT)
    _stored(bo, cancelled.order)
    results = (submitted, resubmitted, invoiced, picked, refunded, unlinked, cancelled)
    assert [type(r.in_doubt) for r in results] == [tuple] * len(results)
    assert [r.in_doubt for r in results] == [()] * len(results)

    cash = [Prepayment("cash", usd("30.00"))]
    bo.place_order("SO-2", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("30.00"), payments=cash)  # fmt: skip
    voided = bo.cancel_order("SO-2", AGENT)
    _stored(bo, voided.order)


def test_a_call_left_in_doubt_names_its_keys_in_a_tuple(bo: BackOffice) -> None:
    """A capture that timed out is reported as a tuple holding its operation key."""
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("20.00"), payments=[CardPayment(CARD, usd("20.00"))])  # fmt: skip
    sim = bo.processor
    assert isinstance(sim, SimulatedProcessor)
    sim.script("capture", "timeout_after_success")
    result = bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert result.in_doubt == ("SO-1/capture:INV-1:L1:L1.A1#1",)
    _stored(bo, result.order)
