"""The SQL a back office runs, recorded and run again by hand: what the statements alone
cost, with no Python of ocop around them (the ceiling of an invoice row)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import attrs

from ocop.adapters import _sql_session


@attrs.frozen
class Batch:
    """Statements sent together: one round trip when ``pipelined``, else one statement."""

    statements: tuple[tuple[str, tuple[object, ...]], ...]
    #: the count of rows each statement touched (or returned) when the store sent it
    counts: tuple[int, ...]
    pipelined: bool = False


@contextmanager
def recorded() -> Iterator[list[Batch]]:
    """Every statement ocop's SQL stores send meanwhile, with its parameters, as sent."""
    found: list[Batch] = []
    Session = _sql_session.Session  # noqa: N806 - the class patched
    run, batch_rows = Session.run, Session.batch_rows

    def recording_run(
        self: _sql_session.Session, sql: str, params: Sequence[object] = ()
    ) -> tuple[list[tuple[Any, ...]], int]:
        rows, count = run(self, sql, params)
        sent = ((sql.replace("?", self.dialect.placeholder), tuple(params)),)
        found.append(Batch(sent, (_count(rows, count),)))
        return rows, count

    def recording_batch(
        self: _sql_session.Session, statements: Sequence[_sql_session.Statement]
    ) -> list[tuple[list[tuple[Any, ...]], int]]:
        answers = batch_rows(self, statements)
        if self.dialect.pipeline is not None:  # else each went through run()
            sent = tuple(
                (s.sql.replace("?", self.dialect.placeholder), tuple(s.params)) for s in statements
            )
            counts = tuple(_count(rows, count) for rows, count in answers)
            found.append(Batch(sent, counts, pipelined=True))
        return answers

    Session.run = recording_run  # type: ignore[method-assign]
    Session.batch_rows = recording_batch  # type: ignore[method-assign]
    try:
        yield found
    finally:
        Session.run = run  # type: ignore[method-assign]
        Session.batch_rows = batch_rows  # type: ignore[method-assign]


def _count(rows: Sequence[object], count: int) -> int:
    """Rows returned by a query, rows touched by any other statement."""
    return len(rows) if rows else max(count, 0)


def replay(
    execute: Callable[[str, tuple[object, ...]], Any],
    batches: Sequence[Batch],
    pipeline: Callable[[], AbstractContextManager[object]] | None = None,
) -> list[Batch]:
    """Send ``batches`` again through ``execute`` (a connection's), reading every row; a
    pipelined batch inside ``pipeline()``, as the store sent it. The batches whose
    counts of rows differ from the recording's (none, when the replay did the same)."""
    differ: list[Batch] = []
    for batch in batches:
        if batch.pipelined and pipeline is not None:
            with pipeline():
                cursors = [execute(sql, params) for sql, params in batch.statements]
        else:
            cursors = [execute(sql, params) for sql, params in batch.statements]
        counts = tuple(
            _count(cursor.fetchall() if cursor.description is not None else [], cursor.rowcount)
            for cursor in cursors
        )
        if counts != batch.counts:
            differ.append(batch)
    return differ


def same(differ: Sequence[Batch]) -> None:
    """Refuse a replay that did not do what the recording did."""
    if differ:
        sql = differ[0].statements[0][0]
        raise RuntimeError(f"{len(differ)} replayed batch(es) touched other rows, first: {sql}")


def statements(batches: Sequence[Batch]) -> int:
    return sum(len(batch.statements) for batch in batches)
