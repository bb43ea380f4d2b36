"""The PaymentProcessor contract suite; import it from :mod:`ocop.testing.contracts`."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop.adapters.memory import ManualClock
from ocop.domain.errors import IdempotencyConflict
from ocop.domain.money import Money
from ocop.domain.notifications import Notification, NotificationEvent
from ocop.domain.operations import Outcome, ProcessorResult
from ocop.domain.tokens import AuthorizationToken, CaptureToken, CardToken
from ocop.ports.processor import PaymentProcessor

#: When every contract test's clock starts.
START = datetime(2026, 1, 1, tzinfo=UTC)

P = TypeVar("P", bound=PaymentProcessor)


class KeyedEntry(Protocol):
    """One movement in a processor's own records: all the contract needs is its key."""

    @property
    def key(self) -> str: ...


class ProcessorContract(abc.ABC, Generic[P]):
    """What every :class:`~ocop.ports.processor.PaymentProcessor` guarantees (O4, V6, I5, N1).

    Hooks a subclass provides: :meth:`make_processor` and :meth:`ledger_of` (required);
    :meth:`card_for` (a card the processor accepts, for a sandbox's test cards). For a
    processor that can answer *pending* (N1): :meth:`pending` makes the next call of a
    kind answer pending and returns True, and :meth:`settle` settles a pending key and
    returns the notifications the processor sends for it. By default :meth:`pending`
    returns False, and the pending tests are skipped, saying so: a processor that
    never answers pending owes nothing there.
    """

    currency = "USD"

    @abc.abstractmethod
    def make_processor(self, clock: ManualClock) -> P:
        """A fresh processor, empty, reading time from ``clock``."""

    @abc.abstractmethod
    def ledger_of(self, processor: P) -> Sequence[KeyedEntry]:
        """The processor's own records of money movements, each with the operation key."""

    def card_for(self, processor: P) -> CardToken:
        """A card token the processor accepts; override for a real sandbox's test cards."""
        caps = processor.capabilities
        return CardToken(
            value="tok_contract_card",
            connector=caps.connector,
            service_account=caps.service_account,
            brand="visa",
            last4="4242",
        )

    def pending(self, processor: P, kind: str) -> bool:
        """Make the next ``kind`` call (capture, refund, void or adjust) answer pending, if
        the processor under test can be made to; whether it was."""
        return False

    def settle(self, processor: P, key: str, *, approve: bool) -> Sequence[Notification]:
        """Settle the pending operation of ``key`` (approved or declined) and return the
        notifications the processor sends for it. Needed once :meth:`pending` says True."""
        raise NotImplementedError

    # -- helpers -------------------------------------------------------------------------
    def money(self, amount: str) -> Money:
        return Money.of(amount, self.currency)

    def effects(self, processor: P, key: str) -> int:
        """How many movements the processor's records hold for ``key``."""
        return sum(1 for entry in self.ledger_of(processor) if entry.key == key)

    def approved(self, result: ProcessorResult) -> ProcessorResult:
        assert result.outcome is Outcome.APPROVED, result
        return result

    def authorization(self, processor: P, key: str, amount: str) -> AuthorizationToken:
        """Authorize ``amount`` under ``key`` and return the approved authorization token."""
        result = self.approved(
            processor.authorize(key, self.card_for(processor), self.money(amount))
        )
        assert isinstance(result.token, AuthorizationToken)
        return result.token

    def captured(
        self, processor: P, auth: AuthorizationToken, key: str, amount: str
    ) -> CaptureToken:
        result = self.approved(processor.capture(key, auth, self.money(amount)))
        assert isinstance(result.token, CaptureToken)
        return result.token

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(START)

    @pytest.fixture
    def processor(self, clock: ManualClock) -> P:
        return self.make_processor(clock)

    # -- idempotency (O4, V6) ------------------------------------------------------------
    def test_same_key_twice_moves_money_once_and_answers_the_same(self, processor: P) -> None:
        """A key replayed with the same request gets the first answer and no second movement."""
        card = self.card_for(processor)
        first = processor.authorize("k-auth", card, self.money("50.00"))
        again = processor.authorize("k-auth", card, self.money("50.00"))
        assert self.approved(first) == again
        assert self.effects(processor, "k-auth") == 1
        assert isinstance(first.token, AuthorizationToken)
        cap = processor.capture("k-cap", first.token, self.money("20.00"))
        assert processor.capture("k-cap", first.token, self.money("20.00")) == cap
        assert self.effects(processor, "k-cap") == 1

    def test_same_key_with_another_request_is_a_conflict(self, processor: P) -> None:
        """A key replayed with another amount raises IdempotencyConflict and moves nothing."""
        auth = self.authorization(processor, "k-auth", "50.00")
        with pytest.raises(IdempotencyConflict):
            processor.authorize("k-auth", self.card_for(processor), self.money("50.01"))
        self.captured(processor, auth, "k-cap", "10.00")
        with pytest.raises(IdempotencyConflict):
            processor.capture("k-cap", auth, self.money("11.00"))
        assert self.effects(processor, "k-auth") == 1
        assert self.effects(processor, "k-cap") == 1

    def test_lookup_returns_the_stored_answer(self, processor: P) -> None:
        """Looking up a key that was carried out returns the answer its caller got."""
        result = processor.authorize("k-auth", self.card_for(processor), self.money("5.00"))
        assert processor.lookup("k-auth") == result

    def test_lookup_of_an_unknown_key_spends_it(self, processor: P) -> None:
        """A key looked up before it arrives is NOT_RECEIVED and never carried out later."""
        assert processor.lookup("k-late").outcome is Outcome.NOT_RECEIVED
        late = processor.authorize("k-late", self.card_for(processor), self.money("5.00"))
        assert late.outcome is not Outcome.APPROVED
        assert self.effects(processor, "k-late") == 0
        assert processor.lookup("k-late").outcome is Outcome.NOT_RECEIVED

    # -- what real processors enforce ----------------------------------------------------
    def test_capture_beyond_the_open_amount_is_declined(self, processor: P) -> None:
        """A capture above what is open on the authorization is declined, not raised."""
        auth = self.authorization(processor, "k-auth", "100.00")
        over = processor.capture("k-over", auth, self.money("100.01"))
        assert over.outcome is Outcome.DECLINED
        assert self.effects(processor, "k-over") == 0
        self.captured(processor, auth, "k-cap-1", "60.00")
        late = processor.capture("k-cap-2", auth, self.money("40.00"))
        if processor.capabilities.multi_capture:
            assert late.outcome is Outcome.APPROVED
            spent = processor.capture("k-cap-3", auth, self.money("0.01"))
            assert spent.outcome is Outcome.DECLINED
        else:  # the first capture closed the authorization
            assert late.outcome is Outcome.DECLINED

    def test_refund_beyond_refundable_is_declined(self, processor: P) -> None:
        """Refunds of a capture are approved up to captured minus refunded, declined beyond."""
        auth = self.authorization(processor, "k-auth", "100.00")
        cap = self.captured(processor, auth, "k-cap", "80.00")
        self.approved(processor.refund("k-ref-1", cap, self.money("50.00")))
        assert processor.refund("k-ref-2", cap, self.money("30.01")).outcome is Outcome.DECLINED
        self.approved(processor.refund("k-ref-3", cap, self.money("30.00")))
        assert processor.refund("k-ref-4", cap, self.money("0.01")).outcome is Outcome.DECLINED
        assert self.effects(processor, "k-ref-2") + self.effects(processor, "k-ref-4") == 0

    def test_void_releases_the_open_amount(self, processor: P) -> None:
        """After a void nothing more can be captured on the authorization."""
        auth = self.authorization(processor, "k-auth", "100.00")
        if processor.capabilities.multi_capture:
            self.captured(processor, auth, "k-cap", "30.00")
        self.approved(processor.void("k-void", auth))
        assert processor.capture("k-late", auth, self.money("0.01")).outcome is Outcome.DECLINED
        assert processor.void("k-void-2", auth).outcome is Outcome.DECLINED

    def test_tokens_of_another_account_are_declined(self, processor: P) -> None:
        """Tokens of another connector or service account are declined (I5)."""
        own = self.card_for(processor)
        for connector, account in (
            (f"{own.connector}-x", own.service_account),
            (own.connector, f"{own.service_account}-x"),
        ):
            card = CardToken(
                value=own.value,
                connector=connector,
                service_account=account,
                brand=own.brand,
                last4=own.last4,
            )
            key = f"k-{connector}-{account}"
            assert processor.authorize(key, card, self.money("5.00")).outcome is Outcome.DECLINED
            assert self.effects(processor, key) == 0
        auth = self.authorization(processor, "k-auth", "100.00")
        cap = self.captured(processor, auth, "k-cap", "50.00")
        alien_auth = AuthorizationToken(auth.value, f"{auth.connector}-x", auth.service_account)
        alien_cap = CaptureToken(cap.value, cap.connector, f"{cap.service_account}-x")
        answers = (
            processor.capture("k-a1", alien_auth, self.money("1.00")),
            processor.void("k-a2", alien_auth),
            processor.refund("k-a3", alien_cap, self.money("1.00")),
        )
        assert [a.outcome for a in answers] == [Outcome.DECLINED] * 3
        assert sum(self.effects(processor, k) for k in ("k-a1", "k-a2", "k-a3")) == 0

    def test_approved_captures_never_exceed_the_authorization(self) -> None:
        """Whatever is asked, the approved captures of an authorization add up to at most it."""

        # The property is a local function: a @given method inherited by several
        # subclasses would be run from differing executors, which hypothesis refuses.
        @given(st.lists(st.integers(min_value=1, max_value=6_000), max_size=8))
        def captures_stay_within(cents: list[int]) -> None:
            processor = self.make_processor(ManualClock(START))
            auth = self.authorization(processor, "k-auth", "100.00")
            taken = Money.zero(self.currency)
            for n, amount in enumerate(Money.from_minor(c, self.currency) for c in cents):
                result = processor.capture(f"k-cap-{n}", auth, amount)
                assert result.outcome in (Outcome.APPROVED, Outcome.DECLINED)
                if result.approved:
                    taken = taken + amount
                assert self.effects(processor, f"k-cap-{n}") == (1 if result.approved else 0)
            assert taken <= self.money("100.00")

        captures_stay_within()

    # -- pending answers (N1) ------------------------------------------------------------
    def made_pending(self, processor: P, kind: str) -> None:
        if not self.pending(processor, kind):
            pytest.skip(f"this processor cannot be made to answer a {kind} pending")

    def outcome_notice(self, processor: P, key: str, *, approve: bool) -> Notification:
        """The one outcome notification settling ``key`` sends."""
        notes = [n for n in self.settle(processor, key, approve=approve) if n.key == key]
        assert len(notes) == 1, notes
        note = notes[0]
        assert note.event is NotificationEvent.OUTCOME
        assert note.success is approve
        return note

    def test_a_pending_capture_holds_its_amount_until_approved(self, processor: P) -> None:
        """A pending capture carries its capture token, counts against its authorization,
        answers PENDING to a replay and a lookup, and once approved is approved."""
        auth = self.authorization(processor, "k-auth", "100.00")
        self.made_pending(processor, "capture")
        held = processor.capture("k-cap", auth, self.money("60.00"))
        assert held.outcome is Outcome.PENDING, held
        assert isinstance(held.token, CaptureToken)
        assert processor.capture("k-cap", auth, self.money("60.00")) == held
        assert processor.lookup("k-cap") == held
        assert processor.capture("k-over", auth, self.money("40.01")).outcome is Outcome.DECLINED
        note = self.outcome_notice(processor, "k-cap", approve=True)
        assert (note.reference, note.amount) == (held.token.value, self.money("60.00"))
        final = processor.lookup("k-cap")
        assert final.outcome is Outcome.APPROVED
        assert final.token == held.token
        assert processor.capture("k-cap", auth, self.money("60.00")) == final
        assert self.effects(processor, "k-cap") == 1

    def test_a_pending_capture_declined_gives_the_money_back(self, processor: P) -> None:
        """A pending capture declined when settled moved nothing: the authorization can be
        captured in full again."""
        auth = self.authorization(processor, "k-auth", "100.00")
        self.made_pending(processor, "capture")
        held = processor.capture("k-cap", auth, self.money("60.00"))
        assert held.outcome is Outcome.PENDING, held
        self.outcome_notice(processor, "k-cap", approve=False)
        assert processor.lookup("k-cap").outcome is Outcome.DECLINED
        assert self.effects(processor, "k-cap") == 0
        self.captured(processor, auth, "k-cap-2", "100.00")

    def test_a_capture_beyond_the_open_amount_is_declined_not_pending(self, processor: P) -> None:
        """A call scripted pending is still checked: what would be declined is declined."""
        auth = self.authorization(processor, "k-auth", "100.00")
        self.made_pending(processor, "capture")
        over = processor.capture("k-over", auth, self.money("100.01"))
        assert over.outcome is Outcome.DECLINED
        assert self.effects(processor, "k-over") == 0

    def test_a_pending_refund_counts_against_its_capture(self, processor: P) -> None:
        """A pending refund counts against its capture; declined when settled, the capture
        can be refunded in full again."""
        auth = self.authorization(processor, "k-auth", "100.00")
        cap = self.captured(processor, auth, "k-cap", "80.00")
        self.made_pending(processor, "refund")
        held = processor.refund("k-ref", cap, self.money("50.00"))
        assert held.outcome is Outcome.PENDING, held
        assert processor.refund("k-ref-2", cap, self.money("30.01")).outcome is Outcome.DECLINED
        note = self.outcome_notice(processor, "k-ref", approve=False)
        assert note.amount == self.money("50.00")
        assert self.effects(processor, "k-ref") == 0
        self.approved(processor.refund("k-ref-3", cap, self.money("80.00")))

    def test_a_pending_void_releases_once_approved(self, processor: P) -> None:
        """A pending void holds what it releases; approved, the authorization is closed."""
        auth = self.authorization(processor, "k-auth", "100.00")
        self.made_pending(processor, "void")
        held = processor.void("k-void", auth)
        assert held.outcome is Outcome.PENDING, held
        assert processor.capture("k-late", auth, self.money("0.01")).outcome is Outcome.DECLINED
        self.outcome_notice(processor, "k-void", approve=True)
        assert self.effects(processor, "k-void") == 1
        late = processor.capture("k-late-2", auth, self.money("0.01"))
        assert late.outcome is Outcome.DECLINED
