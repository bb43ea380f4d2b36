"""Notifications kept for review are looked up by order and by dispute where the store can
(:class:`~ocop.ports.store.ReviewByOrder`): settling a call, or applying a chargeback, never
reads the whole review list then (it never shrinks); a store without the lookups is read
whole, with the same outcome (rules N4, O2)."""

from __future__ import annotations

from collections.abc import Collection

from ocop import BackOffice, Channel, Customer, NotificationEvent
from ocop.adapters.memory import InMemoryStore, ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain.notifications import Notification
from ocop.testing.counting import DelegatingStore
from unsolicited_support import chargeback, check_books, ended, reversal
from worlds import START, by_card, usd


class _Looking(DelegatingStore):
    """A store with the lookups that counts whole reads of the review list and lookups."""

    def __init__(self) -> None:
        self.memory = InMemoryStore(keeps_journal=True)
        super().__init__(self.memory)
        self.whole = self.lookups = 0

    def kept_for_review(self) -> tuple[Notification, ...]:
        self.whole += 1
        return self.memory.kept_for_review()

    def kept_for_review_of(
        self, order_keys: Collection[str], events: Collection[NotificationEvent]
    ) -> tuple[Notification, ...]:
        self.lookups += 1
        return self.memory.kept_for_review_of(order_keys, events)

    def kept_for_dispute(
        self, dispute: str, events: Collection[NotificationEvent]
    ) -> tuple[Notification, ...]:
        self.lookups += 1
        return self.memory.kept_for_dispute(dispute, events)


def _placed(store: DelegatingStore) -> tuple[BackOffice, SimulatedProcessor]:
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    inner = store.inner
    assert isinstance(inner, InMemoryStore)
    bo = BackOffice(store=store, journal=inner.journal, clock=clock, processor=sim)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("100.00"), payments=[by_card("100.00")])  # fmt: skip
    return bo, sim


def test_settling_a_call_looks_up_its_orders_kept_notifications_not_the_whole_list() -> None:
    """O2, N4: a chargeback kept while its capture was in doubt, among others kept for
    another order, is applied by recover() through the lookup alone."""
    store = _Looking()
    bo, sim = _placed(store)
    other = ended("SO-9/authorize/L1/1", 7)  # kept for an order ocop does not know
    assert bo.handle_notification(other).unmatched
    sim.script("capture", "timeout_after_success")
    (record,) = bo.invoice("SO-1", "INV-1", usd("100.00")).in_doubt
    assert bo.handle_notification(chargeback(record, usd("30.00"), 1)).unmatched
    assert bo.handle_notification(reversal(record, 2)).unmatched
    store.whole = store.lookups = 0
    assert bo.recover().resolved == (record,)
    order = check_books(bo, "SO-1")
    assert (order.charged_back, order.returnable) == (usd("0.00"), usd("100.00"))
    assert (store.whole, store.lookups) == (0, 1)


def test_a_chargeback_applied_looks_up_early_reversals_by_its_dispute() -> None:
    """N4: a reversal that came before its chargeback is applied with it, found by the
    dispute, not by reading the whole list."""
    store = _Looking()
    bo, _ = _placed(store)
    (capture,) = bo.invoice("SO-1", "INV-1", usd("100.00")).captures
    record = capture.capture_id
    assert bo.handle_notification(reversal(record, 1, dispute="D-1")).unmatched
    store.whole = store.lookups = 0
    assert bo.handle_notification(chargeback(record, usd("30.00"), 2, dispute="D-1")).applied
    assert check_books(bo, "SO-1").charged_back == usd("0.00")
    assert store.whole == 0
    assert store.lookups >= 1


def test_a_store_without_the_lookups_reads_the_whole_list_with_the_same_outcome() -> None:
    """A host's store with only the port's methods: the whole review list is read."""
    store = DelegatingStore(InMemoryStore(keeps_journal=True))
    bo, sim = _placed(store)
    sim.script("capture", "timeout_after_success")
    (record,) = bo.invoice("SO-1", "INV-1", usd("100.00")).in_doubt
    assert bo.handle_notification(chargeback(record, usd("30.00"), 1)).unmatched
    assert bo.recover().resolved == (record,)
    assert check_books(bo, "SO-1").charged_back == usd("30.00")
