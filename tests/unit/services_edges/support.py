"""Wiring for the service edge tests: a manual clock, a simulated processor, a back office.

:func:`new_world` builds one world per test (or per hypothesis example) at
2026-01-01 UTC over a simulated processor of connector ``sim`` and service
account ``sa-1``. :func:`assert_nothing_stored` is what every refused request
must leave behind: no order and no processor call.
"""

from __future__ import annotations

import pytest

from ocop import (
    Actor,
    AuthorizationToken,
    BackOffice,
    CaptureToken,
    CardPayment,
    CardToken,
    Channel,
    Money,
    Operation,
    Order,
    OrderNotFound,
    ProcessorResult,
    Settings,
)
from ocop.adapters.simulated import SimulatedProcessor
from worlds import CUSTOMER, World, card, usd

#: A call center user with every permission these tests need.
AGENT = Actor.call_center("agent-1", permissions=frozenset({"alternate_payment"}))
#: A back-office user who is not a call center user (P1).
OUTSIDER = Actor.user("user-1")
#: Settings with omni-channel order payments off (legal: F1 and F2 bind only while it is on).
OCOP_OFF = Settings.default().with_features(omni_channel_order_payments=False)


def card_order(world: World, order_id: str = "SO-1", amount: str = "50.00") -> Order:
    """An e-commerce order of ``amount`` dollars paid by one card (authorized, approved)."""
    order = world.bo.place_order(
        order_id,
        channel=Channel.ECOMMERCE,
        customer=CUSTOMER,
        total=usd(amount),
        payments=[CardPayment(card(), usd(amount))],
    )
    assert order.approved
    return order


def ledger(world: World) -> list[tuple[str, str, Money]]:
    """The processor's ledger as (kind, key, amount), oldest first."""
    return [(e.kind, e.key, e.amount) for e in world.sim.ledger()]


def operations(world: World, order_id: str) -> list[tuple[str, str | None]]:
    """The order's operation log as (key, outcome), in the order recorded."""
    with world.bo.ports.store.unit_of_work() as uow:
        ops: tuple[Operation, ...] = uow.operations.for_order(order_id)
    return [(op.key, None if op.outcome is None else op.outcome.value) for op in ops]


def assert_nothing_stored(world: World, order_id: str) -> None:
    """No order ``order_id`` was stored, and nothing reached the processor."""
    with pytest.raises(OrderNotFound) as caught:
        world.bo.order(order_id)
    assert caught.value.order_id == order_id
    assert world.sim.ledger() == ()
    assert world.sim.calls == 0
    with pytest.raises(OrderNotFound):
        world.bo.journal(order_id)
    assert world.bo.ports.journal.vouchers(order_id) == ()


class RecoveryOnTheWay(SimulatedProcessor):
    """Another worker's recover() (``other``) runs just before a call of kind ``on``
    reaches the processor (a void by default; an authorization: line L1's second, unless
    ``match`` names another part of the key): it looks the key up, never received, and
    finishes what it finds interrupted (a renewal, A2)."""

    other: BackOffice | None = None
    on: str = "void"
    #: A part of the key the call must carry ("": any call of kind ``on``).
    match: str = ""

    def _recover_first(self, kind: str, key: str = "") -> None:
        wanted = self.match or ("/authorize:L1.A2" if kind == "authorize" else "")
        if self.other is not None and kind == self.on and wanted in key:
            other, self.other = self.other, None
            other.recover()

    def authorize(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        self._recover_first("authorize", key)
        return super().authorize(key, card, amount)

    def adjust(self, key: str, authorization: AuthorizationToken, amount: Money) -> ProcessorResult:
        self._recover_first("adjust", key)
        return super().adjust(key, authorization, amount)

    def capture(
        self, key: str, authorization: AuthorizationToken, amount: Money
    ) -> ProcessorResult:
        self._recover_first("capture", key)
        return super().capture(key, authorization, amount)

    def void(self, key: str, authorization: AuthorizationToken) -> ProcessorResult:
        self._recover_first("void", key)
        return super().void(key, authorization)

    def refund(self, key: str, capture: CaptureToken, amount: Money) -> ProcessorResult:
        self._recover_first("refund", key)
        return super().refund(key, capture, amount)

    def unlinked_refund(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        self._recover_first("unlinked_refund", key)
        return super().unlinked_refund(key, card, amount)
