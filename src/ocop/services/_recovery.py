"""Recovery of processor calls in doubt (rules O2, V5).

Every operation whose intent was committed without a definitive outcome (a
timeout, a crash) is looked up at the processor by its key; a definitive
answer is applied exactly as if the call had returned, journals included.
What the processor cannot tell yet stays in doubt for a later run. A renewal (the
authorization job's, A2, or an invoice's, I3) that the resolved calls interrupted is
finished: re-authorized or held; so is a placement they interrupted: the order is validated
(S3). Vouchers committed but not yet posted to the journal are posted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from ocop.domain import steps
from ocop.domain.deposits import TakeDeposit
from ocop.domain.effects import NOT_UNDONE
from ocop.domain.errors import (
    ConcurrentUpdate,
    IllegalTransition,
    OcopError,
    OperationInDoubt,
    OrderNotFound,
    StorageBusy,
    StorageError,
    StorageUnavailable,
)
from ocop.domain.holds import declined_line_remains, never_validated
from ocop.domain.keys import escaped
from ocop.domain.operations import Operation, Outcome, ProcessorResult
from ocop.domain.order import Order
from ocop.domain.order_kinds import PaymentsType
from ocop.domain.plan import line_step
from ocop.domain.queries import OrderQuery
from ocop.domain.renewal import ReleaseVoid
from ocop.domain.tender import PaymentLine
from ocop.ports import Ports
from ocop.ports.processor import RecoveryMethod
from ocop.services._completion import SubmitResult, complete
from ocop.services._engine import Secrets, load, pursue, request
from ocop.services._gates import completion_enabled, require_account_of_call
from ocop.services._logs import logger
from ocop.services._outcomes import RETRIES, post_pending, settle
from ocop.services._placement import PLACING
from ocop.services._renewals import claimed, finish_renewals
from ocop.services._unsolicited import apply_kept

log = logger("ocop.recovery")


@attrs.frozen(kw_only=True)
class RecoveryReport:
    """Keys resolved, keys still in doubt, and vouchers posted from the outbox.

    ``unapplied``: keys the processor answered but whose outcome the order refused
    (an error ocop raised); they stay in doubt, logged, for a person to look at,
    and do not stop the recovery of the others. ``renewals``: orders whose interrupted
    renewal (A2: the job's, or an invoice's, I3) this recovery finished, re-authorized
    or held. ``completions``: orders
    whose placement a call in doubt or a crash interrupted, validated by this recovery
    as they would have been (S3), approved or held, once no call of theirs is in doubt
    and ``renew_claim_minutes`` have passed since they were placed and since their last
    call; and orders whose deposit this recovery took on once it settled the capture in
    doubt that had stopped it (D1). ``pending``: keys the
    processor accepted and has not settled yet (N1: a notification will, or a later
    recovery). ``for_reconciliation``: keys still in doubt that no later recovery can
    decide (N3: the processor no longer knows them, or they are past its key lifetime,
    or cannot be replayed), and pending voids, amount updates, authorizations or
    tokenizations that the processor refused in the end (the order counted them as done,
    as a notification of the same failure is kept for review): reconcile them by hand with
    the processor's records. (A refused void's authorization, which the processor still
    holds, is voided again by this recovery, V5.) ``releases``: the voids this recovery
    sent to release authorizations nothing will capture any more, whatever their outcome
    (:class:`~ocop.domain.renewal.ReleaseVoid`: order, key, authorization, outcome, the
    amount the processor released): one the processor approved after its line was
    retired (a cancellation or removal raced the call, X1, A1), one whose pending void
    was refused in the end, sent again (V5), and the other open authorizations of a
    cancelled or fully invoiced order among the orders it settled (A1). They are calls of
    their own, not the calls it asked about: never in ``resolved`` or ``still_in_doubt``;
    one left in doubt (``UNKNOWN``) is asked about by the next recovery. ``deferred``:
    what this run left for the next run because the store failed (E3), each logged and
    named in a few plain words: ``"call KEY"`` (a call it could not read or settle: the
    key is in ``still_in_doubt`` or ``pending`` too), ``"renewal of ORDER"``,
    ``"placement of ORDER"``, ``"deposit of ORDER"``, ``"placements to finish"`` (it
    could not list them), ``"outbox"`` (it could not read the vouchers to post),
    ``"notifications kept for review"`` (it could not apply those that came for the calls
    it settled: they stay kept for review). Empty when the run was whole: a scheduler that
    sees it non-empty knows part of the run was skipped, and runs it again.
    """

    resolved: tuple[str, ...] = ()
    still_in_doubt: tuple[str, ...] = ()
    unapplied: tuple[str, ...] = ()
    vouchers_posted: int = 0
    renewals: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()
    for_reconciliation: tuple[str, ...] = ()
    completions: tuple[str, ...] = ()
    releases: tuple[ReleaseVoid, ...] = ()
    deferred: tuple[str, ...] = ()


@attrs.define
class _Tally:
    """What a recovery run found, key by key."""

    resolved: list[str] = attrs.Factory(list)
    orders: list[str] = attrs.Factory(list)
    still: list[str] = attrs.Factory(list)
    unapplied: list[str] = attrs.Factory(list)
    pending: list[str] = attrs.Factory(list)
    manual: list[str] = attrs.Factory(list)
    #: Orders whose deposit capture this run settled as made or never received (D1).
    deposits: list[str] = attrs.Factory(list)
    #: What the run left for the next because the store failed (E3).
    deferred: list[str] = attrs.Factory(list)

    def waits(self, op: Operation) -> None:
        """``op`` is left as it is, for a later run (or a notification) to decide."""
        (self.pending if op.outcome is Outcome.PENDING else self.still).append(op.key)


def recover(ports: Ports, holder: str = "recover") -> RecoveryReport:
    """Resolve every operation in doubt (applying the chargebacks and authorization ends
    that came for them meanwhile, N4), finish the renewals and placements they
    interrupted, then post pending vouchers. ``holder``: who claims an order whose
    renewal it finishes."""
    with ports.store.unit_of_work() as uow:
        doubtful = uow.operations.in_doubt()
    tally = _Tally()
    for op in doubtful:
        _recover_one(ports, op, tally)
    deferred = tally.deferred
    apply_kept(ports, {escaped(order_id) for order_id in tally.orders}, deferred)
    renewals, releases = (
        finish_renewals(ports, tally.orders, holder, deferred) if tally.orders else ((), ())
    )
    completions = finish_placements(ports, holder, deferred)
    completions += finish_deposits(ports, tally.deposits, holder, deferred)
    posted = _post_pending(ports, deferred)
    return RecoveryReport(
        resolved=tuple(tally.resolved),
        still_in_doubt=tuple(tally.still),
        unapplied=tuple(tally.unapplied),
        vouchers_posted=posted,
        renewals=renewals,
        pending=tuple(tally.pending),
        for_reconciliation=tuple(tally.manual),
        completions=completions,
        releases=releases,
        deferred=tuple(dict.fromkeys(deferred)),
    )


def finish_placements(ports: Ports, holder: str, deferred: list[str]) -> tuple[str, ...]:
    """Finish the placements a call in doubt or a crash interrupted (O2): the orders
    validated, as their placements would have validated them (S3).

    Such an order was placed and never validated since (``Order.placing``; for an order
    stored before that field existed, no hold validation places, held or released): it
    waits for completion with no call in doubt, placed, and its last call recorded,
    ``renew_claim_minutes`` ago or more (a placement still running is younger: the time
    after which ocop takes any worker for dead; a placement sent again, which keeps the
    first ``placed_at``, claims the order while it runs). It is found from what
    is stored, however its calls were settled: by this run, an earlier one that died
    before finishing it, or a notification (N2). An order that cannot be read is logged
    and left; the others go on. What the store failed on (E3) is added to ``deferred``.

    A call center order waiting for completion is left to the agent who submits it, and
    so is a POS or e-commerce order with a line still to bring to its amount (a call
    never received, a saved card to tokenize): the agent's submit has the CVVs, which are
    kept nowhere. A saved card the processor tokenized is authorized here: its one-time
    token needs no CVV (T1). A legacy or NONE order has no agent to submit it: its lines
    are brought to their amounts here (a saved card's line, without its CVV, is
    declined). An order
    validated once, whose total changed since, waits for its agent (S3); one whose total
    changed while its placement was interrupted was never validated: it is validated
    against the new total, as an unchanged submit would. A POS order that takes a deposit
    (D1) then has its card deposits captured, as its placement would have (a capture in
    doubt is taken on by the run that settles it). An order claimed by another
    recovery is left to it; one another worker changed meanwhile is looked at again. A
    commerce order is left while OCOP is off (P2): a run once it is on finishes it.
    """
    now = ports.clock.now()
    placed_before = now - timedelta(minutes=ports.settings.authorization.renew_claim_minutes)
    waiting = OrderQuery(needs_completion=True, in_doubt=False)
    try:
        with ports.store.unit_of_work() as uow:
            ids = uow.orders.query(waiting, now)
    except StorageError:  # E3: what this run did is reported all the same
        log.exception("could not list the placements to finish; the next run will")
        deferred.append("placements to finish")
        return ()
    finished: list[str] = []
    for order_id in ids:
        try:
            if not _to_finish(ports, load(ports, order_id), placed_before):
                continue
            with claimed(ports, [order_id], holder, now, PLACING) as mine:
                done = _finish(ports, order_id, placed_before) if mine else None
        except (OperationInDoubt, OrderNotFound):
            continue
        except OcopError as trouble:  # this order's own (a damaged row): the others go on
            log.exception("could not finish the placement of order %s", order_id)
            if isinstance(trouble, StorageError):
                deferred.append(f"placement of {order_id}")
            continue
        if done is not None and not done.in_doubt:
            finished.append(order_id)
    return tuple(finished)


def _post_pending(ports: Ports, deferred: list[str]) -> int:
    """The vouchers of the outbox posted now; none when the store cannot list them (E3):
    what this run did is reported all the same, the outbox is added to ``deferred``, and
    the next run posts them."""
    try:
        return post_pending(ports)
    except StorageError:
        log.exception("could not read the outbox; the next run will post its vouchers")
        deferred.append("outbox")
        return 0


#: A deposit capture settled so lets the placement take the rest of the deposit (D1): made,
#: or never made (then it is made now, under a new attempt).
_DEPOSIT_GOES_ON = frozenset({Outcome.APPROVED, Outcome.NOT_RECEIVED})


def finish_deposits(
    ports: Ports, order_ids: list[str], holder: str, deferred: list[str]
) -> tuple[str, ...]:
    """D1, O2: a placement's deposit captures not answered (a timeout, a crash) are in
    doubt; once this run settled one, the deposit is taken on as the placement would have:
    any other card deposit not captured yet captured, and a capture never received made
    now. An order since
    cancelled or invoiced is left (its deposit is then the cancellation's or the
    invoice's); one still in doubt, or claimed by another recovery, waits for a later run;
    one the store failed on (E3) is added to ``deferred``."""
    finished: list[str] = []
    for order_id in dict.fromkeys(order_ids):
        try:
            order = load(ports, order_id, no_doubt=True)
            if order.cancelled or order.invoices:
                continue
            if order.payments_type is PaymentsType.COMMERCE and not ports.settings.ocop:
                continue  # P2: it waits for OCOP to be on again
            with claimed(ports, [order_id], holder, ports.clock.now(), PLACING) as mine:
                if not mine:
                    continue
                fresh = load(ports, order_id, no_doubt=True)
                _, taken = pursue(ports, fresh, TakeDeposit(), checked=True)
        except OperationInDoubt:
            continue
        except OcopError as trouble:  # this order's own trouble: the others go on
            log.exception("could not take the rest of the deposit of order %s", order_id)
            if isinstance(trouble, StorageError):
                deferred.append(f"deposit of {order_id}")
            continue
        if not taken.in_doubt:
            finished.append(order_id)
    return tuple(finished)


def _to_finish(ports: Ports, order: Order, placed_before: datetime) -> bool:
    """Whether ``order``'s placement was interrupted, and recovery finishes it."""
    if not (order.needs_completion and never_validated(order)):
        return False
    if order.cancelled or order.invoices or order.placed_at > placed_before:
        return False  # placed just now: its placement may still be running
    kind = order.payments_type
    if kind is PaymentsType.COMMERCE and not ports.settings.ocop:
        return False  # P2: it waits for OCOP to be on again
    agents = kind in (PaymentsType.CALL_CENTER, PaymentsType.COMMERCE)
    agents = agents and completion_enabled(order, ports.settings)
    if agents and kind is PaymentsType.CALL_CENTER:
        return False
    adjustments = ports.processor.capabilities.adjustments
    if agents and any(_for_agent(line, adjustments=adjustments) for line in order.lines):
        return False
    # Read last, only for an order that passed the rest: its placement (or a submit) may
    # still be running if a call of it was recorded lately.
    return not _moved_since(ports, order.order_id, placed_before)


def _for_agent(line: PaymentLine, *, adjustments: bool) -> bool:
    """Whether ``line`` still needs a call the placement's agent makes: any call, but the
    authorization of a saved card the processor tokenized with its CVV (T1: the one-time
    token is authorized with no CVV, which the agent's submit could not give again)."""
    step = line_step(line, adjustments=adjustments)
    if isinstance(step, steps.Authorize) and line.instrument_id and not line.needs_tokenize:
        return False
    return isinstance(step, steps.Step)


def _moved_since(ports: Ports, order_id: str, moment: datetime) -> bool:
    """Whether a call of the order was recorded after ``moment`` (a placement sent again
    keeps the order's first ``placed_at``)."""
    with ports.store.unit_of_work() as uow:
        calls = uow.operations.for_order(order_id)
    return any(op.recorded_at > moment for op in calls)


def _finish(ports: Ports, order_id: str, placed_before: datetime) -> SubmitResult | None:
    """Finish one order's interrupted placement (claimed by the caller), planned again
    from what is stored when another worker changed the order meanwhile; None when the
    order is no longer one to finish (or a call of it is in doubt)."""
    for _ in range(RETRIES):
        try:
            order = load(ports, order_id, no_doubt=True)
            if not _to_finish(ports, order, placed_before):
                return None
            # S2: a placement's call declined holds the order, as the placement would
            return complete(ports, order, {}, declined=declined_line_remains(order), checked=True)
        except ConcurrentUpdate:
            continue  # another worker changed the order: look at it again
        except OperationInDoubt:
            return None
    return None


#: Storage failures that pass (busy, unreachable): the call waits for the next run. Any
#: other (a damaged row) needs a person, as an outcome the order refuses.
_PASSING = (StorageBusy, StorageUnavailable)


def _recover_one(ports: Ports, op: Operation, tally: _Tally) -> None:
    """Ask about ``op`` and settle what the processor says; note what became of it."""
    try:
        result = ask(ports, op)
    except _PASSING:  # the store failed for now: this one waits for the next run
        log.exception("could not read what asking about %s needs", op.key)
        tally.waits(op)
        tally.deferred.append(f"call {op.key}")
        return
    except StorageError:  # the order's row cannot be read (damaged): a person must look
        log.exception("could not read what asking about %s needs", op.key)
        tally.unapplied.append(op.key)
        return
    except OcopError:  # the processor refused to tell: this one waits, the others go on
        log.exception("could not ask the processor about %s", op.key)
        tally.waits(op)
        return
    if result is None:
        log.error("%s: the processor cannot tell any more; reconcile it by hand", op.key)
        tally.waits(op)
        tally.manual.append(op.key)
        return
    if op.outcome is Outcome.PENDING and not result.outcome.definitive:
        tally.pending.append(op.key)  # accepted, not settled yet: a notification will
        return
    if result.outcome is Outcome.UNKNOWN:
        log.warning("still in doubt %s", op.key)
        tally.still.append(op.key)
        return
    try:
        settled = settle(ports, op.order_id, [(op, result)], after_doubt=True)
    except _PASSING:  # the store failed for now, not the order: the next run tries again
        log.exception("could not store the %s outcome of %s", result.outcome.value, op.key)
        tally.waits(op)
        tally.deferred.append(f"call {op.key}")
        return
    except OcopError:
        log.exception("could not apply the %s outcome of %s", result.outcome.value, op.key)
        tally.unapplied.append(op.key)
        return
    stored = settled.outcomes[op.key]
    if stored.result is not result and stored.outcome is Outcome.PENDING:
        tally.pending.append(op.key)  # recorded pending since it was read: nothing new
        return
    log.info("resolved %s as %s", op.key, result.outcome.value)
    tally.resolved.append(op.key)
    tally.orders.append(op.order_id)
    if isinstance(op.step, steps.DepositCapture) and result.outcome in _DEPOSIT_GOES_ON:
        tally.deposits.append(op.order_id)
    if _refused_after_pending(op, result, settled.from_pending):
        log.error("%s: the processor refused it after answering pending; the order "
                  "counted it as done: reconcile it by hand", op.key)  # fmt: skip
        tally.manual.append(op.key)


def _refused_after_pending(
    op: Operation, result: ProcessorResult, from_pending: frozenset[str]
) -> bool:
    """A void, amount update, authorization or tokenization answered pending, then
    refused: the order counted it as done (N1) and is left so, for a person to look at."""
    failed = not result.outcome.moves_money
    return failed and op.key in from_pending and isinstance(op.step, NOT_UNDONE)


def ask(ports: Ports, op: Operation) -> ProcessorResult | None:
    """What the processor says became of ``op``, asked the way it supports (N3); None
    when it cannot decide: a key it does not know while it does not keep every key, or
    one past its key lifetime, or a replay the call cannot be made again for.
    :class:`~ocop.domain.errors.ConnectorMismatch` when the processor does not serve the
    connector and account the call was made with (I5): it stays in doubt."""
    caps = ports.processor.capabilities
    lifetime = caps.key_lifetime
    # A tenth of the lifetime to spare: a replay must never reach a processor that has
    # just forgotten the key (it would carry the call out a second time, V6).
    expired = lifetime is not None and ports.clock.now() - op.recorded_at >= lifetime * 0.9
    if op.outcome is Outcome.PENDING and expired:
        return None  # its notification never came: past the key's life, a person decides
    with ports.store.unit_of_work() as uow:
        order = uow.orders.get(op.order_id)
    # I5: never asked of another account's processor, which would say it never received it
    require_account_of_call(order, op.step, caps, op.key)
    if caps.recovery is RecoveryMethod.REPLAY and op.outcome is not Outcome.PENDING:
        if expired:
            return None
        try:
            result = request(ports.processor, order, op.step, Secrets())(op.key)
        except IllegalTransition:
            return None  # it needs a CVV or a card that are never kept
    else:
        result = ports.processor.lookup(op.key)
    if result.outcome is Outcome.NOT_RECEIVED and (expired or not caps.unknown_key_never_received):
        return None
    return result
