"""Benchmarks, each against a baseline measured in the same run (never asserted).

``make bench`` prints, for N orders, the cost of placing and invoicing through
the back office (operation log, store commits, journal) against calling the
simulated processor directly for the same money movements.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ocop import BackOffice, CardPayment, CardToken, Channel, Customer, Money
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor

ORDERS = 300
ROUNDS = 5


def card(number: int) -> CardToken:
    return CardToken(value=f"tok_{number}", connector="sim", service_account="sa-1",
                     brand="visa", last4="1111", expiry="2030-12")  # fmt: skip


def baseline() -> None:
    """The same authorizations and captures, straight to the processor."""
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    sim = SimulatedProcessor(clock=clock)
    for n in range(ORDERS):
        auth = sim.authorize(f"a{n}", card(n), Money.of("100.00", "USD"))
        assert auth.token is not None
        sim.capture(f"c{n}.1", auth.token, Money.of("60.00", "USD"))  # type: ignore[arg-type]
        sim.capture(f"c{n}.2", auth.token, Money.of("40.00", "USD"))  # type: ignore[arg-type]


def through_back_office() -> None:
    """Place and invoice twice through BackOffice.in_memory."""
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    flow(BackOffice.in_memory(processor=SimulatedProcessor(clock=clock), clock=clock))


def through_sqlite() -> None:
    """The same, stored in a SQLite file."""
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        flow(BackOffice.sqlite(path, processor=SimulatedProcessor(clock=clock), clock=clock))


def flow(bo: BackOffice) -> None:
    for n in range(ORDERS):
        order_id = f"SO-{n}"
        bo.place_order(order_id, channel=Channel.ECOMMERCE, customer=Customer.named("C"),
                       total=Money.of("100.00", "USD"),
                       payments=[CardPayment(card(n), Money.of("100.00", "USD"))])  # fmt: skip
        bo.invoice(order_id, "INV-1", Money.of("60.00", "USD"))
        bo.invoice(order_id, "INV-2", Money.of("40.00", "USD"))


def measure(run: Callable[[], None]) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    base = measure(baseline)
    print(f"{ORDERS} orders, authorize + 2 captures each, median of {ROUNDS} rounds")  # noqa: T201
    print(f"  processor only (baseline): {base * 1000:8.1f} ms")  # noqa: T201
    for name, run in (("in memory", through_back_office), ("SQLite file", through_sqlite)):
        ours = measure(run)
        print(  # noqa: T201
            f"  BackOffice, {name:<12} {ours * 1000:8.1f} ms  ({ours / base:.1f}x, "
            f"{ours / ORDERS * 1e6:.0f} µs per order)"
        )


if __name__ == "__main__":
    main()
