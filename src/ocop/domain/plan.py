"""The planner's vocabulary, and completion's plan (rules C3-C6, S1-S3).

Every use case is a *goal*: a frozen value that, given the order as last
committed, says what to do :meth:`~Goal.next` — a local change of the order, the
processor steps to run now, or that it is done — and learns from each outcome
(:meth:`~Goal.after`). The services run every goal with the same loop
(:mod:`ocop.services._engine`); the goal is pure, so a run interrupted by a crash,
a decline or a doubt can be planned again from the stored order.

Completion brings every payment line to what the draft asked for, one step at a
time (:func:`line_step` looks only at the line), then validates the order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Generic, Protocol, Self, TypeVar

import attrs

from ocop.domain import keys, postings, steps
from ocop.domain.errors import InvalidDraftEdit
from ocop.domain.holds import validate
from ocop.domain.invoicing import AuthorizationAge, age_of, invoiced_in_full
from ocop.domain.journal import Voucher, VoucherKind
from ocop.domain.money import Money
from ocop.domain.movements import Authorization
from ocop.domain.operations import Operation, Outcome
from ocop.domain.order import SYSTEM, Order
from ocop.domain.settings import Settings
from ocop.domain.tender import INACTIVE, LineStatus, PaymentLine, PaymentMethod
from ocop.domain.values import replaced

G = TypeVar("G")


@attrs.frozen(kw_only=True)
class Context:
    """What a plan may depend on besides the order: the time, the settings, the processor."""

    now: datetime
    settings: Settings
    adjustments: bool


@attrs.frozen(kw_only=True)
class Next(Generic[G]):
    """What to do next: change the order locally (committed with what follows), run
    processor steps (several at once: one batch), or stop; and the goal to go on with."""

    goal: G
    order: Order | None = None
    vouchers: tuple[Voucher, ...] = ()
    steps: tuple[steps.Step, ...] = ()
    done: bool = False


class Goal(Protocol):
    """A use case as a pure plan."""

    def next(self, order: Order, ctx: Context) -> Next[Self]: ...

    def after(self, operations: tuple[Operation, ...]) -> Self: ...


# -- one payment line --------------------------------------------------------------------
@attrs.frozen
class Post:
    """A prepayment is received: post it (J1)."""


@attrs.frozen
class Retire:
    """A removed line has nothing open any more: take it off."""


LineStep = steps.Step | Post | Retire


def line_step(line: PaymentLine, *, adjustments: bool) -> LineStep | None:
    """What ``line`` needs next, or None when it is where the draft wants it."""
    if line.pending_removal:
        for auth in line.open_authorizations():
            return void_step(line, auth.auth_id, steps.VoidPurpose.REMOVE)
        return Retire()
    if line.status in INACTIVE or line.status is LineStatus.PENDING_AUTHORIZATION:
        return None
    if line.card is None:
        return Post() if line.status is LineStatus.NOT_SUBMITTED else None
    return _card_step(line, line.card.value, adjustments=adjustments)


def void_step(line: PaymentLine, auth_id: str, purpose: steps.VoidPurpose) -> steps.Void:
    """Release what is open on one of the line's authorizations."""
    auth = line.authorization(auth_id)
    return steps.Void(line_id=line.line_id, auth_id=auth_id, purpose=purpose,
                      target=auth.token.value, number=auth.voids + 1)  # fmt: skip


def next_auth_id(line: PaymentLine) -> str:
    """The id the line's next authorization gets."""
    return f"{line.line_id}.A{len(line.authorizations) + 1}"


def authorize(line: PaymentLine, card_value: str, amount: Money) -> steps.Authorize:
    """A new authorization of ``amount`` on the line's card."""
    return steps.Authorize(line_id=line.line_id, auth_id=next_auth_id(line), amount=amount,
                           target=card_value)  # fmt: skip


def _card_step(line: PaymentLine, card_value: str, *, adjustments: bool) -> steps.Step | None:
    if authorizes_spent_card(line, adjustments=adjustments):
        # A single-use token is never authorized twice (as invoicing, I2, and renewal, A1,
        # never do), nor an authorization given up for it: the line stays as it is, short
        # of (or beyond) its target, and validation judges the balance (S1). Submit refuses
        # a draft that asks for this (require_authorizable); a line it left unchanged (I2
        # released the rest of its authorization) or a run begun before can get here.
        return None
    return _toward(line, card_value, adjustments=adjustments)


def spent_card(line: PaymentLine) -> bool:
    """Whether the line pays with a single-use card token that was authorized already (an
    authorization recorded without its card is taken as the line's card's, as C4 does)."""
    card = line.card
    return (
        card is not None
        and not card.reusable
        and any(auth.card_value in ("", card.value) for auth in line.authorizations)
    )


def authorizes_spent_card(line: PaymentLine, *, adjustments: bool) -> bool:
    """Whether bringing the card line to its target would authorize again its single-use
    token that was authorized already (C3 without adjustments: void, then authorize the new
    amount; C5: an increase of a fully captured line), every step approved."""
    if line.card is None or line.needs_tokenize or line.pending_removal or not spent_card(line):
        return False
    if line.status in INACTIVE or line.status is LineStatus.PENDING_AUTHORIZATION:
        return False  # no step is planned for it (line_step)
    for _ in range(MAX_STEPS_PER_LINE):
        step = _toward(line, line.card.value, adjustments=adjustments)
        if isinstance(step, steps.Authorize):
            return True
        if not isinstance(step, steps.Void):
            return False  # there already, adjusted, or tokenized (a new token)
        line = line.voided_auth(step.auth_id, awaiting_new=True)
    return False


def require_authorizable(line: PaymentLine, *, adjustments: bool, invoiced: bool) -> None:
    """Refuse, before any processor call, a draft line whose single-use card token was
    authorized already and would have to be authorized again: a processor declines it, and
    the authorization voided to make way for it would be lost."""
    if not authorizes_spent_card(line, adjustments=adjustments):
        return
    captured = line.captured
    if line.amount > captured + line.authorized:
        hint = "keep the line's amount and add a line for the rest"
    elif captured.is_positive():
        hint = f"reduce it only to the {captured} it captured (the rest is voided)"
    else:
        hint = "remove the line and add one for the new amount"
    if not captured.is_positive() and not invoiced:
        hint += ", or give the line another card (C2)"
    rule = "C5" if captured.is_positive() else "C3"
    raise InvalidDraftEdit(
        f"line {line.line_id} pays with a single-use card token that was authorized already; "
        f"bringing it to {line.amount} needs a new authorization of that token, which the "
        f"processor declines, so nothing was changed: {hint}",
        rule=rule,
        line_id=line.line_id,
    )


def _toward(line: PaymentLine, card_value: str, *, adjustments: bool) -> steps.Step | None:
    """The next step bringing a card line to its target, whatever its card."""
    opened = line.open_authorizations()
    for old in opened:
        if old.card_value and old.card_value != card_value and not line.needs_tokenize:
            # C4: the card was replaced; its old authorization goes first.
            return void_step(line, old.auth_id, steps.VoidPurpose.REPLACE)
    if line.needs_tokenize:
        return steps.Tokenize(line_id=line.line_id, instrument_id=line.instrument_id or "")
    delta = line.amount - (line.captured + line.authorized)
    if delta.is_zero():
        return None
    auth = opened[-1] if opened else None
    if delta.is_positive():
        if auth is None:
            # New line, or C5: increasing a fully captured line authorizes the increase.
            return authorize(line, card_value, delta)
        if adjustments:
            return steps.Adjust(line_id=line.line_id, auth_id=auth.auth_id,
                                amount=auth.amount + delta,
                                target=auth.token.value)  # fmt: skip
        # C3 without adjustments: void, then authorize the full new amount.
        return void_step(line, auth.auth_id, steps.VoidPurpose.REAUTHORIZE)
    if auth is None:
        return None  # captured beyond the target: refused at edit time (C5)
    reduction = -delta
    if adjustments and reduction < auth.open_amount:
        return steps.Adjust(line_id=line.line_id, auth_id=auth.auth_id,
                            amount=auth.amount - reduction,
                            target=auth.token.value)  # fmt: skip
    # Without adjustments (or reducing by all that is open): void, then authorize what remains.
    return void_step(line, auth.auth_id, steps.VoidPurpose.REDUCE)


# -- completion ----------------------------------------------------------------------------
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


#: No line needs more steps than this (void, tokenize, authorize ...); a guard against loops.
MAX_STEPS_PER_LINE = 6


@attrs.frozen(kw_only=True)
class Complete:
    """Bring every line to its target, then validate and decide the holds (S1-S3).

    ``cvv_lines``: the lines whose saved card has a CVV for this run (the CVVs themselves
    go to the call, never into a plan). What happened so far: ``declined`` (an
    authorization, adjustment or tokenization was declined), ``in_doubt`` (keys),
    ``new_checks`` (checks posted), ``calls`` (processor steps run).
    """

    line_ids: tuple[str, ...]
    cvv_lines: frozenset[str] = frozenset()
    position: int = 0
    steps_here: int = 0
    release: tuple[str, str] | None = None
    releasing: bool = False
    declined: bool = False
    in_doubt: tuple[str, ...] = ()
    new_checks: tuple[Money, ...] = ()
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
            step = line_step(line, adjustments=ctx.adjustments)
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
        checked = validate(order, ctx.settings, ctx.now, declined=goal.declined,
                           new_checks=goal.new_checks, by=goal.by)  # fmt: skip
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


def lapses(auth: Authorization, ctx: Context) -> bool:
    """Whether ``auth`` expired and manual void of expired authorizations is off: it is not
    voided but left to lapse at the processor."""
    return (
        not ctx.settings.features.manual_void_of_expired_authorizations
        and age_of(auth, ctx.now, ctx.settings.authorization) is not AuthorizationAge.FRESH
    )


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
    if line.method is PaymentMethod.CHECK:
        goal = replaced(goal, new_checks=(*goal.new_checks, line.amount))
    return Next(goal=goal, order=order.with_line(line.posted()), vouchers=(voucher,))
