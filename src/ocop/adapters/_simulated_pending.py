"""Pending answers of the simulated processor (N1): held, then settled by notification.

A call scripted ``"pending"`` is carried out as an approval would be (its effect
counts for the processor's own checks at once), but its ledger entry is held in a
:class:`~ocop.adapters._simulated_records.Pending` record and its key answers
``PENDING``. Settling it approved writes the entry to the ledger (dated when
settled); settling it declined gives back what it held. Either way the key then
answers its final outcome, and the processor sends one notification.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import attrs

from ocop.adapters._simulated_records import (
    KeyRecord,
    LedgerEntry,
    Pending,
    Records,
    Request,
)
from ocop.domain.money import Money
from ocop.domain.notifications import Notification, NotificationEvent
from ocop.domain.operations import Outcome, ProcessorResult
from ocop.ports.processor import ProcessorCapabilities

__all__ = ["hold", "pending_in_order", "settle"]

#: What a settled-declined operation's key answers from then on.
DECLINED_WHEN_SETTLED = "declined when settled"


def hold(
    records: Records,
    key: str,
    request: Request,
    run: Callable[[], tuple[ProcessorResult, LedgerEntry | None]],
) -> ProcessorResult:
    """Carry out a call as approved, hold its outcome, and answer PENDING (or a decline)."""
    before = records.auths.get(request.target)
    answer, entry = run()
    if entry is None:  # declined by the processor's own checks: not pending
        return answer
    released = previous = None
    if request.kind == "capture":  # approved: its authorization exists, and its token
        after = records.auths.rows[request.target]
        released = after.voided - (before.voided if before is not None else after.voided)
        capture = records.captures.rows[entry.reference]
        records.captures.put(entry.reference, attrs.evolve(capture, pending=True))
    elif request.kind == "void":
        released = entry.amount
    elif request.kind == "adjust":
        previous = before.amount if before is not None else None
    records.pending.put(key, Pending(
        seq=records.next("pending"), kind=request.kind, request=request, answer=answer,
        entry=entry, target=request.target, released=released, previous=previous,
    ))  # fmt: skip
    return attrs.evolve(answer, outcome=Outcome.PENDING)


def pending_in_order(records: Records) -> list[Pending]:
    """The operations still pending, in the order they were made."""
    return sorted(records.pending.values(), key=lambda p: p.seq)


def settle(
    records: Records,
    pending: Pending,
    *,
    approve: bool,
    caps: ProcessorCapabilities,
    at: datetime,
) -> Notification:
    """Settle one pending operation and return the notification the processor sends."""
    key = pending.answer.key
    records.pending.drop(key)
    if approve:
        final = pending.answer
        records.append(attrs.evolve(pending.entry, at=at))
        if pending.kind == "capture":  # its entry's reference is the capture token
            reference = pending.entry.reference
            capture = records.captures.rows[reference]
            records.captures.put(reference, attrs.evolve(capture, pending=False))
    else:
        final = ProcessorResult(key=key, outcome=Outcome.DECLINED, reason=DECLINED_WHEN_SETTLED)
        _undo(records, pending)
    records.keys.put(key, KeyRecord(request=pending.request, answer=final))
    return Notification(
        # Stable and unique: one notification per pending operation of this account.
        notification_id=f"{caps.connector}:{caps.service_account}:{key}",
        event=NotificationEvent.OUTCOME,
        key=key,
        reference=pending.entry.reference,
        success=approve,
        amount=pending.entry.amount,
        at=at,
        reason=final.reason,
    )


def _undo(records: Records, pending: Pending) -> None:
    """Give back what a pending operation, declined when settled, held."""
    amount = pending.entry.amount
    if pending.kind == "refund":
        capture = records.captures.rows[pending.target]
        records.captures.put(
            pending.target, attrs.evolve(capture, refunded=capture.refunded - amount)
        )
        return
    auth = records.auths.rows[pending.target]
    zero = Money.zero(amount.currency)
    if pending.kind == "capture":
        records.captures.drop(pending.entry.reference)
        auth = attrs.evolve(
            auth,
            captured=auth.captured - amount,
            voided=_less(auth.voided, pending.released or zero),
        )
    elif pending.kind == "void":
        auth = attrs.evolve(auth, voided=_less(auth.voided, pending.released or zero))
    else:  # adjust: back to the total before
        previous = pending.previous if pending.previous is not None else auth.amount
        # What was voided since released only what there was; what was captured stays.
        voided = _less(auth.voided, auth.captured + auth.voided - previous)
        floor = auth.captured + voided
        auth = attrs.evolve(auth, amount=previous if previous >= floor else floor, voided=voided)
    records.auths.put(pending.target, auth)


def _less(amount: Money, less: Money) -> Money:
    """``amount - less``, never below zero (nor above ``amount``)."""
    if not less.is_positive():
        return amount
    return amount - less if amount >= less else Money.zero(amount.currency)
