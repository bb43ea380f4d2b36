"""The concurrency part of the OrderStore contract: threads using one store at once (O5);
:class:`~ocop.testing.contracts.OrderStoreContract` runs it."""

from __future__ import annotations

import threading
from collections.abc import Callable

from ocop.domain.errors import ConcurrentUpdate, StorageBusy
from ocop.ports.store import OrderStore
from ocop.testing._store_samples import StoreSamples, usd

#: Threads racing in the concurrency test.
THREADS = 8

#: How many times one thread tries its change: a thread loses a version race only to
#: another thread's committed raise, at most ``THREADS - 1`` times, and a busy database
#: now and then; a store still refusing after this many tries fails the check, it does
#: not keep it spinning.
TRIES = 10 * THREADS


def _until_stored(change: Callable[[], None]) -> None:
    """Run ``change`` again after each ConcurrentUpdate or StorageBusy (nothing stored),
    at most :data:`TRIES` times in all."""
    for _ in range(TRIES - 1):
        try:
            change()
        except (ConcurrentUpdate, StorageBusy):
            continue
        return
    change()  # the last try: its error is the thread's


class ThreadsContract(StoreSamples):
    """Threads of one process, each with its own units of work, share the store."""

    def test_threads_updating_one_order_at_once_lose_no_update(self, store: OrderStore) -> None:
        """O5 under load: threads each adding an order and raising one shared order's total
        by a cent at once (trying again after ConcurrentUpdate or a busy database, a
        bounded number of times) store every order and every cent, one version each."""
        first = self.stored(store, self.order())
        start, errors = threading.Barrier(THREADS), []

        def add(number: int) -> None:
            with store.unit_of_work() as uow:
                uow.orders.add(self.order(f"SO-T{number}"))
                uow.commit()

        def raise_shared() -> None:
            with store.unit_of_work() as uow:
                shared = uow.orders.get("SO-1")
                uow.orders.update(shared.with_total(shared.total + usd("0.01")))
                uow.commit()

        def work(number: int) -> None:
            start.wait()
            try:
                _until_stored(lambda: add(number))
                _until_stored(raise_shared)
            except BaseException as error:  # noqa: BLE001 - reported below, in the test
                errors.append(error)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with store.unit_of_work() as uow:
            shared = uow.orders.get("SO-1")
            assert sorted(uow.orders.ids()) == sorted(
                ["SO-1", *(f"SO-T{n}" for n in range(THREADS))]
            )
        assert shared.total == first.total + usd(f"0.{THREADS:02d}")
        assert shared.version == first.version + THREADS
