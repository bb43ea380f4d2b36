"""Structure, not timing: units of work and commits one invoice of one capture costs."""

from __future__ import annotations

import tempfile
from pathlib import Path

from harness import Progress, Row

from fixtures import clock, place, usd
from ocop import BackOffice
from ocop.adapters.memory import InMemoryStore
from ocop.adapters.simulated import SimulatedProcessor
from ocop.adapters.sqlite import SqliteStore
from ocop.testing.counting import CountingStore


def units_per_capture(progress: Progress) -> Row:
    progress.start("units of work per capture (one invoice, one capture, counted)")
    found = []
    with tempfile.TemporaryDirectory() as folder:
        for name, inner in (
            ("memory", InMemoryStore(keeps_journal=True)),
            ("SQLite", SqliteStore(Path(folder) / "units.db", keeps_journal=True)),
        ):
            counted = CountingStore(inner)
            now = clock()
            bo = BackOffice(store=counted, processor=SimulatedProcessor(clock=now),
                            journal=counted.journal, clock=now)  # fmt: skip
            place(bo, "SO-1", "10.00")
            counted.reset()
            result = bo.invoice("SO-1", "INV-1", usd("10.00"))
            # Counted before the check below: reading the journal is a unit of its own
            # (it reads the order too, to refuse an unknown one).
            units, commits = counted.units, counted.commits
            if len(result.captures) != 1 or len(bo.journal("SO-1")) != 1:
                raise RuntimeError("the invoice did not make one capture and one voucher")
            found.append(f"{units} ({commits} commits) on {name}")
    progress.done(", ".join(found) + "; the voucher written in the outcome's commit")
    return Row("units of work per capture", "; ".join(found), "≤ 3, 2 commits")
