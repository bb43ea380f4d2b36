"""Orders, cards and back offices the benchmarks share."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from harness import timed

from ocop import BackOffice, CardPayment, CardToken, Channel, Customer, Money
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor


def card(number: int) -> CardToken:
    return CardToken(value=f"tok_{number}", connector="sim", service_account="sa-1",
                     brand="visa", last4="1111", expiry="2030-12")  # fmt: skip


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def clock() -> ManualClock:
    return ManualClock(datetime(2026, 1, 1, tzinfo=UTC))


def in_memory() -> BackOffice:
    now = clock()
    return BackOffice.in_memory(processor=SimulatedProcessor(clock=now), clock=now)


def sqlite(path: Path) -> BackOffice:
    now = clock()
    return BackOffice.sqlite(path, processor=SimulatedProcessor(clock=now), clock=now)


def place(bo: BackOffice, order_id: str, amount: str, number: int = 1) -> None:
    """An e-commerce order paid by one card for its whole total (authorized at placing)."""
    payment = CardPayment(card(number), usd(amount))
    bo.place_order(order_id, channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd(amount), payments=[payment])  # fmt: skip


def invoice_fresh_orders(bo: BackOffice, prefix: str, count: int) -> float:
    """Seconds per invoice of ``count`` fresh one-card orders (placing them is not timed)."""
    ids = [f"{prefix}-{n}" for n in range(count)]
    for order_id in ids:
        place(bo, order_id, "10.00")

    def invoice_all() -> None:
        for order_id in ids:
            bo.invoice(order_id, "INV-1", usd("10.00"))

    return timed(invoice_all) / count
