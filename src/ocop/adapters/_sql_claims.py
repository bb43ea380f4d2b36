"""Claims in SQL tables (:meth:`~ocop.ports.store.OrderStore.claim`): one row of
``ocop_claims`` per name, written in one transaction that never waits for another claimer.

Where the dialect locks per name (PostgreSQL: a transaction-scoped advisory lock on a hash
of the schema and the name, tried without waiting), a claim first keeps the names it gets
the lock of: a name another transaction is claiming or releasing at that moment is not
claimed, and the upsert that follows then meets no row another transaction has written. A
release takes the same locks waiting, in sorted order (claims hold them only for their
short transaction, and never wait). Where the begin locks the database (SQLite's
``BEGIN IMMEDIATE``), the transaction has the claims to itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ocop.adapters._pool import ConnectionPool
from ocop.adapters._sql_session import Dialect, Session, Statement
from ocop.domain.queries import micros

#: A name is claimed when free, or once the claim on it ended, or when it is the holder's.
_UPSERT = (
    "INSERT INTO ocop_claims (name, holder, until) VALUES (?, ?, ?) "
    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until "
    "WHERE ocop_claims.until <= ? OR ocop_claims.holder = ?"
)


def claim(
    dialect: Dialect,
    pool: ConnectionPool,
    names: Sequence[str],
    holder: str,
    *,
    until: datetime,
    now: datetime,
) -> tuple[str, ...]:
    """The names of ``names`` claimed for ``holder`` until ``until``, in the order given."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return ()
    session = Session(dialect, pool)

    def claimed() -> tuple[str, ...]:
        free = wanted
        if dialect.try_lock_name is not None:
            locks = session.batch_rows([Statement(dialect.try_lock_name, [n]) for n in wanted])
            free = [name for name, (rows, _) in zip(wanted, locks, strict=True) if rows[0][0]]
            if not free:
                return ()
        ends, moment = micros(until), micros(now)
        counts = session.batch(
            [Statement(_UPSERT, [n, holder, ends, moment, holder]) for n in free]
        )
        return tuple(name for name, count in zip(free, counts, strict=True) if count == 1)

    try:
        return session.transaction(claimed)
    finally:
        session.close()


def release(dialect: Dialect, pool: ConnectionPool, names: Sequence[str], holder: str) -> None:
    """End ``holder``'s claims on ``names``."""
    wanted = sorted(set(names))
    if not wanted:
        return
    session = Session(dialect, pool)

    def released() -> None:
        statements: list[Statement] = []
        if dialect.lock_name is not None:
            statements += [Statement(dialect.lock_name, [name]) for name in wanted]
        statements += [
            Statement("DELETE FROM ocop_claims WHERE name = ? AND holder = ?", [name, holder])
            for name in wanted
        ]
        session.batch(statements)

    try:
        session.transaction(released)
    finally:
        session.close()
