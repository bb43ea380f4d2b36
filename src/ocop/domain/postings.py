"""The vouchers an order's money movements post (rules J1-J3).

A voucher's id derives from the key of what it posts (J3), its journal from the
order's channel and the settings (J2). A reversal posts to the journal of the voucher it
undoes, which its movement records, whatever the settings name now (V4: each journal
balances).
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
    *,
    journal: str = "",
) -> Voucher:
    """The voucher of money received on ``order`` (a capture, a prepayment), paid back
    (a linked, unlinked or fallback refund), taken back by a chargeback, or of the reversal
    of one of these (N4), posted under ``key``: receipts and their reversals in the payment
    journal, the others in the refund journal. ``journal``: the journal the voucher a
    reversal undoes posted to, where the reversal posts too; empty (a movement recorded
    before its journal was): the one the settings name (J2)."""
    if not journal:
        journal = journal_name(kind, order, settings)
    return derived_voucher(kind, voucher_id=voucher_id(key), journal_name=journal,
                           order_id=order.order_id, reference=reference, method=method,
                           amount=amount, at=now)  # fmt: skip


def journal_name(kind: VoucherKind, order: Order, settings: Settings) -> str:
    """J2: the journal a voucher of ``kind`` on ``order`` posts to under ``settings``."""
    channel = order.channel.value
    if kind.refund_side:
        return settings.refund_journal(channel)
    return settings.payment_journal(channel)
