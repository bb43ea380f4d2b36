"""Order edits, hold release and cancellation (rules S3, S4, X1)."""

from __future__ import annotations

import attrs

from ocop.domain.cancellation import CancelRun
from ocop.domain.deposits import CANCEL_RETURN, deposit_refunds
from ocop.domain.errors import CurrencyMismatch, InvalidArgument, InvalidInput
from ocop.domain.hold_release import place_manual_hold, release
from ocop.domain.money import Money
from ocop.domain.operations import Failed
from ocop.domain.order import HoldCode, Order
from ocop.domain.parties import Actor
from ocop.ports import Ports
from ocop.services._completion import complete
from ocop.services._engine import Guarded, change, commit, load, pursue, require_no_doubt
from ocop.services._gates import (
    completion_enabled,
    require_call_center_user,
    require_completion,
    require_issuing_account,
)


@attrs.frozen(kw_only=True)
class CancelResult:
    """What cancelling did; ``manual_refund_needed`` once invoices exist (X1).

    ``charged``: what the cancellation kept of the order's deposit (D2; None without a
    deposit); ``failed``: deposit captures whose linked refund was declined, each a
    :class:`~ocop.domain.operations.Failed` (the order then stays open: cancel again).
    """

    order: Order
    voided: tuple[str, ...] = ()
    refunded: Money | None = None
    manual_refund_needed: bool = False
    in_doubt: tuple[str, ...] = ()
    charged: Money | None = None
    failed: tuple[Failed, ...] = ()


def change_total(ports: Ports, order_id: str, new_total: Money, actor: Actor) -> Order:
    """The order was edited: a new total; completion is needed again before invoicing (S3)."""
    require_call_center_user(actor, "changing an order")

    def edit(order: Order) -> Order:
        require_completion(order, ports.settings)
        message = f"the new total must be Money in {order.currency}"
        if not isinstance(new_total, Money):
            raise InvalidInput(message)
        if new_total.currency != order.currency:
            raise CurrencyMismatch(new_total.currency, order.currency, message)
        return order.with_total(new_total)

    changed = change(ports, order_id, edit)
    if completion_enabled(changed, ports.settings):
        return changed
    # Without order completion nobody submits the order again: it is validated at once.
    return complete(ports, changed, {}, by=actor.actor_id).order


def release_hold(ports: Ports, order_id: str, code: HoldCode, actor: Actor) -> Order:
    """S4: release a hold once its own cause is gone, or with the override permission; the
    release is recorded (who, when, whether overridden). The order as stored."""
    require_call_center_user(actor, "releasing a hold")
    code = HoldCode(code)

    def edit(order: Order) -> Order:
        require_completion(order, ports.settings)
        return release(order, code, actor, ports.settings, ports.clock.now())

    return change(ports, order_id, edit)


def place_hold(
    ports: Ports, order_id: str, code: HoldCode, actor: Actor, *, reason: str, note: str = ""
) -> Order:
    """S4: a call center user puts the order on a manual hold with a reason code and a note
    (who and when recorded). The order as stored."""
    require_call_center_user(actor, "placing a hold")
    if code is not HoldCode.MANUAL:  # the facade refuses it first (E1)
        raise InvalidArgument("only HoldCode.MANUAL holds are placed by hand", argument="code")

    def edit(order: Order) -> Order:
        require_completion(order, ports.settings)
        return place_manual_hold(
            order, actor, ports.settings, ports.clock.now(), reason=reason, note=note
        )

    return change(ports, order_id, edit)


def cancel_order(ports: Ports, order_id: str, actor: Actor) -> CancelResult:
    """X1, D2: void uncaptured authorizations and refund deposits (less the cancellation
    charge); once invoiced, leave them. A cancelled order whose deposit refund failed after
    it was cancelled (a pending refund declined) is cancelled again: only what is still due
    is refunded."""
    require_call_center_user(actor, "cancelling an order")
    with ports.store.unit_of_work() as uow:
        order = uow.orders.get(order_id).as_of(ports.clock.now())
        due = deposit_refunds(order, ports.settings.deposits, CANCEL_RETURN)
        again = not order.invoices and bool(due.linked or due.fallback)
        require_completion(order, ports.settings, cancelled=again)
        require_no_doubt(uow, order_id)
    if order.invoices:
        return CancelResult(order=commit(ports, order.cancel()), manual_refund_needed=True)
    for capture, _ in due.linked:
        if capture.token is not None:  # I5, before any call
            require_issuing_account(capture.token, ports.processor.capabilities,
                                    f"capture {capture.capture_id}")  # fmt: skip
    try:
        final, run = pursue(ports, order, CancelRun(), guard=True)
    except Guarded as doubt:
        # O3, O5: another worker's call (sent once a recovery settled this run's) is in
        # doubt: no deposit goes back by the fallback, the order stays open: cancel again.
        ran = doubt.goal if isinstance(doubt.goal, CancelRun) else CancelRun()
        return CancelResult(order=load(ports, order_id), voided=ran.voided,
                            refunded=ran.refunded, in_doubt=doubt.keys)  # fmt: skip
    if run.manual:  # X1, O5: invoiced while the cancellation was on its way
        return CancelResult(order=final, voided=run.voided, refunded=run.refunded,
                            manual_refund_needed=True)  # fmt: skip
    if run.in_doubt or run.failed:
        return CancelResult(order=final, voided=run.voided, refunded=run.refunded,
                            in_doubt=run.in_doubt, failed=run.failed)  # fmt: skip
    return CancelResult(order=final, voided=run.voided, refunded=run.refunded, charged=run.charged)
