"""The vouchers an order's money movements post (rules J1-J3).

A voucher's id derives from the key of what it posts (J3), its journal from the
order's channel and the settings (J2).
"""

from __future__ import annotations

from datetime import datetime

from ocop.domain.journal import Voucher, VoucherKind, derived_voucher
from ocop.domain.keys import voucher_id
from ocop.domain.money import Money
from ocop.domain.order import Order
from ocop.domain.settings import Settings


def voucher(  # noqa: PLR0917 - what a posting says, and where it goes
    kind: VoucherKind,
    order: Order,
    key: str,
    reference: str,
    method: str,
    amount: Money,
    settings: Settings,
    now: datetime,
) -> Voucher:
    """The voucher of money received on ``order`` (a capture, a prepayment), paid back
    (a linked, unlinked or fallback refund), taken back by a chargeback, or of the reversal
    of one of these (N4), posted under ``key``: receipts and their reversals in the payment
    journal, the others in the refund journal."""
    channel = order.channel.value
    if kind.refund_side:
        journal = settings.refund_journal(channel)
    else:
        journal = settings.payment_journal(channel)
    return derived_voucher(kind, voucher_id=voucher_id(key), journal_name=journal,
                           order_id=order.order_id, reference=reference, method=method,
                           amount=amount, at=now)  # fmt: skip
