"""``bo.operations(order_id)``: the order's operation log as users read it (issue 11, 2).

Every processor call of the order, oldest intent first, with its kind, amount, outcome,
the processor's reason and when; on memory, SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from ocop import (
    Actor,
    BackOffice,
    CardPayment,
    Channel,
    Customer,
    OperationKind,
    OperationRecord,
    OrderNotFound,
    Outcome,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from pg_support import STORES, back_office_on
from worlds import START, card, usd

AGENT = Actor.call_center("agent-1")


@pytest.fixture(params=STORES)
def world(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[BackOffice, SimulatedProcessor, ManualClock]]:
    with back_office_on(request.param, tmp_path) as found:
        yield found


def _rows(log: tuple[OperationRecord, ...]) -> list[tuple[str, str, str | None, str, str]]:
    return [
        (
            r.key,
            r.kind.value,
            None if r.amount is None else str(r.amount),
            r.outcome.value,
            r.reason,
        )
        for r in log
    ]


def test_the_log_shows_each_call_with_its_outcome_and_the_processors_reason(
    world: tuple[BackOffice, SimulatedProcessor, ManualClock],
) -> None:
    """Authorize, a declined capture (with the processor's reason), its retry, a refund and
    a capture left in doubt: all listed oldest first, each with when it was settled."""
    bo, sim, clock = world
    bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=Customer.guest(),
        total=usd("100.00"),
        payments=[CardPayment(card(), usd("100.00"))],
    )
    clock.advance(hours=1)
    sim.script("capture", "decline")
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    clock.advance(hours=1)
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    bo.refund("SO-1", "RMA-1", usd("10.00"), AGENT)
    sim.script("capture", "timeout_after_success")
    bo.invoice("SO-1", "INV-2", usd("40.00"))
    log = bo.operations("SO-1")
    assert _rows(log) == [
        ("SO-1/authorize:L1.A1#1", "authorize", "100.00 USD", "approved", ""),
        ("SO-1/capture:INV-1:L1:L1.A1#1", "capture", "60.00 USD", "declined", "scripted decline"),
        ("SO-1/capture:INV-1:L1:L1.A1#2", "capture", "60.00 USD", "approved", ""),
        ("SO-1/refund:RMA-1:capture:INV-1:L1:L1.A1#2:1#1", "refund", "10.00 USD", "approved", ""),
        ("SO-1/capture:INV-2:L1:L1.A1#1", "capture", "40.00 USD", "unknown", "timeout"),
    ]
    assert [r.in_doubt for r in log] == [False, False, False, False, True]
    assert log[0].at == START
    assert log[1].at == START + timedelta(hours=1)
    assert log[2].recorded_at == START + timedelta(hours=2)
    assert log[1].kind is OperationKind.CAPTURE
    assert log[1].outcome is Outcome.DECLINED
    bo.recover()
    assert bo.operations("SO-1")[-1].outcome is Outcome.APPROVED


def test_the_log_of_an_unknown_order_is_refused(
    world: tuple[BackOffice, SimulatedProcessor, ManualClock],
) -> None:
    """An order that does not exist has no log: OrderNotFound, not an empty tuple."""
    bo, _, _ = world
    with pytest.raises(OrderNotFound):
        bo.operations("SO-404")


def test_the_journal_of_an_unknown_order_is_refused_as_its_log_is(
    world: tuple[BackOffice, SimulatedProcessor, ManualClock],
) -> None:
    """``bo.journal`` of an order that does not exist (a misspelt id) raises OrderNotFound,
    as ``bo.operations`` does; it returned an empty tuple, as for an order with no voucher.
    An order placed whose card is only authorized still has an empty journal (J1)."""
    bo, _, _ = world
    with pytest.raises(OrderNotFound) as caught:
        bo.journal("SO-404")
    assert caught.value.order_id == "SO-404"
    bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=Customer.guest(),
        total=usd("100.00"),
        payments=[CardPayment(card(), usd("100.00"))],
    )
    assert bo.journal("SO-1") == ()
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    assert [v.amount for v in bo.journal("SO-1")] == [usd("60.00")]
