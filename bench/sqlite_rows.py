"""SQLite rows: invoice throughput against raw commits, and invoices among many vouchers."""

from __future__ import annotations

import itertools
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from harness import Progress, Row, interleave, ms, timed
from replay import Batch, recorded, replay, same, statements

from fixtures import invoice_fresh_orders, place, sqlite, usd
from ocop import BackOffice

ROUNDS = 7
INVOICES = 30  # invoices per subject round (each on its own order, placed untimed)
INSERTS = 300  # raw single-row commits per baseline round
VOUCHERS_SMALL = 100
VOUCHERS_LARGE = 50_000
INVOICES_AMONG = 4  # invoices per round in the voucher benchmark
#: invoices whose statements are replayed: enough for the WAL to be checkpointed as it
#: is in the invoice benchmark's later rounds
REPLAYED = 240


def _connect(path: Path) -> sqlite3.Connection:
    """A connection set up as ocop's SQLite store sets up its own (autocommit, WAL, NORMAL)."""
    connection = sqlite3.connect(str(path), isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def _raw(path: Path) -> sqlite3.Connection:
    connection = _connect(path)
    connection.execute(
        "CREATE TABLE raw (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, "
        "body TEXT NOT NULL)"
    )
    return connection


#: The body of each raw row.
RAW_BODY = "x" * 400


def _insert(raw: sqlite3.Connection, row_id: str) -> None:
    """One raw single-row INSERT+COMMIT, as the store begins and commits."""
    raw.execute("BEGIN IMMEDIATE")
    raw.execute("INSERT INTO raw (id, body) VALUES (?, ?)", (row_id, RAW_BODY))
    raw.execute("COMMIT")


def _raw_commits(raw: sqlite3.Connection, ids: Iterator[int]) -> float:
    """Seconds per raw single-row INSERT+COMMIT."""

    def insert_all() -> None:
        for _ in range(INSERTS):
            _insert(raw, f"r{next(ids)}")

    return timed(insert_all) / INSERTS


def invoice_against_insert(progress: Progress) -> Row:
    progress.start("SQLite: invoice (one capture) vs raw single-row INSERT+COMMIT")
    progress.note(
        f"{ROUNDS} interleaved rounds: {INSERTS} raw commits | {INVOICES} invoices "
        "(journal_mode=WAL, synchronous=NORMAL, BEGIN IMMEDIATE, as SqliteStore)"
    )
    rounds = itertools.count()
    with tempfile.TemporaryDirectory() as folder:
        bo = sqlite(Path(folder) / "ocop.db")
        raw = _raw(Path(folder) / "raw.db")

        def baseline() -> float:
            return _raw_commits(raw, rounds)

        def subject() -> float:
            return invoice_fresh_orders(bo, f"SO-{next(rounds)}", INVOICES)

        pair = interleave(baseline, subject, ROUNDS)
        raw.close()
    ratio = pair.throughput
    progress.done(
        f"insert {ms(pair.baseline)}, invoice {ms(pair.subject)} -> throughput ratio {ratio:.3f}"
    )
    return Row(
        "SQLite invoice throughput ÷ raw INSERT+COMMIT, same PRAGMAs",
        f"{ratio:.3f} ({ms(pair.subject)} per invoice)",
        "≥ 0.15",
    )


def _seed(path: Path, vouchers: int) -> BackOffice:
    """A SQLite back office whose store holds ``vouchers`` posted vouchers.

    One real invoice writes the first, straight into the journal table (the store
    keeps the journal). The rest are copies of its journal row under other voucher
    and order ids, inserted in bulk: what the store would hold after that many
    invoices, without running them. The outbox gets as many rows marked posted, as
    a store whose vouchers went to an outside journal would hold.
    """
    bo = sqlite(path)
    place(bo, "SEED", "10.00")
    bo.invoice("SEED", "INV-1", usd("10.00"))
    connection = sqlite3.connect(str(path))
    try:
        ((voucher_id, order_id, body),) = connection.execute(
            "SELECT voucher_id, order_id, body FROM ocop_journal"
        ).fetchall()
        copies = [
            (
                voucher_id.replace(order_id, f"{order_id}-{n}"),
                f"{order_id}-{n}",
                body.replace(order_id, f"{order_id}-{n}"),
            )
            for n in range(vouchers - 1)
        ]
        with connection:
            connection.executemany(
                "INSERT INTO ocop_journal (voucher_id, order_id, body) VALUES (?, ?, ?)", copies
            )
            connection.executemany(
                "INSERT INTO ocop_outbox (voucher_id, posted, body) VALUES (?, 1, ?)",
                [(v, b) for v, _, b in [(voucher_id, order_id, body), *copies]],
            )
        counts = [
            connection.execute(f"SELECT COUNT(DISTINCT {column}) FROM {table}").fetchone()[0]  # noqa: S608
            for table, column in (
                ("ocop_journal", "voucher_id"),
                ("ocop_journal", "order_id"),
                ("ocop_outbox", "voucher_id"),
            )
        ]
        if counts != [vouchers] * 3:
            raise RuntimeError(f"seeded {counts} distinct journal/outbox rows, not {vouchers}")
    finally:
        connection.close()
    return bo


def invoice_among_vouchers(progress: Progress) -> Row:
    progress.start(
        f"SQLite: one invoice with {VOUCHERS_LARGE:,} posted vouchers vs with {VOUCHERS_SMALL}"
    )
    progress.note(
        f"{ROUNDS} interleaved rounds of {INVOICES_AMONG} invoices each; vouchers seeded as "
        "bulk copies of one real voucher (journal rows, and outbox rows marked posted)"
    )
    rounds = itertools.count()
    with tempfile.TemporaryDirectory() as folder:
        small = _seed(Path(folder) / "small.db", VOUCHERS_SMALL)
        large = _seed(Path(folder) / "large.db", VOUCHERS_LARGE)
        pair = interleave(
            lambda: invoice_fresh_orders(small, f"SO-{next(rounds)}", INVOICES_AMONG),
            lambda: invoice_fresh_orders(large, f"SO-{next(rounds)}", INVOICES_AMONG),
            ROUNDS,
        )
    ratio = pair.slowdown
    progress.done(
        f"{VOUCHERS_SMALL}: {ms(pair.baseline)}, {VOUCHERS_LARGE:,}: {ms(pair.subject)} "
        f"per invoice -> {ratio:.2f}x"
    )
    return Row(
        f"invoice with {VOUCHERS_LARGE:,} posted vouchers ÷ with {VOUCHERS_SMALL} (SQLite)",
        f"{ratio:.2f}x",
        "≤ 1.5x",
    )


def _replayed(snapshot: Path, copy: Path, batches: list[Batch], invoices: int) -> float:
    """Seconds per invoice of ``batches`` run by hand on a fresh copy of ``snapshot``."""
    for leftover in (copy, copy.with_name(copy.name + "-wal"), copy.with_name(copy.name + "-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(snapshot, copy)
    connection = _connect(copy)
    differ: list[Batch] = []
    try:
        took = timed(lambda: differ.extend(replay(connection.execute, batches)))
    finally:
        connection.close()
    same(differ)
    return took / invoices


def _placed(path: Path, count: int) -> tuple[BackOffice, list[str]]:
    """A back office on a new file at ``path`` with ``count`` one-card orders placed."""
    bo = sqlite(path)
    ids = [f"SO-{n}" for n in range(count)]
    for order_id in ids:
        place(bo, order_id, "10.00")
    return bo, ids


def invoice_sql_against_insert(progress: Progress) -> Row:
    """The ceiling of the invoice row: its SQL alone, with no Python of ocop around it."""
    progress.start("SQLite: one invoice's own SQL, replayed without ocop, vs raw INSERT+COMMIT")
    progress.note(
        f"the statements of {REPLAYED} invoices recorded once, then {ROUNDS} interleaved rounds: "
        f"{INSERTS} raw commits | the recorded statements run by hand on a copy of the "
        "database as it was before them"
    )
    rounds = itertools.count()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ocop.db"
        bo, ids = _placed(path, REPLAYED)
        checkpoint = sqlite3.connect(str(path))
        (busy, _, _) = checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        checkpoint.close()
        if busy:
            raise RuntimeError("the placed orders could not be checkpointed into the file")
        snapshot = Path(folder) / "snapshot.db"
        shutil.copyfile(path, snapshot)
        with recorded() as batches:
            for order_id in ids:
                bo.invoice(order_id, "INV-1", usd("10.00"))
        raw = _raw(Path(folder) / "raw.db")
        pair = interleave(
            lambda: _raw_commits(raw, rounds),
            lambda: _replayed(snapshot, Path(folder) / "replay.db", batches, REPLAYED),
            ROUNDS,
        )
        raw.close()
    ratio = pair.throughput
    progress.done(
        f"insert {ms(pair.baseline)}, an invoice's {statements(batches) // REPLAYED} statements "
        f"{ms(pair.subject)} -> throughput ratio {ratio:.3f} (no engine can do better on "
        "this schema and these commits)"
    )
    return Row(
        "SQLite: an invoice's own SQL alone ÷ raw INSERT+COMMIT (the ceiling of the row above)",
        f"{ratio:.3f} ({ms(pair.subject)}, {statements(batches) // REPLAYED} statements)",
        "(none: shows what the bar above needs)",
    )


PAGED = 40  # invoices (and as many raw commits) whose written pages are counted


def _pages(path: Path, write: Callable[[], object]) -> int:
    """The pages ``write`` adds to the emptied write-ahead log of the database at ``path``
    (few enough that no automatic checkpoint, at 1,000 pages, empties it meanwhile)."""
    reader = _connect(path)
    try:
        reader.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        write()
        (_, pages, _) = reader.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        reader.close()
    if not 0 < pages < 1000:
        raise RuntimeError(f"{pages} pages: the log was emptied while they were counted")
    return int(pages)


def pages_per_invoice(progress: Progress) -> Row:
    """What the SQL rows pay for on SQLite: the pages each commit writes, counted."""
    progress.start("SQLite: pages an invoice writes vs a raw INSERT+COMMIT")
    progress.note(
        f"{PAGED} invoices, then {PAGED} raw commits, each run on an emptied write-ahead log "
        "whose pages are counted (a commit writes each page it changed, whole)"
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ocop.db"
        bo, ids = _placed(path, PAGED)
        invoiced = _pages(path, lambda: [bo.invoice(i, "INV-1", usd("10.00")) for i in ids])
        raw = _raw(Path(folder) / "raw.db")
        try:

            def inserts() -> None:
                for n in range(PAGED):
                    _insert(raw, f"r{n}")

            inserted = _pages(Path(folder) / "raw.db", inserts)
        finally:
            raw.close()
    invoice, insert = invoiced / PAGED, inserted / PAGED
    progress.done(
        f"invoice {invoice:.1f} pages in its 2 commits, raw insert {insert:.1f} -> "
        f"{invoice / insert:.1f}x"
    )
    return Row(
        "SQLite: pages written per invoice ÷ per raw INSERT+COMMIT (what the SQL rows pay for)",
        f"{invoice / insert:.1f}x ({invoice:.1f} pages in 2 commits, raw {insert:.1f})",
        "(none: counted, not timed)",
    )
