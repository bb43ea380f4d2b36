"""The in-memory store's tables (:mod:`ocop.adapters.memory`): its rows and the indexes
each query is served by, kept behind the store's one lock."""

from __future__ import annotations

from datetime import datetime

import attrs

from ocop.domain.journal import Voucher
from ocop.domain.notifications import Notification
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

    def keep(self, voucher: Voucher) -> None:
        """Add ``voucher`` to the journal unless its id is there already (J3)."""
        if voucher.voucher_id not in self.journal:
            self.journal[voucher.voucher_id] = voucher
            self.journal_by_order.setdefault(voucher.order_id, []).append(voucher.voucher_id)
