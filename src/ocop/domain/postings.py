"""The vouchers an order's money movements post (rules J1-J3).

A voucher's id derives from the key of what it posts (J3), its journal from the
order's channel and the settings (J2). A reversal posts to the journal of the voucher it
undoes, which its movement records, whatever the settings name now (V4: each journal
balances).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from ocop.domain.journal import Voucher, VoucherKind, derived_voucher
from ocop.domain.keys import chargeback_key, voucher_id
from ocop.domain.money import Money
from ocop.domain.order import Order
from ocop.domain.settings import Settings
from ocop.domain.values import replaced


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


def unjournaled(order: Order) -> bool:
    """Whether a capture, linked refund or chargeback of ``order`` with its voucher posted
    was recorded before movements named their journal (an older row)."""
    for line in order.lines:
        for capture in line.captures:
            if not capture.pending and not capture.journal:
                return True
            if any(not chargeback.journal for chargeback in capture.chargebacks):
                return True
        for refund in line.refunds:
            if refund.capture_id is not None and not refund.pending and not refund.journal:
                return True
    return False


def with_journals(order: Order, journals: Mapping[str, str]) -> Order:
    """``order`` with the journal of each capture, linked refund and chargeback recorded
    before movements named theirs filled in from its voucher (``journals``: each voucher
    id the order posted, with its journal's name), so what undoes it posts to the same
    journal (V4); one whose voucher is not found keeps none."""

    def found(key: str, current: str) -> str:
        return current or journals.get(voucher_id(key), "")

    for line in order.lines:
        captures = tuple(
            replaced(
                capture,
                journal=found(capture.capture_id, capture.journal),
                chargebacks=tuple(
                    replaced(cb, journal=found(chargeback_key(capture.capture_id,
                                                              cb.chargeback_id), cb.journal))
                    for cb in capture.chargebacks
                ),
            )
            for capture in line.captures
        )  # fmt: skip
        refunds = tuple(replaced(r, journal=found(r.refund_id, r.journal)) for r in line.refunds)
        order = order.with_line(replaced(line, captures=captures, refunds=refunds))
    return order
