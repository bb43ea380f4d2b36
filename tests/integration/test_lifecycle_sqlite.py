"""The lifecycle state machine again, on the SQLite store and journal: same steps, same
invariants, so the durable adapters agree with the in-memory ones."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import settings

from lifecycle_machine import Lifecycle
from ocop import BackOffice, Settings


class LifecycleOnSqlite(Lifecycle):
    """Every back office of this run lives in a fresh SQLite file."""

    def back_office(self) -> BackOffice:
        folder = Path(tempfile.mkdtemp(prefix="ocop-"))
        self.folders = [*getattr(self, "folders", []), folder]
        return BackOffice.sqlite(
            folder / "payments.db", settings=Settings.default(), processor=self.sim,
            clock=self.clock,
        )  # fmt: skip

    def teardown(self) -> None:
        """Remove the run's files after the usual report."""
        super().teardown()
        for folder in getattr(self, "folders", []):
            shutil.rmtree(folder, ignore_errors=True)


# Files are slower than memory: a fifth of the profile's examples, as many steps.
LifecycleOnSqlite.TestCase.settings = settings(
    max_examples=max(10, settings().max_examples // 5), stateful_step_count=50, deadline=None
)
TestLifecycleOnSqlite = LifecycleOnSqlite.TestCase
