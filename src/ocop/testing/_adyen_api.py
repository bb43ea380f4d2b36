"""The request processing behind :class:`ocop.testing.adyen_emulator.AdyenEmulator`.

Turns a parsed Checkout API request into the documented answer, books it in the
:class:`~ocop.testing._adyen_ledger.Ledger` and queues the webhooks its outcome produces.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ocop.testing._adyen_ledger import (
    TEST_PREFIX,
    Ledger,
    Outcome,
    Payment,
    StoredCard,
    brand_of,
)

API_VERSION = "v72"
#: The security code Adyen's test cards take (sent as ``test_737`` on the test platform).
TEST_CVC = "737"
_MODIFICATIONS = ("captures", "cancels", "refunds", "amountUpdates", "reversals")
KINDS = frozenset(("payments", *_MODIFICATIONS, "storedPaymentMethods"))
_SIGNED_FIELDS = (
    "pspReference",
    "originalReference",
    "merchantAccountCode",
    "merchantReference",
    "value",
    "currency",
    "eventCode",
    "success",
)
Json = dict[str, Any]
Reply = tuple[int, Json | None]


def sign_item(item: Json, hmac_key: str) -> str:
    """The ``hmacSignature`` of a notification item (Adyen's standard webhook HMAC).

    HMAC-SHA256, keyed with the hex-decoded key, over the item's pspReference,
    originalReference, merchantAccountCode, merchantReference, amount value and currency,
    eventCode and success joined by colons (absent fields empty); base64-encoded.
    """
    fields = {**item, "value": item["amount"]["value"], "currency": item["amount"]["currency"]}
    message = ":".join(str(fields.get(name, "")) for name in _SIGNED_FIELDS)
    digest = hmac.new(binascii.a2b_hex(hmac_key), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def error(status: int, code: str, message: str, kind: str = "validation") -> Reply:
    return status, {"status": status, "errorCode": code, "message": message, "errorType": kind}


@dataclass(slots=True)
class CheckoutApi:
    """The emulated merchant account: its ledger, its HMAC key and its pending webhooks."""

    merchant_account: str
    hmac_key: str
    ledger: Ledger
    authorisation_webhooks: bool
    pending: list[str] = field(default_factory=list)

    def process(
        self, method: str, parts: list[str], query: dict[str, list[str]], body: Any, action: str
    ) -> Reply:
        if parts[0] == "storedPaymentMethods":
            return self._stored(method, parts, query, body)
        if method != "POST" or not isinstance(body, dict):
            return error(400, "702", "Unexpected input: expected a JSON object")
        if body.get("merchantAccount") != self.merchant_account:
            return error(403, "901", "Invalid Merchant Account", "security")
        if len(parts) == 1:
            return self._payment(body, refused=action == "refused")
        payment = self.ledger.payments.get(parts[1])
        if payment is None:
            return error(422, "167", "Original pspReference required for this operation")
        return self._modify(parts[2], payment, body, action)

    def _payment(self, body: Json, *, refused: bool) -> Reply:
        amount, reference = _amount(body.get("amount")), body.get("reference")
        method = body.get("paymentMethod")
        if amount is None or not isinstance(reference, str) or not isinstance(method, dict):
            return error(400, "702", "Required fields: amount, reference, paymentMethod")
        shopper = body.get("shopperReference")
        model = body.get("recurringProcessingModel")
        extra: dict[str, str] = {}
        cvc_declined = False
        if method.get("type") != "scheme":
            return error(422, "905", "Payment details are not supported", "configuration")
        stored_id = method.get("storedPaymentMethodId")
        if stored_id is not None:
            card = self.ledger.cards.get(stored_id)
            if card is None or card.shopper_reference != shopper or model is None:
                return error(422, "800", "Contract not found")
            brand = card.brand
            cvc = method.get("cvc", method.get("encryptedSecurityCode"))
            cvc_declined = cvc is not None and cvc not in (TEST_CVC, f"{TEST_PREFIX}{TEST_CVC}")
            refused = refused or cvc_declined  # the issuer declines a wrong security code
        else:
            pan = _test_pan(method.get("encryptedCardNumber"))
            if pan is None:
                return error(422, "101", "Invalid card number")
            brand = brand_of(pan)
            if body.get("storePaymentMethod") is True and isinstance(shopper, str) and model:
                card = self.ledger.store_card(shopper, self.merchant_account, pan, (model,))
                extra = {
                    "tokenization.shopperReference": shopper,
                    "tokenization.storedPaymentMethodId": card.id,
                    "tokenization.store.operationType": "created",
                }
        payment = self.ledger.authorise(
            reference=reference,
            merchant=self.merchant_account,
            currency=amount[1],
            value=amount[0],
            brand=brand,
            refused=refused,
        )
        psp = payment.psp_reference if payment else self.ledger.records[-1].psp_reference
        reply: Json = {
            "pspReference": psp,
            "merchantReference": reference,
            "amount": {"value": amount[0], "currency": amount[1]},
        }
        if payment is None and cvc_declined:
            reply |= {"resultCode": "Refused", "refusalReason": "CVC Declined",
                      "refusalReasonCode": "24"}  # fmt: skip
        elif payment is None:
            reply |= {"resultCode": "Refused", "refusalReason": "Refused", "refusalReasonCode": "2"}
        else:
            reply |= {
                "resultCode": "Authorised",
                "additionalData": {"authCode": "123456", **extra},
                "paymentMethod": {"brand": brand, "type": "scheme"},
            }
        if self.authorisation_webhooks:
            event = ("AUTHORISATION", payment is not None, "" if payment else "Refused")
            self._queue((psp, "", reference), amount, event, brand)
        return 200, reply

    def _modify(self, kind: str, p: Payment, body: Json, action: str) -> Reply:
        fail_later = action == "failed"
        undo = self.ledger.before(p)
        amount = _amount(body.get("amount")) or (0, "")
        ref = str(body.get("reference") or "")
        if kind in ("captures", "refunds", "amountUpdates") and not amount[1]:
            return error(400, "702", "Required field: amount")
        ledger = self.ledger
        outcome: Outcome
        if kind == "captures":
            outcome = ledger.capture(p, ref, *amount, fail_later=fail_later)
        elif kind == "refunds":
            outcome = ledger.refund(p, ref, *amount, fail_later=fail_later)
        elif kind == "amountUpdates":
            outcome = ledger.update_amount(p, ref, *amount)
        elif kind == "cancels":
            outcome = ledger.cancel(p, ref)
        else:
            outcome = ledger.reverse(p, ref)
        moved = ledger.records[-1]
        if action == "held" and outcome.succeeded:
            ledger.hold(p, outcome, undo)  # its webhook waits for decide()
        else:
            for event in outcome.events:
                refs = (outcome.psp_reference, p.psp_reference, ref or p.reference)
                self._queue(refs, (moved.value, moved.currency), event, p.brand)
        reply: Json = {
            "merchantAccount": self.merchant_account,
            "paymentPspReference": p.psp_reference,
            "pspReference": outcome.psp_reference,
            "reference": ref,
            "status": "received",
        }
        if kind in ("captures", "refunds", "amountUpdates"):
            reply["amount"] = {"value": amount[0], "currency": amount[1]}
        return 201, reply

    def decide(self, merchant_reference: str, *, success: bool) -> None:
        """Settle a held modification and queue its webhook."""
        held, record = self.ledger.decide(merchant_reference, success=success)
        code = held.outcome.events[0][0]
        reason = "" if success else "Refused by the scheme"
        refs = (record.psp_reference, record.payment_psp_reference, record.merchant_reference)
        self._queue(refs, (record.value, record.currency), (code, success, reason),
                    held.payment.brand)  # fmt: skip

    def expire(self, psp_reference: str) -> None:
        """The payment's authorisation expires: an EXPIRE webhook for what remained."""
        p = self.ledger.payments[psp_reference]
        record = self.ledger.expire(p)
        refs = (record.psp_reference, p.psp_reference, p.reference)
        self._queue(refs, (record.value, record.currency), ("EXPIRE", True, ""), p.brand)

    def _stored(
        self, method: str, parts: list[str], query: dict[str, list[str]], body: Any
    ) -> Reply:
        shopper = (query.get("shopperReference") or [""])[0]
        if method == "GET":
            found = [c for c in self.ledger.cards.values() if c.shopper_reference == shopper]
            listed = [_card_json(c) for c in found]
            return 200, {
                "merchantAccount": self.merchant_account,
                "shopperReference": shopper,
                "storedPaymentMethods": listed,
            }
        if method == "DELETE" and len(parts) == 2:
            card = self.ledger.cards.get(parts[1])
            if card is None or card.shopper_reference != shopper:
                return error(422, "800", "Contract not found")
            del self.ledger.cards[card.id]
            return 204, None
        if method != "POST" or not isinstance(body, dict):
            return error(400, "702", "Unexpected input")
        if body.get("merchantAccount") != self.merchant_account:
            return error(403, "901", "Invalid Merchant Account", "security")
        pm, owner = body.get("paymentMethod"), body.get("shopperReference")
        model = body.get("recurringProcessingModel")
        pan = _test_pan(pm.get("encryptedCardNumber")) if isinstance(pm, dict) else None
        if pan is None or not isinstance(owner, str) or not isinstance(model, str):
            return error(
                400,
                "702",
                "Required fields: paymentMethod, shopperReference, recurringProcessingModel",
            )
        card = self.ledger.store_card(owner, self.merchant_account, pan, (model,))
        return 201, _card_json(card)

    def _queue(
        self,
        refs: tuple[str, str, str],
        amount: tuple[int, str],
        event: tuple[str, bool, str],
        brand: str,
    ) -> None:
        """Queue a signed webhook: refs are (pspReference, originalReference, merchantReference)."""
        psp, original, ref = refs
        code, success, reason = event
        item: Json = {
            "amount": {"value": amount[0], "currency": amount[1]},
            "eventCode": code,
            "eventDate": datetime.now(UTC).isoformat(timespec="seconds"),
            "merchantAccountCode": self.merchant_account,
            "merchantReference": ref,
            "paymentMethod": brand,
            "pspReference": psp,
            "reason": reason,
            "success": "true" if success else "false",
        }
        if original:
            item["originalReference"] = original
        item["additionalData"] = {"hmacSignature": sign_item(item, self.hmac_key)}
        notification = {"live": "false", "notificationItems": [{"NotificationRequestItem": item}]}
        self.pending.append(json.dumps(notification))


def route(path: str) -> str | None:
    """The kind of call a path names (a key of the scripts), or None."""
    parts = path.strip("/").split("/")
    if parts[0] != API_VERSION:
        return None
    if parts[1:] == ["payments"]:
        return "payments"
    if len(parts) == 4 and parts[1] == "payments" and parts[3] in KINDS - {"payments"}:
        return parts[3]
    if parts[1:2] == ["storedPaymentMethods"] and len(parts) <= 3:
        return "storedPaymentMethods"
    return None


def _amount(amount: object) -> tuple[int, str] | None:
    """(value, currency) of a request's amount, or None if it is not one."""
    if not isinstance(amount, dict):
        return None
    value, currency = amount.get("value"), amount.get("currency")
    if type(value) is not int or not isinstance(currency, str) or not currency:
        return None
    return value, currency


def _test_pan(value: object) -> str | None:
    if not isinstance(value, str) or not value.startswith(TEST_PREFIX):
        return None
    pan = value.removeprefix(TEST_PREFIX)
    return pan if pan.isdigit() and 12 <= len(pan) <= 19 else None


def _card_json(card: StoredCard) -> Json:
    return {
        "id": card.id,
        "brand": card.brand,
        "lastFour": card.last_four,
        "type": "scheme",
        "shopperReference": card.shopper_reference,
        "supportedRecurringProcessingModels": list(card.models),
    }
