"""The SQLite adapters keep the store and journal contracts, and carry whole flows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from race_support import race_on_one_version

from ocop import (
    BackOffice,
    CardPayment,
    CardToken,
    Channel,
    Customer,
    IdempotencyConflict,
    Money,
    Order,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.adapters.sqlite import SqliteJournal, SqliteStore
from ocop.testing.contracts import OrderStoreContract


class TestSqliteStoreContract(OrderStoreContract):
    """The shared store contract, on a fresh SQLite file per test."""

    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path

    def make_store(self) -> SqliteStore:
        return SqliteStore(self.folder / "store.db")


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


CARD = CardToken(value="tok_1", connector="sim", service_account="sa-1",
                 brand="visa", last4="1111", expiry="2030-12")  # fmt: skip


def test_a_flow_survives_a_restart(tmp_path: Path) -> None:
    """Orders, operations and vouchers written by one BackOffice are read by a new one."""
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    sim = SimulatedProcessor(clock=clock)
    path = tmp_path / "payments.db"
    first = BackOffice.sqlite(path, processor=sim, clock=clock)
    first.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                      total=usd("100.00"), payments=[CardPayment(CARD, usd("100.00"))])  # fmt: skip
    first.invoice("SO-1", "INV-1", usd("60.00"))
    sim.script("capture", "timeout_after_success")
    assert first.invoice("SO-1", "INV-2", usd("40.00")).in_doubt

    again = BackOffice.sqlite(path, processor=sim, clock=clock)
    report = again.recover()
    assert len(report.resolved) == 1
    order: Order = again.order("SO-1")
    assert order.captured == usd("100.00")
    assert [v.reference for v in again.journal("SO-1")] == ["INV-1", "INV-2"]
    assert again.invoice("SO-1", "INV-2", usd("40.00")).captures[0].amount == usd("40.00")
    assert [e.kind for e in sim.ledger()] == ["authorize", "capture", "capture"]


def test_the_journal_stores_a_voucher_once(tmp_path: Path) -> None:
    """J3: posting the same voucher twice stores it once; another under its id conflicts."""
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    bo = BackOffice.in_memory(clock=clock, processor=SimulatedProcessor(clock=clock))
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                   total=usd("10.00"), payments=[CardPayment(CARD, usd("10.00"))])  # fmt: skip
    bo.invoice("SO-1", "INV-1", usd("10.00"))
    voucher = bo.journal("SO-1")[-1]
    journal = SqliteJournal(tmp_path / "journal.db")
    journal.post(voucher)
    journal.post(voucher)
    assert journal.vouchers() == (voucher,)
    other = voucher.__class__.receipt(
        voucher_id=voucher.voucher_id, journal_name="X", order_id="SO-1", reference="INV-9",
        method="card", amount=usd("1.00"), at=voucher.posted_at,
    )  # fmt: skip
    with pytest.raises(IdempotencyConflict):
        journal.post(other)


def test_racing_processes_on_one_file_update_an_order_once(tmp_path: Path) -> None:
    """O5: eight connections updating one order version: one wins, the rest ConcurrentUpdate."""
    path = tmp_path / "race.db"
    race_on_one_version(
        lambda sim, clock: BackOffice.sqlite(path, processor=sim, clock=clock),
        lambda: SqliteStore(path),
    )
