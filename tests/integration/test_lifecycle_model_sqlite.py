"""The model-based lifecycle machine on SQLite: the durable store gives exactly the results
the model predicts, as the in-memory one does."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import settings

from ocop import BackOffice, Settings
from payments_model import ModelLifecycle


class ModelOnSqlite(ModelLifecycle):
    """Every back office of this run lives in a fresh SQLite file."""

    def back_office(self) -> BackOffice:
        folder = Path(tempfile.mkdtemp(prefix="ocop-"))
        self.folders = [*getattr(self, "folders", []), folder]
        return BackOffice.sqlite(
            folder / "payments.db", settings=Settings.default(), processor=self.sim,
            clock=self.clock,
        )  # fmt: skip

    def teardown(self) -> None:
        """Remove the run's files."""
        for folder in getattr(self, "folders", []):
            shutil.rmtree(folder, ignore_errors=True)


# Files are slower than memory: half the profile's runs, as many steps.
ModelOnSqlite.TestCase.settings = settings(
    max_examples=max(10, settings().max_examples // 2), stateful_step_count=40, deadline=None
)
TestModelOnSqlite = ModelOnSqlite.TestCase
