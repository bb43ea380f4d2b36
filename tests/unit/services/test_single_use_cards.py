"""Completion never authorizes a single-use card token twice (C3, C5).

A token that is not reusable is authorized once: a processor declines it the second
time. Where a draft would need that (without adjustments a new amount is a void and a
new authorization, C3; raising a fully captured line authorizes the increase, C5), submit
refuses it before any processor call and changes nothing, as invoicing (I2) and renewal
(A1) never authorize such a token again.
"""

from __future__ import annotations

import pytest
from support import ALICE, CLERK, World, capture_line, kinds, make_world, snapshot

from ocop import CardPayment, Channel, InvalidDraftEdit
from worlds import card, usd

ONCE = card("tok_once", "1111", reusable=False)


def paid_once(world: World, amount: str = "100.00") -> None:
    """An e-commerce order of ``amount`` paid in full by the single-use card (L1)."""
    world.bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=ALICE,
        total=usd(amount),
        payments=[CardPayment(ONCE, usd(amount))],
    )


def refused_unchanged(world: World, new_amount: str) -> InvalidDraftEdit:
    """Submit a draft taking L1 to ``new_amount``: refused, and nothing moved."""
    world.bo.change_total("SO-1", usd(new_amount), CLERK)
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd(new_amount))
    before, calls = snapshot(world, "SO-1"), world.sim.calls
    with pytest.raises(InvalidDraftEdit) as caught:
        world.bo.submit(draft)
    assert snapshot(world, "SO-1") == before
    assert world.sim.calls == calls
    assert caught.value.line_id == "L1"
    assert "single-use" in str(caught.value)
    return caught.value


@pytest.mark.parametrize("new_amount", ["120.00", "80.00"])
def test_without_adjustments_a_single_use_line_is_not_voided_to_be_authorized_again(
    new_amount: str,
) -> None:
    """C3: the void and new authorization the new amount needs are refused up front."""
    world = make_world(adjustments=False)
    paid_once(world)
    error = refused_unchanged(world, new_amount)
    assert error.rule == "C3"
    assert "another card" in str(error)
    assert kinds(world.sim.ledger()) == ["authorize"]


@pytest.mark.parametrize("new_amount", ["120.00", "80.00"])
def test_with_adjustments_a_single_use_line_is_adjusted(new_amount: str) -> None:
    """C3: an adjustment keeps the authorization: the token is not authorized again."""
    world = make_world()
    paid_once(world)
    world.bo.change_total("SO-1", usd(new_amount), CLERK)
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd(new_amount))
    assert world.bo.submit(draft).approved
    assert kinds(world.sim.ledger()) == ["authorize", "adjust"]


def test_a_single_use_line_given_another_card_takes_the_new_amount() -> None:
    """C2, C4: what the refusal suggests works: the new card is authorized for the amount."""
    world = make_world(adjustments=False)
    paid_once(world)
    refused_unchanged(world, "120.00")
    draft = (
        world.bo.begin_completion("SO-1", CLERK)
        .replace_card("L1", card("tok_2", "2222"))
        .change_amount("L1", usd("120.00"))
    )
    assert world.bo.submit(draft).approved
    assert [(e.kind, e.amount) for e in world.sim.ledger()] == [
        ("authorize", usd("100.00")),
        ("void", usd("100.00")),
        ("authorize", usd("120.00")),
    ]
    assert world.sim.ledger()[-1].target == "tok_2"


def test_a_fully_captured_single_use_line_is_not_raised_on_its_used_token() -> None:
    """C5: the increase of a fully captured line would authorize the token again: refused;
    a line added for the rest pays it."""
    world = make_world()
    paid_once(world)
    capture_line(world, "SO-1", "L1", usd("100.00"))
    error = refused_unchanged(world, "120.00")
    assert error.rule == "C5"
    assert "add a line" in str(error)
    assert "another card" not in str(error)  # C2: a captured line keeps its card
    draft = world.bo.begin_completion("SO-1", CLERK).add_card(card("tok_2", "2222"), usd("20.00"))
    assert world.bo.submit(draft).approved
    assert [(e.kind, e.target) for e in world.sim.ledger() if e.kind == "authorize"] == [
        ("authorize", "tok_once"),
        ("authorize", "tok_2"),
    ]
