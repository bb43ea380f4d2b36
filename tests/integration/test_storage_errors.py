"""E3: storage failures surface as StorageError subclasses, and nothing is half-committed.

A database that cannot be opened or reached raises ``StorageUnavailable``, one that
stays locked or aborts a transaction in a contention ``StorageBusy``, a value it cannot
hold ``StorageLimitExceeded``; the driver's error is chained, its message never
repeats the value. After each failure the stored order is as it was, and the store
goes on working. Then PostgreSQL's own schema (``schema=``, ``BackOffice.postgres``),
and the ``postgres`` extra missing.
"""

from __future__ import annotations

import contextlib
import inspect
import random
import socket
import sqlite3
import string
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import attrs
import psycopg
import pytest

from ocop import (
    Actor,
    BackOffice,
    CardPayment,
    Channel,
    Customer,
    InvalidInput,
    Money,
    StorageBusy,
    StorageError,
    StorageLimitExceeded,
    StorageUnavailable,
)
from ocop.adapters._codec import dumps
from ocop.adapters._sql import SCHEMA_VERSION, SqlJournal, SqlStore
from ocop.adapters.memory import ManualClock
from ocop.adapters.postgres import _SCHEMA_LOCK, PostgresJournal, PostgresStore
from ocop.adapters.simulated import SimulatedProcessor
from ocop.adapters.sqlite import SqliteJournal, SqliteStore
from ocop.ports.processor import ProcessorCapabilities, RecoveryMethod
from ocop.ports.store import OrderStore
from ocop.testing.contracts import START, OrderStoreContract
from pg_support import private_schema, server, with_parameter
from worlds import card

KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
#: A marker a value carries so that a test can tell whether a message repeats it.
MARKER = "MARKERVALUE"


class _Samples(OrderStoreContract):
    """The store contract's sample orders and vouchers (not collected)."""

    def make_store(self) -> OrderStore:
        raise NotImplementedError


SAMPLE = _Samples()


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


@pytest.fixture(params=KINDS)
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where a store lives: a SQLite file path, or a PostgreSQL connection string."""
    if request.param == "sqlite":
        yield str(tmp_path / "ocop.db")
    else:
        with private_schema() as info:
            yield info


def open_store(place: str) -> SqlStore:
    return PostgresStore(place) if place.startswith("postgresql:") else SqliteStore(place)


def open_journal(place: str) -> SqlJournal:
    return PostgresJournal(place) if place.startswith("postgresql:") else SqliteJournal(place)


def stored_order(store: SqlStore) -> tuple[Money, int]:
    """SO-1 committed, and its total and version as stored."""
    with store.unit_of_work() as uow:
        uow.orders.add(SAMPLE.order())
        uow.commit()
    return current(store)


def current(store: SqlStore) -> tuple[Money, int]:
    """SO-1's total and version as stored now."""
    with store.unit_of_work() as uow:
        order = uow.orders.get("SO-1")
    return order.total, order.version


def commit_with_voucher(store: SqlStore, voucher_id: str) -> None:
    """One unit of work: SO-1's total changed, then a voucher with ``voucher_id`` staged.

    The order is written first, so a failure of the voucher's insert must roll it back.
    """
    with store.unit_of_work() as uow:
        uow.orders.update(uow.orders.get("SO-1").with_total(usd("110.00")))
        uow.outbox.add(SAMPLE.voucher(voucher_id))
        uow.commit()


def assert_nothing_stored(store: SqlStore, before: tuple[Money, int]) -> None:
    """SO-1 is as it was and no voucher waits; the store still commits a change."""
    assert current(store) == before
    with store.unit_of_work() as uow:
        assert uow.outbox.pending() == ()
    commit_with_voucher(store, "V-1")
    assert current(store) == (usd("110.00"), before[1] + 1)


def free_port() -> int:
    """A port on this machine nothing listens on (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def closed_port_dsn(port: int | None = None) -> str:
    """A connection string naming a port on this machine nothing listens on."""
    port = free_port() if port is None else port
    return f"postgresql://postgres@127.0.0.1:{port}/test?connect_timeout=5"


# -- values the database cannot hold --------------------------------------------------------


def test_a_value_that_cannot_be_encoded_fails_the_commit_and_stores_nothing(place: str) -> None:
    """E3: a voucher id with a lone surrogate raises StorageLimitExceeded at commit, naming no
    value; the order change of the same unit of work is rolled back."""
    store = open_store(place)
    before = stored_order(store)
    with pytest.raises(StorageLimitExceeded) as refused:
        commit_with_voucher(store, f"V-{MARKER}\ud800")
    assert MARKER not in str(refused.value)
    assert isinstance(refused.value.__cause__, UnicodeEncodeError)
    assert_nothing_stored(store, before)


def test_reading_an_id_that_cannot_be_encoded_raises_storage_limit_exceeded(place: str) -> None:
    """E3: looking up an order id with a lone surrogate raises StorageLimitExceeded, and the
    unit of work goes on reading."""
    store = open_store(place)
    stored_order(store)
    with store.unit_of_work() as uow:
        with pytest.raises(StorageLimitExceeded):
            uow.orders.find(f"SO-{MARKER}\ud800")
        assert uow.orders.get("SO-1").version == 1


def test_a_journal_refusing_a_value_stores_no_voucher(place: str) -> None:
    """E3: posting a voucher whose id cannot be encoded raises StorageLimitExceeded; the
    journal holds what it held."""
    journal = open_journal(place)
    journal.post(SAMPLE.voucher("V-1"))
    with pytest.raises(StorageLimitExceeded):
        journal.post(SAMPLE.voucher(f"V-{MARKER}\ud800"))
    assert [v.voucher_id for v in journal.vouchers()] == ["V-1"]


def test_sqlite_a_value_over_its_length_limit_fails_the_commit_and_stores_nothing(
    tmp_path: Path,
) -> None:
    """E3: a voucher id longer than SQLite's length limit raises StorageLimitExceeded (naming
    SQLITE_TOOBIG, not the value); the order change of the unit of work is rolled back."""
    store = SqliteStore(tmp_path / "ocop.db")
    before = stored_order(store)
    limit = len(dumps(SAMPLE.order())) + 1000
    pooled = store._pool.take()  # the store's one idle connection, limited, then given back
    cursor = pooled.cursor()
    raw: sqlite3.Connection = cursor.connection
    raw.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, limit)
    cursor.close()
    pooled.close()
    with pytest.raises(StorageLimitExceeded, match="SQLITE_TOOBIG") as refused:
        commit_with_voucher(store, MARKER + "x" * limit)
    assert MARKER not in str(refused.value)
    assert isinstance(refused.value.__cause__, sqlite3.DataError)
    assert_nothing_stored(store, before)


@pytest.mark.postgres
def test_postgres_a_nul_character_fails_the_commit_and_stores_nothing() -> None:
    """E3: a voucher id with a NUL character (psycopg's DataError) raises
    StorageLimitExceeded saying so; the order change of the unit of work is rolled back."""
    with private_schema() as info:
        store = PostgresStore(info)
        before = stored_order(store)
        with pytest.raises(StorageLimitExceeded, match="NUL") as refused:
            commit_with_voucher(store, f"V-{MARKER}\x00")
        assert MARKER not in str(refused.value)
        assert isinstance(refused.value.__cause__, psycopg.DataError)
        assert_nothing_stored(store, before)
        journal = PostgresJournal(info)
        with pytest.raises(StorageLimitExceeded, match="NUL"):
            journal.post(SAMPLE.voucher("V-\x00"))
        assert journal.vouchers() == ()


@pytest.mark.postgres
def test_postgres_an_id_too_long_to_index_fails_the_commit_and_stores_nothing() -> None:
    """E3: a voucher id beyond what a PostgreSQL index holds (ProgramLimitExceeded) raises
    StorageLimitExceeded naming the SQLSTATE, not the value; nothing of the unit is stored."""
    letters = "".join(random.Random(7).choices(string.ascii_letters, k=10_000))
    with private_schema() as info:
        store = PostgresStore(info)
        before = stored_order(store)
        with pytest.raises(StorageLimitExceeded, match="54000") as refused:
            commit_with_voucher(store, MARKER + letters)
        assert MARKER not in str(refused.value)
        assert isinstance(refused.value.__cause__, psycopg.errors.ProgramLimitExceeded)
        assert_nothing_stored(store, before)


# -- a busy database ------------------------------------------------------------------------


@contextlib.contextmanager
def sqlite_writer_holding(path: Path) -> Iterator[None]:
    """Another connection holding the file's write lock (BEGIN IMMEDIATE) until the end."""
    rival = sqlite3.connect(path, isolation_level=None)
    try:
        rival.execute("BEGIN IMMEDIATE")
        yield
        rival.execute("ROLLBACK")
    finally:
        rival.close()


def test_sqlite_an_update_finding_the_file_locked_raises_storage_busy(tmp_path: Path) -> None:
    """E3: a commit that waits for another writer's lock past the timeout raises StorageBusy
    (no fake order id); the order is unchanged and the store commits once the lock is gone."""
    path = tmp_path / "ocop.db"
    store = SqliteStore(path, timeout=0.01)
    before = stored_order(store)
    with sqlite_writer_holding(path), pytest.raises(StorageBusy) as busy:
        commit_with_voucher(store, "V-1")
    assert not hasattr(busy.value, "order_id")
    assert_nothing_stored(store, before)


def test_sqlite_a_journal_finding_the_file_locked_raises_storage_busy(tmp_path: Path) -> None:
    """E3: posting to a journal whose file another writer holds raises StorageBusy and posts
    nothing; the same post succeeds once the lock is gone."""
    path = tmp_path / "ocop.db"
    journal = SqliteJournal(path, timeout=0.01)
    with sqlite_writer_holding(path), pytest.raises(StorageBusy):
        journal.post(SAMPLE.voucher("V-1"))
    assert journal.vouchers() == ()
    journal.post(SAMPLE.voucher("V-1"))
    assert [v.voucher_id for v in journal.vouchers()] == ["V-1"]


# -- a database that cannot be opened or reached --------------------------------------------


def _sqlite_office(path: Path) -> BackOffice:
    return BackOffice.sqlite(path, processor=SimulatedProcessor(clock=ManualClock(START)))


def _postgres_office(dsn: str, **options: Any) -> BackOffice:
    processor = SimulatedProcessor(clock=ManualClock(START))
    return BackOffice.postgres(dsn, processor=processor, **options)


def test_sqlite_a_file_that_cannot_be_opened_raises_storage_unavailable(tmp_path: Path) -> None:
    """E3: a path in a missing folder, or a folder, raises StorageUnavailable for the store,
    the journal and BackOffice.sqlite, sqlite3's error chained."""
    openings: tuple[Callable[[Path], object], ...] = (SqliteStore, SqliteJournal, _sqlite_office)
    for path in (tmp_path / "missing" / "ocop.db", tmp_path):
        for opening in openings:
            with pytest.raises(StorageUnavailable, match="SQLITE_CANTOPEN") as refused:
                opening(path)
            assert isinstance(refused.value.__cause__, sqlite3.OperationalError)


def test_sqlite_a_file_that_is_not_a_database_raises_storage_error(tmp_path: Path) -> None:
    """E3: a file that is not a SQLite database raises StorageError (none of its kinds), and
    the file is left as it was."""
    path = tmp_path / "notes.db"
    path.write_text("not a database\n" * 100, encoding="utf-8")
    with pytest.raises(StorageError, match="not a database") as refused:
        SqliteStore(path)
    assert type(refused.value) is StorageError
    assert path.read_text(encoding="utf-8") == "not a database\n" * 100


class _ReplayingSimulator(SimulatedProcessor):
    """The simulator, asked about a call in doubt by the same request again (N3), as the
    Adyen connector is: asking reads the order's row."""

    @property
    def capabilities(self) -> ProcessorCapabilities:
        return attrs.evolve(super().capabilities, recovery=RecoveryMethod.REPLAY)


@pytest.mark.parametrize("replay", [False, True], ids=["lookup", "replay"])
@pytest.mark.parametrize(
    "damage", ["{", "{}", "[1, 2]", '{"order_id": 7}', "amount:5O.00", "amount:NaN", "amount:-Inf"]
)
def test_a_damaged_row_raises_storage_error_and_recovery_goes_on(
    tmp_path: Path, damage: str, replay: bool
) -> None:
    """E3, O2: an order row damaged outside ocop reads as a StorageError that shows nothing
    of the row (not a JSON or key error); recovery lists that order's call unapplied (a
    person must look: it never clears by itself) and resolves the others. With a
    processor asked by replay, the row is read to ask (the call was listed still in
    doubt, run after run)."""
    clock = ManualClock(START)
    sim = (_ReplayingSimulator if replay else SimulatedProcessor)(clock=clock)
    path = tmp_path / "ocop.db"
    bo = BackOffice.sqlite(path, processor=sim, clock=clock)
    for order_id in ("SO-1", "SO-2"):
        bo.place_order(order_id, channel=Channel.ECOMMERCE, customer=Customer.guest(),
                       total=Money.of("50.00", "USD"),
                       payments=[CardPayment(card(), Money.of("50.00", "USD"))])  # fmt: skip
        sim.script("capture", "timeout_after_success")
        bo.invoice(order_id, "INV-1", Money.of("50.00", "USD"))
    with contextlib.closing(sqlite3.connect(path)) as raw, raw:
        if damage.startswith("amount:"):  # an amount that is no number, or not a finite one
            (body,) = raw.execute("SELECT body FROM ocop_orders WHERE order_id = 'SO-1'").fetchone()
            damage = body.replace('"50.00"', f'"{damage.removeprefix("amount:")}"', 1)
        raw.execute("UPDATE ocop_orders SET body = ? WHERE order_id = 'SO-1'", (damage,))
    with pytest.raises(StorageError, match="row is damaged") as refused:
        bo.order("SO-1")
    assert refused.value.__cause__ is None
    report = bo.recover()
    assert [k.split("/")[0] for k in report.resolved] == ["SO-2"]
    assert [k.split("/")[0] for k in report.unapplied] == ["SO-1"]
    assert bo.order("SO-2").received == Money.of("50.00", "USD")


@pytest.mark.parametrize("amount", ["x", "NaN", "Infinity"])
def test_a_journal_row_with_a_damaged_amount_raises_storage_error(
    tmp_path: Path, amount: str
) -> None:
    """E3: a voucher whose amount was damaged outside ocop reads as a StorageError."""
    clock = ManualClock(START)
    path = tmp_path / "ocop.db"
    bo = BackOffice.sqlite(path, processor=SimulatedProcessor(clock=clock), clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=Money.of("50.00", "USD"),
                   payments=[CardPayment(card(), Money.of("50.00", "USD"))])  # fmt: skip
    bo.invoice("SO-1", "INV-1", Money.of("50.00", "USD"))
    with contextlib.closing(sqlite3.connect(path)) as raw, raw:
        raw.execute("UPDATE ocop_journal SET body = replace(body, '\"50.00\"', ?)",
                    (f'"{amount}"',))  # fmt: skip
    with pytest.raises(StorageError, match="row is damaged"):
        bo.journal("SO-1")


def test_sqlite_a_schema_table_that_is_not_ocops_raises_storage_error(tmp_path: Path) -> None:
    """E3: a file whose ocop_schema table cannot say its version raises StorageError at
    opening, and no DDL runs: none of ocop's tables is created."""
    path = tmp_path / "foreign.db"
    with contextlib.closing(sqlite3.connect(path)) as foreign, foreign:
        foreign.execute("CREATE TABLE ocop_schema (name TEXT)")
    with pytest.raises(StorageError):
        SqliteStore(path)
    with contextlib.closing(sqlite3.connect(path)) as check:
        tables = check.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert tables == [("ocop_schema",)]


@pytest.mark.postgres
def test_postgres_a_server_that_is_not_there_raises_storage_unavailable() -> None:
    """E3: a connection string naming a closed port raises StorageUnavailable for the store,
    the journal and BackOffice.postgres, psycopg's error chained."""
    port = free_port()
    openings: tuple[Callable[[str], object], ...] = (
        PostgresStore, PostgresJournal, _postgres_office
    )  # fmt: skip
    for opening in openings:
        with pytest.raises(StorageUnavailable) as refused:
            opening(closed_port_dsn(port))
        assert isinstance(refused.value.__cause__, psycopg.OperationalError)
        assert str(port) not in str(refused.value)


@pytest.mark.postgres
def test_postgres_a_missing_database_raises_storage_unavailable() -> None:
    """E3: a connection string naming a database the server does not have raises
    StorageUnavailable."""
    base = server()
    dsn = base.rsplit("/", 1)[0] + f"/ocop_no_such_db_{uuid.uuid4().hex[:8]}"
    with pytest.raises(StorageUnavailable):
        PostgresStore(dsn)


def _end_sessions(name: str) -> int:
    """End every session of the server named ``name``, each waited for (up to 5 s): how
    many there were."""
    with psycopg.connect(server(), autocommit=True) as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
            "WHERE application_name = %s",
            [name],
        ).fetchone()
    assert ended is not None
    return int(ended[0])


@pytest.mark.postgres
def test_postgres_a_connection_lost_before_the_commit_stores_nothing() -> None:
    """E3: a unit of work whose connection the server ends before its commit raises
    StorageUnavailable; the order is unchanged and the next unit of work reconnects."""
    name = f"ocop_victim_{uuid.uuid4().hex[:8]}"
    with private_schema() as info:
        store = PostgresStore(with_parameter(info, "application_name", name))
        before = stored_order(store)
        with store.unit_of_work() as uow:
            order = uow.orders.get("SO-1")
            assert _end_sessions(name) == 1
            uow.orders.update(order.with_total(usd("110.00")))
            uow.outbox.add(SAMPLE.voucher("V-9"))
            with pytest.raises(StorageUnavailable) as lost:
                uow.commit()
        assert isinstance(lost.value.__cause__, psycopg.OperationalError)
        assert_nothing_stored(store, before)


@pytest.mark.postgres
def test_postgres_kept_connections_the_server_closed_are_replaced_not_failed() -> None:
    """O1, E3: after the server closed every connection the pool kept (a restart, an idle
    timeout), the next calls open others: a capture the processor made is recorded at
    once, not left in doubt while the database is up."""
    name = f"ocop_kept_{uuid.uuid4().hex[:8]}"
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    with private_schema() as info:
        store = PostgresStore(with_parameter(info, "application_name", name), keeps_journal=True)
        bo = BackOffice(store=store, journal=store.journal, processor=sim, clock=clock)
        for order_id in ("SO-1", "SO-2"):
            bo.place_order(order_id, channel=Channel.ECOMMERCE, customer=Customer.guest(),
                           total=usd("50.00"),
                           payments=[CardPayment(card(), usd("50.00"))])  # fmt: skip
        bo.invoice("SO-1", "INV-1", usd("50.00"))
        assert _end_sessions(name) >= 1
        result = bo.invoice("SO-2", "INV-1", usd("50.00"))
        assert (result.in_doubt, [c.amount for c in result.captures]) == ((), [usd("50.00")])
        assert bo.order("SO-2").received == usd("50.00")
        assert bo.orders(in_doubt=True) == ()
        store.close()


@pytest.mark.postgres
def test_postgres_a_refused_write_on_a_kept_connection_runs_once() -> None:
    """E3: a write the database refuses (here a serialization failure) on a connection the
    pool kept is StorageBusy at once: the connection is not taken for lost, the write is
    not sent again on another, and the pool keeps its connections."""
    name = f"ocop_refused_{uuid.uuid4().hex[:8]}"
    clock = ManualClock(START)
    with private_schema() as info:
        store = PostgresStore(with_parameter(info, "application_name", name), keeps_journal=True)
        bo = BackOffice(store=store, journal=store.journal, clock=clock,
                        processor=SimulatedProcessor(clock=clock))  # fmt: skip
        paid = [CardPayment(card(), usd("50.00"))]
        bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                       total=usd("50.00"), payments=paid)  # fmt: skip
        with psycopg.connect(info, autocommit=True) as admin:
            admin.execute("CREATE SEQUENCE tries")
            admin.execute(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "PERFORM nextval('tries'); RAISE EXCEPTION 'busy' USING ERRCODE = '40001'; "
                "END $$"
            )
            admin.execute(
                "CREATE TRIGGER refuse BEFORE UPDATE ON ocop_orders "
                "FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
            sessions = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
            kept = admin.execute(sessions, [name]).fetchone()
            with pytest.raises(StorageBusy):
                bo.change_total("SO-1", usd("60.00"), Actor.call_center("agent-1"))
            tries = admin.execute("SELECT last_value FROM tries").fetchone()
            assert tries == (1,)
            assert admin.execute(sessions, [name]).fetchone() == kept
        store.close()


@pytest.mark.postgres
def test_postgres_a_search_path_naming_no_schema_raises_storage_unavailable() -> None:
    """E3: a search_path naming a schema that does not exist raises StorageUnavailable
    (saying so), not psycopg's InvalidSchemaName; no schema is created."""
    missing = f"ocop_missing_{uuid.uuid4().hex[:8]}"
    dsn = with_parameter(server(), "options", f"-csearch_path={missing}")
    openings: tuple[Callable[[str], object], ...] = (PostgresStore, PostgresJournal)
    for opening in openings:
        with pytest.raises(StorageUnavailable, match="schema") as refused:
            opening(dsn)
        assert isinstance(refused.value.__cause__, psycopg.errors.InvalidSchemaName)
    assert not schema_exists(missing)


# -- PostgreSQL: a schema of the store's own ------------------------------------------------


def schema_exists(name: str) -> bool:
    with psycopg.connect(server(), autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname = %s", [name]
        ).fetchone()
    return row == (1,)


@pytest.fixture
def schema_name() -> Iterator[str]:
    """A schema name no test used yet; the schema is dropped afterwards if it was made."""
    name = f"ocop_test_{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        with psycopg.connect(server(), autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.mark.postgres
def test_postgres_a_store_creates_its_schema_and_keeps_its_tables_there(schema_name: str) -> None:
    """schema=: the first store creates the schema with ocop's tables in it (at this ocop's
    version); other stores and journals on it share its data, and nothing lands elsewhere."""
    store = PostgresStore(server(), schema=schema_name)
    assert schema_exists(schema_name)
    stored_order(store)
    PostgresJournal(server(), schema=schema_name).post(SAMPLE.voucher("V-1"))
    again = PostgresStore(server(), schema=schema_name)
    assert current(again) == (usd("100.00"), 1)
    assert [v.voucher_id for v in again.journal.vouchers()] == ["V-1"]
    with psycopg.connect(server(), autocommit=True) as admin:
        tables = admin.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "ORDER BY table_name",
            [schema_name],
        ).fetchall()
        version = admin.execute(
            f'SELECT version FROM "{schema_name}".ocop_schema'  # noqa: S608 - the test's own name
        ).fetchall()
    assert [t for (t,) in tables] == [
        "ocop_claims", "ocop_journal", "ocop_operations", "ocop_orders", "ocop_outbox",
        "ocop_review", "ocop_schema",
    ]  # fmt: skip
    assert version == [(SCHEMA_VERSION,)]


@pytest.mark.postgres
def test_postgres_a_schema_name_of_63_characters_is_taken_whole() -> None:
    """schema=: a name of PostgreSQL's full 63 characters is created and used as given."""
    name = f"ocop_test_{uuid.uuid4().hex}".ljust(63, "x")
    try:
        stored_order(PostgresStore(server(), schema=name))
        assert schema_exists(name)
    finally:
        with psycopg.connect(server(), autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.mark.postgres
def test_postgres_opening_a_current_schema_runs_no_ddl(schema_name: str) -> None:
    """The schema DDL (and its advisory lock) runs only when the version table asks for it:
    with the lock held elsewhere and a short lock timeout, opening a current schema works,
    while a first start on a new schema raises StorageBusy and creates nothing."""
    stored_order(PostgresStore(server(), schema=schema_name))
    impatient = with_parameter(server(), "options", "-clock_timeout=200")
    other = f"{schema_name}_new"
    with psycopg.connect(server(), autocommit=True) as admin, admin.transaction():
        admin.execute("SELECT pg_advisory_xact_lock(%s)", [_SCHEMA_LOCK])
        assert current(PostgresStore(impatient, schema=schema_name)) == (usd("100.00"), 1)
        with pytest.raises(StorageBusy, match="55P03"):
            PostgresStore(impatient, schema=other)
    assert not schema_exists(other)


BAD_NAMES = [
    "",
    "ocop-test",
    'x"; DROP SCHEMA public; --',
    "a" * 64,
    "pg_temp",
    "PG_ocop",
    "ocöp",
    "ocop test",
    "4111111111111111",
    "s_4111111111111111",
]  # fmt: skip (T2: a name is stored)


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_schema_name_that_is_not_a_plain_identifier_is_refused(name: str) -> None:
    """schema= other than 1 to 63 ASCII letters, digits or underscores (or PostgreSQL's pg_
    prefix) raises InvalidInput, naming the argument but not the value, before connecting."""
    dsn = closed_port_dsn()
    openings: tuple[Callable[..., object], ...] = (
        PostgresStore, PostgresJournal, _postgres_office
    )  # fmt: skip
    for opening in openings:
        with pytest.raises(InvalidInput, match="schema") as refused:
            opening(dsn, schema=name)
        assert name == "" or name not in str(refused.value)


def test_a_schema_that_is_not_text_is_refused() -> None:
    """schema= of another type than str raises InvalidInput before connecting."""
    with pytest.raises(InvalidInput, match="schema"):
        PostgresStore(closed_port_dsn(), schema=cast(Any, 7))


# -- BackOffice.postgres --------------------------------------------------------------------


@pytest.mark.postgres
def test_back_office_postgres_keeps_store_and_journal_in_its_schema(schema_name: str) -> None:
    """BackOffice.postgres wires a store that keeps the journal in ``schema``: an order placed
    by one back office is read by another on the same schema."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    first = BackOffice.postgres(server(), processor=sim, clock=clock, schema=schema_name)
    first.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                      total=usd("100.00"))  # fmt: skip
    second = BackOffice.postgres(server(), processor=sim, clock=clock, schema=schema_name)
    assert second.order("SO-1").total == usd("100.00")
    assert first.ports.journal is cast(Any, first.ports.store).journal
    assert schema_exists(schema_name)


def test_back_office_postgres_uses_the_ocop_schema_unless_told() -> None:
    """BackOffice.postgres's schema defaults to ``ocop``; its other arguments after the
    address are BackOffice.sqlite's."""
    parameters = inspect.signature(BackOffice.postgres).parameters
    assert parameters["schema"].default == "ocop"
    assert list(parameters)[1:4] == list(inspect.signature(BackOffice.sqlite).parameters)[1:]


# -- the postgres extra missing -------------------------------------------------------------

WITHOUT_PSYCOPG = """
import sys
sys.modules["psycopg"] = None  # an import of psycopg now fails, as if it were not installed
from ocop import BackOffice, MissingExtra
from ocop.adapters.memory import SystemClock
from ocop.adapters.simulated import SimulatedProcessor
sim = SimulatedProcessor(clock=SystemClock())
try:
    {call}
except MissingExtra as error:
    print(error.extra, error.package, isinstance(error, ImportError),
          "ocop[postgres]" in str(error))
"""


@pytest.mark.parametrize(
    "call",
    [
        "import ocop.adapters.postgres",
        "BackOffice.postgres('postgresql://127.0.0.1/none', processor=sim)",
    ],
)
def test_without_psycopg_the_postgres_adapters_raise_missing_extra(call: str) -> None:
    """Importing the PostgreSQL adapters, or BackOffice.postgres, without psycopg raises
    MissingExtra (an ImportError) naming the postgres extra and the package."""
    out = subprocess.run(  # noqa: S603 - runs this module's own probe code
        [sys.executable, "-c", WITHOUT_PSYCOPG.format(call=call)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["postgres", "psycopg", "True", "True"]
