"""The review list looked up by order and by dispute (:class:`~ocop.ports.store.
ReviewByOrder`): exactly what filtering the whole list gives, on memory, SQLite and
PostgreSQL; a database of schema version 6 holding review rows is upgraded in place."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from review_support import undo_review_lookups

from ocop.adapters._sql import SCHEMA_VERSION
from ocop.adapters.memory import InMemoryStore
from ocop.adapters.postgres import PostgresStore
from ocop.adapters.sqlite import SqliteStore
from ocop.domain.notifications import Notification, NotificationEvent
from ocop.ports.store import ReviewByOrder
from ocop.testing._review_contract import AT
from pg_support import private_schema

Store = InMemoryStore | SqliteStore | PostgresStore

KEYS = ("", "SO-1/capture/INV-1/1", "SO-1/authorize/L1/1", "SO-2/capture/INV-9/2", "SO-2",
        "/odd", "SO%2F3/refund/R-1/1", "SO-10/capture/INV-1/1")  # fmt: skip
ORDER_KEYS = ("", "SO-1", "SO-2", "SO-10", "SO%2F3", "SO", "odd")
DISPUTES = ("", "D-1", "D-2")
EVENTS = tuple(NotificationEvent)


def _order_part(key: str) -> str:
    return key.split("/", 1)[0]


kept_lists = st.lists(
    st.tuples(st.sampled_from(KEYS), st.sampled_from(EVENTS), st.sampled_from(DISPUTES)),
    max_size=12,
)
questions = st.tuples(
    st.frozensets(st.sampled_from(ORDER_KEYS)),
    st.frozensets(st.sampled_from(EVENTS)),
    st.sampled_from((*DISPUTES, "D-3")),
)


@attrs.frozen
class Kind:
    """Stores of one kind: ``fresh()`` an empty one (the SQL ones emptied, not made again),
    ``run`` SQL on its tables (nothing for memory), ``reopen()`` a new store over them."""

    fresh: Callable[[], Store]
    run: Callable[[str], list[tuple[Any, ...]]]
    reopen: Callable[[], Store]


POSTGRES = pytest.param("postgres", marks=pytest.mark.postgres)


@pytest.fixture(params=["memory", "sqlite", POSTGRES])
def kind(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Kind]:
    if request.param == "memory":
        yield Kind(InMemoryStore, lambda _: [], InMemoryStore)
        return
    with _sql_kind(request.param, tmp_path) as made:
        yield made


@pytest.fixture(params=["sqlite", POSTGRES])
def sql_kind(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Kind]:
    """The SQL stores only: what a migration upgrades."""
    with _sql_kind(request.param, tmp_path) as made:
        yield made


@contextlib.contextmanager
def _sql_kind(name: str, tmp_path: Path) -> Iterator[Kind]:
    with contextlib.ExitStack() as stack:
        if name == "sqlite":
            path = tmp_path / "review.db"

            def opened() -> SqliteStore | PostgresStore:
                return SqliteStore(path)

            def run(sql: str) -> list[tuple[Any, ...]]:
                with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
                    return db.execute(sql).fetchall()
        else:
            dsn = stack.enter_context(private_schema())

            def opened() -> SqliteStore | PostgresStore:
                return PostgresStore(dsn)

            def run(sql: str) -> list[tuple[Any, ...]]:
                with psycopg.connect(dsn, autocommit=True) as db:
                    cursor = db.execute(sql)
                    return cursor.fetchall() if cursor.description is not None else []

        def reopen() -> Store:
            made = opened()
            stack.callback(made.close)
            return made

        sql = reopen()

        def emptied() -> Store:
            run("DELETE FROM ocop_review")
            return sql

        yield Kind(emptied, run, reopen)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kept=kept_lists, asked=st.lists(questions, min_size=1, max_size=4))
def test_the_lookups_list_what_filtering_the_whole_list_gives(
    kind: Kind,
    kept: list[tuple[str, NotificationEvent, str]],
    asked: list[tuple[frozenset[str], frozenset[NotificationEvent], str]],
) -> None:
    """By order key (the key's part before its first "/", "" for none) and event, and by
    dispute and event: the entries of the whole list that match, in the order kept."""
    store: Store = kind.fresh()
    lookup: ReviewByOrder = store
    for at, (key, event, dispute) in enumerate(kept):
        store.keep_for_review(Notification(notification_id=f"N-{at}", event=event, key=key,
                                           at=AT, dispute=dispute))  # fmt: skip
    whole = store.kept_for_review()
    for order_keys, events, dispute in asked:
        assert lookup.kept_for_review_of(order_keys, events) == tuple(
            n for n in whole if _order_part(n.key) in order_keys and n.event in events
        )
        assert lookup.kept_for_dispute(dispute, events) == tuple(
            n for n in whole if dispute and n.dispute == dispute and n.event in events
        )


def test_a_version_6_database_holding_review_rows_is_upgraded_in_place(sql_kind: Kind) -> None:
    """Rows kept by this version, the lookup columns and indexes then removed as version 6
    had none: reopened, the rows are all there and each is found by its order and dispute."""
    kind = sql_kind
    store = kind.fresh()
    shapes = [(k, e, d) for k in KEYS for e in EVENTS[:3] for d in DISPUTES[:2]]
    kept = [
        Notification(notification_id=f"N-{at}", event=e, key=k, at=AT, dispute=d)
        for at, (k, e, d) in enumerate(shapes)
    ]
    for notification in kept:
        store.keep_for_review(notification)
    undo_review_lookups(kind.run)
    kind.run("DELETE FROM ocop_schema")
    kind.run("INSERT INTO ocop_schema (version) VALUES (6)")

    again = kind.reopen()
    assert again.kept_for_review() == tuple(kept)
    assert kind.run("SELECT MAX(version) FROM ocop_schema") == [(SCHEMA_VERSION,)]
    for order_key in ORDER_KEYS:
        assert again.kept_for_review_of({order_key}, EVENTS) == tuple(
            n for n in kept if _order_part(n.key) == order_key
        )
    assert again.kept_for_dispute("D-1", EVENTS) == tuple(n for n in kept if n.dispute == "D-1")
    rows = kind.run("SELECT notification_id, order_key, event, dispute FROM ocop_review")
    assert sorted(rows) == sorted(
        (n.notification_id, _order_part(n.key), n.event.value, n.dispute) for n in kept
    )
    later = Notification(notification_id="N-later", event=EVENTS[0], key="SO-2/x", at=AT)
    assert again.keep_for_review(later) is True
    assert again.kept_for_review_of({"SO-2"}, {EVENTS[0]})[-1] == later
