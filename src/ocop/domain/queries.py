"""Order queries, pure: what a store keeps of each order to answer them, and the answer.

A store keeps, with every order it writes, the order's :class:`OrderKeys`: whether it
is held without end, the end of its latest lapsing hold, its status apart from holds,
when its oldest open authorization was made, and from when the authorization renewal
job (A1) has work on it. :func:`matches` is the answer for one
order at ``now``; a store gives the same answer from indexes on those keys, so a hold
that lapses by time leaves the answer at its ``until`` with no write, as it leaves
``bo.order()`` (:meth:`~ocop.domain.order.Order.as_of`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs

from ocop.domain.invoicing import nothing_will_capture
from ocop.domain.order import Order, OrderStatus


@attrs.frozen(kw_only=True)
class OrderQuery:
    """Which orders to list; every filter given must hold (None: any).

    ``on_hold``: held at ``now`` (a hold that has not lapsed, on an order not cancelled:
    a cancelled order keeps its holds on record, but none can be released and nothing is
    left to stop). ``in_doubt``: an operation
    of the order has no definitive outcome. ``authorized_before``: an open authorization
    on an active line was made before this moment (``bo.orders`` derives it from
    ``expiring_before`` and the authorization expiry). ``status``: the order's status at
    ``now``. ``renew_before``: the renewal job (A1) has work on the order from before
    this moment (what ``bo.renew_authorizations()`` asks). ``needs_completion``: the order
    waits for completion, held or not, cancelled not (what ``recover()`` asks, to finish
    interrupted placements). Ids come in the order the orders were added; ``after``: only
    orders added after this one; ``limit``: at most this many.
    """

    on_hold: bool | None = None
    in_doubt: bool | None = None
    authorized_before: datetime | None = None
    renew_before: datetime | None = None
    status: OrderStatus | None = None
    needs_completion: bool | None = None
    limit: int | None = None
    after: str | None = None


@attrs.frozen(kw_only=True)
class OrderKeys:
    """What a store keeps of an order, beside its body, to answer an :class:`OrderQuery`."""

    #: A hold without an end (only a release ends it), on an order not cancelled.
    held: bool
    #: The latest ``until`` of the order's holds that lapse by themselves, on an order not
    #: cancelled (None: none).
    held_until: datetime | None
    #: The order's status if it had no holds.
    status: OrderStatus
    #: When the oldest open authorization on an active line was made (None: none open).
    authorized_from: datetime | None
    #: From when the renewal job (A1) has work on the order (None: never, as it stands):
    #: the oldest open authorization's time on an order that may still be captured (the
    #: job renews it once it is close enough to expiry); the epoch, at once, when nothing
    #: will capture its open authorizations any more (cancelled, or its total invoiced and
    #: every invoice covered: the job voids them) or when a renewal of one of its lines is
    #: under way (interrupted, the job finishes it).
    renew_from: datetime | None = None

    def on_hold(self, now: datetime) -> bool:
        return self.held or (self.held_until is not None and now < self.held_until)

    def status_at(self, now: datetime) -> OrderStatus:
        if self.status is not OrderStatus.CANCELLED and self.on_hold(now):
            return OrderStatus.ON_HOLD
        return self.status


def keys_of(order: Order) -> OrderKeys:
    """The :class:`OrderKeys` of ``order`` as stored."""
    # A cancelled order's holds are kept on record only: it is on hold no more (S4, X1).
    holds = () if order.cancelled else order.holds
    lapsing = [hold.until for hold in holds if hold.until is not None]
    opened = [
        auth.authorized_at
        for line in order.lines
        if line.active
        for auth in line.authorizations
        if auth.open_amount.is_positive()
    ]
    # A line's renewal under way, or a refused pending void's authorization to void again
    renewing = any(line.renewing or line.unreleased for line in order.lines)
    if order.cancelled:
        status = OrderStatus.CANCELLED
    elif order.needs_completion:
        status = OrderStatus.PENDING_COMPLETION
    elif order.invoices:
        full = order.invoiced >= order.total
        status = OrderStatus.INVOICED if full else OrderStatus.PARTIALLY_INVOICED
    else:
        status = OrderStatus.APPROVED
    oldest = min(opened) if opened else None
    if nothing_will_capture(order):
        renew_from = EPOCH if oldest is not None or renewing else None
    elif renewing:
        renew_from = EPOCH
    elif status is OrderStatus.PENDING_COMPLETION:
        renew_from = None  # the draft being completed decides its authorizations
    else:
        renew_from = oldest
    return OrderKeys(
        held=any(hold.until is None for hold in holds),
        held_until=max(lapsing) if lapsing else None,
        status=status,
        authorized_from=oldest,
        renew_from=renew_from,
    )


def matches(keys: OrderKeys, in_doubt: bool, query: OrderQuery, now: datetime) -> bool:
    """Whether an order with ``keys`` (and ``in_doubt``: an operation of it in doubt) is
    listed by ``query`` at ``now``; paging (``after``, ``limit``) aside."""
    if query.on_hold is not None and keys.on_hold(now) is not query.on_hold:
        return False
    if query.in_doubt is not None and in_doubt is not query.in_doubt:
        return False
    if query.authorized_before is not None and (
        keys.authorized_from is None or not keys.authorized_from < query.authorized_before
    ):
        return False
    if query.renew_before is not None and (
        keys.renew_from is None or not keys.renew_from < query.renew_before
    ):
        return False
    waiting = keys.status is OrderStatus.PENDING_COMPLETION
    if query.needs_completion is not None and waiting is not query.needs_completion:
        return False
    return query.status is None or keys.status_at(now) is query.status


def authorized_by_expiry(expiring_before: datetime, expiry_days: int) -> datetime:
    """The moment before which an authorization was made when it expires (``expiry_days``
    on) before ``expiring_before``: the days are taken off in UTC (a zone's wall clock may
    skip an hour) in one step (the last moment a datetime holds, told west of UTC, has no
    UTC reading); earlier than the first moment there is, that moment (no order)."""
    shift = (expiring_before.utcoffset() or timedelta(0)) + timedelta(days=expiry_days)
    try:
        return (expiring_before.replace(tzinfo=None) - shift).replace(tzinfo=UTC)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)


def micros(moment: datetime) -> int:
    """``moment`` as whole microseconds since the Unix epoch (UTC): how SQL stores keep it."""
    delta = moment.astimezone(UTC) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


#: The Unix epoch: the ``renew_from`` of an order the renewal job has work on at once.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
