"""``ocop demo``: the library's capabilities, walked through on the simulated processor."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TextIO

from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.adapters.tables import table
from ocop.domain.money import Money
from ocop.domain.operations import ProcessorResult
from ocop.domain.tender import Authorization, Capture, PaymentLine, Refund
from ocop.domain.tokens import AuthorizationToken, CaptureToken, CardToken, RefundToken
from ocop.ports.processor import PaymentProcessor

START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


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
    return table(
        ["line", "card", "status", "amount", "authorized", "captured", "refunded"],
        [
            [
                line.line_id,
                line.card.display if line.card else line.method,
                line.status,
                line.amount,
                line.authorized,
                line.captured,
                line.refunded,
            ]
        ],
    )


def _ledger_table(sim: SimulatedProcessor) -> str:
    return table(
        ["kind", "operation key", "amount", "reference"],
        [[e.kind, e.key, e.amount, e.reference] for e in sim.ledger()],
    )


def _expect(result: ProcessorResult) -> ProcessorResult:
    if not result.approved:
        raise RuntimeError(f"demo step was not approved: {result.outcome} {result.reason}")
    return result


def line_walkthrough(out: TextIO) -> None:
    """One card line: authorize, capture twice (two invoices), refund part of a capture."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    processor: PaymentProcessor = sim
    usd = "USD"
    line = PaymentLine.card_line("L1", demo_card(), Money.of("100.00", usd))
    out.write("== One card line through the processor port ==\n")
    out.write(_line_table(line) + "\n\n")

    auth = _expect(processor.authorize("SO-1/auth:L1#1", demo_card(), line.amount))
    assert isinstance(auth.token, AuthorizationToken)
    line = line.authorized_with(
        Authorization(
            auth_id="A1",
            token=auth.token,
            amount=line.amount,
            authorized_at=clock.now(),
            multi_capture=auth.multi_capture,
            captured=Money.zero(usd),
            voided=Money.zero(usd),
        )
    )
    out.write("authorized 100.00:\n" + _line_table(line) + "\n\n")

    for number, amount in ((1, "60.00"), (2, "40.00")):
        clock.advance(days=1)
        taken = Money.of(amount, usd)
        cap = _expect(processor.capture(f"SO-1/capture:INV-{number}:L1#1", auth.token, taken))
        assert isinstance(cap.token, CaptureToken)
        line = line.captured_with(
            Capture(
                capture_id=f"C{number}",
                line_id="L1",
                invoice_id=f"INV-{number}",
                amount=taken,
                auth_id="A1",
                token=cap.token,
                refunded=Money.zero(usd),
                captured_at=clock.now(),
            )
        )
        out.write(f"invoice INV-{number} captured {taken}:\n" + _line_table(line) + "\n\n")

    clock.advance(days=2)
    refund_amount = Money.of("25.00", usd)
    second = line.capture("C2")
    assert second.token is not None
    ref = _expect(processor.refund("SO-1/refund:RMA-1:C2#1", second.token, refund_amount))
    assert isinstance(ref.token, RefundToken)
    line = line.refunded_with(
        Refund(
            refund_id="R1",
            return_id="RMA-1",
            amount=refund_amount,
            capture_id="C2",
            token=ref.token,
            refunded_at=clock.now(),
        )
    )
    out.write("return RMA-1 refunded 25.00 against capture C2:\n" + _line_table(line) + "\n\n")
    out.write("The processor's own ledger:\n" + _ledger_table(sim) + "\n\n")


def run_demo(out: TextIO) -> None:
    line_walkthrough(out)
