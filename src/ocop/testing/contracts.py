"""Reusable contract test suites for ocop's ports.

Subclass a suite in your own tests (the subclass's name must start with
``Test``) and implement its abstract methods; every ``test_*`` method then
runs against your adapter::

    class TestMyProcessor(ProcessorContract[MyProcessor]):
        def make_processor(self, clock: ManualClock) -> MyProcessor:
            return MyProcessor(clock=clock, ...)

        def ledger_of(self, processor: MyProcessor) -> Sequence[KeyedEntry]:
            return processor.ledger()

The processor suite's optional hooks fit it to the processor (see
:class:`ProcessorContract` for each): a sandbox's test cards and CVVs
(``card_for``, ``saved_card``, ``good_cvv``, ``wrong_cvv``); ``notifications``
for a processor that answers pending by itself, so each call is judged by its
final outcome; ``pending`` and ``settle`` to make a call answer pending and
settle it later; ``lose_answer`` to drop a call's answer after it was carried
out; ``expire`` to make an authorization expire::

        def pending(self, processor: MyProcessor, kind: str) -> bool:
            processor.script(kind, "pending")  # however yours is made to answer pending
            return True

        def settle(self, processor, key, *, approve):
            return processor.settle_pending("approve" if approve else "decline", keys=[key])

        def lose_answer(self, processor: MyProcessor, kind: str) -> bool:
            processor.script(kind, "timeout_after_success")
            return True

A test that needs a hook the subclass does not give is skipped, saying so.

:class:`JournalContract` checks a payment journal (your ledger's adapter):
``make_journal`` returns a fresh, empty one, and a durable journal's suite also
overrides ``reopen_journal`` (the same journal opened again), so that what it
keeps is checked across a restart::

    class TestMyJournal(JournalContract):
        def make_journal(self) -> PaymentJournal:
            return MyLedgerJournal(...)

Every suite uses only the port (plus the hooks), so an adapter that passes it
keeps the contract its Protocol's docstring states. Their hypothesis properties
run as many examples as your loaded profile says, with no deadline and no
health check on slow examples: an adapter across the network is not failed for
being slow.
"""

from __future__ import annotations

from ocop.domain.errors import MissingExtra

try:
    import pytest  # noqa: F401 - the suites are pytest tests
except ImportError as missing:
    raise MissingExtra("testing", "pytest", needed_by="ocop.testing") from missing

from ocop.testing._journal_contract import JournalContract
from ocop.testing._processor_contract import ProcessorContract
from ocop.testing._processor_hooks import START, KeyedEntry
from ocop.testing._store_contract import OrderStoreContract

__all__ = ["START", "JournalContract", "KeyedEntry", "OrderStoreContract", "ProcessorContract"]
