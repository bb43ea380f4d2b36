"""A draft submitted twice gets its own error; a rival change is a ConcurrentUpdate (issue 9)."""

from __future__ import annotations

import pytest

from ocop import (
    Channel,
    ConcurrentUpdate,
    DraftAlreadySubmitted,
    IllegalTransition,
    OperationInDoubt,
)
from worlds import CUSTOMER, card, new_world, usd

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


@pytest.mark.parametrize(
    ("method", "check_number"), [("cash", None), ("check", "1002"), ("gift_card", None)]
)
def test_a_draft_outdated_by_another_prepayment_of_the_same_amount_is_a_concurrent_update(
    method: str, check_number: str | None
) -> None:
    """A stored line of the draft's id and amount but another method or check number is
    someone else's payment: the draft was never submitted (ConcurrentUpdate, not
    DraftAlreadySubmitted)."""
    world = new_world()
    card_order(world)
    world.bo.change_total("SO-1", usd("100.00"), AGENT)
    draft = world.bo.begin_completion("SO-1", AGENT).add_prepayment(
        "check", usd("50.00"), check_number="1001"
    )
    rival = world.bo.begin_completion("SO-1", AGENT).add_prepayment(
        method, usd("50.00"), check_number=check_number
    )
    world.bo.submit(rival)
    before = world.bo.order("SO-1")
    with pytest.raises(ConcurrentUpdate) as caught:
        world.bo.submit(draft)
    assert type(caught.value) is ConcurrentUpdate
    assert world.bo.order("SO-1") == before


def test_a_draft_outdated_by_the_same_card_from_a_saved_instrument_is_a_concurrent_update() -> None:
    """A card line and a saved-card line of the same card and amount are different drafts."""
    world = new_world()
    card_order(world)
    world.bo.change_total("SO-1", usd("90.00"), AGENT)
    saved = world.bo.save_instrument(CUSTOMER, card("tok_s"), consent=True)
    draft = world.bo.begin_completion("SO-1", AGENT).add_card(card("tok_s"), usd("40.00"))
    rival = world.bo.begin_completion("SO-1", AGENT).add_saved_card(
        saved.instrument_id, cvv="123", amount=usd("40.00")
    )
    world.bo.submit(rival)
    with pytest.raises(ConcurrentUpdate):
        world.bo.submit(draft)


def test_a_saved_card_draft_submitted_again_says_it_was_submitted() -> None:
    """The saved card's line pays with the token its tokenization gave: still this draft."""
    world = new_world()
    card_order(world)
    world.bo.change_total("SO-1", usd("90.00"), AGENT)
    saved = world.bo.save_instrument(CUSTOMER, card("tok_s"), consent=True)
    draft = world.bo.begin_completion("SO-1", AGENT).add_saved_card(
        saved.instrument_id, cvv="123", amount=usd("40.00")
    )
    assert world.bo.submit(draft).approved
    calls = world.sim.calls
    with pytest.raises(DraftAlreadySubmitted):
        world.bo.submit(draft)
    assert world.sim.calls == calls


@pytest.mark.parametrize("script", ["timeout_after_success", "timeout_before"])
def test_a_draft_sent_again_while_its_submit_is_in_doubt_is_told_so(script: str) -> None:
    """O3: the submit's own call in doubt changed the order; sending the draft again is
    refused with OperationInDoubt (recover first), not as someone else's change."""
    world = new_world()
    world.bo.place_order("CC-1", channel=Channel.CALL_CENTER, customer=CUSTOMER,
                         total=usd("40.00"))  # fmt: skip
    draft = world.bo.begin_completion("CC-1", AGENT).add_card(card(), usd("40.00"))
    world.sim.script("authorize", script)
    (key,) = world.bo.submit(draft).in_doubt
    before, calls = world.bo.order("CC-1"), world.sim.calls
    with pytest.raises(OperationInDoubt) as caught:
        world.bo.submit(draft)
    assert caught.value.keys == (key,)
    assert (world.bo.order("CC-1"), world.sim.calls) == (before, calls)


def test_a_draft_whose_removal_void_was_declined_sent_again_says_it_was_submitted() -> None:
    """A line the draft removed stays pending removal when its void is declined (C6): the
    draft was submitted, so sending it again is DraftAlreadySubmitted."""
    world = new_world()
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=CUSTOMER,
                         total=usd("40.00"))  # fmt: skip
    world.bo.submit(world.bo.begin_completion("SO-1", AGENT).add_card(card(), usd("40.00")))
    draft = (
        world.bo.begin_completion("SO-1", AGENT).remove("L1").add_prepayment("cash", usd("40.00"))
    )
    world.sim.script("void", "decline")
    world.bo.submit(draft)
    assert world.bo.order("SO-1").line("L1").pending_removal
    with pytest.raises(DraftAlreadySubmitted):
        world.bo.submit(draft)


def test_a_saved_card_draft_sent_again_after_recovery_resumes_with_its_cvv() -> None:
    """S3, O2, T1: the tokenization of the draft's saved card never reached the processor;
    once recover() said so, the agent sends the same draft (which holds the CVV) again: the
    submit resumes, tokenizes under a new attempt and authorizes, instead of a
    ConcurrentUpdate telling of someone else's change, after which only a draft without
    the CVV could be sent (its line declined, the order held)."""
    world = new_world()
    saved = world.bo.save_instrument(CUSTOMER, card(), consent=True)
    world.bo.place_order("CC-1", channel=Channel.CALL_CENTER, customer=CUSTOMER,
                         total=usd("40.00"))  # fmt: skip
    draft = world.bo.begin_completion("CC-1", AGENT).add_saved_card(
        saved.instrument_id, cvv="9371", amount=usd("40.00")
    )
    world.sim.script("tokenize", "timeout_before")
    assert world.bo.submit(draft).in_doubt
    assert world.bo.recover().still_in_doubt == ()
    result = world.bo.submit(draft)
    assert result.approved, result.holds
    assert result.order.line("L1").authorized == usd("40.00")
    assert [op.outcome.value for op in world.bo.operations("CC-1")] == [
        "not_received", "approved", "approved"
    ]  # fmt: skip


def test_a_draft_sent_again_after_recovery_approved_its_call_calls_nothing_more() -> None:
    """S3, O2: the authorization in doubt was made; recover() recorded it; the same draft
    sent again validates the order with no further processor call."""
    world = new_world()
    world.bo.place_order("CC-1", channel=Channel.CALL_CENTER, customer=CUSTOMER,
                         total=usd("40.00"))  # fmt: skip
    draft = world.bo.begin_completion("CC-1", AGENT).add_card(card(), usd("40.00"))
    world.sim.script("authorize", "timeout_after_success")
    world.bo.submit(draft)
    world.bo.recover()
    calls = world.sim.calls
    result = world.bo.submit(draft)
    assert result.approved, result.holds
    assert world.sim.calls == calls


def test_a_draft_sent_again_after_recovery_and_someone_elses_change_is_a_concurrent_update() -> (
    None
):
    """Once another agent changed the order after the recovery (a payment added), the
    draft is outdated: ConcurrentUpdate, nothing called."""
    world = new_world()
    world.bo.place_order("CC-1", channel=Channel.CALL_CENTER, customer=CUSTOMER,
                         total=usd("40.00"))  # fmt: skip
    draft = world.bo.begin_completion("CC-1", AGENT).add_card(card(), usd("30.00"))
    world.sim.script("authorize", "timeout_before")
    world.bo.submit(draft)
    world.bo.recover()
    rival = world.bo.begin_completion("CC-1", AGENT).add_prepayment("cash", usd("10.00"))
    world.sim.script("authorize", "timeout_before")
    world.bo.submit(rival)
    world.bo.recover()
    before, calls = world.bo.order("CC-1"), world.sim.calls
    with pytest.raises(ConcurrentUpdate):
        world.bo.submit(draft)
    assert (world.bo.order("CC-1"), world.sim.calls) == (before, calls)
