"""The owner's acceptance tests of the design's Public API (contract). The rules added or
rewritten on 2026-11-30 (F1, S4, I5, A2, N1, N3, D1, D2, O3), and the features disabled
later, driven through the contract only."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest

import ocop
import ocop.ports.processor
from ocop import (
    Actor,
    BackOffice,
    CardPayment,
    Channel,
    Customer,
    HoldCode,
    OcopError,
    OrderStatus,
    Settings,
)
from ocop.adapters.memory import InMemoryStore, ManualClock
from ocop.adapters.simulated import SimulatedProcessor

from .support import AGENT, CARD, PLAIN, START, card_order, usd, world


# -- rules of 2026-11-30, as an outsider drives them -------------------------------------
def test_a_pending_refund_counts_against_its_capture_and_blocks_nothing() -> None:
    """N1: a pending refund counts against its capture (as ``refunding``: decided, the
    settled ``refunded`` excludes it) until settled; another refund on the same order goes
    on meanwhile; a declined settlement gives the amount back."""
    bo, sim, _ = world()
    card_order(bo)
    bo.invoice("SO-1", "INV-1", usd("100.00"))
    sim.script("refund", "pending")
    first = bo.refund("SO-1", "RMA-1", usd("60.00"), AGENT)
    assert first.in_doubt == ()
    assert bo.order("SO-1").refunding == usd("60.00")
    with pytest.raises(ocop.RefundExceedsReceived):
        bo.refund("SO-1", "RMA-2", usd("50.00"), AGENT)
    second = bo.refund("SO-1", "RMA-3", usd("40.00"), AGENT)
    assert [r.amount for r in second.refunds] == [usd("40.00")]
    (note,) = sim.settle_pending("decline")
    assert bo.handle_notification(note).applied
    assert bo.order("SO-1").refunded == usd("40.00")
    assert [e.kind for e in sim.ledger()] == ["authorize", "capture", "refund"]


def test_an_unknown_call_blocks_the_order_until_recovered() -> None:
    """O3 via the contract: after a timeout, money movements on the order raise
    OperationInDoubt until ``recover()``."""
    bo, sim, _ = world()
    card_order(bo)
    sim.script("capture", "timeout_before")
    inv = bo.invoice("SO-1", "INV-1", usd("60.00"))
    assert len(inv.in_doubt) == 1
    with pytest.raises(ocop.OperationInDoubt):
        bo.invoice("SO-1", "INV-2", usd("40.00"))
    report = bo.recover()
    assert report.still_in_doubt == ()
    assert bo.orders(in_doubt=True) == ()
    again = bo.invoice("SO-1", "INV-1", usd("60.00"))
    assert [c.amount for c in again.captures] == [usd("60.00")]


def test_capture_with_another_accounts_processor_is_refused_locally() -> None:
    """I5: an order authorized under sa-1, invoiced through a back office whose processor
    serves another account: refused before any processor call."""
    clock = ManualClock(START)
    store = InMemoryStore(keeps_journal=True)
    sim = SimulatedProcessor(clock=clock)
    bo = BackOffice(store=store, processor=sim, journal=store.journal, clock=clock)
    card_order(bo)
    other = SimulatedProcessor(clock=clock, service_account="sa-2")
    moved = BackOffice(store=store, processor=other, journal=store.journal, clock=clock)
    with pytest.raises(ocop.ConnectorMismatch):
        moved.invoice("SO-1", "INV-1", usd("60.00"))
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    with pytest.raises(ocop.ConnectorMismatch):
        moved.refund("SO-1", "RMA-1", usd("10.00"), AGENT)
    assert (other.calls, other.ledger()) == (0, ())
    assert moved.order("SO-1").captured == usd("60.00")
    assert moved.order("SO-1").refunded == usd("0.00")


def test_a_declined_line_keeps_its_hold_until_it_is_no_longer_active() -> None:
    """S4: PAYMENT_DECLINED stays while the declined line is active (plain agent); once
    the line is replaced by an approved one, it can be released."""
    bo, sim, _ = world()
    bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=Customer.named("C-1"),
                   total=usd("100.00"), payments=[CardPayment(CARD, usd("100.00"))],
                   created_by=AGENT)  # fmt: skip
    sim.script("authorize", "decline")
    result = bo.submit(bo.begin_completion("SO-1", PLAIN))
    assert HoldCode.PAYMENT_DECLINED in [h.code for h in result.holds]
    with pytest.raises(OcopError):
        bo.release_hold("SO-1", HoldCode.PAYMENT_DECLINED, PLAIN)
    overridden = bo.release_hold("SO-1", HoldCode.PAYMENT_DECLINED, AGENT)
    assert HoldCode.PAYMENT_DECLINED not in [h.code for h in overridden.holds]


def test_a_credit_limit_hold_stays_while_beyond_the_limit() -> None:
    """S2/S4: a customer-account line beyond the customer's limit puts CREDIT_LIMIT; a
    plain agent cannot release it while it is beyond."""
    bo, _, _ = world()
    customer = Customer.named("C-9", on_account_limit=usd("50.00"))
    bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=customer,
                   total=usd("100.00"), created_by=AGENT)  # fmt: skip
    result = bo.submit(
        bo.begin_completion("SO-1", PLAIN).add_prepayment("customer_account", usd("100.00"))
    )
    assert HoldCode.CREDIT_LIMIT in [h.code for h in result.holds]
    with pytest.raises(OcopError):
        bo.release_hold("SO-1", HoldCode.CREDIT_LIMIT, PLAIN)


def test_a_deposit_is_captured_at_once_and_refunded_less_the_charge() -> None:
    """D1/D2: a POS customer order with ``deposit=True`` captures its card at once (no
    invoice); cancelling before any invoice refunds it less the cancellation charge, with
    vouchers."""
    settings = Settings.default().with_policies(
        deposits=attrs.evolve(Settings.default().deposits, cancellation_charge_percent=Decimal(10))
    )
    bo, sim, _ = world(settings)
    o = bo.place_order("SO-1", channel=Channel.POS, customer=Customer.named("C-1"),
                       total=usd("100.00"), payments=[CardPayment(CARD, usd("40.00"))],
                       deposit=True)  # fmt: skip
    assert o.captured == usd("40.00")
    assert o.invoices == ()
    assert [e.kind for e in sim.ledger()] == ["authorize", "capture"]
    result = bo.cancel_order("SO-1", AGENT)
    assert result.order.refunded == usd("30.00")
    assert result.charged == usd("10.00")
    assert [e.kind for e in sim.ledger()][-1] == "refund"
    assert sim.ledger()[-1].amount == usd("30.00")
    assert [(v.kind, v.amount) for v in bo.journal("SO-1")] == [
        ("payment", usd("40.00")), ("refund", usd("30.00"))]  # fmt: skip


def test_a_deposit_other_than_the_default_needs_the_override() -> None:
    """D1: with a default percent, another amount needs ``created_by`` an actor with
    ``deposit_override``."""
    settings = Settings.default().with_policies(
        deposits=attrs.evolve(Settings.default().deposits, default_percent=Decimal(20))
    )
    bo, sim, _ = world(settings)
    payments = [CardPayment(CARD, usd("50.00"))]
    with pytest.raises(ocop.PermissionDenied):
        bo.place_order("SO-1", channel=Channel.POS, customer=Customer.named("C-1"),
                       total=usd("100.00"), payments=payments, deposit=True,
                       created_by=AGENT)  # fmt: skip
    assert sim.ledger() == ()
    boss = Actor.call_center("boss", permissions=frozenset({"deposit_override"}))
    o = bo.place_order("SO-1", channel=Channel.POS, customer=Customer.named("C-1"),
                       total=usd("100.00"), payments=payments, deposit=True,
                       created_by=boss)  # fmt: skip
    assert o.captured == usd("50.00")
    default = bo.place_order("SO-2", channel=Channel.POS, customer=Customer.named("C-1"),
                             total=usd("100.00"), payments=[CardPayment(CARD, usd("20.00"))],
                             deposit=True)  # fmt: skip
    assert default.captured == usd("20.00")


def test_declined_renewals_are_not_retried_by_default() -> None:
    """A2: a renewal declined once is not tried again unless ``retry_declined`` is on."""
    bo, sim, clock = world()
    card_order(bo)
    clock.advance(days=12)
    sim.script("authorize", "decline")
    first = bo.renew_authorizations()
    assert "SO-1" in first.declined or "SO-1" in first.held
    assert bo.order("SO-1").holds[0].code is HoldCode.AUTHORIZATION_EXPIRED
    authorizations = [e.kind for e in sim.ledger()].count("authorize")
    second = bo.renew_authorizations()
    assert "SO-1" not in second.renewed
    assert [e.kind for e in sim.ledger()].count("authorize") == authorizations


def test_a_renewal_interrupted_after_its_void_is_finished_by_recover() -> None:
    """A2: the re-authorization timing out after the void: ``recover()`` finishes it,
    re-authorized, never left with neither."""
    bo, sim, clock = world()
    card_order(bo)
    clock.advance(days=12)
    sim.script("authorize", "timeout_before")
    run = bo.renew_authorizations()
    assert run.in_doubt == ("SO-1",)
    report = bo.recover()
    assert report.renewals == ("SO-1",)
    o = bo.order("SO-1")
    assert (o.status, o.holds, o.lines[0].authorized) == (
        OrderStatus.APPROVED, (), usd("100.00"))  # fmt: skip
    assert [e.kind for e in sim.ledger()] == ["authorize", "void", "authorize"]
    assert bo.orders(in_doubt=True) == ()


# -- features disabled later behave as their feature-off rule says (F1: J2, I4, R2) -------
def test_unified_journal_defaults_off_posts_to_each_channels_journals() -> None:
    """J2: with unified defaults off, vouchers go to the channel's own journal names."""
    settings = Settings.default().with_features(unified_journal_defaults=False)
    bo, _, _ = world(settings)
    card_order(bo)
    bo.invoice("SO-1", "INV-1", usd("100.00"))
    bo.refund("SO-1", "RMA-1", usd("10.00"), AGENT)
    journals = settings.journals
    assert [v.journal_name for v in bo.journal("SO-1")] == [
        dict(journals.channel_payment)[Channel.ECOMMERCE.value],
        dict(journals.channel_refund)[Channel.ECOMMERCE.value]]  # fmt: skip
    assert journals.unified_payment not in {v.journal_name for v in bo.journal("SO-1")}


def test_duplicate_protection_off_gives_each_attempt_a_new_key() -> None:
    """I4 off: an invoice sent again after its capture was recovered captures again (with a
    new key), as before the feature; on, it reuses the capture."""
    for protected in (True, False):
        settings = Settings.default().with_features(duplicate_payment_protection=protected)
        bo, sim, _ = world(settings)
        card_order(bo)
        sim.script("capture", "timeout_after_success")
        bo.invoice("SO-1", "INV-1", usd("60.00"))
        bo.recover()
        again = bo.invoice("SO-1", "INV-1", usd("60.00"))
        captures = [e for e in sim.ledger() if e.kind == "capture"]
        assert len(captures) == (1 if protected else 2), protected
        assert len({e.key for e in captures}) == len(captures)
        assert again.captures[0].capture_id == captures[0].key


def test_refunds_over_multiple_captures_off_uses_one_capture() -> None:
    """R2: with the feature off a return's linked refund uses one capture (the newest),
    the rest goes to the fallback."""
    settings = Settings.default().with_features(refunds_over_multiple_captures=False)
    bo, _, _ = world(settings)
    card_order(bo)
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    newest = bo.invoice("SO-1", "INV-2", usd("40.00")).captures[0].capture_id
    ret = bo.refund("SO-1", "RMA-1", usd("70.00"), AGENT)
    assert [(r.capture_id, r.amount) for r in ret.refunds] == [(newest, usd("40.00"))]
    assert ret.fallback == usd("30.00")


def test_declined_renewals_are_retried_when_retry_declined_is_on() -> None:
    """A2: with ``settings.authorization.retry_declined`` on, the next run tries the
    declined card again; renewed, the order's AUTHORIZATION_EXPIRED hold goes."""
    policy = attrs.evolve(Settings.default().authorization, retry_declined=True)
    bo, sim, clock = world(Settings.default().with_policies(authorization=policy))
    card_order(bo)
    clock.advance(days=12)
    sim.script("authorize", "decline")
    assert bo.renew_authorizations().declined == ("SO-1",)
    again = bo.renew_authorizations()
    assert again.renewed == ("SO-1",)
    o = bo.order("SO-1")
    assert (o.status, o.holds, o.lines[0].authorized) == (OrderStatus.APPROVED, (), usd("100.00"))
