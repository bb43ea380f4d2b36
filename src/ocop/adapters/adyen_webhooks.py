"""Adyen's standard webhooks as ocop notifications (N2), HMAC checked by Adyen's library.

A host's web handler passes the request body, the merchant account's HMAC key and the
connector's namespace (its references are ``<namespace>:<operation key>``; without it no
item names an operation of ocop's, and each is kept for review)::

    for note in notifications(body, hmac_key, namespace=config.namespace):
        bo.handle_notification(note)
    # then answer Adyen "[accepted]"

Every item is checked with ``Adyen.util.is_valid_hmac_notification`` before anything is
read from it; a body with one item that fails raises :class:`InvalidWebhook` and yields
nothing. The outcome of a modification (CAPTURE, REFUND, CANCELLATION,
AUTHORISATION_ADJUSTMENT, CANCEL_OR_REFUND, AUTHORISATION) names ocop's operation by its
``merchantReference``, which the connector set to the operation key (the AUTHORISATION of
a saved card's CVV check names its tokenization, with no reference: the verification's
pspReference is no token ocop keeps). CAPTURE_FAILED and
REFUND_FAILED (the scheme rejected a capture or refund Adyen had accepted) are failures of
that operation, which ocop undoes even when it was approved already (N4).

Unsolicited (N4): CHARGEBACK and SECOND_CHARGEBACK are chargebacks, CHARGEBACK_REVERSED
their reversal. Adyen's dispute items carry the dispute's own pspReference (the same for
every event of one dispute: ocop's ``dispute``), the disputed payment's in
``originalReference`` and its ``merchantReference`` (the authorization's key); when
``additionalData`` names the capture (``modificationMerchantReferences``,
``modificationPspReferences``, one each), the chargeback names that capture, else the
authorization (ocop takes its one capture). EXPIRE (the uncaptured rest of an
authorization expired) ends the authorization, and so does a CANCELLATION or a
TECHNICAL_CANCEL (a cancel by the payment's reference) whose ``merchantReference`` is an
authorization's key (a cancellation ocop did not ask for: its own voids carry the void's
key); a TECHNICAL_CANCEL naming anything else is kept for review. A capture, refund,
cancel-or-refund or amount update made outside ocop (in the Customer Area, say) carries
the payment's reference, an authorization's key: it is kept for review, never taken for
that authorization's outcome. Anything else (NOTIFICATION_OF_CHARGEBACK,
REQUEST_FOR_INFORMATION, PREARBITRATION_WON / _LOST, REFUNDED_REVERSED ...) is kept for
review, and so is an outcome or dispute item whose amount ocop cannot hold (a fraction of
a CLP, a code it does not take, past its maximum): no call of ocop's was for it; so is a
successful CAPTURE with its pspReference or its originalReference but not both (its token
would name no capture). An item's
id is its pspReference, event code and success, as Adyen repeats them
when it delivers an item again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ocop.adapters._adyen_answers import from_value
from ocop.adapters.adyen import encode_reference
from ocop.domain.cardnumbers import mask
from ocop.domain.errors import InvalidArgument, InvalidInput, MissingExtra
from ocop.domain.keys import step_of
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
#: Dispute events that move money (N4).
_DISPUTES = {
    "CHARGEBACK": NotificationEvent.CHARGEBACK,
    "SECOND_CHARGEBACK": NotificationEvent.CHARGEBACK,
    "CHARGEBACK_REVERSED": NotificationEvent.CHARGEBACK_REVERSED,
}
#: Notifications whose amount ocop compares or applies (N2, N4).
_AMOUNT_READ = frozenset(
    {
        NotificationEvent.OUTCOME,
        NotificationEvent.CHARGEBACK,
        NotificationEvent.CHARGEBACK_REVERSED,
    }
)
#: The rest of an authorization expired at Adyen (N4).
_EXPIRED = "EXPIRE"
#: A cancel of the payment (by its pspReference, or by its reference: TECHNICAL_CANCEL);
#: one naming the authorization's key was made outside ocop and ends it (N4).
_CANCELS = frozenset({"CANCELLATION", "TECHNICAL_CANCEL"})


class InvalidWebhook(InvalidInput):
    """A webhook body that is not Adyen's, or whose HMAC signature does not check."""


def notifications(
    body: str | bytes, hmac_key: str, *, namespace: str | None = None
) -> tuple[Notification, ...]:
    """The ocop notifications of a webhook body, each item's signature checked first.

    ``hmac_key``: the webhook's HMAC key as the Customer Area shows it (hex); an empty or
    malformed one is :class:`~ocop.domain.errors.InvalidArgument` (an empty key would
    check a signature anyone can make).

    ``namespace``: the back office's (:attr:`~ocop.adapters.adyen.AdyenConfig.namespace`):
    only items whose ``merchantReference`` it starts are this back office's; the others
    (another back office sharing the merchant account) are left out. None: every item,
    its ``merchantReference`` taken whole as the key."""
    try:
        from Adyen.util import is_valid_hmac_notification  # noqa: PLC0415 - the extra
    except ImportError as missing:
        raise MissingExtra("adyen", "Adyen") from missing
    if not _is_key(hmac_key):
        # An empty key signs for anyone: the merchant account's key is Adyen's hex text.
        raise InvalidArgument("hmac_key is the hex key of the webhook in Adyen's Customer Area",
                              argument="hmac_key")  # fmt: skip
    try:
        parsed = json.loads(body)
        items = [entry["NotificationRequestItem"] for entry in parsed["notificationItems"]]
    except (ValueError, KeyError, TypeError, RecursionError):  # nested past reading: not Adyen's
        raise InvalidWebhook("not an Adyen standard webhook body") from None
    for item in items:
        # The library checks the first item of a ``notificationItems`` it finds in place of
        # the item: an item holding one (or not an object) is not Adyen's, whatever it wraps.
        if not isinstance(item, dict) or "notificationItems" in item:
            raise InvalidWebhook("a webhook item is not an Adyen notification item")
        try:
            valid = is_valid_hmac_notification(item, hmac_key)
        except (ValueError, KeyError, TypeError, RecursionError):  # the library copies the item
            valid = False
        if not valid:
            raise InvalidWebhook("a webhook item's HMAC signature does not check")
    found = (_notification(item, namespace) for item in items)
    return tuple(note for note in found if note is not None)


def _is_key(hmac_key: object) -> bool:
    """Whether ``hmac_key`` is a key Adyen gives: hex text of whole bytes, not empty."""
    if not isinstance(hmac_key, str) or not hmac_key or len(hmac_key) % 2:
        return False
    return all(c in "0123456789abcdefABCDEF" for c in hmac_key)


def _notification(item: dict[str, Any], namespace: str | None) -> Notification | None:
    code = str(item.get("eventCode", ""))
    success = str(item.get("success", "")).lower() == "true"
    psp = str(item.get("pspReference", ""))
    key = _own(str(item.get("merchantReference", "")), namespace)
    if key is None:
        return None  # another back office's, on the same merchant account
    original = str(item.get("originalReference", ""))
    # References as the connector's tokens keep them (encoded); a capture's holds the
    # payment's and its own.
    ref = encode_reference(psp) if psp else ""
    if code == "CAPTURE" and original:
        ref = f"{encode_reference(original)}:{ref}"
    reference, dispute = ref, ""
    # A modification of the payment that ocop did not ask for (made in the Customer Area,
    # say) carries the payment's reference: ocop's authorization key.
    foreign = code != "AUTHORISATION" and _names_authorization(key)
    if code in _CANCELS and foreign:
        event, succeeded, reference = NotificationEvent.AUTHORIZATION_ENDED, success, ""
    elif (foreign and (code in _OUTCOMES or code in _FAILED_LATER)) or _one_of_two(
        code, success, psp, original
    ):
        event, succeeded = NotificationEvent.OTHER, success  # kept for review (N2)
    elif code in _OUTCOMES:
        event, succeeded = NotificationEvent.OUTCOME, success
        if code == "AUTHORISATION" and step_of(key).startswith("tokenize:"):
            # A saved card's CVV check: its answer's token is the stored card, never the
            # verification's pspReference, so the reference names nothing to compare.
            reference = ""
    elif code in _FAILED_LATER:
        event, succeeded = NotificationEvent.OUTCOME, False
        if code == "CAPTURE_FAILED" and original:
            reference = f"{encode_reference(original)}:{ref}"  # the capture's token
    elif code in _DISPUTES:
        event, succeeded, dispute = _DISPUTES[code], success, ref
        key, reference = _disputed(item, key, original, namespace)
    elif code == _EXPIRED:
        event, succeeded, reference = NotificationEvent.AUTHORIZATION_ENDED, success, ""
    else:
        event, succeeded = NotificationEvent.OTHER, success
    amount = _amount(item.get("amount"))
    if amount is None and "amount" in item and event in _AMOUNT_READ:
        # An amount ocop cannot hold (a fraction of a CLP, an unknown code, past ocop's
        # maximum) is no amount ocop asked for: kept for review, never taken for any.
        event = NotificationEvent.OTHER
    return Notification(
        notification_id=f"adyen:{ref}:{code}:{item.get('success', '')}",
        event=event,
        key=key,
        at=_moment(item.get("eventDate")),
        success=succeeded,
        reference=reference,
        amount=amount,
        # Adyen's words, unsigned free text: a card number in them is masked (E2), never
        # the reason to refuse the body (Adyen would send it again and again, N2); masked
        # whole before the cut (a number across it kept its first digits), and once more
        # after (a longer number the cut made one).
        reason=mask(mask(str(item.get("reason", "")))[:200]),
        dispute=dispute,
    )


def _own(reference: str, namespace: str | None) -> str | None:
    """The operation key a merchant reference carries; None when it is another back
    office's (outside ``namespace``)."""
    if namespace is None:
        return reference
    if not reference.startswith(f"{namespace}:"):
        return None
    return reference.removeprefix(f"{namespace}:")


def _one_of_two(code: str, success: bool, psp: str, original: str) -> bool:
    """Whether a successful CAPTURE gives one of the two references its token needs (the
    payment's and its own): with one, the token would name no capture, or take the
    capture's for the payment's. Kept for review; recovery's replay reads Adyen's answer."""
    return code == "CAPTURE" and success and bool(psp) is not bool(original)


def _names_authorization(key: str) -> bool:
    return step_of(key).startswith("authorize:")


def _disputed(
    item: dict[str, Any], key: str, original: str, namespace: str | None
) -> tuple[str, str]:
    """The key and reference a dispute item names: the capture, when ``additionalData``
    names exactly one of the same order; else the payment (the authorization)."""
    extra = item.get("additionalData")
    if not isinstance(extra, dict) or not original:
        return key, ""
    merchant = str(extra.get("modificationMerchantReferences", ""))
    capture_psp = str(extra.get("modificationPspReferences", ""))
    if not merchant or not capture_psp or "," in merchant or "," in capture_psp:
        return key, ""
    capture_key = _own(merchant, namespace)
    order_part = key.partition("/")[0]
    if capture_key is None or capture_key.partition("/")[0] != order_part:
        return key, ""  # the signed reference names the order; the capture must be of it
    return capture_key, f"{encode_reference(original)}:{encode_reference(capture_psp)}"


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
    return from_value(value, currency)
