"""The store contract asks what the port promises, no more: a host store may break ties
its own way where the port names no order (O2)."""

from __future__ import annotations

from typing import Any

from ocop.adapters.memory import InMemoryStore
from ocop.domain.operations import Operation
from ocop.ports.store import OperationLog, OrderStore, UnitOfWork
from ocop.testing.contracts import OrderStoreContract
from ocop.testing.counting import DelegatingStore, DelegatingUnitOfWork


class _OldestFirstByTime:
    """An operation log whose in_doubt lists the oldest intent first by the time it was
    recorded, and intents recorded at the same time by key (as an SQL store ordering by
    ``recorded_at, key`` would)."""

    def __init__(self, inner: OperationLog) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def in_doubt(self, order_id: str | None = None) -> tuple[Operation, ...]:
        found = self._inner.in_doubt(order_id)
        return tuple(sorted(found, key=lambda op: (op.recorded_at, op.key)))


class _Unit(DelegatingUnitOfWork):
    @property
    def operations(self) -> OperationLog:
        return _OldestFirstByTime(self._inner.operations)


class _TimeOrderedStore(DelegatingStore):
    def unit_of_work(self) -> UnitOfWork:
        return _Unit(self.inner.unit_of_work())


class TestStoreListingTiesInDoubtByKey(OrderStoreContract):
    """O2: in_doubt is "oldest first"; intents recorded at the same instant come in any
    order a store likes, and the contract passes a store that orders them by key."""

    def make_store(self) -> OrderStore:
        return _TimeOrderedStore(InMemoryStore())
