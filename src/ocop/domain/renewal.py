"""The authorization renewal job's work on one order, as a plan (rules A1, A2).

An open authorization that expires within ``settings.authorization.renew_within_days``
is renewed: its line is marked as renewing (stored with the void's intent), the
authorization is voided, and what the line still needs is authorized again with the
line's reusable card token. A card without a reusable token, a declined
authorization, or a void the processor refused, ends the renewal with an
``AUTHORIZATION_EXPIRED`` hold (the line declined when nothing else holds money on it).
The mark comes off only with the new authorization, or with the hold in the same
commit, so a renewal interrupted anywhere is found again (the store's
:attr:`~ocop.domain.queries.OrderKeys.renew_from`) and finished by ``recover()`` or the
next run: re-authorized or held, never left with neither.

Open authorizations that nothing will capture any more (a cancelled or fully invoiced
order) are voided, or, expired while manual void of expired authorizations is off,
left to lapse; so is one approved after its line was retired (a cancellation raced the
call), its line marked as renewing until it is released. With ``retry_declined`` on,
card lines declined before are authorized again once a run; a hold whose cause that
removes is released.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from ocop.domain import line_auths, steps
from ocop.domain.holds import ENDED_BY_RETRY
from ocop.domain.invoicing import AuthorizationAge, age_of, nothing_will_capture
from ocop.domain.money import Money
from ocop.domain.operations import Operation, Outcome
from ocop.domain.order import Hold, HoldCode, Order
from ocop.domain.plan import Context, Next, authorize, void_step
from ocop.domain.settings import AuthorizationPolicy
from ocop.domain.tender import Authorization, LineStatus, PaymentLine
from ocop.domain.tokens import CardToken
from ocop.domain.values import replaced

__all__ = ["ReleaseVoid", "Renewal", "nothing_will_capture", "renew_before"]


def renew_before(now: datetime, policy: AuthorizationPolicy) -> datetime:
    """Authorizations made before this moment expire within the renewal window (A1): one
    made exactly ``expiry_days - renew_window`` days ago is due (its expiry is exactly
    ``renew_window`` days away), as one exactly ``expiry_days`` old is expired (I3)."""
    return now - timedelta(days=policy.expiry_days - policy.renew_window) + _TICK


#: The smallest step of a datetime: what makes a strict bound inclusive.
_TICK = timedelta(microseconds=1)


@attrs.frozen(kw_only=True)
class ReleaseVoid:
    """A void sent to release an authorization nothing will capture any more (A1, V5).

    ``key``: its operation key (in ``bo.operations``); ``auth_id``: the authorization it
    voids; ``outcome``: what it came to (``APPROVED``; ``PENDING``, counted done, N1;
    ``DECLINED``; ``UNKNOWN`` while in doubt, O2); ``amount``: what the processor said it
    released, None when its answer names no amount (in doubt, declined, or a processor
    that does not say).
    """

    order_id: str
    key: str
    auth_id: str
    outcome: Outcome
    amount: Money | None = None

    @classmethod
    def of(cls, op: Operation, auth_id: str) -> ReleaseVoid:
        """The void ``op`` (of authorization ``auth_id``), as it came out."""
        return cls(order_id=op.order_id, key=op.key, auth_id=auth_id,
                   outcome=Outcome.UNKNOWN if op.outcome is None else op.outcome,
                   amount=None if op.result is None else op.result.amount)  # fmt: skip


@attrs.frozen
class _Voiding:
    """A void under way (``name``: line/authorization): ``release``, nothing will capture
    it (else a renewal's)."""

    name: str
    release: bool


@attrs.frozen
class _Authorizing:
    """A line's new authorization under way: ``retry``, the line was declined before."""

    line_id: str
    retry: bool


@attrs.frozen(kw_only=True)
class Renewal:
    """The renewal job's plan for one order, and what it did.

    ``due_before``: open authorizations made before this are renewed (see
    :func:`renew_before`); ``renew``: the order was approved when the run found it (only
    approved orders are renewed; interrupted renewals are finished whatever the order's
    holds); ``retry``: declined card lines are authorized again (``retry_declined``).

    What happened: ``renewed`` (lines authorized again), ``retried`` (declined lines among
    them), ``declined`` (lines whose renewal failed and that hold no money any more, or
    whose retry was declined again), ``held`` (the order got an
    ``AUTHORIZATION_EXPIRED`` hold), ``voided`` (authorizations, as ``line/auth``, released
    because nothing will capture them, voided or left to lapse, or by a cancellation on
    the run's way after it renewed or voided them), ``in_doubt`` (keys of calls whose
    outcome is unknown: nothing more moves, O3).
    """

    due_before: datetime
    renew: bool
    retry: bool = False
    #: Lines authorized, and authorizations (:func:`_of`) voided or lapsed, in this run.
    tried: frozenset[str] = frozenset()
    waiting: _Voiding | _Authorizing | None = None
    renewed: tuple[str, ...] = ()
    retried: tuple[str, ...] = ()
    declined: tuple[str, ...] = ()
    held: bool = False
    voided: tuple[str, ...] = ()
    in_doubt: tuple[str, ...] = ()
    #: The renewals' voids made in this run (authorizations, as ``line/auth``).
    renewal_voids: tuple[str, ...] = ()

    @classmethod
    def start(cls, order: Order, now: datetime, policy: AuthorizationPolicy) -> Renewal:
        """The plan for ``order`` as the run found it (at ``now``)."""
        return cls(due_before=renew_before(now, policy), renew=order.approved,
                   retry=policy.retry_declined)  # fmt: skip

    def carrying(self, done: Renewal) -> Renewal:
        """O5: this plan, made anew from the order another worker changed on the run's way,
        with what the run did before (``done``: the calls it made, tried once a run) kept
        for its report (A2)."""
        return replaced(self, tried=done.tried, renewed=done.renewed, retried=done.retried,
                        declined=done.declined, held=done.held, voided=done.voided,
                        renewal_voids=done.renewal_voids)  # fmt: skip

    @property
    def acted(self) -> bool:
        """Whether the run did anything to the order."""
        return bool(self.renewed or self.declined or self.held or self.voided or self.in_doubt)

    def _tried(self, name: str, **changes: object) -> Renewal:
        return replaced(self, tried=self.tried | {name}, **changes)

    # -- planning --------------------------------------------------------------------
    def next(self, order: Order, ctx: Context) -> Next[Renewal]:
        if self.in_doubt:
            return Next(goal=self, done=True)  # O3: nothing more moves on this order
        if order.cancelled and (self.renewed or self.renewal_voids):
            # X1, O5: cancelled on the run's way (a recovery settled its call first): the
            # cancellation released what the run authorized (the lines' newest), so
            # nothing is renewed; what the run voided was released, nothing will capture it.
            made = [order.line(line_id) for line_id in dict.fromkeys(self.renewed)]
            released = [_of(line, line.authorizations[-1]) for line in made if line.authorizations]
            voided = (*self.voided, *self.renewal_voids, *released)
            ended = replaced(self, renewed=(), retried=(), renewal_voids=(), voided=voided)
            return ended.next(order, ctx)
        again = self._release_again(order, ctx)
        if again is not None:
            return again
        if nothing_will_capture(order):
            return self._release(order, ctx)
        interrupted = self._interrupted(order, ctx)
        if interrupted is not None:
            return interrupted
        if order.needs_completion:
            return Next(goal=self, done=True)  # the draft decides its own authorizations
        due = self._due(order) if self.renew else None
        if due is not None:
            line, auth = due
            marked = order.with_line(line.renewal(under_way=True))
            return self._void(marked, marked.line(line.line_id), auth, ctx)
        if self.retry and all(hold.code in ENDED_BY_RETRY for hold in order.holds):
            # Not while another hold stands (a manual review, a credit check ...); and never
            # for more than the order still needs (its other lines may pay the rest).
            needed = order.balance_due
            for line in order.lines:
                card = line.card
                if (card is not None and _retryable(line) and line.line_id not in self.tried
                        and needed.is_positive()):  # fmt: skip
                    retry = self._authorize(line, card, retry=True, at_most=needed)
                    excess = line.amount - line.captured - line.authorized - needed
                    if not excess.is_positive():
                        return retry
                    # The line now asks for what the order needs, no more: else its renewal
                    # (A2) or an invoice (I2) would authorize the rest of its old amount.
                    trimmed = line.with_amount(line.amount - excess)
                    return attrs.evolve(retry, order=order.with_line(trimmed))
        # Done. A retried line authorized again ended the holds it caused as its approval
        # was applied, live or found by recover() (effects, A2, O2).
        return Next(goal=self, done=True)

    def _interrupted(self, order: Order, ctx: Context) -> Next[Renewal] | None:
        """The next move of a renewal under way, finished whatever the order's state. A
        retired line's authorizations are released, never renewed (:func:`_stray`); one
        whose release was refused in this run keeps its mark for the next run, and the
        order's other lines go on (renewed before they expire)."""
        for line in order.lines:
            if line.renewing and line.status is LineStatus.VOIDED:
                released = self._release(order, ctx, (line,))
                if not released.done:
                    return released
            elif line.renewing:
                return self._finish(order, line, ctx)
        return None

    def _due(self, order: Order) -> tuple[PaymentLine, Authorization] | None:
        """The first open authorization due for renewal not tried in this run, and its line."""
        for line in order.lines:
            if line.card is None or not line.active or line.pending_removal:
                continue
            for auth in line.open_authorizations():
                if auth.authorized_at < self.due_before and _of(line, auth) not in self.tried:
                    return line, auth
        return None

    def _release(
        self, order: Order, ctx: Context, lines: tuple[PaymentLine, ...] | None = None
    ) -> Next[Renewal]:
        """Open authorizations nothing will capture are released (A1): the order's, or
        ``lines``'; voided, or left to lapse when expired while manual void is off or
        stale (I3: no processor call). A retired line keeps its mark while it holds one
        (:func:`_stray`)."""
        for line in order.lines if lines is None else lines:
            if line.renewing and not _stray(line):
                cleared = order.with_line(line.renewal(under_way=False))
                return Next(goal=self, order=cleared)
            if line.card is None:
                continue
            for auth in line.open_authorizations():
                if _of(line, auth) in self.tried:
                    continue
                goal = self._tried(_of(line, auth))
                stale = age_of(auth, ctx.now, ctx.settings.authorization) is AuthorizationAge.STALE
                if _left_to_lapse(auth, ctx) or stale:
                    # I3: no processor call once stale (a refused void was sent every run).
                    lapsed = order.with_line(line.lapsed_auth(auth.auth_id))
                    return Next(goal=replaced(goal, voided=(*goal.voided, _of(line, auth))),
                                order=lapsed)  # fmt: skip
                void = void_step(line, auth.auth_id, steps.VoidPurpose.RELEASE)
                voiding = _Voiding(_of(line, auth), release=True)
                return Next(goal=replaced(goal, waiting=voiding),
                            steps=(void,))  # fmt: skip
        return Next(goal=self, done=True)

    def _release_again(self, order: Order, ctx: Context) -> Next[Renewal] | None:
        """V5, N1: an authorization whose void, counted done when it answered pending, was
        refused in the end is voided again, whatever the order's state (the processor still
        holds it beside what the line went on with: a pickup's new authorization, I6). As
        any release (:meth:`_release`), an expired one is voided too unless manual void of
        expired authorizations is off (the processor may hold it past ocop's expiry age);
        it lapses then, or once stale (I3: no processor call; a void refused would keep
        the mark and be sent again by every run), or once the processor said it ended it
        (N4: it holds nothing)."""
        for line in order.lines:
            for auth in line.authorizations:
                if not auth.unreleased or _of(line, auth) in self.tried:
                    continue
                goal = self._tried(_of(line, auth))
                age = age_of(auth, ctx.now, ctx.settings.authorization)
                if auth.ended_by or _left_to_lapse(auth, ctx) or age is AuthorizationAge.STALE:
                    lapsed = line_auths.released_again(line, auth.auth_id)
                    return Next(goal=replaced(goal, voided=(*goal.voided, _of(line, auth))),
                                order=order.with_line(lapsed))  # fmt: skip
                void = void_step(line, auth.auth_id, steps.VoidPurpose.RELEASE)
                voiding = _Voiding(_of(line, auth), release=True)
                return Next(goal=replaced(goal, waiting=voiding), steps=(void,))
        return None

    def _void(
        self, order: Order, line: PaymentLine, auth: Authorization, ctx: Context
    ) -> Next[Renewal]:
        """A renewal's void (or, expired and not to be voided, the lapse); ``order``
        carries the line's renewal mark, stored with the void's intent."""
        goal = self._tried(_of(line, auth))
        if _left_to_lapse(auth, ctx):
            lapsed = line.lapsed_auth(auth.auth_id, awaiting_new=True)
            return Next(goal=goal, order=order.with_line(lapsed))
        reusable = line.card is not None and line.card.reusable
        purpose = steps.VoidPurpose.RENEW if reusable else steps.VoidPurpose.EXPIRED
        void = void_step(line, auth.auth_id, purpose)
        return Next(goal=replaced(goal, waiting=_Voiding(_of(line, auth), release=False)),
                    order=order, steps=(void,))  # fmt: skip

    def _authorize(
        self, line: PaymentLine, card: CardToken, *, retry: bool, at_most: Money | None = None
    ) -> Next[Renewal]:
        missing = line.amount - line.captured - line.authorized
        if at_most is not None:
            missing = missing.min(at_most)
        goal = self._tried(line.line_id, waiting=_Authorizing(line.line_id, retry=retry))
        return Next(goal=goal, steps=(authorize(line, card.value, missing),))

    def _finish(self, order: Order, line: PaymentLine, ctx: Context) -> Next[Renewal]:
        """A line under renewal: void what is still due, then authorize what it needs; or,
        when that cannot be done, end the renewal with the hold (in the same commit)."""
        due = [a for a in line.open_authorizations() if a.authorized_at < self.due_before]
        for auth in due:
            if _of(line, auth) not in self.tried:
                return self._void(order, line, auth, ctx)
        policy = ctx.settings.authorization
        if due and all(age_of(a, ctx.now, policy) is AuthorizationAge.FRESH for a in due):
            # Its void was refused while it can still be captured: leave it as it is, and
            # the next run tries again (held only once it has expired).
            return Next(goal=self, order=order.with_line(line.renewal(under_way=False)))
        missing = line.amount - line.captured - line.authorized
        card = line.card
        if (not due and missing.is_positive() and card is not None and card.reusable
                and line.line_id not in self.tried
                and line.status is not LineStatus.DECLINED):  # fmt: skip
            return self._authorize(line, card, retry=False)
        if not due and not missing.is_positive():
            return Next(goal=self, order=order.with_line(line.renewal(under_way=False)))
        # The void was refused, the card is not reusable, or the authorization failed.
        ended = line.renewal(under_way=False)
        empty = ended.authorized.is_zero() and ended.captured.is_zero()
        if empty and line.status is not LineStatus.DECLINED:
            ended = ended.declined()
        goal = self
        if ended.status is LineStatus.DECLINED:
            goal = replaced(goal, declined=(*goal.declined, line.line_id))
        return Next(goal=replaced(goal, held=True), order=_held(order.with_line(ended), ctx.now))

    # -- outcomes ----------------------------------------------------------------------
    def after(self, operations: tuple[Operation, ...]) -> Renewal:
        task, goal = self.waiting, replaced(self, waiting=None)
        if task is None or not operations:
            return goal
        op = operations[0]
        if op.in_doubt:
            return replaced(goal, in_doubt=(*goal.in_doubt, op.key))
        approved = op.outcome is Outcome.APPROVED
        match task:
            # N1: a pending void counts as done at once.
            case _Voiding(name=name, release=True) if approved or op.outcome is Outcome.PENDING:
                return replaced(goal, voided=(*goal.voided, name))
            case _Voiding(name=name) if approved or op.outcome is Outcome.PENDING:
                return replaced(goal, renewal_voids=(*goal.renewal_voids, name))
            case _Authorizing(line_id=line_id, retry=retry) if approved:
                retried = (*goal.retried, line_id) if retry else goal.retried
                return replaced(goal, renewed=(*goal.renewed, line_id), retried=retried)
            case _Authorizing(line_id=line_id, retry=True) if op.outcome is not None:
                return replaced(goal, declined=(*goal.declined, line_id))
            case _Authorizing(line_id=line_id, retry=False) if (
                op.outcome is Outcome.NOT_RECEIVED and _resent(line_id) not in goal.tried
            ):
                # O2: never received (a recovery settled the key while the call was on its
                # way) is no decline: the renewal authorizes once more, under a new attempt.
                return replaced(goal, tried=(goal.tried - {line_id}) | {_resent(line_id)})
            case _Voiding(name=name) if (
                op.outcome is Outcome.NOT_RECEIVED and _resent(name) not in goal.tried
            ):
                # Likewise a void never received is no refusal: it is sent once more.
                return replaced(goal, tried=(goal.tried - {name}) | {_resent(name)})
        return goal


def _held(order: Order, now: datetime) -> Order:
    hold = Hold(code=HoldCode.AUTHORIZATION_EXPIRED, placed_at=now,
                reason="an authorization could not be renewed before it expired")  # fmt: skip
    return order.with_hold(hold)


def _left_to_lapse(auth: Authorization, ctx: Context) -> bool:
    """An expired authorization is not voided while manual void of expired
    authorizations is off: it lapses at the processor."""
    return (
        not ctx.settings.features.manual_void_of_expired_authorizations
        and age_of(auth, ctx.now, ctx.settings.authorization) is not AuthorizationAge.FRESH
    )


def _stray(line: PaymentLine) -> bool:
    """X1, A1, V5: a retired line holding an authorization the processor approved after
    it was retired (a cancellation or a removal raced the call): nothing will capture it.
    Its mark (A2) stays until it is released, so ``recover()`` or the job finds it."""
    return not line.active and bool(line.open_authorizations())


def _resent(line_id: str) -> str:
    """The name, among what a run tried, of a line's authorization (or, for a
    line/authorization name, of its void) sent once more."""
    return f"{line_id}#resent"


def _of(line: PaymentLine, auth: Authorization) -> str:
    """An authorization's name among what a run tried (its id is the line's own)."""
    return f"{line.line_id}/{auth.auth_id}"


def _retryable(line: PaymentLine) -> bool:
    """A card line declined before whose reusable token may be tried again: never a saved
    card that was not tokenized, which only its CVV unlocks (T1)."""
    return (
        line.card is not None
        and line.card.reusable
        and not line.needs_tokenize
        and line.status is LineStatus.DECLINED
        and not line.pending_removal
        and (line.amount - line.captured).is_positive()
    )
