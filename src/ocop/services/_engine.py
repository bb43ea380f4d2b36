"""The one execution engine: every use case runs the same loop (rules O1-O5).

:func:`pursue` asks the goal (a pure plan, :mod:`ocop.domain.plan`) what to do
next and does it: a local change is kept and committed with what follows; a
processor step is run by :func:`execute` — its intent committed (with the
order's changes so far), the processor called with its key, then its outcome,
the new order and its vouchers committed together (:mod:`ocop.services._outcomes`,
shared with recovery and notifications), with the intent of any call that must follow
it (a declined adjustment's release, C3), which is then made at once. The loop goes on
from the order that commit returned: nothing is read again. A crash anywhere leaves an
intent (or an unposted voucher) that ``recover()`` finishes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

import attrs

from ocop.domain import steps
from ocop.domain.cardguard import validate_cvvs
from ocop.domain.cardnumbers import hide_cvv
from ocop.domain.errors import (
    ConcurrentUpdate,
    IdempotencyConflict,
    IllegalTransition,
    OperationInDoubt,
)
from ocop.domain.journal import Voucher
from ocop.domain.operations import Operation, Outcome, ProcessorResult
from ocop.domain.order import Order
from ocop.domain.plan import Context, Goal
from ocop.domain.settings import Settings
from ocop.domain.tokens import AuthorizationToken, CardToken
from ocop.ports import Ports
from ocop.ports.processor import PaymentProcessor
from ocop.ports.store import UnitOfWork
from ocop.services._logs import logger
from ocop.services._outcomes import RETRIES, Settled, next_void, post, settle

log = logger("ocop.operations")

#: No plan needs more rounds than this; a guard against a plan that never ends.
MAX_ROUNDS = 100_000

G = TypeVar("G", bound=Goal)


@attrs.frozen(kw_only=True)
class Secrets:
    """What a call needs and no plan or log may hold: CVVs by line (T1), an unlinked
    refund's card (R4). A CVV that is not 3 or 4 ASCII digits is refused here, before
    any step runs, whatever path brought it."""

    cvvs: Mapping[str, str] = attrs.field(factory=dict, repr=False, validator=validate_cvvs)
    card: CardToken | None = None


class Guarded(OperationInDoubt):
    """O3, O5: a guarded run's last local change refused (:func:`pursue`'s ``guard``): a
    call of the order is in doubt. ``goal``: the run as of its last stored order."""

    def __init__(self, order_id: str, keys: tuple[str, ...], goal: object) -> None:
        super().__init__(order_id, keys)
        self.goal = goal


class Raced(ConcurrentUpdate):
    """O5: another worker changed the order on the run's way, and a commit of the run lost
    to it. ``goal``: the run as of its last stored order (what it did so far)."""

    def __init__(self, order_id: str, goal: object) -> None:
        super().__init__(order_id)
        self.goal = goal


def require_no_doubt(uow: UnitOfWork, order_id: str) -> None:
    """O3: refuse to move money on an order while one of its operations is in doubt."""
    doubt = tuple(op.key for op in uow.operations.in_doubt(order_id) if op.in_doubt)
    if doubt:
        raise OperationInDoubt(order_id, doubt)


def load(ports: Ports, order_id: str, *, no_doubt: bool = False) -> Order:
    """The order as stored, as of the clock's now (a check hold whose days have passed no
    longer counts, S4): the one read of a service call (and O3 when asked)."""
    with ports.store.unit_of_work() as uow:
        order = uow.orders.get(order_id)
        if no_doubt:
            require_no_doubt(uow, order_id)
    return order.as_of(ports.clock.now())


def pursue(
    ports: Ports,
    order: Order,
    goal: G,
    secrets: Secrets | None = None,
    *,
    changed: bool = False,
    checked: bool = False,
    guard: bool = False,
) -> tuple[Order, G]:
    """Run ``goal`` from ``order`` until it is done; the order as committed, and the goal.

    ``changed``: ``order`` carries local changes not yet stored. ``checked``: ``order`` was
    read with none of its calls in doubt (``load(..., no_doubt=True)``); else the first
    intents' unit of work checks it (O3). ``guard``: the goal's last local change moves
    money (a refund by the fallback method): made on an order read again since (another
    worker's call may be on its way, O5), its commit checks that none is in doubt, else
    raises :class:`OperationInDoubt` with nothing of it stored (O3). A commit that loses
    to another worker (O5) raises :class:`Raced`, carrying the goal as of the last stored
    order.
    """
    secrets = secrets if secrets is not None else Secrets()
    staged: list[Voucher] = []
    dirty = changed
    doubt = False
    stored = goal  # the goal as of the order last stored
    for _ in range(MAX_ROUNDS):
        step = goal.next(order, _context(ports))
        goal = step.goal
        if step.order is not None:
            order, dirty = step.order, True
        staged.extend(step.vouchers)
        dirty = dirty or bool(step.vouchers)
        if step.steps and doubt:
            break  # O3: no processor call while one of the order's is in doubt
        if step.steps:
            try:
                order, done, checked = execute(ports, order, step.steps, secrets,
                                               vouchers=staged, changed=dirty,
                                               checked=checked)  # fmt: skip
            except ConcurrentUpdate:
                raise Raced(order.order_id, stored) from None
            staged, dirty = [], False
            doubt = doubt or any(op.in_doubt for op in done)
            goal = stored = goal.after(done)
        if step.done:
            break
    else:
        raise IllegalTransition(f"order {order.order_id}: the plan did not come to an end")
    if dirty:
        try:
            order = commit(ports, order, staged, no_doubt=guard and not checked)
        except OperationInDoubt as refused:
            raise Guarded(order.order_id, refused.keys, stored) from None
        except ConcurrentUpdate:
            raise Raced(order.order_id, stored) from None
    return order, goal


def commit(
    ports: Ports, order: Order, vouchers: Sequence[Voucher] = (), *, no_doubt: bool = False
) -> Order:
    """Store a local change of ``order`` and its vouchers; the order as stored.
    ``no_doubt``: refused (O3) while one of the order's calls is in doubt."""
    with ports.store.unit_of_work() as uow:
        if no_doubt:
            require_no_doubt(uow, order.order_id)
        uow.orders.update(order)
        for voucher in vouchers:
            uow.outbox.add(voucher)
        committed = uow.commit()
    post(ports, committed.vouchers)
    return committed.orders[order.order_id]


def change(ports: Ports, order_id: str, edit: Callable[[Order], Order]) -> Order:
    """A local change of the stored order, retried when another worker changed it first."""
    for _ in range(RETRIES):
        try:
            return commit(ports, edit(load(ports, order_id)))
        except ConcurrentUpdate:
            continue
    raise ConcurrentUpdate(order_id)


# -- one processor step (or one batch) ----------------------------------------------------
def execute(
    ports: Ports,
    order: Order,
    batch: tuple[steps.Step, ...],
    secrets: Secrets,
    *,
    vouchers: Sequence[Voucher] = (),
    changed: bool = True,
    checked: bool = False,
) -> tuple[Order, tuple[Operation, ...], bool]:
    """Commit the intents (with the order's local changes), call, commit the outcomes.

    ``changed``: ``order`` differs from the stored order (else only its version moves).
    ``checked``: ``order`` is at a version known to have none of its calls in doubt but
    this run's (else the intents' unit of work checks it, O3): every intent and outcome
    commit moves the version, so the version check of the intents' commit stands for it.

    Returns the order as committed last, each step's operation, in ``batch`` order: with
    its outcome, or the approved earlier attempt it reuses (I4); and whether the order
    returned is so checked (not when the outcomes' commit had to read it again).
    """
    calls = [request(ports.processor, order, step, secrets) for step in batch]
    order, planned, checked = _record_intents(
        ports, order, batch, vouchers, changed=changed, checked=checked
    )
    answers: list[tuple[Operation, ProcessorResult]] = []
    try:
        for op, make in zip(planned, calls, strict=True):
            if op.outcome is None:
                result = make(op.key)
                log.info("outcome %s %s %s", op.key, result.outcome.value, result.reason or "-")
                answers.append((op, result))
    except Exception:
        # A call that failed leaves its intent (and those after it) for recover(); the
        # answers already in hand are stored first, so their money is recorded now.
        if answers:
            try:
                settle(ports, order.order_id, answers, order=order)
            except Exception:
                log.exception("answers before the failed call wait for recover()")
        raise
    if not answers:
        return order, planned, checked
    settled = settle(ports, order.order_id, answers, order=order)
    outcomes = [settled.outcomes.get(op.key, op) for op in planned]
    checked = checked and not settled.reread
    while settled.follow:
        settled = _follow(ports, settled, secrets)
        outcomes.extend(settled.outcomes.values())
        checked = checked and not settled.reread
    return settled.order, tuple(outcomes), checked


def _follow(ports: Ports, settled: Settled, secrets: Secrets) -> Settled:
    """Call the intents committed with the outcomes ``settled`` (O1: a declined
    adjustment's release, C3), and commit their outcomes. A call that fails leaves its
    intent for recover()."""
    order = settled.order
    calls = [(op, request(ports.processor, order, op.step, secrets)) for op in settled.follow]
    answers: list[tuple[Operation, ProcessorResult]] = []
    for op, make in calls:
        result = make(op.key)
        log.info("outcome %s %s %s", op.key, result.outcome.value, result.reason or "-")
        answers.append((op, result))
    return settle(ports, order.order_id, answers, order=order)


def _reuses(step: steps.Step, settings: Settings) -> bool:
    """Whether an approved earlier attempt of the step stands for it (I4)."""
    if isinstance(step, steps.Adjust):
        # An approved adjustment is applied in the commit that records it, so the line never
        # asks for it again; the same target asked for later (up, then back down) is a new
        # adjustment and must reach the processor.
        return False
    if isinstance(step, steps.Capture):
        return settings.features.duplicate_payment_protection
    return True


def _attempt(
    order_id: str, step: steps.Step, attempts: Sequence[Operation], settings: Settings
) -> Operation | int:
    """The approved attempt that stands for ``step`` (I4), or the number of its next one.

    An attempt still in doubt refuses it (O3); an approved one with another request under
    the same step name is a conflict (O4), never silently taken for it.
    """
    if any(op.in_doubt for op in attempts):
        raise OperationInDoubt(order_id, tuple(op.key for op in attempts if op.in_doubt))
    approved = [op for op in attempts if op.outcome in (Outcome.APPROVED, Outcome.PENDING)]
    if approved and _reuses(step, settings):
        if approved[0].step != step:
            raise IdempotencyConflict(approved[0].key)
        log.info("reused %s: step %s already approved", approved[0].key, approved[0].name)
        return approved[0]
    return max((op.attempt for op in attempts), default=0) + 1


def _nothing_on_its_way(
    uow: UnitOfWork, order_id: str, fresh: Sequence[Operation], *, checked: bool
) -> None:
    """O3, O5: before new calls, none of the order's may be on its way: another worker's,
    sent since this run read the order (its intent committed, its answer not yet), may
    move the money this run is about to move. ``checked``: the order's version was read
    with none in doubt, or is this run's own commit since; any later call's intent moved
    the version, which the commit checks: no query is needed."""
    if fresh and not checked:
        require_no_doubt(uow, order_id)


def _record_intents(
    ports: Ports,
    order: Order,
    batch: tuple[steps.Step, ...],
    vouchers: Sequence[Voucher],
    *,
    changed: bool,
    checked: bool,
) -> tuple[Order, tuple[Operation, ...], bool]:
    """O1, O4: commit the next attempt of each step; the version bump serialises workers.
    The order as committed, the operations, and whether the order is checked (O3)."""
    now = ports.clock.now()
    order_id = order.order_id
    with ports.store.unit_of_work() as uow:
        if len(batch) == 1:
            name = batch[0].name(order_id)
            earlier = {name: list(uow.operations.attempts(order_id, name))}
        else:
            earlier = {}
            for op in uow.operations.for_order(order_id):
                earlier.setdefault(op.name, []).append(op)
        fresh: list[Operation] = []
        planned: list[Operation] = []
        before = order
        for asked in batch:
            step = asked
            if isinstance(asked, steps.Void):
                step = next_void(uow if len(batch) == 1 else None, order_id, asked, earlier)
            found = _attempt(order_id, step, earlier.get(step.name(order_id), []), ports.settings)
            if isinstance(found, Operation):
                planned.append(found)
                continue
            fresh.append(Operation.intent(order_id, step, found, now))
            planned.append(fresh[-1])
            if isinstance(step, steps.Authorize):
                order = order.with_line(order.line(step.line_id).begin_authorization())
        if not fresh and not vouchers and not changed:
            return order, tuple(planned), checked
        _nothing_on_its_way(uow, order_id, fresh, checked=checked)
        uow.operations.record_intents(tuple(fresh))
        if order is before and not changed:
            uow.orders.touch(order)  # the version bump serialises concurrent workers (O5)
        else:
            uow.orders.update(order)
        for voucher in vouchers:
            uow.outbox.add(voucher)
        committed = uow.commit()
    for op in fresh:
        log.info("intent %s %s %s", op.key, op.kind.value, op.amount or "-")
    post(ports, committed.vouchers)
    return committed.orders[order_id], tuple(planned), checked or bool(fresh)


# -- the processor ------------------------------------------------------------------------
Request = Callable[[str], ProcessorResult]


def request(
    processor: PaymentProcessor, order: Order, step: steps.Step, secrets: Secrets
) -> Request:
    """The processor call ``step`` asks for, ready to be made with its key: the one place
    that calls the processor. What the call needs (a token, the card, the CVV) is found
    here, before any intent is recorded; without it the step is refused."""
    match step:
        case steps.Authorize(line_id=line_id, amount=amount):
            card = _card(order, line_id)
            return lambda key: processor.authorize(key, card, amount)
        case steps.Adjust(line_id=line_id, auth_id=auth_id, amount=amount):
            token = _auth_token(order, line_id, auth_id)
            return lambda key: processor.adjust(key, token, amount)
        case (
            steps.Capture(line_id=line_id, auth_id=auth_id, amount=amount)
            | steps.DepositCapture(line_id=line_id, auth_id=auth_id, amount=amount)
        ):
            token = _auth_token(order, line_id, auth_id)
            return lambda key: processor.capture(key, token, amount)
        case steps.Void(line_id=line_id, auth_id=auth_id):
            token = _auth_token(order, line_id, auth_id)
            return lambda key: processor.void(key, token)
        case steps.Refund(line_id=line_id, capture_id=capture_id, amount=amount):
            taken = order.line(line_id).capture(capture_id).token
            if taken is None:
                raise IllegalTransition(f"capture {capture_id} has no processor token")
            return lambda key: processor.refund(key, taken, amount)
        case steps.UnlinkedRefund(amount=amount):
            payee = secrets.card
            if payee is None:
                raise IllegalTransition("an unlinked refund needs its card")
            return lambda key: processor.unlinked_refund(key, payee, amount)
        case steps.Tokenize(line_id=line_id, instrument_id=instrument_id):
            cvv = secrets.cvvs.get(line_id)
            if cvv is None:
                raise IllegalTransition(f"line {line_id}: a saved card is used with its CVV")
            customer_id = order.customer.customer_id or ""
            return lambda key: _without_cvv(
                processor.tokenize(key, customer_id, instrument_id, cvv), cvv
            )


def _without_cvv(result: ProcessorResult, cvv: str) -> ProcessorResult:
    """T2, V8: the answer with the CVV its reason may repeat (a gateway's validation
    message) replaced, before the reason is logged or stored with the operation."""
    hidden = hide_cvv(result.reason, cvv)
    return result if hidden == result.reason else attrs.evolve(result, reason=hidden)


def _card(order: Order, line_id: str) -> CardToken:
    card = order.line(line_id).card
    if card is None:
        raise IllegalTransition(f"line {line_id} has no card to authorize")
    return card


def _auth_token(order: Order, line_id: str, auth_id: str) -> AuthorizationToken:
    return order.line(line_id).authorization(auth_id).token


def _context(ports: Ports) -> Context:
    """What the planner needs to know of the moment: the time, the settings, the processor."""
    return Context(now=ports.clock.now(), settings=ports.settings,
                   adjustments=ports.processor.capabilities.adjustments)  # fmt: skip
