"""Adyen's webhook items as an engineer running Adyen sees them arrive (N2, N4).

Items Adyen sends for every payment, items of payments made outside ocop on the same
merchant account, and batches mixing them with ocop's own: each is applied, reported a
duplicate or kept for review, and none keeps the others of its batch from being applied.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from ocop import Actor, BackOffice, Channel, Customer, NotificationEvent
from ocop.adapters.memory import ManualClock
from worlds import START, usd

Adyen = pytest.importorskip("Adyen")

from test_adyen_connector import (  # noqa: E402
    NAMESPACE,
    SHOPPER,
    dispute_body,
    processor_for,
    stored_card,
    webhooks,
    world,
)

from ocop.adapters.adyen import decode_reference, reference  # noqa: E402
from ocop.adapters.adyen_webhooks import notifications  # noqa: E402
from ocop.testing.adyen_emulator import AdyenEmulator, sign_item  # noqa: E402


@pytest.fixture
def emulator() -> Iterator[AdyenEmulator]:
    with AdyenEmulator(authorisation_webhooks=True) as running:
        yield running


def test_the_authorisation_webhook_of_a_saved_cards_cvv_check_is_no_review_entry(
    emulator: AdyenEmulator,
) -> None:
    """N2: an agent pays with a card the customer stored at Adyen, its CVV checked by a
    zero-amount verification; Adyen sends an AUTHORISATION webhook for the verification as
    for the payment. Both agree with what ocop recorded: duplicates, nothing for review.
    Before, the verification's webhook was kept as "not matching" its tokenization for
    every such order."""
    bo = BackOffice.in_memory(processor=processor_for(emulator), clock=ManualClock(START))
    stored_card(emulator)
    bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=Customer.named(SHOPPER),
                   total=usd("25.00"))  # fmt: skip
    (instrument,) = bo.saved_instruments(Customer.named(SHOPPER))
    draft = bo.begin_completion("SO-1", Actor.call_center("agent-1"))
    draft = draft.add_saved_card(instrument.instrument_id, cvv="737", amount=usd("25.00"))
    assert bo.submit(draft).approved
    assert webhooks(bo, emulator) == ["duplicate", "duplicate"]
    assert webhooks(bo, emulator) == []
    assert bo.notifications_for_review() == ()
    assert bo.order("SO-1").authorized == usd("25.00")


def test_a_technical_cancel_of_the_payment_ends_its_authorization(
    emulator: AdyenEmulator,
) -> None:
    """N4: someone cancels the payment at Adyen by its reference (``/cancels`` with the
    payment's reference, outside ocop); Adyen's TECHNICAL_CANCEL webhook names ocop's
    authorization. The authorization is ended, once, as by a CANCELLATION or an EXPIRE:
    the next invoice authorizes the stored card again and captures there. Before, it was
    only kept for review: ocop still counted 100.00 open that Adyen had released, and the
    invoice's capture went to the cancelled payment, which Adyen refuses."""
    bo = world(emulator)
    webhooks(bo, emulator)
    auth = bo.order("SO-1").lines[0].authorizations[0]
    (auth_key,) = [r.key for r in bo.operations("SO-1") if r.kind.value == "authorize"]
    payment = decode_reference(auth.token.value)
    client = Adyen.Adyen(xapikey=emulator.api_key, platform="test")
    client.checkout.modifications_api.baseUrl = emulator.checkout_url
    client.checkout.modifications_api.cancel_authorised_payment_by_psp_reference(
        {"merchantAccount": emulator.merchant_account,
         "reference": reference(NAMESPACE, auth_key)}, payment)  # fmt: skip
    emulator.deliver(lambda body: None)  # the emulator's own CANCELLATION: not Adyen's here
    assert emulator.remaining(payment) == 0
    body = dispute_body(emulator, "TECHNICAL_CANCEL", auth_key, payment, 10000)
    (note,) = notifications(body, emulator.hmac_key, namespace=NAMESPACE)
    assert note.event is NotificationEvent.AUTHORIZATION_ENDED
    assert bo.handle_notification(note).applied
    assert bo.handle_notification(note).duplicate
    assert bo.order("SO-1").authorized == usd("0.00")
    result = bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert result.captures[0].auth_id != auth.auth_id
    webhooks(bo, emulator)
    assert bo.order("SO-1").received == usd("100.00")
    assert bo.notifications_for_review() == ()


@pytest.mark.parametrize(
    "refs", [{"originalReference": "P1"}, {"pspReference": "C1"}], ids=["no-psp", "no-payment"]
)
def test_a_capture_outcome_with_one_reference_of_two_names_no_capture(refs: dict[str, str]) -> None:
    """N2, O1: a capture in doubt takes its token from its CAPTURE webhook: the payment's
    reference (originalReference) and the capture's own (pspReference). An item without
    one of them gave the token "rUDE:" (no capture's reference) or "rQzE" (the capture's
    own taken for the payment's, where a refund would be sent): settled approved with a
    token naming no capture, as 0d5daa9 fixed for the live answer. Such an item is kept
    for review now; recovery's replay reads Adyen's own answer. (One with neither names
    nothing to compare, as any item without a pspReference: a capture in doubt keeps it
    for review already.)"""
    hmac_key = "00112233445566778899aabbccddeeff"
    item = {"eventCode": "CAPTURE", "success": "true", "merchantAccountCode": "Shop",
            "merchantReference": f"{NAMESPACE}:SO-1/capture:INV-1:L1:L1.A1#1",
            "amount": {"value": 1000, "currency": "USD"}, **refs}  # fmt: skip
    item["additionalData"] = {"hmacSignature": sign_item(item, hmac_key)}
    body = json.dumps({"notificationItems": [{"NotificationRequestItem": item}]})
    (note,) = notifications(body, hmac_key, namespace=NAMESPACE)
    assert note.event is NotificationEvent.OTHER
    item = {**item, "pspReference": "C1", "originalReference": "P1"}
    item["additionalData"] = {"hmacSignature": sign_item(item, hmac_key)}
    body = json.dumps({"notificationItems": [{"NotificationRequestItem": item}]})
    (note,) = notifications(body, hmac_key, namespace=NAMESPACE)
    assert (note.event, decode_reference(note.reference.partition(":")[2])) == (
        NotificationEvent.OUTCOME,
        "C1",
    )
