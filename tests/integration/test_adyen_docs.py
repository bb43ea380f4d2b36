"""docs/adyen.md, run as written against two local Adyen emulators (issue 12).

The page's code blocks are executed in order in one namespace, as the application module
they make up; its Flask app (``create_app(env)``) is driven with Flask's test client, the
emulators' signed webhooks posted to its endpoint. The back office is on a private
PostgreSQL schema, as the page wires it. Each test here backs a claim of the page's
"What the tests check".
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import psycopg
import pytest
from flask.testing import FlaskClient

from ocop import Actor, BackOffice, CardPayment, CardToken, Channel, Customer, Money, Order, Outcome
from ocop.adapters.memory import ManualClock
from pg_support import server
from worlds import without_run_noise

Adyen = pytest.importorskip("Adyen")

from ocop.testing.adyen_emulator import AdyenEmulator  # noqa: E402

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "adyen.md"
NAMESPACE = "shop-docs"
#: The merchant accounts' names, as the page's example uses the online one.
ONLINE, POS = "YourShopECOM", "YourShopPOS"


def blocks(text: str, fence: str) -> list[str]:
    """The code blocks of ``text`` opened with ```` ```fence ````, in order."""
    return re.findall(rf"```{fence}\n(.*?)```", text, re.DOTALL)


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


@attrs.frozen
class Shop:
    """The page's application over two emulators (online and POS accounts) and a schema."""

    page: dict[str, Any]
    env: dict[str, str]
    online: AdyenEmulator
    pos: AdyenEmulator
    client: FlaskClient
    bo: BackOffice  # another process's back office on the same database (the jobs')
    clock: ManualClock

    def post(self, account: str, body: str) -> tuple[int, str]:
        """POST a webhook body to the app's endpoint for ``account``."""
        answer = self.client.post(
            f"/adyen/webhooks/{account}", data=body, content_type="application/json"
        )
        return answer.status_code, answer.get_data(as_text=True)

    def deliver(self, emulator: AdyenEmulator, **delivery: bool) -> list[str]:
        """Deliver the emulator's webhooks to its account's endpoint; each is accepted."""

        def send(body: str) -> None:
            assert self.post(emulator.merchant_account, body) == (200, "[accepted]")

        return emulator.deliver(send, **delivery)


@pytest.fixture
def shop() -> Iterator[Shop]:
    """The page's code executed as one module, its app over two emulators and a schema."""
    page: dict[str, Any] = {"__name__": "shop_payments"}
    for number, code in enumerate(blocks(PAGE.read_text(encoding="utf-8"), "python"), start=1):
        exec(compile(code, f"adyen.md#{number}", "exec"), page)  # noqa: S102
    schema = f"ocop_test_{uuid.uuid4().hex[:12]}"
    with (
        AdyenEmulator(merchant_account=ONLINE) as online,
        AdyenEmulator(merchant_account=POS) as pos,
    ):
        env = {"OCOP_NAMESPACE": NAMESPACE, "OCOP_DATABASE_URL": server(), "OCOP_SCHEMA": schema}
        for name, emulator in (("ONLINE", online), ("POS", pos)):
            env |= {
                f"ADYEN_{name}_API_KEY": emulator.api_key,
                f"ADYEN_{name}_MERCHANT_ACCOUNT": emulator.merchant_account,
                f"ADYEN_{name}_CHECKOUT_URL": emulator.checkout_url,
                f"ADYEN_{name}_HMAC_KEY": emulator.hmac_key,
            }
        clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
        try:
            app = page["create_app"](env)
            bo = BackOffice.postgres(server(), processor=page["adyen_processor"](env),
                                     clock=clock, schema=schema)  # fmt: skip
            yield Shop(page, env, online, pos, app.test_client(), bo, clock)
        finally:
            with psycopg.connect(server(), autocommit=True) as admin:
                admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def stored_card(emulator: AdyenEmulator, shopper: str) -> tuple[str, str]:
    """A card the shop's checkout stored at Adyen: its storedPaymentMethodId and last four."""
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
    return str(answer["id"]), str(answer["lastFour"])


def placed(shop: Shop, bo: BackOffice, order_id: str, total: Money, account: str) -> Order:
    """An order placed the page's way (its ``py`` block on cards), on ``account``."""
    (example,) = blocks(PAGE.read_text(encoding="utf-8"), "py")
    for shown in ('"YourShopECOM"', '"SO-1"', 'last4="1111"', "Channel.ECOMMERCE"):
        assert shown in example  # the values this test puts in their place
    emulator = shop.online if account == ONLINE else shop.pos
    stored, last4 = stored_card(emulator, "C-1")
    code = example.replace('"YourShopECOM"', repr(account)).replace('"SO-1"', repr(order_id))
    code = code.replace('last4="1111"', f"last4={last4!r}")
    if account == POS:
        code = code.replace("Channel.ECOMMERCE", "Channel.POS")
    names: dict[str, Any] = {"bo": bo, "customer_id": "C-1", "stored_payment_method_id": stored,
                             "total": total, "Channel": Channel, "Customer": Customer,
                             "CardPayment": CardPayment}  # fmt: skip
    exec(compile(code, "adyen.md#py", "exec"), names)  # noqa: S102
    return bo.order(order_id)


def agreed(shop: Shop, emulator: AdyenEmulator, order: Order) -> None:
    """The emulator's succeeded captures and refunds are the order's settled ones (V5)."""
    theirs = sorted(
        (r.kind, r.merchant_reference.removeprefix(f"{NAMESPACE}:"), r.value)
        for r in emulator.records()
        if r.kind in ("capture", "refund") and r.state == "succeeded"
    )
    line = order.lines[0]
    ours = sorted(
        [("capture", c.capture_id, c.amount.minor) for c in line.captures if not c.pending]
        + [("refund", r.refund_id, r.amount.minor) for r in line.refunds if not r.pending]
    )
    assert theirs == ours


def test_captures_stay_pending_until_the_webhooks_posted_to_the_app_settle_them(
    shop: Shop,
) -> None:
    """Captures through the page's back office are pending; the emulator's webhooks, posted
    to the Flask endpoint, settle them; the same webhooks again, reversed, change nothing."""
    bo = shop.page["back_office"](shop.env)
    card = placed(shop, bo, "SO-1", eur("100.00"), ONLINE).lines[0].card
    assert isinstance(card, CardToken)
    assert (card.connector, card.service_account) == ("adyen", ONLINE)
    bo.invoice("SO-1", "INV-1", eur("60.00"))
    bo.invoice("SO-1", "INV-2", eur("40.00"))
    assert bo.order("SO-1").received == eur("0.00")
    assert bo.journal("SO-1") == ()
    bodies = shop.deliver(shop.online)
    order = bo.order("SO-1")
    assert (order.captured, order.received) == (eur("100.00"), eur("100.00"))
    agreed(shop, shop.online, order)
    vouchers = bo.journal("SO-1")
    assert len(vouchers) == 2
    for body in reversed(bodies):  # Adyen delivers again: duplicates
        assert shop.post(ONLINE, body) == (200, "[accepted]")
    assert bo.order("SO-1") == order
    assert bo.journal("SO-1") == vouchers
    assert bo.notifications_for_review() == ()
    assert shop.pos.records() == []


def test_a_store_order_goes_to_the_pos_account_and_its_own_endpoint_settles_it(
    shop: Shop,
) -> None:
    """The router sends a POS card's calls to the POS account; that account's webhooks
    settle them at its endpoint, and the online endpoint refuses them (another HMAC key)."""
    bo = shop.page["back_office"](shop.env)
    placed(shop, bo, "SO-2", eur("30.00"), POS)
    bo.invoice("SO-2", "INV-1", eur("30.00"))
    (capture,) = [r for r in shop.pos.records() if r.kind == "capture"]
    assert capture.merchant_reference.startswith(f"{NAMESPACE}:SO-2/")
    assert [r.kind for r in shop.online.records()] == []
    for body in shop.pos.webhooks():
        assert shop.post(ONLINE, body)[0] == 401
    assert bo.order("SO-2").received == eur("0.00")
    shop.deliver(shop.pos)
    order = bo.order("SO-2")
    assert order.received == eur("30.00")
    agreed(shop, shop.pos, order)


def test_a_call_center_agent_pays_with_a_card_the_customer_stored_at_adyen(shop: Shop) -> None:
    """saved_instruments lists the customer's stored cards from Adyen through the router;
    add_saved_card with its CVV: a zero-amount verification, then the authorization."""
    bo = shop.page["back_office"](shop.env)
    _, last4 = stored_card(shop.online, "C-9")
    bo.place_order("SO-6", channel=Channel.CALL_CENTER, customer=Customer.named("C-9"),
                   total=eur("25.00"))  # fmt: skip
    (instrument,) = bo.saved_instruments(Customer.named("C-9"))
    assert (instrument.card.service_account, instrument.card.last4) == (ONLINE, last4)
    draft = bo.begin_completion("SO-6", Actor.call_center("agent-1"))
    draft = draft.add_saved_card(instrument.instrument_id, cvv="737", amount=eur("25.00"))
    assert bo.submit(draft).approved
    assert bo.order("SO-6").authorized == eur("25.00")
    verified, paid = [r for r in shop.online.records() if r.kind == "authorise"]
    assert (verified.value, paid.value) == (0, 2500)  # the CVV checked, then the payment
    assert paid.merchant_reference.startswith(f"{NAMESPACE}:SO-6/")
    assert "737" not in without_run_noise(repr(bo.operations("SO-6")))


def test_bad_webhooks_are_refused_and_change_nothing(shop: Shop) -> None:
    """A tampered item, a body that is not Adyen's and an unknown account are refused."""
    bo = shop.page["back_office"](shop.env)
    placed(shop, bo, "SO-3", eur("20.00"), ONLINE)
    bo.invoice("SO-3", "INV-1", eur("20.00"))
    before = bo.order("SO-3")
    (body,) = [b for b in shop.online.webhooks() if '"CAPTURE"' in b]
    tampered = json.loads(body)
    item = tampered["notificationItems"][0]["NotificationRequestItem"]
    item["success"] = "false"
    assert shop.post(ONLINE, json.dumps(tampered))[0] == 401
    assert shop.post(ONLINE, "not json")[0] == 401
    assert shop.post("SomeoneElse", body)[0] == 404
    assert bo.order("SO-3") == before
    assert bo.notifications_for_review() == ()
    assert before.lines[0].captures[0].pending


def test_a_lost_capture_answer_is_recovered_by_the_jobs_and_settled_by_its_webhook(
    shop: Shop,
) -> None:
    """every_few_minutes replays the capture under the same key: Adyen captured once."""
    placed(shop, shop.bo, "SO-4", eur("50.00"), ONLINE)
    shop.online.script("captures", "drop")
    (key,) = shop.bo.invoice("SO-4", "INV-1", eur("50.00")).in_doubt
    report = shop.page["every_few_minutes"](shop.bo)
    assert (report.resolved, report.for_reconciliation) == ((key,), ())
    assert [r.kind for r in shop.online.records()].count("capture") == 1
    assert shop.bo.operations("SO-4")[-1].outcome is Outcome.PENDING
    shop.deliver(shop.online)
    assert shop.bo.order("SO-4").received == eur("50.00")
    assert shop.page["every_few_minutes"](shop.bo).pending == ()


def test_the_daily_job_renews_an_authorization_near_expiry(shop: Shop) -> None:
    """every_day voids (a pending cancel) and authorizes again; the cancel's webhook
    settles the void."""
    placed(shop, shop.bo, "SO-5", eur("40.00"), ONLINE)
    shop.deliver(shop.online)  # the AUTHORISATION webhook: already final, a duplicate
    shop.clock.advance(days=13)
    report = shop.page["every_day"](shop.bo)
    assert (report.renewed, report.held) == (("SO-5",), ())
    kinds = [r.kind for r in shop.online.records()]
    assert kinds.count("cancel") == 1
    assert kinds.count("authorise") == 2
    void = [r for r in shop.bo.operations("SO-5") if r.kind.value == "void"]
    assert [r.outcome for r in void] == [Outcome.PENDING]
    shop.deliver(shop.online)
    void = [r for r in shop.bo.operations("SO-5") if r.kind.value == "void"]
    assert [r.outcome for r in void] == [Outcome.APPROVED]
    order = shop.bo.order("SO-5")
    assert order.authorized == eur("40.00")
    assert shop.bo.notifications_for_review() == ()


def test_a_key_too_long_for_adyens_reference_goes_to_review_and_reconciliation(
    shop: Shop,
) -> None:
    """The webhooks of calls whose reference was hashed (the authorization's, the
    capture's) name nothing ocop knows: they are kept for review, and near its key's end
    of life the capture, still pending, is for reconciliation."""
    order_id = "SO-" + "7" * 60
    placed(shop, shop.bo, order_id, eur("10.00"), ONLINE)
    (capture,) = shop.bo.invoice(order_id, "INV-1", eur("10.00")).captures
    shop.deliver(shop.online)
    kept = shop.bo.notifications_for_review()
    assert sorted(n.notification_id.split(":")[-2] for n in kept) == ["AUTHORISATION", "CAPTURE"]
    assert all(n.key.startswith("ocop-") for n in kept)  # the hash, not the operation key
    assert shop.bo.order(order_id).received == eur("0.00")
    shop.clock.advance(days=7)
    report = shop.page["every_few_minutes"](shop.bo)
    assert report.for_reconciliation == (capture.capture_id,)


def test_the_readme_shows_the_pages_webhook_handler() -> None:
    """Every line of the README's Adyen example is a line of this page's code."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (example,) = [b for b in blocks(readme, "py") if "handle_notification" in b]
    page = {line.strip() for b in blocks(PAGE.read_text(encoding="utf-8"), "python")
            for line in b.splitlines()}  # fmt: skip
    shown = [line.strip() for line in example.splitlines() if line.strip()]
    assert [line for line in shown if line not in page and not line.startswith("#")] == []
    assert 'return "[accepted]"' in shown
