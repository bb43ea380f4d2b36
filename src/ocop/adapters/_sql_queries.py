"""The SQL of ``bo.orders(...)``: each filter's condition on the orders' key columns, and
the covering index that drives a query (issue 11)."""

from __future__ import annotations

from ocop.domain.order import OrderStatus
from ocop.domain.queries import OrderQuery, micros

#: An order held at a moment (one parameter: the moment), and one not held.
HELD = "(o.held = 1 OR o.held_until > ?)"
FREE = "(o.held = 0 AND (o.held_until IS NULL OR o.held_until <= ?))"
DOUBTFUL = "SELECT order_id FROM ocop_operations WHERE in_doubt = 1"


def filter_conditions(query: OrderQuery, moment: int) -> dict[str, tuple[str, list[object]]]:
    """Each filter's condition on the key columns of ``o`` (the orders table), by name."""
    found: dict[str, tuple[str, list[object]]] = {}
    if query.in_doubt is not None:
        negation = "" if query.in_doubt else "NOT "
        found["in_doubt"] = (f"o.order_id {negation}IN ({DOUBTFUL})", [])
    if query.on_hold is not None:
        found["on_hold"] = (HELD if query.on_hold else FREE, [moment])
    if query.renew_before is not None:
        found["renew"] = ("o.renew_from < ?", [micros(query.renew_before)])
    if query.authorized_before is not None:
        found["authorized"] = ("o.authorized_from < ?", [micros(query.authorized_before)])
    if query.needs_completion is not None:
        waits = "=" if query.needs_completion else "<>"
        found["needs_completion"] = (f"o.status {waits} ?", [OrderStatus.PENDING_COMPLETION.value])
    status = query.status
    if status is OrderStatus.ON_HOLD:  # held, and not cancelled (which outranks holds)
        found["status"] = ("o.status <> ?", [OrderStatus.CANCELLED.value])
        found["status_hold"] = (HELD, [moment])
    elif status is not None:
        found["status"] = ("o.status = ?", [status.value])
        if status is not OrderStatus.CANCELLED:
            found["status_hold"] = (FREE, [moment])
    return found


def driving_index(
    query: OrderQuery, moment: int, after: list[object]
) -> tuple[tuple[str, ...], str, list[object]] | None:
    """For the query's most narrowing filter: the names of the conditions it decides, and
    the ``seq, order_id`` of its rows from a covering index (after ``after``'s seq, if
    given); None when no filter narrows by index."""
    # Only fixed text is put together here: every value is a bound parameter.
    later = " AND seq > ?" if after else ""
    if query.in_doubt:
        found = f"SELECT seq, order_id FROM ocop_orders WHERE order_id IN ({DOUBTFUL}){later}"  # noqa: S608
        return ("in_doubt",), found, after
    if query.on_hold or query.status is OrderStatus.ON_HOLD:
        found = (
            f"SELECT seq, order_id FROM ocop_orders WHERE held = 1{later} "  # noqa: S608
            f"UNION SELECT seq, order_id FROM ocop_orders WHERE held_until > ?{later}"
        )
        covered = ("on_hold",) if query.on_hold else ("status_hold",)
        return covered, found, [*after, moment, *after]
    if query.renew_before is not None:
        found = f"SELECT seq, order_id FROM ocop_orders WHERE renew_from < ?{later}"  # noqa: S608
        return ("renew",), found, [micros(query.renew_before), *after]
    if query.authorized_before is not None:
        found = f"SELECT seq, order_id FROM ocop_orders WHERE authorized_from < ?{later}"  # noqa: S608
        return ("authorized",), found, [micros(query.authorized_before), *after]
    if query.status is not None:
        found = f"SELECT seq, order_id FROM ocop_orders WHERE status = ?{later}"  # noqa: S608
        return ("status",), found, [query.status.value, *after]
    if query.needs_completion:
        found = f"SELECT seq, order_id FROM ocop_orders WHERE status = ?{later}"  # noqa: S608
        return ("needs_completion",), found, [OrderStatus.PENDING_COMPLETION.value, *after]
    return None
