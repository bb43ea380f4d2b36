"""What the Adyen connector sends, and how it reads Adyen's synchronous answers (O1, O4).

Against the emulator, or Adyen's own library with its HTTP client replaced by a fake that
answers as scripted: the library's own response handling and exceptions run as they do
against Adyen.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ocop import (
    Actor,
    AuthorizationToken,
    BackOffice,
    CaptureToken,
    CardPayment,
    Channel,
    Customer,
    IdempotencyConflict,
    InvalidArgument,
    Outcome,
    ProcessorResult,
)
from ocop.adapters.memory import ManualClock
from worlds import START, usd

Adyen = pytest.importorskip("Adyen")

from test_adyen_connector import SHOPPER, processor_for, stored_card  # noqa: E402

from ocop.adapters.adyen import (  # noqa: E402
    AdyenConfig,
    AdyenProcessor,
    card_token,
    encode_reference,
)
from ocop.testing.adyen_emulator import AdyenEmulator  # noqa: E402

PAYMENT = "8815000000000001"
STORED = "8315000000000001"


@pytest.fixture
def emulator() -> Iterator[AdyenEmulator]:
    with AdyenEmulator() as running:
        yield running


class FakeHttp:
    """Adyen's HTTP client, answering each request with the next scripted (status, body)
    or raising the next scripted exception; it keeps what it was sent."""

    user_agent = "fake"

    def __init__(self) -> None:
        self.script: list[tuple[int, object] | Exception] = []
        self.sent: list[tuple[str, dict[str, Any], dict[str, str]]] = []

    def request(self, method: str, url: str, json: Any = None, headers: Any = None,
                **_: Any) -> tuple[str, Any, int, dict[str, str]]:  # fmt: skip
        self.sent.append((url, json, dict(headers or {})))
        answer = self.script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        raw = body if isinstance(body, str) else _json(body)
        return raw, json, status, {}


def _json(body: object) -> str:
    return json.dumps(body)


def faked(**settings: Any) -> tuple[AdyenProcessor, FakeHttp]:
    """A processor whose library sends through a :class:`FakeHttp`."""
    config = AdyenConfig(**{"api_key": "the-api-key", "merchant_account": "Shop",
                            "namespace": "ns", **settings})  # fmt: skip
    processor = AdyenProcessor(config)
    http = FakeHttp()
    client = processor._payments.client
    client.http_client, client.http_init = http, True
    return processor, http


CARD = card_token(SHOPPER, STORED, "Shop", brand="visa", last4="1111")
STORED_CARDS = {"storedPaymentMethods": [{"id": STORED, "brand": "visa", "lastFour": "1111"}]}
AUTH = AuthorizationToken(encode_reference(PAYMENT), "adyen", "Shop")


@pytest.mark.parametrize("status", [401, 403])
def test_a_saved_cards_cvv_check_adyen_refuses_the_credentials_of_is_declined(
    emulator: AdyenEmulator, status: int
) -> None:
    """O1, O4: the zero-amount check of a saved card's CVV is sent once under its key
    (recovery never sends it again: the CVV is kept nowhere) and moves no money, so a 401
    or 403 (a rotated key; an account without Adyen's permission for raw card data, which
    sending ``cvc`` needs) says Adyen checked nothing. It is declined, saying so, and the
    agent tries again. Before, it was left in doubt: recovery could only list it for
    reconciliation, and the order stayed blocked (O3) with no way to settle it."""
    bo = BackOffice.in_memory(processor=processor_for(emulator), clock=ManualClock(START))
    stored_card(emulator)
    bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=Customer.named(SHOPPER),
                   total=usd("25.00"))  # fmt: skip
    (instrument,) = bo.saved_instruments(Customer.named(SHOPPER))
    emulator.script("payments", "error", status=status)
    draft = bo.begin_completion("SO-1", Actor.call_center("agent-1"))
    draft = draft.add_saved_card(instrument.instrument_id, cvv="737", amount=usd("25.00"))
    assert bo.submit(draft).in_doubt == ()
    assert bo.orders(in_doubt=True) == ()
    (check,) = bo.operations("SO-1")
    assert check.outcome is Outcome.DECLINED
    assert "credentials" in check.reason
    draft = bo.begin_completion("SO-1", Actor.call_center("agent-1"))
    draft = draft.add_saved_card(instrument.instrument_id, cvv="737", amount=usd("25.00"))
    assert bo.submit(draft).approved
    assert bo.order("SO-1").authorized == usd("25.00")


def test_a_payment_adyen_refuses_the_credentials_of_stays_in_doubt() -> None:
    """O4: an authorization or capture may be a replay whose first call moved money, and
    Adyen checks credentials before the key: a 401 or 403 leaves it in doubt."""
    processor, http = faked()
    refusal = {"status": 401, "errorCode": "000", "message": "Unauthorized"}
    http.script = [(401, refusal), (403, {**refusal, "status": 403})]
    assert processor.authorize("SO-1/a#1", CARD, usd("10.00")).outcome is Outcome.UNKNOWN
    assert processor.capture("SO-1/c#1", AUTH, usd("10.00")).outcome is Outcome.UNKNOWN


@pytest.mark.parametrize(
    "body",
    [
        "",  # a 200 with no body (a proxy in front of Adyen)
        {},
        {"pspReference": PAYMENT},  # no resultCode
        {"resultCode": "Authorised"},  # no pspReference: no token to capture with
        {"resultCode": "SomethingNew", "pspReference": PAYMENT},
    ],
    ids=["empty", "no fields", "no result code", "no reference", "unknown code"],
)
def test_an_authorization_answer_ocop_cannot_read_leaves_it_in_doubt(body: object) -> None:
    """O1, O4: a 2xx whose body says neither approved nor refused may stand for a hold on
    the card: the call is in doubt (recovery replays it, its AUTHORISATION webhook decides
    it). Before, an empty or code-less answer was declined (a hold left on the card and
    the card authorized again by the next attempt), and an approval without its reference
    raised KeyError out of the call. A saved card's CVV check so answered did not verify
    the card: declined (it moves no money), as one Adyen has not decided is."""
    processor, http = faked()
    http.script = [(200, body)]
    answer = processor.authorize("SO-1/a#1", CARD, usd("10.00"))
    assert (answer.outcome, answer.token) == (Outcome.UNKNOWN, None)
    http.script = [(200, {"resultCode": "Refused", "refusalReason": "Not enough balance"})]
    refused = processor.authorize("SO-1/a#2", CARD, usd("10.00"))
    assert (refused.outcome, refused.reason) == (Outcome.DECLINED, "Not enough balance")
    http.script = [(200, STORED_CARDS), (200, body)]
    check = processor.tokenize("SO-1/t#1", SHOPPER, CARD.value, "737")
    verified = body == {"resultCode": "Authorised"}  # a check needs no reference
    assert check.outcome is (Outcome.APPROVED if verified else Outcome.DECLINED)


def _approval(value: object, currency: str = "USD", code: str = "PartiallyAuthorised") -> Any:
    return {"resultCode": code, "pspReference": PAYMENT,
            "amount": {"value": value, "currency": currency}}  # fmt: skip


def test_a_partial_authorisation_holds_what_adyen_authorised() -> None:
    """N4: Adyen answers ``PartiallyAuthorised`` with the amount it holds: the line holds
    that much (the order out of balance). Before, it was declined: the partial
    hold stayed on the card, never captured nor cancelled."""
    processor, http = faked()
    http.script = [(200, STORED_CARDS), (200, _approval(600))]
    bo = BackOffice.in_memory(processor=processor, clock=ManualClock(START))
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named(SHOPPER),
                   total=usd("10.00"), payments=[CardPayment(CARD, usd("10.00"))])  # fmt: skip
    (auth,) = bo.order("SO-1").lines[0].authorizations
    assert (auth.amount, auth.token.value) == (usd("6.00"), AUTH.value)


@pytest.mark.parametrize(
    ("answer", "outcome", "held"),
    [
        (_approval(600), Outcome.APPROVED, "6.00"),
        (_approval(5000, code="Authorised"), Outcome.APPROVED, "10.00"),  # never more
        (_approval(600, "EUR", code="Authorised"), Outcome.APPROVED, "10.00"),
        ({"resultCode": "Authorised", "pspReference": PAYMENT, "amount": None},
         Outcome.APPROVED, "10.00"),
        (_approval(600, "EUR"), Outcome.UNKNOWN, None),  # how much is held, unknown
        (_approval(None), Outcome.UNKNOWN, None),
        ({"resultCode": "PartiallyAuthorised", "pspReference": PAYMENT}, Outcome.UNKNOWN, None),
        (_approval(0), Outcome.UNKNOWN, None),
    ],
)  # fmt: skip
def test_what_adyen_says_it_authorised_is_read_never_for_more(
    answer: Any, outcome: Outcome, held: str | None
) -> None:
    """N4, O4: the amount of an approval is read in the currency asked for, never above
    what was asked; a partial one whose amount cannot be read leaves the call in doubt."""
    processor, http = faked()
    http.script = [(200, answer)]
    result = processor.authorize("SO-1/a#1", CARD, usd("10.00"))
    assert result.outcome is outcome
    assert result.amount == (None if held is None else usd(held))


@pytest.mark.parametrize(
    "prefix",
    [
        "https://1797a841fbb37ca7-AdyenDemo-checkout-live.adyenpayments.com",
        "1797a841fbb37ca7-AdyenDemo-checkout-live.adyenpayments.com",
        "evil.example/x",
        " 1797a841fbb37ca7-AdyenDemo",
        "1797a841fbb37ca7 AdyenDemo",
        "x" * 50,  # with "-checkout-live", past the 63 characters of a host name part
        "1797a841fbb37ca7-AdyenDemo-checkout-live",  # the host's first part: ...-live-checkout-live
        "1797a841fbb37ca7-AdyenDemo-pal-live",
        "1797a841fbb37ca7-AdyenDemo-",  # ...-AdyenDemo--checkout-live: no such host
        "-AdyenDemo",  # a host name part never starts with "-"
    ],
)
def test_a_live_url_prefix_that_is_not_one_is_refused_as_the_config_is_built(
    prefix: str,
) -> None:
    """E1: the prefix becomes the start of the live host's name
    (``https://<prefix>-checkout-live.adyenpayments.com``). The Customer Area's whole URL
    pasted in its place made ``https://https://...`` (every call a connection error, so
    in doubt), and ``evil.example/x`` sent every request, API key and all, to another
    host. Only a host name's letters, digits, ``-`` and ``_`` are taken now; and neither a
    "-" at either end nor the host's first part pasted whole (``...-checkout-live``), which
    made a host that does not exist (every live call a connection error, in doubt)."""
    with pytest.raises(InvalidArgument, match="live_endpoint_prefix"):
        AdyenConfig(api_key="k", merchant_account="Shop", namespace="live-1",
                     platform="live", live_endpoint_prefix=prefix)  # fmt: skip
    processor, http = faked(platform="live", live_endpoint_prefix="1797a841fbb37ca7-AdyenDemo")
    http.script = [(200, {"status": "received", "pspReference": "8815000000000002"})]
    processor.capture("SO-1/c#1", AUTH, usd("1.00"))
    assert http.sent[0][0] == (
        "https://1797a841fbb37ca7-AdyenDemo-checkout-live.adyenpayments.com"
        f"/checkout/v72/payments/{PAYMENT}/captures"
    )


def _chain(error: BaseException | None) -> Iterator[BaseException]:
    """``error`` and every error it was raised from or during."""
    while error is not None:
        yield error
        error = error.__cause__ or error.__context__


def test_a_conflict_keeps_nothing_of_the_request_adyen_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """E2, T2: a saved card's CVV check answered 422 704 (its key taken) raises
    IdempotencyConflict. It was raised inside the handler of the library's error, which
    stayed attached as its ``__context__`` with the request (the CVV in
    ``raw_request``) and Adyen's answer: one attribute away for an error reporter."""
    processor, http = faked()
    taken = {"status": 422, "errorCode": "704", "message": "request already processed"}
    http.script = [(200, STORED_CARDS), (422, taken)]
    with pytest.raises(IdempotencyConflict) as caught:
        processor.tokenize("SO-1/t#1", SHOPPER, CARD.value, "7373")
    for error in _chain(caught.value):
        assert "7373" not in repr(vars(error)) + repr(error.args)
    assert "7373" not in caplog.text


CAPTURE = CaptureToken(f"{AUTH.value}:{encode_reference('8815000000000002')}", "adyen", "Shop")


@pytest.mark.parametrize("body", ["", {}, {"status": "received"}], ids=["empty", "{}", "no psp"])
def test_a_modification_answer_without_its_reference_leaves_the_call_in_doubt(
    body: object,
) -> None:
    """O1, N2: Adyen answers a capture, refund, cancel or amount update with the
    modification's pspReference, which its webhook names. A 2xx without one (a proxy's
    empty 200) was taken for "received": the capture's token held no reference, its
    webhook matched nothing and was kept for review, and the capture stayed pending until
    reconciled by hand. It is in doubt now, and the replay reads Adyen's own answer."""
    processor, http = faked()
    calls: list[Callable[[], ProcessorResult]] = [
        lambda: processor.capture("SO-1/c#1", AUTH, usd("4.00")),
        lambda: processor.refund("SO-1/r#1", CAPTURE, usd("1.00")),
        lambda: processor.void("SO-1/v#1", AUTH),
        lambda: processor.adjust("SO-1/j#1", AUTH, usd("12.00")),
    ]
    received = {"status": "received", "pspReference": "8815000000000003"}
    replays = []
    for call in calls:
        http.script = [(200, body), (201, received)]
        assert call().outcome is Outcome.UNKNOWN
        replays.append(call())
    assert [replay.outcome for replay in replays] == [Outcome.PENDING] * 4
    assert replays[0].token == CaptureToken(
        f"{AUTH.value}:{encode_reference('8815000000000003')}", "adyen", "Shop"
    )
    keys = [sent[2]["Idempotency-Key"] for sent in http.sent]
    assert keys == [k for k in ("ns:SO-1/c#1", "ns:SO-1/r#1", "ns:SO-1/v#1", "ns:SO-1/j#1")
                    for _ in "12"]  # fmt: skip


def test_stored_payment_methods_that_are_not_cards_are_left_out_of_the_cards() -> None:
    """T1, T3: Adyen lists every payment method stored for the shopper: a PayPal account
    or a SEPA mandate has no brand nor last four digits, and an entry may lack its id.
    Each made a card token that raised InvalidInput out of ``instruments()``: the
    customer's cards could not be listed, and the CVV check of one of them raised after its
    intent was logged (in doubt, the order blocked). They are left out now."""
    processor, http = faked()
    listed = {"storedPaymentMethods": [
        {"id": "8415000000000001", "type": "paypal", "shopperEmail": "c@example.com"},
        {"id": "8415000000000002", "type": "sepadirectdebit", "ownerName": "C"},
        {"type": "scheme", "brand": "mc", "lastFour": "4444"},
        {"id": STORED, "type": "scheme", "brand": "visa", "lastFour": "1111"},
    ]}  # fmt: skip
    http.script = [(200, listed)]
    assert [i.card for i in processor.instruments(SHOPPER)] == [CARD]
    http.script = [(200, listed), (200, {"resultCode": "Authorised", "pspReference": "P"})]
    assert processor.tokenize("SO-1/t#1", SHOPPER, CARD.value, "737").card == CARD


def test_stored_methods_with_a_null_or_empty_id_or_brand_are_left_out() -> None:
    """T1, T3: an entry whose id is null or empty names no stored card; it was listed as
    the card stored under "None" (or under nothing), a token no call can use (its CVV
    check sent storedPaymentMethodId "None"); a null brand was shown as brand "NONE"."""
    processor, http = faked()
    listed = {"storedPaymentMethods": [
        {"id": None, "type": "scheme", "brand": "mc", "lastFour": "4444"},
        {"id": "", "type": "scheme", "brand": "mc", "lastFour": "5555"},
        {"id": "8415000000000003", "type": "scheme", "brand": None, "lastFour": "6666"},
        {"id": STORED, "type": "scheme", "brand": "visa", "lastFour": "1111"},
    ]}  # fmt: skip
    http.script = [(200, listed)]
    assert [i.card for i in processor.instruments(SHOPPER)] == [CARD]


@pytest.mark.parametrize(
    "failure",
    [(401, {"status": 401, "errorCode": "000", "message": "Unauthorized"}), (500, {}),
     ConnectionError("no route to host")],
    ids=["401", "500", "no answer"],
)  # fmt: skip
def test_a_cvv_check_whose_stored_cards_cannot_be_read_says_so(failure: Any) -> None:
    """T1: before its CVV check, the connector reads the customer's stored cards. When
    Adyen refused the credentials or did not answer, the check was declined as "no such
    stored card for this customer": the agent was told the customer's card was gone. It
    is declined with what happened, and nothing is sent."""
    processor, http = faked()
    http.script = [failure]
    answer = processor.tokenize("SO-1/t#1", SHOPPER, CARD.value, "737")
    assert answer.outcome is Outcome.DECLINED
    assert "could not be read" in answer.reason
    assert len(http.sent) == 1
    http.script = [(200, {"storedPaymentMethods": []})]
    gone = processor.tokenize("SO-1/t#2", SHOPPER, CARD.value, "737")
    assert gone.reason == "no such stored card for this customer"


@pytest.mark.parametrize("key", ["SO-1/k ", "SO-1/k  "])
def test_a_key_ending_in_a_space_is_never_sent_as_another_keys_idempotency_key(
    key: str,
) -> None:
    """O4, V6: an HTTP header's value ends at its last visible character (RFC 9110: the
    white space around it is not part of it), so ``ns:SO-1/k `` reached Adyen as the key
    of ``SO-1/k``: two operations under one Idempotency-Key, the second answered the
    first's answer or refused as a conflict. Such a key is sent hashed, as a long one is."""
    processor, http = faked()
    http.script = [(201, {"status": "received", "pspReference": "P1"}) for _ in range(2)]
    processor.capture("SO-1/k", AUTH, usd("1.00"))
    processor.capture(key, AUTH, usd("1.00"))
    sent = [headers["Idempotency-Key"] for _, _, headers in http.sent]
    assert sent[0] == "ns:SO-1/k"
    assert sent[1] == sent[1].strip() != sent[0]
    assert len(sent[1]) <= 64


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("127.0.0.1:8080/v72", "test"),  # no scheme: the library cannot send anything
        ("ftp://127.0.0.1/v72", "test"),
        ("http:///v72", "test"),
        ("http://127.0.0.1:8080/v72/", "test"),  # .../v72//payments
        ("http://127.0.0.1:8080/v72?x=1", "test"),
        ("http://127.0.0.1:8080 /v72", "test"),
        ("http://127.0.0.1:80a/v72", "test"),  # a port the library cannot connect to
        ("http://127.0.0.1:65536/v72", "test"),
        ("https://adyen-live-mirror.example/v72", "test"),  # sent to adyen-test-mirror
        ("https://adyen-test-mirror.example/v72", "live"),  # sent to adyen-live-mirror
    ],
)
def test_a_checkout_url_the_library_cannot_use_as_given_is_refused(url: str, platform: str) -> None:
    """E1: ``checkout_url`` is the base URL every call goes to. One without a scheme
    failed every call before it was sent (each left in doubt, replayed in vain), one
    ending in "/" addressed ``//payments``; and the library turns "-live" in a URL into
    "-test" on the test platform (the reverse on live), so the calls went to another
    host than the one configured. Each is refused as the config is built."""
    prefix = "1797a841fbb37ca7-AdyenDemo" if platform == "live" else ""
    with pytest.raises(InvalidArgument, match="checkout_url"):
        AdyenConfig(api_key="k", merchant_account="Shop", namespace="ns", platform=platform,
                    checkout_url=url, live_endpoint_prefix=prefix)  # fmt: skip
    processor, http = faked(checkout_url="http://127.0.0.1:8080/v72")
    http.script = [(201, {"status": "received", "pspReference": "P1"})]
    processor.void("SO-1/v#1", AUTH)
    assert http.sent[0][0] == f"http://127.0.0.1:8080/v72/payments/{PAYMENT}/cancels"
