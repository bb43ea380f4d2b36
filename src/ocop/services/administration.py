"""Order edits, hold release and cancellation (rules S3, S4, X1)."""

from __future__ import annotations

import attrs

from ocop.domain.effects import Applied, voucher_id
from ocop.domain.errors import IllegalTransition, InvalidInput
from ocop.domain.holds import out_of_balance
from ocop.domain.journal import Voucher
from ocop.domain.money import Money
from ocop.domain.operations import Outcome
from ocop.domain.order import HoldCode, Order
from ocop.domain.parties import HOLD_OVERRIDE, Actor
from ocop.domain.tender import Refund
from ocop.services import calls
from ocop.services.gates import require_call_center_user, require_completion
from ocop.services.runner import Ports, change_order, require_no_doubt


@attrs.frozen(kw_only=True)
class CancelResult:
    """What cancelling did; ``manual_refund_needed`` once invoices exist (X1)."""

    order: Order
    voided: tuple[str, ...] = ()
    refunded: Money | None = None
    manual_refund_needed: bool = False
    in_doubt: tuple[str, ...] = ()


def change_total(ports: Ports, order_id: str, new_total: Money, actor: Actor) -> Order:
    """The order was edited: a new total; completion is needed again before invoicing (S3)."""
    require_call_center_user(actor, "changing an order")
    order = calls.load(ports, order_id)
    require_completion(order, ports.settings)
    if not isinstance(new_total, Money) or new_total.currency != order.currency:
        raise InvalidInput(f"the new total must be Money in {order.currency}")
    return change_order(ports, order_id, lambda o: Applied(order=o.with_total(new_total)))


def release_hold(ports: Ports, order_id: str, code: HoldCode, actor: Actor) -> Order:
    """S4: release a hold; an out-of-balance hold only once in balance, or with the override."""
    require_call_center_user(actor, "releasing a hold")
    code = HoldCode(code)

    def release(order: Order) -> Applied:
        require_completion(order, ports.settings)
        if not order.has_hold(code):
            raise IllegalTransition(f"order {order_id} has no {code.value} hold", order_id=order_id)
        if (
            code is HoldCode.OUT_OF_BALANCE
            and out_of_balance(order, ports.settings)
            and not actor.may(HOLD_OVERRIDE)
        ):
            raise IllegalTransition(
                f"order {order_id} is still out of balance (paid {order.paid} of {order.total}); "
                "releasing needs the hold_override permission",
                order_id=order_id,
            )
        return Applied(order=order.without_hold(code))

    return change_order(ports, order_id, release)


def cancel_order(ports: Ports, order_id: str, actor: Actor) -> CancelResult:
    """X1: void uncaptured authorizations and refund deposits; once invoiced, leave them."""
    require_call_center_user(actor, "cancelling an order")
    with ports.store.unit_of_work() as uow:
        order = uow.orders.get(order_id)
        require_completion(order, ports.settings)
        require_no_doubt(uow, order_id)
    if order.invoices:
        cancelled = change_order(ports, order_id, lambda o: Applied(order=o.cancel()))
        return CancelResult(order=cancelled, manual_refund_needed=True)
    voided: list[str] = []
    opened = [(line.line_id, auth.auth_id) for line in order.lines
              for auth in line.open_authorizations()]  # fmt: skip
    for line_id, auth_id in opened:
        op = calls.void(ports, order_id, line_id, auth_id, "cancel")
        if op.in_doubt:
            # O3: nothing more moves on this order until recover() decides this void.
            return CancelResult(
                order=calls.load(ports, order_id), voided=tuple(voided), in_doubt=(op.key,)
            )
        if op.outcome is Outcome.APPROVED:
            voided.append(auth_id)
    refunded = _refund_deposits(ports, order_id)
    cancelled = change_order(ports, order_id, lambda o: Applied(order=o.cancel()))
    return CancelResult(order=cancelled, voided=tuple(voided), refunded=refunded)


def _refund_deposits(ports: Ports, order_id: str) -> Money:
    """Posted prepayments not yet refunded go back through the fallback method (X1, R3)."""
    now = ports.clock.now()
    method = ports.settings.refunds.fallback_method

    def refund(order: Order) -> Applied:
        vouchers: list[Voucher] = []
        for line in order.lines:
            # A return may already have refunded part of the order by the fallback method.
            left = (line.received - line.refunded).min(order.received - order.refunded)
            if not line.is_prepayment or not left.is_positive():
                continue
            key = f"{order_id}/cancel:{line.line_id}"
            entry = Refund(refund_id=key, return_id="CANCEL", amount=left, refunded_at=now,
                           method=method.value)  # fmt: skip
            order = order.with_line(line.refunded_with(entry))
            vouchers.append(
                Voucher.refund(
                    voucher_id=voucher_id(key),
                    journal_name=ports.settings.refund_journal(order.channel.value),
                    order_id=order_id,
                    reference="CANCEL",
                    method=method.value,
                    amount=left,
                    at=now,
                )
            )
        return Applied(order=order, vouchers=tuple(vouchers))

    before = calls.load(ports, order_id).refunded
    after = change_order(ports, order_id, refund).refunded
    return after - before
