"""An invoice (or pickup) and a cancellation of the same order racing (rules X1, I1-I6, O5).

No threads: the simulated processor runs the other worker at a chosen call, after the call
reached it and before its answer comes back. While a call is in doubt the other worker is
refused (O3); but a ``recover()`` (or a notification) may settle the call first, and then
the other worker finds nothing in doubt. The run whose call it was reads the order again
to commit its outcome: it must see what the other did, and act on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ocop import (
    AuthorizationPolicy,
    AuthorizationToken,
    BackOffice,
    CaptureToken,
    CardPayment,
    CardToken,
    Channel,
    CompletionPolicy,
    DepositPolicy,
    IllegalTransition,
    Money,
    Operation,
    OperationInDoubt,
    ProcessorResult,
    Settings,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain import steps
from ocop.domain.order import Order
from ocop.ports import Ports
from ocop.services import _engine as engine
from pg_support import STORES, Stores
from worlds import CUSTOMER, START, card, in_cash, usd

from .support import AGENT


class Meanwhile(SimulatedProcessor):
    """A simulated processor that, at the first call whose key holds ``match``, runs
    ``then`` once the call is carried out and before its answer returns."""

    match: str = ""
    then: Callable[[], None] | None = None

    def _after(self, key: str, result: ProcessorResult) -> ProcessorResult:
        if self.then is not None and self.match in key:
            then, self.then = self.then, None
            then()
        return result

    def authorize(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        return self._after(key, super().authorize(key, card, amount))

    def capture(
        self, key: str, authorization: AuthorizationToken, amount: Money
    ) -> ProcessorResult:
        return self._after(key, super().capture(key, authorization, amount))

    def void(self, key: str, authorization: AuthorizationToken) -> ProcessorResult:
        return self._after(key, super().void(key, authorization))

    def refund(self, key: str, capture: CaptureToken, amount: Money) -> ProcessorResult:
        return self._after(key, super().refund(key, capture, amount))


World = tuple[BackOffice, BackOffice, Meanwhile, ManualClock]


@pytest.fixture(params=STORES)
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., World]]:
    """Two back offices (two workers) over one store: in memory, or one SQLite file, or
    one PostgreSQL schema with a store each; and one processor."""
    stores = Stores(request.param, tmp_path)

    def world(*amounts: str, multi_capture: bool = True, settings: Settings | None = None) -> World:
        """SO-1 placed, paid by a card per amount (none: not placed)."""
        clock = ManualClock(START)
        sim = Meanwhile(clock=clock, multi_capture=multi_capture)
        store = stores.new()
        bo, other = (BackOffice(store=s, journal=s.journal, processor=sim, settings=settings,
                                clock=clock) for s in (store, stores.again(store)))  # fmt: skip
        if not amounts:
            return bo, other, sim, clock
        payments = [CardPayment(card(f"tok_{n}", f"111{n}"), usd(a)) for n, a in enumerate(amounts)]
        total = sum((usd(a) for a in amounts), usd("0.00"))
        bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER, total=total,
                       payments=payments)  # fmt: skip
        return bo, other, sim, clock

    with stores:
        yield world


#: Out of balance allowed (S1): an order short of its total is invoiced, not held.
OUT_OF_BALANCE_ALLOWED = Settings.default().with_policies(
    completion=CompletionPolicy(allow_out_of_balance=True)
)


def _recovered_then(other: BackOffice, action: Callable[[], object]) -> Callable[[], None]:
    """Another worker's recover() settles the call on its way, then ``action`` runs."""

    def run() -> None:
        other.recover()
        action()

    return run


def _held(sim: SimulatedProcessor, bo: BackOffice) -> list[tuple[str, Money | None]]:
    """What the processor still holds on each of the order's authorizations."""
    order = bo.order("SO-1")
    return [(a.auth_id, sim.authorization_open(a.token.value))
            for line in order.lines for a in line.authorizations]  # fmt: skip


def _moved(sim: SimulatedProcessor) -> list[tuple[str, str, Money]]:
    return [(e.kind, e.key, e.amount) for e in sim.ledger() if e.kind != "authorize"]


def test_a_cancellation_is_refused_while_the_capture_is_on_its_way(
    make: Callable[..., World],
) -> None:
    """O3: with the invoice's capture in doubt, the cancellation moves nothing."""
    bo, other, sim, _ = make("20.00", "30.00")
    refused: list[Exception] = []

    def cancel() -> None:
        with pytest.raises(OperationInDoubt) as caught:
            other.cancel_order("SO-1", AGENT)
        refused.append(caught.value)

    sim.match, sim.then = "capture:INV-1:L1", cancel
    result = bo.invoice("SO-1", "INV-1", usd("50.00"))
    assert refused
    assert (result.order.cancelled, result.uncovered) == (False, usd("0.00"))
    assert [c.amount for c in result.captures] == [usd("20.00"), usd("30.00")]


@pytest.mark.parametrize("pickup", [False, True], ids=["invoice", "pickup"])
def test_no_capture_after_a_cancellation_seen_on_the_way(
    make: Callable[..., World], pickup: bool
) -> None:
    """X1, I1, O5: a recover() settles the first line's capture while it is on its way and
    the order is cancelled (invoiced: the caller is told a manual refund is needed, for
    what was captured then). The run, reading the order again, captures nothing more: the
    second line's authorization is left to lapse, as the cancellation left it."""
    bo, other, sim, _ = make("20.00", "30.00")
    told: list[bool] = []
    sim.match = "capture:INV-1:L1"
    sim.then = _recovered_then(
        other, lambda: told.append(other.cancel_order("SO-1", AGENT).manual_refund_needed)
    )
    run = bo.pickup if pickup else bo.invoice
    result = run("SO-1", "INV-1", usd("50.00"))
    assert told == [True]
    assert result.order.cancelled
    assert [(c.line_id, c.amount) for c in result.captures] == [("L1", usd("20.00"))]
    assert result.uncovered == usd("30.00")
    assert _moved(sim) == [("capture", "SO-1/capture:INV-1:L1:L1.A1#1", usd("20.00"))]
    assert _held(sim, bo) == [("L1.A1", usd("0.00")), ("L2.A1", usd("30.00"))]
    stored = bo.order("SO-1")
    assert (stored.line("L1").captured, stored.line("L2").captured) == (usd("20.00"), usd("0.00"))
    assert [v.amount for v in bo.journal("SO-1")] == [usd("20.00")]
    with pytest.raises(IllegalTransition):
        bo.invoice("SO-1", "INV-1", usd("50.00"))


def test_no_reauthorization_of_a_released_rest_after_a_cancellation(
    make: Callable[..., World],
) -> None:
    """I2, X1: a single capture released the rest of its authorization; the order was
    cancelled meanwhile: the rest is not authorized again."""
    bo, other, sim, _ = make("50.00", multi_capture=False)
    sim.match = "capture:INV-1:L1"
    sim.then = _recovered_then(other, lambda: other.cancel_order("SO-1", AGENT))
    result = bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert result.order.cancelled
    assert [(e.kind, e.key) for e in sim.ledger()] == [
        ("authorize", "SO-1/authorize:L1.A1#1"),
        ("capture", "SO-1/capture:INV-1:L1:L1.A1#1"),
    ]
    assert _held(sim, bo) == [("L1.A1", usd("0.00"))]


def test_no_pickup_retry_after_a_declined_capture_and_a_cancellation(
    make: Callable[..., World],
) -> None:
    """I6, X1: the pickup's capture is declined; the order is cancelled before the run
    hears it: the retry (void, new authorization, capture) is not made."""
    bo, other, sim, _ = make("50.00")
    sim.script("capture", "decline")
    sim.match = "capture:INV-1:L1"
    sim.then = _recovered_then(other, lambda: other.cancel_order("SO-1", AGENT))
    result = bo.pickup("SO-1", "INV-1", usd("20.00"))
    assert result.order.cancelled
    assert result.captures == ()
    assert [(e.kind, e.key) for e in sim.ledger()] == [("authorize", "SO-1/authorize:L1.A1#1")]
    assert _held(sim, bo) == [("L1.A1", usd("50.00"))]


@pytest.mark.parametrize(
    ("at", "calls"),
    [
        ("void:L1.A1", [("void", "SO-1/void:L1.A1#1"), ("authorize", "SO-1/authorize:L1.A2#1")]),
        (
            "authorize:L1.A2",
            [("void", "SO-1/void:L1.A1#1"), ("authorize", "SO-1/authorize:L1.A2#1")],
        ),
    ],
    ids=["after-the-void", "after-the-new-authorization"],
)
def test_no_renewal_nor_capture_after_a_cancellation(
    make: Callable[..., World], at: str, calls: list[tuple[str, str]]
) -> None:
    """I3, X1: an expired authorization is renewed (void, then a new authorization) before
    its capture; the order cancelled after the void, or after the new authorization: the
    run makes no further call, and captures nothing. (After the void, the recover() that
    settled it finished the renewal, A2, before the cancellation: the new authorization
    is the recovery's, left open by the cancellation of an invoiced order, X1.)"""
    bo, other, sim, clock = make("50.00")
    clock.advance(days=15)
    sim.match = at
    sim.then = _recovered_then(other, lambda: other.cancel_order("SO-1", AGENT))
    result = bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert result.order.cancelled
    assert result.captures == ()
    assert [(e.kind, e.key) for e in sim.ledger()][1:] == calls
    assert not bo.order("SO-1").line("L1").renewing


@pytest.mark.parametrize("at", ["void:L1.A1", "authorize:L1.A2"],
                         ids=["after-the-void", "after-the-new-authorization"])  # fmt: skip
def test_the_renewal_job_reports_an_order_cancelled_on_its_way_as_released(
    make: Callable[..., World], at: str
) -> None:
    """A2, X1, O5: the job renews SO-1's 50.00 authorization, due in two days (void, then
    a new authorization); another worker's recover() settles the call on its way and the
    order is cancelled. The job's void released the card, and nothing is renewed for a
    cancelled order: the report lists SO-1 as voided, neither renewed (as it did after the
    new authorization, which the cancellation voided at once) nor skipped (as it did after
    the void, as if the job had left the order alone)."""
    bo, other, sim, clock = make("50.00")
    clock.advance(days=12)
    sim.match = at
    sim.then = _recovered_then(other, lambda: other.cancel_order("SO-1", AGENT))

    report = bo.renew_authorizations()

    assert bo.order("SO-1").cancelled
    assert (report.renewed, report.skipped, report.voided) == ((), (), ("SO-1",))
    assert [held for _, held in _held(sim, bo)] == [usd("0.00") for _ in _held(sim, bo)]


def test_the_renewal_job_reports_an_order_cancelled_between_its_void_and_its_new_authorization(
    make: Callable[..., World], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A2, X1, O5: the job voids SO-1's 50.00 authorization, due in two days; the order is
    cancelled after that void is stored and before the new authorization's intent, whose
    commit loses to the cancellation. The job plans again from the cancelled order, but
    its void released the card: the report lists SO-1 as voided, not skipped (the plan
    made anew had forgotten the void, as if the job had left the order alone)."""
    bo, other, sim, clock = make("50.00")
    clock.advance(days=12)
    record_intents = engine._record_intents  # the moment between two commits
    cancelled: list[str] = []

    def cancel_first(
        ports: Ports, order: Order, batch: tuple[steps.Step, ...], *args: Any, **kw: Any
    ) -> tuple[Order, tuple[Operation, ...], bool]:
        if not cancelled and any(isinstance(step, steps.Authorize) for step in batch):
            cancelled.append(other.cancel_order("SO-1", AGENT).order.order_id)
        return record_intents(ports, order, batch, *args, **kw)

    monkeypatch.setattr(engine, "_record_intents", cancel_first)

    report = bo.renew_authorizations()

    assert cancelled == ["SO-1"]
    assert bo.order("SO-1").cancelled
    assert [(e.kind, e.key) for e in sim.ledger()][1:] == [("void", "SO-1/void:L1.A1#1")]
    assert (report.renewed, report.skipped, report.voided) == ((), (), ("SO-1",))


def test_the_renewal_job_reports_a_retried_line_whose_order_was_cancelled_on_its_way(
    make: Callable[..., World],
) -> None:
    """A2, X1, O5: with retry_declined on, the job authorizes SO-1's declined 50.00 card
    again; another worker's recover() settles the call on its way and the order is
    cancelled, which voids the new authorization. Nothing is renewed for a cancelled
    order, and the job did act (its authorization was released): the report lists SO-1
    as voided, not skipped (as if the job had left the order alone)."""
    retrying = Settings(authorization=AuthorizationPolicy(retry_declined=True))
    bo, other, sim, _ = make(settings=retrying)
    sim.script("authorize", "decline")
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER, total=usd("50.00"),
                   payments=[CardPayment(card("tok_1"), usd("50.00"))])  # fmt: skip
    sim.match = "authorize:L1.A1"
    sim.then = _recovered_then(other, lambda: other.cancel_order("SO-1", AGENT))

    report = bo.renew_authorizations()

    assert bo.order("SO-1").cancelled
    assert [(e.kind, e.key) for e in sim.ledger()] == [
        ("authorize", "SO-1/authorize:L1.A1#2"),
        ("void", "SO-1/void:L1.A1#1"),
    ]
    assert (report.renewed, report.skipped, report.voided) == ((), (), ("SO-1",))
    assert [held for _, held in _held(sim, bo)] == [usd("0.00")]


def test_a_cancellation_that_finds_an_invoice_on_its_way_says_a_manual_refund_is_needed(
    make: Callable[..., World],
) -> None:
    """X1, O5: the cancellation's first void is settled by a recover() while on its way;
    the order, neither cancelled nor in doubt then, is invoiced (10.00 captured on the
    second line). The cancellation, reading the order again, treats it as invoiced: the
    order is cancelled, its captures and open authorizations left alone, and the caller
    told a manual refund is needed (it was told none was, with 10.00 captured). Out of
    balance is allowed here: by default that invoice holds the order instead (see
    :func:`test_an_invoice_on_the_way_of_a_cancellation_holds_the_order_and_it_is_cancelled`).
    """
    bo, other, sim, _ = make("20.00", "30.00", settings=OUT_OF_BALANCE_ALLOWED)
    invoiced: list[Money] = []
    sim.match = "void:L1.A1"
    sim.then = _recovered_then(
        other, lambda: invoiced.append(other.invoice("SO-1", "INV-1", usd("10.00")).uncovered)
    )
    result = bo.cancel_order("SO-1", AGENT)
    assert invoiced == [usd("0.00")]
    assert (result.order.cancelled, result.manual_refund_needed) == (True, True)
    assert result.voided == ("L1.A1",)
    assert _moved(sim) == [
        ("void", "SO-1/void:L1.A1#1", usd("20.00")),
        ("capture", "SO-1/capture:INV-1:L2:L2.A1#1", usd("10.00")),
    ]
    assert _held(sim, bo) == [("L1.A1", usd("0.00")), ("L2.A1", usd("20.00"))]
    assert bo.order("SO-1").line("L2").captured == usd("10.00")


def test_an_invoice_on_the_way_of_a_cancellation_holds_the_order_and_it_is_cancelled(
    make: Callable[..., World],
) -> None:
    """X1, S1, S3, O5: the same race with the default settings: the invoice finds an order
    the cancellation half voided (20.00 of 50.00 voided, out of balance), so it records no
    invoice, captures nothing and holds the order (``OUT_OF_BALANCE``); the cancellation,
    reading the order again, finds no invoice and goes on: L2 voided, the order cancelled,
    no manual refund needed."""
    bo, other, sim, _ = make("20.00", "30.00")
    invoiced: list[bool] = []
    sim.match = "void:L1.A1"
    sim.then = _recovered_then(
        other,
        lambda: invoiced.append(other.invoice("SO-1", "INV-1", usd("10.00")).new_payment_required),
    )
    result = bo.cancel_order("SO-1", AGENT)
    assert invoiced == [True]
    assert (result.order.cancelled, result.manual_refund_needed) == (True, False)
    assert result.voided == ("L1.A1", "L2.A1")
    assert result.order.invoices == ()
    assert _moved(sim) == [
        ("void", "SO-1/void:L1.A1#1", usd("20.00")),
        ("void", "SO-1/void:L2.A1#1", usd("30.00")),
    ]


def test_a_cancellation_that_finds_an_invoice_in_doubt_names_its_capture_in_in_doubt(
    make: Callable[..., World],
) -> None:
    """X1, O3, O5: the cancellation's first void (20.00) is settled by a recover() while on
    its way; the order is then invoiced and that capture (10.00 on the second line) times
    out after the processor took it. The cancellation, reading the order again, stores
    nothing more while the capture is in doubt: the order stays open and ``in_doubt``
    names the capture (it cancelled the order and said a manual refund was needed with
    nothing in doubt, before anyone knew what the invoice took). Cancelling again after
    recover() cancels it and asks for the manual refund. Out of balance is allowed, as
    above."""
    bo, other, sim, _ = make("20.00", "30.00", settings=OUT_OF_BALANCE_ALLOWED)
    invoiced: list[tuple[str, ...]] = []

    def invoice_in_doubt() -> None:
        sim.script("capture", "timeout_after_success")
        invoiced.append(other.invoice("SO-1", "INV-1", usd("10.00")).in_doubt)

    sim.match = "void:L1.A1"
    sim.then = _recovered_then(other, invoice_in_doubt)
    result = bo.cancel_order("SO-1", AGENT)
    capture = "SO-1/capture:INV-1:L2:L2.A1#1"
    assert invoiced == [(capture,)]
    assert (result.order.cancelled, result.manual_refund_needed) == (False, False)
    assert (result.voided, result.in_doubt) == (("L1.A1",), (capture,))
    assert bo.orders(in_doubt=True) == ("SO-1",)
    assert bo.recover().resolved == (capture,)
    again = bo.cancel_order("SO-1", AGENT)
    assert (again.order.cancelled, again.manual_refund_needed, again.in_doubt) == (
        True, True, ())  # fmt: skip
    assert bo.order("SO-1").line("L2").captured == usd("10.00")


def test_a_deposit_cancellation_that_finds_an_invoice_on_its_way_leaves_its_payments(
    make: Callable[..., World],
) -> None:
    """D2, X1, O5: the cancellation of a POS order with a card deposit (50.00) and a cash
    one (30.00) refunds the card deposit less the 10.00 charge; a recover() settles that
    refund on its way, and the order is invoiced (the rest of the card deposit and the
    cash used for it). The cancellation, reading the order again, refunds nothing more:
    the cash paid the invoice (it went back to the customer's account as well), and a
    manual refund is needed."""
    policy = DepositPolicy(default_percent=Decimal(0), cancellation_charge_percent=Decimal(5))
    bo, other, sim, _ = make(settings=Settings.default().with_policies(deposits=policy))
    bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER, total=usd("200.00"),
                   payments=[CardPayment(card(), usd("50.00")), in_cash("30.00")],
                   deposit=True)  # fmt: skip
    sim.match = "refund:CANCEL"
    sim.then = _recovered_then(other, lambda: other.invoice("SO-1", "INV-1", usd("80.00")))
    result = bo.cancel_order("SO-1", AGENT)
    assert (result.order.cancelled, result.manual_refund_needed) == (True, True)
    assert result.refunded == usd("40.00")
    order = bo.order("SO-1")
    assert [(c.capture_id, c.amount) for c in order.line("L2").captures] == [
        ("SO-1/apply:INV-1:L2#1", usd("30.00"))
    ]
    assert (order.refunded, order.line("L2").refunded) == (usd("40.00"), usd("0.00"))
    assert [(v.kind.value, v.amount) for v in bo.journal("SO-1") if v.kind.value == "refund"] == [
        ("refund", usd("40.00"))
    ]


def test_a_return_refunded_while_a_deposit_cancellation_is_on_its_way_is_never_paid_twice(
    make: Callable[..., World],
) -> None:
    """D2, R1, O5: a recover() settles the cancellation's card deposit refund (40.00: 50.00
    less the 10.00 charge) on its way, and a 30.00 return is refunded (the card's last
    10.00, 20.00 by the fallback method). The cancellation, reading the order again, caps
    the cash deposit's refund by what the order still holds less the charge: nothing. The
    customer gets 70.00 of the 80.00 received, the charge kept once."""
    policy = DepositPolicy(default_percent=Decimal(0), cancellation_charge_percent=Decimal(5))
    bo, other, sim, _ = make(settings=Settings.default().with_policies(deposits=policy))
    bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER, total=usd("200.00"),
                   payments=[CardPayment(card(), usd("50.00")), in_cash("30.00")],
                   deposit=True)  # fmt: skip
    sim.match = "refund:CANCEL"
    sim.then = _recovered_then(other, lambda: other.refund("SO-1", "RET-1", usd("30.00"), AGENT))
    result = bo.cancel_order("SO-1", AGENT)
    assert (result.order.cancelled, result.refunded, result.charged) == (
        True, usd("40.00"), usd("10.00"),
    )  # fmt: skip
    assert _moved(sim)[1:] == [
        ("refund", "SO-1/refund:CANCEL:deposit:L1:L1.A1#1:1#1", usd("40.00")),
        ("refund", "SO-1/refund:RET-1:deposit:L1:L1.A1#1:1#1", usd("10.00")),
    ]
    order = bo.order("SO-1")
    assert (order.received, order.refunded, order.line("L2").refunded) == (
        usd("80.00"), usd("70.00"), usd("0.00"),
    )  # fmt: skip
    refunds = [v.amount for v in bo.journal("SO-1") if v.kind.value == "refund"]
    assert sorted(refunds) == [usd("10.00"), usd("20.00"), usd("40.00")]


def test_a_deposit_cancellation_whose_next_refund_an_invoice_overtook_asks_for_a_manual_refund(
    make: Callable[..., World],
) -> None:
    """D2, X1, O5: two card deposits (50.00, 30.00) go back in one batch; a recover()
    settles the first refund (40.00: the 10.00 charge kept) on its way, the second, not yet
    sent, as never received, and the order is invoiced (what is left of both deposits used
    for it). The cancellation leaves the payments, cancels the order and says a manual
    refund is needed: it said the second deposit's refund failed and left the order open,
    though the invoice had used that deposit (a person refunding it by hand, or as told,
    would give it back twice)."""
    policy = DepositPolicy(default_percent=Decimal(0), cancellation_charge_percent=Decimal(5))
    bo, other, sim, _ = make(settings=Settings.default().with_policies(deposits=policy))
    bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER, total=usd("200.00"),
                   payments=[CardPayment(card(), usd("50.00")),
                             CardPayment(card("tok_9", "1119"), usd("30.00"))],
                   deposit=True)  # fmt: skip
    sim.match = "refund:CANCEL:deposit:L1"
    sim.then = _recovered_then(other, lambda: other.invoice("SO-1", "INV-1", usd("80.00")))
    result = bo.cancel_order("SO-1", AGENT)
    assert (result.order.cancelled, result.manual_refund_needed) == (True, True)
    assert (result.refunded, result.failed, result.in_doubt) == (usd("40.00"), (), ())
    assert [(e.kind, e.amount) for e in sim.ledger() if e.kind == "refund"] == [
        ("refund", usd("40.00"))
    ]
    order = bo.order("SO-1")
    assert [(c.capture_id, c.amount) for line in order.lines for c in line.applications] == [
        ("SO-1/use_deposit:INV-1:L1#1", usd("10.00")),
        ("SO-1/use_deposit:INV-1:L2#1", usd("30.00")),
    ]


def test_a_deposit_cancellation_refunds_nothing_more_while_a_return_s_refund_is_in_doubt(
    make: Callable[..., World],
) -> None:
    """D2, O3, X1, O5: as above, but the return's linked refund of the card's last 10.00
    (the charge) is in doubt. The cancellation, reading the order again, moves no money
    while it is (it refunded the cash's 30.00 and said it kept the 10.00 charge; once the
    refund in doubt was settled, the customer had all 80.00 back): the order stays open,
    the caller told which call is in doubt and what was refunded; cancelling again after
    recover() keeps the charge from the cash."""
    policy = DepositPolicy(default_percent=Decimal(0), cancellation_charge_percent=Decimal(5))
    bo, other, sim, _ = make(settings=Settings.default().with_policies(deposits=policy))
    bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER, total=usd("200.00"),
                   payments=[CardPayment(card(), usd("50.00")), in_cash("30.00")],
                   deposit=True)  # fmt: skip

    def then() -> None:
        other.recover()
        sim.script("refund", "timeout_after_success")
        other.refund("SO-1", "RET-1", usd("30.00"), AGENT)

    sim.match, sim.then = "refund:CANCEL", then
    result = bo.cancel_order("SO-1", AGENT)
    doubt = "SO-1/refund:RET-1:deposit:L1:L1.A1#1:1#1"
    assert (result.order.cancelled, result.refunded, result.in_doubt) == (
        False, usd("40.00"), (doubt,),
    )  # fmt: skip
    assert bo.order("SO-1").line("L2").refunded == usd("0.00")
    assert other.recover().resolved == (doubt,)
    again = bo.cancel_order("SO-1", AGENT)
    assert (again.order.cancelled, again.refunded, again.charged) == (
        True, usd("20.00"), usd("10.00"),
    )  # fmt: skip
    order = bo.order("SO-1")
    assert (order.received, order.refunded) == (usd("80.00"), usd("70.00"))
