"""Stores opened at once on a database no store has opened yet (E3, O5): a web server's
threads or workers each opening the back office as it starts. Every one of them starts;
none fails because another created the schema while it looked."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest

from ocop.adapters import _sql_schema
from ocop.adapters._sql_session import Session
from ocop.adapters.postgres import PostgresStore
from ocop.adapters.sqlite import SqliteStore
from ocop.ports.store import OrderStore
from pg_support import private_schema


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_store_whose_schema_another_start_created_while_it_looked_starts(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first start reads the schema version and finds no table; before it checks whether
    the table exists, another start creates the schema. It used to raise StorageError
    ("SQLite refused the statement", "no such table" under it): it now reads the version
    the other start wrote and opens the store."""
    with contextlib.ExitStack() as stack:
        if kind == "sqlite":
            path = tmp_path / "ocop.db"

            def open_store() -> OrderStore:
                return SqliteStore(path)
        else:
            conninfo = stack.enter_context(private_schema())

            def open_store() -> OrderStore:
                return PostgresStore(conninfo)

        real: Callable[[Session], int] = _sql_schema.schema_version
        rivals: list[OrderStore] = []
        looks: list[Session] = []

        def version_then_rival_starts(session: Session) -> int:
            looks.append(session)
            try:
                return real(session)
            finally:
                if len(looks) == 1:  # the first look only: the rival's own start runs as is
                    rivals.append(open_store())

        monkeypatch.setattr(_sql_schema, "schema_version", version_then_rival_starts)
        store = open_store()
        assert len(rivals) == 1
        with store.unit_of_work() as uow:
            assert uow.orders.ids() == ()
        with rivals[0].unit_of_work() as uow:
            assert uow.orders.ids() == ()
