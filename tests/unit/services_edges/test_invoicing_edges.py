"""Invoicing and pickup at their edges: gates, stale and expired authorizations, retries.

Each scenario asserts the whole result (captures, uncovered, failed, doubt,
new payment required, holds) and what reached the processor.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from ocop import (
    Actor,
    Authorization,
    AuthorizationPolicy,
    AuthorizationToken,
    BackOffice,
    CardPayment,
    CardToken,
    Channel,
    FeatureDisabled,
    HoldCode,
    IllegalTransition,
    LineStatus,
    Money,
    OrderStatus,
    ProcessorResult,
    Settings,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from unsolicited_support import ended
from worlds import CUSTOMER, START, World, card, new_world, usd

from .support import AGENT, OCOP_OFF, RecoveryOnTheWay, card_order, ledger, operations

# -- gates (P2, S3) ------------------------------------------------------------------------------


@pytest.mark.parametrize("pickup", [False, True], ids=["invoice", "pickup"])
def test_a_commerce_order_is_not_invoiced_while_ocop_is_off(pickup: bool) -> None:
    """P2: with OCOP off a commerce order's invoice is refused: nothing recorded, nothing sent."""
    world = new_world()
    card_order(world)
    off = world.bo.with_settings(OCOP_OFF)
    calls = world.sim.calls
    with pytest.raises(FeatureDisabled) as caught:
        (off.pickup if pickup else off.invoice)("SO-1", "INV-1", usd("10.00"))
    assert caught.value.feature == "omni_channel_order_payments"
    assert world.bo.order("SO-1").invoices == ()
    assert world.sim.calls == calls
    assert [kind for kind, _, _ in ledger(world)] == ["authorize"]


def test_a_cancelled_order_is_not_invoiced() -> None:
    """A cancelled order's invoice is refused with its order id, without a processor call."""
    world = new_world()
    card_order(world)
    world.bo.cancel_order("SO-1", AGENT)
    calls = world.sim.calls
    with pytest.raises(IllegalTransition) as caught:
        world.bo.invoice("SO-1", "INV-1", usd("10.00"))
    assert caught.value.order_id == "SO-1"
    assert str(caught.value) == "order SO-1 is cancelled"
    assert world.sim.calls == calls
    assert world.bo.order("SO-1").invoices == ()


def test_an_order_on_hold_is_not_invoiced() -> None:
    """S3: an order on hold (out of balance) is refused with its order id."""
    world = new_world()
    world.bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=CUSTOMER,
        total=usd("50.00"),
        payments=[CardPayment(card(), usd("40.00"))],
    )
    calls = world.sim.calls
    with pytest.raises(IllegalTransition) as caught:
        world.bo.invoice("SO-1", "INV-1", usd("10.00"))
    assert caught.value.order_id == "SO-1"
    assert world.sim.calls == calls


# -- I3: stale and expired authorizations --------------------------------------------------------

SHORT = Settings.default().with_policies(
    authorization=AuthorizationPolicy(expiry_days=3, stale_days=7)
)


@pytest.mark.parametrize("days", [7, 8, 60])
def test_a_stale_authorization_is_refused_without_calling_the_processor(days: int) -> None:
    """I3: from stale_days on, the capture is refused locally; the line fails, the order holds."""
    world = new_world(SHORT)
    card_order(world)
    world.clock.advance(days=days)
    calls = world.sim.calls
    result = world.bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert world.sim.calls == calls
    assert result.captures == ()
    assert result.failed == ("L1",)
    assert result.uncovered == usd("20.00")
    assert not result.in_doubt
    assert result.new_payment_required is False
    assert [h.code for h in result.order.holds] == [HoldCode.AUTHORIZATION_EXPIRED]
    assert [i.invoice_id for i in result.order.invoices] == ["INV-1"]
    assert operations(world, "SO-1") == [("SO-1/authorize:L1.A1#1", "approved")]


def test_a_day_short_of_stale_the_expired_authorization_is_renewed() -> None:
    """I3: at stale_days minus one day the authorization is only expired: void, renew, capture."""
    world = new_world(SHORT)
    card_order(world)
    world.clock.advance(days=6)
    result = world.bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert [(c.auth_id, c.amount) for c in result.captures] == [("L1.A2", usd("20.00"))]
    assert result.failed == ()
    assert result.order.holds == ()
    assert [(k, key) for k, key, _ in ledger(world)] == [
        ("authorize", "SO-1/authorize:L1.A1#1"),
        ("void", "SO-1/void:L1.A1#1"),
        ("authorize", "SO-1/authorize:L1.A2#1"),
        ("capture", "SO-1/capture:INV-1:L1:L1.A2#1"),
    ]


def test_an_expired_authorization_whose_void_is_declined_fails_its_line() -> None:
    """I3: the void before renewal is declined: no new authorization, the line fails, a hold."""
    world = new_world()
    card_order(world)
    world.clock.advance(days=14)
    world.sim.script("void", "decline")
    result = world.bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert result.captures == ()
    assert result.failed == ("L1",)
    assert result.uncovered == usd("20.00")
    assert not result.in_doubt
    assert [h.code for h in result.order.holds] == [HoldCode.AUTHORIZATION_EXPIRED]
    assert operations(world, "SO-1") == [
        ("SO-1/authorize:L1.A1#1", "approved"),
        ("SO-1/void:L1.A1#1", "declined"),
    ]
    assert [kind for kind, _, _ in ledger(world)] == ["authorize"]
    assert result.order.line("L1").authorized == usd("50.00")


@pytest.mark.parametrize("script", ["timeout_before", "timeout_after_success"])
def test_an_expired_authorization_whose_void_is_in_doubt_stops_the_invoice(script: str) -> None:
    """I3, O3, O4: the void before renewal times out: the invoice is in doubt, no renewal is
    tried, and the order is not held (the card may well be authorized again): the line stays
    marked as renewing, for recover() to finish (A2)."""
    world = new_world()
    card_order(world)
    world.clock.advance(days=14)
    world.sim.script("void", script)
    result = world.bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert result.in_doubt
    assert result.captures == ()
    assert result.failed == ()
    assert result.uncovered == usd("20.00")
    assert result.new_payment_required is False
    assert result.order.holds == ()
    assert result.order.line("L1").renewing
    assert operations(world, "SO-1") == [
        ("SO-1/authorize:L1.A1#1", "approved"),
        ("SO-1/void:L1.A1#1", "unknown"),
    ]


@pytest.mark.parametrize(
    ("kind", "script", "finished"),
    [
        ("void", "timeout_after_success", ("SO-1",)),
        ("void", "timeout_before", ("SO-1",)),
        ("authorize", "timeout_after_success", ()),
        ("authorize", "timeout_before", ("SO-1",)),
    ],
)
def test_recover_finishes_an_invoice_renewal_left_in_doubt(
    kind: str, script: str, finished: tuple[str, ...]
) -> None:
    """I3, A2, O4: an invoice's renewal whose void or new authorization timed out is
    finished by recover() as the renewal job's is: re-authorized (reported among its
    renewals unless the lost answer itself was the new authorization), no hold; the
    invoice is then retried and captures once, and the processor agrees with the order."""
    world = new_world()
    card_order(world)
    world.clock.advance(days=15)
    world.sim.script(kind, script)
    assert world.bo.invoice("SO-1", "INV-1", usd("20.00")).in_doubt
    report = world.bo.recover()
    assert report.still_in_doubt == ()
    assert report.renewals == finished
    order = world.bo.order("SO-1")
    line = order.line("L1")
    assert (line.status, line.authorized, line.renewing) == (
        LineStatus.AUTHORIZED, usd("50.00"), False,
    )  # fmt: skip
    assert order.holds == ()
    assert world.bo.renew_authorizations().renewed == ()  # nothing left to renew
    retried = world.bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert [(c.auth_id, c.amount) for c in retried.captures] == [("L1.A2", usd("20.00"))]
    assert (retried.uncovered, retried.failed, retried.in_doubt) == (usd("0.00"), (), ())
    # One void, one new authorization (a second attempt of it when the first was never
    # received), one capture.
    assert [(k, key.split("#")[0]) for k, key, _ in ledger(world)] == [
        ("authorize", "SO-1/authorize:L1.A1"),
        ("void", "SO-1/void:L1.A1"),
        ("authorize", "SO-1/authorize:L1.A2"),
        ("capture", "SO-1/capture:INV-1:L1:L1.A2"),
    ]
    line = retried.order.line("L1")
    assert [world.sim.authorization_open(a.token.value) for a in line.authorizations] == [
        a.open_amount for a in line.authorizations
    ]


def test_an_expired_authorization_of_a_one_time_card_whose_void_is_in_doubt_holds() -> None:
    """I3: a card that cannot be authorized again holds the order whatever its void comes
    to; recover() then settles the void and declines the line."""
    world = new_world()
    place = world.bo.place_order
    place("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER, total=usd("50.00"),
          payments=[CardPayment(card(reusable=False), usd("50.00"))])  # fmt: skip
    world.clock.advance(days=15)
    world.sim.script("void", "timeout_after_success")
    result = world.bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert result.in_doubt
    assert [h.code for h in result.order.holds] == [HoldCode.AUTHORIZATION_EXPIRED]
    assert not result.order.line("L1").renewing
    world.bo.recover()
    line = world.bo.order("SO-1").line("L1")
    assert (line.status, line.authorized) == (LineStatus.DECLINED, usd("0.00"))
    assert world.sim.authorization_open(line.authorizations[0].token.value) == usd("0.00")


def test_a_declined_renewal_declines_the_line_and_holds_the_order() -> None:
    """I3: void approved, the renewal declined: the line is declined, the order on hold."""
    world = new_world()
    card_order(world)
    world.clock.advance(days=14)
    world.sim.script("authorize", "decline")
    result = world.bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert result.captures == ()
    assert result.failed == ("L1",)
    assert result.uncovered == usd("20.00")
    assert not result.in_doubt
    assert result.order.line("L1").status is LineStatus.DECLINED
    assert [h.code for h in result.order.holds] == [HoldCode.AUTHORIZATION_EXPIRED]
    assert result.order.status is OrderStatus.ON_HOLD
    assert operations(world, "SO-1") == [
        ("SO-1/authorize:L1.A1#1", "approved"),
        ("SO-1/void:L1.A1#1", "approved"),
        ("SO-1/authorize:L1.A2#1", "declined"),
    ]
    assert world.sim.authorization_open(result.order.line("L1").authorizations[0].token.value) == (
        usd("0.00")
    )


def test_a_renewal_in_doubt_leaves_the_line_pending_and_the_invoice_in_doubt() -> None:
    """I3, O3: the renewal times out: the invoice is in doubt and the line awaits its answer."""
    world = new_world()
    card_order(world)
    world.clock.advance(days=14)
    world.sim.script("authorize", "timeout_before")
    result = world.bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert result.in_doubt
    assert result.failed == ()
    assert result.captures == ()
    assert result.order.line("L1").status is LineStatus.PENDING_AUTHORIZATION
    assert operations(world, "SO-1")[-1] == ("SO-1/authorize:L1.A2#1", "unknown")


# -- I1 with doubt: nothing after an operation in doubt ------------------------------------------


def test_a_capture_in_doubt_stops_the_invoice_before_the_next_card_line() -> None:
    """O3: once the first card line's capture is in doubt, the second line is not captured."""
    world = new_world()
    world.bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=CUSTOMER,
        total=usd("100.00"),
        payments=[
            CardPayment(card("tok_1"), usd("50.00")),
            CardPayment(card("tok_2"), usd("50.00")),
        ],
    )
    world.sim.script("capture", "timeout_before")
    result = world.bo.invoice("SO-1", "INV-1", usd("80.00"))
    assert result.in_doubt
    assert result.captures == ()
    assert result.failed == ()
    assert result.uncovered == usd("80.00")
    assert [key for key, _ in operations(world, "SO-1") if "capture" in key] == [
        "SO-1/capture:INV-1:L1:L1.A1#1"
    ]


def test_a_reauthorization_in_doubt_stops_the_invoice_before_any_prepayment() -> None:
    """I2, O3: the released remainder's re-authorization times out: no prepayment is applied."""
    world = new_world(multi_capture=False)
    boss = Actor.call_center("boss-1", permissions=frozenset({"hold_override"}))
    world.bo.place_order(
        "SO-1", channel=Channel.CALL_CENTER, customer=CUSTOMER, total=usd("100.00")
    )
    world.bo.submit(world.bo.begin_completion("SO-1", boss).add_card(card(), usd("100.00")))
    # A single capture of 30.00 settled by recovery: the other 70.00 was released.
    world.sim.script("capture", "timeout_after_success")
    assert world.bo.invoice("SO-1", "INV-1", usd("30.00")).in_doubt
    world.bo.recover()
    # The card line cut to 80.00 and 20.00 cash added; the processor then ended the card's
    # new authorization (N4): the line waits for one again.
    draft = (
        world.bo.begin_completion("SO-1", boss)
        .change_amount("L1", usd("80.00"))
        .add_prepayment("cash", usd("20.00"))
    )
    assert world.bo.submit(draft).approved
    key = operations(world, "SO-1")[-1][0]
    world.bo.handle_notification(ended(key, 1))
    world.sim.script("authorize", "timeout_before")
    result = world.bo.invoice("SO-1", "INV-2", usd("20.00"))
    assert result.in_doubt
    assert result.captures == ()
    assert result.uncovered == usd("20.00")
    assert result.order.line("L2").captures == ()
    assert operations(world, "SO-1")[-1] == ("SO-1/authorize:L1.A3#1", "unknown")


def test_a_reauthorization_in_doubt_stops_the_next_lines_reauthorization() -> None:
    """I2, O3: two lines each short of what they pay (a released remainder whose new
    authorization the processor ended, and an ended authorization); the first line's
    re-authorization times out, so the second line's is not even asked for."""
    world = new_world(multi_capture=False)
    world.bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=CUSTOMER,
        total=usd("100.00"),
        payments=[
            CardPayment(card("tok_1"), usd("50.00")),
            CardPayment(card("tok_2"), usd("50.00")),
        ],
    )
    # L1's single capture of 30.00 released 20.00, authorized again; then the processor
    # ended that authorization and L2's (N4): each line waits for a new one.
    world.bo.invoice("SO-1", "INV-1", usd("30.00"))
    world.bo.handle_notification(ended("SO-1/authorize:L1.A2#1", 1))
    world.bo.handle_notification(ended("SO-1/authorize:L2.A1#1", 2))
    order = world.bo.order("SO-1")
    assert [line.authorized for line in order.lines] == [usd("0.00"), usd("0.00")]
    assert order.approved
    world.sim.script("authorize", "timeout_before")
    result = world.bo.invoice("SO-1", "INV-2", usd("10.00"))
    assert result.in_doubt == ("SO-1/authorize:L1.A3#1",)
    assert result.captures == ()
    assert result.uncovered == usd("10.00")
    assert [key for key, _ in operations(world, "SO-1") if "authorize:L2" in key] == [
        "SO-1/authorize:L2.A1#1"
    ]


def two_authorizations(world: World) -> None:
    """SO-1's card line of 100.00 held by two open authorizations: L1.A1 of 60, L1.A2 of 40.

    Built through the ports (the processor adjusts and authorizes, the store
    records it), as a line covered by two authorizations is stored.
    """
    order = card_order(world, amount="100.00")
    line = order.line("L1")
    first = line.authorizations[0]
    adjusted = world.sim.adjust("SO-1/setup:adjust", first.token, usd("60.00"))
    second = world.sim.authorize("SO-1/setup:authorize", card(), usd("40.00"))
    assert adjusted.approved
    assert second.approved
    assert isinstance(second.token, AuthorizationToken)
    extra = Authorization.new(
        "L1.A2",
        second.token,
        usd("40.00"),
        at=world.clock.now(),
        multi_capture=True,
        card_value=card().value,
    )
    changed = order.with_line(line.adjusted("L1.A1", usd("60.00")).authorized_with(extra))
    with world.bo.ports.store.unit_of_work() as uow:
        uow.orders.update(changed)
        uow.commit()


def test_a_line_with_two_authorizations_is_captured_oldest_first() -> None:
    """I6/I1: a part larger than the first authorization is split: 60.00 then 40.00."""
    world = new_world()
    two_authorizations(world)
    result = world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert [(c.capture_id, c.amount) for c in result.captures] == [
        ("SO-1/capture:INV-1:L1:L1.A1#1", usd("60.00")),
        ("SO-1/capture:INV-1:L1:L1.A2#1", usd("40.00")),
    ]
    assert result.uncovered == usd("0.00")


def test_a_capture_in_doubt_stops_the_split_before_the_next_authorization() -> None:
    """O3: the first authorization's capture in doubt: the second is not captured."""
    world = new_world()
    two_authorizations(world)
    world.sim.script("capture", "timeout_before")
    result = world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert result.in_doubt
    assert result.captures == ()
    assert result.uncovered == usd("100.00")
    assert [key for key, _ in operations(world, "SO-1") if "capture" in key] == [
        "SO-1/capture:INV-1:L1:L1.A1#1"
    ]


# -- I6: pickup retries --------------------------------------------------------------------------


def test_a_pickup_capture_declined_is_retried_once_with_a_new_authorization() -> None:
    """I6: void the failed authorization, authorize the open amount again, capture."""
    world = new_world()
    card_order(world)
    world.sim.script("capture", "decline")
    result = world.bo.pickup("SO-1", "INV-1", usd("20.00"))
    assert [(c.auth_id, c.amount) for c in result.captures] == [("L1.A2", usd("20.00"))]
    assert result.failed == ()
    assert result.new_payment_required is False
    assert result.uncovered == usd("0.00")
    assert [(k, key, amount) for k, key, amount in ledger(world)] == [
        ("authorize", "SO-1/authorize:L1.A1#1", usd("50.00")),
        ("void", "SO-1/void:L1.A1#1", usd("50.00")),
        ("authorize", "SO-1/authorize:L1.A2#1", usd("50.00")),
        ("capture", "SO-1/capture:INV-1:L1:L1.A2#1", usd("20.00")),
    ]


def test_a_pickup_whose_void_before_the_retry_is_pending_still_retries() -> None:
    """I6, N1: a pending void counts as done at once: the retry authorizes and captures."""
    world = new_world()
    card_order(world)
    world.sim.script("capture", "decline")
    world.sim.script("void", "pending")
    result = world.bo.pickup("SO-1", "INV-1", usd("20.00"))
    assert [(c.auth_id, c.amount) for c in result.captures] == [("L1.A2", usd("20.00"))]
    assert result.failed == ()
    assert not result.in_doubt
    assert result.new_payment_required is False
    assert result.uncovered == usd("0.00")
    assert result.order.status is OrderStatus.PARTIALLY_INVOICED
    assert result.order.holds == ()
    assert operations(world, "SO-1")[2] == ("SO-1/void:L1.A1#1", "pending")
    assert world.sim.pending_keys() == ("SO-1/void:L1.A1#1",)
    world.sim.settle_pending("approve")  # the processor's ledger then agrees with the order
    assert [(k, key, amount) for k, key, amount in ledger(world)] == [
        ("authorize", "SO-1/authorize:L1.A1#1", usd("50.00")),
        ("authorize", "SO-1/authorize:L1.A2#1", usd("50.00")),
        ("capture", "SO-1/capture:INV-1:L1:L1.A2#1", usd("20.00")),
        ("void", "SO-1/void:L1.A1#1", usd("50.00")),
    ]


@pytest.mark.parametrize("route", ["notification", "recover"])
def test_a_pickup_retry_whose_pending_void_fails_releases_the_old_authorization(
    route: str,
) -> None:
    """I6, N1, X1, V5: the void before a pickup's retry answers pending and the retry
    authorizes and captures; then the processor refuses the void. The old authorization
    still holds 50.00 beside the new one: its failure (a notification, or recover()) marks
    it to be released again, and recover() or the next renewal run voids it under a new
    key, so the card is not held twice and ocop's authorizations agree with the
    processor's. (The order counted it released and nothing released it: the card was
    held twice until the old authorization lapsed.)"""
    world = new_world()
    card_order(world)
    world.sim.script("capture", "decline")
    world.sim.script("void", "pending")
    assert world.bo.pickup("SO-1", "INV-1", usd("20.00")).captures
    notes = world.sim.settle_pending("decline")
    if route == "notification":
        for note in notes:
            assert world.bo.handle_notification(note).applied
        assert world.bo.renew_authorizations().voided == ("SO-1",)
    else:
        assert world.bo.recover().resolved == ("SO-1/void:L1.A1#1",)
    line = world.bo.order("SO-1").line("L1")
    opened = [world.sim.authorization_open(a.token.value) for a in line.authorizations]
    assert opened == [a.open_amount for a in line.authorizations] == [usd("0"), usd("30.00")]
    assert ledger(world)[-1] == ("void", "SO-1/void:L1.A1#2", usd("50.00"))  # its next attempt
    assert world.bo.renew_authorizations().voided == ()  # released once


@pytest.mark.parametrize("void", ["approve", "pending"])
def test_a_pickup_never_retries_with_a_single_use_card(void: str) -> None:
    """I6 with a single-use token: it cannot be authorized again, so its authorization is
    kept (no void) and a new payment is required, nothing authorized twice."""
    world = new_world()
    once = card("tok_once", "1111", reusable=False)
    payment = CardPayment(once, usd("50.00"))
    world.bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER,
                         total=usd("50.00"), payments=[payment])  # fmt: skip
    world.sim.script("capture", "decline")
    world.sim.script("void", void)
    result = world.bo.pickup("SO-1", "INV-1", usd("50.00"))
    assert result.new_payment_required is True
    assert result.captures == ()
    assert result.failed == ("L1",)
    assert [(k, key) for k, key, _ in ledger(world)] == [("authorize", "SO-1/authorize:L1.A1#1")]
    assert result.order.lines[0].authorized == usd("50.00")  # the money stays held


@pytest.mark.parametrize("script", ["timeout_before", "timeout_after_success"])
def test_a_pickup_whose_void_before_the_retry_is_in_doubt_reports_doubt(script: str) -> None:
    """I6, O3: the void before the retry times out: in doubt, no new authorization."""
    world = new_world()
    card_order(world)
    world.sim.script("capture", "decline")
    world.sim.script("void", script)
    result = world.bo.pickup("SO-1", "INV-1", usd("20.00"))
    assert result.in_doubt
    assert result.failed == ("L1",)
    assert result.new_payment_required is False
    assert result.captures == ()
    assert result.uncovered == usd("20.00")
    assert operations(world, "SO-1") == [
        ("SO-1/authorize:L1.A1#1", "approved"),
        ("SO-1/capture:INV-1:L1:L1.A1#1", "declined"),
        ("SO-1/void:L1.A1#1", "unknown"),
    ]


def test_a_pickup_whose_new_authorization_is_declined_needs_a_new_payment() -> None:
    """I6: the retry's authorization is declined: a new payment is required."""
    world = new_world()
    card_order(world)
    world.sim.script("capture", "decline")
    world.sim.script("authorize", "decline")
    result = world.bo.pickup("SO-1", "INV-1", usd("20.00"))
    assert result.new_payment_required is True
    assert not result.in_doubt
    assert set(result.failed) == {"L1"}
    assert result.captures == ()
    assert result.uncovered == usd("20.00")
    assert result.order.line("L1").status is LineStatus.DECLINED
    assert [kind for kind, _, _ in ledger(world)] == ["authorize", "void"]


def test_a_pickup_whose_retry_capture_is_declined_needs_a_new_payment() -> None:
    """I6: retried once only: the second capture declined, a new payment is required."""
    world = new_world()
    card_order(world)
    world.sim.script("capture", "decline", "decline")
    result = world.bo.pickup("SO-1", "INV-1", usd("20.00"))
    assert result.new_payment_required is True
    assert not result.in_doubt
    assert set(result.failed) == {"L1"}
    assert result.captures == ()
    assert [key for key, _ in operations(world, "SO-1") if "capture" in key] == [
        "SO-1/capture:INV-1:L1:L1.A1#1",
        "SO-1/capture:INV-1:L1:L1.A2#1",
    ]
    # The new authorization stays open for a later attempt; the old one was released.
    assert [(a.auth_id, a.open_amount) for a in result.order.line("L1").authorizations] == [
        ("L1.A1", usd("0.00")),
        ("L1.A2", usd("50.00")),
    ]


@pytest.mark.parametrize(
    ("kind", "scripts"),
    [("authorize", ("timeout_before",)), ("capture", ("decline", "timeout_before"))],
    ids=["reauthorization", "recapture"],
)
def test_a_pickup_retry_in_doubt_asks_for_no_new_payment(
    kind: str, scripts: tuple[str, ...]
) -> None:
    """I6, O3: the retry's authorization or capture times out: in doubt, not a new payment."""
    world = new_world()
    card_order(world)
    if kind == "authorize":
        world.sim.script("capture", "decline")
    world.sim.script(kind, *scripts)
    result = world.bo.pickup("SO-1", "INV-1", usd("20.00"))
    assert result.in_doubt
    assert result.new_payment_required is False
    assert result.failed == ("L1",)
    assert result.captures == ()
    assert result.uncovered == usd("20.00")


def test_an_invoice_capture_declined_is_not_retried_outside_pickup() -> None:
    """I6 applies to pickups only: a declined invoice capture just fails its line."""
    world = new_world()
    card_order(world)
    world.sim.script("capture", "decline")
    result = world.bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert result.failed == ("L1",)
    assert result.new_payment_required is False
    assert [kind for kind, _, _ in ledger(world)] == ["authorize"]
    assert result.order.line("L1").authorized == usd("50.00")


# -- gates on retries, and a pickup retry that cannot void ---------------------------------------


def test_repeating_an_invoice_while_ocop_is_off_moves_no_money() -> None:
    """P2: a commerce order is processed only while OCOP is on, retries of an invoice included."""
    world = new_world()
    card_order(world)
    world.sim.script("capture", "decline")
    first = world.bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert first.uncovered == usd("20.00")
    off = world.bo.with_settings(OCOP_OFF)
    calls = world.sim.calls
    with pytest.raises(FeatureDisabled):
        off.invoice("SO-1", "INV-1", usd("20.00"))
    assert world.sim.calls == calls


def test_a_pickup_whose_void_is_declined_never_holds_the_card_twice() -> None:
    """I6: "the customer's card never holds the same money twice", even when the void fails."""
    world = new_world()
    card_order(world)
    world.sim.script("capture", "decline")
    world.sim.script("void", "decline")
    result = world.bo.pickup("SO-1", "INV-1", usd("20.00"))
    assert result.new_payment_required
    assert result.captures == ()
    line = result.order.line("L1")
    assert line.captured + line.authorized <= line.amount
    held = sum(
        (
            world.sim.authorization_open(a.token.value) or Money.zero("USD")
            for a in line.authorizations
        ),
        Money.zero("USD"),
    )
    assert held + line.captured <= line.amount


class _PartialApprovals(SimulatedProcessor):
    """Approves 60.00 of any authorization while ``partial`` is set (N4)."""

    partial = False

    def authorize(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        return super().authorize(key, card, usd("60.00") if self.partial else amount)


def test_an_invoice_renewal_approved_for_less_captures_what_it_holds() -> None:
    """I3, N4, S1: the expired authorization renewed for less than asked: the invoice
    captures what the new one holds, reports the rest uncovered and the order is held out
    of balance (it asked the processor for the whole piece, was declined, and captured
    nothing)."""
    clock = ManualClock(START)
    sim = _PartialApprovals(clock=clock)
    bo = BackOffice.in_memory(processor=sim, clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER,
                   total=usd("100.00"), payments=[CardPayment(card(), usd("100.00"))])  # fmt: skip
    clock.advance(days=15)
    sim.partial = True
    result = bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert result.failed == ()
    assert [c.amount for c in result.captures] == [usd("60.00")]
    assert result.uncovered == usd("40.00")
    assert [e.amount for e in sim.ledger() if e.kind == "capture"] == [usd("60.00")]
    # S1: short of its total, the order is held out of balance, as the renewal job leaves it
    assert [h.code for h in bo.order("SO-1").holds] == [HoldCode.OUT_OF_BALANCE]


@pytest.mark.parametrize("on", ["void", "authorize"])
@pytest.mark.parametrize("claimed", [False, True], ids=["recovery_renews", "job_holds_it"])
def test_an_invoice_renewal_a_recovery_found_never_received_goes_on(on: str, claimed: bool) -> None:
    """I3, A2, O2: never received is no decline: an invoice whose void of the expired
    authorization (or whose new authorization) a concurrent recover() found never received
    captures once on the authorization recover() renewed, or, the renewal left to the job's
    worker that holds the order, sends the call once more (it failed the line "not
    received" and held the order AUTHORIZATION_EXPIRED, the line authorized afresh)."""
    clock = ManualClock(START)
    sim = RecoveryOnTheWay(clock=clock)
    sim.on = on
    bo = BackOffice.in_memory(processor=sim, clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER,
                   total=usd("50.00"), payments=[CardPayment(card(), usd("50.00"))])  # fmt: skip
    clock.advance(days=15)
    if claimed:
        now = clock.now()
        bo.ports.store.claim(["renew:SO-1"], "job", now + timedelta(minutes=10), now)
    sim.other = BackOffice(store=bo.ports.store, journal=bo.ports.journal, processor=sim,
                           clock=clock)  # fmt: skip
    result = bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert (result.failed, result.in_doubt, result.uncovered) == ((), (), usd("0.00"))
    assert [(c.auth_id, c.amount) for c in result.captures] == [("L1.A2", usd("20.00"))]
    order = bo.order("SO-1")
    assert order.holds == ()
    line = order.line("L1")
    assert (line.renewing, line.captured, line.authorized) == (False, usd("20.00"), usd("30.00"))
    # One void, one new authorization (one of their attempts never received), one capture;
    # the processor holds what the order shows open.
    assert [(e.kind, e.key.split("#")[0], e.amount) for e in sim.ledger()] == [
        ("authorize", "SO-1/authorize:L1.A1", usd("50.00")),
        ("void", "SO-1/void:L1.A1", usd("50.00")),
        ("authorize", "SO-1/authorize:L1.A2", usd("50.00")),
        ("capture", "SO-1/capture:INV-1:L1:L1.A2", usd("20.00")),
    ]
    assert [sim.authorization_open(a.token.value) for a in line.authorizations] == [
        usd("0.00"), usd("30.00"),
    ]  # fmt: skip
