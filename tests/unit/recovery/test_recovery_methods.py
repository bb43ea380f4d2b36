"""Recovery asks each processor the way it supports (rule N3).

A processor that forgets keys decides nothing by not knowing one: the call stays in doubt
and is listed for reconciliation by hand, never taken as never received. A processor
recovered by replay is asked the same request again under the same key; past its key
lifetime a call is never replayed.
"""

from __future__ import annotations

from datetime import timedelta

import attrs

from ocop import AuthorizationToken, BackOffice, Channel, Customer, Money, Outcome, ProcessorResult
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.ports.processor import ProcessorCapabilities, RecoveryMethod
from worlds import START, by_card, usd

from .support import UnsureProcessor

_ECOMMERCE = Channel.ECOMMERCE
_GUEST = Customer.guest()


class Forgetful(UnsureProcessor):
    """A processor recovered as ``capabilities`` say, counting lookups and replays."""

    def __init__(self, sim: SimulatedProcessor, caps: ProcessorCapabilities) -> None:
        super().__init__(sim)
        self.caps = caps
        self.forgotten: set[str] = set()
        self.replays: list[str] = []

    @property
    def capabilities(self) -> ProcessorCapabilities:
        return self.caps

    def lookup(self, key: str) -> ProcessorResult:
        if key in self.forgotten:
            return ProcessorResult(key=key, outcome=Outcome.NOT_RECEIVED)
        return super().lookup(key)

    def capture(
        self, key: str, authorization: AuthorizationToken, amount: Money
    ) -> ProcessorResult:
        self.replays.append(key)
        return super().capture(key, authorization, amount)


def world(
    *,
    recovery: RecoveryMethod = RecoveryMethod.LOOKUP,
    unknown_key_never_received: bool = True,
    key_lifetime: timedelta | None = None,
) -> tuple[ManualClock, SimulatedProcessor, Forgetful, BackOffice]:
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    caps = attrs.evolve(sim.capabilities, recovery=recovery, key_lifetime=key_lifetime,
                        unknown_key_never_received=unknown_key_never_received)  # fmt: skip
    processor = Forgetful(sim, caps)
    return clock, sim, processor, BackOffice.in_memory(processor=processor, clock=clock)


def in_doubt_capture(bo: BackOffice, sim: SimulatedProcessor) -> str:
    """A capture of 10.00 that the processor took, its answer lost: its key."""
    bo.place_order("SO-1", channel=_ECOMMERCE, customer=_GUEST, total=usd("10.00"),
                   payments=[by_card("10.00")])  # fmt: skip
    sim.script("capture", "timeout_after_success")
    result = bo.invoice("SO-1", "INV-1", usd("10.00"))
    (key,) = result.in_doubt
    return key


def test_a_processor_that_forgets_keys_decides_nothing_by_not_knowing_one() -> None:
    _, sim, processor, bo = world(unknown_key_never_received=False)
    key = in_doubt_capture(bo, sim)
    processor.forgotten.add(key)  # the processor took the money, then forgot the key
    report = bo.recover()
    assert report.resolved == ()
    assert report.still_in_doubt == report.for_reconciliation == (key,)
    assert bo.orders(in_doubt=True) == ("SO-1",)  # never "resolved" as never received


def test_a_processor_that_keeps_every_key_settles_an_unknown_one_as_never_received() -> None:
    _, sim, _, bo = world()
    bo.place_order("SO-1", channel=_ECOMMERCE, customer=_GUEST, total=usd("10.00"),
                   payments=[by_card("10.00")])  # fmt: skip
    sim.script("capture", "timeout_before")
    (key,) = bo.invoice("SO-1", "INV-1", usd("10.00")).in_doubt
    report = bo.recover()
    assert (report.resolved, report.for_reconciliation) == ((key,), ())
    assert bo.operations("SO-1")[-1].outcome is Outcome.NOT_RECEIVED


def test_replay_asks_with_the_same_request_and_key() -> None:
    _, sim, processor, bo = world(recovery=RecoveryMethod.REPLAY)
    key = in_doubt_capture(bo, sim)
    processor.lookups.clear()
    report = bo.recover()
    assert report.resolved == (key,)
    assert processor.lookups == []  # asked by replay, not by lookup
    assert processor.replays[-1] == key
    assert bo.order("SO-1").captured == usd("10.00")
    assert [e.key for e in sim.ledger() if e.kind == "capture"] == [key]  # taken once


def test_past_the_key_lifetime_a_call_is_never_replayed() -> None:
    clock, sim, processor, bo = world(recovery=RecoveryMethod.REPLAY,
                                      key_lifetime=timedelta(hours=24))  # fmt: skip
    key = in_doubt_capture(bo, sim)
    clock.advance(hours=24)
    replays = len(processor.replays)
    report = bo.recover()
    assert report.for_reconciliation == (key,)
    assert len(processor.replays) == replays


def test_a_call_is_never_asked_of_a_processor_of_another_account() -> None:
    """I5, N3, O2: after a restart wired to the processor of another service account (a
    misconfiguration), the capture in doubt (60.00, taken through sa-1) is asked of no
    processor: it stays in doubt, never recorded as never received because the other
    account never saw it, and the processor of its account settles it later."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    bo = BackOffice.in_memory(processor=sim, clock=clock)
    bo.place_order("SO-1", channel=_ECOMMERCE, customer=_GUEST, total=usd("60.00"),
                   payments=[by_card("60.00")])  # fmt: skip
    sim.script("capture", "timeout_after_success")
    (doubt,) = bo.invoice("SO-1", "INV-1", usd("60.00")).in_doubt
    other = SimulatedProcessor(clock=clock, service_account="sa-2")
    wrong = BackOffice(store=bo.ports.store, journal=bo.ports.journal, processor=other,
                       clock=clock)  # fmt: skip
    report = wrong.recover()
    assert (report.resolved, report.still_in_doubt) == ((), (doubt,))
    assert other.calls == 0
    assert bo.recover().resolved == (doubt,)
    assert bo.order("SO-1").received == usd("60.00")
