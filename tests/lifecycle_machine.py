"""The whole payment lifecycle as a hypothesis state machine, checked after every step.

Orders are placed, edited, submitted, re-totalled, invoiced, picked up,
cancelled; the clock moves; the processor declines, times out and crashes;
``recover()`` runs. After every step the invariants V1-V7 hold, and a simple
model of the money (what was invoiced, what the processor holds) agrees.

What is particular to the simulated processor (its cards, its faults, its ledger) sits
behind a few methods a subclass overrides to run the same rules on another connector:
``new_processor``, ``card``, ``_fault``, ``_drain_scripts``, ``_simulated_pending``,
``_moved_keys`` and ``_reconciles``.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import hypothesis.strategies as st
from hypothesis import event
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from ocop import (
    Actor,
    BackOffice,
    CardPayment,
    CardToken,
    Channel,
    Customer,
    FeatureDisabled,
    HoldCode,
    IllegalTransition,
    InvalidInput,
    LineStatus,
    Money,
    OperationInDoubt,
    OperationKind,
    Order,
    Outcome,
    Prepayment,
    RefundExceedsReceived,
    Settings,
    VoucherKind,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedCrash, SimulatedProcessor
from ocop.domain.journal import net_amounts
from ocop.ports.processor import PaymentProcessor

USD = "USD"
#: How long the simulated processor keeps an authorization (its default authorization_days).
PROCESSOR_LIFETIME = timedelta(days=30)
# Mostly approvals, so that orders live long enough to be invoiced; every fault still comes up.
#: The features F1 lets be turned off while OCOP is on (discouraged, with a warning).
DISABLED_LATER = (
    "unified_journal_defaults",
    "duplicate_payment_protection",
    "refunds_over_multiple_captures",
)
FAULTS = ("approve",) * 6 + (
    "decline",
    "timeout_before",
    "timeout_after_success",
    "crash_after_success",
)
#: Captures and refunds may also be answered pending (N1), settled later by a notification.
ASYNC_FAULTS = (*FAULTS, "pending")
EXPECTED = (OperationInDoubt, IllegalTransition, InvalidInput, RefundExceedsReceived)


def usd(cents: int) -> Money:
    return Money.from_minor(cents, USD)


def card(number: int) -> CardToken:
    return CardToken(
        value=f"tok_{number}",
        connector="sim",
        service_account="sa-1",
        brand="visa",
        last4=f"{number % 10000:04d}",
        expiry="2030-12",
        reusable=number % 3 != 0,
    )


cents = st.integers(min_value=1, max_value=50_000)


class Lifecycle(RuleBasedStateMachine):
    """Random back-office days against one in-memory back office and a simulated processor."""

    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
        self.sim = SimulatedProcessor(clock=self.clock, multi_capture=True, adjustments=True)
        self.processor: PaymentProcessor = self.sim
        self.bo = BackOffice.in_memory(processor=self.sim, clock=self.clock)
        self.agent = Actor.call_center(
            "agent", permissions=frozenset({"hold_override", "alternate_payment"})
        )
        self.clerk = Actor.call_center("clerk")  # no override: holds go only with their cause
        self.ids: list[str] = []
        # The simple model beside it: what each order should be invoiced and total.
        self.model_invoiced: dict[str, int] = {}
        self.model_total: dict[str, int] = {}
        self.model_cancelled: set[str] = set()
        self.count = 0
        self.faults = 0
        self.crashes = 0
        self.steps = 0
        self.returns = 0

    @initialize(
        target=orders,
        multi=st.booleans(),
        adjustments=st.booleans(),
        first=st.lists(cents, min_size=2, max_size=2),
        disabled=st.sets(st.sampled_from(DISABLED_LATER), max_size=3),
    )
    def configure(
        self, multi: bool, adjustments: bool, first: list[int], disabled: set[str]
    ) -> MultipleResults[str]:
        """Pick the processor's capabilities and the settings (OCOP on, with any of the three
        features F1 lets be turned off later switched off), and open with two approved
        e-commerce orders."""
        self.processor = self.new_processor(multi=multi, adjustments=adjustments)
        self.settings = Settings.default().with_features(**dict.fromkeys(disabled, False))
        event(f"features off: {', '.join(sorted(disabled)) or 'none'}")
        self.bo = self.back_office()
        placed = []
        for amount in first:
            self.count += 1
            order_id = f"SO-{self.count}"
            self.bo.place_order(
                order_id,
                channel=Channel.ECOMMERCE,
                customer=Customer.named("C-0"),
                total=usd(amount),
                payments=[CardPayment(self.card(self.count), usd(amount))],
            )
            placed.append(order_id)
            self._model(order_id, amount)
        self.ids.extend(placed)
        return multiple(*placed)

    def new_processor(self, *, multi: bool, adjustments: bool) -> PaymentProcessor:
        """The processor of the run, with these capabilities (here the simulated one)."""
        self.sim = SimulatedProcessor(
            clock=self.clock, multi_capture=multi, adjustments=adjustments
        )
        return self.sim

    def card(self, number: int) -> CardToken:
        """The card token of the ``number``-th card (every third one not reusable)."""
        return card(number)

    def back_office(self) -> BackOffice:
        """The back office under test (in memory here; subclasses use other stores)."""
        return BackOffice.in_memory(
            settings=self.settings, processor=self.processor, clock=self.clock
        )

    def teardown(self) -> None:
        """Report the run's size: steps taken and faults injected."""
        event(f"steps: {10 * (self.steps // 10)}+")
        event(f"faults injected: {min(self.faults, 5)}{'+' if self.faults >= 5 else ''}")

    def _model(self, order_id: str, total: int) -> None:
        self.model_invoiced[order_id] = 0
        self.model_total[order_id] = total

    def _fault(self, kind: str, fault: str) -> None:
        """Script the next call of ``kind`` (the simulator's call kinds) with ``fault``."""
        if fault != "approve":
            self.faults += 1
        self.sim.script(kind, fault)

    def _drain_scripts(self) -> None:
        # Scripts not consumed by this step must not leak into the next one.
        self.sim._scripts.clear()

    def _simulated_pending(self) -> tuple[str, ...]:
        """The keys of the pending calls the ``notify`` rule may settle at the simulator."""
        return self.sim.pending_keys()

    def _moved_keys(self) -> list[str]:
        """The operation key of every money movement at the processor (V6)."""
        return [entry.key for entry in self.sim.ledger()]

    def _order(self, order_id: str) -> Order:
        return self.bo.order(order_id)

    # -- rules ---------------------------------------------------------------------------
    @rule(
        target=orders,
        channel=st.sampled_from([Channel.ECOMMERCE, Channel.POS, Channel.CALL_CENTER]),
        card_cents=cents,
        cash_cents=st.integers(min_value=0, max_value=5_000),
        fault=st.sampled_from(FAULTS),
    )
    def place(self, channel: Channel, card_cents: int, cash_cents: int, fault: str) -> str:
        """A channel places an order paid by card, with an optional cash deposit."""
        self.count += 1
        order_id = f"SO-{self.count}"
        payments: list[CardPayment | Prepayment] = [
            CardPayment(self.card(self.count), usd(card_cents))
        ]
        if cash_cents:
            payments.append(Prepayment("cash", amount=usd(cash_cents)))
        self._fault("authorize", fault)
        try:
            self.bo.place_order(
                order_id,
                channel=channel,
                customer=Customer.named(f"C-{self.count}"),
                total=usd(card_cents + cash_cents),
                payments=payments,
            )
        except SimulatedCrash:
            self.crashes += 1
        self._drain_scripts()
        self.ids.append(order_id)
        self._model(order_id, card_cents + cash_cents)
        return order_id

    @rule(
        target=orders,
        card_cents=cents,
        cash_cents=st.integers(min_value=0, max_value=5_000),
        rest_cents=st.integers(min_value=0, max_value=50_000),
        fault=st.sampled_from(FAULTS),
    )
    def place_deposit(self, card_cents: int, cash_cents: int, rest_cents: int, fault: str) -> str:
        """A POS customer order takes a card deposit (and perhaps cash), captured at once;
        the rest of its total is due later (D1)."""
        self.count += 1
        order_id = f"SO-{self.count}"
        payments: list[CardPayment | Prepayment] = [
            CardPayment(self.card(self.count), usd(card_cents))
        ]
        if cash_cents:
            payments.append(Prepayment("cash", amount=usd(cash_cents)))
        order_total = card_cents + cash_cents + rest_cents
        self._fault("capture", fault)
        try:
            self.bo.place_order(
                order_id,
                channel=Channel.POS,
                customer=Customer.named(f"C-{self.count}"),
                total=usd(order_total),
                payments=payments,
                deposit=True,
            )
        except SimulatedCrash:
            self.crashes += 1
        self._drain_scripts()
        self.ids.append(order_id)
        self._model(order_id, order_total)
        return order_id

    @rule(order_id=orders, delta=st.integers(min_value=-5_000, max_value=5_000),
          fault=st.sampled_from(FAULTS))  # fmt: skip
    def complete(self, order_id: str, delta: int, fault: str) -> None:
        """The call center changes the first card line's amount and submits."""
        self._fault("adjust", fault)
        self._fault("authorize", fault)
        try:
            draft = self.bo.begin_completion(order_id, self.agent)
            cards = [line for line in draft.lines if line.is_card and line.active]
            if cards and delta:
                target = cards[0].amount.minor + delta
                draft = draft.change_amount(cards[0].line_id, usd(max(target, 1)))
            self.bo.submit(draft)
        except EXPECTED:
            pass
        except SimulatedCrash:
            self.crashes += 1
        self._drain_scripts()

    @rule(order_id=orders, delta=st.integers(min_value=-3_000, max_value=3_000))
    def change_total(self, order_id: str, delta: int) -> None:
        """The order is edited: a new total, completion needed again."""
        order = self._order(order_id)
        new_total = max(order.total.minor + delta, 0)
        with suppress(*EXPECTED):
            self.bo.change_total(order_id, usd(new_total), self.agent)
            self.model_total[order_id] = new_total

    @rule(order_id=orders, share=st.integers(min_value=1, max_value=100),
          fault=st.sampled_from(ASYNC_FAULTS), repeat=st.booleans(),
          pickup=st.booleans())  # fmt: skip
    def invoice(self, order_id: str, share: int, fault: str, repeat: bool, pickup: bool) -> None:
        """Invoice part of what is left (or repeat the last invoice), with a scripted fault."""
        order = self._order(order_id)
        left = order.total - order.invoiced
        new = not (repeat and order.invoices)
        if not new:
            last = order.invoices[-1]
            invoice_id, amount = last.invoice_id, last.amount
        else:
            invoice_id = f"INV-{len(order.invoices) + 1}"
            amount = left.scaled(Decimal(share) / 100).max(usd(1))
        self._fault("capture", fault)
        try:
            if pickup:
                result = self.bo.pickup(order_id, invoice_id, amount)
            else:
                result = self.bo.invoice(order_id, invoice_id, amount)
            event(f"invoice: {'in doubt' if result.in_doubt else len(result.captures)} captures")
            recorded = any(i.invoice_id == invoice_id for i in result.order.invoices)
            if new and not recorded:
                # X1, S1: lines a cancellation voided (it stopped at a void in doubt) left the
                # order short: held, the invoice not recorded, nothing captured.
                assert not order.cancelled
                assert any(line.status is LineStatus.VOIDED for line in order.lines)
                assert result.new_payment_required
                assert not result.captures
                assert result.order.has_hold(HoldCode.OUT_OF_BALANCE)
            elif new:
                self.model_invoiced[order_id] += amount.minor
        except EXPECTED as refused:
            event(f"invoice refused: {type(refused).__name__}")
        except SimulatedCrash:
            event("invoice crashed")
            if new:  # the invoice was recorded before the capture that crashed
                self.model_invoiced[order_id] += amount.minor
        self._drain_scripts()

    @rule(order_id=orders, fault=st.sampled_from(FAULTS))
    def cancel(self, order_id: str, fault: str) -> None:
        """The order is cancelled; uncaptured authorizations are voided."""
        self._fault("void", fault)
        try:
            result = self.bo.cancel_order(order_id, self.agent)
            if result.order.cancelled:
                self.model_cancelled.add(order_id)
        except EXPECTED:
            pass
        except SimulatedCrash:
            self.crashes += 1
        self._drain_scripts()

    @rule(order_id=orders, share=st.integers(min_value=1, max_value=120),
          fault=st.sampled_from(ASYNC_FAULTS), unlinked=st.booleans())  # fmt: skip
    def refund(self, order_id: str, share: int, fault: str, unlinked: bool) -> None:
        """A return is refunded: linked over the captures, or to another card."""
        order = self._order(order_id)
        self.returns += 1
        return_id = f"RMA-{self.returns}"
        amount = (order.received - order.refunded).scaled(Decimal(share) / 100).max(usd(1))
        if unlinked and fault == "pending":
            fault = "approve"  # the simulator answers only linked refunds pending
        self._fault("unlinked_refund" if unlinked else "refund", fault)
        try:
            if unlinked:
                self.bo.refund_to_card(order_id, return_id, self.card(9999), amount, self.agent)
            else:
                self.bo.refund(order_id, return_id, amount, self.agent)
            event("refund done")
        except EXPECTED as refused:
            event(f"refund refused: {type(refused).__name__}")
        except FeatureDisabled:
            # R4 needs a processor with unreferenced refunds (the simulator has them).
            assert unlinked
            assert not self.processor.capabilities.unlinked_refunds
            event("refund refused: no unlinked refunds at this processor")
        except SimulatedCrash:
            event("refund crashed")
        self._drain_scripts()

    @rule(days=st.integers(min_value=0, max_value=20))
    def advance(self, days: int) -> None:
        """Time passes; authorizations age."""
        self.clock.advance(days=days)

    @rule()
    def recover(self) -> None:
        """Recovery resolves everything the simulated processor can tell (V5), and finishes
        the renewals it interrupted: no line is left under renewal (A2)."""
        report = self.bo.recover()
        event(f"recovered {min(len(report.resolved), 3)}+ operations")
        if report.renewals:
            event("recovery finished a renewal")
        assert report.still_in_doubt == ()
        assert report.unapplied == ()
        self._reconciles()
        for order_id in self.ids:
            assert not any(line.renewing for line in self._order(order_id).lines)

    @precondition(lambda self: bool(self._simulated_pending()))
    @rule(data=st.data(), outcome=st.sampled_from(("approve", "decline")), duplicate=st.booleans())
    def notify(self, data: st.DataObject, outcome: str, duplicate: bool) -> None:
        """The processor settles some pending calls and its notifications arrive, in any
        order, maybe twice (N2): each is applied once, the rest are duplicates."""
        pending = list(self.sim.pending_keys())
        keys = data.draw(st.lists(st.sampled_from(pending), min_size=1, unique=True))
        notes = list(self.sim.settle_pending(outcome, keys=keys))
        deliveries = data.draw(st.permutations(notes + notes if duplicate else notes))
        applied: list[str] = []
        for note in deliveries:
            result = self.bo.handle_notification(note)
            assert not result.unmatched
            if result.applied:
                applied.append(note.key)
            else:
                assert result.duplicate
        assert sorted(applied) == sorted(keys)  # each once
        event(f"notifications: {outcome}")

    @rule(kind=st.sampled_from(("void", "authorize")), fault=st.sampled_from(FAULTS))
    def renew(self, kind: str, fault: str) -> None:
        """The authorization renewal job runs (A1, A2); a fault may hit a renewal's void or
        its new authorization. Whatever it reports, each renewed order's lines that are
        due are authorized afresh, and every held one is held for an expired one."""
        self._fault(kind, fault)
        try:
            report = self.bo.renew_authorizations()
        except SimulatedCrash:
            self.crashes += 1
            event("renewal crashed")
            self._drain_scripts()
            return
        self._drain_scripts()
        for name in ("renewed", "declined", "held", "voided", "in_doubt", "skipped"):
            if getattr(report, name):
                event(f"renewal job: {name}")
        for order_id in report.held:
            assert self._order(order_id).has_hold(HoldCode.AUTHORIZATION_EXPIRED)
        for order_id in report.voided:
            # Released because nothing will capture it (cancelled or fully invoiced), or
            # voided again after a pending void the processor refused in the end (V5).
            order = self._order(order_id)
            refused_void = any(
                op.kind is OperationKind.VOID and op.outcome is Outcome.DECLINED
                for op in self.bo.operations(order_id)
            )
            assert order.cancelled or order.invoiced >= order.total or refused_void
        now = self.clock.now()
        for order_id in report.renewed:
            if order_id in report.held or order_id in report.in_doubt:
                continue  # another line of it could not be renewed, or is not known yet
            for line in self._order(order_id).lines:
                assert not line.renewing or order_id in report.in_doubt
                if line.is_card and line.active and not line.pending_removal:
                    for auth in line.open_authorizations():
                        assert now - auth.authorized_at < timedelta(days=12)  # none still due

    @precondition(lambda self: bool(self.ids))
    @rule(data=st.data())
    def release_out_of_balance(self, data: st.DataObject) -> None:
        """A supervisor releases an out-of-balance hold with the override permission."""
        order_id = data.draw(st.sampled_from(self.ids))
        with suppress(*EXPECTED):
            self.bo.release_hold(order_id, HoldCode.OUT_OF_BALANCE, self.agent)

    @precondition(lambda self: bool(self.ids))
    @rule(data=st.data(), reason=st.sampled_from(Settings.default().hold_reasons))
    def hold_by_hand(self, data: st.DataObject, reason: str) -> None:
        """A call center user places a manual hold (S4); nothing moves while it stands."""
        order_id = data.draw(st.sampled_from(self.ids))
        with suppress(*EXPECTED):
            order = self.bo.place_hold(order_id, HoldCode.MANUAL, self.clerk, reason=reason)
            assert order.has_hold(HoldCode.MANUAL)
            assert not order.approved
            event("manual hold placed")

    @precondition(lambda self: bool(self.ids))
    @rule(data=st.data(), code=st.sampled_from(sorted(HoldCode)))
    def release_without_override(self, data: st.DataObject, code: HoldCode) -> None:
        """A clerk without hold_override releases a hold: only once its cause is gone (S4)."""
        order_id = data.draw(st.sampled_from(self.ids))
        with suppress(*EXPECTED):
            order = self.bo.release_hold(order_id, code, self.clerk)
            assert not order.has_hold(code)
            assert order.released_holds[-1].released_by == self.clerk.actor_id
            event(f"released {code.value} without override")

    # -- invariants ----------------------------------------------------------------------
    @invariant()
    def money_rules_hold(self) -> None:
        """V1, V2, V3, V7 for every order, and never more captured than invoiced (I4)."""
        self.steps += 1
        for order_id in self.ids:
            order = self._order(order_id)
            for line in order.lines:
                assert line.currency == order.currency  # V7
                for auth in line.authorizations:
                    assert auth.captured + auth.voided <= auth.amount  # V1
                for capture in line.captures:
                    assert capture.refunded <= capture.amount  # V2
            assert order.refunded <= order.received  # V3
            assert order.invoiced <= order.total or order.cancelled
            # Card money taken for invoices (captures, and uses of a card deposit) never
            # exceeds what was invoiced: no double charge (I4). A deposit is captured before
            # any invoice (D1), never beyond the deposit, and invoices use no more of it
            # than it holds.
            card_for_invoices = sum(
                c.amount.minor
                for ln in order.lines
                if ln.is_card
                for c in (*ln.captures, *ln.applications)
                if c.invoice_id is not None
            )
            if self.settings.features.duplicate_payment_protection:
                assert card_for_invoices <= order.invoiced.minor  # no double charge (I4)
            for ln in order.lines:
                deposit_captured = sum(c.amount.minor for c in ln.deposit_captures)
                assert deposit_captured <= (ln.amount.minor if ln.deposit else 0)
                used = sum(a.amount.minor for a in ln.applications)
                assert used <= deposit_captured

    @invariant()
    def agrees_with_the_model(self) -> None:
        """Totals, invoiced amounts and cancellations are what the model expects."""
        for order_id in self.ids:
            order = self._order(order_id)
            assert order.total.minor == self.model_total[order_id]
            assert order.invoiced.minor == self.model_invoiced[order_id]
            assert order.cancelled == (order_id in self.model_cancelled)

    @invariant()
    def journal_matches_receipts(self) -> None:
        """V4: vouchers (posted or waiting in the outbox) balance and match receipts."""
        with self.bo.ports.store.unit_of_work() as uow:
            pending = uow.outbox.pending()
        for order_id in self.ids:
            order = self._order(order_id)
            vouchers = [*self.bo.journal(order_id), *(v for v in pending if v.order_id == order_id)]
            # Per kind, vouchers less their reversals (a capture or refund the processor
            # rejected after approving it is reversed, N4).
            net = net_amounts(vouchers, order.currency)
            assert net[VoucherKind.PAYMENT] == order.received
            assert net[VoucherKind.REFUND] == order.refunded
            assert net[VoucherKind.CHARGEBACK] == order.charged_back

    @invariant()
    def one_key_one_movement(self) -> None:
        """V6: no operation key moved money twice at the processor."""
        keys = self._moved_keys()
        assert len(keys) == len(set(keys))

    def _reconciles(self) -> None:
        """V5: after recovery the processor's records and ocop's agree."""
        ledger = self.sim.ledger()
        for order_id in self.ids:
            order = self._order(order_id)
            prefix = f"{order_id}/"
            mine = [e for e in ledger if e.key.startswith(prefix)]
            theirs = {e.key: e.amount for e in mine if e.kind == "capture"}
            their_refunds = {e.key: e.amount for e in mine if "refund" in e.kind}
            our_refunds = {
                r.refund_id: r.amount for ln in order.lines for r in ln.refunds if not r.pending
            }
            our_refunds.update((r.refund_id, r.amount) for r in order.other_refunds)
            assert their_refunds == {k: v for k, v in our_refunds.items() if k in their_refunds}
            assert set(their_refunds) == {
                k for k in our_refunds if "/refund:" in k or "/unlinked_refund:" in k
            }
            ours = {
                c.capture_id: c.amount
                for ln in order.lines
                if ln.is_card
                for c in ln.captures
                if not c.pending  # a pending capture is in the processor's books once settled
            }
            assert theirs == ours
            authorized = {e.key for e in mine if e.kind == "authorize"}
            auths = {a.auth_id for ln in order.lines for a in ln.authorizations}
            assert len(authorized) == len(auths)
            for line in order.lines:
                for auth in line.authorizations:
                    theirs_open = self.sim.authorization_open(auth.token.value)
                    if self.clock.now() - auth.authorized_at >= PROCESSOR_LIFETIME:
                        # I3, A1: the processor dropped it, whatever its record still says;
                        # ocop let it lapse with no call (nothing open), or has yet to.
                        zero = Money.zero(order.currency)
                        assert auth.open_amount in (theirs_open, zero)
                        continue
                    assert theirs_open == auth.open_amount
