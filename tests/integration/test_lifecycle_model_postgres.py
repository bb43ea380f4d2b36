"""The model-based lifecycle machine on PostgreSQL: exactly the results the model predicts."""

from __future__ import annotations

from contextlib import ExitStack

import pytest
from hypothesis import settings
from pg_support import private_schema

from ocop import BackOffice, Settings
from ocop.adapters.postgres import PostgresJournal, PostgresStore
from payments_model import ModelLifecycle

pytestmark = pytest.mark.postgres


class ModelOnPostgres(ModelLifecycle):
    """Every back office of this run lives in a fresh schema, dropped at teardown."""

    def back_office(self) -> BackOffice:
        if not hasattr(self, "schemas"):
            self.schemas = ExitStack()
        conninfo = self.schemas.enter_context(private_schema())
        return BackOffice(
            store=PostgresStore(conninfo), processor=self.sim, journal=PostgresJournal(conninfo),
            settings=Settings.default(), clock=self.clock,
        )  # fmt: skip

    def teardown(self) -> None:
        """Drop the run's schemas."""
        if hasattr(self, "schemas"):
            self.schemas.close()


# A database round trip per read: a quarter of the profile's runs, as many steps.
ModelOnPostgres.TestCase.settings = settings(
    max_examples=max(5, settings().max_examples // 4), stateful_step_count=40, deadline=None
)
TestModelOnPostgres = ModelOnPostgres.TestCase
