"""The simulated processor's durable mode: its records in a file survive a restart."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedCrash, SimulatedProcessor
from ocop.domain.errors import IdempotencyConflict, StorageUnavailable
from ocop.domain.money import Money
from ocop.domain.operations import Outcome
from ocop.domain.tokens import AuthorizationToken, CaptureToken, CardToken
from ocop.testing.contracts import START

CARD = CardToken(value="tok_1", connector="sim", service_account="sa-1", brand="visa", last4="1111")


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def restarted(path: Path, clock: ManualClock, old: SimulatedProcessor | None = None) -> (
    SimulatedProcessor
):  # fmt: skip
    if old is not None:
        old.close()
    return SimulatedProcessor(clock=clock, state=path)


def test_a_new_simulator_on_the_file_answers_for_the_old_ones_keys(tmp_path: Path) -> None:
    """Lookups and replays of every key the old simulator saw give the same answers; its
    authorizations, captures, ledger and saved instruments carry on."""
    clock = ManualClock(START)
    path = tmp_path / "sim.db"
    sim = SimulatedProcessor(clock=clock, state=str(path))
    auth = sim.authorize("k-auth", CARD, usd("100.00"))
    assert isinstance(auth.token, AuthorizationToken)
    sim.script("capture", "timeout_after_success")
    assert sim.capture("k-cap", auth.token, usd("10.00")).outcome is Outcome.UNKNOWN
    sim.script("capture", "timeout_before")
    assert sim.capture("k-lost", auth.token, usd("5.00")).outcome is Outcome.UNKNOWN
    sim.script("capture", "decline")
    declined = sim.capture("k-no", auth.token, usd("5.00"))
    assert sim.lookup("k-never").outcome is Outcome.NOT_RECEIVED
    instrument = sim.save_instrument("C-1", CARD)
    ledger = sim.ledger()

    again = restarted(path, clock, sim)
    assert again.lookup("k-auth") == auth
    assert again.authorize("k-auth", CARD, usd("100.00")) == auth
    with pytest.raises(IdempotencyConflict):
        again.authorize("k-auth", CARD, usd("99.00"))
    taken = again.lookup("k-cap")
    assert taken.approved
    assert isinstance(taken.token, CaptureToken)
    assert again.capture("k-no", auth.token, usd("5.00")) == declined
    assert again.lookup("k-lost").outcome is Outcome.NOT_RECEIVED
    assert again.authorize("k-never", CARD, usd("1.00")).outcome is Outcome.NOT_RECEIVED
    assert again.ledger() == ledger
    assert again.authorization_open(auth.token.value) == usd("90.00")
    assert again.instruments("C-1") == (instrument,)
    assert again.refund("k-ref", taken.token, usd("10.00")).approved
    assert again.refund("k-ref-2", taken.token, usd("0.01")).outcome is Outcome.DECLINED


def test_a_request_lost_before_a_restart_is_carried_out_when_retried(tmp_path: Path) -> None:
    """A call that never arrived (no lookup since) is carried out by a retry after the
    restart, and a retry with another request is a conflict."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock, state=tmp_path / "sim.db")
    sim.script("authorize", "timeout_before")
    sim.authorize("k1", CARD, usd("10.00"))
    again = restarted(tmp_path / "sim.db", clock, sim)
    with pytest.raises(IdempotencyConflict):
        again.authorize("k1", CARD, usd("11.00"))
    assert again.authorize("k1", CARD, usd("10.00")).approved
    assert [e.key for e in again.ledger()] == ["k1"]


def test_tokens_stay_unique_across_restarts(tmp_path: Path) -> None:
    """Every token the simulators on one file mint is new, restart after restart, and so
    are saved instruments' ids."""
    clock = ManualClock(START)
    path = tmp_path / "sim.db"
    tokens: list[str] = []
    instruments: list[str] = []
    sim: SimulatedProcessor | None = None
    for run in range(4):
        sim = restarted(path, clock, sim)
        for n in range(3):
            result = sim.authorize(f"k-{run}-{n}", CARD, usd("10.00"))
            assert isinstance(result.token, AuthorizationToken)
            tokens.append(result.token.value)
            cap = sim.capture(f"c-{run}-{n}", result.token, usd("1.00")).token
            assert cap is not None
            tokens.append(cap.value)
        instruments.append(sim.save_instrument("C-1", CARD).instrument_id)
    assert len(set(tokens)) == len(tokens) == 24
    assert len(set(instruments)) == 4
    assert sim is not None
    assert [i.instrument_id for i in sim.instruments("C-1")] == instruments


def test_pending_operations_survive_a_restart_and_settle_once(tmp_path: Path) -> None:
    """A pending capture is still pending after a restart, settles in the order made, and a
    second restart does not settle it again."""
    clock = ManualClock(START)
    path = tmp_path / "sim.db"
    sim = SimulatedProcessor(clock=clock, state=path)
    auth = sim.authorize("k-auth", CARD, usd("100.00")).token
    assert isinstance(auth, AuthorizationToken)
    for n in range(1, 4):
        sim.script("capture", "pending")
        sim.capture(f"k-{n}", auth, usd("10.00"))
    again = restarted(path, clock, sim)
    assert again.pending_keys() == ("k-1", "k-2", "k-3")
    assert again.lookup("k-2").outcome is Outcome.PENDING
    assert again.capture("k-over", auth, usd("70.01")).outcome is Outcome.DECLINED
    assert [n.key for n in again.settle_pending("decline", keys=["k-2"])] == ["k-2"]
    third = restarted(path, clock, again)
    assert [(n.key, n.success) for n in third.settle_pending()] == [("k-1", True), ("k-3", True)]
    fourth = restarted(path, clock, third)
    assert fourth.settle_pending() == ()
    assert [e.key for e in fourth.ledger()] == ["k-auth", "k-1", "k-3"]
    assert fourth.authorization_open(auth.value) == usd("80.00")


def test_a_crash_after_success_is_on_file_before_it_is_raised(tmp_path: Path) -> None:
    """What moved before a simulated crash is on file: the next simulator knows it."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock, state=tmp_path / "sim.db")
    sim.script("authorize", "crash_after_success")
    with pytest.raises(SimulatedCrash):
        sim.authorize("k1", CARD, usd("10.00"))
    again = SimulatedProcessor(clock=clock, state=tmp_path / "sim.db")  # the old one not closed
    assert again.lookup("k1").approved


def test_no_cvv_or_card_number_is_in_the_file(tmp_path: Path) -> None:
    """Tokenize's CVV is checked and dropped: the state file holds no CVV (T1)."""
    clock = ManualClock(START)
    path = tmp_path / "sim.db"
    sim = SimulatedProcessor(clock=clock, state=path)
    instrument = sim.save_instrument("C-1", CARD)
    assert sim.tokenize("t1", "C-1", instrument.instrument_id, "975").approved
    assert sim.tokenize("t2", "C-1", instrument.instrument_id, "8642").approved
    sim.close()
    raw = path.read_bytes()
    with sqlite3.connect(path) as db:
        bodies = " ".join(row[0] for row in db.execute("SELECT body FROM sim_records"))
    for cvv in ("975", "8642"):
        assert cvv.encode() not in raw
        assert cvv not in bodies


def test_a_state_file_that_cannot_be_opened_raises_storage_unavailable(tmp_path: Path) -> None:
    """A state path in a missing folder raises StorageUnavailable, sqlite3's error chained."""
    with pytest.raises(StorageUnavailable) as refused:
        SimulatedProcessor(clock=ManualClock(START), state=tmp_path / "missing" / "sim.db")
    assert isinstance(refused.value.__cause__, sqlite3.Error)


def test_a_state_file_that_cannot_be_written_raises_storage_unavailable(tmp_path: Path) -> None:
    """A call whose records cannot be written raises StorageUnavailable, sqlite3's error
    chained (here: the simulator was closed)."""
    sim = SimulatedProcessor(clock=ManualClock(START), state=tmp_path / "sim.db")
    sim.close()
    with pytest.raises(StorageUnavailable) as refused:
        sim.authorize("k1", CARD, usd("1.00"))
    assert isinstance(refused.value.__cause__, sqlite3.Error)


def test_without_state_nothing_survives(tmp_path: Path) -> None:
    """An in-memory simulator keeps nothing: a new one does not know the old one's keys."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    sim.authorize("k1", CARD, usd("10.00"))
    assert SimulatedProcessor(clock=clock).lookup("k1").outcome is Outcome.NOT_RECEIVED
    assert list(tmp_path.iterdir()) == []
