"""Deposits of POS customer orders (rules D1, D2): taken at placement, used by invoices,
ranked by age in refunds, refunded less the cancellation charge when cancelled."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from ocop import (
    Actor,
    BackOffice,
    Channel,
    ConnectorMismatch,
    Customer,
    DepositPolicy,
    FeatureDisabled,
    HoldCode,
    IllegalTransition,
    InvalidInput,
    InvalidSettings,
    LineStatus,
    Notification,
    NotificationEvent,
    Operation,
    Order,
    OrderStatus,
    PermissionDenied,
    Prepayment,
    SavedCardPayment,
    Settings,
    VoucherKind,
)
from ocop.adapters._codec import dumps, loads
from ocop.adapters.memory import InMemoryStore, ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain import keys
from ocop.domain.errors import NotFound
from ocop.domain.holds import out_of_balance
from ocop.domain.payments import ChannelPayment
from ocop.domain.tender import Capture
from worlds import CUSTOMER, START, World, by_card, card, in_cash, new_world, usd

from .support import AGENT, PartialApprovals, deposits, ledger, place_deposit

#: A POS worker allowed to take a deposit other than the default (D1).
SUPERVISOR = Actor(actor_id="pos-super", call_center_user=False,
                   permissions=frozenset({"deposit_override"}))  # fmt: skip
#: A POS worker without that permission.
CASHIER = Actor(actor_id="pos-1", call_center_user=False)


def assert_journal_balances(world: World, order_id: str = "SO-1") -> None:
    """V4: every voucher balances; payments add up to receipts, refunds to refunds."""
    order = world.bo.order(order_id)
    vouchers = world.bo.journal(order_id)
    for voucher in vouchers:
        debits = sum((vl.debit.minor for vl in voucher.lines), 0)
        credits = sum((vl.credit.minor for vl in voucher.lines), 0)
        assert debits == credits == voucher.amount.minor
    paid = sum((v.amount.minor for v in vouchers if v.kind is VoucherKind.PAYMENT), 0)
    refunded = sum((v.amount.minor for v in vouchers if v.kind is VoucherKind.REFUND), 0)
    assert paid == order.received.minor
    assert refunded == order.refunded.minor


def operations(world: World, order_id: str) -> tuple[Operation, ...]:
    """The operation log of one order."""
    with world.bo.ports.store.unit_of_work() as uow:
        return uow.operations.for_order(order_id)


def add_card_for_rest(world: World, amount: str, order_id: str = "SO-1") -> Order:
    """A call center user adds a second card for the rest of the order and submits."""
    draft = world.bo.begin_completion(order_id, AGENT)
    result = world.bo.submit(draft.add_card(card("tok_2", last4="2222"), usd(amount)))
    assert result.approved
    return result.order


# -- D1: taking the deposit -------------------------------------------------------------
def test_a_card_deposit_is_captured_once_at_placement_with_no_invoice() -> None:
    """A card deposit is authorized and captured when the order is placed: one processor
    capture, under a deposit key of its own, with no invoice and a receipt voucher."""
    world = new_world()
    order = place_deposit(world, "100.00", by_card("30.00"))
    captures = ledger(world.sim, "capture")
    assert [(e.key, e.amount) for e in captures] == [("SO-1/deposit:L1:L1.A1#1", usd("30.00"))]
    (line,) = order.lines
    assert line.deposit
    assert line.status is LineStatus.PAID
    (capture,) = line.captures
    assert capture.invoice_id is None
    assert capture.amount == usd("30.00")
    assert order.status is OrderStatus.APPROVED
    assert not order.invoices
    assert order.received == usd("30.00")
    assert order.balance_due == usd("70.00")
    (voucher,) = world.bo.journal("SO-1")
    assert voucher.kind is VoucherKind.PAYMENT
    assert voucher.amount == usd("30.00")
    assert voucher.reference == "DEPOSIT"
    assert_journal_balances(world)


def test_a_cash_deposit_is_posted_without_a_processor_call() -> None:
    """A cash deposit is posted like a prepayment: approved, no processor call."""
    world = new_world()
    order = place_deposit(world, "80.00", in_cash("20.00"))
    assert world.sim.ledger() == ()
    assert order.approved
    assert order.received == usd("20.00")
    assert order.lines[0].deposit
    assert order.lines[0].status is LineStatus.PAID
    assert_journal_balances(world)


def test_a_saved_card_deposit_is_tokenized_authorized_and_captured() -> None:
    """A saved card (with its CVV) pays a deposit like any card: captured at placement."""
    world = new_world()
    saved = world.bo.save_instrument(CUSTOMER, card("tok_7", last4="7777"), consent=True)
    payment = SavedCardPayment(saved.instrument_id, cvv="123", amount=usd("40.00"))
    order = place_deposit(world, "100.00", payment)
    assert [e.kind for e in world.sim.ledger()] == ["authorize", "capture"]
    assert [op.kind.value for op in operations(world, "SO-1")] == [
        "tokenize",
        "authorize",
        "capture",
    ]
    assert order.captured == usd("40.00")
    assert order.approved


def test_a_deposit_order_is_not_out_of_balance_but_a_plain_one_is() -> None:
    """S1 measures a deposit order's underpayment against its deposit, a plain order's
    against its total."""
    world = new_world()
    assert place_deposit(world, "100.00", by_card("30.00")).approved
    plain = world.bo.place_order("SO-2", channel=Channel.POS, customer=CUSTOMER,
                                 total=usd("100.00"), payments=[by_card("30.00")])  # fmt: skip
    assert plain.has_hold(HoldCode.OUT_OF_BALANCE)


def test_the_default_percent_is_enforced_rounded_half_up() -> None:
    """With a default of 15 %, a 99.99 order takes exactly 15.00 (14.9985 rounded half
    up); another amount without the override permission is refused and nothing stored."""
    world = new_world(deposits(default="15"))
    with pytest.raises(PermissionDenied):
        place_deposit(world, "99.99", by_card("14.99"), created_by=CASHIER)
    with pytest.raises(NotFound):
        world.bo.order("SO-1")
    assert world.sim.ledger() == ()
    order = place_deposit(world, "99.99", by_card("15.00"), created_by=CASHIER)
    assert order.received == usd("15.00")


def test_another_amount_needs_the_deposit_override_permission() -> None:
    """Taking more or less than the default needs an actor with deposit_override."""
    world = new_world(deposits(default="20"))
    with pytest.raises(PermissionDenied):
        place_deposit(world, "100.00", by_card("50.00"))
    with pytest.raises(PermissionDenied):
        place_deposit(world, "100.00", in_cash("10.00"), created_by=CASHIER)
    order = place_deposit(world, "100.00", in_cash("10.00"), created_by=SUPERVISOR)
    assert order.approved
    assert order.received == usd("10.00")
    bigger = place_deposit(world, "100.00", by_card("60.00"), order_id="SO-2",
                           created_by=SUPERVISOR)  # fmt: skip
    assert bigger.captured == usd("60.00")


@pytest.mark.parametrize("script", ["timeout_before", "timeout_after_success"])
def test_a_deposit_not_yet_taken_changed_in_completion_needs_the_override(script: str) -> None:
    """D1, P1: a placement interrupted before its deposit was taken leaves the deposit to
    the agent's submit. A draft that changes the deposit line's amount changes the deposit:
    without deposit_override it is refused and nothing changes (before, 50.00 was captured
    at once as the deposit of an order whose default is 20.00); with it, it is taken."""
    world = new_world(deposits(default="20"))
    world.sim.script("authorize", script)
    place_deposit(world, "100.00", by_card("20.00"))
    world.bo.recover()
    draft = world.bo.begin_completion("SO-1", AGENT).change_amount("L1", usd("50.00"))
    before, calls = world.bo.order("SO-1"), world.sim.calls
    with pytest.raises(PermissionDenied):
        world.bo.submit(draft)
    assert world.bo.order("SO-1") == before
    assert world.sim.calls == calls
    overriding = Actor.call_center("super-1", permissions=frozenset({"deposit_override"}))
    draft = world.bo.begin_completion("SO-1", overriding).change_amount("L1", usd("50.00"))
    assert world.bo.submit(draft).order.captured == usd("50.00")


def test_without_a_default_percent_the_payments_are_the_deposit() -> None:
    """A default of 0 % asks for no particular amount: any deposit up to the total."""
    world = new_world(deposits(default="0"))
    assert place_deposit(world, "100.00", by_card("12.34")).captured == usd("12.34")


@pytest.mark.parametrize(
    ("channel", "customer", "payments", "error"),
    [
        (Channel.ECOMMERCE, CUSTOMER, (by_card("30.00"),), InvalidInput),
        (Channel.CALL_CENTER, CUSTOMER, (by_card("30.00"),), InvalidInput),
        (Channel.POS, Customer.guest(), (by_card("30.00"),), InvalidInput),
        (Channel.POS, CUSTOMER, (), InvalidInput),
        (Channel.POS, CUSTOMER, (Prepayment("gift_card", amount=usd("30.00")),), InvalidInput),
        (Channel.POS, CUSTOMER, (by_card("60.00"), in_cash("50.00")), InvalidInput),
    ],
)
def test_deposits_outside_pos_customer_orders_are_refused(
    channel: Channel,
    customer: Customer,
    payments: tuple[ChannelPayment, ...],
    error: type[Exception],
) -> None:
    """Only a POS order of a named customer takes a deposit, paid by card, cash or check,
    never beyond the total; anything else is refused and nothing happens."""
    world = new_world()
    with pytest.raises(error):
        world.bo.place_order("SO-1", channel=channel, customer=customer, total=usd("100.00"),
                             payments=payments, deposit=True)  # fmt: skip
    with pytest.raises(NotFound):
        world.bo.order("SO-1")
    assert world.sim.ledger() == ()


def test_deposits_need_ocop_on() -> None:
    """With OCOP off a deposit is refused: its rules are OCOP's."""
    settings = Settings.default().with_features(omni_channel_order_payments=False)
    world = new_world(settings)
    with pytest.raises(FeatureDisabled):
        place_deposit(world, "100.00", by_card("30.00"))


def test_a_declined_deposit_capture_holds_the_order_and_keeps_the_authorization() -> None:
    """A declined deposit capture puts a PAYMENT_DECLINED hold; the authorization stays
    open for an invoice to capture."""
    world = new_world()
    world.sim.script("capture", "decline")
    order = place_deposit(world, "100.00", by_card("30.00"))
    assert order.has_hold(HoldCode.PAYMENT_DECLINED)
    assert order.captured.is_zero()
    assert order.authorized == usd("30.00")


@pytest.mark.parametrize("store", ["memory", "sqlite"])
@pytest.mark.parametrize("answer", ["pending", "timeout_before"])
def test_a_deposit_capture_declined_by_its_notification_holds_the_order(
    store: str, answer: str, tmp_path: Path
) -> None:
    """D1, N1, N2: a deposit capture answered pending (or in doubt) and declined by its
    notification holds the order PAYMENT_DECLINED, as a live decline does; the
    authorization stays open for an invoice to capture (the order was approved, the
    deposit never taken and nobody told)."""
    world = _partial_office(store, tmp_path, deposits())
    world.sim.script("capture", answer)
    order = place_deposit(world, "100.00", by_card("30.00"))
    assert order.holds == ()
    (key,) = [r.key for r in world.bo.operations("SO-1") if r.kind.value == "capture"]
    declined = Notification(notification_id="N-1", event=NotificationEvent.OUTCOME, key=key,
                            success=False, at=world.clock.now())  # fmt: skip
    world.bo.handle_notification(declined)
    order = world.bo.order("SO-1")
    assert [h.code for h in order.holds] == [HoldCode.PAYMENT_DECLINED]
    assert order.captured.is_zero()
    assert order.authorized == usd("30.00")
    assert world.bo.order("SO-1") == order
    assert world.bo.recover().completions == ()  # a notification never finishes a placement
    assert ledger(world.sim, "capture") == []


def _partial_office(store: str, tmp_path: Path, settings: Settings) -> World:
    """A back office over a processor that approves authorizations for less (N4), on the
    memory or the SQLite store."""
    clock = ManualClock(START)
    sim = PartialApprovals(clock=clock)
    if store == "sqlite":
        bo = BackOffice.sqlite(str(tmp_path / "payments.db"), settings=settings, processor=sim,
                               clock=clock)  # fmt: skip
    else:
        bo = BackOffice.in_memory(settings=settings, processor=sim, clock=clock)
    return World(clock=clock, sim=sim, bo=bo)


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_a_deposit_card_approved_for_less_holds_the_order_out_of_balance(
    store: str, tmp_path: Path
) -> None:
    """D1, N4, S1: a card deposit approved for less is captured for what was approved, once,
    and the order is short of the deposit it asked: OUT_OF_BALANCE, as a plain order is
    (the deposit shrank with the line, and the order stayed approved)."""
    world = _partial_office(store, tmp_path, deposits())
    sim = world.sim
    assert isinstance(sim, PartialApprovals)
    sim.limit = usd("20.00")
    cash_and_card = (in_cash("10.00"), by_card("30.00"))
    order = place_deposit(world, "100.00", *cash_and_card)
    card_line = order.lines[1]
    assert (card_line.amount, card_line.captured) == (usd("20.00"), usd("20.00"))
    assert [h.code for h in order.holds] == [HoldCode.OUT_OF_BALANCE]
    assert [e.amount for e in ledger(world.sim, "capture")] == [usd("20.00")]
    assert world.bo.order("SO-1") == order  # as stored
    # D2: cancelling gives back the deposit taken, the card's 20.00 by linked refund.
    assert world.bo.cancel_order("SO-1", AGENT).order.refunded == usd("30.00")
    assert [e.amount for e in ledger(world.sim, "refund")] == [usd("20.00")]


def test_a_deposit_card_approved_for_a_little_less_stays_within_the_threshold() -> None:
    """S1: a shortfall within the underpaid threshold holds nothing."""
    settings = deposits()
    settings = settings.with_policies(
        completion=attrs.evolve(settings.completion, underpaid_threshold_percent=Decimal(5))
    )
    world = _partial_office("memory", Path(), settings)
    assert isinstance(world.sim, PartialApprovals)
    world.sim.limit = usd("26.00")
    order = place_deposit(world, "100.00", by_card("30.00"))
    assert order.approved
    assert order.captured == usd("26.00")


def test_a_deposit_capture_in_doubt_is_settled_by_recover() -> None:
    """A deposit capture whose answer was lost is in doubt; recover() records it as the
    deposit capture it was, with no invoice (O2)."""
    world = new_world()
    world.sim.script("capture", "timeout_after_success")
    order = place_deposit(world, "100.00", by_card("30.00"))
    assert order.captured.is_zero()
    report = world.bo.recover()
    assert report.still_in_doubt == ()
    order = world.bo.order("SO-1")
    (capture,) = order.lines[0].captures
    assert capture.invoice_id is None
    assert capture.amount == usd("30.00")
    assert len(ledger(world.sim, "capture")) == 1
    assert_journal_balances(world)


# -- I1: invoices use the deposit ---------------------------------------------------------
def test_an_invoice_within_the_deposit_calls_no_processor() -> None:
    """An invoice the deposit covers uses it: no capture, no new voucher."""
    world = new_world()
    place_deposit(world, "100.00", by_card("30.00"))
    before = world.sim.ledger()
    result = world.bo.invoice("SO-1", "INV-1", usd("25.00"))
    assert world.sim.ledger() == before
    assert result.uncovered.is_zero()
    (use,) = result.captures
    assert (use.line_id, use.invoice_id, use.amount) == ("L1", "INV-1", usd("25.00"))
    assert use.capture_id == "SO-1/use_deposit:INV-1:L1#1"
    assert len(world.bo.journal("SO-1")) == 1
    assert_journal_balances(world)


def test_invoices_use_the_deposit_first_then_cards_without_capturing_it_again() -> None:
    """I1: the deposit covers the first invoice before any card line is captured, and no
    invoice captures the deposit's card again."""
    world = new_world()
    place_deposit(world, "100.00", by_card("30.00"))
    add_card_for_rest(world, "70.00")
    first = world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    assert sorted((c.line_id, c.amount) for c in first.captures) == [
        ("L1", usd("30.00")),
        ("L2", usd("20.00")),
    ]
    second = world.bo.invoice("SO-1", "INV-2", usd("50.00"))
    assert [(c.line_id, c.amount) for c in second.captures] == [("L2", usd("50.00"))]
    captures = ledger(world.sim, "capture")
    assert [e.amount for e in captures] == [usd("30.00"), usd("20.00"), usd("50.00")]
    assert sum(1 for e in captures if "deposit:" in e.key) == 1
    order = world.bo.order("SO-1")
    assert order.status is OrderStatus.INVOICED
    assert order.received == usd("100.00")
    assert_journal_balances(world)


def test_an_invoice_retried_does_not_use_the_deposit_twice() -> None:
    """I4: the same invoice again finds the deposit use already made and adds nothing."""
    world = new_world()
    place_deposit(world, "100.00", by_card("30.00"))
    world.bo.invoice("SO-1", "INV-1", usd("20.00"))
    again = world.bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert [c.amount for c in again.captures] == [usd("20.00")]
    assert world.bo.order("SO-1").lines[0].deposit_available == usd("10.00")


def test_prepayments_come_before_the_deposit() -> None:
    """I1: a prepayment added later is applied before the deposit."""
    world = new_world()
    place_deposit(world, "100.00", by_card("30.00"))
    draft = world.bo.begin_completion("SO-1", AGENT)
    assert world.bo.submit(draft.add_prepayment("cash", usd("10.00"))).approved
    result = world.bo.invoice("SO-1", "INV-1", usd("25.00"))
    assert {c.line_id: c.amount for c in result.captures} == {
        "L2": usd("10.00"),
        "L1": usd("15.00"),
    }


def test_a_cash_deposit_is_applied_like_a_prepayment() -> None:
    """A cash deposit covers an invoice without any processor call."""
    world = new_world()
    place_deposit(world, "100.00", in_cash("40.00"))
    result = world.bo.invoice("SO-1", "INV-1", usd("60.00"))
    assert [(c.line_id, c.amount) for c in result.captures] == [("L1", usd("40.00"))]
    assert result.uncovered == usd("20.00")
    assert world.sim.ledger() == ()


# -- R1: refunds rank the deposit capture by age ------------------------------------------
def test_refunds_rank_the_deposit_capture_by_age() -> None:
    """R1: the deposit, captured first, is refunded after newer captures, also when the
    return names the invoice that used it."""
    world = new_world()
    place_deposit(world, "100.00", by_card("30.00"))
    add_card_for_rest(world, "70.00")
    world.clock.advance(days=1)
    world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    deposit_id = "SO-1/deposit:L1:L1.A1#1"
    result = world.bo.refund("SO-1", "RMA-1", usd("80.00"), AGENT, invoices=("INV-1",))
    refunded = {r.capture_id == deposit_id: r.amount for r in result.refunds}
    assert refunded == {False: usd("70.00"), True: usd("10.00")}
    assert result.fallback.is_zero()
    again = world.bo.refund("SO-1", "RMA-2", usd("5.00"), AGENT)
    assert [(r.capture_id, r.amount) for r in again.refunds] == [(deposit_id, usd("5.00"))]
    assert_journal_balances(world)


# -- D2: cancellation ---------------------------------------------------------------------
def test_cancelling_refunds_a_card_deposit_by_linked_refund_less_the_charge() -> None:
    """D2: a 30.00 card deposit on a 100.00 order with a 10 % charge gets 20.00 back on its
    capture; 10.00 is kept; refund vouchers add up to the refund."""
    world = new_world(deposits(charge="10"))
    place_deposit(world, "100.00", by_card("30.00"))
    result = world.bo.cancel_order("SO-1", AGENT)
    assert result.order.status is OrderStatus.CANCELLED
    assert result.refunded == usd("20.00")
    assert result.charged == usd("10.00")
    (refund,) = ledger(world.sim, "refund")
    assert refund.amount == usd("20.00")
    assert refund.key == "SO-1/refund:CANCEL:deposit:L1:L1.A1#1:1#1"
    (capture,) = result.order.lines[0].captures
    assert capture.refunded == usd("20.00")
    refunds = [v for v in world.bo.journal("SO-1") if v.kind is VoucherKind.REFUND]
    assert [v.amount for v in refunds] == [usd("20.00")]
    assert_journal_balances(world)


def test_a_deposit_refund_declined_after_the_cancellation_is_sent_by_cancelling_again() -> None:
    """D2: the card deposit's refund at cancellation was answered pending, then declined:
    the order stays cancelled and holds the whole deposit, so cancelling it again refunds
    what is still due (once: a third cancel is refused)."""
    world = new_world(deposits(charge="10"))
    place_deposit(world, "100.00", by_card("30.00"))
    world.sim.script("refund", "pending")
    assert world.bo.cancel_order("SO-1", AGENT).refunded == usd("20.00")
    for note in world.sim.settle_pending("decline"):
        assert world.bo.handle_notification(note).undone
    order = world.bo.order("SO-1")
    assert (order.cancelled, order.received - order.refunded) == (True, usd("30.00"))
    again = world.bo.cancel_order("SO-1", AGENT)
    assert (again.refunded, again.charged) == (usd("20.00"), usd("10.00"))
    assert again.order.received - again.order.refunded == usd("10.00")
    assert [r.amount for r in ledger(world.sim, "refund")] == [usd("20.00")]
    with pytest.raises(IllegalTransition):
        world.bo.cancel_order("SO-1", AGENT)
    assert_journal_balances(world)


def test_cancelling_refunds_a_cash_deposit_by_the_fallback_method_less_the_charge() -> None:
    """D2: a cash deposit goes back by the fallback method, less the charge."""
    world = new_world(deposits(charge="5"))
    place_deposit(world, "200.00", in_cash("50.00"))
    result = world.bo.cancel_order("SO-1", AGENT)
    assert result.refunded == usd("40.00")
    assert result.charged == usd("10.00")
    (line,) = result.order.lines
    assert [(r.amount, r.method) for r in line.refunds] == [(usd("40.00"), "customer_account")]
    assert world.sim.ledger() == ()
    assert_journal_balances(world)


def test_the_charge_is_kept_from_the_deposit_in_line_order() -> None:
    """D2: cash 10.00 then card 20.00, charge 15.00: the cash is kept whole, the card
    gets 15.00 back."""
    world = new_world(deposits(charge="15"))
    place_deposit(world, "100.00", in_cash("10.00"), by_card("20.00"))
    result = world.bo.cancel_order("SO-1", AGENT)
    assert result.charged == usd("15.00")
    assert result.refunded == usd("15.00")
    assert [e.amount for e in ledger(world.sim, "refund")] == [usd("15.00")]
    assert result.order.line("L1").refunds == ()
    assert_journal_balances(world)


def test_a_charge_beyond_the_deposit_keeps_it_whole() -> None:
    """D2: the charge never exceeds the deposit; nothing goes back, no processor call."""
    world = new_world(deposits(charge="50"))
    place_deposit(world, "100.00", by_card("30.00"))
    result = world.bo.cancel_order("SO-1", AGENT)
    assert result.charged == usd("30.00")
    assert result.refunded == usd("0.00")
    assert ledger(world.sim, "refund") == []
    assert result.order.cancelled


def test_without_a_charge_the_whole_deposit_goes_back() -> None:
    """X1: with the default policy (0 %), the deposit is refunded whole."""
    world = new_world()
    place_deposit(world, "100.00", by_card("30.00"))
    result = world.bo.cancel_order("SO-1", AGENT)
    assert result.refunded == usd("30.00")
    assert result.charged == usd("0.00")


def test_a_deposit_partly_paid_back_to_another_card_keeps_the_charge() -> None:
    """D2, V3: 10.00 of a 30.00 deposit already paid to another card (R4) counts as given
    back; cancelling keeps the 10 % charge and refunds the other 10.00, never more than
    the order still holds."""
    world = new_world(deposits(charge="10"))
    place_deposit(world, "100.00", by_card("30.00"))
    payer = Actor.call_center("agent-2", permissions=frozenset({"alternate_payment"}))
    world.bo.refund_to_card("SO-1", "RMA-1", card("tok_9", last4="9999"), usd("10.00"), payer)
    result = world.bo.cancel_order("SO-1", AGENT)
    assert result.order.cancelled
    assert result.charged == usd("10.00")
    assert result.refunded == usd("10.00")
    assert result.order.refunded == usd("20.00")
    assert_journal_balances(world)


@pytest.mark.parametrize("deposit", ["card", "cash"])
def test_the_charge_is_kept_when_a_refund_not_linked_to_the_deposit_came_first(
    deposit: str,
) -> None:
    """D2, R3, R4: 30.00 of deposit and 70.00 of cash taken in completion; a return gave
    10.00 back first, to another card or by the fallback method (out of the cash: the
    deposit is still held whole). Cancelling keeps the 10.00 charge: 20.00 of the deposit
    and the 60.00 left of the cash go back, 90.00 in all. (The cash went back whole:
    100.00 of 100.00, the charge reported but given back too.)"""
    world = new_world(deposits(charge="10"))
    place_deposit(world, "100.00", by_card("30.00") if deposit == "card" else in_cash("30.00"))
    draft = world.bo.begin_completion("SO-1", AGENT).add_prepayment("cash", usd("70.00"))
    assert world.bo.submit(draft).approved
    payer = Actor.call_center("agent-2", permissions=frozenset({"alternate_payment"}))
    if deposit == "card":
        world.bo.refund_to_card("SO-1", "RMA-1", card("tok_9", last4="9999"), usd("10.00"),
                                payer)  # fmt: skip
    else:
        assert world.bo.refund("SO-1", "RMA-1", usd("10.00"), AGENT).fallback == usd("10.00")
    result = world.bo.cancel_order("SO-1", AGENT)
    order = result.order
    assert order.cancelled
    assert (result.charged, result.refunded) == (usd("10.00"), usd("80.00"))
    assert [r.amount for r in order.line("L2").refunds] == [usd("60.00")]
    assert (order.received, order.refunded) == (usd("100.00"), usd("90.00"))
    assert_journal_balances(world)


def test_a_pending_deposit_refund_counts_when_the_other_prepayments_go_back() -> None:
    """X1, N1, V3: the card deposit's refund at cancellation answers pending; it counts as
    made, so the cash taken in completion gets back only what the order still holds
    (100 received - 10 paid to another card - 30 pending = 60), and the order is cancelled.
    (The cash was capped without the pending refund: V3 refused the cancellation after the
    deposit's refund had gone to the processor, and the order stayed open.)"""
    world = new_world()
    place_deposit(world, "100.00", by_card("30.00"))
    draft = world.bo.begin_completion("SO-1", AGENT).add_prepayment("cash", usd("70.00"))
    assert world.bo.submit(draft).approved
    payer = Actor.call_center("agent-2", permissions=frozenset({"alternate_payment"}))
    world.bo.refund_to_card("SO-1", "RMA-1", card("tok_9", last4="9999"), usd("10.00"), payer)
    world.sim.script("refund", "pending")
    result = world.bo.cancel_order("SO-1", AGENT)
    order = result.order
    assert order.cancelled
    assert [r.amount for r in order.line("L2").refunds] == [usd("60.00")]
    assert (order.refunded, order.refunding) == (usd("70.00"), usd("30.00"))
    assert order.received == order.refunded + order.refunding
    assert_journal_balances(world)


def test_cancelling_voids_other_authorizations_and_refunds_the_deposit() -> None:
    """X1, D2: a card added in completion is voided, the deposit refunded."""
    world = new_world(deposits(charge="10"))
    place_deposit(world, "100.00", by_card("30.00"))
    add_card_for_rest(world, "70.00")
    result = world.bo.cancel_order("SO-1", AGENT)
    assert result.voided == ("L2.A1",)
    assert result.refunded == usd("20.00")
    assert world.sim.authorization_open(result.order.line("L2").authorizations[0].token.value) == (
        usd("0.00")
    )


def test_a_declined_deposit_refund_leaves_the_order_open_and_a_retry_finishes() -> None:
    """A declined deposit refund is reported and the order stays open; cancelling again
    refunds it once and cancels."""
    world = new_world(deposits(charge="10"))
    place_deposit(world, "100.00", by_card("30.00"))
    world.sim.script("refund", "decline")
    first = world.bo.cancel_order("SO-1", AGENT)
    assert first.failed == ("SO-1/deposit:L1:L1.A1#1",)
    assert not first.order.cancelled
    assert first.order.refunded.is_zero()
    second = world.bo.cancel_order("SO-1", AGENT)
    assert second.order.cancelled
    assert second.refunded == usd("20.00")
    assert [e.amount for e in ledger(world.sim, "refund")] == [usd("20.00")]
    assert_journal_balances(world)


def test_a_deposit_refund_in_doubt_is_finished_without_refunding_twice() -> None:
    """A deposit refund whose answer was lost is in doubt; after recover() cancelling again
    refunds nothing more and cancels (O2, O4)."""
    world = new_world(deposits(charge="10"))
    place_deposit(world, "100.00", by_card("30.00"))
    world.sim.script("refund", "timeout_after_success")
    first = world.bo.cancel_order("SO-1", AGENT)
    assert first.in_doubt
    assert not first.order.cancelled
    world.bo.recover()
    second = world.bo.cancel_order("SO-1", AGENT)
    assert second.order.cancelled
    assert second.charged == usd("10.00")
    assert [e.amount for e in ledger(world.sim, "refund")] == [usd("20.00")]
    assert second.order.refunded == usd("20.00")
    assert_journal_balances(world)


def test_a_deposit_captured_under_another_account_is_not_refunded_elsewhere() -> None:
    """I5: cancelling through a processor of another account refuses the deposit's linked
    refund before any call, and the order stays as it was."""
    clock = ManualClock(START)
    store = InMemoryStore(keeps_journal=True)
    first = SimulatedProcessor(clock=clock)
    bo = BackOffice(store=store, journal=store.journal, processor=first, clock=clock)
    bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER, total=usd("100.00"),
                   payments=[by_card("30.00")], deposit=True)  # fmt: skip
    other = SimulatedProcessor(clock=clock, service_account="sa-2")
    moved = BackOffice(store=store, journal=store.journal, processor=other, clock=clock)
    before = moved.order("SO-1")
    with pytest.raises(ConnectorMismatch):
        moved.cancel_order("SO-1", AGENT)
    assert other.calls == 0
    assert moved.order("SO-1") == before


def test_once_invoiced_the_deposit_is_left_for_a_manual_refund() -> None:
    """X1: once an invoice exists, cancelling leaves the deposit alone."""
    world = new_world(deposits(charge="10"))
    place_deposit(world, "100.00", by_card("30.00"))
    world.bo.invoice("SO-1", "INV-1", usd("10.00"))
    result = world.bo.cancel_order("SO-1", AGENT)
    assert result.manual_refund_needed
    assert result.order.refunded.is_zero()
    assert ledger(world.sim, "refund") == []


# -- keys, storage, settings --------------------------------------------------------------
def test_deposit_keys_are_their_own_and_escape_ids() -> None:
    """O4, E1: a deposit capture and a deposit use have keys of their own."""
    assert keys.deposit_capture_step("L1", "L1.A1") == "deposit:L1:L1.A1"
    assert keys.deposit_capture_step("L:1", "A/1") == "deposit:L#c1:A#s1"
    assert keys.deposit_use_key("SO-1", "INV-1", "L1", 2) == "SO-1/use_deposit:INV-1:L1#2"
    assert keys.capture_step("INV-1", "L1", "L1.A1") == "capture:INV-1:L1:L1.A1"


def test_a_deposit_order_reads_back_through_the_codec() -> None:
    """Deposit lines, deposit captures and their uses survive the codec unchanged."""
    world = new_world()
    place_deposit(world, "100.00", by_card("30.00"))
    world.bo.invoice("SO-1", "INV-1", usd("10.00"))
    order = world.bo.order("SO-1")
    assert loads(dumps(order), Order) == order
    assert loads(dumps(order.lines[0].applications[0]), Capture).invoice_id == "INV-1"


def test_a_deposit_order_on_sqlite(tmp_path: Path) -> None:
    """On SQLite the deposit capture's operation is logged and read back, and an invoice
    then uses the deposit."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    path = tmp_path / "payments.db"
    bo = BackOffice.sqlite(str(path), processor=sim, clock=clock)
    bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER, total=usd("50.00"),
                   payments=[by_card("20.00")], deposit=True)  # fmt: skip
    with bo.ports.store.unit_of_work() as uow:
        kinds = Counter(op.kind.value for op in uow.operations.for_order("SO-1"))
    assert kinds == Counter({"authorize": 1, "capture": 1})
    again = BackOffice.sqlite(str(path), processor=sim, clock=clock)
    assert again.invoice("SO-1", "INV-1", usd("20.00")).uncovered.is_zero()
    assert len([e for e in sim.ledger() if e.kind == "capture"]) == 1


def test_a_deposit_order_stored_before_it_kept_its_deposit_reads_back(tmp_path: Path) -> None:
    """D1, S1: an order row written before the order kept the deposit it asked reads with
    none; its active deposit lines' amounts are its deposit, as they were."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    path = tmp_path / "payments.db"
    bo = BackOffice.sqlite(str(path), processor=sim, clock=clock)
    placed = bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER,
                            total=usd("100.00"), payments=[in_cash("10.00"), by_card("20.00")],
                            deposit=True)  # fmt: skip
    assert placed.deposit_asked == usd("30.00")
    with closing(sqlite3.connect(path)) as db, db:
        (body,) = db.execute("SELECT body FROM ocop_orders WHERE order_id = 'SO-1'").fetchone()
        old = json.loads(body)
        del old["deposit_asked"]
        db.execute("UPDATE ocop_orders SET body = ? WHERE order_id = 'SO-1'", [json.dumps(old)])
    again = BackOffice.sqlite(str(path), processor=sim, clock=clock)
    order = again.order("SO-1")
    assert order.deposit_asked is None
    assert order == attrs.evolve(placed, deposit_asked=None)
    assert not out_of_balance(order, again.settings)  # short of the total, not the deposit
    asking_more = (order.lines[0], order.lines[1].with_amount(usd("50.00")))
    assert out_of_balance(attrs.evolve(order, lines=asking_more), again.settings)
    assert again.invoice("SO-1", "INV-1", usd("30.00")).uncovered.is_zero()


def test_deposit_policy_percentages_are_validated() -> None:
    """Deposit percentages are Decimals from 0 to 100; defaults are 0 (no default, no
    charge)."""
    assert DepositPolicy() == DepositPolicy(default_percent=Decimal(0),
                                            cancellation_charge_percent=Decimal(0))  # fmt: skip
    assert Settings.default().deposits == DepositPolicy()
    with pytest.raises(InvalidSettings):
        DepositPolicy(default_percent=Decimal(101))
    with pytest.raises(InvalidSettings):
        DepositPolicy(cancellation_charge_percent=Decimal(-1))
