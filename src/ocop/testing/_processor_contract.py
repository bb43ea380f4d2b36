"""The PaymentProcessor contract suite; import it from :mod:`ocop.testing.contracts`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop.adapters.memory import ManualClock
from ocop.domain.errors import IdempotencyConflict
from ocop.domain.money import Money
from ocop.domain.operations import Outcome, ProcessorResult
from ocop.domain.tokens import AuthorizationToken, CaptureToken, CardToken
from ocop.ports.processor import RecoveryMethod
from ocop.testing._processor_hooks import START, P, ProcessorHooks, adapter_property

__all__ = ["ProcessorContract"]


class ProcessorContract(ProcessorHooks[P]):
    """What every :class:`~ocop.ports.processor.PaymentProcessor` guarantees (O4, V6, I5,
    N1, N3): every port operation, idempotency by key, the limits real processors enforce,
    pending answers settled by notification, and a lost answer found again by its key.

    Subclass it in a test module (the class name starting with ``Test``) and give the two
    required hooks, :meth:`make_processor` and :meth:`ledger_of`. The optional hooks fit
    the suite to what the processor is:

    - :meth:`card_for`, :meth:`saved_card`, :meth:`good_cvv`, :meth:`wrong_cvv`: a
      sandbox's test cards and security codes;
    - :meth:`notifications`: for a processor that answers calls *pending* by itself (as
      Adyen answers every capture), the notifications it sent, so that the suite judges
      each call by its final outcome (:meth:`final`);
    - :meth:`pending` and :meth:`settle`: make the next call of a kind answer pending,
      then settle it approved or declined, returning the processor's notifications;
    - :meth:`lose_answer`: carry out the next call of a kind and drop its answer;
    - :meth:`expire`: make an authorization expire (default: the clock moves 60 days).

    Without :meth:`pending` or :meth:`lose_answer` the tests that need them are skipped,
    saying so: a processor that cannot be driven there owes nothing there. Lookups and
    replays follow :attr:`~ocop.ports.processor.ProcessorCapabilities.recovery`.
    """

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

    def test_a_key_asked_again_returns_the_stored_answer(self, processor: P) -> None:
        """A key carried out, asked again the processor's way (lookup or replay, N3),
        returns the answer its caller got."""
        card, amount = self.card_for(processor), self.money("5.00")
        result = processor.authorize("k-auth", card, amount)
        again = self.asked_again(
            processor, "k-auth", lambda: processor.authorize("k-auth", card, amount)
        )
        assert again == result
        assert self.effects(processor, "k-auth") == 1

    def test_an_unknown_key_decides_only_what_the_processor_promises(self, processor: P) -> None:
        """A key looked up before it arrives: NOT_RECEIVED, and spent (never carried out
        later), where the processor keeps every key it received; otherwise the lookup
        decides nothing (N3)."""
        answer = processor.lookup("k-late")
        if not processor.capabilities.unknown_key_never_received:
            assert answer.outcome in (Outcome.UNKNOWN, Outcome.NOT_RECEIVED), answer
            return
        assert answer.outcome is Outcome.NOT_RECEIVED
        late = processor.authorize("k-late", self.card_for(processor), self.money("5.00"))
        assert late.outcome is not Outcome.APPROVED
        assert self.effects(processor, "k-late") == 0
        assert processor.lookup("k-late").outcome is Outcome.NOT_RECEIVED

    def test_a_call_whose_answer_was_lost_is_found_by_its_key(self, processor: P) -> None:
        """A capture carried out whose answer never came back (a dropped connection)
        answers UNKNOWN; asked again by its key (lookup or replay, N3) it is the capture
        that happened, once, and it counts against its authorization."""
        auth = self.authorization(processor, "k-auth", "100.00")
        if not self.lose_answer(processor, "capture"):
            pytest.skip("this processor cannot be made to lose an answer")
        amount = self.money("30.00")
        lost = processor.capture("k-cap", auth, amount)
        assert lost.outcome is Outcome.UNKNOWN, lost
        again = self.asked_again(
            processor, "k-cap", lambda: processor.capture("k-cap", auth, amount)
        )
        assert isinstance(again.token, CaptureToken)
        self.approved(self.final(processor, again))
        assert self.effects(processor, "k-cap") == 1
        over = processor.capture("k-over", auth, self.money("70.01"))
        assert self.final(processor, over).outcome is Outcome.DECLINED

    # -- what real processors enforce ----------------------------------------------------
    def test_capture_beyond_the_open_amount_is_declined(self, processor: P) -> None:
        """A capture above what is open on the authorization is declined, not raised."""
        auth = self.authorization(processor, "k-auth", "100.00")
        over = processor.capture("k-over", auth, self.money("100.01"))
        assert self.final(processor, over).outcome is Outcome.DECLINED
        assert self.effects(processor, "k-over") == 0
        self.captured(processor, auth, "k-cap-1", "60.00")
        late = self.final(processor, processor.capture("k-cap-2", auth, self.money("40.00")))
        if processor.capabilities.multi_capture:
            assert late.outcome is Outcome.APPROVED
            spent = processor.capture("k-cap-3", auth, self.money("0.01"))
            assert self.final(processor, spent).outcome is Outcome.DECLINED
        else:  # the first capture closed the authorization
            assert late.outcome is Outcome.DECLINED

    def test_refund_beyond_refundable_is_declined(self, processor: P) -> None:
        """Refunds of a capture are approved up to captured minus refunded, declined beyond."""
        auth = self.authorization(processor, "k-auth", "100.00")
        cap = self.captured(processor, auth, "k-cap", "80.00")
        refund = self.refunded(processor, cap)
        self.approved(refund("k-ref-1", "50.00"))
        assert refund("k-ref-2", "30.01").outcome is Outcome.DECLINED
        self.approved(refund("k-ref-3", "30.00"))
        assert refund("k-ref-4", "0.01").outcome is Outcome.DECLINED
        assert self.effects(processor, "k-ref-2") + self.effects(processor, "k-ref-4") == 0

    def test_void_releases_the_open_amount(self, processor: P) -> None:
        """After a void nothing more can be captured on the authorization."""
        auth = self.authorization(processor, "k-auth", "100.00")
        if processor.capabilities.multi_capture:
            self.captured(processor, auth, "k-cap", "30.00")
        self.approved(self.final(processor, processor.void("k-void", auth)))
        late = processor.capture("k-late", auth, self.money("0.01"))
        assert self.final(processor, late).outcome is Outcome.DECLINED
        assert self.final(processor, processor.void("k-void-2", auth)).outcome is Outcome.DECLINED

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
            answer = processor.authorize(key, card, self.money("5.00"))
            assert self.final(processor, answer).outcome is Outcome.DECLINED
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
        assert [self.final(processor, a).outcome for a in answers] == [Outcome.DECLINED] * 3
        assert sum(self.effects(processor, k) for k in ("k-a1", "k-a2", "k-a3")) == 0

    def test_approved_captures_never_exceed_the_authorization(self) -> None:
        """Whatever is asked, the approved captures of an authorization add up to at most it."""

        # The property is a local function: a @given method inherited by several
        # subclasses would be run from differing executors, which hypothesis refuses.
        @adapter_property()
        @given(st.lists(st.integers(min_value=1, max_value=6_000), max_size=8))
        def captures_stay_within(cents: list[int]) -> None:
            processor = self.make_processor(ManualClock(START))
            auth = self.authorization(processor, "k-auth", "100.00")
            taken = Money.zero(self.currency)
            for n, amount in enumerate(Money.from_minor(c, self.currency) for c in cents):
                result = self.final(processor, processor.capture(f"k-cap-{n}", auth, amount))
                assert result.outcome in (Outcome.APPROVED, Outcome.DECLINED)
                if result.approved:
                    taken = taken + amount
                assert self.effects(processor, f"k-cap-{n}") == (1 if result.approved else 0)
            assert taken <= self.money("100.00")

        captures_stay_within()

    # -- the other port operations -------------------------------------------------------
    def test_a_saved_card_is_tokenized_with_its_cvv_for_its_customer_only(
        self, processor: P
    ) -> None:
        """A card saved for a customer is listed for them only; tokenized with its CVV it
        gives a card token that authorizes; a wrong CVV or another customer is declined."""
        saved = processor.save_instrument("C-1", self.saved_card(processor, "C-1"))
        assert saved.customer_id == "C-1"
        assert [i.instrument_id for i in processor.instruments("C-1")] == [saved.instrument_id]
        assert processor.instruments("C-2") == ()
        token = self.approved(
            processor.tokenize("k-tok", "C-1", saved.instrument_id, self.good_cvv(processor))
        ).token
        assert isinstance(token, CardToken)
        self.approved(processor.authorize("k-auth", token, self.money("25.00")))
        wrong = processor.tokenize("k-tok-2", "C-1", saved.instrument_id, self.wrong_cvv(processor))
        assert wrong.outcome is Outcome.DECLINED
        other = processor.tokenize("k-tok-3", "C-2", saved.instrument_id, self.good_cvv(processor))
        assert other.outcome is Outcome.DECLINED

    def test_adjust_changes_what_can_be_captured(self, processor: P) -> None:
        """An adjusted authorization can be captured up to its new amount, not beyond;
        a processor without adjustments declines them and moves nothing."""
        auth = self.authorization(processor, "k-auth", "100.00")
        adjusted = self.final(processor, processor.adjust("k-adj", auth, self.money("120.00")))
        if not processor.capabilities.adjustments:
            assert adjusted.outcome is Outcome.DECLINED
            assert self.effects(processor, "k-adj") == 0
            return
        self.approved(adjusted)
        again = processor.adjust("k-adj", auth, self.money("120.00"))
        assert again.outcome in (Outcome.APPROVED, Outcome.PENDING)
        assert self.effects(processor, "k-adj") == 1
        over = processor.capture("k-over", auth, self.money("120.01"))
        assert self.final(processor, over).outcome is Outcome.DECLINED
        self.captured(processor, auth, "k-cap", "120.00")

    def test_an_unlinked_refund_pays_once_where_the_account_allows_it(self, processor: P) -> None:
        """An unlinked refund is paid once per key where the account allows unlinked
        refunds, and declined, moving nothing, where it does not."""
        card, amount = self.card_for(processor), self.money("10.00")
        result = self.final(processor, processor.unlinked_refund("k-unl", card, amount))
        if not processor.capabilities.unlinked_refunds:
            assert result.outcome is Outcome.DECLINED
            assert self.effects(processor, "k-unl") == 0
            return
        self.approved(result)
        again = processor.unlinked_refund("k-unl", card, amount)
        assert again.outcome in (Outcome.APPROVED, Outcome.PENDING)
        assert self.effects(processor, "k-unl") == 1

    def test_an_expired_authorization_cannot_be_captured(
        self, processor: P, clock: ManualClock
    ) -> None:
        """Once an authorization expired, a capture on it is declined and moves nothing."""
        auth = self.authorization(processor, "k-auth", "100.00")
        self.expire(processor, clock, auth)
        late = processor.capture("k-cap", auth, self.money("10.00"))
        assert self.final(processor, late).outcome is Outcome.DECLINED
        assert self.effects(processor, "k-cap") == 0

    # -- pending answers (N1) ------------------------------------------------------------
    def test_a_pending_capture_holds_its_amount_until_approved(self, processor: P) -> None:
        """A pending capture carries its capture token, counts against its authorization,
        answers PENDING to a replay and a lookup, and once approved is approved."""
        auth = self.authorization(processor, "k-auth", "100.00")
        self.made_pending(processor, "capture")
        held = processor.capture("k-cap", auth, self.money("60.00"))
        assert held.outcome is Outcome.PENDING, held
        assert isinstance(held.token, CaptureToken)

        def again() -> ProcessorResult:
            return processor.capture("k-cap", auth, self.money("60.00"))

        assert again() == held
        assert self.asked_again(processor, "k-cap", again) == held
        over = processor.capture("k-over", auth, self.money("40.01"))
        assert self.final(processor, over).outcome is Outcome.DECLINED
        note = self.outcome_notice(processor, "k-cap", approve=True)
        assert (note.reference, note.amount) == (held.token.value, self.money("60.00"))
        final = self.asked_again(processor, "k-cap", again)
        # Looked up it is approved now; replayed, the processor repeats its first answer.
        assert final.outcome in (Outcome.APPROVED, Outcome.PENDING), final
        if processor.capabilities.recovery is RecoveryMethod.LOOKUP:
            assert final.outcome is Outcome.APPROVED
        assert final.token == held.token
        assert again() == final
        assert self.effects(processor, "k-cap") == 1

    def test_a_pending_capture_declined_gives_the_money_back(self, processor: P) -> None:
        """A pending capture declined when settled moved nothing: the authorization can be
        captured in full again."""
        auth = self.authorization(processor, "k-auth", "100.00")
        self.made_pending(processor, "capture")
        held = processor.capture("k-cap", auth, self.money("60.00"))
        assert held.outcome is Outcome.PENDING, held
        self.outcome_notice(processor, "k-cap", approve=False)
        if processor.capabilities.recovery is RecoveryMethod.LOOKUP:
            assert processor.lookup("k-cap").outcome is Outcome.DECLINED
        assert self.effects(processor, "k-cap") == 0
        self.captured(processor, auth, "k-cap-2", "100.00")

    def test_a_capture_beyond_the_open_amount_is_declined_even_if_pending(
        self, processor: P
    ) -> None:
        """A call made to answer pending is still checked: what would be declined is
        declined (at once, or by its notification)."""
        auth = self.authorization(processor, "k-auth", "100.00")
        self.made_pending(processor, "capture")
        over = processor.capture("k-over", auth, self.money("100.01"))
        assert self.final(processor, over).outcome is Outcome.DECLINED
        assert self.effects(processor, "k-over") == 0

    def test_a_pending_refund_counts_against_its_capture(self, processor: P) -> None:
        """A pending refund counts against its capture; declined when settled, the capture
        can be refunded in full again."""
        auth = self.authorization(processor, "k-auth", "100.00")
        cap = self.captured(processor, auth, "k-cap", "80.00")
        self.made_pending(processor, "refund")
        held = processor.refund("k-ref", cap, self.money("50.00"))
        assert held.outcome is Outcome.PENDING, held
        refund = self.refunded(processor, cap)
        assert refund("k-ref-2", "30.01").outcome is Outcome.DECLINED
        note = self.outcome_notice(processor, "k-ref", approve=False)
        assert note.amount == self.money("50.00")
        assert self.effects(processor, "k-ref") == 0
        self.approved(refund("k-ref-3", "80.00"))

    def test_a_pending_void_releases_once_approved(self, processor: P) -> None:
        """A pending void holds what it releases; approved, the authorization is closed."""
        auth = self.authorization(processor, "k-auth", "100.00")
        self.made_pending(processor, "void")
        held = processor.void("k-void", auth)
        assert held.outcome is Outcome.PENDING, held
        early = processor.capture("k-late", auth, self.money("0.01"))
        assert self.final(processor, early).outcome is Outcome.DECLINED
        self.outcome_notice(processor, "k-void", approve=True)
        assert self.effects(processor, "k-void") == 1
        late = processor.capture("k-late-2", auth, self.money("0.01"))
        assert self.final(processor, late).outcome is Outcome.DECLINED
