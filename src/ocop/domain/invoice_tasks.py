"""The tasks of an invoice (or pickup) run (rules I1-I6), done in turn by
:class:`ocop.domain.invoice_run.InvoiceRun`: each says what is left to do, as a value."""

from __future__ import annotations

from datetime import datetime

import attrs

from ocop.domain import steps
from ocop.domain.holds import out_of_balance
from ocop.domain.invoicing import (
    AuthorizationAge,
    age_of,
    capturable,
    covered,
    deposit_usable,
    invoiced_in_full,
    rest_wanted,
    unpaid,
)
from ocop.domain.line_status import LineStatus
from ocop.domain.money import Money, total
from ocop.domain.operations import Operation, Outcome
from ocop.domain.order import SYSTEM, Hold, HoldCode, Invoice, Order
from ocop.domain.plan import Context
from ocop.domain.settings import Settings
from ocop.domain.tender import Authorization, PaymentLine

__all__ = [
    "NOT_REUSABLE",
    "RELEASED_SHORT",
    "RETIRED_SHORT",
    "Cover",
    "Part",
    "Piece",
    "Reauthorize",
    "Record",
    "Released",
    "Renew",
    "Resume",
    "Retry",
    "RetryVoid",
    "Take",
    "Task",
    "ahead",
    "ended",
    "first_tasks",
    "held_short",
    "lapsed",
    "never_received",
    "once_more",
    "released_rest",
    "renewed_by_recovery",
    "retired_short",
    "short_overridden",
]

#: Why a line's expired authorization is not renewed (I3): its card is single use.
NOT_REUSABLE = "the authorization expired and the card cannot be authorized again"

#: The reason of the ``OUT_OF_BALANCE`` hold a released rest the card cannot renew leaves
#: (I2).
RELEASED_SHORT = (
    "a single capture released the rest of an authorization and the card cannot be "
    "authorized again: a new payment is required"
)

#: The reason of the ``OUT_OF_BALANCE`` hold an invoice puts on an order whose lines a
#: void retired while the order was not cancelled (X1, S1, S3).
RETIRED_SHORT = (
    "voided payment lines leave the order short of what is left to invoice (a cancellation "
    "not finished): cancel it again, or add a new payment"
)


@attrs.frozen
class Record:
    """Record the invoice (its first attempt)."""

    invoice: Invoice


@attrs.frozen
class Released:
    """I2: re-authorize what a single capture released on the line. ``captured``: a capture
    of this run released it just now (else the run found it so, after a recovery, say)."""

    line_id: str
    captured: bool = False
    resent: bool = False


@attrs.frozen
class Cover:
    """Split what the invoice still needs over the lines (I1)."""


@attrs.frozen
class Part:
    line_id: str
    amount: Money
    prepayment: bool
    deposit: bool = False


@attrs.frozen
class Piece:
    """Capture ``amount`` on an authorization, renewed first when it expired (I3)."""

    line_id: str
    auth_id: str
    amount: Money


@attrs.frozen
class Renew:
    """I3: the expired authorization ``auth_id`` is voided; then authorize ``open_amount``
    anew."""

    line_id: str
    piece: Money
    open_amount: Money
    reusable: bool
    auth_id: str = ""
    resent: bool = False


@attrs.frozen
class Take:
    """The capture itself; a failed pickup capture is retried once (I6). ``number``: the
    capture step's number, kept when the call is sent once more (0: counted from the line,
    :func:`~ocop.domain.invoicing.capture_number`)."""

    line_id: str
    auth_id: str
    amount: Money
    renewed: bool = False
    retry: bool = False
    resent: bool = False
    number: int = 0


@attrs.frozen
class Reauthorize:
    """A new authorization on the line, then the capture of ``piece`` on it. ``renews``:
    the expired authorization it stands for (I3), if any."""

    line_id: str
    amount: Money
    piece: Money
    retry: bool
    renews: str = ""
    resent: bool = False


@attrs.frozen
class Resume:
    """O2: the renewal of ``auth_id`` (its void, or its new authorization) came back never
    received: a recovery settled the key on its way, and may have finished the renewal
    (A2). It goes on from what the order shows now, once."""

    line_id: str
    auth_id: str
    piece: Money
    open_amount: Money


@attrs.frozen
class Retry:
    """I6: a failed pickup capture is retried once as a new authorization + capture."""

    line_id: str
    auth_id: str
    piece: Money
    resent: bool = False


@attrs.frozen
class RetryVoid:
    """I6: the failed authorization is voided first, so the card never holds the same
    money twice; the new authorization takes over all that was open on it."""

    line_id: str
    piece: Money
    still_open: Money
    resent: bool = False


Task = (
    Record | Released | Cover | Part | Piece | Renew | Take | Reauthorize | Retry
    | RetryVoid | Resume
)  # fmt: skip


def first_tasks(order: Order, record: Invoice | None, *, covers: bool) -> tuple[Task, ...]:
    """An invoice run's tasks at its start: record the invoice (None: a repeat, recorded
    already); when something is left to cover, first re-authorize what a single capture
    released (I2 after recover(): a partial single capture settled by recovery released
    the rest of its authorization, which the interrupted run did not re-authorize); then
    cover the invoice from the lines (I1)."""
    tasks: list[Task] = [] if record is None else [Record(record)]
    if covers:
        tasks.extend(Released(line.line_id) for line in order.lines
                     if line.is_card and line.active and not line.pending_removal)  # fmt: skip
    return (*tasks, Cover())


def ahead(tasks: tuple[Task, ...], currency: str) -> Money:
    """What ``tasks`` (a run's tasks still to come) mean to capture: their pieces."""
    found = Money.zero(currency)
    for task in tasks:
        match task:
            case Part(amount=amount) | Piece(amount=amount) | Take(amount=amount):
                found += amount
            case Reauthorize(piece=piece) | Renew(piece=piece) | Resume(piece=piece):
                found += piece
            case Retry(piece=piece) | RetryVoid(piece=piece):
                found += piece
    return found


def never_received(op: Operation) -> bool:
    """O2: the processor never received the call (a recovery settled its key while it
    was on its way): no decline."""
    return op.outcome is Outcome.NOT_RECEIVED


def once_more(task: Task, op: Operation) -> Task | None:
    """O2: ``task`` to run once more when its call came back never received (a recovery
    spent its key on its way: no decline; the spent key is never carried out, so the new
    attempt cannot move the money twice). None: it was answered, or sent once more already
    (a second "never received" counts as the call failing)."""
    if not never_received(op):
        return None
    match task:
        case Take() if not task.resent and isinstance(op.step, steps.Capture):
            # The same step, its next attempt: a capture another worker made meanwhile
            # under that step (the invoice sent again) stands for it (I4).
            return attrs.evolve(task, resent=True, number=op.step.number)
        case Released() | Take() | Reauthorize(renews="") if not task.resent:
            return attrs.evolve(task, resent=True)
        case RetryVoid() if not task.resent and isinstance(op.step, steps.Void):
            return Retry(task.line_id, op.step.auth_id, task.piece, resent=True)
    return None


def released_rest(order: Order, line: PaymentLine) -> tuple[Money, PaymentLine]:
    """I2, I1: what of the rest a single capture released on ``line`` is authorized again
    (zero: nothing), no more than the invoices may still take from the line; and the line
    then asking no more than that, so that neither a renewal (A1) nor a later run authorizes
    the rest of its old amount (an overpaid order's rest no invoice needs)."""
    missing = line.amount - line.captured - line.authorized
    wanted = missing.min(rest_wanted(order, line.line_id))
    if not wanted.is_positive() or wanted == missing:
        return wanted, line
    return wanted, line.with_amount(line.amount - (missing - wanted))


def short_overridden(order: Order, reason: str = RELEASED_SHORT) -> bool:
    """Whether the order's last release of an ``OUT_OF_BALANCE`` hold was an override (S4)
    of the hold of ``reason`` (by default the one a released rest left, I2): a shortfall a
    person chose to go on with. An override of another shortfall (at placement, say) does
    not stand for this one."""
    code = HoldCode.OUT_OF_BALANCE
    releases = [r for r in order.released_holds if r.code is code]
    return bool(releases) and releases[-1].override and releases[-1].hold.reason == reason


def retired_short(order: Order, settings: Settings) -> bool:
    """X1, S1, S3: whether an invoice (or pickup) about to be recorded finds an order whose
    card lines a void retired while it was not cancelled (a cancellation stopped at a void
    in doubt, settled since by ``recover()`` or a notification: the agent is to cancel
    again), out of balance (S1's thresholds, a deposit's rule) and short of what is left
    to invoice: what its active lines may still give (prepayments not applied, deposits
    not used, what card lines have still to be charged, open or to be authorized again)
    is less than the total not invoiced and what recorded invoices lack. Such an order
    must not be invoiced with nothing to capture: the run holds it (``OUT_OF_BALANCE``)
    instead, until a new payment or the cancellation ends the shortfall. A person who
    released that hold with the override (S4) chose to go on. Paid back money (returns)
    leaves what is left to invoice and what covers it as they were: it holds nothing."""
    if order.cancelled or order.needs_completion or short_overridden(order, RETIRED_SHORT):
        return False
    if not any(line.is_card and line.status is LineStatus.VOIDED for line in order.lines):
        return False
    if not out_of_balance(order, settings):
        return False
    zero = Money.zero(order.currency)
    lacking = [(inv.amount - covered(order, inv.invoice_id)).max(zero) for inv in order.invoices]
    need = (order.total - order.invoiced).max(zero) + total(lacking, order.currency)
    have = total(
        (
            (deposit_usable(line) if line.deposit else unpaid(line))
            if line.is_card
            else capturable(line)
            for line in order.lines
            if line.active and not line.pending_removal
        ),
        order.currency,
    )
    return have < need


def held_short(order: Order, now: datetime) -> Order:
    """X1, S1, S3: the order :func:`retired_short` finds short, held (``OUT_OF_BALANCE``)
    until a new payment or the cancellation: no invoice is recorded, nothing captured, and
    the caller is told a new payment is required."""
    hold = Hold(code=HoldCode.OUT_OF_BALANCE, reason=RETIRED_SHORT, placed_at=now)
    return order.with_hold(hold)


def lapsed(line: PaymentLine, auth_id: str, piece: Money) -> tuple[PaymentLine, Reauthorize | None]:
    """I3 with manual void of expired authorizations off: ``line`` once its expired
    authorization lapses at the processor (no void), and the new authorization a reusable
    card is asked for then (None: single use, and the line is declined when it holds
    nothing else)."""
    reusable = line.card is not None and line.card.reusable
    after = line.lapsed_auth(auth_id, awaiting_new=reusable)
    if reusable:
        still = line.authorization(auth_id).open_amount
        again = Reauthorize(line.line_id, still, piece, retry=False, renews=auth_id)
        return after.renewal(under_way=True), again
    if after.captured.is_zero() and after.authorized.is_zero():
        after = after.declined()
    return after, None


def ended(
    order: Order,
    expired: tuple[tuple[str, str], ...],
    renewing: tuple[str, ...],
    *,
    short: bool,
    ctx: Context,
) -> tuple[Order, bool]:
    """The order at the end of an invoice run, and whether a new payment is required:
    an ``AUTHORIZATION_EXPIRED`` hold for the ``expired`` authorizations not renewed (their
    lines' renewals ending with it, A2, but those still ``renewing``), and an
    ``OUT_OF_BALANCE`` hold when a ``short`` rest left the order out of balance (I2)."""
    held = renewals_ended(order, expired, renewing)  # A2: with the hold, in the same commit
    if expired:
        held = held.with_hold(Hold(code=HoldCode.AUTHORIZATION_EXPIRED,
                                   reason="an authorization expired and could not be renewed",
                                   placed_at=ctx.now))  # fmt: skip
    if short and out_of_balance(held, ctx.settings):
        held = held.with_hold(Hold(code=HoldCode.OUT_OF_BALANCE, reason=RELEASED_SHORT,
                                   placed_at=ctx.now))  # fmt: skip
        return held, True
    return held, False


def released_short(order: Order, capture: steps.Capture, settings: Settings, now: datetime
                   ) -> Order:  # fmt: skip
    """I2, S1: ``order`` once ``capture`` is recorded, a single capture, live or found by
    ``recover()``: held (``OUT_OF_BALANCE``) when the rest it released cannot be authorized
    again (the card's token is single use) and that leaves the order out of balance, as
    the invoice run that made the capture holds it at its end (:func:`ended`)."""
    line = order.line(capture.line_id)
    single = not line.authorization(capture.auth_id).multi_capture
    missing = line.amount - line.captured - line.authorized
    if (
        order.cancelled
        or order.needs_completion
        or line.card is None
        or line.card.reusable
        or not single
        or not missing.is_positive()
        or invoiced_in_full(order)
        or not out_of_balance(order, settings)
    ):
        return order
    return order.with_hold(Hold(code=HoldCode.OUT_OF_BALANCE, reason=RELEASED_SHORT,
                                placed_at=now))  # fmt: skip


def short_undone(order: Order, settings: Settings, now: datetime) -> Order:
    """I2, S4: ``order`` once a pending capture failed and was undone (N2): the
    ``OUT_OF_BALANCE`` hold a released rest placed (:func:`released_short`) ends, released
    by the system, when the order is no longer out of balance (its authorization holds the
    rest again). A hold something else placed, or whose cause remains, stays."""
    code = HoldCode.OUT_OF_BALANCE
    hold = order.hold(code)
    if hold is None or hold.placed_by != SYSTEM or hold.reason != RELEASED_SHORT:
        return order
    if out_of_balance(order, settings):
        return order
    return order.released(code, by=SYSTEM, at=now)


def renewals_ended(
    order: Order, expired: tuple[tuple[str, str], ...], renewing: tuple[str, ...]
) -> Order:
    """A2: the renewals the run began on the ``expired`` authorizations' lines end (but
    those still ``renewing``, in doubt, which ``recover()`` finishes)."""
    ended = order
    for line_id in dict.fromkeys(x for x, _ in expired):
        line = ended.line(line_id)
        if line.renewing and line_id not in renewing:
            ended = ended.with_line(line.renewal(under_way=False))
    return ended


def renewed_by_recovery(
    line: PaymentLine, rest: tuple[Task, ...], ctx: Context
) -> Authorization | None:
    """A2: the fresh authorization ``recover()`` made for ``line`` in place of an expired
    one, that none of the run's later pieces takes (None: the renewal held the order)."""
    taken = {t.auth_id for t in rest if isinstance(t, Piece | Take)}
    policy = ctx.settings.authorization
    made = [a for a in line.open_authorizations() if a.auth_id not in taken
            and age_of(a, ctx.now, policy) is AuthorizationAge.FRESH]  # fmt: skip
    return made[-1] if made else None
