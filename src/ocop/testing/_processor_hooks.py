"""The hooks and helpers of :class:`ocop.testing.contracts.ProcessorContract`.

A processor under the contract is driven through these hooks, so that one suite fits a
processor that answers at once, one that answers *pending* and settles by notification
(N1), and a real processor's sandbox or a local emulator of it.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar

import attrs
import pytest
from hypothesis import HealthCheck, settings

from ocop.adapters.memory import ManualClock
from ocop.domain.money import Money
from ocop.domain.notifications import Notification, NotificationEvent
from ocop.domain.operations import Outcome, ProcessorResult
from ocop.domain.tokens import AuthorizationToken, CaptureToken, CardToken
from ocop.ports.processor import PaymentProcessor, RecoveryMethod

#: When every contract test's clock starts.
START = datetime(2026, 1, 1, tzinfo=UTC)

P = TypeVar("P", bound=PaymentProcessor)


def adapter_property() -> settings:
    """The settings of a property whose examples call the adapter under test: the loaded
    profile's (the adapter author's), with no deadline and no health check on slow
    examples, since a database, a ledger or a sandbox across the network may take longer
    than hypothesis' 200 ms and that says nothing of the port's contract. Made when the
    test runs, after the author's profile is loaded."""
    loaded = settings()
    return settings(
        loaded,
        deadline=None,
        suppress_health_check=[*loaded.suppress_health_check, HealthCheck.too_slow],
    )


class KeyedEntry(Protocol):
    """One movement in a processor's own records: all the contract needs is its key."""

    @property
    def key(self) -> str: ...


class ProcessorHooks(abc.ABC, Generic[P]):
    """How the contract drives the processor under test; see :class:`ProcessorContract`."""

    currency = "USD"

    # -- required hooks -------------------------------------------------------------------
    @abc.abstractmethod
    def make_processor(self, clock: ManualClock) -> P:
        """A fresh processor, empty, reading time from ``clock``."""

    @abc.abstractmethod
    def ledger_of(self, processor: P) -> Sequence[KeyedEntry]:
        """The processor's own records of money movements, each with the operation key."""

    # -- optional hooks -------------------------------------------------------------------
    def card_for(self, processor: P) -> CardToken:
        """A card token the processor accepts; override for a real sandbox's test cards."""
        caps = processor.capabilities
        return CardToken(
            value="tok_contract_card",
            connector=caps.connector,
            service_account=caps.service_account,
            brand="visa",
            last4="4242",
            reusable=True,
        )

    def saved_card(self, processor: P, customer_id: str) -> CardToken:
        """A reusable card the processor will save for ``customer_id``."""
        return self.card_for(processor)

    def good_cvv(self, processor: P) -> str:
        """A CVV the processor accepts for :meth:`saved_card` (a sandbox's test value)."""
        return "123"

    def wrong_cvv(self, processor: P) -> str:
        """A CVV the processor refuses for :meth:`saved_card` (by default, a malformed one)."""
        return "12"

    def expire(self, processor: P, clock: ManualClock, authorization: AuthorizationToken) -> None:
        """Make ``authorization`` expire; by default the clock moves on 60 days, past any
        card scheme's authorization lifetime."""
        clock.advance(days=60)

    def pending(self, processor: P, kind: str) -> bool:
        """Make the next ``kind`` call (capture, refund, void or adjust) answer pending and
        wait for :meth:`settle`, if the processor under test can be made to; whether it was."""
        return False

    def settle(self, processor: P, key: str, *, approve: bool) -> Sequence[Notification]:
        """Settle the pending operation of ``key`` (approved or declined) and return the
        notifications the processor sends for it. Needed once :meth:`pending` says True."""
        raise NotImplementedError

    def notifications(self, processor: P) -> Sequence[Notification]:
        """The notifications the processor sent since last asked: for a processor that
        answers pending by itself (every capture, say), the outcomes of those calls."""
        return ()

    def lose_answer(self, processor: P, kind: str) -> bool:
        """Make the next ``kind`` call be carried out and its answer lost on the way back
        (a dropped connection), if the processor under test can be made to; whether it was."""
        return False

    # -- helpers --------------------------------------------------------------------------
    def money(self, amount: str) -> Money:
        return Money.of(amount, self.currency)

    def effects(self, processor: P, key: str) -> int:
        """How many movements the processor's records hold for ``key``."""
        return sum(1 for entry in self.ledger_of(processor) if entry.key == key)

    def heard(self, processor: P, notes: Sequence[Notification]) -> None:
        """Keep notifications until a test asks for the one of its key."""
        kept = self.__dict__.setdefault("_heard", {})
        for note in notes:
            kept[(id(processor), note.key, note.event)] = (processor, note)

    def outcome_of(self, processor: P, key: str) -> Notification | None:
        """The outcome notification of ``key`` the processor sent, if it sent one yet."""
        self.heard(processor, self.notifications(processor))
        kept = self.__dict__.get("_heard", {})
        found = kept.get((id(processor), key, NotificationEvent.OUTCOME))
        return None if found is None else found[1]

    def final(self, processor: P, result: ProcessorResult) -> ProcessorResult:
        """The final answer of a call: ``result`` itself, or for a pending one, the answer
        its outcome notification stands for (a pending call with no notification yet
        stays pending)."""
        if result.outcome is not Outcome.PENDING:
            return result
        note = self.outcome_of(processor, result.key)
        if note is None:
            return result
        outcome = Outcome.APPROVED if note.success else Outcome.DECLINED
        return attrs.evolve(result, outcome=outcome, reason=note.reason)

    def asked_again(
        self, processor: P, key: str, call: Callable[[], ProcessorResult]
    ) -> ProcessorResult:
        """What the processor says of ``key`` asked again its own way (N3): a lookup, or
        the same request replayed under the same key."""
        if processor.capabilities.recovery is RecoveryMethod.REPLAY:
            return call()
        return processor.lookup(key)

    def approved(self, result: ProcessorResult) -> ProcessorResult:
        assert result.outcome is Outcome.APPROVED, result
        return result

    def authorization(self, processor: P, key: str, amount: str) -> AuthorizationToken:
        """Authorize ``amount`` under ``key`` and return the approved authorization token."""
        answer = processor.authorize(key, self.card_for(processor), self.money(amount))
        result = self.approved(self.final(processor, answer))
        assert isinstance(result.token, AuthorizationToken)
        return result.token

    def captured(
        self, processor: P, auth: AuthorizationToken, key: str, amount: str
    ) -> CaptureToken:
        answer = processor.capture(key, auth, self.money(amount))
        result = self.approved(self.final(processor, answer))
        assert isinstance(result.token, CaptureToken)
        return result.token

    def refunded(
        self, processor: P, capture: CaptureToken
    ) -> Callable[[str, str], ProcessorResult]:
        """A function refunding ``capture``: (key, amount) -> the refund's final answer."""

        def refund(key: str, amount: str) -> ProcessorResult:
            return self.final(processor, processor.refund(key, capture, self.money(amount)))

        return refund

    def made_pending(self, processor: P, kind: str) -> None:
        if not self.pending(processor, kind):
            pytest.skip(f"this processor cannot be made to answer a {kind} pending")

    def outcome_notice(self, processor: P, key: str, *, approve: bool) -> Notification:
        """The one outcome notification settling ``key`` sends."""
        sent = self.settle(processor, key, approve=approve)
        self.heard(processor, sent)
        notes = [n for n in sent if n.key == key and n.event is NotificationEvent.OUTCOME]
        assert len(notes) == 1, notes
        assert notes[0].success is approve
        return notes[0]

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(START)

    @pytest.fixture
    def processor(self, clock: ManualClock) -> P:
        return self.make_processor(clock)
