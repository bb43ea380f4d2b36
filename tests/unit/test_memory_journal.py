"""The in-memory payment journals keep the journal contract: on their own, and kept by a store."""

from __future__ import annotations

from ocop.adapters.memory import InMemoryJournal, InMemoryStore
from ocop.ports.journal import PaymentJournal
from ocop.testing.contracts import JournalContract


class TestInMemoryJournal(JournalContract):
    """The journal contract, run against an in-memory journal of its own."""

    def make_journal(self) -> PaymentJournal:
        return InMemoryJournal()


class TestJournalKeptByTheInMemoryStore(JournalContract):
    """The journal contract, run against the journal an in-memory store keeps."""

    def make_journal(self) -> PaymentJournal:
        return InMemoryStore(keeps_journal=True).journal
