"""The Adyen emulator, driven through Adyen's official Python library (issue 12, part 4).

The library is pointed at the emulator through each Checkout service's ``baseUrl``
attribute, never patched. Modifications answer ``received``; their outcomes are read from
the queued webhooks, whose HMAC the library's own utility validates.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ocop.testing.adyen_emulator import AdyenEmulator, sign_item

Adyen = pytest.importorskip("Adyen")
from Adyen.exceptions import AdyenAPIResponseError  # noqa: E402
from Adyen.util import is_valid_hmac_notification  # noqa: E402

CARD = {
    "type": "scheme",
    "encryptedCardNumber": "test_4111111111111111",
    "encryptedExpiryMonth": "test_03",
    "encryptedExpiryYear": "test_2030",
    "encryptedSecurityCode": "test_737",
}


class Shop:
    """The official library's client configured for one emulator."""

    def __init__(self, emulator: AdyenEmulator) -> None:
        self.emulator = emulator
        self.adyen = Adyen.Adyen(xapikey=emulator.api_key, platform="test", http_timeout=5)
        checkout = self.adyen.checkout
        for service in (checkout.payments_api, checkout.modifications_api, checkout.recurring_api):
            service.baseUrl = emulator.checkout_url
        self.payments = checkout.payments_api
        self.mods = checkout.modifications_api
        self.recurring = checkout.recurring_api

    def body(self, value: int | None = None, **extra: Any) -> dict[str, Any]:
        request: dict[str, Any] = {"merchantAccount": self.emulator.merchant_account, **extra}
        if value is not None:
            request["amount"] = {"value": value, "currency": "EUR"}
        return request

    def authorise(self, value: int, key: str | None = None, **extra: Any) -> dict[str, Any]:
        request = self.body(value, reference=f"order-{uuid.uuid4().hex[:8]}", **extra)
        request.setdefault("paymentMethod", CARD)
        request["returnUrl"] = "https://shop.example/return"
        result = self.payments.payments(request, idempotency_key=key or str(uuid.uuid4()))
        message: dict[str, Any] = result.message
        return message

    def capture(self, psp: str, value: int, ref: str, key: str | None = None) -> dict[str, Any]:
        result = self.mods.capture_authorised_payment(
            self.body(value, reference=ref), psp, idempotency_key=key or str(uuid.uuid4())
        )
        assert result.status_code == 201
        message: dict[str, Any] = result.message
        return message


def items(emulator: AdyenEmulator) -> list[dict[str, Any]]:
    """The pending webhooks' notification items."""
    return [json.loads(body)["notificationItems"][0]["NotificationRequestItem"]
            for body in emulator.webhooks()]  # fmt: skip


def outcomes(emulator: AdyenEmulator) -> list[tuple[str, str, int, str]]:
    """(eventCode, merchantReference, value, success) of the pending modification webhooks."""
    return [(i["eventCode"], i["merchantReference"], i["amount"]["value"], i["success"])
            for i in items(emulator) if i["eventCode"] != "AUTHORISATION"]  # fmt: skip


@pytest.fixture
def emulator() -> Iterator[AdyenEmulator]:
    with AdyenEmulator() as emu:
        yield emu


@pytest.fixture
def shop(emulator: AdyenEmulator) -> Shop:
    return Shop(emulator)


def test_the_library_16_speaks_checkout_v72() -> None:
    assert Adyen.Adyen().checkout.payments_api.baseUrl.endswith("/v72")


def test_authorise_capture_twice_refund(emulator: AdyenEmulator, shop: Shop) -> None:
    auth = shop.authorise(1000)
    assert auth["resultCode"] == "Authorised"
    assert auth["amount"] == {"value": 1000, "currency": "EUR"}
    psp = auth["pspReference"]
    first = shop.capture(psp, 400, "cap-1")
    assert first["status"] == "received"
    assert first["paymentPspReference"] == psp
    assert first["reference"] == "cap-1"
    assert first["pspReference"] != psp
    shop.capture(psp, 600, "cap-2")
    refund = shop.mods.refund_captured_payment(
        shop.body(250, reference="ref-1"), psp, idempotency_key="r-1"
    )
    assert refund.message["status"] == "received"
    assert outcomes(emulator) == [
        ("CAPTURE", "cap-1", 400, "true"),
        ("CAPTURE", "cap-2", 600, "true"),
        ("REFUND", "ref-1", 250, "true"),
    ]
    assert [(r.kind, r.value, r.state) for r in emulator.records()] == [
        ("authorise", 1000, "authorised"),
        ("capture", 400, "succeeded"),
        ("capture", 600, "succeeded"),
        ("refund", 250, "succeeded"),
    ]
    capture_item = items(emulator)[1]
    assert capture_item["originalReference"] == psp
    assert capture_item["pspReference"] == first["pspReference"]


def test_over_capture_and_over_refund_are_refused_in_the_webhook(
    emulator: AdyenEmulator, shop: Shop
) -> None:
    psp = shop.authorise(1000)["pspReference"]
    shop.capture(psp, 700, "cap-1")
    over = shop.capture(psp, 301, "cap-2")
    assert over["status"] == "received"
    shop.mods.refund_captured_payment(shop.body(701, reference="ref-1"), psp)
    assert outcomes(emulator) == [
        ("CAPTURE", "cap-1", 700, "true"),
        ("CAPTURE", "cap-2", 301, "false"),
        ("REFUND", "ref-1", 701, "false"),
    ]
    assert items(emulator)[2]["reason"]
    assert [r.state for r in emulator.records()][-2:] == ["failed", "failed"]


def test_without_multi_capture_one_capture_closes_the_authorisation() -> None:
    with AdyenEmulator(multi_capture=False) as emulator:
        shop = Shop(emulator)
        psp = shop.authorise(1000)["pspReference"]
        shop.capture(psp, 400, "cap-1")
        shop.capture(psp, 100, "cap-2")
        assert [o[3] for o in outcomes(emulator)] == ["true", "false"]


def test_cancel_then_no_capture(emulator: AdyenEmulator, shop: Shop) -> None:
    psp = shop.authorise(1000)["pspReference"]
    cancel = shop.mods.cancel_authorised_payment_by_psp_reference(
        shop.body(reference="void-1"), psp, idempotency_key="c-1"
    )
    assert cancel.status_code == 201
    assert cancel.message["status"] == "received"
    shop.capture(psp, 100, "cap-1")
    assert outcomes(emulator) == [
        ("CANCELLATION", "void-1", 1000, "true"),
        ("CAPTURE", "cap-1", 100, "false"),
    ]


def test_amount_update_only_on_an_open_authorisation(emulator: AdyenEmulator, shop: Shop) -> None:
    psp = shop.authorise(1000)["pspReference"]
    update = shop.mods.update_authorised_amount(shop.body(1500, reference="adj-1"), psp)
    assert update.message["status"] == "received"
    assert update.message["amount"] == {"value": 1500, "currency": "EUR"}
    shop.capture(psp, 1500, "cap-1")
    shop.mods.update_authorised_amount(shop.body(2000, reference="adj-2"), psp)
    assert outcomes(emulator) == [
        ("AUTHORISATION_ADJUSTMENT", "adj-1", 1500, "true"),
        ("CAPTURE", "cap-1", 1500, "true"),
        ("AUTHORISATION_ADJUSTMENT", "adj-2", 2000, "false"),
    ]


def test_reversal_refunds_a_captured_payment(emulator: AdyenEmulator, shop: Shop) -> None:
    psp = shop.authorise(1000)["pspReference"]
    shop.capture(psp, 1000, "cap-1")
    reversal = shop.mods.refund_or_cancel_payment(shop.body(reference="rev-1"), psp)
    assert reversal.message["status"] == "received"
    assert outcomes(emulator)[-1] == ("CANCEL_OR_REFUND", "rev-1", 1000, "true")


def test_idempotent_replay_and_key_conflict(emulator: AdyenEmulator, shop: Shop) -> None:
    psp = shop.authorise(1000, key="auth-1")["pspReference"]
    first = shop.capture(psp, 300, "cap-1", key="cap-key")
    again = shop.capture(psp, 300, "cap-1", key="cap-key")
    assert again == first
    assert len([r for r in emulator.records() if r.kind == "capture"]) == 1
    with pytest.raises(Adyen.AdyenAPIUnprocessableEntity) as conflict:
        shop.capture(psp, 500, "cap-1", key="cap-key")
    assert conflict.value.status_code == 422
    assert conflict.value.error_code == "704"
    assert len(outcomes(emulator)) == 1


def test_a_dropped_connection_is_replayed_from_the_stored_answer(
    emulator: AdyenEmulator, shop: Shop
) -> None:
    psp = shop.authorise(1000)["pspReference"]
    emulator.script("captures", "drop")
    with pytest.raises(OSError, match=r"without response|closed|reset"):
        shop.capture(psp, 300, "cap-1", key="k-drop")
    assert [r.kind for r in emulator.records()] == ["authorise", "capture"]
    replay = shop.capture(psp, 300, "cap-1", key="k-drop")
    assert replay["pspReference"] == emulator.records()[-1].psp_reference
    assert len(outcomes(emulator)) == 1


def test_a_scripted_5xx_processes_nothing(emulator: AdyenEmulator, shop: Shop) -> None:
    psp = shop.authorise(1000)["pspReference"]
    emulator.script("captures", "error", status=503)
    with pytest.raises(AdyenAPIResponseError) as failed:
        shop.capture(psp, 300, "cap-1", key="k-5xx")
    assert failed.value.status_code == 503
    assert [r.kind for r in emulator.records()] == ["authorise"]
    assert shop.capture(psp, 300, "cap-1", key="k-5xx")["status"] == "received"


def test_a_scripted_refusal(emulator: AdyenEmulator, shop: Shop) -> None:
    emulator.script("payments", "refused")
    refused = shop.authorise(1000)
    assert refused["resultCode"] == "Refused"
    assert refused["refusalReason"] == "Refused"
    assert items(emulator)[0]["success"] == "false"


def test_capture_failed_and_refund_failed(emulator: AdyenEmulator, shop: Shop) -> None:
    psp = shop.authorise(1000)["pspReference"]
    emulator.script("captures", "failed")
    shop.capture(psp, 400, "cap-1")
    shop.capture(psp, 400, "cap-2")
    emulator.script("refunds", "failed")
    shop.mods.refund_captured_payment(shop.body(100, reference="ref-1"), psp)
    assert outcomes(emulator) == [
        ("CAPTURE", "cap-1", 400, "true"),
        ("CAPTURE_FAILED", "cap-1", 400, "true"),
        ("CAPTURE", "cap-2", 400, "true"),
        ("REFUND", "ref-1", 100, "true"),
        ("REFUND_FAILED", "ref-1", 100, "true"),
    ]
    assert [r.state for r in emulator.records()][1:] == [
        "capture_failed",
        "succeeded",
        "refund_failed",
    ]


def test_every_webhook_validates_with_the_library(emulator: AdyenEmulator, shop: Shop) -> None:
    psp = shop.authorise(1000)["pspReference"]
    shop.capture(psp, 400, "cap-1")
    emulator.script("captures", "failed")
    shop.capture(psp, 100, "cap-2")
    bodies = emulator.webhooks()
    assert len(bodies) == 4
    for body in bodies:
        notification = json.loads(body)
        assert notification["live"] == "false"
        assert is_valid_hmac_notification(notification, emulator.hmac_key)
        item = notification["notificationItems"][0]["NotificationRequestItem"]
        assert item["additionalData"]["hmacSignature"] == sign_item(item, emulator.hmac_key)
        tampered = json.loads(body)
        tampered["notificationItems"][0]["NotificationRequestItem"]["amount"]["value"] += 1
        assert not is_valid_hmac_notification(tampered, emulator.hmac_key)


def test_duplicated_reordered_and_held_back_delivery(emulator: AdyenEmulator, shop: Shop) -> None:
    psp = shop.authorise(1000)["pspReference"]
    for n in (1, 2, 3):
        shop.capture(psp, 100, f"cap-{n}")
    pending = emulator.webhooks()
    received: list[str] = []
    sent = emulator.deliver(received.append, duplicate=True, reverse=True, hold_back=1)
    assert received == sent
    first_batch = list(reversed(pending[:3]))
    assert received == first_batch + first_batch
    assert emulator.webhooks() == pending[3:]
    assert emulator.deliver(received.append) == pending[3:]
    assert emulator.webhooks() == []


def test_a_failing_handler_keeps_what_it_did_not_take(emulator: AdyenEmulator, shop: Shop) -> None:
    shop.authorise(1000)
    shop.authorise(2000)

    def refuse(body: str) -> None:
        raise RuntimeError("down")

    with pytest.raises(RuntimeError):
        emulator.deliver(refuse)
    assert len(emulator.webhooks()) == 2


def test_delivery_to_a_url(emulator: AdyenEmulator, shop: Shop) -> None:
    shop.authorise(1000)
    received: list[str] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(self.rfile.read(length).decode())
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Hook) as server:
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/adyen"
            sent = emulator.deliver(url)
        finally:
            server.shutdown()
            thread.join()
    assert received == sent
    assert len(sent) == 1


def test_store_a_card_then_pay_with_it(emulator: AdyenEmulator, shop: Shop) -> None:
    first = shop.authorise(
        1000,
        shopperReference="shopper-1",
        storePaymentMethod=True,
        recurringProcessingModel="CardOnFile",
        shopperInteraction="Ecommerce",
    )
    stored_id = first["additionalData"]["tokenization.storedPaymentMethodId"]
    later = shop.authorise(
        500,
        paymentMethod={"type": "scheme", "storedPaymentMethodId": stored_id},
        shopperReference="shopper-1",
        recurringProcessingModel="CardOnFile",
        shopperInteraction="ContAuth",
    )
    assert later["resultCode"] == "Authorised"
    listed = shop.recurring.get_tokens_for_stored_payment_details(
        query_parameters={"shopperReference": "shopper-1",
                          "merchantAccount": emulator.merchant_account}
    ).message  # fmt: skip
    assert [m["id"] for m in listed["storedPaymentMethods"]] == [stored_id]
    assert listed["storedPaymentMethods"][0]["lastFour"] == "1111"
    with pytest.raises(Adyen.AdyenAPIUnprocessableEntity):
        shop.authorise(
            500,
            paymentMethod={"type": "scheme", "storedPaymentMethodId": stored_id},
            shopperReference="someone-else",
            recurringProcessingModel="CardOnFile",
        )


def test_store_a_card_without_paying(emulator: AdyenEmulator, shop: Shop) -> None:
    created = shop.recurring.stored_payment_methods(
        shop.body(paymentMethod=CARD, shopperReference="shopper-2",
                  recurringProcessingModel="UnscheduledCardOnFile")
    )  # fmt: skip
    assert created.status_code == 201
    assert created.message["lastFour"] == "1111"
    deleted = shop.recurring.delete_token_for_stored_payment_details(
        created.message["id"],
        query_parameters={"shopperReference": "shopper-2",
                          "merchantAccount": emulator.merchant_account},
    )  # fmt: skip
    assert deleted.status_code == 204


def test_errors_speak_adyens_service_error(emulator: AdyenEmulator, shop: Shop) -> None:
    with pytest.raises(Adyen.AdyenAPIUnprocessableEntity) as unknown:
        shop.capture("NOSUCHPAYMENT000", 100, "cap-1")
    assert set(json.loads(unknown.value.raw_response)) == {
        "status", "errorCode", "message", "errorType"
    }  # fmt: skip
    with pytest.raises(Adyen.AdyenAPIInvalidPermission):
        shop.payments.payments({"merchantAccount": "SomeoneElse", "amount": {}})
    stranger = Adyen.Adyen(xapikey="wrong", platform="test")
    stranger.checkout.payments_api.baseUrl = emulator.checkout_url
    with pytest.raises(Adyen.AdyenAPIAuthenticationError):
        stranger.checkout.payments_api.payments(shop.body(100))
    with pytest.raises(ValueError, match="cannot script"):
        emulator.script("captures", "refused")


def raw(emulator: AdyenEmulator, method: str, path: str, data: bytes | None = None,
        key: str = "") -> tuple[int, dict[str, Any]]:  # fmt: skip
    """A request the library would not send: (status, ServiceError body)."""
    headers = {"x-api-key": emulator.api_key, "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    base = emulator.checkout_url.removesuffix("/v72")
    request = urllib.request.Request(  # noqa: S310 (the emulator's loopback URL)
        base + path, data=data, headers=headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 (loopback)
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


@pytest.mark.parametrize(
    ("call", "status", "code"),
    [
        (("POST", "/v71/payments", b"{}", ""), 404, "000"),
        (("POST", "/v72/orders", b"{}", ""), 404, "000"),
        (("POST", "/v72/payments/details", b"{}", ""), 404, "000"),
        (("POST", "/v72/payments", b"{not json", ""), 400, "702"),
        (("POST", "/v72/payments", b"[]", ""), 400, "702"),
        (("POST", "/v72/payments", b"{}", "k" * 65), 400, "702"),
        (("POST", "/v72/storedPaymentMethods", b"[]", ""), 400, "702"),
        (("DELETE", "/v72/storedPaymentMethods/NOPE?shopperReference=s", None, ""), 422, "800"),
    ],
)
def test_requests_the_library_would_not_send(
    emulator: AdyenEmulator, call: tuple[str, str, bytes | None, str], status: int, code: str
) -> None:
    answer = raw(emulator, *call)
    assert answer[0] == status
    assert answer[1]["errorCode"] == code


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"reference": None}, "702"),
        ({"amount": {"value": "10", "currency": "EUR"}}, "702"),
        ({"amount": []}, "702"),
        ({"paymentMethod": {"type": "ideal"}}, "905"),
        ({"paymentMethod": {"type": "scheme", "encryptedCardNumber": "4111111111111111"}}, "101"),
        ({"paymentMethod": {"type": "scheme", "encryptedCardNumber": "test_41111"}}, "101"),
        ({"paymentMethod": {"type": "scheme", "storedPaymentMethodId": "NOPE"}}, "800"),
    ],
)
def test_invalid_payments(shop: Shop, change: dict[str, Any], code: str) -> None:
    request = shop.body(1000, reference="order-1", paymentMethod=CARD) | change
    with pytest.raises(AdyenAPIResponseError) as invalid:
        shop.payments.payments({k: v for k, v in request.items() if v is not None})
    assert invalid.value.error_code == code


def test_invalid_stored_payment_method_requests(emulator: AdyenEmulator, shop: Shop) -> None:
    with pytest.raises(Adyen.AdyenAPIInvalidPermission):
        shop.recurring.stored_payment_methods({"merchantAccount": "SomeoneElse"})
    with pytest.raises(Adyen.AdyenAPIValidationError):
        shop.recurring.stored_payment_methods(shop.body(paymentMethod=CARD))
    with pytest.raises(Adyen.AdyenAPIValidationError):
        shop.mods.capture_authorised_payment(
            shop.body(reference="cap-1"), shop.authorise(100)["pspReference"]
        )


def test_the_rules_refuse_in_the_webhook(emulator: AdyenEmulator, shop: Shop) -> None:
    psp = shop.authorise(1000)["pspReference"]
    mods = shop.mods
    mods.refund_captured_payment(shop.body(100, reference="early-refund"), psp)
    mods.capture_authorised_payment(
        shop.body(reference="usd", amount={"value": 100, "currency": "USD"}), psp
    )
    shop.capture(psp, 0, "zero")
    mods.update_authorised_amount(
        shop.body(reference="adj-usd", amount={"value": 100, "currency": "USD"}), psp
    )
    mods.update_authorised_amount(shop.body(0, reference="adj-zero"), psp)
    shop.capture(psp, 1000, "all")
    mods.refund_or_cancel_payment(shop.body(reference="rev-1"), psp)
    mods.refund_or_cancel_payment(shop.body(reference="rev-2"), psp)
    mods.cancel_authorised_payment_by_psp_reference(shop.body(reference="void"), psp)
    assert [(o[1], o[3]) for o in outcomes(emulator)] == [
        ("early-refund", "false"),
        ("usd", "false"),
        ("zero", "false"),
        ("adj-usd", "false"),
        ("adj-zero", "false"),
        ("all", "true"),
        ("rev-1", "true"),
        ("rev-2", "false"),
        ("void", "false"),
    ]


def test_reversal_cancels_an_uncaptured_payment(emulator: AdyenEmulator, shop: Shop) -> None:
    psp = shop.authorise(1000)["pspReference"]
    shop.mods.refund_or_cancel_payment(shop.body(reference="rev-1"), psp)
    assert outcomes(emulator) == [("CANCEL_OR_REFUND", "rev-1", 1000, "true")]


def test_without_multi_capture_no_cancel_after_a_capture() -> None:
    with AdyenEmulator(multi_capture=False, authorisation_webhooks=False) as emulator:
        shop = Shop(emulator)
        psp = shop.authorise(1000)["pspReference"]
        shop.capture(psp, 400, "cap-1")
        shop.mods.cancel_authorised_payment_by_psp_reference(shop.body(reference="void"), psp)
        assert [o[3] for o in outcomes(emulator)] == ["true", "false"]
        assert len(emulator.webhooks()) == 2


def test_closing_an_emulator_that_never_started() -> None:
    AdyenEmulator().close()


def test_a_replay_keeps_a_scripted_failure_for_the_next_new_call(
    emulator: AdyenEmulator, shop: Shop
) -> None:
    psp = shop.authorise(1000)["pspReference"]
    shop.capture(psp, 100, "cap-1", key="cap-key")
    emulator.script("captures", "failed")
    shop.capture(psp, 100, "cap-1", key="cap-key")
    shop.capture(psp, 200, "cap-2")
    emulator.script("captures", "drop")
    with pytest.raises(OSError, match=r"without response|closed|reset"):
        shop.capture(psp, 100, "cap-1", key="cap-key")
    assert outcomes(emulator) == [
        ("CAPTURE", "cap-1", 100, "true"),
        ("CAPTURE", "cap-2", 200, "true"),
        ("CAPTURE_FAILED", "cap-2", 200, "true"),
    ]


def test_a_held_modification_counts_until_decided_and_is_undone_when_declined(
    emulator: AdyenEmulator, shop: Shop
) -> None:
    """A held capture or amount update counts at once, sends no webhook until decided,
    and declined gives back exactly what it took (what happened since stays)."""
    psp = shop.authorise(1000)["pspReference"]
    emulator.script("amountUpdates", "held")
    shop.mods.update_authorised_amount(shop.body(1500, reference="upd"), psp,
                                       idempotency_key=str(uuid.uuid4()))  # fmt: skip
    emulator.script("captures", "held")
    shop.capture(psp, 1200, "cap-held")
    assert emulator.held() == ["upd", "cap-held"]
    assert outcomes(emulator) == []  # only the authorisation's webhook so far
    shop.capture(psp, 301, "cap-over")  # 1,500 - 1,200 remain: refused in its webhook
    shop.capture(psp, 300, "cap-rest")
    emulator.deliver(lambda body: None)
    emulator.decide("cap-held", success=False)
    assert outcomes(emulator) == [("CAPTURE", "cap-held", 1200, "false")]
    emulator.decide("upd", success=True)
    states = {r.merchant_reference: r.state for r in emulator.records()}
    assert states == {**states, "cap-held": "declined", "upd": "succeeded",
                      "cap-over": "failed", "cap-rest": "succeeded"}  # fmt: skip
    emulator.deliver(lambda body: None)
    shop.capture(psp, 1200, "cap-again")  # the declined capture's 1,200 is open again
    assert outcomes(emulator) == [("CAPTURE", "cap-again", 1200, "true")]


@pytest.mark.parametrize(
    ("held", "closer"), [("captures", "cancel"), ("captures", "expire"), ("cancels", "expire")]
)
def test_a_held_modification_declined_after_the_payment_closed_opens_nothing(
    emulator: AdyenEmulator, shop: Shop, closer: str, held: str
) -> None:
    """What happened since a held modification stays when it is declined: a payment a
    cancel or an expiry closed meanwhile stays closed (a cancel of an authorisation is
    final; an expired one is gone). Before, declining the held capture or cancel opened
    the whole authorisation again (1,000 open after a cancel that released 600)."""
    psp = shop.authorise(1000)["pspReference"]
    emulator.script(held, "held")
    if held == "captures":
        shop.capture(psp, 400, "held")
    else:
        shop.mods.cancel_authorised_payment_by_psp_reference(
            shop.body(reference="held"), psp, idempotency_key=str(uuid.uuid4()))  # fmt: skip
    if closer == "expire":
        emulator.expire(psp)
    else:
        shop.mods.cancel_authorised_payment_by_psp_reference(
            shop.body(reference="cancel"), psp, idempotency_key=str(uuid.uuid4()))  # fmt: skip
    emulator.decide("held", success=False)
    assert emulator.remaining(psp) == 0
    emulator.deliver(lambda body: None)
    shop.capture(psp, 1, "cap-late")
    assert outcomes(emulator) == [("CAPTURE", "cap-late", 1, "false")]


def test_an_expired_authorisation_closes_with_an_expire_webhook(
    emulator: AdyenEmulator, shop: Shop
) -> None:
    psp = shop.authorise(1000)["pspReference"]
    shop.capture(psp, 400, "cap-1")
    emulator.deliver(lambda body: None)
    emulator.expire(psp)
    assert [(i["eventCode"], i["amount"]["value"]) for i in items(emulator)] == [("EXPIRE", 600)]
    emulator.deliver(lambda body: None)
    shop.capture(psp, 1, "cap-late")
    assert outcomes(emulator) == [("CAPTURE", "cap-late", 1, "false")]


def test_a_stored_card_paid_with_a_wrong_security_code_is_refused(shop: Shop) -> None:
    stored = shop.recurring.stored_payment_methods(shop.body(
        shopperReference="S-1", recurringProcessingModel="CardOnFile",
        paymentMethod={"type": "scheme", "encryptedCardNumber": "test_4111111111111111"},
    )).message  # fmt: skip
    paid = {"type": "scheme", "storedPaymentMethodId": stored["id"]}
    common = {"shopperReference": "S-1", "recurringProcessingModel": "CardOnFile"}
    good = shop.authorise(0, paymentMethod={**paid, "cvc": "737"}, **common)
    wrong = shop.authorise(0, paymentMethod={**paid, "cvc": "000"}, **common)
    assert (good["resultCode"], wrong["resultCode"]) == ("Authorised", "Refused")
    assert wrong["refusalReason"] == "CVC Declined"
