"""The Adyen connector against the local emulator of Adyen's Checkout API (issue 12).

A back office over ``AdyenProcessor``: a stored card authorized, captures and refunds
answered "received" (pending, N1) and settled by the signed webhooks the emulator sends
(N2), duplicated and reordered; a dropped connection recovered by replaying the request
under the same idempotency key (N3); a capture the scheme rejects after Adyen accepted
it kept for review; and the books of ocop and the emulator agreeing (V5).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from ocop import (
    Actor,
    AuthorizationToken,
    BackOffice,
    CaptureToken,
    CardPayment,
    CardToken,
    Channel,
    Customer,
    IdempotencyConflict,
    InvalidArgument,
    InvalidInput,
    Money,
    Notification,
    NotificationEvent,
    Order,
    Outcome,
    VoucherKind,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.routing import ProcessorRouter
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain.journal import net_amounts
from ocop.ports.processor import RecoveryMethod
from worlds import START, usd

Adyen = pytest.importorskip("Adyen")

from ocop.adapters._adyen_answers import from_value, not_authorised, reason_of  # noqa: E402
from ocop.adapters.adyen import (  # noqa: E402
    AdyenConfig,
    AdyenProcessor,
    card_token,
    decode_reference,
    encode_reference,
    idempotency_key,
    reference,
)
from ocop.adapters.adyen_webhooks import InvalidWebhook, notifications  # noqa: E402
from ocop.testing._adyen_api import error as emulator_error  # noqa: E402
from ocop.testing.adyen_emulator import AdyenEmulator, sign_item  # noqa: E402

AGENT = Actor.call_center("agent-1")
SHOPPER = "C-1"
NAMESPACE = "ocop-test"


@pytest.fixture
def emulator() -> Iterator[AdyenEmulator]:
    with AdyenEmulator() as running:
        yield running


def processor_for(emulator: AdyenEmulator, namespace: str = NAMESPACE) -> AdyenProcessor:
    config = AdyenConfig(api_key=emulator.api_key, merchant_account=emulator.merchant_account,
                         namespace=namespace, checkout_url=emulator.checkout_url,
                         timeout_seconds=5)  # fmt: skip
    return AdyenProcessor(config)


def stored_card(emulator: AdyenEmulator, shopper: str = SHOPPER) -> CardToken:
    """A card the channel stored for the shopper at Adyen (the emulator's test card)."""
    client = Adyen.Adyen(xapikey=emulator.api_key, platform="test")
    client.checkout.recurring_api.baseUrl = emulator.checkout_url
    answer = client.checkout.recurring_api.stored_payment_methods(
        {
            "merchantAccount": emulator.merchant_account,
            "shopperReference": shopper,
            "recurringProcessingModel": "UnscheduledCardOnFile",
            "paymentMethod": {"type": "scheme", "encryptedCardNumber": "test_4111111111111111"},
        }
    ).message
    return card_token(shopper, answer["id"], emulator.merchant_account, brand="visa",
                      last4=answer["lastFour"])  # fmt: skip


def world(emulator: AdyenEmulator) -> BackOffice:
    clock = ManualClock(START)
    bo = BackOffice.in_memory(processor=processor_for(emulator), clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named(SHOPPER),
                   total=usd("100.00"),
                   payments=[CardPayment(stored_card(emulator), usd("100.00"))])  # fmt: skip
    return bo


def webhooks(bo: BackOffice, emulator: AdyenEmulator, **delivery: Any) -> list[str]:
    """Deliver the emulator's webhooks to the back office, as a host's handler would."""
    kinds: list[str] = []

    def handler(body: str) -> None:
        for note in notifications(body, emulator.hmac_key, namespace=NAMESPACE):
            result = bo.handle_notification(note)
            kinds.append("applied" if result.applied else "duplicate" if result.duplicate
                         else "kept")  # fmt: skip

    emulator.deliver(handler, **delivery)
    return kinds


def agreed(bo: BackOffice, emulator: AdyenEmulator) -> Order:
    """V5: the emulator's succeeded captures and refunds are ocop's settled ones."""
    order = bo.order("SO-1")
    line = order.lines[0]
    theirs = sorted(
        (r.kind, r.merchant_reference.removeprefix(f"{NAMESPACE}:"), r.value)
        for r in emulator.records()
        if r.kind in ("capture", "refund") and r.state == "succeeded"
    )
    ours = sorted(
        [("capture", c.capture_id, c.amount.minor) for c in line.captures if not c.pending]
        + [("refund", r.refund_id, r.amount.minor) for r in line.refunds if not r.pending]
    )
    assert theirs == ours
    return order


def test_a_stored_card_is_authorized_captured_and_refunded_through_webhooks(
    emulator: AdyenEmulator,
) -> None:
    bo = world(emulator)
    order = bo.order("SO-1")
    assert order.authorized == usd("100.00")
    assert order.lines[0].authorizations[0].token.connector == "adyen"
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    bo.invoice("SO-1", "INV-2", usd("40.00"))
    assert bo.order("SO-1").received == usd("0.00")  # received: pending until the webhooks
    delivered = webhooks(bo, emulator, duplicate=True, reverse=True)
    assert delivered.count("applied") == 2
    order = agreed(bo, emulator)
    assert order.received == usd("100.00")
    bo.refund("SO-1", "RMA-1", usd("30.00"), AGENT)
    assert bo.order("SO-1").refunding == usd("30.00")
    webhooks(bo, emulator)
    order = agreed(bo, emulator)
    assert (order.refunded, order.refunding) == (usd("30.00"), usd("0.00"))
    assert len(bo.journal("SO-1")) == 3


def test_a_capture_whose_answer_was_lost_is_recovered_by_replay(emulator: AdyenEmulator) -> None:
    bo = world(emulator)
    emulator.script("captures", "drop")
    (key,) = bo.invoice("SO-1", "INV-1", usd("60.00")).in_doubt
    report = bo.recover()
    assert report.resolved == (key,)  # the replay under the same key: the stored answer
    assert [r.outcome for r in bo.operations("SO-1")][-1] is Outcome.PENDING
    captured = [r for r in emulator.records() if r.kind == "capture"]
    assert len(captured) == 1  # Adyen captured once
    webhooks(bo, emulator)
    assert agreed(bo, emulator).received == usd("60.00")


def test_a_capture_the_scheme_rejects_after_adyen_accepted_it_is_undone(
    emulator: AdyenEmulator,
) -> None:
    """CAPTURE, then CAPTURE_FAILED: the capture was settled approved by the first; the
    second undoes it (N4): the money never moved, its receipt is reversed, and ocop's
    books agree with Adyen's again (V5); delivered again, it changes nothing."""
    bo = world(emulator)
    emulator.script("captures", "failed")
    (capture,) = bo.invoice("SO-1", "INV-1", usd("60.00")).captures
    delivered = webhooks(bo, emulator, duplicate=True)
    assert delivered.count("applied") == 2  # the capture, then its failure
    assert "kept" not in delivered
    order = agreed(bo, emulator)
    assert order.received == usd("0.00")
    assert [c.capture_id for c in order.lines[0].rejected_captures] == [capture.capture_id]
    assert [v.kind for v in bo.journal("SO-1")] == [
        VoucherKind.PAYMENT,
        VoucherKind.PAYMENT_REVERSAL,
    ]
    assert bo.notifications_for_review() == ()
    assert webhooks(bo, emulator) == []  # nothing left to deliver


def test_a_webhook_whose_reason_holds_a_card_number_is_applied_with_it_masked(
    emulator: AdyenEmulator,
) -> None:
    """N2, N4, E2: a signed item of ours whose reason (Adyen's free text, unsigned) holds
    a card number is read with the number masked and applied, the failure undoing the
    capture; no card number is kept. (The Notification refused it: the whole body was
    refused, and Adyen's retries of it with it: the capture's failure never applied.)"""
    bo = world(emulator)
    emulator.script("captures", "failed")
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    said = "Refused by issuer for 4111 1111 1111 1111"
    notes: list[Notification] = []

    def handler(body: str) -> None:
        parsed = json.loads(body)
        for entry in parsed["notificationItems"]:
            entry["NotificationRequestItem"]["reason"] = said
        for note in notifications(json.dumps(parsed), emulator.hmac_key, namespace=NAMESPACE):
            notes.append(note)
            assert not bo.handle_notification(note).unmatched

    emulator.deliver(handler)
    assert len(notes) == 3  # the authorization's, the capture's, its failure
    assert {n.reason for n in notes} == {"Refused by issuer for [card number]"}
    order = agreed(bo, emulator)
    assert order.received == usd("0.00")
    assert len(order.lines[0].rejected_captures) == 1
    assert "4111" not in repr((order, bo.operations("SO-1"), bo.notifications_for_review()))


def test_a_webhook_reason_cut_short_keeps_no_part_of_a_card_number(
    emulator: AdyenEmulator,
) -> None:
    """E2, T3: a reason longer than ocop keeps is masked whole before it is cut, so a card
    number across the cut leaves none of its digits. (It was cut first: the thirteen
    digits left of 4111 1111 1111 1111 were no card number to mask, and were kept.) A
    number the cut makes of a longer one is masked too, never refused (N2)."""

    def reason_of(said: str) -> str:
        item: dict[str, Any] = {"amount": {"value": 500, "currency": "USD"},
                                "eventCode": "CAPTURE_FAILED", "eventDate": "2026-01-02",
                                "merchantAccountCode": emulator.merchant_account,
                                "merchantReference": "SO-1/capture:INV-1:L1:L1.A1#1",
                                "originalReference": "PAY1", "pspReference": "PSP1",
                                "reason": said, "success": "true"}  # fmt: skip
        item["additionalData"] = {"hmacSignature": sign_item(item, emulator.hmac_key)}
        items = [{"NotificationRequestItem": item}]
        body = json.dumps({"live": "false", "notificationItems": items})
        (note,) = notifications(body, emulator.hmac_key)
        return note.reason

    cut = reason_of("x " * 92 + "4111 1111 1111 1111")
    assert "4111" not in cut
    assert not any(char.isdigit() for char in cut)
    # 20 digits are no card number; their first 16 (4111...1111) are one once cut.
    longer = reason_of("x" * 183 + " 41111111111111119999")
    assert "4111" not in longer


def dispute_body(
    emulator: AdyenEmulator,
    code: str,
    payment_key: str,
    payment_psp: str,
    value: int,
    *,
    capture: tuple[str, str] | None = None,
) -> str:
    """A signed dispute (or EXPIRE) webhook of the merchant account, as Adyen sends it:
    the dispute's own pspReference, the payment's in originalReference and its
    merchantReference; ``capture``: the capture's merchant and PSP references."""
    item: dict[str, Any] = {"amount": {"value": value, "currency": "USD"}, "eventCode": code,
                            "eventDate": "2026-01-20T10:00:00+01:00",
                            "merchantAccountCode": emulator.merchant_account,
                            "merchantReference": reference(NAMESPACE, payment_key),
                            "originalReference": payment_psp,
                            "pspReference": "DISPUTE0001", "success": "true"}  # fmt: skip
    extra = {"hmacSignature": sign_item(item, emulator.hmac_key)}
    if capture is not None:
        extra |= {"modificationMerchantReferences": reference(NAMESPACE, capture[0]),
                  "modificationPspReferences": capture[1]}  # fmt: skip
    item["additionalData"] = extra
    return json.dumps({"live": "false", "notificationItems": [{"NotificationRequestItem": item}]})


def test_adyen_chargebacks_and_their_reversal_go_through_the_signed_webhooks(
    emulator: AdyenEmulator,
) -> None:
    """CHARGEBACK, CHARGEBACK_REVERSED and SECOND_CHARGEBACK of one dispute: recorded on
    the capture the payment had, reversed, charged back again; each once, however often
    Adyen delivers it; what can be refunded follows (N4, V4)."""
    bo = world(emulator)
    (capture,) = bo.invoice("SO-1", "INV-1", usd("100.00")).captures
    webhooks(bo, emulator)
    (auth_key,) = [r.key for r in bo.operations("SO-1") if r.kind.value == "authorize"]
    payment = decode_reference(bo.order("SO-1").lines[0].authorizations[0].token.value)
    assert capture.token is not None
    capture_psp = decode_reference(capture.token.value.rpartition(":")[2])

    def deliver(code: str, value: int, **named: Any) -> list[str]:
        body = dispute_body(emulator, code, auth_key, payment, value, **named)
        results = [
            bo.handle_notification(n)
            for n in notifications(body, emulator.hmac_key, namespace=NAMESPACE)
        ]
        return ["applied" if r.applied else "duplicate" if r.duplicate else "kept"
                for r in results]  # fmt: skip

    assert deliver("NOTIFICATION_OF_CHARGEBACK", 4000) == ["kept"]  # no money moved yet
    assert deliver("CHARGEBACK", 4000) == ["applied"]  # the payment's one capture
    assert deliver("CHARGEBACK", 4000) == ["duplicate"]
    assert bo.order("SO-1").returnable == usd("60.00")
    assert deliver("CHARGEBACK_REVERSED", 4000) == ["applied"]
    assert bo.order("SO-1").returnable == usd("100.00")
    second = {"capture": (capture.capture_id, capture_psp)}
    assert deliver("SECOND_CHARGEBACK", 4000, **second) == ["applied"]
    assert deliver("SECOND_CHARGEBACK", 4000, **second) == ["duplicate"]
    order = bo.order("SO-1")
    assert (order.charged_back, order.lines[0].captures[0].refundable) == (
        usd("40.00"),
        usd("60.00"),
    )
    kinds = [v.kind for v in bo.journal("SO-1")]
    assert kinds == [VoucherKind.PAYMENT, VoucherKind.CHARGEBACK,
                     VoucherKind.CHARGEBACK_REVERSAL, VoucherKind.CHARGEBACK]  # fmt: skip
    net = net_amounts(bo.journal("SO-1"), "USD")  # V4
    assert (net[VoucherKind.PAYMENT], net[VoucherKind.CHARGEBACK]) == (
        order.received,
        order.charged_back,
    )
    (kept,) = bo.notifications_for_review()
    assert kept.event is NotificationEvent.OTHER


def test_an_authorization_adyen_let_expire_is_no_longer_captured(
    emulator: AdyenEmulator,
) -> None:
    """EXPIRE: the authorization's uncaptured rest ended at Adyen (N4): nothing is open on
    it any more, once; the next invoice authorizes the stored card again."""
    bo = world(emulator)
    (auth_key,) = [r.key for r in bo.operations("SO-1") if r.kind.value == "authorize"]
    auth = bo.order("SO-1").lines[0].authorizations[0]
    body = dispute_body(emulator, "EXPIRE", auth_key, decode_reference(auth.token.value),
                        10000)  # fmt: skip
    (note,) = notifications(body, emulator.hmac_key, namespace=NAMESPACE)
    assert note.event is NotificationEvent.AUTHORIZATION_ENDED
    assert bo.handle_notification(note).applied
    assert bo.handle_notification(note).duplicate
    assert bo.order("SO-1").authorized == usd("0.00")
    result = bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert result.uncovered == usd("0.00")
    assert result.captures[0].auth_id != auth.auth_id


def test_webhooks_with_a_bad_signature_are_refused_whole(emulator: AdyenEmulator) -> None:
    bo = world(emulator)
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    (body,) = [b for b in emulator.webhooks() if '"CAPTURE"' in b]
    tampered = json.loads(body)
    tampered["notificationItems"][0]["NotificationRequestItem"]["amount"]["value"] = 1
    with pytest.raises(InvalidWebhook):
        notifications(json.dumps(tampered), emulator.hmac_key)
    with pytest.raises(InvalidWebhook):
        notifications("not json", emulator.hmac_key)
    assert bo.order("SO-1").received == usd("0.00")


def test_a_webhook_item_wrapping_a_signed_item_is_refused_not_taken_for_it(
    emulator: AdyenEmulator,
) -> None:
    """Adyen's library checks the first item of a ``notificationItems`` an item holds in
    place of the item itself: a forged item wrapping any signed one (an earlier capture's)
    is refused, never read for its own unsigned fields."""
    bo = world(emulator)
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    (body,) = [b for b in emulator.webhooks() if '"CAPTURE"' in b]
    signed = json.loads(body)["notificationItems"][0]["NotificationRequestItem"]
    forged = {**signed, "amount": {"value": 6000000, "currency": "USD"},
              "pspReference": "FORGED", "additionalData": {"hmacSignature": "forged"},
              "notificationItems": [{"NotificationRequestItem": signed}]}  # fmt: skip
    wrapper = {"live": "false", "notificationItems": [{"NotificationRequestItem": forged}]}
    with pytest.raises(InvalidWebhook):
        notifications(json.dumps(wrapper), emulator.hmac_key, namespace=NAMESPACE)
    for odd in ("a string", ["a", "list"], 7):
        unread = {"live": "false", "notificationItems": [{"NotificationRequestItem": odd}]}
        with pytest.raises(InvalidWebhook):
            notifications(json.dumps(unread), emulator.hmac_key)
    assert bo.order("SO-1").received == usd("0.00")


def test_a_webhook_body_nested_too_deep_is_refused_as_not_adyens(
    emulator: AdyenEmulator,
) -> None:
    """A body (or an item's unsigned data) nested deeper than Python reads or copies is not
    Adyen's: InvalidWebhook, as for any other body, never a RecursionError."""
    deep = "[" * 100_000 + "]" * 100_000
    item = {"amount": {"value": 1, "currency": "USD"}, "eventCode": "CAPTURE",
            "additionalData": json.loads("[" * 600 + "]" * 600)}  # fmt: skip
    wrapped = json.dumps({"notificationItems": [{"NotificationRequestItem": item}]})
    for body in (deep, wrapped):
        with pytest.raises(InvalidWebhook):
            notifications(body, emulator.hmac_key)


def test_webhooks_are_never_checked_with_an_empty_or_malformed_hmac_key(
    emulator: AdyenEmulator,
) -> None:
    """An empty HMAC key (an unset setting) would check signatures anyone can make: it is
    refused as an argument, whatever the body, and nothing is read from it."""
    item: dict[str, Any] = {"amount": {"value": 500, "currency": "USD"},
                            "eventCode": "CHARGEBACK",
                            "merchantAccountCode": emulator.merchant_account,
                            "merchantReference": "SO-1/authorize:L1.A1#1",
                            "pspReference": "PSP1", "success": "true"}  # fmt: skip
    item["additionalData"] = {"hmacSignature": sign_item(item, "")}
    body = json.dumps({"live": "false", "notificationItems": [{"NotificationRequestItem": item}]})
    for key in ("", "not hex", "abc", None):
        with pytest.raises(InvalidArgument):
            notifications(body, key)  # type: ignore[arg-type]
    with pytest.raises(InvalidWebhook):
        notifications(body, emulator.hmac_key)


def test_idempotency_keys_fit_adyen_and_never_collide_across_back_offices() -> None:
    key = "SO-1/capture:INV-1:L1:L1.A1#1"
    assert idempotency_key("shop", key) == f"shop:{key}"
    assert idempotency_key("shop", key) != idempotency_key("test", key)
    long = "SO-" + "x" * 120 + "/capture:INV-1:L1:L1.A1#1"
    hashed = idempotency_key("shop", long)
    assert len(hashed) <= 64
    assert hashed == idempotency_key("shop", long)
    assert hashed != idempotency_key("shop", long + "2")
    assert len(idempotency_key("shop", "SO-é/capture")) <= 64


def test_unreferenced_refunds_are_declined_without_a_call(emulator: AdyenEmulator) -> None:
    processor = processor_for(emulator)
    assert not processor.capabilities.unlinked_refunds
    answer = processor.unlinked_refund("K-1", stored_card(emulator), usd("5.00"))
    assert answer.outcome is Outcome.DECLINED
    assert not [r for r in emulator.records() if r.kind == "refund"]


def test_saved_cards_come_from_adyen_and_tokenize_checks_the_owner(
    emulator: AdyenEmulator,
) -> None:
    processor = processor_for(emulator)
    card = stored_card(emulator)
    (saved,) = processor.instruments(SHOPPER)
    assert saved.card.value == card.value
    assert processor.tokenize("K-2", SHOPPER, saved.instrument_id, "737").card == saved.card
    other = processor.tokenize("K-3", "C-2", saved.instrument_id, "737")
    assert other.outcome is Outcome.DECLINED


@pytest.mark.parametrize(
    "cvv", ["4111111111111111", "4111 1111 1111 1111", "12", "12345", "abc", "\u0667\u0663\u0667"]
)
def test_a_cvv_that_is_not_three_or_four_digits_is_declined_unsent(
    emulator: AdyenEmulator, cvv: str
) -> None:
    """E1, E2: a CVV that cannot be one (a card number typed in its place) was sent to Adyen
    as the stored card's ``cvc``; it is now declined with no request, and not echoed."""
    processor = processor_for(emulator)
    stored_card(emulator)
    (saved,) = processor.instruments(SHOPPER)
    sent: list[str] = []
    handle = emulator.handle

    def counted(method: str, target: str, headers: dict[str, str], raw: bytes) -> Any:
        sent.append(target)
        return handle(method, target, headers, raw)

    emulator.handle = counted  # type: ignore[method-assign]
    answer = processor.tokenize("K-1", SHOPPER, saved.instrument_id, cvv)
    assert answer.outcome is Outcome.DECLINED
    assert sent == []
    assert "1111" not in answer.reason


def test_adyens_answers_map_to_outcomes(emulator: AdyenEmulator) -> None:
    """A refused payment is declined; a 5xx or a lost answer leaves the call in doubt; a
    key reused with another request is a conflict; an unknown payment is declined."""
    processor = processor_for(emulator)
    card = stored_card(emulator)
    emulator.script("payments", "refused")
    assert processor.authorize("K-1", card, usd("10.00")).outcome is Outcome.DECLINED
    emulator.script("payments", "error", status=500)
    assert processor.authorize("K-2", card, usd("10.00")).outcome is Outcome.UNKNOWN
    approved = processor.authorize("K-3", card, usd("10.00"))
    assert approved.outcome is Outcome.APPROVED
    with pytest.raises(IdempotencyConflict):
        processor.authorize("K-3", card, usd("11.00"))
    stray = AuthorizationToken(encode_reference("no-such"), "adyen", emulator.merchant_account)
    assert processor.capture("K-4", stray, usd("1.00")).outcome is Outcome.DECLINED
    assert processor.lookup("K-3").outcome is Outcome.UNKNOWN  # recovery replays instead
    assert processor.adjust("K-5", approved.token, usd("12.00")).outcome is Outcome.PENDING  # type: ignore[arg-type]
    assert processor.void("K-6", approved.token).outcome is Outcome.PENDING  # type: ignore[arg-type]


def test_a_wrong_api_key_leaves_the_call_in_doubt_and_bad_settings_are_refused(
    emulator: AdyenEmulator,
) -> None:
    """Adyen checks who calls before it looks at the idempotency key: a 401 says nothing of
    an earlier request under the key, so the call is in doubt, never declined (O4)."""
    wrong = AdyenConfig(api_key="wrong", merchant_account=emulator.merchant_account,
                        namespace="ocop-test", checkout_url=emulator.checkout_url)  # fmt: skip
    answer = AdyenProcessor(wrong).authorize("K-1", stored_card(emulator), usd("1.00"))
    assert answer.outcome is Outcome.UNKNOWN
    assert AdyenProcessor(wrong).instruments(SHOPPER) == ()
    for bad in ({"namespace": ""}, {"namespace": "with space"}, {"platform": "prod"}):
        with pytest.raises(InvalidArgument):
            attrs.evolve(wrong, **bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        processor_for(emulator).save_instrument("C-2", stored_card(emulator))
    not_made = card_of("no-colon", emulator.merchant_account)  # not by card_token: no call
    assert processor_for(emulator).authorize("K-2", not_made, usd("1.00")).outcome is (
        Outcome.DECLINED
    )
    assert emulator.records() == []
    foreign = processor_for(emulator).authorize("K-3", card_of("a:b", "x"), usd("1.00"))
    assert foreign.outcome is Outcome.DECLINED  # another account's token: no call (I5)


GOOD_CONFIG: dict[str, Any] = {"api_key": "key", "merchant_account": "M", "namespace": "ns"}
NOT_A_CARD_SETTING = "4111111111111111"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("api_key", None), ("api_key", ""), ("api_key", 1),
        ("merchant_account", None), ("merchant_account", ""), ("merchant_account", 5),
        ("merchant_account", NOT_A_CARD_SETTING),
        ("namespace", None), ("namespace", 5),
        ("platform", None),
        ("checkout_url", 1), ("checkout_url", b"http://127.0.0.1"),
        ("service_account", None), ("service_account", NOT_A_CARD_SETTING),
        ("multi_capture", "no"), ("multi_capture", 1), ("adjustments", "no"),
        ("adjustments", None),
        ("key_lifetime", 7), ("key_lifetime", None), ("key_lifetime", timedelta(0)),
        ("key_lifetime", -timedelta(days=1)),
        ("timeout_seconds", "30"), ("timeout_seconds", None), ("timeout_seconds", -1.0),
        ("timeout_seconds", float("nan")),
        # no float holds it; beyond a century, every call overflowed the socket's clock
        pytest.param("timeout_seconds", 10**400, id="timeout_seconds-10**400"),
        ("timeout_seconds", 1e12),
        ("verification_currency", None), ("verification_currency", "usd"),
        ("verification_currency", "ABC"),
        ("live_endpoint_prefix", None), ("live_endpoint_prefix", 1),
    ],
)  # fmt: skip
def test_a_config_setting_of_the_wrong_kind_is_refused_as_it_is_built(
    field: str, value: object
) -> None:
    """E1, E2: AdyenConfig took ``multi_capture="no"`` for multi-capture, a number of
    seconds as text, a merchant account of None (sent as such) ...; each setting is now
    checked as the config is built (InvalidInput, no card number in the message)."""
    with pytest.raises(InvalidInput) as caught:
        AdyenConfig(**{**GOOD_CONFIG, field: value})
    assert NOT_A_CARD_SETTING not in str(caught.value)


@pytest.mark.parametrize("config", [None, "key", GOOD_CONFIG])
def test_a_processor_is_made_of_an_adyen_config(config: object) -> None:
    """E1: AdyenProcessor(None) raised AttributeError; a config of another kind is refused."""
    with pytest.raises(InvalidArgument):
        AdyenProcessor(config)  # type: ignore[arg-type]


def test_webhook_items_map_to_notifications(emulator: AdyenEmulator) -> None:
    """A chargeback and an unknown event are unsolicited; dates and amounts are read."""

    def body(code: str, **extra: object) -> str:
        item: dict[str, Any] = {"amount": {"value": 500, "currency": "USD"},
                                "eventCode": code, "eventDate": "2026-01-02T03:04:05",
                                "merchantAccountCode": emulator.merchant_account,
                                "merchantReference": "SO-1/authorize:L1.A1#1",
                                "pspReference": "PSP1", "success": "true", **extra}  # fmt: skip
        item["additionalData"] = {"hmacSignature": sign_item(item, emulator.hmac_key)}
        return json.dumps(
            {"live": "false", "notificationItems": [{"NotificationRequestItem": item}]}
        )

    (chargeback,) = notifications(body("CHARGEBACK"), emulator.hmac_key)
    assert chargeback.event is NotificationEvent.CHARGEBACK
    assert chargeback.amount == usd("5.00")
    assert chargeback.at.tzinfo is not None
    assert (chargeback.key, chargeback.dispute) == ("SO-1/authorize:L1.A1#1",
                                                    encode_reference("PSP1"))  # fmt: skip
    (second,) = notifications(body("SECOND_CHARGEBACK"), emulator.hmac_key)
    assert second.event is NotificationEvent.CHARGEBACK
    assert second.notification_id != chargeback.notification_id
    (reversed_,) = notifications(body("CHARGEBACK_REVERSED"), emulator.hmac_key)
    assert reversed_.event is NotificationEvent.CHARGEBACK_REVERSED
    assert reversed_.dispute == chargeback.dispute
    (expired,) = notifications(body("EXPIRE"), emulator.hmac_key)
    assert expired.event is NotificationEvent.AUTHORIZATION_ENDED
    (cancelled,) = notifications(body("CANCELLATION"), emulator.hmac_key)  # not ocop's void
    assert cancelled.event is NotificationEvent.AUTHORIZATION_ENDED
    (voided,) = notifications(body("CANCELLATION", merchantReference="SO-1/void:L1.A1#1"),
                              emulator.hmac_key)  # fmt: skip
    assert voided.event is NotificationEvent.OUTCOME
    (other,) = notifications(body("REPORT_AVAILABLE", eventDate="soon"), emulator.hmac_key)
    assert other.event is NotificationEvent.OTHER
    (odd,) = notifications(body("CAPTURE", amount={"value": "x", "currency": "USD"},
                                originalReference="PAY1"), emulator.hmac_key)  # fmt: skip
    assert odd.amount is None
    assert odd.reference == f"{encode_reference('PAY1')}:{encode_reference('PSP1')}"
    capture_key = "SO-1/capture:INV-1:L1:L1.A1#1"
    failed = notifications(body("CAPTURE_FAILED", merchantReference=capture_key),
                           emulator.hmac_key)  # fmt: skip
    assert (failed[0].event, failed[0].success) == (NotificationEvent.OUTCOME, False)
    # Modifications ocop did not ask for carry the payment's reference, ocop's authorization
    # key: they are kept for review, never taken for the authorization's outcome (N2).
    for code in ("CAPTURE", "REFUND", "CANCEL_OR_REFUND", "AUTHORISATION_ADJUSTMENT",
                 "CAPTURE_FAILED", "REFUND_FAILED"):  # fmt: skip
        (foreign,) = notifications(body(code), emulator.hmac_key)
        assert foreign.event is NotificationEvent.OTHER, code
    (authorised,) = notifications(body("AUTHORISATION"), emulator.hmac_key)
    assert authorised.event is NotificationEvent.OUTCOME
    unsigned = json.loads(body("CAPTURE"))
    del unsigned["notificationItems"][0]["NotificationRequestItem"]["additionalData"]
    with pytest.raises(InvalidWebhook):
        notifications(json.dumps(unsigned), emulator.hmac_key)


def card_of(value: str, account: str) -> CardToken:
    return CardToken(value=value, connector="adyen", service_account=account, brand="visa",
                     last4="1111")  # fmt: skip


def test_adyen_references_are_kept_so_none_looks_like_a_card_number() -> None:
    """A 16-digit pspReference that passes the Luhn check is kept encoded, and read back."""
    psp = "4111111111111111"
    kept = encode_reference(psp)
    assert decode_reference(kept) == psp
    assert AuthorizationToken(kept, "adyen", "Shop").value == kept  # accepted by ocop
    with pytest.raises(InvalidArgument):
        decode_reference("4111")
    with pytest.raises(InvalidArgument):
        decode_reference("r!!")


def test_tokens_of_another_account_are_declined_without_a_call(emulator: AdyenEmulator) -> None:
    processor = processor_for(emulator)
    auth = AuthorizationToken(encode_reference("PAY"), "adyen", "another-account")
    capture = CaptureToken(f"{encode_reference('PAY')}:{encode_reference('CAP')}", "sim", "x")
    answers = [
        processor.adjust("K-1", auth, usd("1.00")),
        processor.capture("K-2", auth, usd("1.00")),
        processor.void("K-3", auth),
        processor.refund("K-4", capture, usd("1.00")),
    ]
    assert [a.outcome for a in answers] == [Outcome.DECLINED] * 4
    assert emulator.records() == []
    mine = CaptureToken(f"{encode_reference('NOPE')}:{encode_reference('CAP')}", "adyen",
                        emulator.merchant_account)  # fmt: skip
    assert processor.refund("K-5", mine, usd("1.00")).outcome is Outcome.DECLINED


def test_a_key_too_long_for_adyens_reference_is_sent_hashed(emulator: AdyenEmulator) -> None:
    long = "SO-" + "x" * 100
    assert reference("shop", long).startswith("shop:ocop-")
    assert len(reference("shop", long)) <= 80
    assert reference("shop", "SO-1/capture:INV-1") == "shop:SO-1/capture:INV-1"
    saved = processor_for(emulator).save_instrument(SHOPPER, stored_card(emulator))
    assert saved.customer_id == SHOPPER


def test_a_restart_on_sqlite_takes_nothing_adyen_received_for_never_received(
    emulator: AdyenEmulator, tmp_path: Path
) -> None:
    """The issue's restart scenario with Adyen: a capture Adyen took, its answer lost; the
    back office on SQLite restarts (new objects over the same file); recovery replays the
    request under the same key, Adyen answers what it did, and its webhook settles it."""
    clock = ManualClock(START)
    path = tmp_path / "payments.db"
    bo = BackOffice.sqlite(path, processor=processor_for(emulator), clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named(SHOPPER),
                   total=usd("10.00"),
                   payments=[CardPayment(stored_card(emulator), usd("10.00"))])  # fmt: skip
    emulator.script("captures", "drop")
    (key,) = bo.invoice("SO-1", "INV-1", usd("10.00")).in_doubt
    restarted = BackOffice.sqlite(path, processor=processor_for(emulator), clock=clock)
    report = restarted.recover()
    assert report.resolved == (key,)
    assert report.for_reconciliation == ()
    webhooks(restarted, emulator)
    order = restarted.order("SO-1")
    assert order.captured == order.received == usd("10.00")
    assert [r.kind for r in emulator.records()].count("capture") == 1
    retried = restarted.invoice("SO-1", "INV-1", usd("10.00"))
    assert retried.uncovered == usd("0.00")
    assert [r.kind for r in emulator.records()].count("capture") == 1  # nothing taken twice
    refund = restarted.refund("SO-1", "RMA-1", usd("10.00"), AGENT)
    assert refund.failed == ()


def test_a_replay_adyen_refuses_the_credentials_of_decides_nothing(
    emulator: AdyenEmulator, tmp_path: Path
) -> None:
    """A capture Adyen made, its answer lost, replayed by a recovery whose API key Adyen
    refuses (a key rotated, mistyped): the capture stays in doubt, and the invoice sent
    again takes nothing twice (O4, V5). It was declined, and the invoice captured again."""
    clock = ManualClock(START)
    path = tmp_path / "payments.db"
    bo = BackOffice.sqlite(path, processor=processor_for(emulator), clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named(SHOPPER),
                   total=usd("100.00"),
                   payments=[CardPayment(stored_card(emulator), usd("100.00"))])  # fmt: skip
    emulator.script("captures", "drop")
    (key,) = bo.invoice("SO-1", "INV-1", usd("40.00")).in_doubt
    wrong = AdyenConfig(api_key="rotated", merchant_account=emulator.merchant_account,
                        namespace=NAMESPACE, checkout_url=emulator.checkout_url)  # fmt: skip
    job = BackOffice.sqlite(path, processor=AdyenProcessor(wrong), clock=clock)
    assert job.recover().still_in_doubt == (key,)
    assert bo.recover().resolved == (key,)  # with working keys: Adyen's stored answer
    bo.invoice("SO-1", "INV-1", usd("40.00"))
    captured = [r.value for r in emulator.records() if r.kind == "capture"]
    assert captured == [4000]


def test_a_card_token_the_connector_did_not_make_is_declined_not_left_in_doubt(
    emulator: AdyenEmulator,
) -> None:
    """The engine logs a call's intent before the connector reads the token: a token it
    cannot read is an answer (declined, no call), so nothing is left in doubt."""
    bo = BackOffice.in_memory(processor=processor_for(emulator), clock=ManualClock(START))
    bad = card_of("no-colon", emulator.merchant_account)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named(SHOPPER),
                   total=usd("10.00"), payments=[CardPayment(bad, usd("10.00"))])  # fmt: skip
    assert bo.orders(in_doubt=True) == ()
    assert [r.outcome for r in bo.operations("SO-1")] == [Outcome.DECLINED]
    stray = AuthorizationToken("not-encoded!", "adyen", emulator.merchant_account)
    processor = processor_for(emulator)
    for answer in (
        processor.capture("K-1", stray, usd("1.00")),
        processor.adjust("K-2", stray, usd("1.00")),
        processor.void("K-3", stray),
        processor.refund(
            "K-4", CaptureToken("a:not-encoded!", "adyen", emulator.merchant_account), usd("1.00")
        ),
    ):
        assert answer.outcome is Outcome.DECLINED
    assert emulator.records() == []


def test_two_back_offices_on_one_merchant_account_never_settle_each_others_calls(
    emulator: AdyenEmulator,
) -> None:
    """A live and a test back office share the merchant account and their order ids: each
    takes only its own webhooks (the namespace in the reference), and a notification that
    names a key but another call is kept for review, never applied."""
    clock = ManualClock(START)
    live = BackOffice.in_memory(processor=processor_for(emulator, "live"), clock=clock)
    test = BackOffice.in_memory(processor=processor_for(emulator, "test"), clock=clock)
    card = stored_card(emulator)
    for bo in (live, test):
        paid = [CardPayment(card, usd("100.00"))]
        bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named(SHOPPER),
                       total=usd("100.00"), payments=paid)  # fmt: skip
    live.invoice("SO-1", "INV-1", usd("100.00"))
    emulator.script("captures", "failed")
    test.invoice("SO-1", "INV-1", usd("100.00"))
    bodies = emulator.webhooks()
    live_notes = [n for body in bodies for n in notifications(body, emulator.hmac_key,
                                                              namespace="live")]  # fmt: skip
    for note in live_notes:
        live.handle_notification(note)
    order = live.order("SO-1")
    assert order.received == usd("100.00")  # its own capture, never undone by the other's
    assert order.authorized == usd("0.00")
    (capture,) = order.lines[0].captures
    other = attrs.evolve(live_notes[-1], notification_id="forged", reference="r-other",
                         success=False, key=capture.capture_id)  # fmt: skip
    assert live.handle_notification(other).unmatched  # final already: kept, not applied


def test_behind_a_router_a_lost_adyen_answer_is_still_recovered_by_replay(
    emulator: AdyenEmulator,
) -> None:
    clock = ManualClock(START)
    router = ProcessorRouter([SimulatedProcessor(clock=clock), processor_for(emulator)])
    assert router.capabilities.recovery is RecoveryMethod.REPLAY
    assert router.capabilities.key_lifetime == timedelta(days=7)
    bo = BackOffice.in_memory(processor=router, clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named(SHOPPER),
                   total=usd("60.00"),
                   payments=[CardPayment(stored_card(emulator), usd("60.00"))])  # fmt: skip
    emulator.script("captures", "drop")
    (key,) = bo.invoice("SO-1", "INV-1", usd("60.00")).in_doubt
    assert bo.recover().resolved == (key,)
    webhooks(bo, emulator)
    assert bo.order("SO-1").received == usd("60.00")


def test_a_pending_call_whose_webhook_never_comes_goes_to_reconciliation(
    emulator: AdyenEmulator,
) -> None:
    """Adyen cannot be asked: once a pending call is near its key's end of life with no
    webhook, recovery lists it for reconciliation by hand."""
    clock = ManualClock(START)
    bo = BackOffice.in_memory(processor=processor_for(emulator), clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named(SHOPPER),
                   total=usd("60.00"),
                   payments=[CardPayment(stored_card(emulator), usd("60.00"))])  # fmt: skip
    (capture,) = bo.invoice("SO-1", "INV-1", usd("60.00")).captures
    first = bo.recover()
    assert (first.pending, first.for_reconciliation) == ((capture.capture_id,), ())
    clock.advance(days=7)
    late = bo.recover()
    assert late.pending == late.for_reconciliation == (capture.capture_id,)
    assert late.still_in_doubt == ()


def test_the_timeout_reaches_every_http_client_of_adyens_library_as_it_takes_it(
    emulator: AdyenEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Adyen's library sends by pycurl where requests is absent, and pycurl takes whole
    seconds only (a float is a TypeError before anything is sent): the timeout is given in
    whole seconds, at least the one configured, so a call is made, not left in doubt."""
    from Adyen import httpclient  # noqa: PLC0415 - the library's own module

    card = stored_card(emulator)
    taken: list[object] = []

    def pycurl_request(self: Any, method: str, url: str, **kwargs: Any) -> Any:
        if type(self.timeout) is not int:  # as pycurl's setopt(TIMEOUT, ...) refuses it
            raise TypeError("invalid arguments to setopt")
        taken.append(self.timeout)
        return self._urllib_request(method, url, **kwargs)

    monkeypatch.setattr(httpclient.HTTPClient, "_requests_request", pycurl_request)
    config = AdyenConfig(api_key=emulator.api_key, merchant_account=emulator.merchant_account,
                         namespace=NAMESPACE, checkout_url=emulator.checkout_url,
                         timeout_seconds=2.5)  # fmt: skip
    answer = AdyenProcessor(config).authorize("K-1", card, usd("10.00"))
    assert answer.outcome is Outcome.APPROVED
    assert taken == [3]


def test_the_live_platform_needs_the_accounts_url_prefix() -> None:
    """On the live platform the library addresses the company's own live Checkout URL,
    made from the prefix; without one the configuration is refused, not left to fail."""
    with pytest.raises(InvalidArgument, match="live_endpoint_prefix"):
        AdyenConfig(api_key="k", merchant_account="Shop", namespace="live-1", platform="live")
    config = AdyenConfig(api_key="k", merchant_account="Shop", namespace="live-1",
                         platform="live", live_endpoint_prefix="abc123-Company")  # fmt: skip
    service = AdyenProcessor(config)._payments
    url = service.client._determine_api_url("live", f"{service.baseUrl}/payments")
    assert url == "https://abc123-Company-checkout-live.adyenpayments.com/checkout/v72/payments"


@pytest.mark.parametrize(
    ("currency", "amount", "value"),
    [
        ("USD", "12.34", 1234),
        ("JPY", "1000", 1000),
        ("KWD", "1.250", 1250),
        # Adyen's table gives these another number of decimals than ISO 4217
        ("CLP", "10000", 1000000),
        ("ISK", "5000", 500000),
        ("CVE", "1000.00", 1000),
        ("IDR", "150000.00", 150000),
    ],
)
def test_amounts_go_to_adyen_in_its_own_minor_units_and_come_back_the_same(
    emulator: AdyenEmulator, currency: str, amount: str, value: int
) -> None:
    """Adyen's currency codes page: CLP and ISK take two decimals, CVE and IDR none, unlike
    ISO 4217. An authorization sends its amount so, and a webhook's amount reads back."""
    money = Money.of(amount, currency)
    approved = processor_for(emulator).authorize(f"SO-{currency}/k#1", stored_card(emulator), money)
    assert approved.outcome is Outcome.APPROVED
    assert approved.amount == money
    booked = emulator.records()[-1]
    assert (booked.value, booked.currency) == (value, currency)
    assert from_value(value, currency) == money


def test_an_amount_adyen_cannot_hold_is_declined_without_a_call(emulator: AdyenEmulator) -> None:
    """A fraction of a currency Adyen takes in whole units (CVE, IDR) is never sent."""
    processor = processor_for(emulator)
    card = stored_card(emulator)
    before = len(emulator.records())
    refused = processor.authorize("SO-1/k#1", card, Money.of("10.50", "CVE"))
    assert refused.outcome is Outcome.DECLINED
    assert "CVE" in refused.reason
    approved = processor.authorize("SO-1/k#2", card, Money.of("10.00", "IDR"))
    assert approved.token is not None
    token = approved.token
    assert isinstance(token, AuthorizationToken)
    partial = processor.capture("SO-1/k#3", token, Money.of("2.50", "IDR"))
    assert partial.outcome is Outcome.DECLINED
    assert len(emulator.records()) == before + 1  # the IDR authorization only
    assert from_value(1050, "CLP") is None  # 10.50 CLP: ocop holds pesos whole


@pytest.mark.parametrize("amount", ["0.00", "-5.00"])
def test_an_amount_of_zero_or_less_is_declined_without_a_call(
    emulator: AdyenEmulator, amount: str
) -> None:
    """E1: an authorization, adjustment, capture or refund of zero or less is declined with
    no request, as the simulator declines it. Before, each was sent to Adyen, and an
    authorization of zero (at Adyen, a card check) or less came back approved."""
    processor = processor_for(emulator)
    card = stored_card(emulator)
    token = processor.authorize("SO-1/k#1", card, usd("10.00")).token
    assert isinstance(token, AuthorizationToken)
    capture = processor.capture("SO-1/k#2", token, usd("4.00")).token
    assert isinstance(capture, CaptureToken)
    before = len(emulator.records())
    money = usd(amount)
    answers = [
        processor.authorize("SO-1/k#3", card, money),
        processor.adjust("SO-1/k#4", token, money),
        processor.capture("SO-1/k#5", token, money),
        processor.refund("SO-1/k#6", capture, money),
    ]
    assert [answer.outcome for answer in answers] == [Outcome.DECLINED] * 4
    assert len(emulator.records()) == before


@pytest.mark.parametrize("shopper", ["C+1", "C%201", "C&1", "C#1"])
def test_each_customer_sees_only_their_own_stored_cards(
    emulator: AdyenEmulator, shopper: str
) -> None:
    """The stored cards are asked for with the customer's id encoded in the query: an id
    holding "+", "%", "&" or "#" names its own customer, never another ("C 1") (T1)."""
    processor = processor_for(emulator)
    theirs = stored_card(emulator, "C 1")
    mine = stored_card(emulator, shopper)
    assert [i.card for i in processor.instruments(shopper)] == [mine]
    assert [i.card for i in processor.instruments("C 1")] == [theirs]


def test_a_payment_adyen_has_not_decided_is_in_doubt_not_declined() -> None:
    """A payment answered Received or Pending is not refused: its webhook decides it (O4)."""

    def outcome(answer: dict[str, str] | None) -> Outcome | None:
        result = not_authorised("K", answer)
        return None if result is None else result.outcome

    assert outcome({"resultCode": "Received", "pspReference": "P"}) is Outcome.UNKNOWN
    assert outcome({"resultCode": "Pending"}) is Outcome.UNKNOWN
    assert outcome({"resultCode": "Refused"}) is Outcome.DECLINED
    assert outcome(None) is Outcome.UNKNOWN
    assert outcome({"resultCode": "Authorised", "pspReference": "P"}) is None
    # A saved card's zero-amount check moves no money: undecided, it did not verify it.
    check = not_authorised("K", {"resultCode": "Received"}, undecided=Outcome.DECLINED)
    assert check is not None
    assert check.outcome is Outcome.DECLINED
    assert from_value(1050, "CLP", floor=True) == Money.of("10", "CLP")


def test_an_account_that_takes_amount_updates_is_pre_authorized(emulator: AdyenEmulator) -> None:
    """Adyen increases only a pre-authorization: with ``adjustments`` on, an authorization
    asks for one (``authorisationType`` PreAuth), beside the manual capture."""
    sent: list[dict[str, Any]] = []
    for adjustments in (True, False):
        config = AdyenConfig(api_key=emulator.api_key, merchant_account=emulator.merchant_account,
                             namespace=NAMESPACE, checkout_url=emulator.checkout_url,
                             adjustments=adjustments)  # fmt: skip
        processor = AdyenProcessor(config)
        payments = processor._payments.payments

        def recorded(body: dict[str, Any], *args: Any, send: Any = payments, **kw: Any) -> Any:
            sent.append(body)
            return send(body, *args, **kw)

        processor._payments.payments = recorded
        assert processor.authorize(f"SO-{adjustments}/k#1", stored_card(emulator), usd("5.00"))
    assert [body["additionalData"] for body in sent] == [
        {"manualCapture": "true", "authorisationType": "PreAuth"},
        {"manualCapture": "true"},
    ]


def test_adyens_words_holding_a_card_number_decline_with_it_masked() -> None:
    """E2, O4: a refusal whose reason or error message (Adyen's free text) holds a card
    number is a decline with the number masked. (The connector raised CardNumberRefused
    out of the call, after Adyen had answered it.)"""
    said = "Refused: 4111 1111 1111 1111"
    refused = not_authorised("K", {"resultCode": "Refused", "refusalReason": said})
    assert refused is not None
    assert (refused.outcome, refused.reason) == (Outcome.DECLINED, "Refused: [card number]")

    refusal = Exception()
    refusal.message = {"message": said, "errorCode": "101"}  # type: ignore[attr-defined]
    assert reason_of(refusal) == "Refused: [card number]"


@pytest.mark.parametrize(
    "amount",
    [
        {"value": 600050, "currency": "CLP"},  # 6000.50 CLP: ocop holds pesos whole
        {"value": 600000, "currency": "XAU"},  # a code ocop does not take as money
        {"value": 10**30, "currency": "CLP"},  # beyond ocop's maximum amount
    ],
)
def test_a_capture_webhook_whose_amount_ocop_cannot_read_is_kept_not_applied(
    emulator: AdyenEmulator, amount: dict[str, object]
) -> None:
    """N2, V5: a CAPTURE webhook naming a pending capture of 6000 CLP for an amount ocop
    cannot hold (a fraction of a peso, a currency it does not know, too large) is not that
    capture's outcome: it is kept for review, as one for another amount is, and the capture
    stays pending. Before, the unreadable amount counted as no amount, matching any."""
    bo = BackOffice.in_memory(processor=processor_for(emulator), clock=ManualClock(START))
    clp = Money.of("10000", "CLP")
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named(SHOPPER),
                   total=clp, payments=[CardPayment(stored_card(emulator), clp)])  # fmt: skip
    bo.invoice("SO-1", "INV-1", Money.of("6000", "CLP"))
    (capture,) = bo.order("SO-1").lines[0].captures
    assert capture.pending
    assert capture.token is not None
    payment, _, psp = capture.token.value.partition(":")
    item: dict[str, Any] = {"amount": amount, "eventCode": "CAPTURE",
                            "eventDate": "2026-01-02T03:04:05",
                            "merchantAccountCode": emulator.merchant_account,
                            "merchantReference": reference(NAMESPACE, capture.capture_id),
                            "originalReference": decode_reference(payment),
                            "pspReference": decode_reference(psp), "success": "true"}  # fmt: skip
    item["additionalData"] = {"hmacSignature": sign_item(item, emulator.hmac_key)}
    body = json.dumps({"live": "false", "notificationItems": [{"NotificationRequestItem": item}]})
    (note,) = notifications(body, emulator.hmac_key, namespace=NAMESPACE)
    result = bo.handle_notification(note)
    assert not result.applied
    order = bo.order("SO-1")
    assert order.lines[0].captures[0].pending
    assert order.received == Money.zero("CLP")
    assert note in bo.notifications_for_review()


@pytest.mark.parametrize("status", [400, 422])
def test_a_cvc_check_refused_with_words_that_repeat_the_cvv_logs_and_answers_without_it(
    emulator: AdyenEmulator, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    """T2, V8: Adyen refusing a stored card's CVC check with a validation message that repeats
    the cvc it was sent ("Invalid cvc 9371") is logged, and answered, with the CVV replaced
    (a 400 was logged with it: the engine masks the answer it is given, not the adapter's
    log line)."""
    processor = processor_for(emulator)
    stored_card(emulator)
    (saved,) = processor.instruments(SHOPPER)
    handle = emulator.handle

    def echoing(method: str, target: str, headers: dict[str, str], raw: bytes) -> Any:
        if target.endswith("/payments") and b'"cvc"' in raw:
            cvc = json.loads(raw)["paymentMethod"]["cvc"]
            return emulator_error(status, "101", f"Invalid cvc {cvc} for this card")
        return handle(method, target, headers, raw)

    emulator.handle = echoing  # type: ignore[method-assign]
    with caplog.at_level(logging.DEBUG):
        answer = processor.tokenize("K-1", SHOPPER, saved.instrument_id, "9371")
    assert answer.outcome is Outcome.DECLINED
    assert answer.reason == "Invalid cvc [security code] for this card"
    assert "9371" not in caplog.text
