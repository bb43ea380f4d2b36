"""``ocop journal export --output FILE`` written beside FILE, then put in its place: what
FILE was (a link, a file of its own permissions) stays what it was, only its rows new."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from ocop import BackOffice, CardPayment, Channel, Customer, Money
from ocop.adapters import _cli_export as cli_export
from ocop.adapters._demo import demo_card
from ocop.adapters.cli import main
from ocop.adapters.memory import SystemClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.adapters.sqlite import SqliteStore


@pytest.fixture
def shop(tmp_path: Path) -> str:
    """A SQLite back office with one order invoiced 40.00 EUR; its database URL."""
    (tmp_path / "sim").mkdir()
    sim = SimulatedProcessor(clock=SystemClock(), state=tmp_path / "sim" / "sa-1.db")
    store = SqliteStore(tmp_path / "shop.db", keeps_journal=True)
    bo = BackOffice(store=store, journal=store.journal, processor=sim)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named("C1"),
                   total=Money.of("100.00", "EUR"),
                   payments=[CardPayment(demo_card(), Money.of("100.00", "EUR"))])  # fmt: skip
    bo.invoice("SO-1", "INV-1", Money.of("40.00", "EUR"))
    store.close()
    sim.close()
    return f"sqlite:///{tmp_path / 'shop.db'}"


def _export(url: str, output: Path) -> int:
    return main(["journal", "export", "--db", url, "--output", str(output)], environ={})


def test_an_export_through_a_link_writes_the_file_it_points_to(shop: str, tmp_path: Path) -> None:
    """J1: ``--output latest.csv``, a link to the shared export, writes the shared export
    and leaves the link: the link was replaced by a file of its own, the export it named
    left as it was (the last export, without INV-1)."""
    (tmp_path / "shared").mkdir()
    shared = tmp_path / "shared" / "journal.csv"
    shared.write_text("the last export\n")
    link = tmp_path / "latest.csv"
    link.symlink_to(shared)
    assert _export(shop, link) == 0
    assert link.is_symlink()
    assert "INV-1" in shared.read_text()
    assert sorted(path.name for path in (tmp_path / "shared").iterdir()) == ["journal.csv"]


def test_an_export_over_a_file_keeps_its_permissions(shop: str, tmp_path: Path) -> None:
    """J1: an export over a journal readable by its owner only stays so: the file put in
    its place was made with the default permissions, readable by every user."""
    target = tmp_path / "journal.csv"
    target.write_text("the last export\n")
    target.chmod(0o600)
    assert _export(shop, target) == 0
    assert "INV-1" in target.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_new_export_is_made_with_the_usual_permissions(shop: str, tmp_path: Path) -> None:
    """J1: a new file is made as any file the user writes (the umask decides)."""
    target = tmp_path / "journal.csv"
    mask = os.umask(0o027)
    try:
        assert _export(shop, target) == 0
    finally:
        os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_an_export_interrupted_leaves_nothing_beside_the_file(
    shop: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """J1, O1: Ctrl-C as the export writes ends it with status 130 and leaves FILE as it
    was, with nothing beside it: the half-written part stayed there, a hidden file."""
    target = tmp_path / "journal.csv"
    target.write_text("the last export\n")

    def interrupted(stream: Any, vouchers: Any) -> None:
        stream.write("voucher_id\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_export, "write_csv", interrupted)
    assert _export(shop, target) == 130
    assert target.read_text() == "the last export\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["journal.csv", "shop.db", "sim"]


def test_an_export_writes_no_file_a_link_in_place_of_its_part_names(
    shop: str, tmp_path: Path
) -> None:
    """J1: a link left (or planted by another user of a shared folder) where the export
    writes its part, ``.journal.csv.PID.part``, is not followed (nor removed: the part
    has a name of its own): the file it names is left as it was and FILE is a file of its
    own. The export truncated the named file,
    wrote the journal into it, and then put the link in FILE's place."""
    target = tmp_path / "journal.csv"
    target.write_text("the last export\n")
    other = tmp_path / "notes.txt"
    other.write_text("someone else's notes\n")
    planted = tmp_path / f".journal.csv.{os.getpid()}.part"
    planted.symlink_to(other)
    assert _export(shop, target) == 0
    assert other.read_text() == "someone else's notes\n"
    assert not target.is_symlink()
    assert "INV-1" in target.read_text()
    assert planted.is_symlink()  # not the export's: left as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        planted.name, "journal.csv", "notes.txt", "shop.db", "sim",
    ]  # fmt: skip


def test_two_exports_of_one_process_id_never_put_a_part_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """J1: two exports to one FILE under one process id (two containers sharing a folder
    each run the export as process 1; here two threads) each write a part of their own:
    FILE is always a whole journal. The second removed the first's part to make its own,
    and the first, done, put the second's half-written part in FILE's place."""
    target = tmp_path / "journal.csv"
    target.write_text("the last export\n")
    started, first_done = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def second_write(stream: Any, vouchers: Any) -> None:
        stream.write("the second export, half\n")
        stream.flush()
        started.set()
        first_done.wait(10)
        stream.write("the second export, rest\n")

    def second() -> None:
        try:
            cli_export.write_file(target, [])
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    def write(stream: Any, vouchers: Any) -> None:
        if threading.current_thread() is not threading.main_thread():
            second_write(stream, vouchers)
            return
        other.start()
        started.wait(10)
        stream.write("the first export, whole\n")

    other = threading.Thread(target=second)
    monkeypatch.setattr(cli_export, "write_csv", write)
    try:
        cli_export.write_file(target, [])
        assert target.read_text() == "the first export, whole\n"
    finally:
        first_done.set()
        other.join(10)
    assert failures == []
    assert target.read_text() == "the second export, half\nthe second export, rest\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["journal.csv"]
