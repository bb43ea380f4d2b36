"""Notifications kept for review in SQL (``ocop_review``): one row per id in the order
kept, its body the codec's text with no card number; racing keeps of one id store it once.
On SQLite and PostgreSQL (the store contract runs the rest, reopening included)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ocop.adapters._codec import dumps, loads
from ocop.adapters.postgres import PostgresStore
from ocop.adapters.sqlite import SqliteStore
from ocop.domain.cardnumbers import contains_card_number
from ocop.domain.errors import CardNumberRefused
from ocop.domain.notifications import Notification, NotificationEvent
from ocop.testing._review_contract import AT, chargeback, failed_outcome
from pg_support import private_schema

WORKERS = 8

Opened = tuple[Callable[[], SqliteStore | PostgresStore], Callable[[str], list[tuple[Any, ...]]]]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def opened(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opened]:
    """A way to open the store (each call a new store over the same tables), and to run
    SQL on its tables directly."""
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            path = tmp_path / "review.db"

            def store() -> SqliteStore | PostgresStore:
                return SqliteStore(path)

            def run(sql: str) -> list[tuple[Any, ...]]:
                with contextlib.closing(sqlite3.connect(path)) as db:
                    return db.execute(sql).fetchall()
        else:
            dsn = stack.enter_context(private_schema())

            def store() -> SqliteStore | PostgresStore:
                return PostgresStore(dsn)

            def run(sql: str) -> list[tuple[Any, ...]]:
                with psycopg.connect(dsn, autocommit=True) as db:
                    return db.execute(sql).fetchall()

        def closed_later() -> SqliteStore | PostgresStore:
            made = store()
            stack.callback(made.close)
            return made

        yield closed_later, run


def test_one_row_per_id_in_the_order_kept_holding_the_codec_text(opened: Opened) -> None:
    """Each row holds the id and the notification as the codec writes it (plain text,
    the amount as an exact string, no card number); rows follow the order kept."""
    open_store, run = opened
    store = open_store()
    kept = [chargeback("N-2"), failed_outcome("N-10"), chargeback("N-1", "0.05")]
    for notification in kept:
        store.keep_for_review(notification)
    store.keep_for_review(kept[0])
    rows = run("SELECT seq, notification_id, body FROM ocop_review ORDER BY seq")
    assert [notification_id for _, notification_id, _ in rows] == ["N-2", "N-10", "N-1"]
    assert [seq for seq, _, _ in rows] == sorted({seq for seq, _, _ in rows})
    for (_, _, body), notification in zip(rows, kept, strict=True):
        assert body == dumps(notification)
        assert loads(body, Notification) == notification
        assert not contains_card_number(body)
    assert json.loads(rows[0][2])["reason"] == kept[0].reason
    assert json.loads(rows[0][2])["amount"] == {"amount": "12.30", "currency": "USD"}
    assert json.loads(rows[1][2])["amount"] is None


def test_a_card_number_never_reaches_a_body(opened: Opened) -> None:
    """A reason carrying a card number is refused where the notification is made, naming
    the field only: nothing is kept."""
    open_store, run = opened
    store = open_store()
    with pytest.raises(CardNumberRefused) as refused:
        Notification(notification_id="N-1", event=NotificationEvent.CHARGEBACK, key="SO-1",
                     at=AT, reason="disputed by the holder of 4111 1111 1111 1111")  # fmt: skip
    assert "4111" not in str(refused.value)
    assert store.kept_for_review() == ()
    assert run("SELECT COUNT(*) FROM ocop_review") == [(0,)]


def test_racing_keeps_of_one_id_store_it_once(opened: Opened) -> None:
    """Workers, each with its own store, keep the same notification at once: one of them
    is told it is new, and one row holds it."""
    open_store, run = opened
    stores = [open_store() for _ in range(WORKERS)]
    notification = chargeback("N-1")
    barrier = threading.Barrier(WORKERS)
    answers: list[bool] = []
    lock = threading.Lock()

    def work(store: SqliteStore | PostgresStore) -> None:
        barrier.wait()
        new = store.keep_for_review(notification)
        with lock:
            answers.append(new)

    threads = [threading.Thread(target=work, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [False] * (WORKERS - 1) + [True]
    assert run("SELECT COUNT(*) FROM ocop_review") == [(1,)]
    assert stores[0].kept_for_review() == (notification,)
