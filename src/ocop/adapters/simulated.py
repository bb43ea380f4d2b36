"""A deterministic payment processor with its own ledger, for tests and demos.

:class:`SimulatedProcessor` enforces what real processors enforce (capture <=
open authorized, refund <= refundable, void only what is uncaptured,
authorizations lapse, tokens bound to one connector and service account) and
idempotency by operation key with request comparison (rule O4). Faults are
scripted per call kind::

    sim.script("capture", "timeout_after_success")

``approve`` (the default), ``decline``, ``timeout_before`` (the call never
arrives: the answer is unknown, a later lookup finds nothing),
``timeout_after_success`` (the money moved, the caller hears nothing) and
``crash_after_success`` (the money moved, then :class:`SimulatedCrash`, which
is not an :class:`~ocop.domain.errors.OcopError`, is raised as if the calling
process died).
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

import attrs

from ocop.domain.errors import IdempotencyConflict, InvalidInput
from ocop.domain.money import Money
from ocop.domain.operations import Outcome, ProcessorResult
from ocop.domain.tokens import (
    AuthorizationToken,
    CaptureToken,
    CardToken,
    ProcessorToken,
    RefundToken,
    SavedInstrument,
)
from ocop.ports.clock import Clock
from ocop.ports.processor import ProcessorCapabilities

__all__ = ["SCRIPTS", "LedgerEntry", "SimulatedCrash", "SimulatedProcessor"]

KINDS: Final = ("authorize", "adjust", "capture", "void", "refund", "unlinked_refund", "tokenize")
SCRIPTS: Final = (
    "approve",
    "decline",
    "timeout_before",
    "timeout_after_success",
    "crash_after_success",
)


class SimulatedCrash(BaseException):
    """The calling process 'died' right after the processor moved money.

    A BaseException, like SystemExit, so that no ``except Exception`` swallows it.
    """


@attrs.frozen(kw_only=True)
class LedgerEntry:
    """One money movement (or authorization change) the processor carried out."""

    kind: str
    key: str
    amount: Money
    reference: str
    target: str
    at: datetime


@attrs.define
class _Auth:
    card: CardToken
    amount: Money
    captured: Money
    voided: Money
    created_at: datetime
    multi_capture: bool

    @property
    def open(self) -> Money:
        return self.amount - self.captured - self.voided


@attrs.define
class _Capture:
    amount: Money
    refunded: Money


_Request = tuple[object, ...]
_Outcome = tuple[ProcessorResult, LedgerEntry | None]


class SimulatedProcessor:
    """An in-process :class:`~ocop.ports.processor.PaymentProcessor` with a ledger."""

    def __init__(
        self,
        *,
        clock: Clock,
        multi_capture: bool = True,
        adjustments: bool = True,
        unlinked_refunds: bool = True,
        connector: str = "sim",
        service_account: str = "sa-1",
        authorization_days: int = 30,
    ) -> None:
        self._clock = clock
        self._caps = ProcessorCapabilities(
            connector=connector,
            service_account=service_account,
            multi_capture=multi_capture,
            adjustments=adjustments,
            unlinked_refunds=unlinked_refunds,
        )
        self._lifetime = timedelta(days=authorization_days)
        self._lock = threading.RLock()
        self._scripts: dict[str, deque[str]] = defaultdict(deque)
        self._answers: dict[str, tuple[_Request, ProcessorResult]] = {}
        self._unreceived: dict[str, _Request] = {}
        self._spent: set[str] = set()
        self._auths: dict[str, _Auth] = {}
        self._captures: dict[str, _Capture] = {}
        self._instruments: dict[str, SavedInstrument] = {}
        self._ledger: list[LedgerEntry] = []
        self._serial = 0
        self.calls = 0  #: how many money calls reached the processor (replays included)

    # -- test controls -----------------------------------------------------------------
    def script(self, kind: str, *outcomes: str) -> None:
        """Queue outcomes for the next calls of ``kind`` (default: approve)."""
        if kind not in KINDS:
            raise InvalidInput(f"unknown call kind {kind!r}; one of {', '.join(KINDS)}")
        for outcome in outcomes or ("approve",):
            if outcome not in SCRIPTS:
                raise InvalidInput(f"unknown script {outcome!r}; one of {', '.join(SCRIPTS)}")
            self._scripts[kind].append(outcome)

    def ledger(self) -> tuple[LedgerEntry, ...]:
        """The processor's own records, oldest first, for reconciliation (V5)."""
        with self._lock:
            return tuple(self._ledger)

    def authorization_open(self, token: str) -> Money | None:
        """What is still open on an authorization the processor issued (None if unknown)."""
        with self._lock:
            auth = self._auths.get(token)
            return None if auth is None else auth.open

    @property
    def capabilities(self) -> ProcessorCapabilities:
        return self._caps

    # -- the port ----------------------------------------------------------------------
    def authorize(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        return self._call(
            "authorize", key, (card.value, amount), lambda: self._authorize(key, card, amount)
        )

    def adjust(self, key: str, authorization: AuthorizationToken, amount: Money) -> ProcessorResult:
        return self._call(
            "adjust",
            key,
            (authorization.value, amount),
            lambda: self._adjust(key, authorization, amount),
        )

    def capture(
        self, key: str, authorization: AuthorizationToken, amount: Money
    ) -> ProcessorResult:
        return self._call(
            "capture",
            key,
            (authorization.value, amount),
            lambda: self._capture(key, authorization, amount),
        )

    def void(self, key: str, authorization: AuthorizationToken) -> ProcessorResult:
        return self._call(
            "void", key, (authorization.value,), lambda: self._void(key, authorization)
        )

    def refund(self, key: str, capture: CaptureToken, amount: Money) -> ProcessorResult:
        return self._call(
            "refund", key, (capture.value, amount), lambda: self._refund(key, capture, amount)
        )

    def unlinked_refund(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        return self._call(
            "unlinked_refund", key, (card.value, amount), lambda: self._unlinked(key, card, amount)
        )

    def tokenize(self, key: str, customer_id: str, instrument_id: str, cvv: str) -> ProcessorResult:
        # The CVV is checked and dropped here: it is in no request, answer or ledger entry.
        valid_cvv = isinstance(cvv, str) and cvv.isdigit() and len(cvv) in (3, 4)
        return self._call(
            "tokenize",
            key,
            (customer_id, instrument_id),
            lambda: self._tokenize(key, customer_id, instrument_id, valid_cvv=valid_cvv),
        )

    def save_instrument(self, customer_id: str, card: CardToken) -> SavedInstrument:
        with self._lock:
            self._require_account(card)
            if not card.reusable:
                raise InvalidInput("only a reusable card token can be saved")
            instrument = SavedInstrument(
                instrument_id=f"PI-{len(self._instruments) + 1}", customer_id=customer_id, card=card
            )
            self._instruments[instrument.instrument_id] = instrument
            return instrument

    def instruments(self, customer_id: str) -> tuple[SavedInstrument, ...]:
        with self._lock:
            return tuple(i for i in self._instruments.values() if i.customer_id == customer_id)

    def lookup(self, key: str) -> ProcessorResult:
        with self._lock:
            if key in self._answers:
                return self._answers[key][1]
            # Never received (or never sent): the key is spent and will not be carried out later.
            self._unreceived.pop(key, None)
            self._spent.add(key)
            return ProcessorResult(key=key, outcome=Outcome.NOT_RECEIVED)

    # -- machinery ---------------------------------------------------------------------
    def _call(
        self, kind: str, key: str, args: _Request, run: Callable[[], _Outcome]
    ) -> ProcessorResult:
        request: _Request = (kind, *args)
        with self._lock:
            self.calls += 1
            if key in self._answers:
                first, answer = self._answers[key]
                if first != request:
                    raise IdempotencyConflict(key)
                return answer
            if key in self._spent:
                return ProcessorResult(key=key, outcome=Outcome.NOT_RECEIVED)
            lost = self._unreceived.pop(key, None)
            if lost is not None and lost != request:
                self._unreceived[key] = lost
                raise IdempotencyConflict(key)
            script = self._scripts[kind].popleft() if self._scripts[kind] else "approve"
            if script == "timeout_before":
                self._unreceived[key] = request
                return ProcessorResult(key=key, outcome=Outcome.UNKNOWN, reason="timeout")
            if script == "decline":
                answer = ProcessorResult(
                    key=key, outcome=Outcome.DECLINED, reason="scripted decline"
                )
                self._answers[key] = (request, answer)
                return answer
            answer, entry = run()
            self._answers[key] = (request, answer)
            if entry is not None:
                self._ledger.append(entry)
            if script == "timeout_after_success":
                return ProcessorResult(key=key, outcome=Outcome.UNKNOWN, reason="timeout")
            if script == "crash_after_success":
                raise SimulatedCrash(f"process died after {kind} {key}")
            return answer

    def _next(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}_{self._serial}"

    def _decline(self, key: str, reason: str) -> _Outcome:
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
    ) -> _Outcome:
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

    def _live_auth(self, key: str, token: AuthorizationToken) -> _Auth | _Outcome:
        auth = self._auths.get(token.value)
        if auth is None or not self._own(token):
            return self._decline(key, "unknown authorization for this account")
        if self._clock.now() >= auth.created_at + self._lifetime:
            return self._decline(key, "authorization expired")
        return auth

    def _authorize(self, key: str, card: CardToken, amount: Money) -> _Outcome:
        if not self._own(card):
            return self._decline(key, "card token of another connector or service account")
        if not amount.is_positive():
            return self._decline(key, "amount must be positive")
        now = self._clock.now()
        if card.expired_on(now.year, now.month):
            return self._decline(key, "card expired")
        token = self._token(AuthorizationToken, "auth")
        zero = Money.zero(amount.currency)
        self._auths[token.value] = _Auth(
            card=card, amount=amount, captured=zero, voided=zero, created_at=now,
            multi_capture=self._caps.multi_capture,
        )  # fmt: skip
        return self._approved(
            "authorize", key, amount, token, card.value, multi=self._caps.multi_capture
        )

    def _adjust(self, key: str, token: AuthorizationToken, amount: Money) -> _Outcome:
        if not self._caps.adjustments:
            return self._decline(key, "adjustments not supported")
        auth = self._live_auth(key, token)
        if not isinstance(auth, _Auth):
            return auth
        if auth.open.is_zero() or amount < auth.captured + auth.voided or not amount.is_positive():
            return self._decline(key, "cannot adjust below what is captured")
        auth.amount = amount
        return self._approved("adjust", key, amount, token, token.value, multi=auth.multi_capture)

    def _capture(self, key: str, token: AuthorizationToken, amount: Money) -> _Outcome:
        auth = self._live_auth(key, token)
        if not isinstance(auth, _Auth):
            return auth
        if not amount.is_positive() or amount > auth.open:
            return self._decline(key, "capture exceeds the open authorized amount")
        auth.captured = auth.captured + amount
        if not auth.multi_capture:
            auth.voided = auth.voided + auth.open
        capture = self._token(CaptureToken, "cap")
        self._captures[capture.value] = _Capture(
            amount=amount, refunded=Money.zero(amount.currency)
        )
        return self._approved("capture", key, amount, capture, token.value)

    def _void(self, key: str, token: AuthorizationToken) -> _Outcome:
        auth = self._auths.get(token.value)
        if auth is None or not self._own(token) or auth.open.is_zero():
            return self._decline(key, "nothing open to void")
        released = auth.open
        auth.voided = auth.voided + released
        return self._approved("void", key, released, token, token.value)

    def _refund(self, key: str, token: CaptureToken, amount: Money) -> _Outcome:
        capture = self._captures.get(token.value)
        if capture is None or not self._own(token):
            return self._decline(key, "unknown capture for this account")
        if not amount.is_positive() or amount > capture.amount - capture.refunded:
            return self._decline(key, "refund exceeds what is refundable")
        capture.refunded = capture.refunded + amount
        return self._approved("refund", key, amount, self._token(RefundToken, "ref"), token.value)

    def _unlinked(self, key: str, card: CardToken, amount: Money) -> _Outcome:
        if not self._caps.unlinked_refunds:
            return self._decline(key, "unlinked refunds not supported")
        if not self._own(card) or not amount.is_positive():
            return self._decline(key, "card token of another connector or service account")
        token = self._token(RefundToken, "ref")
        return self._approved("unlinked_refund", key, amount, token, card.value)

    def _tokenize(
        self, key: str, customer_id: str, instrument_id: str, *, valid_cvv: bool
    ) -> _Outcome:
        instrument = self._instruments.get(instrument_id)
        if instrument is None or instrument.customer_id != customer_id:
            return self._decline(key, "no such instrument for this customer")
        if not valid_cvv:
            return self._decline(key, "security code check failed")
        card = attrs.evolve(instrument.card, value=self._next("tok_pi"))
        return ProcessorResult(key=key, outcome=Outcome.APPROVED, token=card), None
