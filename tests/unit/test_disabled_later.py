"""F1: features turned off after OCOP was turned on behave as their feature-off rules.

Unified journal defaults, duplicate payment protection and refunds over multiple captures
may be turned off once OCOP is on (discouraged). Commerce orders are then still managed
(OCOP is on), and each switched-off feature behaves as J2, I4 and R2 say when it is off;
the back office names each one in a warning when it starts.
"""

from __future__ import annotations

import logging

import pytest

from ocop import Actor, BackOffice, CardPayment, Channel, Customer, PaymentsType, Settings
from ocop.adapters.simulated import SimulatedProcessor
from worlds import card, new_world, usd

AGENT = Actor.call_center("agent-1")


def _world(**off: bool) -> tuple[BackOffice, SimulatedProcessor]:
    world = new_world(Settings.default().with_features(**off))
    bo, sim = world.bo, world.sim
    order = bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=Customer.guest(),
        total=usd("100.00"),
        payments=[CardPayment(card(), usd("100.00"))],
    )
    assert order.payments_type is PaymentsType.COMMERCE  # OCOP is on
    return bo, sim


def test_without_duplicate_protection_a_repeated_invoice_captures_again_with_ocop_on() -> None:
    """I4 off (OCOP on): each attempt of an invoice gets a new key and captures again."""
    bo, sim = _world(duplicate_payment_protection=False)
    bo.invoice("SO-1", "INV-1", usd("40.00"))
    again = bo.invoice("SO-1", "INV-1", usd("40.00"))
    keys = [e.key for e in sim.ledger() if e.kind == "capture"]
    assert keys == ["SO-1/capture:INV-1:L1:L1.A1#1", "SO-1/capture:INV-1:L1:L1.A1#2"]
    assert again.order.captured == usd("80.00")


def test_with_duplicate_protection_on_a_repeated_invoice_captures_nothing() -> None:
    """I4 on: the same invoice twice captures once (the contrast to the test above)."""
    bo, sim = _world()
    bo.invoice("SO-1", "INV-1", usd("40.00"))
    bo.invoice("SO-1", "INV-1", usd("40.00"))
    assert [e.kind for e in sim.ledger()].count("capture") == 1


@pytest.mark.parametrize("call", ["invoice", "pickup"])
def test_an_invoice_captured_twice_while_protection_was_off_is_repeated_with_it_on(
    call: str,
) -> None:
    """I4, F1: duplicate protection turned back on after an invoice was captured twice while
    it was off: repeating that invoice reuses its captures and captures nothing more (it
    raised InvalidAmount from the negative rest); its result covers the invoice."""
    bo, sim = _world(duplicate_payment_protection=False)
    bo.invoice("SO-1", "INV-1", usd("30.00"))
    bo.invoice("SO-1", "INV-1", usd("30.00"))  # captured again: 60.00 for a 30.00 invoice
    on = bo.with_settings(Settings.default())
    again = getattr(on, call)("SO-1", "INV-1", usd("30.00"))
    assert [c.capture_id for c in again.captures] == [
        "SO-1/capture:INV-1:L1:L1.A1#1",
        "SO-1/capture:INV-1:L1:L1.A1#2",
    ]
    assert again.uncovered == usd("0.00")
    assert (again.failed, again.in_doubt) == ((), ())
    assert [e.kind for e in sim.ledger()].count("capture") == 2
    assert on.order("SO-1").captured == usd("60.00")
    assert sum((v.amount for v in on.journal("SO-1")), usd("0.00")) == usd("60.00")


def test_without_refunds_over_multiple_captures_one_capture_is_refunded_with_ocop_on() -> None:
    """R2 off (OCOP on): a return refunds one capture, the newest, and the rest by fallback."""
    bo, sim = _world(refunds_over_multiple_captures=False)
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    bo.invoice("SO-1", "INV-2", usd("40.00"))
    result = bo.refund("SO-1", "RMA-1", usd("70.00"), AGENT)
    assert [(r.capture_id, r.amount) for r in result.refunds] == [
        ("SO-1/capture:INV-2:L1:L1.A1#1", usd("40.00"))
    ]
    assert result.fallback == usd("30.00")
    assert [e.kind for e in sim.ledger()].count("refund") == 1


def test_without_unified_journals_vouchers_go_to_the_channel_journals_with_ocop_on() -> None:
    """J2 off (OCOP on): receipts and refunds post to the e-commerce channel's journals."""
    bo, _ = _world(unified_journal_defaults=False)
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    bo.refund("SO-1", "RMA-1", usd("10.00"), AGENT)
    assert {(v.kind.value, v.journal_name) for v in bo.journal("SO-1")} == {
        ("payment", "ECOM-PAY"),
        ("refund", "ECOM-REF"),
    }


@pytest.mark.parametrize(
    "feature",
    ["unified_journal_defaults", "duplicate_payment_protection", "refunds_over_multiple_captures"],
)
def test_the_back_office_logs_each_disabled_feature_when_it_starts(
    feature: str, caplog: pytest.LogCaptureFixture
) -> None:
    """F1: starting a back office with a prerequisite turned off logs its warning once."""
    settings = Settings.default().with_features(**{feature: False})
    with caplog.at_level(logging.WARNING, logger="ocop.settings"):
        BackOffice.in_memory(settings=settings)
    assert [r.getMessage() for r in caplog.records] == list(settings.warnings())
    assert [feature in r.getMessage() for r in caplog.records] == [True]


def test_a_back_office_with_every_feature_on_logs_no_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The defaults are not discouraged: nothing is logged at start."""
    with caplog.at_level(logging.WARNING, logger="ocop.settings"):
        BackOffice.in_memory()
    assert caplog.records == []
