"""Scenarios the model-based lifecycle machine found, kept as examples users can read."""

from __future__ import annotations

from ocop import LineStatus, OrderStatus
from worlds import by_card, new_world, usd

from .helpers import AGENT, kinds, open_at_processor, place


def test_an_authorization_adjusted_back_to_an_earlier_amount_reaches_the_processor() -> None:
    """C3: 10 -> 12 -> 10 -> 12 adjusts the authorization three times; none is skipped."""
    world = new_world(adjustments=True)
    place(world, "SO-1", "10.00", by_card("10.00"))
    for amount in ("12.00", "10.00", "12.00"):
        world.bo.change_total("SO-1", usd(amount), AGENT)
        draft = world.bo.begin_completion("SO-1", AGENT).change_amount("L1", usd(amount))
        result = world.bo.submit(draft)
        assert result.approved
        assert result.processor_calls == 1
        assert result.order.line("L1").authorized == usd(amount)
        assert open_at_processor(world, "SO-1", "L1") == usd(amount)
    assert kinds(world, "SO-1") == ["authorize", "adjust", "adjust", "adjust"]
    # O4: keys keep their form; the second adjustment to 12.00 is the step's second attempt.
    assert [e.key for e in world.sim.ledger() if e.kind == "adjust"] == [
        "SO-1/adjust:L1.A1:12.00#1",
        "SO-1/adjust:L1.A1:10.00#1",
        "SO-1/adjust:L1.A1:12.00#2",
    ]


def test_a_line_refunded_whole_after_a_single_capture_is_authorized_again_for_the_rest() -> None:
    """I2: a single capture settled by recovery, then refunded, still leaves the rest payable."""
    world = new_world(multi_capture=False)
    place(world, "SO-1", "100.00", by_card("100.00"))
    world.sim.script("capture", "timeout_after_success")
    assert world.bo.invoice("SO-1", "INV-1", usd("40.00")).in_doubt
    assert world.bo.recover().resolved == ("SO-1/capture:INV-1:L1:L1.A1#1",)
    refund = world.bo.refund("SO-1", "RMA-1", usd("40.00"), AGENT)
    assert [(r.capture_id, r.amount) for r in refund.refunds] == [
        ("SO-1/capture:INV-1:L1:L1.A1#1", usd("40.00"))
    ]
    assert world.bo.order("SO-1").line("L1").status is LineStatus.REFUNDED

    result = world.bo.invoice("SO-1", "INV-2", usd("30.00"))

    assert not result.in_doubt
    assert [(c.capture_id, c.amount) for c in result.captures] == [
        ("SO-1/capture:INV-2:L1:L1.A2#1", usd("30.00"))
    ]
    assert result.uncovered == usd("0.00")
    order = result.order
    assert order.status is OrderStatus.PARTIALLY_INVOICED
    assert order.line("L1").status is LineStatus.PARTIALLY_PAID
    # The single capture released the rest of L1.A2, and the last 30.00 is authorized again.
    assert kinds(world, "SO-1") == [
        "authorize", "capture", "refund", "authorize", "capture", "authorize"
    ]  # fmt: skip
    assert open_at_processor(world, "SO-1", "L1") == usd("30.00")
