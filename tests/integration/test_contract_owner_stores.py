"""The owner's acceptance tests of the contract's durable wiring: ``BackOffice.sqlite``
and ``BackOffice.postgres`` (processor required; postgres creates its schema), the
store and journal classes they name, a simulator whose records survive a restart, and
storage failures surfacing as ``StorageError`` (E3)."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest

import ocop
from ocop import BackOffice, CardPayment, CardToken, Channel, Customer, Money, OrderStatus
from ocop.adapters.memory import ManualClock
from ocop.adapters.postgres import PostgresJournal, PostgresStore
from ocop.adapters.simulated import SimulatedProcessor
from ocop.adapters.sqlite import SqliteJournal, SqliteStore
from pg_support import STORES, back_office_on, server
from worlds import START

CARD = CardToken(value="tok_1", connector="sim", service_account="sa-1", brand="visa",
                 last4="1111", expiry="2030-12", reusable=True)  # fmt: skip


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def _walk(bo: BackOffice) -> None:
    """Place, invoice and read back one order."""
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                   total=usd("100.00"), payments=[CardPayment(CARD, usd("100.00"))])  # fmt: skip
    bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert bo.order("SO-1").status is OrderStatus.INVOICED
    assert bo.journal("SO-1")[0].order_id == "SO-1"


def test_the_store_and_journal_classes_are_where_the_contract_names_them() -> None:
    """``ocop.adapters.sqlite`` and ``ocop.adapters.postgres`` hold the store and journal."""
    assert [c.__name__ for c in (SqliteStore, SqliteJournal, PostgresStore, PostgresJournal)] == [
        "SqliteStore", "SqliteJournal", "PostgresStore", "PostgresJournal"]  # fmt: skip


def test_sqlite_requires_a_processor(tmp_path: Path) -> None:
    """``BackOffice.sqlite(path, processor=...)``: without one (or with None) it refuses."""
    with pytest.raises(TypeError):
        BackOffice.sqlite(tmp_path / "payments.db")  # type: ignore[call-arg]
    with pytest.raises(ocop.InvalidInput):
        BackOffice.sqlite(tmp_path / "payments.db", processor=None)  # type: ignore[arg-type]


def test_sqlite_and_a_durable_simulator_survive_a_restart(tmp_path: Path) -> None:
    """The order, its journal and the simulator's records (``state=``) read back after
    the back office and the simulator are opened again."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock, state=str(tmp_path / "sim.db"))
    _walk(BackOffice.sqlite(str(tmp_path / "payments.db"), processor=sim, clock=clock))
    sim.close()
    again = SimulatedProcessor(clock=clock, state=str(tmp_path / "sim.db"))
    bo = BackOffice.sqlite(tmp_path / "payments.db", processor=again, clock=clock)
    assert bo.order("SO-1").captured == usd("100.00")
    assert [(e.kind, e.amount) for e in again.ledger()] == [
        ("authorize", usd("100.00")), ("capture", usd("100.00"))]  # fmt: skip
    ret = bo.refund("SO-1", "RMA-1", usd("10.00"),
                    ocop.Actor.call_center("u1"))  # fmt: skip
    assert [r.amount for r in ret.refunds] == [usd("10.00")]
    again.close()


def test_an_unopenable_sqlite_file_is_a_storage_error(tmp_path: Path) -> None:
    """E3: a database that cannot be opened raises a ``StorageError``."""
    sim = SimulatedProcessor(clock=ManualClock(START))
    with pytest.raises(ocop.StorageError):
        BackOffice.sqlite(tmp_path / "missing" / "payments.db", processor=sim)


def test_an_unreachable_postgres_is_a_storage_error() -> None:
    """E3: a server that does not answer raises a ``StorageError``."""
    sim = SimulatedProcessor(clock=ManualClock(START))
    with pytest.raises(ocop.StorageError):
        BackOffice.postgres("postgresql://postgres@127.0.0.1:1/test", processor=sim)


def test_postgres_requires_a_processor() -> None:
    """``processor=`` is required for ``BackOffice.postgres`` too."""
    with pytest.raises(TypeError):
        BackOffice.postgres(server())  # type: ignore[call-arg]
    with pytest.raises(ocop.InvalidInput):
        BackOffice.postgres(server(), processor=None)  # type: ignore[arg-type]


@pytest.mark.postgres
def test_postgres_creates_its_schema() -> None:
    """``BackOffice.postgres(dsn, processor=..., schema=...)`` creates the schema and
    keeps its tables there."""
    schema = f"ocop_owner_{uuid.uuid4().hex[:10]}"
    clock = ManualClock(START)
    try:
        bo = BackOffice.postgres(server(), processor=SimulatedProcessor(clock=clock),
                                 schema=schema, clock=clock)  # fmt: skip
        _walk(bo)
        with psycopg.connect(server()) as conn:
            found = conn.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            ).fetchone()
        assert found is not None
        assert found[0] > 0
    finally:
        with psycopg.connect(server(), autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _chain(error: BaseException | None) -> str:
    """The messages and attributes of ``error`` and of every error it is shown chained to."""
    text = ""
    while error is not None:
        text += f"{error} {vars(error)!r} {error.args!r}"
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    return text


@pytest.mark.parametrize(
    "dsn",
    ["postgresql://u:4111 1111 1111 1111@127.0.0.1:1/db",
     "host=127.0.0.1 port=1 4111-1111-1111-1111"],
)  # fmt: skip
def test_a_dsn_holding_a_card_number_is_not_echoed(dsn: str) -> None:
    """E2: a connection string the driver cannot read raises a StorageError that shows no
    card number, neither itself nor through the driver error it is chained to (what a
    traceback prints)."""
    sim = SimulatedProcessor(clock=ManualClock(START))
    with pytest.raises(ocop.StorageError) as caught:
        BackOffice.postgres(dsn, processor=sim)
    shown = _chain(caught.value)
    assert "4111 1111 1111 1111" not in shown
    assert "4111-1111-1111-1111" not in shown


@pytest.mark.parametrize(
    "dsn",
    ["postgresql://u:a\x1b[31mb c@127.0.0.1:1/db", "host=127.0.0.1 port=1 x\x1bz",
     "host=127.0.0.1 port=1 x\u202ez", "host=127.0.0.1 port=1 x\x85z"],
)  # fmt: skip
def test_a_dsn_holding_control_characters_is_not_echoed(dsn: str) -> None:
    """E2: nor does it show a control character of the connection string (a terminal
    escape, a bidirectional override), through the driver error either."""
    sim = SimulatedProcessor(clock=ManualClock(START))
    with pytest.raises(ocop.StorageError) as caught:
        BackOffice.postgres(dsn, processor=sim)
    shown = _chain(caught.value)
    assert not {"\x1b", "\u202e", "\x85"} & set(shown)


#: Ids E1 accepts, each read back exactly: separators, SQL wildcards and quotes, escapes,
#: spaces, other scripts, the longest.
ODD_IDS = ("A_", "AB", "A%", "A%B", "A\\", "A\\B", "é/:#|% ", "A B", "a", "A", "x" * 128,
           "Ω≈ç√", "A'", 'A"', "A;--")  # fmt: skip


@pytest.mark.parametrize("kind", STORES)
def test_queries_and_ids_read_back_alike_on_every_store(kind: str, tmp_path: Path) -> None:
    """E1 and the queries: any id reads back exactly; ``operations`` lists only its own
    order's calls; ``orders`` filters and pages (``after`` an id the filter leaves out)
    alike on memory, SQLite and PostgreSQL."""
    with back_office_on(kind, tmp_path) as (bo, sim, _):
        for order_id in ODD_IDS:
            bo.place_order(order_id, channel=Channel.ECOMMERCE, customer=Customer.guest(),
                           total=usd("10.00"),
                           payments=[CardPayment(CARD, usd("10.00"))])  # fmt: skip
        assert bo.orders() == ODD_IDS
        for order_id in ODD_IDS:
            assert bo.order(order_id).order_id == order_id
            assert [op.kind for op in bo.operations(order_id)] == ["authorize"]
        bo.invoice("AB", "I%", usd("10.00"))
        bo.invoice("A%B", "I_", usd("10.00"))
        sim.script("capture", "timeout_before")
        bo.invoice("A_", "I:1", usd("10.00"))
        assert bo.orders(in_doubt=True) == ("A_",)
        # the invoice is recorded with its capture's intent, whatever the capture comes to
        assert bo.orders(status=OrderStatus.INVOICED) == ("A_", "AB", "A%B")
        assert bo.orders(status=OrderStatus.APPROVED, limit=2, after="AB") == ("A%", "A\\")
        assert bo.orders(status=OrderStatus.APPROVED, limit=1, after="A%B") == ("A\\",)
        pages: list[str] = []
        while page := bo.orders(limit=4, after=pages[-1] if pages else None):
            pages.extend(page)
        assert tuple(pages) == ODD_IDS
