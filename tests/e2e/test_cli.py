"""The ``ocop`` command line, run as a user would."""

from __future__ import annotations

import subprocess
import sys

from ocop.adapters.cli import main


def test_demo_runs_and_shows_the_line_and_the_ledger() -> None:
    """``python -m ocop demo`` exits 0 and prints the line's states and the processor ledger."""
    done = subprocess.run(
        [sys.executable, "-m", "ocop", "demo"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "VISA ****1111" in done.stdout
    assert "partially_paid" in done.stdout
    assert "The processor's own ledger" in done.stdout
    for kind in ("authorize", "capture", "refund"):
        assert kind in done.stdout


def test_demo_walks_through_completion_and_invoicing() -> None:
    """The demo edits an e-commerce order after a call, cancels a POS order, refuses one while
    OCOP is off, invoices twice on one authorization and recovers a timed-out capture once."""
    done = subprocess.run(
        [sys.executable, "-m", "ocop", "demo"], capture_output=True, text=True, check=True
    )
    out = done.stdout
    assert "submitted: approved=True" in out
    assert "cancelled: voided L1.A1, deposit refunded 20.00 USD" in out
    assert "refused: order SO-100 is a commerce order" in out
    assert "INV-2    L1    SO-300/capture:INV-2:L1:L1.A1#1  40.00 USD" in out
    assert "captures recorded=1, captures at the processor=1" in out
    assert "737" not in out  # the demo's CVV is shown nowhere


def test_demo_refunds_a_return_over_two_captures() -> None:
    """The demo refunds a return over two invoices' captures, once, with the fallback."""
    out = subprocess.run(
        [sys.executable, "-m", "ocop", "demo"], capture_output=True, text=True, check=True
    ).stdout
    assert "SO-500/capture:INV-2:L1:L1.A1#1  40.00 USD" in out
    assert "SO-500/capture:INV-1:L1:L1.A1#1  30.00 USD" in out
    assert "RMA-1 retried: 2 refunds recorded, 2 at the processor" in out
    assert "5.00 USD by the fallback method (customer_account)" in out
    assert "refunded to VISA ****7777, a card that did not pay" in out


def test_demo_shows_a_feature_turned_off_after_ocop_with_its_warning() -> None:
    """F1: the demo turns duplicate payment protection off under OCOP, shows the warning the
    back office logs when it starts, and a repeated invoice capturing twice."""
    done = subprocess.run(
        [sys.executable, "-m", "ocop", "demo"], capture_output=True, text=True, check=True
    )
    warning = "F1: duplicate_payment_protection is off while omni_channel_order_payments is on"
    assert f"warning: {warning}" in done.stdout
    assert warning in done.stderr  # logged by the back office at start
    assert "sent twice without duplicate payment protection (I4 off): captured 80.00 USD" in (
        done.stdout
    )


def test_demo_shows_a_deposit_and_a_manual_hold() -> None:
    """D1, D2, S4: the demo captures a POS card deposit with no invoice, places and releases
    a manual hold with its reason, and cancels keeping the charge."""
    out = subprocess.run(
        [sys.executable, "-m", "ocop", "demo"], capture_output=True, text=True, check=True
    ).stdout
    assert "SO-800/deposit:L1:L1.A1#1" in out
    assert "manual hold CUSTOMER_REQUEST placed by agent-3" in out
    assert "released by agent-3: approved" in out
    assert "cancelled before any invoice: 12.50 USD kept (5% of the total)" in out
    assert "SO-800/refund:CANCEL:deposit:L1:L1.A1#1:1#1  37.50 USD" in out


def test_main_returns_zero_for_demo(capsys: object) -> None:
    """The console-script entry point returns 0 after the demo."""
    assert main(["demo"]) == 0
