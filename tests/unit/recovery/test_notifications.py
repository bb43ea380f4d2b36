"""``bo.handle_notification(n)`` (rules N1, N2), with a processor that answers pending.

A pending capture covers its invoice and does not block the order; its notification
settles it once (posted then, or undone); the same notification again is a duplicate; a
notification that names nothing, or contradicts a final outcome, or comes unasked, is kept
for review, never dropped.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from ocop import (
    Actor,
    AuthorizationToken,
    BackOffice,
    CaptureToken,
    CardToken,
    Channel,
    Customer,
    InvalidArgument,
    Money,
    Notification,
    NotificationEvent,
    NotificationResult,
    Operation,
    Outcome,
    Prepayment,
    ProcessorResult,
    RefundResult,
    VoucherKind,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain import steps
from unsolicited_support import chargeback, check_books
from worlds import START, by_card, card, refused_payout, usd

from .support import UnsureProcessor

AGENT = Actor.call_center("agent-1")


class Pending(UnsureProcessor):
    """Answers the kinds in ``pending`` with PENDING (the simulator moved the money)."""

    def __init__(self, sim: SimulatedProcessor) -> None:
        super().__init__(sim)
        self.pending: set[str] = set()

    def _held(self, kind: str, result: ProcessorResult) -> ProcessorResult:
        if kind not in self.pending or result.outcome is not Outcome.APPROVED:
            return result
        return ProcessorResult(key=result.key, outcome=Outcome.PENDING, amount=result.amount,
                               token=result.token)  # fmt: skip

    def capture(
        self, key: str, authorization: AuthorizationToken, amount: Money
    ) -> ProcessorResult:
        return self._held("capture", super().capture(key, authorization, amount))

    def refund(self, key: str, capture: CaptureToken, amount: Money) -> ProcessorResult:
        return self._held("refund", super().refund(key, capture, amount))

    def unlinked_refund(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        return self._held("unlinked_refund", super().unlinked_refund(key, card, amount))

    def authorize(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        return self._held("authorize", super().authorize(key, card, amount))


def world() -> tuple[ManualClock, Pending, BackOffice]:
    clock = ManualClock(START)
    processor = Pending(SimulatedProcessor(clock=clock))
    bo = BackOffice.in_memory(processor=processor, clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("100.00"), payments=[by_card("100.00")])  # fmt: skip
    return clock, processor, bo


def note(key: str, *, success: bool = True, n: int = 1, reference: str = "") -> Notification:
    return Notification(notification_id=f"N-{n}", event=NotificationEvent.OUTCOME, key=key,
                        at=START + timedelta(hours=n), success=success,
                        reference=reference)  # fmt: skip


def operation(bo: BackOffice, key: str) -> Operation:
    with bo.ports.store.unit_of_work() as uow:
        found = uow.operations.get(key)
    assert found is not None
    return found


def test_a_pending_capture_covers_its_invoice_and_its_notification_posts_it_once() -> None:
    _, processor, bo = world()
    processor.pending.add("capture")
    result = bo.invoice("SO-1", "INV-1", usd("60.00"))
    (capture,) = result.captures
    assert capture.pending
    assert result.uncovered == usd("0.00")
    assert result.in_doubt == ()
    assert bo.order("SO-1").received == usd("0.00")
    assert bo.journal("SO-1") == ()
    again = bo.invoice("SO-1", "INV-1", usd("60.00"))  # a retry takes nothing twice (I4)
    assert [c.capture_id for c in again.captures] == [capture.capture_id]
    processor.pending.clear()
    other = bo.invoice("SO-1", "INV-2", usd("40.00"))  # a pending call blocks nothing (N1)
    assert other.uncovered == usd("0.00")
    done = bo.handle_notification(note(capture.capture_id))
    assert done == NotificationResult(applied=True, order_id="SO-1", key=capture.capture_id)
    order = bo.order("SO-1")
    assert order.received == usd("100.00")
    assert [v.kind for v in bo.journal("SO-1")] == [VoucherKind.PAYMENT, VoucherKind.PAYMENT]
    assert operation(bo, capture.capture_id).outcome is Outcome.APPROVED
    duplicate = bo.handle_notification(note(capture.capture_id))
    assert duplicate.duplicate
    assert not duplicate.applied
    assert len(bo.journal("SO-1")) == 2


def test_a_failed_pending_capture_is_undone_and_the_invoice_can_be_captured_again() -> None:
    _, processor, bo = world()
    processor.pending.add("capture")
    (capture,) = bo.invoice("SO-1", "INV-1", usd("60.00")).captures
    undone = bo.handle_notification(note(capture.capture_id, success=False))
    assert undone.applied
    assert undone.undone
    order = bo.order("SO-1")
    assert order.lines[0].captures == ()
    assert order.lines[0].authorized == usd("100.00")
    assert bo.journal("SO-1") == ()
    processor.pending.clear()
    bo.invoice("SO-1", "INV-1", usd("60.00"))  # the failed capture stands for nothing (I4)
    assert [r.key[-2:] for r in bo.operations("SO-1") if r.kind.value == "capture"] == [
        "#1",
        "#2",
    ]


def test_a_pending_refund_counts_against_its_capture_until_settled() -> None:
    _, processor, bo = world()
    (capture,) = bo.invoice("SO-1", "INV-1", usd("100.00")).captures
    processor.pending.add("refund")
    refund = bo.refund("SO-1", "RMA-1", usd("30.00"), AGENT)
    (pending,) = refund.refunds
    assert pending.pending
    order = bo.order("SO-1")
    assert (order.refunded, order.refunding) == (usd("0.00"), usd("30.00"))
    assert bo.refund("SO-1", "RMA-1", usd("30.00"), AGENT).refunds == (pending,)  # once (R5)
    assert bo.handle_notification(note(pending.refund_id)).applied
    order = bo.order("SO-1")
    assert (order.refunded, order.refunding) == (usd("30.00"), usd("0.00"))
    assert [v.kind for v in bo.journal("SO-1")] == [VoucherKind.PAYMENT, VoucherKind.REFUND]
    assert pending.capture_id == capture.capture_id


def test_what_matches_nothing_or_contradicts_or_comes_unasked_is_kept_for_review() -> None:
    """A notification for no operation, a late failure of a capture already refunded (it
    cannot be undone, N4), and an event ocop does not apply are kept, once each."""
    _, _, bo = world()
    (capture,) = bo.invoice("SO-1", "INV-1", usd("60.00")).captures  # approved at once
    bo.refund("SO-1", "RMA-1", usd("10.00"), AGENT)
    stray = note("SO-404/capture:INV-1:L1:L1.A1#1", n=7)
    late_failure = note(capture.capture_id, success=False, n=8)
    other = Notification(notification_id="N-9", event=NotificationEvent.OTHER,
                         key=capture.capture_id, at=START)  # fmt: skip
    for kept in (stray, late_failure, other):
        assert bo.handle_notification(kept) == NotificationResult(unmatched=True)
    assert bo.handle_notification(stray).unmatched  # kept once
    assert bo.notifications_for_review() == (stray, late_failure, other)
    order = bo.order("SO-1")  # nothing changed
    assert (order.received, order.refunded) == (usd("60.00"), usd("10.00"))


def test_a_notification_decides_a_call_in_doubt_with_its_reference() -> None:
    _, processor, bo = world()
    processor.sim.script("capture", "timeout_after_success")
    (key,) = bo.invoice("SO-1", "INV-1", usd("60.00")).in_doubt
    taken = [e for e in processor.sim.ledger() if e.key == key]
    reference = processor.sim.lookup(key).token
    assert taken
    assert reference is not None
    assert bo.handle_notification(note(key, reference=reference.value)).applied
    order = bo.order("SO-1")
    assert order.received == usd("60.00")
    assert bo.orders(in_doubt=True) == ()
    refund = bo.refund("SO-1", "RMA-1", usd("10.00"), AGENT)  # its reference works
    assert refund.failed == ()


def test_a_success_for_a_call_in_doubt_without_a_reference_is_kept_for_review() -> None:
    _, processor, bo = world()
    processor.sim.script("capture", "timeout_after_success")
    (key,) = bo.invoice("SO-1", "INV-1", usd("60.00")).in_doubt
    assert bo.handle_notification(note(key)).unmatched
    assert bo.orders(in_doubt=True) == ("SO-1",)
    assert bo.recover().resolved == (key,)


@pytest.mark.parametrize("kind", ["capture", "refund"])
def test_a_notification_for_a_call_in_doubt_of_another_amount_is_kept_for_review(kind: str) -> None:
    """N2: a notification naming a call in doubt but another amount is about another call
    (as for a pending one): applied, the order would count the amount it asked for, not
    the one the processor moved."""
    _, processor, bo = world()
    if kind == "refund":
        bo.invoice("SO-1", "INV-1", usd("100.00"))
        processor.sim.script("refund", "timeout_before")
        (key,) = bo.refund("SO-1", "RMA-1", usd("50.00"), AGENT).in_doubt
    else:
        processor.sim.script("capture", "timeout_before")
        (key,) = bo.invoice("SO-1", "INV-1", usd("60.00")).in_doubt
    before = bo.order("SO-1")
    other = Notification(notification_id="N-1", event=NotificationEvent.OUTCOME, key=key,
                         at=START, reference="ref_x", amount=usd("30.00"))  # fmt: skip
    assert bo.handle_notification(other).unmatched
    assert bo.order("SO-1") == before
    assert bo.orders(in_doubt=True) == ("SO-1",)
    asked = usd("50.00" if kind == "refund" else "60.00")
    same = Notification(notification_id="N-2", event=NotificationEvent.OUTCOME, key=key,
                        at=START, success=False, amount=asked)  # fmt: skip
    assert bo.handle_notification(same).applied
    assert bo.orders(in_doubt=True) == ()


def test_a_success_naming_a_settled_call_but_another_call_is_kept_not_a_duplicate() -> None:
    """N2: once a call is settled, only the same notification again is a duplicate; one
    naming its key with another amount or reference is about another call: kept for
    review (it was reported a duplicate and dropped)."""
    _, processor, bo = world()
    processor.pending.add("capture")
    (capture,) = bo.invoice("SO-1", "INV-1", usd("60.00")).captures
    reference = capture.token.value if capture.token is not None else ""
    settled = Notification(notification_id="N-1", event=NotificationEvent.OUTCOME,
                           key=capture.capture_id, at=START, reference=reference,
                           amount=usd("60.00"))  # fmt: skip
    assert bo.handle_notification(settled).applied
    assert bo.handle_notification(settled).duplicate  # the same again
    others = [
        Notification(notification_id="N-2", event=NotificationEvent.OUTCOME,
                     key=capture.capture_id, at=START, amount=usd("45.00")),
        Notification(notification_id="N-3", event=NotificationEvent.OUTCOME,
                     key=capture.capture_id, at=START, reference="cap_someone_else"),
    ]  # fmt: skip
    before = bo.order("SO-1")
    for other in others:
        assert bo.handle_notification(other).unmatched
    assert bo.notifications_for_review() == tuple(others)
    assert bo.order("SO-1") == before


def test_a_notification_must_be_one() -> None:
    _, _, bo = world()
    with pytest.raises(InvalidArgument, match="notification"):
        bo.handle_notification("CAPTURE")  # type: ignore[arg-type]


def test_a_notification_the_order_refuses_is_kept_for_review_not_raised() -> None:
    """A success for a payout the order cannot hold (beyond what it received, V3): the
    host's handler gets a result, not an error, and a person gets the notification."""
    _, _, bo = world()
    bo.invoice("SO-1", "INV-1", usd("100.00"))
    payout, _ = refused_payout("SO-1")
    with bo.ports.store.unit_of_work() as uow:
        uow.operations.record_intent(payout)
        uow.commit()
    refused = note(payout.key, reference="ref_x")
    assert bo.handle_notification(refused) == NotificationResult(unmatched=True)
    assert bo.notifications_for_review() == (refused,)
    assert bo.order("SO-1").refunded == usd("0.00")


def test_a_tokenization_in_doubt_is_not_decided_by_a_notification() -> None:
    """A success for a tokenization in doubt would need the card token it returns: kept."""
    _, _, bo = world()
    step = steps.Tokenize(line_id="L9", instrument_id="ins_1")
    op = Operation.intent("SO-1", step, 1, START)
    with bo.ports.store.unit_of_work() as uow:
        uow.operations.record_intent(op)
        uow.commit()
    assert bo.handle_notification(note(op.key, reference="tok_9")).unmatched


def test_a_webhook_deciding_a_call_in_doubt_behind_a_router_keeps_the_cards_account() -> None:
    """An authorization in doubt at the POS account, decided by its notification, carries
    a token of the POS account (I5), not of the router's first processor: the invoice
    then captures through the POS account."""
    from ocop import CardPayment, CardToken  # noqa: PLC0415
    from ocop.adapters.routing import ProcessorRouter  # noqa: PLC0415

    clock = ManualClock(START)
    web = SimulatedProcessor(clock=clock, service_account="sa-web")
    pos = SimulatedProcessor(clock=clock, service_account="sa-pos")
    bo = BackOffice.in_memory(processor=ProcessorRouter([web, pos]), clock=clock)
    card = CardToken(value="tok_pos", connector="sim", service_account="sa-pos", brand="visa",
                     last4="1111", expiry="2030-12")  # fmt: skip
    pos.script("authorize", "timeout_after_success")
    bo.place_order("SO-1", channel=Channel.POS, customer=Customer.guest(), total=usd("30.00"),
                   payments=[CardPayment(card, usd("30.00"))])  # fmt: skip
    (op,) = bo.operations("SO-1")
    answer = pos.lookup(op.key)
    assert isinstance(answer.token, AuthorizationToken)
    note = Notification(notification_id="n-1", event=NotificationEvent.OUTCOME, key=op.key,
                        at=clock.now(), reference=answer.token.value,
                        amount=usd("30.00"))  # fmt: skip
    assert bo.handle_notification(note).applied
    (auth,) = bo.order("SO-1").lines[0].authorizations
    assert (auth.token.connector, auth.token.service_account) == ("sim", "sa-pos")


@pytest.mark.parametrize("then", [True, False], ids=["success", "failure"])
def test_a_chargeback_of_a_pending_capture_settles_it_and_is_applied(then: bool) -> None:
    """N1, N4: a processor charges back only money it captured, so a chargeback naming a
    pending capture settles it as received (its payment voucher), then is applied like
    any other (its voucher, less to refund). The capture's own success later is a
    duplicate; a failure later contradicts the chargeback: kept for review, the books
    unchanged. (The chargeback was kept for review, and nothing was applied.)"""
    _, processor, bo = world()
    processor.pending.add("capture")
    (capture,) = bo.invoice("SO-1", "INV-1", usd("100.00")).captures
    impossible = chargeback(capture.capture_id, usd("130.00"), 9)  # beyond what it took
    assert bo.handle_notification(impossible).unmatched
    assert bo.order("SO-1").lines[0].captures[0].pending
    result = bo.handle_notification(chargeback(capture.capture_id, usd("30.00"), 1))
    assert result == NotificationResult(applied=True, order_id="SO-1", key=capture.capture_id)
    assert bo.notifications_for_review() == (impossible,)
    later = note(capture.capture_id, success=then, n=2)
    outcome = bo.handle_notification(later)
    assert (outcome.duplicate, outcome.unmatched) == (then, not then)
    assert bo.notifications_for_review() == ((impossible,) if then else (impossible, later))
    order = check_books(bo, "SO-1")
    assert (order.received, order.charged_back, order.returnable) == (
        usd("100.00"),
        usd("30.00"),
        usd("70.00"),
    )
    assert not order.lines[0].captures[0].pending
    assert operation(bo, capture.capture_id).outcome is Outcome.APPROVED
    kinds = [v.kind for v in bo.journal("SO-1")]
    assert kinds == [VoucherKind.PAYMENT, VoucherKind.CHARGEBACK]
    assert bo.orders(in_doubt=True) == ()
    assert bo.refund("SO-1", "RMA-1", usd("70.00"), AGENT).failed == ()


def test_a_chargeback_of_a_pending_capture_that_failed_first_is_kept_for_review() -> None:
    """N1, N4: the capture's failure came first (undone): a chargeback of it then names
    no capture, and is kept for review, taking nothing."""
    _, processor, bo = world()
    processor.pending.add("capture")
    (capture,) = bo.invoice("SO-1", "INV-1", usd("100.00")).captures
    assert bo.handle_notification(note(capture.capture_id, success=False)).undone
    disputed = chargeback(capture.capture_id, usd("30.00"), 2)
    assert bo.handle_notification(disputed).unmatched
    assert bo.notifications_for_review() == (disputed,)
    order = check_books(bo, "SO-1")
    assert (order.received, order.charged_back) == (usd("0.00"), usd("0.00"))
    assert bo.journal("SO-1") == ()


def test_a_chargeback_naming_the_authorization_of_a_pending_capture() -> None:
    """N1, N4: named by the authorization's key, the one capture on it is taken even when
    pending (settled first); beside a settled one, the chargeback without a reference is
    kept for review, not taken from the settled capture."""
    _, processor, bo = world()
    (auth,) = [r for r in bo.operations("SO-1") if r.kind.value == "authorize"]
    (settled,) = bo.invoice("SO-1", "INV-1", usd("60.00")).captures
    processor.pending.add("capture")
    (pending,) = bo.invoice("SO-1", "INV-2", usd("40.00")).captures
    vague = chargeback(auth.key, usd("40.00"), 1)
    assert bo.handle_notification(vague).unmatched
    assert check_books(bo, "SO-1").charged_back == usd("0.00")
    assert pending.token is not None
    named = chargeback(auth.key, usd("40.00"), 2, reference=pending.token.value)
    assert bo.handle_notification(named).applied
    order = check_books(bo, "SO-1")
    by_id = {c.capture_id: (c.pending, c.charged_back) for c in order.lines[0].captures}
    assert by_id == {settled.capture_id: (False, usd("0.00")),
                     pending.capture_id: (False, usd("40.00"))}  # fmt: skip
    assert order.received == usd("100.00")


@pytest.mark.parametrize("success", [True, False], ids=["approved", "failed"])
def test_a_pending_refund_to_another_card_is_refunding_until_its_notification(
    success: bool,
) -> None:
    """N1, N2, R4: a refund to another card answered pending counts against what the
    order may still refund, as refunding, with no voucher; its notification settles it:
    approved, refunded and posted; failed, undone (reported), and the return can be
    refunded again. (It was refunded and posted at once, and its failure left it so:
    the books said the customer was paid money that never went.)"""
    _, processor, bo = world()
    bo.invoice("SO-1", "INV-1", usd("100.00"))
    processor.pending.add("unlinked_refund")
    payer = Actor.call_center("agent-2", permissions=frozenset({"alternate_payment"}))
    payee = card("tok_9", "9999")
    (refund,) = bo.refund_to_card("SO-1", "RMA-1", payee, usd("30.00"), payer).refunds
    assert refund.pending
    order = check_books(bo, "SO-1")
    assert (order.refunded, order.refunding, order.returnable) == (
        usd("0.00"),
        usd("30.00"),
        usd("70.00"),
    )
    assert [v.kind for v in bo.journal("SO-1")] == [VoucherKind.PAYMENT]
    settled = bo.handle_notification(note(refund.refund_id, success=success, n=2))
    assert (settled.applied, settled.undone) == (True, not success)
    order = check_books(bo, "SO-1")
    paid_back = usd("30.00") if success else usd("0.00")
    assert (order.refunded, order.refunding) == (paid_back, usd("0.00"))
    kinds = [v.kind for v in bo.journal("SO-1")]
    assert kinds == [VoucherKind.PAYMENT] + [VoucherKind.REFUND] * success
    journals = [v.journal_name for v in bo.journal("SO-1") if v.kind is VoucherKind.REFUND]
    assert [r.journal for r in order.other_refunds] == journals  # J2: where it was posted
    assert bo.orders(in_doubt=True) == ()
    processor.pending.clear()
    again = bo.refund_to_card("SO-1", "RMA-1", payee, usd("30.00"), payer)
    assert check_books(bo, "SO-1").refunded == usd("30.00")
    assert len(again.refunds) == 1


def test_a_fallback_refund_after_a_failed_pending_refund_to_another_card_takes_a_new_key() -> None:
    """R3, R5, N2, O4, J3: a return paid 30.00 to the card, 5.00 by the fallback method
    (``#1``), 5.00 to another card (pending), then 5.00 more by the fallback method
    (``#3``: the return's third refund not linked to a capture). The pending refund failed
    and left the order, so the return's next fallback refund is numbered past every one it
    holds: raised to 45.00 again, it pays back the last 5.00 under ``#4``. (It was numbered
    by counting them, ``#3`` again: \"already recorded\", and the return could never be
    refunded in full.)"""
    clock = ManualClock(START)
    processor = Pending(SimulatedProcessor(clock=clock))
    bo = BackOffice.in_memory(processor=processor, clock=clock)
    cash = Prepayment("cash", amount=usd("20.00"))
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("50.00"), payments=[by_card("30.00"), cash])  # fmt: skip
    bo.invoice("SO-1", "INV-1", usd("50.00"))
    payer = Actor.call_center("agent-2", permissions=frozenset({"alternate_payment"}))
    assert bo.refund("SO-1", "RMA-1", usd("35.00"), payer).fallback == usd("5.00")
    processor.pending.add("unlinked_refund")
    payout = bo.refund_to_card("SO-1", "RMA-1", card("tok_9", "9999"), usd("40.00"), payer)
    (pending,) = [r for r in payout.refunds if r.pending]
    assert bo.refund("SO-1", "RMA-1", usd("45.00"), payer).fallback == usd("10.00")
    assert bo.handle_notification(note(pending.refund_id, success=False)).undone

    again = bo.refund("SO-1", "RMA-1", usd("45.00"), payer)

    assert again.fallback == usd("15.00")
    order = check_books(bo, "SO-1")
    assert (order.refunded, order.refunding) == (usd("45.00"), usd("0.00"))
    fallbacks = [r.refund_id for r in order.other_refunds]
    assert fallbacks == ["SO-1/fallback:RMA-1#1", "SO-1/fallback:RMA-1#3",
                         "SO-1/fallback:RMA-1#4"]  # fmt: skip
    vouchers = [v.voucher_id for v in bo.journal("SO-1") if v.kind is VoucherKind.REFUND]
    assert sorted(vouchers) == sorted(
        ["V:SO-1/refund:RMA-1:capture:INV-1:L1:L1.A1#1:1#1", *(f"V:{k}" for k in fallbacks)]
    )


@pytest.mark.parametrize("found_by", ["notification", "recovery"])
def test_a_pending_authorization_refused_in_the_end_is_for_a_person(found_by: str) -> None:
    """N1, N2: an authorization answered pending counts as made; refused in the end, the
    order still counts it (as a pending void or amount update refused in the end), so a
    person is told: the notification is kept for review, a recovery lists it for
    reconciliation. (The failure was reported applied and nobody was told: the order
    counted money no authorization held.)"""
    clock = ManualClock(START)
    processor = Pending(SimulatedProcessor(clock=clock))
    processor.pending.add("authorize")
    bo = BackOffice.in_memory(processor=processor, clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("100.00"), payments=[by_card("100.00")])  # fmt: skip
    (auth,) = bo.operations("SO-1")
    assert auth.outcome is Outcome.PENDING
    refused = note(auth.key, success=False)
    if found_by == "recovery":
        processor.answers[auth.key] = ProcessorResult(key=auth.key, outcome=Outcome.DECLINED)
        report = bo.recover()
        assert (report.resolved, report.for_reconciliation) == ((auth.key,), (auth.key,))
    else:
        assert bo.handle_notification(refused).applied
        assert bo.notifications_for_review() == (refused,)
    assert operation(bo, auth.key).outcome is Outcome.DECLINED
    assert bo.orders(in_doubt=True) == ()


@pytest.mark.parametrize("kind", ["refund", "unlinked_refund"], ids=["linked", "to-another-card"])
def test_a_return_refunds_its_rest_after_a_pending_refund_fails_behind_a_later_one(
    kind: str,
) -> None:
    """N1, N2, R5, O4: a return's pending refund fails in the end after the return was
    raised and a second refund was approved: the return refunds its rest under a number of
    its own. (It took the second refund's number again: IdempotencyConflict on every try,
    and the customer was never paid the rest.)"""
    _, processor, bo = world()
    bo.invoice("SO-1", "INV-1", usd("100.00"))
    payer = Actor.call_center("agent-2", permissions=frozenset({"alternate_payment"}))
    payee = card("tok_9", "9999")

    def refund(amount: str) -> RefundResult:
        if kind == "refund":
            return bo.refund("SO-1", "RMA-1", usd(amount), payer, ["INV-1"])
        return bo.refund_to_card("SO-1", "RMA-1", payee, usd(amount), payer)

    processor.pending.add(kind)
    (first,) = refund("30.00").refunds
    processor.pending.clear()
    refund("50.00")  # the return raised: 20.00 more, approved
    assert bo.handle_notification(note(first.refund_id, success=False, n=2)).undone
    assert check_books(bo, "SO-1").refunded == usd("20.00")
    again = refund("50.00")
    assert (again.failed, again.in_doubt) == ((), ())
    assert len({r.refund_id for r in again.refunds}) == len(again.refunds) == 2
    assert check_books(bo, "SO-1").refunded == usd("50.00")
