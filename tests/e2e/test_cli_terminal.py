"""The ``ocop`` command line on what surrounds it: a terminal that is not UTF-8, the
folder of the simulator's records, the options' empty values, logs and interruptions."""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ocop import Actor, BackOffice, CardPayment, Channel, Customer, HoldCode, Money
from ocop.adapters import _cli_export as cli_export
from ocop.adapters._cli_logs import logs_to
from ocop.adapters._demo import demo_card
from ocop.adapters.cli import main
from ocop.adapters.memory import SystemClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.adapters.sqlite import SqliteStore


@pytest.fixture
def accented(tmp_path: Path) -> Path:
    """A SQLite back office whose ids and texts are not ASCII (E1 takes any printable
    character): ``Ünï-1`` invoiced 40.00 EUR in ``INV-é``, ``日本-2`` on a manual hold
    placed by ``agént`` with a note ``nöte``."""
    (tmp_path / "sim").mkdir()
    sim = SimulatedProcessor(clock=SystemClock(), state=tmp_path / "sim" / "sa-1.db")
    store = SqliteStore(tmp_path / "shop.db", keeps_journal=True)
    bo = BackOffice(store=store, journal=store.journal, processor=sim)
    for order_id in ("Ünï-1", "日本-2"):
        bo.place_order(order_id, channel=Channel.ECOMMERCE, customer=Customer.named("Čust"),
                       total=Money.of("100.00", "EUR"),
                       payments=[CardPayment(demo_card(), Money.of("100.00", "EUR"))])  # fmt: skip
    bo.invoice("Ünï-1", "INV-é", Money.of("40.00", "EUR"))
    bo.place_hold("日本-2", HoldCode.MANUAL, Actor.call_center("agént"), reason="FRAUD",
                  note="nöte")  # fmt: skip
    store.close()
    sim.close()
    return tmp_path


def ocop(*argv: str, encoding: str = "ascii") -> subprocess.CompletedProcess[bytes]:
    """``python -m ocop argv`` in a process of its own, its streams in ``encoding``."""
    environ = {**os.environ, "PYTHONIOENCODING": encoding}
    return subprocess.run(  # noqa: S603 - runs ocop's own command line
        [sys.executable, "-m", "ocop", *argv], capture_output=True, env=environ, check=False
    )


def test_a_terminal_that_is_not_utf8_shows_what_it_cannot_print_as_escapes(
    accented: Path,
) -> None:
    """E1, E2: on a terminal whose encoding lacks a character of an id or a note (ASCII
    here), ``orders``, ``show`` and ``recover`` print it as its escape and exit 0. They
    ended with status 1 and a UnicodeEncodeError traceback, ``orders`` having printed
    nothing."""
    url = f"sqlite:///{accented / 'shop.db'}"
    listed = ocop("orders", "--db", url)
    assert (listed.returncode, listed.stderr) == (0, b"")
    assert listed.stdout == b"\\xdcn\\xef-1\n\\u65e5\\u672c-2\n"
    shown = ocop("show", "--db", url, "日本-2")
    assert (shown.returncode, shown.stderr) == (0, b"")
    assert b"order \\u65e5\\u672c-2: on_hold" in shown.stdout
    assert b"customer \\u010cust" in shown.stdout
    assert b"ag\\xe9nt" in shown.stdout
    assert b"n\\xf6te" in shown.stdout
    recovered = ocop("recover", "--db", url, "--processor", f"sim:{accented / 'sim'}")
    assert (recovered.returncode, recovered.stderr) == (0, b"")


def test_journal_export_writes_utf8_to_a_terminal_that_is_not(accented: Path) -> None:
    """J1: the CSV of ``journal export`` is UTF-8 on stdout as in the ``--output`` file,
    whatever the terminal's encoding: ``Ünï-1``'s 40.00 EUR rows read back exactly. It
    ended with status 1 and a traceback after the header, the rows lost."""
    url = f"sqlite:///{accented / 'shop.db'}"
    written = ocop("journal", "export", "--db", url, "--output", str(accented / "j.csv"))
    assert written.returncode == 0, written.stderr
    exported = ocop("journal", "export", "--db", url)
    assert (exported.returncode, exported.stderr) == (0, b"")
    assert exported.stdout == (accented / "j.csv").read_bytes()
    text = exported.stdout.decode("utf-8")
    assert text.count(",Ünï-1,INV-é,") == 2
    assert ",40.00,0.00,EUR\n" in text


@pytest.mark.parametrize("command", ["recover", "simulate"])
@pytest.mark.parametrize("stranger", ["another program's", "a back office's", "not a database"])
def test_the_simulators_folder_holds_no_other_database(
    accented: Path, capsys: pytest.CaptureFixture[str], command: str, stranger: str
) -> None:
    """``sim:DIR`` opens every ``DIR/*.db`` as a simulator's state file: a ``*.db`` there
    that is not one (another program's database, another back office's, a file that is
    no database) is refused, status 2, before anything runs, and left as it was. It was
    opened as the simulator of an account named after the file: its ``sim_records``
    table written into the other database, which was switched to WAL mode (or, for a
    file that is no database, status 1)."""
    folder = accented / "sim"
    other = folder / "other.db"
    if stranger == "another program's":
        with contextlib.closing(sqlite3.connect(other)) as raw, raw:
            raw.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    elif stranger == "a back office's":
        shutil.copyfile(accented / "shop.db", other)
    else:
        other.write_text("not a database\n")
    before = other.read_bytes()
    argv = ["--db", f"sqlite:///{accented / 'shop.db'}", "--processor", f"sim:{folder}"]
    if command == "simulate":
        argv += ["--orders", "1"]
    status = main([command, *argv], environ={})
    out, err = capsys.readouterr()
    assert (status, out) == (2, ""), err
    assert "'other.db' is not a simulator's state file" in err
    assert other.read_bytes() == before
    # No state file made (SQLite's own companions of a file in WAL mode aside).
    names = {path.name for path in folder.iterdir()} - {"other.db-wal", "other.db-shm"}
    assert names == {"other.db", "sa-1.db"}
    assert main(["orders", "--db", argv[1]], environ={}) == 0
    assert capsys.readouterr().out == "Ünï-1\n日本-2\n"  # simulate placed no order


def test_an_option_given_empty_is_a_usage_error_not_the_default(
    accented: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """E1: ``--db ""``, ``--schema ""`` or ``--processor ""`` (a shell variable that was not
    set, ``--schema "$SCHEMA"``) is refused, status 2, nothing opened: an empty value
    stood for no option, so ``--db ""`` read the database OCOP_DATABASE_URL names (its
    orders listed), ``--schema ""`` the schema ``ocop`` (another one than meant) and a
    SQLite URL's ``--schema ""`` passed unnoticed."""
    url = f"sqlite:///{accented / 'shop.db'}"
    sim = f"sim:{accented / 'sim'}"
    cases: tuple[tuple[list[str], dict[str, str], str], ...] = (
        (["orders", "--db", ""], {"OCOP_DATABASE_URL": url}, "--db is empty"),
        (["orders", "--db", url, "--schema", ""], {}, "--schema is empty"),
        # No server listens on port 1: refused before any connection is tried.
        (["orders", "--db", "postgresql://127.0.0.1:1/x", "--schema", ""], {}, "--schema is empty"),
        (["recover", "--db", url, "--processor", ""], {"OCOP_PROCESSOR": sim},
         "--processor is empty"),
    )  # fmt: skip
    for argv, environ, words in cases:
        status = main(argv, environ=environ)
        out, err = capsys.readouterr()
        assert (status, out) == (2, ""), err
        assert words in err


@pytest.fixture
def in_doubt(tmp_path: Path) -> Path:
    """A SQLite back office with two captures in doubt (SO-1's and SO-2's, 30.00 USD
    each, their money moved), made through the simulator of ``sa-1`` in ``sim/``; the
    simulator of another account, ``sa-2``, in ``other/``."""
    (tmp_path / "sim").mkdir()
    (tmp_path / "other").mkdir()
    sim = SimulatedProcessor(clock=SystemClock(), state=tmp_path / "sim" / "sa-1.db")
    store = SqliteStore(tmp_path / "shop.db", keeps_journal=True)
    bo = BackOffice(store=store, journal=store.journal, processor=sim)
    for order_id in ("SO-1", "SO-2"):
        bo.place_order(order_id, channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                       total=Money.of("30.00", "USD"),
                       payments=[CardPayment(demo_card(), Money.of("30.00", "USD"))])  # fmt: skip
        sim.script("capture", "timeout_after_success")
        assert bo.invoice(order_id, "INV-1", Money.of("30.00", "USD")).in_doubt
    store.close()
    sim.close()
    SimulatedProcessor(clock=SystemClock(), service_account="sa-2",
                       state=tmp_path / "other" / "sa-2.db").close()  # fmt: skip
    return tmp_path


def test_recover_tells_each_call_it_could_not_ask_about_in_one_line(in_doubt: Path) -> None:
    """O2, I5, E2: ``recover`` with only another account's simulator leaves both captures
    in doubt (status 1) and says why in one line each on stderr, the error's type and
    text: it printed a traceback of a dozen lines for each call (thirty calls in doubt,
    some four hundred lines)."""
    done = ocop("recover", "--db", f"sqlite:///{in_doubt / 'shop.db'}",
                "--processor", f"sim:{in_doubt / 'other'}", encoding="utf-8")  # fmt: skip
    assert done.returncode == 1
    assert b"still in doubt: 2\n" in done.stdout
    lines = done.stderr.decode().splitlines()
    assert b"Traceback" not in done.stderr
    assert len(lines) == 2, lines
    for line, order_id in zip(lines, ("SO-1", "SO-2"), strict=True):
        assert line.startswith(
            f"ocop recover: error: could not ask the processor about {order_id}/capture:"
        )
        assert "ConnectorMismatch: " in line
        assert "was made through sim/sa-1, not sim/sa-2" in line


class _Unreadable(Exception):
    def __str__(self) -> str:
        raise ValueError("no text")


def test_a_log_line_is_one_line_with_its_errors_type_and_masked_text(
    in_doubt: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """E2: in this process too (no handler of the host's on the way), each record is one
    line; an error whose text is empty or cannot be read, or that quotes a card number,
    is told by its type, masked. A host's own handlers are left alone."""
    monkeypatch.setattr(logging.getLogger("ocop"), "propagate", False)
    status = main(["recover", "--db", f"sqlite:///{in_doubt / 'shop.db'}",
                   "--processor", f"sim:{in_doubt / 'other'}"], environ={})  # fmt: skip
    err = capsys.readouterr().err
    assert status == 1
    assert len(err.splitlines()) == 2
    assert "ConnectorMismatch: SO-1/capture:" in err
    with logs_to(sys.stderr, "show"):
        log = logging.getLogger("ocop.example")
        for error in (_Unreadable(), KeyError(), RuntimeError("card 4111111111111111\nend")):
            try:
                raise error
            except Exception:
                log.exception("failed")
    assert capsys.readouterr().err.splitlines() == [
        "ocop show: error: failed: _Unreadable: (its text cannot be read)",
        "ocop show: error: failed: KeyError",
        "ocop show: error: failed: RuntimeError: card [card number]\\nend",
    ]


def test_simulate_interrupted_says_so_in_one_line_and_recover_finishes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """O1, O2: Ctrl-C during ``simulate`` (here as the second capture's money moved, its
    answer lost) ends it with status 130 and one line saying what is left and what to
    run, no traceback: it printed some forty lines of traceback ending in
    KeyboardInterrupt. The orders placed are stored, the capture is in doubt, and
    ``recover`` with the same ``sim:DIR`` resolves it as captured."""
    real = SimulatedProcessor.capture
    calls = []

    def capture(self: SimulatedProcessor, *args: Any) -> Any:
        calls.append(args[0])
        answer = real(self, *args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return answer

    monkeypatch.setattr(SimulatedProcessor, "capture", capture)
    url, sim = f"sqlite:///{tmp_path / 'run.db'}", f"sim:{tmp_path / 'sim'}"
    status = main(["simulate", "--orders", "50", "--db", url, "--processor", sim], environ={})
    out, err = capsys.readouterr()
    assert (status, out) == (130, "")
    assert "Traceback" not in err
    assert err.splitlines()[-1] == (
        "ocop simulate: interrupted: what was done is stored; run ocop recover for the "
        "calls it left in doubt (no reconciliation was made)"
    )
    monkeypatch.setattr(SimulatedProcessor, "capture", real)
    doubtful = calls[1].split("/")[0]
    assert main(["orders", "--db", url, "--in-doubt"], environ={}) == 0
    assert capsys.readouterr().out == f"{doubtful}\n"
    assert main(["recover", "--db", url, "--processor", sim], environ={}) == 0
    assert capsys.readouterr().out.startswith(f"resolved: 1\n  {calls[1]}\n")
    assert main(["show", "--db", url, doubtful], environ={}) == 0
    shown = capsys.readouterr().out
    assert "balance due 0.00 USD" in shown
    assert "capture    " in shown


@pytest.mark.parametrize(
    "command",
    [["orders"], ["show", "SO-1"], ["journal", "export"], ["recover"],
     ["simulate", "--orders", "1"]],
)  # fmt: skip
def test_a_database_url_naming_a_folder_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    """E1: ``--db sqlite:///NAME`` where NAME is a folder (a path typed one level short) is
    a bad option, status 2, told as such, and ``simulate`` makes no simulator's folder: it
    was status 1, 'the database file cannot be opened or written (SQLITE_CANTOPEN)', a
    storage failure to wait out, ``simulate`` having made ``sim:DIR`` first."""
    (tmp_path / "shop.db").mkdir()
    environ = {"OCOP_PROCESSOR": f"sim:{tmp_path / 'sim'}"}
    status = main([*command, "--db", f"sqlite:///{tmp_path / 'shop.db'}"], environ=environ)
    out, err = capsys.readouterr()
    assert (status, out) == (2, ""), err
    assert err.endswith("shop.db is a folder, not a database file\n")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["shop.db"]


@pytest.mark.parametrize("existing", [False, True])
def test_an_export_that_fails_midway_leaves_no_partial_file(
    in_doubt: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    existing: bool,
) -> None:
    """J1: ``journal export --output FILE`` that fails as it writes (a full disk) says so in
    one line, status 1, and leaves FILE as it was (absent, or the last export whole):
    it ended with a traceback and left the rows written so far, a CSV that reads as a
    whole journal with vouchers missing."""
    target = in_doubt / "journal.csv"
    if existing:
        target.write_text("the last export\n")
    real = cli_export.write_csv

    def full_disk(stream: Any, vouchers: Any) -> None:
        real(stream, vouchers[:1])
        stream.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cli_export, "write_csv", full_disk)
    status = main(["journal", "export", "--db", f"sqlite:///{in_doubt / 'shop.db'}",
                   "--output", str(target)], environ={})  # fmt: skip
    out, err = capsys.readouterr()
    assert (status, out) == (1, "")
    assert err == (
        f"ocop journal: error: --output '{target}': cannot write it (No space left on "
        "device); nothing written\n"
    )
    assert sorted(path.name for path in in_doubt.iterdir() if path.is_file()) == (
        ["journal.csv", "shop.db"] if existing else ["shop.db"]
    )
    if existing:
        assert target.read_text() == "the last export\n"
    monkeypatch.setattr(cli_export, "write_csv", real)
    # A path that is no regular file is written as it is (nothing put in its place).
    status = main(["journal", "export", "--db", f"sqlite:///{in_doubt / 'shop.db'}",
                   "--output", os.devnull], environ={})  # fmt: skip
    assert status == 0


class _FullDisk(io.StringIO):
    """A stdout on a full disk."""

    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("command", [["orders"], ["show", "SO-1"], ["journal", "export"]])
def test_a_stdout_it_cannot_write_is_an_error_in_one_line(
    in_doubt: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
) -> None:
    """``ocop orders > /dev/full``: a stdout that refuses what is written (a full disk) is
    an error, status 1, said in one line; it ended with a traceback of OSError."""
    monkeypatch.setattr(sys, "stdout", _FullDisk())
    status = main([*command, "--db", f"sqlite:///{in_doubt / 'shop.db'}"], environ={})
    err = capsys.readouterr().err
    assert status == 1
    assert err == f"ocop {command[0]}: error: cannot write the output (No space left on device)\n"


def test_simulate_leaves_the_calls_in_doubt_of_an_earlier_run_to_their_simulators(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """N3, I5, O2: a run interrupted with a capture in doubt (its money moved at the
    simulators in ``a/``), then a new ``simulate`` on the same database with another
    folder ``b/``: it is refused, status 2, nothing run nor made, the capture still in
    doubt, until ``recover --processor sim:a`` resolves it as captured. The new run's
    final recovery asked its own new simulator of the same account (``sim-w1``), which
    had never received the capture: the capture (and the run's other calls in doubt)
    was recorded as not received, the order invoiced with nothing received, and a
    retried invoice would have captured again."""
    real = SimulatedProcessor.capture
    calls = []

    def capture(self: SimulatedProcessor, *args: Any) -> Any:
        calls.append(args[0])
        answer = real(self, *args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return answer

    monkeypatch.setattr(SimulatedProcessor, "capture", capture)
    url = f"sqlite:///{tmp_path / 'run.db'}"
    first = ["simulate", "--orders", "50", "--db", url, "--processor", f"sim:{tmp_path / 'a'}"]
    assert main(first, environ={}) == 130
    monkeypatch.setattr(SimulatedProcessor, "capture", real)
    doubtful = calls[1].split("/")[0]
    capsys.readouterr()
    again = ["simulate", "--orders", "2", "--db", url, "--processor", f"sim:{tmp_path / 'b'}"]
    status = main(again, environ={})
    out, err = capsys.readouterr()
    assert (status, out) == (2, ""), err
    assert "holds 1 order with calls in doubt" in err
    assert "ocop recover --processor sim:DIR" in err
    assert not (tmp_path / "b").exists()
    assert main(["orders", "--db", url, "--in-doubt"], environ={}) == 0
    assert capsys.readouterr().out == f"{doubtful}\n"
    assert main(["recover", "--db", url, "--processor", f"sim:{tmp_path / 'a'}"], environ={}) == 0
    assert capsys.readouterr().out.startswith(f"resolved: 1\n  {calls[1]}\n")
    assert main(again, environ={}) == 0
    assert main(["show", "--db", url, doubtful], environ={}) == 0
    shown = capsys.readouterr().out
    assert "balance due 0.00 USD" in shown
    assert "not_received" not in shown


class _FullRaw(io.RawIOBase):
    """A binary stdout on a full disk."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_an_ascii_stdout_in_this_process_shows_escapes_and_takes_the_csv_in_utf8(
    accented: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same as run by a host in its own process (``main``): escapes for ``orders``,
    UTF-8 for the CSV; and a full disk under either is one line, status 1."""
    url = f"sqlite:///{accented / 'shop.db'}"
    for argv, wanted in ((["orders"], b"\\xdcn\\xef-1\n\\u65e5\\u672c-2\n"),
                         (["journal", "export"], ",\xdcn\xef-1,INV-\xe9,".encode())):  # fmt: skip
        written = io.BytesIO()
        monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(written, encoding="ascii"))
        assert main([*argv, "--db", url], environ={}) == 0
        sys.stdout.flush()
        assert wanted in written.getvalue()
    for argv in (["orders"], ["journal", "export"]):
        full = io.TextIOWrapper(io.BufferedWriter(_FullRaw(), buffer_size=8), encoding="ascii")
        monkeypatch.setattr(sys, "stdout", full)
        assert main([*argv, "--db", url], environ={}) == 1
        assert capsys.readouterr().err.endswith(
            "cannot write the output (No space left on device)\n"
        )
