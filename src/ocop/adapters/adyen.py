"""An Adyen connector on Adyen's official Python library (extra ``ocop[adyen]``; N1-N3).

:class:`AdyenProcessor` is a :class:`~ocop.ports.processor.PaymentProcessor` against
Adyen's Checkout API (v72, as the library 16 speaks it):

- **authorize**: ``POST /payments`` with a stored card (manual capture: the merchant
  account captures by API; a pre-authorization, ``authorisationType`` PreAuth, when the
  account takes amount updates). Answered at once: approved or declined; ``Received`` or
  ``Pending``, or an answer that says neither (no result code, an unknown one, no
  pspReference), leave the call in doubt until its AUTHORISATION webhook decides it.
  ``PartiallyAuthorised`` is approved for the amount it gives (in the currency asked,
  never more than asked); without a readable amount it is in doubt.
- **amounts**: in Adyen's minor units, whose decimals differ from ISO 4217 for CLP, ISK
  (two) and CVE, IDR (none); one Adyen cannot hold, or of zero or less, is declined
  without a call.
- **capture, void, adjust, refund**: ``POST /payments/{pspReference}/captures``,
  ``/cancels``, ``/amountUpdates``, ``/refunds``. Adyen answers "received": the call is
  pending (N1) until its webhook settles it (:func:`ocop.adapters.adyen_webhooks.
  notifications`, then ``bo.handle_notification``). Each request's ``reference`` is
  ocop's operation key, so the webhook names the operation. An answer without the
  modification's pspReference is not "received": the call is in doubt (replayed).
- **unlinked refunds**: the Checkout API has none; they are declined locally.
- **saved instruments**: ``/storedPaymentMethods`` under the customer as
  ``shopperReference``; :func:`card_token` makes the token of a stored card. Adyen's
  references (16 digits) are kept encoded (:func:`encode_reference`): one may pass the
  Luhn check, and ocop refuses whatever looks like a card number.
  :meth:`AdyenProcessor.tokenize` maps ocop's CVV step onto Adyen: a zero-amount card
  verification (``POST /payments``, ``amount.value`` 0, the stored card with its security
  code in ``paymentMethod.cvc``) in :attr:`AdyenConfig.verification_currency`; authorised,
  the stored card's token is the one-time token, and the authorization that follows
  charges the stored card without the CVV. The CVV goes in that one request only: never
  in a record, a log line or an answer. Sending ``cvc`` needs Adyen's permission for raw
  card data (the CVV a call-center agent takes is raw); a 401 or 403 to it (sent once,
  moving no money) declines it, saying Adyen refused the credentials.
- **idempotency**: every call carries ``Idempotency-Key``: ``<namespace>:<operation key>``
  (the namespace is one per back office, so a test and a live installation sharing a
  merchant account never collide), hashed to fit Adyen's 64 characters when longer (or not
  ASCII, or ending in a space, which a header drops). Adyen keeps a key for
  :attr:`AdyenConfig.key_lifetime` at least; recovery replays the request under the same
  key (N3) and never past it; Adyen has no lookup by key, and a key it forgot decides
  nothing.

The library is imported when a processor is made; without it, :class:`MissingExtra`.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

import attrs

from ocop.adapters._adyen_answers import (
    granted,
    inexact,
    not_authorised,
    reason_of,
    to_value,
)
from ocop.adapters._adyen_config import AdyenConfig
from ocop.adapters._adyen_keys import (
    CONNECTOR,
    card_token,
    decode_reference,
    encode_reference,
    idempotency_key,
    listed_card,
    reference,
)
from ocop.domain.cardguard import is_cvv
from ocop.domain.edge import (
    check_call,
    check_id,
    check_instance,
    check_key,
    check_tokenize_call,
)
from ocop.domain.errors import IdempotencyConflict, InvalidArgument, MissingExtra
from ocop.domain.money import Money
from ocop.domain.operations import Outcome, ProcessorResult
from ocop.domain.tokens import (
    AuthorizationToken,
    CaptureToken,
    CardToken,
    ProcessorToken,
    RefundToken,
    SavedInstrument,
)
from ocop.ports.processor import ProcessorCapabilities, RecoveryMethod
from ocop.services._logs import logger

__all__ = [
    "CONNECTOR",
    "AdyenConfig",
    "AdyenProcessor",
    "card_token",
    "decode_reference",
    "encode_reference",
    "idempotency_key",
    "reference",
]

_KEY_TAKEN = "704"

log = logger("ocop.adyen")


class AdyenProcessor:
    """ocop's processor port over one Adyen merchant account (see the module docstring)."""

    def __init__(self, config: AdyenConfig) -> None:
        check_instance(config, AdyenConfig, "config")
        try:
            import Adyen  # noqa: PLC0415 - the extra is imported only when used
        except ImportError as missing:
            raise MissingExtra("adyen", "Adyen") from missing
        self.config = config
        # Whole seconds, at least those configured: the library's pycurl client (used where
        # requests is absent) takes no fraction, and refuses a float before sending.
        client = Adyen.Adyen(xapikey=config.api_key, platform=config.platform,
                             live_endpoint_prefix=config.live_endpoint_prefix or None,
                             http_timeout=max(1, math.ceil(config.timeout_seconds)))  # fmt: skip
        checkout = client.checkout
        self._payments = checkout.payments_api
        self._modifications = checkout.modifications_api
        self._recurring = checkout.recurring_api
        if config.checkout_url is not None:
            for service in (self._payments, self._modifications, self._recurring):
                service.baseUrl = config.checkout_url
        self._errors = Adyen
        self._caps = ProcessorCapabilities(
            connector=CONNECTOR,
            service_account=config.account,
            multi_capture=config.multi_capture,
            adjustments=config.adjustments,
            unlinked_refunds=False,
            recovery=RecoveryMethod.REPLAY,
            unknown_key_never_received=False,
            key_lifetime=config.key_lifetime,
        )

    @property
    def capabilities(self) -> ProcessorCapabilities:
        return self._caps

    # -- calls ---------------------------------------------------------------------------
    def _call(
        self, key: str, send: Any, body: dict[str, Any], *args: str, once: bool = False
    ) -> Any:
        """The answer's JSON, or None when it never came (then the call is in doubt).
        ``once``: the request is never sent again under its key and moves no money (a saved
        card's CVV check), so credentials Adyen refuses mean it checked nothing: refused."""
        cvv = (body.get("paymentMethod") or {}).get("cvc")  # T2: never in words kept or logged
        try:
            answer = send(body, *args, idempotency_key=idempotency_key(self.config.namespace, key))
        except self._errors.AdyenAPIUnprocessableEntity as refused:
            if refused.error_code != _KEY_TAKEN:
                return {"refused": reason_of(refused, cvv)}
        except self._errors.AdyenAPIValidationError as refused:
            log.error("Adyen refused %s: %s", key, reason_of(refused, cvv))
            return {"refused": reason_of(refused, cvv)}
        except (
            self._errors.AdyenAPIAuthenticationError,
            self._errors.AdyenAPIInvalidPermission,
        ) as refused:
            # Adyen checks who calls before it looks at the idempotency key: the answer
            # says nothing of an earlier request under this key (a replay's first call may
            # have moved money), so the call stays in doubt until asked with working keys.
            log.error("Adyen refused the credentials for %s: %s", key, reason_of(refused, cvv))
            if once:
                return {"refused": f"Adyen refused the credentials: {reason_of(refused, cvv)}"}
            return None
        except Exception:  # noqa: BLE001 - a lost answer: the call may or may not have happened
            log.warning("no answer from Adyen for %s", key)
            return None
        else:
            return answer.message
        # Only a taken key gets here (422 704, "request already processed or in progress":
        # by another request, or this one still under way; recovery asks again later).
        # Raised out of the handler: the library's error, the request (a CVV) in it, would
        # stay attached to the conflict as its __context__.
        raise IdempotencyConflict(key)

    def _capture_later(self) -> dict[str, str]:
        """Manual capture (ocop captures when it invoices); a pre-authorization when the
        account takes amount updates: Adyen increases only those."""
        extra = {"manualCapture": "true"}
        if self.config.adjustments:
            extra["authorisationType"] = "PreAuth"
        return extra

    def _money(self, amount: Money) -> dict[str, Any]:
        return {"value": to_value(amount), "currency": amount.currency}

    def _modify(
        self, key: str, send: Any, payment: str, amount: Money | None, **extra: str
    ) -> tuple[ProcessorResult, str | None]:
        body: dict[str, Any] = {
            "merchantAccount": self.config.merchant_account,
            "reference": reference(self.config.namespace, key),
            **extra,
        }
        if amount is not None:
            if (unheld := inexact(key, amount)) is not None:
                return unheld, None
            body["amount"] = self._money(amount)
        answer = self._call(key, send, body, payment)
        if answer is None:
            return ProcessorResult(key=key, outcome=Outcome.UNKNOWN, reason="no answer"), None
        if "refused" in answer:
            result = ProcessorResult(key=key, outcome=Outcome.DECLINED, reason=answer["refused"])
            return result, None
        psp = answer.get("pspReference")
        if not isinstance(psp, str) or not psp:
            # Not Adyen's "received" (which names the modification its webhook will name):
            # in doubt, as if unanswered; the replay reads Adyen's own answer.
            why = "an answer without the modification's pspReference"
            return ProcessorResult(key=key, outcome=Outcome.UNKNOWN, reason=why), None
        return ProcessorResult(key=key, outcome=Outcome.PENDING, amount=amount), psp

    def _foreign(self, key: str, token: ProcessorToken) -> ProcessorResult | None:
        """A decline, with no call, of a token another connector or account issued (I5)."""
        if (token.connector, token.service_account) == (CONNECTOR, self.config.account):
            return None
        reason = f"a token of {token.connector}/{token.service_account}, not of this account"
        return ProcessorResult(key=key, outcome=Outcome.DECLINED, reason=reason)

    def authorize(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        check_call(key, card, CardToken, "card", amount)
        if (foreign := self._foreign(key, card)) is not None:
            return foreign
        if (unheld := inexact(key, amount)) is not None:
            return unheld
        try:
            shopper, stored = _stored(card)
        except InvalidArgument as bad:
            return _not_ours(key, bad)
        body = {
            "merchantAccount": self.config.merchant_account,
            "reference": reference(self.config.namespace, key),
            "amount": self._money(amount),
            "paymentMethod": {"type": "scheme", "storedPaymentMethodId": stored},
            "shopperReference": shopper,
            "shopperInteraction": "ContAuth",
            "recurringProcessingModel": "UnscheduledCardOnFile",
            "additionalData": self._capture_later(),
        }
        answer = self._call(key, self._payments.payments, body)
        if (refused := not_authorised(key, answer)) is not None:
            return refused
        if not isinstance(answer.get("pspReference"), str) or not answer["pspReference"]:
            # Authorised, but with nothing to capture by: in doubt, as if unanswered.
            why = "an authorisation without its pspReference"
            return ProcessorResult(key=key, outcome=Outcome.UNKNOWN, reason=why)
        # A partial approval ocop cannot hold exactly counts for less, never for more.
        held = granted(answer.get("amount"), amount)
        if held is None and answer["resultCode"] != "Authorised":
            # PartiallyAuthorised, for an amount it does not say: part is held, how much
            # is unknown; its AUTHORISATION webhook (or a person) says.
            why = "a partial authorisation of an amount ocop cannot read"
            return ProcessorResult(key=key, outcome=Outcome.UNKNOWN, reason=why)
        kept = encode_reference(str(answer["pspReference"]))
        token = AuthorizationToken(kept, CONNECTOR, self.config.account)
        return ProcessorResult(key=key, outcome=Outcome.APPROVED, token=token,
                               amount=amount if held is None else held,
                               multi_capture=self.config.multi_capture)  # fmt: skip

    def adjust(self, key: str, authorization: AuthorizationToken, amount: Money) -> ProcessorResult:
        check_call(key, authorization, AuthorizationToken, "authorization", amount)
        if (foreign := self._foreign(key, authorization)) is not None:
            return foreign
        if (payment := _payment_of(key, authorization.value)) is None:
            return _not_ours(key)
        result, _ = self._modify(key, self._modifications.update_authorised_amount, payment,
                                 amount)  # fmt: skip
        return result

    def capture(
        self, key: str, authorization: AuthorizationToken, amount: Money
    ) -> ProcessorResult:
        check_call(key, authorization, AuthorizationToken, "authorization", amount)
        if (foreign := self._foreign(key, authorization)) is not None:
            return foreign
        if (payment := _payment_of(key, authorization.value)) is None:
            return _not_ours(key)
        result, psp = self._modify(key, self._modifications.capture_authorised_payment,
                                   payment, amount)  # fmt: skip
        if psp is None:
            return result
        # A refund names the payment and the capture: both go in the capture's token.
        kept = f"{authorization.value}:{encode_reference(psp)}"
        token = CaptureToken(kept, CONNECTOR, self.config.account)
        return attrs.evolve(result, token=token)

    def void(self, key: str, authorization: AuthorizationToken) -> ProcessorResult:
        check_call(key, authorization, AuthorizationToken, "authorization")
        if (foreign := self._foreign(key, authorization)) is not None:
            return foreign
        if (payment := _payment_of(key, authorization.value)) is None:
            return _not_ours(key)
        cancel = self._modifications.cancel_authorised_payment_by_psp_reference
        result, _ = self._modify(key, cancel, payment, None)
        return result

    def refund(self, key: str, capture: CaptureToken, amount: Money) -> ProcessorResult:
        check_call(key, capture, CaptureToken, "capture", amount)
        if (foreign := self._foreign(key, capture)) is not None:
            return foreign
        encoded, _, taken = capture.value.partition(":")
        payment = _payment_of(key, encoded)
        captured = _payment_of(key, taken) if taken else ""
        if payment is None or captured is None:
            return _not_ours(key)
        extra = {"capturePspReference": captured} if captured else {}
        result, psp = self._modify(key, self._modifications.refund_captured_payment,
                                   payment, amount, **extra)  # fmt: skip
        if psp is None:
            return result
        token = RefundToken(encode_reference(psp), CONNECTOR, self.config.account)
        return attrs.evolve(result, token=token)

    def unlinked_refund(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        check_call(key, card, CardToken, "card", amount)
        reason = "Adyen's Checkout API has no unreferenced refund"
        return ProcessorResult(key=key, outcome=Outcome.DECLINED, reason=reason)

    def tokenize(self, key: str, customer_id: str, instrument_id: str, cvv: str) -> ProcessorResult:
        """A zero-amount verification of the stored card with its CVV (see the module); a
        CVV that is not 3 or 4 digits is declined unsent."""
        check_tokenize_call(key, customer_id, instrument_id, cvv)
        if not is_cvv(cvv):
            return ProcessorResult(key=key, outcome=Outcome.DECLINED,
                                   reason="a security code is 3 or 4 digits")  # fmt: skip
        held = self._listed(customer_id) if customer_id else ()  # a guest's: none
        if held is None:  # Adyen did not answer, or refused the credentials: not the card's
            why = "the customer's stored cards could not be read at Adyen: nothing checked"
            return ProcessorResult(key=key, outcome=Outcome.DECLINED, reason=why)
        found = [i.card for i in held if i.instrument_id == instrument_id]
        if not found:
            return ProcessorResult(key=key, outcome=Outcome.DECLINED,
                                   reason="no such stored card for this customer")  # fmt: skip
        shopper, stored = _stored(found[0])
        body = {
            "merchantAccount": self.config.merchant_account,
            "reference": reference(self.config.namespace, key),
            "amount": {"value": 0, "currency": self.config.verification_currency},
            "paymentMethod": {"type": "scheme", "storedPaymentMethodId": stored, "cvc": cvv},
            "shopperReference": shopper,
            "shopperInteraction": "ContAuth",
            "recurringProcessingModel": "CardOnFile",
        }
        answer = self._call(key, self._payments.payments, body, once=True)
        # A zero-amount check moves no money: one Adyen has not decided yet did not verify
        # the card, and may be tried again with the CVV (nothing could settle it later).
        if (refused := not_authorised(key, answer, undecided=Outcome.DECLINED)) is not None:
            return refused
        return ProcessorResult(key=key, outcome=Outcome.APPROVED, token=found[0])

    def save_instrument(self, customer_id: str, card: CardToken) -> SavedInstrument:
        check_id(customer_id, "customer_id")
        shopper, _ = _stored(check_instance(card, CardToken, "card"))
        if shopper != customer_id:
            raise InvalidArgument("the card is stored for another shopper", argument="card")
        return SavedInstrument(instrument_id=card.value, customer_id=customer_id, card=card)

    def instruments(self, customer_id: str) -> tuple[SavedInstrument, ...]:
        check_id(customer_id, "customer_id")
        return self._listed(customer_id) or ()

    def _listed(self, customer_id: str) -> tuple[SavedInstrument, ...] | None:
        """The customer's stored cards at Adyen; None when Adyen could not be read."""
        # The library joins the query as given: each value is encoded here, so that an id
        # holding "+", "&", "#" or "%" names its own customer and no other.
        query = {"merchantAccount": quote(self.config.merchant_account, safe=""),
                 "shopperReference": quote(customer_id, safe="")}  # fmt: skip
        try:
            answer = self._recurring.get_tokens_for_stored_payment_details(query_parameters=query)
        except Exception:  # noqa: BLE001 - Adyen unreachable: none to offer now
            log.warning("Adyen's stored cards for a customer could not be read")
            return None
        listed = answer.message.get("storedPaymentMethods") if answer.message else None
        cards = (listed_card(customer_id, method, self.config.account) for method in listed or ())
        return tuple(SavedInstrument(instrument_id=card.value, customer_id=customer_id,
                                     card=card) for card in cards if card)  # fmt: skip

    def lookup(self, key: str) -> ProcessorResult:
        """Adyen cannot be asked about a key: recovery replays the request instead (N3)."""
        check_key(key)
        return ProcessorResult(key=key, outcome=Outcome.UNKNOWN, reason="no lookup at Adyen")


def _payment_of(key: str, encoded: str) -> str | None:
    """Adyen's reference kept in a token as :func:`encode_reference` keeps it; None when the
    token was not made so (it is declined, with no call)."""
    try:
        return decode_reference(encoded)
    except InvalidArgument:
        log.error("a token not made by this connector for %s", key)
        return None


def _not_ours(key: str, why: InvalidArgument | None = None) -> ProcessorResult:
    """A decline, with no call, of a token this connector did not make: the call's intent
    is logged already, so an answer (never an exception) settles it."""
    reason = str(why) if why is not None else "a token this connector did not make"
    return ProcessorResult(key=key, outcome=Outcome.DECLINED, reason=reason)


def _stored(card: CardToken) -> tuple[str, str]:
    """The shopperReference and storedPaymentMethodId of a :func:`card_token`."""
    shopper, _, stored = card.value.rpartition(":")
    if not shopper or not stored:
        raise InvalidArgument(
            "an Adyen card token is made by ocop.adapters.adyen.card_token", argument="card"
        )
    return shopper, decode_reference(stored)
