"""Invoicing and pickup racing another worker's recover() (rule O2).

A recovery that looks up the key of a call still on its way spends it: the live call
comes back never received. That is no decline: the run sends the call once more under a
new attempt (the spent key can never be carried out), and a second "never received"
counts as the call failing.
"""

from __future__ import annotations

import pytest

from ocop import BackOffice, CardPayment, Channel
from ocop.adapters.memory import ManualClock
from worlds import CUSTOMER, START, card, usd

from .support import RecoveryOnTheWay


def _racing(
    on: str, match: str = "", *, multi_capture: bool = True
) -> tuple[BackOffice, RecoveryOnTheWay]:
    """A back office whose order SO-1 (50.00 on one reusable card) is placed, and whose
    next call of kind ``on`` (with ``match`` in its key) another worker's recover() spends."""
    clock = ManualClock(START)
    sim = RecoveryOnTheWay(clock=clock, multi_capture=multi_capture)
    bo = BackOffice.in_memory(processor=sim, clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER,
                   total=usd("50.00"), payments=[CardPayment(card(), usd("50.00"))])  # fmt: skip
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
