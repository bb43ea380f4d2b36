"""Rule O5: two workers on one order can never both move the same money."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from ocop import (
    BackOffice,
    CardPayment,
    CardToken,
    Channel,
    ConcurrentUpdate,
    Customer,
    IllegalTransition,
    InvoiceResult,
    Money,
    OperationInDoubt,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor

WORKERS = 8


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def world() -> tuple[SimulatedProcessor, BackOffice]:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    sim = SimulatedProcessor(clock=clock)
    bo = BackOffice.in_memory(processor=sim, clock=clock)
    card = CardToken(value="tok_1", connector="sim", service_account="sa-1",
                     brand="visa", last4="1111", expiry="2030-12")  # fmt: skip
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                   total=usd("100.00"), payments=[CardPayment(card, usd("100.00"))])  # fmt: skip
    return sim, bo


def race(bo: BackOffice, invoice_ids: list[str], amount: Money) -> list[object]:
    """Run one invoice per worker, all released at once; each returns a result or an error."""
    barrier = threading.Barrier(len(invoice_ids))
    outcomes: list[object] = [None] * len(invoice_ids)

    def work(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = bo.invoice("SO-1", invoice_ids[index], amount)
        except (ConcurrentUpdate, OperationInDoubt, IllegalTransition) as lost:
            outcomes[index] = lost

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(invoice_ids))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_the_same_invoice_from_many_workers_captures_once() -> None:
    """Eight workers invoicing INV-1 at once: exactly one capture; the others reuse it or lose."""
    sim, bo = world()
    outcomes = race(bo, ["INV-1"] * WORKERS, usd("60.00"))
    captures = [e for e in sim.ledger() if e.kind == "capture"]
    assert [e.amount for e in captures] == [usd("60.00")]  # the race itself captured, once
    assert all(isinstance(o, InvoiceResult | ConcurrentUpdate | OperationInDoubt) for o in outcomes)
    done = [o for o in outcomes if isinstance(o, InvoiceResult) and not o.in_doubt]
    assert done  # someone finished the invoice
    assert all([c.amount for c in o.captures] == [usd("60.00")] for o in done)
    # Whoever lost can simply retry: still one capture, for the full invoice.
    result = bo.invoice("SO-1", "INV-1", usd("60.00"))
    assert [c.amount for c in result.captures] == [usd("60.00")]
    assert [e.amount for e in sim.ledger() if e.kind == "capture"] == [usd("60.00")]


def test_rival_invoices_never_capture_beyond_the_authorization() -> None:
    """Eight different invoices of 30.00 racing on a 100.00 order capture at most 100.00."""
    sim, bo = world()
    race(bo, [f"INV-{n}" for n in range(WORKERS)], usd("30.00"))
    order = bo.order("SO-1")
    captured = sum((e.amount.minor for e in sim.ledger() if e.kind == "capture"), 0)
    assert captured == order.captured.minor <= order.invoiced.minor <= order.total.minor
