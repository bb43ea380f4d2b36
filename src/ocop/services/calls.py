"""One function per processor call on a payment line, each through the operation log.

Step names make the operation keys (rule O4): ``authorize:L1.A2``,
``void:L1.A1``, ``adjust:L1.A1:120.00``, ``tokenize:L3``,
``capture:INV-1:L1:L1.A1``, ``refund:RMA-1:capture:INV-1:L1:L1.A1#1:1``,
``unlinked_refund:RMA-2:1``, so the same business step always finds its
earlier attempts.
"""

from __future__ import annotations

from ocop.domain.money import Money
from ocop.domain.operations import Operation, OperationKind
from ocop.domain.order import Order
from ocop.domain.tender import Capture, PaymentLine
from ocop.domain.tokens import CardToken
from ocop.services.runner import Ports, run


def load(ports: Ports, order_id: str) -> Order:
    with ports.store.unit_of_work() as uow:
        return uow.orders.get(order_id)


def _line(ports: Ports, order_id: str, line_id: str) -> PaymentLine:
    return load(ports, order_id).line(line_id)


def authorize(ports: Ports, order_id: str, line_id: str, amount: Money) -> Operation:
    """A new authorization of ``amount`` on the line's card."""
    line = _line(ports, order_id, line_id)
    card = line.card
    assert card is not None, "only card lines are authorized"
    auth_id = f"{line_id}.A{len(line.authorizations) + 1}"
    return run(
        ports,
        lambda key: ports.processor.authorize(key, card, amount),
        order_id=order_id,
        step=f"authorize:{auth_id}",
        kind=OperationKind.AUTHORIZE,
        amount=amount,
        target=card.value,
        context={"line_id": line_id, "auth_id": auth_id},
    )


def void(ports: Ports, order_id: str, line_id: str, auth_id: str, purpose: str) -> Operation:
    """Release what is open on an authorization; ``purpose`` says what the line does next."""
    token = _line(ports, order_id, line_id).authorization(auth_id).token
    return run(
        ports,
        lambda key: ports.processor.void(key, token),
        order_id=order_id,
        step=f"void:{auth_id}",
        kind=OperationKind.VOID,
        amount=None,
        target=token.value,
        context={"line_id": line_id, "auth_id": auth_id, "purpose": purpose},
    )


def adjust(ports: Ports, order_id: str, line_id: str, auth_id: str, new_total: Money) -> Operation:
    """Change an open authorization's total (C3)."""
    token = _line(ports, order_id, line_id).authorization(auth_id).token
    return run(
        ports,
        lambda key: ports.processor.adjust(key, token, new_total),
        order_id=order_id,
        step=f"adjust:{auth_id}:{new_total.amount}",
        kind=OperationKind.ADJUST,
        amount=new_total,
        target=token.value,
        context={"line_id": line_id, "auth_id": auth_id},
        # An approved adjustment is applied in the commit that records it, so the line never
        # asks for it again; the same target asked for later (up, then back down) is a new
        # adjustment and must reach the processor.
        reuse_approved=False,
    )


def tokenize(ports: Ports, order_id: str, line_id: str, cvv: str) -> Operation:
    """A one-time card token for a saved instrument, with the CVV (T1)."""
    order = load(ports, order_id)
    customer_id = order.customer.customer_id or ""
    instrument_id = order.line(line_id).instrument_id or ""
    return run(
        ports,
        lambda key: ports.processor.tokenize(key, customer_id, instrument_id, cvv),
        order_id=order_id,
        step=f"tokenize:{line_id}",
        kind=OperationKind.TOKENIZE,
        amount=None,
        target=instrument_id,
        context={"line_id": line_id},
    )


def capture(
    ports: Ports, order_id: str, line_id: str, auth_id: str, amount: Money, *, invoice_id: str
) -> Operation:
    """Capture for one invoice: one key per (order, invoice, line, authorization) (I4)."""
    token = _line(ports, order_id, line_id).authorization(auth_id).token
    return run(
        ports,
        lambda key: ports.processor.capture(key, token, amount),
        order_id=order_id,
        step=f"capture:{invoice_id}:{line_id}:{auth_id}",
        kind=OperationKind.CAPTURE,
        amount=amount,
        target=token.value,
        context={"line_id": line_id, "auth_id": auth_id, "invoice_id": invoice_id},
        reuse_approved=ports.settings.features.duplicate_payment_protection,
    )


def refund(
    ports: Ports, order: Order, capture: Capture, amount: Money, *, return_id: str
) -> Operation:
    """A linked refund, keyed by (order, return, capture, how many it already had) (R5)."""
    token = capture.token
    assert token is not None, "card captures carry their processor token"
    done = sum(
        1
        for r in order.line(capture.line_id).refunds
        if r.return_id == return_id and r.capture_id == capture.capture_id
    )
    # The capture's own key, less the order prefix that the operation key adds back.
    local = capture.capture_id.removeprefix(f"{order.order_id}/")
    return run(
        ports,
        lambda key: ports.processor.refund(key, token, amount),
        order_id=order.order_id,
        step=f"refund:{return_id}:{local}:{done + 1}",
        kind=OperationKind.REFUND,
        amount=amount,
        target=token.value,
        context={
            "line_id": capture.line_id,
            "capture_id": capture.capture_id,
            "return_id": return_id,
        },
    )


def unlinked_refund(
    ports: Ports, order: Order, card: CardToken, amount: Money, *, return_id: str
) -> Operation:
    """R4: pay a card that did not pay the order, keyed by (order, return, how many)."""
    done = sum(1 for r in order.other_refunds if r.return_id == return_id and r.method == "card")
    return run(
        ports,
        lambda key: ports.processor.unlinked_refund(key, card, amount),
        order_id=order.order_id,
        step=f"unlinked_refund:{return_id}:{done + 1}",
        kind=OperationKind.UNLINKED_REFUND,
        amount=amount,
        target=card.value,
        context={"return_id": return_id},
    )
