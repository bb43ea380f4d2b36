"""Service behaviour that surviving mutants showed unchecked: stored times, keys, messages, logs.

Each test pins what an operator or a host can see through the public API and the
ports: the values stored on the order and in the operation log, the vouchers in
the journal, the processor's ledger, error messages, and the log lines of
``ocop.operations`` and ``ocop.recovery``.
"""

from __future__ import annotations

import logging
from typing import cast

import attrs
import pytest

from ocop import (
    Actor,
    BackOffice,
    CardPayment,
    Channel,
    CompletionDraft,
    ConnectorMismatch,
    Customer,
    FeatureDisabled,
    InvalidArgument,
    Invoice,
    LineStatus,
    Operation,
    OperationKind,
    Outcome,
    PaymentLine,
    PermissionDenied,
    Prepayment,
    ProcessorResult,
    Settings,
    Voucher,
    VoucherKind,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain import steps
from ocop.services._gates import require_call_center_user
from worlds import CUSTOMER, START, World, card, new_world, refused_payout, usd

from .support import AGENT, OCOP_OFF, RecoveryOnTheWay, card_order, ledger, operations

#: A card that paid none of the orders of these tests (R4).
OTHER_CARD = card("tok_9")


def _log(world: World, order_id: str) -> tuple[Operation, ...]:
    """The order's operation log, read through the store port."""
    with world.bo.ports.store.unit_of_work() as uow:
        return uow.operations.for_order(order_id)


def _messages(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger]


# -- cancel (X1) ---------------------------------------------------------------------------


def test_cancel_voids_with_purpose_cancel_and_refunds_deposits_at_the_time_of_cancelling(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """X1: the void is logged with purpose cancel; the deposit goes back, stamped now, as CANCEL."""
    world = new_world()
    world.bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=CUSTOMER,
        total=usd("50.00"),
        payments=[Prepayment("cash", usd("20.00")), CardPayment(card(), usd("30.00"))],
    )
    later = world.clock.advance(hours=3)
    with caplog.at_level(logging.INFO, logger="ocop.operations"):
        result = world.bo.cancel_order("SO-1", AGENT)
    assert result.voided == ("L2.A1",)
    assert result.refunded == usd("20.00")
    assert not result.in_doubt
    (void,) = [op for op in _log(world, "SO-1") if op.kind is OperationKind.VOID]
    assert (void.key, void.target) == (
        "SO-1/void:L2.A1#1",
        result.order.line("L2").authorizations[0].token.value,
    )
    assert isinstance(void.step, steps.Void)
    assert (void.step.auth_id, void.step.line_id, void.step.purpose) == (
        "L2.A1",
        "L2",
        steps.VoidPurpose.CANCEL,
    )
    (refund,) = result.order.line("L1").refunds
    assert (refund.refund_id, refund.return_id, refund.amount, refund.refunded_at) == (
        "SO-1/cancel:L1",
        "CANCEL",
        usd("20.00"),
        later,
    )
    assert refund.method == "customer_account"  # the deposit went back by the fallback method
    refunds = [v for v in world.bo.journal("SO-1") if v.kind is VoucherKind.REFUND]
    assert [(v.voucher_id, v.reference, v.amount, v.posted_at) for v in refunds] == [
        ("V:SO-1/cancel:L1", "CANCEL", usd("20.00"), later)
    ]
    assert _messages(caplog, "ocop.operations") == [
        "intent SO-1/void:L2.A1#1 void -",
        "outcome SO-1/void:L2.A1#1 approved -",
    ]


def test_cancel_that_stops_on_a_void_in_doubt_reports_the_voids_already_made() -> None:
    """O3, X1: the first void went through, the second is in doubt: voided names the first."""
    world = new_world()
    world.bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=CUSTOMER,
        total=usd("50.00"),
        payments=[
            CardPayment(card("tok_1"), usd("30.00")),
            CardPayment(card("tok_2"), usd("20.00")),
        ],
    )
    world.sim.script("void", "approve", "timeout_before")
    result = world.bo.cancel_order("SO-1", AGENT)
    assert result.in_doubt
    assert result.voided == ("L1.A1",)
    assert result.refunded is None
    assert not result.order.cancelled
    assert operations(world, "SO-1")[-2:] == [
        ("SO-1/void:L1.A1#1", "approved"),
        ("SO-1/void:L2.A1#1", "unknown"),
    ]


def test_cancel_whose_void_a_recovery_found_never_received_voids_once_more() -> None:
    """X1, O2: a void never received (a concurrent recover() settled its key on its way)
    is no refusal: the cancellation voids once more under a new attempt and reports it
    (it reported nothing voided and nothing failed, the authorization left open)."""
    clock = ManualClock(START)
    sim = RecoveryOnTheWay(clock=clock)
    bo = BackOffice.in_memory(processor=sim, clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER,
                   total=usd("50.00"), payments=[CardPayment(card(), usd("50.00"))])  # fmt: skip
    sim.other = BackOffice(store=bo.ports.store, journal=bo.ports.journal, processor=sim,
                           clock=clock)  # fmt: skip
    result = bo.cancel_order("SO-1", AGENT)
    assert (result.voided, result.failed, result.in_doubt) == (("L1.A1",), (), ())
    assert result.order.cancelled
    (auth,) = result.order.line("L1").authorizations
    assert (auth.open_amount, sim.authorization_open(auth.token.value)) == (
        usd("0.00"), usd("0.00"),
    )  # fmt: skip
    assert [(op.key, op.outcome.value) for op in bo.operations("SO-1") if op.outcome] == [
        ("SO-1/authorize:L1.A1#1", "approved"),
        ("SO-1/void:L1.A1#1", "not_received"),
        ("SO-1/void:L1.A1#2", "approved"),
    ]


# -- completion (C4, S1, T1) ---------------------------------------------------------------


def test_submit_does_not_recheck_the_account_of_an_unchanged_authorized_card() -> None:
    """C4, I5: only new or replaced cards are checked; an unchanged line's card is not."""
    old = new_world()
    card_order(old)
    # The same store and journal, now behind a processor of another service account.
    other = SimulatedProcessor(clock=old.clock, service_account="sa-2")
    moved = BackOffice(
        store=old.bo.ports.store,
        processor=other,
        journal=old.bo.ports.journal,
        settings=old.bo.settings,
        clock=old.clock,
    )
    draft = moved.begin_completion("SO-1", AGENT)
    result = moved.submit(draft)
    assert result.approved
    assert result.processor_calls == 0
    assert other.calls == 0
    assert result.order.line("L1").status is LineStatus.AUTHORIZED
    replaced = moved.begin_completion("SO-1", AGENT).replace_card("L1", card("tok_2"))
    with pytest.raises(ConnectorMismatch):
        moved.submit(replaced)
    assert other.calls == 0


def test_submit_left_in_doubt_counts_its_processor_calls() -> None:
    """S1, O3: an authorization that timed out counts as one processor call of the submit."""
    world = new_world()
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=CUSTOMER, total=usd("40.00"))
    draft = world.bo.begin_completion("SO-1", AGENT).add_card(card(), usd("40.00"))
    world.sim.script("authorize", "timeout_before")
    result = world.bo.submit(draft)
    assert result.in_doubt
    assert result.processor_calls == 1
    assert not result.approved
    assert operations(world, "SO-1") == [("SO-1/authorize:L1.A1#1", "unknown")]


class _RecordingProcessor(SimulatedProcessor):
    """A simulated processor that remembers who each tokenize call was for."""

    def __init__(self, *, clock: ManualClock) -> None:
        super().__init__(clock=clock)
        self.tokenized: list[tuple[str, str]] = []

    def tokenize(self, key: str, customer_id: str, instrument_id: str, cvv: str) -> ProcessorResult:
        self.tokenized.append((customer_id, instrument_id))
        return super().tokenize(key, customer_id, instrument_id, cvv)


def test_a_saved_card_line_on_a_guest_order_is_tokenized_for_no_customer() -> None:
    """T1: a guest has no customer id, so the tokenize asks for an empty one and is declined."""
    clock = ManualClock(START)
    sim = _RecordingProcessor(clock=clock)
    bo = BackOffice.in_memory(processor=sim, clock=clock)
    saved = bo.save_instrument(Customer.named("XXXX"), card(), consent=True)
    bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=Customer.guest(), total=usd(40))
    line = attrs.evolve(
        PaymentLine.card_line("L1", saved.card, usd(40), instrument_id=saved.instrument_id),
        needs_tokenize=True,
    )
    draft: CompletionDraft = attrs.evolve(
        bo.begin_completion("SO-1", AGENT), lines=(line,), cvvs={"L1": "123"}
    )
    result = bo.submit(draft)
    assert sim.tokenized == [("", saved.instrument_id)]
    assert result.order.line("L1").status is LineStatus.DECLINED
    assert not result.approved
    assert sim.ledger() == ()


# -- gates and refusals (P1, T1, P2, R4) ---------------------------------------------------


def test_a_caller_that_is_not_an_actor_is_refused_as_unknown() -> None:
    """P1: something that is not an Actor is refused, named '?' in the message and the error."""
    world = new_world()
    card_order(world)
    with pytest.raises(PermissionDenied) as caught:
        require_call_center_user(cast(Actor, "agent-1"), "cancelling an order")
    assert str(caught.value) == "cancelling an order needs a call center user; '?' is not one"
    assert (caught.value.actor_id, caught.value.action) == ("?", "cancelling an order")
    with pytest.raises(InvalidArgument, match=r"^actor must be an Actor, not str$"):
        world.bo.cancel_order("SO-1", cast(Actor, "agent-1"))  # E1: refused at the edge


def test_a_guest_cannot_save_a_card_and_the_message_says_so() -> None:
    """T1: saving a card for a guest is refused with its exact message and attributes."""
    world = new_world()
    with pytest.raises(PermissionDenied) as caught:
        world.bo.save_instrument(Customer.guest(), card(), consent=True)
    assert str(caught.value) == "guests cannot save a card"
    assert (caught.value.actor_id, caught.value.action) == ("guest", "save payment instrument")


def test_a_commerce_order_is_not_refunded_while_ocop_is_off_and_the_message_says_why() -> None:
    """P2: with OCOP off a commerce order's refund is refused with the full message."""
    world = new_world()
    card_order(world)
    world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    with pytest.raises(FeatureDisabled) as caught:
        world.bo.with_settings(OCOP_OFF).refund("SO-1", "RMA-1", usd("10.00"), AGENT)
    assert str(caught.value) == (
        "order SO-1 is a commerce order: refunded only while omni-channel order payments is on"
    )
    assert caught.value.feature == "omni_channel_order_payments"


def test_an_unlinked_refund_is_refused_when_the_processor_cannot_make_one() -> None:
    """R4: a processor without unlinked refunds refuses them with the full message."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock, unlinked_refunds=False)
    world = World(clock=clock, sim=sim, bo=BackOffice.in_memory(processor=sim, clock=clock))
    card_order(world)
    with pytest.raises(FeatureDisabled) as caught:
        world.bo.refund_to_card("SO-1", "RMA-1", OTHER_CARD, usd("10.00"), AGENT)
    assert str(caught.value) == "the processor does not support unlinked refunds"
    assert caught.value.feature == "unlinked_refunds"


# -- refunds (R3, R4) ----------------------------------------------------------------------


def test_a_second_unlinked_refund_of_a_return_gets_the_next_key_and_pays_the_rest() -> None:
    """R4: raising a return's unlinked refund pays only the rest, keyed as the return's second."""
    world = new_world()
    card_order(world, amount="100.00")
    world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    world.bo.refund("SO-1", "RMA-1", usd("10.00"), AGENT)  # a linked refund counts for nothing
    first = world.bo.refund_to_card("SO-1", "RMA-1", OTHER_CARD, usd("40.00"), AGENT)
    second = world.bo.refund_to_card("SO-1", "RMA-1", OTHER_CARD, usd("70.00"), AGENT)
    keys = ["SO-1/unlinked_refund:RMA-1:1#1", "SO-1/unlinked_refund:RMA-1:2#1"]
    assert [(r.refund_id, r.amount) for r in first.refunds][1:] == [(keys[0], usd("30.00"))]
    assert [(r.refund_id, r.amount) for r in second.refunds][1:] == [
        (keys[0], usd("30.00")),
        (keys[1], usd("30.00")),
    ]
    assert [(k, a) for kind, k, a in ledger(world) if kind == "unlinked_refund"] == [
        (keys[0], usd("30.00")),
        (keys[1], usd("30.00")),
    ]


def test_a_fallback_refund_voucher_is_stamped_with_the_time_of_the_refund() -> None:
    """R3: what no card covers goes back by the fallback method, posted at the clock's time."""
    world = new_world()
    world.bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=CUSTOMER,
        total=usd("30.00"),
        payments=[Prepayment("cash", usd("30.00"))],
    )
    world.bo.invoice("SO-1", "INV-1", usd("30.00"))
    later = world.clock.advance(days=2)
    result = world.bo.refund("SO-1", "RMA-1", usd("12.00"), AGENT)
    assert result.fallback == usd("12.00")
    (entry,) = result.order.other_refunds
    assert (entry.refund_id, entry.refunded_at, entry.method) == (
        "SO-1/fallback:RMA-1#1",
        later,
        "customer_account",  # the default fallback method
    )
    refunds = [v for v in world.bo.journal("SO-1") if v.kind is VoucherKind.REFUND]
    assert [(v.voucher_id, v.journal_name, v.posted_at) for v in refunds] == [
        ("V:SO-1/fallback:RMA-1#1", "OCOP-REF", later)
    ]


# -- placement posts prepayments (S3, J2) --------------------------------------------------


def test_a_placed_prepayment_posts_a_receipt_to_the_payment_journal_at_placement_time() -> None:
    """S3, J2: a cash prepayment is posted as a receipt to the payment journal, stamped now."""
    world = new_world()
    now = world.clock.advance(minutes=5)
    order = world.bo.place_order(
        "SO-1",
        channel=Channel.POS,
        customer=CUSTOMER,
        total=usd("25.00"),
        payments=[Prepayment("cash", usd("25.00"))],
    )
    assert order.approved
    assert world.bo.journal("SO-1") == (
        Voucher.receipt(
            voucher_id="V:SO-1/post:L1",
            journal_name="OCOP-PAY",
            order_id="SO-1",
            reference="L1",
            method="cash",
            amount=usd("25.00"),
            at=now,
        ),
    )


# -- invoicing (I1, I4) --------------------------------------------------------------------


def test_an_invoice_is_recorded_at_its_time_and_its_capture_names_the_authorization() -> None:
    """I1, O1: the invoice is stamped with the clock; the capture's target is its authorization."""
    world = new_world()
    order = card_order(world)
    later = world.clock.advance(days=1)
    result = world.bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert result.order.invoices == (
        Invoice(invoice_id="INV-1", amount=usd("20.00"), invoiced_at=later),
    )
    (capture,) = [op for op in _log(world, "SO-1") if op.kind is OperationKind.CAPTURE]
    assert (capture.key, capture.target, capture.outcome) == (
        "SO-1/capture:INV-1:L1:L1.A1#1",
        order.line("L1").authorizations[0].token.value,
        Outcome.APPROVED,
    )


def test_without_duplicate_protection_a_repeated_invoice_captures_again_nothing_uncovered() -> None:
    """I4 off: a repeated invoice captures again under new keys and reports nothing uncovered."""
    off = Settings.default().with_features(
        omni_channel_order_payments=False, duplicate_payment_protection=False
    )
    world = new_world(off)
    card_order(world, amount="100.00")
    first = world.bo.invoice("SO-1", "INV-1", usd("30.00"))
    again = world.bo.invoice("SO-1", "INV-1", usd("30.00"))
    assert first.uncovered == usd("0.00")
    assert again.uncovered == usd("0.00")
    assert [c.amount for c in again.captures] == [usd("30.00"), usd("30.00")]
    assert [k for kind, k, _ in ledger(world) if kind == "capture"] == [
        "SO-1/capture:INV-1:L1:L1.A1#1",
        "SO-1/capture:INV-1:L1:L1.A1#2",
    ]


def test_an_approved_attempt_in_the_log_is_reused_and_logged_not_sent_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """I4, O4: a step the log holds as approved is not sent to the processor again, and says so."""
    world = new_world()
    order = card_order(world, amount="100.00")
    token = order.line("L1").authorizations[0].token
    # Another worker's approved capture of this very step, found in the log.
    capture = steps.Capture(invoice_id="INV-1", line_id="L1", auth_id="L1.A1",
                            amount=usd("60.00"), target=token.value)  # fmt: skip
    done = Operation.intent("SO-1", capture, 1, START)
    with world.bo.ports.store.unit_of_work() as uow:
        uow.operations.record_intent(done)
        uow.operations.record_outcome(
            done.key, ProcessorResult(key=done.key, outcome=Outcome.APPROVED), START
        )
        uow.commit()
    calls = world.sim.calls
    with caplog.at_level(logging.INFO, logger="ocop.operations"):
        world.bo.invoice("SO-1", "INV-1", usd("60.00"))
    assert world.sim.calls == calls
    assert [kind for kind, _, _ in ledger(world)] == ["authorize"]
    assert _messages(caplog, "ocop.operations") == [
        "reused SO-1/capture:INV-1:L1:L1.A1#1: step capture:INV-1:L1:L1.A1 already approved"
    ]


# -- recovery (O2) -------------------------------------------------------------------------


class _AnsweringProcessor(SimulatedProcessor):
    """A simulated processor whose lookups give a scripted answer for some keys."""

    def __init__(self, *, clock: ManualClock) -> None:
        super().__init__(clock=clock)
        self.answers: dict[str, ProcessorResult] = {}

    def lookup(self, key: str) -> ProcessorResult:
        if key in self.answers:
            return self.answers[key]
        return super().lookup(key)


def test_recovery_logs_the_key_of_an_outcome_the_order_refuses(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """O2: an answer the order refuses is logged with its outcome and key, and left in doubt."""
    clock = ManualClock(START)
    sim = _AnsweringProcessor(clock=clock)
    world = World(clock=clock, sim=sim, bo=BackOffice.in_memory(processor=sim, clock=clock))
    card_order(world, amount="100.00")
    world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    # A payout of 500.00 the processor claims for SO-1, which received only 100.00 (V3).
    payout, approval = refused_payout("SO-1")
    with world.bo.ports.store.unit_of_work() as uow:
        uow.operations.record_intent(payout)
        uow.commit()
    sim.answers[payout.key] = approval
    with caplog.at_level(logging.INFO, logger="ocop.recovery"):
        report = world.bo.recover()
    assert report.unapplied == ("SO-1/unlinked_refund:RMA-X:1#1",)
    assert _messages(caplog, "ocop.recovery") == [
        "could not apply the approved outcome of SO-1/unlinked_refund:RMA-X:1#1"
    ]
