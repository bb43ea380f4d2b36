"""Order completion for every channel: submit (S1-S4), permissions (P1, P2), T1 and X1."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import attrs
import pytest
from support import (
    ALICE,
    BOB,
    CARD_1,
    CARD_2,
    CLERK,
    CVV,
    OUTSIDER,
    SUPERVISOR,
    World,
    kinds,
    make_world,
    snapshot,
)

from ocop import (
    CardPayment,
    Channel,
    CompletionPolicy,
    CurrencyMismatch,
    Customer,
    FeatureDisabled,
    HoldCode,
    IllegalTransition,
    InstrumentNotFound,
    InvalidCvv,
    InvalidInput,
    LineStatus,
    Money,
    OcopError,
    OrderStatus,
    PaymentsType,
    PermissionDenied,
    SavedCardPayment,
    Settings,
)
from worlds import START, usd


def policy(**changes: object) -> Settings:
    """Default settings with a completion policy built from ``changes``."""
    return Settings.default().with_policies(completion=CompletionPolicy(**changes))  # type: ignore[arg-type]


def call_center_order(world: World, total: str, *cards: str, order_id: str = "SO-1") -> None:
    """A call center order of ``total``, one card line per amount, still pending completion."""
    payments = [CardPayment(CARD_1, usd(amount)) for amount in cards]
    world.bo.place_order(
        order_id, channel=Channel.CALL_CENTER, customer=ALICE, total=usd(total), payments=payments
    )


def submitted(world: World, order_id: str = "SO-1") -> set[HoldCode]:
    """Submit the unchanged draft and return the hold codes the order gets."""
    result = world.bo.submit(world.bo.begin_completion(order_id, CLERK))
    return {hold.code for hold in result.holds}


# -- S1: balance --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paid", "holds"),
    [
        ("89.99", {HoldCode.OUT_OF_BALANCE}),
        ("90.00", set()),
        ("105.00", set()),
        ("105.01", {HoldCode.OUT_OF_BALANCE}),
    ],
)
def test_payment_beyond_its_threshold_puts_the_order_out_of_balance(
    paid: str, holds: set[HoldCode]
) -> None:
    """S1: 10% under- and 5% over-payment are tolerated; beyond, an OUT_OF_BALANCE hold."""
    world = make_world(
        policy(underpaid_threshold_percent=Decimal(10), overpaid_threshold_percent=Decimal(5))
    )
    call_center_order(world, "100.00", paid)
    assert submitted(world) == holds


def test_out_of_balance_allowed_approves_an_underpaid_order() -> None:
    """S1: with out-of-balance allowed, half a payment still approves."""
    world = make_world(policy(allow_out_of_balance=True))
    call_center_order(world, "100.00", "50.00")
    assert submitted(world) == set()
    assert world.bo.order("SO-1").approved


# -- S2: declines, checks, credit limit ---------------------------------------------------


def test_a_declined_authorization_declines_the_line_and_holds_the_order() -> None:
    """S2: a declined authorization gives a declined line and a PAYMENT_DECLINED hold."""
    world = make_world()
    call_center_order(world, "100.00", "60.00", "40.00")
    world.sim.script("authorize", "approve", "decline")
    result = world.bo.submit(world.bo.begin_completion("SO-1", CLERK))
    assert [line.status for line in result.order.lines] == [
        LineStatus.AUTHORIZED,
        LineStatus.DECLINED,
    ]
    assert {h.code for h in result.holds} == {HoldCode.PAYMENT_DECLINED, HoldCode.OUT_OF_BALANCE}
    assert result.order.status is OrderStatus.ON_HOLD


def test_a_check_above_the_threshold_holds_the_order_for_the_configured_days() -> None:
    """S2: a check above the threshold gets a CHECK hold that lapses after the set days."""
    world = make_world(policy(check_hold_threshold=usd("100.00"), check_hold_days=3))
    call_center_order(world, "250.00")
    world.bo.place_order("SO-2", channel=Channel.CALL_CENTER, customer=ALICE, total=usd("100.00"))
    big = world.bo.begin_completion("SO-1", CLERK).add_prepayment(
        "check", usd("250.00"), check_number="1001"
    )
    result = world.bo.submit(big)
    (hold,) = result.holds
    assert hold.code is HoldCode.CHECK
    assert hold.until == START + timedelta(days=3)
    small = world.bo.begin_completion("SO-2", CLERK).add_prepayment(
        "check", usd("100.00"), check_number="1002"
    )
    assert world.bo.submit(small).approved
    world.clock.advance(days=3)
    assert submitted(world) == set()


def test_a_customer_account_line_in_another_currency_than_the_limit_is_refused() -> None:
    """V7, C1: as at placement, a customer account payment on an order in another currency
    than the customer's on-account limit is refused while the draft is edited (it was
    posted, and the order held beyond a limit it was never compared with)."""
    world = make_world()
    limited = Customer.named("C-9", on_account_limit=Money.of("500.00", "EUR"))
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=limited,
                         total=usd("40.00"))  # fmt: skip
    draft = world.bo.begin_completion("SO-1", CLERK)
    with pytest.raises(CurrencyMismatch) as refused:
        draft.add_prepayment("customer_account", usd("40.00"))
    assert (refused.value.left, refused.value.right) == ("EUR", "USD")
    assert draft.lines == ()


def test_customer_account_payments_beyond_the_limit_hold_the_order() -> None:
    """S2: customer-account lines beyond the customer's credit give a CREDIT_LIMIT hold."""
    world = make_world()
    limited = Customer.named("C-9", on_account_limit=usd("50.00"))
    for order_id in ("SO-1", "SO-2"):
        world.bo.place_order(
            order_id, channel=Channel.CALL_CENTER, customer=limited, total=usd("80.00")
        )
    over = world.bo.begin_completion("SO-1", CLERK).add_prepayment("customer_account", usd("80.00"))
    assert {h.code for h in world.bo.submit(over).holds} == {HoldCode.CREDIT_LIMIT}
    within = (
        world.bo.begin_completion("SO-2", CLERK)
        .add_prepayment("customer_account", usd("50.00"))
        .add_card(CARD_1, usd("30.00"))
    )
    assert world.bo.submit(within).approved


# -- S3: when completion runs -------------------------------------------------------------


def test_a_call_center_order_is_authorized_only_at_submit() -> None:
    """S3: call center orders are placed pending completion; submit authorizes them."""
    world = make_world()
    call_center_order(world, "100.00", "100.00")
    placed = world.bo.order("SO-1")
    assert placed.status is OrderStatus.PENDING_COMPLETION
    assert placed.line("L1").status is LineStatus.NOT_SUBMITTED
    assert world.sim.ledger() == ()
    result = world.bo.submit(world.bo.begin_completion("SO-1", CLERK))
    assert result.approved
    assert kinds(world.sim.ledger()) == ["authorize"]


@pytest.mark.parametrize("channel", [Channel.POS, Channel.ECOMMERCE])
def test_pos_and_ecommerce_orders_are_validated_when_placed(channel: Channel) -> None:
    """S3: a channel order is authorized and validated at placement, holds included."""
    world = make_world()
    paid = world.bo.place_order(
        "SO-1", channel=channel, customer=ALICE, total=usd("50.00"),
        payments=[CardPayment(CARD_1, usd("50.00"))],
    )  # fmt: skip
    assert paid.approved
    assert paid.line("L1").status is LineStatus.AUTHORIZED
    short = world.bo.place_order(
        "SO-2", channel=channel, customer=ALICE, total=usd("50.00"),
        payments=[CardPayment(CARD_1, usd("20.00"))],
    )  # fmt: skip
    assert {h.code for h in short.holds} == {HoldCode.OUT_OF_BALANCE}


def test_submitting_an_unchanged_draft_calls_no_processor() -> None:
    """S3: a draft without edits submits with zero processor calls."""
    world = make_world()
    call_center_order(world, "100.00", "100.00")
    world.bo.submit(world.bo.begin_completion("SO-1", CLERK))
    calls, ledger = world.sim.calls, world.sim.ledger()
    result = world.bo.submit(world.bo.begin_completion("SO-1", CLERK))
    assert result.approved
    assert result.processor_calls == 0
    assert (world.sim.calls, world.sim.ledger()) == (calls, ledger)


def test_an_order_whose_total_changed_needs_completion_again() -> None:
    """S3: a changed total needs completion again before the order can be invoiced."""
    world = make_world()
    call_center_order(world, "100.00", "100.00")
    world.bo.submit(world.bo.begin_completion("SO-1", CLERK))
    changed = world.bo.change_total("SO-1", usd("120.00"), CLERK)
    assert changed.status is OrderStatus.PENDING_COMPLETION
    assert not changed.approved
    with pytest.raises(IllegalTransition, match="only approved orders"):
        world.bo.invoice("SO-1", "INV-1", usd("120.00"))
    draft = world.bo.begin_completion("SO-1", CLERK).add_card(CARD_2, usd("20.00"))
    assert world.bo.submit(draft).approved
    assert world.bo.invoice("SO-1", "INV-1", usd("120.00")).uncovered == usd("0.00")


# -- S4: releasing holds ------------------------------------------------------------------


def test_an_out_of_balance_hold_stays_while_out_of_balance_without_the_override() -> None:
    """S4: the release is refused while out of balance unless the actor may override."""
    world = make_world()
    call_center_order(world, "100.00", "60.00")
    assert submitted(world) == {HoldCode.OUT_OF_BALANCE}
    before = snapshot(world, "SO-1")
    with pytest.raises(IllegalTransition, match="hold_override"):
        world.bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, CLERK)
    assert snapshot(world, "SO-1") == before
    released = world.bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, SUPERVISOR)
    assert not released.has_hold(HoldCode.OUT_OF_BALANCE)
    assert released.approved


def test_an_out_of_balance_hold_is_released_once_the_order_is_in_balance() -> None:
    """S4: once the order is in balance again, any call center user may release the hold."""
    world = make_world()
    call_center_order(world, "100.00", "60.00")
    assert submitted(world) == {HoldCode.OUT_OF_BALANCE}
    world.bo.change_total("SO-1", usd("60.00"), CLERK)
    released = world.bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, CLERK)
    assert released.holds == ()


def test_completion_that_fixes_the_balance_clears_the_out_of_balance_hold() -> None:
    """S1, S4: a submit that brings the order in balance decides the hold away."""
    world = make_world()
    call_center_order(world, "100.00", "60.00")
    assert submitted(world) == {HoldCode.OUT_OF_BALANCE}
    draft = world.bo.begin_completion("SO-1", CLERK).add_card(CARD_2, usd("40.00"))
    assert world.bo.submit(draft).approved


# -- P1: call center users only -----------------------------------------------------------


def test_only_call_center_users_work_on_payments_and_a_refusal_changes_nothing() -> None:
    """P1: every back-office payment action refuses a non call center user, storing nothing."""
    world = make_world()
    call_center_order(world, "100.00", "60.00")
    assert submitted(world) == {HoldCode.OUT_OF_BALANCE}
    draft = world.bo.begin_completion("SO-1", CLERK).add_card(CARD_2, usd("40.00"))
    bo = world.bo
    actions: list[Callable[[], object]] = [
        lambda: bo.begin_completion("SO-1", OUTSIDER),
        lambda: bo.submit(attrs.evolve(draft, actor=OUTSIDER)),
        lambda: bo.change_total("SO-1", usd("60.00"), OUTSIDER),
        lambda: bo.cancel_order("SO-1", OUTSIDER),
        lambda: bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, OUTSIDER),
    ]
    before = snapshot(world, "SO-1")
    for action in actions:
        with pytest.raises(PermissionDenied):
            action()
        assert snapshot(world, "SO-1") == before


# -- P2: which orders completion may edit -------------------------------------------------


def test_a_commerce_order_is_refused_while_ocop_is_off_and_allowed_when_on() -> None:
    """P2: with OCOP turned off, a commerce order's payments are refused until it is on again."""
    world = make_world()
    world.bo.place_order(
        "SO-1", channel=Channel.ECOMMERCE, customer=ALICE, total=usd("100.00"),
        payments=[CardPayment(CARD_1, usd("100.00"))],
    )  # fmt: skip
    assert world.bo.order("SO-1").payments_type is PaymentsType.COMMERCE
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd("90.00"))
    off = world.bo.with_settings(
        Settings.default().with_features(omni_channel_order_payments=False)
    )
    before = snapshot(world, "SO-1")
    with pytest.raises(FeatureDisabled):
        off.begin_completion("SO-1", CLERK)
    with pytest.raises(FeatureDisabled):
        off.submit(draft)
    with pytest.raises(FeatureDisabled):
        off.cancel_order("SO-1", CLERK)
    assert snapshot(world, "SO-1") == before
    on = off.with_settings(Settings.default())
    assert on.submit(on.begin_completion("SO-1", CLERK)).approved


def test_legacy_and_none_orders_cannot_be_edited_through_completion() -> None:
    """P2: an order placed while OCOP was off, or by a non call center user, is not editable."""
    world = make_world()
    off = world.bo.with_settings(
        Settings.default().with_features(omni_channel_order_payments=False)
    )
    off.place_order(
        "SO-L", channel=Channel.ECOMMERCE, customer=ALICE, total=usd("10.00"),
        payments=[CardPayment(CARD_1, usd("10.00"))],
    )  # fmt: skip
    world.bo.place_order(
        "SO-N", channel=Channel.CALL_CENTER, customer=ALICE, total=usd("10.00"),
        payments=[CardPayment(CARD_1, usd("10.00"))], created_by=OUTSIDER,
    )  # fmt: skip
    assert world.bo.order("SO-L").payments_type is PaymentsType.LEGACY
    assert world.bo.order("SO-N").payments_type is PaymentsType.NONE
    for order_id in ("SO-L", "SO-N"):
        before = snapshot(world, order_id)
        with pytest.raises(IllegalTransition, match="cannot be edited"):
            world.bo.begin_completion(order_id, CLERK)
        with pytest.raises(IllegalTransition):
            world.bo.cancel_order(order_id, CLERK)
        assert snapshot(world, order_id) == before


# -- T1: saved instruments ----------------------------------------------------------------


def test_only_named_customers_who_consent_save_cards_where_allowed() -> None:
    """T1: guests, missing consent and a disabled setting are each refused."""
    world = make_world()
    with pytest.raises(PermissionDenied):
        world.bo.save_instrument(Customer.guest(), CARD_1, consent=True)
    with pytest.raises(InvalidInput, match="consent"):
        world.bo.save_instrument(ALICE, CARD_1, consent=False)
    closed = world.bo.with_settings(
        Settings.default().with_policies(allow_saving_payment_information=False)
    )
    with pytest.raises(FeatureDisabled):
        closed.save_instrument(ALICE, CARD_1, consent=True)
    assert world.bo.saved_instruments(ALICE) == ()


def test_a_customer_sees_and_uses_only_their_own_instruments() -> None:
    """T1: each customer lists only their cards; another's instrument is not found."""
    world = make_world()
    alices = world.bo.save_instrument(ALICE, CARD_1, consent=True)
    bobs = world.bo.save_instrument(BOB, CARD_2, consent=True)
    assert world.bo.saved_instruments(ALICE) == (alices,)
    assert world.bo.saved_instruments(BOB) == (bobs,)
    assert world.bo.saved_instruments(Customer.guest()) == ()
    with pytest.raises(InstrumentNotFound):
        world.bo.place_order(
            "SO-1", channel=Channel.ECOMMERCE, customer=ALICE, total=usd("10.00"),
            payments=[SavedCardPayment(bobs.instrument_id, cvv=CVV, amount=usd("10.00"))],
        )  # fmt: skip
    with pytest.raises(OcopError):
        world.bo.order("SO-1")


def test_paying_with_a_saved_card_needs_its_cvv() -> None:
    """T1: a saved card without a 3 or 4 digit security code is refused in the draft."""
    world = make_world()
    saved = world.bo.save_instrument(ALICE, CARD_1, consent=True)
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=ALICE, total=usd("10.00"))
    draft = world.bo.begin_completion("SO-1", CLERK)
    for cvv in ("", "12", "12a", "12345"):
        with pytest.raises(InvalidCvv):
            draft.add_saved_card(saved.instrument_id, cvv=cvv, amount=usd("10.00"))
    result = world.bo.submit(
        draft.add_saved_card(saved.instrument_id, cvv=CVV, amount=usd("10.00"))
    )
    assert result.approved
