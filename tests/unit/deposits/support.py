"""What the deposit tests share (rules D1, D2): a deposit policy, a POS order taking its
payments as a deposit, the call center user who cancels it, the processor's entries, a
processor that approves authorizations for less (N4)."""

from __future__ import annotations

from decimal import Decimal

from ocop import Actor, CardToken, Channel, DepositPolicy, Money, Order, ProcessorResult, Settings
from ocop.adapters.simulated import LedgerEntry, SimulatedProcessor
from ocop.domain.payments import ChannelPayment
from worlds import CUSTOMER, World, usd

#: A call center user who cancels, completes and refunds.
AGENT = Actor.call_center("agent-1")


def deposits(default: str = "0", charge: str = "0") -> Settings:
    """Default settings with this deposit policy."""
    policy = DepositPolicy(default_percent=Decimal(default),
                           cancellation_charge_percent=Decimal(charge))  # fmt: skip
    return Settings.default().with_policies(deposits=policy)


def place_deposit(
    world: World,
    total: str,
    *payments: ChannelPayment,
    order_id: str = "SO-1",
    created_by: Actor | None = None,
) -> Order:
    """A POS order of a named customer taking ``payments`` as its deposit."""
    return world.bo.place_order(
        order_id,
        channel=Channel.POS,
        customer=CUSTOMER,
        total=usd(total),
        payments=payments,
        created_by=created_by,
        deposit=True,
    )


def ledger(sim: SimulatedProcessor, *kinds: str) -> list[LedgerEntry]:
    """The processor's entries of these kinds, oldest first."""
    return [e for e in sim.ledger() if e.kind in kinds]


class PartialApprovals(SimulatedProcessor):
    """Approves at most ``limit`` of an authorization while it is set (N4)."""

    limit: Money | None = None

    def authorize(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        granted = amount if self.limit is None else amount.min(self.limit)
        return super().authorize(key, card, granted)
