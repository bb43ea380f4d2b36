"""A host's own store, journal and processor (tests/integration/host_adapters.py), written
from the ports' documentation alone: the contract suites pass on them, and a back office
wired with them lives a whole order life. This guards that the ports are implementable
from their docs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from host_adapters import DictStore, HostProcessor, JournalKeepingStore, ListJournal, _UnitOfWork
from hypothesis import settings

from lifecycle_machine import Lifecycle
from ocop import (
    Actor,
    BackOffice,
    CardPayment,
    CardToken,
    Channel,
    Customer,
    InvalidArgument,
    InvalidInput,
    Money,
    Notification,
    Outcome,
    ProcessorResult,
    Settings,
    StorageBusy,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.ports.journal import PaymentJournal
from ocop.ports.store import Committed, OrderStore
from ocop.testing.contracts import (
    JournalContract,
    KeyedEntry,
    OrderStoreContract,
    ProcessorContract,
)
from payments_model import ModelLifecycle


class TestHostStore(OrderStoreContract):
    """The OrderStore contract on the host's dict store."""

    def make_store(self) -> OrderStore:
        return DictStore()


class TestHostStoreKeepingTheJournal(OrderStoreContract):
    """The OrderStore contract on the host's store that keeps the journal."""

    def make_store(self) -> OrderStore:
        return JournalKeepingStore()


class TestHostJournal(JournalContract):
    """The PaymentJournal contract on the host's list journal."""

    def make_journal(self) -> PaymentJournal:
        return ListJournal()


class TestHostProcessor(ProcessorContract[HostProcessor]):
    """The PaymentProcessor contract on the host's connector."""

    def make_processor(self, clock: ManualClock) -> HostProcessor:
        return HostProcessor(SimulatedProcessor(clock=clock))

    def ledger_of(self, processor: HostProcessor) -> Sequence[KeyedEntry]:
        return processor.client.ledger()

    def pending(self, processor: HostProcessor, kind: str) -> bool:
        processor.client.script(kind, "pending")
        return True

    def settle(
        self, processor: HostProcessor, key: str, *, approve: bool
    ) -> Sequence[Notification]:
        return processor.client.settle_pending("approve" if approve else "decline", keys=[key])

    def lose_answer(self, processor: HostProcessor, kind: str) -> bool:
        processor.client.script(kind, "timeout_after_success")
        return True


def _usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def _card(value: str) -> CardToken:
    return CardToken(
        value=value,
        connector="sim",
        service_account="sa-1",
        brand="visa",
        last4="1111",
        expiry="2030-12",
        reusable=True,
    )


def _host_back_office() -> tuple[BackOffice, DictStore, ListJournal, SimulatedProcessor]:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    sim = SimulatedProcessor(clock=clock)
    store, journal = DictStore(), ListJournal()
    bo = BackOffice(
        store=store,
        processor=HostProcessor(sim),
        journal=journal,
        settings=Settings.default(),
        clock=clock,
    )
    return bo, store, journal, sim


def test_a_whole_order_life_on_the_hosts_adapters() -> None:
    """Place, complete, invoice twice (one retried), refund, cancel another order, and
    recover a timed-out capture, all through the host's adapters, to the cent."""
    bo, _, journal, sim = _host_back_office()
    agent = Actor.call_center("u1")
    placed = bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=Customer.named("C-1"),
        total=_usd("100.00"),
        payments=[CardPayment(_card("tok_1"), _usd("100.00"))],
    )
    assert placed.status == "approved"
    bo.change_total("SO-1", _usd("120.00"), agent)
    draft = bo.begin_completion("SO-1", agent).change_amount("L1", _usd("120.00"))
    assert bo.submit(draft).approved
    bo.invoice("SO-1", "INV-1", _usd("70.00"))
    bo.invoice("SO-1", "INV-1", _usd("70.00"))
    bo.invoice("SO-1", "INV-2", _usd("50.00"))
    assert bo.order("SO-1").captured == _usd("120.00")
    bo.refund("SO-1", "RET-1", _usd("30.00"), agent)
    assert bo.order("SO-1").refunded == _usd("30.00")

    bo.place_order(
        "SO-2",
        channel=Channel.POS,
        customer=Customer.guest(),
        total=_usd("40.00"),
        payments=[CardPayment(_card("tok_2"), _usd("40.00"))],
    )
    bo.cancel_order("SO-2", agent)
    assert bo.order("SO-2").cancelled

    bo.place_order(
        "SO-3",
        channel=Channel.POS,
        customer=Customer.guest(),
        total=_usd("25.00"),
        payments=[CardPayment(_card("tok_3"), _usd("25.00"))],
    )
    sim.script("capture", "timeout_after_success")
    doubtful = bo.invoice("SO-3", "INV-3", _usd("25.00"))
    assert doubtful.in_doubt
    assert bo.orders(in_doubt=True) == ("SO-3",)
    bo.recover()
    assert bo.order("SO-3").captured == _usd("25.00")
    assert bo.orders(in_doubt=True) == ()
    assert [op.outcome for op in bo.operations("SO-3")][-1] is Outcome.APPROVED

    kinds = [(v.order_id, v.kind, v.amount) for v in journal.vouchers()]
    assert kinds == [
        ("SO-1", "payment", _usd("70.00")),
        ("SO-1", "payment", _usd("50.00")),
        ("SO-1", "refund", _usd("30.00")),
        ("SO-3", "payment", _usd("25.00")),
    ]
    assert [e.kind for e in sim.ledger()].count("capture") == 3


def test_a_store_that_keeps_the_journal_says_so_and_is_wired_with_it() -> None:
    """A host store with keeps_journal and its journal is wired with journal=store.journal
    (another journal is refused, InvalidInput) and gets each voucher in the commit."""
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    processor = HostProcessor(SimulatedProcessor(clock=clock))
    store = JournalKeepingStore()
    with pytest.raises(InvalidInput):
        BackOffice(store=store, processor=processor, journal=ListJournal(), clock=clock)
    bo = BackOffice(store=store, processor=processor, journal=store.journal, clock=clock)
    bo.place_order(
        "SO-1",
        channel=Channel.POS,
        customer=Customer.guest(),
        total=_usd("12.00"),
        payments=[CardPayment(_card("tok_1"), _usd("12.00"))],
    )
    bo.invoice("SO-1", "INV-1", _usd("12.00"))
    assert [v.amount for v in store.journal.vouchers("SO-1")] == [_usd("12.00")]
    assert bo.recover().vouchers_posted == 0


class _BusyOnce(DictStore):
    """A host store whose database, once armed with an error, fails the next commit of a
    processor's answer with it."""

    def __init__(self) -> None:
        super().__init__()
        self.error: Exception | None = None

    def unit_of_work(self) -> _UnitOfWork:
        unit = super().unit_of_work()
        commit = unit.commit

        def busy_then_commit() -> Committed:
            answered = any(op.outcome for op in unit._unit.operations.values())
            if answered and self.error is not None:
                error, self.error = self.error, None
                unit.rollback()
                raise error
            return commit()

        unit.commit = busy_then_commit  # type: ignore[method-assign]
        return unit


@pytest.mark.parametrize("translated", [True, False], ids=["StorageBusy", "driver error"])
def test_a_busy_store_raises_storage_busy_and_the_answer_is_kept(translated: bool) -> None:
    """A host store that raises StorageBusy for a commit holding a processor's answer has
    it retried: the capture is stored at once. Its driver's own error instead leaves the
    capture in doubt, for recover() (the port asks stores to raise ocop's errors)."""
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    busy = StorageBusy("locked") if translated else TimeoutError("locked")
    store = _BusyOnce()
    bo = BackOffice(store=store, processor=HostProcessor(SimulatedProcessor(clock=clock)),
                    journal=ListJournal(), clock=clock)  # fmt: skip
    bo.place_order(
        "SO-1",
        channel=Channel.POS,
        customer=Customer.guest(),
        total=_usd("12.00"),
        payments=[CardPayment(_card("tok_1"), _usd("12.00"))],
    )
    store.error = busy
    if translated:
        bo.invoice("SO-1", "INV-1", _usd("12.00"))
        assert bo.orders(in_doubt=True) == ()
    else:
        with pytest.raises(TimeoutError):
            bo.invoice("SO-1", "INV-1", _usd("12.00"))
        assert bo.orders(in_doubt=True) == ("SO-1",)
        bo.recover()
    assert bo.order("SO-1").captured == _usd("12.00")


class LifecycleOnHostAdapters(Lifecycle):
    """The lifecycle state machine on the host's store and journal, the processor behind
    the host's connector: the same invariants hold."""

    def back_office(self) -> BackOffice:
        return BackOffice(
            store=DictStore(),
            processor=HostProcessor(self.sim),
            journal=ListJournal(),
            settings=self.settings,
            clock=self.clock,
        )


class ModelOnHostAdapters(ModelLifecycle):
    """The payments model on the host's store and journal: every result as predicted."""

    def back_office(self) -> BackOffice:
        return BackOffice(
            store=DictStore(),
            processor=HostProcessor(self.sim),
            journal=ListJournal(),
            settings=self.settings,
            clock=self.clock,
        )


# A quarter of the profile's examples each: the in-memory machines run the rest.
for _machine in (LifecycleOnHostAdapters, ModelOnHostAdapters):
    _machine.TestCase.settings = settings(
        max_examples=max(10, settings().max_examples // 4), deadline=None
    )
TestLifecycleOnHostAdapters = LifecycleOnHostAdapters.TestCase
TestModelOnHostAdapters = ModelOnHostAdapters.TestCase


class _OneCaptureAnswers(HostProcessor):
    """A connector whose authorization answers leave ``multi_capture`` at its default."""

    def authorize(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        answer = self.client.authorize(key, card, amount)
        return ProcessorResult(key=answer.key, outcome=answer.outcome, amount=answer.amount,
                               token=answer.token, reason=answer.reason)  # fmt: skip


@pytest.mark.parametrize("multi", [True, False], ids=["multi_capture", "default"])
def test_an_authorizations_answer_says_whether_it_takes_several_captures(multi: bool) -> None:
    """Two invoices capture twice on one authorization whose answer says multi_capture;
    an answer that leaves it False takes one capture, and the second invoice authorizes
    the card again, though the processor's capabilities say multi-capture."""
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    sim = SimulatedProcessor(clock=clock)
    processor = HostProcessor(sim) if multi else _OneCaptureAnswers(sim)
    assert processor.capabilities.multi_capture
    bo = BackOffice(store=DictStore(), processor=processor, journal=ListJournal(), clock=clock)
    bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=Customer.named("C-1"),
        total=_usd("100.00"),
        payments=[CardPayment(_card("tok_1"), _usd("100.00"))],
    )
    bo.invoice("SO-1", "INV-1", _usd("70.00"))
    bo.invoice("SO-1", "INV-2", _usd("30.00"))
    assert bo.order("SO-1").captured == _usd("100.00")
    again = [] if multi else ["authorize"]
    assert [e.kind for e in sim.ledger()] == ["authorize", "capture", *again, "capture"]


class _StoreOfAnOlderPort:
    """A host store written before claims and the review list: a unit of work only."""

    def __init__(self) -> None:
        self._inner = DictStore()

    def unit_of_work(self) -> _UnitOfWork:
        return self._inner.unit_of_work()


class _ProcessorWithoutLookup:
    """A host connector that offers the calls of a sale only (no lookup, no refunds to
    other cards, no saved cards, no amount updates)."""

    def __init__(self, client: SimulatedProcessor) -> None:
        self._client = client
        self.capabilities = client.capabilities
        self.authorize = client.authorize
        self.capture = client.capture
        self.refund = client.refund
        self.void = client.void


def test_a_port_missing_a_method_is_refused_when_wired() -> None:
    """BackOffice refuses, naming them, a store or processor missing methods of its port,
    before anything is stored or sent, rather than failing later halfway through a call."""
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    sim = SimulatedProcessor(clock=clock)
    with pytest.raises(InvalidArgument, match="keep_for_review") as store_refusal:
        BackOffice(store=_StoreOfAnOlderPort(), processor=HostProcessor(sim),  # type: ignore[arg-type]
                   journal=ListJournal(), clock=clock)  # fmt: skip
    assert store_refusal.value.argument == "store"
    with pytest.raises(InvalidArgument, match="lookup") as processor_refusal:
        BackOffice(store=DictStore(), processor=_ProcessorWithoutLookup(sim),  # type: ignore[arg-type]
                   journal=ListJournal(), clock=clock)  # fmt: skip
    assert processor_refusal.value.argument == "processor"
    assert sim.ledger() == ()


class _StoreWithoutTheReviewList:
    """A host store that keeps notifications for review but cannot list them."""

    def __init__(self) -> None:
        inner = DictStore()
        self.unit_of_work, self.claim, self.release = inner.unit_of_work, inner.claim, inner.release
        self.keep_for_review = inner.keep_for_review


def test_a_port_refused_at_wiring_names_only_the_methods_it_lacks() -> None:
    """E1: a store lacking one method of its port is told which one (kept_for_review), not
    only the whole list it should have; a connector lacking several is told those."""
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    sim = SimulatedProcessor(clock=clock)
    with pytest.raises(InvalidArgument) as store_refusal:
        BackOffice(store=_StoreWithoutTheReviewList(), processor=HostProcessor(sim),  # type: ignore[arg-type]
                   journal=ListJournal(), clock=clock)  # fmt: skip
    assert str(store_refusal.value).endswith("_StoreWithoutTheReviewList: it lacks kept_for_review")
    with pytest.raises(InvalidArgument) as processor_refusal:
        BackOffice(store=DictStore(), processor=_ProcessorWithoutLookup(sim),  # type: ignore[arg-type]
                   journal=ListJournal(), clock=clock)  # fmt: skip
    assert str(processor_refusal.value).endswith(
        ": it lacks adjust, unlinked_refund, tokenize, save_instrument, instruments, lookup"
    )
