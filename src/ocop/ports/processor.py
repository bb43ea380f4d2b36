"""The payment processor port."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Protocol

import attrs

from ocop.domain.money import Money
from ocop.domain.operations import Outcome, ProcessorResult
from ocop.domain.tokens import (
    AuthorizationToken,
    CaptureToken,
    CardToken,
    RefundToken,
    SavedInstrument,
)

__all__ = [
    "AuthorizationToken",
    "CaptureToken",
    "CardToken",
    "Money",
    "Outcome",
    "PaymentProcessor",
    "ProcessorCapabilities",
    "ProcessorResult",
    "RecoveryMethod",
    "RefundToken",
    "SavedInstrument",
]


class RecoveryMethod(StrEnum):
    """How ``recover()`` learns what became of a call in doubt (N3)."""

    #: :meth:`PaymentProcessor.lookup` of its key.
    LOOKUP = "lookup"
    #: The same request again with the same key: the processor's idempotency answers
    #: what the first call came to (calls that need a CVV or a card are looked up only).
    REPLAY = "replay"


@attrs.frozen(kw_only=True)
class ProcessorCapabilities:
    """What a processor connector supports, and the account it acts under.

    Recovery (N3): ``recovery`` says how a call in doubt is asked about again.
    ``unknown_key_never_received``: the processor keeps every key it received, so one it
    does not know was never received (else an unknown key decides nothing: the call stays
    in doubt, for reconciliation by hand). ``key_lifetime``: how long the processor keeps
    a key (None: for ever); past it a call is never replayed, nor is an unknown key taken
    as never received.
    """

    connector: str
    service_account: str
    multi_capture: bool = True
    adjustments: bool = True
    unlinked_refunds: bool = True
    recovery: RecoveryMethod = RecoveryMethod.LOOKUP
    unknown_key_never_received: bool = True
    key_lifetime: timedelta | None = None
    #: Other (connector, service account) pairs it also serves: a router's (I5).
    also_serves: frozenset[tuple[str, str]] = frozenset()
    #: The pairs whose own processor takes several captures on one authorization, where
    #: ``multi_capture`` (then every processor's) does not say it: a router's (I5).
    multi_capture_accounts: frozenset[tuple[str, str]] = frozenset()
    #: The pairs whose own processor takes no unlinked refunds, where ``unlinked_refunds``
    #: (then any processor's) does not say it: a router's (I5).
    no_unlinked_refund_accounts: frozenset[tuple[str, str]] = frozenset()

    def serves(self, connector: str, service_account: str) -> bool:
        """Whether tokens issued under this connector and account go through it (I5),
        and whether ``recover()`` may ask it about a call in doubt made through them (a
        call of an account it does not serve stays in doubt, N3)."""
        pair = (connector, service_account)
        return pair == (self.connector, self.service_account) or pair in self.also_serves

    def multi_capture_of(self, connector: str, service_account: str) -> bool:
        """Whether an authorization made under this connector and account takes several
        captures: its own processor's answer, as that processor's answers carry it (I5)."""
        return self.multi_capture or (connector, service_account) in self.multi_capture_accounts

    def unlinked_refunds_of(self, connector: str, service_account: str) -> bool:
        """Whether a card tokenized under this connector and account may be paid an unlinked
        refund: its own processor's answer (I5, R4)."""
        pair = (connector, service_account)
        return self.unlinked_refunds and pair not in self.no_unlinked_refund_accounts

    @property
    def accounts(self) -> str:
        """The connector/account pairs it serves, in words (for error messages)."""
        pairs = sorted({(self.connector, self.service_account), *self.also_serves})
        return ", ".join(f"{connector}/{account}" for connector, account in pairs)


class PaymentProcessor(Protocol):
    """A payment processor connector, as ocop needs it.

    Contract every implementation keeps:

    - Every money call takes an operation ``key``. Replayed with the same
      request, a key returns the first answer and moves no money again;
      replayed with a different request (kind, amount, target) it raises
      :class:`~ocop.domain.errors.IdempotencyConflict` (rule O4, V6).
    - Every answer is a :class:`ProcessorResult` whose outcome is ``APPROVED``,
      ``DECLINED``, ``PENDING`` (accepted; the final outcome comes later in a
      notification, N1) or ``UNKNOWN`` (a timeout: the call may or may not have
      happened). A call never raises for a decline.
    - It enforces what real processors enforce: capture <= open authorized,
      refund <= captured - refunded, void only what is uncaptured, tokens of
      another connector or service account refused (declined), expired
      authorizations declined.
    - :meth:`lookup` tells what became of a key: the stored answer (``PENDING``
      while it is not settled), or ``NOT_RECEIVED`` when it does not know the key
      (never received, if :attr:`ProcessorCapabilities.unknown_key_never_received`;
      then the key is spent and will not be carried out later), or ``UNKNOWN``
      when it cannot tell now.
    - A CVV given to :meth:`tokenize` is used once and never stored or echoed.
    - Keys may be long (ids of up to 128 printable characters each, any script): a
      provider that limits its idempotency key is sent a hash of it, the same each time.
      A token's value is stored: a provider reference that reads as a card number (16
      digits passing the Luhn check) is refused (T2), so keep such references encoded.
    - A result's ``reason`` (the provider's words) holds no card number (T2):
      :class:`ProcessorResult` refuses one with
      :class:`~ocop.domain.errors.CardNumberRefused`, which, raised after the provider
      moved money, leaves the call in doubt; pass the words through
      :func:`ocop.domain.cardnumbers.mask` first.
    """

    @property
    def capabilities(self) -> ProcessorCapabilities: ...

    def authorize(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        """Authorize ``amount`` on ``card``; the result's token is an AuthorizationToken,
        its ``amount`` what was approved, and ``multi_capture=True`` says the authorization
        takes several captures (left False it takes one: see :class:`ProcessorResult`)."""
        ...

    def adjust(self, key: str, authorization: AuthorizationToken, amount: Money) -> ProcessorResult:
        """Change an open authorization's total to ``amount`` (up or down)."""
        ...

    def capture(
        self, key: str, authorization: AuthorizationToken, amount: Money
    ) -> ProcessorResult:
        """Capture ``amount``; the result's token is a CaptureToken."""
        ...

    def void(self, key: str, authorization: AuthorizationToken) -> ProcessorResult:
        """Release what is open on an authorization."""
        ...

    def refund(self, key: str, capture: CaptureToken, amount: Money) -> ProcessorResult:
        """Refund ``amount`` of a capture (linked refund)."""
        ...

    def unlinked_refund(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        """Pay ``amount`` to a card that did not pay (unlinked refund)."""
        ...

    def tokenize(self, key: str, customer_id: str, instrument_id: str, cvv: str) -> ProcessorResult:
        """A one-time card token for a customer's saved instrument, checked with its CVV."""
        ...

    def save_instrument(self, customer_id: str, card: CardToken) -> SavedInstrument:
        """Save ``card`` for a named customer; the instrument belongs to them only."""
        ...

    def instruments(self, customer_id: str) -> tuple[SavedInstrument, ...]:
        """The customer's own saved instruments, oldest first."""
        ...

    def lookup(self, key: str) -> ProcessorResult:
        """What became of the call made with ``key``."""
        ...
