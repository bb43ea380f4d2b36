"""A journal that fails keeps its voucher in the outbox (J3), and the log says why: the
host's error, masked like every log line (E2), is not swallowed."""

from __future__ import annotations

import logging

import pytest

from ocop import BackOffice, Channel, Customer, Settings, Voucher
from ocop.adapters.memory import InMemoryJournal, InMemoryStore, ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from worlds import START, by_card, usd


class _RefusingLedger(InMemoryJournal):
    """A host ledger that refuses every post, saying why (with a card number in it)."""

    def post(self, voucher: Voucher) -> None:
        raise RuntimeError("ledger account 4000 closed; card 4111 1111 1111 1111 blocked")


def test_a_journal_failure_is_logged_with_its_masked_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The warning for a voucher left in the outbox names the journal's error and its
    message, the card number masked; the voucher waits there for recover()."""
    clock = ManualClock(START)
    journal = _RefusingLedger()
    bo = BackOffice(store=InMemoryStore(), processor=SimulatedProcessor(clock=clock),
                    journal=journal, settings=Settings.default(), clock=clock)  # fmt: skip
    bo.place_order("SO-1", channel=Channel.POS, customer=Customer.guest(),
                   total=usd("12.00"), payments=[by_card("12.00")])  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="ocop.operations"):
        bo.invoice("SO-1", "INV-1", usd("12.00"))
    (line,) = [r.getMessage() for r in caplog.records if "outbox" in r.getMessage()]
    assert "RuntimeError: ledger account 4000 closed; card [card number] blocked" in line
    assert "4111" not in line
    assert journal.vouchers() == ()
