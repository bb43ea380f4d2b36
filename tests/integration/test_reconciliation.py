"""The reconciliation ``ocop simulate`` ends with: it finds each disagreement, to the cent."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ocop import (
    BackOffice,
    CaptureToken,
    CardPayment,
    Channel,
    Customer,
    Money,
    Notification,
    NotificationEvent,
    Outcome,
    ProcessorResult,
)
from ocop.adapters._demo import demo_card
from ocop.adapters._reconciliation import order_ids, reconcile
from ocop.adapters.memory import SystemClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain.tokens import AuthorizationToken


def test_agreeing_books_reconcile_and_each_money_movement_behind_ocops_back_shows(
    tmp_path: Path,
) -> None:
    """Store, ledger and journal agree after ordinary work; then a capture the processor
    made outside ocop and an authorization for an order the store lacks are each listed,
    with the open amount they changed."""
    usd = "USD"
    sim = SimulatedProcessor(clock=SystemClock(), state=tmp_path / "sa-1.db")
    bo = BackOffice.sqlite(tmp_path / "shop.db", processor=sim)
    card = demo_card()
    for number in (1, 2):
        bo.place_order(f"R1-1-{number:06d}", channel=Channel.ECOMMERCE,
                       customer=Customer.named("C-1"), total=Money.of("50.00", usd),
                       payments=[CardPayment(card, Money.of("50.00", usd))])  # fmt: skip
    bo.invoice("R1-1-000001", "INV-1", Money.of("20.00", usd))
    five = Money.of("5.00", usd)
    bo.place_order("OTHER-1", channel=Channel.POS, customer=Customer.guest(), total=five,
                   payments=[CardPayment(card, five)])  # fmt: skip
    ids = order_ids(bo, "R1-", page=1)
    assert ids == ["R1-1-000001", "R1-1-000002"]
    clean = reconcile(bo, ids, [sim], "R1-")
    assert clean.clean
    assert (clean.orders, clean.ledger_entries, clean.vouchers) == (2, 3, 1)

    token = bo.order("R1-1-000002").lines[0].authorizations[0].token
    assert isinstance(token, AuthorizationToken)
    sim.capture("R1-1-000002/capture:BY-HAND#1", token, Money.of("7.00", usd))
    sim.authorize("R1-1-000009/authorize:L1#1", card, Money.of("1.00", usd))
    seen: list[int] = []
    found = reconcile(bo, ids, [sim], "R1-", seen.append)
    assert seen == [1, 2]
    assert not found.clean
    assert set(found.differences) == {
        "R1-1-000009: 1 processor records for an order the store does not have",
        "R1-1-000002: capture R1-1-000002/capture:BY-HAND#1: store none, processor 7.00 USD",
        "R1-1-000002: authorization L1.A1 open: store 50.00 USD, processor 43.00 USD",
    }


class _Hollow:
    """The simulated processor, approving the next capture without taking it: the
    processor rejects it afterwards (N4), and its ledger never holds it."""

    def __init__(self, sim: SimulatedProcessor) -> None:
        self.sim = sim
        self.hollow = 1

    def __getattr__(self, name: str) -> object:
        return getattr(self.sim, name)

    def capture(self, key: str, authorization: AuthorizationToken, amount: Money) -> object:
        if not self.hollow:
            return self.sim.capture(key, authorization, amount)
        self.hollow -= 1
        token = CaptureToken("cap_hollow", "sim", authorization.service_account)
        return ProcessorResult(key=key, outcome=Outcome.APPROVED, amount=amount, token=token)


def test_reversal_and_chargeback_vouchers_count_in_the_journal_comparison(
    tmp_path: Path,
) -> None:
    """V4 per kind (N4): a receipt reversed when the processor rejected its capture after
    approving it nets to nothing, and chargeback vouchers less their reversals match what
    chargebacks still take back; books that balance show no difference."""
    usd = "USD"
    sim = SimulatedProcessor(clock=SystemClock(), state=tmp_path / "sa-1.db")
    bo = BackOffice.sqlite(tmp_path / "shop.db", processor=_Hollow(sim))  # type: ignore[arg-type]
    bo.place_order("R2-1", channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                   total=Money.of("50.00", usd),
                   payments=[CardPayment(demo_card(), Money.of("50.00", usd))])  # fmt: skip
    (rejected,) = bo.invoice("R2-1", "INV-1", Money.of("20.00", usd)).captures
    at = datetime(2026, 1, 1, tzinfo=UTC)
    bo.handle_notification(Notification(notification_id="N-1", event=NotificationEvent.OUTCOME,
                                        key=rejected.capture_id, at=at, success=False))  # fmt: skip
    (capture,) = bo.invoice("R2-1", "INV-1", Money.of("20.00", usd)).captures
    bo.handle_notification(Notification(notification_id="N-2",
                                        event=NotificationEvent.CHARGEBACK,
                                        key=capture.capture_id, at=at,
                                        amount=Money.of("5.00", usd)))  # fmt: skip
    found = reconcile(bo, ["R2-1"], [sim], "R2-")
    assert bo.order("R2-1").charged_back == Money.of("5.00", usd)
    assert found.differences == ()
    assert found.vouchers == 4
