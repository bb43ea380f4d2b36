"""The ports a back office is wired with: ``bo.ports``."""

from __future__ import annotations

import attrs

from ocop.domain.settings import Settings
from ocop.ports.clock import Clock
from ocop.ports.journal import PaymentJournal
from ocop.ports.processor import PaymentProcessor
from ocop.ports.store import OrderStore

__all__ = ["Ports"]


@attrs.frozen(kw_only=True)
class Ports:
    """The adapters a back office works through, and the settings in force (read-only:
    a host reaches its own adapters here, e.g. to close a store). ``clock`` is the host's
    clock wrapped in :class:`~ocop.ports.clock.CheckedClock` by the back office (``.inner``
    is the host's own, as ``bo.clock`` gives it)."""

    store: OrderStore
    processor: PaymentProcessor
    journal: PaymentJournal
    clock: Clock
    settings: Settings
