"""One invoice (or pickup) run as a plan (rules I1-I6): the invoicing policy as values.

The run records the invoice, re-authorizes what a single capture released (I2),
covers the invoice from the lines (I1), renews expired authorizations before
capturing on them (I3), and retries a failed pickup capture once with a new
authorization (I6); each of these is a task, done in turn as the order allows.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

import attrs

from ocop.domain import steps
from ocop.domain.invoice_tasks import (
    NOT_REUSABLE,
    Cover,
    Part,
    Piece,
    Reauthorize,
    Record,
    Released,
    Renew,
    Resume,
    Retry,
    RetryVoid,
    Take,
    Task,
    ahead,
    ended,
    first_tasks,
    held_short,
    lapsed,
    never_received,
    once_more,
    released_rest,
    renewals_ended,
    renewed_by_recovery,
    retired_short,
    short_overridden,
)
from ocop.domain.invoicing import (
    AuthorizationAge,
    age_of,
    applied_prepayment,
    capture_ids,
    capture_number,
    covered,
    deposit_used,
    invoiced_in_full,
    plan_parts,
    split_over_authorizations,
    still_due,
    unpaid,
)
from ocop.domain.money import Money
from ocop.domain.operations import Failed, Operation, Outcome
from ocop.domain.order import Invoice, Order
from ocop.domain.plan import Context, Next, authorize, void_step
from ocop.domain.tender import PaymentLine
from ocop.domain.values import replaced

__all__ = ["InvoiceRun"]

#: What a task does now: a step or a local change, the plan to go on with, or nothing.
Planned: TypeAlias = "Next[InvoiceRun] | InvoiceRun | None"


@attrs.frozen(kw_only=True)
class InvoiceRun:
    """One invoice (or pickup) run as a plan: what is left to do, and what happened.

    ``failed``: lines whose capture (or renewal) failed; ``in_doubt``: keys of calls
    whose outcome is unknown; ``expired``: authorizations (line id, authorization id)
    that expired and were not renewed, one each (the order gets an
    ``AUTHORIZATION_EXPIRED`` hold); ``renewing``: lines whose renewal (I3, reusable
    card) is in doubt, neither renewed nor failed (O4): no hold for them, the line stays
    marked as renewing and ``recover()`` finishes the renewal as the renewal job's (A2),
    re-authorized or held; ``short``: a single capture released the rest of a
    line's authorization and the line's card cannot be authorized again (I2), so the
    order may be out of balance (it then gets an ``OUT_OF_BALANCE`` hold: a new payment
    is required); ``new_payment``: a pickup capture failed and its retry too (I6; held
    when the card declined the retry's authorization, S2), ``short`` left the order out of
    balance, or the card declined the released rest (I2, S2: the order is held for it);
    ``uncovered``: what no payment covers; ``counted``: the invoice's captures recorded
    when the run started and its own, never another worker's since (that stands for it, I4).
    """

    invoice_id: str
    pickup: bool
    tasks: tuple[Task, ...]
    waiting: Task | None = None
    failed: tuple[Failed, ...] = ()
    in_doubt: tuple[str, ...] = ()
    expired: tuple[tuple[str, str], ...] = ()
    renewing: tuple[str, ...] = ()
    short: bool = False
    new_payment: bool = False
    uncovered: Money
    remaining: Money
    counted: tuple[str, ...] = ()

    @classmethod
    def start(
        cls,
        order: Order,
        invoice_id: str,
        amount: Money,
        *,
        repeat: bool,
        pickup: bool,
        protect: bool,
        now: datetime,
    ) -> InvoiceRun:
        """The plan of an invoice run on an approved order (checked by the caller)."""
        # I4: what earlier attempts covered counts; attempts made while protection was off
        # may have covered more than the invoice (never below zero).
        zero = Money.zero(order.currency)
        remaining = (amount - covered(order, invoice_id)).max(zero) if protect else amount
        record = None if repeat else Invoice(invoice_id=invoice_id, amount=amount, invoiced_at=now)
        tasks = first_tasks(order, record, covers=remaining.is_positive())
        return cls(invoice_id=invoice_id, pickup=pickup, tasks=tasks,
                   counted=capture_ids(order, invoice_id),
                   uncovered=zero, remaining=remaining)  # fmt: skip

    def next(self, order: Order, ctx: Context) -> Next[InvoiceRun]:
        if order.cancelled:  # X1, O5: cancelled by another worker once a recovery (or a
            # notification) settled the run's call: nothing more is authorized or captured;
            # what was captured stands (a manual refund, X1); begun renewals end (A2).
            stopped = renewals_ended(order, self.expired, self.renewing)
            goal = replaced(self, tasks=(), waiting=None)
            return Next(goal=goal, order=None if stopped is order else stopped, done=True)
        goal, tasks = self, self.tasks
        while tasks:
            task, tasks = tasks[0], tasks[1:]
            found = goal._plan(task, tasks, order, ctx)
            if isinstance(found, Next):
                return found
            if found is not None:
                goal, tasks = found, found.tasks
        held, short = ended(order, goal.expired, goal.renewing, short=goal.short, ctx=ctx)
        goal = replaced(goal, tasks=(), new_payment=goal.new_payment or short)
        return Next(goal=goal, order=None if held is order else held, done=True)

    def _then(self, rest: tuple[Task, ...], *tasks: Task, **changes: object) -> InvoiceRun:
        return replaced(self, tasks=(*tasks, *rest), **changes)

    def _call(
        self, task: Task, rest: tuple[Task, ...], step: steps.Step, **changes: object
    ) -> Planned:
        if self.in_doubt:  # O3: nothing more moves once a call is in doubt
            return replaced(self, tasks=rest, **changes) if changes else None
        return Next(goal=replaced(self, tasks=rest, waiting=task, **changes), steps=(step,))

    def _plan(  # noqa: PLR0912 - one case per kind of task
        self, task: Task, rest: tuple[Task, ...], order: Order, ctx: Context
    ) -> Planned:
        """What ``task`` does now: a local change or a step, the plan to go on with (its
        tasks replacing ``rest``), or None when it needs nothing."""
        match task:
            case Record(invoice=invoice):
                if retired_short(order, ctx.settings):  # X1, S1, S3: held, not invoiced
                    goal = replaced(self, tasks=(), new_payment=True)
                    return Next(goal=goal, order=held_short(order, ctx.now), done=True)
                return Next(goal=replaced(self, tasks=rest), order=order.with_invoice(invoice))
            case Released():
                return self._released(task, rest, order)
            case Cover():  # I4: what another worker covered since the run began is not due
                due = still_due(order, self.invoice_id, self.remaining, ctx.settings)
                parts, uncovered = plan_parts(order, due)
                tasks = [Part(p.line_id, p.amount, p.prepayment, p.deposit) for p in parts]
                return self._then(rest, *tasks, uncovered=uncovered)
            case Part() | Piece() if self.in_doubt:
                return None
            case Part(line_id=line_id, amount=amount, prepayment=True):
                applied = applied_prepayment(order, self.invoice_id, line_id, amount, ctx.now)
                return Next(goal=replaced(self, tasks=rest), order=applied)
            case Part(line_id=line_id, amount=amount, deposit=True):
                used = deposit_used(order, self.invoice_id, line_id, amount, ctx.now)
                return Next(goal=replaced(self, tasks=rest), order=used)
            case Part(line_id=line_id, amount=amount):
                split = split_over_authorizations(order.line(line_id), amount)
                return self._then(rest, *(Piece(line_id, auth_id, part) for auth_id, part in split))
            case Piece(line_id=line_id, auth_id=auth_id, amount=amount):
                return self._piece(order, line_id, auth_id, amount, rest, ctx)
            case Resume():
                return self._resume(order, task, rest, ctx)
            case Take(line_id=line_id, auth_id=auth_id, amount=asked):
                line = order.line(line_id)
                # I4, I1: another worker covered the invoice, or paid the line, meanwhile (O5)
                amount = self._due(asked, order, rest, ctx).min(unpaid(line))
                if not amount.is_positive():
                    return None
                if not line.active or order.cancelled:
                    # X1: retired, or the order cancelled, meanwhile (a cancellation raced the
                    # run): nothing is captured; what the line holds is released (A1).
                    return replaced(self, tasks=rest, uncovered=self.uncovered + amount)
                token = line.authorization(auth_id).token
                protect = ctx.settings.features.duplicate_payment_protection
                number = task.number or capture_number(
                    line, self.invoice_id, auth_id, protect=protect, among=self.counted
                )
                capture = steps.Capture(invoice_id=self.invoice_id, line_id=line_id,
                                        auth_id=auth_id, amount=amount, target=token.value,
                                        number=number)  # fmt: skip
                return self._call(task, rest, capture)
            case Reauthorize(line_id=line_id, amount=amount):
                line = order.line(line_id)
                if line.card is None:
                    return None
                if task.retry and not self._due(task.piece, order, rest, ctx).is_positive():
                    return None  # I6: another worker covered the invoice meanwhile (O5)
                amount = amount.min(unpaid(line))
                if not amount.is_positive():  # I1: another worker paid the line meanwhile (O5)
                    still = tuple(x for x in self.expired if x != (line_id, task.renews))
                    goal = replaced(self, tasks=rest, expired=still)
                    done = line.renewal(under_way=False)  # A2: nothing is left to renew
                    return goal if done is line else Next(goal=goal, order=order.with_line(done))
                return self._call(task, rest, authorize(line, line.card.value, amount))
            case Retry(line_id=line_id, auth_id=auth_id, piece=piece):
                line = order.line(line_id)
                if line.card is not None and not line.card.reusable:
                    # I6 with a single-use token: it cannot be authorized again, so its
                    # authorization is not given up for a retry; a new payment is needed.
                    return replaced(self, tasks=rest, new_payment=True)
                still_open = line.authorization(auth_id).open_amount
                if still_open.is_positive():
                    void = void_step(line, auth_id, steps.VoidPurpose.REAUTHORIZE)
                    again = RetryVoid(line_id, piece, still_open, resent=task.resent)
                    return self._call(again, rest, void)
                retry = Reauthorize(line_id, still_open.max(piece), piece, retry=True)
                return self._then(rest, retry)
        return None

    def _released(self, task: Released, rest: tuple[Task, ...], order: Order) -> Planned:
        """I2: the rest a single capture released, authorized again (I1: never more than
        the invoices may still take from the line; nothing once the order is invoiced in
        full). A person who released the hold a single-use card's rest left, with the
        override (S4), chose to go on: a later run does not hold the order again for it."""
        line = order.line(task.line_id)
        missing = line.amount - line.captured - line.authorized
        if line.card is None or not missing.is_positive() or invoiced_in_full(order):
            return None
        if not line.card.reusable:  # the rest cannot be authorized again
            known = not task.captured and short_overridden(order)
            return None if known else replaced(self, tasks=rest, short=True)
        wanted, asks = released_rest(order, line)
        if not wanted.is_positive():
            return None
        found = self._call(task, rest, authorize(line, line.card.value, wanted))
        if asks is line or not isinstance(found, Next):
            return found
        return attrs.evolve(found, order=order.with_line(asks))  # with the intent

    def _piece(  # noqa: PLR0917 - the piece, what follows it, and where it is
        self,
        order: Order,
        line_id: str,
        auth_id: str,
        amount: Money,
        rest: tuple[Task, ...],
        ctx: Context,
    ) -> Planned:
        """I3: the authorization to capture on, renewed when expired."""
        line = order.line(line_id)
        auth = line.authorization(auth_id)
        if not auth.open_amount.is_positive():  # O2: a recovery renewed it on our way
            return self._on_renewed(order, line_id, auth_id, amount, rest, ctx)
        age = age_of(auth, ctx.now, ctx.settings.authorization)
        if age is AuthorizationAge.FRESH or line.card is None:
            return self._plan(Take(line_id, auth_id, amount), rest, order, ctx)
        if age is AuthorizationAge.STALE:  # no call
            stale = Failed(line.line_id, reason="the authorization is stale: no processor call")
            expired = (*self.expired, (line_id, auth_id))
            return replaced(self, tasks=rest, expired=expired, failed=(*self.failed, stale))
        reusable = line.card.reusable
        if not ctx.settings.features.manual_void_of_expired_authorizations:
            return self._lapse(order, line, auth_id, amount, rest)
        purpose = steps.VoidPurpose.REAUTHORIZE if reusable else steps.VoidPurpose.EXPIRED
        renew = Renew(line_id, amount, auth.open_amount, reusable, auth_id)
        void = void_step(line, auth_id, purpose)
        found = self._call(renew, rest, void, expired=(*self.expired, (line_id, auth_id)))
        if isinstance(found, Next):  # A2: the line is marked, stored with the void's intent
            return attrs.evolve(found, order=order.with_line(line.renewal(under_way=True)))
        return found

    def _lapse(
        self, order: Order, line: PaymentLine, auth_id: str, piece: Money, rest: tuple[Task, ...]
    ) -> Next[InvoiceRun] | InvoiceRun:
        """I3 with manual void of expired authorizations off: the expired authorization
        lapses at the processor, no void; then as after its void (the card authorized anew,
        or, single use, the line declined). O3: nothing changes once a call is in doubt."""
        expired = (*self.expired, (line.line_id, auth_id))
        if self.in_doubt:
            return replaced(self, tasks=rest, expired=expired)
        after, again = lapsed(line, auth_id, piece)
        if again is not None:
            return Next(goal=self._then(rest, again, expired=expired), order=order.with_line(after))
        spent = Failed(line.line_id, reason=NOT_REUSABLE)
        goal = replaced(self, tasks=rest, expired=expired, failed=(*self.failed, spent))
        return Next(goal=goal, order=order.with_line(after))

    def _resume(self, order: Order, task: Resume, rest: tuple[Task, ...], ctx: Context) -> Planned:
        """O2, A2: a renewal never received goes on from the order as it is now: the void
        is sent once more while the expired authorization is open, then the new
        authorization while the line waits for it; else recover() finished the renewal,
        and the piece is taken on the authorization it made (none: it held the order)."""
        line_id, old, piece = task.line_id, task.auth_id, task.piece
        line = order.line(line_id)
        auth = line.authorization(old)
        if auth.open_amount.is_positive():
            renew = Renew(line_id, piece, auth.open_amount, reusable=True, auth_id=old,
                           resent=True)  # fmt: skip
            void = void_step(line, old, steps.VoidPurpose.REAUTHORIZE)
            found = self._call(renew, rest, void)
            if isinstance(found, Next):  # A2: the line is marked, stored with the void's intent
                return attrs.evolve(found, order=order.with_line(line.renewal(under_way=True)))
            return found
        if line.renewing:
            again = Reauthorize(line_id, task.open_amount, piece, retry=False, renews=old,
                                 resent=True)  # fmt: skip
            return self._then(rest, again)
        return self._on_renewed(order, line_id, old, piece, rest, ctx)

    def _on_renewed(  # noqa: PLR0917 - the piece, what follows it, and where it is
        self,
        order: Order,
        line_id: str,
        old: str,
        piece: Money,
        rest: tuple[Task, ...],
        ctx: Context,
    ) -> Planned:
        """A2: recover() renewed the line in place of ``old``: the piece is taken on the
        authorization it made (none: it held the order), not one the invoice's other
        pieces are taken on."""
        new = renewed_by_recovery(order.line(line_id), rest, ctx)
        if new is None:
            held = Failed(line_id, reason="the authorization expired and could not be renewed")
            return replaced(self, tasks=rest, failed=(*self.failed, held))
        take = piece.min(new.open_amount)
        goal = replaced(self, expired=tuple(x for x in self.expired if x != (line_id, old)),
                        uncovered=self.uncovered + (piece - take))  # fmt: skip
        return goal._plan(Take(line_id, new.auth_id, take), rest, order, ctx)

    def _due(self, piece: Money, order: Order, rest: tuple[Task, ...], ctx: Context) -> Money:
        """``piece``, but no more than the invoice lacks once the run's later pieces are in."""
        later = ahead(rest, order.currency)
        return still_due(order, self.invoice_id, piece, ctx.settings, later=later)

    def _in_doubt(self, line_id: str, auth_id: str) -> InvoiceRun:
        """The renewal of ``auth_id`` is in doubt (O4): not expired, but under way."""
        expired = tuple(x for x in self.expired if x != (line_id, auth_id))
        return replaced(self, expired=expired, renewing=(*self.renewing, line_id))

    def _ok(self, op: Operation, line_id: str) -> tuple[InvoiceRun, bool]:
        """Whether ``op`` moved money; notes a failure or a doubt."""
        if op.in_doubt:
            return replaced(self, in_doubt=(*self.in_doubt, op.key)), False
        if op.outcome is not None and op.outcome.failed:
            return replaced(self, failed=(*self.failed, Failed.of(line_id, op))), False
        return self, True

    def after(  # noqa: PLR0912 - one case per kind of task
        self, operations: tuple[Operation, ...]
    ) -> InvoiceRun:
        task = self.waiting
        goal = replaced(self, waiting=None)
        if task is None or not operations:
            return goal
        op = operations[0]
        if isinstance(task, Take) and op.outcome in (Outcome.APPROVED, Outcome.PENDING):
            goal = replaced(goal, counted=(*goal.counted, op.key))
        if (again := once_more(task, op)) is not None:
            return goal._then(goal.tasks, again)
        match task:
            case Released(line_id=line_id):  # I2, S2: a declined rest needs a new payment
                done, declined = goal._ok(op, line_id)[0], op.outcome is Outcome.DECLINED
                return replaced(done, new_payment=done.new_payment or declined)
            case Renew(line_id=line_id, piece=piece, open_amount=open_amount, auth_id=old):
                if never_received(op) and task.reusable and not task.resent:
                    return goal._then(goal.tasks, Resume(line_id, old, piece, open_amount))
                goal, ok = goal._ok(op, line_id)
                if op.in_doubt and task.reusable:
                    return goal._in_doubt(line_id, old)
                if not ok:
                    return goal
                if not task.reusable:
                    spent = Failed(line_id, key=op.key, reason=NOT_REUSABLE)
                    return replaced(goal, failed=(*goal.failed, spent))
                return goal._then(
                    goal.tasks, Reauthorize(line_id, open_amount, piece, retry=False, renews=old)
                )
            case Reauthorize(line_id=line_id, piece=piece, retry=retry, renews=old):
                if never_received(op) and old and not task.resent:
                    return goal._then(goal.tasks, Resume(line_id, old, piece, task.amount))
                goal, ok = goal._ok(op, line_id)
                if ok:
                    auth_id = op.step.auth_id if isinstance(op.step, steps.Authorize) else ""
                    # This authorization is renewed; another (of this line or another) may
                    # not be.
                    still = tuple(x for x in goal.expired if x != (line_id, old))
                    renewed = goal if retry else replaced(goal, expired=still)
                    # N4: approved for less, it captures what it holds; the rest is uncovered.
                    granted = op.result.amount if op.result is not None else None
                    take = piece if granted is None else piece.min(granted)
                    renewed = replaced(renewed, uncovered=renewed.uncovered + (piece - take))
                    if not take.is_positive():
                        return renewed
                    return renewed._then(renewed.tasks, Take(line_id, auth_id, take, retry=retry))
                if retry and not goal.in_doubt:
                    return replaced(goal, new_payment=True)
                if op.in_doubt and old:
                    return goal._in_doubt(line_id, old)
                return goal
            case Take(line_id=line_id, auth_id=auth_id, amount=amount, retry=True):
                goal, ok = goal._ok(op, line_id)
                if ok:  # as after a first capture: what a single capture released (I2)
                    goal = replaced(goal, failed=tuple(x for x in goal.failed if x != line_id))
                    return goal._then(goal.tasks, Released(line_id, captured=True))
                if not goal.in_doubt:
                    return replaced(goal, new_payment=True)
                return goal
            case Take(line_id=line_id, auth_id=auth_id, amount=amount):
                goal, ok = goal._ok(op, line_id)
                if ok:
                    return goal._then(goal.tasks, Released(line_id, captured=True))
                if goal.pickup and not goal.in_doubt:
                    return goal._then(goal.tasks, Retry(line_id, auth_id, amount))
                return goal
            case RetryVoid(line_id=line_id, piece=piece, still_open=still_open):
                if op.in_doubt:
                    return replaced(goal, in_doubt=(*goal.in_doubt, op.key))
                # N1: a pending void counts as done at once, as an approved one.
                if op.outcome not in {Outcome.APPROVED, Outcome.PENDING}:
                    return replaced(goal, new_payment=True)  # the old one still holds it
                return goal._then(
                    goal.tasks, Reauthorize(line_id, still_open.max(piece), piece, retry=True)
                )
        return goal
