"""One worker of ``ocop simulate``: orders from the three channels, with faults injected.

Each worker places its own orders (its own range of numbers, ids ``<run>-<worker>-<n>``)
on the shared store, through its own simulated processor (its own state file and service
account: a simulator's records are read when it is opened, so two processes never share
one). The workload, per order, from a random generator seeded by the run's seed, the
worker and the order number:

- the channel in turn: POS (a card, sometimes with cash), e-commerce (a card), call
  center (placed, then a card added by completion and submitted; a quarter of them then
  grow by 5.00 and are completed again, which adjusts the authorization);
- a tenth of the approved orders are cancelled (their authorizations voided, cash
  refunded by the fallback method), an order the processor declined is cancelled too;
- the others are invoiced, four in ten in two parts; a fifth of the invoiced ones get a
  return refunded (linked refunds, the rest by the fallback method).

Every processor call draws a fault at the run's rate (:class:`FaultInjector`): a decline,
a timeout before the call arrives, a timeout after the money moved, or (captures,
refunds, voids, adjustments) a pending answer. An order with a call in doubt is left
there, for the recovery that ends the run; pending calls are settled every few orders,
most approved, some declined, and each notification is handed to the back office.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import attrs

from ocop._backoffice import BackOffice
from ocop.adapters._cli_wiring import Database, open_back_office
from ocop.adapters._sql import SqlStore
from ocop.adapters.memory import SystemClock
from ocop.adapters.simulated import PENDING_KINDS, SimulatedProcessor
from ocop.domain.errors import OperationInDoubt
from ocop.domain.money import Money
from ocop.domain.operations import ProcessorResult
from ocop.domain.order import Channel, Order
from ocop.domain.parties import Actor, Customer
from ocop.domain.payments import CardPayment, Prepayment
from ocop.domain.tokens import AuthorizationToken, CaptureToken, CardToken, SavedInstrument
from ocop.ports.processor import ProcessorCapabilities

__all__ = ["FAULTS", "FaultInjector", "WorkerPlan", "order_id", "run_worker"]

#: The faults every call can draw; :data:`~ocop.adapters.simulated.PENDING_KINDS` calls
#: can also be answered ``pending``.
FAULTS = ("decline", "timeout_before", "timeout_after_success")
CHANNELS = (Channel.POS, Channel.ECOMMERCE, Channel.CALL_CENTER)
CURRENCY = "USD"
#: Pending calls are settled after every this many orders (and at the end).
SETTLE_EVERY = 20


@attrs.frozen(kw_only=True)
class WorkerPlan:
    """What one worker does: ``count`` orders numbered from ``first``."""

    run_id: str
    worker: int
    first: int
    count: int
    faults: float
    seed: int
    database: Database
    state: Path
    account: str


def order_id(run_id: str, worker: int, number: int) -> str:
    return f"{run_id}-{worker}-{number:06d}"


class FaultInjector:
    """A :class:`PaymentProcessor` over a simulator that scripts a fault into a call at
    ``rate``, and counts calls (``calls:<kind>``) and faults (``fault:<fault>``)."""

    def __init__(self, sim: SimulatedProcessor, rate: float, rng: random.Random) -> None:
        self._sim = sim
        self._rate = rate
        self._rng = rng
        self.tally: Counter[str] = Counter()

    @property
    def capabilities(self) -> ProcessorCapabilities:
        return self._sim.capabilities

    def _draw(self, kind: str) -> None:
        self.tally[f"calls:{kind}"] += 1
        if self._rng.random() < self._rate:
            fault = self._rng.choice((*FAULTS, "pending") if kind in PENDING_KINDS else FAULTS)
            self._sim.script(kind, fault)
            self.tally[f"fault:{fault}"] += 1

    def authorize(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        self._draw("authorize")
        return self._sim.authorize(key, card, amount)

    def adjust(self, key: str, authorization: AuthorizationToken, amount: Money) -> ProcessorResult:
        self._draw("adjust")
        return self._sim.adjust(key, authorization, amount)

    def capture(
        self, key: str, authorization: AuthorizationToken, amount: Money
    ) -> ProcessorResult:
        self._draw("capture")
        return self._sim.capture(key, authorization, amount)

    def void(self, key: str, authorization: AuthorizationToken) -> ProcessorResult:
        self._draw("void")
        return self._sim.void(key, authorization)

    def refund(self, key: str, capture: CaptureToken, amount: Money) -> ProcessorResult:
        self._draw("refund")
        return self._sim.refund(key, capture, amount)

    def unlinked_refund(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        self._draw("unlinked_refund")
        return self._sim.unlinked_refund(key, card, amount)

    def tokenize(self, key: str, customer_id: str, instrument_id: str, cvv: str) -> ProcessorResult:
        self._draw("tokenize")
        return self._sim.tokenize(key, customer_id, instrument_id, cvv)

    def save_instrument(self, customer_id: str, card: CardToken) -> SavedInstrument:
        return self._sim.save_instrument(customer_id, card)

    def instruments(self, customer_id: str) -> tuple[SavedInstrument, ...]:
        return self._sim.instruments(customer_id)

    def lookup(self, key: str) -> ProcessorResult:
        return self._sim.lookup(key)


def _rng(plan: WorkerPlan, stream: str) -> random.Random:
    """A generator for one stream of the workload, the same for the same seed."""
    return random.Random(f"{plan.seed}/{plan.worker}/{stream}")  # noqa: S311 - not for secrets


def run_worker(plan: WorkerPlan, tick: Callable[[], None]) -> Counter[str]:
    """Run ``plan``'s orders, calling ``tick`` after each; the worker's tally."""
    clock = SystemClock()
    sim = SimulatedProcessor(clock=clock, service_account=plan.account, state=plan.state)
    injector = FaultInjector(sim, plan.faults, _rng(plan, "faults"))
    bo = open_back_office(plan.database, injector, create=True)
    settler = _rng(plan, "settle")
    tally: Counter[str] = Counter()
    try:
        for number in range(plan.first, plan.first + plan.count):
            _Order(bo, plan, number, tally).run()
            tick()
            if (number + 1) % SETTLE_EVERY == 0:
                settle(bo, sim, settler, tally)
        settle(bo, sim, settler, tally)
    finally:
        if isinstance(bo.ports.store, SqlStore):
            bo.ports.store.close()
        sim.close()
    tally.update(injector.tally)
    return tally


def settle(
    bo: BackOffice, sim: SimulatedProcessor, rng: random.Random, tally: Counter[str]
) -> None:
    """The processor settles every pending call (nine in ten approved) and its
    notifications reach the back office (what it keeps for review, a failed pending void
    or adjustment, is counted at the end of the run)."""
    for key in sim.pending_keys():
        outcome = "approve" if rng.random() < 0.9 else "decline"
        for note in sim.settle_pending(outcome, keys=[key]):
            bo.handle_notification(note)
            tally[f"notification:{outcome}"] += 1


class _Order:
    """One order of the workload, from placement to its return."""

    def __init__(self, bo: BackOffice, plan: WorkerPlan, number: int, tally: Counter[str]):
        self.bo = bo
        self.tally = tally
        self.order_id = order_id(plan.run_id, plan.worker, number)
        self.rng = _rng(plan, str(number))
        self.channel = CHANNELS[number % len(CHANNELS)]
        self.agent = Actor.call_center("sim-agent")
        self.card = CardToken(
            value=f"tok_{plan.worker}_{number}",
            connector="sim",
            service_account=plan.account,
            brand="visa",
            last4=f"{number % 10_000:04d}",
            expiry="2030-12",
            reusable=True,
        )

    def run(self) -> None:
        self.tally["orders"] += 1
        self.tally[f"channel:{self.channel.value}"] += 1
        try:
            order = self._place()
            if order is None:
                return
            if not order.approved or self.rng.random() < 0.1:
                cancelled = self.bo.cancel_order(self.order_id, self.agent)
                self.tally["cancelled"] += 1
                self._went_in_doubt(cancelled.in_doubt)
                return
            self._invoice_and_return(order)
        except OperationInDoubt:
            self.tally["left in doubt"] += 1

    def _money(self, cents: int) -> Money:
        return Money.from_minor(cents, CURRENCY)

    def _went_in_doubt(self, keys: tuple[str, ...]) -> bool:
        if keys:
            self.tally["left in doubt"] += 1
        return bool(keys)

    def _place(self) -> Order | None:
        """The order as placed (and completed, for the call center); None once in doubt."""
        cents = self.rng.randint(1_000, 50_000)
        total = self._money(cents)
        customer = Customer.named(f"C-{self.order_id}")
        if self.channel is not Channel.CALL_CENTER:
            cash = self.rng.randint(100, cents // 2) if self.channel is Channel.POS else 0
            if cash and self.rng.random() < 0.7:
                cash = 0
            payments: list[CardPayment | Prepayment] = [
                CardPayment(self.card, self._money(cents - cash))
            ]
            if cash:
                payments.append(Prepayment("cash", amount=self._money(cash)))
            return self.bo.place_order(
                self.order_id, channel=self.channel, customer=customer, total=total,
                payments=payments,
            )  # fmt: skip
        self.bo.place_order(self.order_id, channel=self.channel, customer=customer, total=total)
        draft = self.bo.begin_completion(self.order_id, self.agent).add_card(self.card, total)
        submitted = self.bo.submit(draft)
        if self._went_in_doubt(submitted.in_doubt):
            return None
        if not submitted.approved or self.rng.random() >= 0.25:
            return submitted.order
        bigger = total + self._money(500)
        self.bo.change_total(self.order_id, bigger, self.agent)
        draft = self.bo.begin_completion(self.order_id, self.agent)
        line = draft.lines[0].line_id
        again = self.bo.submit(draft.change_amount(line, bigger))
        self.tally["adjusted"] += 1
        return None if self._went_in_doubt(again.in_doubt) else again.order

    def _invoice_and_return(self, order: Order) -> None:
        total = order.total
        parts = [total]
        if self.rng.random() < 0.4:
            first = self._money(self.rng.randint(1, total.minor - 1))
            parts = [first, total - first]
        for number, amount in enumerate(parts, start=1):
            result = self.bo.invoice(self.order_id, f"INV-{number}", amount)
            self.tally["invoices"] += 1
            if self._went_in_doubt(result.in_doubt):
                return
            order = result.order
        received = order.received
        if received.minor > 0 and self.rng.random() < 0.2:
            amount = self._money(self.rng.randint(1, received.minor))
            returned = self.bo.refund(self.order_id, "RMA-1", amount, self.agent)
            self.tally["returns"] += 1
            self._went_in_doubt(returned.in_doubt)
