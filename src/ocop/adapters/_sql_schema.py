"""The SQL stores' schema: its version, the migrations that bring an older database up
to it in place, and its creation on a first start (under the dialect's lock)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ocop.adapters._codec import read_row
from ocop.adapters._pool import ConnectionPool
from ocop.adapters._sql_review import fill_columns as fill_review_columns
from ocop.adapters._sql_session import Dialect, Session
from ocop.domain.errors import (
    StorageBusy,
    StorageError,
    StorageUnavailable,
)
from ocop.domain.order import Order
from ocop.domain.queries import keys_of, micros

#: One step of a migration: a statement, or work done with the session (reading rows).
Step = str | Callable[["Session"], None]


def migrations(dialect: Dialect) -> tuple[tuple[Step, ...], ...]:
    """The schema's versions after the first: each a list of steps, in order.

    Version 2: operations carry their step and attempt as columns (the attempts of one
    step are found by index); indexes for every query the engine runs and no more, since
    each costs every commit a page: operations by order and step (which also serves
    by order alone), operations in doubt (a partial index: only the few in doubt),
    pending outbox rows, the journal by order.

    Version 3: orders carry their query keys as columns (:class:`~ocop.domain.queries.
    OrderKeys`, filled from each stored body, then kept by every write of the order),
    each with an index that holds only the orders it can list: held without end, the end
    of the latest lapsing hold, the status apart from holds, the oldest open authorization
    (times as microseconds since the epoch).

    Version 4: orders carry from when the renewal job (A1) has work on them
    (``renew_from``, indexed for the orders that have some), and ``ocop_claims`` holds the
    leases workers take on names (:meth:`~ocop.ports.store.OrderStore.claim`).

    Version 5: ``ocop_review`` keeps the processor notifications ocop could not apply, one
    row per notification id, in the order they were first kept
    (:meth:`~ocop.ports.store.OrderStore.keep_for_review`).

    Version 6: operations carry the processor's reference their answer gave
    (``reference``: :attr:`~ocop.domain.operations.Operation.reference`, filled from each
    stored body, then kept by every write of the operation), indexed for the operations
    that have one: a notification that names no key finds its operation by it (N2).

    Version 7: a notification kept for review carries what the back office looks it up
    by (:class:`~ocop.ports.store.ReviewByOrder`), filled from each stored body, then
    written with every row kept: the part of its key before the first "/" (``order_key``,
    its order's escaped id; "" with no key), its ``event`` and its ``dispute``; indexed by
    order key and event, and (for those with one) by dispute, so a settled call's kept
    notifications are found without reading the whole review list.

    Version 8: a cancelled order is not held (its holds are kept on record only, S4, X1):
    its ``held`` and ``held_until`` are cleared, as every write of one clears them since.

    The key columns are filled from the bodies once, by the last migration that adds one
    (4): :func:`fill_order_keys` writes every key column this code knows, so a database of
    any older version reads each body once and ends with every key right.
    """
    body = dialect.json_text  # column and field names written here, never input
    reference = body("body", "result.token.value")
    return (
        (
            "ALTER TABLE ocop_operations ADD COLUMN step TEXT",
            "ALTER TABLE ocop_operations ADD COLUMN attempt INTEGER",
            f"UPDATE ocop_operations SET step = {body('body', 'step')}",  # noqa: S608
            f"UPDATE ocop_operations SET attempt = CAST({body('body', 'attempt')} AS INTEGER)",  # noqa: S608
            "CREATE INDEX IF NOT EXISTS ocop_operations_by_step "
            "ON ocop_operations (order_id, step, attempt)",
            "CREATE INDEX IF NOT EXISTS ocop_operations_open "
            "ON ocop_operations (seq) WHERE in_doubt = 1",
            "DROP INDEX IF EXISTS ocop_operations_by_order",
            "DROP INDEX IF EXISTS ocop_operations_in_doubt",
            "CREATE INDEX IF NOT EXISTS ocop_outbox_pending ON ocop_outbox (seq) WHERE posted = 0",
            "CREATE INDEX IF NOT EXISTS ocop_journal_by_order ON ocop_journal (order_id, seq)",
        ),
        (
            "ALTER TABLE ocop_orders ADD COLUMN held INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE ocop_orders ADD COLUMN held_until BIGINT",
            "ALTER TABLE ocop_orders ADD COLUMN status TEXT",
            "ALTER TABLE ocop_orders ADD COLUMN authorized_from BIGINT",
            "CREATE INDEX IF NOT EXISTS ocop_orders_held "
            "ON ocop_orders (seq, order_id) WHERE held = 1",
            "CREATE INDEX IF NOT EXISTS ocop_orders_held_until "
            "ON ocop_orders (held_until, seq, order_id) WHERE held_until IS NOT NULL",
            "CREATE INDEX IF NOT EXISTS ocop_orders_by_status "
            "ON ocop_orders (status, seq, order_id)",
            "CREATE INDEX IF NOT EXISTS ocop_orders_authorized_from "
            "ON ocop_orders (authorized_from, seq, order_id) WHERE authorized_from IS NOT NULL",
            *dialect.extra_indexes,
        ),
        (
            "ALTER TABLE ocop_orders ADD COLUMN renew_from BIGINT",
            fill_order_keys,
            "CREATE INDEX IF NOT EXISTS ocop_orders_renew_from "
            "ON ocop_orders (renew_from, seq, order_id) WHERE renew_from IS NOT NULL",
            "CREATE TABLE IF NOT EXISTS ocop_claims (name TEXT PRIMARY KEY, "
            "holder TEXT NOT NULL, until BIGINT NOT NULL)",
        ),
        (
            f"CREATE TABLE IF NOT EXISTS ocop_review ({dialect.ordered_key('notification_id')}, "
            "body TEXT NOT NULL)",
        ),
        (
            "ALTER TABLE ocop_operations ADD COLUMN reference TEXT",
            f"UPDATE ocop_operations SET reference = {reference} "  # noqa: S608
            f"WHERE {reference} IS NOT NULL",
            "CREATE INDEX IF NOT EXISTS ocop_operations_by_reference "
            "ON ocop_operations (reference) WHERE reference IS NOT NULL",
        ),
        (
            "ALTER TABLE ocop_review ADD COLUMN order_key TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE ocop_review ADD COLUMN event TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE ocop_review ADD COLUMN dispute TEXT NOT NULL DEFAULT ''",
            fill_review_columns,
            "CREATE INDEX IF NOT EXISTS ocop_review_by_order "
            "ON ocop_review (order_key, event, seq)",
            "CREATE INDEX IF NOT EXISTS ocop_review_by_dispute "
            "ON ocop_review (dispute, event, seq) WHERE dispute <> ''",
        ),
        ("UPDATE ocop_orders SET held = 0, held_until = NULL WHERE status = 'cancelled'",),
    )


#: The orders' key columns, in the order :func:`key_columns` gives their values.
KEY_COLUMNS = ("held", "held_until", "status", "authorized_from", "renew_from")


def key_columns(order: Order) -> list[object]:
    """The values of :data:`KEY_COLUMNS` for ``order``."""
    keys = keys_of(order)
    return [
        1 if keys.held else 0,
        _micros_or_none(keys.held_until),
        keys.status.value,
        _micros_or_none(keys.authorized_from),
        _micros_or_none(keys.renew_from),
    ]


def _micros_or_none(moment: datetime | None) -> int | None:
    return None if moment is None else micros(moment)


def fill_order_keys(session: Session) -> None:
    """Migration 4 (and 3 before it): each stored order's key columns, from its body."""
    assignments = ", ".join(f"{column} = ?" for column in KEY_COLUMNS)
    rows, _ = session.run("SELECT order_id, body FROM ocop_orders")
    for order_id, body in rows:
        session.run(
            f"UPDATE ocop_orders SET {assignments} WHERE order_id = ?",  # noqa: S608 - our names
            [*key_columns(read_row(body, Order)), order_id],
        )


#: The schema version this code writes; older databases are migrated in place.
SCHEMA_VERSION = 8


def schema_version(session: Session) -> int:
    rows, _ = session.run("SELECT MAX(version) FROM ocop_schema")
    return int(rows[0][0]) if rows and rows[0][0] is not None else 1


def create_schema(dialect: Dialect, pool: ConnectionPool) -> None:
    """Create ocop's tables if they are missing, and migrate older ones in place."""
    session = Session(dialect, pool)

    def current() -> bool:
        """Whether the schema is at this ocop's version: the only case with no DDL to run."""
        try:
            return schema_version(session) == SCHEMA_VERSION
        except (StorageUnavailable, StorageBusy):
            raise
        except StorageError:
            if not session.run(dialect.has_table, ["ocop_schema"])[0]:
                return False  # no schema table yet: create it below
        # The table is there: another store's first start created it since the read (a
        # server's workers starting at once), or something else failed; read it once more,
        # and an error now is the table's own.
        return schema_version(session) == SCHEMA_VERSION

    def create() -> None:
        for statement in (*dialect.lock, *dialect.schema):
            session.run(statement)
        session.run("CREATE TABLE IF NOT EXISTS ocop_schema (version INTEGER NOT NULL)")
        version = schema_version(session)
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"the database's schema is version {version}, newer than this ocop's "
                f"({SCHEMA_VERSION}): upgrade ocop before opening it"
            )
        for number, statements in enumerate(migrations(dialect), start=2):
            if version < number:
                for step in statements:
                    if isinstance(step, str):
                        session.run(step)
                    else:
                        step(session)
        if version < SCHEMA_VERSION:  # one row per upgrade, in the same transaction
            session.run("INSERT INTO ocop_schema (version) VALUES (?)", [SCHEMA_VERSION])

    try:
        if not current():
            session.transaction(create)
    finally:
        session.close()
