"""``bo.orders(...)`` on memory agrees with a brute-force filter over ``bo.order(id)``.

Random orders (card or check paid), manual holds placed and released, cancellations,
invoices, captures left in doubt, renewals marked under way and ended, recoveries and
clock moves (check holds lapsing, authorizations ageing); then random queries, paging
included, against every stored id. A query for renewal work (``renew_before``, which
``bo.orders`` does not ask) goes to the store, and agrees with :func:`matches` on the
keys of each stored order.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop import (
    Actor,
    BackOffice,
    CardPayment,
    Channel,
    Customer,
    HoldCode,
    OcopError,
    OrderNotFound,
    OrderStatus,
    Prepayment,
    Settings,
)
from ocop.adapters.memory import InMemoryStore, ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain.queries import OrderQuery, keys_of, matches
from ocop.domain.settings import CompletionPolicy
from worlds import START, card, usd

AGENT = Actor.call_center("agent-1")
RULES = Settings.default().with_policies(
    completion=CompletionPolicy(check_hold_threshold=usd("10.00"), check_hold_days=2)
)
EXPIRY = timedelta(days=RULES.authorization.expiry_days)

KINDS = ("card", "check", "hold", "release", "cancel", "invoice", "doubt", "recover", "wait",
         "renewing", "renewed")  # fmt: skip
ACTIONS = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(min_value=0, max_value=7)), max_size=25
)
#: Often before any authorization: only the work due at once is listed.
RENEW_BEFORE = st.one_of(
    st.sampled_from([-24, 0]), st.integers(min_value=0, max_value=40 * 24)
).map(lambda hours: START + timedelta(hours=hours))
PAGING = {
    "limit": st.integers(min_value=1, max_value=4),
    "after": st.integers(min_value=0, max_value=7),
}
QUERIES = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "on_hold": st.booleans(),
            "in_doubt": st.booleans(),
            "expiring_before": st.integers(min_value=0, max_value=40 * 24).map(
                lambda hours: START + timedelta(hours=hours)
            ),
            "status": st.sampled_from(OrderStatus),
            "renew_before": RENEW_BEFORE,
            **PAGING,
        },
    )
    | st.fixed_dictionaries({"renew_before": RENEW_BEFORE}, optional=PAGING),
    min_size=1,
    max_size=6,
)


def _act(bo: BackOffice, store: InMemoryStore, sim: SimulatedProcessor, clock: ManualClock,
         ids: list[str], *, action: str, n: int) -> None:  # fmt: skip
    """Do one action; an action the order refuses (a hold twice, an invoice on a cancelled
    order ...) changes nothing, and is skipped."""
    target = ids[n % len(ids)] if ids else None
    try:
        if action in {"card", "check"}:
            order_id = f"SO-{len(ids)}"
            amount = usd(f"{10 * (n + 2)}.00")
            payment = (
                CardPayment(card(), amount)
                if action == "card"
                else Prepayment("check", amount, check_number="1001")
            )
            bo.place_order(order_id, channel=Channel.ECOMMERCE, customer=Customer.guest(),
                           total=amount, payments=[payment])  # fmt: skip
            ids.append(order_id)
        elif action == "wait":
            clock.advance(hours=6 * (n + 1) * (n + 1))
        elif action == "recover":
            bo.recover()
        elif target is None:
            return
        elif action == "hold":
            bo.place_hold(target, HoldCode.MANUAL, AGENT, reason="FRAUD")
        elif action == "release":
            bo.release_hold(target, HoldCode.MANUAL, AGENT)
        elif action == "cancel":
            bo.cancel_order(target, AGENT)
        elif action in {"renewing", "renewed"}:
            with store.unit_of_work() as uow:  # as the renewal job marks it (A1)
                order = uow.orders.get(target)
                line = order.lines[0].renewal(under_way=action == "renewing")
                uow.orders.update(order.with_line(line))
                uow.commit()
        else:
            if action == "doubt":
                sim.script("capture", "timeout_after_success")
            bo.invoice(target, f"INV-{len(bo.order(target).invoices)}", usd("10.00"))
    except OcopError:
        return


def _expiring(bo: BackOffice, order_id: str, before: datetime) -> bool:
    return any(
        auth.authorized_at + EXPIRY < before
        for line in bo.order(order_id).lines
        if line.active
        for auth in line.authorizations
        if auth.open_amount.is_positive()
    )


def _brute(bo: BackOffice, store: InMemoryStore, now: datetime, ids: list[str],
           query: dict[str, object]) -> tuple[str, ...]:  # fmt: skip
    """The answer from each order read whole, as of now."""
    found = []
    for order_id in ids:
        order = bo.order(order_id)
        held = bool(order.holds) and not order.cancelled  # a cancelled one keeps them on record
        if "on_hold" in query and held is not query["on_hold"]:
            continue
        doubt = any(record.in_doubt for record in bo.operations(order_id))
        if "in_doubt" in query and doubt is not query["in_doubt"]:
            continue
        before = query.get("expiring_before")
        if isinstance(before, datetime) and not _expiring(bo, order_id, before):
            continue
        if "status" in query and order.status is not query["status"]:
            continue
        renew_before = query.get("renew_before")
        if isinstance(renew_before, datetime):
            with store.unit_of_work() as uow:
                keys = keys_of(uow.orders.get(order_id))
            if not matches(keys, doubt, OrderQuery(renew_before=renew_before), now):
                continue
        found.append(order_id)
    return tuple(found)


def _asked(bo: BackOffice, store: InMemoryStore, now: datetime, filters: dict[str, object]
           ) -> tuple[str, ...]:  # fmt: skip
    """``bo.orders(**filters)``; the store's own answer for a query of renewal work."""
    if "renew_before" not in filters:
        return bo.orders(**filters)  # type: ignore[arg-type]
    expiring = filters.pop("expiring_before", None)
    authorized = expiring - EXPIRY if isinstance(expiring, datetime) else None
    query = OrderQuery(authorized_before=authorized, **filters)  # type: ignore[arg-type]
    with store.unit_of_work() as uow:
        return uow.orders.query(query, now)


def _world() -> tuple[BackOffice, InMemoryStore, SimulatedProcessor, ManualClock]:
    """A back office on a fresh in-memory store, and its store, processor and clock."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    store = InMemoryStore(keeps_journal=True)
    bo = BackOffice(store=store, journal=store.journal, settings=RULES, processor=sim,
                    clock=clock)  # fmt: skip
    return bo, store, sim, clock


@given(actions=ACTIONS, queries=QUERIES)
def test_the_query_agrees_with_every_order_read_whole(
    actions: list[tuple[str, int]], queries: list[dict[str, object]]
) -> None:
    """For random histories and queries, bo.orders(...) lists exactly the ids a filter over
    bo.order(id) of every stored id keeps, in placement order, paged by limit and after."""
    bo, store, sim, clock = _world()
    ids: list[str] = []
    for action, n in actions:
        _act(bo, store, sim, clock, ids, action=action, n=n)
    for query in queries:
        _check(bo, store, clock.now(), ids, query)


@given(
    history=st.lists(
        st.tuples(st.sampled_from(KINDS), st.integers(min_value=0, max_value=7), QUERIES),
        max_size=12,
    )
)
def test_queries_between_changes_see_every_change(
    history: list[tuple[str, int, list[dict[str, object]]]],
) -> None:
    """The in-memory store indexes the orders it wrote at the next query: queries asked
    between the changes, each after one action, agree with every order read whole."""
    bo, store, sim, clock = _world()
    ids: list[str] = []
    for action, n, queries in history:
        _act(bo, store, sim, clock, ids, action=action, n=n)
        for query in queries:
            _check(bo, store, clock.now(), ids, query)


def _check(bo: BackOffice, store: InMemoryStore, now: datetime, ids: list[str],
           query: dict[str, object]) -> None:  # fmt: skip
    filters = {k: v for k, v in query.items() if k not in {"limit", "after"}}
    expected = _brute(bo, store, now, ids, filters)
    after = query.get("after")
    if isinstance(after, int):
        if not ids:
            return
        after_id = ids[after % len(ids)]
        expected = tuple(i for i in expected if ids.index(i) > ids.index(after_id))
        filters["after"] = after_id
    limit = query.get("limit")
    if isinstance(limit, int):
        expected = expected[:limit]
        filters["limit"] = limit
    assert _asked(bo, store, now, filters) == expected


def test_an_expiry_before_any_authorization_could_expire_finds_no_order() -> None:
    """A moment earlier than the expiry age after the first moment there is: no order (it
    raised a bare OverflowError)."""
    clock = ManualClock(START)
    bo = BackOffice.in_memory(processor=SimulatedProcessor(clock=clock), clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("10.00"), payments=[CardPayment(card(), usd("10.00"))])  # fmt: skip
    assert bo.orders(expiring_before=datetime(1, 1, 10, tzinfo=START.tzinfo)) == ()
    east = timezone(timedelta(hours=14))  # a valid local moment that is before year 1 in UTC
    assert bo.orders(expiring_before=datetime(1, 1, 15, tzinfo=east)) == ()
    assert bo.orders(expiring_before=START + timedelta(days=30)) == ("SO-1",)
    with pytest.raises(OrderNotFound):  # an unknown page start is refused whatever the moment
        bo.orders(expiring_before=datetime(1, 1, 2, tzinfo=START.tzinfo), after="NOPE")
