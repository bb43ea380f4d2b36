"""Plans a fourth mutation run showed unchecked: a pickup retry with nothing left open on its
authorization (I6), and the step limit that keeps completion from looping on one line (S1).

Both are pure plans, so each test drives the goal by hand: it asks what to do next, answers
with the outcome it wants, and gives the goal the order as a store would hand it back.
"""

from __future__ import annotations

from ocop import Operation, Outcome, ProcessorResult, Settings
from ocop.domain import steps
from ocop.domain.completion import Complete
from ocop.domain.invoice_run import InvoiceRun
from ocop.domain.plan import MAX_STEPS_PER_LINE, Context

from .builders import AT, CARD, authorized_line, capture, card_line, order, usd

CTX = Context(now=AT, settings=Settings.default(), adjustments=True)


def _answered(step: steps.Step, outcome: Outcome) -> Operation:
    """The first attempt of ``step`` on SO-1, settled with ``outcome``."""
    op = Operation.intent("SO-1", step, 1, AT)
    return op.resolved(ProcessorResult(key=op.key, outcome=outcome), AT)


def test_a_failed_pickup_capture_with_nothing_open_is_retried_on_a_new_authorization() -> None:
    """I6: when the authorization of a declined pickup capture has nothing open any more, the
    retry authorizes just the piece anew on the line's card, with no void first (the line
    still has that much to pay, I1)."""
    placed = order("100.00", authorized_line("100.00", multi=False))
    run = InvoiceRun.start(placed, "INV-1", usd("40.00"), repeat=False, pickup=True,
                           protect=True, now=AT)  # fmt: skip
    recorded = run.next(placed, CTX)
    assert recorded.order is not None
    current = recorded.order
    asked = recorded.goal.next(current, CTX)
    (take,) = asked.steps
    assert isinstance(take, steps.Capture)
    # Meanwhile another invoice's single capture released the rest of the authorization.
    line = current.line("L1").captured_with(capture("C9", usd("10.00"), invoice_id="INV-2"))
    retried = asked.goal.after((_answered(take, Outcome.DECLINED),)).next(
        current.with_line(line), CTX
    )
    assert retried.steps == (
        steps.Authorize(line_id="L1", auth_id="L1.A2", amount=usd("40.00"), target=CARD.value),
    )
    assert retried.goal.failed == ("L1",)
    assert not retried.done


def test_a_line_whose_approved_steps_never_change_it_is_left_after_the_step_limit() -> None:
    """S1: a line still asking for a step after MAX_STEPS_PER_LINE approved ones is left as
    it is, and completion goes on to validate the order."""
    placed = order("100.00", card_line("100.00"))
    goal = Complete.of(placed)
    asked: list[steps.Step] = []
    for _ in range(2 * MAX_STEPS_PER_LINE):
        found = goal.next(placed, CTX)
        if not found.steps:
            break
        (step,) = found.steps
        asked.append(step)
        goal = found.goal.after((_answered(step, Outcome.APPROVED),))
    assert len(asked) == MAX_STEPS_PER_LINE
    assert all(isinstance(step, steps.Authorize) for step in asked)
    assert found.goal.validated
    assert found.order is not None
    assert goal.calls == MAX_STEPS_PER_LINE
