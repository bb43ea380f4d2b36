"""Chargebacks, their reversals and authorization ends that came while the call they name
was in doubt (rule N4, O2): kept for review, then applied once the call is settled."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ocop import BackOffice, Channel, Customer, Notification, NotificationEvent, Outcome
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain.errors import StorageUnavailable
from ocop.ports.store import OrderStore, UnitOfWork
from ocop.testing.counting import DelegatingStore
from pg_support import STORES, Stores
from unsolicited_support import chargeback, check_books, reversal
from worlds import START, by_card, usd


@pytest.fixture(params=STORES)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    """Stores in memory, in SQLite files or in PostgreSQL schemas."""
    with Stores(request.param, tmp_path) as opened:
        yield opened


class _Flaky(DelegatingStore):
    """A store whose first unit of work after the review list is read fails (a database
    gone for a moment), when armed."""

    def __init__(self, inner: OrderStore) -> None:
        super().__init__(inner)
        self.armed = False
        self.fail = 0

    def kept_for_review(self) -> tuple[Notification, ...]:
        if self.armed:
            self.armed, self.fail = False, 1
        return self.inner.kept_for_review()

    def unit_of_work(self) -> UnitOfWork:
        if self.fail:
            self.fail -= 1
            raise StorageUnavailable("the database is away")
        return self.inner.unit_of_work()


def _placed(stores: Stores, wrap: Callable[[OrderStore], OrderStore] | None = None) -> BackOffice:
    """SO-1 placed on a fresh store (seen through ``wrap``), its next capture to time out."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    inner = stores.new()
    store = inner if wrap is None else wrap(inner)
    bo = BackOffice(store=store, journal=inner.journal, clock=clock, processor=sim)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("100.00"), payments=[by_card("100.00")])  # fmt: skip
    sim.script("capture", "timeout_after_success")
    return bo


def test_a_store_failure_applying_a_kept_chargeback_does_not_fail_the_settling_call(
    stores: Stores,
) -> None:
    """N2, N4: the notification that settles a capture in doubt is applied even when the
    store fails applying one chargeback kept for it; another kept one is still applied.
    (handle_notification raised after the capture was committed; delivered again it was
    a duplicate, and no kept chargeback was ever applied.)"""
    bo = _placed(stores, _Flaky)
    store = bo.ports.store
    assert isinstance(store, _Flaky)
    (record,) = bo.invoice("SO-1", "INV-1", usd("100.00")).in_doubt
    no_amount = Notification(notification_id="N-1", event=NotificationEvent.CHARGEBACK,
                             key=record, at=START)  # fmt: skip
    assert bo.handle_notification(no_amount).unmatched
    assert bo.handle_notification(chargeback(record, usd("30.00"), 2)).unmatched
    store.armed = True
    settled = Notification(notification_id="N-3", event=NotificationEvent.OUTCOME, key=record,
                           at=START, reference="cap_9")  # fmt: skip
    assert bo.handle_notification(settled).applied
    assert check_books(bo, "SO-1").charged_back == usd("30.00")


def test_a_store_failure_applying_a_kept_chargeback_does_not_stop_recovery(
    stores: Stores,
) -> None:
    """O2, N4, E3: as above, settled by recover(): the run goes on (it raised, leaving the
    chargeback uncounted and the vouchers unposted), and says in ``deferred`` that the
    store failed applying a kept notification (the report said nothing of it)."""
    bo = _placed(stores, _Flaky)
    store = bo.ports.store
    assert isinstance(store, _Flaky)
    (record,) = bo.invoice("SO-1", "INV-1", usd("100.00")).in_doubt
    no_amount = Notification(notification_id="N-1", event=NotificationEvent.CHARGEBACK,
                             key=record, at=START)  # fmt: skip
    assert bo.handle_notification(no_amount).unmatched
    assert bo.handle_notification(chargeback(record, usd("30.00"), 2)).unmatched
    store.armed = True
    report = bo.recover()
    assert report.resolved == (record,)
    assert report.deferred == ("notifications kept for review",)
    assert check_books(bo, "SO-1").charged_back == usd("30.00")


def test_a_reversal_after_its_chargeback_of_a_capture_in_doubt_is_applied_with_it(
    stores: Stores,
) -> None:
    """N4: a chargeback with no dispute, then its reversal, both while the capture was in
    doubt: both kept; settling the capture applies the chargeback and then its reversal
    (the reversal was left kept: 30.00 counted charged back for good, refunds refused). A
    reversal with no dispute kept before its chargeback stays kept, as it does when the
    capture is not in doubt."""
    bo = _placed(stores)
    (record,) = bo.invoice("SO-1", "INV-1", usd("100.00")).in_doubt
    assert bo.handle_notification(chargeback(record, usd("30.00"), 1)).unmatched
    assert bo.handle_notification(reversal(record, 2)).unmatched
    bo.recover()
    order = check_books(bo, "SO-1")
    assert (order.charged_back, order.returnable) == (usd("0.00"), usd("100.00"))

    early = _placed(stores)  # as when nothing is in doubt: one with no dispute before it names none
    (record,) = early.invoice("SO-1", "INV-1", usd("100.00")).in_doubt
    assert early.handle_notification(reversal(record, 1)).unmatched
    assert early.handle_notification(chargeback(record, usd("30.00"), 2)).unmatched
    early.recover()
    assert check_books(early, "SO-1").charged_back == usd("30.00")


def test_a_chargeback_by_reference_alone_for_a_capture_in_doubt_is_applied_once_settled(
    stores: Stores,
) -> None:
    """N2, N4: a chargeback giving only a reference (the capture's, or its authorization's)
    while the capture is in doubt names nothing recorded and is kept; once the capture is
    settled, the reference names it and the chargeback applies (it stayed kept: the
    order refunded 130.00 of 100.00)."""
    twin = _placed(stores)  # the simulator numbers its tokens: the same world, the same reference
    twin.invoice("SO-1", "INV-1", usd("100.00"))
    twin.recover()
    (capture,) = twin.order("SO-1").lines[0].captures
    assert capture.token is not None
    for names_the_capture in (True, False):
        bo = _placed(stores)
        (auth,) = bo.order("SO-1").lines[0].authorizations
        assert auth.token is not None
        reference = capture.token.value if names_the_capture else auth.token.value
        assert bo.invoice("SO-1", "INV-1", usd("100.00")).in_doubt
        note = chargeback("", usd("30.00"), 1, reference=reference)
        assert bo.handle_notification(note).unmatched
        bo.recover()
        order = check_books(bo, "SO-1")
        assert (order.charged_back, order.returnable) == (usd("30.00"), usd("70.00"))


class _Late(DelegatingStore):
    """A store whose next keep for review first lets a rival run (a recovery on another
    worker), once."""

    def __init__(self, inner: OrderStore) -> None:
        super().__init__(inner)
        self.rival: Callable[[], object] | None = None

    def keep_for_review(self, notification: Notification) -> bool:
        rival, self.rival = self.rival, None
        if rival is not None:
            rival()
        return self.inner.keep_for_review(notification)


def test_a_chargeback_kept_while_a_recovery_settles_its_capture_is_applied(
    stores: Stores,
) -> None:
    """O5, N4: a chargeback of a capture in doubt found nothing recorded; before it was
    kept, a recovery on another worker settled the capture and looked for what was kept
    for it (nothing yet). The chargeback, kept after, is applied (it stayed kept and
    uncounted for ever: nothing settles the capture again)."""
    for by_reference in (False, True):
        bo = _placed(stores, _Late)
        store = bo.ports.store
        assert isinstance(store, _Late)
        (record,) = bo.invoice("SO-1", "INV-1", usd("100.00")).in_doubt
        (auth,) = bo.order("SO-1").lines[0].authorizations
        assert auth.token is not None
        note = (chargeback("", usd("30.00"), 1, reference=auth.token.value) if by_reference
                else chargeback(record, usd("30.00"), 1))  # fmt: skip
        other = stores.again(store.inner)  # another worker's
        rival = BackOffice(store=other, journal=other.journal, processor=bo.ports.processor,
                           clock=bo.ports.clock)  # fmt: skip
        store.rival = rival.recover
        bo.handle_notification(note)
        assert bo.operations("SO-1")[-1].outcome is Outcome.APPROVED
        assert check_books(bo, "SO-1").charged_back == usd("30.00")
