"""The simulated processor's rules: what it approves and what each approval changes.

:class:`SimulatedRules` is the base of :class:`~ocop.adapters.simulated.SimulatedProcessor`:
each method checks one call as a real processor would and, when it approves, changes
the records and returns the answer with its ledger entry (None for a decline).
"""

from __future__ import annotations

from datetime import UTC, timedelta

import attrs

from ocop.adapters._simulated_records import Auth, Capture, LedgerEntry, Records
from ocop.domain.errors import InvalidInput
from ocop.domain.money import Money
from ocop.domain.operations import Outcome, ProcessorResult
from ocop.domain.tokens import (
    AuthorizationToken,
    CaptureToken,
    CardToken,
    ProcessorToken,
    RefundToken,
)
from ocop.ports.clock import Clock
from ocop.ports.processor import ProcessorCapabilities

__all__ = ["Answer", "SimulatedRules"]

#: An answer, and the ledger entry of the movement it approved (None: nothing moved).
Answer = tuple[ProcessorResult, LedgerEntry | None]


class SimulatedRules:
    """The checks and effects of each call kind, on the simulator's records."""

    _clock: Clock
    _caps: ProcessorCapabilities
    _lifetime: timedelta
    _records: Records

    def _next(self, prefix: str) -> str:
        return f"{prefix}_{self._records.next('serial')}"

    def _decline(self, key: str, reason: str) -> Answer:
        return ProcessorResult(key=key, outcome=Outcome.DECLINED, reason=reason), None

    def _own(self, token: ProcessorToken) -> bool:
        return (token.connector, token.service_account) == (
            self._caps.connector,
            self._caps.service_account,
        )

    def _require_account(self, token: ProcessorToken) -> None:
        if not self._own(token):
            raise InvalidInput("token of another connector or service account")

    def _approved(
        self,
        kind: str,
        key: str,
        amount: Money,
        token: ProcessorToken,
        target: str,
        *,
        multi: bool = False,
    ) -> Answer:
        entry = LedgerEntry(
            kind=kind,
            key=key,
            amount=amount,
            reference=token.value,
            target=target,
            at=self._clock.now(),
        )
        result = ProcessorResult(
            key=key, outcome=Outcome.APPROVED, amount=amount, token=token, multi_capture=multi
        )
        return result, entry

    def _token(self, cls: type[ProcessorToken], prefix: str) -> ProcessorToken:
        return cls(
            value=self._next(prefix),
            connector=self._caps.connector,
            service_account=self._caps.service_account,
        )

    def _live_auth(self, key: str, token: AuthorizationToken) -> Auth | Answer:
        auth = self._records.auths.get(token.value)
        if auth is None or not self._own(token):
            return self._decline(key, "unknown authorization for this account")
        # Elapsed time (in UTC): a clock's wall time in a zone with daylight saving is not.
        if self._clock.now().astimezone(UTC) >= auth.created_at.astimezone(UTC) + self._lifetime:
            return self._decline(key, "authorization expired")
        return auth

    def _authorize(self, key: str, card: CardToken, amount: Money) -> Answer:
        if not self._own(card):
            return self._decline(key, "card token of another connector or service account")
        if not amount.is_positive():
            return self._decline(key, "amount must be positive")
        now = self._clock.now()
        if card.expired_on(now.year, now.month):
            return self._decline(key, "card expired")
        token = self._token(AuthorizationToken, "auth")
        zero = Money.zero(amount.currency)
        self._records.auths.put(token.value, Auth(
            card=card, amount=amount, captured=zero, voided=zero, created_at=now,
            multi_capture=self._caps.multi_capture,
        ))  # fmt: skip
        return self._approved(
            "authorize", key, amount, token, card.value, multi=self._caps.multi_capture
        )

    def _adjust(self, key: str, token: AuthorizationToken, amount: Money) -> Answer:
        if not self._caps.adjustments:
            return self._decline(key, "adjustments not supported")
        auth = self._live_auth(key, token)
        if not isinstance(auth, Auth):
            return auth
        if auth.open.is_zero() or amount < auth.captured + auth.voided or not amount.is_positive():
            return self._decline(key, "cannot adjust below what is captured")
        self._records.auths.put(token.value, attrs.evolve(auth, amount=amount))
        return self._approved("adjust", key, amount, token, token.value, multi=auth.multi_capture)

    def _capture(self, key: str, token: AuthorizationToken, amount: Money) -> Answer:
        auth = self._live_auth(key, token)
        if not isinstance(auth, Auth):
            return auth
        if not amount.is_positive() or amount > auth.open:
            return self._decline(key, "capture exceeds the open authorized amount")
        auth = attrs.evolve(auth, captured=auth.captured + amount)
        if not auth.multi_capture:
            auth = attrs.evolve(auth, voided=auth.voided + auth.open)
        self._records.auths.put(token.value, auth)
        capture = self._token(CaptureToken, "cap")
        self._records.captures.put(
            capture.value, Capture(amount=amount, refunded=Money.zero(amount.currency))
        )
        return self._approved("capture", key, amount, capture, token.value)

    def _void(self, key: str, token: AuthorizationToken) -> Answer:
        auth = self._records.auths.get(token.value)
        if auth is None or not self._own(token) or auth.open.is_zero():
            return self._decline(key, "nothing open to void")
        released = auth.open
        self._records.auths.put(token.value, attrs.evolve(auth, voided=auth.voided + released))
        return self._approved("void", key, released, token, token.value)

    def _refund(self, key: str, token: CaptureToken, amount: Money) -> Answer:
        capture = self._records.captures.get(token.value)
        if capture is None or not self._own(token):
            return self._decline(key, "unknown capture for this account")
        if capture.pending:
            return self._decline(key, "capture still pending")
        if not amount.is_positive() or amount > capture.amount - capture.refunded:
            return self._decline(key, "refund exceeds what is refundable")
        refunded = attrs.evolve(capture, refunded=capture.refunded + amount)
        self._records.captures.put(token.value, refunded)
        return self._approved("refund", key, amount, self._token(RefundToken, "ref"), token.value)

    def _unlinked(self, key: str, card: CardToken, amount: Money) -> Answer:
        if not self._caps.unlinked_refunds:
            return self._decline(key, "unlinked refunds not supported")
        if not self._own(card) or not amount.is_positive():
            return self._decline(key, "card token of another connector or service account")
        token = self._token(RefundToken, "ref")
        return self._approved("unlinked_refund", key, amount, token, card.value)

    def _tokenize(
        self, key: str, customer_id: str, instrument_id: str, *, valid_cvv: bool
    ) -> Answer:
        instrument = self._records.instruments.get(instrument_id)
        if instrument is None or instrument.customer_id != customer_id:
            return self._decline(key, "no such instrument for this customer")
        if not valid_cvv:
            return self._decline(key, "security code check failed")
        card = attrs.evolve(instrument.card, value=self._next("tok_pi"))
        return ProcessorResult(key=key, outcome=Outcome.APPROVED, token=card), None
