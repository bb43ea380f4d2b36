"""The ``ocop`` command line on PostgreSQL: a command other than ``simulate`` opens an
ocop schema only, as it opens an ocop SQLite file only."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ocop import BackOffice
from ocop.adapters.cli import main
from ocop.adapters.memory import SystemClock
from ocop.adapters.simulated import SimulatedProcessor

pytestmark = pytest.mark.postgres

SERVER = os.environ.get("OCOP_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")

#: The commands that open a database they do not create.
COMMANDS = (("orders",), ("show", "SO-1"), ("journal", "export"), ("recover",))


@pytest.fixture
def names() -> Iterator[list[str]]:
    """Fresh schema names, each dropped afterwards if it was made."""
    made: list[str] = []
    yield made
    with psycopg.connect(SERVER, autocommit=True) as admin:
        for name in made:
            admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def fresh(names: list[str]) -> str:
    names.append(f"ocop_cli_{uuid.uuid4().hex[:12]}")
    return names[-1]


def schemas_and_tables(schema: str) -> tuple[bool, list[str]]:
    with psycopg.connect(SERVER, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]).fetchone()
        tables = admin.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", [schema]
        ).fetchall()
    return exists is not None, [row[0] for row in tables]


def run(capsys: pytest.CaptureFixture[str], tmp_path: Path, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv), environ={"OCOP_PROCESSOR": f"sim:{tmp_path / 'sim'}"})
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_a_schema_that_does_not_exist_is_refused_and_not_created(
    names: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A misspelt ``--schema`` (or ``?schema=``) is an error with status 2, not a new
    empty schema: nothing is created."""
    typo = fresh(names)
    for command in COMMANDS:
        for where in (("--db", SERVER, "--schema", typo), ("--db", f"{SERVER}?schema={typo}")):
            status, out, err = run(capsys, tmp_path, *command, *where)
            assert (status, out) == (2, ""), err
            assert "holds no ocop tables" in err
    assert schemas_and_tables(typo) == (False, [])


def test_another_programs_schema_is_refused_and_left_as_it_was(
    names: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A schema that holds another program's tables gets no ocop table written into it."""
    other = fresh(names)
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {other}")
        admin.execute(f"CREATE TABLE {other}.customers (id INTEGER PRIMARY KEY)")
    for command in COMMANDS:
        status, _, err = run(capsys, tmp_path, *command, "--db", SERVER, "--schema", other)
        assert status == 2, err
        assert "holds no ocop tables" in err
    assert schemas_and_tables(other) == (True, ["customers"])


def test_an_ocop_schema_is_opened(
    names: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A schema a back office made is opened by every command."""
    shop = fresh(names)
    (tmp_path / "sim").mkdir()
    sim = SimulatedProcessor(clock=SystemClock(), state=tmp_path / "sim" / "sa-1.db")
    BackOffice.postgres(SERVER, processor=sim, schema=shop).ports.store.close()  # type: ignore[attr-defined]
    sim.close()
    for command in (("orders",), ("journal", "export"), ("recover",)):
        status, _, err = run(capsys, tmp_path, *command, "--db", SERVER, "--schema", shop)
        assert status == 0, err


def test_simulate_writes_into_no_other_programs_schema(
    names: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``simulate`` creates its schema, or adds to an ocop one; a schema holding another
    program's tables is refused, status 2, no ocop table written into it."""
    other = fresh(names)
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {other}")
        admin.execute(f"CREATE TABLE {other}.customers (id INTEGER PRIMARY KEY)")
    status, out, err = run(capsys, tmp_path, "simulate", "--orders", "1", "--db", SERVER,
                           "--schema", other, "--processor", f"sim:{tmp_path / 'sim'}")  # fmt: skip
    assert (status, out) == (2, ""), err
    assert "holds no ocop tables, but another program's" in err
    assert schemas_and_tables(other) == (True, ["customers"])
