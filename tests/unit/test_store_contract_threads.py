"""The store contract's threads check (O5) passes a store that is busy now and then, as
the port allows, and fails, rather than spinning, a store that reports a version race no
other unit caused."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from ocop.adapters.memory import InMemoryStore
from ocop.domain.errors import ConcurrentUpdate, StorageBusy
from ocop.domain.order import Order
from ocop.ports.store import Committed, OrderRepository, OrderStore, UnitOfWork
from ocop.testing.contracts import OrderStoreContract
from ocop.testing.counting import DelegatingStore, DelegatingUnitOfWork


class _Orders:
    """The unit's orders, noting what it staged."""

    def __init__(self, inner: OrderRepository, unit: _Unit) -> None:
        self._inner, self._unit = inner, unit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def add(self, order: Order) -> None:
        self._unit.added.append(order.order_id)
        self._inner.add(order)

    def update(self, order: Order) -> None:
        self._unit.updated.append(order.order_id)
        self._inner.update(order)


class _Unit(DelegatingUnitOfWork):
    def __init__(self, inner: UnitOfWork, store: _FaultyStore) -> None:
        super().__init__(inner)
        self.store = store
        self.added: list[str] = []
        self.updated: list[str] = []

    @property
    def orders(self) -> OrderRepository:
        return _Orders(self._inner.orders, self)

    def commit(self) -> Committed:
        added, updated = self.added, self.updated
        self.added, self.updated = [], []
        fault = self.store.fault(added, updated)
        if fault is not None:
            self._inner.rollback()  # nothing of the unit is stored
            raise fault
        return self._inner.commit()


class _FaultyStore(DelegatingStore):
    """An in-memory store that fails some commits, storing nothing of them."""

    def __init__(self, *, busy_adds: int = 0, false_races: int = 0) -> None:
        super().__init__(InMemoryStore())
        self._lock = threading.Lock()
        self.busy_adds, self.false_races = busy_adds, false_races

    def unit_of_work(self) -> UnitOfWork:
        return _Unit(self.inner.unit_of_work(), self)

    def fault(self, added: list[str], updated: list[str]) -> Exception | None:
        with self._lock:
            if self.busy_adds and any(i.startswith("SO-T") for i in added):
                self.busy_adds -= 1
                return StorageBusy("the database stayed locked past the wait")
            if self.false_races and updated:
                self.false_races -= 1
                return ConcurrentUpdate(updated[0])
        return None


class _Suite(OrderStoreContract):
    def make_store(self) -> OrderStore:
        return _FaultyStore()


def test_a_store_busy_while_the_threads_add_their_orders_passes() -> None:
    """O5, E3: a store that stays busy past its wait (StorageBusy, nothing stored) while
    the racing threads add their own orders is a correct store: the check tries again."""
    store = _FaultyStore(busy_adds=3)
    _Suite().test_threads_updating_one_order_at_once_lose_no_update(store)
    assert store.busy_adds == 0


def test_a_store_reporting_races_no_unit_caused_fails() -> None:
    """O5: eight threads raising one order by a cent each can lose a version race at most
    seven times each; a store that reports thousands of races nobody caused fails the
    check (it retried for as long as the store said so)."""
    store = _FaultyStore(false_races=8_000)
    with pytest.raises(AssertionError):
        _Suite().test_threads_updating_one_order_at_once_lose_no_update(store)
