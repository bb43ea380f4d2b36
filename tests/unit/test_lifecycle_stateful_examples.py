"""Runs of the lifecycle state machine found by hypothesis, replayed step by step (A1, V5).

The machine in ``tests/lifecycle_machine.py`` checks that ocop and the simulated
processor agree; these are runs where its check once did not hold, kept as plain
examples so that they run the same every time.
"""

from __future__ import annotations

import pytest

import lifecycle_machine
from lifecycle_machine import Lifecycle


@pytest.fixture(autouse=True)
def _no_events(monkeypatch: pytest.MonkeyPatch) -> None:
    """hypothesis' ``event`` records only inside a test it runs."""
    monkeypatch.setattr(lifecycle_machine, "event", lambda *args: None)


def test_a_stale_authorization_the_renewal_job_let_lapse_reconciles() -> None:
    """A1, V5: SO-2's cancellation void declined on day 13; on day 30 the renewal job lets
    its stale authorization lapse with no call, which the processor no longer holds
    either, though its record still shows it open: recovery reconciles."""
    machine = Lifecycle()
    machine.configure(multi=False, adjustments=False, first=[1, 1], disabled=set())
    machine.advance(days=13)
    machine.cancel(fault="decline", order_id="SO-2")
    machine.advance(days=17)
    machine.renew(fault="approve", kind="void")
    machine.recover()
    machine.teardown()
