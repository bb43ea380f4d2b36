"""``bo.orders(...)``: the ids of the orders that pass every filter, by index (issue 11, 2).

Each filter, their combinations, paging, a check hold lapsing as the clock moves (the
query and ``bo.order()`` agree before and after), an operation in doubt listed until
recovery, authorizations expiring, and the status; on memory, SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from review_support import undo_review_lookups

from ocop import (
    Actor,
    BackOffice,
    CardPayment,
    Channel,
    Customer,
    HoldCode,
    OrderNotFound,
    OrderStatus,
    Prepayment,
    Settings,
)
from ocop.adapters import memory
from ocop.adapters._codec import loads
from ocop.adapters._sql import SCHEMA_VERSION, SqlBackend
from ocop.adapters.memory import InMemoryStore, ManualClock
from ocop.adapters.postgres import PostgresStore
from ocop.adapters.simulated import SimulatedProcessor
from ocop.adapters.sqlite import SqliteStore
from ocop.domain.operations import Operation
from ocop.domain.order import Order
from ocop.domain.queries import OrderKeys, OrderQuery, keys_of, matches, micros
from ocop.domain.settings import CompletionPolicy
from ocop.ports.store import OrderStore
from ocop.testing._review_contract import chargeback, failed_outcome
from pg_support import private_schema
from worlds import START, card, usd

AGENT = Actor.call_center("agent-1")
RULES = Settings.default().with_policies(
    completion=CompletionPolicy(check_hold_threshold=usd("10.00"), check_hold_days=2)
)
EXPIRY = timedelta(days=RULES.authorization.expiry_days)

World = tuple[BackOffice, SimulatedProcessor, ManualClock]


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)

    def wired(store: InMemoryStore | SqliteStore | PostgresStore) -> World:
        bo = BackOffice(store=store, journal=store.journal, processor=sim, clock=clock,
                        settings=RULES)  # fmt: skip
        return bo, sim, clock

    if request.param == "memory":
        yield wired(InMemoryStore(keeps_journal=True))
    elif request.param == "sqlite":
        store = SqliteStore(tmp_path / "queries.db", keeps_journal=True)
        yield wired(store)
        store.close()
    else:
        with private_schema() as dsn:
            pg = PostgresStore(dsn, keeps_journal=True)
            yield wired(pg)
            pg.close()


def _card_order(bo: BackOffice, order_id: str, amount: str = "100.00") -> None:
    bo.place_order(order_id, channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd(amount), payments=[CardPayment(card(), usd(amount))])  # fmt: skip


def _check_order(bo: BackOffice, order_id: str) -> None:
    """An order paid by a check above the threshold: a check hold for two days."""
    bo.place_order(order_id, channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("40.00"),
                   payments=[Prepayment("check", usd("40.00"), check_number="1001")])  # fmt: skip


def _four(bo: BackOffice) -> None:
    """SO-A approved with an open authorization, SO-B held by hand (its authorization
    open), SO-C cancelled, SO-D invoiced in full."""
    for order_id in ("SO-A", "SO-B", "SO-C", "SO-D"):
        _card_order(bo, order_id)
    bo.place_hold("SO-B", HoldCode.MANUAL, AGENT, reason="FRAUD")
    bo.cancel_order("SO-C", AGENT)
    bo.invoice("SO-D", "INV-1", usd("100.00"))


def test_each_filter_lists_the_orders_that_pass_it(world: World) -> None:
    """on_hold, status and expiring_before each list exactly their orders, oldest first;
    no filter lists every order."""
    bo, _, _ = world
    _four(bo)
    assert bo.orders() == ("SO-A", "SO-B", "SO-C", "SO-D")
    assert bo.orders(on_hold=True) == ("SO-B",)
    assert bo.orders(on_hold=False) == ("SO-A", "SO-C", "SO-D")
    assert bo.orders(status=OrderStatus.APPROVED) == ("SO-A",)
    assert bo.orders(status=OrderStatus.ON_HOLD) == ("SO-B",)
    assert bo.orders(status=OrderStatus.CANCELLED) == ("SO-C",)
    assert bo.orders(status=OrderStatus.INVOICED) == ("SO-D",)
    assert bo.orders(status=OrderStatus.PARTIALLY_INVOICED) == ()
    assert bo.orders(in_doubt=True) == ()
    assert bo.orders(in_doubt=False) == ("SO-A", "SO-B", "SO-C", "SO-D")
    # authorized at START: expiring at START + expiry, so before any later moment only
    assert bo.orders(expiring_before=START + EXPIRY) == ()
    assert bo.orders(expiring_before=START + EXPIRY + timedelta(seconds=1)) == ("SO-A", "SO-B")


def test_filters_combine_with_and(world: World) -> None:
    """Two or more filters list only the orders that pass them all."""
    bo, _, _ = world
    _four(bo)
    later = START + EXPIRY + timedelta(days=1)
    assert bo.orders(on_hold=False, expiring_before=later) == ("SO-A",)
    assert bo.orders(on_hold=True, expiring_before=later) == ("SO-B",)
    assert bo.orders(on_hold=True, status=OrderStatus.APPROVED) == ()
    assert bo.orders(on_hold=False, status=OrderStatus.CANCELLED, in_doubt=False) == ("SO-C",)
    assert bo.orders(status=OrderStatus.INVOICED, expiring_before=later) == ()


def test_pages_follow_the_order_orders_were_placed_in(world: World) -> None:
    """limit cuts a page; after continues from an id of the page before, even one that no
    longer passes the filter; an unknown after is OrderNotFound."""
    bo, _, _ = world
    ids = [f"SO-{n}" for n in range(1, 8)]
    for order_id in ids:
        _card_order(bo, order_id)
    assert bo.orders(limit=3) == tuple(ids[:3])
    assert bo.orders(limit=3, after=ids[2]) == tuple(ids[3:6])
    assert bo.orders(limit=3, after=ids[5]) == (ids[6],)
    assert bo.orders(after=ids[6]) == ()
    for order_id in ("SO-2", "SO-4", "SO-5", "SO-7"):
        bo.place_hold(order_id, HoldCode.MANUAL, AGENT, reason="FRAUD")
    first = bo.orders(on_hold=True, limit=2)
    assert first == ("SO-2", "SO-4")
    bo.release_hold("SO-4", HoldCode.MANUAL, AGENT)  # the last id of the page stops passing
    assert bo.orders(on_hold=True, limit=2, after=first[-1]) == ("SO-5", "SO-7")
    with pytest.raises(OrderNotFound):
        bo.orders(after="SO-404")


def test_a_check_hold_lapses_from_the_query_as_from_the_order(world: World) -> None:
    """The query agrees with bo.order() before, at and after a check hold's end, with no
    write: held, then approved; another hold still holds after the check hold lapsed."""
    bo, _, clock = world
    _check_order(bo, "SO-1")
    _check_order(bo, "SO-2")
    bo.place_hold("SO-2", HoldCode.MANUAL, AGENT, reason="FRAUD")
    _card_order(bo, "SO-3")

    def agree() -> None:
        held = tuple(i for i in ("SO-1", "SO-2", "SO-3") if bo.order(i).holds)
        assert bo.orders(on_hold=True) == held
        assert bo.orders(status=OrderStatus.ON_HOLD) == held
        for status in OrderStatus:
            listed = tuple(i for i in ("SO-1", "SO-2", "SO-3") if bo.order(i).status is status)
            assert bo.orders(status=status) == listed

    agree()
    assert bo.orders(on_hold=True) == ("SO-1", "SO-2")
    clock.advance(days=2, seconds=-1)
    agree()
    assert bo.orders(on_hold=True) == ("SO-1", "SO-2")
    clock.advance(seconds=1)  # the check holds' until: lapsed
    agree()
    assert bo.orders(on_hold=True) == ("SO-2",)
    assert bo.orders(on_hold=False, status=OrderStatus.APPROVED) == ("SO-1", "SO-3")
    bo.release_hold("SO-2", HoldCode.MANUAL, AGENT)
    agree()
    assert bo.orders(on_hold=True) == ()


def test_an_operation_in_doubt_lists_the_order_until_recovery(world: World) -> None:
    """A capture that timed out puts its order in doubt; recover() settles it and the
    order leaves the list."""
    bo, sim, _ = world
    _card_order(bo, "SO-1")
    _card_order(bo, "SO-2")
    sim.script("capture", "timeout_after_success")
    bo.invoice("SO-2", "INV-1", usd("40.00"))
    assert bo.orders(in_doubt=True) == ("SO-2",)
    assert bo.orders(in_doubt=False) == ("SO-1",)
    assert bo.orders(in_doubt=True, status=OrderStatus.APPROVED) == ()
    bo.recover()
    assert bo.orders(in_doubt=True) == ()
    assert bo.orders(in_doubt=False) == ("SO-1", "SO-2")


def test_an_authorization_leaves_expiring_when_captured_or_voided(world: World) -> None:
    """expiring_before lists open authorizations only: a full capture or a cancellation
    (which voids) takes the order off; a partial capture leaves it on."""
    bo, _, clock = world
    _card_order(bo, "SO-1")
    clock.advance(days=1)
    _card_order(bo, "SO-2")
    _card_order(bo, "SO-3")
    later = START + EXPIRY + timedelta(days=1)
    assert bo.orders(expiring_before=later) == ("SO-1",)
    assert bo.orders(expiring_before=later + timedelta(seconds=1)) == ("SO-1", "SO-2", "SO-3")
    bo.invoice("SO-1", "INV-1", usd("100.00"))
    bo.invoice("SO-2", "INV-1", usd("30.00"))
    bo.cancel_order("SO-3", AGENT)
    assert bo.orders(expiring_before=later + timedelta(days=30)) == ("SO-2",)


_V3_INDEXES = ("ocop_orders_held", "ocop_orders_held_until", "ocop_orders_by_status",
               "ocop_orders_authorized_from", "ocop_orders_by_seq")  # fmt: skip
_V3_COLUMNS = ("held", "held_until", "status", "authorized_from")


def _back_to(version: int, run: Callable[[str], object]) -> None:
    """Undo migration 7 (and 6 for ``version`` 5, 5 for 4, 4 for 3, and 3 for 2) by hand:
    what a database written by that version looks like."""
    undo_review_lookups(run)
    if version < 6:
        run("DROP INDEX IF EXISTS ocop_operations_by_reference")
        run("ALTER TABLE ocop_operations DROP COLUMN reference")
    if version < 5:
        run("DROP TABLE ocop_review")
    if version < 4:
        run("DROP INDEX IF EXISTS ocop_orders_renew_from")
        run("ALTER TABLE ocop_orders DROP COLUMN renew_from")
        run("DROP TABLE ocop_claims")
    if version < 3:
        for index in _V3_INDEXES:
            run(f"DROP INDEX IF EXISTS {index}")
        for column in _V3_COLUMNS:
            run(f"ALTER TABLE ocop_orders DROP COLUMN {column}")
    run("DELETE FROM ocop_schema")
    run(f"INSERT INTO ocop_schema (version) VALUES ({version})")  # noqa: S608 - a number


def _renewing(store: OrderStore, order_id: str) -> None:
    """Mark the renewal of ``order_id``'s first line under way, as the renewal job does."""
    with store.unit_of_work() as uow:
        order = uow.orders.get(order_id)
        line = order.lines[0]
        uow.orders.update(order.with_line(line.renewal(under_way=True)))
        uow.commit()


def _renew_answers(store: SqliteStore | PostgresStore, now: datetime) -> list[tuple[str, ...]]:
    """What renew_before lists, before, at and after the orders' times."""
    moments = (START - timedelta(days=1), START, START + timedelta(days=1), START + EXPIRY)
    with store.unit_of_work() as uow:
        return [uow.orders.query(OrderQuery(renew_before=m), now) for m in moments]


@pytest.mark.parametrize("version", [2, 3, 4, 5, 6])
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_an_older_database_migrates_with_the_keys_read_from_each_body(
    backend: str, version: int, tmp_path: Path
) -> None:
    """Migrations 3 and 4 fill each stored order's query columns from its body: the answers
    after the upgrade are those before it, and every row's columns are the keys of its body;
    the claims table is there, and the review table (migration 5) keeps notifications;
    migration 6 fills each operation's reference from its answer, found by it after."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            path = tmp_path / "old.db"

            def opened() -> SqliteStore | PostgresStore:
                return SqliteStore(path, keeps_journal=True)

            def run(sql: str) -> object:
                with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
                    return db.execute(sql).fetchall()
        else:
            dsn = stack.enter_context(private_schema())

            def opened() -> SqliteStore | PostgresStore:
                return PostgresStore(dsn, keeps_journal=True)

            def run(sql: str) -> object:
                with psycopg.connect(dsn, autocommit=True) as db:
                    cursor = db.execute(sql)
                    return cursor.fetchall() if cursor.description is not None else []

        def back_office() -> tuple[BackOffice, SqliteStore | PostgresStore]:
            store = opened()
            stack.callback(store.close)
            return BackOffice(store=store, journal=store.journal, processor=sim, clock=clock,
                              settings=RULES), store  # fmt: skip

        bo, store = back_office()
        _four(bo)
        _check_order(bo, "SO-E")
        _card_order(bo, "SO-F")
        _renewing(store, "SO-F")
        sim.script("capture", "timeout_after_success")
        bo.invoice("SO-A", "INV-1", usd("10.00"))
        questions: list[dict[str, Any]] = [
            {"on_hold": True}, {"on_hold": False}, {"in_doubt": True},
            {"expiring_before": START + EXPIRY + timedelta(days=1)},
            *({"status": status} for status in OrderStatus),
        ]  # fmt: skip
        before = [bo.orders(**q) for q in questions]
        renewals = _renew_answers(store, clock.now())
        open_since_start = ("SO-A", "SO-B", "SO-F")  # SO-F's renewal under way: at once
        assert renewals == [("SO-F",), ("SO-F",), open_since_start, open_since_start]
        _back_to(version, run)
        assert run("SELECT MAX(version) FROM ocop_schema") == [(version,)]

        again, migrated = back_office()
        assert [again.orders(**q) for q in questions] == before
        assert _renew_answers(migrated, clock.now()) == renewals
        assert run("SELECT MAX(version) FROM ocop_schema") == [(SCHEMA_VERSION,)]
        assert run("SELECT COUNT(*) FROM ocop_claims") == [(0,)]
        rows = run(
            "SELECT body, held, held_until, status, authorized_from, renew_from FROM ocop_orders"
        )
        assert isinstance(rows, list)
        assert len(rows) == 6
        for body, held, held_until, status, authorized_from, renew_from in rows:
            keys = keys_of(loads(body, Order))
            assert held == (1 if keys.held else 0)
            assert held_until == (None if keys.held_until is None else micros(keys.held_until))
            assert status == keys.status.value
            expected = keys.authorized_from
            assert authorized_from == (None if expected is None else micros(expected))
            assert renew_from == (None if keys.renew_from is None else micros(keys.renew_from))
        assert migrated.claim(["renew:SO-A"], "w1", START + EXPIRY, START) == ("renew:SO-A",)
        assert run("SELECT COUNT(*) FROM ocop_review") == [(0,)]
        kept = (chargeback("N-1"), failed_outcome("N-2"))
        assert [migrated.keep_for_review(n) for n in (*kept, kept[0])] == [True, True, False]
        assert back_office()[1].kept_for_review() == kept  # a restart reads them
        assert migrated.kept_for_review_of({"SO-1:capture:INV-1:1"}, {kept[0].event}) == kept[:1]
        references = run("SELECT key, reference, body FROM ocop_operations")
        assert isinstance(references, list)
        assert any(reference for _, reference, _ in references)
        with migrated.unit_of_work() as uow:
            for key, reference, body in references:
                assert (reference or "") == loads(body, Operation).reference
                if reference:
                    assert key in {op.key for op in uow.operations.by_reference(reference)}
        clock.advance(days=2)
        assert again.orders(on_hold=True) == ("SO-B",)


_FILTERED: list[dict[str, Any]] = [
    {"on_hold": True},
    {"on_hold": True, "limit": 2, "after": "SO-A"},
    {"in_doubt": True},
    {"in_doubt": True, "on_hold": False},
    {"expiring_before": START + EXPIRY + timedelta(days=1)},
    *({"status": status} for status in OrderStatus),
    {"status": OrderStatus.APPROVED, "on_hold": False, "limit": 3},
]
#: Queries of the store alone (bo.orders does not ask for renewal work).
_RENEWING = [
    OrderQuery(renew_before=START + timedelta(days=1)),
    OrderQuery(renew_before=START, on_hold=True, limit=2, after="SO-A"),
    OrderQuery(renew_before=START, authorized_before=START + timedelta(days=1)),
    OrderQuery(renew_before=START, status=OrderStatus.APPROVED),
]


def test_sqlite_answers_each_narrowing_filter_from_an_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No query with an in-doubt, on-hold, expiring, renewal or status filter scans the
    orders table: SQLite's plan for each searches an index (only the matching rows are
    read)."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    path = tmp_path / "plans.db"
    store = SqliteStore(path, keeps_journal=True)
    bo = BackOffice(store=store, journal=store.journal, processor=sim, clock=clock,
                    settings=RULES)  # fmt: skip
    _four(bo)
    _renewing(store, "SO-B")
    asked: list[tuple[str, list[object]]] = []
    original = SqlBackend._bodies

    def recorded(self: SqlBackend, sql: str, params: Sequence[object] = ()) -> list[str]:
        asked.append((sql, list(params)))
        return original(self, sql, params)

    monkeypatch.setattr(SqlBackend, "_bodies", recorded)
    for question in _FILTERED:
        bo.orders(**question)
    with store.unit_of_work() as uow:
        assert [uow.orders.query(q, START) for q in _RENEWING] == [
            ("SO-A", "SO-B"), ("SO-B",), ("SO-B",), (),
        ]  # fmt: skip
    assert len(asked) == len(_FILTERED) + len(_RENEWING)
    with contextlib.closing(sqlite3.connect(path)) as db:
        for sql, params in asked:
            plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
            scans = [step for step in plan if step.startswith("SCAN") and "INDEX" not in step]
            assert scans in ([], ["SCAN d"]), (sql, plan)  # d: the index's rows, not the table


def test_memory_checks_only_the_orders_an_index_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    """On memory, a query with a narrowing filter checks the orders of one index, not every
    stored order: two held among two hundred are two checks, and two with renewal work."""
    clock = ManualClock(START)
    store = InMemoryStore(keeps_journal=True)
    bo = BackOffice(store=store, journal=store.journal, settings=RULES, clock=clock,
                    processor=SimulatedProcessor(clock=clock))  # fmt: skip
    for n in range(200):
        _card_order(bo, f"SO-{n}", "10.00")
    for order_id in ("SO-50", "SO-150"):
        bo.place_hold(order_id, HoldCode.MANUAL, AGENT, reason="FRAUD")
    for order_id in ("SO-7", "SO-70"):
        _renewing(store, order_id)
    checked: list[str] = []

    def counted(keys: OrderKeys, in_doubt: bool, query: OrderQuery, now: datetime) -> bool:
        checked.append(keys.status.value)
        return matches(keys, in_doubt, query, now)

    monkeypatch.setattr(memory, "matches", counted)
    assert bo.orders(on_hold=True) == ("SO-50", "SO-150")
    assert len(checked) == 2
    assert bo.orders(status=OrderStatus.ON_HOLD, limit=1, after="SO-50") == ("SO-150",)
    assert len(checked) == 3
    with store.unit_of_work() as uow:
        assert uow.orders.query(OrderQuery(renew_before=START), START) == ("SO-7", "SO-70")
        # both filters narrow: the renewal index drives, the rest is checked on its orders
        both = OrderQuery(renew_before=START, authorized_before=START + EXPIRY)
        assert uow.orders.query(both, START) == ("SO-7", "SO-70")
    assert len(checked) == 7


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_version_7_database_takes_its_cancelled_orders_off_the_hold_queue(
    backend: str, tmp_path: Path
) -> None:
    """S4, X1: migration 8 takes the cancelled orders a version 7 database kept as held (a
    manual hold, and a check hold not lapsed, placed before the cancellation) off
    ``on_hold=True``, as orders cancelled since are; a held order not cancelled stays on."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            path = tmp_path / "v7.db"

            def opened() -> SqliteStore | PostgresStore:
                return SqliteStore(path, keeps_journal=True)

            def run(sql: str) -> object:
                with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
                    return db.execute(sql).fetchall()
        else:
            dsn = stack.enter_context(private_schema())

            def opened() -> SqliteStore | PostgresStore:
                return PostgresStore(dsn, keeps_journal=True)

            def run(sql: str) -> object:
                with psycopg.connect(dsn, autocommit=True) as db:
                    cursor = db.execute(sql)
                    return cursor.fetchall() if cursor.description is not None else []

        def back_office() -> BackOffice:
            store = opened()
            stack.callback(store.close)
            return BackOffice(store=store, journal=store.journal, processor=sim, clock=clock,
                              settings=RULES)  # fmt: skip

        bo = back_office()
        _four(bo)  # SO-B held by hand
        _card_order(bo, "SO-E")
        bo.place_hold("SO-E", HoldCode.MANUAL, AGENT, reason="FRAUD")
        bo.cancel_order("SO-E", AGENT)
        _check_order(bo, "SO-F")
        bo.cancel_order("SO-F", AGENT)
        # What version 7 wrote for them: held by the manual hold, and until the check's end
        until = micros(START + timedelta(days=2))
        run("UPDATE ocop_orders SET held = 1 WHERE order_id = 'SO-E'")
        run(f"UPDATE ocop_orders SET held_until = {until} WHERE order_id = 'SO-F'")  # noqa: S608
        run("DELETE FROM ocop_schema")
        run("INSERT INTO ocop_schema (version) VALUES (7)")
        assert bo.orders(on_hold=True) == ("SO-B", "SO-E", "SO-F")

        again = back_office()
        assert run("SELECT MAX(version) FROM ocop_schema") == [(SCHEMA_VERSION,)]
        assert again.orders(on_hold=True) == ("SO-B",)
        assert again.orders(on_hold=False) == ("SO-A", "SO-C", "SO-D", "SO-E", "SO-F")
        assert [hold.code for hold in again.order("SO-E").holds] == [HoldCode.MANUAL]
