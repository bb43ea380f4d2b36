"""The PostgreSQL adapters keep the store and journal contracts, and carry whole flows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pg_support import private_schema
from race_support import race_on_one_version

from ocop import (
    BackOffice,
    CardPayment,
    CardToken,
    Channel,
    Customer,
    IdempotencyConflict,
    Money,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.postgres import PostgresJournal, PostgresStore
from ocop.adapters.simulated import SimulatedProcessor
from ocop.testing.contracts import OrderStoreContract

pytestmark = pytest.mark.postgres


@pytest.fixture
def conninfo() -> Iterator[str]:
    with private_schema() as info:
        yield info


class TestPostgresStoreContract(OrderStoreContract):
    """The shared store contract, in a fresh schema per test."""

    @pytest.fixture(autouse=True)
    def _schema(self, conninfo: str) -> None:
        self.conninfo = conninfo

    def make_store(self) -> PostgresStore:
        return PostgresStore(self.conninfo)


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


CARD = CardToken(value="tok_1", connector="sim", service_account="sa-1",
                 brand="visa", last4="1111", expiry="2030-12")  # fmt: skip


def back_office(conninfo: str, sim: SimulatedProcessor, clock: ManualClock) -> BackOffice:
    return BackOffice(store=PostgresStore(conninfo), processor=sim,
                      journal=PostgresJournal(conninfo), clock=clock)  # fmt: skip


def test_a_flow_is_shared_by_two_back_offices(conninfo: str) -> None:
    """Two back offices on one database: what one leaves in doubt, the other recovers once."""
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    sim = SimulatedProcessor(clock=clock)
    first = back_office(conninfo, sim, clock)
    first.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                      total=usd("100.00"), payments=[CardPayment(CARD, usd("100.00"))])  # fmt: skip
    first.invoice("SO-1", "INV-1", usd("60.00"))
    sim.script("capture", "timeout_after_success")
    assert first.invoice("SO-1", "INV-2", usd("40.00")).in_doubt
    second = back_office(conninfo, sim, clock)
    assert len(second.recover().resolved) == 1
    assert second.order("SO-1").captured == usd("100.00")
    assert [v.reference for v in second.journal("SO-1")] == ["INV-1", "INV-2"]
    second.invoice("SO-1", "INV-2", usd("40.00"))
    assert [e.kind for e in sim.ledger()] == ["authorize", "capture", "capture"]


def test_the_journal_stores_a_voucher_once(conninfo: str) -> None:
    """J3: posting the same voucher twice stores it once; another under its id conflicts."""
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    bo = back_office(conninfo, SimulatedProcessor(clock=clock), clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                   total=usd("10.00"), payments=[CardPayment(CARD, usd("10.00"))])  # fmt: skip
    bo.invoice("SO-1", "INV-1", usd("10.00"))
    (voucher,) = bo.journal("SO-1")
    journal = PostgresJournal(conninfo)
    journal.post(voucher)
    assert journal.vouchers("SO-1") == (voucher,)
    other = voucher.receipt(
        voucher_id=voucher.voucher_id, journal_name="X", order_id="SO-1", reference="INV-9",
        method="card", amount=usd("1.00"), at=voucher.posted_at,
    )  # fmt: skip
    with pytest.raises(IdempotencyConflict):
        journal.post(other)


def test_racing_workers_update_an_order_once(conninfo: str) -> None:
    """O5: eight connections updating one order version: one wins, the rest ConcurrentUpdate."""
    race_on_one_version(
        lambda sim, clock: back_office(conninfo, sim, clock), lambda: PostgresStore(conninfo)
    )
