"""Fixtures and helpers for the refund tests.

Every test gets a manual clock at 2026-01-01 UTC, a simulated processor of
connector ``sim`` and service account ``sa-1``, and an in-memory back office
over both. :func:`new_world` builds the same trio with other settings or
processor capabilities, and for hypothesis examples (one world per example).
:func:`invoice_daily` bills an order in several invoices, one a day, so that
each invoice's capture is newer than the one before.
"""

from __future__ import annotations

import attrs
import pytest

from ocop import (
    Actor,
    BackOffice,
    Channel,
    Money,
    Operation,
    Order,
    Prepayment,
    RefundResult,
    Voucher,
    VoucherKind,
)
from ocop.adapters.simulated import LedgerEntry, SimulatedProcessor
from ocop.domain.payments import ChannelPayment
from worlds import CUSTOMER, World, by_card, card, new_world, usd

#: A call center user allowed to refund to another card (R4).
AGENT = Actor.call_center("agent-1", permissions=frozenset({"alternate_payment"}))
#: A call center user without the alternate-payment permission.
CLERK = Actor.call_center("clerk-1")
#: A back-office user who is not a call center user (P1).
OUTSIDER = Actor.user("user-1")


#: A card that did not pay the orders of these tests (R4).
OTHER_CARD = card("tok_9", last4="9999")


def prepaid(method: str, amount: str) -> Prepayment:
    """A prepayment (cash, gift card ...) of ``amount`` dollars."""
    return Prepayment(method, amount=usd(amount))


@pytest.fixture
def world() -> World:
    """The clock, processor and back office of this test."""
    return new_world()


def place(
    bo: BackOffice,
    order_id: str,
    total: str,
    *payments: ChannelPayment,
    channel: Channel = Channel.ECOMMERCE,
    created_by: Actor | None = None,
) -> Order:
    """Place an order of ``total`` dollars from ``channel`` with the payments it took."""
    return bo.place_order(
        order_id,
        channel=channel,
        customer=CUSTOMER,
        total=usd(total),
        payments=payments,
        created_by=created_by,
    )


def invoice_daily(world: World, order_id: str, *amounts: str) -> Order:
    """Invoice ``INV-1``, ``INV-2`` ... for ``amounts``, one a day (newer captures later)."""
    for number, amount in enumerate(amounts, start=1):
        if number > 1:
            world.clock.advance(days=1)
        result = world.bo.invoice(order_id, f"INV-{number}", usd(amount))
        assert result.uncovered.is_zero()
    return world.bo.order(order_id)


def card_order(world: World, *amounts: str, order_id: str = "SO-1") -> Order:
    """An order paid by one card for the sum of ``amounts``, invoiced one amount a day."""
    total = sum((usd(a) for a in amounts), usd(0))
    place(world.bo, order_id, str(total.amount), by_card(str(total.amount)))
    return invoice_daily(world, order_id, *amounts)


def invoice_of(order: Order) -> dict[str, str | None]:
    """Card capture id -> the invoice it belongs to (None for a deposit, D1)."""
    return {
        c.capture_id: c.invoice_id for line in order.lines if line.is_card for c in line.captures
    }


def linked(result: RefundResult) -> list[tuple[str | None, Money]]:
    """The return's linked refunds as (invoice id, amount), per card line in the order made."""
    invoices = invoice_of(result.order)
    return [(invoices[r.capture_id], r.amount) for r in result.refunds if r.capture_id is not None]


def entries(sim: SimulatedProcessor, order_id: str, *kinds: str) -> list[LedgerEntry]:
    """The processor's ledger entries of one order (of some kinds), oldest first."""
    return [
        e
        for e in sim.ledger()
        if e.key.startswith(f"{order_id}/") and (not kinds or e.kind in kinds)
    ]


def refund_vouchers(bo: BackOffice, order_id: str) -> list[Voucher]:
    """The order's refund vouchers, oldest first."""
    return [v for v in bo.journal(order_id) if v.kind is VoucherKind.REFUND]


def credited_accounts(voucher: Voucher) -> list[str]:
    """The accounts a voucher credits (for a refund: the tender the money went back by)."""
    return [vl.account for vl in voucher.lines if vl.credit.is_positive()]


def operations(bo: BackOffice, order_id: str) -> tuple[Operation, ...]:
    """The operation log of one order."""
    with bo.ports.store.unit_of_work() as uow:
        return uow.operations.for_order(order_id)


@attrs.frozen(kw_only=True)
class Snapshot:
    """Everything stored about one order, and the processor's records."""

    order: Order
    operations: tuple[Operation, ...]
    vouchers: tuple[Voucher, ...]
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
