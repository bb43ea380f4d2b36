"""One race for every durable store: eight workers update the same order version."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from ocop import BackOffice, Channel, ConcurrentUpdate, Customer, Money
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.ports.store import OrderStore

WORKERS = 8


def race_on_one_version(
    back_office: Callable[[SimulatedProcessor, ManualClock], BackOffice],
    open_store: Callable[[], OrderStore],
) -> None:
    """O5: exactly one of the workers (each with its own store) wins; the rest lose."""
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    bo = back_office(SimulatedProcessor(clock=clock), clock)
    bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=Customer.named("C-1"),
                   total=Money.of("10.00", "USD"))  # fmt: skip
    read = bo.order("SO-1")
    barrier = threading.Barrier(WORKERS)
    outcomes: list[str] = []

    def work(n: int) -> None:
        store = open_store()
        barrier.wait()
        try:
            with store.unit_of_work() as uow:
                uow.orders.update(read.with_total(Money.of(f"{n + 11}.00", "USD")))
                uow.commit()
            outcomes.append("won")
        except ConcurrentUpdate:
            outcomes.append("lost")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lost"] * (WORKERS - 1) + ["won"]
    assert bo.order("SO-1").version == read.version + 1
