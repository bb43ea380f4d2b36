"""A card line's authorizations adjusted, voided or left to lapse (C3, A1, I3).
:class:`~ocop.domain.tender.PaymentLine` has each as a method."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocop.domain.line_status import LineStatus, refused, require_card
from ocop.domain.money import Money
from ocop.domain.values import replaced

if TYPE_CHECKING:
    from ocop.domain.movements import Authorization
    from ocop.domain.steps import Adjust
    from ocop.domain.tender import PaymentLine

__all__ = [
    "adjusted",
    "approved_adjustment",
    "lapsed",
    "released_again",
    "released_as_settled",
    "strayed",
    "unreleased",
    "voided",
]


def adjusted(line: PaymentLine, auth_id: str, new_amount: Money) -> PaymentLine:
    """The processor adjusted an authorization to ``new_amount`` (rule C3)."""
    require_card(line, "adjust")
    auth = line.authorization(auth_id)
    # Closed by a capture or a void; one that lapsed (the processor ended it, N4, while
    # the adjustment was away) still takes its answer.
    if (auth.amount - auth.captured - auth.voided).is_zero():
        raise refused(line, f"authorization {auth_id} is closed", new_amount)
    if new_amount < auth.captured + auth.voided or not new_amount.is_positive():
        raise refused(line, "cannot adjust below what was captured", new_amount)
    auths = line.authorizations_with(replaced(auth, amount=new_amount))
    if auth.lapsed:  # nothing is open on it either way: only the record changes
        return replaced(line, authorizations=auths)
    return line.settled_with(authorizations=auths)


def voided(
    line: PaymentLine,
    auth_id: str,
    *,
    awaiting_new: bool,
    number: int = 1,
    amount: Money | None = None,
) -> PaymentLine:
    """The open remainder of an authorization was voided (released) by its ``number``-th
    void, no more than ``amount`` when given (the rest stays open); ``awaiting_new``: a
    line left with nothing open waits for a new authorization instead of being retired."""
    auth = _open(line, auth_id, "void")
    count = max(auth.voids + 1, number)
    gone = auth.open_amount if amount is None else auth.open_amount.min(amount)
    early = auth.released_early
    if amount is not None and amount > gone:
        # The processor released more than was open: what pending captures of it took,
        # which it had given back (they failed). Their notifications give none of it back.
        beyond = (amount - gone).min(_pending_captured(line, auth))
        if beyond.is_positive():
            early = beyond if early is None else early + beyond
    # An approved void releases all the processor holds: one a refused pending void left
    # held (:func:`unreleased`) too, when money came back to the authorization since (N2).
    released = replaced(auth, voided=auth.voided + gone, voids=count, released_early=early,
                        unreleased=False)  # fmt: skip
    return _closed(line, released, awaiting_new=awaiting_new)


def released_as_settled(
    line: PaymentLine, auth_id: str, released: Money, *, awaiting_new: bool
) -> PaymentLine:
    """N2, V5: a void whose pending answer said no amount (counted as releasing what was
    open, N1) was approved, the processor saying it released ``released``. More than ocop
    counts released on the authorization is what failed pending captures took, which the
    processor had given back before the void: what of it came back open since (their
    failure notified first) is released now; what pending captures still hold is released
    early, so their failure gives none of it back (as :func:`voided` with an amount)."""
    auth = line.authorization(auth_id)
    zero = Money.zero(line.currency)
    beyond = released - auth.voided - (auth.released_early or zero)
    if auth.lapsed or not beyond.is_positive():
        return line
    now = auth.open_amount.min(beyond)
    early = (beyond - now).min(_pending_captured(line, auth)) + (auth.released_early or zero)
    settled = replaced(auth, voided=auth.voided + now,
                       released_early=early if early.is_positive() else None)  # fmt: skip
    return _closed(line, settled, awaiting_new=awaiting_new)


def _pending_captured(line: PaymentLine, auth: Authorization) -> Money:
    """What the line's pending captures (N1) took from ``auth``."""
    taken = [c.amount for c in line.captures if c.auth_id == auth.auth_id and c.pending]
    return sum(taken, Money.zero(line.currency))


def unreleased(line: PaymentLine, auth_id: str, number: int) -> PaymentLine:
    """V5, N1: the ``number``-th void of an authorization, counted done when it answered
    pending, was refused in the end: the processor still holds what it was to release.
    Nothing opens again here (the line went on without it: authorized anew, retired, its
    order cancelled); the authorization is marked to be voided again, and that void no
    longer counts, so the next is another attempt of the same step."""
    auth = line.authorization(auth_id)
    voids = number - 1 if auth.voids == number else auth.voids
    marked = replaced(auth, unreleased=True, voids=voids)
    return replaced(line, authorizations=line.authorizations_with(marked))


def released_again(line: PaymentLine, auth_id: str, number: int | None = None) -> PaymentLine:
    """V5: an authorization marked :func:`unreleased` was voided again by its ``number``-th
    void (approved, or pending and counted done, N1); None: it lapsed at the processor."""
    auth = line.authorization(auth_id)
    voids = auth.voids if number is None else max(auth.voids + 1, number)
    released = replaced(auth, unreleased=False, voids=voids)
    return replaced(line, authorizations=line.authorizations_with(released))


def lapsed(line: PaymentLine, auth_id: str, *, awaiting_new: bool) -> PaymentLine:
    """An expired authorization left to lapse at the processor, never voided: nothing is
    open on it any more. ``awaiting_new``: as for :func:`voided`."""
    auth = _open(line, auth_id, "lapse")
    return _closed(line, replaced(auth, lapsed=True), awaiting_new=awaiting_new)


def _open(line: PaymentLine, auth_id: str, what: str) -> Authorization:
    """The authorization ``auth_id`` of a card line, refused when nothing is open on it."""
    require_card(line, what)
    auth = line.authorization(auth_id)
    if auth.open_amount.is_zero():
        raise refused(line, f"authorization {auth_id} has nothing open to {what}")
    return auth


def _closed(line: PaymentLine, auth: Authorization, *, awaiting_new: bool) -> PaymentLine:
    changed = line.settled_with(authorizations=line.authorizations_with(auth))
    if awaiting_new and changed.status is LineStatus.VOIDED:
        return replaced(changed, status=LineStatus.NOT_SUBMITTED)
    return changed


def strayed(line: PaymentLine, auth: Authorization) -> PaymentLine:
    """X1, A1, V5: the processor approved ``auth`` for ``line`` after the line was retired
    (a cancellation or a removal raced the call): the line records what the processor
    holds, stays retired, and is marked as renewing (A2), so that ``recover()``, or the
    renewal job, releases it."""
    require_card(line, "authorize")
    if any(a.auth_id == auth.auth_id for a in line.authorizations):
        raise refused(line, f"authorization {auth.auth_id} already recorded")
    if auth.amount.currency != line.currency:
        raise refused(line, "authorization in another currency")
    return replaced(line, authorizations=(*line.authorizations, auth), renewing=True)


def approved_adjustment(line: PaymentLine, step: Adjust, *, cancelled: bool) -> PaymentLine:
    """The line once the processor approved the adjustment ``step`` (C3).

    X1, A1, V5: approved after the line was retired, or its order ``cancelled`` (a
    cancellation raced the call), the line keeps its status: an authorization closed since
    (the cancellation's void came after the adjustment, and released all the processor
    held) records the new amount with all of it released; one still open is adjusted, the
    line marked as renewing (A2) so that ``recover()``, or the renewal job, releases it."""
    if line.status is not LineStatus.VOIDED and not cancelled:
        return adjusted(line, step.auth_id, step.amount)
    auth = line.authorization(step.auth_id)
    if auth.lapsed:  # nothing is open on it either way: only the record changes
        return adjusted(line, step.auth_id, step.amount)
    if (auth.amount - auth.captured - auth.voided).is_positive():
        return replaced(adjusted(line, step.auth_id, step.amount), status=line.status,
                        renewing=True)  # fmt: skip
    if step.amount < auth.captured:
        raise refused(line, "cannot adjust below what was captured", step.amount)
    released = replaced(auth, amount=step.amount, voided=step.amount - auth.captured)
    return replaced(line, authorizations=line.authorizations_with(released))
