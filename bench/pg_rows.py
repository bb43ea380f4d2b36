"""PostgreSQL rows: invoice throughput against raw commits, alone and in worker processes.

Run only when the server at ``OCOP_TEST_POSTGRES`` answers; everything lives in
a private schema dropped at the end.
"""

from __future__ import annotations

import itertools
import multiprocessing
import statistics
import time
from collections.abc import Callable, Iterator
from multiprocessing.queues import Queue
from typing import TYPE_CHECKING, Any

from harness import Progress, Row, interleave, ms, timed
from pg import private_schema
from replay import Batch, recorded, replay, same, statements

from fixtures import clock, invoice_fresh_orders, place, usd
from ocop import BackOffice
from ocop.adapters.simulated import SimulatedProcessor

if TYPE_CHECKING:
    import psycopg

ROUNDS = 7
INVOICES = 15  # invoices per subject round
INSERTS = 100  # raw commits per baseline round
REPLAYED = 100  # invoices whose statements are replayed by hand
WORKERS = (1, 2, 4, 8)
WORKER_ROUNDS = 5
WORKER_INVOICES = 20  # invoices per worker per trial
WORKER_INSERTS = 400  # raw commits per worker per trial
WAIT = 120  # seconds a trial may take before the crew is given up on (a worker died)
BODY = "x" * 400
RAW_TABLE = "CREATE TABLE IF NOT EXISTS bench_raw (id TEXT PRIMARY KEY, body TEXT NOT NULL)"


def _back_office(conninfo: str) -> tuple[BackOffice, Callable[[], None]]:
    """A back office on PostgreSQL, and what closes its connections."""
    from ocop.adapters.postgres import PostgresStore  # noqa: PLC0415

    now = clock()
    # The journal in the same database: its rows are written in the outcome's commit.
    store = PostgresStore(conninfo, keeps_journal=True)
    bo = BackOffice(
        store=store, processor=SimulatedProcessor(clock=now), journal=store.journal, clock=now
    )

    def close() -> None:
        store.close()

    return bo, close


def _raw(conninfo: str) -> psycopg.Connection[Any]:
    import psycopg  # noqa: PLC0415 - the postgres extra is optional

    connection = psycopg.connect(conninfo)
    connection.execute(RAW_TABLE)
    connection.commit()
    return connection


def _insert(connection: psycopg.Connection[Any], ids: list[str]) -> None:
    """One single-row INSERT and its COMMIT per id."""
    for row_id in ids:
        connection.execute("INSERT INTO bench_raw (id, body) VALUES (%s, %s)", (row_id, BODY))
        connection.commit()


def _raw_commits(raw: psycopg.Connection[Any], prefix: str, ids: Iterator[int]) -> float:
    """Seconds per raw single-row INSERT+COMMIT, over a round of them."""
    round_ids = [f"{prefix}{next(ids)}" for _ in range(INSERTS)]
    return timed(lambda: _insert(raw, round_ids)) / INSERTS


def invoice_against_insert(progress: Progress, conninfo: str) -> Row:
    progress.start("PostgreSQL: invoice (one capture) vs raw single-row INSERT+COMMIT")
    progress.note(f"{ROUNDS} interleaved rounds: {INSERTS} raw commits | {INVOICES} invoices")
    rounds = itertools.count()
    bo, close = _back_office(conninfo)
    raw = _raw(conninfo)
    try:

        def baseline() -> float:
            return _raw_commits(raw, "r", rounds)

        pair = interleave(
            baseline, lambda: invoice_fresh_orders(bo, f"SO-{next(rounds)}", INVOICES), ROUNDS
        )
    finally:
        raw.close()
        close()
    ratio = pair.throughput
    progress.done(
        f"insert {ms(pair.baseline)}, invoice {ms(pair.subject)} -> throughput ratio {ratio:.3f}"
    )
    return Row(
        "PostgreSQL invoice throughput ÷ raw INSERT+COMMIT",
        f"{ratio:.3f} ({ms(pair.subject)} per invoice)",
        "≥ 0.35",
    )


def _replayed(placing: list[Batch], invoicing: list[Batch]) -> float:
    """Seconds per invoice of the recorded ``invoicing`` run by hand in a fresh schema,
    after ``placing`` (untimed), each pipelined batch in one round trip as the store sent
    it."""
    import psycopg  # noqa: PLC0415 - the postgres extra is optional

    with private_schema() as conninfo:
        _, close = _back_office(conninfo)  # the store makes its tables
        close()
        connection = psycopg.connect(conninfo, autocommit=True)
        differ: list[Batch] = []
        try:
            same(replay(connection.execute, placing, connection.pipeline))
            took = timed(
                lambda: differ.extend(replay(connection.execute, invoicing, connection.pipeline))
            )
        finally:
            connection.close()
    same(differ)
    return took / REPLAYED


def invoice_sql_against_insert(progress: Progress, conninfo: str) -> Row:
    """The ceiling of the invoice row: its SQL alone, with no Python of ocop around it."""
    progress.start("PostgreSQL: one invoice's own SQL, replayed without ocop, vs raw INSERT+COMMIT")
    progress.note(
        f"the statements of {REPLAYED} invoices recorded once, then {ROUNDS} interleaved "
        f"rounds: {INSERTS} raw commits | the recorded statements sent by hand, in the same "
        "round trips, in a fresh schema where the orders were placed the same way"
    )
    rounds = itertools.count()
    bo, close = _back_office(conninfo)
    try:
        ids = [f"SO-{n}" for n in range(REPLAYED)]
        with recorded() as placing:
            for order_id in ids:
                place(bo, order_id, "10.00")
        with recorded() as invoicing:
            for order_id in ids:
                bo.invoice(order_id, "INV-1", usd("10.00"))
    finally:
        close()
    raw = _raw(conninfo)
    try:

        def baseline() -> float:
            return _raw_commits(raw, "ceiling-", rounds)

        pair = interleave(baseline, lambda: _replayed(placing, invoicing), ROUNDS)
    finally:
        raw.close()
    ratio = pair.throughput
    trips = len(invoicing) // REPLAYED
    progress.done(
        f"insert {ms(pair.baseline)}, an invoice's {statements(invoicing) // REPLAYED} "
        f"statements in {trips} round trips {ms(pair.subject)} -> throughput ratio "
        f"{ratio:.3f} (no engine can do better with these statements)"
    )
    return Row(
        "PostgreSQL: an invoice's own SQL alone ÷ raw INSERT+COMMIT (the ceiling of the row above)",
        f"{ratio:.3f} ({ms(pair.subject)}, {trips} round trips)",
        "(none: shows what the bar above needs)",
    )


# -- worker processes ------------------------------------------------------------------


def _work(conninfo: str, commands: Queue[Any], results: Queue[Any]) -> None:
    """A worker process: for each trial, get ready untimed, then run it when told to go."""
    bo: BackOffice | None = None
    raw: psycopg.Connection[Any] | None = None
    while (command := commands.get()) is not None:
        kind, prefix, count = command
        ids = [f"{prefix}-{n}" for n in range(count)]
        if kind == "ocop":
            bo = bo if bo is not None else _back_office(conninfo)[0]
            for order_id in ids:
                place(bo, order_id, "10.00")
        else:
            raw = raw if raw is not None else _raw(conninfo)
        results.put("ready")
        commands.get()  # go
        failures = 0
        for order_id in ids:
            try:
                if bo is not None and kind == "ocop":
                    bo.invoice(order_id, "INV-1", usd("10.00"))
                elif raw is not None:
                    _insert(raw, [order_id])
            except Exception:  # noqa: BLE001 - counted and reported, the trial goes on
                failures += 1
        results.put(failures)
    if raw is not None:
        raw.close()


class _Crew:
    """Long-lived worker processes (spawned once), driven trial by trial."""

    def __init__(self, conninfo: str, size: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._results: Queue[Any] = context.Queue()
        self._commands: list[Queue[Any]] = [context.Queue() for _ in range(size)]
        self._processes = [
            context.Process(target=_work, args=(conninfo, queue, self._results), daemon=True)
            for queue in self._commands
        ]
        for process in self._processes:
            process.start()
        self._trials = itertools.count()
        self.failures = 0

    def throughput(self, kind: str, workers: int, count: int) -> float:
        """Operations per second of ``workers`` workers doing ``count`` each at once."""
        trial = next(self._trials)
        for number in range(workers):
            self._commands[number].put((kind, f"{kind}{trial}w{number}", count))
        for _ in range(workers):
            self._results.get(timeout=WAIT)
        start = time.perf_counter()
        for number in range(workers):
            self._commands[number].put("go")
        self.failures += sum(self._results.get(timeout=WAIT) for _ in range(workers))
        return workers * count / (time.perf_counter() - start)

    def close(self) -> None:
        for queue in self._commands:
            queue.put(None)
        for process in self._processes:
            process.join(timeout=30)


def workers_against_raw(progress: Progress, conninfo: str) -> Row:
    progress.start("PostgreSQL: scaling of 2, 4, 8 worker processes vs raw INSERT+COMMIT")
    progress.note(
        f"{WORKER_ROUNDS} interleaved rounds per worker count; per worker and trial "
        f"{WORKER_INSERTS} raw commits | {WORKER_INVOICES} invoices on its own orders"
    )
    crew = _Crew(conninfo, max(WORKERS))
    seen: dict[tuple[str, int], list[float]] = {}
    try:
        for _ in range(WORKER_ROUNDS):
            for workers in WORKERS:
                for kind, count in (("raw", WORKER_INSERTS), ("ocop", WORKER_INVOICES)):
                    measured = crew.throughput(kind, workers, count)
                    seen.setdefault((kind, workers), []).append(measured)
    finally:
        crew.close()
    rate = {key: statistics.median(values) for key, values in seen.items()}
    figures, raws = [], []
    for workers in WORKERS[1:]:
        ours = rate["ocop", workers] / rate["ocop", 1]
        raw = rate["raw", workers] / rate["raw", 1]
        figures.append(f"{workers}: {ours / raw:.2f}")
        raws.append(f"{raw:.2f}x")
        progress.note(
            f"{workers} workers: ocop {rate['ocop', workers]:.0f}/s ({ours:.2f}x of 1), "
            f"raw {rate['raw', workers]:.0f}/s ({raw:.2f}x of 1) -> {ours / raw:.2f}"
        )
    failed = f"; {crew.failures} operation(s) failed" if crew.failures else ""
    progress.done(f"1 worker: ocop {rate['ocop', 1]:.0f}/s, raw {rate['raw', 1]:.0f}/s{failed}")
    return Row(
        "PostgreSQL 2/4/8 workers' scaling ÷ raw's",
        f"{', '.join(figures)} (raw scaled {', '.join(raws)}){failed}",
        "≥ 0.8 at each",
    )
