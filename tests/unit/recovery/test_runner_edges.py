"""Processor calls and order changes at their edges: lost races and outcomes settled elsewhere.

A commit that loses a version race is retried (O5); one that keeps losing raises
``ConcurrentUpdate`` naming the order and stores nothing, and a call whose outcome
could not be committed stays in doubt for ``recover()``. An outcome recovered by
another worker while the live call was away is applied once, not twice.
"""

from __future__ import annotations

import attrs
import pytest

from ocop import ConcurrentUpdate, OperationKind, Outcome, RecoveryReport, VoucherKind
from worlds import usd

from .support import (
    AGENT,
    World,
    assert_ledger_matches_captures,
    entries,
    in_doubt,
    new_world,
    operations,
    place_card_order,
)

#: More lost races than any retry budget allows.
ALWAYS = 1_000


def test_a_local_change_that_loses_a_few_races_is_retried_and_stored_once() -> None:
    """O5: change_total commits after two lost races, one version later."""
    world = new_world()
    before = place_card_order(world, "SO-1", "100.00")
    world.store.conflicts = 2
    changed = world.bo.change_total("SO-1", usd("120.00"), AGENT)
    assert world.store.refused == 2
    assert changed.total == usd("120.00")
    stored = world.bo.order("SO-1")
    assert attrs.evolve(changed, version=stored.version) == stored
    assert stored.version == before.version + 1


def test_a_local_change_that_keeps_losing_raises_concurrent_update_and_stores_nothing() -> None:
    """O5: after its retries, change_total raises ConcurrentUpdate for the order; no change."""
    world = new_world()
    before = place_card_order(world, "SO-1", "100.00")
    world.store.conflicts = ALWAYS
    with pytest.raises(ConcurrentUpdate) as lost:
        world.bo.change_total("SO-1", usd("120.00"), AGENT)
    assert lost.value.order_id == "SO-1"
    assert 1 < world.store.refused < ALWAYS
    world.store.conflicts = 0
    assert world.bo.order("SO-1") == before


def test_an_outcome_that_cannot_be_committed_stays_in_doubt_until_recovered() -> None:
    """O1, O2: the capture moved money, its outcome lost every race; recover() applies it once."""
    world = new_world()
    place_card_order(world, "SO-1", "100.00")
    key = "SO-1/capture:INV-1:L1:L1.A1#1"

    def rivals_win(_: str) -> None:
        world.store.conflicts = ALWAYS

    world.processor.during_call = rivals_win
    with pytest.raises(ConcurrentUpdate) as lost:
        world.bo.invoice("SO-1", "INV-1", usd("60.00"))
    assert lost.value.order_id == "SO-1"
    world.store.conflicts = 0
    assert in_doubt(world) == [key]
    assert world.bo.order("SO-1").captured == usd("0.00")
    assert [(e.key, e.amount) for e in entries(world, "SO-1", "capture")] == [(key, usd("60.00"))]
    report = world.bo.recover()
    assert report.resolved == (key,)
    assert world.bo.order("SO-1").captured == usd("60.00")
    assert [v.voucher_id for v in world.bo.journal("SO-1")] == [f"V:{key}"]
    assert_ledger_matches_captures(world, "SO-1")
    retry = world.bo.invoice("SO-1", "INV-1", usd("60.00"))
    assert [(c.capture_id, c.amount) for c in retry.captures] == [(key, usd("60.00"))]
    assert len(entries(world, "SO-1", "capture")) == 1


def _recover_meanwhile(world: World, reports: list[RecoveryReport]) -> None:
    def recover(_: str) -> None:
        reports.append(world.bo.recover())

    world.processor.during_call = recover


def test_a_capture_recovered_while_the_live_call_was_away_is_recorded_once() -> None:
    """O2: recovery settles the capture first; the live answer then changes nothing."""
    world = new_world()
    place_card_order(world, "SO-1", "100.00")
    key = "SO-1/capture:INV-1:L1:L1.A1#1"
    reports: list[RecoveryReport] = []
    _recover_meanwhile(world, reports)
    result = world.bo.invoice("SO-1", "INV-1", usd("60.00"))
    assert [r.resolved for r in reports] == [(key,)]
    assert not result.in_doubt
    assert [(c.capture_id, c.amount) for c in result.captures] == [(key, usd("60.00"))]
    assert result.order.captured == usd("60.00")
    assert result.uncovered == usd("0.00")
    assert [(v.voucher_id, v.kind) for v in world.bo.journal("SO-1")] == [
        (f"V:{key}", VoucherKind.PAYMENT)
    ]
    (op,) = [op for op in operations(world, "SO-1") if op.kind is OperationKind.CAPTURE]
    assert (op.key, op.outcome) == (key, Outcome.APPROVED)
    assert_ledger_matches_captures(world, "SO-1")


def test_a_refund_recovered_while_the_live_call_was_away_is_recorded_once() -> None:
    """O2: recovery settles the refund first; the return shows it once, with one voucher."""
    world = new_world()
    place_card_order(world, "SO-1", "100.00")
    world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    key = "SO-1/refund:RMA-1:capture:INV-1:L1:L1.A1#1:1#1"
    reports: list[RecoveryReport] = []
    _recover_meanwhile(world, reports)
    result = world.bo.refund("SO-1", "RMA-1", usd("30.00"), AGENT)
    assert [r.resolved for r in reports] == [(key,)]
    assert not result.in_doubt
    assert [(r.refund_id, r.amount) for r in result.refunds] == [(key, usd("30.00"))]
    assert result.fallback == usd("0.00")
    assert result.order.refunded == usd("30.00")
    refunds = [v.voucher_id for v in world.bo.journal("SO-1") if v.kind is VoucherKind.REFUND]
    assert refunds == [f"V:{key}"]
    assert [e.key for e in entries(world, "SO-1", "refund")] == [key]
