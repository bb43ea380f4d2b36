"""ocop: omni-channel order payments.

The back-office payment rules of a retail commerce system with three channels
(point of sale, e-commerce, call center): payments on any order can be edited,
completed, cancelled, captured in several invoices and refunded, safely.
"""

from ocop.backoffice import BackOffice
from ocop.domain.draft import CompletionDraft
from ocop.domain.errors import (
    CardNumberRefused,
    ConcurrentUpdate,
    ConnectorMismatch,
    CurrencyMismatch,
    DuplicateOrder,
    FeatureDisabled,
    IdempotencyConflict,
    IllegalTransition,
    InstrumentNotFound,
    InvalidAmount,
    InvalidDraftEdit,
    InvalidInput,
    InvalidSettings,
    LineNotFound,
    NotFound,
    OcopError,
    OperationInDoubt,
    OrderNotFound,
    PermissionDenied,
    RefundExceedsReceived,
    UnknownCurrency,
    VoucherUnbalanced,
)
from ocop.domain.journal import Voucher, VoucherKind, VoucherLine
from ocop.domain.money import Money
from ocop.domain.operations import Operation, OperationKind, Outcome, ProcessorResult
from ocop.domain.order import Channel, Hold, HoldCode, Invoice, Order, OrderStatus, PaymentsType
from ocop.domain.parties import Actor, Customer
from ocop.domain.payments import CardPayment, Prepayment, SavedCardPayment
from ocop.domain.settings import (
    AuthorizationPolicy,
    CompletionPolicy,
    Features,
    JournalNames,
    RefundPolicy,
    Settings,
)
from ocop.domain.tender import (
    Authorization,
    Capture,
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
from ocop.services.administration import CancelResult
from ocop.services.completion import SubmitResult
from ocop.services.invoicing import InvoiceResult
from ocop.services.recovery import RecoveryReport
from ocop.services.refunds import RefundResult

__all__ = [
    "Actor",
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
    "CompletionDraft",
    "CompletionPolicy",
    "ConcurrentUpdate",
    "ConnectorMismatch",
    "CurrencyMismatch",
    "Customer",
    "DuplicateOrder",
    "FeatureDisabled",
    "Features",
    "Hold",
    "HoldCode",
    "IdempotencyConflict",
    "IllegalTransition",
    "InstrumentNotFound",
    "InvalidAmount",
    "InvalidDraftEdit",
    "InvalidInput",
    "InvalidSettings",
    "Invoice",
    "InvoiceResult",
    "JournalNames",
    "LineNotFound",
    "LineStatus",
    "Money",
    "NotFound",
    "OcopError",
    "Operation",
    "OperationInDoubt",
    "OperationKind",
    "Order",
    "OrderNotFound",
    "OrderStatus",
    "Outcome",
    "PaymentLine",
    "PaymentMethod",
    "PaymentsType",
    "PermissionDenied",
    "Prepayment",
    "ProcessorResult",
    "RecoveryReport",
    "Refund",
    "RefundExceedsReceived",
    "RefundPolicy",
    "RefundResult",
    "RefundToken",
    "SavedCardPayment",
    "SavedInstrument",
    "Settings",
    "SubmitResult",
    "UnknownCurrency",
    "Voucher",
    "VoucherKind",
    "VoucherLine",
    "VoucherUnbalanced",
]
