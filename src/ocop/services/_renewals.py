"""The authorization renewal job: ``bo.renew_authorizations()`` (rules A1, A2).

The job asks the store for the orders it has work on (an indexed query: the cost grows
with the orders that match, not with the orders stored), a batch at a time, claims
each batch so that other workers running the job pass those orders by, and runs the
renewal plan (:class:`~ocop.domain.renewal.Renewal`) on each claimed order with the
engine. Every renewal is made of operations with their own keys, so a second run, or
a second worker, never renews an authorization twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

import attrs

from ocop.domain import steps
from ocop.domain.errors import ConcurrentUpdate, OcopError, OperationInDoubt, StorageError
from ocop.domain.order_kinds import PaymentsType
from ocop.domain.queries import OrderQuery
from ocop.domain.renewal import ReleaseVoid, Renewal, renew_before
from ocop.ports import Ports
from ocop.services._engine import Raced, load, pursue
from ocop.services._logs import logger
from ocop.services._outcomes import RETRIES

log = logger("ocop.renewals")

#: The name an order is claimed under while the job works on it.
CLAIM = "renew:"


@attrs.frozen(kw_only=True)
class RenewalReport:
    """What a run of the renewal job did, per order (tuples of order ids, A2).

    ``renewed``: an authorization was renewed (or, with ``retry_declined``, a declined
    line authorized again); ``declined``: a line's renewal failed (a card without a
    reusable token, or a decline) and the line holds no money any more; ``held``: the
    order got an ``AUTHORIZATION_EXPIRED`` hold; ``voided``: open authorizations that
    nothing will capture (a cancelled or fully invoiced order) were released, or one whose
    pending void the processor refused in the end was voided again (V5), or the order was
    cancelled on the run's way after a renewal's void or a new authorization (a renewal's,
    or a declined line's retry), which the cancellation released (nothing renewed then);
    ``in_doubt``:
    a call's outcome is unknown (run ``recover()``); ``skipped``: found but left as it
    was: claimed by another worker, a call of it already in doubt, not approved (held,
    or waiting for completion), or nothing due any more. An order may be in several.
    """

    renewed: tuple[str, ...] = ()
    declined: tuple[str, ...] = ()
    held: tuple[str, ...] = ()
    voided: tuple[str, ...] = ()
    in_doubt: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()


@attrs.define
class _Tally:
    renewed: list[str] = attrs.Factory(list)
    declined: list[str] = attrs.Factory(list)
    held: list[str] = attrs.Factory(list)
    voided: list[str] = attrs.Factory(list)
    in_doubt: list[str] = attrs.Factory(list)
    skipped: list[str] = attrs.Factory(list)

    def add(self, order_id: str, goal: Renewal | None) -> None:
        if goal is None or not goal.acted:
            self.skipped.append(order_id)
            return
        for name in ("renewed", "declined", "held", "voided", "in_doubt"):
            if getattr(goal, name):
                getattr(self, name).append(order_id)

    def report(self) -> RenewalReport:
        return RenewalReport(**{name: tuple(ids) for name, ids in attrs.asdict(self).items()})


def renew_authorizations(ports: Ports, holder: str) -> RenewalReport:
    """Run the renewal job over every order it has work on, in batches (A1, A2).

    ``holder``: who claims the orders (one name per back office), so that workers
    running the job at once work on different orders.
    """
    now = ports.clock.now()
    policy = ports.settings.authorization
    queries = [OrderQuery(renew_before=renew_before(now, policy))]
    if policy.retry_declined:
        queries.append(OrderQuery(on_hold=True))  # declined lines leave their order held
    tally = _Tally()
    seen: set[str] = set()
    for query in queries:
        for batch in _batches(ports, query, now, policy.renew_batch_size):
            fresh = [order_id for order_id in batch if order_id not in seen]
            seen.update(fresh)
            _run_batch(ports, fresh, holder, tally)
    report = tally.report()
    log.info(
        "renewal run: %d renewed, %d declined, %d held, %d voided, %d in doubt, %d skipped",
        len(report.renewed), len(report.declined), len(report.held), len(report.voided),
        len(report.in_doubt), len(report.skipped),
    )  # fmt: skip
    return report


def _batches(ports: Ports, query: OrderQuery, now: datetime, size: int) -> Iterator[list[str]]:
    """The ids ``query`` lists, ``size`` at a time, each page after the last one."""
    after: str | None = None
    while True:
        with ports.store.unit_of_work() as uow:
            page = uow.orders.query(attrs.evolve(query, limit=size, after=after), now)
        if not page:
            return
        yield list(page)
        if len(page) < size:
            return
        after = page[-1]


def _run_batch(ports: Ports, order_ids: Sequence[str], holder: str, tally: _Tally) -> None:
    if not order_ids:
        return
    # Claimed from now, not from the run's start: each batch holds its orders for the
    # whole renew_claim_minutes, however long the batches before it took.
    with claimed(ports, order_ids, holder, ports.clock.now()) as mine:
        for order_id in order_ids:
            tally.add(order_id, renew_order(ports, order_id) if order_id in mine else None)


@contextmanager
def claimed(
    ports: Ports, order_ids: Sequence[str], holder: str, now: datetime, prefix: str = CLAIM
) -> Iterator[set[str]]:
    """Claim the orders for ``holder`` for ``renew_claim_minutes`` (those another worker
    holds are left out), and release them when done: the ids claimed. ``prefix``: what
    the claim is for (a renewal, a placement recovery finishes)."""
    minutes = ports.settings.authorization.renew_claim_minutes
    names = [prefix + order_id for order_id in order_ids]
    taken = ports.store.claim(names, holder, now + timedelta(minutes=minutes), now)
    try:
        yield {name.removeprefix(prefix) for name in taken}
    finally:
        ports.store.release(taken, holder)


def renew_order(ports: Ports, order_id: str) -> Renewal | None:
    """Run the renewal plan on one order (claimed by the caller); None when it was left
    alone: a call of it in doubt (O3), or an error of the order's own, logged. A run
    another worker's change interrupted (O5) plans again from the order it stored and
    keeps what it did before (or returns it, when it stops then)."""
    done: Renewal | None = None  # what the run did before another worker's change
    for _ in range(RETRIES):
        try:
            order = load(ports, order_id, no_doubt=True)
        except OperationInDoubt:
            return done
        if order.payments_type is PaymentsType.COMMERCE and not ports.settings.ocop:
            return done  # P2: a commerce order is processed only while OCOP is on
        goal = Renewal.start(order, ports.clock.now(), ports.settings.authorization)
        goal = goal if done is None else goal.carrying(done)
        try:
            return pursue(ports, order, goal, checked=True)[1]
        except Raced as lost:
            # Another worker changed the order: plan again from what it stored, keeping
            # what the run did (its calls were made, A2).
            done = lost.goal if isinstance(lost.goal, Renewal) else done
            continue
        except ConcurrentUpdate:
            continue
        except OperationInDoubt:
            return done  # another worker's call on it is in doubt: recover() first (O3)
        except StorageError:
            raise
        except OcopError:
            log.exception("renewal of order %s stopped", order_id)
            return done
    return done


def finish_renewals(
    ports: Ports, order_ids: Sequence[str], holder: str, deferred: list[str]
) -> tuple[tuple[str, ...], tuple[ReleaseVoid, ...]]:
    """Finish the renewals interrupted on these orders (what ``recover()`` does once it
    has resolved their calls), and release what nothing will capture: the orders among
    them it renewed or held, and the voids it sent to release authorizations (read from
    the operation log: a plan made again after another worker's commit, or stopped by an
    error, does not send again a void already sent, whose money moved all the same).

    A storage failure on one order (E3) is logged and the order left as it is, still
    marked, for the next run or recovery, and named in ``deferred`` (``"renewal of
    ORDER"``): the others go on, and the recovery keeps its report (what it resolved, and
    renewed at the processor, is committed)."""
    finished: list[str] = []
    releases: list[ReleaseVoid] = []
    for order_id in dict.fromkeys(order_ids):
        try:
            goal = _finish_one(ports, order_id, holder, releases)
        except StorageError:
            log.exception("could not finish the renewal of order %s; the next run will", order_id)
            deferred.append(f"renewal of {order_id}")
            continue
        if goal is not None and (goal.renewed or goal.held):
            finished.append(order_id)
    return tuple(finished), tuple(releases)


def _finish_one(
    ports: Ports, order_id: str, holder: str, releases: list[ReleaseVoid]
) -> Renewal | None:
    """Finish one order's interrupted renewal (:func:`finish_renewals`), adding the voids
    it sent to ``releases``; None when there was none to finish, or another worker has it."""
    with ports.store.unit_of_work() as uow:
        order = uow.orders.find(order_id)
    if order is None or not any(line.renewing or line.unreleased for line in order.lines):
        return None  # no renewal under way, nor an authorization to void again (V5)
    with claimed(ports, [order_id], holder, ports.clock.now()) as mine:
        if not mine:
            return None  # a worker of the job is on it
        before = _keys(ports, order_id)
        try:
            return renew_order(ports, order_id)
        finally:  # the voids sent before a failure moved money all the same
            releases.extend(_releases(ports, order_id, before))


def _keys(ports: Ports, order_id: str) -> set[str]:
    """The keys of the order's calls logged so far."""
    with ports.store.unit_of_work() as uow:
        return {op.key for op in uow.operations.for_order(order_id)}


def _releases(ports: Ports, order_id: str, before: set[str]) -> tuple[ReleaseVoid, ...]:
    """The voids releasing an authorization (A1, V5) logged on the order since ``before``
    (its keys then): while the order is claimed, only this worker sends them."""
    with ports.store.unit_of_work() as uow:
        ops = uow.operations.for_order(order_id)
    return tuple(
        ReleaseVoid.of(op, op.step.auth_id)
        for op in ops
        if op.key not in before
        and isinstance(op.step, steps.Void)
        and op.step.purpose is steps.VoidPurpose.RELEASE
    )
