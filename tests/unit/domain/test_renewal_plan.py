"""The renewal plan, pure (rules A1, A2): driven with every kind of processor answer.

The plan (:class:`~ocop.domain.renewal.Renewal`) is run the way the engine runs it, each
step's outcome applied by :func:`~ocop.domain.effects.apply_outcome`. Whatever the
answers, a run ends with every due line renewed, or the order held; a line under renewal
only while a call of the order is in doubt; nothing released that may still be captured;
and what nothing will capture released.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import attrs
import hypothesis.strategies as st
import pytest
from hypothesis import given

from ocop import (
    AuthorizationToken,
    CardToken,
    Hold,
    HoldCode,
    Invoice,
    LineStatus,
    Operation,
    Order,
    Outcome,
    PaymentLine,
    ProcessorResult,
    Settings,
)
from ocop.domain import steps
from ocop.domain.effects import apply_outcome
from ocop.domain.plan import Context
from ocop.domain.renewal import Renewal, nothing_will_capture, renew_before

from .builders import AT, auth, capture, order, usd

NOW = AT + timedelta(days=13)
SETTINGS = Settings.default()
CTX = Context(now=NOW, settings=SETTINGS, adjustments=True)
ANSWERS = (Outcome.APPROVED, Outcome.DECLINED, Outcome.NOT_RECEIVED, Outcome.UNKNOWN)


def card(n: int, *, reusable: bool) -> CardToken:
    return CardToken(value=f"tok_c{n}", connector="sim", service_account="sa-1", brand="visa",
                     last4="1111", reusable=reusable)  # fmt: skip


@attrs.frozen
class LineSpec:
    """A card line of 100.00: authorized ``age`` days before NOW, ``taken`` captured."""

    age: int
    taken: int
    reusable: bool
    renewing: bool


line_specs = st.builds(
    LineSpec,
    age=st.integers(0, 35),
    taken=st.sampled_from([0, 0, 40_00, 100_00]),
    reusable=st.booleans(),
    renewing=st.booleans(),
)


def build(specs: list[LineSpec]) -> Order:
    lines = []
    for n, spec in enumerate(specs):
        line = PaymentLine.card_line(f"L{n}", card(n, reusable=spec.reusable), usd("100.00"))
        line = line.authorized_with(auth("A1", usd("100.00"), at=NOW - timedelta(days=spec.age)))
        if spec.taken:
            taken = usd(spec.taken // 100)
            line = line.captured_with(capture(f"C{n}", taken, line_id=f"L{n}"))
        lines.append(line.renewal(under_way=spec.renewing))
    return order(f"{100 * len(specs)}.00", *lines)


def answer(op: Operation, outcome: Outcome) -> ProcessorResult:
    token = None
    if outcome is Outcome.APPROVED and isinstance(op.step, steps.Authorize):
        token = AuthorizationToken(f"tok_{op.step.line_id}.{op.step.auth_id}", "sim", "sa-1")
    return ProcessorResult(key=op.key, outcome=outcome, token=token)


def run(start: Order, answers: Iterator[Outcome], *, retry: bool = False) -> tuple[Order, Renewal]:
    """The plan run to its end as the engine runs it (no call after one in doubt)."""
    current = start
    goal = Renewal.start(start, NOW, SETTINGS.authorization)
    goal = attrs.evolve(goal, retry=retry)
    for _ in range(100):
        found = goal.next(current, CTX)
        goal = found.goal
        if found.order is not None:
            current = found.order
        if found.steps:
            done: list[Operation] = []
            for step in found.steps:
                op = Operation.intent(current.order_id, step, 1, NOW)
                outcome = next(answers, Outcome.APPROVED)
                if outcome is Outcome.UNKNOWN:
                    done.append(op)
                    continue
                result = answer(op, outcome)
                current = apply_outcome(current, op, result, SETTINGS, NOW).order
                done.append(op.resolved(result, NOW))
            goal = goal.after(tuple(done))
        if found.done:
            return current, goal
    raise AssertionError("the plan did not end")


def due(order: Order) -> list[str]:
    """The lines with an open authorization due for renewal."""
    before = renew_before(NOW, SETTINGS.authorization)
    return [
        line.line_id
        for line in order.lines
        if any(a.authorized_at < before for a in line.open_authorizations())
    ]


@given(specs=st.lists(line_specs, min_size=1, max_size=3),
       outcomes=st.lists(st.sampled_from(ANSWERS), max_size=8))  # fmt: skip
def test_a_run_renews_or_holds_every_due_line_and_never_leaves_one_with_neither(
    specs: list[LineSpec], outcomes: list[Outcome]
) -> None:
    """A1, A2: on an approved order, after a run whose calls were all answered, no line is
    under renewal, and each line is renewed (fresh authorization) or the order is held;
    money captured is never touched; a call in doubt stops the run (O3)."""
    start = build(specs)
    final, goal = run(start, iter(outcomes))
    for before, after in zip(start.lines, final.lines, strict=True):
        assert after.captured == before.captured  # the job never captures
        for auth_after in after.authorizations:
            assert auth_after.captured + auth_after.voided <= auth_after.amount  # V1
    if goal.in_doubt:
        assert len(goal.in_doubt) == 1
        return
    assert not any(line.renewing for line in final.lines)
    for line_id in due(final):
        assert line_id not in goal.renewed
        opened = final.line(line_id).open_authorizations()
        still_good = all(NOW - a.authorized_at < timedelta(days=14) for a in opened)
        # Not renewed: held, or (its void refused while it can still be captured) left for
        # the next run.
        assert final.has_hold(HoldCode.AUTHORIZATION_EXPIRED) or still_good
    for line in final.lines:
        if line.line_id in goal.renewed:
            fresh = line.authorizations[-1]
            assert fresh.authorized_at == NOW
            assert fresh.amount == line.amount - line.captured
        if line.line_id in goal.declined:
            assert line.status is LineStatus.DECLINED
            assert final.has_hold(HoldCode.AUTHORIZATION_EXPIRED)
    assert goal.held == final.has_hold(HoldCode.AUTHORIZATION_EXPIRED)


def test_a_refused_void_leaves_a_capturable_authorization_for_the_next_run() -> None:
    start = build([LineSpec(13, 0, reusable=True, renewing=False)])
    final, goal = run(start, iter([Outcome.DECLINED]))
    assert (final.holds, final.lines[0].renewing, goal.acted) == ((), False, False)
    expired = build([LineSpec(15, 0, reusable=True, renewing=False)])
    final, goal = run(expired, iter([Outcome.DECLINED]))
    assert goal.held
    assert final.has_hold(HoldCode.AUTHORIZATION_EXPIRED)


@given(specs=st.lists(line_specs, min_size=1, max_size=3))
def test_a_second_run_after_approvals_does_nothing(specs: list[LineSpec]) -> None:
    """A2: once every call is approved, running again calls nothing and changes nothing."""
    final, _ = run(build(specs), iter(()))
    again, goal = run(final, iter(()))
    assert again == final
    assert not goal.acted


@given(specs=st.lists(line_specs, min_size=1, max_size=3), cancelled=st.booleans())
def test_what_nothing_will_capture_is_released_whatever_its_age(
    specs: list[LineSpec], cancelled: bool
) -> None:
    """A1: on a cancelled order, or one invoiced in full with every invoice covered, every
    open authorization is voided (with manual void on), no new one is made and no hold is
    placed."""
    start = build(specs)
    captures = [c for line in start.lines for c in line.captures]
    if cancelled or not captures:
        start = start.cancel()
    else:  # invoiced in full, each invoice covered by its capture
        for cap in captures:
            assert cap.invoice_id is not None
            invoice = Invoice(invoice_id=cap.invoice_id, amount=cap.amount, invoiced_at=AT)
            start = start.with_invoice(invoice)
        start = attrs.evolve(start, total=start.invoiced)
    assert nothing_will_capture(start)
    final, goal = run(start, iter(()))
    assert all(line.authorized.is_zero() for line in final.lines)
    assert not any(line.renewing for line in final.lines)
    opened = [a.auth_id for line in start.lines for a in line.open_authorizations()]
    assert len(goal.voided) == len(opened)
    assert (goal.renewed, goal.held) == ((), False)
    assert [len(line.authorizations) for line in final.lines] == [1] * len(specs)


def test_an_invoice_still_short_keeps_the_authorizations() -> None:
    """I4: an invoice whose capture failed may be retried: nothing is released."""
    start = build([LineSpec(0, 0, reusable=True, renewing=False)])
    start = start.with_invoice(Invoice(invoice_id="INV-1", amount=start.total, invoiced_at=AT))
    assert not nothing_will_capture(start)
    final, goal = run(start, iter(()))
    assert (final, goal.acted) == (start, False)


def test_a_held_order_is_not_renewed_but_an_interrupted_renewal_is_finished() -> None:
    """Only approved orders are renewed; a line already under renewal is finished anyway."""
    held = build([LineSpec(13, 0, reusable=True, renewing=False)])
    hold = Hold(code=HoldCode.MANUAL, reason="held by hand", placed_at=AT)
    on_hold = held.with_hold(hold)
    final, goal = run(on_hold, iter(()))
    assert (final, goal.acted) == (on_hold, False)
    under_way = held.with_line(held.lines[0].renewal(under_way=True)).with_hold(hold)
    final, goal = run(under_way, iter(()))
    assert goal.renewed == ("L0",)
    assert not final.lines[0].renewing


def test_waiting_for_completion_leaves_authorizations_to_the_draft() -> None:
    start = build([LineSpec(13, 0, reusable=True, renewing=False)]).pending_completion()
    final, goal = run(start, iter(()))
    assert (final, goal.acted) == (start, False)


@pytest.mark.parametrize("retry", [False, True])
def test_retry_declined_authorizes_a_declined_reusable_line_once(retry: bool) -> None:
    """A2: with retry on, a declined line with a reusable card is authorized again, once a
    run; the holds it caused end when it is approved."""
    line = PaymentLine.card_line("L0", card(0, reusable=True), usd("100.00")).declined()
    hold_placed = order("100.00", line)
    for code in (HoldCode.PAYMENT_DECLINED, HoldCode.AUTHORIZATION_EXPIRED):
        hold_placed = hold_placed.with_hold(Hold(code=code, reason="x", placed_at=AT))
    final, goal = run(hold_placed, iter(()), retry=retry)
    if not retry:
        assert (final, goal.acted) == (hold_placed, False)
        return
    assert goal.renewed == goal.retried == ("L0",)
    assert final.lines[0].status is LineStatus.AUTHORIZED
    assert final.holds == ()
    again, declined = run(hold_placed, iter([Outcome.DECLINED]), retry=True)
    assert declined.declined == ("L0",)
    assert again.lines[0].status is LineStatus.DECLINED
    assert len(again.holds) == 2
