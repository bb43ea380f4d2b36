"""Unsolicited notifications (N4) as a processor would send them, and the checks every N4
test makes after each one: V2, V3, V4 and what each capture can still refund."""

from __future__ import annotations

from datetime import timedelta

from ocop import BackOffice, Money, Notification, NotificationEvent, Order
from ocop.domain.journal import VoucherKind, net_amounts
from worlds import START


def chargeback(
    key: str, amount: Money, n: int, *, dispute: str = "", reference: str = ""
) -> Notification:
    """Chargeback ``N-{n}`` of ``amount`` against what ``key`` names."""
    return Notification(notification_id=f"N-{n}", event=NotificationEvent.CHARGEBACK, key=key,
                        at=START + timedelta(hours=n), amount=amount, dispute=dispute,
                        reference=reference)  # fmt: skip


def reversal(key: str, n: int, *, dispute: str = "", amount: Money | None = None) -> Notification:
    """Chargeback reversal ``N-{n}`` of the chargeback of ``dispute`` (or on ``key``)."""
    return Notification(notification_id=f"N-{n}", event=NotificationEvent.CHARGEBACK_REVERSED,
                        key=key, at=START + timedelta(hours=n), dispute=dispute,
                        amount=amount)  # fmt: skip


def ended(key: str, n: int) -> Notification:
    """The processor ended the authorization ``key`` names (``N-{n}``)."""
    return Notification(notification_id=f"N-{n}", event=NotificationEvent.AUTHORIZATION_ENDED,
                        key=key, at=START + timedelta(hours=n))  # fmt: skip


def failed(key: str, n: int, *, amount: Money | None = None) -> Notification:
    """A failure for the operation ``key`` (a capture or refund rejected after approval)."""
    return Notification(notification_id=f"N-{n}", event=NotificationEvent.OUTCOME, key=key,
                        at=START + timedelta(hours=n), success=False, amount=amount)  # fmt: skip


def check_books(bo: BackOffice, order_id: str) -> Order:
    """V2, V3 and V4 on the stored order and its journal, with chargebacks (N4); the order."""
    order = bo.order(order_id)
    zero = Money.zero(order.currency)
    charged = zero
    for line in order.lines:
        for capture in line.captures:
            assert capture.refunded <= capture.amount  # V2
            back = sum((c.amount for c in capture.chargebacks if not c.reversed), zero)
            left = (capture.amount - capture.refunded - back).max(zero)
            assert capture.charged_back == back
            assert capture.refundable == (zero if capture.pending else left)
            charged += back
    assert order.refunded + order.refunding <= order.received  # V3
    assert order.charged_back == charged
    vouchers = bo.journal(order_id)
    net = net_amounts(vouchers, order.currency)  # V4
    assert net[VoucherKind.PAYMENT] == order.received
    assert net[VoucherKind.REFUND] == order.refunded
    assert net[VoucherKind.CHARGEBACK] == order.charged_back
    for voucher in vouchers:
        debits = sum((line.debit for line in voucher.lines), zero)
        credits = sum((line.credit for line in voucher.lines), zero)
        assert debits == credits == voucher.amount
    return order
