"""What every service is given: the ports, and the settings in force."""

from __future__ import annotations

import attrs

from ocop.domain.plan import Context
from ocop.domain.settings import Settings
from ocop.ports.clock import Clock
from ocop.ports.journal import PaymentJournal
from ocop.ports.processor import PaymentProcessor
from ocop.ports.store import OrderStore


@attrs.frozen(kw_only=True)
class Ports:
    """Everything a service needs from the outside, plus the settings in force."""

    store: OrderStore
    processor: PaymentProcessor
    journal: PaymentJournal
    clock: Clock
    settings: Settings

    def context(self) -> Context:
        return Context(now=self.clock.now(), settings=self.settings,
                       adjustments=self.processor.capabilities.adjustments)  # fmt: skip
