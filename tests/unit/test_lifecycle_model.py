"""The payment lifecycle against a model that predicts every result (liveness and safety).

The machine is in ``tests/payments_model.py``: every call the model says is valid must
succeed with exactly the predicted captures, refunds, failures, doubts and holds, and
every refusal must be the predicted error with its attributes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from ocop import Channel
from payments_model import ModelLifecycle

# At least 100 runs even in quick profiles: each run is cheap, and the model's checks bite
# only once a run reaches several captures and refunds on one order.
ModelLifecycle.TestCase.settings = settings(
    max_examples=max(settings().max_examples, 100), stateful_step_count=40, deadline=None
)
TestModelLifecycle = ModelLifecycle.TestCase


class _Picks:
    """Stands for a rule's ``data``: gives the values a shrunk run drew, in order."""

    def __init__(self, *values: object) -> None:
        self.values = list(values)

    def draw(self, strategy: object, label: str | None = None) -> object:
        return self.values.pop(0)


def _replay(machine: ModelLifecycle, steps: Iterable[tuple[str, Mapping[str, object]]]) -> None:
    """Run ``steps`` (rule name, arguments) as hypothesis would, invariants after each."""
    for name, arguments in steps:
        getattr(machine, name)(**arguments)
        machine.every_order_agrees_with_the_model()
        machine.journals_match_receipts_and_refunds()
        machine.one_key_one_movement()


@pytest.mark.parametrize("days", [[14], [14, 14, 3]], ids=["expired", "stale"])
@given(st.just(None))  # a build context, for the model's events
@settings(max_examples=1, deadline=None, database=None)
def test_an_edit_past_the_expiry_age_renews_the_authorization(days: list[int], no: None) -> None:
    """C3, I3: a reusable card's authorization 14 (or 31) days old is voided and authorized
    again for the new amount (2 calls, the line approved), not adjusted (found by long
    random runs: the model still predicted an adjustment, declined once stale)."""
    machine = ModelLifecycle()
    try:
        machine.configure(currency="USD", multi=False, adjustments=True)
        _replay(machine, [
            ("place", {"cards": [1], "cash": 0, "channel": Channel.ECOMMERCE,
                       "reusable": [True, False]}),
            *[("advance", {"days": d}) for d in days],
            ("edit", {"balanced": False, "data": _Picks("SO-1"), "delta": 1}),
        ])  # fmt: skip
    finally:
        machine.teardown()
