"""The wiring most service tests share: a manual clock, a simulated processor, a back office.

A *world* is one in-memory back office over a :class:`SimulatedProcessor` (connector
``sim``, service account ``sa-1``) and a :class:`ManualClock` at 2026-01-01 UTC, built
anew for each test or hypothesis example. The test packages import what they need from
here and keep only their own helpers.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import attrs

from ocop import (
    BackOffice,
    CardPayment,
    CardToken,
    Customer,
    Money,
    Operation,
    Outcome,
    Prepayment,
    ProcessorResult,
    RefundToken,
    Settings,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain import steps

START = datetime(2026, 1, 1, tzinfo=UTC)
CUSTOMER = Customer.named("C-1")


def usd(amount: str | int) -> Money:
    """US dollars: ``usd("12.50")``."""
    return Money.of(amount, "USD")


def card(
    value: str = "tok_1",
    last4: str = "1111",
    brand: str = "visa",
    *,
    reusable: bool = True,
    connector: str = "sim",
    service_account: str = "sa-1",
) -> CardToken:
    """A card token, by default reusable and of the simulated processor's connector and account."""
    return CardToken(
        value=value,
        connector=connector,
        service_account=service_account,
        brand=brand,
        last4=last4,
        expiry="2030-12",
        reusable=reusable,
    )


def by_card(amount: str, token: CardToken | None = None) -> CardPayment:
    """A card payment of ``amount`` dollars (by default with :func:`card`)."""
    return CardPayment(token if token is not None else card(), usd(amount))


def in_cash(amount: str) -> Prepayment:
    """A cash deposit of ``amount`` dollars."""
    return Prepayment("cash", amount=usd(amount))


@attrs.frozen(kw_only=True)
class World:
    """A clock, a simulated processor and a back office over both."""

    clock: ManualClock
    sim: SimulatedProcessor
    bo: BackOffice


def new_world(
    settings: Settings | None = None,
    *,
    multi_capture: bool = True,
    adjustments: bool = True,
    unlinked_refunds: bool = True,
) -> World:
    """A fresh world at 2026-01-01 UTC; the processor's capabilities as asked."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(
        clock=clock,
        multi_capture=multi_capture,
        adjustments=adjustments,
        unlinked_refunds=unlinked_refunds,
    )
    bo = BackOffice.in_memory(settings=settings, processor=sim, clock=clock)
    return World(clock=clock, sim=sim, bo=bo)


def refused_payout(order_id: str = "SO-1") -> tuple[Operation, ProcessorResult]:
    """The intent of a 500.00 payout to card ``tok_9`` and the processor's approval of it.

    Logged through the store port on an order that received less, it is an outcome the
    order refuses (V3): what recovery must report as unapplied, never apply.
    """
    step = steps.UnlinkedRefund(return_id="RMA-X", number=1, amount=usd("500.00"),
                                target="tok_9")  # fmt: skip
    payout = Operation.intent(order_id, step, 1, START)
    approval = ProcessorResult(
        key=payout.key,
        outcome=Outcome.APPROVED,
        amount=usd("500.00"),
        token=RefundToken("ref_x", "sim", "sa-1"),
    )
    return payout, approval


def without_run_noise(text: str) -> str:
    """``text`` (a repr searched for a CVV's or a card number's digits) without what
    varies from run to run and may hold them by chance: objects' addresses
    (``<lock object at 0x7f…9371…>``) and moments (``datetime.datetime(…, 475737, …)``)."""
    text = re.sub(r" at 0x[0-9a-f]+", " at 0x…", text)
    return re.sub(r"datetime\.datetime\([^)]*\)", "datetime(…)", text)
