"""ocop: omni-channel order payments.

The back-office payment rules of a retail commerce system with three channels
(point of sale, e-commerce, call center): payments on any order can be edited,
completed, cancelled, captured in several invoices and refunded, safely.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    #: The installed distribution's version ("0+unknown" in a source tree never installed).
    __version__: str

    from ocop._backoffice import BackOffice
    from ocop.domain.draft import CompletionDraft
    from ocop.domain.errors import (
        AmbiguousInstrument,
        CardNumberRefused,
        ConcurrentUpdate,
        ConnectorMismatch,
        CurrencyMismatch,
        DraftAlreadySubmitted,
        DuplicateOrder,
        FeatureDisabled,
        IdempotencyConflict,
        IllegalTransition,
        InstrumentNotFound,
        InvalidAmount,
        InvalidArgument,
        InvalidCvv,
        InvalidDraftEdit,
        InvalidId,
        InvalidInput,
        InvalidSettings,
        LineNotFound,
        MissingExtra,
        NotFound,
        OcopError,
        OperationInDoubt,
        OrderNotFound,
        PermissionDenied,
        RefundExceedsReceived,
        StorageBusy,
        StorageError,
        StorageLimitExceeded,
        StorageUnavailable,
        UnknownCurrency,
        UnknownInvoice,
        VoucherUnbalanced,
    )
    from ocop.domain.journal import Voucher, VoucherKind, VoucherLine
    from ocop.domain.money import Money
    from ocop.domain.notifications import Notification, NotificationEvent, NotificationResult
    from ocop.domain.operations import (
        Failed,
        OperationKind,
        OperationRecord,
        Outcome,
    )
    from ocop.domain.operations import (
        Operation as Operation,  # compatible: not in __all__
    )
    from ocop.domain.operations import (
        ProcessorResult as ProcessorResult,  # compatible: not in __all__
    )
    from ocop.domain.order import (
        Channel,
        Hold,
        HoldCode,
        Invoice,
        Order,
        OrderStatus,
        PaymentsType,
        ReleasedHold,
    )
    from ocop.domain.parties import Actor, Customer
    from ocop.domain.payments import CardPayment, Prepayment, SavedCardPayment
    from ocop.domain.queries import OrderQuery as OrderQuery  # compatible: not in __all__
    from ocop.domain.renewal import ReleaseVoid
    from ocop.domain.settings import (
        AuthorizationPolicy,
        CompletionPolicy,
        DepositPolicy,
        Features,
        JournalNames,
        RefundPolicy,
        Settings,
    )
    from ocop.domain.tender import (
        Authorization,
        Capture,
        Chargeback,
        LineStatus,
        PaymentLine,
        PaymentMethod,
        Refund,
    )
    from ocop.domain.tokens import (
        AuthorizationToken,
        CaptureToken,
        CardToken,
        RefundToken,
        SavedInstrument,
    )
    from ocop.services._administration import CancelResult
    from ocop.services._completion import SubmitResult
    from ocop.services._invoicing import InvoiceResult
    from ocop.services._recovery import RecoveryReport
    from ocop.services._refunds import RefundResult
    from ocop.services._renewals import RenewalReport

#: ``Operation``, ``OrderQuery`` and ``ProcessorResult`` are still importable from here,
#: for code written against earlier versions, but are not in ``__all__``: adapter authors
#: find them, with every type a port's methods use, in the port's own module.
#: Where each public name lives; a name's module is imported when the name is first used,
#: so ``import ocop`` stays cheap and loads no adapter, driver or service it does not need.
_PUBLIC: dict[str, str] = {
    "Actor": "ocop.domain.parties",
    "AmbiguousInstrument": "ocop.domain.errors",
    "Authorization": "ocop.domain.tender",
    "AuthorizationPolicy": "ocop.domain.settings",
    "AuthorizationToken": "ocop.domain.tokens",
    "BackOffice": "ocop._backoffice",
    "CancelResult": "ocop.services._administration",
    "Capture": "ocop.domain.tender",
    "CaptureToken": "ocop.domain.tokens",
    "CardNumberRefused": "ocop.domain.errors",
    "CardPayment": "ocop.domain.payments",
    "CardToken": "ocop.domain.tokens",
    "Channel": "ocop.domain.order",
    "Chargeback": "ocop.domain.tender",
    "CompletionDraft": "ocop.domain.draft",
    "CompletionPolicy": "ocop.domain.settings",
    "ConcurrentUpdate": "ocop.domain.errors",
    "ConnectorMismatch": "ocop.domain.errors",
    "CurrencyMismatch": "ocop.domain.errors",
    "Customer": "ocop.domain.parties",
    "DepositPolicy": "ocop.domain.settings",
    "DraftAlreadySubmitted": "ocop.domain.errors",
    "DuplicateOrder": "ocop.domain.errors",
    "Failed": "ocop.domain.operations",
    "FeatureDisabled": "ocop.domain.errors",
    "Features": "ocop.domain.settings",
    "Hold": "ocop.domain.order",
    "HoldCode": "ocop.domain.order",
    "IdempotencyConflict": "ocop.domain.errors",
    "IllegalTransition": "ocop.domain.errors",
    "InstrumentNotFound": "ocop.domain.errors",
    "InvalidAmount": "ocop.domain.errors",
    "InvalidArgument": "ocop.domain.errors",
    "InvalidCvv": "ocop.domain.errors",
    "InvalidDraftEdit": "ocop.domain.errors",
    "InvalidId": "ocop.domain.errors",
    "InvalidInput": "ocop.domain.errors",
    "InvalidSettings": "ocop.domain.errors",
    "Invoice": "ocop.domain.order",
    "InvoiceResult": "ocop.services._invoicing",
    "JournalNames": "ocop.domain.settings",
    "LineNotFound": "ocop.domain.errors",
    "LineStatus": "ocop.domain.tender",
    "MissingExtra": "ocop.domain.errors",
    "Money": "ocop.domain.money",
    "Notification": "ocop.domain.notifications",
    "NotificationEvent": "ocop.domain.notifications",
    "NotificationResult": "ocop.domain.notifications",
    "NotFound": "ocop.domain.errors",
    "OcopError": "ocop.domain.errors",
    "Operation": "ocop.domain.operations",
    "OperationInDoubt": "ocop.domain.errors",
    "OperationKind": "ocop.domain.operations",
    "OperationRecord": "ocop.domain.operations",
    "Order": "ocop.domain.order",
    "OrderNotFound": "ocop.domain.errors",
    "OrderQuery": "ocop.domain.queries",
    "OrderStatus": "ocop.domain.order",
    "Outcome": "ocop.domain.operations",
    "PaymentLine": "ocop.domain.tender",
    "PaymentMethod": "ocop.domain.tender",
    "PaymentsType": "ocop.domain.order",
    "PermissionDenied": "ocop.domain.errors",
    "Prepayment": "ocop.domain.payments",
    "ProcessorResult": "ocop.domain.operations",
    "RecoveryReport": "ocop.services._recovery",
    "Refund": "ocop.domain.tender",
    "RefundExceedsReceived": "ocop.domain.errors",
    "RefundPolicy": "ocop.domain.settings",
    "RefundResult": "ocop.services._refunds",
    "RefundToken": "ocop.domain.tokens",
    "RenewalReport": "ocop.services._renewals",
    "ReleaseVoid": "ocop.domain.renewal",
    "ReleasedHold": "ocop.domain.order",
    "SavedCardPayment": "ocop.domain.payments",
    "SavedInstrument": "ocop.domain.tokens",
    "Settings": "ocop.domain.settings",
    "StorageBusy": "ocop.domain.errors",
    "StorageError": "ocop.domain.errors",
    "StorageLimitExceeded": "ocop.domain.errors",
    "StorageUnavailable": "ocop.domain.errors",
    "SubmitResult": "ocop.services._completion",
    "UnknownCurrency": "ocop.domain.errors",
    "UnknownInvoice": "ocop.domain.errors",
    "Voucher": "ocop.domain.journal",
    "VoucherKind": "ocop.domain.journal",
    "VoucherLine": "ocop.domain.journal",
    "VoucherUnbalanced": "ocop.domain.errors",
}

__all__ = [
    "Actor",
    "AmbiguousInstrument",
    "Authorization",
    "AuthorizationPolicy",
    "AuthorizationToken",
    "BackOffice",
    "CancelResult",
    "Capture",
    "CaptureToken",
    "CardNumberRefused",
    "CardPayment",
    "CardToken",
    "Channel",
    "Chargeback",
    "CompletionDraft",
    "CompletionPolicy",
    "ConcurrentUpdate",
    "ConnectorMismatch",
    "CurrencyMismatch",
    "Customer",
    "DepositPolicy",
    "DraftAlreadySubmitted",
    "DuplicateOrder",
    "Failed",
    "FeatureDisabled",
    "Features",
    "Hold",
    "HoldCode",
    "IdempotencyConflict",
    "IllegalTransition",
    "InstrumentNotFound",
    "InvalidAmount",
    "InvalidArgument",
    "InvalidCvv",
    "InvalidDraftEdit",
    "InvalidId",
    "InvalidInput",
    "InvalidSettings",
    "Invoice",
    "InvoiceResult",
    "JournalNames",
    "LineNotFound",
    "LineStatus",
    "MissingExtra",
    "Money",
    "NotFound",
    "Notification",
    "NotificationEvent",
    "NotificationResult",
    "OcopError",
    "OperationInDoubt",
    "OperationKind",
    "OperationRecord",
    "Order",
    "OrderNotFound",
    "OrderStatus",
    "Outcome",
    "PaymentLine",
    "PaymentMethod",
    "PaymentsType",
    "PermissionDenied",
    "Prepayment",
    "RecoveryReport",
    "Refund",
    "RefundExceedsReceived",
    "RefundPolicy",
    "RefundResult",
    "RefundToken",
    "ReleaseVoid",
    "ReleasedHold",
    "RenewalReport",
    "SavedCardPayment",
    "SavedInstrument",
    "Settings",
    "StorageBusy",
    "StorageError",
    "StorageLimitExceeded",
    "StorageUnavailable",
    "SubmitResult",
    "UnknownCurrency",
    "UnknownInvoice",
    "Voucher",
    "VoucherKind",
    "VoucherLine",
    "VoucherUnbalanced",
]


def _version() -> str:
    """The installed distribution's version, read when ``ocop.__version__`` is first used
    (importlib.metadata is not cheap to import); "0+unknown" when ocop runs from a source
    tree that was never installed."""
    from importlib import metadata  # noqa: PLC0415 - only when the version is asked for

    try:
        return metadata.version("ocop")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _lazy(name: str) -> Any:
    """A public name's value, imported from its module when first used (then kept)."""
    if name == "__version__":
        value: Any = _version()
    else:
        module = _PUBLIC.get(name)
        if module is None:
            raise AttributeError(f"module 'ocop' has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if not TYPE_CHECKING:
    # Hidden from type checkers: one that sees a module ``__getattr__`` types every name it
    # does not know as what it returns, so ``from ocop import BackOfice`` (misspelt) would
    # pass as ``Any``. They read the names imported under ``TYPE_CHECKING`` above instead.
    __getattr__ = _lazy


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC) | {"__version__"})
