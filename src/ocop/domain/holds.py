"""Validation at submit: which holds an order gets (rules S1, S2, S3).

:func:`validate` is pure: given the order after its processor calls, it
returns the order with its holds decided again and its completion done.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from ocop.domain.money import Money, total
from ocop.domain.order import Hold, HoldCode, Order
from ocop.domain.settings import Settings
from ocop.domain.tender import PaymentMethod

#: Holds that validation decides afresh at every submit.
DECIDED_AT_SUBMIT = frozenset(
    {
        HoldCode.OUT_OF_BALANCE,
        HoldCode.PAYMENT_DECLINED,
        HoldCode.CREDIT_LIMIT,
        HoldCode.AUTHORIZATION_EXPIRED,
    }
)


def out_of_balance(order: Order, settings: Settings) -> bool:
    """S1: paid total outside the under/over thresholds (percent of the order total)."""
    policy = settings.completion
    if policy.allow_out_of_balance:
        return False
    due = order.balance_due
    if due.is_positive():
        return due > order.total.scaled(policy.underpaid_threshold_percent / Decimal(100))
    if due.is_negative():
        return -due > order.total.scaled(policy.overpaid_threshold_percent / Decimal(100))
    return False


def credit_used(order: Order) -> Money:
    """What the order's active customer-account lines draw on the customer's credit."""
    return total(
        (
            line.amount
            for line in order.lines
            if line.active and line.method is PaymentMethod.CUSTOMER_ACCOUNT
        ),
        order.currency,
    )


def over_credit_limit(order: Order) -> bool:
    """S2: customer-account lines beyond the customer's on-account limit."""
    limit = order.customer.on_account_limit
    used = credit_used(order)
    if used.is_zero():
        return False
    return limit is None or limit.currency != order.currency or used > limit


def validate(
    order: Order,
    settings: Settings,
    now: datetime,
    *,
    declined: bool,
    new_checks: Iterable[Money] = (),
) -> Order:
    """The order with its holds decided for this submit (S1, S2) and completion done (S3).

    ``declined``: an authorization was declined during this submit.
    ``new_checks``: amounts of the checks posted during this submit.
    """
    kept = [
        hold for hold in order.holds if hold.code not in DECIDED_AT_SUBMIT and not hold.lapsed(now)
    ]
    holds: list[Hold] = []
    if out_of_balance(order, settings):
        holds.append(
            Hold(
                code=HoldCode.OUT_OF_BALANCE,
                reason=f"paid {order.paid} of {order.total}",
                placed_at=now,
            )
        )
    if declined:
        holds.append(
            Hold(
                code=HoldCode.PAYMENT_DECLINED,
                reason="a payment authorization was declined",
                placed_at=now,
            )
        )
    threshold = settings.completion.check_hold_threshold
    if threshold is not None and any(
        check.currency == threshold.currency and check > threshold for check in new_checks
    ):
        until = now + timedelta(days=settings.completion.check_hold_days)
        holds.append(
            Hold(code=HoldCode.CHECK, reason=f"check above {threshold}", placed_at=now, until=until)
        )
    if over_credit_limit(order):
        holds.append(
            Hold(
                code=HoldCode.CREDIT_LIMIT,
                reason="customer account payments beyond the credit limit",
                placed_at=now,
            )
        )
    result = order.with_holds(kept)
    for hold in holds:
        result = result.with_hold(hold)
    return result.submitted()
