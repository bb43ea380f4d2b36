"""The renewal row: ``bo.renew_authorizations()`` among many stored orders against among few."""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from harness import Progress, Row, interleave, ms, timed

from fixtures import place
from ocop import BackOffice
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor

ROUNDS = 5
DUE = 100  # orders whose authorization the job renews, in both stores
STORED_SMALL = 100
STORED_LARGE = 100_000


def _columns(connection: sqlite3.Connection) -> list[str]:
    """The orders table's columns but its row number (as many as this schema version has)."""
    return [row[1] for row in connection.execute("PRAGMA table_info(ocop_orders)")
            if row[1] != "seq"]  # fmt: skip


def _seed(path: Path, stored: int) -> BackOffice:
    """A SQLite back office holding ``stored`` orders, :data:`DUE` of them with an
    authorization the job renews now, the first ones placed.

    The due orders are placed for real (their authorizations are the simulated
    processor's); twelve days later one more order is placed, and the rest of the store
    are bulk copies of its row under other ids (fresh authorizations: nothing to do). The
    clock then stands a day later, when the first :data:`DUE` are due.
    """
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    bo = BackOffice.sqlite(path, processor=SimulatedProcessor(clock=clock), clock=clock)
    for n in range(DUE):
        place(bo, f"DUE-{n}", "10.00", number=n)
    clock.advance(days=12)
    place(bo, "FRESH", "10.00")
    connection = sqlite3.connect(str(path))
    try:
        columns = _columns(connection)
        names = ", ".join(columns)
        model = connection.execute(
            f"SELECT {names} FROM ocop_orders WHERE order_id = 'FRESH'"  # noqa: S608
        ).fetchone()
        body = columns.index("body")
        copies = []
        for n in range(stored - DUE):
            order_id = f"FRESH-{n}"
            row = list(model)
            row[0], row[body] = order_id, model[body].replace("FRESH", order_id)
            copies.append(row)
        with connection:
            connection.execute("DELETE FROM ocop_orders WHERE order_id = 'FRESH'")
            marks = ", ".join("?" for _ in columns)
            connection.executemany(
                f"INSERT INTO ocop_orders ({names}) VALUES ({marks})",  # noqa: S608
                copies,
            )
        (total,) = connection.execute("SELECT COUNT(*) FROM ocop_orders").fetchone()
        if total != stored:
            raise RuntimeError(f"seeded {total} orders, not {stored}")
    finally:
        connection.close()
    clock.advance(days=1, hours=1)
    return bo


def _run(folder: Path, stored: int) -> float:
    """Seconds one run of the job takes over a freshly seeded store (seeding not timed)."""
    bo = _seed(folder / f"renewals-{stored}.db", stored)
    found: list[int] = []
    took = timed(lambda: found.append(len(bo.renew_authorizations().renewed)))
    if found != [DUE]:
        raise RuntimeError(f"the job renewed {found}, not {DUE} orders")
    (folder / f"renewals-{stored}.db").unlink()
    return took


def renewal_job(progress: Progress) -> Row:
    progress.start(
        f"SQLite: bo.renew_authorizations() among {STORED_LARGE:,} orders vs among "
        f"{STORED_SMALL}, {DUE} due in each"
    )
    progress.note(
        f"{ROUNDS} interleaved rounds, each over a freshly seeded store (not timed): "
        f"{DUE} orders placed, the rest bulk copies of a fresh order's row"
    )
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        pair = interleave(
            lambda: _run(folder, STORED_SMALL), lambda: _run(folder, STORED_LARGE), ROUNDS
        )
    ratio = pair.slowdown
    progress.done(
        f"{STORED_SMALL}: {ms(pair.baseline)}, {STORED_LARGE:,}: {ms(pair.subject)} "
        f"per run -> {ratio:.2f}x"
    )
    return Row(
        f"bo.renew_authorizations() with {STORED_LARGE:,} orders ÷ with {STORED_SMALL}, "
        f"{DUE} due (SQLite)",
        f"{ratio:.2f}x",
        "≤ 2x",
    )
