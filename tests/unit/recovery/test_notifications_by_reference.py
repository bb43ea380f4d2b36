"""Notifications that name their operation by the processor's reference alone (N2, N4).

A notification with no operation key names the operation whose recorded answer carried
its reference as its own token: an authorization's, a capture's, a refund's. It is
applied once, like one with the key; a reference that names nothing, or several
operations, is kept for review; so is every one, when the store's operation log cannot
find operations by reference.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from ocop import (
    AuthorizationToken,
    BackOffice,
    CaptureToken,
    Channel,
    Customer,
    Money,
    Notification,
    NotificationResult,
    Operation,
    Outcome,
    ProcessorResult,
    VoucherKind,
)
from ocop.adapters.memory import InMemoryJournal, InMemoryStore, ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.ports.store import OperationLog, UnitOfWork
from ocop.testing.counting import DelegatingStore, DelegatingUnitOfWork
from unsolicited_support import chargeback, check_books, ended, reversal
from worlds import START, by_card, usd

from .test_notifications import AGENT, Pending, note, operation, world


def by_reference(notification: Notification, reference: str) -> Notification:
    """``notification`` as a processor that names no key sends it."""
    return attrs.evolve(notification, key="", reference=reference)


def test_a_pending_captures_success_by_reference_alone_settles_it_once() -> None:
    """The success of a pending capture naming only its capture token settles it (its
    payment voucher); again, by reference or by key, it is a duplicate."""
    _, processor, bo = world()
    processor.pending.add("capture")
    (capture,) = bo.invoice("SO-1", "INV-1", usd("60.00")).captures
    assert capture.token is not None
    done = bo.handle_notification(by_reference(note(capture.capture_id), capture.token.value))
    assert done == NotificationResult(applied=True, order_id="SO-1", key=capture.capture_id)
    assert bo.order("SO-1").received == usd("60.00")
    assert operation(bo, capture.capture_id).outcome is Outcome.APPROVED
    again = by_reference(note(capture.capture_id), capture.token.value)
    assert bo.handle_notification(again).duplicate
    assert bo.handle_notification(note(capture.capture_id)).duplicate
    assert [v.kind for v in bo.journal("SO-1")] == [VoucherKind.PAYMENT]
    assert bo.notifications_for_review() == ()


def test_a_pending_refunds_failure_by_reference_alone_undoes_it() -> None:
    _, processor, bo = world()
    bo.invoice("SO-1", "INV-1", usd("100.00"))
    processor.pending.add("refund")
    (refund,) = bo.refund("SO-1", "RMA-1", usd("30.00"), AGENT).refunds
    assert refund.token is not None
    failure = by_reference(note(refund.refund_id, success=False), refund.token.value)
    undone = bo.handle_notification(failure)
    assert (undone.applied, undone.undone, undone.key) == (True, True, refund.refund_id)
    order = bo.order("SO-1")
    assert (order.refunded, order.refunding) == (usd("0.00"), usd("0.00"))


def test_a_chargeback_and_its_reversal_by_the_captures_reference_alone() -> None:
    """N4: the capture token names the capture; a pending one is settled first; the same
    chargeback again is a duplicate; its reversal by reference alone is applied."""
    _, processor, bo = world()
    processor.pending.add("capture")
    (capture,) = bo.invoice("SO-1", "INV-1", usd("100.00")).captures
    assert capture.token is not None
    reference = capture.token.value
    taken = by_reference(chargeback(capture.capture_id, usd("30.00"), 1, dispute="D-1"),
                         reference)  # fmt: skip
    assert bo.handle_notification(taken) == NotificationResult(
        applied=True, order_id="SO-1", key=capture.capture_id
    )
    assert bo.handle_notification(taken).duplicate
    order = check_books(bo, "SO-1")
    assert (order.received, order.charged_back) == (usd("100.00"), usd("30.00"))
    back = by_reference(reversal(capture.capture_id, 2, dispute="D-1"), reference)
    assert bo.handle_notification(back).applied
    assert check_books(bo, "SO-1").charged_back == usd("0.00")
    assert bo.notifications_for_review() == ()


def test_an_authorizations_reference_names_its_captures_and_its_end() -> None:
    """N4: a chargeback naming the authorization's token is taken from its one capture, as
    by the authorization's key; an end naming it ends the authorization."""
    _, _, bo = world()
    (auth_op,) = bo.operations("SO-1")
    (capture,) = bo.invoice("SO-1", "INV-1", usd("60.00")).captures
    token = operation(bo, auth_op.key).reference
    assert token
    taken = by_reference(chargeback(auth_op.key, usd("20.00"), 1), token)
    assert bo.handle_notification(taken).applied
    (stored,) = check_books(bo, "SO-1").lines[0].captures
    assert (stored.capture_id, stored.charged_back) == (capture.capture_id, usd("20.00"))
    end = bo.handle_notification(by_reference(ended(auth_op.key, 2), token))
    assert (end.applied, end.key) == (True, auth_op.key)
    assert bo.order("SO-1").lines[0].authorizations[0].ended_by == "N-2"


def test_a_void_carrying_the_authorizations_token_leaves_it_naming_the_authorization() -> None:
    """A void's answer carries the token of the authorization it voids: the reference
    still names one operation, the authorization (its success again is a duplicate)."""
    _, _, bo = world()
    (auth_op,) = bo.operations("SO-1")
    bo.cancel_order("SO-1", AGENT)
    (void,) = [r for r in bo.operations("SO-1") if r.kind.value == "void"]
    token = operation(bo, auth_op.key).reference
    assert operation(bo, void.key).reference == token != ""
    again = bo.handle_notification(by_reference(note(auth_op.key), token))
    assert (again.duplicate, again.key) == (True, auth_op.key)


def test_a_reference_that_names_nothing_is_kept_for_review() -> None:
    _, processor, bo = world()
    processor.pending.add("capture")
    (capture,) = bo.invoice("SO-1", "INV-1", usd("60.00")).captures
    stray = by_reference(note(capture.capture_id), "cap_404")
    unknown = by_reference(chargeback(capture.capture_id, usd("5.00"), 2), "cap_404")
    nameless = by_reference(note(capture.capture_id, n=3), "")
    for kept in (stray, unknown, nameless):
        assert bo.handle_notification(kept) == NotificationResult(unmatched=True)
    assert bo.notifications_for_review() == (stray, unknown, nameless)
    assert bo.order("SO-1").lines[0].captures[0].pending


class SameToken(Pending):
    """Gives every capture the same token value (two accounts' tokens may look alike)."""

    def capture(
        self, key: str, authorization: AuthorizationToken, amount: Money
    ) -> ProcessorResult:
        result = super().capture(key, authorization, amount)
        token = result.token
        if token is None:
            return result
        return attrs.evolve(result, token=CaptureToken("cap_same", token.connector,
                                                       token.service_account))  # fmt: skip


def test_a_reference_that_names_several_operations_is_kept_for_review() -> None:
    clock = ManualClock(START)
    processor = SameToken(SimulatedProcessor(clock=clock))
    processor.pending.add("capture")
    bo = BackOffice.in_memory(processor=processor, clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("100.00"), payments=[by_card("100.00")])  # fmt: skip
    (first,) = bo.invoice("SO-1", "INV-1", usd("60.00")).captures
    (second,) = bo.invoice("SO-1", "INV-2", usd("40.00")).captures
    vague = by_reference(note(first.capture_id), "cap_same")
    assert bo.handle_notification(vague).unmatched
    assert bo.notifications_for_review() == (vague,)
    assert [c.pending for c in bo.order("SO-1").lines[0].captures] == [True, True]
    assert bo.handle_notification(note(second.capture_id, n=2)).applied  # by key: applied


class _Log:
    """An operation log of a store of one's own, written before logs found operations by
    reference: only :class:`~ocop.ports.store.OperationLog`'s methods."""

    def __init__(self, inner: OperationLog) -> None:
        self._inner = inner

    def record_intent(self, operation: Operation) -> None:
        self._inner.record_intent(operation)

    def record_intents(self, operations: tuple[Operation, ...]) -> None:
        self._inner.record_intents(operations)

    def record_outcome(self, key: str, result: ProcessorResult, at: datetime) -> Operation:
        return self._inner.record_outcome(key, result, at)

    def settle(self, operation: Operation) -> None:
        self._inner.settle(operation)

    def get(self, key: str) -> Operation | None:
        return self._inner.get(key)

    def attempts(self, order_id: str, name: str) -> tuple[Operation, ...]:
        return self._inner.attempts(order_id, name)

    def for_order(self, order_id: str) -> tuple[Operation, ...]:
        return self._inner.for_order(order_id)

    def in_doubt(self, order_id: str | None = None) -> tuple[Operation, ...]:
        return self._inner.in_doubt(order_id)


class _Unit(DelegatingUnitOfWork):
    @property
    def operations(self) -> OperationLog:
        return _Log(super().operations)


class OwnStore(DelegatingStore):
    """A store whose operation log cannot find operations by reference."""

    def unit_of_work(self) -> UnitOfWork:
        return _Unit(self.inner.unit_of_work())


def test_a_store_that_cannot_find_by_reference_keeps_such_notifications_for_review() -> None:
    """The port's ``by_reference`` is optional: without it, a notification naming only a
    reference is kept for review (nothing guessed, nothing raised); by key, as before."""
    clock = ManualClock(START)
    processor = Pending(SimulatedProcessor(clock=clock))
    processor.pending.add("capture")
    bo = BackOffice(store=OwnStore(InMemoryStore()), journal=InMemoryJournal(),
                    processor=processor, clock=clock)  # fmt: skip
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("100.00"), payments=[by_card("100.00")])  # fmt: skip
    (capture,) = bo.invoice("SO-1", "INV-1", usd("60.00")).captures
    assert capture.token is not None
    vague = by_reference(note(capture.capture_id), capture.token.value)
    assert bo.handle_notification(vague).unmatched
    assert bo.notifications_for_review() == (vague,)
    assert bo.handle_notification(note(capture.capture_id, n=2)).applied
