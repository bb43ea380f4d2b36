"""The planner's vocabulary: goals, their next steps, and each line's next step.

Every use case is a *goal*: a frozen value that, given the order as last
committed, says what to do :meth:`~Goal.next` — a local change of the order, the
processor steps to run now, or that it is done — and learns from each outcome
(:meth:`~Goal.after`). The services run every goal with the same loop
(:mod:`ocop.services._engine`); the goal is pure, so a run interrupted by a crash,
a decline or a doubt can be planned again from the stored order.

:func:`line_step` says a payment line's next step toward what the draft asked for,
looking only at the line; completion's goal (:mod:`ocop.domain.completion`) runs it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Generic, Protocol, Self, TypeVar

import attrs

from ocop.domain import steps
from ocop.domain.errors import InvalidDraftEdit
from ocop.domain.invoicing import AuthorizationAge, age_of
from ocop.domain.journal import Voucher
from ocop.domain.money import Money
from ocop.domain.movements import Authorization
from ocop.domain.operations import Operation
from ocop.domain.order import Order
from ocop.domain.settings import Settings
from ocop.domain.tender import INACTIVE, LineStatus, PaymentLine

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
#: No line needs more steps than this (void, tokenize, authorize ...); a guard against loops.
MAX_STEPS_PER_LINE = 6


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


def adjustable(line: PaymentLine, *, adjustments: bool, now: datetime, settings: Settings) -> bool:
    """C3, I3: whether the line's open authorization may be adjusted to a new amount: the
    processor adjusts, and the authorization is not past its expiry age. An expired one is
    renewed instead (void, then a new authorization of what the line still needs), as an
    invoice (I3) or the renewal job (A1) would renew it: a processor that dropped it
    declines the adjustment, and one adjusted is renewed by the next invoice anyway. A
    single-use token's expired authorization is not adjusted either: the invoice would void
    it and hold the order, so a change of its amount is refused (:func:`require_authorizable`)."""
    opened = line.open_authorizations()
    if not adjustments or not opened:
        return adjustments
    return age_of(opened[-1], now, settings.authorization) is AuthorizationAge.FRESH


def require_authorizable(
    line: PaymentLine, *, adjustments: bool, invoiced: bool, expired: bool = False
) -> None:
    """Refuse, before any processor call, a draft line whose single-use card token was
    authorized already and would have to be authorized again: a processor declines it, and
    the authorization voided to make way for it would be lost. ``expired``: the line's
    authorization is past its expiry age, which is why it cannot be adjusted (I3)."""
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
        f"{_EXPIRED if expired else ''}"
        f"bringing it to {line.amount} needs a new authorization of that token, which the "
        f"processor declines, so nothing was changed: {hint}",
        rule=rule,
        line_id=line.line_id,
    )


_EXPIRED = "its authorization is past the expiry age and is not adjusted (I3); "


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


def lapses(auth: Authorization, ctx: Context) -> bool:
    """Whether ``auth`` expired and manual void of expired authorizations is off: it is not
    voided but left to lapse at the processor."""
    return (
        not ctx.settings.features.manual_void_of_expired_authorizations
        and age_of(auth, ctx.now, ctx.settings.authorization) is not AuthorizationAge.FRESH
    )
