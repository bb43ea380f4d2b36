"""The clock port: ocop never reads the time by itself."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

__all__ = ["Clock"]


class Clock(Protocol):
    """Tells the time. Implementations return timezone-aware datetimes."""

    def now(self) -> datetime: ...
