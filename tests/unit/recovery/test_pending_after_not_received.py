"""A live call's pending answer that comes back after a recovery's lookup settled the call as
never received (N1, O2, O5): the lookup said the processor never had the call; the pending
answer says it accepted it and will decide later. The two contradict each other (money may
move that the order counts as never asked for): it is logged for a person to reconcile, as
any answer differing from a final outcome is, and nothing stored changes."""

from __future__ import annotations

import logging

import pytest

from ocop import Outcome, ProcessorResult
from worlds import usd

from .support import new_world, operations, place_card_order


def test_a_pending_answer_back_after_a_lookup_said_never_received_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    world = new_world()
    place_card_order(world, "SO-1", "50.00")
    world.sim.script("capture", "pending")
    key = "SO-1/capture:INV-1:L1:L1.A1#1"
    world.processor.answers[key] = ProcessorResult(key=key, outcome=Outcome.NOT_RECEIVED)

    def recovered_meanwhile(_: str) -> None:
        assert world.bo.recover().resolved == (key,)

    world.processor.during_call = recovered_meanwhile
    with caplog.at_level(logging.INFO, logger="ocop"):
        world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    (first,) = [op for op in operations(world, "SO-1") if op.key == key]
    assert first.outcome is Outcome.NOT_RECEIVED
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [
        f"answer pending for {key} differs from the not_received already settled: "
        "reconcile it by hand"
    ]
