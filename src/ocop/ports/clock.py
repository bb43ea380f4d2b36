"""The clock port: ocop never reads the time by itself."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Tells the time. Implementations return timezone-aware datetimes."""

    def now(self) -> datetime: ...
