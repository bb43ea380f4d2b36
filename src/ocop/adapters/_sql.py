"""What the SQL stores share: a staged-unit-of-work backend over a DB-API connection.

Each backend module (:mod:`ocop.adapters.sqlite`, :mod:`ocop.adapters.postgres`)
gives a :class:`Dialect` (how to begin, and its table definitions) and a pool of
connections.
The statements here are written with ``?`` placeholders and plain SQL both
backends speak (``INSERT ... ON CONFLICT DO NOTHING``). Uniqueness and versions
are enforced by the database (primary keys, ``UPDATE ... WHERE version = ?``) and
reported as the same errors the in-memory store raises (rule O5).

Every error of the database driver, from opening a connection to the commit, is
translated by the backend's :attr:`Dialect.translate` into a
:class:`~ocop.domain.errors.StorageError` (rule E3): the database cannot be reached
(:class:`~ocop.domain.errors.StorageUnavailable`), stayed busy
(:class:`~ocop.domain.errors.StorageBusy`), or cannot hold a value
(:class:`~ocop.domain.errors.StorageLimitExceeded`). A write that fails is rolled back
whole: nothing of the unit of work is stored.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from ocop.adapters import _sql_claims as sql_claims
from ocop.adapters import _sql_review as sql_review
from ocop.adapters._codec import dumps, read_row
from ocop.adapters._pool import ConnectionPool
from ocop.adapters._sql_orders import KnownKeys, OrderRows
from ocop.adapters._sql_queries import driving_index, filter_conditions
from ocop.adapters._sql_schema import KEY_COLUMNS, SCHEMA_VERSION, create_schema
from ocop.adapters._sql_session import Dialect, Session, Statement
from ocop.adapters._staged import Staged, StagedUnitOfWork
from ocop.domain.edge import check_bool
from ocop.domain.errors import (
    ConcurrentUpdate,
    IdempotencyConflict,
    OcopError,
    OrderNotFound,
)
from ocop.domain.journal import Voucher
from ocop.domain.notifications import Notification, NotificationEvent
from ocop.domain.operations import Operation
from ocop.domain.order import Order
from ocop.domain.queries import OrderQuery, micros
from ocop.domain.values import replaced

__all__ = ["SCHEMA_VERSION", "Dialect", "SqlBackend", "SqlJournal", "SqlStore"]


_ORDER_READ = f"SELECT body, version, {', '.join(KEY_COLUMNS)} FROM ocop_orders WHERE order_id = ?"  # noqa: S608


def _in_doubt_of(order_id: str) -> Statement:
    return Statement(
        "SELECT body FROM ocop_operations WHERE order_id = ? AND in_doubt = 1 ORDER BY seq",
        [order_id],
    )


class SqlBackend:
    """A :class:`~ocop.adapters._staged.Backend` in SQL tables, one connection at a time."""

    def __init__(
        self,
        dialect: Dialect,
        pool: ConnectionPool,
        *,
        keeps_journal: bool,
        known: KnownKeys | None = None,
    ) -> None:
        self.session = Session(dialect, pool)
        self.keeps_journal = keeps_journal
        #: the orders' rows written, setting only the key columns that change
        self.rows = OrderRows(self.session, known if known is not None else KnownKeys())
        #: operations in doubt read with an order, for the question that follows it
        self._doubt_ahead: dict[str, list[Operation]] = {}

    def _bodies(self, sql: str, params: Sequence[object] = ()) -> list[str]:
        rows, _ = self.session.run(sql, params)
        return [row[0] for row in rows]

    def _operations(self, sql: str, params: Sequence[object] = ()) -> list[Operation]:
        return [read_row(body, Operation) for body in self._bodies(sql, params)]

    def order(self, order_id: str) -> Order | None:
        read = Statement(_ORDER_READ, [order_id])
        if self.session.dialect.pipeline is None:
            rows, _ = self.session.run(read.sql, read.params)
        else:
            # One round trip: the order, and its operations in doubt, which the engine asks
            # for next whenever it is about to move money (O3).
            (rows, _), (doubt, _) = self.session.batch_rows([read, _in_doubt_of(order_id)])
            self._doubt_ahead[order_id] = [read_row(body, Operation) for (body,) in doubt]
        if not rows:
            return None
        body, version, *columns = rows[0]
        self.rows.known.keep(order_id, version, columns)
        order = read_row(body, Order)
        # A version claimed without a change leaves the body one version behind its column.
        return order if order.version == version else replaced(order, version=version)

    def order_ids(self) -> list[str]:
        return self._bodies("SELECT order_id FROM ocop_orders ORDER BY seq")

    def query(self, query: OrderQuery, now: datetime) -> list[str]:
        """The orders ``query`` lists at ``now``, in ``seq`` order: the rows one covering
        index gives for the most narrowing filter (:func:`driver`), checked against the
        other filters' conditions on the key columns (only then is the table read)."""
        after: list[object] = []
        if query.after is not None:
            rows, _ = self.session.run(
                "SELECT seq FROM ocop_orders WHERE order_id = ?", [query.after]
            )
            if not rows:
                raise OrderNotFound(query.after)
            after = [rows[0][0]]
        if query.limit is not None and query.limit <= 0:
            return []
        moment = micros(now)
        conditions = filter_conditions(query, moment)
        driver = driving_index(query, moment, after)
        params: list[object] = []
        if driver is None:
            sql = "SELECT o.order_id FROM ocop_orders AS o"
            if after:
                conditions["after"] = ("o.seq > ?", after)
        else:
            covered, found, params = driver
            for name in covered:
                del conditions[name]
            sql = f"SELECT d.order_id FROM ({found}) AS d"  # noqa: S608
            if conditions:
                sql += " JOIN ocop_orders AS o ON o.seq = d.seq"
        if conditions:
            sql += " WHERE " + " AND ".join(text for text, _ in conditions.values())
            for _, values in conditions.values():
                params += values
        # The driver's rows are sorted (+: never by scanning the table in seq order instead)
        sql += " ORDER BY o.seq" if driver is None else " ORDER BY +d.seq"
        if query.limit is not None:
            sql += " LIMIT ?"
            params.append(query.limit)
        return self._bodies(sql, params)

    def operation(self, key: str) -> Operation | None:
        found = self._operations("SELECT body FROM ocop_operations WHERE key = ?", [key])
        return found[0] if found else None

    def attempts(self, order_id: str, name: str) -> list[Operation]:
        return self._operations(
            "SELECT body FROM ocop_operations WHERE order_id = ? AND step = ? ORDER BY attempt",
            [order_id, name],
        )

    def operations_of(self, order_id: str) -> list[Operation]:
        return self._operations(
            "SELECT body FROM ocop_operations WHERE order_id = ? ORDER BY seq", [order_id]
        )

    def operations_in_doubt(self, order_id: str | None) -> list[Operation]:
        if order_id is not None and order_id in self._doubt_ahead:
            return self._doubt_ahead.pop(order_id)
        if order_id is None:
            return self._operations(
                "SELECT body FROM ocop_operations WHERE in_doubt = 1 ORDER BY seq"
            )
        read = _in_doubt_of(order_id)
        return self._operations(read.sql, read.params)

    def operations_by_reference(self, reference: str) -> list[Operation]:
        return self._operations(
            "SELECT body FROM ocop_operations WHERE reference = ? ORDER BY seq", [reference]
        )

    def pending_vouchers(self) -> list[Voucher]:
        bodies = self._bodies("SELECT body FROM ocop_outbox WHERE posted = 0 ORDER BY seq")
        return [read_row(body, Voucher) for body in bodies]

    def write(self, staged: Staged) -> tuple[Voucher, ...]:
        """One transaction: every statement sent at once (one round trip on PostgreSQL),
        then what each touched checked, then the commit."""
        to_post: list[Voucher] = []
        session = self.session
        statements = self._statements(staged, to_post)
        begin = Statement(session.dialect.begin)
        if session.dialect.pipeline is None:
            session.run(begin.sql)  # a busy database fails here, with nothing begun
        else:
            statements = [begin, *statements]  # sent with the rest
        try:
            counts = session.batch(statements)
            for statement, count in zip(statements, counts, strict=True):
                if statement.then is not None:
                    statement.then(count)
            session.run("COMMIT")
        except BaseException:
            session.rollback()  # E3: nothing of the unit of work is stored
            self.rows.failed()
            raise
        self.rows.committed()
        return tuple(to_post)

    def _statements(self, staged: Staged, to_post: list[Voucher]) -> list[Statement]:
        found: list[Statement] = []
        lock = self.session.dialect.new_orders_lock
        if lock is not None and any(expected is None for _, expected in staged.orders.values()):
            found.append(Statement(lock))  # new orders: seq in the order of their commits
        for order_id, (order, expected) in staged.orders.items():
            touched = order_id in staged.touched
            found.append(self.rows.write(order_id, order, expected, touched=touched))
        for key, op in staged.intents.items():
            found.append(self._intent(key, op))
        for key, (op, strict) in staged.outcomes.items():
            found.append(self._outcome(key, op, strict=strict))
        found.extend(self._voucher(voucher, to_post) for voucher in staged.vouchers.values())
        found.extend(
            Statement("UPDATE ocop_outbox SET posted = 1 WHERE voucher_id = ?", [voucher_id])
            for voucher_id in staged.posted
        )
        return found

    def _intent(self, key: str, op: Operation) -> Statement:
        def logged(count: int) -> None:
            if count == 1:
                return
            stored = self.operation(key)
            if stored is None or stored.request != op.request:
                raise IdempotencyConflict(key)
            if stored.awaiting and op.outcome is not None:
                self._run(self._outcome(key, op, strict=False))

        awaiting = 1 if op.awaiting else 0
        return Statement(
            "INSERT INTO ocop_operations (key, order_id, step, attempt, in_doubt, reference, "
            "body) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
            [key, op.order_id, op.name, op.attempt, awaiting, op.reference or None, dumps(op)],
            logged,
        )

    def _outcome(self, key: str, op: Operation, *, strict: bool) -> Statement:
        def settled(count: int) -> None:
            if count == 1:
                return
            rows, _ = self.session.run("SELECT in_doubt FROM ocop_operations WHERE key = ?", [key])
            if not rows:
                raise OcopError(f"no intent logged for operation {key!r}")
            if strict:
                raise ConcurrentUpdate(op.order_id)  # settled by another unit of work first

        return Statement(
            "UPDATE ocop_operations SET body = ?, in_doubt = ?, reference = ? "
            "WHERE key = ? AND in_doubt = 1",
            [dumps(op), 1 if op.awaiting else 0, op.reference or None, key],
            settled,
        )

    def _voucher(self, voucher: Voucher, to_post: list[Voucher]) -> Statement:
        """A voucher to the journal the store keeps, or to the outbox for an outside one."""
        table = "ocop_journal" if self.keeps_journal else "ocop_outbox"

        def same_as_stored() -> None:
            """J3: a voucher id already stored must hold the same voucher."""
            rows, _ = self.session.run(
                f"SELECT body FROM {table} WHERE voucher_id = ?",  # noqa: S608 - our table name
                [voucher.voucher_id],
            )
            if rows and read_row(rows[0][0], Voucher) != voucher:
                raise IdempotencyConflict(voucher.voucher_id)

        if self.keeps_journal:
            return Statement(
                "INSERT INTO ocop_journal (voucher_id, order_id, body) VALUES (?, ?, ?) "
                "ON CONFLICT (voucher_id) DO NOTHING",
                [voucher.voucher_id, voucher.order_id, dumps(voucher)],
                lambda count: None if count == 1 else same_as_stored(),
            )

        def waiting(count: int) -> None:
            if count == 1:
                to_post.append(voucher)
            else:
                same_as_stored()

        return Statement(
            "INSERT INTO ocop_outbox (voucher_id, posted, body) VALUES (?, 0, ?) "
            "ON CONFLICT (voucher_id) DO NOTHING",
            [voucher.voucher_id, dumps(voucher)],
            waiting,
        )

    def _run(self, statement: Statement) -> None:
        _, count = self.session.run(statement.sql, statement.params)
        if statement.then is not None:
            statement.then(count)

    def release(self) -> None:
        self._doubt_ahead.clear()
        self.session.close()


class _SqlTables:
    """A backend's tables, created (or migrated) on first use, reached through a pool."""

    def __init__(self, dialect: Dialect, pool: ConnectionPool, *, create: bool = True) -> None:
        self._dialect = dialect
        self._pool = pool
        if create:
            create_schema(dialect, pool)

    def close(self) -> None:
        """Close the idle connections (also done when garbage collected)."""
        self._pool.close()


class SqlJournal(_SqlTables):
    """A :class:`~ocop.ports.journal.PaymentJournal` in SQL tables (may share the store's)."""

    def post(self, voucher: Voucher) -> None:
        """J3: store a voucher once; the same id with another voucher is a conflict."""
        session = Session(self._dialect, self._pool)

        def post() -> None:
            _, count = session.run(
                "INSERT INTO ocop_journal (voucher_id, order_id, body) VALUES (?, ?, ?) "
                "ON CONFLICT (voucher_id) DO NOTHING",
                [voucher.voucher_id, voucher.order_id, dumps(voucher)],
            )
            if count != 1:
                rows, _ = session.run(
                    "SELECT body FROM ocop_journal WHERE voucher_id = ?", [voucher.voucher_id]
                )
                if read_row(rows[0][0], Voucher) != voucher:
                    raise IdempotencyConflict(voucher.voucher_id)

        try:
            session.transaction(post)
        finally:
            session.close()

    def vouchers(self, order_id: str | None = None) -> tuple[Voucher, ...]:
        """The journal's vouchers (of one order), in the order they were first posted."""
        session = Session(self._dialect, self._pool)
        try:
            if order_id is None:
                rows, _ = session.run("SELECT body FROM ocop_journal ORDER BY seq")
            else:
                rows, _ = session.run(
                    "SELECT body FROM ocop_journal WHERE order_id = ? ORDER BY seq", [order_id]
                )
            return tuple(read_row(row[0], Voucher) for row in rows)
        finally:
            session.close()


class SqlStore(_SqlTables):
    """An :class:`~ocop.ports.store.OrderStore` in SQL tables; each backend subclasses it.

    ``keeps_journal``: the store also keeps the payment journal (:attr:`journal`, the
    same tables), and writes each unit of work's vouchers to it in the same commit.
    """

    def __init__(
        self, dialect: Dialect, pool: ConnectionPool, *, keeps_journal: bool = False
    ) -> None:
        self.keeps_journal = check_bool(keeps_journal, "keeps_journal")  # E1: before connecting
        super().__init__(dialect, pool)
        self.journal = SqlJournal(dialect, pool, create=False)
        self._known = KnownKeys()

    def unit_of_work(self) -> StagedUnitOfWork:
        """A unit of work whose changes are written in one transaction at commit."""
        backend = SqlBackend(
            self._dialect, self._pool, keeps_journal=self.keeps_journal, known=self._known
        )
        return StagedUnitOfWork(backend)

    def claim(
        self, names: Sequence[str], holder: str, until: datetime, now: datetime
    ) -> tuple[str, ...]:
        """Claim the ``names`` free at ``now`` for ``holder`` until ``until``, in one
        transaction that never waits for another claimer (:mod:`ocop.adapters._sql_claims`)."""
        return sql_claims.claim(self._dialect, self._pool, names, holder, until=until, now=now)

    def release(self, names: Sequence[str], holder: str) -> None:
        """End ``holder``'s claims on ``names``."""
        sql_claims.release(self._dialect, self._pool, names, holder)

    def keep_for_review(self, notification: Notification) -> bool:
        return sql_review.keep(self._dialect, self._pool, notification)

    def kept_for_review(self) -> tuple[Notification, ...]:
        return sql_review.kept(self._dialect, self._pool)

    def kept_for_review_of(
        self, order_keys: Collection[str], events: Collection[NotificationEvent]
    ) -> tuple[Notification, ...]:
        """:class:`~ocop.ports.store.ReviewByOrder`, by the index on order key and event."""
        return sql_review.kept_of(self._dialect, self._pool, order_keys, events)

    def kept_for_dispute(
        self, dispute: str, events: Collection[NotificationEvent]
    ) -> tuple[Notification, ...]:
        """:class:`~ocop.ports.store.ReviewByOrder`, by the index on dispute."""
        return sql_review.kept_in(self._dialect, self._pool, dispute, events)
