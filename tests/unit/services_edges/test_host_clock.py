"""A host's clock is a port whose answers are checked (E1): one that tells a naive time is
refused before anything is stored or sent, never a ``TypeError`` halfway through a call."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ocop import (
    BackOffice,
    CardPayment,
    Channel,
    Customer,
    InvalidArgument,
    OrderNotFound,
    Settings,
)
from ocop.adapters.memory import InMemoryJournal, InMemoryStore, ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from worlds import START, card, usd

from .support import AGENT


class _HostClock:
    """A host's own clock, set by the test: aware or naive, as the host's code gives it."""

    def __init__(self) -> None:
        self.moment = START

    def now(self) -> datetime:
        return self.moment


def _wired(clock: _HostClock) -> tuple[BackOffice, SimulatedProcessor]:
    sim = SimulatedProcessor(clock=ManualClock(START))
    bo = BackOffice(store=InMemoryStore(), processor=sim, journal=InMemoryJournal(),
                    settings=Settings.default(), clock=clock)  # fmt: skip
    return bo, sim


def _place(bo: BackOffice, order_id: str = "SO-1") -> None:
    bo.place_order(order_id, channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                   total=usd("50.00"), payments=[CardPayment(card(), usd("50.00"))])  # fmt: skip


def test_a_clock_telling_a_naive_time_is_refused_before_an_order_is_placed() -> None:
    """E1: placing an order through a clock whose now() has no timezone raises
    InvalidArgument naming the clock; no order is stored and the processor is not called
    (it was accepted: the order was authorized and stored with naive times)."""
    clock = _HostClock()
    clock.moment = datetime(2026, 1, 1)  # the host's mistake under test
    bo, sim = _wired(clock)
    with pytest.raises(InvalidArgument) as caught:
        _place(bo)
    assert caught.value.argument == "clock"
    assert (
        str(caught.value)
        == "clock.now() must return a timezone-aware datetime, not a naive datetime"
    )
    with pytest.raises(OrderNotFound):
        bo.order("SO-1")
    assert sim.ledger() == ()


def test_a_clock_turned_naive_is_refused_before_a_submit_calls_the_processor() -> None:
    """E1, O1: a clock that tells a naive time after orders were stored with aware ones is
    refused at the submit's first reading: the processor is not called and nothing is left
    in doubt (the new card was authorized at the processor, its outcome left unknown and
    the submit raised TypeError)."""
    clock = _HostClock()
    bo, sim = _wired(clock)
    _place(bo)
    bo.change_total("SO-1", usd("60.00"), AGENT)
    draft = bo.begin_completion("SO-1", AGENT).add_card(card("tok_2", "2222"), usd("10.00"))
    clock.moment = datetime(2026, 1, 2)  # the host's mistake under test
    with pytest.raises(InvalidArgument):
        bo.submit(draft)
    with pytest.raises(InvalidArgument):
        bo.renew_authorizations()
    assert [entry.kind for entry in sim.ledger()] == ["authorize"]  # the placement's only
    clock.moment = START + timedelta(days=1)
    assert bo.orders(in_doubt=True) == ()
    assert bo.submit(bo.begin_completion("SO-1", AGENT).add_card(
        card("tok_2", "2222"), usd("10.00"))).approved  # fmt: skip


def test_the_back_office_gives_back_the_hosts_own_clock() -> None:
    """bo.clock is the clock the host wired (its own methods at hand), checked or not."""
    clock = ManualClock(START)
    bo = BackOffice.in_memory(clock=clock)
    assert bo.clock is clock
    assert bo.with_settings(Settings.default()).clock is clock
