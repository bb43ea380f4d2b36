"""Submit and placement at their edges: saved cards without a CVV, declined tokenize and voids.

T1: the CVV is never stored, so a saved-card line whose tokenize never
reached the processor cannot be resubmitted without it. C4, C6: a declined
void leaves the authorization open for the next submit.
"""

from __future__ import annotations

import pytest

from ocop import (
    BackOffice,
    CardPayment,
    Channel,
    HoldCode,
    LineStatus,
    OrderStatus,
    SavedCardPayment,
)
from ocop.adapters.memory import ManualClock
from ocop.domain.money import total
from worlds import CUSTOMER, START, World, card, new_world, usd

from .support import AGENT, RecoveryOnTheWay, ledger, operations


def saved_card_in_doubt(world: World, channel: Channel) -> None:
    """SO-1 of 40.00 with a saved-card line whose tokenize timed out, then was recovered.

    Recovery finds the tokenize never arrived: the line waits for it again, and
    the CVV that came with it is gone.
    """
    saved = world.bo.save_instrument(CUSTOMER, card("tok_s"), consent=True)
    world.sim.script("tokenize", "timeout_before")
    if channel is Channel.CALL_CENTER:
        world.bo.place_order("SO-1", channel=channel, customer=CUSTOMER, total=usd("40.00"))
        draft = world.bo.begin_completion("SO-1", AGENT).add_saved_card(
            saved.instrument_id, cvv="123", amount=usd("40.00")
        )
        submitted = world.bo.submit(draft)
        assert submitted.in_doubt
    else:
        world.bo.place_order(
            "SO-1",
            channel=channel,
            customer=CUSTOMER,
            total=usd("40.00"),
            payments=[SavedCardPayment(saved.instrument_id, "123", usd("40.00"))],
        )
    report = world.bo.recover()
    assert report.resolved == ("SO-1/tokenize:L1#1",)
    assert world.bo.order("SO-1").line("L1").status is LineStatus.NOT_SUBMITTED


@pytest.mark.parametrize("channel", [Channel.ECOMMERCE, Channel.CALL_CENTER])
def test_a_saved_card_line_resubmitted_without_its_cvv_is_declined(channel: Channel) -> None:
    """T1: with no CVV at hand the line is declined without calling the processor."""
    world = new_world()
    saved_card_in_doubt(world, channel)
    calls = world.sim.calls
    result = world.bo.submit(world.bo.begin_completion("SO-1", AGENT))
    assert world.sim.calls == calls
    assert result.processor_calls == 0
    assert not result.in_doubt
    line = result.order.line("L1")
    assert (line.status, line.needs_tokenize, line.authorizations) == (
        LineStatus.DECLINED,
        True,  # still to tokenize: never authorized without its CVV
        (),
    )
    assert [h.code for h in result.holds] == [HoldCode.OUT_OF_BALANCE, HoldCode.PAYMENT_DECLINED]
    assert operations(world, "SO-1") == [("SO-1/tokenize:L1#1", "not_received")]
    assert world.sim.ledger() == ()


def test_the_saved_card_added_again_with_its_cvv_is_tokenized_and_authorized() -> None:
    """T1: the declined line removed and the saved card added again with its CVV approves."""
    world = new_world()
    saved_card_in_doubt(world, Channel.CALL_CENTER)
    world.bo.submit(world.bo.begin_completion("SO-1", AGENT))
    saved = world.bo.saved_instruments(CUSTOMER)[0]
    draft = (
        world.bo.begin_completion("SO-1", AGENT)
        .remove("L1")
        .add_saved_card(saved.instrument_id, cvv="123", amount=usd("40.00"))
    )
    result = world.bo.submit(draft)
    assert result.approved
    assert result.processor_calls == 2
    assert [(x.line_id, x.status) for x in result.order.lines] == [
        ("L1", LineStatus.VOIDED),
        ("L2", LineStatus.AUTHORIZED),
    ]
    assert ledger(world) == [("authorize", "SO-1/authorize:L2.A1#1", usd("40.00"))]


def test_a_declined_tokenize_at_placement_declines_the_line() -> None:
    """T1: a tokenize the processor declines (its CVV check failed) declines the saved-card line."""
    world = new_world()
    saved = world.bo.save_instrument(CUSTOMER, card("tok_s"), consent=True)
    world.sim.script("tokenize", "decline")
    order = world.bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=CUSTOMER,
        total=usd("40.00"),
        payments=[SavedCardPayment(saved.instrument_id, "123", usd("40.00"))],
    )
    assert order.line("L1").status is LineStatus.DECLINED
    assert order.status is OrderStatus.ON_HOLD
    assert [h.code for h in order.holds] == [HoldCode.OUT_OF_BALANCE, HoldCode.PAYMENT_DECLINED]
    assert operations(world, "SO-1") == [("SO-1/tokenize:L1#1", "declined")]
    assert world.sim.ledger() == ()


def test_a_declined_void_of_a_removed_line_keeps_it_until_the_next_submit() -> None:
    """C6: the void is declined: the line stays authorized, pending removal; resubmit voids it."""
    world = new_world()
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=CUSTOMER, total=usd("40.00"))
    world.bo.submit(world.bo.begin_completion("SO-1", AGENT).add_card(card(), usd("40.00")))
    draft = (
        world.bo.begin_completion("SO-1", AGENT).remove("L1").add_prepayment("cash", usd("40.00"))
    )
    world.sim.script("void", "decline")
    result = world.bo.submit(draft)
    assert result.processor_calls == 1
    assert not result.in_doubt
    line = result.order.line("L1")
    assert (line.status, line.pending_removal, line.authorized) == (
        LineStatus.AUTHORIZED,
        True,
        usd("40.00"),
    )
    # S2: the line did not reach its target (its void was declined): a declined payment.
    assert [h.code for h in result.holds] == [HoldCode.OUT_OF_BALANCE, HoldCode.PAYMENT_DECLINED]
    again = world.bo.submit(world.bo.begin_completion("SO-1", AGENT))
    assert again.processor_calls == 1
    assert again.approved
    assert again.order.line("L1").status is LineStatus.VOIDED
    assert operations(world, "SO-1")[-2:] == [
        ("SO-1/void:L1.A1#1", "declined"),
        ("SO-1/void:L1.A1#2", "approved"),
    ]


def removal_void_declined(world: World) -> None:
    """SO-1 of 40.00: its card line L1 removed for 40.00 cash, the void declined (L1 stays
    authorized, pending removal)."""
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=CUSTOMER, total=usd("40.00"))
    world.bo.submit(world.bo.begin_completion("SO-1", AGENT).add_card(card(), usd("40.00")))
    draft = (
        world.bo.begin_completion("SO-1", AGENT).remove("L1").add_prepayment("cash", usd("40.00"))
    )
    world.sim.script("void", "decline")
    assert world.bo.submit(draft).order.line("L1").pending_removal


def test_a_draft_counts_a_line_pending_removal_as_removed() -> None:
    """C6: submit finishes the removal, so the draft's balance due does not count the line."""
    world = new_world()
    removal_void_declined(world)
    draft = world.bo.begin_completion("SO-1", AGENT)
    assert draft.line("L1").pending_removal
    assert draft.balance_due == usd("0.00")
    assert draft.planned_paid == usd("40.00")


def test_a_card_given_to_a_line_pending_removal_keeps_it_and_is_authorized() -> None:
    """C2, C4: the edit keeps the line: its old authorization is voided, the new card
    authorized; the edit is never dropped for the removal it replaced."""
    world = new_world()
    removal_void_declined(world)
    world.bo.change_total("SO-1", usd("80.00"), AGENT)
    draft = world.bo.begin_completion("SO-1", AGENT).replace_card("L1", card("tok_2", "2222"))
    assert not draft.line("L1").pending_removal
    assert draft.balance_due == usd("0.00")
    result = world.bo.submit(draft)
    assert result.approved
    line = result.order.line("L1")
    assert (line.status, line.pending_removal, line.card) == (
        LineStatus.AUTHORIZED,
        False,
        card("tok_2", "2222"),
    )
    assert [(e.kind, e.target, e.amount) for e in world.sim.ledger()][-2:] == [
        ("void", "auth_1", usd("40.00")),
        ("authorize", "tok_2", usd("40.00")),
    ]


def test_a_new_amount_for_a_line_pending_removal_keeps_it_at_that_amount() -> None:
    """C3: the line is kept and its authorization adjusted, not voided and retired."""
    world = new_world()
    removal_void_declined(world)
    world.bo.change_total("SO-1", usd("60.00"), AGENT)
    draft = world.bo.begin_completion("SO-1", AGENT).change_amount("L1", usd("20.00"))
    assert draft.balance_due == usd("0.00")
    result = world.bo.submit(draft)
    assert result.approved
    line = result.order.line("L1")
    assert (line.status, line.pending_removal, line.authorized) == (
        LineStatus.AUTHORIZED,
        False,
        usd("20.00"),
    )


def test_a_replaced_card_whose_old_authorization_cannot_be_voided_is_not_approved() -> None:
    """C4: until the old card's authorization is voided, the new card is not in force."""
    world = new_world()
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=CUSTOMER, total=usd("40.00"))
    world.bo.submit(world.bo.begin_completion("SO-1", AGENT).add_card(card(), usd("40.00")))
    draft = world.bo.begin_completion("SO-1", AGENT).replace_card("L1", card("tok_2"))
    world.sim.script("void", "decline")
    result = world.bo.submit(draft)
    assert not result.approved


def test_an_authorization_in_doubt_at_placement_leaves_the_next_card_line_waiting() -> None:
    """O3: the first card line's authorization times out, so the second card line is not
    authorized; the order is not validated until recovery settles the doubt."""
    world = new_world()
    world.sim.script("authorize", "timeout_before")
    order = world.bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=CUSTOMER,
        total=usd("100.00"),
        payments=[
            CardPayment(card("tok_1"), usd("60.00")),
            CardPayment(card("tok_2"), usd("40.00")),
        ],
    )
    assert [line.status for line in order.lines] == [
        LineStatus.PENDING_AUTHORIZATION,
        LineStatus.NOT_SUBMITTED,
    ]
    assert order.holds == ()
    assert operations(world, "SO-1") == [("SO-1/authorize:L1.A1#1", "unknown")]
    assert world.sim.ledger() == ()


@pytest.mark.parametrize(
    ("on", "adjustments", "resent"),
    [
        ("authorize", True, "SO-1/authorize:L1.A1"),
        ("adjust", True, "SO-1/adjust:L1.A1:30.00"),
        ("void", False, "SO-1/void:L1.A1"),
    ],
    ids=["authorization", "adjustment", "void"],
)
def test_a_submit_call_a_recovery_spent_is_sent_once_more(
    on: str, adjustments: bool, resent: str
) -> None:
    """C3, S2, O2: a submit's authorization, adjustment or void never received (a concurrent
    recover() spent its key on its way) is no decline: it is sent once more under a new
    attempt and the order is approved (it was held PAYMENT_DECLINED; a spent adjustment
    voided the authorization and declined the line)."""
    clock = ManualClock(START)
    sim = RecoveryOnTheWay(clock=clock, adjustments=adjustments)
    bo = BackOffice.in_memory(processor=sim, clock=clock)
    bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=CUSTOMER, total=usd("50.00"))
    draft = bo.begin_completion("SO-1", AGENT).add_card(card(), usd("50.00"))
    if on != "authorize":  # the card line cut to 30.00, 20.00 cash added
        bo.submit(draft)
        draft = (
            bo.begin_completion("SO-1", AGENT)
            .change_amount("L1", usd("30.00"))
            .add_prepayment("cash", usd("20.00"))
        )
    sim.on, sim.match = on, "L1.A1"
    sim.other = BackOffice(store=bo.ports.store, journal=bo.ports.journal, processor=sim,
                           clock=clock)  # fmt: skip
    result = bo.submit(draft)
    assert (result.approved, result.holds, result.in_doubt) == (True, (), ())
    line = result.order.line("L1")
    assert (line.status, line.authorized) == (LineStatus.AUTHORIZED, line.amount)
    held = [sim.authorization_open(a.token.value) for a in line.authorizations]
    assert total([h for h in held if h is not None], "USD") == line.amount  # held once
    outcomes = [(op.key, op.outcome) for op in bo.operations("SO-1") if op.key.startswith(resent)]
    assert [(key, outcome.value if outcome else None) for key, outcome in outcomes] == [
        (f"{resent}#1", "not_received"),
        (f"{resent}#2", "approved"),
    ]
