"""Pending answers and their notifications (N1, N2) on memory, SQLite and PostgreSQL, with
the simulator's own pending answers: ocop and the processor's records agree (V5) whatever
the notifications say, in whatever order, however often they come.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from ocop import (
    Actor,
    BackOffice,
    CardPayment,
    Channel,
    Customer,
    HoldCode,
    Notification,
    NotificationEvent,
    Outcome,
    VoucherKind,
)
from ocop.adapters.simulated import SimulatedProcessor
from pg_support import STORES, back_office_on, restarted
from unsolicited_support import ended, failed
from worlds import START, card, usd

AGENT = Actor.call_center("agent-1")


@pytest.fixture(params=STORES)
def world(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[BackOffice, SimulatedProcessor]]:
    with back_office_on(request.param, tmp_path) as (bo, sim, _):
        yield bo, sim


def placed(bo: BackOffice) -> None:
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("100.00"), payments=[CardPayment(card(), usd("100.00"))])  # fmt: skip


def reconciled(bo: BackOffice, sim: SimulatedProcessor) -> None:
    """V5 and V4: the processor's captures and refunds are ocop's settled ones, to the
    cent, each posted once; what is still pending is pending on both sides."""
    order = bo.order("SO-1")
    line = order.lines[0]
    theirs = {(e.kind, e.key): e.amount for e in sim.ledger() if e.kind in ("capture", "refund")}
    ours = {("capture", c.capture_id): c.amount for c in line.captures if not c.pending}
    ours.update({("refund", r.refund_id): r.amount for r in line.refunds if not r.pending})
    assert theirs == ours
    pending = {c.capture_id for c in line.captures if c.pending}
    pending |= {r.refund_id for r in line.refunds if r.pending}
    assert set(sim.pending_keys()) == pending
    for auth in line.authorizations:
        assert sim.authorization_open(auth.token.value) == auth.open_amount
    vouchers = bo.journal("SO-1")
    paid = sum((v.amount for v in vouchers if v.kind is VoucherKind.PAYMENT), usd(0))
    refunded = sum((v.amount for v in vouchers if v.kind is VoucherKind.REFUND), usd(0))
    assert (paid, refunded) == (order.received, order.refunded)


def test_a_pending_capture_settles_once_whatever_the_deliveries(
    world: tuple[BackOffice, SimulatedProcessor],
) -> None:
    bo, sim = world
    placed(bo)
    sim.script("capture", "pending", "pending")
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    bo.invoice("SO-1", "INV-2", usd("40.00"))  # a pending call blocks nothing (N1)
    reconciled(bo, sim)
    assert bo.order("SO-1").received == usd("0.00")
    first, second = sim.settle_pending("approve")
    for note in (second, first, second, first):  # reordered and duplicated
        bo.handle_notification(note)
    assert bo.order("SO-1").received == usd("100.00")
    assert len(bo.journal("SO-1")) == 2
    reconciled(bo, sim)
    assert bo.recover().pending == ()


def test_a_pending_capture_settles_by_the_processors_reference_alone(
    world: tuple[BackOffice, SimulatedProcessor],
) -> None:
    """N2: a notification naming no key finds the pending capture by the reference its
    pending answer gave (by index in the SQL stores), and settles it once: again, by
    reference or by key, it is a duplicate; a reference that names nothing is kept."""
    bo, sim = world
    placed(bo)
    sim.script("capture", "pending")
    (capture,) = bo.invoice("SO-1", "INV-1", usd("60.00")).captures
    (settled,) = sim.settle_pending("approve")
    assert capture.token is not None
    assert settled.reference == capture.token.value
    nameless = attrs.evolve(settled, key="")
    applied = bo.handle_notification(nameless)
    assert (applied.applied, applied.key) == (True, capture.capture_id)
    assert bo.handle_notification(nameless).duplicate
    assert bo.handle_notification(settled).duplicate
    assert bo.order("SO-1").received == usd("60.00")
    reconciled(bo, sim)
    stray = attrs.evolve(nameless, notification_id="N-404", reference="cap_404")
    assert bo.handle_notification(stray).unmatched
    assert bo.notifications_for_review() == (stray,)


def test_a_failed_pending_capture_is_undone_on_both_sides_and_captured_again(
    world: tuple[BackOffice, SimulatedProcessor],
) -> None:
    bo, sim = world
    placed(bo)
    sim.script("capture", "pending")
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    (note,) = sim.settle_pending("decline")
    result = bo.handle_notification(note)
    assert result.applied
    assert result.undone
    reconciled(bo, sim)
    assert bo.invoice("SO-1", "INV-1", usd("60.00")).uncovered == usd("0.00")
    reconciled(bo, sim)
    assert bo.order("SO-1").received == usd("60.00")


def test_pending_refunds_settle_and_fail_on_both_sides(
    world: tuple[BackOffice, SimulatedProcessor],
) -> None:
    bo, sim = world
    placed(bo)
    bo.invoice("SO-1", "INV-1", usd("100.00"))
    sim.script("refund", "pending", "pending")
    bo.refund("SO-1", "RMA-1", usd("30.00"), AGENT)
    bo.refund("SO-1", "RMA-2", usd("20.00"), AGENT)
    reconciled(bo, sim)
    assert bo.order("SO-1").refunding == usd("50.00")
    first, second = sim.pending_keys()
    (approved,) = sim.settle_pending("approve", keys=[first])
    (declined,) = sim.settle_pending("decline", keys=[second])
    assert bo.handle_notification(declined).undone
    assert bo.handle_notification(approved).applied
    order = bo.order("SO-1")
    assert (order.refunded, order.refunding) == (usd("30.00"), usd("0.00"))
    reconciled(bo, sim)
    retried = bo.refund("SO-1", "RMA-2", usd("20.00"), AGENT)  # the failed one again (R5)
    assert retried.failed == ()
    reconciled(bo, sim)


def test_recovery_settles_a_pending_capture_whose_notification_was_lost(
    world: tuple[BackOffice, SimulatedProcessor],
) -> None:
    bo, sim = world
    placed(bo)
    sim.script("capture", "pending")
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    (key,) = sim.pending_keys()
    assert bo.recover().pending == (key,)  # not settled yet: nothing changes
    notes: tuple[Notification, ...] = sim.settle_pending("approve")  # never delivered
    assert len(notes) == 1
    report = bo.recover()
    assert report.resolved == (key,)
    assert bo.order("SO-1").received == usd("60.00")
    reconciled(bo, sim)
    assert bo.handle_notification(notes[0]).duplicate  # delivered late: a duplicate


def test_a_failed_pending_void_is_kept_for_review(
    world: tuple[BackOffice, SimulatedProcessor],
) -> None:
    """A pending void counted as done; when it fails, a person must look: kept for review."""
    bo, sim = world
    placed(bo)
    sim.script("void", "pending")
    bo.cancel_order("SO-1", AGENT)
    (note,) = sim.settle_pending("decline")
    result = bo.handle_notification(note)
    assert result.applied
    assert not result.undone
    assert bo.notifications_for_review() == (note,)


def test_a_failed_pending_void_found_by_recovery_is_for_reconciliation(
    world: tuple[BackOffice, SimulatedProcessor],
) -> None:
    """The same failure, its notification lost: the recovery that learns it resolves the
    void and lists it for reconciliation by hand (the order counted it as done)."""
    bo, sim = world
    placed(bo)
    sim.script("void", "pending")
    bo.cancel_order("SO-1", AGENT)
    (note,) = sim.settle_pending("decline")  # never delivered
    report = bo.recover()
    assert report.resolved == report.for_reconciliation == (note.key,)
    assert bo.recover().for_reconciliation == ()  # said once: the void is settled now


@pytest.mark.parametrize("route", ["notification", "recover"])
def test_a_cancellation_whose_pending_void_fails_voids_the_authorization_again(
    world: tuple[BackOffice, SimulatedProcessor], route: str
) -> None:
    """X1, N1, V5: the cancellation's void answered pending (counted done) and was refused
    in the end: the processor still holds the money. Its failure notification marks the
    authorization to be voided again, which the next renewal run does (or the recovery
    that learns the failure does it at once), under the void's next attempt: ocop and the
    processor agree. (It stayed held, for a person to find, until it lapsed.)"""
    bo, sim = world
    placed(bo)
    sim.script("void", "pending")
    bo.cancel_order("SO-1", AGENT)
    (note,) = sim.settle_pending("decline")
    if route == "notification":
        assert bo.handle_notification(note).applied
        assert bo.renew_authorizations().voided == ("SO-1",)
    else:
        assert bo.recover().resolved == (note.key,)
    reconciled(bo, sim)
    assert [e.key for e in sim.ledger() if e.kind == "void"] == ["SO-1/void:L1.A1#2"]
    assert bo.renew_authorizations().voided == ()


def test_a_notification_decides_an_authorization_in_doubt(
    world: tuple[BackOffice, SimulatedProcessor],
) -> None:
    """An authorization in doubt, decided by a notification with the processor's reference
    (the order then waits for completion, as after any doubt at placing)."""
    bo, sim = world
    sim.script("authorize", "timeout_after_success")
    placed(bo)
    assert bo.orders(in_doubt=True) == ("SO-1",)
    (auth_key,) = [r.key for r in bo.operations("SO-1") if r.outcome is Outcome.UNKNOWN]
    token = sim.lookup(auth_key).token
    assert token is not None
    auth_note = Notification(notification_id="N-A", event=NotificationEvent.OUTCOME,
                             key=auth_key, at=START, reference=token.value)  # fmt: skip
    assert bo.handle_notification(auth_note).applied
    assert bo.order("SO-1").authorized == usd("100.00")
    assert bo.orders(in_doubt=True) == ()


def test_notifications_decide_refunds_in_doubt(
    world: tuple[BackOffice, SimulatedProcessor],
) -> None:
    """A refund in doubt decided approved with its reference; one failed: a decline."""
    bo, sim = world
    placed(bo)
    bo.invoice("SO-1", "INV-1", usd("100.00"))
    sim.script("refund", "timeout_after_success")
    (refund_key,) = bo.refund("SO-1", "RMA-1", usd("10.00"), AGENT).in_doubt
    refund_token = sim.lookup(refund_key).token
    assert refund_token is not None
    note = Notification(notification_id="N-R", event=NotificationEvent.OUTCOME, key=refund_key,
                        at=START, reference=refund_token.value)  # fmt: skip
    assert bo.handle_notification(note).applied
    assert bo.order("SO-1").refunded == usd("10.00")
    sim.script("refund", "timeout_before")
    (lost,) = bo.refund("SO-1", "RMA-2", usd("5.00"), AGENT).in_doubt
    failure = Notification(notification_id="N-F", event=NotificationEvent.OUTCOME, key=lost,
                           at=START, success=False)  # fmt: skip
    assert bo.handle_notification(failure).applied
    assert bo.orders(in_doubt=True) == ()
    assert bo.order("SO-1").refunded == usd("10.00")


def test_settled_movements_undone_after_the_journal_names_changed_reverse_where_they_posted(
    world: tuple[BackOffice, SimulatedProcessor],
) -> None:
    """F1, J2, V4: a pending capture and a pending refund settle into the unified journals;
    rejected after a restart with the channel journals, each reversal posts to the journal
    its voucher went to at settlement."""
    bo, sim = world
    placed(bo)
    sim.script("capture", "pending")
    (capture,) = bo.invoice("SO-1", "INV-1", usd("60.00")).captures
    (settled,) = sim.settle_pending("approve")
    assert bo.handle_notification(settled).applied
    sim.script("refund", "pending")
    (refund,) = bo.refund("SO-1", "RMA-1", usd("10.00"), AGENT).refunds
    (settled,) = sim.settle_pending("approve")
    assert bo.handle_notification(settled).applied
    later = restarted(bo, bo.settings.with_features(unified_journal_defaults=False))
    assert later.handle_notification(failed(refund.refund_id, 1)).undone
    assert later.handle_notification(failed(capture.capture_id, 2)).undone
    assert [(v.kind, v.journal_name) for v in later.journal("SO-1")] == [
        (VoucherKind.PAYMENT, "OCOP-PAY"),
        (VoucherKind.REFUND, "OCOP-REF"),
        (VoucherKind.REFUND_REVERSAL, "OCOP-REF"),
        (VoucherKind.PAYMENT_REVERSAL, "OCOP-PAY"),
    ]


def test_a_capture_failed_before_the_renewals_void_stays_released(
    world: tuple[BackOffice, SimulatedProcessor],
) -> None:
    """N2, A1, V5: the processor declines a pending capture, then voids its authorization
    for a renewal before the failure's notification arrives: the void released what the
    capture had taken too (its answer says so). The late notification gives nothing back
    to that authorization: ocop holds no money the processor let go, and the line gets
    what it misses by a new authorization, not a hold for an authorization that expired."""
    bo, sim = world
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("50.00"), payments=[CardPayment(card(), usd("50.00"))])  # fmt: skip
    sim.script("capture", "pending")
    bo.invoice("SO-1", "INV-1", usd("40.00"))
    (failure,) = sim.settle_pending("decline")  # its notification is delayed
    bo.clock.advance(days=28)  # type: ignore[attr-defined]
    assert bo.renew_authorizations().renewed == ("SO-1",)
    assert bo.handle_notification(failure).undone
    first = bo.order("SO-1").lines[0].authorizations[0]
    assert sim.authorization_open(first.token.value) == usd("0.00")
    assert first.open_amount == usd("0.00")
    reconciled(bo, sim)
    assert bo.renew_authorizations().held == ()
    assert bo.invoice("SO-1", "INV-1", usd("40.00")).uncovered == usd("0.00")
    reconciled(bo, sim)
    assert bo.order("SO-1").received == usd("40.00")


def test_a_refused_pending_void_is_released_once_when_a_failed_capture_reopened_it(
    world: tuple[BackOffice, SimulatedProcessor],
) -> None:
    """X1, A1, N1, N2, V5: a pending capture and the void releasing the rest of a cancelled
    order's authorization are both refused in the end: the capture's failure opens its
    40.00 again on the authorization marked to be voided again. The renewal run's void
    releases it all and the mark comes off: the next run calls nothing. (The mark stayed:
    every run sent a void the processor refused, until the authorization expired.)"""
    bo, sim = world
    placed(bo)
    sim.script("capture", "pending")
    bo.invoice("SO-1", "INV-1", usd("40.00"))
    bo.cancel_order("SO-1", AGENT)  # after an invoice: the renewal job releases the rest
    sim.script("void", "pending")
    assert bo.renew_authorizations().voided == ("SO-1",)
    for note in sim.settle_pending("decline"):
        assert bo.handle_notification(note).applied
    assert bo.renew_authorizations().voided == ("SO-1",)
    reconciled(bo, sim)
    bo.clock.advance(days=1)  # type: ignore[attr-defined]
    assert bo.renew_authorizations().voided == ()
    voids = [r.key for r in bo.operations("SO-1") if r.kind.value == "void"]
    assert voids == ["SO-1/void:L1.A1#1", "SO-1/void:L1.A1#2"]  # no void refused after
    assert [e.key for e in sim.ledger() if e.kind == "void"] == ["SO-1/void:L1.A1#2"]
    reconciled(bo, sim)


def test_recover_reports_the_void_it_sends_again_for_a_refused_pending_void(
    world: tuple[BackOffice, SimulatedProcessor],
) -> None:
    """X1, N1, O2, V5: the cancellation's void of 100.00 answered pending, then refused
    (its notification not come); recover() learns it, lists it for reconciliation and
    voids the authorization again: that void is in ``releases``, so the report shows the
    100.00 released at the processor. ``resolved`` is still the key it asked about. (The
    void sent again was in no field of the report.)"""
    bo, sim = world
    placed(bo)
    sim.script("void", "pending")
    bo.cancel_order("SO-1", AGENT)
    sim.settle_pending("decline")  # the notification is never delivered
    report = bo.recover()
    assert report.resolved == report.for_reconciliation == ("SO-1/void:L1.A1#1",)
    (sent,) = report.releases
    assert (sent.order_id, sent.key, sent.auth_id) == ("SO-1", "SO-1/void:L1.A1#2", "L1.A1")
    assert (sent.outcome, sent.amount) == (Outcome.APPROVED, usd("100.00"))
    assert report.still_in_doubt == ()
    assert [e.key for e in sim.ledger() if e.kind == "void"] == ["SO-1/void:L1.A1#2"]
    reconciled(bo, sim)
    assert bo.recover().releases == ()


def test_a_refused_pending_void_past_ocops_expiry_age_is_voided_not_counted_lapsed(
    world: tuple[BackOffice, SimulatedProcessor],
) -> None:
    """X1, N1, V5, I3: the cancellation's pending void refused, the renewal run comes after
    ocop's expiry age (14 days) but within the processor's own lifetime (30): manual void of
    expired authorizations is on (always, with OCOP on), so the authorization is voided
    again. (It was counted lapsed with no call: ocop showed nothing held, the processor
    held 100.00 until day 30.)"""
    bo, sim = world
    placed(bo)
    sim.script("void", "pending")
    bo.cancel_order("SO-1", AGENT)
    (note,) = sim.settle_pending("decline")
    assert bo.handle_notification(note).applied
    bo.clock.advance(days=15)  # type: ignore[attr-defined]
    assert bo.renew_authorizations().voided == ("SO-1",)
    reconciled(bo, sim)
    assert [e.key for e in sim.ledger() if e.kind == "void"] == ["SO-1/void:L1.A1#2"]


def test_a_refused_pending_void_of_a_stale_authorization_lapses_without_a_call(
    world: tuple[BackOffice, SimulatedProcessor],
) -> None:
    """X1, N1, I3: the same refusal found only once the authorization is stale (past the
    processor's own lifetime here): no processor call, it lapses, and the order is no
    longer listed for the renewal job."""
    bo, sim = world
    placed(bo)
    sim.script("void", "pending")
    bo.cancel_order("SO-1", AGENT)
    (note,) = sim.settle_pending("decline")
    bo.clock.advance(days=30)  # type: ignore[attr-defined]
    assert bo.handle_notification(note).applied
    assert bo.renew_authorizations().voided == ("SO-1",)
    assert bo.renew_authorizations().voided == ()
    voids = [r.key for r in bo.operations("SO-1") if r.kind.value == "void"]
    assert voids == ["SO-1/void:L1.A1#1"]


@pytest.mark.parametrize("first", ["refusal", "end"])
def test_a_refused_pending_void_of_an_authorization_the_processor_ended_is_not_sent_again(
    world: tuple[BackOffice, SimulatedProcessor], first: str
) -> None:
    """X1, N1, N4: the cancellation's pending void is refused, and the processor says it
    ended the authorization (in either order): it holds nothing, so the mark comes off
    with no call. (Every renewal run sent it a void, refused, until the authorization
    was stale.)"""
    bo, sim = world
    placed(bo)
    sim.script("void", "pending")
    bo.cancel_order("SO-1", AGENT)
    (note,) = sim.settle_pending("decline")
    end = ended("SO-1/authorize:L1.A1#1", 1)
    for notification in (note, end) if first == "refusal" else (end, note):
        assert bo.handle_notification(notification).applied
    bo.renew_authorizations()
    assert bo.renew_authorizations().voided == ()
    voids = [r.key for r in bo.operations("SO-1") if r.kind.value == "void"]
    assert voids == ["SO-1/void:L1.A1#1"]


def test_a_capture_failed_before_the_release_of_an_overpaid_line_is_captured_anew(
    world: tuple[BackOffice, SimulatedProcessor],
) -> None:
    """N2, A1, I2, V5: the job releases what an overpaid line's authorization has open
    once the order is invoiced in full, after the processor declined the invoice's
    pending capture and before its notification came. The void released the capture's
    money too: retrying the invoice authorizes the card again, it does not capture on
    the voided authorization (which the processor refuses, leaving the invoice unpaid)."""
    bo, sim = world
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("60.00"), payments=[CardPayment(card(), usd("100.00"))])  # fmt: skip
    supervisor = Actor.call_center("sup-1", permissions=frozenset({"hold_override"}))
    bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, supervisor)
    sim.script("capture", "pending")
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    (failure,) = sim.settle_pending("decline")
    assert bo.renew_authorizations().voided == ("SO-1",)
    assert bo.handle_notification(failure).undone
    reconciled(bo, sim)
    retried = bo.invoice("SO-1", "INV-1", usd("60.00"))
    assert (retried.uncovered, retried.failed) == (usd("0.00"), ())
    reconciled(bo, sim)
    assert bo.order("SO-1").received == usd("60.00")
