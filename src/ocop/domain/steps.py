"""Processor operations as values: what each call asks for (rules O1, O4).

Each step names the line, authorization, capture, invoice or return it acts on,
and mints its own step name (:mod:`ocop.domain.keys`), from which the operation
key of each attempt derives. A step carries references, never secrets: the CVV of
a tokenization and the card of an unlinked refund are given to the call, not
stored with it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

import attrs

from ocop.domain import keys
from ocop.domain.cardguard import validate_no_card_data
from ocop.domain.money import Money
from ocop.domain.outcomes import OperationKind
from ocop.domain.tokens import mask


class VoidPurpose(StrEnum):
    """Why an authorization is voided, which decides what its line does next."""

    #: The line is taken off the order (C6).
    REMOVE = "remove"
    #: The line's card was replaced (C4); it waits for the new card's authorization.
    REPLACE = "replace"
    #: Void, then authorize again: C3 without adjustments, I3 renewal, I6 pickup retry.
    REAUTHORIZE = "reauthorize"
    #: Reduced by all that is open: void, then authorize what remains (C3, C5).
    REDUCE = "reduce"
    #: A declined adjustment releases the authorization and declines the line (C3).
    DECLINED = "declined"
    #: Expired without a reusable card token: released, and the line declined (I3).
    EXPIRED = "expired"
    #: The order is cancelled (X1).
    CANCEL = "cancel"
    #: The renewal job (A1): void, then authorize again with the line's reusable token.
    RENEW = "renew"
    #: Nothing will capture it any more (A1): the order is cancelled or fully invoiced.
    RELEASE = "release"

    @property
    def makes_way(self) -> bool:
        """Whether the line then waits for a new authorization instead of being retired."""
        return self in (
            VoidPurpose.REPLACE,
            VoidPurpose.REAUTHORIZE,
            VoidPurpose.REDUCE,
            VoidPurpose.RENEW,
        )


@attrs.frozen(kw_only=True)
class Authorize:
    """A new authorization ``auth_id`` of ``amount`` on the line's card."""

    kind: ClassVar[OperationKind] = OperationKind.AUTHORIZE
    line_id: str = attrs.field(validator=validate_no_card_data)
    auth_id: str = attrs.field(validator=validate_no_card_data)
    amount: Money
    target: str = attrs.field(repr=mask, validator=validate_no_card_data)

    def name(self, order_id: str) -> str:
        return keys.authorize_step(self.auth_id)


@attrs.frozen(kw_only=True)
class Adjust:
    """An open authorization's total changed to ``amount`` (C3)."""

    kind: ClassVar[OperationKind] = OperationKind.ADJUST
    line_id: str = attrs.field(validator=validate_no_card_data)
    auth_id: str = attrs.field(validator=validate_no_card_data)
    amount: Money
    target: str = attrs.field(repr=mask, validator=validate_no_card_data)

    def name(self, order_id: str) -> str:
        return keys.adjust_step(self.auth_id, self.amount.amount)


@attrs.frozen(kw_only=True)
class Void:
    """What is open on an authorization released; ``purpose`` says what follows."""

    kind: ClassVar[OperationKind] = OperationKind.VOID
    amount: ClassVar[None] = None
    line_id: str = attrs.field(validator=validate_no_card_data)
    auth_id: str = attrs.field(validator=validate_no_card_data)
    purpose: VoidPurpose
    target: str = attrs.field(repr=mask, validator=validate_no_card_data)
    #: Which void of the authorization this is (a failed pending capture gives money back
    #: to an authorization voided before, which a later void releases again).
    number: int = 1

    def name(self, order_id: str) -> str:
        return keys.void_step(self.auth_id, self.number)


@attrs.frozen(kw_only=True)
class Tokenize:
    """A one-time card token for the line's saved instrument (T1)."""

    kind: ClassVar[OperationKind] = OperationKind.TOKENIZE
    amount: ClassVar[None] = None
    line_id: str = attrs.field(validator=validate_no_card_data)
    instrument_id: str = attrs.field(validator=validate_no_card_data)

    def name(self, order_id: str) -> str:
        return keys.tokenize_step(self.line_id)

    @property
    def target(self) -> str:
        return self.instrument_id


@attrs.frozen(kw_only=True)
class Capture:
    """``amount`` of authorization ``auth_id`` captured for ``invoice_id`` (I1, I4): the
    invoice's ``number``-th capture on that authorization."""

    kind: ClassVar[OperationKind] = OperationKind.CAPTURE
    invoice_id: str = attrs.field(validator=validate_no_card_data)
    line_id: str = attrs.field(validator=validate_no_card_data)
    auth_id: str = attrs.field(validator=validate_no_card_data)
    amount: Money
    target: str = attrs.field(repr=mask, validator=validate_no_card_data)
    number: int = 1

    def name(self, order_id: str) -> str:
        return keys.capture_step(self.invoice_id, self.line_id, self.auth_id, self.number)


@attrs.frozen(kw_only=True)
class DepositCapture:
    """``amount`` of authorization ``auth_id`` captured as the order's deposit when it is
    placed, before any invoice (D1): a step of its own, taken once."""

    kind: ClassVar[OperationKind] = OperationKind.CAPTURE
    line_id: str = attrs.field(validator=validate_no_card_data)
    auth_id: str = attrs.field(validator=validate_no_card_data)
    amount: Money
    target: str = attrs.field(repr=mask, validator=validate_no_card_data)

    def name(self, order_id: str) -> str:
        return keys.deposit_capture_step(self.line_id, self.auth_id)


@attrs.frozen(kw_only=True)
class Refund:
    """``amount`` of capture ``capture_id`` refunded for ``return_id``: its ``number``-th."""

    kind: ClassVar[OperationKind] = OperationKind.REFUND
    return_id: str = attrs.field(validator=validate_no_card_data)
    line_id: str = attrs.field(validator=validate_no_card_data)
    capture_id: str = attrs.field(validator=validate_no_card_data)
    number: int
    amount: Money
    target: str = attrs.field(repr=mask, validator=validate_no_card_data)

    def name(self, order_id: str) -> str:
        return keys.refund_step(order_id, self.return_id, self.capture_id, self.number)


@attrs.frozen(kw_only=True)
class UnlinkedRefund:
    """``amount`` paid to a card that did not pay the order, for ``return_id`` (R4)."""

    kind: ClassVar[OperationKind] = OperationKind.UNLINKED_REFUND
    return_id: str = attrs.field(validator=validate_no_card_data)
    number: int
    amount: Money
    target: str = attrs.field(repr=mask, validator=validate_no_card_data)
    #: The connector and service account of the card paid (I5): what a notification's
    #: token of it carries. Not part of the request (a step stored before has neither).
    connector: str = attrs.field(default="", eq=False, validator=validate_no_card_data)
    service_account: str = attrs.field(default="", eq=False, validator=validate_no_card_data)

    def name(self, order_id: str) -> str:
        return keys.unlinked_refund_step(self.return_id, self.number)


Step = Authorize | Adjust | Void | Tokenize | Capture | Refund | UnlinkedRefund | DepositCapture
