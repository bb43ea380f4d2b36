"""A PostgreSQL server with no connection free for one more (E3): a threaded host whose
threads outnumber what the server (or the role, or the database) allows. The server
refuses the connection while it starts, where psycopg gives the error no SQLSTATE: it is
told by the server's text, and is a contention to retry (``StorageBusy``), as the
SQLSTATE it stands for (53300) is, not a server that cannot be reached."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from ocop import StorageBusy
from ocop.adapters.postgres import PostgresStore
from pg_support import private_schema, server, with_parameter

pytestmark = pytest.mark.postgres


@contextmanager
def role_with_one_connection() -> Iterator[str]:
    """A role that may hold one connection at a time; dropped afterwards (with what it owns)."""
    name = f"ocop_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server(), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {name} LOGIN NOSUPERUSER CONNECTION LIMIT 1")
    try:
        yield name
    finally:
        with psycopg.connect(server(), autocommit=True) as admin:
            admin.execute(f"DROP OWNED BY {name}")
            admin.execute(f"DROP ROLE {name}")


def test_no_connection_free_for_a_second_unit_of_work_is_storage_busy() -> None:
    """Two units of work open at once need two connections; the role may hold one: the
    second unit's first read raises StorageBusy (it used to be StorageUnavailable, "the
    connection to the database failed or was lost"), naming no role or server; the first
    unit and later ones read and write as before."""
    with role_with_one_connection() as role, private_schema() as conninfo:
        schema = conninfo.rsplit("search_path%3D", 1)[-1]
        with psycopg.connect(server(), autocommit=True) as admin:
            admin.execute(f"GRANT ALL ON SCHEMA {schema} TO {role}")
        store = PostgresStore(with_parameter(conninfo, "user", role))
        try:
            with store.unit_of_work() as first:
                assert first.orders.ids() == ()  # holds the role's one connection
                with store.unit_of_work() as second, pytest.raises(StorageBusy) as busy:
                    second.orders.ids()
            assert role not in str(busy.value)
            assert "retry" in str(busy.value)
            with store.unit_of_work() as uow:
                assert uow.orders.ids() == ()
        finally:
            store.close()
