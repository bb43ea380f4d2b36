"""The lifecycle state machine on PostgreSQL: same steps, same invariants."""

from __future__ import annotations

from contextlib import ExitStack

import pytest
from hypothesis import settings
from pg_support import private_schema

from lifecycle_machine import Lifecycle
from ocop import BackOffice, Settings
from ocop.adapters.postgres import PostgresJournal, PostgresStore

pytestmark = pytest.mark.postgres


class LifecycleOnPostgres(Lifecycle):
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
        """Drop the run's schemas after the usual report."""
        super().teardown()
        if hasattr(self, "schemas"):
            self.schemas.close()


# A database round trip per read: a tenth of the profile's examples, as many steps.
LifecycleOnPostgres.TestCase.settings = settings(
    max_examples=max(5, settings().max_examples // 10), stateful_step_count=50, deadline=None
)
TestLifecycleOnPostgres = LifecycleOnPostgres.TestCase
