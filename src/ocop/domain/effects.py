"""What a processor outcome does to an order: one pure function for the live
path and for recovery alike (rule O2: recovery applies an outcome exactly as if
the call had returned).

An :class:`~ocop.domain.operations.Operation` carries in its ``context`` all
that is needed: the line, the authorization, the invoice or return, and the
purpose of a void.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from ocop.domain.journal import Voucher
from ocop.domain.money import Money
from ocop.domain.operations import Operation, OperationKind, Outcome, ProcessorResult
from ocop.domain.order import Order
from ocop.domain.settings import Settings
from ocop.domain.tender import Authorization, Capture, PaymentLine, Refund
from ocop.domain.tokens import AuthorizationToken, CaptureToken, RefundToken

#: Void purposes after which the line waits for a new authorization.
VOID_MAKES_WAY = frozenset({"replace", "reauthorize", "reduce"})


def voucher_id(key: str) -> str:
    """Rule J3: a voucher's id derives from the operation (or posting) key."""
    return f"V:{key}"


@attrs.frozen(kw_only=True)
class Applied:
    """The order after an outcome, and the vouchers it posts."""

    order: Order
    vouchers: tuple[Voucher, ...] = ()


def apply_outcome(
    order: Order, op: Operation, result: ProcessorResult, settings: Settings, now: datetime
) -> Applied:
    """The order once ``result`` (a definitive outcome of ``op``) is known."""
    context = dict(op.context)
    if op.kind is OperationKind.UNLINKED_REFUND:
        return _unlinked_refund(order, op, result, settings, now)
    line = order.line(context["line_id"])
    if result.approved:
        return _approved(order, line, op, result, context, settings, now)
    if op.kind not in (OperationKind.AUTHORIZE, OperationKind.TOKENIZE):
        return Applied(order=order)
    if result.outcome is Outcome.NOT_RECEIVED:
        # The call never happened: the line waits for authorization again.
        return Applied(order=order.with_line(line.not_pending()))
    if line.authorized.is_zero() and line.captured.is_zero():
        return Applied(order=order.with_line(line.declined()))
    return Applied(order=order.with_line(line.not_pending()))


def _approved(  # noqa: PLR0917 - private helper, called once with everything it needs
    order: Order,
    line: PaymentLine,
    op: Operation,
    result: ProcessorResult,
    context: dict[str, str],
    settings: Settings,
    now: datetime,
) -> Applied:
    kind = op.kind
    if kind is OperationKind.TOKENIZE:
        assert result.card is not None, "a tokenize answer carries a card token"
        tokenized = attrs.evolve(line.not_pending(), card=result.card, needs_tokenize=False)
        return Applied(order=order.with_line(tokenized))
    if kind is OperationKind.AUTHORIZE:
        assert isinstance(result.token, AuthorizationToken)
        assert op.amount is not None
        auth = Authorization.new(
            context.get("auth_id", op.key),
            result.token,
            op.amount,
            at=now,
            multi_capture=result.multi_capture,
            card_value=op.target,
        )
        return Applied(order=order.with_line(line.resubmittable().authorized_with(auth)))
    if kind is OperationKind.ADJUST:
        assert op.amount is not None
        return Applied(order=order.with_line(line.adjusted(context["auth_id"], op.amount)))
    if kind is OperationKind.VOID:
        auth = line.authorization(context["auth_id"])
        if auth.open_amount.is_zero():
            return Applied(order=order)
        purpose = context.get("purpose")
        voided = line.voided_auth(auth.auth_id, awaiting_new=purpose in VOID_MAKES_WAY)
        if purpose == "declined" and voided.captured.is_zero():
            # C3: a declined adjustment declines the line; its authorization is released.
            voided = voided.declined()
        if purpose == "expired" and voided.captured.is_zero() and voided.authorized.is_zero():
            # I3: an expired authorization without a reusable card token declines its line.
            voided = voided.declined()
        return Applied(order=order.with_line(voided))
    if kind is OperationKind.CAPTURE:
        assert isinstance(result.token, CaptureToken)
        assert op.amount is not None
        capture = Capture(
            capture_id=op.key,
            line_id=line.line_id,
            invoice_id=context["invoice_id"],
            amount=op.amount,
            auth_id=context["auth_id"],
            token=result.token,
            refunded=Money.zero(op.amount.currency),
            captured_at=now,
        )
        voucher = Voucher.receipt(
            voucher_id=voucher_id(op.key),
            journal_name=settings.payment_journal(order.channel.value),
            order_id=order.order_id,
            reference=context["invoice_id"],
            method=line.method.value,
            amount=op.amount,
            at=now,
        )
        return Applied(order=order.with_line(line.captured_with(capture)), vouchers=(voucher,))
    if kind is OperationKind.REFUND:
        assert op.amount is not None
        token = result.token if isinstance(result.token, RefundToken) else None
        refund = Refund(
            refund_id=op.key,
            return_id=context["return_id"],
            amount=op.amount,
            capture_id=context["capture_id"],
            token=token,
            refunded_at=now,
        )
        voucher = Voucher.refund(
            voucher_id=voucher_id(op.key),
            journal_name=settings.refund_journal(order.channel.value),
            order_id=order.order_id,
            reference=context["return_id"],
            method=line.method.value,
            amount=op.amount,
            at=now,
        )
        return Applied(order=order.with_line(line.refunded_with(refund)), vouchers=(voucher,))
    return Applied(order=order)


def _unlinked_refund(
    order: Order, op: Operation, result: ProcessorResult, settings: Settings, now: datetime
) -> Applied:
    """R4: money paid to a card that did not pay the order."""
    if not result.approved:
        return Applied(order=order)
    assert op.amount is not None
    return_id = op.ctx("return_id")
    token = result.token if isinstance(result.token, RefundToken) else None
    refund = Refund(refund_id=op.key, return_id=return_id, amount=op.amount, token=token,
                    refunded_at=now, method="card")  # fmt: skip
    voucher = Voucher.refund(
        voucher_id=voucher_id(op.key),
        journal_name=settings.refund_journal(order.channel.value),
        order_id=order.order_id,
        reference=return_id,
        method="card",
        amount=op.amount,
        at=now,
    )
    return Applied(order=order.with_other_refund(refund), vouchers=(voucher,))
