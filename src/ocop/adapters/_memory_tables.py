"""The in-memory store's tables (:mod:`ocop.adapters.memory`): its rows and the indexes
each query is served by, kept behind the store's one lock."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import attrs

from ocop.domain.journal import Voucher
from ocop.domain.keys import order_part
from ocop.domain.notifications import Notification, NotificationEvent
from ocop.domain.operations import Operation
from ocop.domain.order import Order, OrderStatus
from ocop.domain.queries import OrderKeys

__all__ = ["Tables"]


@attrs.define
class Tables:
    """Rows by key, and the indexes over them, each kept with every write."""

    orders: dict[str, Order] = attrs.Factory(dict)
    operations: dict[str, Operation] = attrs.Factory(dict)
    by_order: dict[str, list[str]] = attrs.Factory(dict)  # order id -> its operation keys
    by_step: dict[tuple[str, str], list[str]] = attrs.Factory(dict)  # (order, step) -> keys
    doubtful: dict[str, None] = attrs.Factory(dict)  # keys in doubt, in insertion order
    by_reference: dict[str, list[str]] = attrs.Factory(dict)  # answer's token value -> keys
    outbox: dict[str, Voucher] = attrs.Factory(dict)
    pending: dict[str, None] = attrs.Factory(dict)  # outbox ids not yet posted, in order
    journal: dict[str, Voucher] = attrs.Factory(dict)
    journal_by_order: dict[str, list[str]] = attrs.Factory(dict)  # order id -> voucher ids
    #: The query indexes, brought up to date by the first query after a write (an order's
    #: position, given when it is added, is its insertion order)
    stale: dict[str, None] = attrs.Factory(dict)  # orders written since they were indexed
    sequence: list[str] = attrs.Factory(list)  # position -> order id
    position: dict[str, int] = attrs.Factory(dict)  # order id -> position
    keys: dict[str, OrderKeys] = attrs.Factory(dict)  # order id -> its query keys
    held: set[int] = attrs.Factory(set)  # positions of orders held without end
    held_until: list[tuple[datetime, int]] = attrs.Factory(list)  # sorted (until, position)
    by_status: dict[OrderStatus, set[int]] = attrs.Factory(dict)  # status without holds
    authorized_from: list[tuple[datetime, int]] = attrs.Factory(list)  # sorted (at, position)
    renew_from: list[tuple[datetime, int]] = attrs.Factory(list)  # sorted (from, position)
    doubting: dict[str, int] = attrs.Factory(dict)  # order id -> its operations in doubt
    claims: dict[str, tuple[str, datetime]] = attrs.Factory(dict)  # name -> (holder, until)
    review: dict[str, Notification] = attrs.Factory(dict)  # id -> kept, in the order kept
    #: The kept notifications by their key's order part ("" with no key), and by dispute
    #: (those with one), each with its position in :attr:`review`
    review_by_order: dict[str, list[tuple[int, Notification]]] = attrs.Factory(dict)
    review_by_dispute: dict[str, list[tuple[int, Notification]]] = attrs.Factory(dict)

    def keep_for_review(self, notification: Notification) -> bool:
        """Keep ``notification`` once per id, indexed; True when it was not kept before."""
        review = self.review
        if notification.notification_id in review:
            return False
        entry = (len(review), notification)
        review[notification.notification_id] = notification
        self.review_by_order.setdefault(order_part(notification.key), []).append(entry)
        if notification.dispute:
            self.review_by_dispute.setdefault(notification.dispute, []).append(entry)
        return True

    def kept_for_review_of(
        self, order_keys: Collection[str], events: Collection[NotificationEvent]
    ) -> tuple[Notification, ...]:
        """The kept notifications of ``events`` whose key's order part is in ``order_keys``."""
        found = [e for k in set(order_keys) for e in self.review_by_order.get(k, ())]
        return tuple(n for _, n in sorted(found, key=_position) if n.event in events)

    def kept_for_dispute(
        self, dispute: str, events: Collection[NotificationEvent]
    ) -> tuple[Notification, ...]:
        """The kept notifications of ``events`` in ``dispute`` (none for "")."""
        found = self.review_by_dispute.get(dispute, []) if dispute else []
        return tuple(n for _, n in found if n.event in events)

    def keep(self, voucher: Voucher) -> None:
        """Add ``voucher`` to the journal unless its id is there already (J3)."""
        if voucher.voucher_id not in self.journal:
            self.journal[voucher.voucher_id] = voucher
            self.journal_by_order.setdefault(voucher.order_id, []).append(voucher.voucher_id)


def _position(entry: tuple[int, Notification]) -> int:
    return entry[0]
