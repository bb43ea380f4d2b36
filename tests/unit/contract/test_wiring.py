"""The owner's acceptance tests of the design's Public API (contract). The wiring: the
manual clock, the simulator (its defaults, scripts, switches and ledger), notifications
(N1, N2), the in-memory back office and the processor router (I5)."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

import ocop
import ocop.ports.processor
from ocop import (
    BackOffice,
    CardPayment,
    CardToken,
    Channel,
    Customer,
    OcopError,
    Settings,
)
from ocop.adapters.memory import InMemoryJournal, InMemoryStore, ManualClock
from ocop.adapters.routing import ProcessorRouter
from ocop.adapters.simulated import SimulatedCrash, SimulatedProcessor

from .support import AGENT, OTHER, START, card_order, usd, world


# -- wiring ------------------------------------------------------------------------------
def test_manual_clock_advances_by_days() -> None:
    """``ManualClock(start).advance(days=3)``."""
    clock = ManualClock(START)
    clock.advance(days=3)
    assert clock.now() == START + timedelta(days=3)


def test_simulated_processor_defaults() -> None:
    """Defaults: multi-capture, adjustments, unlinked refunds, connector "sim", account "sa-1"."""
    caps = SimulatedProcessor(clock=ManualClock(START)).capabilities
    assert (caps.multi_capture, caps.adjustments, caps.unlinked_refunds) == (True, True, True)
    assert (caps.connector, caps.service_account) == ("sim", "sa-1")


def test_simulated_processor_refuses_another_accounts_token() -> None:
    """A card token of another connector or account is refused by the simulator."""
    sim = SimulatedProcessor(clock=ManualClock(START))
    foreign = CardToken(value="tok_x", connector="other", service_account="sa-1",
                        brand="visa", last4="4242")  # fmt: skip
    result = sim.authorize("K-1", foreign, usd("10.00"))
    assert result.outcome is not ocop.Outcome.APPROVED
    assert sim.ledger() == ()


@pytest.mark.parametrize(
    "script",
    ["approve", "decline", "timeout_before", "timeout_after_success", "crash_after_success"],
)
def test_every_documented_script_is_accepted(script: str) -> None:
    """``sim.script("capture", ...)`` takes each documented outcome."""
    SimulatedProcessor(clock=ManualClock(START)).script("capture", script)


def test_a_scripted_timeout_after_success_leaves_the_capture_in_doubt() -> None:
    """timeout_after_success: the processor captured, the caller does not know; the
    invoice's ``.in_doubt`` holds the key and ``recover()`` resolves it."""
    bo, sim, _ = world()
    card_order(bo)
    sim.script("capture", "timeout_after_success")
    inv = bo.invoice("SO-1", "INV-1", usd("60.00"))
    assert isinstance(inv.in_doubt, tuple)
    assert len(inv.in_doubt) == 1
    assert all(isinstance(k, str) for k in inv.in_doubt)
    assert bo.orders(in_doubt=True) == ("SO-1",)
    report = bo.recover()
    assert report.resolved == inv.in_doubt
    assert report.still_in_doubt == ()
    assert bo.order("SO-1").captured == usd("60.00")
    assert [e.kind for e in sim.ledger()] == ["authorize", "capture"]
    assert sim.ledger()[1].key == inv.in_doubt[0]
    assert sim.ledger()[1].amount == usd("60.00")


def test_pending_capture_settled_by_notification() -> None:
    """N1, N2: a pending capture counts as captured; ``settle_pending("approve")`` returns
    notifications; ``handle_notification`` applies each once, then reports a duplicate."""
    bo, sim, _ = world()
    card_order(bo)
    sim.script("capture", "pending")
    inv = bo.invoice("SO-1", "INV-1", usd("60.00"))
    assert inv.in_doubt == ()
    assert bo.order("SO-1").captured == usd("60.00")
    notes = sim.settle_pending("approve")
    assert len(notes) == 1
    first = bo.handle_notification(notes[0])
    assert (first.applied, first.duplicate, first.unmatched) == (True, False, False)
    again = bo.handle_notification(notes[0])
    assert (again.applied, again.duplicate, again.unmatched) == (False, True, False)
    assert bo.order("SO-1").captured == usd("60.00")
    assert [e.kind for e in sim.ledger()] == ["authorize", "capture"]


def test_pending_capture_declined_is_undone() -> None:
    """N2: a failure notification for a pending capture undoes it."""
    bo, sim, _ = world()
    card_order(bo)
    sim.script("capture", "pending")
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    (note,) = sim.settle_pending("decline")
    result = bo.handle_notification(note)
    assert result.applied
    assert result.undone
    assert not result.unmatched
    assert bo.order("SO-1").captured == usd("0.00")


def test_a_notification_naming_only_the_processor_reference_is_applied() -> None:
    """N2: a notification is matched by operation key or by processor reference."""
    bo, sim, _ = world()
    card_order(bo)
    sim.script("capture", "pending")
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    (note,) = sim.settle_pending("approve")
    assert note.reference
    result = bo.handle_notification(attrs.evolve(note, key=""))
    assert (result.applied, result.order_id, result.key) == (True, "SO-1", note.key)
    assert bo.handle_notification(note).duplicate
    assert bo.order("SO-1").received == usd("60.00")


def test_a_notification_matching_nothing_is_kept_unmatched() -> None:
    """N2: a notification of another back office's operation is unmatched, and kept."""
    bo, sim, _ = world()
    card_order(bo)
    sim.script("capture", "pending")
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    (note,) = sim.settle_pending("approve")
    stranger, _, _ = world()
    result = stranger.handle_notification(note)
    assert (result.applied, result.duplicate, result.unmatched) == (False, False, True)
    assert stranger.notifications_for_review() == (note,)


def test_in_memory_defaults_and_explicit_parts() -> None:
    """``BackOffice.in_memory()`` needs no argument; ``BackOffice(store=..., ...)`` wires
    the parts ``in_memory()`` uses."""
    bo = BackOffice.in_memory(settings=None, processor=None, clock=None)
    assert bo.settings == Settings.default()
    assert isinstance(bo.processor, SimulatedProcessor)
    clock = ManualClock(START)
    explicit = BackOffice(store=InMemoryStore(), processor=SimulatedProcessor(clock=clock),
                          journal=InMemoryJournal(), settings=Settings.default(),
                          clock=clock)  # fmt: skip
    card_order(explicit)
    explicit.invoice("SO-1", "INV-1", usd("100.00"))
    assert explicit.journal("SO-1")[0].order_id == "SO-1"


def test_router_sends_each_call_to_the_account_that_issued_the_token() -> None:
    """I5: a ``ProcessorRouter`` of two simulators routes by the card's connector/account."""
    clock = ManualClock(START)
    pos = SimulatedProcessor(clock=clock, connector="pos", service_account="sa-pos")
    online = SimulatedProcessor(clock=clock, connector="web", service_account="sa-web")
    bo = BackOffice.in_memory(processor=ProcessorRouter([pos, online]), clock=clock)
    web_card = CardToken(value="tok_w", connector="web", service_account="sa-web",
                         brand="visa", last4="4444")  # fmt: skip
    pos_card = CardToken(value="tok_p", connector="pos", service_account="sa-pos",
                         brand="visa", last4="5555")  # fmt: skip
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("30.00"), payments=[CardPayment(web_card, usd("30.00"))])  # fmt: skip
    bo.place_order("SO-2", channel=Channel.POS, customer=Customer.guest(),
                   total=usd("20.00"), payments=[CardPayment(pos_card, usd("20.00"))])  # fmt: skip
    bo.invoice("SO-1", "INV-1", usd("30.00"))
    bo.invoice("SO-2", "INV-1", usd("20.00"))
    bo.refund("SO-1", "RMA-1", usd("5.00"), AGENT)
    assert [e.kind for e in online.ledger()] == ["authorize", "capture", "refund"]
    assert [e.kind for e in pos.ledger()] == ["authorize", "capture"]
    stranger = CardToken(value="tok_s", connector="else", service_account="sa-x",
                         brand="visa", last4="6666")  # fmt: skip
    with pytest.raises(OcopError):  # refused locally, before any processor call
        bo.place_order("SO-3", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                       total=usd("10.00"),
                       payments=[CardPayment(stranger, usd("10.00"))])  # fmt: skip
    assert len(online.ledger()) + len(pos.ledger()) == 5


# -- the simulator's switches and ledger -------------------------------------------------
def test_the_ledger_names_every_kind() -> None:
    """``sim.ledger()`` entries: ``.kind`` among authorize, adjust, capture, void, refund,
    unlinked_refund, with ``.key`` and ``.amount``."""
    bo, sim, _ = world()
    card_order(bo)
    bo.submit(bo.begin_completion("SO-1", AGENT).change_amount("L1", usd("100.00"))
              .add_card(OTHER, usd("10.00")).remove("L2"))  # fmt: skip
    bo.change_total("SO-1", usd("120.00"), AGENT)
    bo.submit(bo.begin_completion("SO-1", AGENT).change_amount("L1", usd("120.00")))
    bo.invoice("SO-1", "INV-1", usd("120.00"))
    bo.refund("SO-1", "RMA-1", usd("20.00"), AGENT)
    bo.refund_to_card("SO-1", "RMA-2", OTHER, usd("5.00"), AGENT)
    card_order(bo, "SO-2", "10.00")
    bo.cancel_order("SO-2", AGENT)
    kinds = [e.kind for e in sim.ledger()]
    assert set(kinds) == {"authorize", "adjust", "capture", "void", "refund", "unlinked_refund"}
    ops = {op.key: op for o in ("SO-1", "SO-2") for op in bo.operations(o)}
    for entry in sim.ledger():
        assert ops[entry.key].kind == entry.kind
        assert ops[entry.key].amount in (entry.amount, None)


def test_a_simulator_without_adjustments_voids_and_authorizes_again() -> None:
    """C3 with ``adjustments=False``: a changed amount voids and authorizes the new one."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock, adjustments=False)
    bo = BackOffice.in_memory(processor=sim, clock=clock)
    card_order(bo)
    bo.submit(bo.begin_completion("SO-1", AGENT).change_amount("L1", usd("90.00")))
    assert [(e.kind, e.amount) for e in sim.ledger()] == [
        ("authorize", usd("100.00")), ("void", usd("100.00")),
        ("authorize", usd("90.00"))]  # fmt: skip


def test_a_simulator_without_multi_capture_authorizes_the_rest_again() -> None:
    """I2 with ``multi_capture=False``: after a partial capture the rest is authorized
    again with the card token."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock, multi_capture=False)
    bo = BackOffice.in_memory(processor=sim, clock=clock)
    card_order(bo)
    bo.invoice("SO-1", "INV-1", usd("60.00"))
    assert [(e.kind, e.amount) for e in sim.ledger()] == [
        ("authorize", usd("100.00")), ("capture", usd("60.00")),
        ("authorize", usd("40.00"))]  # fmt: skip
    assert bo.order("SO-1").lines[0].authorized == usd("40.00")


def test_a_simulator_without_unlinked_refunds_refuses_them() -> None:
    """R4 with ``unlinked_refunds=False``: refused, nothing sent."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock, unlinked_refunds=False)
    bo = BackOffice.in_memory(processor=sim, clock=clock)
    card_order(bo)
    bo.invoice("SO-1", "INV-1", usd("100.00"))
    with pytest.raises(ocop.FeatureDisabled):
        bo.refund_to_card("SO-1", "RMA-1", OTHER, usd("5.00"), AGENT)
    assert [e.kind for e in sim.ledger()] == ["authorize", "capture"]


def test_a_crash_after_success_is_finished_by_recover() -> None:
    """crash_after_success: the caller dies after the processor moved money; ``recover()``
    applies the capture once."""
    bo, sim, _ = world()
    card_order(bo)
    sim.script("capture", "crash_after_success")
    with pytest.raises(SimulatedCrash):
        bo.invoice("SO-1", "INV-1", usd("60.00"))
    report = bo.recover()
    assert len(report.resolved) == 1
    assert bo.order("SO-1").captured == usd("60.00")
    assert [e.kind for e in sim.ledger()] == ["authorize", "capture"]


class _Forgetful(SimulatedProcessor):
    """A simulator that says it cannot tell a forgotten key from one never received."""

    @property
    def capabilities(self) -> ocop.ports.processor.ProcessorCapabilities:
        return attrs.evolve(super().capabilities, unknown_key_never_received=False)


def test_a_processor_that_forgets_keys_decides_nothing() -> None:
    """N3: a lookup that finds no key, from a processor that forgets keys, leaves the call
    in doubt and lists it for reconciliation."""
    clock = ManualClock(START)
    sim = _Forgetful(clock=clock)
    bo = BackOffice.in_memory(processor=sim, clock=clock)
    card_order(bo)
    sim.script("capture", "timeout_before")
    inv = bo.invoice("SO-1", "INV-1", usd("60.00"))
    report = bo.recover()
    assert report.still_in_doubt == inv.in_doubt
    assert report.for_reconciliation == inv.in_doubt
    assert bo.orders(in_doubt=True) == ("SO-1",)
    with pytest.raises(ocop.OperationInDoubt):
        bo.invoice("SO-1", "INV-2", usd("40.00"))
    plain, plain_sim, _ = world()
    card_order(plain)
    plain_sim.script("capture", "timeout_before")
    plain.invoice("SO-1", "INV-1", usd("60.00"))
    decided = plain.recover()
    assert decided.still_in_doubt == ()
    assert plain.orders(in_doubt=True) == ()


def test_router_keeps_each_accounts_own_capabilities() -> None:
    """I5 through a router: a terminal account without multi-capture re-authorizes the
    rest after a partial capture, the online one captures again; an unlinked refund goes
    only to a card whose own processor allows them."""
    clock = ManualClock(START)
    pos = SimulatedProcessor(clock=clock, connector="pos", service_account="sa-pos",
                             unlinked_refunds=False, multi_capture=False)  # fmt: skip
    online = SimulatedProcessor(clock=clock, connector="web", service_account="sa-web")
    bo = BackOffice.in_memory(processor=ProcessorRouter([pos, online]), clock=clock)
    web_card = CardToken(value="tok_w", connector="web", service_account="sa-web",
                         brand="visa", last4="4444")  # fmt: skip
    pos_card = CardToken(value="tok_p", connector="pos", service_account="sa-pos",
                         brand="visa", last4="5555")  # fmt: skip
    for order_id, channel, card in (("SO-1", Channel.ECOMMERCE, web_card),
                                    ("SO-2", Channel.POS, pos_card)):  # fmt: skip
        bo.place_order(order_id, channel=channel, customer=Customer.guest(),
                       total=usd("30.00"), payments=[CardPayment(card, usd("30.00"))])  # fmt: skip
        bo.invoice(order_id, "INV-1", usd("10.00"))
    assert [e.kind for e in online.ledger()] == ["authorize", "capture"]
    assert [(e.kind, e.amount) for e in pos.ledger()][-1] == ("authorize", usd("20.00"))
    with pytest.raises(ocop.FeatureDisabled):
        bo.refund_to_card("SO-1", "RMA-1", pos_card, usd("1.00"), AGENT)
    bo.refund_to_card("SO-1", "RMA-2", web_card, usd("1.00"), AGENT)
    assert [e.kind for e in online.ledger()][-1] == "unlinked_refund"
    assert "unlinked_refund" not in [e.kind for e in pos.ledger()]
