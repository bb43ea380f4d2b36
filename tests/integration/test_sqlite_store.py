"""The SQLite adapters keep the store and journal contracts, and carry whole flows."""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from race_support import race_on_one_version

import ocop
from ocop import (
    Actor,
    BackOffice,
    CardPayment,
    CardToken,
    Channel,
    CompletionPolicy,
    Customer,
    HoldCode,
    IdempotencyConflict,
    Money,
    Order,
    Prepayment,
    Settings,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.adapters.sqlite import SqliteJournal, SqliteStore
from ocop.ports.journal import PaymentJournal
from ocop.testing.contracts import JournalContract, OrderStoreContract


class TestSqliteStoreContract(OrderStoreContract):
    """The shared store contract, on a fresh SQLite file per test."""

    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path

    def make_store(self) -> SqliteStore:
        return SqliteStore(self.folder / "store.db")

    def reopen_store(self) -> SqliteStore:
        return self.make_store()  # the same file


class TestSqliteStoreKeepingTheJournal(TestSqliteStoreContract):
    """The shared store contract on a store that keeps the journal, on a fresh file."""

    def make_store(self) -> SqliteStore:
        return SqliteStore(self.folder / "store.db", keeps_journal=True)


class TestSqliteJournalContract(JournalContract):
    """The shared journal contract, on a fresh SQLite file per test, reopened from it."""

    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.path = tmp_path / "journal.db"

    def make_journal(self) -> PaymentJournal:
        return SqliteJournal(self.path)

    def reopen_journal(self) -> PaymentJournal:
        return self.make_journal()  # the same file


class TestJournalKeptBySqliteStore(TestSqliteJournalContract):
    """The shared journal contract, on the journal a SQLite store keeps in its own file."""

    def make_journal(self) -> PaymentJournal:
        return SqliteStore(self.path, keeps_journal=True).journal


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


def test_hold_records_survive_a_restart(tmp_path: Path) -> None:
    """S4: who placed each hold, when, why (reason code, note, until) and each release's who,
    when and override read back exactly from SQLite; a check hold lapses after the restart."""
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    sim = SimulatedProcessor(clock=clock)
    path = tmp_path / "payments.db"
    policy = CompletionPolicy(check_hold_threshold=usd("10.00"), check_hold_days=2)
    rules = Settings.default().with_policies(completion=policy)
    first = BackOffice.sqlite(path, processor=sim, clock=clock, settings=rules)
    agent = Actor.call_center("cc-1")
    boss = Actor.call_center("boss-1", permissions=frozenset({"hold_override"}))
    first.place_order("SO-1", channel=Channel.CALL_CENTER, customer=Customer.named("C-1"),
                      total=usd("100.00"))  # fmt: skip
    draft = first.begin_completion("SO-1", agent).add_card(CARD, usd("50.00"))
    first.submit(draft.add_prepayment("check", usd("40.00"), check_number="1001"))
    clock.advance(hours=1)
    first.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, boss)
    written = first.place_hold("SO-1", HoldCode.MANUAL, agent, reason="FRAUD", note="café ☕ 5")
    assert {h.code for h in written.holds} == {HoldCode.CHECK, HoldCode.MANUAL}
    assert written.released_holds[0].override is True

    again = BackOffice.sqlite(path, processor=sim, clock=clock, settings=rules)
    assert again.order("SO-1") == written
    clock.advance(days=2)
    lapsed = again.order("SO-1")
    assert [h.code for h in lapsed.holds] == [HoldCode.MANUAL]
    assert [(r.code, r.released_by) for r in lapsed.released_holds] == [
        (HoldCode.OUT_OF_BALANCE, "boss-1"), (HoldCode.CHECK, "system"),
    ]  # fmt: skip
    with again.ports.store.unit_of_work() as uow:  # the row changes at the next write only
        assert uow.orders.get("SO-1").has_hold(HoldCode.CHECK)
    stored = again.release_hold("SO-1", HoldCode.MANUAL, agent)
    assert stored.holds == ()
    assert [r.code for r in stored.released_holds] == [
        HoldCode.OUT_OF_BALANCE, HoldCode.CHECK, HoldCode.MANUAL,
    ]  # fmt: skip
    third = BackOffice.sqlite(path, processor=sim, clock=clock, settings=rules)
    with third.ports.store.unit_of_work() as uow:
        assert uow.orders.get("SO-1") == stored


def test_a_hold_row_written_before_s4_loads_placed_by_the_system_and_still_lapses(
    tmp_path: Path,
) -> None:
    """S4: a stored hold without placed_by, reason_code or note, on an order without
    released_holds (the shape earlier versions wrote), reads with the defaults; its check
    hold lapses at its until, and a release is recorded on top of it."""
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    sim = SimulatedProcessor(clock=clock)
    path = tmp_path / "payments.db"
    policy = CompletionPolicy(check_hold_threshold=usd("10.00"), check_hold_days=2)
    rules = Settings.default().with_policies(completion=policy)
    bo = BackOffice.sqlite(path, processor=sim, clock=clock, settings=rules)
    check_paid = [Prepayment("check", amount=usd("90.00"))]
    bo.place_order("SO-1", channel=Channel.POS, customer=Customer.named("C-1"),
                   total=usd("90.00"), payments=check_paid)  # fmt: skip
    with closing(sqlite3.connect(path)) as db, db:
        (body,) = db.execute("SELECT body FROM ocop_orders WHERE order_id = 'SO-1'").fetchone()
        old = json.loads(body)
        del old["released_holds"]
        for hold in old["holds"]:
            for field in ("placed_by", "reason_code", "note"):
                del hold[field]
        db.execute("UPDATE ocop_orders SET body = ? WHERE order_id = 'SO-1'", [json.dumps(old)])

    again = BackOffice.sqlite(path, processor=sim, clock=clock, settings=rules)
    loaded = again.order("SO-1")
    check = loaded.hold(HoldCode.CHECK)
    assert check is not None
    assert (check.placed_by, check.reason_code, check.note) == ("system", None, "")
    assert loaded.released_holds == ()
    clock.advance(days=2)
    assert again.order("SO-1").approved
    placed = again.place_hold("SO-1", HoldCode.MANUAL, Actor.call_center("cc-1"), reason="OTHER")
    assert [h.code for h in placed.holds] == [HoldCode.MANUAL]
    assert [(r.code, r.released_by) for r in placed.released_holds] == [(HoldCode.CHECK, "system")]


def test_a_new_file_numbers_its_rows_without_autoincrement(tmp_path: Path) -> None:
    """A new file's tables number their rows without ``AUTOINCREMENT``: no commit writes
    the ``sqlite_sequence`` page (the file has none), and orders and vouchers are listed in
    the order they were written, as before."""
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    path = tmp_path / "payments.db"
    bo = BackOffice.sqlite(path, processor=SimulatedProcessor(clock=clock), clock=clock)
    for n in (3, 1, 2):
        bo.place_order(f"SO-{n}", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                       total=usd("10.00"), payments=[CardPayment(CARD, usd("10.00"))])  # fmt: skip
    for invoice in ("INV-B", "INV-A"):
        bo.invoice("SO-1", invoice, usd("5.00"))
    assert bo.orders() == ("SO-3", "SO-1", "SO-2")
    assert [v.reference for v in bo.journal("SO-1")] == ["INV-B", "INV-A"]
    with closing(sqlite3.connect(path)) as reader:
        tables = reader.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
        autoincrement = [name for name, sql in tables if "AUTOINCREMENT" in sql.upper()]
        assert autoincrement == []
        assert (
            reader.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchall()
            == []
        )


#: A statement that removes rows of a table whose ``seq`` keeps the writing order, or
#: rewrites ``seq``.
_RENUMBERING = re.compile(
    r"DELETE\s+FROM\s+ocop_(orders|operations|outbox|journal|review)\b"
    r"|REPLACE\s+INTO\s+ocop_|INSERT\s+OR\s+REPLACE|\bSET\s+seq\b",
    re.IGNORECASE,
)


def test_no_statement_removes_a_numbered_row() -> None:
    """Without ``AUTOINCREMENT``, SQLite numbers a new row one past the largest: ``seq``
    keeps the writing order only while no row is ever deleted (or renumbered). No source
    of ocop holds such a statement."""
    sources = Path(ocop.__file__).parent
    found = [
        f"{path.relative_to(sources)}: {match.group(0)}"
        for path in sorted(sources.rglob("*.py"))
        for match in _RENUMBERING.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []
