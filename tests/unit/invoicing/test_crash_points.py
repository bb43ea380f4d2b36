"""Crashes at every point of the capture path, then ``recover()`` (O1, O2, J3, V1-V6).

The capture path: intent committed → processor called → outcome committed with
the order and its voucher → voucher posted to the journal. A crash between any
two of these leaves something ``recover()`` finishes, after which ocop and the
processor's ledger agree and every capture was made once.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from decimal import Decimal

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from ocop import (
    BackOffice,
    Money,
    OperationInDoubt,
    Outcome,
    ProcessorResult,
    Voucher,
)
from ocop.adapters.memory import InMemoryJournal, InMemoryStore, ManualClock
from ocop.adapters.simulated import SimulatedCrash, SimulatedProcessor
from ocop.domain.payments import ChannelPayment
from ocop.domain.tokens import AuthorizationToken
from worlds import World, by_card, in_cash, new_world, usd

from .conftest import assert_consistent, entries, operations, place, step_of

KEY_1 = "SO-1/capture:INV-1:L1:L1.A1#1"
KEY_2 = "SO-1/capture:INV-1:L1:L1.A1#2"
FAULTS = ("approve", "decline", "timeout_before", "timeout_after_success", "crash_after_success")


class ProcessDied(BaseException):
    """The calling process died (like :class:`SimulatedCrash`, no ``except Exception`` hides it)."""


class FlakyJournal:
    """A :class:`~ocop.ports.journal.PaymentJournal` whose next post dies once, when armed."""

    def __init__(self) -> None:
        self._inner = InMemoryJournal()
        self.armed = False
        self.posts: Counter[str] = Counter()

    def post(self, voucher: Voucher) -> None:
        if self.armed:
            self.armed = False
            raise ProcessDied(f"died before posting {voucher.voucher_id}")
        self.posts[voucher.voucher_id] += 1
        self._inner.post(voucher)

    def vouchers(self, order_id: str | None = None) -> tuple[Voucher, ...]:
        return self._inner.vouchers(order_id)


def capture_keys(world: World) -> list[str]:
    """The keys of the processor's captures for SO-1, oldest first."""
    return [e.key for e in entries(world.sim, "SO-1", "capture")]


def outcome_of(world: World, key: str) -> Outcome | None:
    """The recorded outcome of an operation of SO-1."""
    return {op.key: op.outcome for op in operations(world.bo, "SO-1")}[key]


def test_a_crash_before_the_processor_call_leaves_an_intent_recovery_ends_unspent(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Intent committed, then death before the call: recovery finds nothing, the retry captures."""
    place(world.bo, "SO-1", "100.00", by_card("100.00"))
    real_capture = world.sim.capture
    died: list[str] = []

    def capture(key: str, authorization: AuthorizationToken, amount: Money) -> ProcessorResult:
        if not died:
            died.append(key)
            raise ProcessDied(f"died before capturing {key}")
        return real_capture(key, authorization, amount)

    monkeypatch.setattr(world.sim, "capture", capture)
    with pytest.raises(ProcessDied):
        world.bo.invoice("SO-1", "INV-1", usd("40.00"))
    assert died == [KEY_1]
    assert outcome_of(world, KEY_1) is None
    with pytest.raises(OperationInDoubt):
        world.bo.invoice("SO-1", "INV-1", usd("40.00"))
    report = world.bo.recover()
    assert (report.resolved, report.still_in_doubt) == ((KEY_1,), ())
    assert outcome_of(world, KEY_1) is Outcome.NOT_RECEIVED
    assert world.bo.order("SO-1").captured == usd("0.00")
    assert_consistent(world, "SO-1")
    retried = world.bo.invoice("SO-1", "INV-1", usd("40.00"))
    assert [c.capture_id for c in retried.captures] == [KEY_2]
    assert capture_keys(world) == [KEY_2]
    assert_consistent(world, "SO-1")


def test_a_crash_after_the_processor_approved_is_recovered_as_one_capture(world: World) -> None:
    """Money moved, then death before the outcome commit: recovery records it, with its voucher."""
    place(world.bo, "SO-1", "100.00", by_card("100.00"))
    world.sim.script("capture", "crash_after_success")
    with pytest.raises(SimulatedCrash):
        world.bo.invoice("SO-1", "INV-1", usd("40.00"))
    assert capture_keys(world) == [KEY_1]
    assert world.bo.order("SO-1").captured == usd("0.00")
    assert world.bo.journal("SO-1") == ()
    report = world.bo.recover()
    assert report.resolved == (KEY_1,)
    assert outcome_of(world, KEY_1) is Outcome.APPROVED
    assert world.bo.order("SO-1").captured == usd("40.00")
    assert [v.voucher_id for v in world.bo.journal("SO-1")] == [f"V:{KEY_1}"]
    assert_consistent(world, "SO-1")
    calls = world.sim.calls
    retried = world.bo.invoice("SO-1", "INV-1", usd("40.00"))
    assert [c.capture_id for c in retried.captures] == [KEY_1]
    assert world.sim.calls == calls
    assert_consistent(world, "SO-1")


def test_a_crash_before_the_voucher_is_posted_is_finished_by_recovery_exactly_once(
    clock: ManualClock, sim: SimulatedProcessor
) -> None:
    """Outcome committed, then death before posting: recovery posts the voucher, once (J3)."""
    journal = FlakyJournal()
    bo = BackOffice(store=InMemoryStore(), processor=sim, journal=journal, clock=clock)
    world = World(clock=clock, sim=sim, bo=bo)
    place(bo, "SO-1", "100.00", by_card("100.00"))
    journal.armed = True
    with pytest.raises(ProcessDied):
        bo.invoice("SO-1", "INV-1", usd("40.00"))
    assert bo.order("SO-1").captured == usd("40.00")
    assert bo.journal("SO-1") == ()
    with bo.ports.store.unit_of_work() as uow:
        assert [v.voucher_id for v in uow.outbox.pending()] == [f"V:{KEY_1}"]
    report = bo.recover()
    assert (report.resolved, report.vouchers_posted) == ((), 1)
    assert bo.recover().vouchers_posted == 0
    assert [v.voucher_id for v in bo.journal("SO-1")] == [f"V:{KEY_1}"]
    assert journal.posts[f"V:{KEY_1}"] == 1
    bo.invoice("SO-1", "INV-1", usd("40.00"))
    assert capture_keys(world) == [KEY_1]
    assert journal.posts[f"V:{KEY_1}"] == 1
    assert_consistent(world, "SO-1")


@pytest.mark.parametrize("fault", ["timeout_after_success", "crash_after_success"])
def test_after_recovering_a_partial_single_capture_the_next_invoice_reauthorizes_the_rest(
    fault: str,
) -> None:
    """I2 and O2: a recovered partial capture on a single-capture authorization is followed up."""
    world = new_world(multi_capture=False)
    place(world.bo, "SO-1", "100.00", by_card("100.00"))
    world.sim.script("capture", fault)
    with contextlib.suppress(SimulatedCrash):
        world.bo.invoice("SO-1", "INV-1", usd("60.00"))
    world.bo.recover()
    assert world.bo.invoice("SO-1", "INV-1", usd("60.00")).order.captured == usd("60.00")
    second = world.bo.invoice("SO-1", "INV-2", usd("40.00"))
    assert [(c.auth_id, c.amount) for c in second.captures] == [("L1.A2", usd("40.00"))]
    assert second.uncovered == usd("0.00")
    assert_consistent(world, "SO-1")


def _amount(left: Money, share: int) -> Money:
    return left.scaled(Decimal(share) / 100).max(usd("0.01"))


@settings(deadline=None)
@given(
    card_cents=st.integers(min_value=100, max_value=50_000),
    cash_cents=st.integers(min_value=0, max_value=5_000),
    multi_capture=st.booleans(),
    shares=st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=3),
    fault=st.sampled_from(FAULTS),
    data=st.data(),
)
def test_a_fault_anywhere_then_recovery_and_a_retry_never_double_charges(
    *,
    card_cents: int,
    cash_cents: int,
    multi_capture: bool,
    shares: list[int],
    fault: str,
    data: st.DataObject,
) -> None:
    """Any fault at any invoice, recovered and retried: captures once, never beyond invoiced."""
    world = new_world(multi_capture=multi_capture)
    payments: list[ChannelPayment] = [by_card(str(Money.from_minor(card_cents, "USD").amount))]
    if cash_cents:
        payments.append(in_cash(str(Money.from_minor(cash_cents, "USD").amount)))
    total = Money.from_minor(card_cents + cash_cents, "USD")
    place(world.bo, "SO-1", str(total.amount), *payments)
    faulty = data.draw(st.integers(min_value=0, max_value=len(shares) - 1), label="faulty")
    for number, share in enumerate(shares, start=1):
        order = world.bo.order("SO-1")
        left = order.total - order.invoiced
        if left.is_zero():
            break
        invoice_id, amount = f"INV-{number}", _amount(left, share)
        cash_left = sum((ln.capturable.minor for ln in order.lines if ln.is_prepayment), 0)
        if number - 1 == faulty and amount.minor > cash_left:
            world.sim.script("capture", fault)  # the invoice reaches a card capture
            with contextlib.suppress(SimulatedCrash):
                world.bo.invoice("SO-1", invoice_id, amount)
            assert world.bo.recover().still_in_doubt == ()
        result = world.bo.invoice("SO-1", invoice_id, amount)
        assert not result.in_doubt
        assert result.uncovered == usd("0.00")
    assert world.bo.recover().still_in_doubt == ()
    order = world.bo.order("SO-1")
    card_captured = sum((ln.captured.minor for ln in order.lines if ln.is_card), 0)
    assert card_captured <= order.invoiced.minor
    steps = Counter(step_of(e.key) for e in entries(world.sim, "SO-1", "capture"))
    assert all(count == 1 for count in steps.values())
    assert_consistent(world, "SO-1")


class RefusingJournal:
    """A journal that refuses every voucher of the orders named, and posts the others."""

    def __init__(self, *refused: str) -> None:
        self._inner = InMemoryJournal()
        self.refused = set(refused)
        self.tries: list[str] = []

    def post(self, voucher: Voucher) -> None:
        self.tries.append(voucher.voucher_id)
        if voucher.order_id in self.refused:
            raise RuntimeError(f"the ledger refuses {voucher.voucher_id}")
        self._inner.post(voucher)

    def vouchers(self, order_id: str | None = None) -> tuple[Voucher, ...]:
        return self._inner.vouchers(order_id)


def test_a_voucher_the_journal_refuses_holds_back_its_own_order_only(
    clock: ManualClock, sim: SimulatedProcessor
) -> None:
    """J3: a voucher the journal keeps refusing stays in the outbox with its order's later
    vouchers (never posted out of order), while other orders' vouchers are posted by the
    same recovery (it stopped at the first failure: one bad voucher held back every order's
    vouchers for good)."""
    journal = RefusingJournal()
    bo = BackOffice(store=InMemoryStore(), processor=sim, journal=journal, clock=clock)
    for order_id in ("SO-1", "SO-2"):
        place(bo, order_id, "100.00", by_card("100.00"))
    journal.refused = {"SO-1", "SO-2"}  # an outage
    bo.invoice("SO-1", "INV-1", usd("40.00"))
    bo.invoice("SO-1", "INV-2", usd("60.00"))
    bo.invoice("SO-2", "INV-1", usd("100.00"))
    journal.refused = {"SO-1"}  # over, but SO-1's vouchers are refused for good
    journal.tries.clear()
    assert bo.recover().vouchers_posted == 1
    assert [v.amount for v in bo.journal("SO-2")] == [usd("100.00")]
    assert bo.journal("SO-1") == ()
    assert journal.tries == ["V:SO-1/capture:INV-1:L1:L1.A1#1", "V:SO-2/capture:INV-1:L1:L1.A1#1"]
    journal.refused = set()
    assert bo.recover().vouchers_posted == 2
    assert [v.amount for v in bo.journal("SO-1")] == [usd("40.00"), usd("60.00")]
