"""The renewal job's service edges (A2): a lost version race is planned again, an order
whose plan fails is skipped and the run goes on, a database failure stops the run, and a
claim held by another worker is respected by the job and by ``recover()`` until it ends."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest

from ocop import (
    AuthorizationPolicy,
    AuthorizationToken,
    BackOffice,
    CardToken,
    Channel,
    ConcurrentUpdate,
    Customer,
    HoldCode,
    IllegalTransition,
    Money,
    ProcessorResult,
    RenewalReport,
    Settings,
    StorageBusy,
    StorageUnavailable,
)
from ocop.adapters import memory
from ocop.adapters.memory import InMemoryStore, ManualClock
from ocop.adapters.simulated import SimulatedCrash, SimulatedProcessor
from ocop.domain.journal import Voucher
from ocop.domain.order import Order
from ocop.domain.queries import OrderQuery
from ocop.domain.renewal import Renewal
from ocop.ports import Ports
from ocop.services import _engine as engine
from ocop.services import _renewals as renewals
from worlds import START, World, by_card, new_world, usd


def placed(world: World, *order_ids: str) -> None:
    for order_id in order_ids:
        world.bo.place_order(order_id, channel=Channel.ECOMMERCE, customer=Customer.guest(),
                             total=usd("50.00"), payments=[by_card("50.00")])  # fmt: skip
    world.clock.advance(days=13)


def test_an_order_changed_meanwhile_is_planned_again(monkeypatch: pytest.MonkeyPatch) -> None:
    world = new_world()
    placed(world, "SO-1")
    lost: list[str] = []

    def races(ports: Ports, order: Order, goal: Renewal, *, checked: bool) -> tuple[Order, Renewal]:
        if not lost:
            lost.append("once")
            raise ConcurrentUpdate("SO-1")
        return engine.pursue(ports, order, goal, checked=checked)

    monkeypatch.setattr(renewals, "pursue", races)
    assert world.bo.renew_authorizations() == RenewalReport(renewed=("SO-1",))
    assert lost == ["once"]


def test_an_order_whose_plan_fails_is_skipped_and_logged_and_the_run_goes_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    world = new_world()
    placed(world, "SO-1", "SO-2")

    def fails_on_the_first(
        ports: Ports, order: Order, goal: Renewal, *, checked: bool
    ) -> tuple[Order, Renewal]:
        if order.order_id == "SO-1":
            raise IllegalTransition("an order ocop cannot plan")
        return engine.pursue(ports, order, goal, checked=checked)

    monkeypatch.setattr(renewals, "pursue", fails_on_the_first)
    with caplog.at_level(logging.ERROR, logger="ocop.renewals"):
        report = world.bo.renew_authorizations()
    assert report == RenewalReport(renewed=("SO-2",), skipped=("SO-1",))
    assert "renewal of order SO-1 stopped" in caplog.text


def test_a_database_failure_stops_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    world = new_world()
    placed(world, "SO-1")

    def down(ports: Ports, order: Order, goal: Renewal, *, checked: bool) -> tuple[Order, Renewal]:
        raise StorageUnavailable("the database cannot be reached")

    monkeypatch.setattr(renewals, "pursue", down)
    with pytest.raises(StorageUnavailable):
        world.bo.renew_authorizations()
    monkeypatch.undo()  # the claims were released: a run after the outage goes ahead
    assert world.bo.renew_authorizations() == RenewalReport(renewed=("SO-1",))


def test_a_database_failure_finishing_one_renewal_leaves_recover_reporting_the_rest(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A2, O2, E3: a store that fails while recover() finishes one order's renewal is logged
    and that order waits, still marked, for the next run; the recovery still reports the
    keys it resolved and the renewal it finished (the StorageBusy reached the caller: the
    report was lost, though SO-1 had been authorized again at the processor)."""
    world = new_world()
    placed(world, "SO-1", "SO-2")
    world.sim.script("void", "timeout_after_success", "timeout_after_success")
    assert world.bo.renew_authorizations() == RenewalReport(in_doubt=("SO-1", "SO-2"))

    def busy_on_the_second(
        ports: Ports, order: Order, goal: Renewal, *, checked: bool
    ) -> tuple[Order, Renewal]:
        if order.order_id == "SO-2":
            raise StorageBusy("the database stayed busy")
        return engine.pursue(ports, order, goal, checked=checked)

    monkeypatch.setattr(renewals, "pursue", busy_on_the_second)
    with caplog.at_level(logging.ERROR, logger="ocop.renewals"):
        report = world.bo.recover()
    assert report.resolved == ("SO-1/void:L1.A1#1", "SO-2/void:L1.A1#1")
    assert report.renewals == ("SO-1",)
    assert world.bo.order("SO-1").lines[0].authorized == usd("50.00")
    assert world.bo.order("SO-2").lines[0].renewing
    assert "could not finish the renewal of order SO-2" in caplog.text
    monkeypatch.undo()  # the store is back: the next run finishes SO-2
    assert world.bo.renew_authorizations() == RenewalReport(renewed=("SO-2",))
    assert world.bo.order("SO-2").lines[0].authorized == usd("50.00")


@pytest.mark.parametrize("read", ["placements", "outbox"])
def test_a_database_failure_after_recover_finished_a_renewal_keeps_the_report(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, read: str
) -> None:
    """A2, O2, E3: once recover() has resolved a renewal's void and authorized SO-1 again
    for 50.00 at the processor, a busy store when it lists the placements to finish, or
    reads the outbox, is logged and left for the next run; the report is returned (the
    StorageBusy reached the caller: resolved keys and the renewal done were not reported)."""
    world = new_world()
    placed(world, "SO-1")
    world.sim.script("void", "timeout_after_success")
    assert world.bo.renew_authorizations() == RenewalReport(in_doubt=("SO-1",))
    real_query, real_pending = memory._Memory.query, memory._Memory.pending_vouchers

    def query(self: memory._Memory, query: OrderQuery, now: datetime) -> list[str]:
        if read == "placements" and query.needs_completion:
            raise StorageBusy("the database stayed busy")
        return real_query(self, query, now)

    def pending(self: memory._Memory) -> list[Voucher]:
        if read == "outbox":
            raise StorageBusy("the database stayed busy")
        return real_pending(self)

    monkeypatch.setattr(memory._Memory, "query", query)
    monkeypatch.setattr(memory._Memory, "pending_vouchers", pending)
    with caplog.at_level(logging.ERROR, logger="ocop"):
        report = world.bo.recover()
    assert (report.resolved, report.renewals) == (("SO-1/void:L1.A1#1",), ("SO-1",))
    assert report.vouchers_posted == 0
    assert "the next run will" in caplog.text
    assert [e.kind for e in world.sim.ledger()] == ["authorize", "void", "authorize"]


def test_an_order_another_worker_claims_is_left_to_it_until_its_claim_ends() -> None:
    world = new_world()
    placed(world, "SO-1")
    world.sim.script("void", "crash_after_success")
    with pytest.raises(SimulatedCrash):
        world.bo.renew_authorizations()  # died holding nothing: its claims went with it
    store = world.bo.ports.store
    now = world.clock.now()
    minutes = world.bo.settings.authorization.renew_claim_minutes
    assert store.claim(["renew:SO-1"], "other-worker", now + timedelta(minutes=minutes), now)
    recovered = world.bo.recover()
    assert (recovered.resolved, recovered.renewals) == (("SO-1/void:L1.A1#1",), ())
    assert world.bo.order("SO-1").lines[0].renewing  # the other worker's to finish
    assert world.bo.renew_authorizations() == RenewalReport(skipped=("SO-1",))
    world.clock.advance(minutes=minutes)  # its claim ended: the job takes the order over
    assert world.bo.renew_authorizations() == RenewalReport(renewed=("SO-1",))
    assert world.bo.order("SO-1").lines[0].authorized == usd("50.00")


class _RecoveryOnTheWay(SimulatedProcessor):
    """Another worker's recover() runs while the job's new authorization (or its void of
    the old one) is on its way (the job and recover() are safe to run at once): it looks
    the key up, never received."""

    other: BackOffice | None = None
    on_void = False

    def _recover_first(self) -> None:
        if self.other is not None:
            other, self.other = self.other, None
            other.recover()

    def authorize(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        if not self.on_void and "/authorize:L1.A2" in key:
            self._recover_first()
        return super().authorize(key, card, amount)

    def void(self, key: str, authorization: AuthorizationToken) -> ProcessorResult:
        if self.on_void:
            self._recover_first()
        return super().void(key, authorization)


def test_a_renewal_whose_authorization_a_recovery_found_never_received_is_sent_again() -> None:
    """A1, A2, O2: never received is no decline: the renewal authorizes once more under a
    new attempt (the line was declined and the order held AUTHORIZATION_EXPIRED)."""
    clock = ManualClock(START)
    sim = _RecoveryOnTheWay(clock=clock)
    store = InMemoryStore(keeps_journal=True)
    job = BackOffice(store=store, journal=store.journal, processor=sim, clock=clock)
    job.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                    total=usd("100.00"), payments=[by_card("100.00")])  # fmt: skip
    clock.advance(days=13)
    sim.other = BackOffice(store=store, journal=store.journal, processor=sim, clock=clock)
    assert job.renew_authorizations() == RenewalReport(renewed=("SO-1",))
    order = job.order("SO-1")
    assert order.holds == ()
    assert order.lines[0].authorized == usd("100.00")
    assert [(r.key, r.outcome.value) for r in job.operations("SO-1")][-2:] == [
        ("SO-1/authorize:L1.A2#1", "not_received"),
        ("SO-1/authorize:L1.A2#2", "approved"),
    ]


def test_a_renewal_whose_void_a_recovery_found_never_received_voids_again() -> None:
    """A1, A2, O2: likewise a void never received is no refusal: the renewal voids once
    more under a new attempt and authorizes again (an authorization already expired was
    left open and the order held AUTHORIZATION_EXPIRED; one still fresh was skipped)."""
    clock = ManualClock(START)
    sim = _RecoveryOnTheWay(clock=clock)
    sim.on_void = True
    store = InMemoryStore(keeps_journal=True)
    job = BackOffice(store=store, journal=store.journal, processor=sim, clock=clock)
    job.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                    total=usd("100.00"), payments=[by_card("100.00")])  # fmt: skip
    clock.advance(days=job.settings.authorization.expiry_days)  # expired, not stale (I3)
    sim.other = BackOffice(store=store, journal=store.journal, processor=sim, clock=clock)
    assert job.renew_authorizations() == RenewalReport(renewed=("SO-1",))
    order = job.order("SO-1")
    assert order.holds == ()
    assert [a.open_amount for a in order.lines[0].authorizations] == [usd("0.00"), usd("100.00")]
    assert [(r.key, r.outcome.value) for r in job.operations("SO-1")][1:] == [
        ("SO-1/void:L1.A1#1", "not_received"),
        ("SO-1/void:L1.A1#2", "approved"),
        ("SO-1/authorize:L1.A2#1", "approved"),
    ]


class _SlowVoids(SimulatedProcessor):
    """Each void takes 6 minutes; during SO-2's, another worker tries to claim SO-2."""

    store: InMemoryStore | None = None
    clock: ManualClock | None = None
    taken: tuple[str, ...] | None = None

    def void(self, key: str, authorization: AuthorizationToken) -> ProcessorResult:
        if self.clock is not None:
            self.clock.advance(minutes=6)
        if key.startswith("SO-2/") and self.store is not None:
            now = self._clock.now()
            self.taken = self.store.claim(["renew:SO-2"], "other", now + timedelta(minutes=10), now)
        return super().void(key, authorization)


def test_each_batch_is_claimed_for_renew_claim_minutes_from_when_it_is_claimed() -> None:
    """A2, O5: a batch claimed late in a long run still holds its orders for the whole
    renew_claim_minutes (it was claimed until the run's start plus them: already lapsed,
    another worker took the order being renewed)."""
    clock = ManualClock(START)
    sim = _SlowVoids(clock=clock)
    sim.clock, sim.store = clock, InMemoryStore(keeps_journal=True)
    store = sim.store
    policy = AuthorizationPolicy(renew_batch_size=1, renew_claim_minutes=10)
    bo = BackOffice(store=store, journal=store.journal, processor=sim, clock=clock,
                    settings=Settings(authorization=policy))  # fmt: skip
    for order_id in ("SO-1", "SO-2"):
        bo.place_order(order_id, channel=Channel.ECOMMERCE, customer=Customer.guest(),
                       total=usd("100.00"), payments=[by_card("100.00")])  # fmt: skip
    clock.advance(days=13)
    assert bo.renew_authorizations().renewed == ("SO-1", "SO-2")
    assert sim.taken == ()


class _PartialApprovals(SimulatedProcessor):
    """Approves 60.00 of any authorization while ``partial`` is set (N4)."""

    partial = False

    def authorize(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        return super().authorize(key, card, usd("60.00") if self.partial else amount)


@pytest.mark.parametrize("fault", ["approve", "timeout_after_success", "crash_after_success"])
def test_a_renewal_approved_for_less_puts_the_order_out_of_balance(fault: str) -> None:
    """S1, N4: as at placement, an authorization approved for less leaves the order short:
    OUT_OF_BALANCE, whether its answer came live or recover() found it (it stayed
    approved, with no hold, and could be invoiced with the rest uncovered)."""
    clock = ManualClock(START)
    sim = _PartialApprovals(clock=clock)
    bo = BackOffice.in_memory(processor=sim, clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("100.00"), payments=[by_card("100.00")])  # fmt: skip
    clock.advance(days=13)
    sim.partial = True
    sim.script("authorize", fault)
    try:
        bo.renew_authorizations()
    except SimulatedCrash:
        assert fault == "crash_after_success"
    bo.recover()
    order = bo.order("SO-1")
    assert order.lines[0].authorized == usd("60.00")
    assert order.balance_due == usd("40.00")
    assert [h.code for h in order.holds] == [HoldCode.OUT_OF_BALANCE]
    assert bo.renew_authorizations() == RenewalReport()  # renewed: nothing due again
