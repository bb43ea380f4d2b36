"""What one capture costs the store: units of work and commits, counted (structure, not time)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import cast

import pytest

from ocop import Actor, BackOffice, Channel, Customer
from ocop.adapters.memory import InMemoryJournal, InMemoryStore, ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.adapters.sqlite import SqliteStore
from ocop.ports.store import Operation, OperationLog, OrderStore, UnitOfWork
from ocop.testing._review_contract import chargeback
from ocop.testing.contracts import OrderStoreContract
from ocop.testing.counting import CountingStore, DelegatingUnitOfWork
from worlds import START, by_card, card, usd


def _back_office(counted: CountingStore) -> BackOffice:
    clock = ManualClock(START)
    return BackOffice(store=counted, processor=SimulatedProcessor(clock=clock),
                      journal=counted.journal, clock=clock)  # fmt: skip


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_an_invoice_of_one_capture_takes_three_units_of_work_and_two_commits(
    kind: str, tmp_path: Path
) -> None:
    """One read, the intent's commit, the outcome's commit (order, voucher and journal row)."""
    inner = (
        InMemoryStore(keeps_journal=True)
        if kind == "memory"
        else SqliteStore(tmp_path / "units.db", keeps_journal=True)
    )
    counted = CountingStore(inner)
    bo = _back_office(counted)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("10.00"), payments=[by_card("10.00")])  # fmt: skip
    counted.reset()
    result = bo.invoice("SO-1", "INV-1", usd("10.00"))
    assert len(result.captures) == 1
    assert (counted.units, counted.commits) == (3, 2)
    assert [v.amount for v in bo.journal("SO-1")] == [usd("10.00")]


def test_an_outside_journal_costs_one_more_commit_to_mark_the_voucher_posted() -> None:
    """With the journal elsewhere, the voucher waits in the outbox until it is posted."""
    counted = CountingStore(InMemoryStore())
    clock = ManualClock(START)
    journal = InMemoryJournal()
    bo = BackOffice(store=counted, processor=SimulatedProcessor(clock=clock), journal=journal,
                    clock=clock)  # fmt: skip
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("10.00"), payments=[by_card("10.00")])  # fmt: skip
    counted.reset()
    bo.invoice("SO-1", "INV-1", usd("10.00"))
    assert (counted.units, counted.commits) == (4, 3)
    assert [v.amount for v in journal.vouchers("SO-1")] == [usd("10.00")]
    with counted.unit_of_work() as uow:
        assert uow.outbox.pending() == ()


class _DoubtsAsked(CountingStore):
    """Counts the queries of one order's calls in doubt (O3), beside the units of work."""

    def __init__(self, inner: InMemoryStore) -> None:
        super().__init__(inner)
        self.doubts_asked = 0

    def unit_of_work(self) -> UnitOfWork:
        store = self

        class Unit(DelegatingUnitOfWork):
            @property
            def operations(self) -> OperationLog:
                log = super().operations
                asked = log.in_doubt

                def in_doubt(order_id: str | None = None) -> tuple[Operation, ...]:
                    store.doubts_asked += 1
                    return asked(order_id)

                return attrs_proxy(log, in_doubt=in_doubt)

        return Unit(super().unit_of_work())


def attrs_proxy(log: OperationLog, **overrides: object) -> OperationLog:
    """``log`` with some of its methods replaced."""

    class Proxy:
        def __getattr__(self, name: str) -> object:
            return overrides[name] if name in overrides else getattr(log, name)

    return cast("OperationLog", Proxy())


def test_an_invoice_asks_once_whether_a_call_of_the_order_is_in_doubt() -> None:
    """O3: the read of an invoice asks whether any call of the order is in doubt; its
    intents' commit does not ask again (every intent and outcome moves the order's version,
    which that commit checks). A submit, whose read does not ask, asks at its intents."""
    counted = _DoubtsAsked(InMemoryStore(keeps_journal=True))
    bo = _back_office(counted)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("10.00"), payments=[by_card("10.00")])  # fmt: skip
    counted.doubts_asked = 0
    assert len(bo.invoice("SO-1", "INV-1", usd("4.00")).captures) == 1
    assert counted.doubts_asked == 1
    agent = Actor.call_center("agent", permissions=frozenset({"alternate_payment"}))
    bo.change_total("SO-1", usd("12.00"), agent)
    draft = bo.begin_completion("SO-1", agent).add_card(card("tok_2", "2222"), usd("2.00"))
    counted.doubts_asked = 0
    assert bo.submit(draft).approved
    assert counted.doubts_asked == 1


class TestCountingStoreContract(OrderStoreContract):
    """The counting wrapper keeps the store contract: it forwards every call."""

    def make_store(self) -> CountingStore:
        return CountingStore(InMemoryStore())

    def test_claims_and_review_open_no_unit_of_work(self, store: OrderStore) -> None:
        """Claims and notifications kept for review are not units of work: not counted."""
        assert isinstance(store, CountingStore)
        store.claim(["a"], "w1", START + timedelta(minutes=1), START)
        store.release(["a"], "w1")
        store.keep_for_review(chargeback("N-1"))
        assert store.kept_for_review() == (chargeback("N-1"),)
        assert (store.units, store.commits) == (0, 0)
