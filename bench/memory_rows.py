"""In-memory rows: one order's life against a dict baseline, and refunds over many captures."""

from __future__ import annotations

from typing import TypeVar

import attrs
from harness import Progress, Row, interleave, ms, timed

from fixtures import card, clock, in_memory, place, usd
from ocop import (
    Actor,
    AuthorizationToken,
    BackOffice,
    CaptureToken,
    Money,
    Outcome,
    ProcessorResult,
)
from ocop.adapters.simulated import SimulatedProcessor

ROUNDS = 7
ORDERS = 40  # orders per round in the life-of-an-order benchmark
REFUND_ROUNDS = 5
CAPTURES_SMALL = 100
CAPTURES_LARGE = 1_000
AGENT = Actor.call_center("agent")
Token = TypeVar("Token", AuthorizationToken, CaptureToken)


@attrs.define
class _Paid:
    """The baseline's record of one order: its authorization, captures and refunds."""

    authorization: AuthorizationToken
    captures: dict[str, CaptureToken] = attrs.Factory(dict)
    captured: dict[str, Money] = attrs.Factory(dict)
    refunded: dict[str, Money] = attrs.Factory(dict)


def _token(result: ProcessorResult, kind: type[Token]) -> Token:
    """The token of an approved baseline call."""
    if result.outcome is not Outcome.APPROVED or not isinstance(result.token, kind):
        raise RuntimeError(f"the simulated processor refused a baseline call ({result.outcome})")
    return result.token


def _dict_life(sim: SimulatedProcessor, orders: dict[str, _Paid], order_id: str) -> None:
    """Authorize 100, capture 60 and 40 (two invoices), refund 30 of the first capture."""
    auth = sim.authorize(f"{order_id}/auth", card(1), usd("100.00"))
    paid = orders[order_id] = _Paid(authorization=_token(auth, AuthorizationToken))
    for invoice_id, amount in (("INV-1", usd("60.00")), ("INV-2", usd("40.00"))):
        captured = sim.capture(f"{order_id}/{invoice_id}", paid.authorization, amount)
        paid.captures[invoice_id] = _token(captured, CaptureToken)
        paid.captured[invoice_id] = amount
    refund = sim.refund(f"{order_id}/RET-1", paid.captures["INV-1"], usd("30.00"))
    if refund.outcome is not Outcome.APPROVED:
        raise RuntimeError("the simulated processor refused the baseline refund")
    paid.refunded["INV-1"] = usd("30.00")


def order_life_against_dicts(progress: Progress) -> Row:
    progress.start("in memory: place, invoice twice, refund once vs a dict baseline")
    progress.note(
        f"{ROUNDS} interleaved rounds of {ORDERS} orders: authorize 100, capture 60 + 40, "
        "refund 30 (same simulated processor calls both ways); ocop's rounds end with one "
        "query of held orders, which indexes the orders written"
    )
    calls: dict[str, int] = {}

    def baseline() -> float:
        sim = SimulatedProcessor(clock=clock())
        orders: dict[str, _Paid] = {}

        def lives() -> None:
            for n in range(ORDERS):
                _dict_life(sim, orders, f"SO-{n}")

        took = timed(lives)
        calls["baseline"] = sim.calls
        return took / ORDERS

    def subject() -> float:
        now = clock()
        sim = SimulatedProcessor(clock=now)
        bo = BackOffice.in_memory(processor=sim, clock=now)

        def life(order_id: str) -> None:
            place(bo, order_id, "100.00")
            bo.invoice(order_id, "INV-1", usd("60.00"))
            bo.invoice(order_id, "INV-2", usd("40.00"))
            result = bo.refund(order_id, "RET-1", usd("30.00"), AGENT)
            if len(result.refunds) != 1:
                raise RuntimeError("the engine did not refund one capture")

        def lives() -> None:
            for n in range(ORDERS):
                life(f"SO-{n}")
            # The in-memory store indexes what it wrote at the next query: one query pays
            # for the round's indexing, as a back office that asks now and then does.
            if bo.orders(on_hold=True):
                raise RuntimeError("an order of the benchmark is on hold")

        took = timed(lives)
        calls["ocop"] = sim.calls
        return took / ORDERS

    pair = interleave(baseline, subject, ROUNDS)
    if calls["baseline"] != calls["ocop"]:
        raise RuntimeError(f"the two sides made different processor calls: {calls}")
    ratio = pair.throughput
    progress.done(
        f"dicts {ms(pair.baseline)}, ocop {ms(pair.subject)} per order "
        f"({calls['ocop'] // ORDERS} processor calls each) -> throughput ratio {ratio:.3f}"
    )
    return Row("in memory: order life ÷ dict baseline", f"{ratio:.3f}", "≥ 0.25")


def _refund_all(captures: int, *, collector: bool = True) -> float:
    """Seconds of one refund over every capture of an order invoiced ``captures`` times."""
    bo = in_memory()
    place(bo, "SO-1", f"{captures}.00")
    for n in range(captures):
        bo.invoice("SO-1", f"INV-{n}", usd("1.00"))

    def refund() -> None:
        result = bo.refund("SO-1", "RET-1", usd(f"{captures}.00"), AGENT)
        if len(result.refunds) != captures:
            raise RuntimeError("the refund did not go back over every capture")

    return timed(refund, collector=collector)


def refund_over_captures(progress: Progress) -> Row:
    progress.start(
        f"in memory: one refund over {CAPTURES_LARGE:,} captures vs over {CAPTURES_SMALL}"
    )
    progress.note(
        f"{REFUND_ROUNDS} interleaved rounds; each builds its order untimed "
        f"({CAPTURES_LARGE:,} invoices take a while today), then times the refund"
    )
    pair = interleave(
        lambda: _refund_all(CAPTURES_SMALL),
        lambda: _refund_all(CAPTURES_LARGE),
        REFUND_ROUNDS,
    )
    paused = interleave(
        lambda: _refund_all(CAPTURES_SMALL, collector=False),
        lambda: _refund_all(CAPTURES_LARGE, collector=False),
        REFUND_ROUNDS,
    )
    progress.done(
        f"{CAPTURES_SMALL}: {ms(pair.baseline)}, {CAPTURES_LARGE:,}: {ms(pair.subject)} "
        f"-> {pair.slowdown:.1f}x; with the cyclic garbage collector paused (as timeit "
        f"times): {ms(paused.baseline)}, {ms(paused.subject)} -> {paused.slowdown:.1f}x"
    )
    return Row(
        f"one refund over {CAPTURES_LARGE:,} captures ÷ {CAPTURES_SMALL}",
        f"{pair.slowdown:.1f}x ({pair.subject:.2f} s at {CAPTURES_LARGE:,}); "
        f"{paused.slowdown:.1f}x with the collector paused",
        "≤ 12x",
    )
