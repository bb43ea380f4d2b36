"""The ``ocop`` command line, run as a user would."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import sqlite3
import subprocess
import sys
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

from ocop import (
    Actor,
    BackOffice,
    CardPayment,
    Channel,
    Customer,
    HoldCode,
    Money,
    Outcome,
    RecoveryReport,
    ReleaseVoid,
)
from ocop.adapters import cli
from ocop.adapters._cli_export import csv_cell
from ocop.adapters._cli_wiring import NoProcessor, parse_database
from ocop.adapters._demo import demo_card, line_walkthrough
from ocop.adapters.cli import main
from ocop.adapters.memory import SystemClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.adapters.sqlite import SqliteStore
from ocop.domain.errors import InvalidArgument
from ocop.domain.tokens import AuthorizationToken, CaptureToken


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


def test_the_demo_ledger_shows_the_operation_keys_ocop_mints() -> None:
    """The demo's processor ledger shows the keys docs/idempotency-keys.md describes (and the
    back office sends), not a format of its own: order, business step, attempt."""
    out = io.StringIO()
    line_walkthrough(out)
    ledger = out.getvalue().split("The processor's own ledger:", 1)[1]
    assert re.findall(r"SO-1/\S+", ledger) == [
        "SO-1/authorize:L1.A1#1",
        "SO-1/capture:INV-1:L1:L1.A1#1",
        "SO-1/capture:INV-2:L1:L1.A1#1",
        "SO-1/refund:RMA-1:capture:INV-2:L1:L1.A1#1:1#1",
    ]


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


def test_a_reader_that_goes_away_ends_the_output_quietly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ocop demo | head -1``: once the reader has closed the pipe, the command stops
    with status 1 and writes no traceback (a ``BrokenPipeError`` escaped before)."""
    read, write = os.pipe()
    os.close(read)
    # Line-buffered: the first line already meets the closed pipe, however little is printed.
    with os.fdopen(write, "w", buffering=1) as closed_pipe, capsys.disabled():
        monkeypatch.setattr(sys, "stdout", closed_pipe)
        assert main(["demo"]) == 1
        closed_pipe.write("more output goes nowhere\n")  # stdout now leads to the null device
        closed_pipe.flush()


@pytest.mark.parametrize("command", ["orders", "recover"])
def test_a_reader_gone_ends_the_commands_writing_lines_at_once_quietly(
    shop: Path,
    command: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``orders`` and ``recover`` write their ids and keys with ``writelines``: a reader
    gone meets them as it meets ``print`` (a BrokenPipeError escaped ``main``)."""
    read, write = os.pipe()
    os.close(read)
    argv = [command, "--db", db(shop)]
    if command == "recover":
        argv += ["--processor", f"sim:{shop / 'sim'}"]
    with os.fdopen(write, "w", buffering=1) as closed_pipe, capsys.disabled():
        monkeypatch.setattr(sys, "stdout", closed_pipe)
        assert main(argv, environ={}) == 1
        closed_pipe.write("more output goes nowhere\n")
        closed_pipe.flush()


@pytest.mark.parametrize("command", ["demo", "orders", "show"])
def test_a_reader_gone_before_the_output_ends_the_command_quietly(shop: Path, command: str) -> None:
    """The same in a process of its own, with stdout's usual buffering: what is left in
    the buffer when the command ends meets the closed pipe too. (``show`` and ``orders``
    ended with status 120 and Python's 'Exception ignored' message; ``demo`` with a
    traceback.)"""
    argv = {"demo": ["demo"], "orders": ["orders", "--db", db(shop)],
            "show": ["show", "--db", db(shop), "SO-1"]}[command]  # fmt: skip
    read, write = os.pipe()
    os.close(read)
    environ = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    try:
        done = subprocess.run(  # noqa: S603 - runs ocop's own command line
            [sys.executable, "-m", "ocop", *argv],
            stdout=write, stderr=subprocess.PIPE, text=True, env=environ, check=False,
        )  # fmt: skip
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (1, "")


def test_a_broken_pipe_that_is_not_stdout_is_not_taken_for_the_reader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A broken pipe elsewhere (a processor's connection, say) is an error, not a reader
    that went away: it is raised, not swallowed."""

    def broken(*_: object) -> int:
        raise BrokenPipeError("a processor's connection")

    monkeypatch.setattr(cli, "run_demo", broken)
    with pytest.raises(BrokenPipeError):
        main(["demo"])


# -- the operations commands ----------------------------------------------------------------


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A SQLite back office with three orders, the simulator's records in ``sim/``: SO-1
    invoiced once and declined once (a manual hold released before), SO-2 on a manual
    hold, SO-3 with a capture in doubt."""
    usd = "USD"
    (tmp_path / "sim").mkdir()
    sim = SimulatedProcessor(clock=SystemClock(), state=tmp_path / "sim" / "sa-1.db")
    store = SqliteStore(tmp_path / "shop.db", keeps_journal=True)
    bo = BackOffice(store=store, journal=store.journal, processor=sim)
    agent = Actor.call_center("agent-1")
    card = demo_card()
    for order_id, channel, amount in (("SO-1", Channel.ECOMMERCE, "100.00"),
                                      ("SO-2", Channel.POS, "50.00"),
                                      ("SO-3", Channel.ECOMMERCE, "30.00")):  # fmt: skip
        bo.place_order(order_id, channel=channel, customer=Customer.named("C-1"),
                       total=Money.of(amount, usd),
                       payments=[CardPayment(card, Money.of(amount, usd))])  # fmt: skip
    bo.place_hold("SO-1", HoldCode.MANUAL, agent, reason="CUSTOMER_REQUEST")
    bo.release_hold("SO-1", HoldCode.MANUAL, agent)
    bo.invoice("SO-1", "INV-1", Money.of("60.00", usd))
    sim.script("capture", "decline")
    bo.invoice("SO-1", "INV-2", Money.of("40.00", usd))
    bo.place_hold("SO-2", HoldCode.MANUAL, agent, reason="FRAUD", note="looks odd")
    sim.script("capture", "timeout_after_success")
    assert bo.invoice("SO-3", "INV-1", Money.of("30.00", usd)).in_doubt
    store.close()
    sim.close()
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str, **environ: str) -> tuple[int, str, str]:
    """``ocop argv`` in this process with only ``environ`` for variables: status, out, err."""
    status = main(list(argv), environ=environ)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def db(folder: Path) -> str:
    return f"sqlite:///{folder / 'shop.db'}"


def test_version_is_the_installed_distributions(capsys: pytest.CaptureFixture[str]) -> None:
    """``ocop --version`` prints the version of the installed distribution and exits 0."""
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"ocop {version('ocop')}\n"


def test_version_of_sources_run_without_installing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from sources that were never installed, ``--version`` says so."""

    def missing(name: str) -> str:
        raise PackageNotFoundError(name)

    monkeypatch.setattr(cli, "version", missing)
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out == "ocop (not installed)\n"


def test_orders_lists_ids_by_the_filters_of_bo_orders(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ocop orders`` prints one id a line, filtered and paged as ``bo.orders`` does."""
    assert run(capsys, "orders", "--db", db(shop)) == (0, "SO-1\nSO-2\nSO-3\n", "")
    assert run(capsys, "orders", "--db", db(shop), "--on-hold")[1] == "SO-2\n"
    assert run(capsys, "orders", "--db", db(shop), "--no-on-hold")[1] == "SO-1\nSO-3\n"
    assert run(capsys, "orders", "--db", db(shop), "--in-doubt")[1] == "SO-3\n"
    held = run(capsys, "orders", "--db", db(shop), "--status", "on_hold")
    assert held[1] == "SO-2\n"
    paged = run(capsys, "orders", "--db", db(shop), "--limit", "1", "--after", "SO-1")
    assert paged[1] == "SO-2\n"
    soon = run(capsys, "orders", "--db", db(shop), "--expiring-before", "2999-01-01T00:00+00:00")
    assert soon[1] == "SO-1\nSO-2\nSO-3\n"
    for moment, words in (("2999-01-01", "give a time zone"), ("soon", "not an ISO date")):
        with pytest.raises(SystemExit) as refused:
            main(["orders", "--db", db(shop), "--expiring-before", moment], environ={})
        assert refused.value.code == 2
        assert words in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (("--expiring-before", "4111111111111111"),
         "--expiring-before: not an ISO date and time: '[card number]' (such as "),
        (("--after", "4111111111111111", "--expiring-before", "2999-01-01"),
         "give a time zone (Z, or an offset such as +hh:mm)"),
    ],
)  # fmt: skip
def test_a_bad_moment_is_told_clearly_beside_a_card_number(
    shop: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], words: str
) -> None:
    """E2 masks every number of a message once a card number was typed: the refusal of a
    bad ``--expiring-before`` then read ``not an ISO-[card number] moment`` and ``(e.g.
    +[card number]:[card number])``. Its own words hold no digits, so it stays clear."""
    with pytest.raises(SystemExit) as refused:
        main(["orders", "--db", db(shop), *argv], environ={})
    err = capsys.readouterr().err
    assert refused.value.code == 2
    assert words in err
    assert "4111" not in err


def test_show_prints_lines_holds_and_operations_with_their_reasons(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ocop show`` gives an order's lines, holds (and released ones), every processor
    call with the processor's reason, and its vouchers."""
    status, out, _ = run(capsys, "show", "SO-1", "--db", db(shop))
    assert status == 0
    assert "order SO-1: invoiced" in out
    assert "total 100.00 USD, invoiced 100.00 USD, received 60.00 USD" in out
    assert "VISA ****1111" in out
    assert "holds: none" in out
    assert "released holds" in out
    assert "agent-1" in out
    declined = next(line for line in out.splitlines() if "capture:INV-2" in line)
    assert "declined" in declined
    assert "scripted decline" in declined
    assert "V:SO-1/capture:INV-1" in out
    held = run(capsys, "show", "SO-2", "--db", db(shop))[1]
    assert "FRAUD" in held
    assert "looks odd" in held


def test_show_of_an_unknown_order_is_an_error(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An order the store does not have: status 1 and the error on stderr."""
    status, out, err = run(capsys, "show", "SO-9", "--db", db(shop))
    assert (status, out) == (1, "")
    assert err.startswith("ocop show: error:")
    assert "SO-9" in err


def test_journal_export_writes_each_voucher_line_as_csv(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ocop journal export`` writes a row per voucher line, debits equal to credits."""
    status, out, _ = run(capsys, "journal", "export", "--db", db(shop))
    assert status == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {row["order_id"] for row in rows} == {"SO-1"}  # SO-3's capture is still in doubt
    assert sum(Decimal(row["debit"]) for row in rows) == Decimal("60.00")
    assert sum(Decimal(row["credit"]) for row in rows) == Decimal("60.00")
    assert {row["account"] for row in rows} == {"tender:card", "customer_balance"}
    target = shop / "so-1.csv"
    assert run(capsys, "journal", "export", "--db", db(shop), "--order", "SO-1",
               "--output", str(target))[:2] == (0, "")  # fmt: skip
    assert target.read_text(encoding="utf-8") == out


def test_journal_export_of_an_unknown_order_is_an_error(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--order`` naming an order the store does not have (a misspelt id) is an error, as
    for ``show``: status 1, no CSV, no file written; it exported an empty CSV, status 0."""
    target = shop / "typo.csv"
    for orders in (("SO-9",), ("SO-1", "SO-9")):
        named = [word for order_id in orders for word in ("--order", order_id)]
        status, out, err = run(capsys, "journal", "export", "--db", db(shop), *named,
                               "--output", str(target))  # fmt: skip
        assert (status, out) == (1, ""), err
        assert err.startswith("ocop journal: error:")
        assert "SO-9" in err
        assert not target.exists()
        status, out, _ = run(capsys, "journal", "export", "--db", db(shop), *named)
        assert (status, out) == (1, "")
    status, out, _ = run(capsys, "journal", "export", "--db", db(shop), "--order", "SO-2")
    assert (status, out.count("\n")) == (0, 1)  # an order with no voucher: the header only


def test_journal_export_never_writes_over_the_database_it_reads(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--output`` naming the SQLite file the journal is read from (however spelt: another
    path, a link), or one of its companion files, is refused, status 2, the database left
    whole; it replaced the payment database with the CSV."""
    database = shop / "shop.db"
    before = database.read_bytes()
    (shop / "link.db").symlink_to(database)
    (shop / "sub").mkdir()
    for output in (database, shop / "sub" / ".." / "shop.db", shop / "link.db",
                   shop / "shop.db-wal", shop / "shop.db-journal"):  # fmt: skip
        status, out, err = run(capsys, "journal", "export", "--db", db(shop),
                               "--output", str(output))  # fmt: skip
        assert (status, out) == (2, ""), err
        assert "is the database" in err
        assert database.read_bytes() == before
    assert run(capsys, "orders", "--db", db(shop))[1] == "SO-1\nSO-2\nSO-3\n"


def test_recover_resolves_what_is_in_doubt_with_the_simulator_named(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ocop recover --processor sim:DIR`` asks the simulator whose records are in DIR and
    applies its answer: SO-3's capture is taken, nothing is left in doubt."""
    status, out, _ = run(capsys, "recover", "--db", db(shop), "--processor", f"sim:{shop / 'sim'}")
    assert status == 0
    assert "resolved: 1\n  SO-3/capture:INV-1:L1:L1.A1#1\n" in out
    assert "still in doubt: 0" in out
    assert "voids sent to release: 0\n" in out  # nothing to release: SO-3 is captured
    assert run(capsys, "orders", "--db", db(shop), "--in-doubt")[1] == ""
    exported = run(capsys, "journal", "export", "--db", db(shop), "--order", "SO-3")[1]
    assert [row["credit"] for row in csv.DictReader(io.StringIO(exported))] == ["0.00", "30.00"]


def test_recover_with_a_factory_of_your_own(
    shop: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--processor module:factory`` calls ``factory()``: a processor is used, anything
    else refused by the back office's port check; an unknown module or name is refused."""
    state = str(shop / "sim" / "sa-1.db")
    (shop / "my_connector.py").write_text(
        "from ocop.adapters.memory import SystemClock\n"
        "from ocop.adapters.simulated import SimulatedProcessor\n"
        "def processor():\n"
        f"    return SimulatedProcessor(clock=SystemClock(), state={state!r})\n"
        "def clock():\n"
        "    return SystemClock()\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(shop))
    assert run(capsys, "recover", "--db", db(shop), "--processor", "my_connector:processor")[0] == 0
    assert run(capsys, "orders", "--db", db(shop), "--in-doubt")[1] == ""
    for spec, words in (("my_connector:clock", "processor must implement its port"),
                        ("my_connector:nothing", "has no factory nothing"),
                        ("no_such_module_here:processor", "cannot import no_such_module_here"),
                        ("just-a-name", "expected module:factory or sim:DIR")):  # fmt: skip
        status, _, err = run(capsys, "recover", "--db", db(shop), "--processor", spec)
        assert status == 2
        assert words in err


def test_a_processor_module_or_factory_that_raises_is_an_error_not_a_traceback(
    shop: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``--processor`` module that fails to import (with another error than ImportError)
    or a factory that raises is refused in one line, status 2, its message masked (E2):
    it printed a traceback holding the card number its message held."""
    card = "4111111111111111"
    (shop / "broken_at_import.py").write_text(
        f"raise RuntimeError('no config for card {card}')\n", encoding="utf-8"
    )
    (shop / "broken_factory.py").write_text(
        f"def processor():\n    raise ValueError('no account for card {card}')\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(shop))
    cases = (("broken_at_import:processor", "importing broken_at_import failed"),
             ("broken_factory:processor", "broken_factory:processor() failed"))  # fmt: skip
    for spec, words in cases:
        status, out, err = run(capsys, "recover", "--db", db(shop), "--processor", spec)
        assert (status, out, err.count("\n")) == (2, "", 1), err
        assert words in err
        assert "Traceback" not in err
        assert card not in err
    assert run(capsys, "orders", "--db", db(shop), "--in-doubt")[1] == "SO-3\n"


def test_a_command_that_calls_a_processor_needs_one_named(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``recover`` and ``simulate`` without ``--processor`` (nor OCOP_PROCESSOR) fail with
    status 2 and say how to name one; nothing is recovered."""
    for argv in (["recover"], ["simulate", "--orders", "3"]):
        status, out, err = run(capsys, *argv, "--db", db(shop))
        assert (status, out) == (2, "")
        assert f"ocop {argv[0]} calls the payment processor: name it with --processor" in err
        assert "sim:DIR" in err
        assert "OCOP_PROCESSOR" in err
    assert run(capsys, "orders", "--db", db(shop), "--in-doubt")[1] == "SO-3\n"
    status, _, err = run(capsys, "simulate", "--db", db(shop), "--processor", "my:factory")
    assert status == 2
    assert "--processor sim:DIR" in err


def test_a_processor_spec_holding_a_card_number_is_never_echoed(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """E2: the refusal of a malformed ``--processor`` (or OCOP_PROCESSOR) quotes it masked,
    even when a control character stands before the card number."""
    card = "4111111111111111"
    for spec in (card, "\x85" + card, f"x{card}"):
        status, _, err = run(capsys, "recover", "--db", db(shop), "--processor", spec)
        assert status == 2
        assert card not in err
        status, _, err = run(capsys, "recover", "--db", db(shop), OCOP_PROCESSOR=spec)
        assert card not in err


@pytest.mark.parametrize(
    "argv",
    [
        ("orders", "--status", "4111111111111111"),
        ("orders", "--limit", "4111-1111-1111-1111"),
        ("show", "SO-1", "4111 1111 1111 1111"),
        ("4111111111111111",),
        ("orders", "--limit", "\x014111111111111111"),  # argparse's repr() escapes it
        ("orders", "--limit", "\x014111-1111-1111-1111"),
        ("\x854111111111111111",),
        ("orders", "--limit", "\\x4111111111111111"),  # a backslash typed: no escape
        ("orders", "--limit", "\\\x014111111111111111"),  # a backslash, then an escape
        ("orders", "\\x4111111111111111"),  # unrecognized: joined as typed, not repr()
        ("orders", "\\u4111111111111111"),
        ("orders", "\\x4111", "1111", "1111", "1111"),  # typed over several arguments
        ("orders", "\\x4111111", "111111111"),
        ("orders", "\\x4111", "1111", "--limit", "5", "1111", "1111"),  # an option between
        ("orders", "--limit", "\\n4111 1111 1111 1111"),  # any escape letter typed
        ("orders", "\\t4111", "1111", "1111", "1111"),
        ("orders", "--status", "4111\\n111111111111"),  # an escape inside the number
        ("orders", "4111\t1111\t1111\t1111"),  # tabs between the groups
    ],
)
def test_a_usage_error_never_echoes_a_card_number(
    shop: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    """T2, E2: argparse's own usage errors quote what was given; they are masked too."""
    given = [*argv[:1], "--db", db(shop), *argv[1:]] if len(argv) > 1 else list(argv)
    with pytest.raises(SystemExit) as stopped:
        main(given, environ={})
    err = capsys.readouterr().err
    assert stopped.value.code == 2
    assert "[card number]" in err
    assert re.search(r"4111[ -]?1111", err) is None
    assert re.search(r"\d{8}", err) is None  # nor a run of its digits


def test_a_usage_error_shows_an_id_that_holds_no_card_number(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """E2: an id whose digit groups, read across its letters, would make a card number (a
    UUID) is shown as typed: only what holds a card number is masked."""
    uuid = "1e2feb89-414c-443c-9027-c4d1c386bbc4"
    with pytest.raises(SystemExit):
        main(["orders", "--status", uuid], environ={})
    err = capsys.readouterr().err
    assert uuid in err
    assert "[card number]" not in err


def test_an_order_named_twice_is_exported_once(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--order SO-1 --order SO-1`` exports SO-1's vouchers once (the CSV's debits doubled)."""
    once = run(capsys, "journal", "export", "--db", db(shop), "--order", "SO-1")[1]
    twice = run(capsys, "journal", "export", "--db", db(shop), "--order", "SO-1",
                "--order", "SO-1")[1]  # fmt: skip
    assert twice == once
    assert len(list(csv.DictReader(io.StringIO(once)))) == 2


def test_paths_it_cannot_use_are_usage_errors_not_tracebacks(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An ``--output`` it cannot write, a ``sim:DIR`` that is a file (for ``recover`` and
    for ``simulate``, which printed a traceback): one line, status 2."""
    status, _, err = run(capsys, "journal", "export", "--db", db(shop),
                         "--output", str(shop / "none" / "x.csv"))  # fmt: skip
    assert (status, err.count("\n")) == (2, 1)
    assert err.startswith("ocop journal: error: --output ")
    status, _, err = run(capsys, "journal", "export", "--db", db(shop), "--output", str(shop))
    assert status == 2
    status, _, err = run(capsys, "recover", "--db", db(shop),
                         "--processor", f"sim:{shop / 'shop.db'}")  # fmt: skip
    assert (status, err.count("\n")) == (2, 1)
    assert err.startswith("ocop recover: error: --processor sim:DIR: ")
    status, _, err = run(capsys, "simulate", "--db", db(shop), "--orders", "1",
                         "--processor", f"sim:{shop / 'shop.db'}")  # fmt: skip
    assert (status, err.count("\n")) == (2, 1)
    assert err.startswith("ocop simulate: error: --processor sim:DIR: ")


def test_the_database_is_named_and_must_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without ``--db`` nor OCOP_DATABASE_URL, with another scheme, or naming no file, a
    reading command fails with status 2 and creates nothing."""
    cases = (((), "OCOP_DATABASE_URL"),
             (("--db", "mysql://host/db"), "starts sqlite:/// or postgresql://"),
             (("--db", "sqlite:///"), "names a file"),
             (("--db", f"sqlite:///{tmp_path / 'typo.db'}"), "no database file"))  # fmt: skip
    for args, words in cases:
        status, _, err = run(capsys, "orders", *args)
        assert status == 2
        assert words in err
    assert list(tmp_path.iterdir()) == []


def test_a_database_file_that_is_not_ocops_is_refused_and_left_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A command other than simulate opens an ocop database only: another program's SQLite
    file (or an empty file) is refused with status 2, and no ocop table is written into it."""
    other = tmp_path / "other_app.db"
    with contextlib.closing(sqlite3.connect(other)) as raw, raw:
        raw.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    empty = tmp_path / "empty.db"
    empty.touch()
    for path in (other, empty):
        before = path.read_bytes()
        for command in (("orders",), ("show", "SO-1"), ("journal", "export"), ("recover",)):
            status, _, err = run(capsys, *command, "--db", f"sqlite:///{path}",
                                 OCOP_PROCESSOR=f"sim:{tmp_path / 'sim'}")  # fmt: skip
            assert status == 2, err
            assert "holds no ocop tables" in err
        assert path.read_bytes() == before


def test_the_variables_name_the_database_and_processor(shop: Path) -> None:
    """OCOP_DATABASE_URL and OCOP_PROCESSOR stand for ``--db`` and ``--processor`` (run as
    a user would, by the console entry point's module)."""
    env = {**os.environ, "OCOP_DATABASE_URL": db(shop), "OCOP_PROCESSOR": f"sim:{shop / 'sim'}"}
    done = subprocess.run([sys.executable, "-m", "ocop", "recover"], env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = subprocess.run([sys.executable, "-m", "ocop", "orders", "--in-doubt"],
                            env=env, capture_output=True, text=True, check=True)  # fmt: skip
    assert listed.stdout == ""  # SO-3's capture was resolved


def test_the_postgres_url_keeps_its_schema_apart() -> None:
    """A PostgreSQL URL's ``?schema=`` names the schema and leaves the DSN; ``--schema``
    wins; a password never shows in a report."""
    found = parse_database("postgresql://u:secret@h:5433/d?schema=shop&sslmode=disable")
    assert found.dsn == "postgresql://u:secret@h:5433/d?sslmode=disable"
    assert found.schema == "shop"
    assert found.shown == "postgresql://u@h:5433/d (schema shop)"
    assert parse_database("postgres://h/d", "other").schema == "other"
    assert parse_database("postgresql://h/d").schema == "ocop"


def test_a_schema_given_for_a_sqlite_database_is_a_usage_error(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--schema`` names a PostgreSQL schema: given with a SQLite URL it is refused, status
    2, nothing done; it was ignored without a word."""
    for command in (("orders",), ("show", "SO-1"), ("journal", "export")):
        status, out, err = run(capsys, *command, "--db", db(shop), "--schema", "shop")
        assert (status, out) == (2, ""), err
        assert "--schema names a PostgreSQL schema; a SQLite database has none" in err
    status, out, err = run(capsys, "orders", "--schema", "shop", OCOP_DATABASE_URL=db(shop))
    assert (status, out) == (2, ""), err


def test_read_only_commands_run_with_a_processor_that_refuses_every_call() -> None:
    """The processor of a command that names none refuses any call it would make."""
    refusing = NoProcessor()
    card = demo_card()
    with pytest.raises(InvalidArgument, match="given no processor"):
        refusing.authorize("k", card, Money.of("1.00", "USD"))
    authorization = AuthorizationToken("auth-1", "sim", "sa-1")
    capture = CaptureToken("cap-1", "sim", "sa-1")
    one = Money.of("1.00", "USD")
    for call in (lambda: refusing.adjust("k", authorization, one),
                 lambda: refusing.capture("k", authorization, one),
                 lambda: refusing.void("k", authorization),
                 lambda: refusing.refund("k", capture, one),
                 lambda: refusing.lookup("k"), lambda: refusing.instruments("C-1"),
                 lambda: refusing.save_instrument("C-1", card),
                 lambda: refusing.tokenize("k", "C-1", "PI-1", "123"),
                 lambda: refusing.unlinked_refund("k", card, Money.of("1.00", "USD"))):  # fmt: skip
        with pytest.raises(InvalidArgument):
            call()
    assert refusing.capabilities.connector == "none"


# -- simulate ---------------------------------------------------------------------------------


def test_simulate_refuses_what_it_cannot_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fault rate outside 0..1, no orders or no workers: status 2 before any work."""
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    for bad in (("--faults", "1.5"), ("--orders", "0"), ("--workers", "0")):
        status, _, err = run(capsys, "simulate", *bad, "--db", url,
                             "--processor", f"sim:{tmp_path / 'sim'}")  # fmt: skip
        assert status == 2
        assert "between zero and one" in err


def test_simulates_refusal_is_clear_beside_a_card_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """E2 masks every number of a message once a card number was typed (here in the
    database's file name): the refusal read ``at least [card number], --faults between
    [card number] and [card number]``. Its own words hold no digits."""
    url = f"sqlite:///{tmp_path / '4111111111111111.db'}"
    status, _, err = run(capsys, "simulate", "--orders", "0", "--db", url,
                         "--processor", f"sim:{tmp_path / 'sim'}")  # fmt: skip
    assert status == 2
    assert "--orders and --workers are at least one, --faults between zero and one" in err
    assert "4111" not in err


@pytest.mark.parametrize("option", ["--seed", "--orders", "--workers"])
@pytest.mark.parametrize("number", ["4111111111111111", "4111_1111_1111_1111"])
def test_simulate_refuses_a_count_or_seed_that_is_a_card_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, number: str
) -> None:
    """T2: a whole number option is printed back (the report's ``seed ...``, ``orders
    .../...``): a card number given as one is refused, status 2, echoed nowhere, and
    nothing is run or created. It ran, and printed the seed as typed."""
    status, out, err = run(capsys, "simulate", "--orders", "2", option, number,
                           "--db", f"sqlite:///{tmp_path / 'sim.db'}",
                           "--processor", f"sim:{tmp_path / 'sim'}")  # fmt: skip
    assert (status, out) == (2, ""), err
    assert f"{option.removeprefix('--')} looks like a card number" in err
    assert "4111" not in err
    assert list(tmp_path.iterdir()) == []


def test_simulates_report_masks_a_card_number_in_its_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """T2: the report names the store and the simulator's folder; a card number in either
    (typed as a file or folder name) is masked there. It printed both as given."""
    status, out, err = run(capsys, "simulate", "--orders", "1",
                           "--db", f"sqlite:///{tmp_path / '4111111111111111.db'}",
                           "--processor", f"sim:{tmp_path / '4111-1111-1111-1111'}")  # fmt: skip
    assert status == 0, err
    assert "4111" not in out + err
    assert "store            sqlite:///" in out
    assert "[card number].db" in out
    assert "records in " in out
    found = parse_database("postgresql://u:pw@h:5433/4111111111111111?schema=shop").shown
    assert found == "postgresql://u@h:5433/[card number] (schema shop)"


def test_recover_asks_only_a_simulator_that_has_records(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``recover --processor sim:DIR`` asks the simulators whose state files are in DIR. A
    DIR that does not exist (a misspelt path) or holds no state file is refused, status 2,
    nothing made and nothing resolved. It made a new, empty simulator, which answered
    that it never received the capture in doubt (SO-3's, whose money had moved): the
    capture was recorded as not received, and a retried invoice would capture again."""
    (shop / "empty").mkdir()
    for folder in (shop / "typo", shop / "empty"):
        status, out, err = run(capsys, "recover", "--db", db(shop),
                               "--processor", f"sim:{folder}")  # fmt: skip
        assert (status, out) == (2, ""), err
        assert "holds no simulator state file" in err
    assert not (shop / "typo").exists()
    assert list((shop / "empty").iterdir()) == []
    assert run(capsys, "orders", "--db", db(shop), "--in-doubt")[1] == "SO-3\n"
    status, out, _ = run(capsys, "recover", "--db", db(shop), "--processor", f"sim:{shop / 'sim'}")
    assert (status, out.splitlines()[:2]) == (0, ["resolved: 1", "  SO-3/capture:INV-1:L1:L1.A1#1"])
    status, out, _ = run(capsys, "show", "SO-3", "--db", db(shop))
    assert "received 30.00 USD" in out


def test_the_database_may_not_lie_among_the_simulators_state_files(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every ``DIR/*.db`` of ``sim:DIR`` is a simulator's state file: a SQLite database in
    ``DIR`` is refused, status 2, nothing opened; it was opened as the simulator of an
    account named after it, its table written into the payment database."""
    database = shop / "sim" / "shop.db"
    (shop / "shop.db").rename(database)
    url = f"sqlite:///{database}"
    for command in (("recover",), ("simulate", "--orders", "1")):
        status, out, err = run(capsys, *command, "--db", url, "--processor", f"sim:{shop / 'sim'}")
        assert (status, out) == (2, ""), err
        assert "the database is in the simulator's folder" in err
    with contextlib.closing(sqlite3.connect(database)) as raw:
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master")}
    assert "sim_records" not in tables
    assert sorted(p.name for p in (shop / "sim").iterdir()) == ["sa-1.db", "shop.db"]


def test_recover_on_a_database_it_refuses_creates_no_simulator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """E1: ``recover`` on a misspelt database file (or one that is not ocop's) is refused
    before the simulator is opened: no ``sim:DIR`` folder nor state file is made. It made
    ``DIR/sa-1.db``, then refused the database."""
    (tmp_path / "other.db").touch()
    for name in ("typo.db", "other.db"):
        status, _, err = run(capsys, "recover", "--db", f"sqlite:///{tmp_path / name}",
                             "--processor", f"sim:{tmp_path / 'sim'}")  # fmt: skip
        assert status == 2, err
        assert not (tmp_path / "sim").exists()


def test_simulate_into_a_folder_that_does_not_exist_is_refused_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """E1: ``simulate`` creates its database file, not the folders above it: a path in a
    folder that does not exist is a bad ``--db``, status 2, and the simulator's folder is
    not made. It made ``sim:DIR`` and its state file, then failed (status 1) to open
    the database."""
    status, out, err = run(capsys, "simulate", "--orders", "1",
                           "--db", f"sqlite:///{tmp_path / 'typo' / 'sim.db'}",
                           "--processor", f"sim:{tmp_path / 'sim'}")  # fmt: skip
    assert (status, out) == (2, ""), err
    assert "no folder" in err
    assert list(tmp_path.iterdir()) == []


def test_simulate_writes_into_no_other_programs_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``simulate`` creates its database, or adds to an ocop one; a SQLite file that holds
    another program's tables is refused, status 2, left as it was, no simulator made. It
    wrote ocop's tables and the run's orders into it."""
    other = tmp_path / "other_app.db"
    with contextlib.closing(sqlite3.connect(other)) as raw, raw:
        raw.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    before = other.read_bytes()
    status, out, err = run(capsys, "simulate", "--orders", "1", "--db", f"sqlite:///{other}",
                           "--processor", f"sim:{tmp_path / 'sim'}")  # fmt: skip
    assert (status, out) == (2, ""), err
    assert "holds no ocop tables, but another program's" in err
    assert other.read_bytes() == before
    assert not (tmp_path / "sim").exists()


def test_journal_export_neutralizes_ids_a_spreadsheet_would_run_as_formulas(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """E2: a text cell of ``journal export`` that starts with ``=``, ``+``, ``-``, ``@`` (or
    a quote) gets a leading quote, so a spreadsheet shows the id instead of running it;
    amounts are written as they are. It wrote ``=1+1`` and ``@SUM(B9)`` into the CSV."""
    store = SqliteStore(tmp_path / "shop.db", keeps_journal=True)
    sim = SimulatedProcessor(clock=SystemClock())
    bo = BackOffice(store=store, journal=store.journal, processor=sim)
    usd, card = "USD", demo_card()
    ids = {"=1+1": "+INV", "@SUM(B9)": "-INV", "-2+3": "=HYPERLINK(1)", "'=quoted": "'INV"}
    for order_id, invoice_id in ids.items():
        bo.place_order(order_id, channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                       total=Money.of("10.00", usd),
                       payments=[CardPayment(card, Money.of("10.00", usd))])  # fmt: skip
        assert bo.invoice(order_id, invoice_id, Money.of("10.00", usd)).captures
    store.close()
    status, out, _ = run(capsys, "journal", "export", "--db", db(tmp_path))
    assert status == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert sorted({row["order_id"] for row in rows}) == sorted(f"'{i}" for i in ids)
    assert {row["reference"][1:] for row in rows} == set(ids.values())
    assert all(row["voucher_id"].startswith("V:") for row in rows)  # safe: written as it is
    for row in rows:
        assert not any(cell[:1] in {"=", "+", "-", "@", "\t", "\r"} for cell in row.values())
    assert sum(Decimal(row["debit"]) for row in rows) == Decimal("40.00")
    assert sum(Decimal(row["credit"]) for row in rows) == Decimal("40.00")
    assert csv_cell("=1+1") == "'=1+1"
    assert csv_cell("\tx") == "'\tx"
    assert csv_cell("\rx") == "'\rx"
    assert csv_cell("SO-1") == "SO-1"


@pytest.mark.parametrize("accounts", [("sa-2",), ("sa-2", "sa-3")])
def test_recover_never_asks_a_simulator_of_another_account_about_a_call(
    shop: Path, capsys: pytest.CaptureFixture[str], accounts: tuple[str, ...]
) -> None:
    """I5, N3, O2: ``sim:DIR`` holding only simulators of other service accounts cannot
    tell what became of SO-3's capture (30.00, made through ``sim/sa-1``): it stays in
    doubt, status 1, and the simulator that made it resolves it later. The other
    account's simulator answered that it never received the capture, so the capture whose
    money had moved was recorded as not received (and a retried invoice would capture
    again)."""
    other = shop / "other"
    other.mkdir()
    for account in accounts:
        SimulatedProcessor(clock=SystemClock(), service_account=account,
                           state=other / f"{account}.db").close()  # fmt: skip
    status, out, _ = run(capsys, "recover", "--db", db(shop), "--processor", f"sim:{other}")
    assert status == 1
    assert "resolved: 0\n" in out
    assert "still in doubt: 1\n  SO-3/capture:INV-1:L1:L1.A1#1\n" in out
    assert run(capsys, "orders", "--db", db(shop), "--in-doubt")[1] == "SO-3\n"
    status, out, _ = run(capsys, "recover", "--db", db(shop), "--processor", f"sim:{shop / 'sim'}")
    assert (status, out.splitlines()[:2]) == (0, ["resolved: 1", "  SO-3/capture:INV-1:L1:L1.A1#1"])
    assert "received 30.00 USD" in run(capsys, "show", "SO-3", "--db", db(shop))[1]


def test_recover_exits_1_while_a_void_it_sent_to_release_money_is_in_doubt(
    shop: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A void ``recover`` sends to release an authorization and leaves in doubt (its
    answer lost, O2) is a call in doubt: status 1, as docs/cli.md says, so a person runs
    recover again; one the processor approved leaves status 0 (V5, A1)."""
    for outcome, status in ((Outcome.UNKNOWN, 1), (Outcome.APPROVED, 0)):
        void = ReleaseVoid(order_id="SO-3", key="SO-3/void:L1.A1#2", auth_id="A-1", outcome=outcome)
        report = RecoveryReport(releases=(void,))
        monkeypatch.setattr(BackOffice, "recover", lambda self, report=report: report)
        got, out, _ = run(capsys, "recover", "--db", db(shop), "--processor", f"sim:{shop / 'sim'}")
        assert got == status, out
        assert f"voids sent to release: 1\n  SO-3/void:L1.A1#2 ({outcome.value})\n" in out


def test_recover_exits_1_and_names_what_it_deferred_when_the_store_failed(
    shop: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A2, E3: a recovery that left work for the next run because the store failed (the
    outbox, a renewal) lists it and exits 1, so a scheduler sees the run was not whole (it
    exited 0 with a clean report); one that deferred nothing exits 0."""
    for deferred, status in ((("renewal of SO-3", "outbox"), 1), ((), 0)):
        report = RecoveryReport(deferred=deferred)
        monkeypatch.setattr(BackOffice, "recover", lambda self, report=report: report)
        got, out, _ = run(capsys, "recover", "--db", db(shop), "--processor", f"sim:{shop / 'sim'}")
        assert got == status, out
        listed = "".join(f"  {item}\n" for item in deferred)
        assert out.endswith(f"deferred to the next run: {len(deferred)}\n{listed}")
