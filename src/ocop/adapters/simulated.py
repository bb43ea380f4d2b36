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

``pending`` (captures, refunds, voids and adjustments only, rule N1): the call is
checked as an approval would be (what would be declined is declined), and answered
``PENDING`` with the token it would carry if approved. Until it is settled the
money counts as moved for the processor's own checks (a pending capture against its
authorization, a pending refund against its capture; a pending capture cannot be
refunded yet), replays and lookups of its key answer ``PENDING``, and it is not in
the :meth:`~SimulatedProcessor.ledger`. :meth:`~SimulatedProcessor.settle_pending`
settles pending operations in the order they were made and returns one
:class:`~ocop.domain.notifications.Notification` for each: approved, the operation
enters the ledger (dated when settled) and its key answers the approved answer;
declined, its effect is undone (the authorization or capture gets the money back)
and its key answers ``DECLINED``.

With ``state=`` (a file path) the simulator keeps its records in a SQLite file
(:mod:`ocop.adapters._simulated_file`) and a new simulator on the same file carries
on where the old one stopped: same answers per key, same ledger, unique tokens.
Scripts queued with :meth:`~SimulatedProcessor.script` and :attr:`calls` belong to
one simulator object and are not kept.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Final

from ocop.adapters._simulated_pending import hold, pending_in_order, settle
from ocop.adapters._simulated_records import (
    KeyRecord,
    LedgerEntry,
    Records,
    Request,
)
from ocop.adapters._simulated_rules import Answer, SimulatedRules
from ocop.domain.cardguard import is_cvv
from ocop.domain.cardnumbers import quoted
from ocop.domain.edge import (
    MAX_ID_LENGTH,
    check_bool,
    check_call,
    check_clock,
    check_count,
    check_id,
    check_instance,
    check_key,
    check_path,
    check_reference,
    check_tokenize_call,
)
from ocop.domain.errors import IdempotencyConflict, InvalidArgument, InvalidInput
from ocop.domain.money import Money
from ocop.domain.notifications import Notification
from ocop.domain.operations import Outcome, ProcessorResult
from ocop.domain.tokens import (
    AuthorizationToken,
    CaptureToken,
    CardToken,
    SavedInstrument,
)
from ocop.ports.clock import Clock
from ocop.ports.processor import ProcessorCapabilities

__all__ = [
    "PENDING_KINDS",
    "SCRIPTS",
    "LedgerEntry",
    "SimulatedCrash",
    "SimulatedProcessor",
]

KINDS: Final = ("authorize", "adjust", "capture", "void", "refund", "unlinked_refund", "tokenize")
#: The faults every call kind can be scripted with.
SCRIPTS: Final = (
    "approve",
    "decline",
    "timeout_before",
    "timeout_after_success",
    "crash_after_success",
)
#: The call kinds that can also be scripted ``"pending"`` (N1).
PENDING_KINDS: Final = ("capture", "refund", "void", "adjust")
#: The connector and account a simulator serves unless told otherwise.
DEFAULT_CONNECTOR: Final = "sim"
DEFAULT_ACCOUNT: Final = "sa-1"
#: A digest's hex digits as letters only: a run of its digits could pass for a card number
#: (T2), and ocop refuses such an id.
_LETTERS: Final = str.maketrans("0123456789", "ghijklmnop")
#: The longest an authorization lives on the simulator, in days (ten years).
MAX_AUTHORIZATION_DAYS: Final = 3650


class SimulatedCrash(BaseException):
    """The calling process 'died' right after the processor moved money.

    A BaseException, like SystemExit, so that no ``except Exception`` swallows it.
    """


class SimulatedProcessor(SimulatedRules):
    """An in-process :class:`~ocop.ports.processor.PaymentProcessor` with a ledger.

    ``state``: a file path for the durable mode (its records survive a restart);
    None keeps them in memory. ``authorization_days``: how long an authorization lives, a
    whole number of days from 1 to 3650. Arguments of another type (a flag that is not a
    bool, a clock without ``now()``) raise :class:`~ocop.domain.errors.InvalidArgument`.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        multi_capture: bool = True,
        adjustments: bool = True,
        unlinked_refunds: bool = True,
        connector: str = DEFAULT_CONNECTOR,
        service_account: str = DEFAULT_ACCOUNT,
        authorization_days: int = 30,
        state: str | os.PathLike[str] | None = None,
    ) -> None:
        check_clock(clock, "clock")
        self._clock = clock
        self._caps = ProcessorCapabilities(
            connector=check_reference(connector, "connector"),
            service_account=check_reference(service_account, "service_account"),
            multi_capture=check_bool(multi_capture, "multi_capture"),
            adjustments=check_bool(adjustments, "adjustments"),
            unlinked_refunds=check_bool(unlinked_refunds, "unlinked_refunds"),
        )
        check_count(authorization_days, "authorization_days", MAX_AUTHORIZATION_DAYS)
        self._lifetime = timedelta(days=authorization_days)
        self._lock = threading.RLock()
        self._scripts: dict[str, deque[str]] = defaultdict(deque)
        self._records = _open(state)
        self.calls = 0  #: how many money calls reached the processor (replays included)

    # -- test controls -----------------------------------------------------------------
    def script(self, kind: str, *outcomes: str) -> None:
        """Queue outcomes for the next calls of ``kind`` (default: approve)."""
        if kind not in KINDS:
            raise InvalidInput(f"unknown call kind {quoted(kind)}; one of {', '.join(KINDS)}")
        outcomes = outcomes or ("approve",)
        for outcome in outcomes:
            if outcome == "pending" and kind not in PENDING_KINDS:
                raise InvalidInput(f"only {', '.join(PENDING_KINDS)} calls can be answered pending")
            if outcome not in (*SCRIPTS, "pending"):
                raise InvalidInput(
                    f"unknown script {quoted(outcome)}; one of {', '.join(SCRIPTS)}, pending"
                )
        with self._lock:
            self._scripts[kind].extend(outcomes)

    def ledger(self) -> tuple[LedgerEntry, ...]:
        """The processor's own records, oldest first, for reconciliation (V5).

        A pending operation enters it only once settled approved.
        """
        with self._lock:
            return tuple(self._records.ledger.values())

    def authorization_open(self, token: str) -> Money | None:
        """What is still open on an authorization the processor issued (None if unknown)."""
        with self._lock:
            auth = self._records.auths.get(token)
            return None if auth is None else auth.open

    def pending_keys(self) -> tuple[str, ...]:
        """The keys of the operations still pending, in the order they were made."""
        with self._lock:
            return tuple(p.answer.key for p in pending_in_order(self._records))

    def settle_pending(
        self, outcome: str = "approve", keys: Sequence[str] | None = None
    ) -> tuple[Notification, ...]:
        """Settle the pending operations (or those of ``keys``), in the order they were made.

        ``outcome``: ``"approve"`` or ``"decline"``. A key that is not pending (never was,
        or already settled) is passed over: an operation is settled, and notified, once.
        Returns the notification the processor sends for each operation settled.
        """
        if outcome not in ("approve", "decline"):
            raise InvalidInput("outcome must be 'approve' or 'decline'")
        if keys is not None and (
            isinstance(keys, str)
            or not isinstance(keys, Sequence)
            or not all(isinstance(k, str) for k in keys)
        ):
            raise InvalidArgument("keys must be a sequence of operation keys", argument="keys")
        with self._lock:
            try:
                chosen = [
                    p
                    for p in pending_in_order(self._records)
                    if keys is None or p.answer.key in keys
                ]
                return tuple(
                    settle(self._records, p, approve=outcome == "approve", caps=self._caps,
                           at=self._clock.now())
                    for p in chosen
                )  # fmt: skip
            finally:
                self._records.save()

    def close(self) -> None:
        """Close the state file (durable mode); the simulator is not used afterwards."""
        with self._lock:
            self._records.close()

    @property
    def capabilities(self) -> ProcessorCapabilities:
        return self._caps

    # -- the port ----------------------------------------------------------------------
    def authorize(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        check_call(key, card, CardToken, "card", amount)
        return self._call(
            key, Request(kind="authorize", target=card.value, amount=amount),
            lambda: self._authorize(key, card, amount),
        )  # fmt: skip

    def adjust(self, key: str, authorization: AuthorizationToken, amount: Money) -> ProcessorResult:
        check_call(key, authorization, AuthorizationToken, "authorization", amount)
        return self._call(
            key, Request(kind="adjust", target=authorization.value, amount=amount),
            lambda: self._adjust(key, authorization, amount),
        )  # fmt: skip

    def capture(
        self, key: str, authorization: AuthorizationToken, amount: Money
    ) -> ProcessorResult:
        check_call(key, authorization, AuthorizationToken, "authorization", amount)
        return self._call(
            key, Request(kind="capture", target=authorization.value, amount=amount),
            lambda: self._capture(key, authorization, amount),
        )  # fmt: skip

    def void(self, key: str, authorization: AuthorizationToken) -> ProcessorResult:
        check_call(key, authorization, AuthorizationToken, "authorization")
        return self._call(
            key, Request(kind="void", target=authorization.value),
            lambda: self._void(key, authorization),
        )  # fmt: skip

    def refund(self, key: str, capture: CaptureToken, amount: Money) -> ProcessorResult:
        check_call(key, capture, CaptureToken, "capture", amount)
        return self._call(
            key, Request(kind="refund", target=capture.value, amount=amount),
            lambda: self._refund(key, capture, amount),
        )  # fmt: skip

    def unlinked_refund(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        check_call(key, card, CardToken, "card", amount)
        return self._call(
            key, Request(kind="unlinked_refund", target=card.value, amount=amount),
            lambda: self._unlinked(key, card, amount),
        )  # fmt: skip

    def tokenize(self, key: str, customer_id: str, instrument_id: str, cvv: str) -> ProcessorResult:
        check_tokenize_call(key, customer_id, instrument_id, cvv)
        # The CVV is checked and dropped here: it is in no request, answer or ledger entry.
        valid_cvv = is_cvv(cvv)  # ASCII digits only, as ocop's own check
        return self._call(
            key, Request(kind="tokenize", target=customer_id, instrument=instrument_id),
            lambda: self._tokenize(key, customer_id, instrument_id, valid_cvv=valid_cvv),
        )  # fmt: skip

    def save_instrument(self, customer_id: str, card: CardToken) -> SavedInstrument:
        check_id(customer_id, "customer_id")
        check_instance(card, CardToken, "card")
        with self._lock:
            self._require_account(card)
            if not card.reusable:
                raise InvalidInput("only a reusable card token can be saved")
            instruments = self._records.instruments
            instrument = SavedInstrument(
                instrument_id=self._instrument_id(len(instruments) + 1),
                customer_id=customer_id,
                card=card,
            )
            instruments.put(instrument.instrument_id, instrument)
            self._records.save()
            return instrument

    def _instrument_id(self, number: int) -> str:
        """``PI-<n>`` under the default account (sim/sa-1), ``PI-<n>@<connector>/<account>``
        under any other, so that simulators of several accounts behind one router never
        give two cards one id (I5); an account name too long for an id is shortened to a
        digest of it."""
        pair = (self._caps.connector, self._caps.service_account)
        if pair == (DEFAULT_CONNECTOR, DEFAULT_ACCOUNT):
            return f"PI-{number}"
        own = f"PI-{number}@{pair[0]}/{pair[1]}"
        if len(own) <= MAX_ID_LENGTH:
            return own
        digest = hashlib.sha256("\0".join(pair).encode()).hexdigest().translate(_LETTERS)
        return f"PI-{number}@{digest[:24]}"

    def instruments(self, customer_id: str) -> tuple[SavedInstrument, ...]:
        check_id(customer_id, "customer_id")
        with self._lock:
            found = self._records.instruments.values()
            return tuple(i for i in found if i.customer_id == customer_id)

    def lookup(self, key: str) -> ProcessorResult:
        check_key(key)
        with self._lock:
            known = self._records.keys.get(key)
            if known is not None and known.answer is not None:
                return known.answer
            # Never received (or never sent): the key is spent and will not be carried out later.
            if known is None or not known.spent:
                self._records.keys.put(key, KeyRecord(spent=True))
                self._records.save()
            return ProcessorResult(key=key, outcome=Outcome.NOT_RECEIVED)

    # -- machinery ---------------------------------------------------------------------
    def _call(self, key: str, request: Request, run: Callable[[], Answer]) -> ProcessorResult:
        with self._lock:
            self.calls += 1
            try:
                return self._answer(key, request, run)
            finally:
                self._records.save()  # before the answer, or the crash, leaves the processor

    def _answer(self, key: str, request: Request, run: Callable[[], Answer]) -> ProcessorResult:
        keys = self._records.keys
        known = keys.get(key)
        if known is not None:
            if known.spent:
                return ProcessorResult(key=key, outcome=Outcome.NOT_RECEIVED)
            if known.request != request:
                raise IdempotencyConflict(key)
            if known.answer is not None:
                return known.answer
        queue = self._scripts[request.kind]
        script = queue.popleft() if queue else "approve"
        if script == "timeout_before":
            keys.put(key, KeyRecord(request=request))
            return ProcessorResult(key=key, outcome=Outcome.UNKNOWN, reason="timeout")
        if script == "decline":
            answer = ProcessorResult(key=key, outcome=Outcome.DECLINED, reason="scripted decline")
            keys.put(key, KeyRecord(request=request, answer=answer))
            return answer
        if script == "pending":
            answer = hold(self._records, key, request, run)
            keys.put(key, KeyRecord(request=request, answer=answer))
            return answer
        answer, entry = run()
        keys.put(key, KeyRecord(request=request, answer=answer))
        if entry is not None:
            self._records.append(entry)
        if script == "timeout_after_success":
            return ProcessorResult(key=key, outcome=Outcome.UNKNOWN, reason="timeout")
        if script == "crash_after_success":
            raise SimulatedCrash(f"process died after {request.kind} {key}")
        return answer


def _open(state: str | os.PathLike[str] | None) -> Records:
    if state is None:
        return Records()
    check_path(state, "state")
    # sqlite3 is imported only when a state file is asked for.
    from ocop.adapters._simulated_file import FileRecords  # noqa: PLC0415

    return FileRecords(state)
