"""Runs of the lifecycle model found by hypothesis, replayed step by step (C3, I3).

The model in ``tests/payments_model.py`` must predict what ocop does; these are runs where
it once did not, kept as plain examples so that they run the same every time.
"""

from __future__ import annotations

from typing import Any

import pytest

import payments_model
from ocop import Channel
from payments_model import ModelLifecycle


@pytest.fixture(autouse=True)
def _no_events(monkeypatch: pytest.MonkeyPatch) -> None:
    """hypothesis' ``event`` records only inside a test it runs."""
    monkeypatch.setattr(payments_model, "event", lambda *args: None)


class _FirstOrder:
    """Stands for hypothesis' ``data`` in a replayed step: it always draws SO-1."""

    def draw(self, strategy: Any, label: str | None = None) -> str:
        return "SO-1"


def _machine(*, reusable: bool) -> ModelLifecycle:
    machine = ModelLifecycle()
    machine.configure(currency="USD", multi=False, adjustments=True)
    machine.place(cards=[739, 1], cash=0, channel=Channel.ECOMMERCE, reusable=[reusable, False])
    return machine


def test_an_expired_authorization_of_a_reusable_card_is_renewed_not_adjusted() -> None:
    """C3, I3: 14 days on, 7.39 -> 3.31 on an adjusting processor is a void and a new
    authorization (two calls), not an adjustment."""
    machine = _machine(reusable=True)
    machine.advance(days=14)
    machine.edit(data=_FirstOrder(), delta=-408, balanced=False)
    machine.every_order_agrees_with_the_model()
    machine.teardown()


def test_an_expired_authorization_of_a_single_use_card_is_not_changed() -> None:
    """C3, I3: 28 days on, a single-use card's line cannot be adjusted nor authorized
    again: the submit is refused before any call and nothing changes."""
    machine = _machine(reusable=False)
    machine.advance(days=14)
    machine.advance(days=14)
    machine.edit(data=_FirstOrder(), delta=1, balanced=False)
    machine.every_order_agrees_with_the_model()
    machine.teardown()
