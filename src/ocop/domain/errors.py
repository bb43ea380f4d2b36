"""The exceptions ocop raises, all under one root.

::

    OcopError
    ├── InvalidInput (ValueError)
    │   ├── InvalidArgument
    │   ├── InvalidId
    │   ├── UnknownInvoice
    │   ├── InvalidAmount
    │   ├── UnknownCurrency
    │   ├── CurrencyMismatch
    │   ├── CardNumberRefused
    │   ├── InvalidCvv
    │   ├── InvalidSettings
    │   └── InvalidDraftEdit
    ├── PermissionDenied (PermissionError)
    ├── FeatureDisabled
    ├── NotFound (LookupError)
    │   ├── OrderNotFound
    │   ├── LineNotFound
    │   └── InstrumentNotFound
    │       └── AmbiguousInstrument
    ├── IllegalTransition
    │   └── DraftAlreadySubmitted
    ├── RefundExceedsReceived
    ├── ConnectorMismatch
    ├── DuplicateOrder
    ├── ConcurrentUpdate
    ├── VoucherUnbalanced
    ├── OperationInDoubt
    ├── IdempotencyConflict
    ├── StorageError
    │   ├── StorageUnavailable
    │   ├── StorageBusy
    │   └── StorageLimitExceeded
    └── MissingExtra (ImportError)

Every error carries structured attributes (``order_id``, ``amount`` ...) where
they make sense. No message or attribute ever contains a card number or a
control character from the input (rule E2): the root masks every text given to
it, whatever path built it (:func:`ocop.domain.cardnumbers.mask`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from ocop.domain.cardnumbers import mask, quoted


def _masked(value: object) -> Any:
    """``value`` with every text in it masked (E2); other values as they are."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, tuple):
        return tuple(_masked(item) for item in value)
    if isinstance(value, frozenset):
        return frozenset(_masked(item) for item in value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    return value


class OcopError(Exception):
    """Root of every error ocop raises on purpose.

    Its message and every attribute set on it pass through one masking step (E2):
    a card number becomes ``[card number]``, a control character its escape.
    """

    def __init__(self, *args: object) -> None:
        super().__init__(*(_masked(arg) for arg in args))

    def __setattr__(self, name: str, value: object) -> None:
        super().__setattr__(name, _masked(value))

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take their own arguments, not the message: rebuild from the message
        # and attributes as they are (already masked), so errors cross processes and copies.
        return (_restored, (type(self), self.args, dict(self.__dict__)))


def _restored(cls: type[OcopError], args: tuple[object, ...], state: dict[str, Any]) -> OcopError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class InvalidInput(OcopError, ValueError):
    """Input that ocop refuses; nothing was changed."""


class InvalidArgument(InvalidInput):
    """An argument of the wrong type or outside its enumeration (rule E1)."""

    def __init__(self, message: str, *, argument: str) -> None:
        super().__init__(message)
        self.argument = argument


class InvalidId(InvalidInput):
    """An id that is not a non-empty string of at most 128 printable characters (rule E1)."""

    def __init__(self, message: str, *, argument: str) -> None:
        super().__init__(message)
        self.argument = argument


class UnknownInvoice(InvalidInput):
    """``invoices=`` names an invoice the order does not have (rule E1)."""

    def __init__(self, order_id: str, invoice_id: str) -> None:
        super().__init__(f"order {quoted(order_id)} has no invoice {quoted(invoice_id)}")
        self.order_id = order_id
        self.invoice_id = invoice_id


class InvalidCvv(InvalidInput):
    """A CVV that is not three or four digits; it went nowhere (rule T1)."""

    def __init__(self) -> None:
        super().__init__("a CVV is 3 or 4 digits")


class InvalidAmount(InvalidInput):
    """An amount that is not exact money (a float, NaN, infinity, too many decimals, 10**18
    units or more). Exact money that a rule refuses (a payment, invoice or refund of zero
    or less) is plain :class:`InvalidInput`, as docs/errors.md says."""


class UnknownCurrency(InvalidInput):
    """A currency code that is not an active ISO 4217 code with minor units (V7)."""

    def __init__(self, code: str, *, why: str = "") -> None:
        super().__init__(f"unknown currency code {quoted(code)}" + (f": {why}" if why else ""))
        self.code = code


class CurrencyMismatch(InvalidInput):
    """Amounts of different currencies meet: in arithmetic or a comparison, or an amount
    given in another currency than its order's (a payment in EUR on a USD order, V7).
    ``left`` is the amount's currency, ``right`` the one it meets (the order's)."""

    def __init__(self, left: str, right: str, message: str | None = None) -> None:
        super().__init__(message or f"currencies differ: {left} and {right}")
        self.left = left
        self.right = right


class CardNumberRefused(InvalidInput):
    """A value that looks like a card number (or a CVV) where none may be stored (rule T2).

    The message names the field, never the value.
    """

    def __init__(self, field: str) -> None:
        super().__init__(
            f"{field} looks like a card number; ocop stores processor tokens only, never card data"
        )
        self.field = field


class InvalidSettings(InvalidInput):
    """Settings that break a rule (F1 ...); nothing is applied."""


class InvalidDraftEdit(InvalidInput):
    """A completion-draft edit that breaks a rule (C1-C6); the draft is unchanged."""

    def __init__(self, message: str, *, rule: str, line_id: str | None = None) -> None:
        super().__init__(f"{rule}: {message}")
        self.rule = rule
        self.line_id = line_id


class PermissionDenied(OcopError, PermissionError):
    """The actor may not do this (rule P1, R4, S4)."""

    def __init__(self, message: str, *, actor_id: str, action: str) -> None:
        super().__init__(message)
        self.actor_id = actor_id
        self.action = action


class FeatureDisabled(OcopError):
    """A feature this step needs is off (rules F1, P2, R4)."""

    def __init__(self, message: str, *, feature: str) -> None:
        super().__init__(message)
        self.feature = feature


class NotFound(OcopError, LookupError):
    """Something named by id does not exist."""


class OrderNotFound(NotFound):
    """No order with this id (``.order_id``)."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"no order {quoted(order_id)}")
        self.order_id = order_id


class LineNotFound(NotFound):
    """No payment line with this id in the completion draft (or the order) asked
    (``.line_id``)."""

    def __init__(self, line_id: str) -> None:
        super().__init__(f"no payment line {quoted(line_id)}")
        self.line_id = line_id


class InstrumentNotFound(NotFound):
    """No saved instrument with this id for this customer (rule T1)."""

    def __init__(self, instrument_id: str, customer_id: str, message: str | None = None) -> None:
        super().__init__(
            message
            or f"customer {quoted(customer_id)} has no saved instrument {quoted(instrument_id)}"
        )
        self.instrument_id = instrument_id
        self.customer_id = customer_id


class AmbiguousInstrument(InstrumentNotFound):
    """Several of the customer's saved instruments have this id (processors behind one
    router that number their instruments alike): none is charged (rules T1, I5)."""

    def __init__(self, instrument_id: str, customer_id: str) -> None:
        super().__init__(
            instrument_id,
            customer_id,
            f"customer {quoted(customer_id)} has several saved instruments with the id "
            f"{quoted(instrument_id)} (from different processors); none is charged",
        )


class IllegalTransition(OcopError):
    """A state change that the rules forbid; the value is unchanged."""

    def __init__(self, message: str, **context: object) -> None:
        super().__init__(message)
        self.context = context
        self.order_id = cast("str | None", context.get("order_id"))
        self.line_id = cast("str | None", context.get("line_id"))
        self.amount = cast("Decimal | None", context.get("amount"))


class DraftAlreadySubmitted(IllegalTransition):
    """This completion draft was submitted already; begin a new completion to edit again."""

    def __init__(self, order_id: str) -> None:
        super().__init__(
            f"this draft of order {quoted(order_id)} was submitted already; "
            "begin a new completion to change its payments again",
            order_id=order_id,
        )


class RefundExceedsReceived(OcopError):
    """A refund above what the order (or capture) has received (rules R3, R4, V3)."""

    def __init__(self, message: str, *, order_id: str, amount: Decimal) -> None:
        super().__init__(message)
        self.order_id = order_id
        self.amount = amount


class ConnectorMismatch(OcopError):
    """Capture or refund through another connector or service account than authorized (I5)."""


class DuplicateOrder(OcopError):
    """An order with this id already exists."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {quoted(order_id)} already exists")
        self.order_id = order_id


class ConcurrentUpdate(OcopError):
    """Another unit of work changed the order first (rule O5); reload and retry."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {quoted(order_id)} was changed by someone else; reload and retry")
        self.order_id = order_id


class VoucherUnbalanced(OcopError):
    """A journal voucher whose debits and credits differ (rule J1)."""


class OperationInDoubt(OcopError):
    """A processor call of this order has an unknown outcome (rule O3); run ``recover()``."""

    def __init__(self, order_id: str, keys: tuple[str, ...]) -> None:
        super().__init__(
            f"order {quoted(order_id)} has {len(keys)} processor operation(s) in doubt; "
            "run recover() before moving money on it"
        )
        self.order_id = order_id
        self.keys = keys


class IdempotencyConflict(OcopError):
    """An operation key replayed with a different request (rule O4)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"operation key {quoted(key)} was already used for a different request")
        self.key = key


class StorageError(OcopError):
    """The store cannot do what was asked of it (a database written by a newer ocop ...).

    Nothing of the call that raised it was committed (rule E3).
    """


class StorageUnavailable(StorageError):
    """The database cannot be reached or opened; retry when it is back."""


class StorageBusy(StorageError):
    """The database stayed locked or busy past the wait; retry the call."""


class StorageLimitExceeded(StorageError):
    """A value the database cannot hold (too long, not encodable ...); nothing was stored."""


class MissingExtra(OcopError, ImportError):
    """An adapter (or ``ocop.testing``) needs a package that is not installed; the message
    names the extra."""

    def __init__(self, extra: str, package: str, *, needed_by: str = "this adapter") -> None:
        super().__init__(
            f"{needed_by} needs {package}: install it with pip install 'ocop[{extra}]'"
        )
        self.extra = extra
        self.package = package
