"""Refunds for returns: linked over several captures, fallback, unlinked (R1-R5, P1, P2).

Each linked refund is one operation keyed by (order, return, capture), so a
retried return refunds only what is still unrefunded for it (R5). A declined
capture refund keeps the others and is reported; the fallback method takes
only what no capture could cover.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ocop.domain.errors import FeatureDisabled, UnknownInvoice
from ocop.domain.money import Money, total
from ocop.domain.operations import Failed
from ocop.domain.order import Order, PaymentsType
from ocop.domain.parties import ALTERNATE_PAYMENT, Actor
from ocop.domain.refunds import (
    ReturnRun,
    check_refund,
    plan_refund,
    refund_steps,
    unlinked_refund_step,
)
from ocop.domain.tender import Refund
from ocop.domain.tokens import CardToken
from ocop.domain.values import replaced
from ocop.ports import Ports
from ocop.services._engine import Guarded, Secrets, load, pursue
from ocop.services._gates import (
    require_call_center_user,
    require_issuing_account,
    require_permission,
    require_same_account,
)


@attrs.frozen(kw_only=True)
class RefundResult:
    """What a return's refund came to.

    ``refunds``: the linked (or unlinked) refunds of this return so far, each with
    its ``capture_id`` and ``amount``; ``fallback``: what went back by the fallback
    method; ``failed``: captures whose refund was declined (R5), each a
    :class:`~ocop.domain.operations.Failed` (the capture id, or the card of an unlinked
    refund, with the processor's ``reason`` and the ``key``); ``in_doubt``: keys of
    refunds whose outcome is unknown, run ``recover()``; ``order``: the order as stored.
    """

    return_id: str
    order: Order
    refunds: tuple[Refund, ...]
    fallback: Money
    failed: tuple[Failed, ...] = ()
    in_doubt: tuple[str, ...] = ()


def _result(
    order: Order, return_id: str, run: ReturnRun, failed: Sequence[Failed] | None = None
) -> RefundResult:
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
        failed=tuple(run.failed if failed is None else failed),
        in_doubt=run.in_doubt,
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
    require_call_center_user(actor, "refunding")  # P1 first: an outsider learns nothing
    order = load(ports, order_id, no_doubt=True)
    _gate(ports, order, actor)
    known = {invoice.invoice_id for invoice in order.invoices}
    for invoice_id in invoices:
        if invoice_id not in known:
            raise UnknownInvoice(order_id, invoice_id)
    still = check_refund(order, return_id, amount)
    if not still.is_positive():
        return _result(order, return_id, ReturnRun(return_id=return_id, linked=(), rest=still))
    multiple = ports.settings.features.refunds_over_multiple_captures
    linked, rest = plan_refund(
        order, still, tuple(invoices), multiple_captures=multiple, return_id=return_id
    )
    for capture, _ in linked:
        if capture.token is not None:  # I5, before any call
            require_issuing_account(
                capture.token, ports.processor.capabilities, f"capture {capture.capture_id}"
            )
    run = ReturnRun(return_id=return_id, linked=refund_steps(order, return_id, linked), rest=rest,
                    amount=amount, cancelled=order.cancelled)  # fmt: skip
    try:
        final, run = pursue(ports, order, run, checked=True, guard=True)
    except Guarded as doubt:
        # O3, O5: another worker's call of the order (sent once a recovery settled this
        # run's) is in doubt: nothing goes back by the fallback meanwhile; retried after
        # recover(), the return refunds only what it still needs (R5).
        ran = doubt.goal if isinstance(doubt.goal, ReturnRun) else run
        return _result(load(ports, order_id), return_id, replaced(ran, in_doubt=doubt.keys))
    return _result(final, return_id, run)


def refund_to_card(
    ports: Ports, order_id: str, return_id: str, card: CardToken, amount: Money, *, actor: Actor
) -> RefundResult:
    """R4: an unlinked refund to a card that did not pay the order."""
    require_call_center_user(actor, "refunding")  # P1 first: an outsider learns nothing
    require_permission(actor, ALTERNATE_PAYMENT, "an unlinked refund")
    if not ports.settings.refunds.allow_unlinked_refunds:
        raise FeatureDisabled("unlinked refunds are not allowed", feature="allow_unlinked_refunds")
    # The card's own processor's answer, behind a router too (I5): refused before any call.
    if not ports.processor.capabilities.unlinked_refunds_of(card.connector, card.service_account):
        raise FeatureDisabled(
            "the processor does not support unlinked refunds", feature="unlinked_refunds"
        )
    order = load(ports, order_id, no_doubt=True)
    _gate(ports, order, actor)
    require_same_account(card, ports.processor.capabilities)
    still = check_refund(order, return_id, amount)
    nothing = Money.zero(order.currency)
    if not still.is_positive():
        return _result(order, return_id, ReturnRun(return_id=return_id, linked=(), rest=nothing))
    payout = unlinked_refund_step(order, return_id, still, card)
    run = ReturnRun(return_id=return_id, linked=(payout,), rest=nothing)
    final, run = pursue(ports, order, run, Secrets(card=card), checked=True)
    failed = tuple(Failed(card.display, key=x.key, reason=x.reason) for x in run.failed)
    return _result(final, return_id, run, failed=failed)
