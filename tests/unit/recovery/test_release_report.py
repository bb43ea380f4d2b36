"""What ``RecoveryReport.releases`` lists when the release is planned again (V5, A1, O5).

Another worker's commit may land on the order between two of the voids recovery sends
to release its authorizations: the release is planned again from what is stored, and
the void already approved is not sent again. It moved money all the same: the report
lists every void this run sent, not only those of the last plan.
"""

from __future__ import annotations

import pytest

from ocop import (
    Actor,
    BackOffice,
    CardPayment,
    Channel,
    Customer,
    Order,
    Outcome,
    ReleaseVoid,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain import steps
from ocop.domain.journal import Voucher
from ocop.domain.operations import Operation
from ocop.ports import Ports
from ocop.services import _engine as engine
from worlds import START, card, usd

AGENT = Actor.call_center("agent-1")


def test_a_void_sent_before_the_release_was_planned_again_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """V5, O5: SO-1's two cards (30.00 and 20.00) had their voids answered pending, then
    refused. recover() voids both again; a rival commit lands between the two voids, so
    the release is planned again and sends only the second. Both are in ``releases``
    (the 30.00 void was missing: money released, in no field of the report)."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    bo = BackOffice.in_memory(processor=sim, clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("50.00"), payments=[CardPayment(card(), usd("30.00")),
                                                 CardPayment(card(), usd("20.00"))])  # fmt: skip
    sim.script("void", "pending", "pending")
    assert bo.cancel_order("SO-1", AGENT).order.cancelled
    sim.settle_pending("decline")  # the processor still holds both authorizations
    record_intents = engine._record_intents
    releases: list[str] = []

    def rival_first(
        ports: Ports,
        order: Order,
        batch: tuple[steps.Step, ...],
        vouchers: list[Voucher],
        **flags: bool,
    ) -> tuple[Order, tuple[Operation, ...], bool]:
        """Another worker's commit lands just before the second release void's intent."""
        if any(isinstance(s, steps.Void) and s.purpose is steps.VoidPurpose.RELEASE
               for s in batch):  # fmt: skip
            releases.append(batch[0].name(order.order_id))
            if len(releases) == 2:
                with ports.store.unit_of_work() as uow:
                    uow.orders.touch(uow.orders.get(order.order_id))
                    uow.commit()
        return record_intents(ports, order, batch, vouchers, **flags)

    monkeypatch.setattr(engine, "_record_intents", rival_first)
    report = bo.recover()
    assert len(releases) == 3  # the second release void planned twice, sent once
    assert report.releases == (
        ReleaseVoid(order_id="SO-1", key="SO-1/void:L1.A1#2", auth_id="L1.A1",
                    outcome=Outcome.APPROVED, amount=usd("30.00")),
        ReleaseVoid(order_id="SO-1", key="SO-1/void:L2.A1#2", auth_id="L2.A1",
                    outcome=Outcome.APPROVED, amount=usd("20.00")),
    )  # fmt: skip
    sent = [op.key for op in bo.operations("SO-1") if op.kind.value == "void"]
    assert sent[2:] == ["SO-1/void:L1.A1#2", "SO-1/void:L2.A1#2"]  # each sent once
