"""A processor made of several: each call goes to the one that issued its token (I5).

An omni-channel back office holds authorizations made under several accounts (the
stores' terminals' merchant account, the online shop's). :class:`ProcessorRouter` is
itself a :class:`~ocop.ports.processor.PaymentProcessor`: a call on a card, an
authorization or a capture goes to the processor whose connector and service account
issued that token; a token of an account none of them serves is refused locally,
declined with no call. A lookup asks the processors in turn.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ocop.domain.edge import (
    check_call,
    check_id,
    check_instance,
    check_interface,
    check_key,
    check_tokenize_call,
)
from ocop.domain.errors import InvalidArgument
from ocop.domain.money import Money
from ocop.domain.operations import Outcome, ProcessorResult
from ocop.domain.tokens import (
    AuthorizationToken,
    CaptureToken,
    CardToken,
    ProcessorToken,
    SavedInstrument,
)
from ocop.ports.processor import PaymentProcessor, ProcessorCapabilities, RecoveryMethod

__all__ = ["ProcessorRouter"]

#: What the router calls on each of its processors: the whole port.
_PORT = ("capabilities", "authorize", "adjust", "capture", "void", "refund", "unlinked_refund",
         "tokenize", "save_instrument", "instruments", "lookup")  # fmt: skip


def _processors(value: object) -> tuple[PaymentProcessor, ...]:
    """A list of processors, each implementing the whole port with capabilities of its own
    (a lone processor, a string or a mapping is refused, not iterated)."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise InvalidArgument(
            f"processors must be a list of processors, not {type(value).__name__}",
            argument="processors",
        )
    found = tuple(value)
    for n, processor in enumerate(found):
        check_interface(processor, _PORT, f"processors[{n}]")
        check_instance(processor.capabilities, ProcessorCapabilities,
                       f"processors[{n}].capabilities")  # fmt: skip
    return found


class ProcessorRouter:
    """Several processors behind one port, each serving its own connector and account.

    Its capabilities are the first processor's connector and account, serving the others'
    too; adjustments and multi-capture only where every processor has them (what ocop
    plans then works on each; an authorization keeps its own processor's multi-capture,
    answered or decided by a notification); unlinked refunds where any has them (a card
    is paid one only where its own processor has them). Recovery: by replay when any
    processor needs it (a replay goes to the processor that served the call, and one that
    keeps its keys answers it as a lookup would), else lookups asked of each processor in
    turn; the shortest key lifetime; an unknown key is taken as never received only when
    every processor keeps every key.
    """

    def __init__(self, processors: Iterable[PaymentProcessor]) -> None:
        self._processors = _processors(processors)
        if not self._processors:
            raise InvalidArgument("a router needs at least one processor", argument="processors")
        self._by_account: dict[tuple[str, str], PaymentProcessor] = {}
        for processor in self._processors:
            caps = processor.capabilities
            pair = (caps.connector, caps.service_account)
            if pair in self._by_account:
                raise InvalidArgument(
                    f"two processors serve {caps.connector}/{caps.service_account}",
                    argument="processors",
                )
            self._by_account[pair] = processor
        every = [p.capabilities for p in self._processors]
        lifetimes = [c.key_lifetime for c in every if c.key_lifetime is not None]
        first = every[0]
        self._caps = ProcessorCapabilities(
            connector=first.connector,
            service_account=first.service_account,
            multi_capture=all(c.multi_capture for c in every),
            adjustments=all(c.adjustments for c in every),
            unlinked_refunds=any(c.unlinked_refunds for c in every),
            recovery=(
                RecoveryMethod.REPLAY
                if any(c.recovery is RecoveryMethod.REPLAY for c in every)
                else RecoveryMethod.LOOKUP
            ),
            unknown_key_never_received=all(c.unknown_key_never_received for c in every),
            key_lifetime=min(lifetimes) if lifetimes else None,
            also_serves=frozenset(self._by_account) - {(first.connector, first.service_account)},
            multi_capture_accounts=frozenset(
                pair
                for pair, processor in self._by_account.items()
                if processor.capabilities.multi_capture
            ),
            no_unlinked_refund_accounts=frozenset(
                pair
                for pair, processor in self._by_account.items()
                if not processor.capabilities.unlinked_refunds
            ),
        )

    @property
    def capabilities(self) -> ProcessorCapabilities:
        return self._caps

    def _for(self, token: ProcessorToken) -> PaymentProcessor | None:
        return self._by_account.get((token.connector, token.service_account))

    @staticmethod
    def _refused(key: str, token: ProcessorToken) -> ProcessorResult:
        reason = f"no processor serves {token.connector}/{token.service_account}"
        return ProcessorResult(key=key, outcome=Outcome.DECLINED, reason=reason)

    def authorize(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        processor = self._for(check_call(key, card, CardToken, "card", amount))
        if processor is None:
            return self._refused(key, card)
        return processor.authorize(key, card, amount)

    def adjust(self, key: str, authorization: AuthorizationToken, amount: Money) -> ProcessorResult:
        processor = self._for(
            check_call(key, authorization, AuthorizationToken, "authorization", amount)
        )
        if processor is None:
            return self._refused(key, authorization)
        return processor.adjust(key, authorization, amount)

    def capture(
        self, key: str, authorization: AuthorizationToken, amount: Money
    ) -> ProcessorResult:
        processor = self._for(
            check_call(key, authorization, AuthorizationToken, "authorization", amount)
        )
        if processor is None:
            return self._refused(key, authorization)
        return processor.capture(key, authorization, amount)

    def void(self, key: str, authorization: AuthorizationToken) -> ProcessorResult:
        processor = self._for(check_call(key, authorization, AuthorizationToken, "authorization"))
        if processor is None:
            return self._refused(key, authorization)
        return processor.void(key, authorization)

    def refund(self, key: str, capture: CaptureToken, amount: Money) -> ProcessorResult:
        processor = self._for(check_call(key, capture, CaptureToken, "capture", amount))
        if processor is None:
            return self._refused(key, capture)
        return processor.refund(key, capture, amount)

    def unlinked_refund(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        processor = self._for(check_call(key, card, CardToken, "card", amount))
        if processor is None:
            return self._refused(key, card)
        if not processor.capabilities.unlinked_refunds:
            reason = f"{card.connector}/{card.service_account} takes no unlinked refunds"
            return ProcessorResult(key=key, outcome=Outcome.DECLINED, reason=reason)
        return processor.unlinked_refund(key, card, amount)

    def tokenize(self, key: str, customer_id: str, instrument_id: str, cvv: str) -> ProcessorResult:
        """The call goes to the processor holding the instrument; held by none, or by more
        than one (processors numbering their instruments alike), it is declined with no call:
        an id that may mean two cards charges neither."""
        check_tokenize_call(key, customer_id, instrument_id, cvv)
        holders = [
            processor
            for processor in self._processors
            if customer_id  # a guest's ("") is held by none
            and any(i.instrument_id == instrument_id for i in processor.instruments(customer_id))
        ]
        if len(holders) == 1:
            return holders[0].tokenize(key, customer_id, instrument_id, cvv)
        reason = (
            "several processors hold a saved instrument with this id"
            if holders
            else "no processor holds this saved instrument"
        )
        return ProcessorResult(key=key, outcome=Outcome.DECLINED, reason=reason)

    def save_instrument(self, customer_id: str, card: CardToken) -> SavedInstrument:
        check_id(customer_id, "customer_id")
        processor = self._for(check_instance(card, CardToken, "card"))
        if processor is None:
            raise InvalidArgument(
                f"no processor serves {card.connector}/{card.service_account}", argument="card"
            )
        return processor.save_instrument(customer_id, card)

    def instruments(self, customer_id: str) -> tuple[SavedInstrument, ...]:
        """Every processor's, in the processors' order. Two of them may list the same id
        (a real processor's ids are its own): ocop then refuses to pay with it
        (:class:`~ocop.domain.errors.AmbiguousInstrument`) and :meth:`tokenize` declines it."""
        check_id(customer_id, "customer_id")
        return tuple(i for p in self._processors for i in p.instruments(customer_id))

    def lookup(self, key: str) -> ProcessorResult:
        """The first processor that knows ``key`` answers; unknown to all, never received
        (each says so), or unknown while one of them cannot tell."""
        check_key(key)
        unsure = False
        for processor in self._processors:
            found = processor.lookup(key)
            if found.outcome is Outcome.UNKNOWN:
                unsure = True
            elif found.outcome is not Outcome.NOT_RECEIVED:
                return found
        outcome = Outcome.UNKNOWN if unsure else Outcome.NOT_RECEIVED
        return ProcessorResult(key=key, outcome=outcome)
