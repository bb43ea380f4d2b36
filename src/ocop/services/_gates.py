"""Who may do what, on which orders, through which account (rules P1, P2, F1-F3, I5)."""

from __future__ import annotations

from ocop.domain import steps
from ocop.domain.cardnumbers import quoted
from ocop.domain.errors import (
    ConnectorMismatch,
    FeatureDisabled,
    IllegalTransition,
    PermissionDenied,
)
from ocop.domain.order import Order, PaymentsType
from ocop.domain.parties import Actor
from ocop.domain.settings import Settings
from ocop.domain.tokens import CardToken, ProcessorToken
from ocop.ports.processor import ProcessorCapabilities


def require_call_center_user(actor: Actor, action: str) -> None:
    """P1: back-office payment work needs a call center user."""
    if not isinstance(actor, Actor) or not actor.call_center_user:
        actor_id = getattr(actor, "actor_id", "?")
        raise PermissionDenied(
            f"{action} needs a call center user; {quoted(actor_id)} is not one",
            actor_id=actor_id,
            action=action,
        )


def require_permission(actor: Actor, permission: str, action: str) -> None:
    if not actor.may(permission):
        raise PermissionDenied(
            f"{action} needs the {quoted(permission)} permission",
            actor_id=actor.actor_id,
            action=action,
        )


def completion_enabled(order: Order, settings: Settings) -> bool:
    """Whether ``order`` goes through order completion: every order but a call center order
    while "Enable order completion" (``completion_for_call_center``) is off (F2 keeps it on
    while OCOP is on). Without completion a call center order is validated as placed."""
    return (
        order.payments_type is not PaymentsType.CALL_CENTER
        or settings.completion.completion_for_call_center
    )


def require_completion_enabled(order: Order, settings: Settings) -> None:
    if not completion_enabled(order, settings):
        raise FeatureDisabled(
            f"order {order.order_id} is a call center order and order completion is off for "
            "call centers: its payments are validated as they are taken",
            feature="completion_for_call_center",
        )


def require_omni_channel_payments(settings: Settings, action: str) -> None:
    """Pickup in store and other cross-channel uses of payments need omni-channel payments."""
    if not settings.features.omni_channel_payments:
        raise FeatureDisabled(f"{action} needs omni-channel payments on",
                              feature="omni_channel_payments")  # fmt: skip


def require_completion(order: Order, settings: Settings, *, cancelled: bool = False) -> None:
    """P2: which orders order completion may edit, under the settings in force (a cancelled
    one only where ``cancelled`` allows it)."""
    kind = order.payments_type
    if kind is PaymentsType.COMMERCE and not settings.ocop:
        raise FeatureDisabled(
            f"order {order.order_id} is a commerce order: its payments are managed only while "
            "omni-channel order payments is on",
            feature="omni_channel_order_payments",
        )
    if kind in (PaymentsType.LEGACY, PaymentsType.NONE):
        raise IllegalTransition(
            f"order {order.order_id} ({kind.value} payments) cannot be edited through order "
            "completion",
            order_id=order.order_id,
        )
    if order.cancelled and not cancelled:
        raise IllegalTransition(f"order {order.order_id} is cancelled", order_id=order.order_id)


def require_issuing_account(
    token: ProcessorToken, capabilities: ProcessorCapabilities, what: str
) -> None:
    """I5: capture and refund go through the connector and account that issued ``token``
    (an authorization's or a capture's); a mismatch is refused before any call."""
    if not capabilities.serves(token.connector, token.service_account):
        raise ConnectorMismatch(
            f"{what} belongs to {token.connector}/{token.service_account}, "
            f"not {capabilities.accounts}"
        )


def require_same_account(card: CardToken, capabilities: ProcessorCapabilities) -> None:
    """I5: a card token is usable only with the connector and account that issued it."""
    if not capabilities.serves(card.connector, card.service_account):
        raise ConnectorMismatch(
            f"{card.display} was tokenized by {card.connector}/{card.service_account}, not by "
            f"{capabilities.accounts}"
        )


def require_account_of_call(
    order: Order, step: steps.Step, capabilities: ProcessorCapabilities, key: str
) -> None:
    """I5, N3: a call in doubt is asked about (looked up, or replayed) only through the
    connector and account it was made with. A processor of another account never received
    it, and would say so: money that moved would be recorded as never sent. A call whose
    account is not known (a tokenization; an unlinked refund stored before its step kept
    the card's account) is asked as it is."""
    pair = _account_of(order, step)
    if pair is not None and not capabilities.serves(*pair):
        raise ConnectorMismatch(
            f"{key} was made through {pair[0]}/{pair[1]}, not {capabilities.accounts}: "
            "ask the processor of that account"
        )


def _account_of(order: Order, step: steps.Step) -> tuple[str, str] | None:
    """The connector and account of the token ``step`` was sent with, when known."""
    token: ProcessorToken | None = None
    match step:
        case steps.Authorize(line_id=line_id):
            token = order.line(line_id).card
        case (
            steps.Adjust(line_id=line_id, auth_id=auth_id)
            | steps.Capture(line_id=line_id, auth_id=auth_id)
            | steps.DepositCapture(line_id=line_id, auth_id=auth_id)
            | steps.Void(line_id=line_id, auth_id=auth_id)
        ):
            token = order.line(line_id).authorization(auth_id).token
        case steps.Refund(line_id=line_id, capture_id=capture_id):
            token = order.line(line_id).capture(capture_id).token
        case steps.UnlinkedRefund(connector=connector, service_account=account) if (
            connector and account
        ):
            return connector, account
    return None if token is None else (token.connector, token.service_account)
