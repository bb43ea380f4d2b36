"""A model of what ocop must do, and a state machine that holds ocop to it.

:class:`ModelLifecycle` runs random back-office days (placing, invoicing, picking up,
editing, refunding, cancelling, recovering, time passing) against one back office and,
beside it, a plain-Python model of the rules. The model predicts every result before the
call: the captures and refunds it makes (ids and amounts), what the fallback refunds,
what failed, what is in doubt, the holds, and whether a new payment is required. A call
the model says is valid must succeed with exactly that result (liveness); a call it says
is refused must raise the predicted error class with the predicted attributes. After
every step each order's amounts, lines and holds must equal the model's.

Each run draws a currency with 0, 2, 3 or 4 minor units (CLF, a funds code ISO gives four)
and a processor with or without multi-capture and adjustments. Faults (decline, timeout
before the call arrives, timeout after the money moved) are scripted on captures, refunds
and voids, and the processor can be made *blind*: its lookups answer "unknown" so that
``recover()`` meets outcomes it cannot decide yet. Orders, lines and amounts are kept
small so that runs reach the interesting states (partial invoices, renewals, retries)
often.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import hypothesis.strategies as st
import pytest
from hypothesis import event
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from ocop import (
    Actor,
    BackOffice,
    CancelResult,
    CardPayment,
    CardToken,
    Channel,
    Customer,
    HoldCode,
    IllegalTransition,
    InvalidDraftEdit,
    InvoiceResult,
    Money,
    OcopError,
    OperationInDoubt,
    Order,
    OrderStatus,
    Prepayment,
    RefundExceedsReceived,
    RefundResult,
    Settings,
    VoucherKind,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain.invoice_tasks import RETIRED_SHORT
from ocop.domain.operations import Outcome, ProcessorResult
from ocop.ports.processor import PaymentProcessor

START = datetime(2026, 1, 1, tzinfo=UTC)
EXPIRY = timedelta(days=14)  # Settings.default(): I3's expiry age ...
STALE = timedelta(days=30)  # ... and stale period
CUSTOMER = Customer.named("C-1")
AGENT = Actor.call_center("agent", permissions=frozenset({"hold_override", "alternate_payment"}))
#: What the processor does with the next call of a kind: mostly approvals, so that orders
#: live long enough to be invoiced and refunded, and every fault still comes up.
FAULTS = ("approve",) * 5 + ("decline", "timeout_before", "timeout_after_success")
VOID_FAULTS = ("approve",) * 4 + ("timeout_before", "timeout_after_success")
#: Few orders, so that each lives through many invoices, refunds and recoveries.
MAX_ORDERS = 3


class BlindableProcessor(SimulatedProcessor):
    """The simulated processor, whose lookups answer "unknown" while it is blind (O2, N3)."""

    blind = False

    def lookup(self, key: str) -> ProcessorResult:
        if self.blind:
            return ProcessorResult(key=key, outcome=Outcome.UNKNOWN, reason="lookup unavailable")
        return super().lookup(key)


# -- the model ---------------------------------------------------------------------------
@dataclass
class MCapture:
    """A capture (card) or a prepayment application (cash) to one invoice."""

    capture_id: str
    line_id: str
    invoice_id: str
    amount: int
    at: datetime
    refunded: int = 0
    auth_id: str = ""


@dataclass
class MRefund:
    refund_id: str
    return_id: str
    amount: int
    capture_id: str | None = None
    method: str = "card"


@dataclass
class MLine:
    """A payment line: a card with at most one open authorization, or a cash deposit."""

    line_id: str
    card: CardToken | None
    amount: int
    open: int = 0
    auth_id: str = ""
    auths: int = 0
    auth_at: datetime = START
    declined: bool = False
    voided: bool = False
    captures: list[MCapture] = field(default_factory=list)
    refunds: list[MRefund] = field(default_factory=list)

    @property
    def is_card(self) -> bool:
        return self.card is not None

    @property
    def active(self) -> bool:
        return not (self.declined or self.voided)

    @property
    def captured(self) -> int:
        return sum(c.amount for c in self.captures) if self.is_card else 0

    @property
    def refunded(self) -> int:
        return sum(r.amount for r in self.refunds)

    @property
    def received(self) -> int:
        return self.captured if self.is_card else self.amount

    @property
    def capturable(self) -> int:
        if not self.active:
            return 0
        if self.is_card:
            return self.open
        return max(self.amount - sum(c.amount for c in self.captures) - self.refunded, 0)


@dataclass
class Pending:
    """An operation in doubt, and what it did at the processor if it went through."""

    key: str
    effect: Callable[[], None] | None  # None: the call never arrived


@dataclass
class MOrder:
    order_id: str
    total: int
    lines: list[MLine]
    invoices: dict[str, int] = field(default_factory=dict)
    holds: set[HoldCode] = field(default_factory=set)
    others: list[MRefund] = field(default_factory=list)
    needs_completion: bool = False
    cancelled: bool = False
    attempts: Counter[str] = field(default_factory=Counter)
    approved_steps: set[str] = field(default_factory=set)
    pending: list[Pending] = field(default_factory=list)
    #: the last release of its OUT_OF_BALANCE hold was an override (S4)
    balance_overridden: bool = False
    #: ... of the hold an invoice put for lines a cancellation voided (X1, S1)
    retired_overridden: bool = False

    def line(self, line_id: str) -> MLine:
        return next(line for line in self.lines if line.line_id == line_id)

    @property
    def received(self) -> int:
        return sum(line.received for line in self.lines)

    @property
    def refunded(self) -> int:
        return sum(line.refunded for line in self.lines) + sum(r.amount for r in self.others)

    @property
    def invoiced(self) -> int:
        return sum(self.invoices.values())

    @property
    def paid(self) -> int:
        paid = 0
        for line in self.lines:
            paid += line.received - line.refunded + (line.open if line.active else 0)
        return paid - sum(r.amount for r in self.others)

    @property
    def approved(self) -> bool:
        return not (self.cancelled or self.holds or self.needs_completion)

    @property
    def retired_short(self) -> bool:
        """X1, S1, S3: card lines voided while the order is not cancelled (a cancellation
        stopped at a void in doubt) leave it out of balance and its active lines short of
        what is left to invoice: an invoice holds it instead of recording itself."""
        if self.cancelled or self.needs_completion or self.retired_overridden:
            return False
        if not any(line.is_card and line.voided for line in self.lines):
            return False
        if self.paid == self.total:  # in balance (the defaults: no tolerance)
            return False
        lacking = sum(max(a - self.covered(i), 0) for i, a in self.invoices.items())
        need = max(self.total - self.invoiced, 0) + lacking
        have = sum(
            (max(line.amount - line.captured, 0) if line.is_card else line.capturable)
            for line in self.lines
            if line.active
        )
        return have < need

    @property
    def status(self) -> OrderStatus:
        if self.cancelled:
            return OrderStatus.CANCELLED
        if self.holds:
            return OrderStatus.ON_HOLD
        if self.needs_completion:
            return OrderStatus.PENDING_COMPLETION
        if self.invoices:
            if self.invoiced >= self.total:
                return OrderStatus.INVOICED
            return OrderStatus.PARTIALLY_INVOICED
        return OrderStatus.APPROVED

    def covered(self, invoice_id: str) -> int:
        return sum(c.amount for ln in self.lines for c in ln.captures if c.invoice_id == invoice_id)

    def refunded_for(self, return_id: str) -> int:
        linked = sum(r.amount for ln in self.lines for r in ln.refunds if r.return_id == return_id)
        return linked + sum(r.amount for r in self.others if r.return_id == return_id)

    def key(self, step: str) -> str:
        """The key of the next attempt of ``step`` (O4)."""
        self.attempts[step] += 1
        return f"{self.order_id}/{step}#{self.attempts[step]}"


def _capture_step(line: MLine, invoice_id: str) -> str:
    """An invoice's next capture on the line's open authorization (I4): the first keeps the
    plain name, one the invoice comes back for is numbered."""
    step = f"capture:{invoice_id}:{line.line_id}:{line.auth_id}"
    done = sum(1 for c in line.captures if c.invoice_id == invoice_id and c.auth_id == line.auth_id)
    return step if done == 0 else f"{step}:{done + 1}"


@dataclass
class Refusal:
    """A call the model says is refused: the error class and its attributes."""

    error: type[OcopError]
    attributes: dict[str, object]


@dataclass
class InvoiceRun:
    """What one invoice run did so far (the model's side)."""

    order: MOrder
    invoice_id: str
    pickup: bool
    fault: str
    failed: list[str] = field(default_factory=list)
    in_doubt: bool = False
    #: lines whose expired authorization was not renewed (I3), one each
    expired: set[str] = field(default_factory=set)
    #: I2: a single capture released the rest of a line's authorization, and its card
    #: cannot be authorized again
    short: bool = False
    new_payment: bool = False


class ModelLifecycle(RuleBasedStateMachine):
    """Random back-office days, every result predicted by the model."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(START)
        self.settings = Settings.default()  # the model predicts the defaults (F1: all on)
        self.currency = "USD"
        self.multi = True
        self.adjustments = True
        self.lookups = BlindableProcessor(clock=self.clock)
        self.sim: SimulatedProcessor = self.lookups
        self.processor: PaymentProcessor = self.sim  # what the back offices are wired to
        self.bo = BackOffice.in_memory(processor=self.sim, clock=self.clock)
        self.model: dict[str, MOrder] = {}
        self.returns = 0
        self.return_amounts: dict[str, int] = {}  # what each return asked for

    # -- wiring ------------------------------------------------------------------------
    @initialize(
        currency=st.sampled_from(["USD", "JPY", "KWD", "CLF"]),
        multi=st.booleans(),
        adjustments=st.booleans(),
    )
    def configure(self, currency: str, multi: bool, adjustments: bool) -> None:
        """Pick the run's currency and the processor's capabilities."""
        self.currency, self.multi, self.adjustments = currency, multi, adjustments
        self.lookups = BlindableProcessor(
            clock=self.clock, multi_capture=multi, adjustments=adjustments
        )
        self.sim = self.processor = self.lookups
        self.bo = self.back_office()
        event(f"currency {currency}, multi-capture {multi}, adjustments {adjustments}")

    def back_office(self) -> BackOffice:
        """The back office under test (in memory; subclasses may use other stores)."""
        return BackOffice.in_memory(settings=self.settings, processor=self.sim, clock=self.clock)

    def money(self, minor: int) -> Money:
        return Money.from_minor(minor, self.currency)

    def _script(self, kind: str, fault: str) -> None:
        self.sim._scripts.clear()
        self.sim.script(kind, fault)

    def _done(self) -> None:
        # A fault the step did not reach must not leak into the next step.
        self.sim._scripts.clear()

    def _expect_refusal(self, refusal: Refusal, call: Callable[[], object]) -> None:
        with pytest.raises(refusal.error) as raised:
            call()
        for name, value in refusal.attributes.items():
            got = getattr(raised.value, name)
            if name == "keys":  # operations in doubt, in any order
                got = tuple(sorted(got))
            assert got == value, (name, got, value)
        event(f"refused: {refusal.error.__name__}")

    def _doubt(self, m: MOrder) -> Refusal | None:
        if not m.pending:
            return None
        keys = tuple(sorted(p.key for p in m.pending))
        return Refusal(OperationInDoubt, {"order_id": m.order_id, "keys": keys})

    def _pick(self, data: st.DataObject) -> MOrder:
        order_id = data.draw(st.sampled_from(sorted(self.model)), label="order")
        return self.model[order_id]

    # -- processor steps of the model -----------------------------------------------
    def _authorize(self, m: MOrder, line: MLine, amount: int) -> None:
        """An approved authorization of ``amount`` on the line's card: the new open one."""
        line.auths += 1
        line.auth_id = f"{line.line_id}.A{line.auths}"
        m.approved_steps.add(f"authorize:{line.auth_id}")
        m.key(f"authorize:{line.auth_id}")
        line.open, line.auth_at, line.declined, line.voided = amount, self.clock.now(), False, False

    def _void(self, m: MOrder, line: MLine) -> None:
        m.key(f"void:{line.auth_id}")
        m.approved_steps.add(f"void:{line.auth_id}")
        line.open = 0

    def _record_capture(self, m: MOrder, line: MLine, key: str, invoice_id: str, part: int) -> None:
        line.captures.append(
            MCapture(key, line.line_id, invoice_id, part, self.clock.now(), auth_id=line.auth_id)
        )
        line.open -= part
        if not self.multi:
            line.open = 0  # a single capture releases the rest

    # -- rules: the channel side ------------------------------------------------------
    @precondition(lambda self: len(self.model) < MAX_ORDERS)
    @rule(
        channel=st.sampled_from([Channel.ECOMMERCE, Channel.POS]),
        cards=st.lists(st.integers(1, 40_000), min_size=1, max_size=2),
        cash=st.integers(0, 3_000),
        reusable=st.lists(st.booleans(), min_size=2, max_size=2),
    )
    def place(self, channel: Channel, cards: list[int], cash: int, reusable: list[bool]) -> None:
        """A channel places an order paid by one or two cards and maybe cash: approved."""
        order_id = f"SO-{len(self.model) + 1}"
        lines: list[MLine] = []
        payments: list[CardPayment | Prepayment] = []
        for number, amount in enumerate(cards, start=1):
            token = CardToken(value=f"tok_{order_id}_{number}", connector="sim",
                              service_account="sa-1", brand="visa", last4=f"{number:04d}",
                              expiry="2030-12", reusable=reusable[number - 1])  # fmt: skip
            payments.append(CardPayment(token, self.money(amount)))
            lines.append(MLine(f"L{number}", token, amount))
        if cash:
            payments.append(Prepayment("cash", amount=self.money(cash)))
            lines.append(MLine(f"L{len(lines) + 1}", None, cash))
        m = MOrder(order_id, sum(cards) + cash, lines)
        for line in lines:
            if line.is_card:
                self._authorize(m, line, line.amount)
        order = self.bo.place_order(order_id, channel=channel, customer=CUSTOMER,
                                    total=self.money(m.total), payments=payments)  # fmt: skip
        self.model[order_id] = m
        assert order.status is OrderStatus.APPROVED
        self._agrees(m, order)

    # -- rules: invoicing -----------------------------------------------------------------
    @precondition(lambda self: bool(self.model))
    @rule(
        data=st.data(),
        share=st.integers(1, 101),
        fault=st.sampled_from(FAULTS),
        pickup=st.booleans(),
        repeat=st.booleans(),
    )
    def invoice(
        self, data: st.DataObject, share: int, fault: str, pickup: bool, repeat: bool
    ) -> None:
        """Invoice part of what is left, or repeat an invoice; predicted to the cent."""
        m = self._pick(data)
        if repeat and m.invoices and m.approved:
            # A repeat on an order that is not approved changes with the engine rebuild.
            invoice_id = data.draw(st.sampled_from(sorted(m.invoices)), label="repeat")
            amount = m.invoices[invoice_id]
        else:
            repeat = False
            invoice_id = f"INV-{len(m.invoices) + 1}"
            left = m.total - m.invoiced
            amount = left + 1 if share > 100 else max(left * share // 100, 1)
        refusal = self._invoice_refusal(m, invoice_id, amount, repeat=repeat)
        self._script("capture", fault)
        call = self.bo.pickup if pickup else self.bo.invoice
        if refusal is not None:
            self._expect_refusal(refusal, lambda: call(m.order_id, invoice_id, self.money(amount)))
            self._done()
            return
        run = InvoiceRun(m, invoice_id, pickup, fault)
        self._run_invoice(run, amount, repeat=repeat)
        result = call(m.order_id, invoice_id, self.money(amount))
        self._done()
        self._check_invoice(run, amount, result)

    def _invoice_refusal(
        self, m: MOrder, invoice_id: str, amount: int, *, repeat: bool
    ) -> Refusal | None:
        doubt = self._doubt(m)
        if doubt is not None:
            return doubt
        if not repeat and m.invoiced + amount > m.total:
            return Refusal(
                IllegalTransition,
                {"order_id": m.order_id, "amount": self.money(amount).amount},
            )
        if m.cancelled or not (repeat or m.approved):
            return Refusal(IllegalTransition, {"order_id": m.order_id})
        return None

    def _run_invoice(self, run: InvoiceRun, amount: int, *, repeat: bool) -> None:
        m = run.order
        remaining = amount - m.covered(run.invoice_id)
        if not repeat and m.retired_short:  # held, no invoice recorded, nothing captured
            m.holds.add(HoldCode.OUT_OF_BALANCE)
            run.new_payment = True
            return
        if not repeat:
            m.invoices[run.invoice_id] = amount
        if m.approved and remaining > 0:
            for line in m.lines:
                if line.is_card and line.active:
                    self._reauthorize_released(run, line, captured=False)
        parts = self._plan(m, remaining)
        for line, part in parts:
            if run.in_doubt:
                break
            if line.is_card:
                self._capture_line(run, line, part)
            else:
                number = len(line.captures) + 1
                capture_id = f"{m.order_id}/apply:{run.invoice_id}:{line.line_id}#{number}"
                line.captures.append(
                    MCapture(capture_id, line.line_id, run.invoice_id, part, self.clock.now())
                )
        if run.expired:
            m.holds.add(HoldCode.AUTHORIZATION_EXPIRED)
        if run.short and m.paid != m.total:  # out of balance (the defaults: no tolerance)
            m.holds.add(HoldCode.OUT_OF_BALANCE)
            run.new_payment = True

    def _plan(self, m: MOrder, amount: int) -> list[tuple[MLine, int]]:
        """I1: prepayments first, then card lines in line order, each up to its capturable."""
        parts = []
        for line, available in self._sources(m):
            part = min(amount, available)
            if part > 0:
                parts.append((line, part))
                amount -= part
        return parts

    def _sources(self, m: MOrder) -> list[tuple[MLine, int]]:
        """What each line can give to invoices, in I1's order."""
        ordered = [ln for ln in m.lines if not ln.is_card] + [ln for ln in m.lines if ln.is_card]
        # Refunds not linked to a capture (fallback, to another card) beyond the invoiced
        # money they may stand for came out of cash no invoice used: it covers none.
        invoiced = sum(max(sum(c.amount for c in ln.captures) - ln.refunded, 0)
                       for ln in m.lines if not ln.is_card)  # fmt: skip
        invoiced += sum(c.amount - c.refunded for ln in m.lines if ln.is_card for c in ln.captures)
        gone = max(sum(r.amount for r in m.others) - invoiced, 0)
        sources = []
        for line in ordered:
            available = line.capturable
            if not line.is_card:
                cut = min(available, gone)
                available, gone = available - cut, gone - cut
            sources.append((line, available))
        return sources

    def _rest_wanted(self, m: MOrder, wanted: MLine) -> int:
        """I2, I1: what the invoices may still take from ``wanted`` beyond what it holds:
        what is left to invoice less what I1 takes first and the line itself gives."""
        lacking = sum(max(amount - m.covered(i), 0) for i, amount in m.invoices.items())
        need = max(m.total - m.invoiced, 0) + lacking
        for line, available in self._sources(m):
            if line is wanted:
                return max(need - available, 0)
            need = max(need - available, 0)
        return 0

    def _reauthorize_released(self, run: InvoiceRun, line: MLine, *, captured: bool = True) -> None:
        """I2: a line that lost its authorization to a single capture gets the rest again;
        with a card that cannot be authorized again, the run ends short (unless the run
        found it so, and a person overrode the hold it left, S4)."""
        assert line.card is not None
        missing = line.amount - line.captured - line.open
        if missing > 0 and line.open == 0:
            if line.card.reusable:
                # never more than the invoices may still take from it; the line then asks
                # no more (an overpaid order's rest is not held again)
                wanted = min(missing, self._rest_wanted(run.order, line))
                if wanted > 0:
                    line.amount -= missing - wanted
                    self._authorize(run.order, line, wanted)
            elif captured or not run.order.balance_overridden:
                run.short = True

    def _capture_line(self, run: InvoiceRun, line: MLine, part: int) -> None:
        m = run.order
        assert line.card is not None
        age = self.clock.now() - line.auth_at
        if age >= EXPIRY:
            run.expired.add(line.line_id)
            if age >= STALE:
                run.failed.append(line.line_id)  # refused locally: no processor call
                return
            old_open = line.open
            self._void(m, line)
            if not line.card.reusable:
                run.failed.append(line.line_id)
                line.declined = line.captured == 0
                return
            self._authorize(m, line, old_open)
            run.expired.discard(line.line_id)  # renewed; another line's may not be
        step = _capture_step(line, run.invoice_id)
        if step in m.approved_steps:
            self._reauthorize_released(run, line)  # the step already happened (I4)
            return
        key = m.key(step)
        fault = run.fault
        run.fault = "approve"  # the script is for the first capture only
        if fault == "approve":
            m.approved_steps.add(step)
            self._record_capture(m, line, key, run.invoice_id, part)
            self._reauthorize_released(run, line)
        elif fault == "decline":
            run.failed.append(line.line_id)
            if run.pickup:
                self._pickup_retry(run, line, part)
        else:
            run.in_doubt = True
            effect = None
            if fault == "timeout_after_success":

                def effect() -> None:
                    m.approved_steps.add(step)
                    self._record_capture(m, line, key, run.invoice_id, part)
                    # I2: found by recover(), a released rest the card cannot be asked for
                    # again holds the order as the run does live
                    assert line.card is not None
                    missing = line.amount - line.captured - line.open
                    released = not self.multi and not line.card.reusable and missing > 0
                    if released and not m.cancelled and m.paid != m.total:
                        m.holds.add(HoldCode.OUT_OF_BALANCE)

            m.pending.append(Pending(key, effect))

    def _pickup_retry(self, run: InvoiceRun, line: MLine, part: int) -> None:
        """I6: void what is open, authorize again, capture once more; a single-use card
        cannot be authorized again: its authorization is kept, a new payment required."""
        m = run.order
        if line.card is not None and not line.card.reusable:
            run.new_payment = True
            return
        still_open = line.open
        if still_open > 0:
            self._void(m, line)
        self._authorize(m, line, max(still_open, part))
        step = _capture_step(line, run.invoice_id)
        m.approved_steps.add(step)
        self._record_capture(m, line, m.key(step), run.invoice_id, part)
        run.failed = [x for x in run.failed if x != line.line_id]
        self._reauthorize_released(run, line)  # as after a first capture (I2)

    def _check_invoice(self, run: InvoiceRun, amount: int, result: InvoiceResult) -> None:
        m = run.order
        expected = [
            (c.capture_id, c.line_id, c.amount)
            for line in m.lines
            for c in line.captures
            if c.invoice_id == run.invoice_id
        ]
        got = [(c.capture_id, c.line_id, c.amount.minor) for c in result.captures]
        assert got == expected
        assert all(c.invoice_id == run.invoice_id for c in result.captures)
        assert result.uncovered == self.money(amount - m.covered(run.invoice_id))
        assert list(result.failed) == run.failed
        assert bool(result.in_doubt) == run.in_doubt
        assert result.new_payment_required == run.new_payment
        assert result.invoice_id == run.invoice_id
        self._agrees(m, result.order)
        event(f"invoice: {'in doubt' if run.in_doubt else f'{len(expected)} captures'}")

    # -- rules: completion --------------------------------------------------------------
    @precondition(lambda self: bool(self.model))
    @rule(data=st.data(), delta=st.integers(-3_000, 3_000), balanced=st.booleans())
    def edit(self, data: st.DataObject, delta: int, balanced: bool) -> None:
        """The call center changes the first card line (and the total) and submits (C3, S1);
        without adjustments a single-use card's line is refused (C5 once captured)."""
        m = self._pick(data)
        line = m.lines[0]
        if m.cancelled or m.invoices or m.pending or not line.active or line.open == 0:
            return
        new = max(line.amount + delta, 1)
        delta = new - line.amount
        balanced = balanced and m.total + delta >= 0
        if balanced:
            self.bo.change_total(m.order_id, self.money(m.total + delta), AGENT)
            m.total += delta
            m.needs_completion = True
        draft = self.bo.begin_completion(m.order_id, AGENT)
        draft = draft.change_amount(line.line_id, self.money(new))
        single_use = line.card is not None and not line.card.reusable
        # C3, I3: an authorization past the expiry age is renewed, never adjusted.
        adjusts = self.adjustments and self.clock.now() - line.auth_at < EXPIRY
        if delta and not adjusts and single_use and new > line.captured:
            # C3, C5: the new amount needs the used single-use token authorized again:
            # submit refuses the draft before any call, and nothing changes.
            rule = "C5" if line.captured else "C3"
            refusal = Refusal(InvalidDraftEdit, {"rule": rule, "line_id": line.line_id})
            self._expect_refusal(refusal, lambda: self.bo.submit(draft))
            self._agrees(m, self.bo.order(m.order_id))
            return
        calls = 0
        if delta:
            line.amount = new
            calls = 2
            if adjusts:
                m.key(f"adjust:{line.auth_id}:{self.money(line.open + delta).amount}")
                line.open += delta
                calls = 1
            else:
                self._void(m, line)
                self._authorize(m, line, new)
        result = self.bo.submit(draft)
        m.needs_completion = False
        if HoldCode.OUT_OF_BALANCE in m.holds and m.paid == m.total:
            m.balance_overridden = False  # released by the submit: its cause is gone
            m.retired_overridden = False
        # S4: submit decides its own holds again; a manual hold stays until released.
        m.holds &= {HoldCode.MANUAL}
        if m.paid != m.total:
            m.holds.add(HoldCode.OUT_OF_BALANCE)
        assert result.processor_calls == calls
        assert not result.in_doubt
        assert result.approved == (not m.holds)
        assert {h.code for h in result.holds} == m.holds
        self._agrees(m, result.order)
        event(f"edit: {'approved' if result.approved else 'held'}")

    @precondition(lambda self: any(m.holds for m in self.model.values()))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        """A supervisor with the override permission releases a hold (S4)."""
        m = self._pick(data)
        code = data.draw(st.sampled_from(sorted(HoldCode)), label="hold")
        if m.cancelled or code not in m.holds:
            refusal = Refusal(IllegalTransition, {"order_id": m.order_id})
            self._expect_refusal(refusal, lambda: self.bo.release_hold(m.order_id, code, AGENT))
            return
        order = self.bo.release_hold(m.order_id, code, AGENT)
        m.holds.discard(code)
        self._agrees(m, order)
        released = order.released_holds[-1]
        if code is HoldCode.OUT_OF_BALANCE:
            m.balance_overridden = released.override
            m.retired_overridden = released.override and released.hold.reason == RETIRED_SHORT
        assert (released.code, released.released_by, released.released_at) == (
            code, AGENT.actor_id, self.clock.now(),
        )  # fmt: skip

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data(), reason=st.sampled_from(Settings.default().hold_reasons))
    def hold_by_hand(self, data: st.DataObject, reason: str) -> None:
        """A call center user puts an order on a manual hold with a reason code (S4): one at
        a time, never on a cancelled order; who, when and why are kept."""
        m = self._pick(data)

        def place() -> Order:
            return self.bo.place_hold(m.order_id, HoldCode.MANUAL, AGENT, reason=reason,
                                      note="held by the model")  # fmt: skip

        if m.cancelled or HoldCode.MANUAL in m.holds:
            self._expect_refusal(Refusal(IllegalTransition, {"order_id": m.order_id}), place)
            return
        order = place()
        m.holds.add(HoldCode.MANUAL)
        self._agrees(m, order)
        hold = order.hold(HoldCode.MANUAL)
        assert hold is not None
        assert (hold.reason_code, hold.placed_by, hold.placed_at) == (
            reason, AGENT.actor_id, self.clock.now(),
        )  # fmt: skip
        event("manual hold placed")

    # -- rules: refunds -----------------------------------------------------------------
    @precondition(lambda self: bool(self.model))
    @rule(
        data=st.data(),
        share=st.integers(1, 120),
        fault=st.sampled_from(FAULTS),
        name_invoice=st.booleans(),
        again=st.booleans(),
    )
    def refund(
        self, data: st.DataObject, share: int, fault: str, name_invoice: bool, again: bool
    ) -> None:
        """A return is refunded over the captures, newest first, the rest by fallback (R1-R5)."""
        m = self._pick(data)
        return_id, amount = self._return(m, share, again)
        invoices = (sorted(m.invoices)[-1],) if name_invoice and m.invoices else ()
        self._script("refund", fault)

        def call() -> RefundResult:
            return self.bo.refund(
                m.order_id, return_id, self.money(amount), AGENT, invoices=invoices
            )

        refusal = self._refund_refusal(m, return_id, amount)
        if refusal is not None:
            self._expect_refusal(refusal, call)
            self._done()
            return
        still = amount - m.refunded_for(return_id)
        failed: list[str] = []
        in_doubt = False
        if still > 0:
            plan = self._refund_plan(m, invoices, still)
            rest = still - sum(part for _, _, part in plan)
            for line, capture, part in plan:
                done = sum(
                    1
                    for r in line.refunds
                    if r.return_id == return_id and r.capture_id == capture.capture_id
                )
                local = capture.capture_id.removeprefix(f"{m.order_id}/")
                key = m.key(f"refund:{return_id}:{local}:{done + 1}")
                refund = MRefund(key, return_id, part, capture.capture_id)
                if fault == "approve":
                    self._apply_refund(line, capture, refund)
                elif fault == "decline":
                    failed.append(capture.capture_id)
                else:
                    # The return's refunds go out together: one in doubt stops no other.
                    in_doubt = True
                    m.pending.append(self._pending_refund(key, line, capture, refund, fault))
                fault = "approve"
            if rest > 0 and not failed and not in_doubt:
                number = sum(1 for r in m.others if r.return_id == return_id) + 1
                refund_id = f"{m.order_id}/fallback:{return_id}#{number}"
                m.others.append(MRefund(refund_id, return_id, rest, method="customer_account"))
        result = call()
        self._done()
        self._check_refund(m, return_id, result, failed, in_doubt)

    def _return(self, m: MOrder, share: int, again: bool) -> tuple[str, int]:
        """A new return for a share of what is refundable, or a retry of the last one."""
        if again and self.returns and f"RMA-{self.returns}" in self.return_amounts:
            return_id = f"RMA-{self.returns}"
            return return_id, self.return_amounts[return_id]
        self.returns += 1
        return_id = f"RMA-{self.returns}"
        amount = max((m.received - m.refunded) * share // 100, 1)
        self.return_amounts[return_id] = amount
        return return_id, amount

    def _refund_refusal(self, m: MOrder, return_id: str, amount: int) -> Refusal | None:
        doubt = self._doubt(m)
        if doubt is not None:
            return doubt
        still = max(amount - m.refunded_for(return_id), 0)
        if still > m.received - m.refunded:
            return Refusal(
                RefundExceedsReceived,
                {"order_id": m.order_id, "amount": self.money(amount).amount},
            )
        return None

    def _refund_plan(
        self, m: MOrder, invoices: tuple[str, ...], amount: int
    ) -> list[tuple[MLine, MCapture, int]]:
        """R1: named invoices' captures first, then the newest first (ties: the later)."""
        captures = [
            (line, c)
            for line in m.lines
            if line.is_card
            for c in line.captures
            if c.amount - c.refunded > 0
        ]
        named = [pair for inv in invoices for pair in captures if pair[1].invoice_id == inv]
        rest = [(i, pair) for i, pair in enumerate(captures) if pair not in named]
        newest = [pair for _, pair in sorted(rest, key=lambda x: (x[1][1].at, x[0]), reverse=True)]
        plan = []
        for line, capture in [*named, *newest]:
            part = min(amount, capture.amount - capture.refunded)
            if part > 0:
                plan.append((line, capture, part))
                amount -= part
        return plan

    @staticmethod
    def _apply_refund(line: MLine, capture: MCapture, refund: MRefund) -> None:
        capture.refunded += refund.amount
        line.refunds.append(refund)

    def _pending_refund(
        self, key: str, line: MLine, capture: MCapture, refund: MRefund, fault: str
    ) -> Pending:
        if fault == "timeout_before":
            return Pending(key, None)
        return Pending(key, lambda: self._apply_refund(line, capture, refund))

    def _check_refund(
        self,
        m: MOrder,
        return_id: str,
        result: RefundResult,
        failed: list[str],
        in_doubt: bool,
    ) -> None:
        linked = [
            (r.refund_id, r.capture_id, r.amount)
            for line in m.lines
            for r in line.refunds
            if r.return_id == return_id
        ]
        linked += [
            (r.refund_id, None, r.amount)
            for r in m.others
            if r.return_id == return_id and r.method == "card"
        ]
        got = [(r.refund_id, r.capture_id, r.amount.minor) for r in result.refunds]
        assert got == linked
        fallback = sum(
            r.amount for r in m.others if r.return_id == return_id and r.method != "card"
        )
        assert result.fallback == self.money(fallback)
        assert list(result.failed) == failed
        assert bool(result.in_doubt) == in_doubt
        self._agrees(m, result.order)
        event(f"refund: {'in doubt' if in_doubt else f'{len(linked)} linked'}")

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data(), share=st.integers(1, 120), fault=st.sampled_from(FAULTS))
    def refund_to_card(self, data: st.DataObject, share: int, fault: str) -> None:
        """R4: a return paid to another card, with the alternate-payment permission."""
        m = self._pick(data)
        return_id, amount = self._return(m, share, again=False)
        other = CardToken(value="tok_other", connector="sim", service_account="sa-1",
                          brand="mc", last4="4444", expiry="2030-12")  # fmt: skip
        self._script("unlinked_refund", fault)

        def call() -> RefundResult:
            return self.bo.refund_to_card(m.order_id, return_id, other, self.money(amount), AGENT)

        refusal = self._refund_refusal(m, return_id, amount)
        if refusal is not None:
            self._expect_refusal(refusal, call)
            self._done()
            return
        key = m.key(f"unlinked_refund:{return_id}:1")
        refund = MRefund(key, return_id, amount)
        failed: list[str] = []
        if fault == "approve":
            m.others.append(refund)
        elif fault == "decline":
            failed.append(other.display)
        elif fault == "timeout_before":
            m.pending.append(Pending(key, None))
        else:
            m.pending.append(Pending(key, lambda: m.others.append(refund)))
        result = call()
        self._done()
        self._check_refund(m, return_id, result, failed, fault.startswith("timeout"))

    # -- rules: cancellation ------------------------------------------------------------
    @precondition(lambda self: bool(self.model))
    @rule(data=st.data(), fault=st.sampled_from(VOID_FAULTS))
    def cancel(self, data: st.DataObject, fault: str) -> None:
        """X1: void what is open and refund deposits; once invoiced, a manual refund."""
        m = self._pick(data)
        self._script("void", fault)

        def call() -> CancelResult:
            return self.bo.cancel_order(m.order_id, AGENT)

        refusal = (
            Refusal(IllegalTransition, {"order_id": m.order_id}) if m.cancelled else self._doubt(m)
        )
        if refusal is not None:
            self._expect_refusal(refusal, call)
            self._done()
            return
        voided: list[str] = []
        doubt: list[str] = []
        refunded: int | None = None
        if not m.invoices:
            for line in m.lines:
                if line.open == 0:
                    continue
                step = f"void:{line.auth_id}"
                key = m.key(step)
                if fault == "approve":
                    voided.append(line.auth_id)
                    self._cancel_void(m, line, step)
                else:  # the first void in doubt stops the cancellation (O3)
                    doubt.append(key)
                    effect = None
                    if fault == "timeout_after_success":
                        effect = self._cancel_void_later(m, line, step)
                    m.pending.append(Pending(key, effect))
                    break
                fault = "approve"
            if not doubt:
                refunded = 0
                for line in m.lines:
                    left = min(line.received - line.refunded, m.received - m.refunded)
                    if not line.is_card and left > 0:
                        refund_id = f"{m.order_id}/cancel:{line.line_id}"
                        line.refunds.append(MRefund(refund_id, "CANCEL", left, method="cash"))
                        refunded += left
        if not doubt:
            m.cancelled = True
        result = call()
        self._done()
        assert list(result.voided) == voided
        assert list(result.in_doubt) == doubt
        assert result.manual_refund_needed == bool(m.invoices)
        assert result.refunded == (None if refunded is None else self.money(refunded))
        self._agrees(m, result.order)

    def _cancel_void(self, m: MOrder, line: MLine, step: str) -> None:
        m.approved_steps.add(step)
        line.open = 0
        line.voided = line.captured == 0

    def _cancel_void_later(self, m: MOrder, line: MLine, step: str) -> Callable[[], None]:
        return lambda: self._cancel_void(m, line, step)

    # -- rules: time and recovery -------------------------------------------------------
    @rule(days=st.sampled_from([0, 1, 3, 7, 14]))
    def advance(self, days: int) -> None:
        """Time passes; authorizations age towards expiry (14 days) and staleness (30)."""
        self.clock.advance(days=days)

    @rule(blind=st.booleans())
    def processor_lookups(self, blind: bool) -> None:
        """The processor's lookups stop (or start again) answering."""
        self.lookups.blind = blind

    @rule()
    def recover(self) -> None:
        """O2: recovery settles what the processor can tell, exactly once; the rest waits."""
        pending = [p for m in self.model.values() for p in m.pending]
        report = self.bo.recover()
        keys = sorted(p.key for p in pending)
        if self.lookups.blind:
            assert sorted(report.still_in_doubt) == keys
            assert report.resolved == ()
            event(f"recovery blind to {min(len(keys), 2)}+ operations")
        else:
            assert sorted(report.resolved) == keys
            assert report.still_in_doubt == ()
            for m in self.model.values():
                for p in m.pending:
                    if p.effect is not None:
                        p.effect()
                m.pending.clear()
            self._reconciles()
            event(f"recovered {min(len(keys), 2)}+ operations")
        assert report.unapplied == ()

    # -- the model agrees ---------------------------------------------------------------
    def _agrees(self, m: MOrder, order: Order) -> None:
        """The stored order is exactly what the model says."""
        assert order.total == self.money(m.total)
        assert order.status is m.status, (order.status, m.status)
        assert {h.code for h in order.holds} == m.holds
        assert order.invoiced == self.money(m.invoiced)
        assert order.received == self.money(m.received)
        assert order.refunded == self.money(m.refunded)
        assert order.paid == self.money(m.paid)
        assert [i.invoice_id for i in order.invoices] == list(m.invoices)
        assert len(order.lines) == len(m.lines)
        for line, ml in zip(order.lines, m.lines, strict=True):
            assert line.line_id == ml.line_id
            assert line.amount == self.money(ml.amount)
            assert line.authorized == self.money(ml.open), (line.line_id, line.authorized)
            assert line.active == ml.active, (line.line_id, line.status)
            assert [(c.capture_id, c.invoice_id, c.amount.minor) for c in line.captures] == [
                (c.capture_id, c.invoice_id, c.amount) for c in ml.captures
            ]
            assert [(r.refund_id, r.amount.minor) for r in line.refunds] == [
                (r.refund_id, r.amount) for r in ml.refunds
            ]
            if ml.is_card and ml.open:
                assert line.open_authorizations()[-1].auth_id == ml.auth_id
        assert [(r.refund_id, r.amount.minor, r.method) for r in order.other_refunds] == [
            (r.refund_id, r.amount, r.method) for r in m.others
        ]

    @invariant()
    def every_order_agrees_with_the_model(self) -> None:
        """After every step, every order is what the model says, and V1-V3, V7 hold."""
        for m in self.model.values():
            order = self.bo.order(m.order_id)
            self._agrees(m, order)
            for line in order.lines:
                assert line.currency == self.currency  # V7
                for auth in line.authorizations:
                    assert auth.captured + auth.voided <= auth.amount  # V1
                for capture in line.captures:
                    assert capture.refunded <= capture.amount  # V2
            assert order.refunded <= order.received  # V3

    @invariant()
    def journals_match_receipts_and_refunds(self) -> None:
        """V4: vouchers (posted or in the outbox) balance and add up to receipts and refunds."""
        with self.bo.ports.store.unit_of_work() as uow:
            pending = uow.outbox.pending()
        for m in self.model.values():
            vouchers = [
                *self.bo.journal(m.order_id),
                *(v for v in pending if v.order_id == m.order_id),
            ]
            assert len({v.voucher_id for v in vouchers}) == len(vouchers)
            paid = sum(v.amount.minor for v in vouchers if v.kind is VoucherKind.PAYMENT)
            refunded = sum(v.amount.minor for v in vouchers if v.kind is VoucherKind.REFUND)
            assert paid == m.received  # captures and posted deposits
            assert refunded == m.refunded

    @invariant()
    def one_key_one_movement(self) -> None:
        """V6: no operation key moved money twice at the processor."""
        keys = [entry.key for entry in self.sim.ledger()]
        assert len(keys) == len(set(keys))

    def _reconciles(self) -> None:
        """V5: once nothing is in doubt, the processor's records and ocop's agree."""
        ledger = self.sim.ledger()
        for m in self.model.values():
            mine = [e for e in ledger if e.key.startswith(f"{m.order_id}/")]
            captures = {e.key: e.amount.minor for e in mine if e.kind == "capture"}
            ours = {c.capture_id: c.amount for ln in m.lines if ln.is_card for c in ln.captures}
            assert captures == ours
            refunds = {e.key: e.amount.minor for e in mine if "refund" in e.kind}
            linked = {r.refund_id: r.amount for ln in m.lines if ln.is_card for r in ln.refunds}
            unlinked = {r.refund_id: r.amount for r in m.others if r.method == "card"}
            assert refunds == {**linked, **unlinked}
            order = self.bo.order(m.order_id)
            for line in order.lines:
                for auth in line.authorizations:
                    assert self.sim.authorization_open(auth.token.value) == auth.open_amount
