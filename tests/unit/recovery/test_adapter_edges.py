"""Edges of the bundled adapters: clocks, the simulator's refusals, the command line, and the
store contract run against a store that reports conflicts only at commit."""

from __future__ import annotations

import runpy
import sys
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self

import attrs
import pytest

from ocop import (
    CardToken,
    ConcurrentUpdate,
    IdempotencyConflict,
    InvalidArgument,
    InvalidInput,
    Money,
    Operation,
    Order,
    Outcome,
    ProcessorResult,
)
from ocop.adapters import _demo as demo
from ocop.adapters.cli import main
from ocop.adapters.memory import InMemoryStore, ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain.queries import OrderQuery
from ocop.ports.clock import Clock
from ocop.ports.store import Committed, OperationLog, OrderRepository, UnitOfWork, VoucherOutbox
from ocop.testing.contracts import OrderStoreContract
from ocop.testing.counting import DelegatingStore
from worlds import START, card, usd

from .support import OTHER_CARD

# -- clocks --------------------------------------------------------------------------------


def test_a_manual_clock_needs_a_timezone() -> None:
    """A naive start is refused with InvalidInput."""
    with pytest.raises(InvalidInput, match="timezone-aware"):
        ManualClock(datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("start", "message"),
    [
        ("2026-01-01", "start must be a timezone-aware datetime, not str"),
        (None, "start must be a timezone-aware datetime, not None"),
        (datetime(2026, 1, 1), "start must be a timezone-aware datetime, not a naive datetime"),
    ],
)
def test_a_manual_clock_starts_only_at_an_aware_datetime(start: object, message: str) -> None:
    """E1: a start that is not a timezone-aware datetime is InvalidArgument naming it (a
    string raised AttributeError)."""
    with pytest.raises(InvalidArgument) as caught:
        ManualClock(start)  # type: ignore[arg-type]
    assert (str(caught.value), caught.value.argument) == (message, "start")


def test_a_manual_clock_never_goes_back() -> None:
    """advance() with a negative step raises InvalidInput and leaves the time as it was."""
    clock = ManualClock(START)
    assert clock.advance(hours=2) == START + timedelta(hours=2)
    with pytest.raises(InvalidInput, match="does not go back"):
        clock.advance(minutes=-1)
    assert clock.now() == START + timedelta(hours=2)


# -- the simulator's refusals --------------------------------------------------------------


def _sim(*, unlinked_refunds: bool = True) -> SimulatedProcessor:
    return SimulatedProcessor(clock=ManualClock(START), unlinked_refunds=unlinked_refunds)


def _declined(result: ProcessorResult, key: str, reason: str) -> None:
    assert (result.key, result.outcome, result.reason) == (key, Outcome.DECLINED, reason)
    assert (result.amount, result.token) == (None, None)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"clock": None}, "clock must be a Clock (with now()), not None"),
        ({"clock": START}, "clock must be a Clock (with now()), not datetime"),
        ({"multi_capture": "no"}, "multi_capture must be True or False, not str"),
        ({"adjustments": 0}, "adjustments must be True or False, not int"),
        ({"unlinked_refunds": None}, "unlinked_refunds must be True or False, not None"),
        ({"authorization_days": "30"}, "authorization_days must be a whole number from 1 to 3650"),
        ({"authorization_days": 0}, "authorization_days must be a whole number from 1 to 3650"),
        ({"authorization_days": True}, "authorization_days must be a whole number from 1 to 3650"),
        ({"authorization_days": 10**9}, "authorization_days must be a whole number from 1 to 3650"),
        ({"connector": None}, "connector must be a string, not None"),
        ({"service_account": " "}, "service_account must be 1 to 512 printable characters"),
    ],
)
def test_the_simulator_refuses_arguments_of_another_kind_when_built(
    arguments: dict[str, object], message: str
) -> None:
    """E1: the simulator's arguments are checked when it is built, each refusal an
    InvalidArgument naming the argument (a clock of None was accepted and failed at the
    first call, the flag "no" turned multi-capture on, "30" days raised TypeError)."""
    given: dict[str, Any] = {"clock": ManualClock(START), **arguments}
    with pytest.raises(InvalidInput) as caught:
        SimulatedProcessor(**given)
    assert str(caught.value) == message


@pytest.mark.parametrize("amount", ["0.00", "-5.00"])
def test_the_simulator_declines_authorizing_a_non_positive_amount(amount: str) -> None:
    """An authorization of zero or less is declined, nothing enters the ledger."""
    sim = _sim()
    _declined(sim.authorize("K-1", card(), usd(amount)), "K-1", "amount must be positive")
    assert sim.ledger() == ()


def test_the_simulator_declines_an_expired_card() -> None:
    """A card whose expiry month is before the clock's is declined as expired."""
    sim = _sim()
    expired = CardToken(value="tok_old", connector="sim", service_account="sa-1",
                       brand="visa", last4="1111", expiry="2025-12")  # fmt: skip
    _declined(sim.authorize("K-1", expired, usd("10.00")), "K-1", "card expired")
    assert sim.ledger() == ()
    assert sim.lookup("K-1").outcome is Outcome.DECLINED


def test_the_simulator_declines_an_unlinked_refund_to_a_foreign_card() -> None:
    """A card of another service account is declined for an unlinked refund."""
    sim = _sim()
    foreign = CardToken(value="tok_f", connector="sim", service_account="sa-9",
                       brand="visa", last4="2222", expiry="2030-12")  # fmt: skip
    _declined(
        sim.unlinked_refund("K-1", foreign, usd("10.00")),
        "K-1",
        "card token of another connector or service account",
    )
    assert sim.ledger() == ()


@pytest.mark.parametrize("amount", ["0.00", "-1.00"])
def test_the_simulator_declines_an_unlinked_refund_of_a_non_positive_amount(amount: str) -> None:
    """An unlinked refund of zero or less is declined, nothing is paid."""
    sim = _sim()
    result = sim.unlinked_refund("K-1", OTHER_CARD, usd(amount))
    _declined(result, "K-1", "card token of another connector or service account")
    assert sim.ledger() == ()


def test_the_simulator_without_unlinked_refunds_declines_them() -> None:
    """A processor without the capability declines an unlinked refund, saying so."""
    sim = _sim(unlinked_refunds=False)
    _declined(
        sim.unlinked_refund("K-1", OTHER_CARD, usd("10.00")),
        "K-1",
        "unlinked refunds not supported",
    )


# -- the command line ----------------------------------------------------------------------


def test_python_dash_m_ocop_demo_exits_zero_and_prints_the_walkthrough(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m ocop demo`` runs the demo and exits with status 0."""
    monkeypatch.setattr(sys, "argv", ["ocop", "demo"])
    with pytest.raises(SystemExit) as done:
        runpy.run_module("ocop", run_name="__main__", alter_sys=True)
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("== One card line through the processor port ==\n")
    assert "captures recorded=1, captures at the processor=1" in out


def test_python_dash_m_ocop_without_a_command_exits_with_usage(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a command the parser prints its usage and exits with status 2."""
    monkeypatch.setattr(sys, "argv", ["ocop"])
    with pytest.raises(SystemExit) as done:
        runpy.run_module("ocop", run_name="__main__", alter_sys=True)
    assert done.value.code == 2
    assert "usage: ocop" in capsys.readouterr().err


def test_the_demo_stops_when_a_step_is_not_approved(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A demo step the processor declines stops the demo with a RuntimeError saying why."""

    class Declining(SimulatedProcessor):
        def __init__(self, *, clock: Clock, **caps: Any) -> None:
            super().__init__(clock=clock, **caps)
            self.script("authorize", "decline")

    monkeypatch.setattr(demo, "SimulatedProcessor", Declining)
    with pytest.raises(RuntimeError) as stopped:
        main(["demo"])
    assert str(stopped.value) == "demo step was not approved: declined scripted decline"
    out = capsys.readouterr().out
    assert out.startswith("== One card line through the processor port ==\n")
    assert "The processor's own ledger" not in out


def test_the_demo_stops_when_an_approved_step_carries_no_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An approval without the token the demo needs stops it with a RuntimeError naming both."""

    class Tokenless(SimulatedProcessor):
        def authorize(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
            return attrs.evolve(super().authorize(key, card, amount), token=None)

    monkeypatch.setattr(demo, "SimulatedProcessor", Tokenless)
    with pytest.raises(RuntimeError) as stopped:
        main(["demo"])
    assert str(stopped.value) == (
        "demo step SO-1/authorize:L1.A1#1 was approved but carries no AuthorizationToken"
    )


# -- a store that reports conflicts at commit ----------------------------------------------


class _Orders:
    """Orders whose stale updates are reported at commit (the port allows either)."""

    def __init__(self, uow: CommitCheckedUnitOfWork) -> None:
        self._uow = uow

    def get(self, order_id: str) -> Order:
        return self._uow.inner.orders.get(order_id)

    def find(self, order_id: str) -> Order | None:
        return self._uow.inner.orders.find(order_id)

    def add(self, order: Order) -> None:
        self._uow.inner.orders.add(order)

    def update(self, order: Order) -> None:
        try:
            self._uow.inner.orders.update(order)
        except ConcurrentUpdate as error:
            self._uow.deferred = error

    def touch(self, order: Order) -> None:
        self._uow.inner.orders.touch(order)

    def ids(self) -> tuple[str, ...]:
        return self._uow.inner.orders.ids()

    def query(self, query: OrderQuery, now: datetime) -> tuple[str, ...]:
        return self._uow.inner.orders.query(query, now)


class _Operations:
    """An operation log whose key conflicts are reported at commit."""

    def __init__(self, uow: CommitCheckedUnitOfWork) -> None:
        self._uow = uow

    def record_intent(self, operation: Operation) -> None:
        try:
            self._uow.inner.operations.record_intent(operation)
        except IdempotencyConflict as error:
            self._uow.deferred = error

    def record_outcome(self, key: str, result: ProcessorResult, at: datetime) -> Operation:
        return self._uow.inner.operations.record_outcome(key, result, at)

    def record_intents(self, operations: tuple[Operation, ...]) -> None:
        self._uow.inner.operations.record_intents(operations)

    def settle(self, operation: Operation) -> None:
        self._uow.inner.operations.settle(operation)

    def get(self, key: str) -> Operation | None:
        return self._uow.inner.operations.get(key)

    def attempts(self, order_id: str, name: str) -> tuple[Operation, ...]:
        return self._uow.inner.operations.attempts(order_id, name)

    def for_order(self, order_id: str) -> tuple[Operation, ...]:
        return self._uow.inner.operations.for_order(order_id)

    def in_doubt(self, order_id: str | None = None) -> tuple[Operation, ...]:
        return self._uow.inner.operations.in_doubt(order_id)

    def by_reference(self, reference: str) -> tuple[Operation, ...]:
        found = getattr(self._uow.inner.operations, "by_reference", None)
        return () if found is None else tuple(found(reference))


class CommitCheckedUnitOfWork:
    """An in-memory unit of work that raises stale-version and key conflicts at commit."""

    def __init__(self, inner: UnitOfWork) -> None:
        self.inner = inner
        self.deferred: Exception | None = None
        self._orders = _Orders(self)
        self._operations = _Operations(self)

    @property
    def orders(self) -> OrderRepository:
        return self._orders

    @property
    def operations(self) -> OperationLog:
        return self._operations

    @property
    def outbox(self) -> VoucherOutbox:
        return self.inner.outbox

    def commit(self) -> Committed:
        error, self.deferred = self.deferred, None
        if error is not None:
            self.inner.rollback()
            raise error
        return self.inner.commit()

    def rollback(self) -> None:
        self.deferred = None
        self.inner.rollback()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()


class CommitCheckedStore(DelegatingStore):
    """An OrderStore over an InMemoryStore, reporting conflicts at commit."""

    def __init__(self) -> None:
        super().__init__(InMemoryStore())

    def unit_of_work(self) -> CommitCheckedUnitOfWork:
        return CommitCheckedUnitOfWork(self.inner.unit_of_work())


class TestStoreReportingConflictsAtCommit(OrderStoreContract):
    """The store contract holds for a store that raises ConcurrentUpdate and
    IdempotencyConflict at commit rather than at the step (the port allows both)."""

    def make_store(self) -> CommitCheckedStore:
        return CommitCheckedStore()


def test_a_commit_checked_store_raises_at_commit_and_stores_nothing() -> None:
    """The double itself: a stale update passes the step, then the commit refuses it."""
    store = CommitCheckedStore()
    order = TestStoreReportingConflictsAtCommit().order()
    with store.unit_of_work() as uow:
        uow.orders.add(order)
        uow.commit()
    with store.unit_of_work() as first, store.unit_of_work() as second:
        mine, theirs = first.orders.get("SO-1"), second.orders.get("SO-1")
        first.orders.update(mine.with_total(Money.of("110.00", "USD")))
        first.commit()
        second.orders.update(theirs.with_total(Money.of("999.00", "USD")))
        with pytest.raises(ConcurrentUpdate) as lost:
            second.commit()
    assert lost.value.order_id == "SO-1"
    with store.unit_of_work() as uow:
        assert uow.orders.get("SO-1").total == Money.of("110.00", "USD")
