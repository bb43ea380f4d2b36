"""``BackOffice``: the facade, with factories wiring the bundled adapters.

This module is the composition root: the only place outside ``ocop.adapters``
that names concrete adapters. Hosts with their own adapters use the explicit
constructor: ``BackOffice(store=..., processor=..., journal=..., settings=...,
clock=...)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from ocop.adapters.memory import InMemoryJournal, InMemoryStore, SystemClock
from ocop.domain.settings import Settings
from ocop.ports.clock import Clock
from ocop.ports.journal import PaymentJournal
from ocop.ports.processor import PaymentProcessor
from ocop.ports.store import OrderStore
from ocop.services.backoffice import BackOfficeServices


class BackOffice(BackOfficeServices):
    """Omni-channel order payments for one back office."""

    def __init__(
        self,
        *,
        store: OrderStore,
        processor: PaymentProcessor,
        journal: PaymentJournal,
        settings: Settings | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            store=store,
            processor=processor,
            journal=journal,
            settings=settings if settings is not None else Settings.default(),
            clock=clock if clock is not None else SystemClock(),
        )
        self._store = store
        self._journal = journal

    @classmethod
    def in_memory(
        cls,
        settings: Settings | None = None,
        processor: PaymentProcessor | None = None,
        clock: Clock | None = None,
    ) -> Self:
        """Everything in memory; a :class:`SimulatedProcessor` unless one is given."""
        from ocop.adapters.simulated import SimulatedProcessor  # imported when first needed

        clock = clock if clock is not None else SystemClock()
        return cls(
            store=InMemoryStore(),
            processor=processor if processor is not None else SimulatedProcessor(clock=clock),
            journal=InMemoryJournal(),
            settings=settings,
            clock=clock,
        )

    @classmethod
    def sqlite(
        cls,
        path: str | Path,
        settings: Settings | None = None,
        processor: PaymentProcessor | None = None,
        clock: Clock | None = None,
    ) -> Self:
        """The embedded durable default: store and journal in one SQLite file."""
        # Imported when first used: `import ocop` loads neither sqlite3, cattrs nor the simulator.
        from ocop.adapters.simulated import SimulatedProcessor
        from ocop.adapters.sqlite import SqliteJournal, SqliteStore

        clock = clock if clock is not None else SystemClock()
        return cls(
            store=SqliteStore(path),
            processor=processor if processor is not None else SimulatedProcessor(clock=clock),
            journal=SqliteJournal(path),
            settings=settings,
            clock=clock,
        )

    def with_settings(self, settings: Settings) -> Self:
        """The same store, processor, journal and clock under other settings."""
        return type(self)(
            store=self._store,
            processor=self.processor,
            journal=self._journal,
            settings=settings,
            clock=self.clock,
        )
