"""ocop's loggers: every line masked before any handler sees it (rule E2).

A processor's reason, or an id stored before the edge checked ids, could hold a card
number or control characters that would forge or corrupt log lines; the filter passes
every text of a record through the same masking step as error messages.
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
        return True


def logger(name: str) -> logging.Logger:
    """The logger ``name`` with the masking filter (added once)."""
    log = logging.getLogger(name)
    if not any(isinstance(f, _Masked) for f in log.filters):
        log.addFilter(_Masked())
    return log


def described(error: BaseException) -> str:
    """``error``'s type and text for a log line (masked there, as every argument is); a
    text that cannot be read (its ``__str__`` fails) is said so: a log line never fails
    the call that writes it."""
    try:
        text = str(error)
    except Exception:  # noqa: BLE001 - a host's error: its text is only told, never needed
        text = "(its text cannot be read)"
    return f"{type(error).__name__}: {text}"
