"""Invoicing and pickup: captures over several invoices (rules I1-I6, O3, S3).

Each capture is one operation whose key derives from (order, invoice, line,
authorization): retrying an invoice after a failure, a crash or by mistake
finds the captures already made and never captures again (I4). With duplicate
payment protection off, every attempt gets new keys, as before the feature.
"""

from __future__ import annotations

import attrs

from ocop.domain.errors import FeatureDisabled, IllegalTransition
from ocop.domain.invoice_run import InvoiceRun
from ocop.domain.invoicing import check_invoice, covered, for_invoice, plan_parts
from ocop.domain.money import Money
from ocop.domain.operations import Failed
from ocop.domain.order import Order, PaymentsType
from ocop.domain.tender import Capture
from ocop.ports import Ports
from ocop.services._engine import load, pursue
from ocop.services._gates import require_issuing_account, require_omni_channel_payments


@attrs.frozen(kw_only=True)
class InvoiceResult:
    """What an invoice (or pickup) came to.

    ``captures``: every capture, prepayment application and deposit use of this invoice so
    far; ``uncovered``: what no payment covered; ``failed``: lines whose capture
    failed, each a :class:`~ocop.domain.operations.Failed` (the line id, with the
    processor's ``reason`` and the ``key``); ``in_doubt``: keys of calls whose outcome
    is unknown, run ``recover()``; ``order``: the order as stored after the call;
    ``new_payment_required``: a pickup capture failed and its retry too (I6); or a single
    capture released the rest of an authorization that the card cannot renew (I2), and
    the order, out of balance, is held (``OUT_OF_BALANCE``) until a new payment covers
    it; or the card declined authorizing that rest again (I2, S2); or card lines a void
    retired while the order was not cancelled (a cancellation stopped at a void in doubt,
    X1) leave it out of balance and short of what is left to invoice: the order is then
    held (``OUT_OF_BALANCE``), no invoice recorded and nothing captured, until the
    cancellation is made again or a new payment covers it (S1, S3). When the card declines
    a new authorization (the I2 rest, an I6 retry), a line that captured money keeps what
    it holds as its amount, one that holds nothing is declined, and the order is held
    (``PAYMENT_DECLINED``, and ``OUT_OF_BALANCE`` when out of balance, S2, S1) until a new
    payment through completion covers it. An I6 retry whose new authorization is approved
    but whose capture fails, a single-use card's pickup (never retried) and a retry whose
    void is declined leave the authorization open and place no hold.
    """

    invoice_id: str
    order: Order
    captures: tuple[Capture, ...]
    uncovered: Money
    failed: tuple[Failed, ...] = ()
    in_doubt: tuple[str, ...] = ()
    new_payment_required: bool = False


def _gate(ports: Ports, order: Order) -> None:
    if order.payments_type is PaymentsType.COMMERCE and not ports.settings.ocop:
        raise FeatureDisabled(
            f"order {order.order_id} is a commerce order: processed only while omni-channel "
            "order payments is on",
            feature="omni_channel_order_payments",
        )
    if not order.approved:
        raise IllegalTransition(
            f"order {order.order_id} is {order.status.value}: "
            "only approved orders are invoiced (S3)",
            order_id=order.order_id,
        )


def invoice(
    ports: Ports, order_id: str, invoice_id: str, amount: Money, *, pickup: bool = False
) -> InvoiceResult:
    """Capture ``amount`` for ``invoice_id`` from the order's payments (I1-I6)."""
    if pickup:
        require_omni_channel_payments(ports.settings, "pickup in store")
    protect = ports.settings.features.duplicate_payment_protection
    order = load(ports, order_id, no_doubt=True)
    repeat = check_invoice(order, invoice_id, amount)
    if order.cancelled:
        raise IllegalTransition(f"order {order_id} is cancelled", order_id=order_id)
    _gate(ports, order)  # every attempt, first or repeated (P2, S3)
    run = InvoiceRun.start(order, invoice_id, amount, repeat=repeat, pickup=pickup,
                           protect=protect, now=ports.clock.now())  # fmt: skip
    parts, _ = plan_parts(order, run.remaining)
    _require_accounts(ports, order, [p.line_id for p in parts if not p.prepayment])
    final, run = pursue(ports, order, run, checked=True)
    # What this attempt was to cover less what it took (without protection, earlier
    # attempts do not count, I4; with it, those made while it was off may have covered
    # more than the invoice): a declined or in-doubt capture took nothing.
    taken = covered(final, invoice_id) - covered(order, invoice_id)
    uncovered = (run.remaining - taken).max(Money.zero(amount.currency))
    return InvoiceResult(
        invoice_id=invoice_id,
        order=final,
        captures=for_invoice(final, invoice_id),
        uncovered=uncovered,
        failed=run.failed,
        in_doubt=run.in_doubt,
        new_payment_required=run.new_payment,
    )


def _require_accounts(ports: Ports, order: Order, line_ids: list[str]) -> None:
    """I5: capture goes through the connector and service account that authorized."""
    caps = ports.processor.capabilities
    for line_id in line_ids:
        for auth in order.line(line_id).open_authorizations():
            require_issuing_account(auth.token, caps, f"authorization {auth.auth_id}")
