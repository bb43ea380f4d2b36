"""What a processor call is, and what it came to: kinds, outcomes, results (O1, O4, N1)."""

from __future__ import annotations

import attrs

from ocop.domain.cardguard import validate_no_card_data
from ocop.domain.enums import Members
from ocop.domain.money import Money
from ocop.domain.tokens import CardToken, ProcessorToken


class OperationKind(Members):
    AUTHORIZE = "authorize"
    ADJUST = "adjust"
    CAPTURE = "capture"
    VOID = "void"
    REFUND = "refund"
    UNLINKED_REFUND = "unlinked_refund"
    TOKENIZE = "tokenize"


class Outcome(Members):
    """What a processor call came to."""

    APPROVED = "approved"
    DECLINED = "declined"
    #: The processor never received the call (a lookup found nothing): a definitive failure.
    NOT_RECEIVED = "not_received"
    #: Accepted by the processor, which reports the final outcome later (N1). It counts
    #: as approved until then, and does not block other operations on the order.
    PENDING = "pending"
    #: Timeout or crash: only the processor's answer or a lookup can decide.
    UNKNOWN = "unknown"

    @property
    def definitive(self) -> bool:
        return self not in (Outcome.UNKNOWN, Outcome.PENDING)

    @property
    def failed(self) -> bool:
        return self in (Outcome.DECLINED, Outcome.NOT_RECEIVED)

    @property
    def moves_money(self) -> bool:
        """Approved, or accepted and counted as approved until settled (N1)."""
        return self in (Outcome.APPROVED, Outcome.PENDING)


@attrs.frozen(kw_only=True)
class ProcessorResult:
    """A processor's answer to a call, or to a lookup of its key.

    ``token`` is the reference the processor issued (an authorization, capture
    or refund token, or a card token for tokenize).
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
