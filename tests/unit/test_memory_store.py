"""The in-memory order store: the store contract, and many threads racing on one order."""

from __future__ import annotations

import threading

from ocop.adapters.memory import InMemoryStore
from ocop.domain.errors import ConcurrentUpdate
from ocop.domain.money import Money
from ocop.ports.store import OrderStore
from ocop.testing.contracts import OrderStoreContract

THREADS = 8


class TestInMemoryStore(OrderStoreContract):
    """The order store contract, run against the in-memory store, plus a thread race."""

    def make_store(self) -> OrderStore:
        return InMemoryStore()

    def test_threads_updating_one_version_have_exactly_one_winner(self, store: OrderStore) -> None:
        """Of N threads updating the same order version at once, one commits, the rest conflict."""
        base = self.stored(store, self.order())
        start = threading.Barrier(THREADS)
        won: list[int] = []
        lost: list[int] = []
        record = threading.Lock()

        def worker(n: int) -> None:
            mine = base.with_total(Money.of(f"{200 + n}.00", "USD"))
            with store.unit_of_work() as uow:
                start.wait()  # every thread holds the same version before anyone commits
                try:
                    uow.orders.update(mine)
                    uow.commit()
                except ConcurrentUpdate:
                    with record:
                        lost.append(n)
                    return
            with record:
                won.append(n)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(won) == 1
        assert sorted(won + lost) == list(range(THREADS))
        with store.unit_of_work() as uow:
            final = uow.orders.get(base.order_id)
        assert final.version == base.version + 1
        assert final.total == Money.of(f"{200 + won[0]}.00", "USD")


class TestInMemoryStoreKeepingTheJournal(OrderStoreContract):
    """The order store contract, run against the in-memory store that keeps the journal."""

    def make_store(self) -> OrderStore:
        return InMemoryStore(keeps_journal=True)
