"""The owner's acceptance tests of the design's Public API (contract). The channel side,
the back office and fulfilment and returns, as the contract walks through them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

import ocop
import ocop.ports.processor
from ocop import (
    Actor,
    CardPayment,
    Channel,
    CompletionPolicy,
    Customer,
    HoldCode,
    LineStatus,
    Money,
    OcopError,
    OrderStatus,
    PaymentsType,
    Prepayment,
    SavedCardPayment,
    Settings,
)

from .support import AGENT, CARD, OTHER, PLAIN, START, card_order, usd, world


# -- channel side ------------------------------------------------------------------------
def test_place_order_reads_back_as_the_contract_says() -> None:
    """An e-commerce order paid by card reads back approved, COMMERCE, its line a card
    line authorized for the total."""
    bo, _, _ = world()
    placed = bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                            total=usd("100.00"),
                            payments=[CardPayment(CARD, usd("100.00"))])  # fmt: skip
    o = bo.order("SO-1")
    assert o == placed
    assert (o.status, o.payments_type, o.total) == (
        OrderStatus.APPROVED, PaymentsType.COMMERCE, usd("100.00"))  # fmt: skip
    assert (o.holds, o.invoices) == ((), ())
    assert (o.received, o.captured, o.refunded, o.balance_due) == (
        usd("0.00"), usd("0.00"), usd("0.00"), usd("0.00"))  # fmt: skip
    line = o.lines[0]
    assert (line.line_id, line.method, line.status, line.amount) == (
        "L1", "card", LineStatus.AUTHORIZED, usd("100.00"))  # fmt: skip
    assert (line.authorized, line.captured, line.refunded) == (
        usd("100.00"), usd("0.00"), usd("0.00"))  # fmt: skip
    assert line.card is not None
    assert line.card.last4 == "1111"


def test_saved_instruments_and_prepayments_at_placement() -> None:
    """``save_instrument(customer, card, consent=True).instrument_id`` is listed by
    ``saved_instruments`` and pays with ``SavedCardPayment(id, cvv=, amount=)``, next to a
    ``Prepayment("cash", amount=..., check_number=None)``."""
    bo, _, _ = world()
    customer = Customer.named("C-1")
    instrument = bo.save_instrument(customer, CARD, consent=True)
    assert [i.instrument_id for i in bo.saved_instruments(customer)] == [instrument.instrument_id]
    o = bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=customer,
                       total=usd("100.00"),
                       payments=[SavedCardPayment(instrument.instrument_id, cvv="123",
                                                  amount=usd("70.00")),
                                 Prepayment("cash", amount=usd("30.00"), check_number=None)],
                       )  # fmt: skip
    assert [(line.method, line.amount) for line in o.lines] == [
        ("card", usd("70.00")), ("cash", usd("30.00"))]  # fmt: skip
    assert o.received == usd("30.00")
    assert o.status is OrderStatus.APPROVED
    with pytest.raises(OcopError):
        bo.save_instrument(Customer.guest(), CARD, consent=True)


def test_a_call_center_order_waits_for_completion_then_is_approved() -> None:
    """S3: a call center order is placed pending completion; its draft's ``.lines`` have
    ``.line_id`` and ``.balance_due``; submit authorizes and approves."""
    bo, sim, _ = world()
    o = bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=Customer.named("C-1"),
                       total=usd("100.00"), payments=[CardPayment(CARD, usd("100.00"))],
                       created_by=AGENT)  # fmt: skip
    assert o.status is OrderStatus.PENDING_COMPLETION
    assert o.payments_type is PaymentsType.CALL_CENTER
    draft = bo.begin_completion("SO-1", AGENT)
    assert [line.line_id for line in draft.lines] == ["L1"]
    assert draft.balance_due == usd("0.00")
    result = bo.submit(draft)
    assert (result.approved, result.holds, result.in_doubt) == (True, (), ())
    assert result.order.status is OrderStatus.APPROVED
    assert result.order == bo.order("SO-1")
    assert [e.kind for e in sim.ledger()] == ["authorize"]


def test_the_draft_edits_chain_as_the_contract_shows() -> None:
    """add_card, add_saved_card, add_prepayment, change_amount, replace_card and remove
    chain into one draft; submit applies it."""
    bo, _, _ = world()
    customer = Customer.named("C-1")
    saved = bo.save_instrument(customer, OTHER, consent=True)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=customer, total=usd("100.00"),
                   payments=[CardPayment(CARD, usd("100.00"))])  # fmt: skip
    draft = bo.begin_completion("SO-1", AGENT)
    draft = (draft.add_card(CARD, usd("10.00"))
                  .add_saved_card(saved.instrument_id, cvv="123", amount=usd("10.00"))
                  .add_prepayment("check", usd("10.00"), check_number="1001")
                  .change_amount("L1", usd("70.00")).replace_card("L2", OTHER)
                  .remove("L3"))  # fmt: skip
    assert [line.line_id for line in draft.lines] == ["L1", "L2", "L4"]
    assert draft.balance_due == usd("10.00")
    result = bo.submit(draft)
    assert result.holds[0].code is HoldCode.OUT_OF_BALANCE
    assert not result.approved
    o = result.order
    assert [(x.line_id, x.status) for x in o.lines if x.status is not LineStatus.VOIDED] == [
        ("L1", LineStatus.AUTHORIZED), ("L2", LineStatus.AUTHORIZED),
        ("L4", LineStatus.PAID)]  # fmt: skip


# -- back office -------------------------------------------------------------------------
def test_holds_release_only_when_their_cause_is_gone_or_overridden() -> None:
    """S4: an OUT_OF_BALANCE hold stays while out of balance for a plain agent; the
    override permission releases it; every hold records who/when/why, every release who
    and when."""
    bo, _, clock = world()
    card_order(bo)
    result = bo.submit(bo.begin_completion("SO-1", PLAIN).change_amount("L1", usd("90.00")))
    assert [h.code for h in result.holds] == [HoldCode.OUT_OF_BALANCE]
    with pytest.raises(OcopError):
        bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, PLAIN)
    assert bo.order("SO-1").holds[0].code is HoldCode.OUT_OF_BALANCE
    clock.advance(days=1)
    released = bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, AGENT)
    assert released.holds == ()
    assert released.status is OrderStatus.APPROVED
    (record,) = released.released_holds
    assert (record.released_by, record.released_at) == ("u1", START + timedelta(days=1))
    assert record.hold.placed_by == "u3"
    assert record.hold.placed_at == START


def test_a_hold_released_once_its_cause_is_gone() -> None:
    """S4: after ``change_total`` brings the order into balance, a plain agent releases."""
    bo, _, _ = world()
    card_order(bo)
    bo.submit(bo.begin_completion("SO-1", PLAIN).change_amount("L1", usd("90.00")))
    bo.change_total("SO-1", usd("90.00"), PLAIN)
    o = bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, PLAIN)
    assert HoldCode.OUT_OF_BALANCE not in [h.code for h in o.holds]


def test_manual_holds_carry_reason_and_note() -> None:
    """S4: ``place_hold(..., HoldCode.MANUAL, actor, reason="FRAUD", note=...)``; the
    default reasons are FRAUD, CUSTOMER_REQUEST, OTHER; a manual hold is released by
    call center users."""
    assert set(Settings.default().hold_reasons) >= {"FRAUD", "CUSTOMER_REQUEST", "OTHER"}
    bo, _, _ = world()
    card_order(bo)
    o = bo.place_hold("SO-1", HoldCode.MANUAL, PLAIN, reason="FRAUD", note="called twice")
    (hold,) = o.holds
    assert (hold.code, hold.reason_code, hold.note, hold.placed_by) == (
        HoldCode.MANUAL, "FRAUD", "called twice", "u3")  # fmt: skip
    assert bo.orders(on_hold=True) == ("SO-1",)
    with pytest.raises(ocop.PermissionDenied):
        bo.place_hold("SO-1", HoldCode.MANUAL, Actor.user("u2"), reason="OTHER")
    with pytest.raises(OcopError):
        bo.place_hold("SO-1", HoldCode.MANUAL, PLAIN, reason="NOT-A-REASON")
    with pytest.raises(ocop.PermissionDenied):
        bo.release_hold("SO-1", HoldCode.MANUAL, Actor.user("u2"))
    assert bo.release_hold("SO-1", HoldCode.MANUAL, PLAIN).holds == ()


def test_a_check_hold_lapses_by_itself() -> None:
    """S4: a CHECK hold (threshold and days from ``with_policies``) lapses after its days;
    ``orders(on_hold=True)`` no longer counts it."""
    settings = Settings.default().with_policies(
        completion=CompletionPolicy(check_hold_threshold=usd("50.00"), check_hold_days=3)
    )
    bo, _, clock = world(settings)
    bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=Customer.named("C-1"),
                   total=usd("100.00"), created_by=AGENT)  # fmt: skip
    draft = bo.begin_completion("SO-1", AGENT).add_prepayment(
        "check", usd("100.00"), check_number="1001"
    )
    result = bo.submit(draft)
    assert [h.code for h in result.holds] == [HoldCode.CHECK]
    assert bo.orders(on_hold=True) == ("SO-1",)
    clock.advance(days=3)
    assert bo.orders(on_hold=True) == ()
    assert bo.order("SO-1").holds == ()


def test_cancel_voids_what_is_uncaptured() -> None:
    """X1: ``cancel_order(...).order`` is the order as stored, cancelled, its
    authorization voided."""
    bo, sim, _ = world()
    card_order(bo)
    result = bo.cancel_order("SO-1", AGENT)
    assert result.order == bo.order("SO-1")
    assert result.order.status is OrderStatus.CANCELLED
    assert result.in_doubt == ()
    assert [e.kind for e in sim.ledger()] == ["authorize", "void"]
    assert bo.orders(status=OrderStatus.CANCELLED) == ("SO-1",)


def test_cancel_after_an_invoice_leaves_money_alone_and_says_so() -> None:
    """X1: once an invoice exists, captures and open authorizations are left alone and
    the caller is told a manual refund is needed."""
    bo, sim, _ = world()
    card_order(bo)
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    result = bo.cancel_order("SO-1", AGENT)
    assert result.manual_refund_needed
    assert result.order.status is OrderStatus.CANCELLED
    assert [e.kind for e in sim.ledger()] == ["authorize", "capture"]


# -- fulfilment and returns --------------------------------------------------------------
def test_invoices_pickup_refunds_and_the_journal() -> None:
    """The contract's walk-through: invoice 60, pick up 40, refund 70 naming INV-2, an
    unlinked refund of 10; captures, refunds, fallback and vouchers read as documented."""
    bo, _, _ = world()
    card_order(bo)
    inv = bo.invoice("SO-1", "INV-1", usd("60.00"))
    assert (inv.in_doubt, inv.failed) == ((), ())
    (capture,) = inv.captures
    assert (capture.line_id, capture.invoice_id, capture.amount) == (
        "L1", "INV-1", usd("60.00"))  # fmt: skip
    assert capture.capture_id
    assert bo.order("SO-1").status is OrderStatus.PARTIALLY_INVOICED
    picked = bo.pickup("SO-1", "INV-2", usd("40.00"))
    assert [c.amount for c in picked.captures] == [usd("40.00")]
    o = bo.order("SO-1")
    assert o.status is OrderStatus.INVOICED
    assert [i.invoice_id for i in o.invoices] == ["INV-1", "INV-2"]
    assert (o.captured, o.received) == (usd("100.00"), usd("100.00"))
    ret = bo.refund("SO-1", "RMA-1", usd("70.00"), AGENT, invoices=("INV-2",))
    assert [(r.capture_id, r.amount) for r in ret.refunds] == [
        (picked.captures[0].capture_id, usd("40.00")),
        (capture.capture_id, usd("30.00"))]  # fmt: skip
    assert ret.fallback == usd("0.00")
    assert (ret.failed, ret.in_doubt) == ((), ())
    unlinked = bo.refund_to_card("SO-1", "RMA-2", OTHER, usd("10.00"), AGENT)
    assert unlinked.in_doubt == ()
    assert bo.order("SO-1").refunded == usd("80.00")
    vouchers = bo.journal("SO-1")
    assert [(v.kind, v.amount) for v in vouchers] == [
        ("payment", usd("60.00")), ("payment", usd("40.00")),
        ("refund", usd("40.00")), ("refund", usd("30.00")), ("refund", usd("10.00"))]  # fmt: skip
    journals = Settings.default().journals
    assert {v.journal_name for v in vouchers if v.kind == "payment"} == {
        journals.unified_payment}  # fmt: skip
    assert {v.journal_name for v in vouchers if v.kind == "refund"} == {
        journals.unified_refund}  # fmt: skip
    assert len({v.voucher_id for v in vouchers}) == 5
    assert {v.order_id for v in vouchers} == {"SO-1"}
    for voucher in vouchers:
        assert len(voucher.lines) >= 2
        for line in voucher.lines:
            assert isinstance(line.account, str)
            assert isinstance(line.debit, Money)
            assert isinstance(line.credit, Money)
            assert Money.zero("USD") in (line.debit, line.credit)
        debits = sum((x.debit.amount for x in voucher.lines), Decimal(0))
        credits = sum((x.credit.amount for x in voucher.lines), Decimal(0))
        assert debits == credits == voucher.amount.amount


def test_refund_beyond_captures_goes_to_the_fallback() -> None:
    """R3: what linked refunds cannot cover is ``.fallback`` (a Money); more than received
    is refused whole."""
    bo, _, _ = world()
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                   total=usd("100.00"), payments=[CardPayment(CARD, usd("70.00")),
                                                  Prepayment("cash", usd("30.00"))])  # fmt: skip
    bo.invoice("SO-1", "INV-1", usd("100.00"))
    ret = bo.refund("SO-1", "RMA-1", usd("90.00"), AGENT)
    assert [r.amount for r in ret.refunds] == [usd("70.00")]
    assert ret.fallback == usd("20.00")
    with pytest.raises(ocop.RefundExceedsReceived):
        bo.refund("SO-1", "RMA-2", usd("20.00"), AGENT)


def test_a_declined_capture_is_failed_with_its_reason() -> None:
    """Each ``.failed`` entry carries the processor's ``.reason``."""
    bo, sim, _ = world()
    card_order(bo)
    sim.script("capture", "decline")
    inv = bo.invoice("SO-1", "INV-1", usd("60.00"))
    assert inv.captures == ()
    assert len(inv.failed) == 1
    assert inv.failed[0].reason
    assert isinstance(inv.in_doubt, tuple)
    ops = bo.operations("SO-1")
    assert ops[-1].reason == inv.failed[0].reason


def test_a_declined_refund_is_failed_with_its_reason() -> None:
    """A declined linked refund is a ``.failed`` entry with a ``.reason``, a tuple."""
    bo, sim, _ = world()
    card_order(bo)
    bo.invoice("SO-1", "INV-1", usd("100.00"))
    sim.script("refund", "decline")
    ret = bo.refund("SO-1", "RMA-1", usd("10.00"), AGENT)
    assert isinstance(ret.failed, tuple)
    assert len(ret.failed) == 1
    assert ret.failed[0].reason


def test_operations_log_records_each_call() -> None:
    """``bo.operations("SO-1")``: OperationRecords with key, kind, amount, outcome,
    reason, at."""
    bo, _, clock = world()
    card_order(bo)
    clock.advance(days=1)
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    ops = bo.operations("SO-1")
    assert [op.kind for op in ops] == ["authorize", "capture"]
    assert [op.amount for op in ops] == [usd("100.00"), usd("60.00")]
    assert [op.outcome for op in ops] == ["approved", "approved"]
    assert [op.at for op in ops] == [START, START + timedelta(days=1)]
    assert all(isinstance(op.key, str) and op.key for op in ops)
    assert all(isinstance(op.reason, str) for op in ops)
    with pytest.raises(OcopError):
        bo.operations("SO-404")


def test_every_results_in_doubt_is_a_tuple_of_operation_keys() -> None:
    """Submit, cancel, refund and refund-to-card left in doubt each name the operation key
    in ``.in_doubt``: a key ``bo.operations`` shows unknown and ``recover()`` resolves."""
    bo, sim, _ = world()
    card_order(bo, "SO-1")
    card_order(bo, "SO-2")
    card_order(bo, "SO-3")
    bo.place_order("SO-4", channel=Channel.CALL_CENTER, customer=Customer.named("C-1"),
                   total=usd("100.00"), payments=[CardPayment(CARD, usd("100.00"))],
                   created_by=AGENT)  # fmt: skip
    bo.invoice("SO-2", "INV-1", usd("100.00"))
    bo.invoice("SO-3", "INV-1", usd("100.00"))
    sim.script("void", "timeout_before")
    sim.script("refund", "timeout_before")
    sim.script("unlinked_refund", "timeout_before")
    sim.script("authorize", "timeout_before")
    in_doubt = {
        "SO-1": bo.cancel_order("SO-1", AGENT).in_doubt,
        "SO-2": bo.refund("SO-2", "RMA-1", usd("10.00"), AGENT).in_doubt,
        "SO-3": bo.refund_to_card("SO-3", "RMA-2", OTHER, usd("10.00"), AGENT).in_doubt,
        "SO-4": bo.submit(bo.begin_completion("SO-4", AGENT)).in_doubt,
    }
    keys: list[str] = []
    for order_id, named in in_doubt.items():
        assert isinstance(named, tuple)
        (key,) = named
        unknown = [op.key for op in bo.operations(order_id) if op.outcome == "unknown"]
        assert unknown == [key]
        keys.append(key)
    assert bo.orders(in_doubt=True) == ("SO-1", "SO-2", "SO-3", "SO-4")
    report = bo.recover()
    assert sorted(report.resolved) == sorted(keys)
    assert report.still_in_doubt == ()
    assert bo.orders(in_doubt=True) == ()
