"""Mixins that put a lifecycle state machine's back offices on SQLite or PostgreSQL.

A machine builds each back office in ``back_office()`` over its ``processor`` and ``clock``;
mixed in first, these build it on a fresh SQLite file or a fresh PostgreSQL schema
instead, and remove it at teardown::

    class LifecycleOnSqlite(OnSqlite, Lifecycle): ...

At teardown every order row of the run must hold the key columns of its body (a store
sets only the columns that change: :mod:`ocop.adapters._sql_orders`).
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any

import psycopg

from ocop import BackOffice, Settings
from ocop.adapters._codec import loads
from ocop.adapters._sql_schema import KEY_COLUMNS, key_columns
from ocop.adapters.memory import ManualClock
from ocop.adapters.postgres import PostgresJournal, PostgresStore
from ocop.domain.order import Order
from ocop.ports.processor import PaymentProcessor
from pg_support import private_schema

Rows = Callable[[str], list[tuple[Any, ...]]]


def stale_rows(rows: Rows) -> list[str]:
    """The orders whose key columns are not those of their body."""
    found = rows(f"SELECT order_id, body, {', '.join(KEY_COLUMNS)} FROM ocop_orders")  # noqa: S608
    return [
        order_id
        for order_id, body, *columns in found
        if list(columns) != key_columns(loads(body, Order))
    ]


class OnSqlite:
    """Every back office of the run lives in a fresh SQLite file."""

    processor: PaymentProcessor  # the machine's own
    clock: ManualClock
    settings: Settings

    def back_office(self) -> BackOffice:
        folder = Path(tempfile.mkdtemp(prefix="ocop-"))
        self.folders = [*getattr(self, "folders", []), folder]
        return BackOffice.sqlite(
            folder / "payments.db", settings=self.settings, processor=self.processor,
            clock=self.clock,
        )  # fmt: skip

    def teardown(self) -> None:
        """After the machine's own teardown, check every order row's key columns against its
        body, then remove the run's files."""
        super().teardown()  # type: ignore[misc]  # the machine's, next in the MRO
        try:
            for folder in getattr(self, "folders", []):
                if (folder / "payments.db").exists():  # else the run failed before, and says why
                    with closing(sqlite3.connect(folder / "payments.db")) as reader:
                        assert stale_rows(lambda sql: reader.execute(sql).fetchall()) == []
        finally:
            for folder in getattr(self, "folders", []):
                shutil.rmtree(folder, ignore_errors=True)


class OnPostgres:
    """Every back office of the run lives in a fresh schema, dropped at teardown."""

    processor: PaymentProcessor  # the machine's own
    clock: ManualClock
    settings: Settings

    def back_office(self) -> BackOffice:
        if not hasattr(self, "schemas"):
            self.schemas = ExitStack()
        conninfo = self.schemas.enter_context(private_schema())
        self.conninfos = [*getattr(self, "conninfos", []), conninfo]
        return BackOffice(
            store=PostgresStore(conninfo), processor=self.processor,
            journal=PostgresJournal(conninfo), settings=self.settings, clock=self.clock,
        )  # fmt: skip

    def teardown(self) -> None:
        """After the machine's own teardown, check every order row's key columns against its
        body, then drop the run's schemas."""
        super().teardown()  # type: ignore[misc]  # the machine's, next in the MRO
        try:
            for conninfo in getattr(self, "conninfos", []):
                with psycopg.connect(conninfo, autocommit=True) as reader:
                    assert stale_rows(lambda sql: reader.execute(sql).fetchall()) == []
        finally:
            if hasattr(self, "schemas"):
                self.schemas.close()
