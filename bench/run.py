"""Issue 8's measures of the engine, each against a baseline measured in the same run
(and issue 11's: a query among many stored orders against among few).

``make bench`` runs every row of the issue's table (the PostgreSQL rows when the
server at ``OCOP_TEST_POSTGRES`` answers), printing a progress line as each
benchmark starts and ends, then the table: today's figure beside the issue's
bar. Rounds of a benchmark and of its baseline alternate; medians are compared.
Nothing is asserted: the figures are read, not tested.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import time

import imports_row
import memory_rows
import pg
import pg_rows
import query_row
import renewal_row
import sqlite_rows
import units_row
from harness import Progress, Row, say, table

BENCHMARKS = 13


def _postgres(progress: Progress, title: str, measure: str, bar: str, reason: str) -> Row:
    progress.start(title)
    progress.done(f"skipped: {reason}")
    return Row(measure, "skipped", bar)


def main() -> None:
    began = time.perf_counter()
    say(
        f"ocop benchmarks (issue 8 measures): Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs"
    )
    progress = Progress(BENCHMARKS)
    reason = pg.unreachable()
    rows = [sqlite_rows.invoice_against_insert(progress)]
    rows.append(sqlite_rows.invoice_sql_against_insert(progress))
    rows.append(sqlite_rows.pages_per_invoice(progress))
    if reason is None:
        with pg.private_schema() as conninfo:
            rows.append(pg_rows.invoice_against_insert(progress, conninfo))
            rows.append(pg_rows.invoice_sql_against_insert(progress, conninfo))
    else:
        rows.append(
            _postgres(progress, "PostgreSQL: invoice vs raw INSERT+COMMIT",
                      "PostgreSQL invoice throughput ÷ raw INSERT+COMMIT", "≥ 0.35", reason)
        )  # fmt: skip
        rows.append(
            _postgres(progress, "PostgreSQL: one invoice's own SQL vs raw INSERT+COMMIT",
                      "PostgreSQL: an invoice's own SQL alone ÷ raw INSERT+COMMIT", "(none)",
                      reason)
        )  # fmt: skip
    rows.append(memory_rows.order_life_against_dicts(progress))
    rows.append(memory_rows.refund_over_captures(progress))
    rows.append(sqlite_rows.invoice_among_vouchers(progress))
    if reason is None:
        with pg.private_schema() as conninfo:
            rows.append(pg_rows.workers_against_raw(progress, conninfo))
    else:
        rows.append(
            _postgres(progress, "PostgreSQL: worker processes vs raw INSERT+COMMIT",
                      "PostgreSQL 2/4/8 workers' scaling ÷ raw's", "≥ 0.8 at each", reason)
        )  # fmt: skip
    rows.append(imports_row.import_against_attrs(progress))
    rows.append(units_row.units_per_capture(progress))
    rows.append(query_row.orders_on_hold(progress))
    rows.append(renewal_row.renewal_job(progress))
    say("")
    for line in table(rows):
        say(line)
    say(f"\n{BENCHMARKS} benchmarks in {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
