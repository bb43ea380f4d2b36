"""What follows a processor's answer: its outcome committed with the order and the
vouchers, once (:func:`settle`, rule O2), and the vouchers posted to an outside journal
(:func:`post`, J3). The live call, recovery and notifications all settle through here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import attrs

from ocop.domain import steps
from ocop.domain.completion import releases
from ocop.domain.effects import apply_outcomes
from ocop.domain.errors import ConcurrentUpdate, StorageBusy
from ocop.domain.journal import Voucher
from ocop.domain.operations import Operation, Outcome, ProcessorResult
from ocop.domain.order import Order
from ocop.ports import Ports
from ocop.ports.store import UnitOfWork
from ocop.services._logs import described, logger

log = logger("ocop.operations")

#: How often a commit that lost a version race is retried before giving up (O5).
RETRIES = 5


def post(ports: Ports, vouchers: Sequence[Voucher]) -> int:
    """Post vouchers a commit left for an outside journal, then mark them posted (J3).

    A journal that fails leaves them in the outbox for ``recover()``: an outage never
    fails the change that produced them, nor work on another order. A voucher the journal
    refuses holds back the later vouchers of its own order in ``vouchers``, never another
    order's.
    """
    posted: list[str] = []
    held: set[str] = set()
    for voucher in vouchers:
        if voucher.order_id in held:
            continue
        try:
            ports.journal.post(voucher)
        except Exception as failure:  # noqa: BLE001 - any outage: the voucher waits in the outbox
            log.warning("voucher %s waits in the outbox: the journal failed (%s)",
                        voucher.voucher_id, described(failure))  # fmt: skip
            held.add(voucher.order_id)
            continue
        posted.append(voucher.voucher_id)
    if posted:
        try:
            with ports.store.unit_of_work() as uow:
                for voucher_id in posted:
                    uow.outbox.mark_posted(voucher_id)
                uow.commit()
        except Exception as failure:  # noqa: BLE001 - posted but not marked: recover() posts
            # them again, and the journal stores a voucher once (J3); the change stands.
            log.warning("vouchers %s posted but not marked posted (%s)", ", ".join(posted),
                        described(failure))  # fmt: skip
    return len(posted)


def post_pending(ports: Ports) -> int:
    """Post every voucher still in the outbox (what ``recover()`` does)."""
    with ports.store.unit_of_work() as uow:
        pending = uow.outbox.pending()
    return post(ports, pending)


@attrs.frozen
class Settled:
    """What :func:`settle` stored: the order as committed, each key's operation as settled
    (by this call, or before it by another), and the keys this call settled over an
    answer stored as pending (N1): their capture or refund was taken back if it failed."""

    order: Order
    outcomes: Mapping[str, Operation]
    from_pending: frozenset[str] = frozenset()
    #: ``order`` was read again (another unit of work changed it since the caller's copy):
    #: it may hold another worker's calls on their way (O3)
    reread: bool = False
    #: Intents committed with the outcomes, for the live caller to call now (C3: the
    #: release of a declined adjustment, :func:`~ocop.domain.completion.releases`).
    follow: tuple[Operation, ...] = ()


def settle(
    ports: Ports,
    order_id: str,
    answers: Sequence[tuple[Operation, ProcessorResult]],
    *,
    order: Order | None = None,
    after_doubt: bool = False,
) -> Settled:
    """Commit the outcomes with their effect on the order and its vouchers, once (O2).

    ``after_doubt``: the answers were found by ``recover()`` or a notification, not
    returned to a live call (a timeout, or a process that died before storing the answer):
    no plan goes on after them (:func:`~ocop.domain.effects.apply_outcome`).
    ``order``: the order as this worker committed it with the intents. If another unit
    of work changed the order or settled one of the operations first (a ``recover()``
    running at the same time), the order is read again and what is settled is kept.
    Each outcome applies to the operation as stored, whatever copy the caller read: one
    recorded pending in between is settled as pending operations are (a failure takes
    back its capture or refund), and a second pending answer for it changes nothing.
    """
    for attempt in range(RETRIES):
        try:
            return _settle_once(ports, order_id, answers, order, after_doubt=after_doubt)
        except ConcurrentUpdate:
            order = None
        except StorageBusy:  # the answers are in hand: worth waiting for the database
            if attempt == RETRIES - 1:
                raise
            order = None
    raise ConcurrentUpdate(order_id)


def _settle_once(
    ports: Ports,
    order_id: str,
    answers: Sequence[tuple[Operation, ProcessorResult]],
    order: Order | None,
    *,
    after_doubt: bool,
) -> Settled:
    at = ports.clock.now()
    with ports.store.unit_of_work() as uow:
        reread = order is None
        current = uow.orders.get(order_id) if order is None else order
        outcomes: dict[str, Operation] = {}
        known: list[tuple[Operation, ProcessorResult]] = []
        for op, result in answers:
            # The operation as stored, not the caller's copy: another worker, a recovery or
            # a notification may have recorded a pending answer since that copy was read.
            # (The live call hands its own order and copy: if anyone settled since, the
            # order's version has moved, the commit fails, and this runs again, reading.)
            stored = (uow.operations.get(op.key) if reread else op) or op
            if not stored.awaiting:
                outcomes[op.key] = stored  # settled already (by recovery, or another worker)
                # A pending answer (or none) is the processor's earlier word, overtaken by a
                # notification or a lookup; but it says the call reached the processor, which
                # a lookup settling it as never received denies.
                if stored.outcome is not result.outcome and (
                    result.outcome.definitive
                    or (
                        result.outcome is Outcome.PENDING and stored.outcome is Outcome.NOT_RECEIVED
                    )
                ):
                    log.error("answer %s for %s differs from the %s already settled: reconcile "
                              "it by hand", result.outcome.value, op.key,
                              stored.outcome.value if stored.outcome else "-")  # fmt: skip
                continue
            if stored.outcome is Outcome.PENDING and not result.outcome.definitive:
                outcomes[op.key] = stored  # pending already: a second such answer adds nothing
                continue
            resolved = stored.resolved(result, at)
            uow.operations.settle(resolved)
            outcomes[op.key] = resolved
            known.append((stored, result))
        if not known:
            return Settled(current, outcomes, reread=reread)  # all settled by someone else
        decided = [(op, result) for op, result in known if result.outcome is not Outcome.UNKNOWN]
        applied = apply_outcomes(current, decided, ports.settings, at, after_doubt=after_doubt)
        follow: tuple[Operation, ...] = ()
        if not (after_doubt or reread):
            # O1: a live run's next intents go with the outcomes they follow, so a process
            # that dies between the two leaves them in doubt, for recover()
            voids = releases(applied.order, [outcomes[op.key] for op, _ in decided])
            follow = tuple(_void_intent(uow, order_id, void, at) for void in voids)
            if follow:
                uow.operations.record_intents(follow)
        uow.orders.update(applied.order)
        for voucher in applied.vouchers:
            uow.outbox.add(voucher)
        committed = uow.commit()
    post(ports, committed.vouchers)
    for op in follow:
        log.info("intent %s %s %s", op.key, op.kind.value, op.amount or "-")
    pending = frozenset(op.key for op, _ in known if op.outcome is Outcome.PENDING)
    return Settled(committed.orders[order_id], outcomes, pending, reread=reread, follow=follow)


def next_void(
    uow: UnitOfWork | None, order_id: str, step: steps.Void, earlier: dict[str, list[Operation]]
) -> steps.Void:
    """``step``, numbered past the voids of its authorization that the log already holds.

    An order counts its voids as they apply, so its next void's number is new; an order
    stored before voids were counted reads none, and its next void would take the key of
    one made already (and be taken for it, I4). The log has the last word.

    ``earlier``: attempts by step name, read so far; ``uow``: where to read the others
    (None: ``earlier`` holds all of the order's)."""
    while True:
        name = step.name(order_id)
        if name not in earlier and uow is not None:
            earlier[name] = list(uow.operations.attempts(order_id, name))
        done = (Outcome.APPROVED, Outcome.PENDING)
        if not any(op.outcome in done for op in earlier.get(name, ())):
            return step
        step = attrs.evolve(step, number=step.number + 1)


def _void_intent(uow: UnitOfWork, order_id: str, void: steps.Void, at: datetime) -> Operation:
    """The intent of ``void``'s next attempt (none of its attempts made, none in doubt:
    the run's own commit is the order's latest)."""
    earlier: dict[str, list[Operation]] = {}
    void = next_void(uow, order_id, void, earlier)
    attempt = max((op.attempt for op in earlier[void.name(order_id)]), default=0) + 1
    return Operation.intent(order_id, void, attempt, at)
