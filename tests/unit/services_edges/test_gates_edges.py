"""Who may do what, on which orders (P1, P2, R4, S4): every refusal with its attributes.

Each refusal also leaves the order exactly as it was and calls no processor.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop import (
    Actor,
    BackOffice,
    CardPayment,
    Channel,
    CompletionDraft,
    FeatureDisabled,
    HoldCode,
    IllegalTransition,
    InvalidInput,
    Money,
    PaymentsType,
    PermissionDenied,
    RefundPolicy,
    Settings,
)
from ocop.adapters.memory import InMemoryJournal, InMemoryStore, ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from worlds import CUSTOMER, START, World, card, new_world, usd

from .support import AGENT, OCOP_OFF, OUTSIDER, card_order

Action = Callable[[BackOffice, str, Actor], object]


def _submit(bo: BackOffice, order_id: str, actor: Actor) -> object:
    draft = CompletionDraft.begin(bo.order(order_id), actor, bo.settings)
    return bo.submit(draft)


#: Each back-office action, by the name PermissionDenied gives it (P1).
ACTIONS: dict[str, tuple[str, Action]] = {
    "begin_completion": (
        "order completion",
        lambda bo, o, a: bo.begin_completion(o, a),
    ),
    "submit": ("order completion", _submit),
    "change_total": ("changing an order", lambda bo, o, a: bo.change_total(o, usd("45.00"), a)),
    "cancel_order": ("cancelling an order", lambda bo, o, a: bo.cancel_order(o, a)),
    "release_hold": (
        "releasing a hold",
        lambda bo, o, a: bo.release_hold(o, HoldCode.OUT_OF_BALANCE, a),
    ),
    "refund": ("refunding", lambda bo, o, a: bo.refund(o, "RMA-1", usd("5.00"), a)),
    "refund_to_card": (
        "refunding",
        lambda bo, o, a: bo.refund_to_card(o, "RMA-1", card("tok_9"), usd("5.00"), a),
    ),
}
#: The actions of order completion (P2 names no feature for invoicing here).
COMPLETION = ["begin_completion", "submit", "change_total", "cancel_order", "release_hold"]


def invoiced_order(world: World) -> None:
    """SO-1: a 50.00 card order, 20.00 of it invoiced (so refunds have something to refund)."""
    card_order(world)
    assert world.bo.invoice("SO-1", "INV-1", usd("20.00")).uncovered.is_zero()


def assert_unchanged(world: World, before: object, calls: int) -> None:
    """The order is the stored value it was, and the processor was not called."""
    assert world.bo.order("SO-1") == before
    assert world.sim.calls == calls


# -- P1 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_a_user_who_is_not_a_call_center_user_is_denied(name: str) -> None:
    """P1: the denial names the actor and the action; nothing changes."""
    world = new_world()
    invoiced_order(world)
    before, calls = world.bo.order("SO-1"), world.sim.calls
    action, run = ACTIONS[name]
    with pytest.raises(PermissionDenied) as caught:
        run(world.bo, "SO-1", OUTSIDER)
    assert (caught.value.actor_id, caught.value.action) == ("user-1", action)
    assert_unchanged(world, before, calls)


@given(
    actor_id=st.text(alphabet="abcdefghijklmnopqrstuvwxyz-_.", min_size=1, max_size=20),
    name=st.sampled_from(sorted(ACTIONS)),
)
def test_any_non_call_center_actor_is_denied_by_name(actor_id: str, name: str) -> None:
    """P1, for any actor id and any action: PermissionDenied carries that id; nothing changes."""
    world = new_world()
    invoiced_order(world)
    before, calls = world.bo.order("SO-1"), world.sim.calls
    action, run = ACTIONS[name]
    with pytest.raises(PermissionDenied) as caught:
        run(world.bo, "SO-1", Actor.user(actor_id))
    assert (caught.value.actor_id, caught.value.action) == (actor_id, action)
    assert_unchanged(world, before, calls)


def test_an_unlinked_refund_needs_the_alternate_payment_permission() -> None:
    """R4: a call center user without the permission is denied the unlinked refund."""
    world = new_world()
    invoiced_order(world)
    before, calls = world.bo.order("SO-1"), world.sim.calls
    clerk = Actor.call_center("clerk-1")
    with pytest.raises(PermissionDenied) as caught:
        world.bo.refund_to_card("SO-1", "RMA-1", card("tok_9"), usd("5.00"), clerk)
    assert (caught.value.actor_id, caught.value.action) == ("clerk-1", "an unlinked refund")
    assert_unchanged(world, before, calls)


def test_the_call_center_check_comes_before_the_feature_check() -> None:
    """P1 before P2: an outsider on a commerce order with OCOP off is denied, not told it is off."""
    world = new_world()
    invoiced_order(world)
    off = world.bo.with_settings(OCOP_OFF)
    with pytest.raises(PermissionDenied):
        off.begin_completion("SO-1", OUTSIDER)
    with pytest.raises(PermissionDenied):
        off.refund("SO-1", "RMA-1", usd("5.00"), OUTSIDER)


def test_an_outsider_refunding_is_denied_before_anything_about_the_order_is_told() -> None:
    """P1 first: refunds by someone who is not a call center user are PermissionDenied even
    while a call of the order is in doubt (it was OperationInDoubt) or unlinked refunds
    are off (it was FeatureDisabled): the refusal tells an outsider nothing of the order."""
    world = new_world()
    invoiced_order(world)
    world.sim.script("capture", "timeout_after_success")
    assert world.bo.invoice("SO-1", "INV-2", usd("5.00")).in_doubt
    payee = card("tok_9", last4="9999")
    with pytest.raises(PermissionDenied):
        world.bo.refund("SO-1", "RMA-1", usd("5.00"), OUTSIDER)
    with pytest.raises(PermissionDenied):
        world.bo.refund_to_card("SO-1", "RMA-2", payee, usd("5.00"), OUTSIDER)
    closed = RefundPolicy(allow_unlinked_refunds=False)
    no_unlinked = world.bo.with_settings(Settings.default().with_policies(refunds=closed))
    with pytest.raises(PermissionDenied):
        no_unlinked.refund_to_card("SO-1", "RMA-2", payee, usd("5.00"), OUTSIDER)


# -- P2: commerce orders while OCOP is off -------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_a_commerce_order_is_not_processed_while_ocop_is_off(name: str) -> None:
    """P2: every back-office action on a commerce order is refused, naming the OCOP feature."""
    world = new_world()
    invoiced_order(world)
    before, calls = world.bo.order("SO-1"), world.sim.calls
    off = world.bo.with_settings(OCOP_OFF)
    _, run = ACTIONS[name]
    with pytest.raises(FeatureDisabled) as caught:
        run(off, "SO-1", AGENT)
    assert caught.value.feature == "omni_channel_order_payments"
    assert_unchanged(world, before, calls)


# -- P2: legacy, none and cancelled orders -------------------------------------------------------


def legacy_order(world: World) -> BackOffice:
    """SO-1 placed from e-commerce while OCOP was off (LEGACY); the back office with it on."""
    off = world.bo.with_settings(OCOP_OFF)
    order = off.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=CUSTOMER,
        total=usd("50.00"),
        payments=[CardPayment(card(), usd("50.00"))],
    )
    assert order.payments_type is PaymentsType.LEGACY
    return world.bo


def none_order(world: World) -> BackOffice:
    """SO-1 placed in the call center by a user who is not a call center user (NONE)."""
    order = world.bo.place_order(
        "SO-1",
        channel=Channel.CALL_CENTER,
        customer=CUSTOMER,
        total=usd("50.00"),
        payments=[CardPayment(card(), usd("50.00"))],
        created_by=OUTSIDER,
    )
    assert order.payments_type is PaymentsType.NONE
    return world.bo


@pytest.mark.parametrize(
    ("make", "kind"), [(legacy_order, "legacy"), (none_order, "none")], ids=["legacy", "none"]
)
@pytest.mark.parametrize("name", COMPLETION)
def test_legacy_and_none_orders_cannot_go_through_order_completion(
    make: Callable[[World], BackOffice], kind: str, name: str
) -> None:
    """P2: completion, total changes, cancelling and hold release are refused with the order id."""
    world = new_world()
    bo = make(world)
    before, calls = world.bo.order("SO-1"), world.sim.calls
    _, run = ACTIONS[name]
    with pytest.raises(IllegalTransition) as caught:
        run(bo, "SO-1", AGENT)
    assert caught.value.order_id == "SO-1"
    assert str(caught.value) == (
        f"order SO-1 ({kind} payments) cannot be edited through order completion"
    )
    assert_unchanged(world, before, calls)


@pytest.mark.parametrize("name", COMPLETION)
def test_a_cancelled_order_cannot_go_through_order_completion(name: str) -> None:
    """P2: once cancelled, the order is refused with its id; nothing changes."""
    world = new_world()
    card_order(world)
    world.bo.cancel_order("SO-1", AGENT)
    before, calls = world.bo.order("SO-1"), world.sim.calls
    _, run = ACTIONS[name]
    with pytest.raises(IllegalTransition) as caught:
        run(world.bo, "SO-1", AGENT)
    assert caught.value.order_id == "SO-1"
    assert str(caught.value) == "order SO-1 is cancelled"
    assert_unchanged(world, before, calls)


def test_a_draft_begun_before_the_order_was_cancelled_is_not_submitted() -> None:
    """P2: submit checks the stored order, so a draft from before the cancel is refused."""
    world = new_world()
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=CUSTOMER, total=usd("40.00"))
    draft = world.bo.begin_completion("SO-1", AGENT).add_card(card(), usd("40.00"))
    world.bo.cancel_order("SO-1", AGENT)
    with pytest.raises(IllegalTransition) as caught:
        world.bo.submit(draft)
    assert caught.value.order_id == "SO-1"
    assert world.sim.calls == 0


# -- change_total and release_hold ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "message"),
    [
        (Money.of("45.00", "EUR"), "the new total must be Money in USD"),
        (Money.of("45", "JPY"), "the new total must be Money in USD"),
        ("45.00", "total must be a Money, not str"),
        (Money.of("-45.00", "USD"), "an order total is non-negative Money"),
    ],
    ids=["EUR", "JPY", "str", "negative"],
)
def test_a_new_total_must_be_money_in_the_order_currency(total: object, message: str) -> None:
    """V7: a total in another currency, or not Money, or below zero (E1: refused as
    place_order refuses it, not as a total below what is invoiced) is refused; the order is
    unchanged."""
    world = new_world()
    card_order(world)
    before, calls = world.bo.order("SO-1"), world.sim.calls
    with pytest.raises(InvalidInput) as caught:
        world.bo.change_total("SO-1", total, AGENT)  # type: ignore[arg-type]
    assert str(caught.value) == message
    assert_unchanged(world, before, calls)


def test_a_negative_total_is_refused_before_the_order_is_read() -> None:
    """E1: a total below zero is the argument's own fault, refused before anything happens,
    as place_order refuses it: never taken for a missing order (a misspelt id would send
    the caller after the id first) nor for a cancelled one."""
    world = new_world()
    card_order(world)
    cancelled = world.bo.cancel_order("SO-1", AGENT).order
    for order_id in ("SO-404", "SO-1"):
        with pytest.raises(InvalidInput) as caught:
            world.bo.change_total(order_id, usd("-45.00"), AGENT)
        assert type(caught.value) is InvalidInput
        assert str(caught.value) == "an order total is non-negative Money"
    assert world.bo.order("SO-1") == cancelled


def test_releasing_a_hold_the_order_does_not_have_is_refused() -> None:
    """S4: releasing a check hold from an order without one names the order; nothing changes."""
    world = new_world()
    card_order(world)
    before, calls = world.bo.order("SO-1"), world.sim.calls
    with pytest.raises(IllegalTransition) as caught:
        world.bo.release_hold("SO-1", HoldCode.CHECK, AGENT)
    assert caught.value.order_id == "SO-1"
    assert str(caught.value) == "order SO-1 has no check hold"
    assert_unchanged(world, before, calls)


def test_an_out_of_balance_hold_stays_while_out_of_balance_without_the_override() -> None:
    """S4: the hold is kept for a user without hold_override, and released with it."""
    world = new_world()
    world.bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=CUSTOMER,
        total=usd("50.00"),
        payments=[CardPayment(card(), usd("40.00"))],
    )
    with pytest.raises(IllegalTransition) as caught:
        world.bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, AGENT)
    assert caught.value.order_id == "SO-1"
    assert world.bo.order("SO-1").has_hold(HoldCode.OUT_OF_BALANCE)
    boss = Actor.call_center("boss-1", permissions=frozenset({"hold_override"}))
    released = world.bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, boss)
    assert released.holds == ()


# -- R4: unlinked refunds switched off -----------------------------------------------------------


def test_unlinked_refunds_disallowed_by_the_settings_are_refused() -> None:
    """R4: with unlinked refunds disallowed the refusal names allow_unlinked_refunds."""
    world = new_world(
        Settings.default().with_policies(refunds=RefundPolicy(allow_unlinked_refunds=False))
    )
    invoiced_order(world)
    before, calls = world.bo.order("SO-1"), world.sim.calls
    with pytest.raises(FeatureDisabled) as caught:
        world.bo.refund_to_card("SO-1", "RMA-1", card("tok_9"), usd("5.00"), AGENT)
    assert caught.value.feature == "allow_unlinked_refunds"
    assert_unchanged(world, before, calls)


def test_unlinked_refunds_unsupported_by_the_processor_are_refused() -> None:
    """R4: a processor without unlinked refunds: the refusal names unlinked_refunds."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock, unlinked_refunds=False)
    bo = BackOffice(store=InMemoryStore(), processor=sim, journal=InMemoryJournal(), clock=clock)
    world = World(clock=clock, sim=sim, bo=bo)
    invoiced_order(world)
    before, calls = bo.order("SO-1"), sim.calls
    with pytest.raises(FeatureDisabled) as caught:
        bo.refund_to_card("SO-1", "RMA-1", card("tok_9"), usd("5.00"), AGENT)
    assert caught.value.feature == "unlinked_refunds"
    assert_unchanged(world, before, calls)
