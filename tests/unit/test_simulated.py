"""The simulated processor: the port contract, scripted faults and its ledger."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SCRIPTS, SimulatedCrash, SimulatedProcessor
from ocop.domain.errors import IdempotencyConflict, InvalidInput, OcopError
from ocop.domain.money import Money
from ocop.domain.notifications import Notification
from ocop.domain.operations import Outcome, ProcessorResult
from ocop.domain.tokens import AuthorizationToken, CaptureToken, CardToken
from ocop.testing.contracts import START, KeyedEntry, ProcessorContract
from worlds import without_run_noise

CARD = CardToken(value="tok_1", connector="sim", service_account="sa-1", brand="visa", last4="1111")


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def make_sim(**options: bool | int) -> tuple[SimulatedProcessor, ManualClock]:
    clock = ManualClock(START)
    return SimulatedProcessor(clock=clock, **options), clock  # type: ignore[arg-type]


def auth_token(result: ProcessorResult) -> AuthorizationToken:
    assert isinstance(result.token, AuthorizationToken), result
    return result.token


class TestSimulatedProcessorContract(ProcessorContract[SimulatedProcessor]):
    """The port contract, run against the simulator."""

    def make_processor(self, clock: ManualClock) -> SimulatedProcessor:
        return SimulatedProcessor(clock=clock)

    def ledger_of(self, processor: SimulatedProcessor) -> Sequence[KeyedEntry]:
        return processor.ledger()

    def pending(self, processor: SimulatedProcessor, kind: str) -> bool:
        processor.script(kind, "pending")
        return True

    def settle(
        self, processor: SimulatedProcessor, key: str, *, approve: bool
    ) -> Sequence[Notification]:
        return processor.settle_pending("approve" if approve else "decline", keys=[key])

    def lose_answer(self, processor: SimulatedProcessor, kind: str) -> bool:
        processor.script(kind, "timeout_after_success")
        return True


class TestSingleCaptureSimulatorContract(TestSimulatedProcessorContract):
    """The port contract, run against a simulator without multi-capture or adjustments."""

    def make_processor(self, clock: ManualClock) -> SimulatedProcessor:
        return SimulatedProcessor(clock=clock, multi_capture=False, adjustments=False)


class TestDurableSimulatorContract(TestSimulatedProcessorContract):
    """The port contract, run against the simulator keeping its records in a file."""

    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path
        self.files = itertools.count(1)

    def make_processor(self, clock: ManualClock) -> SimulatedProcessor:
        return SimulatedProcessor(clock=clock, state=self.folder / f"sim-{next(self.files)}.db")


class NeverPendingContract(ProcessorContract[SimulatedProcessor]):
    """The suite for a processor that never answers pending: without the pending hooks
    (not collected here: what its pending tests do is checked below)."""

    def make_processor(self, clock: ManualClock) -> SimulatedProcessor:
        return SimulatedProcessor(clock=clock, multi_capture=False)

    def ledger_of(self, processor: SimulatedProcessor) -> Sequence[KeyedEntry]:
        return processor.ledger()


def test_the_settle_hook_is_needed_only_by_processors_that_answer_pending() -> None:
    """The contract's default settle hook says it is not implemented; without the pending
    hook, the suite's pending tests skip, saying why."""
    sim, _ = make_sim()
    contract = NeverPendingContract()
    with pytest.raises(NotImplementedError):
        contract.settle(sim, "k1", approve=True)
    assert contract.pending(sim, "capture") is False
    with pytest.raises(pytest.skip.Exception, match="cannot be made to answer a capture pending"):
        contract.made_pending(sim, "capture")


def test_scripted_decline_declines_once_and_moves_nothing() -> None:
    """A scripted decline answers DECLINED for the next call of its kind only."""
    sim, _ = make_sim()
    sim.script("authorize", "decline")
    assert sim.authorize("k1", CARD, usd("10.00")).outcome is Outcome.DECLINED
    assert sim.authorize("k1", CARD, usd("10.00")).outcome is Outcome.DECLINED
    assert sim.ledger() == ()
    assert sim.authorize("k2", CARD, usd("10.00")).approved


def test_timeout_before_leaves_nothing_and_lookup_spends_the_key() -> None:
    """A call lost on the way answers UNKNOWN; a lookup finds nothing and spends its key."""
    sim, _ = make_sim()
    sim.script("authorize", "timeout_before")
    assert sim.authorize("k1", CARD, usd("10.00")).outcome is Outcome.UNKNOWN
    assert sim.ledger() == ()
    assert sim.lookup("k1").outcome is Outcome.NOT_RECEIVED
    assert sim.authorize("k1", CARD, usd("10.00")).outcome is Outcome.NOT_RECEIVED
    assert sim.ledger() == ()


def test_retry_after_timeout_before_with_the_same_key_runs_once() -> None:
    """Retrying a lost call with its key (no lookup in between) carries it out once."""
    sim, _ = make_sim()
    sim.script("authorize", "timeout_before")
    sim.authorize("k1", CARD, usd("10.00"))
    retried = sim.authorize("k1", CARD, usd("10.00"))
    assert retried.approved
    assert sim.authorize("k1", CARD, usd("10.00")) == retried
    assert [e.key for e in sim.ledger()] == ["k1"]


def test_timeout_after_success_moved_the_money() -> None:
    """A reply lost after success answers UNKNOWN, yet the ledger and lookup show it."""
    sim, _ = make_sim()
    auth = auth_token(sim.authorize("k1", CARD, usd("10.00")))
    sim.script("capture", "timeout_after_success")
    assert sim.capture("k2", auth, usd("4.00")).outcome is Outcome.UNKNOWN
    assert [(e.kind, e.key, e.amount) for e in sim.ledger()][-1] == ("capture", "k2", usd("4.00"))
    found = sim.lookup("k2")
    assert found.approved
    assert isinstance(found.token, CaptureToken)
    assert sim.capture("k2", auth, usd("4.00")) == found
    assert len(sim.ledger()) == 2


def test_crash_after_success_raises_past_ordinary_handlers() -> None:
    """A crash after success raises SimulatedCrash, which no except Exception catches."""
    assert not issubclass(SimulatedCrash, Exception)
    assert not issubclass(SimulatedCrash, OcopError)
    sim, _ = make_sim()
    auth = auth_token(sim.authorize("k1", CARD, usd("10.00")))
    sim.script("capture", "crash_after_success")
    with pytest.raises(SimulatedCrash):
        sim.capture("k2", auth, usd("10.00"))
    assert [e.key for e in sim.ledger()] == ["k1", "k2"]
    assert sim.lookup("k2").approved


def test_scripts_are_validated() -> None:
    """Scripting an unknown call kind or outcome raises InvalidInput."""
    sim, _ = make_sim()
    with pytest.raises(InvalidInput):
        sim.script("charge", "decline")
    with pytest.raises(InvalidInput):
        sim.script("capture", "explode")


calls = st.tuples(
    st.sampled_from(["authorize", "capture", "void", "refund", "adjust"]),
    st.integers(0, 15),  # key: a small pool, so keys repeat
    st.integers(1, 6_000),  # amount in cents
    st.integers(0, 4),  # which earlier token to act on (4: an unknown one)
    st.sampled_from((None,) * 8 + SCRIPTS),  # a fault queued before the call, now and then
)


UNKNOWN_AUTH = AuthorizationToken("auth_none", "sim", "sa-1")
UNKNOWN_CAPTURE = CaptureToken("cap_none", "sim", "sa-1")


def call(
    sim: SimulatedProcessor,
    kind: str,
    key: str,
    *,
    amount: Money,
    auth: AuthorizationToken,
    cap: CaptureToken,
) -> ProcessorResult:
    """Make one money call of ``kind`` on ``sim``."""
    if kind == "authorize":
        return sim.authorize(key, CARD, amount)
    if kind == "capture":
        return sim.capture(key, auth, amount)
    if kind == "void":
        return sim.void(key, auth)
    if kind == "refund":
        return sim.refund(key, cap, amount)
    return sim.adjust(key, auth, amount)


@given(st.lists(calls, max_size=30))
def test_ledger_matches_what_callers_were_told(
    script: list[tuple[str, int, int, int, str | None]],
) -> None:
    """Every ledger entry was answered APPROVED, or came from a timeout or crash that lookup
    reveals; every APPROVED answer has exactly one entry (V5, V6)."""
    sim, _ = make_sim()
    auths: list[AuthorizationToken] = []
    caps: list[CaptureToken] = []
    told: dict[str, ProcessorResult] = {}
    uncertain: set[str] = set()
    for kind, k, cents, ref, fault in script:
        # Authorizations large, refunds small, so that captures and refunds often fit.
        scaled = {"authorize": cents * 4, "refund": max(1, cents // 4)}.get(kind, cents)
        key, amount = f"k{k}", Money.from_minor(scaled, "USD")
        if fault is not None:
            sim.script(kind, fault)
        auth = auths[ref % len(auths)] if auths and ref < 4 else UNKNOWN_AUTH
        cap = caps[ref % len(caps)] if caps and ref < 4 else UNKNOWN_CAPTURE
        try:
            result = call(sim, kind, key, amount=amount, auth=auth, cap=cap)
        except IdempotencyConflict:
            continue
        except SimulatedCrash:
            uncertain.add(key)
            continue
        if result.outcome is Outcome.UNKNOWN:
            uncertain.add(key)
        elif result.approved:
            told[key] = result
            if isinstance(result.token, AuthorizationToken) and kind == "authorize":
                auths.append(result.token)
            if isinstance(result.token, CaptureToken):
                caps.append(result.token)
    per_key = Counter(entry.key for entry in sim.ledger())
    assert all(n == 1 for n in per_key.values())  # V6
    moved = {entry.key: entry.amount for entry in sim.ledger()}
    for key, answer in told.items():
        assert moved[key] == answer.amount
        assert sim.lookup(key) == answer
    for key in uncertain - told.keys():
        assert per_key[key] == (1 if sim.lookup(key).approved else 0)
    assert set(per_key) <= told.keys() | uncertain


def test_single_capture_closes_the_authorization() -> None:
    """Without multi-capture the first capture releases the rest of the authorization."""
    sim, _ = make_sim(multi_capture=False)
    first = sim.authorize("k1", CARD, usd("100.00"))
    assert not first.multi_capture
    auth = auth_token(first)
    assert sim.capture("k2", auth, usd("30.00")).approved
    assert sim.authorization_open(auth.value) == usd("0.00")
    assert sim.capture("k3", auth, usd("0.01")).outcome is Outcome.DECLINED
    assert sim.void("k4", auth).outcome is Outcome.DECLINED


def test_void_answers_the_released_amount() -> None:
    """A void releases, and answers, exactly what was still open."""
    sim, _ = make_sim()
    auth = auth_token(sim.authorize("k1", CARD, usd("100.00")))
    sim.capture("k2", auth, usd("30.00"))
    voided = sim.void("k3", auth)
    assert voided.amount == usd("70.00")
    assert sim.authorization_open(auth.value) == usd("0.00")


def test_adjustments_disabled_declines_adjust() -> None:
    """A processor without adjustments declines every adjust call."""
    sim, _ = make_sim(adjustments=False)
    auth = auth_token(sim.authorize("k1", CARD, usd("100.00")))
    assert sim.adjust("k2", auth, usd("80.00")).outcome is Outcome.DECLINED
    assert sim.authorization_open(auth.value) == usd("100.00")


def test_adjust_moves_the_authorization_up_and_down() -> None:
    """An adjustment sets a new authorized total, never below what was captured."""
    sim, _ = make_sim()
    auth = auth_token(sim.authorize("k1", CARD, usd("100.00")))
    sim.capture("k2", auth, usd("40.00"))
    assert sim.adjust("k3", auth, usd("150.00")).approved
    assert sim.authorization_open(auth.value) == usd("110.00")
    assert sim.adjust("k4", auth, usd("39.99")).outcome is Outcome.DECLINED
    assert sim.adjust("k5", auth, usd("40.00")).approved
    assert sim.authorization_open(auth.value) == usd("0.00")


def test_authorizations_expire_after_their_lifetime() -> None:
    """An authorization older than authorization_days can no longer be captured or adjusted."""
    sim, clock = make_sim(authorization_days=7)
    auth = auth_token(sim.authorize("k1", CARD, usd("100.00")))
    clock.advance(days=6, hours=23)
    assert sim.capture("k2", auth, usd("10.00")).approved
    clock.advance(hours=1)
    assert sim.capture("k3", auth, usd("10.00")).outcome is Outcome.DECLINED
    assert sim.adjust("k4", auth, usd("50.00")).outcome is Outcome.DECLINED


def test_unlinked_refunds_follow_the_capability() -> None:
    """Unlinked refunds are approved only when the processor allows them."""
    allowed, _ = make_sim()
    assert allowed.unlinked_refund("k1", CARD, usd("5.00")).approved
    refused, _ = make_sim(unlinked_refunds=False)
    assert refused.unlinked_refund("k1", CARD, usd("5.00")).outcome is Outcome.DECLINED
    assert refused.ledger() == ()


def test_tokenize_needs_the_owner_and_a_valid_cvv_and_keeps_no_cvv() -> None:
    """Tokenize checks owner and CVV, and the CVV is nowhere in ledger, answers or reprs (T1)."""
    sim, _ = make_sim()
    instrument = sim.save_instrument("C-1", CARD)
    assert sim.instruments("C-1") == (instrument,)
    assert sim.instruments("C-2") == ()
    answers = [
        sim.tokenize("t1", "C-2", instrument.instrument_id, "975"),
        sim.tokenize("t2", "C-1", instrument.instrument_id, "97"),
        sim.tokenize("t3", "C-1", instrument.instrument_id, "97531"),
        sim.tokenize("t4", "C-1", instrument.instrument_id, "97a"),
        sim.tokenize("t5", "C-1", "PI-404", "975"),
    ]
    assert [a.outcome for a in answers] == [Outcome.DECLINED] * 5
    for key, cvv in (("t6", "975"), ("t7", "8642")):
        answer = sim.tokenize(key, "C-1", instrument.instrument_id, cvv)
        answers.append(answer)
        assert answer.approved
        assert answer.card is not None
        assert (answer.card.last4, answer.card.brand) == ("1111", "visa")
        assert answer.card.value != CARD.value
    assert sim.tokenize("t6", "C-1", instrument.instrument_id, "975") == answers[5]
    exposed = repr(sim.__dict__) + repr(sim.ledger()) + repr(answers)
    exposed = without_run_noise(exposed)
    for cvv in ("975", "97531", "8642"):
        assert cvv not in exposed


def test_instrument_ids_are_pi_n_on_the_default_account_and_name_any_other() -> None:
    """I5: the default account's saved cards are PI-1, PI-2 ...; another account's carry
    its name, so simulators behind one router never give two cards one id; an account
    name too long for an id (128 characters) is shortened to a digest."""
    sim, clock = make_sim()
    assert [sim.save_instrument("C-1", CARD).instrument_id for _ in range(2)] == ["PI-1", "PI-2"]
    other = SimulatedProcessor(clock=clock, service_account="sa-2")
    token = CardToken("tok_2", "sim", "sa-2", brand="visa", last4="4444")
    assert other.save_instrument("C-1", token).instrument_id == "PI-1@sim/sa-2"
    account = "sa-" + "x" * 200
    long = SimulatedProcessor(clock=clock, service_account=account)
    saved = long.save_instrument("C-1", CardToken("tok_3", "sim", account, brand="visa",
                                                  last4="4444"))  # fmt: skip
    assert saved.instrument_id.startswith("PI-1@")
    assert len(saved.instrument_id) <= 128
    assert long.tokenize("t1", "C-1", saved.instrument_id, "975").approved
    # The digest is written in letters: one with a run of digits a card number's check
    # passes (this account's) was refused by the card guard, and no card could be saved.
    account = "a" * 120 + "302"
    luhn = SimulatedProcessor(clock=clock, service_account=account)
    card = CardToken("tok_4", "sim", account, brand="visa", last4="4444")
    assert not any(c.isdigit() for c in luhn.save_instrument("C-1", card).instrument_id[5:])


def test_save_instrument_refuses_foreign_and_single_use_cards() -> None:
    """Only this account's reusable card tokens can be saved."""
    sim, _ = make_sim()
    with pytest.raises(InvalidInput):
        sim.save_instrument(
            "C-1",
            CardToken(
                value="tok_x", connector="other", service_account="sa-1", brand="visa", last4="1111"
            ),
        )
    with pytest.raises(InvalidInput):
        sim.save_instrument(
            "C-1",
            CardToken(
                value="tok_y",
                connector="sim",
                service_account="sa-1",
                brand="visa",
                last4="1111",
                reusable=False,
            ),
        )
    assert sim.instruments("C-1") == ()
