"""The keys and references the Adyen connector sends and keeps (see :mod:`ocop.adapters.adyen`)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from ocop.domain.errors import InvalidArgument, InvalidInput
from ocop.domain.tokens import CardToken

#: The connector name of tokens Adyen issued through ocop.
CONNECTOR = "adyen"

#: Adyen's longest Idempotency-Key.
KEY_LIMIT = 64
#: Adyen's longest merchant reference.
REFERENCE_LIMIT = 80
#: The idempotency error Adyen answers for a key reused with another request.


def idempotency_key(namespace: str, key: str) -> str:
    """The ``Idempotency-Key`` of ocop's operation ``key``: ``namespace:key`` when it fits
    Adyen's limit in ASCII, else ``namespace:`` and a hash of the key (the same every time).
    A key ending in a space is hashed too: a header's value ends at its last visible
    character, so it would reach Adyen as the key without the space."""
    plain = f"{namespace}:{key}"
    fits = len(plain) <= KEY_LIMIT and plain.isascii() and plain.isprintable()
    if fits and not plain.endswith(" "):
        return plain
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{namespace}:{digest[: KEY_LIMIT - len(namespace) - 1]}"


def encode_reference(psp: str) -> str:
    """An Adyen reference as ocop keeps it in tokens and notifications: Adyen's references
    are 16 digits, which may pass the Luhn check by chance, and ocop refuses anything that
    looks like a card number; so they are kept base64-encoded (``r`` + the text)."""
    return "r" + base64.urlsafe_b64encode(psp.encode()).decode().rstrip("=")


def decode_reference(kept: str) -> str:
    """The Adyen reference :func:`encode_reference` kept."""
    if not kept.startswith("r"):
        raise InvalidArgument("not an Adyen reference kept by ocop", argument="reference")
    text = kept[1:]
    try:
        padded = text + "=" * (-len(text) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidArgument("not an Adyen reference kept by ocop", argument="reference") from None


def reference(namespace: str, key: str) -> str:
    """The merchant reference sent with a call: ``<namespace>:<key>``, so the webhooks of
    another back office sharing the merchant account are told apart; the namespace and a
    hash of the key when that would pass Adyen's 80 characters (such a webhook then names
    no operation: it is kept for review)."""
    plain = f"{namespace}:{key}"
    if len(plain) <= REFERENCE_LIMIT:
        return plain
    return f"{namespace}:ocop-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def card_token(
    shopper: str, stored_id: str, account: str, *, brand: str = "", last4: str = ""
) -> CardToken:
    """The card token of a card stored at Adyen for ``shopper`` (its shopperReference)."""
    return CardToken(value=f"{shopper}:{encode_reference(stored_id)}", connector=CONNECTOR,
                     service_account=account, brand=brand, last4=last4)  # fmt: skip


def listed_card(shopper: str, method: Any, account: str) -> CardToken | None:
    """The card token of one of the shopper's stored payment methods Adyen listed; None
    for one that is not a card (a PayPal account, a SEPA mandate: no brand, no last four
    digits) or that names no id (none, null or empty: str(None) would name a card "None")."""
    if not isinstance(method, dict):
        return None
    stored, brand = method.get("id"), method.get("brand")
    if not isinstance(stored, str) or not stored or not isinstance(brand, str) or not brand:
        return None
    try:
        return card_token(shopper, stored, account, brand=brand, last4=str(method.get("lastFour")))
    except InvalidInput:
        return None
