"""The lifecycle state machine again, on the SQLite store and journal: same steps, same
invariants, so the durable adapters agree with the in-memory ones."""

from __future__ import annotations

from durable_machines import OnSqlite
from hypothesis import settings

from lifecycle_machine import Lifecycle


class LifecycleOnSqlite(OnSqlite, Lifecycle):
    """Every back office of this run lives in a fresh SQLite file."""


# Files are slower than memory: a fifth of the profile's examples, as many steps.
LifecycleOnSqlite.TestCase.settings = settings(
    max_examples=max(10, settings().max_examples // 5), stateful_step_count=50, deadline=None
)
TestLifecycleOnSqlite = LifecycleOnSqlite.TestCase
