"""Adyen's webhook items as an engineer running Adyen sees them arrive (N2, N4).

Items Adyen sends for every payment, items of payments made outside ocop on the same
merchant account, and batches mixing them with ocop's own: each is applied, reported a
duplicate or kept for review, and none keeps the others of its batch from being applied.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ocop import Actor, BackOffice, Channel, Customer
from ocop.adapters.memory import ManualClock
from worlds import START, usd

Adyen = pytest.importorskip("Adyen")

from test_adyen_connector import (  # noqa: E402
    SHOPPER,
    processor_for,
    stored_card,
    webhooks,
)

from ocop.testing.adyen_emulator import AdyenEmulator  # noqa: E402


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
