"""The ``ocop`` command line's stdout: when its reader goes away, the command ends
quietly, as Unix tools do; a character the terminal's encoding lacks (an id is any
printable text, E1) is shown as its escape instead of failing the command."""

from __future__ import annotations

import codecs
import os
import sys
from collections.abc import Iterable
from typing import BinaryIO, TextIO, cast

from ocop.domain.cardnumbers import contains_card_number, mask

__all__ = ["Escaping", "OutputFailed", "ReaderGone", "Stdout", "in_utf8", "silence_stdout"]


class ReaderGone(Exception):
    """stdout's reader went away (``ocop show SO-1 | head -1``)."""


class OutputFailed(Exception):
    """stdout refused what was written (``ocop orders > /dev/full``): its reason."""


class Stdout:
    """stdout, telling its reader going away from any other broken pipe (a processor's,
    a journal's), which stays an error."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            try:
                return self._stream.write(text)
            except UnicodeEncodeError:  # nothing was written: the text is encoded first
                return self._stream.write(_escaped(text, self._stream))
        except BrokenPipeError as gone:
            raise ReaderGone from gone
        except OSError as error:
            raise OutputFailed(error.strerror) from error

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError as gone:
            raise ReaderGone from gone
        except OSError as error:
            raise OutputFailed(error.strerror) from error

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)

    @staticmethod
    def stderr() -> TextIO:
        """``sys.stderr``, its escapes made and masked by ocop (:class:`Escaping`)."""
        return cast(TextIO, Escaping(sys.stderr))


class Escaping:
    """stderr, a character its encoding lacks written as its escape by ocop, not by the
    stream's own ``backslashreplace``: an escape that runs on into a card number is masked
    (``no order '\\xe9100000000009'``, T2, E2)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(_escaped(text, self._stream))

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def in_utf8(out: TextIO) -> TextIO:
    """``out``, writing UTF-8 whatever its encoding: a file format (``journal export``'s
    CSV) is the same bytes on stdout as in a file. What ``out`` holds is flushed first."""
    encoding = getattr(out, "encoding", None) or "utf-8"
    binary = getattr(out, "buffer", None)
    if codecs.lookup(encoding).name == "utf-8" or binary is None:
        return out
    out.flush()
    return cast(TextIO, _Utf8(binary))


class _Utf8:
    """A text stream's binary layer, written in UTF-8 (its reader gone: ReaderGone)."""

    def __init__(self, binary: BinaryIO) -> None:
        self._binary = binary

    def write(self, text: str) -> int:
        try:
            self._binary.write(text.encode("utf-8"))
        except BrokenPipeError as gone:
            raise ReaderGone from gone
        except OSError as error:
            raise OutputFailed(error.strerror) from error
        return len(text)


def _escaped(text: str, stream: TextIO) -> str:
    """``text`` with each character ``stream``'s encoding lacks as its escape (``\\xe9``),
    as Python shows them on stderr. An escape can end in digits that run on into the
    digits after it (``\\xe9`` before ``100000000009``): a line escaped into holding a card
    number is masked (T2, E2), as :func:`mask` searches the text it escapes once more."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    escaped = text.encode(encoding, "backslashreplace").decode(encoding)
    if escaped == text:
        return text
    lines = zip(text.split("\n"), escaped.split("\n"), strict=True)  # escapes add no line
    return "\n".join(mask(line) if line != was and contains_card_number(line) else line
                     for was, line in lines)  # fmt: skip


def silence_stdout() -> None:
    """The command stops quietly, as Unix tools do: what is left in stdout's buffer goes
    to the null device, so that exiting does not fail again."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a file: nothing more to flush
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, descriptor)
    finally:
        os.close(devnull)
