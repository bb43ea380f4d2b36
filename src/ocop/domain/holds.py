"""Holds: which an order gets at submit (rules S1, S2, S3), and whether their cause
remains (S4).

:func:`validate` is pure: given the order after its processor calls, it
returns the order with its holds decided again and its completion done.
:func:`cause_remains` says whether a hold's own cause is still there; releasing a hold
and placing a manual one are in :mod:`ocop.domain.hold_release`. A check hold lapses
by itself (:meth:`Order.as_of`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ocop.domain.cardnumbers import grouped
from ocop.domain.invoicing import AuthorizationAge, age_of
from ocop.domain.money import Money, total
from ocop.domain.order import SYSTEM, Hold, HoldCode, Order
from ocop.domain.settings import Settings
from ocop.domain.tender import LineStatus, PaymentLine, PaymentMethod
from ocop.domain.values import replaced

#: Holds that validation decides afresh at every submit.
DECIDED_AT_SUBMIT = frozenset(
    {
        HoldCode.OUT_OF_BALANCE,
        HoldCode.PAYMENT_DECLINED,
        HoldCode.CREDIT_LIMIT,
        HoldCode.AUTHORIZATION_EXPIRED,
    }
)


#: The holds validation places (S1, S2): an order that holds or held one was validated.
PLACED_BY_VALIDATION = frozenset(
    {HoldCode.OUT_OF_BALANCE, HoldCode.PAYMENT_DECLINED, HoldCode.CHECK, HoldCode.CREDIT_LIMIT}
)


def _shown(amount: Money) -> str:
    """``amount`` as a hold's reason names it: as ``str`` writes it, its digits grouped if
    they pass for a card number (T2: a reason holding one is refused)."""
    return f"{grouped(str(amount.amount))} {amount.currency}"


def never_validated(order: Order) -> bool:
    """Whether ``order`` was never validated since it was placed (``Order.placing``). An
    order stored before that field existed tells only by its holds: none that validation
    places, held or released."""
    if order.placing is not None:
        return order.placing
    holds = (*order.holds, *(released.hold for released in order.released_holds))
    return not any(hold.code in PLACED_BY_VALIDATION for hold in holds)


def out_of_balance(order: Order, settings: Settings) -> bool:
    """S1: paid total outside the under/over thresholds (percent of the order total).

    An order that took a deposit (D1) is underpaid only below its deposit: the rest is
    paid when it is invoiced or picked up."""
    policy = settings.completion
    if policy.allow_out_of_balance:
        return False
    due = order.balance_due
    deposit = _deposit(order)
    if due.is_positive() and deposit is not None:
        # Paid short of the total, but perhaps not of the deposit.
        due = (deposit - order.paid).max(Money.zero(order.currency)).min(due)
    if due.is_positive():
        return due > order.total.percent(policy.underpaid_threshold_percent)
    if due.is_negative():
        return -due > order.total.percent(policy.overpaid_threshold_percent)
    return False


def _deposit(order: Order) -> Money | None:
    """D1: the deposit the order asked for when placed, not what a card approved for less
    left on its line (N4); None without one. An order stored before it was kept asks its
    active deposit lines' amounts."""
    if order.deposit_asked is not None:
        return order.deposit_asked
    lines = [line.amount for line in order.lines if line.deposit and line.active]
    return total(lines, order.currency) if lines else None


def credit_used(order: Order) -> Money:
    """What the order's active customer-account lines draw on the customer's credit."""
    return total(
        (
            line.amount
            for line in order.lines
            if line.active and line.method is PaymentMethod.CUSTOMER_ACCOUNT
        ),
        order.currency,
    )


def over_credit_limit(order: Order) -> bool:
    """S2: customer-account lines beyond the customer's on-account limit."""
    limit = order.customer.on_account_limit
    used = credit_used(order)
    if used.is_zero():
        return False
    return limit is None or limit.currency != order.currency or used > limit


#: Why an order is held when a card declines what a partly captured line still has to pay
#: after completion (I2, I6); the hold's cause stays while the order lacks money (S4).
REST_DECLINED = (
    "the card declined a new authorization of what a partly captured line still has to "
    "pay: a new payment is required"
)


def _declined_rest_unpaid(order: Order) -> bool:
    """S4, I2, I6: the order holds the ``PAYMENT_DECLINED`` hold a declined rest placed
    (:data:`REST_DECLINED`; its line kept what it holds) and still lacks money: no new
    payment (completion) covers what that card did not pay."""
    hold = order.hold(HoldCode.PAYMENT_DECLINED)
    return hold is not None and hold.reason == REST_DECLINED and order.balance_due.is_positive()


def declined_line_remains(order: Order) -> bool:
    """S4: a declined line is still on the order (not removed, not given a new card), or a
    replaced card's old authorization is still open (its void was declined, C4): the
    order must not go on while the old card holds the money and the new one holds none."""
    return any(
        not line.pending_removal
        and (line.status is LineStatus.DECLINED or _replaced_card_still_held(line))
        for line in order.lines
    )


def _replaced_card_still_held(line: PaymentLine) -> bool:
    """C4: an authorization made on another card than the line's is still open."""
    card = line.card
    if card is None or line.needs_tokenize:
        return False
    return any(a.card_value and a.card_value != card.value for a in line.open_authorizations())


def _unrenewed(line: PaymentLine, settings: Settings, now: datetime) -> bool:
    """Whether ``line`` still has money to take that its fresh authorizations do not cover,
    because one of its authorizations expired (I3), or came within the renewal window
    (A1: the renewal job may have released it early), and was not renewed."""
    if not line.is_card or line.status is LineStatus.VOIDED or line.pending_removal:
        return False
    policy = settings.authorization
    ahead = now + timedelta(days=policy.renew_window)
    ages = [age_of(auth, ahead, policy) for auth in line.authorizations]
    if all(age is AuthorizationAge.FRESH for age in ages):
        return False
    fresh = total(
        (
            auth.open_amount
            for auth, age in zip(line.authorizations, ages, strict=True)
            if age is AuthorizationAge.FRESH
        ),
        line.currency,
    )
    return fresh + line.captured < line.amount


def authorization_expired(order: Order, settings: Settings, now: datetime) -> bool:
    """S4: a card line is short of its amount because an expired authorization (I3) was not
    renewed (nor the line removed or paid another way)."""
    return any(_unrenewed(line, settings, now) for line in order.lines)


#: Holds a successful retry of a declined line may end (when their cause is gone): a
#: declined line leaves its order out of balance too, as a rule.
ENDED_BY_RETRY = (
    HoldCode.AUTHORIZATION_EXPIRED,
    HoldCode.PAYMENT_DECLINED,
    HoldCode.OUT_OF_BALANCE,
)


def ended_by_retry(order: Order, settings: Settings, now: datetime) -> Order:
    """``order`` once a declined line of it is authorized again (A2): the holds that
    retry may end whose cause is gone, released by the system."""
    ended = order
    for code in ENDED_BY_RETRY:
        if ended.has_hold(code) and not cause_remains(ended, code, settings, now):
            ended = ended.released(code, by=SYSTEM, at=now)
    return ended


def cause_remains(order: Order, code: HoldCode, settings: Settings, now: datetime) -> bool:
    """S4: whether the cause of an order's ``code`` hold is still there at ``now``.

    A check hold's cause is its time (it lapses by itself at its ``until``; one without
    an ``until`` never does); a manual hold has no cause to check: a call center user
    placed it and one may release it.
    """
    match code:
        case HoldCode.OUT_OF_BALANCE:
            return out_of_balance(order, settings)
        case HoldCode.CREDIT_LIMIT:
            return over_credit_limit(order)
        case HoldCode.PAYMENT_DECLINED:
            return declined_line_remains(order) or _declined_rest_unpaid(order)
        case HoldCode.AUTHORIZATION_EXPIRED:
            return authorization_expired(order, settings, now)
        case HoldCode.CHECK:
            hold = order.hold(code)
            return hold is not None and not hold.lapsed(now)
        case HoldCode.MANUAL:
            return False


def validate(
    order: Order,
    settings: Settings,
    now: datetime,
    *,
    declined: bool,
    by: str = SYSTEM,
) -> Order:
    """The order with its holds decided for this submit (S1, S2) and completion done (S3).

    ``declined``: an authorization was declined during this submit. A check posted holds
    the order from its posting (:func:`check_posted`), not from here: its days count from
    then, and a hold a person released since is not placed again.
    ``by``: who submitted (the actor's id; :data:`SYSTEM` when a channel's order is placed).

    A hold decided at submit that is called for again stays as it was placed (who, when,
    why); one no longer called for is released by ``by`` at ``now``; a new one is placed
    by ``by`` at ``now``. Check holds that lapsed by ``now`` are history (S4).
    """
    order = order.as_of(now)
    # S2: a decline earlier in this completion (a run stopped, resumed) holds as one now
    declined = declined or (order.declined_in_completion and declined_line_remains(order))
    holds: list[Hold] = []
    if out_of_balance(order, settings):
        holds.append(
            Hold(
                code=HoldCode.OUT_OF_BALANCE,
                reason=f"paid {_shown(order.paid)} of {_shown(order.total)}",
                placed_at=now,
                placed_by=by,
            )
        )
    if declined:
        holds.append(
            Hold(
                code=HoldCode.PAYMENT_DECLINED,
                reason="a payment authorization was declined",
                placed_at=now,
                placed_by=by,
            )
        )
    if over_credit_limit(order):
        holds.append(
            Hold(
                code=HoldCode.CREDIT_LIMIT,
                reason="customer account payments beyond the credit limit",
                placed_at=now,
                placed_by=by,
            )
        )
    wanted = {hold.code for hold in holds}
    result = order
    for hold in order.holds:
        if hold.code in DECIDED_AT_SUBMIT and hold.code not in wanted:
            result = result.released(hold.code, by=by, at=now)
    for hold in holds:
        result = result.with_hold(hold)  # a hold already there stays as it was placed
    return result.submitted()


def _check_hold(settings: Settings, now: datetime, check: Money, by: str) -> Hold | None:
    """S2: the ``CHECK`` hold ``check`` posted at ``now`` calls for (None: none)."""
    threshold = settings.completion.check_hold_threshold
    days = settings.completion.check_hold_days
    # A hold of 0 days would lapse as it is placed (S4): none is placed. A check in another
    # currency than the threshold cannot be measured against it: it is held, not let through.
    if threshold is None or days <= 0:
        return None
    unmeasured = check.currency != threshold.currency
    if not (unmeasured or check > threshold):
        return None
    why = "in another currency than" if unmeasured else "above"
    return Hold(code=HoldCode.CHECK, reason=f"check {why} {_shown(threshold)}", placed_at=now,
                until=now + timedelta(days=days), placed_by=by)  # fmt: skip


def check_posted(order: Order, check: Money, settings: Settings, now: datetime, *, by: str
                 ) -> Order:  # fmt: skip
    """S2: ``order`` (as of ``now``) once a submit posted ``check``: held from then on, in
    the posting's commit, so a submit stopped before it decides the holds (a call in
    doubt, a crash) and resumed (posting nothing) still holds the order. A check hold
    already there stays as placed, but one ending sooner holds on to the new one's end
    (each check its own days)."""
    hold = _check_hold(settings, now, check, by)
    if hold is None:
        return order
    order = order.as_of(now)
    current = order.hold(HoldCode.CHECK)
    if current is not None and _sooner(current, hold):
        later = replaced(current, until=hold.until)
        return replaced(order, holds=tuple(later if h is current else h for h in order.holds))
    return order.with_hold(hold)


def _sooner(current: Hold, new: Hold) -> bool:
    """Whether ``current`` lapses before ``new`` would."""
    return current.until is not None and new.until is not None and current.until < new.until


def held_unless_renewable(order: Order, line: PaymentLine, now: datetime, why: str) -> Order:
    """I3: a line still short of its amount (what it captured and still holds open) whose
    card cannot be authorized again holds the order (``AUTHORIZATION_EXPIRED``); a reusable
    card is authorized again by invoicing. A line whose authorization holds again what a
    capture rejected after approval took (N4) is not short: it is captured from there."""
    reusable = line.card is not None and line.card.reusable
    covered = line.captured + line.authorized >= line.amount
    if order.cancelled or reusable or not line.active or covered:
        return order  # a cancelled order is never held: nothing could release the hold
    return order.with_hold(Hold(code=HoldCode.AUTHORIZATION_EXPIRED, reason=why, placed_at=now))


#: Why a declined deposit capture holds its order (:func:`deposit_declined`): the one
#: ``PAYMENT_DECLINED`` hold :func:`deposit_taken` may end.
DEPOSIT_DECLINED = "a deposit capture was declined"


def deposit_declined(order: Order, now: datetime) -> Order:
    """D1: a declined deposit capture holds the order (``PAYMENT_DECLINED``), answered live,
    found by ``recover()`` or settled by a notification (N1, N2); its authorization stays
    open for an invoice to capture. A cancelled order is never held: nothing could release
    the hold."""
    if order.cancelled:
        return order
    return order.with_hold(Hold(code=HoldCode.PAYMENT_DECLINED, placed_at=now,
                                reason=DEPOSIT_DECLINED))  # fmt: skip


def deposit_taken(order: Order, settings: Settings, now: datetime) -> Order:
    """D1, S4: ``order`` once a card deposit capture is received. A deposit capture declined
    before (:func:`deposit_declined`) and taken again since (the ``recover()`` run that
    takes the rest of the deposit) leaves its ``PAYMENT_DECLINED`` hold without a cause once
    every active card deposit line holds a received deposit capture and no other cause
    remains: the hold ends, released by the system, as a retry's holds end
    (:func:`ended_by_retry`). A hold something else placed (a submit's declined card) is
    left to a person."""
    code = HoldCode.PAYMENT_DECLINED
    hold = order.hold(code)
    if hold is None or hold.placed_by != SYSTEM or hold.reason != DEPOSIT_DECLINED:
        return order
    untaken = any(
        line.deposit
        and line.is_card
        and line.active
        and not any(not c.pending for c in line.deposit_captures)
        for line in order.lines
    )
    if untaken or cause_remains(order, code, settings, now):
        return order
    return order.released(code, by=SYSTEM, at=now)
