"""The review part of the OrderStore contract
(:meth:`~ocop.ports.store.OrderStore.keep_for_review`);
:class:`~ocop.testing.contracts.OrderStoreContract` runs it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import attrs

from ocop.domain.money import Money
from ocop.domain.notifications import Notification, NotificationEvent
from ocop.ports.store import OrderStore, ReviewByOrder
from ocop.testing._processor_hooks import START

#: A moment with microseconds, in a zone other than UTC: kept as it is.
AT = datetime(2026, 1, 2, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5)))


def chargeback(notification_id: str, amount: str = "12.30") -> Notification:
    """A chargeback of ``amount`` USD, its reason plain text."""
    return Notification(
        notification_id=notification_id,
        event=NotificationEvent.CHARGEBACK,
        key="SO-1:capture:INV-1:1",
        at=AT,
        reference="psp-cb-77",
        amount=Money.of(amount, "USD"),
        reason="the card holder says the goods never arrived (case 4471)",
    )


def failed_outcome(notification_id: str) -> Notification:
    """The failed outcome of an operation answered pending: no amount, no reference."""
    return Notification(
        notification_id=notification_id,
        event=NotificationEvent.OUTCOME,
        key="SO-2:authorize:L1:1",
        at=START,
        success=False,
    )


class ReviewContract:
    """Notifications kept for review: once per notification id, never dropped, read back
    exactly as kept, oldest first; a durable store keeps them across a restart."""

    def reopen_store(self) -> OrderStore | None:
        """The store made last, opened again as after a restart; None (the default) for a
        store whose data lives only as long as it does."""
        return None

    def _openings(self, store: OrderStore) -> list[OrderStore]:
        """``store``, and the same store reopened where it is durable."""
        again = self.reopen_store()
        return [store] if again is None else [store, again]

    def test_a_notification_is_kept_once_per_id(self, store: OrderStore) -> None:
        """The first keep of an id says True; keeping it again, even with other content,
        says False and changes nothing."""
        first = chargeback("N-1")
        assert store.keep_for_review(first) is True
        assert store.keep_for_review(first) is False
        assert store.keep_for_review(attrs.evolve(first, reason="sent again")) is False
        for opened in self._openings(store):
            assert opened.keep_for_review(first) is False
            assert opened.kept_for_review() == (first,)

    def test_kept_notifications_read_oldest_first(self, store: OrderStore) -> None:
        """Notifications read back in the order they were first kept, not by id; a repeat
        keeps its first place."""
        assert store.kept_for_review() == ()
        kept = [chargeback("N-3"), failed_outcome("N-1"), chargeback("N-2", "1.00")]
        for notification in kept:
            assert store.keep_for_review(notification) is True
        assert store.keep_for_review(kept[1]) is False
        openings = self._openings(store)
        for opened in openings:
            assert opened.kept_for_review() == tuple(kept)
        later = failed_outcome("N-0")  # kept after a restart, where there is one
        assert openings[-1].keep_for_review(later) is True
        for opened in openings:
            assert opened.kept_for_review() == (*kept, later)

    def test_a_notification_reads_back_exactly(self, store: OrderStore) -> None:
        """With and without an amount: every field as kept, the amount's digits and
        currency, the moment's microseconds and offset."""
        with_amount, without = chargeback("N-1"), failed_outcome("N-2")
        store.keep_for_review(with_amount)
        store.keep_for_review(without)
        for opened in self._openings(store):
            read = opened.kept_for_review()
            assert read == (with_amount, without)
            first, second = read
            assert type(first) is Notification
            assert first.event is NotificationEvent.CHARGEBACK
            assert first.amount is not None
            assert (first.amount.currency, str(first.amount.amount)) == ("USD", "12.30")
            assert first.at.isoformat() == AT.isoformat()
            assert first.at.utcoffset() == timedelta(hours=-5)
            assert (first.reference, first.reason) == (with_amount.reference, with_amount.reason)
            assert second.event is NotificationEvent.OUTCOME
            assert second.amount is None
            assert second.success is False
            assert second.at.isoformat() == START.isoformat()

    def test_kept_notifications_are_looked_up_by_order_and_dispute(self, store: OrderStore) -> None:
        """Where the store has :class:`~ocop.ports.store.ReviewByOrder`: each lookup lists
        what filtering the whole list gives, in the order kept. Without it (optional), the
        services filter the whole list: it lists every one kept, in that order."""
        events = tuple(NotificationEvent)
        shapes = [("SO-1/capture/INV-1/1", "D-1"), ("", "D-1"), ("SO-2/authorize/L1/1", ""),
                  ("SO-1/authorize/L1/1", "D-2"), ("SO-12", ""), ("", "")]  # fmt: skip
        kept = [
            Notification(
                notification_id=f"N-{n}",
                event=events[n % len(events)],
                key=key,
                at=AT,
                dispute=dispute,
            )
            for n, (key, dispute) in enumerate(shapes)
        ]
        for notification in kept:
            store.keep_for_review(notification)
        for opened in self._openings(store):
            whole = opened.kept_for_review()
            if not isinstance(opened, ReviewByOrder):
                assert whole == tuple(kept)
                continue
            for order_keys in ({"SO-1"}, {"SO-1", ""}, {"SO-2", "SO-12"}, set()):
                for wanted in (events, events[:2], events[2:3]):
                    assert opened.kept_for_review_of(order_keys, wanted) == tuple(
                        n
                        for n in whole
                        if n.key.partition("/")[0] in order_keys and n.event in wanted
                    )
            for dispute in ("D-1", "D-2", "", "D-3"):
                assert opened.kept_for_dispute(dispute, events) == tuple(
                    n for n in whole if dispute and n.dispute == dispute
                )
