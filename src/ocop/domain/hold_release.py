"""Releasing a hold and placing a manual one (S4): the pure halves of
``bo.release_hold`` and ``bo.place_hold``. A hold is released only once its own cause is
gone (:func:`~ocop.domain.holds.cause_remains`), unless the actor has the override
permission.
"""

from __future__ import annotations

from datetime import datetime

from ocop.domain.errors import IllegalTransition, InvalidArgument
from ocop.domain.holds import cause_remains, credit_used
from ocop.domain.order import Hold, HoldCode, Order
from ocop.domain.parties import HOLD_OVERRIDE, Actor
from ocop.domain.settings import Settings

#: The longest note a manual hold keeps, in characters.
MAX_NOTE_LENGTH = 500


def _cause(order: Order, code: HoldCode) -> str:
    """What keeps the hold, in words (no input is echoed: amounts and codes only)."""
    match code:
        case HoldCode.OUT_OF_BALANCE:
            return f"is still out of balance (paid {order.paid} of {order.total})"
        case HoldCode.CREDIT_LIMIT:
            limit = order.customer.on_account_limit
            return (
                f"is still beyond the credit limit (customer account {credit_used(order)} "
                f"of {limit if limit is not None else 'no limit'})"
            )
        case HoldCode.PAYMENT_DECLINED:
            return (
                "still has a declined payment line, a replaced card still holding money, or "
                "lacks what a declined card did not pay"
            )
        case HoldCode.AUTHORIZATION_EXPIRED:
            return "still has an expired authorization that was not renewed"
        case _:
            return f"is held until its {code.value} hold lapses"


def release(order: Order, code: HoldCode, actor: Actor, settings: Settings, now: datetime) -> Order:
    """S4: the order (as of ``now``) without its ``code`` hold, the release recorded (who,
    when, and whether the override was needed).

    Refused with :class:`IllegalTransition` when the order has no such hold (a lapsed
    check hold is gone already) or when its cause remains and ``actor`` lacks
    ``hold_override``.
    """
    order = order.as_of(now)
    if order.hold(code) is None:
        raise IllegalTransition(
            f"order {order.order_id} has no {code.value} hold", order_id=order.order_id
        )
    remains = cause_remains(order, code, settings, now)
    if remains and not actor.may(HOLD_OVERRIDE):
        raise IllegalTransition(
            f"order {order.order_id} {_cause(order, code)}; releasing needs the "
            f"{HOLD_OVERRIDE} permission",
            order_id=order.order_id,
        )
    return order.released(code, by=actor.actor_id, at=now, override=remains)


def check_reason(reason: str, settings: Settings) -> str:
    """``reason`` if it is one of ``settings.hold_reasons`` (exactly, case included), else
    :class:`InvalidArgument` naming the codes allowed (never the value given)."""
    if reason not in settings.hold_reasons:
        raise InvalidArgument(
            "reason must be one of the hold reason codes: " + ", ".join(settings.hold_reasons),
            argument="reason",
        )
    return reason


def place_manual_hold(
    order: Order, actor: Actor, settings: Settings, now: datetime, *, reason: str, note: str = ""
) -> Order:
    """S4: the order (as of ``now``) with a manual hold: its reason code (one of
    ``settings.hold_reasons``), the note, who placed it and when.

    An order holds one manual hold at a time: placing a second is refused (release the
    first to change its reason), so no reason or note is ever dropped silently.
    """
    check_reason(reason, settings)
    order = order.as_of(now)
    existing = order.hold(HoldCode.MANUAL)
    if existing is not None:
        raise IllegalTransition(
            f"order {order.order_id} already has a manual hold ({existing.reason_code}) placed "
            f"by {existing.placed_by}; release it first",
            order_id=order.order_id,
        )
    hold = Hold(code=HoldCode.MANUAL, reason=f"held by hand: {reason}", placed_at=now,
                placed_by=actor.actor_id, reason_code=reason, note=note)  # fmt: skip
    return order.with_hold(hold)
