"""The contract suites' properties hold under the adapter author's own hypothesis settings.

An adapter under test is often slow: a journal posting to a ledger across the network, a
processor's sandbox. The suites' properties call it inside each example, so hypothesis'
defaults (a 200 ms deadline per example, a health check on slow generation) failed a
correct adapter: ``DeadlineExceeded``, "Unreliable test timings" or ``FailedHealthCheck``.
They run here under hypothesis' own defaults (few examples), not this project's profile.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import pytest
from hypothesis import settings

from ocop.adapters.memory import InMemoryJournal, ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain.journal import Voucher
from ocop.ports.journal import PaymentJournal
from ocop.testing.contracts import JournalContract, KeyedEntry, ProcessorContract

#: Longer than hypothesis' default deadline (200 ms).
SLOW = 0.3


@pytest.fixture
def hypothesis_defaults() -> Iterator[None]:
    """Hypothesis' own settings, with few examples, while the test runs; then the settings
    loaded before (tests/conftest.py's profile, or a plugin's)."""
    settings.register_profile("before-hypothesis-defaults", parent=settings())
    settings.register_profile(
        "hypothesis-defaults", parent=settings.get_profile("default"), max_examples=4
    )
    settings.load_profile("hypothesis-defaults")
    try:
        yield
    finally:
        settings.load_profile("before-hypothesis-defaults")


class SlowLedger(InMemoryJournal):
    """A journal whose first post takes longer than the default deadline."""

    def __init__(self) -> None:
        super().__init__()
        self.slow = True

    def post(self, voucher: Voucher) -> None:
        if self.slow:
            self.slow = False
            time.sleep(SLOW)
        super().post(voucher)


class SlowLedgerContract(JournalContract):
    def make_journal(self) -> PaymentJournal:
        return SlowLedger()


class SlowSandboxContract(ProcessorContract[SimulatedProcessor]):
    made = 0

    def make_processor(self, clock: ManualClock) -> SimulatedProcessor:
        self.made += 1
        if self.made == 1:  # the first session with the sandbox is slow to open
            self.slow = False
            time.sleep(SLOW)
        return SimulatedProcessor(clock=clock)

    def ledger_of(self, processor: SimulatedProcessor) -> Sequence[KeyedEntry]:
        return processor.ledger()


@pytest.mark.usefixtures("hypothesis_defaults")
def test_the_journal_property_passes_a_slow_journal() -> None:
    SlowLedgerContract().test_amounts_and_currencies_are_kept_exactly()


@pytest.mark.usefixtures("hypothesis_defaults")
def test_the_processor_property_passes_a_slow_processor() -> None:
    """It runs as many examples as the loaded profile says, no more."""
    suite = SlowSandboxContract()
    suite.test_approved_captures_never_exceed_the_authorization()
    assert 1 < suite.made <= 4
