"""Service behaviour a fourth mutation run showed unchecked: re-authorizations, legacy repeats,
doubts after a release, retried refund batches, and outcomes another worker settled first.

Each test goes through the back office and reads what a host or an operator can see: the
operation log, the journal, and what each request reports.
"""

from __future__ import annotations

from ocop import (
    BackOffice,
    CaptureToken,
    Channel,
    LineStatus,
    Money,
    Operation,
    OperationKind,
    Outcome,
    ProcessorResult,
    Settings,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain import steps
from worlds import CUSTOMER, START, World, card, new_world, usd

from .support import AGENT, card_order

#: The keys of the first linked refunds of RMA-1 on the captures of INV-2 and INV-1 (R5),
#: without their attempt number.
REFUND_INV_2 = "SO-1/refund:RMA-1:capture:INV-2:L1:L1.A1#1:1"
REFUND_INV_1 = "SO-1/refund:RMA-1:capture:INV-1:L1:L1.A1#1:1"


def _log(world: World, order_id: str) -> tuple[Operation, ...]:
    """The order's operation log, read through the store port."""
    with world.bo.ports.store.unit_of_work() as uow:
        return uow.operations.for_order(order_id)


def _invoiced_twice(world: World) -> None:
    """SO-1 of 100.00 paid by one card, captured for INV-1 (60.00) and INV-2 (40.00)."""
    card_order(world, amount="100.00")
    world.bo.invoice("SO-1", "INV-1", usd("60.00"))
    world.bo.invoice("SO-1", "INV-2", usd("40.00"))


# -- invoicing (I2, I4) --------------------------------------------------------------------


def test_the_authorization_replacing_what_a_single_capture_released_is_on_the_lines_card() -> None:
    """I2: the re-authorization after a partial single capture targets the line's card and
    keeps its value, like the authorization it replaces."""
    world = new_world(multi_capture=False)
    card_order(world, amount="100.00")
    result = world.bo.invoice("SO-1", "INV-1", usd("40.00"))
    authorizations = [op for op in _log(world, "SO-1") if op.kind is OperationKind.AUTHORIZE]
    assert [(op.key, op.target, op.amount) for op in authorizations] == [
        ("SO-1/authorize:L1.A1#1", "tok_1", usd("100.00")),
        ("SO-1/authorize:L1.A2#1", "tok_1", usd("60.00")),
    ]
    assert [a.card_value for a in result.order.line("L1").authorizations] == ["tok_1", "tok_1"]


def test_without_duplicate_protection_a_repeated_invoice_reports_what_it_could_not_cover() -> None:
    """I4 off: a repeated invoice captures again what the card can still give and reports
    the rest as uncovered."""
    off = Settings.default().with_features(
        omni_channel_order_payments=False, duplicate_payment_protection=False
    )
    world = new_world(off)
    card_order(world, amount="100.00")
    world.bo.invoice("SO-1", "INV-1", usd("70.00"))
    again = world.bo.invoice("SO-1", "INV-1", usd("70.00"))
    assert [c.amount for c in again.captures] == [usd("70.00"), usd("30.00")]
    assert again.uncovered == usd("40.00")


# -- completion (C3, O3, J1) ---------------------------------------------------------------


def test_a_call_in_doubt_after_a_declined_adjustment_was_released_is_reported() -> None:
    """C3, O3: after the void that releases a declined adjustment, the next line's
    authorization in doubt is still reported in doubt."""
    world = new_world()
    card_order(world, amount="100.00")
    world.bo.change_total("SO-1", usd("150.00"), AGENT)
    world.sim.script("adjust", "decline")
    world.sim.script("authorize", "timeout_before")
    draft = (
        world.bo.begin_completion("SO-1", AGENT)
        .change_amount("L1", usd("120.00"))
        .add_card(card("tok_2", "2222"), usd("30.00"))
    )
    result = world.bo.submit(draft)
    assert result.in_doubt == ("SO-1/authorize:L2.A1#1",)
    assert result.processor_calls == 3
    assert result.order.line("L1").status is LineStatus.DECLINED
    assert result.order.line("L2").status is LineStatus.PENDING_AUTHORIZATION


def test_a_deposit_posted_before_a_step_the_log_holds_as_approved_reaches_the_journal() -> None:
    """J1, O4: when the card line's step is answered from the log, the cash posted earlier
    in the same submit is still committed with its voucher."""
    world = new_world()
    world.bo.place_order(
        "SO-1", channel=Channel.CALL_CENTER, customer=CUSTOMER, total=usd("100.00")
    )
    draft = (
        world.bo.begin_completion("SO-1", AGENT)
        .add_prepayment("cash", usd("40.00"))
        .add_card(card(), usd("60.00"))
    )
    # Another worker's approved authorization of the card line's first step, in the log.
    authorize = steps.Authorize(line_id="L2", auth_id="L2.A1", amount=usd("60.00"),
                                target="tok_1")  # fmt: skip
    done = Operation.intent("SO-1", authorize, 1, START)
    with world.bo.ports.store.unit_of_work() as uow:
        uow.operations.record_intent(done)
        uow.operations.record_outcome(
            done.key, ProcessorResult(key=done.key, outcome=Outcome.APPROVED), START
        )
        uow.commit()
    world.bo.submit(draft)
    assert [(v.voucher_id, v.amount) for v in world.bo.journal("SO-1")] == [
        ("V:SO-1/post:L1", usd("40.00"))
    ]
    assert world.bo.order("SO-1").line("L1").status is LineStatus.PAID
    assert world.sim.calls == 0


# -- refunds (R5, O2, O4) ------------------------------------------------------------------


def test_a_return_whose_refunds_on_two_captures_were_declined_retries_both_at_once() -> None:
    """R5, O4: retrying the return sends both refunds again, each as its second attempt."""
    world = new_world()
    _invoiced_twice(world)
    world.sim.script("refund", "decline", "decline")
    first = world.bo.refund("SO-1", "RMA-1", usd("100.00"), AGENT)
    assert len(first.failed) == 2
    assert first.refunds == ()
    again = world.bo.refund("SO-1", "RMA-1", usd("100.00"), AGENT)
    assert not again.failed
    assert not again.in_doubt
    assert [(r.refund_id, r.amount) for r in again.refunds] == [
        (f"{REFUND_INV_2}#2", usd("40.00")),
        (f"{REFUND_INV_1}#2", usd("60.00")),
    ]


class _RecoveringProcessor(SimulatedProcessor):
    """A simulator that runs ``recover()`` on its back office while the second refund call
    is away, once the processor has carried it out: another worker settles both refunds
    before the caller hears back."""

    def __init__(self, *, clock: ManualClock) -> None:
        super().__init__(clock=clock)
        self.back_office: BackOffice | None = None
        self.refunds = 0

    def refund(self, key: str, capture: CaptureToken, amount: Money) -> ProcessorResult:
        result = super().refund(key, capture, amount)
        self.refunds += 1
        if self.refunds == 2 and self.back_office is not None:
            self.back_office.recover()
        return result


def test_refunds_another_worker_settled_first_are_kept_and_none_left_in_doubt() -> None:
    """O2: when recovery settles every refund of a batch while it is away, the caller keeps
    those outcomes: nothing is reported in doubt and each refund is journaled once."""
    clock = ManualClock(START)
    sim = _RecoveringProcessor(clock=clock)
    world = World(clock=clock, sim=sim, bo=BackOffice.in_memory(processor=sim, clock=clock))
    _invoiced_twice(world)
    sim.back_office = world.bo
    result = world.bo.refund("SO-1", "RMA-1", usd("100.00"), AGENT)
    assert not result.in_doubt
    assert not result.failed
    assert [r.refund_id for r in result.refunds] == [f"{REFUND_INV_2}#1", f"{REFUND_INV_1}#1"]
    assert [op.outcome for op in _log(world, "SO-1") if op.kind is OperationKind.REFUND] == [
        Outcome.APPROVED,
        Outcome.APPROVED,
    ]
    journal = [v.voucher_id for v in world.bo.journal("SO-1")]
    assert [v for v in journal if v.startswith("V:SO-1/refund:")] == [
        f"V:{REFUND_INV_2}#1",
        f"V:{REFUND_INV_1}#1",
    ]
