"""Amounts whose digits pass for a card number are amounts like any other (E1, T2).

Any amount below the maximum is valid money (E1), yet 4111111111111111.00 USD (or a
13-digit amount of dong or rupiah) holds a 13-19 digit Luhn-valid run: text ocop writes
about such an amount (a hold's reason, an operation key) must not be taken for card data.
"""

from __future__ import annotations

from decimal import Decimal

from ocop import (
    Actor,
    CardPayment,
    Channel,
    CompletionPolicy,
    HoldCode,
    Money,
    Prepayment,
    Settings,
)
from ocop.domain.cardnumbers import contains_card_number
from ocop.domain.keys import adjust_step
from worlds import CUSTOMER, card, new_world

AGENT = Actor.call_center("agent-1")
#: An amount whose whole part is a Luhn-valid 16-digit run.
CARD_LIKE = Money.of("4111111111111111.00", "USD")


def test_an_order_out_of_balance_by_an_amount_like_a_card_number_is_held() -> None:
    """S1, T2: a call center order of 4111111111111111.00 USD paid 100.00 is held out of
    balance, its reason naming both amounts without a card-number run; then raising the
    line to the total adjusts its authorization, under a key that holds no card number.
    Before, the hold's reason ("paid 100.00 USD of 4111111111111111.00 USD") was refused
    as card data, so the submit raised CardNumberRefused after authorizing the card, and
    every submit again did the same."""
    world = new_world()
    bo = world.bo
    bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=CUSTOMER, total=CARD_LIKE,
                   payments=[CardPayment(card(), Money.of("100.00", "USD"))],
                   created_by=AGENT)  # fmt: skip
    held = bo.submit(bo.begin_completion("SO-1", AGENT))
    assert [hold.code for hold in held.holds] == [HoldCode.OUT_OF_BALANCE]
    reason = held.order.holds[0].reason
    assert not contains_card_number(reason)
    assert reason == "paid 100.00 USD of 4,111,111,111,111,111.00 USD"
    draft = bo.begin_completion("SO-1", AGENT)
    approved = bo.submit(draft.change_amount(draft.lines[0].line_id, CARD_LIKE))
    assert approved.approved
    assert approved.order.lines[0].authorized == CARD_LIKE
    adjust = [op for op in bo.operations("SO-1") if op.kind.value == "adjust"]
    assert [op.outcome.value for op in adjust] == ["approved"]
    assert not contains_card_number(adjust[0].key)
    assert [entry.kind for entry in world.sim.ledger()] == ["authorize", "adjust"]


def test_a_check_hold_threshold_like_a_card_number_is_named_in_the_hold() -> None:
    """S2, T2: a check above a threshold of 4111111111111111.00 USD is held, the reason
    naming the threshold without a card-number run (before: CardNumberRefused at the
    placement that posted the check)."""
    threshold = CompletionPolicy(check_hold_threshold=CARD_LIKE, check_hold_days=3)
    world = new_world(Settings.default().with_policies(completion=threshold))
    total = Money.of("4111111111111112.00", "USD")
    check = Prepayment("check", amount=total, check_number="7")
    order = world.bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER, total=total,
                                 payments=[check])  # fmt: skip
    assert [hold.code for hold in order.holds] == [HoldCode.CHECK]
    assert order.holds[0].reason == "check above 4,111,111,111,111,111.00 USD"


def test_only_an_adjustment_total_like_a_card_number_changes_its_key() -> None:
    """O4: the key of an adjustment to a total whose digits are no card number keeps its
    text; one whose digits pass for a card number, a key never made before, is grouped."""
    assert adjust_step("L1.A1", Decimal("130.00")) == "adjust:L1.A1:130.00"
    assert adjust_step("L1.A1", Decimal("4111111111111110")) == "adjust:L1.A1:4111111111111110"
    assert adjust_step("L1.A1", Decimal("4111111111111111")) == "adjust:L1.A1:4,111,111,111,111,111"
    assert adjust_step("L1.A1", Decimal("-4111111111111111.000")) == (
        "adjust:L1.A1:-4,111,111,111,111,111.000"
    )
