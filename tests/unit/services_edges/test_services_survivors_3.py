"""Service behaviour a third mutation run showed unchecked: messages, targets, holds, logs.

Each test pins what a host or an operator can see through the public API and the
ports: the exact text of refusals, the target an operation is logged with, the
hold an invoice leaves, the recovery log, and the processor calls a request makes.
"""

from __future__ import annotations

import logging

import pytest

from ocop import (
    AuthorizationPolicy,
    BackOffice,
    Channel,
    FeatureDisabled,
    Hold,
    HoldCode,
    IllegalTransition,
    Operation,
    OperationKind,
    Outcome,
    ProcessorResult,
    RefundPolicy,
    Settings,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain import steps
from worlds import CUSTOMER, START, World, by_card, card, new_world, usd

from .support import AGENT, card_order, ledger

#: A card that paid none of the orders of these tests (R4).
OTHER_CARD = card("tok_9")
#: The key of the first linked refund of RMA-1 on the capture of INV-1 (R5).
REFUND_KEY = "SO-1/refund:RMA-1:capture:INV-1:L1:L1.A1#1:1#1"


def _log(world: World, order_id: str) -> tuple[Operation, ...]:
    """The order's operation log, read through the store port."""
    with world.bo.ports.store.unit_of_work() as uow:
        return uow.operations.for_order(order_id)


def _messages(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger]


# -- holds (S4, I3) ------------------------------------------------------------------------


def test_releasing_an_out_of_balance_hold_without_the_override_gives_the_full_message() -> None:
    """S4: the refusal names the order, what it paid of its total, and the missing permission."""
    world = new_world()
    world.bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=CUSTOMER,
        total=usd("100.00"),
        payments=[by_card("60.00")],
    )
    with pytest.raises(IllegalTransition) as caught:
        world.bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, AGENT)
    assert str(caught.value) == (
        "order SO-1 is still out of balance (paid 60.00 USD of 100.00 USD); "
        "releasing needs the hold_override permission"
    )
    assert caught.value.order_id == "SO-1"
    assert world.bo.order("SO-1").has_hold(HoldCode.OUT_OF_BALANCE)


def test_an_authorization_that_could_not_be_renewed_holds_the_order_saying_why_and_when() -> None:
    """I3: the hold an invoice places for a stale authorization has its reason and the time."""
    short = Settings.default().with_policies(
        authorization=AuthorizationPolicy(expiry_days=3, stale_days=7)
    )
    world = new_world(short)
    card_order(world)
    later = world.clock.advance(days=8)
    result = world.bo.invoice("SO-1", "INV-1", usd("20.00"))
    expected = Hold(
        code=HoldCode.AUTHORIZATION_EXPIRED,
        reason="an authorization expired and could not be renewed",
        placed_at=later,
    )
    assert result.order.holds == (expected,)
    assert world.bo.order("SO-1").holds == (expected,)


# -- linked refunds (R5, O1, O4) -----------------------------------------------------------


def test_a_linked_refund_is_logged_against_the_token_of_its_capture() -> None:
    """O1, R5: the refund's operation targets the capture's processor token, names its capture."""
    world = new_world()
    card_order(world)
    invoiced = world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    (capture,) = invoiced.captures
    assert capture.token is not None
    world.bo.refund("SO-1", "RMA-1", usd("10.00"), AGENT)
    (refund,) = [op for op in _log(world, "SO-1") if op.kind is OperationKind.REFUND]
    assert (refund.key, refund.target, refund.amount, refund.outcome) == (
        REFUND_KEY,
        capture.token.value,
        usd("10.00"),
        Outcome.APPROVED,
    )
    assert isinstance(refund.step, steps.Refund)
    assert (refund.step.capture_id, refund.step.line_id, refund.step.return_id) == (
        "SO-1/capture:INV-1:L1:L1.A1#1",
        "L1",
        "RMA-1",
    )


def test_an_approved_refund_found_in_the_log_is_reused_and_not_sent_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """O4: a refund step the log holds as approved is not sent to the processor a second time."""
    world = new_world()
    card_order(world)
    (capture,) = world.bo.invoice("SO-1", "INV-1", usd("50.00")).captures
    assert capture.token is not None
    # Another worker's approved refund of this very step, found in the log.
    refund = steps.Refund(return_id="RMA-1", line_id="L1", capture_id=capture.capture_id,
                          number=1, amount=usd("10.00"), target=capture.token.value)  # fmt: skip
    done = Operation.intent("SO-1", refund, 1, START)
    with world.bo.ports.store.unit_of_work() as uow:
        uow.operations.record_intent(done)
        uow.operations.record_outcome(
            done.key, ProcessorResult(key=done.key, outcome=Outcome.APPROVED), START
        )
        uow.commit()
    calls = world.sim.calls
    with caplog.at_level(logging.INFO, logger="ocop.operations"):
        result = world.bo.refund("SO-1", "RMA-1", usd("10.00"), AGENT)
    assert world.sim.calls == calls
    assert [kind for kind, _, _ in ledger(world)] == ["authorize", "capture"]
    assert [op.key for op in _log(world, "SO-1") if op.kind is OperationKind.REFUND] == [REFUND_KEY]
    assert not result.in_doubt
    assert _messages(caplog, "ocop.operations") == [
        f"reused {REFUND_KEY}: step refund:RMA-1:capture:INV-1:L1:L1.A1#1:1 already approved"
    ]


# -- unlinked refunds (R4) -----------------------------------------------------------------


def test_unlinked_refunds_disallowed_by_the_settings_are_refused_with_the_message() -> None:
    """R4: with unlinked refunds off the refusal says the settings do not allow them."""
    off = Settings.default().with_policies(refunds=RefundPolicy(allow_unlinked_refunds=False))
    world = new_world(off)
    card_order(world)
    world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    with pytest.raises(FeatureDisabled) as caught:
        world.bo.refund_to_card("SO-1", "RMA-1", OTHER_CARD, usd("10.00"), AGENT)
    assert str(caught.value) == "unlinked refunds are not allowed"
    assert caught.value.feature == "allow_unlinked_refunds"
    assert [kind for kind, _, _ in ledger(world)] == ["authorize", "capture"]


def test_repeating_a_paid_unlinked_refund_reports_the_same_result_without_a_call() -> None:
    """R4, R5: asking again for a paid unlinked refund changes nothing and reports the same."""
    world = new_world()
    card_order(world)
    world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    first = world.bo.refund_to_card("SO-1", "RMA-1", OTHER_CARD, usd("20.00"), AGENT)
    calls = world.sim.calls
    again = world.bo.refund_to_card("SO-1", "RMA-1", OTHER_CARD, usd("20.00"), AGENT)
    assert again == first
    assert world.sim.calls == calls
    assert [(r.refund_id, r.amount) for r in again.refunds] == [
        ("SO-1/unlinked_refund:RMA-1:1#1", usd("20.00"))
    ]
    assert not again.in_doubt


# -- recovery (O2) -------------------------------------------------------------------------


class _BlindProcessor(SimulatedProcessor):
    """A simulated processor whose lookups cannot tell anything yet."""

    def lookup(self, key: str) -> ProcessorResult:
        return ProcessorResult(key=key, outcome=Outcome.UNKNOWN, reason="lookup unavailable")


def test_recovery_logs_each_key_the_processor_cannot_tell_yet(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """O2: an operation the processor's lookup cannot settle is logged by key and left in doubt."""
    clock = ManualClock(START)
    sim = _BlindProcessor(clock=clock)
    world = World(clock=clock, sim=sim, bo=BackOffice.in_memory(processor=sim, clock=clock))
    card_order(world)
    sim.script("capture", "timeout_before")
    assert world.bo.invoice("SO-1", "INV-1", usd("20.00")).in_doubt
    with caplog.at_level(logging.INFO, logger="ocop.recovery"):
        report = world.bo.recover()
    assert report.still_in_doubt == ("SO-1/capture:INV-1:L1:L1.A1#1",)
    assert report.resolved == ()
    assert _messages(caplog, "ocop.recovery") == ["still in doubt SO-1/capture:INV-1:L1:L1.A1#1"]
