"""The three bundled stores (memory, SQLite, PostgreSQL) agree at their edges.

Each case runs on every store: what a unit of work sees of its own staged work,
conflicts found only when a commit writes, rival outcomes for one key, the
journals storing a voucher once, and a store that keeps the journal taking no
other. Then each SQL backend's own error mapping (E3): SQLite's busy lock and
PostgreSQL's serialization failures become ``StorageBusy`` (a contention to retry,
with no order to name); other database errors become ``StorageError``; first starts
racing on one PostgreSQL schema create it once.
"""

from __future__ import annotations

import contextlib
import gc
import sqlite3
import time
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs
import psycopg
import pytest
from psycopg.rows import TupleRow

from ocop import (
    BackOffice,
    ConcurrentUpdate,
    IdempotencyConflict,
    InvalidInput,
    Money,
    OcopError,
    Operation,
    OrderNotFound,
    Outcome,
    StorageBusy,
    StorageError,
)
from ocop.adapters._sql import SCHEMA_VERSION
from ocop.adapters.memory import InMemoryJournal, InMemoryStore, ManualClock
from ocop.adapters.postgres import _SCHEMA_LOCK, PostgresJournal, PostgresStore
from ocop.adapters.simulated import SimulatedProcessor
from ocop.adapters.sqlite import SqliteJournal, SqliteStore
from ocop.ports.journal import PaymentJournal
from ocop.ports.store import OrderStore
from ocop.testing.contracts import START, OrderStoreContract
from pg_support import private_schema, server


class _Samples(OrderStoreContract):
    """The store contract's sample orders, intents, results and vouchers (not collected)."""

    def make_store(self) -> OrderStore:
        raise NotImplementedError


SAMPLE = _Samples()
KINDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@attrs.frozen
class Backend:
    """How to open the store and journal of one shared place (more than once)."""

    store: Callable[[], OrderStore]
    journal: Callable[[], PaymentJournal]


@pytest.fixture(params=KINDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    kind: str = request.param
    if kind == "memory":
        store, journal = InMemoryStore(), InMemoryJournal()
        yield Backend(store=lambda: store, journal=lambda: journal)
    elif kind == "sqlite":
        path = tmp_path / "ocop.db"
        yield Backend(store=lambda: SqliteStore(path), journal=lambda: SqliteJournal(path))
    else:
        with private_schema() as info:
            yield Backend(store=lambda: PostgresStore(info), journal=lambda: PostgresJournal(info))


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def stored(store: OrderStore) -> None:
    """SO-1 committed in its own unit of work."""
    with store.unit_of_work() as uow:
        uow.orders.add(SAMPLE.order())
        uow.commit()


# -- orders --------------------------------------------------------------------------------


def test_updating_an_order_never_stored_raises_order_not_found(backend: Backend) -> None:
    """update() of an unknown order id raises OrderNotFound naming it, when it is staged or
    when the unit commits (the store checks versions as it writes); nothing is stored."""
    store = backend.store()
    with store.unit_of_work() as uow:
        uow.orders.update(SAMPLE.order("SO-9"))
        with pytest.raises(OrderNotFound) as missing:
            uow.commit()
        assert missing.value.order_id == "SO-9"
    with store.unit_of_work() as uow:
        assert uow.orders.ids() == ()


def test_two_units_staging_one_version_conflict_when_the_second_commits(backend: Backend) -> None:
    """O5: both updates pass their step; the second commit raises ConcurrentUpdate, stores none."""
    store = backend.store()
    stored(store)
    with store.unit_of_work() as first, store.unit_of_work() as second:
        mine, theirs = first.orders.get("SO-1"), second.orders.get("SO-1")
        first.orders.update(mine.with_total(usd("110.00")))
        second.orders.update(theirs.with_total(usd("999.00")))
        second.outbox.add(SAMPLE.voucher("V-9"))
        first.commit()
        with pytest.raises(ConcurrentUpdate) as lost:
            second.commit()
    assert lost.value.order_id == "SO-1"
    with store.unit_of_work() as uow:
        order = uow.orders.get("SO-1")
        assert (order.total, order.version) == (usd("110.00"), mine.version + 1)
        assert uow.outbox.pending() == ()


def test_an_order_older_than_the_version_a_unit_replaces_is_refused(backend: Backend) -> None:
    """O5: a unit that staged the stored version's successor refuses an update from an
    older copy of the order (its version would not move on, losing the change between);
    what it staged first is committed."""
    store = backend.store()
    stored(store)
    with store.unit_of_work() as uow:
        old = uow.orders.get("SO-1")
    with store.unit_of_work() as uow:
        uow.orders.update(old.with_total(usd("110.00")))
        uow.commit()
    with store.unit_of_work() as uow:
        current = uow.orders.get("SO-1")
        uow.orders.update(current.with_total(usd("120.00")))
        with pytest.raises(ConcurrentUpdate):
            uow.orders.update(old.with_total(usd("999.00")))
        uow.commit()
    with store.unit_of_work() as uow:
        order = uow.orders.get("SO-1")
    assert (order.total, order.version) == (usd("120.00"), current.version + 1)


def test_a_unit_of_work_is_empty_again_after_its_commit(backend: Backend) -> None:
    """After a commit the same unit of work starts afresh: committing again stores nothing."""
    store = backend.store()
    with store.unit_of_work() as uow:
        uow.orders.add(SAMPLE.order())
        uow.commit()
        uow.commit()
        assert uow.orders.get("SO-1").version == 1
        uow.orders.add(SAMPLE.order("SO-2"))
    with store.unit_of_work() as uow:
        assert uow.orders.ids() == ("SO-1",)


def test_a_unit_of_work_is_freed_as_soon_as_it_is_dropped(backend: Backend) -> None:
    """A used unit of work holds no reference cycle: it is freed when dropped, with the
    cyclic garbage collector off. (A cycle kept each unit, and the store it read, until
    the next full collection: work that grew with everything else in memory.)"""
    store = backend.store()
    stored(store)
    collecting = gc.isenabled()
    gc.disable()
    try:
        uow = store.unit_of_work()
        with uow:
            order = uow.orders.get("SO-1")
            uow.orders.update(order.with_total(usd("110.00")))
            uow.operations.record_intents((SAMPLE.intent("K-1"),))
            uow.outbox.add(SAMPLE.voucher("V-1"))
            assert uow.operations.in_doubt("SO-1")
            uow.commit()
        dropped = weakref.ref(uow)
        del uow
        assert dropped() is None
    finally:
        if collecting:
            gc.enable()


def test_a_touch_after_an_update_in_one_unit_keeps_the_updated_body(backend: Backend) -> None:
    """touch() of an order the unit already updated writes the update (the version moves once),
    never only the version over the old body."""
    store = backend.store()
    stored(store)
    with store.unit_of_work() as uow:
        read = uow.orders.get("SO-1")
        changed = read.with_total(usd("110.00"))
        uow.orders.update(changed)
        uow.orders.touch(changed)
        uow.commit()
    with store.unit_of_work() as uow:
        again = uow.orders.get("SO-1")
    assert (again.total, again.version) == (usd("110.00"), read.version + 1)


# -- the operation log ---------------------------------------------------------------------


def test_an_outcome_for_a_key_never_logged_is_refused(backend: Backend) -> None:
    """record_outcome() of an unknown key raises OcopError naming the key; nothing is stored."""
    store = backend.store()
    key = SAMPLE.intent("capture/INV-1").key
    with store.unit_of_work() as uow:
        with pytest.raises(OcopError, match=f"no intent logged for operation '{key}'"):
            uow.operations.record_outcome(key, SAMPLE.result(key, Outcome.APPROVED), START)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.operations.get(key) is None


def test_a_unit_sees_its_own_staged_intents_with_the_stored_ones(backend: Backend) -> None:
    """for_order() lists stored then staged intents of that order only; in_doubt() all of them."""
    store = backend.store()
    old = SAMPLE.intent("capture/INV-1")
    SAMPLE.logged(store, old)
    new = SAMPLE.intent("capture/INV-2")
    other = SAMPLE.intent("capture/INV-3", order_id="SO-2")
    with store.unit_of_work() as uow:
        uow.operations.record_intent(new)
        uow.operations.record_intent(other)
        assert uow.operations.for_order("SO-1") == (old, new)
        assert uow.operations.for_order("SO-2") == (other,)
        assert [op.key for op in uow.operations.in_doubt()] == [old.key, new.key, other.key]
    with store.unit_of_work() as uow:
        assert uow.operations.for_order("SO-1") == (old,)


def test_a_unit_sees_its_own_staged_outcomes_in_in_doubt(backend: Backend) -> None:
    """A staged definitive outcome leaves in_doubt() at once; a staged UNKNOWN stays there."""
    store = backend.store()
    one, two, three = (SAMPLE.intent(f"capture/INV-{n}") for n in (1, 2, 3))
    SAMPLE.logged(store, one, two, three)
    with store.unit_of_work() as uow:
        uow.operations.record_outcome(one.key, SAMPLE.result(one.key, Outcome.APPROVED), START)
        uow.operations.record_outcome(two.key, SAMPLE.result(two.key, Outcome.UNKNOWN), START)
        assert [op.key for op in uow.operations.in_doubt()] == [two.key, three.key]
        staged = uow.operations.for_order("SO-1")
        assert [op.outcome for op in staged] == [Outcome.APPROVED, Outcome.UNKNOWN, None]
        uow.commit()
    with store.unit_of_work() as uow:
        assert [op.key for op in uow.operations.in_doubt()] == [two.key, three.key]


def test_of_two_rival_outcomes_for_one_key_the_first_committed_stays(backend: Backend) -> None:
    """O4: two units resolve one key; the second commit keeps the first definitive outcome."""
    store = backend.store()
    op = SAMPLE.intent("capture/INV-1")
    SAMPLE.logged(store, op)
    with store.unit_of_work() as first, store.unit_of_work() as second:
        first.operations.record_outcome(op.key, SAMPLE.result(op.key, Outcome.APPROVED), START)
        second.operations.record_outcome(op.key, SAMPLE.result(op.key, Outcome.DECLINED), START)
        first.commit()
        second.commit()
    with store.unit_of_work() as uow:
        kept = uow.operations.get(op.key)
        assert uow.operations.in_doubt() == ()
    assert kept is not None
    assert kept.outcome is Outcome.APPROVED
    assert kept.result == SAMPLE.result(op.key, Outcome.APPROVED)


def test_two_units_logging_the_same_intent_store_it_once(backend: Backend) -> None:
    """O4: the same request under one key from two units is stored once, still in doubt."""
    store = backend.store()
    op = SAMPLE.intent("capture/INV-1")
    with store.unit_of_work() as first, store.unit_of_work() as second:
        first.operations.record_intent(op)
        second.operations.record_intent(op)
        first.commit()
        second.commit()
    with store.unit_of_work() as uow:
        assert uow.operations.for_order("SO-1") == (op,)
        assert uow.operations.in_doubt() == (op,)


def test_an_intent_committed_after_its_outcome_elsewhere_does_not_reopen_it(
    backend: Backend,
) -> None:
    """A unit logging a key another unit has since resolved leaves the outcome as it is."""
    store = backend.store()
    op = SAMPLE.intent("capture/INV-1")
    with store.unit_of_work() as late:
        late.operations.record_intent(op)
        SAMPLE.logged(store, op)
        with store.unit_of_work() as uow:
            uow.operations.record_outcome(op.key, SAMPLE.result(op.key, Outcome.DECLINED), START)
            uow.commit()
        late.commit()
    with store.unit_of_work() as uow:
        kept = uow.operations.get(op.key)
        assert uow.operations.in_doubt() == ()
    assert kept is not None
    assert kept.outcome is Outcome.DECLINED


def test_a_unit_reads_the_outcome_it_staged_before_it_commits(backend: Backend) -> None:
    """get() in the unit that recorded an outcome of a stored intent returns it at once; other
    units see the intent in doubt until that unit commits."""
    store = backend.store()
    op = SAMPLE.intent("capture/INV-1")
    SAMPLE.logged(store, op)
    with store.unit_of_work() as uow, store.unit_of_work() as other:
        uow.operations.record_outcome(op.key, SAMPLE.result(op.key, Outcome.APPROVED), START)
        staged = uow.operations.get(op.key)
        assert staged is not None
        assert staged.outcome is Outcome.APPROVED
        assert other.operations.get(op.key) == op
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.operations.get(op.key) == staged


def test_a_unit_sees_its_staged_attempts_of_one_step_and_order_only(backend: Backend) -> None:
    """attempts() lists the stored then the staged attempts of that step of that order, by
    attempt; in_doubt(order_id) leaves out what the unit staged for another order."""
    store = backend.store()
    first = SAMPLE.intent("capture/INV-1")
    SAMPLE.logged(store, first)
    second = Operation.intent("SO-1", first.step, 2, START)
    other_step = SAMPLE.intent("capture/INV-2")
    other_order = SAMPLE.intent("capture/INV-1", order_id="SO-2")
    with store.unit_of_work() as uow:
        uow.operations.record_intents((other_order, second, other_step))
        assert uow.operations.attempts("SO-1", first.name) == (first, second)
        assert uow.operations.attempts("SO-2", first.name) == (other_order,)
        assert uow.operations.in_doubt("SO-1") == (first, second, other_step)
        assert uow.operations.in_doubt("SO-2") == (other_order,)


def test_settling_an_operation_never_logged_fails_the_whole_commit(backend: Backend) -> None:
    """An outcome stored for a key no intent was logged under raises OcopError naming the key
    when the unit commits; nothing of the unit is stored."""
    store = backend.store()
    stored(store)
    op = SAMPLE.intent("capture/INV-1")
    with store.unit_of_work() as uow:
        uow.orders.update(uow.orders.get("SO-1").with_total(usd("110.00")))
        uow.operations.settle(op.resolved(SAMPLE.result(op.key, Outcome.APPROVED), START))
        with pytest.raises(OcopError, match=f"no intent logged for operation '{op.key}'"):
            uow.commit()
    with store.unit_of_work() as uow:
        assert uow.orders.get("SO-1").total == usd("100.00")
        assert uow.operations.get(op.key) is None


def test_of_two_units_settling_one_operation_the_second_loses(backend: Backend) -> None:
    """O2: settle() stores an outcome once; a unit settling an operation another unit settled
    first raises ConcurrentUpdate naming its order, and the first outcome stays."""
    store = backend.store()
    op = SAMPLE.intent("capture/INV-1")
    SAMPLE.logged(store, op)
    approved = op.resolved(SAMPLE.result(op.key, Outcome.APPROVED), START)
    declined = op.resolved(SAMPLE.result(op.key, Outcome.DECLINED), START)
    with store.unit_of_work() as first, store.unit_of_work() as second:
        first.operations.settle(approved)
        second.operations.settle(declined)
        first.commit()
        with pytest.raises(ConcurrentUpdate) as lost:
            second.commit()
    assert lost.value.order_id == "SO-1"
    with store.unit_of_work() as uow:
        assert uow.operations.get(op.key) == approved
        assert uow.operations.in_doubt() == ()


def test_an_intent_logged_with_its_outcome_settles_the_same_intent_logged_elsewhere(
    backend: Backend,
) -> None:
    """O4: a unit that logged an intent and its outcome commits after another unit logged the
    same intent (still in doubt): the intent is stored once, with the outcome."""
    store = backend.store()
    op = SAMPLE.intent("capture/INV-1")
    with store.unit_of_work() as uow:
        uow.operations.record_intent(op)
        resolved = uow.operations.record_outcome(
            op.key, SAMPLE.result(op.key, Outcome.APPROVED), START
        )
        SAMPLE.logged(store, op)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.operations.for_order("SO-1") == (resolved,)
        assert uow.operations.in_doubt() == ()
    assert resolved.outcome is Outcome.APPROVED


# -- journals ------------------------------------------------------------------------------


def test_a_journal_stores_a_voucher_posted_twice_once(backend: Backend) -> None:
    """J3: posting the same voucher again (even through another journal) stores nothing new."""
    journal = backend.journal()
    one, two = SAMPLE.voucher("V-1"), SAMPLE.voucher("V-2")
    journal.post(one)
    journal.post(two)
    journal.post(one)
    backend.journal().post(one)
    assert journal.vouchers() == (one, two)
    assert journal.vouchers("SO-1") == (one, two)
    assert journal.vouchers("SO-2") == ()


def test_a_journal_refuses_another_voucher_under_a_posted_id(backend: Backend) -> None:
    """J3: a different voucher under a posted id raises IdempotencyConflict naming the id."""
    journal = backend.journal()
    one = SAMPLE.voucher("V-1")
    journal.post(one)
    other = attrs.evolve(one, reference="INV-9")
    with pytest.raises(IdempotencyConflict) as conflict:
        journal.post(other)
    assert conflict.value.key == "V-1"
    assert journal.vouchers() == (one,)


@pytest.mark.parametrize("kind", KINDS)
def test_a_store_that_keeps_the_journal_takes_no_other_journal(kind: str, tmp_path: Path) -> None:
    """A back office over a store that keeps the payment journal, given another journal, is
    refused with InvalidInput (vouchers would be written to one and read from the other)."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    with contextlib.ExitStack() as stack:
        store: InMemoryStore | SqliteStore | PostgresStore
        if kind == "memory":
            store = InMemoryStore(keeps_journal=True)
        elif kind == "sqlite":
            store = SqliteStore(tmp_path / "ocop.db", keeps_journal=True)
        else:
            store = PostgresStore(stack.enter_context(private_schema()), keeps_journal=True)
        with pytest.raises(InvalidInput, match=r"pass journal=store\.journal"):
            BackOffice(store=store, processor=sim, journal=InMemoryJournal(), clock=clock)
        kept = BackOffice(store=store, processor=sim, journal=store.journal, clock=clock)
        assert kept.ports.journal is store.journal


# -- SQLite's own errors -------------------------------------------------------------------


def test_sqlite_reports_a_busy_database_as_storage_busy(tmp_path: Path) -> None:
    """E3: a commit that finds the file locked by another writer raises StorageBusy."""
    path = tmp_path / "ocop.db"
    store = SqliteStore(path, timeout=0)
    rival = sqlite3.connect(path, isolation_level=None)
    try:
        rival.execute("BEGIN IMMEDIATE")
        with store.unit_of_work() as uow:
            uow.orders.add(SAMPLE.order())
            with pytest.raises(StorageBusy, match="SQLITE_BUSY"):
                uow.commit()
        rival.execute("ROLLBACK")
    finally:
        rival.close()
    with store.unit_of_work() as uow:
        assert uow.orders.ids() == ()
        uow.orders.add(SAMPLE.order())
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.orders.ids() == ("SO-1",)


def test_sqlite_reports_other_database_errors_as_storage_error(tmp_path: Path) -> None:
    """E3: a file whose orders table is not ocop's raises StorageError when opened (the
    migration reads the stored orders), sqlite3's own error chained to it."""
    path = tmp_path / "foreign.db"
    with sqlite3.connect(path) as foreign:
        foreign.execute("CREATE TABLE ocop_orders (order_id TEXT PRIMARY KEY)")
    with pytest.raises(StorageError) as refused:
        SqliteStore(path)
    assert type(refused.value) is StorageError
    assert isinstance(refused.value.__cause__, sqlite3.OperationalError)


# -- PostgreSQL's own errors ---------------------------------------------------------------


@pytest.fixture
def conninfo() -> Iterator[str]:
    with private_schema() as info:
        yield info


def _fail_order_writes(conninfo: str, errcode: str) -> None:
    """A trigger that makes every write to ocop_orders fail with the given SQLSTATE name."""
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(
            "CREATE FUNCTION ocop_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"RAISE EXCEPTION 'injected' USING ERRCODE = '{errcode}'; END $$"
        )
        admin.execute(
            "CREATE TRIGGER ocop_test_fail BEFORE INSERT OR UPDATE ON ocop_orders "
            "FOR EACH ROW EXECUTE FUNCTION ocop_test_fail()"
        )


@pytest.mark.postgres
@pytest.mark.parametrize("errcode", ["serialization_failure", "deadlock_detected"])
def test_postgres_reports_serialization_failures_as_storage_busy(
    conninfo: str, errcode: str
) -> None:
    """E3: a transaction the server aborts to serialize raises StorageBusy; none stored."""
    store = PostgresStore(conninfo)
    _fail_order_writes(conninfo, errcode)
    with store.unit_of_work() as uow:
        uow.orders.add(SAMPLE.order())
        uow.outbox.add(SAMPLE.voucher("V-1"))
        with pytest.raises(StorageBusy, match="contention"):
            uow.commit()
    with store.unit_of_work() as uow:
        assert uow.orders.ids() == ()
        assert uow.outbox.pending() == ()


@pytest.mark.postgres
def test_postgres_reports_other_database_errors_as_storage_error(conninfo: str) -> None:
    """E3: any other server error raises StorageError, psycopg's own error chained to it;
    nothing stored."""
    store = PostgresStore(conninfo)
    _fail_order_writes(conninfo, "check_violation")
    with store.unit_of_work() as uow:
        uow.orders.add(SAMPLE.order())
        with pytest.raises(StorageError) as refused:
            uow.commit()
    assert type(refused.value) is StorageError
    assert isinstance(refused.value.__cause__, psycopg.errors.CheckViolation)
    with store.unit_of_work() as uow:
        assert uow.orders.ids() == ()


def _wait_for_schema_lock_waiters(admin: psycopg.Connection[TupleRow], count: int) -> None:
    """Return once ``count`` sessions wait for the schema lock ``admin`` holds (bounded)."""
    for _ in range(6000):
        row = admin.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s "
            "AND NOT granted",
            [_SCHEMA_LOCK],
        ).fetchone()
        if row is not None and row[0] >= count:
            return
        time.sleep(0.01)
    pytest.fail(f"{count} first starts never waited for the schema lock")


@pytest.mark.postgres
def test_two_first_starts_at_once_create_and_migrate_the_schema_once(conninfo: str) -> None:
    """Two stores opened at once on an empty schema both start: the one that waited for the
    schema lock finds the schema already created and migrated, and migrates nothing again."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        with psycopg.connect(server(), autocommit=True) as admin, admin.transaction():
            admin.execute("SELECT pg_advisory_xact_lock(%s)", [_SCHEMA_LOCK])
            starts = [pool.submit(PostgresStore, conninfo) for _ in range(2)]
            _wait_for_schema_lock_waiters(admin, 2)
        first, second = (start.result() for start in starts)
    with psycopg.connect(conninfo) as check:
        versions = check.execute("SELECT version FROM ocop_schema").fetchall()
    assert versions == [(SCHEMA_VERSION,)]
    stored(first)
    with second.unit_of_work() as uow:
        assert uow.orders.ids() == ("SO-1",)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_more_open_units_than_the_pool_keeps_all_read_and_write(kind: str, tmp_path: Path) -> None:
    """Eight units open at once each read SO-1; afterwards the store still writes and reads."""
    with contextlib.ExitStack() as stack:
        if kind == "sqlite":
            store: OrderStore = SqliteStore(tmp_path / "ocop.db")
        else:
            store = PostgresStore(stack.enter_context(private_schema()))
        stored(store)
        units = [stack.enter_context(store.unit_of_work()) for _ in range(8)]
        assert [uow.orders.get("SO-1").version for uow in units] == [1] * 8
        for uow in units:
            uow.rollback()
        with store.unit_of_work() as uow:
            uow.orders.update(uow.orders.get("SO-1").with_total(usd("120.00")))
            uow.commit()
        with store.unit_of_work() as uow:
            assert (uow.orders.get("SO-1").version, uow.orders.ids()) == (2, ("SO-1",))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("keeps_journal", [False, True], ids=["outbox", "journal"])
def test_a_voucher_id_already_stored_with_another_voucher_fails_the_commit(
    kind: str, keeps_journal: bool, tmp_path: Path
) -> None:
    """J3 in the store: the same voucher again is stored once; another voucher under its id
    raises IdempotencyConflict at commit and stores nothing of the unit of work."""
    with contextlib.ExitStack() as stack:
        if kind == "memory":
            store: OrderStore = InMemoryStore(keeps_journal=keeps_journal)
        elif kind == "sqlite":
            store = SqliteStore(tmp_path / "ocop.db", keeps_journal=keeps_journal)
        else:
            store = PostgresStore(stack.enter_context(private_schema()),
                                  keeps_journal=keeps_journal)  # fmt: skip
        first = SAMPLE.voucher("V-1")
        for _ in range(2):
            with store.unit_of_work() as uow:
                uow.outbox.add(first)
                uow.commit()
        other = attrs.evolve(first, reference="INV-9")
        with store.unit_of_work() as uow:
            uow.orders.add(SAMPLE.order("SO-7"))
            uow.outbox.add(other)
            with pytest.raises(IdempotencyConflict):
                uow.commit()
        with store.unit_of_work() as uow:
            assert uow.orders.find("SO-7") is None
