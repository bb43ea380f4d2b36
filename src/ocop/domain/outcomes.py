"""What a processor call is, and what it came to: kinds, outcomes, results (O1, O4, N1)."""

from __future__ import annotations

import attrs

from ocop.domain.cardguard import validate_no_card_data
from ocop.domain.enums import Members
from ocop.domain.money import Money
from ocop.domain.tokens import CardToken, ProcessorToken


class OperationKind(Members):
    """What a processor call does: authorize, adjust an authorization's amount, capture,
    void, refund a capture, refund a card that did not pay (unlinked), or tokenize a
    customer's saved card, checked with its CVV, before it is authorized (T1)."""

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

    ``token`` is the reference the processor issued: an approved (or pending)
    authorization's answer must carry its
    :class:`~ocop.domain.tokens.AuthorizationToken` and a capture's its
    :class:`~ocop.domain.tokens.CaptureToken` (an answer without one is refused as the
    order applies it); a refund's carries its :class:`~ocop.domain.tokens.RefundToken`,
    tokenize's the one-time :class:`~ocop.domain.tokens.CardToken`; a void's or an
    amount update's may carry the authorization's.
    ``amount``: for an authorization, what the processor approved (less than asked: a
    partial approval, N4; None: all that was asked); for a void, what it released (None:
    all that was open). ``multi_capture``: for an authorization, whether it takes several
    captures, one per invoice; left False, it takes one capture, and a later invoice
    authorizes the card again, whatever
    :attr:`~ocop.ports.processor.ProcessorCapabilities.multi_capture` says. ``reason``:
    the processor's words, with no card number in them (T2).
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
