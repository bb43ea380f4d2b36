"""Wiring for the result tests: a manual clock, a simulated processor, a back office.

Every world starts at 2026-01-01 UTC with a processor of connector ``sim`` and
service account ``sa-1``. Helpers read what the processor and the journal hold,
through the public API and the ports only.
"""

from __future__ import annotations

from ocop import (
    Actor,
    Channel,
    Money,
    Order,
    VoucherKind,
)
from ocop.adapters.simulated import LedgerEntry
from ocop.domain.payments import ChannelPayment
from worlds import CUSTOMER, World, usd

#: A call center user allowed to refund to another card (R4).
AGENT = Actor.call_center("agent-1", permissions=frozenset({"alternate_payment"}))
#: A call center user allowed to release an out-of-balance hold (S4).
SUPERVISOR = Actor.call_center("super-1", permissions=frozenset({"hold_override"}))
#: A call center user without special permissions.
CLERK = Actor.call_center("clerk-1")
#: A back-office user who is not a call center user (P1).
OUTSIDER = Actor.user("user-1")


def place(
    world: World,
    order_id: str,
    total: str,
    *payments: ChannelPayment,
    channel: Channel = Channel.ECOMMERCE,
) -> Order:
    """Place an order of ``total`` dollars from ``channel`` with the payments it took."""
    return world.bo.place_order(
        order_id, channel=channel, customer=CUSTOMER, total=usd(total), payments=payments
    )


def ledger(world: World, order_id: str, kind: str | None = None) -> list[LedgerEntry]:
    """The processor's ledger entries of one order (of one kind), oldest first."""
    return [
        e
        for e in world.sim.ledger()
        if e.key.startswith(f"{order_id}/") and (kind is None or e.kind == kind)
    ]


def kinds(world: World, order_id: str) -> list[str]:
    """The kinds of the processor's ledger entries of one order, oldest first."""
    return [e.kind for e in ledger(world, order_id)]


def journal_totals(world: World, order_id: str) -> tuple[Money, Money]:
    """What the order's posted vouchers received and refunded."""
    vouchers = world.bo.journal(order_id)
    currency = world.bo.order(order_id).currency
    paid = sum((v.amount for v in vouchers if v.kind is VoucherKind.PAYMENT), Money.zero(currency))
    refunded = sum(
        (v.amount for v in vouchers if v.kind is VoucherKind.REFUND), Money.zero(currency)
    )
    return paid, refunded


def open_at_processor(world: World, order_id: str, line_id: str) -> Money:
    """What the processor still holds open on all of a line's authorizations."""
    line = world.bo.order(order_id).line(line_id)
    held = Money.zero(line.currency)
    for auth in line.authorizations:
        still = world.sim.authorization_open(auth.token.value)
        assert still is not None
        held = held + still
    return held
