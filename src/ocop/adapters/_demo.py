"""``ocop demo``: the library's capabilities, walked through on the simulated processor."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TextIO, TypeVar

from ocop._backoffice import BackOffice
from ocop.adapters._tables import lines_table, table
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain.errors import FeatureDisabled, OperationInDoubt
from ocop.domain.keys import authorize_step, capture_step, operation_key, refund_step
from ocop.domain.money import Money
from ocop.domain.operations import ProcessorResult
from ocop.domain.order import Channel, HoldCode, Order
from ocop.domain.parties import Actor, Customer
from ocop.domain.payments import CardPayment, Prepayment, SavedCardPayment
from ocop.domain.settings import DepositPolicy, Settings
from ocop.domain.tender import Authorization, Capture, PaymentLine, Refund
from ocop.domain.tokens import (
    AuthorizationToken,
    CaptureToken,
    CardToken,
    ProcessorToken,
    RefundToken,
)
from ocop.ports.processor import PaymentProcessor

START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)

_Token = TypeVar("_Token", bound=ProcessorToken)


def demo_card(value: str = "tok_visa_1", last4: str = "1111") -> CardToken:
    return CardToken(
        value=value,
        connector="sim",
        service_account="sa-1",
        brand="visa",
        last4=last4,
        expiry="2030-12",
        reusable=True,
    )


def _line_table(line: PaymentLine) -> str:
    return lines_table([line])


def _ledger_table(sim: SimulatedProcessor) -> str:
    return table(
        ["kind", "operation key", "amount", "reference"],
        [[e.kind, e.key, e.amount, e.reference] for e in sim.ledger()],
    )


def _token(result: ProcessorResult, kind: type[_Token]) -> _Token:
    """The token of ``kind`` an approved demo step carries; RuntimeError if there is none."""
    if not result.approved:
        raise RuntimeError(f"demo step was not approved: {result.outcome} {result.reason}")
    if not isinstance(result.token, kind):
        raise RuntimeError(f"demo step {result.key} was approved but carries no {kind.__name__}")
    return result.token


def line_walkthrough(out: TextIO) -> None:
    """One card line: authorize, capture twice (two invoices), refund part of a capture."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    processor: PaymentProcessor = sim
    usd = "USD"
    line = PaymentLine.card_line("L1", demo_card(), Money.of("100.00", usd))
    out.write("== One card line through the processor port ==\n")
    out.write(_line_table(line) + "\n\n")

    # The keys the back office would send for these steps (docs/idempotency-keys.md).
    auth_id = "L1.A1"
    auth = processor.authorize(operation_key("SO-1", authorize_step(auth_id), 1), demo_card(),
                               line.amount)  # fmt: skip
    auth_token = _token(auth, AuthorizationToken)
    line = line.authorized_with(
        Authorization(
            auth_id=auth_id,
            token=auth_token,
            amount=line.amount,
            authorized_at=clock.now(),
            multi_capture=auth.multi_capture,
            captured=Money.zero(usd),
            voided=Money.zero(usd),
        )
    )
    out.write("authorized 100.00:\n" + _line_table(line) + "\n\n")

    captured: dict[str, CaptureToken] = {}
    for number, amount in ((1, "60.00"), (2, "40.00")):
        clock.advance(days=1)
        taken = Money.of(amount, usd)
        capture_id = operation_key("SO-1", capture_step(f"INV-{number}", "L1", auth_id), 1)
        cap = processor.capture(capture_id, auth_token, taken)
        captured[capture_id] = _token(cap, CaptureToken)
        line = line.captured_with(
            Capture(
                capture_id=capture_id,
                line_id="L1",
                invoice_id=f"INV-{number}",
                amount=taken,
                auth_id=auth_id,
                token=captured[capture_id],
                refunded=Money.zero(usd),
                captured_at=clock.now(),
            )
        )
        out.write(f"invoice INV-{number} captured {taken}:\n" + _line_table(line) + "\n\n")

    clock.advance(days=2)
    refund_amount = Money.of("25.00", usd)
    second = capture_id  # INV-2's capture
    refund_id = operation_key("SO-1", refund_step("SO-1", "RMA-1", second, 1), 1)
    ref = processor.refund(refund_id, captured[second], refund_amount)
    line = line.refunded_with(
        Refund(
            refund_id=refund_id,
            return_id="RMA-1",
            amount=refund_amount,
            capture_id=second,
            token=_token(ref, RefundToken),
            refunded_at=clock.now(),
        )
    )
    out.write("return RMA-1 refunded 25.00 against INV-2's capture:\n" + _line_table(line) + "\n\n")
    out.write("The processor's own ledger:\n" + _ledger_table(sim) + "\n\n")


def _order_table(order: Order) -> str:
    return lines_table(order.lines)


def _summary(order: Order) -> str:
    holds = ", ".join(h.code.value for h in order.holds) or "none"
    return (
        f"order {order.order_id} ({order.channel.value}, {order.payments_type.value} payments): "
        f"{order.status.value}, total {order.total}, balance due {order.balance_due}, "
        f"holds: {holds}"
    )


def _show(out: TextIO, title: str, order: Order) -> None:
    out.write(f"{title}\n{_summary(order)}\n{_order_table(order)}\n\n")


def _world(settings: Settings | None = None) -> tuple[ManualClock, SimulatedProcessor, BackOffice]:
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    return clock, sim, BackOffice.in_memory(settings=settings, processor=sim, clock=clock)


def completion_walkthrough(out: TextIO) -> None:
    """Issue 3: edit an e-commerce order's payments after a call; cancel; OCOP gating."""
    clock, sim, bo = _world()
    usd = "USD"
    agent = Actor.call_center("agent-7", permissions=frozenset({"hold_override"}))
    customer = Customer.named("C-1")
    out.write("== Editing an e-commerce order's payments after the customer calls ==\n")
    saved = bo.save_instrument(customer, demo_card(), consent=True)
    out.write(f"C-1 saved {saved.display} as {saved.instrument_id}\n")
    order = bo.place_order(
        "SO-100",
        channel=Channel.ECOMMERCE,
        customer=customer,
        total=Money.of("100.00", usd),
        payments=[SavedCardPayment(saved.instrument_id, cvv="737", amount=Money.of("100.00", usd))],
    )
    _show(out, "placed online, paid with the saved card (CVV sent to the processor only):", order)
    clock.advance(hours=2)
    order = bo.change_total("SO-100", Money.of("150.00", usd), agent)
    _show(out, "the customer calls and adds an item: total 150.00, completion needed:", order)
    draft = bo.begin_completion("SO-100", agent)
    draft = draft.change_amount("L1", Money.of("120.00", usd)).add_card(
        demo_card("tok_mc_2", "4444"), Money.of("30.00", usd)
    )
    out.write(f"draft: L1 raised to 120.00, a second card for 30.00; due {draft.balance_due}\n")
    result = bo.submit(draft)
    _show(out, f"submitted: approved={result.approved}", result.order)

    out.write("== Cancelling a POS order's uncaptured payments ==\n")
    order = bo.place_order(
        "SO-200",
        channel=Channel.POS,
        customer=Customer.guest(),
        total=Money.of("80.00", usd),
        payments=[
            CardPayment(demo_card("tok_pos_3", "0005"), Money.of("60.00", usd)),
            Prepayment("cash", amount=Money.of("20.00", usd)),
        ],
    )
    _show(out, "placed at the POS: card authorized, cash deposit posted:", order)
    cancelled = bo.cancel_order("SO-200", agent)
    _show(
        out,
        f"cancelled: voided {', '.join(cancelled.voided)}, deposit refunded {cancelled.refunded}:",
        cancelled.order,
    )

    out.write("== A commerce order while omni-channel order payments is off ==\n")
    off = bo.with_settings(Settings.default().with_features(omni_channel_order_payments=False))
    try:
        off.begin_completion("SO-100", agent)
    except FeatureDisabled as refused:
        out.write(f"refused: {refused}\n\n")
    out.write("The processor's ledger:\n" + _ledger_table(sim) + "\n\n")


def invoicing_walkthrough(out: TextIO) -> None:
    """Issue 4: two shipments on one authorization; a timeout, recovery, one capture."""
    clock, sim, bo = _world()
    usd = "USD"
    out.write("== Two shipments, two captures on one authorization ==\n")
    bo.place_order(
        "SO-300",
        channel=Channel.ECOMMERCE,
        customer=Customer.named("C-2"),
        total=Money.of("100.00", usd),
        payments=[CardPayment(demo_card(), Money.of("100.00", usd))],
    )
    clock.advance(days=2)
    first = bo.invoice("SO-300", "INV-1", Money.of("60.00", usd))
    clock.advance(days=3)
    second = bo.invoice("SO-300", "INV-2", Money.of("40.00", usd))
    captures = [*first.captures, *second.captures]
    out.write(
        table(
            ["invoice", "line", "capture", "amount"],
            [[c.invoice_id, c.line_id, c.capture_id, c.amount] for c in captures],
        )
        + "\n"
    )
    _show(out, "after both invoices:", second.order)

    out.write("== A capture that timed out after the processor took the money ==\n")
    bo.place_order(
        "SO-400",
        channel=Channel.ECOMMERCE,
        customer=Customer.named("C-3"),
        total=Money.of("75.00", usd),
        payments=[CardPayment(demo_card("tok_visa_4", "4242"), Money.of("75.00", usd))],
    )
    sim.script("capture", "timeout_after_success")
    attempt = bo.invoice("SO-400", "INV-1", Money.of("75.00", usd))
    out.write(
        f"invoice INV-1: in doubt={attempt.in_doubt}, captures recorded={len(attempt.captures)}\n"
    )
    try:
        bo.invoice("SO-400", "INV-1", Money.of("75.00", usd))
    except OperationInDoubt as refused:
        out.write(f"retry refused while in doubt: {refused}\n")
    report = bo.recover()
    out.write(
        f"recover(): resolved {len(report.resolved)}, still in doubt {len(report.still_in_doubt)}\n"
    )
    retry = bo.invoice("SO-400", "INV-1", Money.of("75.00", usd))
    captures_at_processor = [e for e in sim.ledger() if e.kind == "capture" and "SO-400" in e.key]
    out.write(
        f"retried invoice INV-1: captures recorded={len(retry.captures)}, "
        f"captures at the processor={len(captures_at_processor)}\n\n"
    )
    out.write("The processor's ledger:\n" + _ledger_table(sim) + "\n")
    out.write("The payment journal of SO-400:\n")
    out.write(
        table(
            ["voucher", "journal", "kind", "amount", "reference"],
            [
                [v.voucher_id, v.journal_name, v.kind, v.amount, v.reference]
                for v in bo.journal("SO-400")
            ],
        )
        + "\n"
    )


def refund_walkthrough(out: TextIO) -> None:
    """Returns: linked refunds over two captures, the fallback, an unlinked refund."""
    clock, sim, bo = _world()
    usd = "USD"
    agent = Actor.call_center("agent-9", permissions=frozenset({"alternate_payment"}))
    out.write("== A return refunded over the captures of two invoices ==\n")
    bo.place_order(
        "SO-500",
        channel=Channel.ECOMMERCE,
        customer=Customer.named("C-5"),
        total=Money.of("100.00", usd),
        payments=[
            CardPayment(demo_card(), Money.of("90.00", usd)),
            Prepayment("cash", amount=Money.of("10.00", usd)),
        ],
    )
    bo.invoice("SO-500", "INV-1", Money.of("60.00", usd))
    clock.advance(days=1)
    bo.invoice("SO-500", "INV-2", Money.of("40.00", usd))
    ret = bo.refund("SO-500", "RMA-1", Money.of("70.00", usd), agent, invoices=("INV-2",))
    out.write(
        "return RMA-1 of 70.00 naming INV-2: its capture first, then the newest other\n"
        + table(["capture", "refunded"], [[r.capture_id, r.amount] for r in ret.refunds])
        + f"\nfallback: {ret.fallback}\n"
    )
    again = bo.refund("SO-500", "RMA-1", Money.of("70.00", usd), agent)
    refunds_at_processor = len([e for e in sim.ledger() if e.kind == "refund"])
    out.write(
        f"RMA-1 retried: {len(again.refunds)} refunds recorded, "
        f"{refunds_at_processor} at the processor\n"
    )
    rest = bo.refund("SO-500", "RMA-2", Money.of("25.00", usd), agent)
    out.write(
        f"return RMA-2 of 25.00: {rest.refunds[0].amount} to the card, "
        f"{rest.fallback} by the fallback method ({bo.settings.refunds.fallback_method.value})\n"
    )
    other = demo_card("tok_gift_7", "7777")
    unlinked = bo.refund_to_card("SO-500", "RMA-3", other, Money.of("5.00", usd), agent)
    out.write(f"return RMA-3: 5.00 refunded to {other.display}, a card that did not pay\n")
    _show(out, "after the returns:", unlinked.order)
    out.write(
        "The refund journal of SO-500:\n"
        + table(
            ["voucher", "journal", "amount", "reference"],
            [
                [v.voucher_id, v.journal_name, v.amount, v.reference]
                for v in bo.journal("SO-500")
                if v.kind == "refund"
            ],
        )
        + "\n"
    )


def disabled_later_walkthrough(out: TextIO) -> None:
    """F1: a prerequisite turned off after OCOP was turned on, with its warning."""
    settings = Settings.default().with_features(duplicate_payment_protection=False)
    out.write("== A feature turned off after OCOP was turned on (allowed, discouraged) ==\n")
    for warning in settings.warnings():
        out.write(f"warning: {warning}\n")
    _, sim, bo = _world(settings)
    bo.place_order(
        "SO-700",
        channel=Channel.ECOMMERCE,
        customer=Customer.named("C-7"),
        total=Money.of("100.00", "USD"),
        payments=[CardPayment(demo_card(), Money.of("100.00", "USD"))],
    )
    bo.invoice("SO-700", "INV-1", Money.of("40.00", "USD"))
    again = bo.invoice("SO-700", "INV-1", Money.of("40.00", "USD"))
    out.write(
        "INV-1 of 40.00 sent twice without duplicate payment protection (I4 off): "
        f"captured {again.order.captured}, as before the feature existed\n"
        + _ledger_table(sim)
        + "\n\n"
    )


def deposit_and_hold_walkthrough(out: TextIO) -> None:
    """D1, D2: a POS customer order's card deposit; S4: a manual hold with its reason."""
    usd = "USD"
    deposits = DepositPolicy(default_percent=Decimal(20), cancellation_charge_percent=Decimal(5))
    _, sim, bo = _world(Settings.default().with_policies(deposits=deposits))
    clerk = Actor.call_center("agent-3")
    out.write("== A deposit on a POS customer order (20% of the total), then a manual hold ==\n")
    bo.place_order(
        "SO-800",
        channel=Channel.POS,
        customer=Customer.named("C-8"),
        total=Money.of("250.00", usd),
        payments=[CardPayment(demo_card(), Money.of("50.00", usd))],
        deposit=True,
    )
    _show(out, "placed with a 50.00 card deposit, captured at once with no invoice:",
          bo.order("SO-800"))  # fmt: skip
    held = bo.place_hold("SO-800", HoldCode.MANUAL, clerk, reason="CUSTOMER_REQUEST",
                         note="customer asked to wait for the color")  # fmt: skip
    for hold in held.holds:
        out.write(
            f"{hold.code.value} hold {hold.reason_code} placed by {hold.placed_by} at "
            f"{hold.placed_at:%H:%M}: {held.status.value}, nothing can be invoiced\n"
        )
    released = bo.release_hold("SO-800", HoldCode.MANUAL, clerk)
    out.write(f"released by {released.released_holds[-1].released_by}: {released.status.value}\n")
    cancelled = bo.cancel_order("SO-800", clerk)
    out.write(
        f"cancelled before any invoice: {cancelled.charged} kept (5% of the total), "
        f"the rest refunded to the card\n" + _ledger_table(sim) + "\n\n"
    )


def run_demo(out: TextIO) -> None:
    line_walkthrough(out)
    completion_walkthrough(out)
    invoicing_walkthrough(out)
    refund_walkthrough(out)
    deposit_and_hold_walkthrough(out)
    disabled_later_walkthrough(out)
