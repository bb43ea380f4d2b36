"""A SQLite file written by ocop 0.1.0 (tests/fixtures/v0.sqlite) still opens and carries on.

``v0.json`` records what that version wrote: each order's figures, operations and
vouchers, the voucher left pending in the outbox, and the operation keys that version made
for a few follow-up steps (run on a copy with a fresh simulated processor, which knows none
of the file's authorizations or captures, after a recovery). Every test works on a copy.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import TypedDict, cast

import attrs
import pytest

from ocop import Actor, BackOffice, CardToken, Money, Settings, StorageError
from ocop.adapters._codec import loads
from ocop.adapters._sql import SCHEMA_VERSION
from ocop.adapters._sql_schema import KEY_COLUMNS, key_columns
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.adapters.sqlite import SqliteStore
from ocop.domain.order import Order
from ocop.testing._review_contract import chargeback, failed_outcome
from unsolicited_support import failed

FIXTURES = Path(__file__).parent.parent / "fixtures"
AGENT = Actor.call_center("u1")
PAYOUT_AGENT = Actor.call_center("u2", permissions=frozenset({"alternate_payment"}))
OTHER_CARD = CardToken(value="tok_9", connector="sim", service_account="sa-1",
                       brand="visa", last4="9999", expiry="2030-12")  # fmt: skip

OperationRow = tuple[str, str, str | None]  # key, kind, outcome (None while in doubt)


class OperationEntry(TypedDict):
    key: str
    kind: str
    outcome: str | None


class OrderEntry(TypedDict):
    order_id: str
    status: str
    total: str
    received: str
    refunded: str
    captured: str
    currency: str
    operations: list[OperationEntry]
    journal: list[str]


class StepEntry(TypedDict):
    order_id: str
    action: str
    args: dict[str, str]
    new_operations: list[OperationEntry]


class Manifest(TypedDict):
    written_by: str
    last_time: str
    orders: list[OrderEntry]
    pending_outbox: list[str]
    next_steps: list[StepEntry]


MANIFEST = cast(Manifest, json.loads((FIXTURES / "v0.json").read_text()))


def _open_copy(tmp_path: Path) -> BackOffice:
    """A back office over a copy of the v0 file, at the file's last time."""
    copy = tmp_path / "v0.sqlite"
    shutil.copyfile(FIXTURES / "v0.sqlite", copy)
    clock = ManualClock(datetime.fromisoformat(MANIFEST["last_time"]))
    return BackOffice.sqlite(copy, processor=SimulatedProcessor(clock=clock), clock=clock)


def _operations(bo: BackOffice, order_id: str) -> list[OperationRow]:
    with bo.ports.store.unit_of_work() as uow:
        operations = uow.operations.for_order(order_id)
    return [
        (op.key, op.kind.value, None if op.in_doubt or op.outcome is None else op.outcome.value)
        for op in operations
    ]


def _rows(entries: list[OperationEntry]) -> list[OperationRow]:
    return [(e["key"], e["kind"], e["outcome"]) for e in entries]


def _pending(bo: BackOffice) -> list[str]:
    with bo.ports.store.unit_of_work() as uow:
        return [voucher.voucher_id for voucher in uow.outbox.pending()]


def _perform(bo: BackOffice, step: StepEntry) -> None:
    """Run one follow-up step of the manifest, as the generating version ran it."""
    order_id, args = step["order_id"], step["args"]
    amount = Money.of(args.get("amount", "0"), "USD")
    match step["action"]:
        case "invoice":
            bo.invoice(order_id, args["invoice_id"], amount)
        case "cancel":
            bo.cancel_order(order_id, AGENT)
        case "refund":
            bo.refund(order_id, args["return_id"], amount, AGENT)
        case "refund_to_card":
            bo.refund_to_card(order_id, args["return_id"], OTHER_CARD, amount, PAYOUT_AGENT)
        case "change_amount":
            bo.change_total(order_id, amount, AGENT)
            draft = bo.begin_completion(order_id, AGENT)
            bo.submit(draft.change_amount(draft.lines[0].line_id, amount))
        case "submit":
            bo.submit(bo.begin_completion(order_id, AGENT))
        case other:
            raise AssertionError(f"unknown step {other}")


def test_every_v0_order_operation_and_voucher_loads_as_recorded(tmp_path: Path) -> None:
    """Orders, operation log, journal and pending outbox of the v0 file read back as recorded."""
    bo = _open_copy(tmp_path)
    with bo.ports.store.unit_of_work() as uow:
        ids = list(uow.orders.ids())
    assert ids == [entry["order_id"] for entry in MANIFEST["orders"]]
    for entry in MANIFEST["orders"]:
        order, currency = bo.order(entry["order_id"]), entry["currency"]
        assert order.status.value == entry["status"], entry["order_id"]
        assert order.total == Money.of(entry["total"], currency)
        assert order.received == Money.of(entry["received"], currency)
        assert order.refunded == Money.of(entry["refunded"], currency)
        assert order.captured == Money.of(entry["captured"], currency)
        assert _operations(bo, entry["order_id"]) == _rows(entry["operations"])
        assert [v.voucher_id for v in bo.journal(entry["order_id"])] == entry["journal"]
    assert _pending(bo) == MANIFEST["pending_outbox"] != []


def test_recovery_of_a_v0_file_applies_every_doubt_and_empties_the_outbox(tmp_path: Path) -> None:
    """O2: recover() on the v0 file resolves or keeps each doubt, applies all, posts the outbox."""
    bo = _open_copy(tmp_path)
    in_doubt = {
        op["key"]
        for entry in MANIFEST["orders"]
        for op in entry["operations"]
        if op["outcome"] is None
    }
    report = bo.recover()
    assert report.unapplied == ()
    assert set(report.resolved) | set(report.still_in_doubt) == in_doubt
    after = {
        key: outcome
        for entry in MANIFEST["orders"]
        for key, _, outcome in _operations(bo, entry["order_id"])
    }
    assert all((after[key] is None) == (key in report.still_in_doubt) for key in in_doubt)
    assert _pending(bo) == []
    posted = {v.voucher_id for entry in MANIFEST["orders"] for v in bo.journal(entry["order_id"])}
    assert set(MANIFEST["pending_outbox"]) <= posted


def test_follow_up_steps_on_a_v0_file_make_the_same_operation_keys(tmp_path: Path) -> None:
    """O4: each recorded follow-up step, after recovery, logs exactly the keys v0 logged for it."""
    bo = _open_copy(tmp_path)
    bo.recover()
    for step in MANIFEST["next_steps"]:
        before = {key for key, _, _ in _operations(bo, step["order_id"])}
        _perform(bo, step)
        made = [
            (key, kind) for key, kind, _ in _operations(bo, step["order_id"]) if key not in before
        ]
        assert made == [(op["key"], op["kind"]) for op in step["new_operations"]], step


def test_opening_the_file_migrates_it_in_place_to_this_schema(tmp_path: Path) -> None:
    """The schema version, the step and attempt columns of every old operation and the key
    columns of every old order are filled from the bodies, and the indexes the engine
    queries by, the claims table and the review table exist; the review table keeps."""
    bo = _open_copy(tmp_path)
    copy = tmp_path / "v0.sqlite"
    with closing(sqlite3.connect(copy)) as db:
        (version,) = db.execute("SELECT MAX(version) FROM ocop_schema").fetchone()
        review = db.execute("SELECT COUNT(*) FROM ocop_review").fetchone()
        rows = db.execute("SELECT step, attempt, body FROM ocop_operations").fetchall()
        indexes = {name for (name,) in db.execute("SELECT name FROM sqlite_master "
                                                   "WHERE type = 'index'")}  # fmt: skip
        keys = db.execute(f"SELECT body, {', '.join(KEY_COLUMNS)} FROM ocop_orders").fetchall()  # noqa: S608
        claims = db.execute("SELECT COUNT(*) FROM ocop_claims").fetchone()
    assert version == SCHEMA_VERSION
    assert rows
    for step, attempt, body in rows:
        stored = json.loads(body)
        assert (step, attempt) == (stored.get("name", stored["step"]), stored["attempt"])
    assert {"ocop_operations_by_step", "ocop_operations_open", "ocop_outbox_pending",
            "ocop_journal_by_order"} <= indexes  # fmt: skip
    assert not {"ocop_operations_by_order", "ocop_operations_in_doubt"} & indexes
    assert {"ocop_orders_authorized_from", "ocop_orders_renew_from"} <= indexes
    assert "ocop_operations_by_reference" in indexes
    assert keys
    for body, *columns in keys:
        assert columns == key_columns(loads(body, Order))
    assert claims == (0,)
    assert review == (0,)
    kept = (chargeback("N-1"), failed_outcome("N-2"))
    store = bo.ports.store
    assert [store.keep_for_review(n) for n in (*kept, kept[0])] == [True, True, False]
    reopened = SqliteStore(copy)
    assert reopened.kept_for_review() == kept
    reopened.close()


def test_a_v0_operation_is_found_by_the_processors_reference_after_migration(
    tmp_path: Path,
) -> None:
    """N2: migration 6 fills each old operation's reference from its stored answer, and
    indexes it: a notification naming no key finds an old capture by its token (a
    chargeback applied once), an old authorization beside its void by its own token (a
    success again is a duplicate); SQLite's plan searches the index."""
    bo = _open_copy(tmp_path)
    with closing(sqlite3.connect(tmp_path / "v0.sqlite")) as db:
        rows = db.execute("SELECT reference, body FROM ocop_operations").fetchall()
        plan = [row[3] for row in db.execute(
            "EXPLAIN QUERY PLAN SELECT body FROM ocop_operations WHERE reference = ? "
            "ORDER BY seq", ["cap_4"])]  # fmt: skip
    for reference, body in rows:
        token = (json.loads(body).get("result") or {}).get("token")
        assert reference == (token["value"] if token else None)
    assert any("ocop_operations_by_reference" in step for step in plan), plan
    taken = attrs.evolve(chargeback("N-1", "5.00"), key="", reference="cap_4")
    result = bo.handle_notification(taken)
    assert (result.applied, result.key) == (True, "V0-INVOICED/capture:INV-1:L1:L1.A1#1")
    assert bo.handle_notification(taken).duplicate
    assert bo.order("V0-INVOICED").charged_back == Money.of("5.00", "USD")
    again = attrs.evolve(failed_outcome("N-2"), key="", reference="auth_18", success=True)
    assert bo.handle_notification(again).duplicate  # the authorization, not its void
    assert bo.notifications_for_review() == ()


def test_movements_of_a_v0_file_undone_later_reverse_in_the_journal_their_vouchers_went_to(
    tmp_path: Path,
) -> None:
    """J2, V4, O4: captures and a refund stored by v0 (which named no journal on them), one
    capture's voucher still in the outbox, rejected after a restart with the channel
    journals: each reversal posts to the journal its voucher went to."""
    _open_copy(tmp_path)
    clock = ManualClock(datetime.fromisoformat(MANIFEST["last_time"]))
    channels = Settings.default().with_features(unified_journal_defaults=False)
    bo = BackOffice.sqlite(tmp_path / "v0.sqlite", channels,
                           processor=SimulatedProcessor(clock=clock), clock=clock)  # fmt: skip
    undone = ["V0-SAVED/capture:INV-1:L1:L1.A1#1", "V0-OUTBOX/capture:INV-1:L1:L1.A1#1",
              "V0-INVOICED/refund:RMA-1:capture:INV-2:L1:L1.A1#1:1#1"]  # fmt: skip
    for n, key in enumerate(undone):
        assert bo.handle_notification(failed(key, n)).undone, key
    bo.recover()
    for key in undone:
        order_id = key.split("/", 1)[0]
        journal_of = {v.voucher_id: v.journal_name for v in bo.journal(order_id)}
        assert (
            journal_of[f"V:{key}/reversal"]
            == journal_of[f"V:{key}"]
            == "OCOP-" + ("REF" if "/refund:" in key else "PAY")
        )


def test_a_file_of_a_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    """A database written by a newer ocop raises StorageError and is left as it was."""
    _open_copy(tmp_path)
    copy = tmp_path / "v0.sqlite"
    with closing(sqlite3.connect(copy)) as db, db:
        db.execute("INSERT INTO ocop_schema (version) VALUES (?)", (SCHEMA_VERSION + 1,))
    with pytest.raises(StorageError) as refused:
        SqliteStore(copy)
    assert "newer than this ocop" in str(refused.value)
    with closing(sqlite3.connect(copy)) as db:
        (version,) = db.execute("SELECT MAX(version) FROM ocop_schema").fetchone()
    assert version == SCHEMA_VERSION + 1
