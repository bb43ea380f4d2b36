"""Adyen's asynchronous cancels and the pending-void rules, on the emulator (N1, N2, V5).

Adyen answers a cancel "received", with no amount; its CANCELLATION webhook says whether
it happened, and for how much. After each step the emulator's payments and ocop's
authorizations agree (V5): what Adyen can still capture is what ocop counts open.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ocop import BackOffice
from worlds import usd

Adyen = pytest.importorskip("Adyen")

from test_adyen_connector import (  # noqa: E402
    AGENT,
    NAMESPACE,
    agreed,
    dispute_body,
    webhooks,
    world,
)

from ocop.adapters.adyen import decode_reference  # noqa: E402
from ocop.adapters.adyen_webhooks import notifications  # noqa: E402
from ocop.testing.adyen_emulator import AdyenEmulator  # noqa: E402


@pytest.fixture
def emulator() -> Iterator[AdyenEmulator]:
    with AdyenEmulator() as running:
        yield running


def open_amounts(bo: BackOffice, emulator: AdyenEmulator) -> list[tuple[int | None, int]]:
    """Per authorization: (what Adyen can still capture, what ocop counts open), minor units."""
    auths = [a for ln in bo.order("SO-1").lines if ln.is_card for a in ln.authorizations]
    return [(emulator.remaining(decode_reference(a.token.value)), a.open_amount.minor)
            for a in auths]  # fmt: skip


def reconciled(bo: BackOffice, emulator: AdyenEmulator) -> None:
    """V5: every payment's open amount at Adyen is its authorization's at ocop."""
    for theirs, ours in open_amounts(bo, emulator):
        assert theirs == ours
    agreed(bo, emulator)


def cancels(emulator: AdyenEmulator) -> list[tuple[str, str]]:
    """The cancels Adyen received: (ocop's key, Adyen's outcome)."""
    return [(r.merchant_reference.removeprefix(f"{NAMESPACE}:"), r.state)
            for r in emulator.records() if r.kind == "cancel"]  # fmt: skip


@pytest.mark.parametrize("reverse", [False, True], ids=["failure-first", "cancel-first"])
def test_a_cancel_that_released_a_capture_adyen_had_rejected_keeps_it_released(
    emulator: AdyenEmulator, reverse: bool
) -> None:
    """N2, A1, V5: Adyen rejects a pending capture of 40.00, then the renewal's cancel
    releases all the payment held, the 40.00 too (its CANCELLATION says 100.00). Whichever
    of the two webhooks comes first, ocop counts nothing open on the old authorization, as
    Adyen: no cancel Adyen must refuse is sent again, nothing is kept for review, and the
    invoice takes the 40.00 from the new authorization."""
    bo = world(emulator)
    webhooks(bo, emulator)
    emulator.script("captures", "held")
    bo.invoice("SO-1", "INV-1", usd("40.00"))
    (capture,) = emulator.held()
    emulator.decide(capture, success=False)  # its webhook is delivered later
    bo.clock.advance(days=28)  # type: ignore[attr-defined]
    assert bo.renew_authorizations().renewed == ("SO-1",)
    webhooks(bo, emulator, reverse=reverse)
    reconciled(bo, emulator)
    assert bo.renew_authorizations().renewed == ()
    assert cancels(emulator) == [("SO-1/void:L1.A1#1", "succeeded")]
    assert bo.notifications_for_review() == ()
    assert bo.invoice("SO-1", "INV-1", usd("40.00")).uncovered == usd("0.00")
    webhooks(bo, emulator)
    reconciled(bo, emulator)
    assert bo.order("SO-1").received == usd("40.00")


def sent_cancels(emulator: AdyenEmulator) -> list[tuple[str, str]]:
    """From now on, each cancel request's (path, Idempotency-Key) is listed here."""
    sent: list[tuple[str, str]] = []
    handle = emulator.handle

    def listed(method: str, target: str, headers: dict[str, str], raw: bytes) -> Any:
        if target.endswith("/cancels"):
            sent.append((target, headers.get("idempotency-key", "")))
        return handle(method, target, headers, raw)

    emulator.handle = listed  # type: ignore[method-assign]
    return sent


def test_a_cancellation_whose_cancel_adyen_refused_is_cancelled_again(
    emulator: AdyenEmulator,
) -> None:
    """X1, N1, V5: the cancellation's cancel is answered "received" and refused in its
    CANCELLATION webhook: Adyen still holds the 100.00. The renewal run cancels the same
    payment again under the void's next attempt, a new Idempotency-Key (the first key
    would only replay the stored "received"), and Adyen and ocop agree; nothing more is
    sent after."""
    bo = world(emulator)
    webhooks(bo, emulator)
    sent = sent_cancels(emulator)
    emulator.script("cancels", "held")
    bo.cancel_order("SO-1", AGENT)
    (first,) = emulator.held()
    emulator.decide(first, success=False)
    webhooks(bo, emulator)
    assert open_amounts(bo, emulator) == [(10000, 0)]  # held at Adyen, marked unreleased
    assert bo.renew_authorizations().voided == ("SO-1",)
    webhooks(bo, emulator)
    reconciled(bo, emulator)
    assert cancels(emulator) == [("SO-1/void:L1.A1#1", "declined"),
                                 ("SO-1/void:L1.A1#2", "succeeded")]  # fmt: skip
    payment = decode_reference(bo.order("SO-1").lines[0].authorizations[0].token.value)
    assert sent == [(f"/v72/payments/{payment}/cancels", f"{NAMESPACE}:SO-1/void:L1.A1#{n}")
                    for n in (1, 2)]  # fmt: skip
    assert bo.renew_authorizations().voided == ()
    assert len(sent) == 2
    (kept,) = bo.notifications_for_review()  # the refused cancel, for a person to see
    assert kept.key == "SO-1/void:L1.A1#1"


def test_a_cancellation_whose_refused_cancel_adyen_let_expire_sends_none_again(
    emulator: AdyenEmulator,
) -> None:
    """N4, X1, V5: the refused cancel's payment expires at Adyen (EXPIRE): it holds
    nothing, so the renewal run sends no cancel Adyen would refuse."""
    bo = world(emulator)
    webhooks(bo, emulator)
    emulator.script("cancels", "held")
    bo.cancel_order("SO-1", AGENT)
    (first,) = emulator.held()
    emulator.decide(first, success=False)
    payment = decode_reference(bo.order("SO-1").lines[0].authorizations[0].token.value)
    emulator.expire(payment)
    webhooks(bo, emulator)
    bo.renew_authorizations()
    reconciled(bo, emulator)
    assert cancels(emulator) == [("SO-1/void:L1.A1#1", "declined")]
    assert not bo.order("SO-1").lines[0].authorizations[0].unreleased


@pytest.mark.parametrize("route", ["webhook", "recover"])
def test_an_authorization_adyen_approved_after_the_cancellation_is_cancelled(
    emulator: AdyenEmulator, route: str
) -> None:
    """X1, A1, V5: the renewal's payment reaches Adyen, its answer is lost, and a
    cancellation retires the line meanwhile (committed as the rival worker's would be):
    its AUTHORISATION webhook (then the renewal run) or recover() cancels it at Adyen."""
    bo = world(emulator)
    webhooks(bo, emulator)
    bo.clock.advance(days=28)  # type: ignore[attr-defined]
    emulator.script("payments", "drop")
    assert bo.renew_authorizations().in_doubt == ("SO-1",)
    with bo.ports.store.unit_of_work() as uow:
        order = uow.orders.get("SO-1")
        uow.orders.update(order.with_line(order.line("L1").removed()).cancel())
        uow.commit()
    if route == "webhook":
        webhooks(bo, emulator)
        assert bo.renew_authorizations().voided == ("SO-1",)
    else:
        assert bo.recover().resolved == ("SO-1/authorize:L1.A2#1",)
    webhooks(bo, emulator)
    reconciled(bo, emulator)
    assert open_amounts(bo, emulator) == [(0, 0), (0, 0)]
    assert cancels(emulator) == [("SO-1/void:L1.A1#1", "succeeded"),
                                 ("SO-1/void:L1.A2#1", "succeeded")]  # fmt: skip


@pytest.mark.parametrize("route", ["webhook", "recover"])
def test_a_chargeback_adyen_sent_while_the_capture_was_in_doubt_counts_once(
    emulator: AdyenEmulator, route: str
) -> None:
    """N4, O2, V3: Adyen's CHARGEBACK names a capture whose answer was lost: kept, then
    applied once the capture's webhook or recover() settles it; a return can no longer
    refund what was charged back."""
    bo = world(emulator)
    webhooks(bo, emulator)
    emulator.script("captures", "drop")
    assert bo.invoice("SO-1", "INV-1", usd("100.00")).in_doubt
    (auth_key,) = [r.key for r in bo.operations("SO-1") if r.kind.value == "authorize"]
    payment = decode_reference(bo.order("SO-1").lines[0].authorizations[0].token.value)
    (capture,) = [r for r in emulator.records() if r.kind == "capture"]
    named = (capture.merchant_reference.removeprefix(f"{NAMESPACE}:"), capture.psp_reference)
    body = dispute_body(emulator, "CHARGEBACK", auth_key, payment, 3000, capture=named)
    (note,) = notifications(body, emulator.hmac_key, namespace=NAMESPACE)
    assert bo.handle_notification(note).unmatched  # the capture is in doubt
    if route == "recover":
        assert bo.recover().resolved == (named[0],)
    webhooks(bo, emulator)
    bo.recover()
    order = agreed(bo, emulator)
    assert (order.received, order.charged_back, order.returnable) == (
        usd("100.00"), usd("30.00"), usd("70.00"))  # fmt: skip
    assert bo.handle_notification(note).duplicate
