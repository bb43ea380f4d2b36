"""Reusable contract test suites for ocop's ports.

Subclass a suite in your own tests (the subclass's name must start with
``Test``) and implement its abstract methods; every ``test_*`` method then
runs against your adapter::

    class TestMyProcessor(ProcessorContract[MyProcessor]):
        def make_processor(self, clock: ManualClock) -> MyProcessor:
            return MyProcessor(clock=clock, ...)

        def ledger_of(self, processor: MyProcessor) -> Sequence[KeyedEntry]:
            return processor.ledger()

A processor that can answer *pending* (N1) also implements the ``pending`` and
``settle`` hooks, and the pending tests run; without them they are skipped::

        def pending(self, processor: MyProcessor, kind: str) -> bool:
            processor.script(kind, "pending")  # however yours is made to answer pending
            return True

        def settle(self, processor, key, *, approve):
            return processor.settle_pending("approve" if approve else "decline", keys=[key])

Both suites use only the port (plus, for processors, the ledger and pending
hooks), so an adapter that passes them keeps the contract its Protocol's
docstring states.
"""

from __future__ import annotations

from ocop.testing._processor_contract import START, KeyedEntry, ProcessorContract
from ocop.testing._store_contract import OrderStoreContract

__all__ = ["START", "KeyedEntry", "OrderStoreContract", "ProcessorContract"]
