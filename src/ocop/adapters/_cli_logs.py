"""How the ``ocop`` command line shows what the library logs: one line a record on
stderr, ``ocop <command>: <level>: <message>``, a logged error told by its type and
text (masked, E2), never its traceback. A call ``recover`` could not ask about is
expected (a simulator of another account, I5), and thirty of them printed thirty
tracebacks. A host that configured logging itself keeps its own handlers alone."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from ocop.domain.cardnumbers import mask
from ocop.services._logs import described

__all__ = ["logs_to"]


class _OneLine(logging.Formatter):
    def __init__(self, command: str) -> None:
        super().__init__()
        self._command = command

    def format(self, record: logging.LogRecord) -> str:
        text = f"ocop {self._command}: {record.levelname.lower()}: {record.getMessage()}"
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            text += f": {described(error)}"
        return mask(text)


@contextmanager
def logs_to(stream: TextIO, command: str) -> Iterator[None]:
    """While the command runs, ocop's warnings and errors go to ``stream`` one line each,
    unless logging has handlers already (the host's own)."""
    log = logging.getLogger("ocop")
    if log.hasHandlers():
        yield
        return
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(_OneLine(command))
    log.addHandler(handler)
    try:
        yield
    finally:
        log.removeHandler(handler)
