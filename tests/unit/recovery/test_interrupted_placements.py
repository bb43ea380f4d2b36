"""``recover()`` finishes the placements a call in doubt or a crash interrupted (O2, S3).

A POS, e-commerce, legacy or NONE order is validated as it is placed. When the
placement's authorization is in doubt, the order stays waiting for completion; once its
calls are settled (by recovery or by a notification) and the placement is older than
``renew_claim_minutes`` (one still running is younger), recovery validates the order as
the placement would have: approved, or held. Before, legacy and NONE orders (which
cannot be completed by an agent) stayed waiting for good with the card's money held,
refusing invoices and cancellation. A call center order waiting for completion is left
to its agent's submit.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from ocop import (
    Actor,
    AuthorizationPolicy,
    BackOffice,
    CardToken,
    Channel,
    CompletionPolicy,
    ConcurrentUpdate,
    DuplicateOrder,
    HoldCode,
    LineStatus,
    Money,
    Notification,
    NotificationEvent,
    Order,
    OrderStatus,
    Outcome,
    ProcessorResult,
    SavedCardPayment,
    Settings,
    StorageBusy,
)
from ocop.adapters.memory import InMemoryJournal, InMemoryStore, ManualClock
from ocop.adapters.simulated import SimulatedCrash, SimulatedProcessor
from ocop.domain.payments import ChannelPayment
from ocop.ports.store import Committed, UnitOfWork
from ocop.testing.counting import DelegatingStore, DelegatingUnitOfWork
from worlds import CUSTOMER, START, World, by_card, card, new_world, usd

from .support import FlakyStore, UnsureProcessor

AGENT = Actor.call_center("agent-1")
OCOP_OFF = Settings.default().with_features(omni_channel_order_payments=False)


def later(world: World) -> None:
    """The default ``renew_claim_minutes`` pass: a placement placed before has ended."""
    world.clock.advance(minutes=10)


def place_in_doubt(world: World, fault: str, **kinds: object) -> None:
    """Place SO-1 (100.00 on one card) while the authorization's answer is lost."""
    world.sim.script("authorize", fault)
    placing = {"channel": Channel.POS, "customer": CUSTOMER, "total": usd("100.00"),
               "payments": [by_card("100.00")], **kinds}  # fmt: skip
    try:
        placed = world.bo.place_order("SO-1", **placing)  # type: ignore[arg-type]
    except SimulatedCrash:
        placed = world.bo.order("SO-1")
    assert placed.status is OrderStatus.PENDING_COMPLETION


def submit_in_doubt(world: World) -> None:
    """A call center order SO-1 whose agent's submit of a 100.00 card is in doubt."""
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=CUSTOMER,
                         total=usd("100.00"), created_by=AGENT)  # fmt: skip
    world.sim.script("authorize", "timeout_after_success")
    draft = world.bo.begin_completion("SO-1", AGENT).add_card(by_card("1").card, usd("100.00"))
    assert world.bo.submit(draft).in_doubt


def outcome_of_authorization(world: World, success: bool) -> Notification:
    """The processor's notification of the one authorization it made (N2)."""
    (made,) = world.sim.ledger()
    return Notification(notification_id="N-1", event=NotificationEvent.OUTCOME, key=made.key,
                        at=world.clock.now(), success=success, reference=made.reference,
                        amount=usd("100.00"))  # fmt: skip


@pytest.mark.parametrize(
    ("settings", "kinds", "payments_type"),
    [
        (OCOP_OFF, {}, "legacy"),
        (None, {"channel": Channel.CALL_CENTER, "created_by": Actor.user("clerk-1")}, "none"),
        (None, {"channel": Channel.ECOMMERCE}, "commerce"),
        (None, {}, "commerce"),
    ],
)
@pytest.mark.parametrize("fault", ["timeout_after_success", "crash_after_success"])
def test_an_approved_authorization_in_doubt_at_placement_approves_the_order_once_known(
    settings: Settings | None, kinds: dict[str, object], payments_type: str, fault: str
) -> None:
    """The authorization the processor made is recorded, the order approved, and it can be
    invoiced and captured: one authorization, one capture."""
    world = new_world(settings)
    place_in_doubt(world, fault, **kinds)
    report = world.bo.recover()
    assert report.resolved == ("SO-1/authorize:L1.A1#1",)
    assert report.completions == ()  # placed just now: the placement may still be running
    assert world.bo.order("SO-1").status is OrderStatus.PENDING_COMPLETION
    later(world)
    assert world.bo.recover().completions == ("SO-1",)
    order = world.bo.order("SO-1")
    assert (order.payments_type.value, order.status) == (payments_type, OrderStatus.APPROVED)
    assert order.lines[0].authorized == usd("100.00")
    assert world.bo.invoice("SO-1", "INV-1", usd("100.00")).captures
    assert [e.kind for e in world.sim.ledger()] == ["authorize", "capture"]
    assert world.bo.recover().completions == ()  # done once


def test_an_authorization_the_processor_never_received_is_made_by_the_finished_placement() -> None:
    """Never received: the placement goes on as it would have, with a new attempt."""
    world = new_world(OCOP_OFF)
    place_in_doubt(world, "timeout_before")
    later(world)
    assert world.bo.recover().completions == ("SO-1",)
    order = world.bo.order("SO-1")
    assert order.status is OrderStatus.APPROVED
    assert [e.key for e in world.sim.ledger()] == ["SO-1/authorize:L1.A1#2"]


@pytest.mark.parametrize("deposit", [False, True])
@pytest.mark.parametrize(
    ("kind", "fault", "key"),
    [
        ("tokenize", "timeout_after_success", "SO-1/authorize:L1.A1#1"),
        ("tokenize", "crash_after_success", "SO-1/authorize:L1.A1#1"),
        ("authorize", "timeout_before", "SO-1/authorize:L1.A1#2"),
    ],
)
def test_a_saved_card_tokenized_before_its_placement_stopped_is_authorized_by_recovery(
    kind: str, fault: str, key: str, deposit: bool
) -> None:
    """T1, O2, S3: a POS order pays with a saved card; its tokenization with the CVV is in
    doubt (or the authorization that follows it was never received). Once the tokenization
    is known approved, the line pays with the one-time token, whose authorization needs no
    CVV: recovery authorizes it and validates the order as the placement would have (and
    captures the card deposit, D1). (The order waited for an agent's submit, which had no
    CVV to give either: an order no agent looks at held the card's verification for good.)"""
    world = new_world()
    saved = world.bo.save_instrument(CUSTOMER, card("tok_2", "2222"), consent=True)
    world.sim.script(kind, fault)
    payment = SavedCardPayment(saved.instrument_id, "123", usd("100.00"))
    with contextlib.suppress(SimulatedCrash):
        world.bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER, total=usd("100.00"),
                             payments=[payment], deposit=deposit)  # fmt: skip
    assert world.bo.order("SO-1").status is OrderStatus.PENDING_COMPLETION
    later(world)
    assert world.bo.recover().completions == ("SO-1",)
    order = world.bo.order("SO-1")
    assert order.status is OrderStatus.APPROVED
    assert order.captured == (usd("100.00") if deposit else usd("0.00"))
    (token,) = {line.card for line in order.lines if line.card is not None}
    assert token.value != "tok_2"  # the one-time token the tokenization gave
    kinds = [(e.kind, e.key if e.kind == "authorize" else "", e.target) for e in world.sim.ledger()]
    assert kinds[:1] == [("authorize", key, token.value)]
    assert [kind for kind, _, _ in kinds] == ["authorize"] + ["capture"] * deposit
    assert world.bo.recover().completions == ()  # done once


def test_a_call_center_order_waiting_for_completion_is_left_to_its_agent() -> None:
    """A call center order waits for its agent's submit: recovery records the answer of
    the submit's call and validates nothing (the draft's CVVs are kept nowhere)."""
    world = new_world()
    submit_in_doubt(world)
    later(world)
    report = world.bo.recover()
    assert (report.resolved, report.completions) == (("SO-1/authorize:L1.A1#1",), ())
    assert world.bo.order("SO-1").status is OrderStatus.PENDING_COMPLETION
    assert world.bo.submit(world.bo.begin_completion("SO-1", AGENT)).approved


def test_a_short_placement_is_held_once_its_authorization_is_known() -> None:
    """A POS order paying 60.00 of 100.00 by card: once the authorization is known, the
    order is held out of balance, as the placement would have held it."""
    world = new_world()
    world.sim.script("authorize", "timeout_after_success")
    world.bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER, total=usd("100.00"),
                         payments=[by_card("60.00")])  # fmt: skip
    later(world)
    assert world.bo.recover().completions == ("SO-1",)
    order = world.bo.order("SO-1")
    assert order.status is OrderStatus.ON_HOLD
    assert [h.code for h in order.holds] == [HoldCode.OUT_OF_BALANCE]


def test_an_order_waiting_for_completion_for_another_reason_is_left_to_its_agent() -> None:
    """An order validated once waits for its agent's completion after a new total (S3):
    one whose invoice capture was in doubt while the total changed is left waiting after
    recovery settled the capture. (Recovery validated it: invoiced on with no agent's
    completion.)"""
    lenient = CompletionPolicy(overpaid_threshold_percent=Decimal("10"))
    world = new_world(Settings.default().with_policies(completion=lenient))
    world.bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER, total=usd("100.00"),
                         payments=[by_card("100.00")])  # fmt: skip
    world.sim.script("capture", "timeout_after_success")
    assert world.bo.invoice("SO-1", "INV-1", usd("40.00")).in_doubt
    world.bo.change_total("SO-1", usd("95.00"), AGENT)
    later(world)
    report = world.bo.recover()
    assert (report.resolved, report.completions) == (("SO-1/capture:INV-1:L1:L1.A1#1",), ())
    assert world.bo.order("SO-1").status is OrderStatus.PENDING_COMPLETION


def test_a_placement_another_recovery_is_finishing_is_left_to_it() -> None:
    """Two recoveries at once: the one that claimed the order finishes its placement; the
    other resolves the calls it finds and leaves the order to it (two finishing at once
    made two authorizations' worth of calls, and one committed a decline over the other's
    approval). When the claimer died, a run after its claim ended finishes the order (no
    run found it again: nothing was in doubt any more)."""
    world = new_world(OCOP_OFF)
    place_in_doubt(world, "timeout_after_success")
    later(world)
    now = world.clock.now()
    store = world.bo.ports.store
    assert store.claim(["complete:SO-1"], "other-recovery", now + timedelta(minutes=5), now)
    report = world.bo.recover()
    assert (report.resolved, report.completions) == (("SO-1/authorize:L1.A1#1",), ())
    assert world.bo.order("SO-1").status is OrderStatus.PENDING_COMPLETION
    world.clock.advance(minutes=5)
    assert world.bo.recover().completions == ("SO-1",)
    assert world.bo.order("SO-1").status is OrderStatus.APPROVED
    assert [e.kind for e in world.sim.ledger()] == ["authorize"]


class _RivalAtFinishing(FlakyStore):
    """A store whose commit after a recovery claims an order to finish its placement
    loses a version race once (another worker changed the order meanwhile)."""

    def claim(
        self, names: Sequence[str], holder: str, until: datetime, now: datetime
    ) -> tuple[str, ...]:
        if any(name.startswith("complete:") for name in names):
            self.conflicts = 1
        return super().claim(names, holder, until, now)


def test_a_placement_another_worker_changed_while_finishing_is_finished_from_the_store() -> None:
    """The order changed between recovery's read and its commit: recovery looks at it
    again and finishes it (it gave up, and the legacy order waited for completion till
    the next run)."""
    world = new_world(OCOP_OFF)
    store = _RivalAtFinishing()
    bo = BackOffice(store=store, processor=world.sim, journal=InMemoryJournal(),
                    settings=OCOP_OFF, clock=world.clock)  # fmt: skip
    world = attrs.evolve(world, bo=bo)
    place_in_doubt(world, "timeout_after_success")
    later(world)
    report = world.bo.recover()
    assert (report.resolved, report.completions) == (("SO-1/authorize:L1.A1#1",), ("SO-1",))
    assert world.bo.order("SO-1").status is OrderStatus.APPROVED
    assert [e.kind for e in world.sim.ledger()] == ["authorize"]


@pytest.mark.parametrize(("success", "status"), [(True, OrderStatus.APPROVED),
                                                 (False, OrderStatus.ON_HOLD)])  # fmt: skip
@pytest.mark.parametrize("settings", [OCOP_OFF, None])
def test_a_placement_whose_call_a_notification_settled_is_finished_by_recovery(
    settings: Settings | None, success: bool, status: OrderStatus
) -> None:
    """N2 with O2: the processor's notification settles the placement's authorization
    before any recovery; the next recovery finds the placement unfinished and validates
    the order as it would have (none did: nothing was in doubt any more, and a legacy
    order waited for completion for good, the card's money held)."""
    world = new_world(settings)
    place_in_doubt(world, "timeout_after_success")
    assert world.bo.handle_notification(outcome_of_authorization(world, success)).applied
    assert world.bo.order("SO-1").status is OrderStatus.PENDING_COMPLETION
    later(world)
    report = world.bo.recover()
    assert (report.resolved, report.completions) == ((), ("SO-1",))
    order = world.bo.order("SO-1")
    assert order.status is status
    if not success:  # held as a placement whose card is declined is (S1, S2)
        assert [h.code for h in order.holds] == [HoldCode.OUT_OF_BALANCE,
                                                 HoldCode.PAYMENT_DECLINED]  # fmt: skip
    assert world.bo.recover().completions == ()
    assert [e.kind for e in world.sim.ledger()] == ["authorize"]


def test_a_placement_whose_call_recovery_finds_declined_is_held_as_declined() -> None:
    """S2: the authorization in doubt at placement was declined; recovery holds the order
    for the declined card as the placement would have (it held it out of balance only, so
    a release of that hold alone let it go on with the declined line)."""
    world = new_world(OCOP_OFF)
    unsure = UnsureProcessor(world.sim)
    bo = BackOffice.in_memory(settings=OCOP_OFF, processor=unsure, clock=world.clock)
    world = attrs.evolve(world, bo=bo)
    place_in_doubt(world, "timeout_before")
    key = "SO-1/authorize:L1.A1#1"
    unsure.answers[key] = ProcessorResult(key=key, outcome=Outcome.DECLINED)
    later(world)
    report = world.bo.recover()
    assert (report.resolved, report.completions) == ((key,), ("SO-1",))
    order = world.bo.order("SO-1")
    assert order.status is OrderStatus.ON_HOLD
    assert [h.code for h in order.holds] == [HoldCode.OUT_OF_BALANCE, HoldCode.PAYMENT_DECLINED]
    assert world.sim.ledger() == ()


def test_a_call_center_order_whose_submit_a_notification_settles_waits_for_its_agent() -> None:
    """The notification settles a call center submit's authorization; the order is left
    to its agent's submit by recovery too."""
    world = new_world()
    submit_in_doubt(world)
    assert world.bo.handle_notification(outcome_of_authorization(world, True)).applied
    later(world)
    assert world.bo.recover().completions == ()
    assert world.bo.order("SO-1").status is OrderStatus.PENDING_COMPLETION


def test_a_renewal_retry_of_a_card_declined_at_placement_is_not_a_placement() -> None:
    """A2: the renewal job retries a card declined at placement; the retry reuses the
    line's first authorization id. When an agent changed the total while it was in doubt,
    recovery settles it and leaves the order waiting for the agent's completion (S3). (It
    took the retry for the placement's call and approved the order with no agent.)"""
    lenient = CompletionPolicy(overpaid_threshold_percent=Decimal("10"))
    retrying = AuthorizationPolicy(retry_declined=True)
    world = new_world(Settings.default().with_policies(completion=lenient, authorization=retrying))
    world.sim.script("authorize", "decline")
    placed = world.bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER,
                                  total=usd("100.00"), payments=[by_card("100.00")])  # fmt: skip
    assert placed.status is OrderStatus.ON_HOLD
    world.sim.script("authorize", "timeout_after_success")
    assert world.bo.renew_authorizations().in_doubt == ("SO-1",)
    world.bo.change_total("SO-1", usd("95.00"), AGENT)
    later(world)
    report = world.bo.recover()
    assert (report.resolved, report.completions) == (("SO-1/authorize:L1.A1#2",), ())
    order = world.bo.order("SO-1")
    assert order.needs_completion  # and the decline's hold stays to the agent's submit
    assert order.status is OrderStatus.ON_HOLD


@pytest.mark.parametrize("retrying_after", [True, False])
@pytest.mark.parametrize("durable", [False, True])
def test_a_renewal_retry_recovery_finds_approved_ends_the_holds_of_the_decline(
    tmp_path: Path, durable: bool, retrying_after: bool
) -> None:
    """A2, O2: the renewal job's retry of a card declined at placement is in doubt; the
    back office restarts (retry_declined kept on, or turned off) and recover() finds it
    approved: the holds the decline caused end, as the live retry ends them. (They stayed:
    the order, paid in full, was held until a person released them.)"""
    retrying = Settings.default().with_policies(
        authorization=AuthorizationPolicy(retry_declined=True)
    )
    after = retrying if retrying_after else Settings.default()
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)

    def back_office(settings: Settings) -> BackOffice:
        if durable:  # a restart: a new back office on the same file
            return BackOffice.sqlite(tmp_path / "p.db", settings, processor=sim, clock=clock)
        return BackOffice.in_memory(settings=settings, processor=sim, clock=clock)

    first = back_office(retrying)
    sim.script("authorize", "decline")
    placed = first.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER,
                               total=usd("100.00"), payments=[by_card("100.00")])  # fmt: skip
    assert placed.status is OrderStatus.ON_HOLD
    sim.script("authorize", "timeout_after_success")
    assert first.renew_authorizations().in_doubt == ("SO-1",)
    clock.advance(minutes=30)
    restarted = back_office(after) if durable else first.with_settings(after)
    assert restarted.recover().resolved == ("SO-1/authorize:L1.A1#2",)
    order = restarted.order("SO-1")
    assert order.lines[0].authorized == usd("100.00")
    assert order.holds == ()
    assert order.status is OrderStatus.APPROVED
    assert [h.released_by for h in order.released_holds] == ["system", "system"]


def test_a_call_center_order_without_completion_is_finished_as_placed() -> None:
    """Without order completion for call centers, a call center order is validated as
    placed: recovery finishes it like a POS order."""
    settings = OCOP_OFF.with_policies(completion=CompletionPolicy(completion_for_call_center=False))
    world = new_world(settings)
    place_in_doubt(world, "timeout_after_success", channel=Channel.CALL_CENTER,
                   created_by=AGENT)  # fmt: skip
    later(world)
    assert world.bo.recover().completions == ("SO-1",)
    assert world.bo.order("SO-1").status is OrderStatus.APPROVED


def test_a_finished_placement_whose_new_call_is_in_doubt_is_not_reported_finished() -> None:
    """A legacy order's authorization never reached the processor; the new attempt that
    recovery makes is in doubt too: the order is not listed, and a run after that call's
    own age finishes it (a call recorded lately may be a live placement's)."""
    world = new_world(OCOP_OFF)
    place_in_doubt(world, "timeout_before")
    world.sim.script("authorize", "timeout_after_success")
    later(world)
    first = world.bo.recover()
    assert (first.resolved, first.completions) == (("SO-1/authorize:L1.A1#1",), ())
    early = world.bo.recover()
    assert (early.resolved, early.completions) == (("SO-1/authorize:L1.A1#2",), ())
    later(world)
    second = world.bo.recover()
    assert (second.resolved, second.completions) == ((), ("SO-1",))
    assert world.bo.order("SO-1").status is OrderStatus.APPROVED


@pytest.mark.parametrize("path", ["reauthorization", "renewal"])
def test_an_order_whose_total_changed_during_a_later_authorization_waits_for_its_agent(
    path: str,
) -> None:
    """A line's later authorization (I2's re-authorization of a released rest, or the
    renewal job's, A1) is not a placement's: when it was in doubt while an agent changed
    the order's total, recovery settles it and leaves the order waiting for the agent's
    completion (S3). (Recovery validated it: approved, or invoiced on.)"""
    lenient = CompletionPolicy(overpaid_threshold_percent=Decimal("10"))
    world = new_world(Settings.default().with_policies(completion=lenient),
                      multi_capture=path == "renewal")  # fmt: skip
    world.bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER, total=usd("100.00"),
                         payments=[by_card("100.00")])  # fmt: skip
    world.sim.script("authorize", "timeout_after_success")
    if path == "reauthorization":
        world.bo.invoice("SO-1", "INV-1", usd("40.00"))
    else:
        world.clock.advance(days=13)
        assert world.bo.renew_authorizations().in_doubt == ("SO-1",)
    world.bo.change_total("SO-1", usd("95.00"), AGENT)
    later(world)
    report = world.bo.recover()
    assert (report.resolved, report.completions) == (("SO-1/authorize:L1.A2#1",), ())
    assert world.bo.order("SO-1").status is OrderStatus.PENDING_COMPLETION


class _AsideDuringTheFirstCall(SimulatedProcessor):
    """A simulator that, once its first authorization is made and before its answer is
    back, lets ``aside`` run: another worker acting while the placing call is away."""

    aside: Callable[[str, ProcessorResult], None] | None = None

    def authorize(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        result = super().authorize(key, card, amount)
        if self.aside is not None:
            aside, self.aside = self.aside, None
            aside(key, result)
        return result


@pytest.mark.parametrize("aside", ["notification", "recovery"])
def test_a_placement_still_running_is_left_to_itself(aside: str) -> None:
    """T1, S2, S3: while a legacy order's placement waits for its first card's answer,
    the processor's notification settles that call (or a recovery resolves it). Neither
    finishes the placement: the placing call goes on with the saved card and its CVV.
    (The notification took the placement for interrupted and completed it without the
    CVV: the saved card's line declined with no call, the order held.)"""
    clock = ManualClock(START)
    sim = _AsideDuringTheFirstCall(clock=clock)
    bo = BackOffice.in_memory(settings=OCOP_OFF, processor=sim, clock=clock)
    saved = bo.save_instrument(CUSTOMER, card("tok_2", "2222"), consent=True)
    seen: list[object] = []

    def notification(key: str, result: ProcessorResult) -> None:
        assert result.token is not None
        note = Notification(notification_id="N-1", event=NotificationEvent.OUTCOME, key=key,
                            at=clock.now(), success=True, reference=result.token.value,
                            amount=usd("50.00"))  # fmt: skip
        seen.append(bo.handle_notification(note).applied)

    def recovery(key: str, result: ProcessorResult) -> None:
        seen.append(bo.recover().completions)

    sim.aside = notification if aside == "notification" else recovery
    order = bo.place_order(
        "SO-1", channel=Channel.POS, customer=CUSTOMER, total=usd("100.00"),
        payments=[by_card("50.00"), SavedCardPayment(saved.instrument_id, "123", usd("50.00"))],
    )  # fmt: skip
    assert seen == ([True] if aside == "notification" else [()])
    assert [line.status for line in order.lines] == [LineStatus.AUTHORIZED] * 2
    assert order.status is OrderStatus.APPROVED
    assert [e.kind for e in sim.ledger()] == ["authorize", "authorize"]


def test_a_placement_held_before_it_was_validated_is_still_finished() -> None:
    """N4 with O2: while the second card's authorization is in doubt, the processor ends
    the first card's (not reusable): the order is held AUTHORIZATION_EXPIRED before it
    was ever validated. Recovery still finishes the placement. (The hold was taken for a
    validation's: the legacy order waited for completion for good.) C3: the first card's
    single-use token is not authorized a second time (a processor declines it): the line
    stays short and the order is held out of balance for a new payment."""
    world = new_world(OCOP_OFF)
    world.sim.script("authorize", "approve", "timeout_after_success")
    placed = world.bo.place_order(
        "SO-1", channel=Channel.POS, customer=CUSTOMER, total=usd("100.00"),
        payments=[by_card("50.00", card("tok_1", reusable=False)),
                  by_card("50.00", card("tok_2", "2222"))],
    )  # fmt: skip
    assert placed.status is OrderStatus.PENDING_COMPLETION
    ended = Notification(notification_id="N-1", event=NotificationEvent.AUTHORIZATION_ENDED,
                         key="SO-1/authorize:L1.A1#1", at=world.clock.now())  # fmt: skip
    assert world.bo.handle_notification(ended).applied
    assert world.bo.order("SO-1").status is OrderStatus.ON_HOLD
    later(world)
    report = world.bo.recover()
    assert (report.resolved, report.completions) == (("SO-1/authorize:L2.A1#1",), ("SO-1",))
    order = world.bo.order("SO-1")  # the placement goes on, without the first card
    assert (order.needs_completion, order.status) == (False, OrderStatus.ON_HOLD)
    assert [h.code for h in order.holds] == [HoldCode.OUT_OF_BALANCE]
    assert [h.hold.code for h in order.released_holds] == [HoldCode.AUTHORIZATION_EXPIRED]
    assert [(e.kind, e.target) for e in world.sim.ledger()] == [
        ("authorize", "tok_1"),
        ("authorize", "tok_2"),
    ]


def test_an_order_stored_before_placing_existed_is_finished_when_never_validated(
    tmp_path: Path,
) -> None:
    """Compatibility: an order row written before ``Order.placing`` existed, its placement
    in doubt at the upgrade, tells by its holds that it was never validated: recovery
    finishes it. (It read as validated, and the legacy order waited for good.)"""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    path = tmp_path / "ocop.db"
    bo = BackOffice.sqlite(path, settings=OCOP_OFF, processor=sim, clock=clock)
    sim.script("authorize", "timeout_after_success")
    bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER, total=usd("100.00"),
                   payments=[by_card("100.00")])  # fmt: skip
    written_before_placing(path)
    assert bo.order("SO-1").placing is None
    clock.advance(minutes=10)
    assert bo.recover().completions == ("SO-1",)
    assert bo.order("SO-1").status is OrderStatus.APPROVED


def written_before_placing(path: Path) -> None:
    """SO-1's row in the SQLite file at ``path`` as written before ``Order.placing``."""
    with contextlib.closing(sqlite3.connect(path)) as raw, raw:
        (body,) = raw.execute("SELECT body FROM ocop_orders WHERE order_id = 'SO-1'").fetchone()
        before = {name: value for name, value in json.loads(body).items() if name != "placing"}
        raw.execute("UPDATE ocop_orders SET body = ? WHERE order_id = 'SO-1'",
                    (json.dumps(before),))  # fmt: skip


def test_an_order_stored_before_placing_existed_and_changed_since_waits_for_its_agent(
    tmp_path: Path,
) -> None:
    """Compatibility with S3: an order approved with no hold before ``Order.placing``
    existed, whose total an agent changes after the upgrade, waits for the agent's
    completion like any order validated once. (Recovery validated it with no agent.)"""
    lenient = CompletionPolicy(overpaid_threshold_percent=Decimal("10"))
    settings = Settings.default().with_policies(completion=lenient)
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    path = tmp_path / "ocop.db"
    bo = BackOffice.sqlite(path, settings=settings, processor=sim, clock=clock)
    placed = bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER,
                            total=usd("100.00"), payments=[by_card("100.00")])  # fmt: skip
    assert (placed.status, placed.holds) == (OrderStatus.APPROVED, ())
    written_before_placing(path)
    changed = bo.change_total("SO-1", usd("95.00"), AGENT)
    assert changed.placing is False
    clock.advance(minutes=10)
    assert bo.recover().completions == ()
    assert bo.order("SO-1").status is OrderStatus.PENDING_COMPLETION


def test_an_order_it_cannot_read_stops_no_other_placement(tmp_path: Path) -> None:
    """E3, O2: the row of an order waiting for completion is damaged; recovery logs it and
    finishes the other placements, and posts their vouchers. (Every run raised.)"""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    path = tmp_path / "ocop.db"
    bo = BackOffice.sqlite(path, settings=OCOP_OFF, processor=sim, clock=clock)
    bo.place_order("CC-1", channel=Channel.CALL_CENTER, customer=CUSTOMER,
                   total=usd("10.00"), created_by=AGENT)  # fmt: skip
    with contextlib.closing(sqlite3.connect(path)) as raw, raw:
        raw.execute("UPDATE ocop_orders SET body = 'damaged' WHERE order_id = 'CC-1'")
    sim.script("authorize", "timeout_after_success")
    bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER, total=usd("100.00"),
                   payments=[by_card("100.00")])  # fmt: skip
    clock.advance(minutes=10)
    report = bo.recover()
    assert (report.resolved, report.completions) == (("SO-1/authorize:L1.A1#1",), ("SO-1",))
    assert bo.order("SO-1").status is OrderStatus.APPROVED


@pytest.mark.parametrize("moment", ["before its first call", "during its first call"])
def test_a_placement_sent_again_later_is_left_to_itself_while_it_runs(moment: str) -> None:
    """E3 with O2: a placement stored its order and failed before any call; the channel
    sends it again ten minutes later, and a recovery runs just before the resend's first
    intent is stored, or while its first card's call is away. The order keeps its first
    ``placed_at``, but the resend claims it while it runs: recovery leaves it alone, and
    the resend goes on with the saved card's CVV. (Recovery finished it without the CVV:
    the saved card's line declined with no call, the order held.)"""
    clock = ManualClock(START)
    sim = _AsideDuringTheFirstCall(clock=clock)
    store, bo = _office_over_failing_store(sim, clock)
    saved = bo.save_instrument(CUSTOMER, card("tok_2", "2222"), consent=True)
    payments: list[ChannelPayment] = [
        by_card("50.00"),
        SavedCardPayment(saved.instrument_id, "123", usd("50.00")),
    ]

    def place() -> Order:
        return bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER,
                              total=usd("100.00"), payments=payments)  # fmt: skip

    store.passing, store.failing = 1, 1  # the order is stored, its first intent is not
    with pytest.raises(StorageBusy):
        place()
    clock.advance(minutes=10)
    seen: list[tuple[str, ...]] = []
    if moment == "before its first call":
        store.aside = lambda: seen.append(bo.recover().completions)
    else:
        sim.aside = lambda key, result: seen.append(bo.recover().completions)
    order = place()
    assert seen == [()]
    assert [line.status for line in order.lines] == [LineStatus.AUTHORIZED] * 2
    assert order.status is OrderStatus.APPROVED


def test_a_placement_sent_again_while_recovery_finishes_it_changes_nothing() -> None:
    """O5: a placement stored its order and failed before any call; a recovery holds the
    order to finish it when the channel sends the placement again: the resend is refused
    with ConcurrentUpdate, no call made (read again and retry). One that cannot be taken
    up at all is DuplicateOrder at once, whatever claim is held."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    store, bo = _office_over_failing_store(sim, clock)

    def place(order_id: str = "SO-1", total: str = "100.00") -> Order:
        return bo.place_order(order_id, channel=Channel.POS, customer=CUSTOMER,
                              total=usd(total), payments=[by_card(total)])  # fmt: skip

    store.passing, store.failing = 1, 1  # the order is stored, its first intent is not
    with pytest.raises(StorageBusy):
        place()
    clock.advance(minutes=10)
    now = clock.now()
    assert store.claim(["complete:SO-1"], "recovery", now + timedelta(minutes=5), now)
    with pytest.raises(ConcurrentUpdate):
        place()
    with pytest.raises(DuplicateOrder):
        place(total="90.00")  # another order under the id
    assert sim.ledger() == ()
    place("SO-2")
    assert store.claim(["complete:SO-2"], "recovery", now + timedelta(minutes=5), now)
    with pytest.raises(DuplicateOrder):
        place("SO-2")  # placed and validated already


def _office_over_failing_store(
    sim: SimulatedProcessor, clock: ManualClock
) -> tuple[_FailingAfter, BackOffice]:
    """A legacy back office (OCOP off) over an in-memory store whose commits can fail."""
    inner = InMemoryStore(keeps_journal=True)
    store = _FailingAfter(inner)
    office = BackOffice(store=store, journal=inner.journal, processor=sim, clock=clock,
                        settings=OCOP_OFF)  # fmt: skip
    return store, office


class _FailingAfter(DelegatingStore):
    """A store whose commits pass ``passing`` times, then fail ``failing`` times (busy);
    ``aside`` runs once, just before the next commit (another worker acting then)."""

    def __init__(self, inner: InMemoryStore) -> None:
        super().__init__(inner)
        self.passing = self.failing = 0
        self.aside: Callable[[], None] | None = None

    def unit_of_work(self) -> UnitOfWork:
        return _FailingUnit(self, self.inner.unit_of_work())


class _FailingUnit(DelegatingUnitOfWork):
    def __init__(self, store: _FailingAfter, inner: UnitOfWork) -> None:
        super().__init__(inner)
        self._store = store

    def commit(self) -> Committed:
        if self._store.aside is not None:
            aside, self._store.aside = self._store.aside, None
            aside()
        if self._store.passing:
            self._store.passing -= 1
        elif self._store.failing:
            self._store.failing -= 1
            self.rollback()
            raise StorageBusy("the database stayed busy")
        return super().commit()


@pytest.mark.parametrize("deposit", [False, True])
def test_a_commerce_placement_is_finished_only_while_ocop_is_on(deposit: bool) -> None:
    """P2, D1: a commerce order's placement interrupted while OCOP was on is not finished by
    a recovery run while OCOP is off (it is neither validated nor its deposit captured:
    every processing of a commerce order waits for OCOP); the call in doubt is settled all
    the same, and a run once OCOP is on again finishes the placement."""
    world = new_world()
    place_in_doubt(world, "timeout_after_success", deposit=deposit, created_by=AGENT)
    later(world)
    off = world.bo.with_settings(OCOP_OFF)
    report = off.recover()
    assert (report.resolved, report.completions) == (("SO-1/authorize:L1.A1#1",), ())
    assert off.order("SO-1").status is OrderStatus.PENDING_COMPLETION
    assert [e.kind for e in world.sim.ledger()] == ["authorize"]
    assert off.journal("SO-1") == ()
    assert world.bo.recover().completions == ("SO-1",)
    order = world.bo.order("SO-1")
    assert (order.payments_type.value, order.status) == ("commerce", OrderStatus.APPROVED)
    kinds = ["authorize", "capture"] if deposit else ["authorize"]
    assert [e.kind for e in world.sim.ledger()] == kinds
    assert len(world.bo.journal("SO-1")) == (1 if deposit else 0)


def test_a_deposit_capture_never_received_is_not_made_while_ocop_is_off() -> None:
    """P2, D1: a placement's deposit capture the processor never received is settled by a
    recovery run while OCOP is off, but not made again then (a recovery with OCOP on makes
    it); the first invoice, once OCOP is on, captures the deposit, as for any deposit left
    uncaptured."""
    world = new_world()
    world.sim.script("capture", "timeout_before")
    world.bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER, total=usd("100.00"),
                         payments=[by_card("30.00")], deposit=True, created_by=AGENT)  # fmt: skip
    assert [e.kind for e in world.sim.ledger()] == ["authorize"]
    off = world.bo.with_settings(OCOP_OFF)
    assert off.recover().resolved == ("SO-1/deposit:L1:L1.A1#1",)
    assert [e.kind for e in world.sim.ledger()] == ["authorize"]
    assert (off.order("SO-1").captured, off.journal("SO-1")) == (usd("0.00"), ())
    invoiced = world.bo.invoice("SO-1", "INV-1", usd("30.00"))
    assert [(c.line_id, c.amount) for c in invoiced.captures] == [("L1", usd("30.00"))]
    assert [e.kind for e in world.sim.ledger()] == ["authorize", "capture"]
    assert [v.amount for v in world.bo.journal("SO-1")] == [usd("30.00")]
