"""Settings that act (issue 10): order completion for call centers, omni-channel payments
and manual void of expired authorizations each change what happens; each test fails when
its flag is ignored. The three can be off only while OCOP is off (F1, F2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocop import (
    Actor,
    BackOffice,
    CardPayment,
    Channel,
    CompletionPolicy,
    Customer,
    FeatureDisabled,
    OrderStatus,
    Settings,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from worlds import START, card, new_world, usd

AGENT = Actor.call_center("agent-1")
OCOP_OFF = Settings.default().with_features(omni_channel_order_payments=False)


def _world(settings: Settings) -> tuple[BackOffice, SimulatedProcessor, ManualClock]:
    world = new_world(settings)
    return world.bo, world.sim, world.clock


def _call_center_order(bo: BackOffice, amount: str = "50.00") -> None:
    bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=Customer.guest(),
                   total=usd(amount), payments=[CardPayment(card(), usd(amount))],
                   created_by=AGENT)  # fmt: skip


# -- completion_for_call_center ("Enable order completion") --------------------------------

NO_COMPLETION = OCOP_OFF.with_policies(
    completion=CompletionPolicy(completion_for_call_center=False)
)


def test_without_order_completion_a_call_center_order_is_validated_as_placed() -> None:
    """Completion off: the call center order's card is authorized at placement and the order
    approved, as a POS or e-commerce order is; with completion on it waits for submit."""
    bo, sim, _ = _world(NO_COMPLETION)
    _call_center_order(bo)
    order = bo.order("SO-1")
    assert (order.status, order.authorized) == (OrderStatus.APPROVED, usd("50.00"))
    assert [e.kind for e in sim.ledger()] == ["authorize"]

    on, on_sim, _ = _world(OCOP_OFF)
    _call_center_order(on)
    assert on.order("SO-1").status is OrderStatus.PENDING_COMPLETION
    assert on_sim.ledger() == ()


def test_without_order_completion_no_completion_draft_is_begun_or_submitted() -> None:
    """Completion off: begin_completion and submit of a call center order are refused."""
    bo, _, _ = _world(OCOP_OFF)
    _call_center_order(bo)
    draft = bo.begin_completion("SO-1", AGENT)
    off = bo.with_settings(NO_COMPLETION)
    with pytest.raises(FeatureDisabled) as begun:
        off.begin_completion("SO-1", AGENT)
    assert begun.value.feature == "completion_for_call_center"
    with pytest.raises(FeatureDisabled):
        off.submit(draft)
    assert bo.order("SO-1").status is OrderStatus.PENDING_COMPLETION


def test_without_order_completion_a_new_total_is_validated_at_once() -> None:
    """Completion off: a new total puts nothing back to completion; the order is validated
    at once (here: 60.00 against 50.00 paid is out of balance)."""
    bo, _, _ = _world(NO_COMPLETION)
    _call_center_order(bo)
    changed = bo.change_total("SO-1", usd("60.00"), AGENT)
    assert changed.status is OrderStatus.ON_HOLD
    assert [h.code.value for h in changed.holds] == ["out_of_balance"]
    assert changed == bo.order("SO-1")


# -- omni_channel_payments ("Use omni-channel payments") -----------------------------------


def test_pickup_in_store_needs_omni_channel_payments() -> None:
    """Omni-channel payments off: pickup is refused before any call; invoicing still works."""
    bo, sim, _ = _world(OCOP_OFF.with_features(omni_channel_payments=False))
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("50.00"), payments=[CardPayment(card(), usd("50.00"))])  # fmt: skip
    calls = sim.calls
    with pytest.raises(FeatureDisabled) as caught:
        bo.pickup("SO-1", "INV-1", usd("20.00"))
    assert caught.value.feature == "omni_channel_payments"
    assert (sim.calls, bo.order("SO-1").invoices) == (calls, ())
    assert bo.invoice("SO-1", "INV-1", usd("20.00")).captures[0].amount == usd("20.00")

    on, _, _ = _world(OCOP_OFF)
    on.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("50.00"), payments=[CardPayment(card(), usd("50.00"))])  # fmt: skip
    assert on.pickup("SO-1", "INV-1", usd("20.00")).captures[0].amount == usd("20.00")


# -- manual_void_of_expired_authorizations -------------------------------------------------


@pytest.mark.parametrize("manual_void", [True, False])
def test_removing_a_line_whose_authorization_expired_voids_it_only_with_manual_void(
    manual_void: bool,
) -> None:
    """On: removing the line voids its expired authorization at the processor. Off: the
    expired authorization is left to lapse, no void call, and the line is removed all the
    same."""
    settings = OCOP_OFF.with_features(manual_void_of_expired_authorizations=manual_void)
    bo, sim, clock = _world(settings)
    _call_center_order(bo)
    bo.submit(bo.begin_completion("SO-1", AGENT))
    clock.advance(days=15)  # past the 14 days of expiry
    draft = bo.begin_completion("SO-1", AGENT).remove("L1").add_card(card("tok_2"), usd("50.00"))
    result = bo.submit(draft)
    voids = [e for e in sim.ledger() if e.kind == "void"]
    assert len(voids) == (1 if manual_void else 0)
    assert result.order.line("L1").status.value == "voided"
    assert result.order.authorized == usd("50.00")


@pytest.mark.parametrize("manual_void", [True, False])
def test_an_invoice_renews_an_expired_authorization_voiding_it_only_with_manual_void(
    manual_void: bool,
) -> None:
    """I3: an invoice on an expired authorization renews it before the capture. Manual void
    on: the old authorization is voided, then the card authorized anew. Off: it is left to
    lapse at the processor, no void call (as the renewal job and a removal leave it), and
    the card is authorized anew all the same; books and processor agree."""
    settings = OCOP_OFF.with_features(manual_void_of_expired_authorizations=manual_void)
    bo, sim, clock = _world(settings)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("50.00"), payments=[CardPayment(card(), usd("50.00"))])  # fmt: skip
    clock.advance(days=15)  # past the 14 days of expiry, before the 30 of staleness
    result = bo.invoice("SO-1", "INV-1", usd("50.00"))
    kinds = [e.kind for e in sim.ledger()]
    assert kinds == (["authorize", "void", "authorize", "capture"] if manual_void
                     else ["authorize", "authorize", "capture"])  # fmt: skip
    (capture,) = result.captures
    assert (capture.auth_id, capture.amount) == ("L1.A2", usd("50.00"))
    old = result.order.line("L1").authorization("L1.A1")
    assert (old.lapsed, old.open_amount) == (not manual_void, usd("0.00"))
    assert old.voided == (usd("50.00") if manual_void else usd("0.00"))
    assert (result.order.status, result.order.holds) == (OrderStatus.INVOICED, ())
    assert not result.order.line("L1").renewing
    assert [v.amount for v in bo.journal("SO-1")] == [usd("50.00")]


@pytest.mark.parametrize("manual_void", [True, False])
def test_an_expired_authorization_of_a_single_use_card_lapses_without_manual_void(
    manual_void: bool,
) -> None:
    """I3: the expired authorization of a card that cannot be authorized again declines its
    line and holds the order (AUTHORIZATION_EXPIRED). With manual void off it lapses: no
    processor call at all."""
    settings = OCOP_OFF.with_features(manual_void_of_expired_authorizations=manual_void)
    bo, sim, clock = _world(settings)
    once = card(reusable=False)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("50.00"), payments=[CardPayment(once, usd("50.00"))])  # fmt: skip
    clock.advance(days=15)
    result = bo.invoice("SO-1", "INV-1", usd("50.00"))
    kinds = [e.kind for e in sim.ledger()]
    assert kinds == (["authorize", "void"] if manual_void else ["authorize"])
    assert result.captures == ()
    line = result.order.line("L1")
    assert line.status.value == "declined"
    assert line.authorization("L1.A1").lapsed is not manual_void
    assert [h.code.value for h in result.order.holds] == ["authorization_expired"]
    assert bo.journal("SO-1") == ()


@pytest.mark.parametrize("manual_void", [True, False])
def test_cancelling_voids_an_expired_authorization_only_with_manual_void(
    manual_void: bool,
) -> None:
    """X1: cancelling voids the order's open authorizations. One that expired is voided
    only with manual void on; off, it is left to lapse: no void call, nothing open on it,
    and the order is cancelled all the same."""
    settings = OCOP_OFF.with_features(manual_void_of_expired_authorizations=manual_void)
    bo, sim, clock = _world(settings)
    _call_center_order(bo)
    bo.submit(bo.begin_completion("SO-1", AGENT))
    clock.advance(days=15)
    result = bo.cancel_order("SO-1", AGENT)
    assert [e.kind for e in sim.ledger()] == (["authorize", "void"] if manual_void
                                             else ["authorize"])  # fmt: skip
    assert result.voided == (("L1.A1",) if manual_void else ())
    auth = result.order.line("L1").authorization("L1.A1")
    assert (auth.lapsed, auth.open_amount) == (not manual_void, usd("0.00"))
    assert result.order.status is OrderStatus.CANCELLED
    assert bo.order("SO-1") == result.order


@pytest.mark.parametrize("manual_void", [True, False])
@pytest.mark.parametrize("edit", ["replace_card", "increase_without_adjustments"])
def test_a_completion_edit_voids_an_expired_authorization_only_with_manual_void(
    edit: str, manual_void: bool
) -> None:
    """C4, C3: replacing a line's card voids its old authorization; increasing a line on a
    processor without adjustments voids it and authorizes the new amount. One that expired
    is voided only with manual void on; off, it is left to lapse (no void call) and the
    line is authorized all the same, as a removed line's is left."""
    settings = OCOP_OFF.with_features(manual_void_of_expired_authorizations=manual_void)
    world = new_world(settings, adjustments=False)
    bo, sim, clock = world.bo, world.sim, world.clock
    _call_center_order(bo)
    bo.submit(bo.begin_completion("SO-1", AGENT))
    clock.advance(days=15)
    draft = bo.begin_completion("SO-1", AGENT)
    if edit == "replace_card":
        draft = draft.replace_card("L1", card("tok_2", "4242"))
        amount = usd("50.00")
    else:
        bo.change_total("SO-1", usd("60.00"), AGENT)
        draft = bo.begin_completion("SO-1", AGENT).change_amount("L1", usd("60.00"))
        amount = usd("60.00")
    result = bo.submit(draft)
    assert [e.kind for e in sim.ledger()] == (
        ["authorize", "void", "authorize"] if manual_void else ["authorize", "authorize"]
    )
    line = result.order.line("L1")
    old, new = line.authorizations
    assert (old.lapsed, old.open_amount) == (not manual_void, usd("0.00"))
    assert old.voided == (usd("50.00") if manual_void else usd("0.00"))
    assert (new.open_amount, line.status.value) == (amount, "authorized")
    assert result.approved


def test_removing_a_line_whose_authorization_is_fresh_voids_it_either_way() -> None:
    """C6 stands with manual void off: a fresh authorization is voided when its line goes."""
    bo, sim, _ = _world(OCOP_OFF.with_features(manual_void_of_expired_authorizations=False))
    _call_center_order(bo)
    bo.submit(bo.begin_completion("SO-1", AGENT))
    bo.submit(bo.begin_completion("SO-1", AGENT).remove("L1"))
    assert [e.kind for e in sim.ledger()].count("void") == 1


def test_a_lapsed_authorization_survives_storage(tmp_path: Path) -> None:
    """The lapse is stored: a SQLite back office reopened shows the removed line's
    authorization lapsed, nothing open on it, nothing voided."""
    clock = ManualClock(START)
    settings = OCOP_OFF.with_features(manual_void_of_expired_authorizations=False)
    sim = SimulatedProcessor(clock=clock)
    bo = BackOffice.sqlite(tmp_path / "lapse.db", settings=settings, processor=sim, clock=clock)
    _call_center_order(bo)
    bo.submit(bo.begin_completion("SO-1", AGENT))
    clock.advance(days=15)
    bo.submit(bo.begin_completion("SO-1", AGENT).remove("L1"))
    again = BackOffice.sqlite(tmp_path / "lapse.db", settings=settings, processor=sim, clock=clock)
    (auth,) = again.order("SO-1").line("L1").authorizations
    assert (auth.lapsed, auth.open_amount, auth.voided) == (True, usd("0.00"), usd("0.00"))
