"""S2, S4: a check's hold is placed when the check is posted, and the submit that posted it
neither moves its end nor places it again once a person released it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ocop import Actor, Channel, Customer, HoldCode, Settings
from ocop.domain.settings import CompletionPolicy
from worlds import START, World, card, new_world, usd

AGENT = Actor.call_center("cc-1")
BOSS = Actor.call_center("boss-1", permissions=frozenset({"hold_override"}))
CHECK_POLICY = CompletionPolicy(check_hold_threshold=usd("100.00"), check_hold_days=3)


def _submitted_with_a_slow_card(world: World, monkeypatch: pytest.MonkeyPatch,
                                during: Any = None) -> None:  # fmt: skip
    """SO-1 (300.00) submitted with a 250.00 check and a 50.00 card whose authorization
    takes an hour, ``during`` it run as it is asked."""
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=Customer.named("C-1"),
                         total=usd("300.00"))  # fmt: skip
    real = world.sim.authorize

    def slow(*args: Any, **kwargs: Any) -> Any:
        world.clock.advance(hours=1)
        if during is not None:
            during()
        return real(*args, **kwargs)

    monkeypatch.setattr(world.sim, "authorize", slow)
    draft = world.bo.begin_completion("SO-1", AGENT)
    draft = draft.add_prepayment("check", usd("250.00"), check_number="1001")
    world.bo.submit(draft.add_card(card(), usd("50.00")))


def test_a_check_is_held_its_days_from_its_posting(monkeypatch: pytest.MonkeyPatch) -> None:
    """S2: the 250.00 check posted at the submit's start is held three days from then, as
    it is when the submit stops in doubt: the hold ended three days after the submit's
    end (an hour later here, as long as the card's authorization took)."""
    world = new_world(Settings.default().with_policies(completion=CHECK_POLICY))
    _submitted_with_a_slow_card(world, monkeypatch)
    check = world.bo.order("SO-1").hold(HoldCode.CHECK)
    assert check is not None
    assert (check.placed_at, check.until) == (START, START + timedelta(days=3))


def test_a_check_hold_released_while_the_submit_runs_stays_released(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """S4: a supervisor releasing (hold_override) the check's hold once it is there, while
    the card's authorization is under way, releases it: the submit's end placed it again,
    and the order stayed held three more days."""
    world = new_world(Settings.default().with_policies(completion=CHECK_POLICY))

    def release() -> None:
        world.bo.release_hold("SO-1", HoldCode.CHECK, BOSS)

    _submitted_with_a_slow_card(world, monkeypatch, release)
    order = world.bo.order("SO-1")
    assert order.hold(HoldCode.CHECK) is None
    assert order.approved
    assert [(h.hold.code, h.override) for h in order.released_holds] == [(HoldCode.CHECK, True)]
