"""``recover()`` finishes the placements whose processor call it resolved (O2, S3).

A POS, e-commerce, legacy or NONE order is validated as it is placed. When the
placement's authorization is in doubt, the order stays waiting for completion; once
recovery knows the answer, it validates the order as the placement would have: approved,
or held. Before, legacy and NONE orders (which cannot be completed by an agent) stayed
waiting for good with the card's money held, refusing invoices and cancellation.
A call center order waiting for completion is left to its agent's submit.
"""

from __future__ import annotations

import pytest

from ocop import Actor, Channel, HoldCode, OrderStatus, Settings
from ocop.adapters.simulated import SimulatedCrash
from worlds import CUSTOMER, World, by_card, new_world, usd

AGENT = Actor.call_center("agent-1")
OCOP_OFF = Settings.default().with_features(omni_channel_order_payments=False)


def place_in_doubt(world: World, fault: str, **kinds: object) -> None:
    """Place SO-1 (100.00 on one card) while the authorization's answer is lost."""
    world.sim.script("authorize", fault)
    placing = {"channel": Channel.POS, "customer": CUSTOMER, "total": usd("100.00"),
               "payments": [by_card("100.00")], **kinds}  # fmt: skip
    try:
        placed = world.bo.place_order("SO-1", **placing)  # type: ignore[arg-type]
    except SimulatedCrash:
        placed = world.bo.order("SO-1")
    assert placed.status is OrderStatus.PENDING_COMPLETION


@pytest.mark.parametrize(
    ("settings", "kinds", "payments_type"),
    [
        (OCOP_OFF, {}, "legacy"),
        (None, {"channel": Channel.CALL_CENTER, "created_by": Actor.user("clerk-1")}, "none"),
        (None, {"channel": Channel.ECOMMERCE}, "commerce"),
        (None, {}, "commerce"),
    ],
)
@pytest.mark.parametrize("fault", ["timeout_after_success", "crash_after_success"])
def test_an_approved_authorization_in_doubt_at_placement_approves_the_order_once_known(
    settings: Settings | None, kinds: dict[str, object], payments_type: str, fault: str
) -> None:
    """The authorization the processor made is recorded, the order approved, and it can be
    invoiced and captured: one authorization, one capture."""
    world = new_world(settings)
    place_in_doubt(world, fault, **kinds)
    report = world.bo.recover()
    assert report.resolved == ("SO-1/authorize:L1.A1#1",)
    assert report.completions == ("SO-1",)
    order = world.bo.order("SO-1")
    assert (order.payments_type.value, order.status) == (payments_type, OrderStatus.APPROVED)
    assert order.lines[0].authorized == usd("100.00")
    assert world.bo.invoice("SO-1", "INV-1", usd("100.00")).captures
    assert [e.kind for e in world.sim.ledger()] == ["authorize", "capture"]
    assert world.bo.recover().completions == ()  # done once


def test_an_authorization_the_processor_never_received_is_made_by_the_finished_placement() -> None:
    """Never received: the placement goes on as it would have, with a new attempt."""
    world = new_world(OCOP_OFF)
    place_in_doubt(world, "timeout_before")
    assert world.bo.recover().completions == ("SO-1",)
    order = world.bo.order("SO-1")
    assert order.status is OrderStatus.APPROVED
    assert [e.key for e in world.sim.ledger()] == ["SO-1/authorize:L1.A1#2"]


def test_a_call_center_order_waiting_for_completion_is_left_to_its_agent() -> None:
    """A call center order waits for its agent's submit: recovery records the answer of
    the submit's call and validates nothing (the draft's CVVs are kept nowhere)."""
    world = new_world()
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=CUSTOMER,
                         total=usd("100.00"), created_by=AGENT)  # fmt: skip
    world.sim.script("authorize", "timeout_after_success")
    draft = world.bo.begin_completion("SO-1", AGENT).add_card(by_card("1").card, usd("100.00"))
    assert world.bo.submit(draft).in_doubt
    report = world.bo.recover()
    assert (report.resolved, report.completions) == (("SO-1/authorize:L1.A1#1",), ())
    assert world.bo.order("SO-1").status is OrderStatus.PENDING_COMPLETION
    assert world.bo.submit(world.bo.begin_completion("SO-1", AGENT)).approved


def test_a_short_placement_is_held_once_its_authorization_is_known() -> None:
    """A POS order paying 60.00 of 100.00 by card: once the authorization is known, the
    order is held out of balance, as the placement would have held it."""
    world = new_world()
    world.sim.script("authorize", "timeout_after_success")
    world.bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER, total=usd("100.00"),
                         payments=[by_card("60.00")])  # fmt: skip
    assert world.bo.recover().completions == ("SO-1",)
    order = world.bo.order("SO-1")
    assert order.status is OrderStatus.ON_HOLD
    assert [h.code for h in order.holds] == [HoldCode.OUT_OF_BALANCE]
