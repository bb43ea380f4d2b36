"""Invoicing, pickup and refunds racing another worker's recover() (rule O2).

A recovery that looks up the key of a call still on its way spends it: the live call
comes back never received. That is no decline: the run sends the call once more under a
new attempt (the spent key can never be carried out), and a second "never received"
counts as the call failing.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ocop import Authorization, AuthorizationToken, BackOffice, CardPayment, Channel
from ocop.adapters.memory import ManualClock
from worlds import CUSTOMER, START, card, usd

from .support import AGENT, RecoveryOnTheWay


def _racing(
    on: str,
    match: str = "",
    *,
    multi_capture: bool = True,
    total: str = "50.00",
    then: Callable[[BackOffice, RecoveryOnTheWay, ManualClock], None] | None = None,
) -> tuple[BackOffice, RecoveryOnTheWay]:
    """A back office whose order SO-1 (``total`` on one reusable card) is placed, and whose
    next call of kind ``on`` (with ``match`` in its key) another worker's recover() spends;
    ``then`` changes the world before that."""
    clock = ManualClock(START)
    sim = RecoveryOnTheWay(clock=clock, multi_capture=multi_capture)
    bo = BackOffice.in_memory(processor=sim, clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER,
                   total=usd(total), payments=[CardPayment(card(), usd(total))])  # fmt: skip
    if then is not None:
        then(bo, sim, clock)
    sim.on, sim.match = on, match
    sim.other = BackOffice(store=bo.ports.store, journal=bo.ports.journal, processor=sim,
                           clock=clock)  # fmt: skip
    return bo, sim


def _outcomes(bo: BackOffice) -> list[tuple[str, str]]:
    return [(op.key, op.outcome.value) for op in bo.operations("SO-1") if op.outcome]


def test_a_released_rest_whose_reauthorization_a_recovery_spent_is_authorized_once_more() -> None:
    """I2, O2: the rest a single capture released is authorized again; that call never
    received (a concurrent recover() spent its key) is sent once more under a new attempt
    (the line was failed "not received" with the 30.00 rest held by nothing)."""
    bo, sim = _racing("authorize", "/authorize:L1.A2", multi_capture=False)
    result = bo.invoice("SO-1", "INV-1", usd("20.00"))
    assert (result.failed, result.in_doubt, result.uncovered) == ((), (), usd("0.00"))
    line = result.order.line("L1")
    assert (line.captured, line.authorized) == (usd("20.00"), usd("30.00"))
    assert _outcomes(bo)[2:] == [
        ("SO-1/authorize:L1.A2#1", "not_received"),
        ("SO-1/authorize:L1.A2#2", "approved"),
    ]
    assert [sim.authorization_open(a.token.value) for a in line.authorizations] == [
        usd("0.00"), usd("30.00"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("on", "match", "resent"),
    [
        ("void", "", "SO-1/void:L1.A1"),
        ("authorize", "/authorize:L1.A2", "SO-1/authorize:L1.A2"),
        ("capture", "L1.A2", "SO-1/capture:INV-1:L1:L1.A2"),
    ],
    ids=["void", "reauthorization", "recapture"],
)
def test_a_pickup_retry_whose_call_a_recovery_spent_sends_it_once_more(
    on: str, match: str, resent: str
) -> None:
    """I6, O2: the pickup retry's void, new authorization or capture never received (a
    concurrent recover() spent its key) is sent once more under a new attempt, and the
    retry captures (it asked for a new payment, the card able to pay)."""
    bo, sim = _racing(on, match)
    sim.script("capture", "decline")
    result = bo.pickup("SO-1", "INV-1", usd("20.00"))
    assert [(c.auth_id, c.amount) for c in result.captures] == [("L1.A2", usd("20.00"))]
    assert (result.new_payment_required, result.in_doubt) == (False, ())
    assert result.uncovered == usd("0.00")
    line = result.order.line("L1")
    assert (line.captured, line.authorized) == (usd("20.00"), usd("30.00"))
    assert [sim.authorization_open(a.token.value) for a in line.authorizations] == [
        usd("0.00"), usd("30.00"),
    ]  # fmt: skip
    assert [(k, v) for k, v in _outcomes(bo) if k.startswith(resent)] == [
        (f"{resent}#1", "not_received"),
        (f"{resent}#2", "approved"),
    ]


@pytest.mark.parametrize("pickup", [False, True], ids=["invoice", "pickup"])
def test_a_capture_a_recovery_spent_is_sent_once_more_and_captures_once(pickup: bool) -> None:
    """I1, I6, O2: an invoice's capture never received (a concurrent recover() spent its
    key, which the processor then never carries out) is sent once more under a new
    attempt: captured once (the invoice failed the line "not received" and captured
    nothing; a pickup voided the authorization and authorized the card again)."""
    bo, sim = _racing("capture")
    run = bo.pickup if pickup else bo.invoice
    result = run("SO-1", "INV-1", usd("20.00"))
    assert [(c.auth_id, c.amount) for c in result.captures] == [("L1.A1", usd("20.00"))]
    assert (result.failed, result.in_doubt, result.uncovered) == ((), (), usd("0.00"))
    assert result.new_payment_required is False
    line = result.order.line("L1")
    assert (line.captured, line.authorized) == (usd("20.00"), usd("30.00"))
    assert [(e.kind, e.key, e.amount) for e in sim.ledger()] == [
        ("authorize", "SO-1/authorize:L1.A1#1", usd("50.00")),
        ("capture", "SO-1/capture:INV-1:L1:L1.A1#2", usd("20.00")),
    ]
    assert _outcomes(bo)[1:] == [
        ("SO-1/capture:INV-1:L1:L1.A1#1", "not_received"),
        ("SO-1/capture:INV-1:L1:L1.A1#2", "approved"),
    ]
    assert bo.recover().resolved == ()  # nothing left in doubt


def _split_then_expired(bo: BackOffice, sim: RecoveryOnTheWay, clock: ManualClock) -> None:
    """SO-1's 100.00 line held by two authorizations (60.00, then 40.00), both expired."""
    order = bo.order("SO-1")
    line = order.line("L1")
    adjusted = sim.adjust("SO-1/setup:adjust", line.authorizations[0].token, usd("60.00"))
    second = sim.authorize("SO-1/setup:authorize", card(), usd("40.00"))
    assert adjusted.approved
    assert isinstance(second.token, AuthorizationToken)
    extra = Authorization.new("L1.A2", second.token, usd("40.00"), at=clock.now(),
                              multi_capture=True, card_value=card().value)  # fmt: skip
    changed = order.with_line(line.adjusted("L1.A1", usd("60.00")).authorized_with(extra))
    with bo.ports.store.unit_of_work() as uow:
        uow.orders.update(changed)
        uow.commit()
    clock.advance(days=15)


@pytest.mark.parametrize(
    ("on", "match"), [("void", "L1.A1"), ("authorize", "L1.A3")], ids=["void", "authorize"]
)
def test_a_second_expired_authorization_a_recovery_renewed_is_captured_on_the_new_one(
    on: str, match: str
) -> None:
    """I3, A2, O2: a line held by two expired authorizations; the first one's renewal
    never received, a concurrent recover() renews the whole line (both voided, one new
    authorization). The second piece is captured on the new authorization too (it voided
    the second again, declined as nothing was open, failed the line, left 40.00 uncovered
    and held the order AUTHORIZATION_EXPIRED, the new authorization holding it)."""
    bo, sim = _racing(on, match, total="100.00", then=_split_then_expired)
    result = bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert (result.failed, result.in_doubt, result.uncovered) == ((), (), usd("0.00"))
    assert [(c.auth_id, c.amount) for c in result.captures] == [
        ("L1.A3", usd("60.00")), ("L1.A3", usd("40.00")),
    ]  # fmt: skip
    order = bo.order("SO-1")
    assert order.holds == ()
    line = order.line("L1")
    assert (line.renewing, line.captured, line.authorized) == (False, usd("100.00"), usd("0.00"))
    assert [sim.authorization_open(a.token.value) for a in line.authorizations] == [
        usd("0.00"), usd("0.00"), usd("0.00"),
    ]  # fmt: skip
    assert [e.kind for e in sim.ledger()].count("void") == 2


@pytest.mark.parametrize("linked", [True, False], ids=["linked", "unlinked"])
def test_a_refund_a_recovery_spent_is_sent_once_more_and_refunds_once(linked: bool) -> None:
    """R1, R4, O2: a refund never received (a concurrent recover() spent its key, which the
    processor then never carries out) is sent once more under a new attempt: refunded
    once (it was reported failed "not received" and nothing went back)."""
    bo, sim = _racing("refund" if linked else "unlinked_refund")
    bo.invoice("SO-1", "INV-1", usd("50.00"))
    other = card("tok_9", last4="9999")
    if linked:
        result = bo.refund("SO-1", "RMA-1", usd("20.00"), AGENT)
    else:
        result = bo.refund_to_card("SO-1", "RMA-1", other, usd("20.00"), actor=AGENT)
    assert (result.failed, result.in_doubt, result.fallback) == ((), (), usd("0.00"))
    assert [r.amount for r in result.refunds] == [usd("20.00")]
    assert result.order.refunded == usd("20.00")
    paid = [(e.kind, e.key.rsplit("#")[-1], e.amount) for e in sim.ledger() if "refund" in e.kind]
    assert paid == [("refund" if linked else "unlinked_refund", "2", usd("20.00"))]
    assert [v for k, v in _outcomes(bo) if "RMA-1" in k] == ["not_received", "approved"]
