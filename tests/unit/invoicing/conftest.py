"""Fixtures and helpers for the invoicing, duplicate protection and recovery tests.

Every test gets a manual clock at 2026-01-01 UTC, a simulated processor of
connector ``sim`` and service account ``sa-1``, and an in-memory back office
over both. :func:`new_world` builds the same trio for hypothesis examples (one
world per example) and for processors with other capabilities.
:func:`assert_consistent` checks the invariants V1-V7 of one order, and that
the processor's ledger and ocop agree on it (V5).
"""

from __future__ import annotations

from collections import Counter

import attrs
import pytest

from ocop import (
    Actor,
    BackOffice,
    Channel,
    Money,
    Operation,
    Order,
    VoucherKind,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import LedgerEntry, SimulatedProcessor
from ocop.domain.payments import ChannelPayment
from worlds import CUSTOMER, START, World, usd

AGENT = Actor.call_center("agent-1")


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock at 2026-01-01 UTC."""
    return ManualClock(START)


@pytest.fixture
def sim(clock: ManualClock) -> SimulatedProcessor:
    """A simulated processor with the default capabilities (multi-capture, adjustments)."""
    return SimulatedProcessor(clock=clock)


@pytest.fixture
def bo(sim: SimulatedProcessor, clock: ManualClock) -> BackOffice:
    """An in-memory back office over the simulated processor and the manual clock."""
    return BackOffice.in_memory(processor=sim, clock=clock)


@pytest.fixture
def world(clock: ManualClock, sim: SimulatedProcessor, bo: BackOffice) -> World:
    """The clock, processor and back office of this test, together."""
    return World(clock=clock, sim=sim, bo=bo)


def place(
    bo: BackOffice,
    order_id: str,
    total: str,
    *payments: ChannelPayment,
    channel: Channel = Channel.ECOMMERCE,
) -> Order:
    """Place an order of ``total`` dollars from ``channel`` with the payments it took."""
    return bo.place_order(
        order_id, channel=channel, customer=CUSTOMER, total=usd(total), payments=payments
    )


def entries(sim: SimulatedProcessor, order_id: str, kind: str | None = None) -> list[LedgerEntry]:
    """The processor's ledger entries of one order (of one kind), oldest first."""
    return [
        e
        for e in sim.ledger()
        if e.key.startswith(f"{order_id}/") and (kind is None or e.kind == kind)
    ]


def kinds(sim: SimulatedProcessor, order_id: str) -> list[str]:
    """The kinds of the processor's ledger entries of one order, oldest first."""
    return [e.kind for e in entries(sim, order_id)]


def operations(bo: BackOffice, order_id: str) -> tuple[Operation, ...]:
    """The operation log of one order."""
    with bo.ports.store.unit_of_work() as uow:
        return uow.operations.for_order(order_id)


def card_captures(order: Order) -> dict[str, Money]:
    """The order's card captures: capture id -> amount."""
    return {c.capture_id: c.amount for line in order.lines if line.is_card for c in line.captures}


def step_of(key: str) -> str:
    """The business step of an operation key (the key without its attempt number)."""
    return key.rsplit("#", 1)[0]


def assert_consistent(world: World, order_id: str, *, protected: bool = True) -> None:
    """V1-V7 hold for the order, and the processor's ledger agrees with ocop (V5).

    ``protected``: duplicate payment protection is on, so each capture step
    (invoice, line, authorization) moved money at most once (I4).
    """
    bo, sim = world.bo, world.sim
    order = bo.order(order_id)
    for line in order.lines:
        assert line.currency == order.currency  # V7
        for auth in line.authorizations:
            assert auth.captured + auth.voided <= auth.amount  # V1
            assert sim.authorization_open(auth.token.value) == auth.open_amount  # V5
        for capture in line.captures:
            assert capture.refunded <= capture.amount  # V2
    assert order.refunded <= order.received  # V3
    vouchers = bo.journal(order_id)
    for voucher in vouchers:
        debits = sum((vl.debit.minor for vl in voucher.lines), 0)
        credits = sum((vl.credit.minor for vl in voucher.lines), 0)
        assert debits == credits == voucher.amount.minor  # V4: balanced
    paid = sum((v.amount.minor for v in vouchers if v.kind is VoucherKind.PAYMENT), 0)
    refunded = sum((v.amount.minor for v in vouchers if v.kind is VoucherKind.REFUND), 0)
    assert paid == order.received.minor  # V4
    assert refunded == order.refunded.minor  # V4
    mine = entries(sim, order_id)
    assert len({e.key for e in mine}) == len(mine)  # V6: one key, one movement
    theirs = {e.key: e.amount for e in mine if e.kind == "capture"}
    assert theirs == card_captures(order)  # V5: nothing lost, nothing extra
    authorized = [e.key for e in mine if e.kind == "authorize"]
    assert len(authorized) == sum(len(line.authorizations) for line in order.lines)  # V5
    if protected:
        captured_steps = Counter(step_of(key) for key in theirs)
        assert all(count == 1 for count in captured_steps.values())  # I4


@attrs.frozen(kw_only=True)
class Snapshot:
    """Everything stored about one order, and the processor's records."""

    order: Order
    operations: tuple[Operation, ...]
    vouchers: tuple[object, ...]
    ledger: tuple[LedgerEntry, ...]
    calls: int


def snapshot(world: World, order_id: str) -> Snapshot:
    """What is stored about ``order_id`` right now, for before/after comparisons."""
    return Snapshot(
        order=world.bo.order(order_id),
        operations=operations(world.bo, order_id),
        vouchers=world.bo.journal(order_id),
        ledger=world.sim.ledger(),
        calls=world.sim.calls,
    )
