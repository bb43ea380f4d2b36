"""A draft submitted twice gets its own error; a rival change is a ConcurrentUpdate (issue 9)."""

from __future__ import annotations

import pytest

from ocop import ConcurrentUpdate, DraftAlreadySubmitted, IllegalTransition
from worlds import card, new_world, usd

from .support import AGENT, card_order


def test_submitting_the_same_draft_again_says_it_was_submitted_and_changes_nothing() -> None:
    """The second submit of one draft raises DraftAlreadySubmitted with the real order id."""
    world = new_world()
    card_order(world)
    draft = world.bo.begin_completion("SO-1", AGENT).add_card(card("tok_2"), usd("5.00"))
    world.bo.submit(draft)
    before, calls = world.bo.order("SO-1"), world.sim.calls
    with pytest.raises(DraftAlreadySubmitted) as caught:
        world.bo.submit(draft)
    assert isinstance(caught.value, IllegalTransition)
    assert caught.value.order_id == "SO-1"
    assert "submitted already" in str(caught.value)
    assert world.bo.order("SO-1") == before
    assert world.sim.calls == calls


def test_a_draft_outdated_by_someone_elses_change_is_a_concurrent_update() -> None:
    """A draft begun before another agent changed the order raises ConcurrentUpdate."""
    world = new_world()
    card_order(world)
    draft = world.bo.begin_completion("SO-1", AGENT).add_card(card("tok_2"), usd("5.00"))
    rival = world.bo.begin_completion("SO-1", AGENT).add_card(card("tok_3"), usd("7.00"))
    world.bo.submit(rival)
    with pytest.raises(ConcurrentUpdate) as caught:
        world.bo.submit(draft)
    assert type(caught.value) is ConcurrentUpdate
    assert caught.value.order_id == "SO-1"


def test_a_draft_outdated_by_a_new_total_is_a_concurrent_update() -> None:
    """A new total after the draft was begun puts the order back to completion: not the draft."""
    world = new_world()
    card_order(world)
    draft = world.bo.begin_completion("SO-1", AGENT)
    world.bo.submit(draft)
    world.bo.change_total("SO-1", usd("120.00"), AGENT)
    with pytest.raises(ConcurrentUpdate):
        world.bo.submit(draft)
