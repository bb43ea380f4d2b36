"""The PostgreSQL adapters keep the store and journal contracts, and carry whole flows."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
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
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.postgres import PostgresJournal, PostgresStore
from ocop.adapters.simulated import SimulatedProcessor
from ocop.ports.journal import PaymentJournal
from ocop.testing.contracts import JournalContract, OrderStoreContract
from pg_support import private_schema, with_parameter

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

    def reopen_store(self) -> PostgresStore:
        return self.make_store()  # the same schema


class TestPostgresStoreKeepingTheJournal(TestPostgresStoreContract):
    """The shared store contract on a store that keeps the journal, in a fresh schema."""

    def make_store(self) -> PostgresStore:
        return PostgresStore(self.conninfo, keeps_journal=True)


class TestPostgresJournalContract(JournalContract):
    """The shared journal contract, in a fresh schema per test, reopened on it."""

    @pytest.fixture(autouse=True)
    def _schema(self, conninfo: str) -> None:
        self.conninfo = conninfo

    def make_journal(self) -> PaymentJournal:
        return PostgresJournal(self.conninfo)

    def reopen_journal(self) -> PaymentJournal:
        return self.make_journal()  # the same schema


class TestJournalKeptByPostgresStore(TestPostgresJournalContract):
    """The shared journal contract, on the journal a PostgreSQL store keeps in its schema."""

    def make_journal(self) -> PaymentJournal:
        return PostgresStore(self.conninfo, keeps_journal=True).journal


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


def test_a_claim_never_waits_for_a_claim_under_way(conninfo: str) -> None:
    """While another transaction is claiming a name (its lock taken, its row written, not
    committed), a claim passes that name by at once and claims the rest; once that claim
    is committed, the name is still not free."""
    store = PostgresStore(conninfo)
    lock = store._dialect.try_lock_name
    assert lock is not None
    until = datetime(2031, 1, 1, tzinfo=UTC)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    with psycopg.connect(conninfo, autocommit=True) as rival:
        with rival.transaction():
            taken = rival.execute(lock.replace("?", "%s"), ["renew:SO-1"]).fetchone()
            assert taken == (True,)
            rival.execute(
                "INSERT INTO ocop_claims (name, holder, until) VALUES (%s, %s, %s)",
                ["renew:SO-1", "rival", 2**62],
            )
            got: list[tuple[str, ...]] = []

            def claims() -> None:
                got.append(store.claim(["renew:SO-1", "renew:SO-2"], "w1", until, now))
                got.append(store.claim(["renew:SO-1"], "w3", until, now))

            worker = threading.Thread(target=claims)
            worker.start()
            worker.join(timeout=10)
            assert not worker.is_alive(), "the claim waited for the rival's transaction"
            assert got == [("renew:SO-2",), ()]
            store.release(["renew:SO-2"], "w1")  # not a name the rival is claiming: no wait
        assert store.claim(["renew:SO-1", "renew:SO-2"], "w2", until, now) == ("renew:SO-2",)
    store.close()


def test_concurrent_claimers_never_share_a_name(conninfo: str) -> None:
    """Workers claiming the same names at once, each through its own store and connection,
    end with every name claimed by exactly one of them."""
    names = [f"renew:SO-{n}" for n in range(40)]
    workers = 8
    stores = [PostgresStore(conninfo) for _ in range(workers)]
    until = datetime(2031, 1, 1, tzinfo=UTC)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    start = threading.Barrier(workers)
    got: dict[int, tuple[str, ...]] = {}

    def work(n: int) -> None:
        start.wait()
        mine = names[5 * n :] + names[: 5 * n]  # each from another name, all of them
        if n % 2:
            mine.reverse()
        got[n] = stores[n].claim(mine, f"w{n}", until, now)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(not thread.is_alive() for thread in threads)
    claimed = [name for found in got.values() for name in found]
    assert sorted(claimed) == sorted(names)  # each name once, none lost
    for store in stores:
        store.close()


def test_pages_never_miss_an_order_committed_after_a_later_numbered_one(conninfo: str) -> None:
    """Queries: an order placed after a page was read is in a later page. SO-A takes its
    place in line first and is slow to commit (another session holds its id, uncommitted);
    SO-B, placed meanwhile, waits for it: SO-B never commits with a later number first, so
    paging after the first page finds both."""
    name = f"ocop_paging_{uuid.uuid4().hex[:8]}"
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    bo = back_office(with_parameter(conninfo, "application_name", name),
                     SimulatedProcessor(clock=clock), clock)  # fmt: skip
    failures: list[BaseException] = []

    def place(order_id: str) -> None:
        paid = [CardPayment(CARD, usd("10.00"))]
        try:
            bo.place_order(order_id, channel=Channel.ECOMMERCE, customer=Customer.guest(),
                           total=usd("10.00"), payments=paid)  # fmt: skip
        except BaseException as failure:  # noqa: BLE001 - raised again by the test below
            failures.append(failure)

    place("SO-0")
    with psycopg.connect(conninfo) as other:  # holds SO-A's id, uncommitted
        other.execute("INSERT INTO ocop_orders (order_id, version, body) VALUES ('SO-A', 1, '{}')")
        slow = threading.Thread(target=place, args=("SO-A",))
        slow.start()
        _wait_for_lock_waits(conninfo, name, 1)
        later = threading.Thread(target=place, args=("SO-B",))
        later.start()
        _wait_for_lock_waits(conninfo, name, 2)
        first_page = bo.orders(limit=10)
        other.rollback()
    for thread in (slow, later):
        thread.join(30)
        assert not thread.is_alive()
    assert failures == []
    assert first_page == ("SO-0",)
    assert bo.orders(after=first_page[-1], limit=10) == ("SO-A", "SO-B")


def _wait_for_lock_waits(conninfo: str, name: str, waiting: int) -> None:
    """Until ``waiting`` sessions named ``name`` wait for a lock (at most 30 s)."""
    with psycopg.connect(conninfo, autocommit=True) as watcher:
        for _ in range(3000):
            row = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND application_name = %s",
                [name],
            ).fetchone()
            if row is not None and row[0] >= waiting:
                return
            threading.Event().wait(0.01)
    raise AssertionError(f"{waiting} session(s) should wait for a lock by now")
