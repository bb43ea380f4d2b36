"""An invoice (or pickup) and a cancellation of the same order racing (rules X1, I1-I6, O5).

No threads: the simulated processor runs the other worker at a chosen call, after the call
reached it and before its answer comes back. While a call is in doubt the other worker is
refused (O3); but a ``recover()`` (or a notification) may settle the call first, and then
the other worker finds nothing in doubt. The run whose call it was reads the order again
to commit its outcome: it must see what the other did, and act on it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ocop import (
    AuthorizationToken,
    BackOffice,
    CardPayment,
    CardToken,
    Channel,
    IllegalTransition,
    Money,
    OperationInDoubt,
    ProcessorResult,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from worlds import CUSTOMER, START, card, usd

from .support import AGENT


class Meanwhile(SimulatedProcessor):
    """A simulated processor that, at the first call whose key holds ``match``, runs
    ``then`` once the call is carried out and before its answer returns."""

    match: str = ""
    then: Callable[[], None] | None = None

    def _after(self, key: str, result: ProcessorResult) -> ProcessorResult:
        if self.then is not None and self.match in key:
            then, self.then = self.then, None
            then()
        return result

    def authorize(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        return self._after(key, super().authorize(key, card, amount))

    def capture(
        self, key: str, authorization: AuthorizationToken, amount: Money
    ) -> ProcessorResult:
        return self._after(key, super().capture(key, authorization, amount))

    def void(self, key: str, authorization: AuthorizationToken) -> ProcessorResult:
        return self._after(key, super().void(key, authorization))


World = tuple[BackOffice, BackOffice, Meanwhile, ManualClock]


@pytest.fixture(params=["memory", "sqlite"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., World]:
    """Two back offices over one store (in memory, or one SQLite file) and one processor."""

    def world(*amounts: str, multi_capture: bool = True) -> World:
        clock = ManualClock(START)
        sim = Meanwhile(clock=clock, multi_capture=multi_capture)
        if request.param == "memory":
            bo = BackOffice.in_memory(processor=sim, clock=clock)
            other = BackOffice(store=bo.ports.store, journal=bo.ports.journal, processor=sim,
                               clock=clock)  # fmt: skip
        else:
            path = tmp_path / "payments.db"
            bo = BackOffice.sqlite(path, processor=sim, clock=clock)
            other = BackOffice.sqlite(path, processor=sim, clock=clock)
        payments = [CardPayment(card(f"tok_{n}", f"111{n}"), usd(a)) for n, a in enumerate(amounts)]
        total = sum((usd(a) for a in amounts), usd("0.00"))
        bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER, total=total,
                       payments=payments)  # fmt: skip
        return bo, other, sim, clock

    return world


def _recovered_then(other: BackOffice, action: Callable[[], object]) -> Callable[[], None]:
    """Another worker's recover() settles the call on its way, then ``action`` runs."""

    def run() -> None:
        other.recover()
        action()

    return run


def _held(sim: SimulatedProcessor, bo: BackOffice) -> list[tuple[str, Money | None]]:
    """What the processor still holds on each of the order's authorizations."""
    order = bo.order("SO-1")
    return [(a.auth_id, sim.authorization_open(a.token.value))
            for line in order.lines for a in line.authorizations]  # fmt: skip


def _moved(sim: SimulatedProcessor) -> list[tuple[str, str, Money]]:
    return [(e.kind, e.key, e.amount) for e in sim.ledger() if e.kind != "authorize"]


def test_a_cancellation_is_refused_while_the_capture_is_on_its_way(
    make: Callable[..., World],
) -> None:
    """O3: with the invoice's capture in doubt, the cancellation moves nothing."""
    bo, other, sim, _ = make("20.00", "30.00")
    refused: list[Exception] = []

    def cancel() -> None:
        with pytest.raises(OperationInDoubt) as caught:
            other.cancel_order("SO-1", AGENT)
        refused.append(caught.value)

    sim.match, sim.then = "capture:INV-1:L1", cancel
    result = bo.invoice("SO-1", "INV-1", usd("50.00"))
    assert refused
    assert (result.order.cancelled, result.uncovered) == (False, usd("0.00"))
    assert [c.amount for c in result.captures] == [usd("20.00"), usd("30.00")]


@pytest.mark.parametrize("pickup", [False, True], ids=["invoice", "pickup"])
def test_no_capture_after_a_cancellation_seen_on_the_way(
    make: Callable[..., World], pickup: bool
) -> None:
    """X1, I1, O5: a recover() settles the first line's capture while it is on its way and
    the order is cancelled (invoiced: the caller is told a manual refund is needed, for
    what was captured then). The run, reading the order again, captures nothing more: the
    second line's authorization is left to lapse, as the cancellation left it."""
    bo, other, sim, _ = make("20.00", "30.00")
    told: list[bool] = []
    sim.match = "capture:INV-1:L1"
    sim.then = _recovered_then(
        other, lambda: told.append(other.cancel_order("SO-1", AGENT).manual_refund_needed)
    )
    run = bo.pickup if pickup else bo.invoice
    result = run("SO-1", "INV-1", usd("50.00"))
    assert told == [True]
    assert result.order.cancelled
    assert [(c.line_id, c.amount) for c in result.captures] == [("L1", usd("20.00"))]
    assert result.uncovered == usd("30.00")
    assert _moved(sim) == [("capture", "SO-1/capture:INV-1:L1:L1.A1#1", usd("20.00"))]
    assert _held(sim, bo) == [("L1.A1", usd("0.00")), ("L2.A1", usd("30.00"))]
    stored = bo.order("SO-1")
    assert (stored.line("L1").captured, stored.line("L2").captured) == (usd("20.00"), usd("0.00"))
    assert [v.amount for v in bo.journal("SO-1")] == [usd("20.00")]
    with pytest.raises(IllegalTransition):
        bo.invoice("SO-1", "INV-1", usd("50.00"))


def test_no_reauthorization_of_a_released_rest_after_a_cancellation(
    make: Callable[..., World],
) -> None:
    """I2, X1: a single capture released the rest of its authorization; the order was
    cancelled meanwhile: the rest is not authorized again."""
    bo, other, sim, _ = make("50.00", multi_capture=False)
    sim.match = "capture:INV-1:L1"
    sim.then = _recovered_then(other, lambda: other.cancel_order("SO-1", AGENT))
    result = bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert result.order.cancelled
    assert [(e.kind, e.key) for e in sim.ledger()] == [
        ("authorize", "SO-1/authorize:L1.A1#1"),
        ("capture", "SO-1/capture:INV-1:L1:L1.A1#1"),
    ]
    assert _held(sim, bo) == [("L1.A1", usd("0.00"))]


def test_no_pickup_retry_after_a_declined_capture_and_a_cancellation(
    make: Callable[..., World],
) -> None:
    """I6, X1: the pickup's capture is declined; the order is cancelled before the run
    hears it: the retry (void, new authorization, capture) is not made."""
    bo, other, sim, _ = make("50.00")
    sim.script("capture", "decline")
    sim.match = "capture:INV-1:L1"
    sim.then = _recovered_then(other, lambda: other.cancel_order("SO-1", AGENT))
    result = bo.pickup("SO-1", "INV-1", usd("20.00"))
    assert result.order.cancelled
    assert result.captures == ()
    assert [(e.kind, e.key) for e in sim.ledger()] == [("authorize", "SO-1/authorize:L1.A1#1")]
    assert _held(sim, bo) == [("L1.A1", usd("50.00"))]


@pytest.mark.parametrize(
    ("at", "calls"),
    [
        ("void:L1.A1", [("void", "SO-1/void:L1.A1#1"), ("authorize", "SO-1/authorize:L1.A2#1")]),
        (
            "authorize:L1.A2",
            [("void", "SO-1/void:L1.A1#1"), ("authorize", "SO-1/authorize:L1.A2#1")],
        ),
    ],
    ids=["after-the-void", "after-the-new-authorization"],
)
def test_no_renewal_nor_capture_after_a_cancellation(
    make: Callable[..., World], at: str, calls: list[tuple[str, str]]
) -> None:
    """I3, X1: an expired authorization is renewed (void, then a new authorization) before
    its capture; the order cancelled after the void, or after the new authorization: the
    run makes no further call, and captures nothing. (After the void, the recover() that
    settled it finished the renewal, A2, before the cancellation: the new authorization
    is the recovery's, left open by the cancellation of an invoiced order, X1.)"""
    bo, other, sim, clock = make("50.00")
    clock.advance(days=15)
    sim.match = at
    sim.then = _recovered_then(other, lambda: other.cancel_order("SO-1", AGENT))
    result = bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert result.order.cancelled
    assert result.captures == ()
    assert [(e.kind, e.key) for e in sim.ledger()][1:] == calls
    assert not bo.order("SO-1").line("L1").renewing
