"""Mixins that put a lifecycle state machine's back offices on SQLite or PostgreSQL.

A machine builds each back office in ``back_office()`` over its ``processor`` and ``clock``;
mixed in first, these build it on a fresh SQLite file or a fresh PostgreSQL schema
instead, and remove it at teardown::

    class LifecycleOnSqlite(OnSqlite, Lifecycle): ...
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path

from pg_support import private_schema

from ocop import BackOffice, Settings
from ocop.adapters.memory import ManualClock
from ocop.adapters.postgres import PostgresJournal, PostgresStore
from ocop.ports.processor import PaymentProcessor


class OnSqlite:
    """Every back office of the run lives in a fresh SQLite file."""

    processor: PaymentProcessor  # the machine's own
    clock: ManualClock
    settings: Settings

    def back_office(self) -> BackOffice:
        folder = Path(tempfile.mkdtemp(prefix="ocop-"))
        self.folders = [*getattr(self, "folders", []), folder]
        return BackOffice.sqlite(
            folder / "payments.db", settings=self.settings, processor=self.processor,
            clock=self.clock,
        )  # fmt: skip

    def teardown(self) -> None:
        """Remove the run's files after the machine's own teardown."""
        super().teardown()  # type: ignore[misc]  # the machine's, next in the MRO
        for folder in getattr(self, "folders", []):
            shutil.rmtree(folder, ignore_errors=True)


class OnPostgres:
    """Every back office of the run lives in a fresh schema, dropped at teardown."""

    processor: PaymentProcessor  # the machine's own
    clock: ManualClock
    settings: Settings

    def back_office(self) -> BackOffice:
        if not hasattr(self, "schemas"):
            self.schemas = ExitStack()
        conninfo = self.schemas.enter_context(private_schema())
        return BackOffice(
            store=PostgresStore(conninfo), processor=self.processor,
            journal=PostgresJournal(conninfo), settings=self.settings, clock=self.clock,
        )  # fmt: skip

    def teardown(self) -> None:
        """Drop the run's schemas after the machine's own teardown."""
        super().teardown()  # type: ignore[misc]  # the machine's, next in the MRO
        if hasattr(self, "schemas"):
            self.schemas.close()
