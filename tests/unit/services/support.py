"""Shared wiring for the completion service tests: clock, simulated processor, back office.

The suite has no ``conftest.py`` here: a second top-level ``conftest`` module beside
``tests/conftest.py`` is a duplicate module for ``mypy`` without ``__init__.py`` files.
Tests call :func:`make_world` instead, which also suits hypothesis (one world per example).
"""

from __future__ import annotations

import attrs

from ocop import (
    Actor,
    BackOffice,
    Capture,
    CaptureToken,
    CardToken,
    Customer,
    Invoice,
    Money,
    Operation,
    Order,
    Settings,
    Voucher,
)
from ocop.adapters.memory import InMemoryJournal, InMemoryStore, ManualClock
from ocop.adapters.simulated import LedgerEntry, SimulatedProcessor
from worlds import START, card

#: A distinctive security code: it must never show up anywhere (T1, T2).
CVV = "9371"


CARD_1 = card("tok_1", "1111")
CARD_2 = card("tok_2", "4444", "mc")
CARD_3 = card("tok_3", "0005", "amex")
#: A card token from another connector and service account (I5).
FOREIGN_CARD = CardToken(
    value="tok_f",
    connector="other",
    service_account="sa-9",
    brand="visa",
    last4="2222",
    expiry="2030-12",
)

CLERK = Actor.call_center("cc-1")
SUPERVISOR = Actor.call_center("cc-2", permissions=frozenset({"hold_override"}))
OUTSIDER = Actor.user("u-1")

ALICE = Customer.named("C-1")
BOB = Customer.named("C-2")


@attrs.frozen(kw_only=True)
class World:
    """One back office in memory over a simulated processor and a manual clock."""

    clock: ManualClock
    sim: SimulatedProcessor
    store: InMemoryStore
    journal: InMemoryJournal
    bo: BackOffice


def make_world(
    settings: Settings | None = None, *, adjustments: bool = True, multi_capture: bool = True
) -> World:
    """A fresh world at 2026-01-01 UTC; the processor has the given capabilities."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock, adjustments=adjustments, multi_capture=multi_capture)
    store = InMemoryStore()
    journal = InMemoryJournal()
    bo = BackOffice(store=store, processor=sim, journal=journal, settings=settings, clock=clock)
    return World(clock=clock, sim=sim, store=store, journal=journal, bo=bo)


@attrs.frozen(kw_only=True)
class Snapshot:
    """Everything stored about one order, and the processor's ledger."""

    order: Order
    operations: tuple[Operation, ...]
    vouchers: tuple[Voucher, ...]
    ledger: tuple[LedgerEntry, ...]
    calls: int


def snapshot(world: World, order_id: str) -> Snapshot:
    """What is stored about ``order_id`` right now, for before/after comparisons."""
    with world.store.unit_of_work() as uow:
        operations = uow.operations.for_order(order_id)
    return Snapshot(
        order=world.bo.order(order_id),
        operations=operations,
        vouchers=world.bo.journal(order_id),
        ledger=world.sim.ledger(),
        calls=world.sim.calls,
    )


def store_order(world: World, order: Order) -> Order:
    """Store a changed order value through a unit of work; returns the stored value."""
    with world.store.unit_of_work() as uow:
        uow.orders.update(order)
        uow.commit()
    return world.bo.order(order.order_id)


def invoice(world: World, order_id: str, invoice_id: str, amount: Money) -> Order:
    """Record an invoice on the order without any capture (as if a prepayment covered it)."""
    order = world.bo.order(order_id)
    billed = Invoice(invoice_id=invoice_id, amount=amount, invoiced_at=world.clock.now())
    return store_order(world, order.with_invoice(billed))


def capture_line(
    world: World, order_id: str, line_id: str, amount: Money, invoice_id: str = "INV-1"
) -> Order:
    """Capture ``amount`` of a line's open authorization at the processor and store it.

    What invoicing would do, for one line: the simulated processor captures, the
    domain records the capture on the line, and an invoice of that amount is added.
    """
    order = world.bo.order(order_id)
    line = order.line(line_id)
    auth = line.open_authorizations()[-1]
    key = f"{order_id}/test-capture:{invoice_id}:{line_id}"
    result = world.sim.capture(key, auth.token, amount)
    assert result.approved, result
    assert isinstance(result.token, CaptureToken)
    captured = Capture(
        capture_id=key,
        line_id=line_id,
        invoice_id=invoice_id,
        amount=amount,
        auth_id=auth.auth_id,
        token=result.token,
        refunded=Money.zero(amount.currency),
        captured_at=world.clock.now(),
    )
    billed = Invoice(invoice_id=invoice_id, amount=amount, invoiced_at=world.clock.now())
    return store_order(world, order.with_line(line.captured_with(captured)).with_invoice(billed))


def kinds(entries: tuple[LedgerEntry, ...]) -> list[str]:
    """The kinds of processor ledger entries, oldest first."""
    return [entry.kind for entry in entries]
