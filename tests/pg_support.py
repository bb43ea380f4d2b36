"""A private PostgreSQL schema per test, on the server named by ``OCOP_TEST_POSTGRES``;
and a back office, or stores shared by workers, on each store, for tests that run on all
three."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from ocop import BackOffice, Settings
from ocop.adapters.memory import InMemoryStore, ManualClock
from ocop.adapters.postgres import PostgresStore
from ocop.adapters.simulated import SimulatedProcessor
from ocop.adapters.sqlite import SqliteStore
from ocop.ports.store import OrderStore
from worlds import START

DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


def server() -> str:
    """The test server's address (read when a test runs, never at import of ocop)."""
    return os.environ.get("OCOP_TEST_POSTGRES", DEFAULT)


@contextmanager
def private_schema() -> Iterator[str]:
    """A connection string whose search path is a fresh schema, dropped afterwards."""
    name = f"ocop_test_{uuid.uuid4().hex[:12]}"
    base = server()
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {name}")
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options={quote(f'-csearch_path={name}')}"
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {name} CASCADE")


#: The stores a test runs on: ``@pytest.fixture(params=STORES)``.
STORES = ("memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres))


@contextmanager
def back_office_on(
    kind: str, folder: Path
) -> Iterator[tuple[BackOffice, SimulatedProcessor, ManualClock]]:
    """A back office on a fresh store of ``kind`` (memory, sqlite or postgres) that keeps
    its journal, over a simulated processor and a manual clock at START."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    if kind == "memory":
        store = InMemoryStore(keeps_journal=True)
        yield BackOffice(store=store, journal=store.journal, processor=sim, clock=clock), sim, clock
    elif kind == "sqlite":
        lite = SqliteStore(folder / "ocop.db", keeps_journal=True)
        try:
            yield (
                BackOffice(store=lite, journal=lite.journal, processor=sim, clock=clock),
                sim,
                clock,
            )
        finally:
            lite.close()
    else:
        with private_schema() as dsn:
            pg = PostgresStore(dsn, keeps_journal=True)
            try:
                yield (
                    BackOffice(store=pg, journal=pg.journal, processor=sim, clock=clock),
                    sim,
                    clock,
                )
            finally:
                pg.close()


class Stores:
    """Stores of one kind (memory, sqlite or postgres) for one test, each keeping its
    journal: :meth:`new` opens one over a fresh database, :meth:`again` another over the
    same database (a second worker; in memory, the same store). Leaving the ``with``
    closes them and drops their schemas."""

    def __init__(self, kind: str, folder: Path) -> None:
        self.kind = kind
        self._folder = folder
        self._stack = ExitStack()
        self._addresses: dict[int, str] = {}

    def __enter__(self) -> Stores:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def new(self) -> InMemoryStore | SqliteStore | PostgresStore:
        """A store over a database of its own."""
        if self.kind == "memory":
            return InMemoryStore(keeps_journal=True)
        if self.kind == "sqlite":
            address = str(self._folder / f"ocop-{len(self._addresses)}.db")
        else:
            address = self._stack.enter_context(private_schema())
        return self._opened(address)

    def again(self, store: OrderStore) -> InMemoryStore | SqliteStore | PostgresStore:
        """Another worker's store over the database of ``store`` (one :meth:`new` made)."""
        if isinstance(store, InMemoryStore):
            return store
        return self._opened(self._addresses[id(store)])

    def _opened(self, address: str) -> SqliteStore | PostgresStore:
        store: SqliteStore | PostgresStore = (
            SqliteStore(address, keeps_journal=True) if self.kind == "sqlite"
            else PostgresStore(address, keeps_journal=True)
        )  # fmt: skip
        self._stack.callback(store.close)
        self._addresses[id(store)] = address
        return store


def restarted(bo: BackOffice, settings: Settings) -> BackOffice:
    """``bo``'s back office started again over the same ports with other ``settings``."""
    ports = bo.ports
    return BackOffice(store=ports.store, journal=ports.journal, processor=ports.processor,
                      clock=ports.clock, settings=settings)  # fmt: skip


def with_parameter(conninfo: str, name: str, value: str) -> str:
    """``conninfo`` with one more URI query parameter."""
    separator = "&" if "?" in conninfo else "?"
    return f"{conninfo}{separator}{name}={quote(value)}"
