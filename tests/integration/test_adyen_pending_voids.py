"""Adyen's asynchronous cancels and the pending-void rules, on the emulator (N1, N2, V5).

Adyen answers a cancel "received", with no amount; its CANCELLATION webhook says whether
it happened, and for how much. After each step the emulator's payments and ocop's
authorizations agree (V5): what Adyen can still capture is what ocop counts open.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ocop import BackOffice
from worlds import usd

Adyen = pytest.importorskip("Adyen")

from test_adyen_connector import NAMESPACE, agreed, webhooks, world  # noqa: E402

from ocop.adapters.adyen import decode_reference  # noqa: E402
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
