"""The simulated processor's pending answers (N1) and their settlement by notification."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import PENDING_KINDS, SimulatedProcessor
from ocop.domain.errors import IdempotencyConflict, InvalidInput
from ocop.domain.money import Money
from ocop.domain.notifications import NotificationEvent
from ocop.domain.operations import Outcome, ProcessorResult
from ocop.domain.tokens import AuthorizationToken, CaptureToken, CardToken, RefundToken
from ocop.testing.contracts import START

CARD = CardToken(value="tok_1", connector="sim", service_account="sa-1", brand="visa", last4="1111")


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def make_sim(*, multi_capture: bool = True) -> tuple[SimulatedProcessor, ManualClock]:
    clock = ManualClock(START)
    return SimulatedProcessor(clock=clock, multi_capture=multi_capture), clock


def authorized(sim: SimulatedProcessor, key: str = "k-auth", amount: str = "100.00") -> (
    AuthorizationToken
):  # fmt: skip
    token = sim.authorize(key, CARD, usd(amount)).token
    assert isinstance(token, AuthorizationToken)
    return token


def captured(sim: SimulatedProcessor, auth: AuthorizationToken, key: str, amount: str) -> (
    CaptureToken
):  # fmt: skip
    token = sim.capture(key, auth, usd(amount)).token
    assert isinstance(token, CaptureToken)
    return token


def test_pending_is_refused_for_the_kinds_that_cannot_be_pending() -> None:
    """Authorize, unlinked refunds and tokenize cannot be scripted pending (InvalidInput),
    and a refused script queues nothing."""
    sim, _ = make_sim()
    for kind in ("authorize", "unlinked_refund", "tokenize"):
        with pytest.raises(InvalidInput, match="pending"):
            sim.script(kind, "approve", "pending")
    assert sim.authorize("k1", CARD, usd("1.00")).approved
    assert sim.authorize("k2", CARD, usd("1.00")).approved
    for kind in PENDING_KINDS:
        sim.script(kind, "pending")


def test_a_pending_capture_answers_its_token_and_stays_out_of_the_ledger() -> None:
    """A pending capture answers PENDING with the capture token it would carry; it is not in
    the ledger until approved; replays and lookups answer PENDING."""
    sim, clock = make_sim()
    auth = authorized(sim)
    sim.script("capture", "pending")
    held = sim.capture("k-cap", auth, usd("10.00"))
    assert (held.outcome, held.amount) == (Outcome.PENDING, usd("10.00"))
    assert isinstance(held.token, CaptureToken)
    assert [e.key for e in sim.ledger()] == ["k-auth"]
    assert sim.lookup("k-cap") == held
    assert sim.capture("k-cap", auth, usd("10.00")) == held
    with pytest.raises(IdempotencyConflict):
        sim.capture("k-cap", auth, usd("10.01"))
    assert sim.authorization_open(auth.value) == usd("90.00")
    assert sim.pending_keys() == ("k-cap",)
    clock.advance(hours=2)
    (note,) = sim.settle_pending()
    assert note.event is NotificationEvent.OUTCOME
    assert (note.key, note.reference, note.success) == ("k-cap", held.token.value, True)
    assert (note.amount, note.at) == (usd("10.00"), clock.now())
    final = sim.lookup("k-cap")
    assert final == ProcessorResult(key="k-cap", outcome=Outcome.APPROVED, amount=usd("10.00"),
                                    token=held.token)  # fmt: skip
    assert sim.capture("k-cap", auth, usd("10.00")) == final
    entry = sim.ledger()[-1]
    assert (entry.kind, entry.key, entry.amount, entry.at) == (
        "capture", "k-cap", usd("10.00"), clock.now()
    )  # fmt: skip
    assert sim.pending_keys() == ()


def test_a_pending_capture_cannot_be_refunded_until_approved() -> None:
    """A refund of a capture still pending is declined; once approved it can be refunded."""
    sim, _ = make_sim()
    auth = authorized(sim)
    sim.script("capture", "pending")
    cap = sim.capture("k-cap", auth, usd("10.00")).token
    assert isinstance(cap, CaptureToken)
    early = sim.refund("k-ref", cap, usd("1.00"))
    assert (early.outcome, early.reason) == (Outcome.DECLINED, "capture still pending")
    sim.settle_pending()
    assert sim.refund("k-ref-2", cap, usd("10.00")).approved


def test_a_declined_pending_capture_on_a_single_capture_authorization_reopens_it() -> None:
    """Without multi-capture a capture closes its authorization; declined when settled, the
    authorization is open again for its full amount."""
    sim, _ = make_sim(multi_capture=False)
    auth = authorized(sim)
    sim.script("capture", "pending")
    held = sim.capture("k-cap", auth, usd("30.00"))
    assert held.outcome is Outcome.PENDING
    assert sim.authorization_open(auth.value) == usd("0.00")
    (note,) = sim.settle_pending("decline")
    assert (note.success, note.amount) == (False, usd("30.00"))
    assert sim.authorization_open(auth.value) == usd("100.00")
    assert sim.lookup("k-cap").outcome is Outcome.DECLINED
    assert held.token is not None
    assert sim.refund("k-ref", CaptureToken(held.token.value, "sim", "sa-1"), usd("1.00")).outcome \
        is Outcome.DECLINED  # fmt: skip
    assert [e.key for e in sim.ledger()] == ["k-auth"]


def test_pending_refund_void_and_adjust_undone_when_declined() -> None:
    """Declined when settled, a refund gives the capture its money back, a void reopens the
    authorization, an adjustment puts the total back."""
    sim, _ = make_sim()
    auth = authorized(sim)
    cap = captured(sim, auth, "k-cap", "40.00")
    sim.script("refund", "pending")
    refund = sim.refund("k-ref", cap, usd("25.00"))
    assert refund.outcome is Outcome.PENDING
    assert isinstance(refund.token, RefundToken)
    assert sim.refund("k-ref-over", cap, usd("15.01")).outcome is Outcome.DECLINED
    sim.script("adjust", "pending")
    assert sim.adjust("k-adj", auth, usd("150.00")).outcome is Outcome.PENDING
    assert sim.authorization_open(auth.value) == usd("110.00")
    sim.script("void", "pending")
    void = sim.void("k-void", auth)
    assert (void.outcome, void.amount) == (Outcome.PENDING, usd("110.00"))
    assert sim.authorization_open(auth.value) == usd("0.00")
    notes = sim.settle_pending("decline")
    assert [(n.key, n.success, n.amount) for n in notes] == [
        ("k-ref", False, usd("25.00")),
        ("k-adj", False, usd("150.00")),
        ("k-void", False, usd("110.00")),
    ]
    assert sim.authorization_open(auth.value) == usd("60.00")
    assert sim.refund("k-ref-all", cap, usd("40.00")).approved
    assert [e.key for e in sim.ledger()] == ["k-auth", "k-cap", "k-ref-all"]


def test_settle_pending_by_keys_in_the_order_made_and_never_twice() -> None:
    """keys= settles only those, in the order they were made; a key already settled (or
    never pending) is passed over, so no notification is produced twice."""
    sim, _ = make_sim()
    auth = authorized(sim)
    for n in range(1, 4):
        sim.script("capture", "pending")
        assert sim.capture(f"k-cap-{n}", auth, usd("10.00")).outcome is Outcome.PENDING
    first = sim.settle_pending("approve", keys=["k-cap-3", "k-cap-1", "k-nothing"])
    assert [n.key for n in first] == ["k-cap-1", "k-cap-3"]
    assert sim.settle_pending("decline", keys=("k-cap-1",)) == ()
    assert sim.lookup("k-cap-1").approved
    rest = sim.settle_pending("decline")
    assert [(n.key, n.success) for n in rest] == [("k-cap-2", False)]
    assert sim.settle_pending() == ()
    ids = [n.notification_id for n in (*first, *rest)]
    assert len(set(ids)) == 3
    assert [e.key for e in sim.ledger()] == ["k-auth", "k-cap-1", "k-cap-3"]
    assert sim.authorization_open(auth.value) == usd("80.00")


def test_notification_ids_are_stable_for_an_operation() -> None:
    """The same operation settled on two simulators with the same history gets one id."""
    ids = []
    for _ in range(2):
        sim, _ = make_sim()
        auth = authorized(sim)
        sim.script("capture", "pending")
        sim.capture("k-cap", auth, usd("1.00"))
        ids.append(sim.settle_pending()[0].notification_id)
    assert ids[0] == ids[1]


def test_a_capture_over_the_open_amount_scripted_pending_is_declined() -> None:
    """A pending script does not approve what the rules decline: nothing is held."""
    sim, _ = make_sim()
    auth = authorized(sim)
    sim.script("capture", "pending")
    assert sim.capture("k-over", auth, usd("100.01")).outcome is Outcome.DECLINED
    assert sim.pending_keys() == ()
    assert sim.settle_pending() == ()


def test_settle_pending_checks_its_arguments() -> None:
    """An outcome other than approve or decline, or keys that are not a sequence of keys,
    raise InvalidInput and settle nothing."""
    sim, _ = make_sim()
    auth = authorized(sim)
    sim.script("capture", "pending")
    sim.capture("k-cap", auth, usd("1.00"))
    for bad in ("approved", "", "APPROVE"):
        with pytest.raises(InvalidInput):
            sim.settle_pending(bad)
    for keys in ("k-cap", [1], 7):
        with pytest.raises(InvalidInput):
            sim.settle_pending("approve", keys=keys)  # type: ignore[arg-type]
    assert sim.pending_keys() == ("k-cap",)


@pytest.mark.parametrize("order", [("k-void", "k-adj"), ("k-adj", "k-void")])
def test_declined_adjustment_and_void_give_back_the_same_in_either_order(
    order: tuple[str, str],
) -> None:
    """A pending adjustment and a pending void of what it added, both declined, leave the
    authorization as before them, whichever is settled first."""
    sim, _ = make_sim()
    auth = authorized(sim)
    captured(sim, auth, "k-cap", "40.00")
    sim.script("adjust", "pending")
    sim.adjust("k-adj", auth, usd("150.00"))
    sim.script("void", "pending")
    sim.void("k-void", auth)
    for key in order:
        sim.settle_pending("decline", keys=[key])
        open_now = sim.authorization_open(auth.value)
        assert open_now is not None
        assert not open_now.is_negative()
    assert sim.authorization_open(auth.value) == usd("60.00")


def test_a_declined_adjustment_keeps_what_was_captured_against_it() -> None:
    """What was captured against a pending raise stays captured when the raise is declined:
    the authorization keeps at least that."""
    sim, _ = make_sim()
    auth = authorized(sim)
    sim.script("adjust", "pending")
    sim.adjust("k-adj", auth, usd("150.00"))
    captured(sim, auth, "k-cap", "120.00")
    sim.settle_pending("decline")
    assert sim.authorization_open(auth.value) == usd("0.00")
    assert sim.capture("k-more", auth, usd("0.01")).outcome is Outcome.DECLINED


steps = st.tuples(
    st.sampled_from(["capture", "refund", "void", "adjust", "settle"]),
    st.integers(1, 6_000),  # amount in cents
    st.integers(0, 3),  # which token (or which pending key) to act on
    st.booleans(),  # scripted pending / settled approved
)


def call(
    sim: SimulatedProcessor,
    kind: str,
    key: str,
    cents: int,
    *,
    auth: AuthorizationToken,
    cap: CaptureToken | None,
    pending: bool,
    caps: list[CaptureToken],
) -> None:
    """One call of ``kind``, scripted pending or not; a new capture token joins ``caps``."""
    amount = Money.from_minor(cents, "USD")
    if pending and (kind != "refund" or cap is not None):
        sim.script(kind, "pending")
    if kind == "capture":
        result = sim.capture(key, auth, amount)
        if isinstance(result.token, CaptureToken):
            caps.append(result.token)
    elif kind == "refund" and cap is not None:
        sim.refund(key, cap, amount)
    elif kind == "void":
        sim.void(key, auth)
    elif kind == "adjust":
        sim.adjust(key, auth, Money.from_minor(cents * 2, "USD"))


@given(st.lists(steps, max_size=25))
def test_pending_operations_never_take_more_than_there_is(
    script: list[tuple[str, int, int, bool]],
) -> None:
    """Whatever is made pending and however it settles: no authorization is ever open below
    zero, the ledger has one entry per key, each for a key last answered approved, and what
    the ledger shows captured and refunded never exceeds what was authorized and captured."""
    sim, _ = make_sim()
    auths = [authorized(sim, f"k-auth-{n}", "50.00") for n in range(2)]
    caps: list[CaptureToken] = []
    for n, (kind, cents, ref, flag) in enumerate(script):
        if kind == "settle":
            keys = sim.pending_keys()
            if keys:
                sim.settle_pending("approve" if flag else "decline", keys=[keys[ref % len(keys)]])
        else:
            cap = caps[ref % len(caps)] if caps else None
            call(sim, kind, f"k{n}", cents, auth=auths[ref % 2], cap=cap, pending=flag, caps=caps)
        for token in auths:
            open_now = sim.authorization_open(token.value)
            assert open_now is not None
            assert not open_now.is_negative()
    sim.settle_pending(keys=sim.pending_keys()[::2])
    sim.settle_pending("decline")
    ledger = sim.ledger()
    assert len({e.key for e in ledger}) == len(ledger)
    assert all(sim.lookup(e.key).approved for e in ledger)
    moved: dict[str, Money] = {}
    for entry in ledger:
        if entry.kind in ("capture", "refund"):
            moved[entry.target] = moved.get(entry.target, Money.zero("USD")) + entry.amount
    capture_amounts = {e.reference: e.amount for e in ledger if e.kind == "capture"}
    for target, total in moved.items():
        if target in capture_amounts:
            assert total <= capture_amounts[target]
    assert sim.pending_keys() == ()
