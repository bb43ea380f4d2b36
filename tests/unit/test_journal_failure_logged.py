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


class _Unreadable(Exception):
    """A host ledger's error whose text cannot be read (its ``__str__`` fails)."""

    def __str__(self) -> str:
        raise ValueError("no text")


class _UnreadableLedger(InMemoryJournal):
    def post(self, voucher: Voucher) -> None:
        raise _Unreadable


def test_a_journal_error_without_readable_text_still_leaves_the_change_standing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """J3: an invoice of 12.00 USD whose ledger fails with an error that cannot say why
    returns its capture (the voucher waits in the outbox); the warning names the error's
    type, and writing it never fails the call."""
    clock = ManualClock(START)
    store = InMemoryStore()
    bo = BackOffice(store=store, processor=SimulatedProcessor(clock=clock),
                    journal=_UnreadableLedger(), settings=Settings.default(),
                    clock=clock)  # fmt: skip
    bo.place_order("SO-1", channel=Channel.POS, customer=Customer.guest(),
                   total=usd("12.00"), payments=[by_card("12.00")])  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="ocop.operations"):
        result = bo.invoice("SO-1", "INV-1", usd("12.00"))
    assert [c.amount for c in result.captures] == [usd("12.00")]
    (line,) = [r.getMessage() for r in caplog.records if "outbox" in r.getMessage()]
    assert "_Unreadable" in line
    with store.unit_of_work() as uow:
        assert [v.order_id for v in uow.outbox.pending()] == ["SO-1"]
