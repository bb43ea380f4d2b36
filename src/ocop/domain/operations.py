"""Processor operations: keys, the operation log record and processor results.

Every processor call is one :class:`Operation` with a deterministic key derived
from its business step and attempt number (rule O4). Its intent is recorded
before the call and its outcome after (O1). A definitive failure (declined, or
never received by the processor) ends the key; the next attempt of the same
step gets the next attempt number, so a step succeeds at most once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum

import attrs

from ocop.domain.cardguard import validate_no_card_data
from ocop.domain.money import Money
from ocop.domain.tokens import CardToken, ProcessorToken, mask


class OperationKind(StrEnum):
    AUTHORIZE = "authorize"
    ADJUST = "adjust"
    CAPTURE = "capture"
    VOID = "void"
    REFUND = "refund"
    UNLINKED_REFUND = "unlinked_refund"
    TOKENIZE = "tokenize"


class Outcome(StrEnum):
    """What a processor call came to."""

    APPROVED = "approved"
    DECLINED = "declined"
    #: The processor never received the call (a lookup found nothing): a definitive failure.
    NOT_RECEIVED = "not_received"
    #: Timeout or crash: only the processor's answer or a lookup can decide.
    UNKNOWN = "unknown"

    @property
    def definitive(self) -> bool:
        return self is not Outcome.UNKNOWN

    @property
    def failed(self) -> bool:
        return self in (Outcome.DECLINED, Outcome.NOT_RECEIVED)


def operation_key(order_id: str, step: str, attempt: int) -> str:
    """The deterministic key of one attempt of one business step of an order."""
    return f"{order_id}/{step}#{attempt}"


@attrs.frozen(kw_only=True)
class ProcessorResult:
    """A processor's answer to a call, or to a lookup of its key.

    ``token`` is the reference the processor issued (an authorization, capture
    or refund token, or a card token for tokenize); ``expires_at`` is when an
    authorization lapses at the processor.
    """

    key: str
    outcome: Outcome
    amount: Money | None = None
    token: ProcessorToken | None = None
    multi_capture: bool = False
    reason: str = attrs.field(default="", validator=validate_no_card_data)

    @property
    def approved(self) -> bool:
        return self.outcome is Outcome.APPROVED

    @property
    def card(self) -> CardToken | None:
        return self.token if isinstance(self.token, CardToken) else None


def _context(
    instance: object,
    attribute: attrs.Attribute[tuple[tuple[str, str], ...]],
    value: tuple[tuple[str, str], ...],
) -> None:
    for name, text in value:
        validate_no_card_data(instance, attribute, f"{name}={text}")


@attrs.frozen(kw_only=True)
class Operation:
    """One processor call in the operation log: intent, then outcome.

    ``target`` names what the call acts on (a token value, an instrument id);
    ``context`` holds what is needed to apply the outcome later (line id,
    invoice id, authorization id ...), so recovery can finish it.
    """

    key: str = attrs.field(validator=validate_no_card_data)
    order_id: str = attrs.field(validator=validate_no_card_data)
    step: str = attrs.field(validator=validate_no_card_data)
    attempt: int
    kind: OperationKind
    amount: Money | None
    target: str = attrs.field(validator=validate_no_card_data, repr=mask)
    context: tuple[tuple[str, str], ...] = attrs.field(default=(), validator=_context)
    recorded_at: datetime
    outcome: Outcome | None = None
    result: ProcessorResult | None = None
    resolved_at: datetime | None = None

    @classmethod
    def intent(
        cls,
        *,
        order_id: str,
        step: str,
        attempt: int,
        kind: OperationKind,
        amount: Money | None,
        target: str,
        at: datetime,
        context: Mapping[str, str] | None = None,
    ) -> Operation:
        return cls(
            key=operation_key(order_id, step, attempt),
            order_id=order_id,
            step=step,
            attempt=attempt,
            kind=kind,
            amount=amount,
            target=target,
            context=tuple(sorted((context or {}).items())),
            recorded_at=at,
        )

    @property
    def request(self) -> tuple[object, ...]:
        """What must match when the key is replayed (rule O4)."""
        return (self.kind, self.amount, self.target, self.order_id, self.step, self.context)

    @property
    def in_doubt(self) -> bool:
        """Intent recorded and no definitive outcome yet."""
        return self.outcome is None or self.outcome is Outcome.UNKNOWN

    def ctx(self, name: str) -> str:
        return dict(self.context)[name]

    def resolved(self, result: ProcessorResult, at: datetime) -> Operation:
        return attrs.evolve(self, outcome=result.outcome, result=result, resolved_at=at)
