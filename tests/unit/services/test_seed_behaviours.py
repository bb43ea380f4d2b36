"""Behaviours of the seed that had no test of their own (issue 10, part 6)."""

from __future__ import annotations

import pytest

from ocop import (
    Actor,
    BackOffice,
    CardPayment,
    Channel,
    Customer,
    FeatureDisabled,
    HoldCode,
    InvalidDraftEdit,
    LineStatus,
    PaymentMethod,
    Prepayment,
    SavedCardPayment,
    Settings,
)
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain.settings import DEFAULT_METHOD_OPERATIONS
from worlds import card, new_world, usd

AGENT = Actor.call_center("agent-1")
ALICE = Customer.named("C-1")
CVV = "123"


def _world(settings: Settings | None = None) -> tuple[BackOffice, SimulatedProcessor]:
    world = new_world(settings)
    return world.bo, world.sim


def _kinds(sim: SimulatedProcessor) -> list[str]:
    return [entry.kind for entry in sim.ledger()]


def test_an_order_paid_with_a_saved_card_is_invoiced_and_refunded() -> None:
    """T1, I1, R1: a saved card is tokenized with its CVV and authorized at placing; the
    order is then captured and refunded through the new token like any card."""
    bo, sim = _world()
    saved = bo.save_instrument(ALICE, card(), consent=True)
    bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=ALICE,
        total=usd("80.00"),
        payments=[SavedCardPayment(saved.instrument_id, CVV, usd("80.00"))],
    )
    invoiced = bo.invoice("SO-1", "INV-1", usd("80.00"))
    refunded = bo.refund("SO-1", "RMA-1", usd("30.00"), AGENT)
    assert _kinds(sim) == ["authorize", "capture", "refund"]
    assert [c.amount for c in invoiced.captures] == [usd("80.00")]
    assert [r.amount for r in refunded.refunds] == [usd("30.00")]
    line = bo.order("SO-1").line("L1")
    assert line.instrument_id == saved.instrument_id
    assert line.card is not None
    assert line.card.value != saved.card.value  # the token tokenize gave, not the saved one
    assert CVV not in repr(bo.order("SO-1"))


@pytest.mark.parametrize("call", ["invoice", "pickup"])
def test_a_commerce_order_is_not_invoiced_or_picked_up_while_ocop_is_off(call: str) -> None:
    """P2: turned off, OCOP refuses to capture a commerce order; nothing is called or stored."""
    bo, sim = _world()
    bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=ALICE,
        total=usd("50.00"),
        payments=[CardPayment(card(), usd("50.00"))],
    )
    off = bo.with_settings(Settings.default().with_features(omni_channel_order_payments=False))
    before, calls = bo.order("SO-1"), sim.calls
    with pytest.raises(FeatureDisabled) as caught:
        getattr(off, call)("SO-1", "INV-1", usd("20.00"))
    assert caught.value.feature == "omni_channel_order_payments"
    assert (bo.order("SO-1"), sim.calls) == (before, calls)


def test_a_method_without_a_pos_operation_cannot_be_edited_in_the_draft() -> None:
    """F3: with gift cards mapped to no POS operation, the back office's draft refuses to add
    a gift card and to change or remove a gift card line, naming F3."""
    mapped = tuple(
        (m, op) for m, op in DEFAULT_METHOD_OPERATIONS if m is not PaymentMethod.GIFT_CARD
    )
    bo, _ = _world(Settings.default().with_policies(method_operations=mapped))
    bo.place_order(
        "SO-1",
        channel=Channel.CALL_CENTER,
        customer=ALICE,
        total=usd("50.00"),
        payments=[Prepayment("gift_card", usd("20.00"))],
        created_by=AGENT,
    )
    draft = bo.begin_completion("SO-1", AGENT)
    with pytest.raises(InvalidDraftEdit) as added:
        draft.add_prepayment("gift_card", usd("10.00"))
    with pytest.raises(InvalidDraftEdit) as changed:
        draft.change_amount("L1", usd("10.00"))
    with pytest.raises(InvalidDraftEdit) as removed:
        draft.remove("L1")
    assert [e.value.rule for e in (added, changed, removed)] == ["F3", "F3", "F3"]
    assert draft.add_prepayment("cash", usd("30.00")).balance_due == usd("0.00")


@pytest.mark.parametrize("edit", ["add", "change", "remove"])
def test_a_draft_begun_before_a_method_lost_its_pos_operation_is_refused_at_submit(
    edit: str,
) -> None:
    """F3: a back office restarted with gift cards mapped to no POS operation refuses the
    submit of a draft that adds, changes or removes a gift card line, begun under the
    settings before: nothing is applied, no processor call is made."""
    bo, sim = _world()
    bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=ALICE, total=usd("50.00"),
                   payments=[Prepayment("gift_card", usd("20.00"))], created_by=AGENT)  # fmt: skip
    draft = bo.begin_completion("SO-1", AGENT)
    if edit == "add":
        draft = draft.add_prepayment("gift_card", usd("5.00")).add_card(card(), usd("25.00"))
    elif edit == "change":
        draft = draft.change_amount("L1", usd("15.00")).add_card(card(), usd("35.00"))
    else:
        draft = draft.remove("L1").add_card(card(), usd("50.00"))
    mapped = tuple(
        (m, op) for m, op in DEFAULT_METHOD_OPERATIONS if m is not PaymentMethod.GIFT_CARD
    )
    restarted = bo.with_settings(Settings.default().with_policies(method_operations=mapped))
    before = restarted.order("SO-1")
    with pytest.raises(InvalidDraftEdit) as refused:
        restarted.submit(draft)
    assert refused.value.rule == "F3"
    assert restarted.order("SO-1") == before
    assert sim.ledger() == ()
    assert restarted.journal("SO-1") == ()


def test_a_well_formed_but_wrong_cvv_declines_the_line_and_stores_nothing() -> None:
    """T1, S2: the processor declines the saved card's security code: the line is declined,
    no token is kept, the order is held (declined, and out of balance), the CVV is nowhere."""
    bo, sim = _world()
    saved = bo.save_instrument(ALICE, card(), consent=True)
    bo.place_order(
        "SO-1", channel=Channel.CALL_CENTER, customer=ALICE, total=usd("40.00"), created_by=AGENT
    )
    sim.script("tokenize", "decline")
    draft = bo.begin_completion("SO-1", AGENT).add_saved_card(
        saved.instrument_id, cvv="987", amount=usd("40.00")
    )
    result = bo.submit(draft)
    line = result.order.line("L1")
    assert line.status is LineStatus.DECLINED
    assert line.card == saved.card  # the saved card as shown, no new token from the processor
    assert line.authorizations == ()
    assert {h.code for h in result.order.holds} == {
        HoldCode.PAYMENT_DECLINED,
        HoldCode.OUT_OF_BALANCE,
    }  # nothing paid
    assert "authorize" not in _kinds(sim)
    with bo.ports.store.unit_of_work() as uow:
        log = uow.operations.for_order("SO-1")
    assert "987" not in repr(result.order) + repr(log)


def test_a_saved_card_whose_cvv_was_lost_is_declined_not_tokenized_without_it() -> None:
    """T1: the tokenize call is in doubt; recover() finds it never arrived; the CVV was never
    stored, so submitting again declines the line instead of tokenizing without a CVV."""
    bo, sim = _world()
    saved = bo.save_instrument(ALICE, card(), consent=True)
    bo.place_order(
        "SO-1", channel=Channel.CALL_CENTER, customer=ALICE, total=usd("40.00"), created_by=AGENT
    )
    sim.script("tokenize", "timeout_before")
    draft = bo.begin_completion("SO-1", AGENT).add_saved_card(
        saved.instrument_id, cvv=CVV, amount=usd("40.00")
    )
    first = bo.submit(draft)
    assert first.in_doubt
    bo.recover()
    tokenizes = _kinds(sim).count("tokenize")
    again = bo.submit(bo.begin_completion("SO-1", AGENT))
    assert again.order.line("L1").status is LineStatus.DECLINED
    assert _kinds(sim).count("tokenize") == tokenizes
    assert HoldCode.PAYMENT_DECLINED in {h.code for h in again.order.holds}
