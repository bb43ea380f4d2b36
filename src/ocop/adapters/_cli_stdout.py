"""The ``ocop`` command line's stdout: when its reader goes away, the command ends
quietly, as Unix tools do; a character the terminal's encoding lacks (an id is any
printable text, E1) is shown as its escape instead of failing the command."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TextIO

__all__ = ["ReaderGone", "Stdout", "silence_stdout"]


class ReaderGone(Exception):
    """stdout's reader went away (``ocop show SO-1 | head -1``)."""


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

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError as gone:
            raise ReaderGone from gone

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def _escaped(text: str, stream: TextIO) -> str:
    """``text`` with each character ``stream``'s encoding lacks as its escape (``\\xe9``),
    as Python shows them on stderr."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    return text.encode(encoding, "backslashreplace").decode(encoding)


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
