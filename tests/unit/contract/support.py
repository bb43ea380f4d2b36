"""What the owner's acceptance tests share: the contract's own example values (a call
center user with the alternate-payment and hold-override permissions, card tokens of the
simulator's default account) and an in-memory back office over a simulator and a manual
clock at 2026-01-01 UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from ocop import (
    Actor,
    BackOffice,
    CardPayment,
    CardToken,
    Channel,
    Customer,
    Money,
    Settings,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor

START = datetime(2026, 1, 1, tzinfo=UTC)
AGENT = Actor.call_center(
    "u1", channel="CC-1", permissions=frozenset({"alternate_payment", "hold_override"})
)
PLAIN = Actor.call_center("u3")
CARD = CardToken(value="tok_1", connector="sim", service_account="sa-1", brand="visa",
                 last4="1111", expiry="2030-12", reusable=True)  # fmt: skip
OTHER = CardToken(value="tok_9", connector="sim", service_account="sa-1", brand="visa",
                  last4="9999", expiry="2030-12", reusable=True)  # fmt: skip


def usd(amount: str) -> Money:
    """``amount`` US dollars."""
    return Money.of(amount, "USD")


def world(settings: Settings | None = None) -> tuple[BackOffice, SimulatedProcessor, ManualClock]:
    """A back office in memory under ``settings``, with its simulator and clock."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    return BackOffice.in_memory(settings=settings, processor=sim, clock=clock), sim, clock


def card_order(bo: BackOffice, order_id: str = "SO-1", amount: str = "100.00") -> None:
    """Place an e-commerce order paid in full by ``CARD``."""
    bo.place_order(order_id, channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                   total=usd(amount), payments=[CardPayment(CARD, usd(amount))])  # fmt: skip
