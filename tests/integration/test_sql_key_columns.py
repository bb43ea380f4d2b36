"""A SQL store sets only the key columns that change, and every row keeps the right ones.

The store remembers the key columns of the rows it read or wrote, by version, and a write
names only the columns whose values change. Two back offices on one database, each with
its own memory of the rows, change the same orders in turn; after every change each row's
key columns are those of its body. And a write that finds the version it replaces
remembered names only what changed; one that does not names every column.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from durable_machines import Rows, stale_rows
from hypothesis import given, settings
from hypothesis import strategies as st

from ocop import (
    Actor,
    BackOffice,
    CardPayment,
    Channel,
    Customer,
    HoldCode,
    OcopError,
    Settings,
)
from ocop.adapters import _sql_session
from ocop.adapters._sql import SqlStore
from ocop.adapters._sql_schema import KEY_COLUMNS, key_columns
from ocop.adapters.memory import ManualClock
from ocop.adapters.postgres import PostgresStore
from ocop.adapters.simulated import SimulatedProcessor
from ocop.adapters.sqlite import SqliteStore
from ocop.domain.order import Hold, Order
from ocop.ports.store import OrderStore
from pg_support import private_schema
from worlds import START, card, usd

AGENT = Actor.call_center("agent-1")
ACTIONS = ("place", "hold", "release", "invoice", "doubt", "recover", "renewing", "renewed",
           "cancel", "wait")  # fmt: skip


@contextmanager
def two_stores(kind: str) -> Iterator[tuple[SqlStore, SqlStore, Rows]]:
    """Two stores on one database (each remembers rows on its own), and a way to read it."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "ocop.db"
            lite = (SqliteStore(path, keeps_journal=True), SqliteStore(path, keeps_journal=True))
            reader = sqlite3.connect(path)
            try:
                yield lite[0], lite[1], lambda sql: reader.execute(sql).fetchall()
            finally:
                reader.close()
                for opened in lite:
                    opened.close()
        return
    with private_schema() as dsn, psycopg.connect(dsn, autocommit=True) as connection:
        pg = (PostgresStore(dsn, keeps_journal=True), PostgresStore(dsn, keeps_journal=True))
        try:
            yield pg[0], pg[1], lambda sql: connection.execute(sql).fetchall()
        finally:
            for kept in pg:
                kept.close()


def _act(bo: BackOffice, store: OrderStore, sim: SimulatedProcessor, clock: ManualClock,
         ids: list[str], *, action: str, n: int) -> None:  # fmt: skip
    """One change; one the order refuses (an invoice of a cancelled order) is skipped."""
    target = ids[n % len(ids)] if ids else None
    try:
        if action == "place" or target is None:
            order_id = f"SO-{len(ids)}"
            amount = usd(f"{10 * (n + 3)}.00")
            bo.place_order(order_id, channel=Channel.ECOMMERCE, customer=Customer.guest(),
                           total=amount, payments=[CardPayment(card(), amount)])  # fmt: skip
            ids.append(order_id)
        elif action == "hold":
            bo.place_hold(target, HoldCode.MANUAL, AGENT, reason="FRAUD")
        elif action == "release":
            bo.release_hold(target, HoldCode.MANUAL, AGENT)
        elif action in {"invoice", "doubt"}:
            if action == "doubt":
                sim.script("capture", "timeout_after_success")
            bo.invoice(target, f"INV-{len(bo.order(target).invoices)}", usd("10.00"))
        elif action == "recover":
            bo.recover()
        elif action in {"renewing", "renewed"}:
            with store.unit_of_work() as uow:  # as the renewal job marks it (A1)
                order = uow.orders.get(target)
                line = order.lines[0].renewal(under_way=action == "renewing")
                uow.orders.update(order.with_line(line))
                uow.commit()
        elif action == "cancel":
            bo.cancel_order(target, AGENT)
        else:
            clock.advance(hours=8 * (n + 1))
    except OcopError:
        return


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
@settings(max_examples=25, deadline=None)
@given(
    history=st.lists(
        st.tuples(st.booleans(), st.sampled_from(ACTIONS), st.integers(0, 5)),
        min_size=1,
        max_size=14,
    )
)
def test_two_stores_changing_the_same_orders_keep_every_key_column(
    kind: str, history: list[tuple[bool, str, int]]
) -> None:
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    with two_stores(kind) as (first, second, rows):
        offices = [
            (BackOffice(store=store, journal=store.journal, settings=Settings.default(),
                        processor=sim, clock=clock), store)
            for store in (first, second)
        ]  # fmt: skip
        ids: list[str] = []
        for use_second, action, n in history:
            bo, store = offices[use_second]
            _act(bo, store, sim, clock, ids, action=action, n=n)
            assert stale_rows(rows) == []


@contextmanager
def order_updates() -> Iterator[list[str]]:
    """The SQL of every ``UPDATE ocop_orders`` a store sends meanwhile."""
    sent: list[str] = []
    batch_rows = _sql_session.Session.batch_rows

    def spying(
        self: _sql_session.Session, statements: Sequence[_sql_session.Statement]
    ) -> list[tuple[list[tuple[Any, ...]], int]]:
        sent.extend(s.sql for s in statements if s.sql.startswith("UPDATE ocop_orders SET body"))
        return batch_rows(self, statements)

    _sql_session.Session.batch_rows = spying  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        _sql_session.Session.batch_rows = batch_rows  # type: ignore[method-assign]


def _named(sql: str) -> list[str]:
    return [column for column in KEY_COLUMNS if f" {column} = ?" in sql]


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[Callable[[], SqliteStore]]:
    """Stores on one SQLite file (each remembering rows on its own), closed after the test,
    which then checks every row's key columns."""
    path = tmp_path / "ocop.db"
    opened: list[SqliteStore] = []

    def store() -> SqliteStore:
        opened.append(SqliteStore(path, keeps_journal=True))
        return opened[-1]

    try:
        yield store
        with closing(sqlite3.connect(path)) as reader:
            assert stale_rows(lambda sql: reader.execute(sql).fetchall()) == []
    finally:
        for each in opened:
            each.close()


def _placed(store: SqliteStore) -> Order:
    """SO-1, placed and authorized through a back office on ``store``; as stored."""
    clock = ManualClock(START)
    bo = BackOffice(store=store, journal=store.journal, processor=SimulatedProcessor(clock=clock),
                    clock=clock)  # fmt: skip
    amount = usd("30.00")
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=amount, payments=[CardPayment(card(), amount)])  # fmt: skip
    return bo.order("SO-1")


def _held(order: Order) -> Order:
    return order.with_hold(Hold(code=HoldCode.MANUAL, reason="FRAUD", placed_at=START))


def test_a_write_names_only_the_key_columns_that_change(
    lite: Callable[[], SqliteStore],
) -> None:
    """A hold changes the order's held column only (the status column is its status apart
    from holds): the store that read the order names that one."""
    store = lite()
    _placed(store)
    with order_updates() as sent, store.unit_of_work() as uow:
        uow.orders.update(_held(uow.orders.get("SO-1")))
        uow.commit()
    assert [_named(sql) for sql in sent] == [["held"]]


def test_a_store_that_never_saw_the_version_names_every_column(
    lite: Callable[[], SqliteStore],
) -> None:
    _placed(lite())
    other = lite()
    with order_updates() as sent, other.unit_of_work() as uow:
        order = uow.orders.get("SO-1")
        other._known.forget(["SO-1"])  # as if the row were read before this store existed
        uow.orders.update(_held(order))
        uow.commit()
    assert [_named(sql) for sql in sent] == [list(KEY_COLUMNS)]


def test_what_is_remembered_of_another_version_is_not_used(
    lite: Callable[[], SqliteStore],
) -> None:
    """The store remembers the row at the version before the one the write replaces, with
    the very columns the write brings (were it used, no column would be set): the write
    names every column, and the row ends right."""
    store = lite()
    _placed(store)
    with order_updates() as sent, store.unit_of_work() as uow:
        order = uow.orders.get("SO-1")
        held = _held(order)
        store._known.keep("SO-1", order.version - 1, key_columns(held))
        uow.orders.update(held)
        uow.commit()
    assert [_named(sql) for sql in sent] == [list(KEY_COLUMNS)]


def test_writes_that_follow_their_commits_without_a_read_set_what_changed(
    lite: Callable[[], SqliteStore],
) -> None:
    """A hold, then its release, each written from the order the last commit returned (as
    the engine goes on from it): each names the held column, and the row ends right."""
    store = lite()
    order = _placed(store)
    sent: list[str] = []
    for change in (_held, lambda o: o.without_hold(HoldCode.MANUAL)):
        with order_updates() as named, store.unit_of_work() as uow:
            uow.orders.update(change(order))
            order = uow.commit().orders["SO-1"]
        sent += named
    assert [_named(sql) for sql in sent] == [["held"], ["held"]]


def test_a_write_that_fails_leaves_nothing_remembered(lite: Callable[[], SqliteStore]) -> None:
    """A write that loses its version race is rolled back, and the store no longer uses what
    it knew of the row (a precaution): its next write names every key column."""
    store, other = lite(), lite()
    _placed(store)
    with store.unit_of_work() as uow:
        order = uow.orders.get("SO-1")
    with other.unit_of_work() as uow:  # another worker changes it first
        uow.orders.update(uow.orders.get("SO-1"))
        uow.commit()
    with store.unit_of_work() as uow:
        uow.orders.update(_held(order))
        with pytest.raises(OcopError):
            uow.commit()
    assert store._known.at("SO-1", order.version) is None
