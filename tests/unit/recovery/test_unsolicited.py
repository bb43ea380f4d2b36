"""Unsolicited notifications (rule N4): chargebacks and their reversals, authorizations
the processor ended, captures and refunds it rejected after approving them.

Each is applied once per notification, with its voucher, and what a capture can still
refund follows; what cannot be applied is kept for review, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ocop import (
    Actor,
    AuthorizationToken,
    BackOffice,
    CaptureToken,
    Channel,
    Customer,
    HoldCode,
    LineStatus,
    Money,
    Notification,
    NotificationEvent,
    NotificationResult,
    Outcome,
    ProcessorResult,
    RefundExceedsReceived,
    VoucherKind,
)
from ocop.adapters.memory import InMemoryStore, ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.ports.store import Committed, UnitOfWork
from ocop.testing.counting import DelegatingStore, DelegatingUnitOfWork
from unsolicited_support import chargeback, check_books, ended, failed, reversal
from worlds import START, by_card, card, usd

from .support import UnsureProcessor

AGENT = Actor.call_center("agent-1")


class Hollow(UnsureProcessor):
    """Approves the next ``hollow`` captures without taking them: the processor rejects
    them later (N4), and its own records never hold them."""

    def __init__(self, sim: SimulatedProcessor) -> None:
        super().__init__(sim)
        self.hollow = 0

    def capture(
        self, key: str, authorization: AuthorizationToken, amount: Money
    ) -> ProcessorResult:
        if not self.hollow:
            return super().capture(key, authorization, amount)
        self.hollow -= 1
        token = CaptureToken(f"cap_hollow_{self.hollow}", "sim", "sa-1")
        return ProcessorResult(key=key, outcome=Outcome.APPROVED, amount=amount, token=token)


def placed(*, reusable: bool = True, multi_capture: bool = True, hollow: int = 0) -> BackOffice:
    clock = ManualClock(START)
    processor = Hollow(SimulatedProcessor(clock=clock, multi_capture=multi_capture))
    processor.hollow = hollow
    bo = BackOffice.in_memory(processor=processor, clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("100.00"),
                   payments=[by_card("100.00", card(reusable=reusable))])  # fmt: skip
    return bo


def auth_key(bo: BackOffice) -> str:
    (record,) = [r for r in bo.operations("SO-1") if r.kind.value == "authorize"]
    return record.key


def test_a_chargeback_is_recorded_once_with_its_voucher_and_limits_refunds() -> None:
    """Recorded against its capture with a chargeback voucher in the refund journal; what
    can be refunded shrinks by it; the same notification again changes nothing."""
    bo = placed()
    (capture,) = bo.invoice("SO-1", "INV-1", usd("100.00")).captures
    note = chargeback(capture.capture_id, usd("30.00"), 1)
    result = bo.handle_notification(note)
    assert result == NotificationResult(applied=True, order_id="SO-1", key=capture.capture_id)
    order = check_books(bo, "SO-1")
    (taken,) = order.lines[0].captures
    assert (taken.charged_back, taken.refundable) == (usd("30.00"), usd("70.00"))
    assert order.returnable == usd("70.00")
    voucher = bo.journal("SO-1")[-1]
    assert voucher.kind is VoucherKind.CHARGEBACK
    assert voucher.journal_name == bo.ports.settings.refund_journal("ecommerce")
    again = bo.handle_notification(note)
    assert again.duplicate
    assert not again.applied
    assert len(bo.journal("SO-1")) == 2
    with pytest.raises(RefundExceedsReceived):
        bo.refund("SO-1", "RMA-1", usd("80.00"), AGENT)
    assert bo.refund("SO-1", "RMA-1", usd("70.00"), AGENT).failed == ()
    order = check_books(bo, "SO-1")
    assert (order.refunded, order.lines[0].captures[0].refundable) == (usd("70.00"), usd("0"))


def test_a_chargeback_beyond_what_is_refundable_is_recorded_whole_and_kept_for_review() -> None:
    """The bank took it: recorded whole, nothing is refundable any more, and a person is
    told; one beyond what the capture took cannot be, and is only kept."""
    bo = placed()
    (capture,) = bo.invoice("SO-1", "INV-1", usd("100.00")).captures
    bo.refund("SO-1", "RMA-1", usd("80.00"), AGENT)
    over = chargeback(capture.capture_id, usd("50.00"), 1)
    assert bo.handle_notification(over).applied
    assert bo.notifications_for_review() == (over,)
    order = check_books(bo, "SO-1")
    assert (order.charged_back, order.returnable) == (usd("50.00"), usd("0.00"))
    assert order.lines[0].captures[0].refundable == usd("0.00")
    impossible = chargeback(capture.capture_id, usd("60.00"), 2)
    assert bo.handle_notification(impossible).unmatched
    assert check_books(bo, "SO-1").charged_back == usd("50.00")


def test_a_chargeback_after_a_refund_to_another_card_is_kept_for_review() -> None:
    """N4 with R4: the customer was paid 60.00 back to another card (a refund linked to no
    capture), then disputed the whole 100.00: recorded whole, and kept for review, as
    when the refund was linked. (It was applied silently: 160.00 out against 100.00.)"""
    bo = placed()
    (capture,) = bo.invoice("SO-1", "INV-1", usd("100.00")).captures
    payer = Actor.call_center("agent-2", permissions=frozenset({"alternate_payment"}))
    bo.refund_to_card("SO-1", "RMA-1", card("tok_9", "9999"), usd("60.00"), payer)
    note = chargeback(capture.capture_id, usd("100.00"), 1)
    assert bo.handle_notification(note).applied
    assert bo.notifications_for_review() == (note,)
    order = bo.order("SO-1")
    assert (order.refunded, order.charged_back) == (usd("60.00"), usd("100.00"))
    assert order.returnable == usd("0.00")
    within = placed()
    (taken,) = within.invoice("SO-1", "INV-1", usd("100.00")).captures
    within.refund_to_card("SO-1", "RMA-1", card("tok_9", "9999"), usd("60.00"), payer)
    assert within.handle_notification(chargeback(taken.capture_id, usd("40.00"), 1)).applied
    assert within.notifications_for_review() == ()


def test_a_chargeback_naming_the_authorization_takes_its_one_capture_or_the_referenced() -> None:
    """Named by the authorization's key: its one capture; of several, the one whose token
    the reference gives; without one, kept for review."""
    bo = placed()
    first = bo.invoice("SO-1", "INV-1", usd("60.00")).captures[0]
    bo.handle_notification(chargeback(auth_key(bo), usd("10.00"), 1))
    assert check_books(bo, "SO-1").lines[0].captures[0].charged_back == usd("10.00")
    second = bo.invoice("SO-1", "INV-2", usd("40.00")).captures[0]
    assert bo.handle_notification(chargeback(auth_key(bo), usd("5.00"), 2)).unmatched
    assert second.token is not None
    picked = chargeback(auth_key(bo), usd("5.00"), 3, reference=second.token.value)
    assert bo.handle_notification(picked).applied
    order = check_books(bo, "SO-1")
    by_id = {c.capture_id: c.charged_back for c in order.lines[0].captures}
    assert by_id == {first.capture_id: usd("10.00"), second.capture_id: usd("5.00")}


def test_a_reversal_undoes_its_chargeback_once_and_a_second_chargeback_counts_again() -> None:
    """Reversed by its dispute: the money counts as received again, with a reversal
    voucher; the reversal again, or the first chargeback again, changes nothing; a second
    chargeback of the same dispute is recorded anew; a reversal of nothing is kept."""
    bo = placed()
    (capture,) = bo.invoice("SO-1", "INV-1", usd("100.00")).captures
    key = capture.capture_id
    bo.handle_notification(chargeback(key, usd("40.00"), 1, dispute="D-1"))
    back = reversal(key, 2, dispute="D-1")
    assert bo.handle_notification(back).applied
    order = check_books(bo, "SO-1")
    assert (order.charged_back, order.returnable) == (usd("0.00"), usd("100.00"))
    assert bo.journal("SO-1")[-1].kind is VoucherKind.CHARGEBACK_REVERSAL
    assert bo.handle_notification(back).duplicate
    assert bo.handle_notification(chargeback(key, usd("40.00"), 1, dispute="D-1")).duplicate
    assert bo.handle_notification(chargeback(key, usd("40.00"), 3, dispute="D-1")).applied
    assert check_books(bo, "SO-1").charged_back == usd("40.00")
    stray = reversal(key, 4, dispute="D-9")
    assert bo.handle_notification(stray).unmatched
    assert bo.notifications_for_review() == (stray,)
    assert len(bo.journal("SO-1")) == 4


def test_an_authorization_ended_by_the_processor_is_authorized_again_before_capture() -> None:
    """Its open amount is no longer capturable: the next invoice authorizes the card again
    (I2) and captures on the new authorization, never on the dead one; once."""
    bo = placed()
    note = ended(auth_key(bo), 1)
    assert bo.handle_notification(note).applied
    order = bo.order("SO-1")
    (auth,) = order.lines[0].authorizations
    assert (auth.ended_by, auth.open_amount) == ("N-1", usd("0.00"))
    assert order.lines[0].status is LineStatus.NOT_SUBMITTED
    assert bo.handle_notification(note).duplicate
    result = bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert result.uncovered == usd("0.00")
    (capture,) = result.captures
    assert capture.auth_id != auth.auth_id
    assert check_books(bo, "SO-1").received == usd("100.00")


def test_an_ended_authorization_of_a_card_that_cannot_be_reused_holds_the_order() -> None:
    """I3: no card token to authorize again with: the order gets an expired-authorization
    hold instead of a capture on a dead authorization."""
    bo = placed(reusable=False)
    assert bo.handle_notification(ended(auth_key(bo), 1)).applied
    assert bo.order("SO-1").has_hold(HoldCode.AUTHORIZATION_EXPIRED)


def test_a_capture_rejected_after_approval_is_undone_and_the_invoice_captured_again() -> None:
    """Money never moved: the capture is undone, its receipt reversed, and invoicing the
    same invoice again captures it under a key of its own (I4), once."""
    bo = placed(hollow=1)
    (capture,) = bo.invoice("SO-1", "INV-1", usd("60.00")).captures
    note = failed(capture.capture_id, 1, amount=usd("60.00"))
    result = bo.handle_notification(note)
    assert result == NotificationResult(applied=True, order_id="SO-1", key=capture.capture_id,
                                        undone=True)  # fmt: skip
    order = check_books(bo, "SO-1")
    assert (order.received, order.lines[0].captures) == (usd("0.00"), ())
    assert order.lines[0].rejected_captures == (capture,)
    assert bo.journal("SO-1")[-1].kind is VoucherKind.PAYMENT_REVERSAL
    assert bo.handle_notification(note).duplicate
    again = bo.invoice("SO-1", "INV-1", usd("60.00"))
    assert again.uncovered == usd("0.00")
    (taken,) = again.captures
    assert taken.capture_id != capture.capture_id
    assert bo.invoice("SO-1", "INV-1", usd("60.00")).captures == (taken,)
    assert check_books(bo, "SO-1").received == usd("60.00")


def test_a_single_capture_rejected_after_approval_never_opens_more_than_the_line_needs() -> None:
    """Without multi-capture a partial capture released the rest, which invoicing
    authorized again (I2): undone, the first authorization holds only what the line still
    needs, and the invoice's next run captures it."""
    bo = placed(multi_capture=False, hollow=1)
    (capture,) = bo.invoice("SO-1", "INV-1", usd("60.00")).captures
    assert bo.order("SO-1").lines[0].authorized == usd("40.00")  # the rest, authorized again
    assert bo.handle_notification(failed(capture.capture_id, 1)).undone
    line = bo.order("SO-1").lines[0]
    assert line.authorized == usd("100.00")
    assert [a.open_amount for a in line.authorizations] == [usd("60.00"), usd("40.00")]
    again = bo.invoice("SO-1", "INV-1", usd("60.00"))
    assert again.uncovered == usd("0.00")
    assert check_books(bo, "SO-1").received == usd("60.00")


def test_a_capture_rejected_on_a_live_authorization_of_a_single_use_card_holds_nothing() -> None:
    """N4, I3: the authorization holds the money again, so the invoice's next run captures
    it with no new authorization: no expired-authorization hold, even though the card
    cannot be authorized again. (The order was held, and invoicing refused, S3.)"""
    bo = placed(reusable=False, hollow=1)
    (capture,) = bo.invoice("SO-1", "INV-1", usd("100.00")).captures
    assert bo.handle_notification(failed(capture.capture_id, 1)).undone
    order = check_books(bo, "SO-1")
    assert order.lines[0].authorized == usd("100.00")
    assert not order.has_hold(HoldCode.AUTHORIZATION_EXPIRED)
    again = bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert again.uncovered == usd("0.00")
    assert check_books(bo, "SO-1").received == usd("100.00")


def test_a_refund_rejected_after_approval_is_undone_and_the_return_refunded_again() -> None:
    """The money never went back: the refund is undone with a reversal voucher, and the
    return's retry refunds it under a key of its own (R5)."""
    bo = placed()
    bo.invoice("SO-1", "INV-1", usd("100.00"))
    (refund,) = bo.refund("SO-1", "RMA-1", usd("30.00"), AGENT).refunds
    result = bo.handle_notification(failed(refund.refund_id, 1))
    assert result.undone
    order = check_books(bo, "SO-1")
    assert order.refunded == usd("0.00")
    assert bo.journal("SO-1")[-1].kind is VoucherKind.REFUND_REVERSAL
    (retried,) = bo.refund("SO-1", "RMA-1", usd("30.00"), AGENT).refunds
    assert retried.refund_id != refund.refund_id
    assert check_books(bo, "SO-1").refunded == usd("30.00")


def test_unsolicited_notifications_that_name_nothing_or_did_not_happen_are_kept() -> None:
    """No operation, no amount, not a success, an authorization end naming a capture, a
    chargeback of no money or less: each kept for review, nothing changed (N4)."""
    bo = placed()
    (capture,) = bo.invoice("SO-1", "INV-1", usd("100.00")).captures
    notes = [
        chargeback("SO-404/capture:X#1", usd("1.00"), 1),
        reversal(capture.capture_id, 2),
        ended(capture.capture_id, 3),
    ]
    no_amount = chargeback(capture.capture_id, usd("1.00"), 4)
    notes.append(type(no_amount)(notification_id="N-4", event=no_amount.event,
                                 key=no_amount.key, at=START))  # fmt: skip
    notes.append(type(no_amount)(notification_id="N-5", event=no_amount.event,
                                 key=no_amount.key, at=START, success=False,
                                 amount=usd("1.00")))  # fmt: skip
    notes.append(chargeback(capture.capture_id, usd("0.00"), 6))  # no money: nothing to
    notes.append(chargeback(capture.capture_id, usd("-30.00"), 7))  # book (it raised)
    for note in notes:
        assert bo.handle_notification(note) == NotificationResult(unmatched=True)
    assert bo.notifications_for_review() == tuple(notes)
    assert check_books(bo, "SO-1").charged_back == usd("0.00")


class _Racing(DelegatingUnitOfWork):
    """A unit of work whose commit first lets a rival deliver (once)."""

    def __init__(self, store: _RacingStore, inner: UnitOfWork) -> None:
        super().__init__(inner)
        self._store = store

    def commit(self) -> Committed:
        rival, self._store.rival = self._store.rival, None
        if rival is not None:
            rival()
        return super().commit()


class _RacingStore(DelegatingStore):
    def __init__(self) -> None:
        super().__init__(InMemoryStore(keeps_journal=True))
        self.rival: Callable[[], object] | None = None

    def unit_of_work(self) -> _Racing:
        return _Racing(self, self.inner.unit_of_work())


def test_two_deliveries_racing_record_a_chargeback_once() -> None:
    """O5: the same chargeback delivered by two workers at once: the one that commits
    second loses the version race, reads the record and reports a duplicate."""
    clock = ManualClock(START)
    store = _RacingStore()
    inner = store.inner
    assert isinstance(inner, InMemoryStore)
    bo = BackOffice(store=store, journal=inner.journal, clock=clock,
                    processor=SimulatedProcessor(clock=clock))  # fmt: skip
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("100.00"), payments=[by_card("100.00")])  # fmt: skip
    (capture,) = bo.invoice("SO-1", "INV-1", usd("100.00")).captures
    note = chargeback(capture.capture_id, usd("30.00"), 1)
    rival: list[NotificationResult] = []
    store.rival = lambda: rival.append(bo.handle_notification(note))
    first = bo.handle_notification(note)
    assert [first.duplicate, rival[0].applied] == [True, True]
    order = check_books(bo, "SO-1")
    assert order.charged_back == usd("30.00")
    assert [v.kind for v in bo.journal("SO-1")].count(VoucherKind.CHARGEBACK) == 1


def test_a_reversal_delivered_before_its_chargeback_is_applied_when_the_chargeback_comes() -> None:
    """Webhooks come in any order (N2): a reversal ahead of its chargeback is kept for
    review, then applied once the chargeback is recorded; the books net to nothing."""
    bo = placed()
    (capture,) = bo.invoice("SO-1", "INV-1", usd("100.00")).captures
    key = capture.capture_id
    early = reversal(key, 2, dispute="D-1")
    assert bo.handle_notification(early).unmatched
    assert bo.handle_notification(chargeback(key, usd("40.00"), 1, dispute="D-1")).applied
    order = check_books(bo, "SO-1")
    assert (order.charged_back, order.returnable) == (usd("0.00"), usd("100.00"))
    assert [v.kind for v in bo.journal("SO-1")][-2:] == [
        VoucherKind.CHARGEBACK,
        VoucherKind.CHARGEBACK_REVERSAL,
    ]
    assert bo.handle_notification(early).duplicate
    assert bo.handle_notification(chargeback(key, usd("40.00"), 3, dispute="D-2")).applied
    assert check_books(bo, "SO-1").charged_back == usd("40.00")  # another dispute stands


def test_a_chargeback_whose_reference_names_no_recorded_capture_is_kept_for_review() -> None:
    """N4: on an authorization's key, ``reference`` picks the capture. One that names no
    capture ocop recorded (the processor's capture of a call still in doubt, say) is kept
    for review: its money is never taken from another capture of the authorization."""
    bo = placed()
    bo.invoice("SO-1", "INV-1", usd("30.00"))
    stray = chargeback(auth_key(bo), usd("20.00"), 1, reference="cap_not_recorded")
    result = bo.handle_notification(stray)
    assert result.unmatched
    assert bo.notifications_for_review() == (stray,)
    assert bo.order("SO-1").lines[0].captures[0].chargebacks == ()


def test_notifications_for_calls_in_doubt_are_applied_once_recovery_settles_them() -> None:
    """N4, O2: a chargeback naming a capture still in doubt, and the end of an authorization
    still in doubt, name nothing ocop recorded yet and are kept for review; the
    ``recover()`` that settles the call applies them (they stay listed). (The chargeback
    was never counted: a return then refunded the whole capture again, 130.00 out of
    100.00; the ended authorization stayed open.)"""
    bo = placed()
    sim = bo.processor.sim  # type: ignore[attr-defined]
    sim.script("capture", "timeout_after_success")
    (record,) = bo.invoice("SO-1", "INV-1", usd("100.00")).in_doubt
    taken = chargeback(record, usd("30.00"), 1)
    assert bo.handle_notification(taken).unmatched
    bo.recover()
    order = check_books(bo, "SO-1")
    assert (order.charged_back, order.returnable) == (usd("30.00"), usd("70.00"))
    with pytest.raises(RefundExceedsReceived):
        bo.refund("SO-1", "RMA-1", usd("100.00"), AGENT)
    assert bo.handle_notification(taken).duplicate

    clock = ManualClock(START)
    other = SimulatedProcessor(clock=clock)
    second = BackOffice.in_memory(processor=other, clock=clock)
    other.script("authorize", "timeout_after_success")
    second.place_order("SO-2", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                       total=usd("50.00"), payments=[by_card("50.00")])  # fmt: skip
    (auth_op,) = [r.key for r in second.operations("SO-2") if r.kind.value == "authorize"]
    gone = ended(auth_op, 2)
    assert second.handle_notification(gone).unmatched
    second.recover()
    (auth,) = second.order("SO-2").lines[0].authorizations
    assert (auth.ended_by, auth.open_amount) == ("N-2", usd("0.00"))

    third = placed()
    third.processor.sim.script("capture", "timeout_after_success")  # type: ignore[attr-defined]
    (record,) = third.invoice("SO-1", "INV-1", usd("100.00")).in_doubt
    assert third.handle_notification(chargeback(record, usd("30.00"), 3)).unmatched
    settled = Notification(notification_id="N-4", event=NotificationEvent.OUTCOME, key=record,
                           at=START, reference="cap_9")  # fmt: skip
    assert third.handle_notification(settled).applied  # the capture's own answer, by notification
    assert check_books(third, "SO-1").charged_back == usd("30.00")


def test_a_deposit_capture_rejected_after_approval_holds_the_order_as_a_decline() -> None:
    """N4, D1: the deposit was never taken; as a deposit capture declined later by its
    notification, the order gets a ``PAYMENT_DECLINED`` hold and the authorization stays
    open for an invoice. (It stayed approved with no deposit received and no hold.)"""
    clock = ManualClock(START)
    processor = Hollow(SimulatedProcessor(clock=clock))
    processor.hollow = 1
    bo = BackOffice.in_memory(processor=processor, clock=clock)
    bo.place_order("SO-1", channel=Channel.POS, customer=Customer.named("C-1"),
                   total=usd("100.00"), payments=[by_card("30.00")], deposit=True)  # fmt: skip
    (capture,) = bo.order("SO-1").lines[0].captures
    assert bo.handle_notification(failed(capture.capture_id, 1)).undone
    order = check_books(bo, "SO-1")
    assert order.received == usd("0.00")
    assert order.lines[0].authorized == usd("30.00")
    assert order.has_hold(HoldCode.PAYMENT_DECLINED)
