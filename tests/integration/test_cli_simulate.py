"""``ocop simulate`` on SQLite and PostgreSQL, in one process and with worker processes:
each run ends in a clean reconciliation. (Integration tests: they run whole workloads.)"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
import pytest

from ocop.adapters.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``ocop argv`` in this process, no environment variables read: status, out, err."""
    status = main(list(argv), environ={})
    captured = capsys.readouterr()
    return status, captured.out, captured.err


CLEAN = "store, processor records and journal agree to the cent"


def simulated(out: str) -> dict[str, str]:
    """The report's rows by name."""
    rows = {}
    for line in out.splitlines():
        name, _, text = line.partition("  ")
        if name.strip():
            rows[name.strip()] = text.strip()
    return rows


def test_simulate_in_one_process_ends_in_a_clean_reconciliation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One worker runs in this process: orders of the three channels with a fifth of the
    processor calls faulted, recovered, reconciled to the cent; progress on stderr."""
    status, out, err = run(capsys, "simulate", "--orders", "45", "--faults", "0.2",
                           "--seed", "3", "--db", f"sqlite:///{tmp_path / 'sim.db'}",
                           "--processor", f"sim:{tmp_path / 'sim'}")  # fmt: skip
    assert status == 0, out
    report = simulated(out)
    assert report["orders"] == "45: pos 15, ecommerce 15, call_center 15"
    assert report["differences"] == "none"
    assert report["in doubt now"] == "0"
    assert CLEAN in report["reconciliation"]
    assert int(report["faults injected"].split(":")[0]) > 0
    assert "orders/s" in report["throughput"]
    assert "orders 45/45 (100%)" in err
    assert "reconciling" in err


def test_simulate_twice_on_one_store_reconciles_each_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second run on the same store and simulator records reconciles its own orders."""
    url, folder = f"sqlite:///{tmp_path / 'sim.db'}", f"sim:{tmp_path / 'sim'}"
    argv = ("simulate", "--orders", "12", "--faults", "0.3", "--db", url, "--processor", folder)
    first = run(capsys, *argv)
    second = run(capsys, *argv)
    assert (first[0], second[0]) == (0, 0)
    assert simulated(second[1])["reconciliation"].startswith("12 orders")


def test_simulate_with_two_worker_processes_on_sqlite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two worker processes share one SQLite file, each with its simulator; the run ends
    with nothing in doubt and no difference."""
    status, out, _ = run(capsys, "simulate", "--orders", "60", "--faults", "0.2",
                         "--workers", "2", "--db", f"sqlite:///{tmp_path / 'sim.db'}",
                         "--processor", f"sim:{tmp_path / 'sim'}")  # fmt: skip
    assert status == 0, out
    report = simulated(out)
    assert report["differences"] == "none"
    assert CLEAN in report["reconciliation"]
    assert sorted(p.name for p in (tmp_path / "sim").glob("*.db")) == ["sim-w1.db", "sim-w2.db"]


@pytest.mark.postgres
def test_simulate_with_two_worker_processes_on_postgres(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two worker processes on a private PostgreSQL schema: a clean reconciliation."""
    server = os.environ.get("OCOP_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
    schema = f"ocop_test_{uuid.uuid4().hex[:12]}"
    try:
        status, out, _ = run(capsys, "simulate", "--orders", "60", "--faults", "0.2",
                             "--workers", "2", "--db", server, "--schema", schema,
                             "--processor", f"sim:{tmp_path / 'sim'}")  # fmt: skip
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    assert status == 0, out
    report = simulated(out)
    assert f"(schema {schema})" in report["store"]
    assert report["differences"] == "none"
    assert CLEAN in report["reconciliation"]
