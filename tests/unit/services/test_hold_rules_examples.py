"""Rule S4 by example: each hold is released against its own cause, check holds lapse by
themselves, manual holds carry a reason code and a note, and every hold and release records
who and when.

Causes that no back-office call can cure without a resubmit (which decides the holds anew)
are cured here the way a store would hold them: the stored order is rewritten through the
store port (a credit limit raised, a declined line taken off, an authorization renewed).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import attrs
import pytest

from ocop import (
    Actor,
    CardPayment,
    Channel,
    CompletionPolicy,
    Customer,
    HoldCode,
    IllegalTransition,
    InvalidInput,
    LineStatus,
    Order,
    OrderStatus,
    PermissionDenied,
    Prepayment,
    Settings,
)
from ocop.adapters.memory import ManualClock
from ocop.domain.cardnumbers import contains_card_number
from ocop.domain.errors import CardNumberRefused, InvalidArgument, InvalidSettings
from ocop.domain.movements import Authorization
from ocop.domain.order import SYSTEM, ReleasedHold
from ocop.domain.settings import AuthorizationPolicy
from ocop.domain.tokens import AuthorizationToken
from worlds import START, World, card, new_world, usd

AGENT = Actor.call_center("cc-1")
BOSS = Actor.call_center("boss-1", permissions=frozenset({"hold_override"}))
OUTSIDER = Actor.user("u-1")
CHECK_POLICY = CompletionPolicy(check_hold_threshold=usd("100.00"), check_hold_days=3)
SHORT_AUTHORIZATIONS = AuthorizationPolicy(expiry_days=3, stale_days=7)


def rewrite(world: World, change: Callable[[Order], Order]) -> Order:
    """Rewrite the stored SO-1 through the store port, as a store would then hold it."""
    with world.bo.ports.store.unit_of_work() as uow:
        uow.orders.update(change(uow.orders.get("SO-1")))
        return uow.commit().orders["SO-1"]


def refused_release(world: World, code: HoldCode, actor: Actor) -> IllegalTransition:
    """Releasing ``code`` as ``actor`` is refused and the stored order stays as it was."""
    before = world.bo.order("SO-1")
    with pytest.raises(IllegalTransition) as refused:
        world.bo.release_hold("SO-1", code, actor)
    assert world.bo.order("SO-1") == before
    assert refused.value.order_id == "SO-1"
    return refused.value


def last_release(order: Order) -> ReleasedHold:
    """The newest entry of the order's hold history."""
    return order.released_holds[-1]


# -- OUT_OF_BALANCE ----------------------------------------------------------------------------


def underpaid(world: World) -> None:
    """An e-commerce order of 50.00 paid 40.00 by card: out of balance, on hold."""
    paid = [CardPayment(card(), usd("40.00"))]
    world.bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                         total=usd("50.00"), payments=paid)  # fmt: skip


def test_an_out_of_balance_hold_stays_while_the_order_is_out_of_balance() -> None:
    """S4: without the override, the hold stays while paid 40.00 of 50.00, and says so."""
    world = new_world()
    underpaid(world)
    refused = refused_release(world, HoldCode.OUT_OF_BALANCE, AGENT)
    assert str(refused) == (
        "order SO-1 is still out of balance (paid 40.00 USD of 50.00 USD); "
        "releasing needs the hold_override permission"
    )


def test_an_out_of_balance_hold_is_released_once_the_order_is_in_balance() -> None:
    """S4: after the total is edited down to what was paid, any call center user releases it;
    the release records who, when, and that no override was needed."""
    world = new_world()
    underpaid(world)
    world.bo.change_total("SO-1", usd("40.00"), AGENT)
    released_at = world.clock.advance(hours=2)
    order = world.bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, AGENT)
    assert order == world.bo.order("SO-1")
    assert order.holds == ()
    entry = last_release(order)
    assert (entry.code, entry.released_by, entry.released_at, entry.override) == (
        HoldCode.OUT_OF_BALANCE, "cc-1", released_at, False,
    )  # fmt: skip
    assert (entry.hold.placed_by, entry.hold.placed_at) == (SYSTEM, START)


def test_an_out_of_balance_hold_is_released_with_the_override_and_the_override_is_recorded() -> (
    None
):
    """S4: a user with hold_override releases it while still out of balance; override=True."""
    world = new_world()
    underpaid(world)
    order = world.bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, BOSS)
    assert order.status is OrderStatus.APPROVED
    entry = last_release(order)
    assert (entry.released_by, entry.released_at, entry.override) == ("boss-1", START, True)


# -- CREDIT_LIMIT ------------------------------------------------------------------------------


def over_the_limit(world: World) -> None:
    """The issue's case: 80.00 on the customer account against a 50.00 limit, submitted."""
    limited = Customer.named("C-1", on_account_limit=usd("50.00"))
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=limited,
                         total=usd("80.00"))  # fmt: skip
    draft = world.bo.begin_completion("SO-1", AGENT)
    world.bo.submit(draft.add_prepayment("customer_account", usd("80.00")))


def test_a_credit_limit_hold_stays_while_beyond_the_limit_and_the_order_is_not_invoiced() -> None:
    """S4: 80.00 beyond a 50.00 limit keeps the hold (issue 10), so invoicing stays refused."""
    world = new_world()
    over_the_limit(world)
    refused = refused_release(world, HoldCode.CREDIT_LIMIT, AGENT)
    assert "beyond the credit limit (customer account 80.00 USD of 50.00 USD)" in str(refused)
    with pytest.raises(IllegalTransition):
        world.bo.invoice("SO-1", "INV-1", usd("80.00"))
    assert world.bo.order("SO-1").invoices == ()


def test_a_credit_limit_hold_is_released_once_within_the_limit() -> None:
    """S4: with the limit raised to 100.00 on the stored order, a plain agent releases it."""
    world = new_world()
    over_the_limit(world)
    raised = Customer.named("C-1", on_account_limit=usd("100.00"))
    rewrite(world, lambda order: attrs.evolve(order, customer=raised))
    order = world.bo.release_hold("SO-1", HoldCode.CREDIT_LIMIT, AGENT)
    assert order.approved
    assert (last_release(order).released_by, last_release(order).override) == ("cc-1", False)


def test_a_credit_limit_hold_is_released_with_the_override() -> None:
    """S4: beyond the limit, only hold_override releases it, and the release says so."""
    world = new_world()
    over_the_limit(world)
    order = world.bo.release_hold("SO-1", HoldCode.CREDIT_LIMIT, BOSS)
    assert order.approved
    assert (last_release(order).released_by, last_release(order).override) == ("boss-1", True)


# -- PAYMENT_DECLINED --------------------------------------------------------------------------


def declined(world: World) -> None:
    """A call center order whose only card was declined at submit (S2)."""
    world.sim.script("authorize", "decline")
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=Customer.named("C-1"),
                         total=usd("100.00"))  # fmt: skip
    world.bo.submit(world.bo.begin_completion("SO-1", AGENT).add_card(card(), usd("100.00")))


def test_a_payment_declined_hold_stays_while_the_declined_line_is_on_the_order() -> None:
    """S4: the declined line is still there, so a plain agent cannot release the hold."""
    world = new_world()
    declined(world)
    refused = refused_release(world, HoldCode.PAYMENT_DECLINED, AGENT)
    assert "still has a declined payment line" in str(refused)


def test_a_payment_declined_hold_is_released_once_the_declined_line_is_off_the_order() -> None:
    """S4: with the declined line taken off, a plain agent releases the declined hold."""
    world = new_world()
    declined(world)
    rewrite(world, lambda order: order.with_line(order.line("L1").removed()))
    order = world.bo.release_hold("SO-1", HoldCode.PAYMENT_DECLINED, AGENT)
    assert not order.has_hold(HoldCode.PAYMENT_DECLINED)
    assert order.has_hold(HoldCode.OUT_OF_BALANCE)  # its own cause remains
    assert last_release(order).override is False


def test_a_payment_declined_hold_stays_while_a_replaced_cards_old_authorization_is_open() -> None:
    """C4, S4: the void of a replaced card's old authorization was declined: the old card
    still holds the money and the new one holds none, so the hold's cause remains (a plain
    agent cannot release it, and the order is not invoiced on the old card)."""
    world = new_world()
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=Customer.named("C-1"),
                         total=usd("30.00"), created_by=AGENT)  # fmt: skip
    world.bo.submit(world.bo.begin_completion("SO-1", AGENT).add_card(card(), usd("30.00")))
    world.sim.script("void", "decline")
    draft = world.bo.begin_completion("SO-1", AGENT).replace_card("L1", card("tok_2", "2222"))
    assert HoldCode.PAYMENT_DECLINED in {h.code for h in world.bo.submit(draft).holds}
    refused = refused_release(world, HoldCode.PAYMENT_DECLINED, AGENT)
    assert "still has a declined payment line" in str(refused)
    with pytest.raises(IllegalTransition):
        world.bo.invoice("SO-1", "INV-1", usd("30.00"))


def test_a_payment_declined_hold_is_released_with_the_override() -> None:
    """S4: the declined line still there, hold_override releases the hold with override=True."""
    world = new_world()
    declined(world)
    order = world.bo.release_hold("SO-1", HoldCode.PAYMENT_DECLINED, BOSS)
    assert not order.has_hold(HoldCode.PAYMENT_DECLINED)
    assert last_release(order).override is True


# -- AUTHORIZATION_EXPIRED ---------------------------------------------------------------------


def stale(world: World) -> None:
    """An approved order whose authorization went stale: the invoice holds it (I3)."""
    paid = [CardPayment(card(), usd("100.00"))]
    world.bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                         total=usd("100.00"), payments=paid)  # fmt: skip
    world.clock.advance(days=8)
    world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert world.bo.order("SO-1").has_hold(HoldCode.AUTHORIZATION_EXPIRED)


def renewed(order: Order, now: ManualClock) -> Order:
    """The stale authorization voided and a new one made at the clock's time."""
    line = order.line("L1")
    old = line.open_authorizations()[0]
    fresh = Authorization.new("A2", AuthorizationToken("auth_2", "sim", "sa-1"), line.amount,
                              at=now.now(), multi_capture=True)  # fmt: skip
    return order.with_line(line.voided_auth(old.auth_id, awaiting_new=True).authorized_with(fresh))


def test_an_expired_authorization_hold_stays_until_the_authorization_is_renewed() -> None:
    """S4: the stale authorization was not renewed, so a plain agent cannot release the hold."""
    world = new_world(Settings.default().with_policies(authorization=SHORT_AUTHORIZATIONS))
    stale(world)
    refused = refused_release(world, HoldCode.AUTHORIZATION_EXPIRED, AGENT)
    assert "expired authorization that was not renewed" in str(refused)


def test_an_expired_authorization_hold_is_released_once_renewed() -> None:
    """S4: with a fresh authorization covering the line, a plain agent releases the hold."""
    world = new_world(Settings.default().with_policies(authorization=SHORT_AUTHORIZATIONS))
    stale(world)
    rewrite(world, lambda order: renewed(order, world.clock))
    order = world.bo.release_hold("SO-1", HoldCode.AUTHORIZATION_EXPIRED, AGENT)
    assert order.approved
    assert last_release(order).override is False


def test_an_expired_authorization_hold_is_released_with_the_override() -> None:
    """S4: not renewed, the hold goes only with hold_override, recorded as an override."""
    world = new_world(Settings.default().with_policies(authorization=SHORT_AUTHORIZATIONS))
    stale(world)
    order = world.bo.release_hold("SO-1", HoldCode.AUTHORIZATION_EXPIRED, BOSS)
    assert order.approved
    assert last_release(order).override is True


def test_the_hold_an_invoice_places_is_recorded_as_placed_by_the_system() -> None:
    """S4: the expired-authorization hold of an invoice run says system, and when."""
    world = new_world(Settings.default().with_policies(authorization=SHORT_AUTHORIZATIONS))
    stale(world)
    hold = world.bo.order("SO-1").hold(HoldCode.AUTHORIZATION_EXPIRED)
    assert hold is not None
    assert (hold.placed_by, hold.placed_at) == (SYSTEM, START + timedelta(days=8))


# -- CHECK -------------------------------------------------------------------------------------


def paid_by_check(world: World) -> None:
    """A 250.00 call center order paid by a check above the 100.00 threshold: 3 days' hold."""
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=Customer.named("C-1"),
                         total=usd("250.00"))  # fmt: skip
    draft = world.bo.begin_completion("SO-1", AGENT)
    world.bo.submit(draft.add_prepayment("check", usd("250.00"), check_number="1001"))


def test_a_check_hold_lapses_by_itself_for_invoicing_without_a_resubmit() -> None:
    """S4: before its days pass the order is not invoiced; once they pass it is, unsubmitted."""
    world = new_world(Settings.default().with_policies(completion=CHECK_POLICY))
    paid_by_check(world)
    world.clock.advance(days=3, seconds=-1)
    with pytest.raises(IllegalTransition):
        world.bo.invoice("SO-1", "INV-1", usd("250.00"))
    world.clock.advance(seconds=1)
    result = world.bo.invoice("SO-1", "INV-1", usd("250.00"))
    assert result.order.status is OrderStatus.INVOICED
    assert result.order.holds == ()


def test_a_check_hold_of_zero_days_is_not_placed() -> None:
    """S2, S4: with ``check_hold_days=0`` a check above the threshold holds the order for
    no time: the submit's result is approved, as ``bo.order`` says. (A hold lapsing as it
    was placed was stored, and the result said held while the order read approved.)"""
    policy = attrs.evolve(CHECK_POLICY, check_hold_days=0)
    world = new_world(Settings.default().with_policies(completion=policy))
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=Customer.named("C-1"),
                         total=usd("250.00"))  # fmt: skip
    draft = world.bo.begin_completion("SO-1", AGENT)
    result = world.bo.submit(draft.add_prepayment("check", usd("250.00"), check_number="1001"))
    assert (result.approved, result.holds) == (True, ())
    assert world.bo.order("SO-1") == result.order


def test_a_second_check_holds_the_order_its_own_days() -> None:
    """S2: a check posted two days after the first is held its own three days: the order's
    hold ends with the later check's, as first placed (who, when)."""
    world = new_world(Settings.default().with_policies(completion=CHECK_POLICY))
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=Customer.named("C-1"),
                         total=usd("400.00"))  # fmt: skip
    first = world.bo.begin_completion("SO-1", AGENT)
    world.bo.submit(first.add_prepayment("check", usd("200.00"), check_number="1001"))
    world.clock.advance(days=2)
    second = world.bo.begin_completion("SO-1", AGENT)
    held = world.bo.submit(second.add_prepayment("check", usd("200.00"), check_number="1002"))
    check = held.order.hold(HoldCode.CHECK)
    assert check is not None
    assert (check.until, check.placed_at) == (START + timedelta(days=5), START)
    world.clock.advance(days=3, seconds=-1)
    assert world.bo.order("SO-1").status is OrderStatus.ON_HOLD
    world.clock.advance(seconds=1)
    assert world.bo.order("SO-1").approved


def test_a_check_posted_by_a_submit_left_in_doubt_still_holds_the_order() -> None:
    """S2: a 250.00 check posted by a submit whose card authorization was left in doubt
    holds the order its three days from when it was taken, once recovery settles the card
    and the agent submits again. (The check's hold was decided from the run's memory only:
    the submit stopped at the doubt before deciding holds, the resubmit posted no check,
    and the order was approved and invoiced with the check not cleared.)"""
    world = new_world(Settings.default().with_policies(completion=CHECK_POLICY))
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=Customer.named("C-1"),
                         total=usd("300.00"))  # fmt: skip
    draft = world.bo.begin_completion("SO-1", AGENT)
    draft = draft.add_prepayment("check", usd("250.00"), check_number="1001")
    world.sim.script("authorize", "timeout_after_success")
    assert world.bo.submit(draft.add_card(card(), usd("50.00"))).in_doubt
    assert world.bo.orders(on_hold=True) == ("SO-1",)
    world.bo.recover()
    world.clock.advance(hours=1)
    result = world.bo.submit(world.bo.begin_completion("SO-1", AGENT))
    check = result.order.hold(HoldCode.CHECK)
    assert check is not None
    assert (result.approved, check.until) == (False, START + timedelta(days=3))
    assert world.bo.orders(on_hold=True) == ("SO-1",)
    with pytest.raises(IllegalTransition):
        world.bo.invoice("SO-1", "INV-1", usd("300.00"))
    world.clock.advance(days=3, hours=-1)
    assert world.bo.order("SO-1").approved
    assert world.bo.orders(on_hold=True) == ()


@pytest.mark.parametrize("channel", [Channel.ECOMMERCE, Channel.POS])
def test_a_check_taken_by_a_placement_left_in_doubt_holds_the_order_recovery_finishes(
    channel: Channel,
) -> None:
    """S2, S3: an order placed with a 250.00 check and a card whose authorization was left
    in doubt is held from the placement on, and still once recover() finishes the
    placement. (recover() validated it with no check posted in its run: approved.)"""
    world = new_world(Settings.default().with_policies(completion=CHECK_POLICY))
    world.sim.script("authorize", "timeout_after_success")
    world.bo.place_order("SO-1", channel=channel, customer=Customer.named("C-1"),
                         total=usd("300.00"),
                         payments=[Prepayment("check", usd("250.00"), check_number="1001"),
                                   CardPayment(card(), usd("50.00"))])  # fmt: skip
    assert world.bo.orders(on_hold=True) == ("SO-1",)
    world.clock.advance(hours=1)
    world.bo.recover()
    order = world.bo.order("SO-1")
    assert (order.status, [hold.code for hold in order.holds]) == (
        OrderStatus.ON_HOLD, [HoldCode.CHECK],
    )  # fmt: skip
    assert world.bo.orders(on_hold=True) == ("SO-1",)
    world.clock.advance(days=3)
    assert world.bo.order("SO-1").approved


def _declined_then_in_doubt(world: World) -> None:
    """SO-1, 100.00 from the call center, submitted with two 50.00 cards: the first
    declined, the second's authorization left in doubt; then recovered (approved)."""
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=Customer.named("C-1"),
                         total=usd("100.00"))  # fmt: skip
    draft = world.bo.begin_completion("SO-1", AGENT).add_card(card(), usd("50.00"))
    world.sim.script("authorize", "decline", "timeout_after_success")
    assert world.bo.submit(draft.add_card(card("tok_2", "2222"), usd("50.00"))).in_doubt
    world.bo.recover()


def test_a_card_declined_by_a_submit_left_in_doubt_still_holds_the_order() -> None:
    """S2: a card declined by a submit that another line's doubt stopped before it decided
    the holds puts the PAYMENT_DECLINED hold when the agent submits again, as the same
    submit with no doubt does. (With out-of-balance allowed the order, 50.00 of 100.00
    paid by a declined card, was approved and invoiced.)"""
    allowed = CompletionPolicy(allow_out_of_balance=True)
    world = new_world(Settings.default().with_policies(completion=allowed))
    _declined_then_in_doubt(world)
    result = world.bo.submit(world.bo.begin_completion("SO-1", AGENT))
    codes = tuple(hold.code for hold in result.holds)
    assert (result.approved, codes) == (False, (HoldCode.PAYMENT_DECLINED,))
    assert world.bo.orders(on_hold=True) == ("SO-1",)
    with pytest.raises(IllegalTransition):
        world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    refused_release(world, HoldCode.PAYMENT_DECLINED, AGENT)


def test_a_card_declined_by_a_submit_left_in_doubt_and_replaced_since_holds_nothing() -> None:
    """S2, S4: the agent who gives the declined line a new card in the submit that resumes
    it is approved, as after a submit with no doubt."""
    world = new_world()
    _declined_then_in_doubt(world)
    draft = world.bo.begin_completion("SO-1", AGENT)
    declined = next(line for line in draft.lines if line.status is LineStatus.DECLINED)
    result = world.bo.submit(draft.replace_card(declined.line_id, card("tok_3", "3333")))
    assert (result.approved, result.holds) == (True, ())
    assert world.bo.orders(on_hold=True) == ()


def test_bo_order_sees_a_lapsed_check_hold_as_released_by_the_system_at_its_end() -> None:
    """S4: bo.order() is the order as of now: on hold until the check's end, then approved,
    the hold in released_holds (system, at its until); the stored row is not rewritten."""
    world = new_world(Settings.default().with_policies(completion=CHECK_POLICY))
    paid_by_check(world)
    until = START + timedelta(days=3)
    world.clock.advance(days=2)
    held = world.bo.order("SO-1")
    assert held.status is OrderStatus.ON_HOLD
    check = held.hold(HoldCode.CHECK)
    assert check is not None
    assert (check.until, check.placed_by, check.placed_at) == (until, "cc-1", START)
    world.clock.advance(days=5)
    now = world.bo.order("SO-1")
    assert (now.status, now.holds, now.version) == (OrderStatus.APPROVED, (), held.version)
    assert now.released_holds == (ReleasedHold(hold=check, released_by=SYSTEM, released_at=until),)


def test_a_check_hold_is_released_early_only_with_the_override() -> None:
    """S4: before its days pass a plain agent cannot release a check hold; hold_override can."""
    world = new_world(Settings.default().with_policies(completion=CHECK_POLICY))
    paid_by_check(world)
    refused_release(world, HoldCode.CHECK, AGENT)
    order = world.bo.release_hold("SO-1", HoldCode.CHECK, BOSS)
    assert order.approved
    assert last_release(order).override is True


def test_a_lapsed_check_hold_cannot_be_released_again() -> None:
    """S4: once lapsed, the order has no check hold left to release."""
    world = new_world(Settings.default().with_policies(completion=CHECK_POLICY))
    paid_by_check(world)
    world.clock.advance(days=3)
    refused = refused_release(world, HoldCode.CHECK, BOSS)
    assert str(refused) == "order SO-1 has no check hold"


# -- MANUAL ------------------------------------------------------------------------------------


def approved_order(world: World) -> None:
    """An approved e-commerce order of 100.00, paid by card."""
    paid = [CardPayment(card(), usd("100.00"))]
    world.bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                         total=usd("100.00"), payments=paid)  # fmt: skip


def test_a_manual_hold_records_its_reason_note_placer_and_time_and_stops_invoicing() -> None:
    """S4: place_hold by a call center user keeps reason code, note, who and when."""
    world = new_world()
    approved_order(world)
    placed_at = world.clock.advance(minutes=5)
    order = world.bo.place_hold("SO-1", HoldCode.MANUAL, AGENT, reason="FRAUD",
                                note="address does not match the card's")  # fmt: skip
    assert order == world.bo.order("SO-1")
    assert order.status is OrderStatus.ON_HOLD
    (hold,) = order.holds
    assert (hold.code, hold.reason_code, hold.note, hold.placed_by, hold.placed_at) == (
        HoldCode.MANUAL, "FRAUD", "address does not match the card's", "cc-1", placed_at,
    )  # fmt: skip
    with pytest.raises(IllegalTransition):
        world.bo.invoice("SO-1", "INV-1", usd("100.00"))


def test_a_manual_hold_is_released_by_any_call_center_user_and_the_release_recorded() -> None:
    """S4: no override is needed for a manual hold; who released it and when are kept."""
    world = new_world()
    approved_order(world)
    world.bo.place_hold("SO-1", HoldCode.MANUAL, AGENT, reason="CUSTOMER_REQUEST")
    released_at = world.clock.advance(days=1)
    other = Actor.call_center("cc-7")
    order = world.bo.release_hold("SO-1", HoldCode.MANUAL, other)
    assert order.approved
    entry = last_release(order)
    assert (entry.code, entry.hold.reason_code, entry.hold.note) == (
        HoldCode.MANUAL, "CUSTOMER_REQUEST", "",
    )  # fmt: skip
    assert (entry.released_by, entry.released_at, entry.override) == ("cc-7", released_at, False)
    assert world.bo.invoice("SO-1", "INV-1", usd("100.00")).order.status is OrderStatus.INVOICED


def test_a_reason_code_not_in_the_settings_is_refused_and_nothing_changes() -> None:
    """S4: an unknown reason code (or a code's wrong case) raises InvalidInput naming reason."""
    world = new_world()
    approved_order(world)
    before = world.bo.order("SO-1")
    for reason in ("BOGUS", "fraud", ""):
        with pytest.raises(InvalidInput) as refused:
            world.bo.place_hold("SO-1", HoldCode.MANUAL, AGENT, reason=reason)
        assert getattr(refused.value, "argument", None) == "reason"
    assert world.bo.order("SO-1") == before


def test_reason_codes_come_from_the_settings() -> None:
    """S4: the settings' own codes are accepted, and a default code they leave out is not."""
    world = new_world(Settings.default().with_policies(hold_reasons=("LEGAL", "OTHER")))
    approved_order(world)
    with pytest.raises(InvalidArgument):
        world.bo.place_hold("SO-1", HoldCode.MANUAL, AGENT, reason="FRAUD")
    order = world.bo.place_hold("SO-1", HoldCode.MANUAL, AGENT, reason="LEGAL")
    assert order.holds[0].reason_code == "LEGAL"


def test_the_default_reason_codes_and_bad_ones_in_settings() -> None:
    """S4: FRAUD, CUSTOMER_REQUEST and OTHER by default; empty, repeated, spaced, card-like
    or non-tuple codes are InvalidSettings."""
    assert Settings.default().hold_reasons == ("FRAUD", "CUSTOMER_REQUEST", "OTHER")
    for bad in ((), ("A", "A"), ("WITH SPACE",), ("",), ("4111111111111111",), "FRAUD", ["A"]):
        with pytest.raises(InvalidSettings):
            Settings.default().with_policies(hold_reasons=bad)


def test_only_manual_holds_are_placed_by_hand() -> None:
    """S4: place_hold with a cause-driven code is refused as InvalidArgument naming code."""
    world = new_world()
    approved_order(world)
    for code in set(HoldCode) - {HoldCode.MANUAL}:
        with pytest.raises(InvalidArgument) as refused:
            world.bo.place_hold("SO-1", code, AGENT, reason="OTHER")
        assert refused.value.argument == "code"
    assert world.bo.order("SO-1").holds == ()


def test_manual_holds_are_placed_and_released_by_call_center_users_only() -> None:
    """P1, S4: a user who is not a call center user can neither place nor release one."""
    world = new_world()
    approved_order(world)
    with pytest.raises(PermissionDenied):
        world.bo.place_hold("SO-1", HoldCode.MANUAL, OUTSIDER, reason="FRAUD")
    world.bo.place_hold("SO-1", HoldCode.MANUAL, AGENT, reason="FRAUD")
    with pytest.raises(PermissionDenied):
        world.bo.release_hold("SO-1", HoldCode.MANUAL, OUTSIDER)
    assert world.bo.order("SO-1").has_hold(HoldCode.MANUAL)


def test_a_second_manual_hold_is_refused_while_the_first_stands() -> None:
    """S4: one manual hold at a time, so no reason or note is silently dropped."""
    world = new_world()
    approved_order(world)
    first = world.bo.place_hold("SO-1", HoldCode.MANUAL, AGENT, reason="FRAUD", note="first")
    with pytest.raises(IllegalTransition) as refused:
        world.bo.place_hold("SO-1", HoldCode.MANUAL, BOSS, reason="OTHER", note="second")
    assert refused.value.order_id == "SO-1"
    assert world.bo.order("SO-1") == first


@pytest.mark.parametrize(
    ("note", "error"),
    [
        ("card 4111 1111 1111 1111", CardNumberRefused),
        ("x" * 501, InvalidArgument),
        ("two\nlines", InvalidArgument),
        (None, InvalidArgument),
    ],
    ids=["card_number", "too_long", "control_character", "not_a_string"],
)
def test_a_note_must_be_short_printable_text_without_a_card_number(
    note: object, error: type[InvalidInput]
) -> None:
    """S4, T2: the note is optional text of at most 500 printable characters, card-guarded;
    the refusal does not echo it and nothing changes."""
    world = new_world()
    approved_order(world)
    with pytest.raises(error) as refused:
        world.bo.place_hold("SO-1", HoldCode.MANUAL, AGENT, reason="OTHER", note=note)  # type: ignore[arg-type]
    assert "1111" not in str(refused.value)
    assert world.bo.order("SO-1").holds == ()
    longest = world.bo.place_hold("SO-1", HoldCode.MANUAL, AGENT, reason="OTHER", note="y" * 500)
    assert longest.holds[0].note == "y" * 500


def test_an_over_long_note_is_refused_without_being_scanned_or_cached() -> None:
    """S4, E1: a note over 500 characters is refused before the card scan, as an over-long
    id is, so a huge note costs no scan and is not kept in the scan's cache. Before, the
    whole note was scanned first (a megabyte of "1 1 1 ..." took minutes) and cached."""
    world = new_world()
    approved_order(world)
    before = contains_card_number.cache_info().currsize
    with pytest.raises(InvalidArgument) as refused:
        world.bo.place_hold("SO-1", HoldCode.MANUAL, AGENT, reason="OTHER", note="1 " * 5000)
    assert refused.value.argument == "note"
    assert contains_card_number.cache_info().currsize == before
    assert world.bo.order("SO-1").holds == ()


def test_a_cancelled_order_takes_no_manual_hold() -> None:
    """S4, X1: a cancelled order is refused a manual hold."""
    world = new_world()
    approved_order(world)
    world.bo.cancel_order("SO-1", AGENT)
    with pytest.raises(IllegalTransition):
        world.bo.place_hold("SO-1", HoldCode.MANUAL, AGENT, reason="FRAUD")


def test_a_cancelled_order_leaves_the_on_hold_queue_and_keeps_its_hold_on_record() -> None:
    """S4, X1: an order held by hand (FRAUD) and then cancelled is no longer listed by
    bo.orders(on_hold=True) (no one can release its hold: nothing is left to stop), but by
    on_hold=False; its hold stays on the order as a record of why (it stayed in the queue
    for good, a year later too)."""
    world = new_world()
    approved_order(world)
    world.bo.place_hold("SO-1", HoldCode.MANUAL, AGENT, reason="FRAUD")
    assert world.bo.orders(on_hold=True) == ("SO-1",)
    world.bo.cancel_order("SO-1", AGENT)
    assert world.bo.orders(on_hold=True) == ()
    assert world.bo.orders(on_hold=False) == ("SO-1",)
    assert world.bo.orders(status=OrderStatus.CANCELLED) == ("SO-1",)
    cancelled = world.bo.order("SO-1")
    assert [hold.code for hold in cancelled.holds] == [HoldCode.MANUAL]
    with pytest.raises(IllegalTransition):
        world.bo.release_hold("SO-1", HoldCode.MANUAL, AGENT)
    world.clock.advance(days=365)
    assert world.bo.orders(on_hold=True) == ()


# -- who and when for holds validation places --------------------------------------------------


def test_holds_placed_at_placement_say_system_and_at_submit_the_submitter() -> None:
    """S4: a channel's placement records system; a submit records the submitting agent, and
    a resubmit that cures a hold records its release by that agent."""
    world = new_world()
    underpaid(world)
    placed = world.bo.order("SO-1").hold(HoldCode.OUT_OF_BALANCE)
    assert placed is not None
    assert (placed.placed_by, placed.placed_at) == (SYSTEM, START)

    world.bo.place_order("SO-2", channel=Channel.CALL_CENTER, customer=Customer.named("C-1"),
                         total=usd("100.00"))  # fmt: skip
    later = world.clock.advance(hours=1)
    draft = world.bo.begin_completion("SO-2", AGENT).add_card(card(), usd("60.00"))
    held = world.bo.submit(draft).order.hold(HoldCode.OUT_OF_BALANCE)
    assert held is not None
    assert (held.placed_by, held.placed_at) == ("cc-1", later)

    cured_at = world.clock.advance(hours=1)
    other = Actor.call_center("cc-9")
    draft = world.bo.begin_completion("SO-2", other)
    order = world.bo.submit(draft.change_amount(draft.lines[0].line_id, usd("100.00"))).order
    assert order.approved
    assert order.released_holds == (ReleasedHold(hold=held, released_by="cc-9",
                                                 released_at=cured_at),)  # fmt: skip


def test_a_hold_whose_cause_remains_at_resubmit_keeps_who_placed_it_and_when() -> None:
    """S4: resubmitting an order still out of balance keeps the hold as first placed."""
    world = new_world()
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=Customer.named("C-1"),
                         total=usd("100.00"))  # fmt: skip
    first = world.bo.submit(
        world.bo.begin_completion("SO-1", AGENT).add_card(card(), usd("60.00"))
    ).order.hold(HoldCode.OUT_OF_BALANCE)
    world.clock.advance(hours=1)
    draft = world.bo.begin_completion("SO-1", BOSS)
    again = world.bo.submit(draft.change_amount(draft.lines[0].line_id, usd("70.00"))).order
    assert again.hold(HoldCode.OUT_OF_BALANCE) == first
    assert again.released_holds == ()


def test_a_hold_from_a_new_total_validated_at_once_is_the_editing_agents() -> None:
    """S4: without order completion for call centers, the hold a new total brings at once
    records the agent who changed the total."""
    rules = Settings.default().with_features(omni_channel_order_payments=False)
    rules = rules.with_policies(completion=CompletionPolicy(completion_for_call_center=False))
    world = new_world(rules)
    paid = [CardPayment(card(), usd("100.00"))]
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=Customer.named("C-1"),
                         total=usd("100.00"), payments=paid)  # fmt: skip
    assert world.bo.order("SO-1").approved
    changed_at = world.clock.advance(hours=3)
    order = world.bo.change_total("SO-1", usd("120.00"), AGENT)
    hold = order.hold(HoldCode.OUT_OF_BALANCE)
    assert hold is not None
    assert (hold.placed_by, hold.placed_at) == ("cc-1", changed_at)
