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
        found.append(Batch(((sql.replace("?", self.dialect.placeholder), tuple(params)),)))
        return run(self, sql, params)

    def recording_batch(
        self: _sql_session.Session, statements: Sequence[_sql_session.Statement]
    ) -> list[tuple[list[tuple[Any, ...]], int]]:
        if self.dialect.pipeline is not None:  # else each goes through run()
            sent = tuple(
                (s.sql.replace("?", self.dialect.placeholder), tuple(s.params)) for s in statements
            )
            found.append(Batch(sent, pipelined=True))
        return batch_rows(self, statements)

    Session.run = recording_run  # type: ignore[method-assign]
    Session.batch_rows = recording_batch  # type: ignore[method-assign]
    try:
        yield found
    finally:
        Session.run = run  # type: ignore[method-assign]
        Session.batch_rows = batch_rows  # type: ignore[method-assign]


def replay(
    execute: Callable[[str, tuple[object, ...]], Any],
    batches: Sequence[Batch],
    pipeline: Callable[[], AbstractContextManager[object]] | None = None,
) -> None:
    """Send ``batches`` again through ``execute`` (a connection's), reading every row; a
    pipelined batch inside ``pipeline()``, as the store sent it."""
    for batch in batches:
        if batch.pipelined and pipeline is not None:
            with pipeline():
                cursors = [execute(sql, params) for sql, params in batch.statements]
        else:
            cursors = [execute(sql, params) for sql, params in batch.statements]
        for cursor in cursors:
            if cursor.description is not None:
                cursor.fetchall()


def statements(batches: Sequence[Batch]) -> int:
    return sum(len(batch.statements) for batch in batches)
