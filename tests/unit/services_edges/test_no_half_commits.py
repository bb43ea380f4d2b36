"""A storage failure leaves nothing half-committed (E3): the invoice record goes with its
first intent, so a failed commit records neither and the processor is never called."""

from __future__ import annotations

import pytest

from ocop import BackOffice, Channel, Customer, DuplicateOrder, Order, StorageBusy, StorageError
from ocop.adapters.memory import InMemoryStore, ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.ports.store import Committed, UnitOfWork
from ocop.testing.counting import CountingStore, DelegatingUnitOfWork
from worlds import START, by_card, usd

from .support import AGENT


class _Failing(DelegatingUnitOfWork):
    def __init__(self, inner: UnitOfWork, store: FailingStore) -> None:
        super().__init__(inner)
        self._store = store

    def commit(self) -> Committed:
        if self._store.passing:
            self._store.passing -= 1
        elif self._store.failing:
            self._store.failing -= 1
            raise StorageBusy("the database stayed busy")
        return super().commit()


class FailingStore(CountingStore):
    """A store that lets its next ``passing`` commits through, then fails ``failing``
    commits as a busy database would."""

    passing = 0
    failing = 0

    def unit_of_work(self) -> UnitOfWork:
        return _Failing(self.inner.unit_of_work(), self)


def _world() -> tuple[BackOffice, FailingStore, SimulatedProcessor]:
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    store = FailingStore(InMemoryStore(keeps_journal=True))
    bo = BackOffice(store=store, journal=store.journal, processor=sim, clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("50.00"), payments=[by_card("50.00")])  # fmt: skip
    return bo, store, sim


@pytest.mark.parametrize("call", ["invoice", "pickup", "refund"])
def test_a_failed_first_commit_records_nothing_and_calls_nothing(call: str) -> None:
    """The first commit of an invoice, a pickup or a refund fails: the order, its operation
    log and the processor are as before, and the same call then succeeds once."""
    bo, store, sim = _world()
    if call == "refund":
        bo.invoice("SO-1", "INV-1", usd("50.00"))
    before, calls = bo.order("SO-1"), sim.calls
    with store.inner.unit_of_work() as uow:
        log = uow.operations.for_order("SO-1")

    def run() -> object:
        if call == "refund":
            return bo.refund("SO-1", "RMA-1", usd("20.00"), AGENT)
        return getattr(bo, call)("SO-1", "INV-9" if call == "pickup" else "INV-1", usd("50.00"))

    store.failing = 1
    with pytest.raises(StorageError):
        run()
    assert bo.order("SO-1") == before
    assert not bo.order("SO-1").invoices or call == "refund"
    with store.inner.unit_of_work() as uow:
        assert uow.operations.for_order("SO-1") == log
    assert sim.calls == calls
    run()
    assert sim.calls == calls + 1


def test_a_busy_database_at_the_outcome_is_waited_for_and_the_answer_kept() -> None:
    """The capture's answer is in hand when the outcome's commit finds the database busy:
    the commit is tried again and the invoice ends captured, nothing in doubt."""
    bo, store, _ = _world()
    store.passing, store.failing = 1, 2  # the intent's commit passes, the outcome's fail
    result = bo.invoice("SO-1", "INV-1", usd("50.00"))
    assert (result.in_doubt, [c.amount for c in result.captures]) == ((), [usd("50.00")])
    assert store.failing == 0


def test_a_database_busy_past_every_retry_leaves_the_call_for_recover() -> None:
    """Busy at every try: StorageBusy reaches the caller, the capture stays in doubt, and
    recover() settles it once from the processor's own record."""
    bo, store, sim = _world()
    store.passing, store.failing = 1, 99
    with pytest.raises(StorageBusy):
        bo.invoice("SO-1", "INV-1", usd("50.00"))
    store.failing = 0
    report = bo.recover()
    assert len(report.resolved) == 1
    assert bo.order("SO-1").captured == usd("50.00")
    assert [e.kind for e in sim.ledger()].count("capture") == 1


def test_a_placement_whose_second_commit_failed_is_taken_up_by_the_same_placement() -> None:
    """E3: a placement stores the order, then commits its authorization's intent; when that
    second commit fails, the call raises and the processor was never called. The same
    placement again takes the order up where it stopped (it authorizes, once); another
    order under the id is still refused."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    store = FailingStore(InMemoryStore(keeps_journal=True))
    bo = BackOffice(store=store, journal=store.journal, processor=sim, clock=clock)

    def place(total: str = "50.00") -> Order:
        return bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                              total=usd(total), payments=[by_card(total)])  # fmt: skip

    store.passing, store.failing = 1, 1
    with pytest.raises(StorageBusy):
        place()
    assert bo.order("SO-1").needs_completion
    assert sim.calls == 0
    with pytest.raises(DuplicateOrder):
        place("60.00")
    placed = place()
    assert placed.approved
    assert placed.authorized == usd("50.00")
    assert [e.kind for e in sim.ledger()] == ["authorize"]
    with pytest.raises(DuplicateOrder):
        place()  # taken up once: it has moved on


def test_a_call_center_order_placed_again_is_a_duplicate() -> None:
    """A call center order waits for completion when its placement succeeds: the same
    placement again is a second one, refused, not the first taken up."""
    bo, _, _ = _world()
    agent = AGENT

    def place() -> Order:
        return bo.place_order("SO-2", channel=Channel.CALL_CENTER, customer=Customer.guest(),
                              total=usd("50.00"), created_by=agent)  # fmt: skip

    assert place().needs_completion
    with pytest.raises(DuplicateOrder):
        place()
