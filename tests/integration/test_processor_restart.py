"""A restart of a durable back office and its processor (issue 12): nothing the processor
received is taken for never received.

Both sides are durable: the back office in a SQLite file, the simulated processor in its
own state file. Each restart opens both files again with new objects.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import attrs

from ocop import Actor, BackOffice, CardPayment, CardToken, Channel, Customer, Money
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain.operations import OperationKind, Outcome

CARD = CardToken(value="tok_1", connector="sim", service_account="sa-1",
                 brand="visa", last4="1111", expiry="2030-12")  # fmt: skip
AGENT = Actor.call_center("cc-1")


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


@attrs.define
class Installation:
    """A back office on SQLite and its simulated processor, each in a file of its own."""

    folder: Path
    clock: ManualClock
    sim: SimulatedProcessor = attrs.field(init=False)
    bo: BackOffice = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.start()

    def start(self) -> None:
        self.sim = SimulatedProcessor(clock=self.clock, state=self.folder / "sim.db")
        self.bo = BackOffice.sqlite(self.folder / "payments.db", processor=self.sim,
                                    clock=self.clock)  # fmt: skip

    def restart(self) -> None:
        """The process stops (the objects are dropped) and a new one opens both files."""
        self.sim.close()
        self.start()


def placed(tmp_path: Path) -> Installation:
    site = Installation(tmp_path, ManualClock(datetime(2026, 1, 1, tzinfo=UTC)))
    site.bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                        total=usd("10.00"), payments=[CardPayment(CARD, usd("10.00"))])  # fmt: skip
    return site


def capture_outcomes(bo: BackOffice) -> list[Outcome]:
    return [op.outcome for op in bo.operations("SO-1") if op.kind is OperationKind.CAPTURE]


def test_a_capture_the_processor_took_is_recovered_as_approved_after_a_restart(
    tmp_path: Path,
) -> None:
    """A capture of 10.00 whose answer was lost is, after a restart of both sides, resolved
    by recover() as approved: the order shows 10.00 captured, a retried invoice captures
    nothing more, and a refund of that capture goes through."""
    site = placed(tmp_path)
    site.sim.script("capture", "timeout_after_success")
    in_doubt = site.bo.invoice("SO-1", "INV-1", usd("10.00")).in_doubt
    assert len(in_doubt) == 1

    site.restart()
    report = site.bo.recover()
    assert set(report.resolved) >= set(in_doubt)
    assert report.still_in_doubt == ()
    order = site.bo.order("SO-1")
    assert order.captured == usd("10.00")
    assert capture_outcomes(site.bo) == [Outcome.APPROVED]
    retried = site.bo.invoice("SO-1", "INV-1", usd("10.00"))
    assert (retried.in_doubt, retried.failed) == ((), ())
    assert [c.amount for c in retried.captures] == [usd("10.00")]
    returned = site.bo.refund("SO-1", "RMA-1", usd("10.00"), AGENT)
    assert returned.failed == ()
    assert [r.amount for r in returned.refunds] == [usd("10.00")]
    assert site.bo.order("SO-1").refunded == usd("10.00")
    assert [e.kind for e in site.sim.ledger()] == ["authorize", "capture", "refund"]


def test_a_capture_that_never_reached_the_processor_is_not_received_after_a_restart(
    tmp_path: Path,
) -> None:
    """A capture lost on its way to the processor is, after a restart of both sides,
    resolved as never received: nothing captured, and the invoice retried captures once."""
    site = placed(tmp_path)
    site.sim.script("capture", "timeout_before")
    in_doubt = site.bo.invoice("SO-1", "INV-1", usd("10.00")).in_doubt
    assert len(in_doubt) == 1

    site.restart()
    report = site.bo.recover()
    assert set(report.resolved) >= set(in_doubt)
    assert site.bo.order("SO-1").captured == usd("0.00")
    assert capture_outcomes(site.bo) == [Outcome.NOT_RECEIVED]
    assert [e.kind for e in site.sim.ledger()] == ["authorize"]
    retried = site.bo.invoice("SO-1", "INV-1", usd("10.00"))
    assert [c.amount for c in retried.captures] == [usd("10.00")]
    assert site.bo.order("SO-1").captured == usd("10.00")
    assert [e.kind for e in site.sim.ledger()] == ["authorize", "capture"]
    assert site.sim.lookup(in_doubt[0]).outcome is Outcome.NOT_RECEIVED


def test_a_void_recovered_after_a_failed_pending_capture_gave_money_back_releases_what_it_voided(
    tmp_path: Path,
) -> None:
    """V5, N1, O2, A1: a 10.00 order's invoice of 4.00 is captured pending; the order is
    cancelled and the renewal job voids what nothing will capture (6.00), but the answer
    is lost. After a restart, the pending capture is refused in the end: its 4.00 goes
    back to the authorization, open again at the processor. After another restart,
    recover() finds the void approved: it released the 6.00 the processor voided, so the
    4.00 stays open and the next run voids it too (the void was applied to all that was
    open then, 10.00: ocop held nothing open while the processor held 4.00 for good)."""
    site = placed(tmp_path)
    site.sim.script("capture", "pending")
    assert site.bo.invoice("SO-1", "INV-1", usd("4.00")).in_doubt == ()
    assert site.bo.cancel_order("SO-1", AGENT).manual_refund_needed
    site.sim.script("void", "timeout_after_success")
    assert site.bo.renew_authorizations().in_doubt == ("SO-1",)

    site.restart()
    (failed,) = site.sim.settle_pending("decline")
    assert site.bo.handle_notification(failed).undone

    site.restart()
    assert site.bo.recover().resolved == ("SO-1/void:L1.A1#1",)
    auth = site.bo.order("SO-1").line("L1").authorizations[0]
    assert site.sim.authorization_open(auth.token.value) == usd("4.00")
    assert (auth.open_amount, auth.voided) == (usd("4.00"), usd("6.00"))

    site.restart()
    assert site.bo.renew_authorizations().voided == ("SO-1",)
    auth = site.bo.order("SO-1").line("L1").authorizations[0]
    assert site.sim.authorization_open(auth.token.value) == usd("0.00")
    assert (auth.open_amount, auth.voided) == (usd("0.00"), usd("10.00"))
