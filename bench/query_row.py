"""The query row: ``bo.orders(on_hold=True)`` among many stored orders against among few."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from harness import Progress, Row, interleave, ms, timed

from fixtures import place, sqlite
from ocop import Actor, BackOffice, HoldCode

ROUNDS = 7
QUERIES = 20  # queries per round
HELD = 100  # orders on hold, in both stores
STORED_SMALL = 100
STORED_LARGE = 100_000
_COLUMNS = "order_id, version, body, held, held_until, status, authorized_from"


def _seed(path: Path, stored: int) -> BackOffice:
    """A SQLite back office holding ``stored`` orders, :data:`HELD` of them on hold, spread
    evenly among the rest.

    Two real orders are placed, one put on a manual hold; the stored orders are copies of
    their rows (body and query columns) under other order ids, inserted in bulk: what the
    store would hold after that many orders, without placing them.
    """
    bo = sqlite(path)
    place(bo, "QHELD", "10.00")
    place(bo, "QFREE", "10.00")
    bo.place_hold("QHELD", HoldCode.MANUAL, Actor.call_center("bench"), reason="FRAUD")
    connection = sqlite3.connect(str(path))
    try:
        rows = {
            row[0]: row
            for row in connection.execute(f"SELECT {_COLUMNS} FROM ocop_orders")  # noqa: S608
        }
        every = stored // HELD
        copies = []
        for n in range(stored):
            model = rows["QHELD" if n % every == 0 and n // every < HELD else "QFREE"]
            order_id = f"{model[0]}-{n}"
            copies.append((order_id, model[1], model[2].replace(model[0], order_id), *model[3:]))
        with connection:
            connection.execute("DELETE FROM ocop_orders")  # the copies stand in for the two
            connection.executemany(
                f"INSERT INTO ocop_orders ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                copies,
            )
        total, held = connection.execute("SELECT COUNT(*), SUM(held) FROM ocop_orders").fetchone()
        if (total, held) != (stored, HELD):
            raise RuntimeError(f"seeded {total} orders, {held} held; not {stored}, {HELD}")
    finally:
        connection.close()
    if len(bo.orders(on_hold=True)) != HELD:
        raise RuntimeError("the seeded store does not list the held orders")
    return bo


def orders_on_hold(progress: Progress) -> Row:
    progress.start(
        f"SQLite: bo.orders(on_hold=True) among {STORED_LARGE:,} orders vs among "
        f"{STORED_SMALL}, {HELD} held in each"
    )
    progress.note(
        f"{ROUNDS} interleaved rounds of {QUERIES} queries each; orders seeded as bulk "
        "copies of two real orders' rows (one held)"
    )
    with tempfile.TemporaryDirectory() as folder:
        small = _seed(Path(folder) / "small.db", STORED_SMALL)
        large = _seed(Path(folder) / "large.db", STORED_LARGE)

        def ask(bo: BackOffice) -> float:
            def queries() -> None:
                for _ in range(QUERIES):
                    bo.orders(on_hold=True)

            return timed(queries) / QUERIES

        pair = interleave(lambda: ask(small), lambda: ask(large), ROUNDS)
    ratio = pair.slowdown
    progress.done(
        f"{STORED_SMALL}: {ms(pair.baseline)}, {STORED_LARGE:,}: {ms(pair.subject)} "
        f"per query -> {ratio:.2f}x"
    )
    return Row(
        f"bo.orders(on_hold=True) with {STORED_LARGE:,} orders ÷ with {STORED_SMALL}, "
        f"{HELD} held (SQLite)",
        f"{ratio:.2f}x",
        "≤ 2x",
    )
