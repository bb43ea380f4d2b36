"""Refunds for returns: linked over several captures, fallback, unlinked (R1-R5, P1, P2).

Each linked refund is one operation keyed by (order, return, capture), so a
retried return refunds only what is still unrefunded for it (R5). A declined
capture refund keeps the others and is reported; the fallback method takes
only what no capture could cover.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ocop.domain.effects import Applied, voucher_id
from ocop.domain.errors import FeatureDisabled
from ocop.domain.journal import Voucher
from ocop.domain.money import Money, total
from ocop.domain.order import Order, PaymentsType
from ocop.domain.parties import ALTERNATE_PAYMENT, Actor
from ocop.domain.refunds import check_refund, plan_refund
from ocop.domain.tender import Refund
from ocop.domain.tokens import CardToken
from ocop.services import calls
from ocop.services.gates import require_call_center_user, require_permission, require_same_account
from ocop.services.runner import Ports, change_order, require_no_doubt


@attrs.frozen(kw_only=True)
class RefundResult:
    """What a return's refund came to.

    ``refunds``: the linked (or unlinked) refunds of this return so far, each with
    its ``capture_id`` and ``amount``; ``fallback``: what went back by the fallback
    method; ``failed``: captures whose refund was declined (R5); ``in_doubt``: a
    refund's outcome is unknown, run ``recover()``.
    """

    return_id: str
    order: Order
    refunds: tuple[Refund, ...]
    fallback: Money
    failed: tuple[str, ...] = ()
    in_doubt: bool = False


def _result(order: Order, return_id: str, failed: Sequence[str], in_doubt: bool) -> RefundResult:
    fallback = total(
        (r.amount for r in order.other_refunds if r.return_id == return_id and r.method != "card"),
        order.currency,
    )
    refunds = tuple(
        r for line in order.lines for r in line.refunds if r.return_id == return_id
    ) + tuple(r for r in order.other_refunds if r.return_id == return_id and r.method == "card")
    return RefundResult(
        return_id=return_id,
        order=order,
        refunds=refunds,
        fallback=fallback,
        failed=tuple(failed),
        in_doubt=in_doubt,
    )


def _gate(ports: Ports, order: Order, actor: Actor) -> None:
    """P1, P2: call center users refund; commerce orders only while OCOP is on."""
    require_call_center_user(actor, "refunding")
    if order.payments_type is PaymentsType.COMMERCE and not ports.settings.ocop:
        raise FeatureDisabled(
            f"order {order.order_id} is a commerce order: refunded only while omni-channel "
            "order payments is on",
            feature="omni_channel_order_payments",
        )


def refund(
    ports: Ports,
    order_id: str,
    return_id: str,
    amount: Money,
    actor: Actor,
    *,
    invoices: Sequence[str] = (),
) -> RefundResult:
    """Refund a return: linked refunds over the captures (R1, R2), the rest by fallback (R3)."""
    with ports.store.unit_of_work() as uow:
        order = uow.orders.get(order_id)
        require_no_doubt(uow, order_id)
    _gate(ports, order, actor)
    still = check_refund(order, return_id, amount)
    if not still.is_positive():
        return _result(order, return_id, (), in_doubt=False)
    multiple = ports.settings.features.refunds_over_multiple_captures
    linked, rest = plan_refund(order, still, tuple(invoices), multiple_captures=multiple)
    failed: list[str] = []
    for capture, part in linked:
        op = calls.refund(ports, order, capture, part, return_id=return_id)
        if op.in_doubt:
            return _result(calls.load(ports, order_id), return_id, failed, in_doubt=True)
        if op.outcome is not None and op.outcome.failed:
            failed.append(capture.capture_id)
    if rest.is_positive() and not failed:
        _fallback(ports, order_id, return_id, rest)
    return _result(calls.load(ports, order_id), return_id, failed, in_doubt=False)


def _fallback(ports: Ports, order_id: str, return_id: str, amount: Money) -> None:
    """R3: what linked refunds cannot cover goes back by the fallback method."""
    method = ports.settings.refunds.fallback_method.value
    now = ports.clock.now()

    def apply(order: Order) -> Applied:
        number = sum(1 for r in order.other_refunds if r.return_id == return_id) + 1
        key = f"{order_id}/fallback:{return_id}#{number}"
        entry = Refund(refund_id=key, return_id=return_id, amount=amount, refunded_at=now,
                       method=method)  # fmt: skip
        voucher = Voucher.refund(
            voucher_id=voucher_id(key),
            journal_name=ports.settings.refund_journal(order.channel.value),
            order_id=order_id,
            reference=return_id,
            method=method,
            amount=amount,
            at=now,
        )
        return Applied(order=order.with_other_refund(entry), vouchers=(voucher,))

    change_order(ports, order_id, apply)


def refund_to_card(
    ports: Ports, order_id: str, return_id: str, card: CardToken, amount: Money, *, actor: Actor
) -> RefundResult:
    """R4: an unlinked refund to a card that did not pay the order."""
    if not ports.settings.refunds.allow_unlinked_refunds:
        raise FeatureDisabled("unlinked refunds are not allowed", feature="allow_unlinked_refunds")
    if not ports.processor.capabilities.unlinked_refunds:
        raise FeatureDisabled(
            "the processor does not support unlinked refunds", feature="unlinked_refunds"
        )
    with ports.store.unit_of_work() as uow:
        order = uow.orders.get(order_id)
        require_no_doubt(uow, order_id)
    _gate(ports, order, actor)
    require_permission(actor, ALTERNATE_PAYMENT, "an unlinked refund")
    require_same_account(card, ports.processor.capabilities)
    still = check_refund(order, return_id, amount)
    if not still.is_positive():
        return _result(order, return_id, (), in_doubt=False)
    op = calls.unlinked_refund(ports, order, card, still, return_id=return_id)
    failed = (card.display,) if op.outcome is not None and op.outcome.failed else ()
    return _result(calls.load(ports, order_id), return_id, failed, in_doubt=op.in_doubt)
