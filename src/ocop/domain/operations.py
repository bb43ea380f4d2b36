"""The operation log's record: one processor call, its intent and its outcome (O1-O4).

Every processor call is one :class:`Operation`: a typed step (:mod:`ocop.domain.steps`)
and the attempt number, whose key derives from both (rule O4). Its intent is recorded
before the call and its outcome after (O1). A definitive failure (declined, or never
received by the processor) ends the key; the next attempt of the same step gets the
next attempt number, so a step succeeds at most once.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from ocop.domain.cardguard import validate_no_card_data
from ocop.domain.keys import operation_key
from ocop.domain.money import Money
from ocop.domain.outcomes import OperationKind, Outcome, ProcessorResult
from ocop.domain.steps import Step
from ocop.domain.values import replaced

__all__ = [
    "Failed",
    "Operation",
    "OperationKind",
    "OperationRecord",
    "Outcome",
    "ProcessorResult",
    "operation_key",
]


@attrs.frozen(kw_only=True)
class Operation:
    """One processor call in the operation log: intent, then outcome.

    ``name`` is the step's name in keys (``capture:INV-1:L1:L1.A1``); ``step`` what
    the call asks for, all that is needed to apply its outcome later, so recovery
    can finish it.
    """

    key: str = attrs.field(validator=validate_no_card_data)
    order_id: str = attrs.field(validator=validate_no_card_data)
    name: str = attrs.field(validator=validate_no_card_data)
    attempt: int
    step: Step
    recorded_at: datetime
    outcome: Outcome | None = None
    result: ProcessorResult | None = None
    resolved_at: datetime | None = None

    @classmethod
    def intent(cls, order_id: str, step: Step, attempt: int, at: datetime) -> Operation:
        """The intent of attempt ``attempt`` of ``step`` on an order."""
        name = step.name(order_id)
        return cls(
            key=operation_key(order_id, name, attempt),
            order_id=order_id,
            name=name,
            attempt=attempt,
            step=step,
            recorded_at=at,
        )

    @property
    def kind(self) -> OperationKind:
        return self.step.kind

    @property
    def amount(self) -> Money | None:
        return self.step.amount

    @property
    def target(self) -> str:
        return self.step.target

    @property
    def reference(self) -> str:
        """The processor's reference its answer carried: the value of the answer's token
        (the authorization's, capture's or refund's own; a void or an amount update carries
        the authorization's); "" before an answer, or for one without a token. A
        notification that names no key names its operation by it (N2)."""
        token = self.result.token if self.result is not None else None
        return token.value if token is not None else ""

    @property
    def request(self) -> tuple[object, ...]:
        """What must match when the key is replayed (rule O4)."""
        return (self.order_id, self.name, self.step)

    @property
    def in_doubt(self) -> bool:
        """Intent recorded and no outcome known yet (O3)."""
        return self.outcome is None or self.outcome is Outcome.UNKNOWN

    @property
    def awaiting(self) -> bool:
        """No final outcome yet: in doubt, or accepted pending (N1). Stores list these
        for recovery (:meth:`~ocop.ports.store.OperationLog.in_doubt`); only those in
        doubt stop other calls on the order (O3)."""
        return self.outcome is None or not self.outcome.definitive

    def resolved(self, result: ProcessorResult, at: datetime) -> Operation:
        return replaced(self, outcome=result.outcome, result=result, resolved_at=at)

    def record(self) -> OperationRecord:
        """This operation as the operation log shows it to users."""
        return OperationRecord(
            key=self.key,
            kind=self.kind,
            amount=self.amount,
            outcome=Outcome.UNKNOWN if self.outcome is None else self.outcome,
            reason=self.result.reason if self.result is not None else "",
            at=self.resolved_at or self.recorded_at,
            recorded_at=self.recorded_at,
        )


@attrs.frozen(kw_only=True)
class OperationRecord:
    """One processor call of an order, as ``bo.operations(order_id)`` lists it.

    ``outcome``: what the call came to (``UNKNOWN`` while no answer is known: run
    ``recover()``); ``reason``: the processor's words for it (why a capture was declined);
    ``at``: when the outcome was recorded, or the intent while there is none;
    ``recorded_at``: when the intent was recorded, before the call.
    """

    key: str
    kind: OperationKind
    amount: Money | None
    outcome: Outcome
    reason: str
    at: datetime
    recorded_at: datetime

    @property
    def in_doubt(self) -> bool:
        return self.outcome is Outcome.UNKNOWN


class Failed(str):
    """One entry of a result's ``failed``: the id of what failed (the line of an invoice,
    the capture of a refund, the card of an unlinked refund), which it equals as a string,
    with the processor's ``reason`` and the operation ``key`` (empty when ocop refused the
    call itself, without calling)."""

    key: str
    reason: str

    def __new__(cls, subject: str, *, key: str = "", reason: str = "") -> Failed:
        failed = super().__new__(cls, subject)
        failed.__dict__.update(key=key, reason=reason)
        return failed

    @classmethod
    def of(cls, subject: str, operation: Operation) -> Failed:
        """``subject`` failed in ``operation``: its key and the processor's reason."""
        reason = operation.result.reason if operation.result is not None else ""
        if not reason and operation.outcome is not None:
            reason = operation.outcome.value.replace("_", " ")
        return cls(subject, key=operation.key, reason=reason)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __repr__(self) -> str:
        return f"Failed({str(self)!r}, key={self.key!r}, reason={self.reason!r})"
