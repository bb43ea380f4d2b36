"""What recover() leaves behind for authorizations in doubt (O2, O3, O4) and that work goes on.

An authorization that never reached the processor ends its key: the line waits
for authorization again and the next submit authorizes it under the next
attempt's key. One whose answer was lost is applied as if it had returned.
"""

from __future__ import annotations

import pytest

from ocop import Channel, LineStatus, OperationInDoubt, OrderStatus
from worlds import World, by_card, card, new_world, usd

from .helpers import CLERK, kinds, ledger, place

FIRST = "SO-1/authorize:L1.A1#1"
SECOND = "SO-1/authorize:L1.A1#2"


def placed_with_lost_authorization(fault: str) -> World:
    """SO-1, a 50.00 e-commerce card order whose authorization timed out (``fault``)."""
    world = new_world()
    world.sim.script("authorize", fault)
    order = place(world, "SO-1", "50.00", by_card("50.00"))
    assert order.line("L1").status is LineStatus.PENDING_AUTHORIZATION
    assert order.status is OrderStatus.PENDING_COMPLETION
    return world


def test_an_authorization_that_never_arrived_leaves_its_line_waiting_for_authorization() -> None:
    """O2: the lookup finds nothing, so the line is no longer pending: it is not submitted,
    holds no authorization, and the processor holds nothing."""
    world = placed_with_lost_authorization("timeout_before")
    report = world.bo.recover()
    assert report.resolved == (FIRST,)
    assert report.still_in_doubt == ()
    assert report.unapplied == ()
    order = world.bo.order("SO-1")
    line = order.line("L1")
    assert line.status is LineStatus.NOT_SUBMITTED
    assert line.authorizations == ()
    assert order.authorized == usd("0.00")
    assert order.status is OrderStatus.PENDING_COMPLETION
    assert ledger(world, "SO-1") == []


def test_a_line_whose_authorization_never_arrived_is_authorized_by_the_next_submit() -> None:
    """O4 liveness: after recovery the next submit authorizes the line under the next attempt's
    key, approves the order, and the order can be invoiced."""
    world = placed_with_lost_authorization("timeout_before")
    world.bo.recover()
    submitted = world.bo.submit(world.bo.begin_completion("SO-1", CLERK))
    assert submitted.in_doubt == ()
    assert submitted.processor_calls == 1
    assert submitted.approved
    line = submitted.order.line("L1")
    assert line.status is LineStatus.AUTHORIZED
    assert [(a.auth_id, a.amount) for a in line.authorizations] == [("L1.A1", usd("50.00"))]
    assert [(e.kind, e.key, e.amount) for e in ledger(world, "SO-1")] == [
        ("authorize", SECOND, usd("50.00"))
    ]
    invoiced = world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    assert [(c.auth_id, c.amount) for c in invoiced.captures] == [("L1.A1", usd("50.00"))]
    assert invoiced.uncovered == usd("0.00")


def test_a_submit_before_recovery_is_refused_while_the_authorization_is_in_doubt() -> None:
    """O3: with the authorization in doubt, submit is refused naming the order and its key."""
    world = placed_with_lost_authorization("timeout_before")
    draft = world.bo.begin_completion("SO-1", CLERK)
    with pytest.raises(OperationInDoubt) as refused:
        world.bo.submit(draft)
    assert refused.value.order_id == "SO-1"
    assert refused.value.keys == (FIRST,)
    assert "SO-1" in str(refused.value)
    assert world.bo.order("SO-1").line("L1").status is LineStatus.PENDING_AUTHORIZATION


def test_an_authorization_whose_answer_was_lost_is_applied_by_recovery() -> None:
    """O2: the money was authorized; recovery records it on the line and the next submit
    approves the order without calling the processor again."""
    world = placed_with_lost_authorization("timeout_after_success")
    assert world.bo.recover().resolved == (FIRST,)
    line = world.bo.order("SO-1").line("L1")
    assert line.status is LineStatus.AUTHORIZED
    assert [(a.auth_id, a.open_amount) for a in line.authorizations] == [("L1.A1", usd("50.00"))]
    submitted = world.bo.submit(world.bo.begin_completion("SO-1", CLERK))
    assert submitted.processor_calls == 0
    assert submitted.approved
    assert kinds(world, "SO-1") == ["authorize"]


def test_a_call_center_line_whose_authorization_never_arrived_is_authorized_on_resubmit() -> None:
    """O2, O4: a card added in completion whose authorization never arrived waits after
    recovery, and submitting again authorizes it once."""
    world = new_world()
    place(world, "SO-1", "80.00", channel=Channel.CALL_CENTER)
    draft = world.bo.begin_completion("SO-1", CLERK).add_card(card(), usd("80.00"))
    world.sim.script("authorize", "timeout_before")
    first = world.bo.submit(draft)
    assert first.in_doubt == (FIRST,)
    assert not first.approved
    assert world.bo.recover().resolved == (FIRST,)
    assert world.bo.order("SO-1").line("L1").status is LineStatus.NOT_SUBMITTED
    second = world.bo.submit(world.bo.begin_completion("SO-1", CLERK))
    assert second.approved
    assert second.order.line("L1").status is LineStatus.AUTHORIZED
    assert [e.key for e in ledger(world, "SO-1", "authorize")] == [SECOND]
