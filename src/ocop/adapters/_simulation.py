"""``ocop simulate``: a workload with faults, on a real store, ending in a reconciliation.

The workers (:mod:`ocop.adapters._workload`, one process each, started with ``spawn``;
one worker runs in this process) share the store and each drive a simulated processor
of their own, state file ``DIR/sim-w<n>.db`` for the service account ``sim-w<n>``. Once
they are all done, this process opens every simulator in ``DIR`` behind one router,
settles what is still pending (each notification to the back office), runs
``recover()``, and reconciles this run's orders (:mod:`ocop.adapters._reconciliation`).
The report goes to ``out``, progress to ``err``.
"""

from __future__ import annotations

import multiprocessing
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import TextIO

import attrs

from ocop._backoffice import BackOffice
from ocop.adapters._cli_wiring import (
    Database,
    NoProcessor,
    check_database,
    open_back_office,
    open_simulators,
)
from ocop.adapters._progress import Progress
from ocop.adapters._reconciliation import Reconciliation, order_ids, reconcile
from ocop.adapters._sql import SqlStore
from ocop.adapters._workload import CHANNELS, FAULTS, WorkerPlan, run_worker
from ocop.adapters.memory import SystemClock
from ocop.adapters.routing import ProcessorRouter
from ocop.domain.cardnumbers import mask
from ocop.domain.errors import InvalidArgument
from ocop.services._recovery import RecoveryReport

__all__ = ["Simulation", "orders_in_doubt", "simulate"]

#: How often the progress line is refreshed while workers run, in seconds.
_POLL = 0.2
_KINDS = ("authorize", "adjust", "capture", "void", "refund")

#: The progress counter a worker process shares with this one (set in each worker).
_SHARED: dict[str, Synchronized[int]] = {}


@attrs.frozen(kw_only=True)
class Simulation:
    """What ``ocop simulate`` was asked: orders, fault rate, workers, seed, where."""

    orders: int
    faults: float
    workers: int
    seed: int
    database: Database
    folder: Path


def simulate(options: Simulation, out: TextIO, err: TextIO) -> int:
    """Run the simulation and write its report; 0 when the reconciliation is clean."""
    began = time.perf_counter()
    run_id = f"S{uuid.uuid4().hex[:8]}"
    _close(open_back_office(options.database, NoProcessor(), create=True))  # schema, once
    options.folder.mkdir(parents=True, exist_ok=True)
    plans = _plans(options, run_id)
    progress = Progress("orders", options.orders, err)
    started = time.perf_counter()
    tally = _run(plans, progress)
    worked = time.perf_counter() - started
    progress.finish()

    clock = SystemClock()
    sims = open_simulators(options.folder, clock)
    bo = open_back_office(options.database, sims[0] if len(sims) == 1 else ProcessorRouter(sims))
    try:
        for sim in sims:
            for note in sim.settle_pending("approve"):
                bo.handle_notification(note)
                tally["notification:approve"] += 1
        recovery = bo.recover()
        prefix = f"{run_id}-"
        ids = order_ids(bo, prefix)
        kept = bo.notifications_for_review()
        tally["notification:kept for review"] = sum(n.key.startswith(prefix) for n in kept)
        checking = Progress("reconciling", len(ids), err)
        result = reconcile(bo, ids, sims, prefix, checking.update)
        checking.finish()
    finally:
        _close(bo)
        for sim in sims:
            sim.close()
    elapsed = time.perf_counter() - began
    out.write(
        _report(options=options, run_id=run_id, tally=tally, recovery=recovery, result=result,
                worked=worked, elapsed=elapsed)
    )  # fmt: skip
    return 0 if result.clean else 1


def orders_in_doubt(database: Database) -> int:
    """How many orders of ``database`` have a processor call without a definitive outcome
    (in doubt or pending; none in a database not made yet). ``simulate`` refuses to run
    on them: its final recovery would ask its own simulators, which never received an
    earlier run's calls and would answer so (N3)."""
    try:
        check_database(database)
    except InvalidArgument:  # not made yet, or empty: nothing in doubt there
        return 0
    bo = open_back_office(database, NoProcessor())
    try:
        return len(bo.orders(in_doubt=True))
    finally:
        _close(bo)


def _plans(options: Simulation, run_id: str) -> list[WorkerPlan]:
    """The workers' shares of the orders, as even as can be, in consecutive ranges."""
    share, extra = divmod(options.orders, options.workers)
    plans: list[WorkerPlan] = []
    first = 0
    for worker in range(1, options.workers + 1):
        count = share + (1 if worker <= extra else 0)
        account = f"sim-w{worker}"
        plans.append(
            WorkerPlan(
                run_id=run_id, worker=worker, first=first, count=count, faults=options.faults,
                seed=options.seed, database=options.database,
                state=options.folder / f"{account}.db", account=account,
            )
        )  # fmt: skip
        first += count
    return plans


def _run(plans: Sequence[WorkerPlan], progress: Progress) -> Counter[str]:
    """Every plan run, in this process for one, else one process each; the summed tally."""
    if len(plans) == 1:
        done = [0]

        def tick() -> None:
            done[0] += 1
            progress.update(done[0])

        return run_worker(plans[0], tick)
    context = multiprocessing.get_context("spawn")
    counter: Synchronized[int] = context.Value("q", 0)
    total: Counter[str] = Counter()
    with ProcessPoolExecutor(
        max_workers=len(plans), mp_context=context, initializer=_share, initargs=(counter,)
    ) as pool:
        futures = [pool.submit(_worker, plan) for plan in plans]
        running = set(futures)
        while running:
            finished, running = wait(running, timeout=_POLL, return_when=FIRST_EXCEPTION)
            progress.update(counter.value)
            for future in finished:
                total.update(future.result())  # a worker's error is raised here
    return total


def _share(counter: Synchronized[int]) -> None:
    _SHARED["orders"] = counter


def _tick() -> None:
    counter = _SHARED["orders"]
    with counter.get_lock():
        counter.value += 1


def _worker(plan: WorkerPlan) -> Counter[str]:
    return run_worker(plan, _tick)


def _close(bo: BackOffice) -> None:
    if isinstance(bo.ports.store, SqlStore):
        bo.ports.store.close()


def _counts(tally: Counter[str], prefix: str, names: Sequence[str]) -> str:
    return ", ".join(f"{name} {tally[f'{prefix}:{name}']}" for name in names)


def _report(
    *,
    options: Simulation,
    run_id: str,
    tally: Counter[str],
    recovery: RecoveryReport,
    result: Reconciliation,
    worked: float,
    elapsed: float,
) -> str:
    calls = sum(tally[f"calls:{kind}"] for kind in _KINDS)
    faults = (*FAULTS, "pending")
    differences = "none" if not result.differences else f"{len(result.differences)}:"
    rows = [
        ("run", f"{run_id}: {options.orders} orders, {options.workers} workers, "
                f"faults {options.faults:.2%} of processor calls, seed {options.seed}"),
        ("store", options.database.shown),
        ("processor", f"simulated, records in {mask(str(options.folder))}"),
        ("orders", f"{tally['orders']}: "
                   + _counts(tally, "channel", [c.value for c in CHANNELS])),
        ("", f"adjusted {tally['adjusted']}, cancelled {tally['cancelled']}, "
             f"invoices {tally['invoices']}, returns {tally['returns']}"),
        ("processor calls", f"{calls}: {_counts(tally, 'calls', _KINDS)}"),
        ("faults injected", f"{sum(tally[f'fault:{f}'] for f in faults)}: "
                            + _counts(tally, "fault", faults)),
        ("notifications", _counts(tally, "notification", ("approve", "decline"))
                          + f", kept for review {tally['notification:kept for review']} (a failed "
                          "pending void or adjustment: a person looks)"),
        ("left in doubt", f"{tally['left in doubt']} orders; recover() resolved "
                          f"{len(recovery.resolved)} calls, {len(recovery.still_in_doubt)} "
                          f"still in doubt, {len(recovery.for_reconciliation)} to reconcile "
                          f"by hand, {len(recovery.unapplied)} unapplied"),
        ("reconciliation", f"{result.orders} orders, {result.ledger_entries} processor "
                           f"records, {result.vouchers} vouchers: "
                           + ("store, processor records and journal agree to the cent"
                              if result.clean else "they disagree")),
        ("in doubt now", str(len(result.in_doubt))),
        ("differences", differences),
    ]  # fmt: skip
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {text}" for name, text in rows]
    lines.extend(f"  {line}" for line in result.differences)
    lines.extend(f"  in doubt: {order_id}" for order_id in result.in_doubt)
    rate = tally["orders"] / worked if worked > 0 else 0.0
    lines.append(
        f"{'throughput':<{width}}  {rate:,.1f} orders/s ({tally['orders']} orders in "
        f"{worked:.1f} s on {options.workers} workers); {elapsed:.1f} s in all, with "
        f"recovery and reconciliation"
    )
    return "\n".join(lines) + "\n"
