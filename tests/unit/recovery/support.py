"""Test doubles behind the ports, and a small world, for the recovery and runner tests.

:class:`UnsureProcessor` is a :class:`~ocop.ports.processor.PaymentProcessor` that
delegates to a :class:`SimulatedProcessor` but whose lookups answer ``UNKNOWN``
while ``unsure`` is set (a processor that cannot tell yet), or a scripted answer
per key; ``during_call`` runs after each money call reached the simulator and
before its answer returns (another worker acting while the live call is away).
:class:`FlakyStore` is an :class:`~ocop.ports.store.OrderStore` over an
:class:`InMemoryStore` whose next ``conflicts`` commits raise ``ConcurrentUpdate``.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ocop import (
    Actor,
    AuthorizationToken,
    BackOffice,
    CaptureToken,
    CardPayment,
    CardToken,
    Channel,
    ConcurrentUpdate,
    Customer,
    Money,
    Operation,
    Order,
    Outcome,
    ProcessorResult,
    SavedInstrument,
)
from ocop.adapters.memory import InMemoryJournal, InMemoryStore, ManualClock
from ocop.adapters.simulated import LedgerEntry, SimulatedProcessor
from ocop.ports.processor import ProcessorCapabilities
from ocop.ports.store import Committed, UnitOfWork
from ocop.testing.counting import DelegatingStore, DelegatingUnitOfWork
from worlds import START, card, usd

#: A call center user allowed to refund to a card that did not pay (R4).
AGENT = Actor.call_center("agent-1", permissions=frozenset({"alternate_payment"}))


#: A card that paid none of the orders of these tests (R4).
OTHER_CARD = card("tok_9", "9999")


class UnsureProcessor:
    """A simulated processor whose lookups may not know yet (see the module docstring)."""

    def __init__(self, sim: SimulatedProcessor) -> None:
        self.sim = sim
        self.unsure = False
        self.answers: dict[str, ProcessorResult] = {}
        self.during_call: Callable[[str], None] | None = None
        self.lookups: list[str] = []

    def _after(self, key: str, result: ProcessorResult) -> ProcessorResult:
        if self.during_call is not None:
            hook, self.during_call = self.during_call, None
            hook(key)
        return result

    @property
    def capabilities(self) -> ProcessorCapabilities:
        return self.sim.capabilities

    def authorize(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        return self._after(key, self.sim.authorize(key, card, amount))

    def adjust(self, key: str, authorization: AuthorizationToken, amount: Money) -> ProcessorResult:
        return self._after(key, self.sim.adjust(key, authorization, amount))

    def capture(
        self, key: str, authorization: AuthorizationToken, amount: Money
    ) -> ProcessorResult:
        return self._after(key, self.sim.capture(key, authorization, amount))

    def void(self, key: str, authorization: AuthorizationToken) -> ProcessorResult:
        return self._after(key, self.sim.void(key, authorization))

    def refund(self, key: str, capture: CaptureToken, amount: Money) -> ProcessorResult:
        return self._after(key, self.sim.refund(key, capture, amount))

    def unlinked_refund(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        return self._after(key, self.sim.unlinked_refund(key, card, amount))

    def tokenize(self, key: str, customer_id: str, instrument_id: str, cvv: str) -> ProcessorResult:
        return self._after(key, self.sim.tokenize(key, customer_id, instrument_id, cvv))

    def save_instrument(self, customer_id: str, card: CardToken) -> SavedInstrument:
        return self.sim.save_instrument(customer_id, card)

    def instruments(self, customer_id: str) -> tuple[SavedInstrument, ...]:
        return self.sim.instruments(customer_id)

    def lookup(self, key: str) -> ProcessorResult:
        self.lookups.append(key)
        if self.unsure:
            return ProcessorResult(key=key, outcome=Outcome.UNKNOWN)
        if key in self.answers:
            return self.answers[key]
        return self.sim.lookup(key)


class FlakyUnitOfWork(DelegatingUnitOfWork):
    """A unit of work of :class:`FlakyStore`: the inner one, with commits that may lose."""

    def __init__(self, store: FlakyStore, inner: UnitOfWork) -> None:
        super().__init__(inner)
        self._store = store

    def commit(self) -> Committed:
        if self._store.conflicts > 0:
            self._store.conflicts -= 1
            self._store.refused += 1
            self.rollback()
            raise ConcurrentUpdate("(a rival worker)")
        return super().commit()


class FlakyStore(DelegatingStore):
    """An in-memory store whose next ``conflicts`` commits lose a version race."""

    def __init__(self) -> None:
        super().__init__(InMemoryStore())
        self.conflicts = 0
        self.refused = 0

    def unit_of_work(self) -> FlakyUnitOfWork:
        return FlakyUnitOfWork(self, self.inner.unit_of_work())


@attrs.frozen(kw_only=True)
class World:
    """A clock, a simulator, the unsure processor over it, a flaky store, a back office."""

    clock: ManualClock
    sim: SimulatedProcessor
    processor: UnsureProcessor
    store: FlakyStore
    bo: BackOffice


def new_world() -> World:
    """A fresh world at 2026-01-01 UTC."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    processor = UnsureProcessor(sim)
    store = FlakyStore()
    bo = BackOffice(store=store, processor=processor, journal=InMemoryJournal(), clock=clock)
    return World(clock=clock, sim=sim, processor=processor, store=store, bo=bo)


def place_card_order(world: World, order_id: str, total: str, *amounts: str) -> Order:
    """An e-commerce order of ``total`` dollars paid by one card per amount (tok_1, tok_2 ...)."""
    payments = [
        CardPayment(card(f"tok_{n}", f"{n}" * 4), usd(amount))
        for n, amount in enumerate(amounts or (total,), start=1)
    ]
    return world.bo.place_order(
        order_id,
        channel=Channel.ECOMMERCE,
        customer=Customer.named("C-1"),
        total=usd(total),
        payments=payments,
    )


def entries(world: World, order_id: str, *kinds: str) -> list[LedgerEntry]:
    """The processor's ledger entries of one order (of some kinds), oldest first."""
    return [
        e
        for e in world.sim.ledger()
        if e.key.startswith(f"{order_id}/") and (not kinds or e.kind in kinds)
    ]


def operations(world: World, order_id: str) -> tuple[Operation, ...]:
    """The operation log of one order, through the store port."""
    with world.store.unit_of_work() as uow:
        return uow.operations.for_order(order_id)


def in_doubt(world: World) -> list[str]:
    """Keys of every operation in doubt, through the store port."""
    with world.store.unit_of_work() as uow:
        return [op.key for op in uow.operations.in_doubt()]


def assert_ledger_matches_captures(world: World, order_id: str) -> None:
    """V5: the processor's captures of the order are exactly ocop's (key and amount)."""
    order = world.bo.order(order_id)
    ours = sorted(
        (c.capture_id, c.amount) for line in order.lines if line.is_card for c in line.captures
    )
    theirs = sorted((e.key, e.amount) for e in entries(world, order_id, "capture"))
    assert ours == theirs
