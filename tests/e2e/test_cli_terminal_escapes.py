"""The escapes ``ocop`` writes for what a terminal cannot print never show a card number."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from ocop import BackOffice, CardPayment, Channel, Customer, Money
from ocop.adapters._demo import demo_card
from ocop.adapters.cli import main
from ocop.adapters.memory import SystemClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.adapters.sqlite import SqliteStore
from ocop.domain.cardnumbers import contains_card_number

#: An id E1 takes (twelve digits after a letter: no card number); on an ASCII terminal
#: ``\xe9100000000009``, whose escape's last digit and the twelve make a Luhn-valid run.
ORDER_ID = "\xe9100000000009"


def _shop(tmp_path: Path) -> str:
    """A SQLite back office with order ``ORDER_ID`` placed; its database URL."""
    (tmp_path / "sim").mkdir()
    sim = SimulatedProcessor(clock=SystemClock(), state=tmp_path / "sim" / "sa-1.db")
    store = SqliteStore(tmp_path / "shop.db", keeps_journal=True)
    bo = BackOffice(store=store, journal=store.journal, processor=sim)
    bo.place_order(ORDER_ID, channel=Channel.ECOMMERCE, customer=Customer.named("C1"),
                   total=Money.of("100.00", "EUR"),
                   payments=[CardPayment(demo_card(), Money.of("100.00", "EUR"))])  # fmt: skip
    store.close()
    sim.close()
    return f"sqlite:///{tmp_path / 'shop.db'}"


def test_an_escape_never_runs_on_into_a_card_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """T2, E2: ``ocop orders`` and ``ocop show`` on an ASCII terminal write no card number:
    the escape of the id's first letter ran on into its twelve digits, a 13-digit
    Luhn-valid run written as it was (``mask()`` searches escaped text once more; the
    terminal's escapes were not)."""
    assert not contains_card_number(ORDER_ID)
    url = _shop(tmp_path)
    for argv in (["orders"], ["show", ORDER_ID]):
        written = io.BytesIO()
        monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(written, encoding="ascii"))
        assert main([*argv, "--db", url], environ={}) == 0
        sys.stdout.flush()
        shown = written.getvalue().decode("ascii")
        assert "[card number]" in shown
        assert not contains_card_number(shown)


@pytest.mark.parametrize(
    "argv", [["show", ORDER_ID + "-2"], ["orders", ORDER_ID]], ids=["not-found", "usage"]
)
def test_an_escape_on_stderr_never_runs_on_into_a_card_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    """T2, E2: an error on an ASCII stderr (an order not found, an argument it does not
    take) quoting what was typed writes no card number: stderr's own escapes wrote
    ``no order '\\xe9100000000009'``, the escape's last digit and the twelve after it a
    Luhn-valid run."""
    url = _shop(tmp_path)
    written = io.BytesIO()
    stderr = io.TextIOWrapper(written, encoding="ascii", errors="backslashreplace")
    monkeypatch.setattr(sys, "stderr", stderr)
    try:
        status = main([*argv, "--db", url], environ={})
    except SystemExit as usage:
        status = int(str(usage.code))
    stderr.flush()
    said = written.getvalue().decode("ascii")
    assert status in {1, 2}, said
    assert "error" in said
    assert not contains_card_number(said), said
