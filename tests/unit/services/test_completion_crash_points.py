"""A submit whose process dies between the commits of a declined adjustment and of its
release (C3, O1, O2, V5): ``recover()`` brings the order where a live run would be."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import ALICE, CARD_1, CLERK, World, capture_line, kinds

from ocop import BackOffice, CardPayment, Channel, HoldCode, LineStatus, Outcome
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedCrash, SimulatedProcessor
from ocop.ports.store import Committed, UnitOfWork
from ocop.testing.counting import DelegatingStore, DelegatingUnitOfWork
from pg_support import STORES, Stores
from worlds import START, usd


class _DiesAfterTheDecline(DelegatingStore):
    """A store under a process that dies just after the commit that stores SO-1's
    adjustment declined, once, when armed: that commit is kept, nothing after it runs."""

    armed = False

    def unit_of_work(self) -> UnitOfWork:
        return _DyingUnit(self, self.inner.unit_of_work())

    def declined(self) -> bool:
        with self.inner.unit_of_work() as uow:
            log = uow.operations.for_order("SO-1")
        return any(op.kind.value == "adjust" and op.outcome is Outcome.DECLINED for op in log)


class _DyingUnit(DelegatingUnitOfWork):
    def __init__(self, store: _DiesAfterTheDecline, inner: UnitOfWork) -> None:
        super().__init__(inner)
        self._store = store

    def commit(self) -> Committed:
        committed = super().commit()
        if self._store.armed and self._store.declined():
            self._store.armed = False
            raise SimulatedCrash("the submitting process died after this commit")
        return committed


@pytest.fixture(params=STORES)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    """Stores in memory, in SQLite files or in PostgreSQL schemas."""
    with Stores(request.param, tmp_path) as opened:
        yield opened


def _world(stores: Stores) -> tuple[World, _DiesAfterTheDecline]:
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    inner = stores.new()
    store = _DiesAfterTheDecline(inner)
    journal = inner.journal
    bo = BackOffice(store=store, processor=sim, journal=journal, clock=clock)
    world = World(clock=clock, sim=sim, store=inner, journal=journal, bo=bo)  # type: ignore[arg-type]
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=ALICE, total=usd("100.00"),
                   payments=[CardPayment(CARD_1, usd("100.00"))])  # fmt: skip
    return world, store


@pytest.mark.parametrize("new_total", ["150.00", "70.00"], ids=["raised", "reduced"])
@pytest.mark.parametrize("captured", ["0.00", "40.00"], ids=["uncaptured", "captured"])
def test_a_process_that_died_after_storing_a_declined_adjustment_leaves_its_release_to_recover(
    captured: str, new_total: str, stores: Stores
) -> None:
    """C3, S1, O1, O2, V5: the card declines a line's adjustment and the process dies just
    after storing the decline. The release of the old authorization was recorded with the
    decline, so it is in doubt: recover() finds it never reached the processor, and the
    line ends as when a live release never arrives: it keeps what the processor holds as
    its amount, the difference to the new total due (or overpaid), and an untouched submit
    asks nothing of the card that declined. (Nothing was in doubt: the line kept the
    amount it was not given with the old authorization held, and an untouched submit sent
    the declined adjustment again.)"""
    world, store = _world(stores)
    if usd(captured).is_positive():
        capture_line(world, "SO-1", "L1", usd(captured))
    token = world.bo.order("SO-1").line("L1").authorizations[0].token.value
    world.bo.change_total("SO-1", usd(new_total), CLERK)
    world.sim.script("adjust", "decline")
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd(new_total))
    store.armed = True
    with pytest.raises(SimulatedCrash):
        world.bo.submit(draft)
    assert not store.armed  # it died where it should
    report = world.bo.recover()
    assert len(report.resolved) == 1
    assert report.still_in_doubt == ()
    open_left = usd("100.00") - usd(captured)
    line = world.bo.order("SO-1").line("L1")
    assert world.sim.authorization_open(token) == open_left
    assert (line.amount, line.captured, line.authorized) == (
        usd("100.00"), usd(captured), open_left)  # fmt: skip
    due = usd(new_total) - usd("100.00")
    assert world.bo.begin_completion("SO-1", CLERK).balance_due == due
    calls = world.sim.calls
    untouched = world.bo.submit(world.bo.begin_completion("SO-1", CLERK))
    assert not untouched.approved
    assert untouched.order.has_hold(HoldCode.OUT_OF_BALANCE)
    assert world.sim.calls == calls


@pytest.mark.parametrize("new_total", ["150.00", "70.00"], ids=["raised", "reduced"])
def test_a_process_that_died_after_the_release_was_made_ends_as_a_live_decline(
    new_total: str, stores: Stores
) -> None:
    """C3, O2, V5: the release of a declined adjustment reached the processor and the
    process died before storing its answer: recover() finds it made, and the line is
    declined with its authorization released, as live."""
    world, _ = _world(stores)
    token = world.bo.order("SO-1").line("L1").authorizations[0].token.value
    world.bo.change_total("SO-1", usd(new_total), CLERK)
    world.sim.script("adjust", "decline")
    world.sim.script("void", "crash_after_success")
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd(new_total))
    with pytest.raises(SimulatedCrash):
        world.bo.submit(draft)
    assert world.bo.recover().still_in_doubt == ()
    line = world.bo.order("SO-1").line("L1")
    assert world.sim.authorization_open(token) == usd("0.00")
    assert (line.status, line.amount) == (LineStatus.DECLINED, usd(new_total))
    assert kinds(world.sim.ledger()) == ["authorize", "void"]
