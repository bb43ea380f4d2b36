"""The lifecycle state machine on PostgreSQL: same steps, same invariants."""

from __future__ import annotations

import pytest
from durable_machines import OnPostgres
from hypothesis import settings

from lifecycle_machine import Lifecycle

pytestmark = pytest.mark.postgres


class LifecycleOnPostgres(OnPostgres, Lifecycle):
    """Every back office of this run lives in a fresh schema, dropped at teardown."""


# A database round trip per read: a tenth of the profile's examples, as many steps.
LifecycleOnPostgres.TestCase.settings = settings(
    max_examples=max(5, settings().max_examples // 10), stateful_step_count=50, deadline=None
)
TestLifecycleOnPostgres = LifecycleOnPostgres.TestCase
