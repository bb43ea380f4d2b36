"""Unsolicited notifications (N4) on memory, SQLite and PostgreSQL: each applied once in
one unit of work, its record read back from the store, the books right (V2, V3, V4)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from ocop import Actor, BackOffice, CardPayment, Channel, Customer, HoldCode, VoucherKind
from pg_support import STORES, back_office_on, restarted
from unsolicited_support import chargeback, check_books, ended, failed, reversal
from worlds import card, usd

AGENT = Actor.call_center("agent-1")


@pytest.fixture(params=STORES)
def bo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BackOffice]:
    with back_office_on(request.param, tmp_path) as (office, _, _):
        office.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                           total=usd("100.00"),
                           payments=[CardPayment(card(), usd("100.00"))])  # fmt: skip
        yield office


def test_a_chargeback_and_its_reversal_are_stored_once_each(bo: BackOffice) -> None:
    """The chargeback and its reversal are recorded on the stored capture, with their
    vouchers in the store's journal; deliveries again change nothing."""
    (capture,) = bo.invoice("SO-1", "INV-1", usd("100.00")).captures
    taken = chargeback(capture.capture_id, usd("25.00"), 1, dispute="D-1")
    assert bo.handle_notification(taken).applied
    assert bo.handle_notification(taken).duplicate
    stored = check_books(bo, "SO-1").lines[0].captures[0]
    assert (stored.charged_back, stored.refundable) == (usd("25.00"), usd("75.00"))
    assert stored.chargebacks[0].chargeback_id == "N-1"
    back = reversal(capture.capture_id, 2, dispute="D-1")
    assert bo.handle_notification(back).applied
    assert bo.handle_notification(back).duplicate
    assert bo.handle_notification(taken).duplicate
    stored = check_books(bo, "SO-1").lines[0].captures[0]
    assert stored.chargebacks[0].reversed_by == "N-2"
    assert [v.kind for v in bo.journal("SO-1")] == [
        VoucherKind.PAYMENT,
        VoucherKind.CHARGEBACK,
        VoucherKind.CHARGEBACK_REVERSAL,
    ]


def test_a_chargeback_by_the_captures_reference_alone_is_stored_once(bo: BackOffice) -> None:
    """N2, N4: a chargeback naming no key finds its capture by the capture's token (by
    index in the SQL stores), after a restart too; applied once; an unknown reference is
    kept for review."""
    (capture,) = bo.invoice("SO-1", "INV-1", usd("100.00")).captures
    assert capture.token is not None
    taken = attrs.evolve(chargeback(capture.capture_id, usd("25.00"), 1), key="",
                         reference=capture.token.value)  # fmt: skip
    later = restarted(bo, bo.settings)
    assert later.handle_notification(taken).applied
    assert later.handle_notification(taken).duplicate
    stored = check_books(later, "SO-1").lines[0].captures[0]
    assert (stored.charged_back, stored.chargebacks[0].chargeback_id) == (usd("25.00"), "N-1")
    stray = attrs.evolve(taken, notification_id="N-2", reference="cap_404")
    assert later.handle_notification(stray).unmatched
    assert later.notifications_for_review() == (stray,)


def test_a_chargeback_beyond_what_is_refundable_is_stored_and_kept_for_review(
    bo: BackOffice,
) -> None:
    """Recorded whole, nothing refundable is left, the notification is kept for review."""
    (capture,) = bo.invoice("SO-1", "INV-1", usd("100.00")).captures
    bo.refund("SO-1", "RMA-1", usd("90.00"), AGENT)
    over = chargeback(capture.capture_id, usd("20.00"), 1)
    assert bo.handle_notification(over).applied
    assert bo.notifications_for_review() == (over,)
    order = check_books(bo, "SO-1")
    assert (order.returnable, order.charged_back) == (usd("0.00"), usd("20.00"))


def test_an_ended_authorization_and_rejected_movements_are_stored(bo: BackOffice) -> None:
    """A refund and a capture rejected after approval are undone (reversal vouchers), and
    an authorization ended by the processor no longer holds anything; once each."""
    (capture,) = bo.invoice("SO-1", "INV-1", usd("60.00")).captures
    (refund,) = bo.refund("SO-1", "RMA-1", usd("10.00"), AGENT).refunds
    assert bo.handle_notification(failed(refund.refund_id, 1)).undone
    assert bo.handle_notification(failed(capture.capture_id, 2)).undone
    assert bo.handle_notification(failed(capture.capture_id, 2)).duplicate
    order = check_books(bo, "SO-1")
    line = order.lines[0]
    assert ([c.capture_id for c in line.rejected_captures],
            [r.refund_id for r in line.rejected_refunds]) == ([capture.capture_id],
                                                              [refund.refund_id])  # fmt: skip
    assert (order.received, order.refunded) == (usd("0.00"), usd("0.00"))
    (auth,) = line.authorizations
    (key,) = [r.key for r in bo.operations("SO-1") if r.kind.value == "authorize"]
    assert bo.handle_notification(ended(key, 3)).applied
    assert bo.handle_notification(ended(key, 3)).duplicate
    ended_auth = bo.order("SO-1").lines[0].authorizations[0]
    assert (ended_auth.auth_id, ended_auth.ended_by) == (auth.auth_id, "N-3")
    assert ended_auth.open_amount == usd("0.00")
    assert not bo.order("SO-1").has_hold(HoldCode.AUTHORIZATION_EXPIRED)  # reusable card


def test_reversals_post_to_the_journal_of_what_they_undo_after_the_names_changed(
    bo: BackOffice,
) -> None:
    """F1, J2, V4: a capture, a refund and a chargeback posted to the unified journals,
    then undone after a restart with the channel journals (unified defaults turned off):
    each reversal posts to the journal of the voucher it reverses, so each journal still
    balances."""
    (capture,) = bo.invoice("SO-1", "INV-1", usd("60.00")).captures
    (refund,) = bo.refund("SO-1", "RMA-1", usd("10.00"), AGENT).refunds
    (other,) = bo.invoice("SO-1", "INV-2", usd("40.00")).captures
    assert bo.handle_notification(chargeback(other.capture_id, usd("5.00"), 1, dispute="D-1"))
    later = restarted(bo, bo.settings.with_features(unified_journal_defaults=False))
    assert later.handle_notification(failed(refund.refund_id, 2)).undone
    assert later.handle_notification(failed(capture.capture_id, 3)).undone
    assert later.handle_notification(reversal(other.capture_id, 4, dispute="D-1")).applied
    check_books(later, "SO-1")
    vouchers = later.journal("SO-1")
    journal_of = {v.voucher_id: v.journal_name for v in vouchers}
    reversals = [v for v in vouchers if v.kind.reverses is not None]
    assert [(v.kind, v.journal_name) for v in reversals] == [
        (VoucherKind.REFUND_REVERSAL, "OCOP-REF"),
        (VoucherKind.PAYMENT_REVERSAL, "OCOP-PAY"),
        (VoucherKind.CHARGEBACK_REVERSAL, "OCOP-REF"),
    ]
    for undone in reversals:
        assert undone.journal_name == journal_of[undone.voucher_id.removesuffix("/reversal")]
