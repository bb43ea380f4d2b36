"""What one capture costs the store: units of work and commits, counted (structure, not time)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from ocop import BackOffice, Channel, Customer
from ocop.adapters.memory import InMemoryJournal, InMemoryStore, ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.adapters.sqlite import SqliteStore
from ocop.ports.store import OrderStore
from ocop.testing._review_contract import chargeback
from ocop.testing.contracts import OrderStoreContract
from ocop.testing.counting import CountingStore
from worlds import START, by_card, usd


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
