"""An outcome settles the operation as stored, not the caller's older copy of it (N1, N2, V5).

A recovery reads its list of operations in doubt once, and a notification reads the
operation it names before settling it; meanwhile the live call (or another recovery) may
record the processor's pending answer. The final answer must then settle the operation
as pending: a failure takes back the pending capture or refund, an approval makes it
received or refunded, and a second pending answer changes nothing. Before, the older
copy (a bare intent) was applied: a decline changed nothing, so the order kept a pending
capture the processor never made, and its notification counted as a duplicate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import attrs
import pytest

from ocop import (
    Actor,
    BackOffice,
    IdempotencyConflict,
    Notification,
    NotificationResult,
    Operation,
    Order,
    Outcome,
    ProcessorResult,
    StorageUnavailable,
)
from ocop.adapters.simulated import SimulatedCrash
from ocop.ports.processor import ProcessorCapabilities
from ocop.ports.store import Committed, OrderStore, UnitOfWork
from ocop.services._outcomes import settle
from ocop.testing.counting import DelegatingStore, DelegatingUnitOfWork
from worlds import usd

from .support import UnsureProcessor, World, entries, new_world, operations, place_card_order

AGENT = Actor.call_center("agent-1")


def _stored(world: World, key: str) -> Operation:
    (op,) = [op for op in operations(world, "SO-1") if op.key == key]
    return op


def _as_intent(op: Operation) -> Operation:
    """``op`` as read before any answer was recorded for it."""
    return attrs.evolve(op, outcome=None, result=None, resolved_at=None)


def _pending_capture(world: World) -> Operation:
    """SO-1 (50.00 by card) invoiced in full; the processor answered the capture pending."""
    place_card_order(world, "SO-1", "50.00")
    world.sim.script("capture", "pending")
    (capture,) = world.bo.invoice("SO-1", "INV-1", usd("50.00")).captures
    op = _stored(world, capture.capture_id)
    assert op.outcome is Outcome.PENDING
    return op


def _pending_refund(world: World) -> Operation:
    """SO-1 invoiced, then refunded 20.00; the processor answered the refund pending."""
    place_card_order(world, "SO-1", "50.00")
    world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    world.sim.script("refund", "pending")
    (refund,) = world.bo.refund("SO-1", "RMA-1", usd("20.00"), AGENT).refunds
    op = _stored(world, refund.refund_id)
    assert op.outcome is Outcome.PENDING
    return op


def test_a_decline_takes_back_a_pending_capture_read_before_it_was_pending() -> None:
    """N2: the capture leaves the line, its authorization holds the money again, and
    nothing is received or posted."""
    world = new_world()
    op = _pending_capture(world)
    declined = ProcessorResult(key=op.key, outcome=Outcome.DECLINED)
    settled = settle(world.bo.ports, "SO-1", [(_as_intent(op), declined)])
    assert settled.from_pending == {op.key}
    assert settled.outcomes[op.key].outcome is Outcome.DECLINED
    line = world.bo.order("SO-1").lines[0]
    assert line.captures == ()
    assert line.authorizations[0].open_amount == usd("50.00")
    assert world.bo.order("SO-1").received == usd("0.00")
    assert world.bo.journal("SO-1") == ()


def test_an_approval_receives_a_pending_capture_read_before_it_was_pending() -> None:
    """N2: the capture is received, once, with its voucher."""
    world = new_world()
    op = _pending_capture(world)
    assert op.result is not None
    approved = attrs.evolve(op.result, outcome=Outcome.APPROVED)
    settle(world.bo.ports, "SO-1", [(_as_intent(op), approved)])
    order = world.bo.order("SO-1")
    (capture,) = order.lines[0].captures
    assert (capture.capture_id, capture.pending) == (op.key, False)
    assert order.received == usd("50.00")
    assert [v.amount for v in world.bo.journal("SO-1")] == [usd("50.00")]


def test_a_second_pending_answer_for_a_pending_capture_changes_nothing() -> None:
    """The live call's own pending answer, settled after a recovery recorded the same one:
    the live call's order is out of date, so its commit reads the order again, finds the
    answer stored, and leaves the order and the log as they were."""
    world = new_world()
    place_card_order(world, "SO-1", "50.00")
    live: list[Order] = []
    world.processor.during_call = lambda key: live.append(world.bo.order("SO-1"))
    world.sim.script("capture", "pending")
    (capture,) = world.bo.invoice("SO-1", "INV-1", usd("50.00")).captures
    op = _stored(world, capture.capture_id)
    before = world.bo.order("SO-1")
    assert op.result is not None
    settled = settle(world.bo.ports, "SO-1", [(_as_intent(op), op.result)], order=live[0])
    assert settled.outcomes[op.key] == op
    assert settled.order == before
    assert world.bo.order("SO-1") == before
    assert _stored(world, op.key) == op


def test_a_decline_takes_back_a_pending_refund_read_before_it_was_pending() -> None:
    """N2: the refund leaves the line, and its capture may be refunded again."""
    world = new_world()
    op = _pending_refund(world)
    declined = ProcessorResult(key=op.key, outcome=Outcome.DECLINED)
    settle(world.bo.ports, "SO-1", [(_as_intent(op), declined)])
    order = world.bo.order("SO-1")
    assert order.lines[0].refunds == ()
    assert (order.refunded, order.refunding) == (usd("0.00"), usd("0.00"))
    assert order.returnable == usd("50.00")


class _LookupFirst(UnsureProcessor):
    """Runs ``first`` once, just before its next lookup reaches the simulator."""

    def __init__(self, world: World, first: Callable[[], None]) -> None:
        super().__init__(world.sim)
        self.first: Callable[[], None] | None = first

    def lookup(self, key: str) -> ProcessorResult:
        if self.first is not None:
            first, self.first = self.first, None
            first()
        return super().lookup(key)


def _crash(key: str) -> None:
    raise SimulatedCrash(f"the worker died after the processor answered {key}")


@pytest.mark.parametrize("decision", ["decline", "approve"])
def test_two_recoveries_and_the_final_answer_leave_ocop_and_the_processor_agreeing(
    decision: str,
) -> None:
    """A worker dies after the processor answered its capture pending. Recovery A reads the
    capture as in doubt; before A asks the processor, recovery B records it pending and the
    processor decides. A then settles it from its older copy; the notification that follows
    is a duplicate, and ocop's captures are the processor's (V5)."""
    world = new_world()
    place_card_order(world, "SO-1", "50.00")
    world.sim.script("capture", "pending")
    world.processor.during_call = _crash
    with pytest.raises(SimulatedCrash):
        world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    journal = world.bo.ports.journal
    notes: list[Notification] = []

    def recovery_b_then_the_decision() -> None:
        (key,) = world.bo.recover().resolved
        assert _stored(world, key).outcome is Outcome.PENDING
        notes.extend(world.sim.settle_pending(decision))

    first = _LookupFirst(world, recovery_b_then_the_decision)
    recovery_a = BackOffice(store=world.store, journal=journal, clock=world.clock, processor=first)
    report = recovery_a.recover()
    assert (len(report.resolved), report.unapplied) == (1, ())
    (note,) = notes
    assert world.bo.handle_notification(note).duplicate
    assert world.bo.recover().resolved == ()
    order = world.bo.order("SO-1")
    ours = [(c.capture_id, c.amount, c.pending) for c in order.lines[0].captures]
    theirs = [(e.key, e.amount, False) for e in entries(world, "SO-1", "capture")]
    assert ours == theirs
    assert order.lines[0].authorizations[0].open_amount == usd("50.00" if ours == [] else "0.00")
    assert world.bo.orders(in_doubt=True) == ()


class _Paused(UnsureProcessor):
    """The webhook side's processor: while ``armed``, asking its capabilities (which a
    notification does once it has read its operation) signals ``read`` and waits for
    ``go``."""

    def __init__(self, world: World) -> None:
        super().__init__(world.sim)
        self.armed = False
        self.read = threading.Event()
        self.go = threading.Event()

    @property
    def capabilities(self) -> ProcessorCapabilities:
        if self.armed:
            self.armed = False
            self.read.set()
            assert self.go.wait(10)
        return self.sim.capabilities


def test_a_decline_delivered_while_the_live_call_records_pending_takes_the_capture_back() -> None:
    """The processor's decline arrives while the live call that got the pending answer is
    still recording it: the notification read the capture as an intent, and settles it
    after the live call stored it pending. It is applied (and undoes the capture), not
    taken for a duplicate."""
    world = new_world()
    place_card_order(world, "SO-1", "50.00")
    hook = _Paused(world)
    webhook = BackOffice(store=world.store, journal=world.bo.ports.journal, processor=hook,
                         clock=world.clock)  # fmt: skip
    answers: list[NotificationResult] = []
    threads: list[threading.Thread] = []

    def deliver_the_decline(key: str) -> None:
        (note,) = world.sim.settle_pending("decline")
        hook.armed = True
        thread = threading.Thread(target=lambda: answers.append(webhook.handle_notification(note)))
        thread.start()
        threads.append(thread)
        assert hook.read.wait(10)  # the notification has read the capture, still an intent

    world.sim.script("capture", "pending")
    world.processor.during_call = deliver_the_decline
    world.bo.invoice("SO-1", "INV-1", usd("50.00"))  # records the pending answer
    hook.go.set()
    threads[0].join(10)
    (answer,) = answers
    assert (answer.applied, answer.undone) == (True, True)
    line = world.bo.order("SO-1").lines[0]
    assert line.captures == ()
    assert line.authorizations[0].open_amount == usd("50.00")
    assert entries(world, "SO-1", "capture") == []
    assert world.bo.recover().resolved == ()


class _Refusing(UnsureProcessor):
    """A processor whose lookup of one key raises (Adyen's "request already processed or in
    progress", say); the other keys are answered as usual."""

    def __init__(self, world: World, refused: str) -> None:
        super().__init__(world.sim)
        self.refused = refused

    def lookup(self, key: str) -> ProcessorResult:
        if key == self.refused:
            raise IdempotencyConflict(key)
        return super().lookup(key)


def test_a_processor_that_refuses_to_tell_about_one_call_does_not_stop_the_recovery() -> None:
    """O2: the call it cannot ask about stays in doubt for the next run; every other call
    in doubt is resolved, and the run ends normally."""
    world = new_world()
    for order_id in ("SO-1", "SO-2"):
        place_card_order(world, order_id, "50.00")
        world.sim.script("capture", "timeout_after_success")
        world.bo.invoice(order_id, "INV-1", usd("50.00"))
    first, second = (_stored_of(world, o) for o in ("SO-1", "SO-2"))
    refusing = _Refusing(world, first.key)
    bo = BackOffice(store=world.store, journal=world.bo.ports.journal, clock=world.clock,
                    processor=refusing)  # fmt: skip
    report = bo.recover()
    assert (report.resolved, report.still_in_doubt) == ((second.key,), (first.key,))
    assert world.bo.recover().resolved == (first.key,)  # answered once it tells again


def _stored_of(world: World, order_id: str) -> Operation:
    (op,) = [op for op in operations(world, order_id) if op.in_doubt]
    return op


class _Down(DelegatingStore):
    """A store whose commits fail while ``down`` (the database unreachable)."""

    def __init__(self, inner: OrderStore) -> None:
        super().__init__(inner)
        self.down = False

    def unit_of_work(self) -> UnitOfWork:
        return _DownUnit(self, self.inner.unit_of_work())


class _DownUnit(DelegatingUnitOfWork):
    def __init__(self, store: _Down, inner: UnitOfWork) -> None:
        super().__init__(inner)
        self._store = store

    def commit(self) -> Committed:
        if self._store.down:
            self.rollback()
            raise StorageUnavailable("the database is unreachable")
        return super().commit()


def test_a_storage_failure_while_recovering_leaves_the_call_in_doubt_not_unapplied() -> None:
    """``unapplied`` means the order refused the outcome (a person must look); a store that
    failed is not that: the call stays in doubt, and the next run resolves it."""
    world = new_world()
    place_card_order(world, "SO-1", "50.00")
    world.sim.script("capture", "timeout_after_success")
    world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    (key,) = [op.key for op in operations(world, "SO-1") if op.in_doubt]
    down = _Down(world.store)
    bo = BackOffice(store=down, journal=world.bo.ports.journal, clock=world.clock,
                    processor=world.processor)  # fmt: skip
    down.down = True
    report = bo.recover()
    assert (report.unapplied, report.still_in_doubt) == ((), (key,))
    down.down = False
    assert bo.recover().resolved == (key,)
