"""The clock port: ocop never reads the time by itself."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from ocop.domain.errors import InvalidArgument

__all__ = ["CheckedClock", "Clock"]


class Clock(Protocol):
    """Tells the time. Implementations return timezone-aware datetimes."""

    def now(self) -> datetime: ...


class CheckedClock:
    """A host's clock whose every answer is checked (E1): a time without a timezone is
    :class:`~ocop.domain.errors.InvalidArgument` naming the clock, raised where the time
    is read, before it is stored or compared with the aware times ocop keeps. A time in
    another zone is given back in UTC: Python subtracts and compares two times of one zone
    by their wall-clock readings, so across a daylight-saving change an authorization's
    age (I3, A1) would be an hour off."""

    __slots__ = ("inner",)

    def __init__(self, clock: Clock) -> None:
        #: The host's own clock (a checked one given again is not checked twice).
        self.inner: Clock = clock.inner if isinstance(clock, CheckedClock) else clock

    def now(self) -> datetime:
        moment = self.inner.now()
        if not isinstance(moment, datetime) or moment.utcoffset() is None:
            kind = "a naive datetime" if isinstance(moment, datetime) else type(moment).__name__
            raise InvalidArgument(
                f"clock.now() must return a timezone-aware datetime, not {kind}",
                argument="clock",
            )
        try:
            return moment.astimezone(UTC)
        except OverflowError:  # the last hours a datetime holds, west of UTC: as told
            return moment
