"""Completion's plan (rules C3-C6, S1-S3): bring every payment line to what the draft
asked for, one step at a time (:func:`~ocop.domain.plan.line_step` looks only at the
line), then validate the order and decide its holds.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from ocop.domain import keys, postings, steps
from ocop.domain.holds import check_posted, validate
from ocop.domain.invoicing import AuthorizationAge, age_of, invoiced_in_full
from ocop.domain.journal import VoucherKind
from ocop.domain.operations import Operation, Outcome
from ocop.domain.order import SYSTEM, Order
from ocop.domain.plan import (
    MAX_STEPS_PER_LINE,
    Context,
    LineStep,
    Next,
    Post,
    Retire,
    adjustable,
    lapses,
    line_step,
    void_step,
)
from ocop.domain.tender import PaymentLine, PaymentMethod
from ocop.domain.values import replaced

__all__ = ["Complete", "releases"]


def _holds_more(line: PaymentLine, step: LineStep) -> bool:
    """Whether ``step`` leads to the card holding more money: an authorization, the
    tokenization it follows, an adjustment up, or the void that makes way for a larger
    authorization (C3 without adjustments)."""
    match step:
        case steps.Authorize() | steps.Tokenize():
            return True
        case steps.Adjust():
            return step.amount > line.authorization(step.auth_id).amount
        case steps.Void():
            return step.purpose is steps.VoidPurpose.REAUTHORIZE
    return False


@attrs.frozen(kw_only=True)
class Complete:
    """Bring every line to its target, then validate and decide the holds (S1-S3).

    ``cvv_lines``: the lines whose saved card has a CVV for this run (the CVVs themselves
    go to the call, never into a plan). What happened so far: ``declined`` (an
    authorization, adjustment or tokenization was declined), ``in_doubt`` (keys),
    ``calls`` (processor steps run).
    """

    line_ids: tuple[str, ...]
    cvv_lines: frozenset[str] = frozenset()
    position: int = 0
    steps_here: int = 0
    release: tuple[str, str] | None = None
    releasing: bool = False
    declined: bool = False
    in_doubt: tuple[str, ...] = ()
    calls: int = 0
    #: Steps sent once more after a first attempt never received (O2), by step name.
    resent: tuple[str, ...] = ()
    validated: bool = False
    #: Who submitted: the holds validation places or releases are recorded as theirs (S4).
    by: str = SYSTEM

    @classmethod
    def of(
        cls,
        order: Order,
        cvv_lines: Iterable[str] = (),
        *,
        by: str = SYSTEM,
        declined: bool = False,
    ) -> Complete:
        """``declined``: a call of this submit was declined before it was run (a placement
        whose calls recovery or a notification settled)."""
        return cls(line_ids=tuple(line.line_id for line in order.lines),
                   cvv_lines=frozenset(cvv_lines), by=by, declined=declined)  # fmt: skip

    def _advanced(self) -> Complete:
        return replaced(self, position=self.position + 1, steps_here=0, release=None)

    def next(self, order: Order, ctx: Context) -> Next[Complete]:
        if order.cancelled:  # X1, O5: cancelled by another worker once a recovery (or a
            # notification) settled this run's call: nothing more is called, nor validated.
            return Next(goal=replaced(self, validated=True), done=True)
        goal = self
        while goal.position < len(goal.line_ids):
            line = order.line(goal.line_ids[goal.position])
            if goal.release is not None:
                # C3: a declined adjustment declines the line; release its authorization.
                void = void_step(line, goal.release[1], steps.VoidPurpose.DECLINED)
                return Next(goal=replaced(goal._advanced(), releasing=True), steps=(void,))
            step = line_step(line, adjustments=_adjustable(line, ctx))
            lapsed = _lapsing(line, step, ctx)
            if lapsed is not None:
                return Next(goal=replaced(goal, steps_here=goal.steps_here + 1),
                            order=order.with_line(lapsed))  # fmt: skip
            if step is None or goal.steps_here >= MAX_STEPS_PER_LINE:
                goal = goal._advanced()
                continue
            if _holds_more(line, step) and invoiced_in_full(order):
                # I1, A1: with the total invoiced no invoice can capture more; the line
                # stays short of its amount and validation judges the balance (S1).
                goal = goal._advanced()
                continue
            counted = replaced(goal, steps_here=goal.steps_here + 1)
            match step:
                case Retire():
                    return Next(goal=counted, order=order.with_line(line.removed()))
                case Post():
                    return _posted(counted, order, line, ctx)
                case steps.Tokenize() if line.line_id not in goal.cvv_lines:
                    # The CVV is never stored: without it the saved card cannot be used.
                    declined = replaced(goal._advanced(), declined=True)
                    return Next(goal=declined, order=order.with_line(line.declined()))
                case _ if goal.in_doubt:
                    goal = goal._advanced()  # O3: no call while one is in doubt
                case _:
                    return Next(goal=counted, steps=(step,))
        if goal.in_doubt or goal.validated:
            return Next(goal=goal, done=True)
        checked = validate(order, ctx.settings, ctx.now, declined=goal.declined, by=goal.by)
        return Next(goal=replaced(goal, validated=True), order=checked)

    def after(self, operations: tuple[Operation, ...]) -> Complete:
        goal = replaced(self, calls=self.calls + len(operations))
        if self.releasing:
            # The line is declined whatever the release says; a release in doubt is still
            # a doubt (O3): nothing more is called, and the caller is told.
            doubt = tuple(op.key for op in operations if op.in_doubt)
            return replaced(goal, releasing=False, in_doubt=(*goal.in_doubt, *doubt))
        released = {(void.line_id, void.auth_id): op for op in operations
                    if (void := _release(op.step)) is not None}  # fmt: skip
        for op in operations:
            if _release(op.step) is not None:
                continue  # with the adjustment it follows, below
            if op.in_doubt:
                goal = replaced(goal._advanced(), in_doubt=(*goal.in_doubt, op.key))
            elif op.outcome is Outcome.NOT_RECEIVED and op.name not in goal.resent:
                # O2: a recovery spent its key on its way (it is never carried out): no
                # decline; the line's step is planned again, under a new attempt.
                goal = replaced(goal, resent=(*goal.resent, op.name))
            elif op.outcome is not None and op.outcome.failed:
                if isinstance(op.step, steps.Adjust):
                    goal = _declined_adjustment(goal, op.step, released)
                else:
                    # S2: a declined authorization, tokenization or void (a replaced card's
                    # old authorization still open, C4) leaves the line short of its target
                    # (a line that captured money keeps what it holds: effects, C5).
                    goal = replaced(goal._advanced(), declined=True)
        return goal


def _release(step: steps.Step) -> steps.Void | None:
    """``step`` if it releases a declined adjustment's authorization (C3)."""
    if isinstance(step, steps.Void) and step.purpose is steps.VoidPurpose.DECLINED:
        return step
    return None


def _declined_adjustment(
    goal: Complete, step: steps.Adjust, released: dict[tuple[str, str], Operation]
) -> Complete:
    """C3: a declined adjustment declines the line; its authorization is released. The
    release recorded with the decline (:func:`releases`) was made at once: the line is
    declined whatever it says, and a release in doubt is still a doubt (O3). Else (a call
    never received, answered so again, or one settled first by another worker) it is
    planned next."""
    release = released.get((step.line_id, step.auth_id))
    if release is None:
        return replaced(goal, declined=True, release=(step.line_id, step.auth_id))
    doubt = (release.key,) if release.in_doubt else ()
    return replaced(goal._advanced(), declined=True, in_doubt=(*goal.in_doubt, *doubt))


def releases(order: Order, decided: Iterable[Operation]) -> tuple[steps.Void, ...]:
    """C3, O1: the voids releasing the authorizations of adjustments declined live (their
    outcomes ``decided``, applied to ``order``), whose intents are committed with the
    declines: a process that dies after a decline leaves its release in doubt, for
    ``recover()`` to settle, never the line asking what the card declined with the old
    authorization held and nothing in doubt."""
    voids: list[steps.Void] = []
    for op in decided:
        if isinstance(op.step, steps.Adjust) and op.outcome is Outcome.DECLINED:
            line = order.line(op.step.line_id)
            if line.authorization(op.step.auth_id).open_amount.is_positive():
                voids.append(void_step(line, op.step.auth_id, steps.VoidPurpose.DECLINED))
    return tuple(voids)


def _adjustable(line: PaymentLine, ctx: Context) -> bool:
    return adjustable(line, adjustments=ctx.adjustments, now=ctx.now, settings=ctx.settings)


def _lapsing(line: PaymentLine, step: LineStep | None, ctx: Context) -> PaymentLine | None:
    """The line once its void is left to lapse (no call), or None when it is sent: a
    removal's, or (C3, C4) one making way for a new authorization of an expired one with
    manual void off."""
    if not isinstance(step, steps.Void):
        return None
    if _left_to_lapse(line, ctx):
        return line.removed(lapsing=True)
    if step.purpose.makes_way and lapses(line.authorization(step.auth_id), ctx):
        return line.lapsed_auth(step.auth_id, awaiting_new=True)
    return None


def _left_to_lapse(line: PaymentLine, ctx: Context) -> bool:
    """A removed line whose authorizations have all expired, with manual void of expired
    authorizations off: nothing is voided, the authorizations lapse at the processor."""
    return (
        line.pending_removal
        and not ctx.settings.features.manual_void_of_expired_authorizations
        and all(
            age_of(auth, ctx.now, ctx.settings.authorization) is not AuthorizationAge.FRESH
            for auth in line.open_authorizations()
        )
    )


def _posted(goal: Complete, order: Order, line: PaymentLine, ctx: Context) -> Next[Complete]:
    key = keys.posting_key(order.order_id, line.line_id)
    voucher = postings.voucher(VoucherKind.PAYMENT, order, key, line.line_id,
                               line.method.value, line.amount, ctx.settings, ctx.now)  # fmt: skip
    posted = order.with_line(line.posted())
    if line.method is PaymentMethod.CHECK:  # S2: held from its posting, in its commit
        posted = check_posted(posted, line.amount, ctx.settings, ctx.now, by=goal.by)
    return Next(goal=goal, order=posted, vouchers=(voucher,))
