"""The processor contract on the Adyen connector, against the local emulator of Adyen.

Adyen answers every modification "received" (pending, N1) and reports its outcome in a
signed webhook: the suite judges each call by the outcome its webhook brings
(``notifications``). Held modifications (``pending``/``settle``) are the emulator's
``held`` script and ``decide``; a dropped connection is its ``drop`` script; expiry is
its ``expire`` (Adyen's EXPIRE).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

import attrs
import pytest

from ocop.adapters.memory import ManualClock
from ocop.domain.notifications import Notification
from ocop.domain.tokens import AuthorizationToken, CardToken
from ocop.testing.contracts import KeyedEntry, ProcessorContract

pytest.importorskip("Adyen")

from ocop.adapters.adyen import (
    AdyenConfig,
    AdyenProcessor,
    card_token,
    decode_reference,
    reference,
)
from ocop.adapters.adyen_webhooks import notifications
from ocop.testing.adyen_emulator import AdyenEmulator

#: ocop's kinds of call as the emulator's scripts name them.
KINDS = {
    "authorize": "payments",
    "capture": "captures",
    "refund": "refunds",
    "void": "cancels",
    "adjust": "amountUpdates",
}
#: The states of the emulator's records that moved money (or reserved it).
MOVED = frozenset({"authorised", "succeeded"})


@attrs.frozen
class Entry:
    """An emulator record as the contract reads it: the ocop key it was sent under."""

    key: str
    kind: str
    value: int


class TestAdyenContract(ProcessorContract[AdyenProcessor]):
    """The processor contract, run on the Adyen connector against the emulator."""

    @pytest.fixture(autouse=True)
    def _emulator(self) -> Iterator[None]:
        with AdyenEmulator() as emulator:
            self.emu = emulator
            self.namespaces = itertools.count(1)
            yield

    def make_processor(self, clock: ManualClock) -> AdyenProcessor:
        # A namespace per processor: the suite's keys repeat from one processor to the next.
        config = AdyenConfig(api_key=self.emu.api_key, merchant_account=self.emu.merchant_account,
                             namespace=f"contract-{next(self.namespaces)}",
                             checkout_url=self.emu.checkout_url, timeout_seconds=5)  # fmt: skip
        return AdyenProcessor(config)

    def ledger_of(self, processor: AdyenProcessor) -> Sequence[KeyedEntry]:
        prefix = f"{processor.config.namespace}:"
        return [
            Entry(r.merchant_reference.removeprefix(prefix), r.kind, r.value)
            for r in self.emu.records()
            if r.merchant_reference.startswith(prefix) and r.state in MOVED
        ]

    def saved_card(self, processor: AdyenProcessor, customer_id: str) -> CardToken:
        """A card stored at the emulator for the shopper, as a channel would store it."""
        stored = processor._recurring.stored_payment_methods(
            {
                "merchantAccount": self.emu.merchant_account,
                "shopperReference": customer_id,
                "recurringProcessingModel": "CardOnFile",
                "paymentMethod": {"type": "scheme", "encryptedCardNumber": "test_4111111111111111"},
            }
        ).message
        return card_token(customer_id, stored["id"], processor.config.account, brand="visa",
                          last4=stored["lastFour"])  # fmt: skip

    def card_for(self, processor: AdyenProcessor) -> CardToken:
        if not hasattr(self, "card"):
            self.card = self.saved_card(processor, "contract-shopper")
        return self.card

    def good_cvv(self, processor: AdyenProcessor) -> str:
        return "737"  # Adyen's test cards' security code

    def wrong_cvv(self, processor: AdyenProcessor) -> str:
        return "000"

    def expire(
        self, processor: AdyenProcessor, clock: ManualClock, authorization: AuthorizationToken
    ) -> None:
        self.emu.expire(decode_reference(authorization.value))

    def pending(self, processor: AdyenProcessor, kind: str) -> bool:
        self.emu.script(KINDS[kind], "held")
        return True

    def settle(
        self, processor: AdyenProcessor, key: str, *, approve: bool
    ) -> Sequence[Notification]:
        self.emu.decide(reference(processor.config.namespace, key), success=approve)
        return self.notifications(processor)

    def notifications(self, processor: AdyenProcessor) -> Sequence[Notification]:
        bodies = self.emu.deliver(lambda body: None)
        ns = processor.config.namespace
        return [n for body in bodies for n in notifications(body, self.emu.hmac_key, namespace=ns)]

    def lose_answer(self, processor: AdyenProcessor, kind: str) -> bool:
        self.emu.script(KINDS[kind], "drop")
        return True


class TestSingleCaptureAdyenContract(TestAdyenContract):
    """The contract on a merchant account without multiple partial captures."""

    @pytest.fixture(autouse=True)
    def _emulator(self) -> Iterator[None]:
        with AdyenEmulator(multi_capture=False) as emulator:
            self.emu = emulator
            self.namespaces = itertools.count(1)
            yield

    def make_processor(self, clock: ManualClock) -> AdyenProcessor:
        config = AdyenConfig(api_key=self.emu.api_key, merchant_account=self.emu.merchant_account,
                             namespace=f"single-{next(self.namespaces)}", multi_capture=False,
                             checkout_url=self.emu.checkout_url, timeout_seconds=5)  # fmt: skip
        return AdyenProcessor(config)
