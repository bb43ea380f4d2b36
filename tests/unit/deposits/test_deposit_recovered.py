"""A deposit whose capture was in doubt at placement is taken on by recover() (D1, O2)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from ocop import (
    AuthorizationToken,
    BackOffice,
    Channel,
    Customer,
    DepositPolicy,
    HoldCode,
    Money,
    Order,
    ProcessorResult,
    Settings,
)
from ocop.adapters.memory import InMemoryStore, ManualClock
from ocop.adapters.simulated import SimulatedCrash, SimulatedProcessor
from ocop.adapters.sqlite import SqliteStore
from ocop.ports.store import Committed, OrderStore, UnitOfWork
from ocop.testing.counting import DelegatingStore, DelegatingUnitOfWork
from worlds import START, World, by_card, card, new_world, usd

from .support import AGENT, PartialApprovals, deposits


def _world() -> World:
    policy = DepositPolicy(default_percent=Decimal("0"), cancellation_charge_percent=Decimal("25"))
    return new_world(Settings.default().with_policies(deposits=policy))


def _place_two_cards(world: World) -> None:
    second = by_card("20.00", card("tok_2", last4="2222"))
    world.bo.place_order("SO-1", channel=Channel.POS, customer=Customer.named("C-1"),
                         total=usd("100.00"), payments=[by_card("10.00"), second],
                         deposit=True)  # fmt: skip


@pytest.mark.parametrize("script", ["timeout_after_success", "crash_after_success"])
def test_the_rest_of_a_deposit_is_taken_once_its_capture_in_doubt_is_recovered(
    script: str,
) -> None:
    """D1, O2: the first card's capture is in doubt (after it, the placing process may
    die); recovery settles it, and captures the second card if the placement did not, as
    the placement would have, so cancelling keeps the whole charge (it kept 10.00 of
    25.00: the second card was voided)."""
    world = _world()
    world.sim.script("capture", script)
    if script == "crash_after_success":
        with pytest.raises(SimulatedCrash):  # the placing process dies after the capture
            _place_two_cards(world)
    else:
        _place_two_cards(world)
    report = world.bo.recover()
    assert report.completions == ("SO-1",)
    order = world.bo.order("SO-1")
    assert [line.captured for line in order.lines] == [usd("10.00"), usd("20.00")]
    captures = [e for e in world.sim.ledger() if e.kind == "capture"]
    assert [e.amount for e in captures] == [usd("10.00"), usd("20.00")]  # each once
    assert world.bo.recover().completions == ()  # nothing left to take
    assert world.bo.cancel_order("SO-1", AGENT).charged == usd("25.00")


def test_a_deposit_capture_never_received_is_made_by_recovery() -> None:
    """O2: never received is never made: recovery makes it under a new attempt."""
    world = _world()
    world.sim.script("capture", "timeout_before")
    deposit = [by_card("30.00")]
    world.bo.place_order("SO-1", channel=Channel.POS, customer=Customer.named("C-1"),
                         total=usd("100.00"), payments=deposit, deposit=True)  # fmt: skip
    assert world.bo.recover().completions == ("SO-1",)
    order = world.bo.order("SO-1")
    assert order.lines[0].captured == usd("30.00")
    assert [(e.kind, e.key) for e in world.sim.ledger() if e.kind == "capture"] == [
        ("capture", "SO-1/deposit:L1:L1.A1#2")
    ]


class _RecoveryOnTheWay(SimulatedProcessor):
    """Another worker's recover() runs while the placement's first deposit capture is on its
    way: its lookup finds the key never received, and it takes the deposit on itself."""

    other: BackOffice | None = None

    def capture(
        self, key: str, authorization: AuthorizationToken, amount: Money
    ) -> ProcessorResult:
        if self.other is not None and "/deposit:L1:L1.A1#1" in key:
            other, self.other = self.other, None
            other.recover()
        return super().capture(key, authorization, amount)


def test_a_deposit_a_recovery_took_on_while_its_placement_ran_is_not_held_as_declined() -> None:
    """O2, D1: the placement's capture then answers never received, which is no decline:
    the whole deposit is captured once, and no PAYMENT_DECLINED hold is placed (it was)."""
    clock = ManualClock(START)
    sim = _RecoveryOnTheWay(clock=clock)
    store = InMemoryStore(keeps_journal=True)
    settings = _world().bo.settings
    wiring = {"store": store, "journal": store.journal, "processor": sim, "clock": clock}
    till = BackOffice(settings=settings, **wiring)  # type: ignore[arg-type]
    sim.other = BackOffice(settings=settings, **wiring)  # type: ignore[arg-type]
    second = by_card("20.00", card("tok_2", last4="2222"))
    order = till.place_order("SO-1", channel=Channel.POS, customer=Customer.named("C-1"),
                             total=usd("100.00"), payments=[by_card("10.00"), second],
                             deposit=True)  # fmt: skip
    assert [line.captured for line in order.lines] == [usd("10.00"), usd("20.00")]
    assert order.holds == ()
    assert [e.amount for e in sim.ledger() if e.kind == "capture"] == [usd("10.00"), usd("20.00")]


@pytest.mark.parametrize("script", ["timeout_after_success", "crash_after_success"])
def test_a_deposit_authorization_recovery_finds_approved_for_less_holds_the_order(
    script: str,
) -> None:
    """D1, N4, S1, O2: the deposit card's authorization was in doubt and recover() finds it
    approved for less: the line holds what was approved and the order, short of the deposit
    it asked, is held OUT_OF_BALANCE (it was approved, the deposit shrunk with the line)."""
    clock = ManualClock(START)
    sim = PartialApprovals(clock=clock)
    sim.limit = usd("20.00")
    bo = BackOffice.in_memory(settings=deposits(), processor=sim, clock=clock)
    sim.script("authorize", script)
    try:
        bo.place_order("SO-1", channel=Channel.POS, customer=Customer.named("C-1"),
                       total=usd("100.00"), payments=[by_card("30.00")],
                       deposit=True)  # fmt: skip
    except SimulatedCrash:
        assert script == "crash_after_success"
    clock.advance(minutes=bo.settings.authorization.renew_claim_minutes)
    assert bo.recover().completions == ("SO-1",)  # the placement finished, validated
    order = bo.order("SO-1")
    assert (order.lines[0].amount, order.paid) == (usd("20.00"), usd("20.00"))
    assert [h.code for h in order.holds] == [HoldCode.OUT_OF_BALANCE]
    assert [(e.kind, e.amount) for e in sim.ledger()] == [
        ("authorize", usd("20.00")),
        ("capture", usd("20.00")),
    ]  # nothing asked twice: what was approved is the deposit taken


@pytest.mark.parametrize("script", ["timeout_after_success", "crash_after_success"])
def test_a_deposit_capture_recovered_for_a_card_approved_for_less_keeps_the_order_held(
    script: str,
) -> None:
    """D1, N4, S1, O2: the second card was approved for less, and the first card's capture
    was in doubt; recover() settles it and captures the second card for what it holds,
    once: the order stays OUT_OF_BALANCE, short of the deposit it asked."""
    clock = ManualClock(START)
    sim = PartialApprovals(clock=clock)
    bo = BackOffice.in_memory(settings=deposits(), processor=sim, clock=clock)
    sim.limit = usd("15.00")
    sim.script("capture", script)
    second = by_card("20.00", card("tok_2", last4="2222"))
    try:
        placed = bo.place_order("SO-1", channel=Channel.POS, customer=Customer.named("C-1"),
                                total=usd("100.00"), payments=[by_card("10.00"), second],
                                deposit=True)  # fmt: skip
        assert [h.code for h in placed.holds] == [HoldCode.OUT_OF_BALANCE]
    except SimulatedCrash:
        assert script == "crash_after_success"
    assert bo.recover().completions == ("SO-1",)
    order = bo.order("SO-1")
    assert [line.captured for line in order.lines] == [usd("10.00"), usd("15.00")]
    assert [e.amount for e in sim.ledger() if e.kind == "capture"] == [usd("10.00"), usd("15.00")]
    assert [h.code for h in order.holds] == [HoldCode.OUT_OF_BALANCE]


@pytest.mark.parametrize("script", ["timeout_after_success", "crash_after_success"])
def test_a_deposit_whose_authorization_was_in_doubt_is_taken_when_recovery_finishes_it(
    script: str,
) -> None:
    """D1, D2, O2: the second card's authorization was in doubt, so the placement took no
    deposit; the recover() run that finishes the placement captures both cards as the
    placement would have, once, and cancelling keeps the charge (both authorizations were
    left uncaptured: cancelling voided them and kept nothing)."""
    world = _world()
    world.sim.script("authorize", "approve", script)
    try:
        _place_two_cards(world)
    except SimulatedCrash:
        assert script == "crash_after_success"
    world.clock.advance(minutes=world.bo.settings.authorization.renew_claim_minutes)
    assert world.bo.recover().completions == ("SO-1",)
    order = world.bo.order("SO-1")
    assert order.approved
    assert [line.captured for line in order.lines] == [usd("10.00"), usd("20.00")]
    captures = [e for e in world.sim.ledger() if e.kind == "capture"]
    assert [e.amount for e in captures] == [usd("10.00"), usd("20.00")]
    assert world.bo.recover().completions == ()  # nothing left to take
    assert world.bo.cancel_order("SO-1", AGENT).charged == usd("25.00")


def _validated(order: Order) -> bool:
    return order.placing is False


def _first_deposit_taken(order: Order) -> bool:
    return bool(order.lines[0].deposit_captures)


class _DiesOnceValidated(DelegatingStore):
    """A store under a process that dies just after the commit that stores SO-1 validated
    (its placement over), once: the commit is kept, nothing after it runs. ``when``: the
    stored order the process dies after (by default, validated)."""

    def __init__(self, inner: OrderStore, when: Callable[[Order], bool] = _validated) -> None:
        super().__init__(inner)
        self.armed = True
        self.when = when

    def unit_of_work(self) -> UnitOfWork:
        return _DyingUnit(self, self.inner.unit_of_work())


class _DyingUnit(DelegatingUnitOfWork):
    def __init__(self, store: _DiesOnceValidated, inner: UnitOfWork) -> None:
        super().__init__(inner)
        self._store = store

    def commit(self) -> Committed:
        committed = super().commit()
        order = committed.orders.get("SO-1")
        if self._store.armed and order is not None and self._store.when(order):
            self._store.armed = False
            raise SimulatedCrash("the placing process died after this commit")
        return committed


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_deposit_whose_placement_died_once_the_order_was_validated_is_taken_by_recovery(
    kind: str, tmp_path: Path
) -> None:
    """D1, O2: the placing process died just after the commit that validated the order;
    recover() takes both card deposits, once, and cancelling keeps the charge (nothing
    ever took the deposit: the order was approved, no capture in doubt, and the placement
    sent again was a DuplicateOrder)."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    inner = (InMemoryStore(keeps_journal=True) if kind == "memory"
             else SqliteStore(str(tmp_path / "payments.db"), keeps_journal=True))  # fmt: skip
    store = _DiesOnceValidated(inner)
    bo = BackOffice(store=store, journal=inner.journal, processor=sim, clock=clock,
                    settings=_world().bo.settings)  # fmt: skip
    world = World(clock=clock, sim=sim, bo=bo)
    with pytest.raises(SimulatedCrash):
        _place_two_cards(world)
    assert not store.armed  # it died where it should
    clock.advance(minutes=bo.settings.authorization.renew_claim_minutes)
    assert bo.recover().completions == ("SO-1",)
    order = bo.order("SO-1")
    assert order.approved
    assert [line.captured for line in order.lines] == [usd("10.00"), usd("20.00")]
    assert [e.amount for e in sim.ledger() if e.kind == "capture"] == [usd("10.00"), usd("20.00")]
    assert bo.recover().completions == ()  # nothing left to take
    assert [e.amount for e in sim.ledger() if e.kind == "capture"] == [usd("10.00"), usd("20.00")]
    assert bo.cancel_order("SO-1", AGENT).charged == usd("25.00")


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_deposit_placement_that_dies_between_two_card_captures_captures_each_once(
    kind: str, tmp_path: Path
) -> None:
    """D1, O1, O2: the placing process dies just after the commit that stores the first
    card's deposit capture. Both cards are captured, once (by the placement, or by
    recover()), and cancelling keeps the whole charge. (The captures went one at a time:
    nothing of the second card's was stored yet, nothing was in doubt, so nothing ever
    captured it: cancelling voided it and kept only the first card's 10.00 of 25.00.)"""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    inner = (InMemoryStore(keeps_journal=True) if kind == "memory"
             else SqliteStore(str(tmp_path / "payments.db"), keeps_journal=True))  # fmt: skip
    store = _DiesOnceValidated(inner, when=_first_deposit_taken)
    bo = BackOffice(store=store, journal=inner.journal, processor=sim, clock=clock,
                    settings=_world().bo.settings)  # fmt: skip
    with pytest.raises(SimulatedCrash):
        _place_two_cards(World(clock=clock, sim=sim, bo=bo))
    assert not store.armed  # it died after the first card's capture was stored
    clock.advance(minutes=bo.settings.authorization.renew_claim_minutes)
    bo.recover()
    order = bo.order("SO-1")
    assert order.approved
    assert [line.captured for line in order.lines] == [usd("10.00"), usd("20.00")]
    assert [e.amount for e in sim.ledger() if e.kind == "capture"] == [usd("10.00"), usd("20.00")]
    bo.recover()
    assert [e.amount for e in sim.ledger() if e.kind == "capture"] == [usd("10.00"), usd("20.00")]
    assert bo.cancel_order("SO-1", AGENT).charged == usd("25.00")


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_deposit_left_to_the_agents_submit_is_taken_by_that_submit(
    kind: str, tmp_path: Path
) -> None:
    """D1, S3: the deposit card's authorization was never received at placement, so the
    order waits for an agent's submit; the submit that validates it captures the deposit
    as the placement would have, once (it was never taken: the authorization waited for
    the first invoice, and cancelling voided it and kept no charge)."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    settings = _world().bo.settings
    bo = (BackOffice.in_memory(settings=settings, processor=sim, clock=clock) if kind == "memory"
          else BackOffice.sqlite(str(tmp_path / "payments.db"), settings=settings,
                                 processor=sim, clock=clock))  # fmt: skip
    sim.script("authorize", "timeout_before")
    bo.place_order("SO-1", channel=Channel.POS, customer=Customer.named("C-1"),
                   total=usd("100.00"), payments=[by_card("30.00")], deposit=True)  # fmt: skip
    clock.advance(minutes=bo.settings.authorization.renew_claim_minutes)
    assert bo.recover().completions == ()  # left to the agent: a call never received
    result = bo.submit(bo.begin_completion("SO-1", AGENT))
    assert result.approved
    assert result.order.lines[0].captured == usd("30.00")
    assert bo.order("SO-1") == result.order
    assert [e.amount for e in sim.ledger() if e.kind == "capture"] == [usd("30.00")]
    assert bo.recover().completions == ()
    assert bo.cancel_order("SO-1", AGENT).charged == usd("25.00")
    assert [e.amount for e in sim.ledger() if e.kind == "capture"] == [usd("30.00")]


@pytest.mark.parametrize("found_by", ["notification", "recover"])
def test_a_declined_deposit_capture_taken_again_by_recovery_ends_its_hold(found_by: str) -> None:
    """D1, S4, O2: the first card's deposit capture answered pending and was declined (its
    notification, or the recover() run that asks about it); the second card's capture was in
    doubt, and the run that settles it takes the rest of the deposit, the first card again.
    The deposit is then taken whole, and the PAYMENT_DECLINED hold the decline placed ends
    with its cause (it stayed until a person released it)."""
    world = _world()
    world.sim.script("capture", "pending")
    world.sim.script("capture", "timeout_after_success")
    _place_two_cards(world)
    notes = world.sim.settle_pending("decline")
    if found_by == "notification":
        for note in notes:
            world.bo.handle_notification(note)
        assert [h.code for h in world.bo.order("SO-1").holds] == [HoldCode.PAYMENT_DECLINED]
    assert world.bo.recover().completions == ("SO-1",)
    order = world.bo.order("SO-1")
    assert [line.captured for line in order.lines] == [usd("10.00"), usd("20.00")]
    assert order.holds == ()
    released = [(r.hold.code, r.released_by) for r in order.released_holds]
    assert released == [(HoldCode.PAYMENT_DECLINED, "system")]
    captures = [(e.key, e.amount) for e in world.sim.ledger() if e.kind == "capture"]
    assert captures == [
        ("SO-1/deposit:L2:L2.A1#1", usd("20.00")),
        ("SO-1/deposit:L1:L1.A1#2", usd("10.00")),
    ]


def test_a_deposit_still_short_keeps_the_hold_its_declined_capture_placed() -> None:
    """D1, S4: taken again, the first card's capture is declined once more: the deposit is
    not taken and the hold stays."""
    world = _world()
    world.sim.script("capture", "pending")
    world.sim.script("capture", "timeout_after_success")
    _place_two_cards(world)
    world.sim.settle_pending("decline")
    world.sim.script("capture", "decline")
    world.bo.recover()
    order = world.bo.order("SO-1")
    assert [line.captured for line in order.lines] == [usd("0.00"), usd("20.00")]
    assert [h.code for h in order.holds] == [HoldCode.PAYMENT_DECLINED]


def test_a_deposit_capture_settled_late_leaves_a_hold_no_deposit_decline_placed() -> None:
    """D1, S2, S4, N2: the deposit capture answered pending; meanwhile an agent's submit
    asked the card for more and it declined, holding the order (PAYMENT_DECLINED). The
    deposit capture's later approval ends no hold: no deposit capture was declined, and
    the hold is the agent's to look at. (The settlement released it as the system's, and
    the order, 10.00 paid of 120.00, was approved.)"""
    world = _world()
    world.sim.script("capture", "pending")
    world.bo.place_order("SO-1", channel=Channel.POS, customer=Customer.named("C-1"),
                         total=usd("100.00"), payments=[by_card("10.00")],
                         deposit=True)  # fmt: skip
    world.bo.change_total("SO-1", usd("120.00"), AGENT)
    world.sim.script("authorize", "decline")
    draft = world.bo.begin_completion("SO-1", AGENT).change_amount("L1", usd("30.00"))
    assert not world.bo.submit(draft).approved
    for note in world.sim.settle_pending("approve"):
        assert world.bo.handle_notification(note).applied
    order = world.bo.order("SO-1")
    assert order.lines[0].captured == usd("10.00")
    assert [(h.code, h.placed_by) for h in order.holds] == [
        (HoldCode.PAYMENT_DECLINED, AGENT.actor_id)
    ]
    assert order.released_holds == ()
