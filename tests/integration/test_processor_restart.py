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
