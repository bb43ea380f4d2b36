"""Recovery meets outcomes the processor cannot tell yet, and outcomes the order refuses (O2, O3).

While the processor's lookup answers ``UNKNOWN``, ``recover()`` reports the key in
``still_in_doubt``, changes nothing, and the order refuses every money movement
with ``OperationInDoubt``; other orders carry on. Once the processor knows, the
next ``recover()`` applies the outcome exactly once, as the live call would have.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest

from ocop import (
    BackOffice,
    LineStatus,
    Money,
    Operation,
    OperationInDoubt,
    Order,
    Outcome,
    VoucherKind,
)
from worlds import refused_payout, usd

from .support import (
    AGENT,
    OTHER_CARD,
    World,
    assert_ledger_matches_captures,
    entries,
    in_doubt,
    new_world,
    operations,
    place_card_order,
)


@attrs.frozen(kw_only=True)
class Doubt:
    """How one kind of processor call is left in doubt on SO-1, and its key (O4)."""

    kind: str
    key: str
    leave: Callable[[World], None]


def _capture(world: World) -> None:
    place_card_order(world, "SO-1", "100.00")
    world.sim.script("capture", "timeout_after_success")
    assert world.bo.invoice("SO-1", "INV-1", usd("60.00")).in_doubt


def _authorize(world: World) -> None:
    world.sim.script("authorize", "timeout_after_success")
    order = place_card_order(world, "SO-1", "100.00")
    assert order.lines[0].status is LineStatus.PENDING_AUTHORIZATION


def _void(world: World) -> None:
    place_card_order(world, "SO-1", "100.00")
    world.sim.script("void", "timeout_after_success")
    assert world.bo.cancel_order("SO-1", AGENT).in_doubt


def _refund(world: World) -> None:
    place_card_order(world, "SO-1", "100.00")
    world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    world.sim.script("refund", "timeout_after_success")
    assert world.bo.refund("SO-1", "RMA-1", usd("40.00"), AGENT).in_doubt


def _unlinked_refund(world: World) -> None:
    place_card_order(world, "SO-1", "100.00")
    world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    world.sim.script("unlinked_refund", "timeout_after_success")
    assert world.bo.refund_to_card("SO-1", "RMA-1", OTHER_CARD, usd("10.00"), AGENT).in_doubt


DOUBTS = [
    Doubt(kind="capture", key="SO-1/capture:INV-1:L1:L1.A1#1", leave=_capture),
    Doubt(kind="authorize", key="SO-1/authorize:L1.A1#1", leave=_authorize),
    Doubt(kind="void", key="SO-1/void:L1.A1#1", leave=_void),
    Doubt(kind="refund", key="SO-1/refund:RMA-1:capture:INV-1:L1:L1.A1#1:1#1", leave=_refund),
    Doubt(kind="unlinked_refund", key="SO-1/unlinked_refund:RMA-1:1#1", leave=_unlinked_refund),
]


def unsure_world(doubt: Doubt) -> World:
    """SO-2 paid and approved, SO-1 with one call in doubt, a processor that cannot tell."""
    world = new_world()
    place_card_order(world, "SO-2", "50.00")
    doubt.leave(world)
    world.processor.unsure = True
    return world


MOVES: dict[str, Callable[[BackOffice], object]] = {
    "invoice": lambda bo: bo.invoice("SO-1", "INV-9", usd("1.00")),
    "refund": lambda bo: bo.refund("SO-1", "RMA-9", usd("1.00"), AGENT),
    "refund_to_card": lambda bo: bo.refund_to_card("SO-1", "RMA-9", OTHER_CARD, usd("1.00"), AGENT),
    "cancel": lambda bo: bo.cancel_order("SO-1", AGENT),
}


@pytest.mark.parametrize("doubt", DOUBTS, ids=lambda d: d.kind)
def test_an_outcome_the_processor_cannot_tell_stays_in_doubt_and_changes_nothing(
    doubt: Doubt,
) -> None:
    """O2: recover() lists the key in still_in_doubt, resolves nothing, stores nothing new."""
    world = unsure_world(doubt)
    assert in_doubt(world) == [doubt.key]
    order, vouchers, ledger = world.bo.order("SO-1"), world.bo.journal("SO-1"), world.sim.ledger()
    report = world.bo.recover()
    assert report.still_in_doubt == (doubt.key,)
    assert report.resolved == ()
    assert report.unapplied == ()
    assert report.vouchers_posted == 0
    assert world.processor.lookups == [doubt.key]
    assert world.bo.order("SO-1") == order
    assert world.bo.journal("SO-1") == vouchers
    assert world.sim.ledger() == ledger
    assert in_doubt(world) == [doubt.key]
    (op,) = [op for op in operations(world, "SO-1") if op.key == doubt.key]
    assert op.outcome in (None, Outcome.UNKNOWN)


@pytest.mark.parametrize("move", sorted(MOVES))
@pytest.mark.parametrize("doubt", DOUBTS, ids=lambda d: d.kind)
def test_money_movements_on_an_order_still_in_doubt_are_refused(doubt: Doubt, move: str) -> None:
    """O3: after an unsure recovery, moving money on the order raises OperationInDoubt."""
    world = unsure_world(doubt)
    world.bo.recover()
    order, calls = world.bo.order("SO-1"), world.sim.calls
    with pytest.raises(OperationInDoubt) as refused:
        MOVES[move](world.bo)
    assert refused.value.order_id == "SO-1"
    assert refused.value.keys == (doubt.key,)
    assert world.bo.order("SO-1") == order
    assert world.sim.calls == calls


@pytest.mark.parametrize("doubt", DOUBTS, ids=lambda d: d.kind)
def test_other_orders_carry_on_while_one_order_stays_in_doubt(doubt: Doubt) -> None:
    """O3 is per order: SO-2 invoices and refunds while SO-1's call is still unknown."""
    world = unsure_world(doubt)
    world.bo.recover()
    invoiced = world.bo.invoice("SO-2", "INV-1", usd("50.00"))
    assert not invoiced.in_doubt
    assert [(c.capture_id, c.amount) for c in invoiced.captures] == [
        ("SO-2/capture:INV-1:L1:L1.A1#1", usd("50.00"))
    ]
    refunded = world.bo.refund("SO-2", "RMA-1", usd("20.00"), AGENT)
    assert not refunded.in_doubt
    assert [(r.refund_id, r.amount) for r in refunded.refunds] == [
        ("SO-2/refund:RMA-1:capture:INV-1:L1:L1.A1#1:1#1", usd("20.00"))
    ]
    assert in_doubt(world) == [doubt.key]


@pytest.mark.parametrize("doubt", DOUBTS, ids=lambda d: d.kind)
def test_once_the_processor_knows_recovery_resolves_the_key_exactly_once(doubt: Doubt) -> None:
    """O2, O4: the next recover() resolves the key; a third finds nothing; no call is repeated."""
    world = unsure_world(doubt)
    world.bo.recover()
    ledger, calls = world.sim.ledger(), world.sim.calls
    world.processor.unsure = False
    report = world.bo.recover()
    assert report.resolved == (doubt.key,)
    assert report.still_in_doubt == ()
    assert report.unapplied == ()
    assert in_doubt(world) == []
    (op,) = [op for op in operations(world, "SO-1") if op.key == doubt.key]
    assert op.outcome is Outcome.APPROVED
    assert [e.key for e in entries(world, "SO-1", doubt.kind)] == [doubt.key]
    assert world.sim.ledger() == ledger
    assert world.sim.calls == calls
    again = world.bo.recover()
    assert (again.resolved, again.still_in_doubt, again.unapplied) == ((), (), ())
    assert again.vouchers_posted == 0


def _resolved(doubt: Doubt) -> World:
    world = unsure_world(doubt)
    world.bo.recover()
    world.processor.unsure = False
    world.bo.recover()
    return world


def _amounts(order: Order) -> tuple[Money, Money, Money]:
    return order.authorized, order.captured, order.refunded


def test_a_recovered_capture_is_applied_with_its_receipt() -> None:
    """The capture counts on the order, its receipt is journaled once, V5 holds."""
    world = _resolved(DOUBTS[0])
    order = world.bo.order("SO-1")
    assert _amounts(order) == (usd("40.00"), usd("60.00"), usd("0.00"))
    assert [(v.voucher_id, v.kind, v.reference, v.amount) for v in world.bo.journal("SO-1")] == [
        ("V:SO-1/capture:INV-1:L1:L1.A1#1", VoucherKind.PAYMENT, "INV-1", usd("60.00"))
    ]
    assert_ledger_matches_captures(world, "SO-1")
    retry = world.bo.invoice("SO-1", "INV-1", usd("60.00"))
    assert [(c.capture_id, c.amount) for c in retry.captures] == [
        ("SO-1/capture:INV-1:L1:L1.A1#1", usd("60.00"))
    ]
    assert len(entries(world, "SO-1", "capture")) == 1


def test_a_recovered_authorization_is_applied_and_completion_then_approves() -> None:
    """The authorization is recorded on its line; submitting the unchanged draft approves."""
    world = _resolved(DOUBTS[1])
    order = world.bo.order("SO-1")
    (line,) = order.lines
    assert line.status is LineStatus.AUTHORIZED
    assert [(a.auth_id, a.amount, a.open_amount) for a in line.authorizations] == [
        ("L1.A1", usd("100.00"), usd("100.00"))
    ]
    assert world.bo.journal("SO-1") == ()
    submitted = world.bo.submit(world.bo.begin_completion("SO-1", AGENT))
    assert submitted.approved
    assert submitted.processor_calls == 0
    invoiced = world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert [(c.capture_id, c.amount) for c in invoiced.captures] == [
        ("SO-1/capture:INV-1:L1:L1.A1#1", usd("100.00"))
    ]
    assert [e.key for e in entries(world, "SO-1", "authorize")] == ["SO-1/authorize:L1.A1#1"]
    assert_ledger_matches_captures(world, "SO-1")


def test_a_recovered_void_releases_the_authorization_and_cancel_then_finishes() -> None:
    """The void releases all that was open; cancelling again calls no processor."""
    world = _resolved(DOUBTS[2])
    (line,) = world.bo.order("SO-1").lines
    assert line.status is LineStatus.VOIDED
    assert (line.authorized, line.captured) == (usd("0.00"), usd("0.00"))
    calls = world.sim.calls
    cancelled = world.bo.cancel_order("SO-1", AGENT)
    assert cancelled.order.cancelled
    assert cancelled.voided == ()
    assert not cancelled.in_doubt
    assert world.sim.calls == calls
    assert [(e.key, e.amount) for e in entries(world, "SO-1", "void")] == [
        ("SO-1/void:L1.A1#1", usd("100.00"))
    ]


def test_a_recovered_refund_is_applied_with_its_voucher_and_a_retry_refunds_nothing_more() -> None:
    """The linked refund counts once, its refund voucher is journaled once, V5 holds."""
    world = _resolved(DOUBTS[3])
    key = DOUBTS[3].key
    order = world.bo.order("SO-1")
    assert _amounts(order) == (usd("0.00"), usd("100.00"), usd("40.00"))
    refunds = [v for v in world.bo.journal("SO-1") if v.kind is VoucherKind.REFUND]
    assert [(v.voucher_id, v.reference, v.amount) for v in refunds] == [
        (f"V:{key}", "RMA-1", usd("40.00"))
    ]
    calls = world.sim.calls
    retry = world.bo.refund("SO-1", "RMA-1", usd("40.00"), AGENT)
    assert [(r.refund_id, r.amount) for r in retry.refunds] == [(key, usd("40.00"))]
    assert world.sim.calls == calls
    assert_ledger_matches_captures(world, "SO-1")


def test_a_recovered_unlinked_refund_is_applied_once_with_its_voucher() -> None:
    """R4: the unlinked refund is an other refund of the order, journaled once."""
    world = _resolved(DOUBTS[4])
    key = DOUBTS[4].key
    order = world.bo.order("SO-1")
    assert [(r.refund_id, r.return_id, r.amount, r.method) for r in order.other_refunds] == [
        (key, "RMA-1", usd("10.00"), "card")
    ]
    assert order.refunded == usd("10.00")
    refunds = [v for v in world.bo.journal("SO-1") if v.kind is VoucherKind.REFUND]
    assert [(v.voucher_id, v.reference, v.amount) for v in refunds] == [
        (f"V:{key}", "RMA-1", usd("10.00"))
    ]
    calls = world.sim.calls
    retry = world.bo.refund_to_card("SO-1", "RMA-1", OTHER_CARD, usd("10.00"), AGENT)
    assert [(r.refund_id, r.amount) for r in retry.refunds] == [(key, usd("10.00"))]
    assert world.sim.calls == calls
    assert_ledger_matches_captures(world, "SO-1")


# -- unapplied -----------------------------------------------------------------------------


def _log_intent(world: World, op: Operation) -> None:
    with world.store.unit_of_work() as uow:
        uow.operations.record_intent(op)
        uow.commit()


def test_an_outcome_the_order_refuses_is_reported_unapplied_and_the_others_still_resolve() -> None:
    """O2: a processor answer the order refuses (V3) stays in doubt; other keys resolve."""
    world = new_world()
    place_card_order(world, "SO-1", "100.00")
    world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    place_card_order(world, "SO-2", "50.00")
    # A payout of 500.00 the processor claims for SO-1, which received only 100.00.
    payout, approval = refused_payout("SO-1")
    _log_intent(world, payout)
    world.processor.answers[payout.key] = approval
    world.sim.script("capture", "timeout_after_success")
    assert world.bo.invoice("SO-2", "INV-1", usd("50.00")).in_doubt
    before = world.bo.order("SO-1")
    report = world.bo.recover()
    assert report.unapplied == (payout.key,)
    assert report.resolved == ("SO-2/capture:INV-1:L1:L1.A1#1",)
    assert report.still_in_doubt == ()
    assert report.vouchers_posted == 0  # settling posted the capture's receipt already
    assert world.bo.order("SO-2").captured == usd("50.00")
    assert [v.voucher_id for v in world.bo.journal("SO-2")] == ["V:SO-2/capture:INV-1:L1:L1.A1#1"]
    assert world.bo.journal("SO-1")[1:] == ()
    assert world.bo.order("SO-1") == before
    assert in_doubt(world) == [payout.key]
    with pytest.raises(OperationInDoubt) as refused:
        world.bo.refund("SO-1", "RMA-1", usd("1.00"), AGENT)
    assert (refused.value.order_id, refused.value.keys) == ("SO-1", (payout.key,))
    again = world.bo.recover()
    assert (again.resolved, again.unapplied) == ((), (payout.key,))
