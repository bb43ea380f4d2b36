"""Order edits, hold release and cancellation (rules S3, S4, X1)."""

from __future__ import annotations

import attrs

from ocop.domain.cancellation import CancelRun
from ocop.domain.errors import IllegalTransition, InvalidInput
from ocop.domain.holds import out_of_balance
from ocop.domain.money import Money
from ocop.domain.order import HoldCode, Order
from ocop.domain.parties import HOLD_OVERRIDE, Actor
from ocop.services.completion import complete
from ocop.services.engine import change, commit, pursue, require_no_doubt
from ocop.services.gates import completion_enabled, require_call_center_user, require_completion
from ocop.services.wiring import Ports


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

    def edit(order: Order) -> Order:
        require_completion(order, ports.settings)
        if not isinstance(new_total, Money) or new_total.currency != order.currency:
            raise InvalidInput(f"the new total must be Money in {order.currency}")
        return order.with_total(new_total)

    changed = change(ports, order_id, edit)
    if completion_enabled(changed, ports.settings):
        return changed
    # Without order completion nobody submits the order again: it is validated at once.
    return complete(ports, changed, {}).order


def release_hold(ports: Ports, order_id: str, code: HoldCode, actor: Actor) -> Order:
    """S4: release a hold; an out-of-balance hold only once in balance, or with the override."""
    require_call_center_user(actor, "releasing a hold")
    code = HoldCode(code)

    def release(order: Order) -> Order:
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
        return order.without_hold(code)

    return change(ports, order_id, release)


def cancel_order(ports: Ports, order_id: str, actor: Actor) -> CancelResult:
    """X1: void uncaptured authorizations and refund deposits; once invoiced, leave them."""
    require_call_center_user(actor, "cancelling an order")
    with ports.store.unit_of_work() as uow:
        order = uow.orders.get(order_id)
        require_completion(order, ports.settings)
        require_no_doubt(uow, order_id)
    if order.invoices:
        return CancelResult(order=commit(ports, order.cancel()), manual_refund_needed=True)
    final, run = pursue(ports, order, CancelRun())
    if run.in_doubt:
        return CancelResult(order=final, voided=run.voided, in_doubt=run.in_doubt)
    return CancelResult(order=final, voided=run.voided, refunded=run.refunded)
