"""Adyen's standard webhooks as ocop notifications (N2), HMAC checked by Adyen's library.

A host's web handler passes the request body and the merchant account's HMAC key::

    for note in notifications(body, hmac_key):
        bo.handle_notification(note)
    # then answer Adyen "[accepted]"

Every item is checked with ``Adyen.util.is_valid_hmac_notification`` before anything is
read from it; a body with one item that fails raises :class:`InvalidWebhook` and yields
nothing. The outcome of a modification (CAPTURE, REFUND, CANCELLATION,
AUTHORISATION_ADJUSTMENT, CANCEL_OR_REFUND, AUTHORISATION) names ocop's operation by its
``merchantReference``, which the connector set to the operation key. CAPTURE_FAILED and
REFUND_FAILED (the scheme rejected a capture or refund Adyen had accepted) are failures of
that operation. Chargebacks and their reversals, and anything else, become unsolicited
notifications, which ocop keeps for review. An item's id is its pspReference, event code
and success, as Adyen repeats them when it delivers an item again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ocop.adapters.adyen import encode_reference
from ocop.domain.errors import InvalidInput, MissingExtra, UnknownCurrency
from ocop.domain.money import Money
from ocop.domain.notifications import Notification, NotificationEvent

__all__ = ["InvalidWebhook", "notifications"]

#: Event codes that report the outcome of an operation ocop asked for.
_OUTCOMES = frozenset(
    {
        "AUTHORISATION",
        "CAPTURE",
        "REFUND",
        "CANCELLATION",
        "AUTHORISATION_ADJUSTMENT",
        "CANCEL_OR_REFUND",
    }
)
#: Accepted, then rejected by the scheme: the operation failed after all.
_FAILED_LATER = frozenset({"CAPTURE_FAILED", "REFUND_FAILED"})
_UNSOLICITED = {
    "CHARGEBACK": NotificationEvent.CHARGEBACK,
    "CHARGEBACK_REVERSED": NotificationEvent.CHARGEBACK_REVERSED,
    "AUTHORISATION_EXPIRED": NotificationEvent.AUTHORIZATION_ENDED,
}


class InvalidWebhook(InvalidInput):
    """A webhook body that is not Adyen's, or whose HMAC signature does not check."""


def notifications(
    body: str | bytes, hmac_key: str, *, namespace: str | None = None
) -> tuple[Notification, ...]:
    """The ocop notifications of a webhook body, each item's signature checked first.

    ``namespace``: the back office's (:attr:`~ocop.adapters.adyen.AdyenConfig.namespace`):
    only items whose ``merchantReference`` it starts are this back office's; the others
    (another back office sharing the merchant account) are left out. None: every item,
    its ``merchantReference`` taken whole as the key."""
    try:
        from Adyen.util import is_valid_hmac_notification  # noqa: PLC0415 - the extra
    except ImportError as missing:
        raise MissingExtra("adyen", "Adyen") from missing
    try:
        parsed = json.loads(body)
        items = [entry["NotificationRequestItem"] for entry in parsed["notificationItems"]]
    except (ValueError, KeyError, TypeError):
        raise InvalidWebhook("not an Adyen standard webhook body") from None
    for item in items:
        try:
            valid = is_valid_hmac_notification(item, hmac_key)
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            raise InvalidWebhook("a webhook item's HMAC signature does not check")
    found = (_notification(item, namespace) for item in items)
    return tuple(note for note in found if note is not None)


def _notification(item: dict[str, Any], namespace: str | None) -> Notification | None:
    code = str(item.get("eventCode", ""))
    success = str(item.get("success", "")).lower() == "true"
    psp = str(item.get("pspReference", ""))
    key = str(item.get("merchantReference", ""))
    if namespace is not None:
        if not key.startswith(f"{namespace}:"):
            return None  # another back office's, on the same merchant account
        key = key.removeprefix(f"{namespace}:")
    original = str(item.get("originalReference", ""))
    # References as the connector's tokens keep them (encoded); a capture's holds the
    # payment's and its own.
    ref = encode_reference(psp) if psp else ""
    if code == "CAPTURE" and original:
        ref = f"{encode_reference(original)}:{ref}"
    if code in _OUTCOMES:
        event, succeeded = NotificationEvent.OUTCOME, success
    elif code in _FAILED_LATER:
        event, succeeded = NotificationEvent.OUTCOME, False
    else:
        event, succeeded = _UNSOLICITED.get(code, NotificationEvent.OTHER), success
    return Notification(
        notification_id=f"adyen:{ref}:{code}:{item.get('success', '')}",
        event=event,
        key=key,
        at=_moment(item.get("eventDate")),
        success=succeeded,
        reference=ref,
        amount=_amount(item.get("amount")),
        reason=str(item.get("reason", ""))[:200],
    )


def _moment(text: object) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return datetime.now(UTC)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _amount(amount: object) -> Money | None:
    if not isinstance(amount, dict):
        return None
    value, currency = amount.get("value"), amount.get("currency")
    if type(value) is not int or not isinstance(currency, str):
        return None
    try:
        return Money.from_minor(value, currency)
    except (UnknownCurrency, InvalidInput):
        return None
