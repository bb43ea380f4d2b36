"""The engine at its edges: a plan that never ends, a step already in doubt, calls it refuses.

Each case drives :mod:`ocop.services._engine` directly, as a use case would, on an
in-memory world: what it raises, and that nothing reached the processor or the store.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest

from ocop import (
    CardPayment,
    Channel,
    IllegalTransition,
    Operation,
    OperationInDoubt,
    Order,
)
from ocop.domain import steps
from ocop.domain.plan import Context, Next
from ocop.services._engine import Secrets, execute, pursue, request
from worlds import CUSTOMER, START, World, card, in_cash, new_world, usd

from .support import card_order, operations


@attrs.frozen
class Endless:
    """A goal that never says it is done, and never asks for anything."""

    def next(self, order: Order, ctx: Context) -> Next[Endless]:
        return Next(goal=self)

    def after(self, operations: tuple[Operation, ...]) -> Endless:
        return self


def test_a_plan_that_never_ends_is_stopped_without_storing_anything() -> None:
    """A goal still not done after the engine's bound on rounds raises IllegalTransition
    naming the order; nothing is stored and nothing reaches the processor."""
    world = new_world()
    order = card_order(world)
    calls = world.sim.calls
    with pytest.raises(IllegalTransition, match="SO-1: the plan did not come to an end"):
        pursue(world.bo.ports, order, Endless())
    assert world.bo.order("SO-1") == order
    assert world.sim.calls == calls


def test_a_step_whose_earlier_attempt_is_in_doubt_is_not_called_again() -> None:
    """O3: a worker that planned a capture before another's attempt went in doubt raises
    OperationInDoubt naming that attempt, and neither calls the processor nor stores anything."""
    world = new_world()
    order = card_order(world)
    auth = order.line("L1").authorizations[0]
    capture = steps.Capture(invoice_id="INV-1", line_id="L1", auth_id=auth.auth_id,
                            amount=usd("20.00"), target=auth.token.value)  # fmt: skip
    rival = Operation.intent("SO-1", capture, 1, START)
    with world.bo.ports.store.unit_of_work() as uow:  # another worker's request, not answered yet
        uow.operations.record_intent(rival)
        uow.commit()
    calls = world.sim.calls
    with pytest.raises(OperationInDoubt) as doubt:
        execute(world.bo.ports, order, (capture,), Secrets())
    assert (doubt.value.order_id, doubt.value.keys) == ("SO-1", (rival.key,))
    assert world.sim.calls == calls
    assert world.bo.order("SO-1") == order
    assert operations(world, "SO-1")[-1] == (rival.key, None)


def card_and_cash(world: World) -> Order:
    """SO-1 of 80.00: card line L1 of 50.00 authorized, and 30.00 cash (L2) applied to INV-1."""
    world.bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=CUSTOMER,
        total=usd("80.00"),
        payments=[CardPayment(card(), usd("50.00")), in_cash("30.00")],
    )
    result = world.bo.invoice("SO-1", "INV-1", usd("30.00"))
    assert [(c.line_id, c.token) for c in result.captures] == [("L2", None)]
    return result.order


def refund_of_the_cash_application(order: Order) -> steps.Step:
    """A processor refund of the cash line's application: it has no processor token."""
    application = order.line("L2").captures[0]
    return steps.Refund(return_id="RMA-1", line_id="L2", capture_id=application.capture_id,
                        number=1, amount=usd("10.00"), target="")  # fmt: skip


def payout(order: Order) -> steps.Step:
    """An unlinked refund (R4) of 10.00."""
    return steps.UnlinkedRefund(return_id="RMA-1", number=1, amount=usd("10.00"), target="tok_9")


def tokenize(order: Order) -> steps.Step:
    """A tokenize of line L1's saved instrument."""
    return steps.Tokenize(line_id="L1", instrument_id="PI-1")


def authorize_the_cash_line(order: Order) -> steps.Step:
    """An authorization of the cash line L2."""
    return steps.Authorize(line_id="L2", auth_id="L2.A1", amount=usd("30.00"), target="tok_1")


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (refund_of_the_cash_application, "capture SO-1/apply:INV-1:L2#1 has no processor token"),
        (payout, "an unlinked refund needs its card"),
        (tokenize, "line L1: a saved card is used with its CVV"),
        (authorize_the_cash_line, "line L2 has no card to authorize"),
    ],
    ids=[
        "refund-without-capture-token",
        "payout-without-card",
        "tokenize-without-cvv",
        "authorize-without-card",
    ],
)
def test_a_call_missing_what_the_processor_needs_is_refused_before_the_processor(
    step: Callable[[Order], steps.Step], message: str
) -> None:
    """The one place that calls the processor raises IllegalTransition, and calls nothing,
    when the step lacks its token, card or CVV (none comes from a plan or a log)."""
    world = new_world()
    order = card_and_cash(world)
    calls = world.sim.calls
    with pytest.raises(IllegalTransition) as refused:
        request(world.sim, order, step(order), Secrets())
    assert str(refused.value) == message
    assert world.sim.calls == calls
    with pytest.raises(IllegalTransition):
        execute(world.bo.ports, order, (step(order),), Secrets())
    with world.bo.ports.store.unit_of_work() as uow:
        assert uow.operations.in_doubt("SO-1") == ()  # refused before any intent
