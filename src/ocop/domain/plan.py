"""The next processor step a payment line needs to reach its target (rules C3-C6).

Submit stores what the draft wants (amounts, cards, new and removed lines) and
then brings every line there one step at a time: :func:`next_step` looks only
at the line's state, so a submit interrupted by a crash or a decline picks up
where it stopped, and a line already where it should be needs no call (S3).
"""

from __future__ import annotations

import attrs

from ocop.domain.money import Money
from ocop.domain.operations import OperationKind
from ocop.domain.tender import INACTIVE, LineStatus, PaymentLine


@attrs.frozen(kw_only=True)
class Step:
    """One thing to do for a line: a processor call, or a local ``post``/``retire``."""

    kind: OperationKind | str
    line_id: str
    amount: Money | None = None
    auth_id: str | None = None
    purpose: str = ""

    @property
    def local(self) -> bool:
        return not isinstance(self.kind, OperationKind)


POST = "post"
RETIRE = "retire"


def next_step(line: PaymentLine, *, adjustments: bool) -> Step | None:
    """What ``line`` needs next, or None when it is where the draft wants it."""
    if line.pending_removal:
        for auth in line.open_authorizations():
            return Step(
                kind=OperationKind.VOID,
                line_id=line.line_id,
                auth_id=auth.auth_id,
                purpose="remove",
            )
        return Step(kind=RETIRE, line_id=line.line_id)
    if line.status in INACTIVE or line.status is LineStatus.PENDING_AUTHORIZATION:
        return None
    if line.is_prepayment:
        return (
            Step(kind=POST, line_id=line.line_id)
            if line.status is LineStatus.NOT_SUBMITTED
            else None
        )
    return _card_step(line, adjustments=adjustments)


def _card_step(line: PaymentLine, *, adjustments: bool) -> Step | None:
    assert line.card is not None
    opened = line.open_authorizations()
    for old in opened:
        if old.card_value and old.card_value != line.card.value and not line.needs_tokenize:
            # C4: the card was replaced; its old authorization goes first.
            return Step(
                kind=OperationKind.VOID,
                line_id=line.line_id,
                auth_id=old.auth_id,
                purpose="replace",
            )
    if line.needs_tokenize:
        return Step(kind=OperationKind.TOKENIZE, line_id=line.line_id)
    covered = line.captured + line.authorized
    delta = line.amount - covered
    if delta.is_zero():
        return None
    auth = opened[-1] if opened else None
    if delta.is_positive():
        if auth is None:
            # New line, or C5: increasing a fully captured line authorizes the increase.
            return Step(kind=OperationKind.AUTHORIZE, line_id=line.line_id, amount=delta)
        if adjustments:
            return Step(
                kind=OperationKind.ADJUST,
                line_id=line.line_id,
                auth_id=auth.auth_id,
                amount=auth.amount + delta,
            )
        # C3 without adjustments: void, then authorize the full new amount.
        return Step(
            kind=OperationKind.VOID,
            line_id=line.line_id,
            auth_id=auth.auth_id,
            purpose="reauthorize",
        )
    if auth is None:
        return None  # captured beyond the target: refused at edit time (C5)
    reduction = -delta
    if adjustments and reduction < auth.open_amount:
        return Step(
            kind=OperationKind.ADJUST,
            line_id=line.line_id,
            auth_id=auth.auth_id,
            amount=auth.amount - reduction,
        )
    # Without adjustments (or reducing by all that is open): void, then authorize what remains.
    return Step(
        kind=OperationKind.VOID, line_id=line.line_id, auth_id=auth.auth_id, purpose="reduce"
    )
