"""A live call's pending answer that comes back after its final outcome was settled (N1,
N2, O5): a host's threads run the call and, meanwhile, the processor's notification of
its final outcome (or a recovery's lookup). The pending answer is the processor's earlier
word, not a contradiction of the final one: it changes nothing, and no error asks a
person to reconcile anything. Before, it was logged as an error ("answer pending ...
differs from the declined already settled: reconcile it by hand")."""

from __future__ import annotations

import logging

import pytest

from ocop import Outcome
from worlds import usd

from .support import assert_ledger_matches_captures, new_world, operations, place_card_order


@pytest.mark.parametrize("final", ["approve", "decline"])
def test_a_pending_answer_back_after_its_notification_settled_the_call_is_no_error(
    final: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The capture is answered pending; before the invoice hears back, the notification of
    its final outcome is handled (another thread of the host). The invoice then stores
    nothing more, logs no error, and the order shows the final outcome (V5)."""
    world = new_world()
    place_card_order(world, "SO-1", "50.00")
    world.sim.script("capture", "pending")

    def notified_meanwhile(key: str) -> None:
        (note,) = world.sim.settle_pending(final)
        assert world.bo.handle_notification(note).applied

    world.processor.during_call = notified_meanwhile
    with caplog.at_level(logging.INFO, logger="ocop"):
        world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    (capture,) = [op for op in operations(world, "SO-1") if op.kind.value == "capture"]
    expected = Outcome.APPROVED if final == "approve" else Outcome.DECLINED
    assert capture.outcome is expected
    assert world.bo.order("SO-1").captured == usd("50.00" if final == "approve" else "0.00")
    assert_ledger_matches_captures(world, "SO-1")
