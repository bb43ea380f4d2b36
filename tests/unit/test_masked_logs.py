"""Log lines are masked like error messages (E2): no control character, no card number."""

from __future__ import annotations

import logging

import attrs
import pytest

from ocop import AuthorizationToken, BackOffice, Channel, Customer, Money, ProcessorResult
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.services._logs import logger
from worlds import START, by_card, usd


class _ForgingProcessor(SimulatedProcessor):
    """A processor whose capture reason tries to forge a second log line."""

    def capture(
        self, key: str, authorization: AuthorizationToken, amount: Money
    ) -> ProcessorResult:
        result = super().capture(key, authorization, amount)
        return attrs.evolve(result, reason="ok\n2026-01-01 INFO forged line\x1b[2J")


def test_a_reason_with_control_characters_is_logged_escaped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The processor's reason reaches the log with its newline and escape sequence escaped."""
    clock = ManualClock(START)
    bo = BackOffice.in_memory(processor=_ForgingProcessor(clock=clock), clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("50.00"), payments=[by_card("50.00")])  # fmt: skip
    with caplog.at_level(logging.INFO, logger="ocop.operations"):
        bo.invoice("SO-1", "INV-1", usd("50.00"))
    lines = [record.getMessage() for record in caplog.records]
    assert any("ok\\n2026-01-01 INFO forged line\\x1b[2J" in line for line in lines)
    assert all(line.isprintable() for line in lines)


def test_the_filter_masks_card_numbers_in_messages_and_arguments(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A card number in a message or an argument is logged as [card number]."""
    log = logger("ocop.test")
    assert logger("ocop.test") is log
    assert len(log.filters) == 1
    with caplog.at_level(logging.INFO, logger="ocop.test"):
        log.info("paid with 4111 1111 1111 1111 and %s, %d", "4111-1111-1111-1111", 7)
    assert caplog.records[0].getMessage() == "paid with [card number] and [card number], 7"


def test_a_logged_traceback_is_masked_with_its_causes(caplog: pytest.LogCaptureFixture) -> None:
    """E2: a failure logged with its traceback (log.exception) shows no card number, in the
    error's text, its arguments or the error that caused it."""
    log = logger("ocop.test")
    with caplog.at_level(logging.INFO, logger="ocop.test"):
        try:
            try:
                raise KeyError("card 4111 1111 1111 1111")
            except KeyError as cause:
                raise RuntimeError("host store failed", "4111-1111-1111-1111") from cause
        except RuntimeError:
            log.exception("answers before the failed call wait for recover()")
    assert "RuntimeError" in caplog.text
    assert "KeyError" in caplog.text
    assert "[card number]" in caplog.text
    assert "1111" not in caplog.text
