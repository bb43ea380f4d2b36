"""The ports: what ocop needs from the outside, as Protocols whose docstrings are contracts."""

from ocop.ports.clock import Clock
from ocop.ports.journal import PaymentJournal
from ocop.ports.processor import PaymentProcessor, ProcessorCapabilities
from ocop.ports.store import (
    OperationLog,
    OperationsByReference,
    OrderRepository,
    OrderStore,
    ReviewByOrder,
    UnitOfWork,
    VoucherOutbox,
)
from ocop.ports.wiring import Ports

__all__ = [
    "Clock",
    "OperationLog",
    "OperationsByReference",
    "OrderRepository",
    "OrderStore",
    "PaymentJournal",
    "PaymentProcessor",
    "Ports",
    "ProcessorCapabilities",
    "ReviewByOrder",
    "UnitOfWork",
    "VoucherOutbox",
]
