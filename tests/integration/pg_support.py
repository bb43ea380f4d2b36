"""A private PostgreSQL schema per test, on the server named by ``OCOP_TEST_POSTGRES``;
and a back office on each store, for tests that run on all three."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from ocop import BackOffice, Settings
from ocop.adapters.memory import InMemoryStore, ManualClock
from ocop.adapters.postgres import PostgresStore
from ocop.adapters.simulated import SimulatedProcessor
from ocop.adapters.sqlite import SqliteStore
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


def restarted(bo: BackOffice, settings: Settings) -> BackOffice:
    """``bo``'s back office started again over the same ports with other ``settings``."""
    ports = bo.ports
    return BackOffice(store=ports.store, journal=ports.journal, processor=ports.processor,
                      clock=ports.clock, settings=settings)  # fmt: skip


def with_parameter(conninfo: str, name: str, value: str) -> str:
    """``conninfo`` with one more URI query parameter."""
    separator = "&" if "?" in conninfo else "?"
    return f"{conninfo}{separator}{name}={quote(value)}"
