"""How ``ocop journal export`` writes the journal as CSV: one row per voucher line.

A spreadsheet opening the file runs a cell that starts with ``=``, ``+``, ``-`` or ``@``
(or a tab or carriage return before them) as a formula, and ids are the caller's
(``=1+1`` is a valid order id, E1). Every text cell that starts with one of those, or
with a single quote, is written with a single quote before it: the spreadsheet shows it
as text, and dropping one leading quote gives the id back exactly. Amounts are numbers,
written as they are (a sign is never taken for a formula there).
"""

from __future__ import annotations

import csv
import errno
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from ocop.domain.cardnumbers import quoted
from ocop.domain.errors import InvalidArgument, OcopError
from ocop.domain.journal import Voucher

__all__ = ["CSV_COLUMNS", "csv_cell", "write_csv", "write_file"]

CSV_COLUMNS = ("voucher_id", "posted_at", "journal", "kind", "order_id", "reference",
               "account", "debit", "credit", "currency")  # fmt: skip

#: What a spreadsheet reads a cell starting with as a formula, and the quote that marks
#: a cell as text (quoted too, so that dropping one leading quote is always right).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")

#: How many part names an export tries before it gives up (each one taken already).
_PART_TRIES = 8


def csv_cell(text: str) -> str:
    """``text`` as written in a cell: text that a spreadsheet would run gets a leading
    single quote. Amounts do not go through here: they are written as they are."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def write_csv(stream: TextIO, vouchers: Sequence[Voucher]) -> None:
    """The vouchers' lines, after a header row of :data:`CSV_COLUMNS`."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for voucher in vouchers:
        texts = (voucher.voucher_id, voucher.posted_at.isoformat(), voucher.journal_name,
                 voucher.kind.value, voucher.order_id, voucher.reference)  # fmt: skip
        for line in voucher.lines:
            writer.writerow([
                *map(csv_cell, texts), csv_cell(line.account),
                line.debit.amount, line.credit.amount, csv_cell(voucher.amount.currency),
            ])  # fmt: skip


def write_file(path: Path, vouchers: Sequence[Voucher]) -> None:
    """The CSV into the file ``path``, whole or not at all: written beside it, then put in
    its place, so that a failure as it writes (a full disk) leaves no partial journal
    that reads as a whole one, and the file there before stays as it was. A path that
    is no regular file (a device, a pipe) is written directly. A link is followed: the file
    it points to is the one replaced, and the link stays (the part written beside it has a
    name of its own, made new: what is there already, a link too, is left, never followed
    nor removed); a file replaced keeps its permissions (a journal its owner alone reads
    stays so). A file it cannot open is a bad option (:class:`InvalidArgument`); one it
    cannot write, an error."""
    real = Path(os.path.realpath(path))
    direct = real.exists() and not real.is_file()
    # Made with the permissions of the file it replaces: none wider while it is written.
    mode = stat.S_IMODE(real.stat().st_mode) if real.exists() and not direct else 0o666
    try:
        written, file = (real, _open(real, mode, new=False)) if direct else _part(real, mode)
    except OSError as error:
        raise InvalidArgument(
            f"--output {quoted(str(path))}: cannot write it ({error.strerror})",
            argument="--output",
        ) from None
    try:
        with file:
            write_csv(file, vouchers)
        if not direct:
            if real.exists():
                shutil.copymode(real, written)  # as it was, whatever the umask
            written.replace(real)
    except OSError as error:
        left = "" if direct else "; nothing written"
        raise OcopError(
            f"--output {quoted(str(path))}: cannot write it ({error.strerror}){left}"
        ) from None
    finally:  # a failure or Ctrl-C: FILE as it was, nothing left beside it (once put in
        if not direct:  # its place, the part's name is gone already)
            written.unlink(missing_ok=True)


def _part(real: Path, mode: int) -> tuple[Path, TextIO]:
    """A part of its own beside ``real``, made new: its name, ``.FILE.PID.RANDOM.part``,
    is one no other export (of this process id too: another container's, another
    thread's) and no file or link already there has; those are left as they are."""
    for _ in range(_PART_TRIES):
        written = real.with_name(f".{real.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
        try:
            return written, _open(written, mode, new=True)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST))


def _open(name: Path, mode: int, *, new: bool) -> TextIO:
    return open(name, "w", newline="", encoding="utf-8", opener=_opener(mode, new=new))


def _opener(mode: int, *, new: bool) -> Callable[[str, int], int]:
    """Opens a file for :func:`open`, one it makes with ``mode`` (less the umask); ``new``:
    one it makes itself, never a file or a link already there (made since: refused)."""
    exclusive = os.O_EXCL if new else 0  # with O_CREAT: a link there is refused too

    def opener(name: str, flags: int) -> int:
        return os.open(name, flags | exclusive, mode)

    return opener
