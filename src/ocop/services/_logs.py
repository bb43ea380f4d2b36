"""ocop's loggers: every line masked before any handler sees it (rule E2).

A processor's reason, or an id stored before the edge checked ids, could hold a card
number or control characters that would forge or corrupt log lines; the filter passes
every text of a record through the same masking step as error messages, a logged
traceback (its error's text, arguments and causes) included.
"""

from __future__ import annotations

import logging

from ocop.domain.cardnumbers import mask


class _Masked(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask(a) if isinstance(a, str) else a for a in record.args)
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            # log.exception: the traceback quotes the error's text, its arguments and its
            # causes; formatted and masked here, handlers print this text (not their own).
            record.exc_text = _masked_lines(_TRACEBACKS.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = _masked_lines(record.stack_info)
        return True


#: Formats a record's traceback once, for the filter to mask it.
_TRACEBACKS = logging.Formatter()


def _masked_lines(text: str) -> str:
    """``text`` masked line by line (a traceback keeps its lines)."""
    return "\n".join(mask(line) for line in text.split("\n"))


def logger(name: str) -> logging.Logger:
    """The logger ``name`` with the masking filter (added once)."""
    log = logging.getLogger(name)
    if not any(isinstance(f, _Masked) for f in log.filters):
        log.addFilter(_Masked())
    return log


def described(error: BaseException) -> str:
    """``error``'s type and text for a log line (masked there, as every argument is); its
    type alone when it has no text, and a text that cannot be read (its ``__str__`` fails)
    is said so: a log line never fails the call that writes it."""
    try:
        text = str(error)
    except Exception:  # noqa: BLE001 - a host's error: its text is only told, never needed
        text = "(its text cannot be read)"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
