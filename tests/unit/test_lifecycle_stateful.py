"""The whole payment lifecycle as a hypothesis state machine, on the in-memory adapters.

The machine itself is in ``tests/lifecycle_machine.py``; the integration tests run
it again on SQLite.
"""

from __future__ import annotations

from hypothesis import settings

from lifecycle_machine import Lifecycle

# Half again as many examples as the profile asks: about a quarter of hypothesis' runs are
# short (its simplest cases), so the rest still give the profile's count of 30+ step runs.
Lifecycle.TestCase.settings = settings(
    max_examples=settings().max_examples * 3 // 2, stateful_step_count=50, deadline=None
)
TestLifecycle = Lifecycle.TestCase
