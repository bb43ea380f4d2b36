"""Progress of long command-line work, on stderr (results go to stdout).

On a terminal one line is redrawn in place: count/total, percent, rate and time left.
Elsewhere (a log file, a CI job) a plain line is written at each tenth of the way, so
logs stay short and readable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["Progress"]

#: The shortest pause between two redraws on a terminal, in seconds.
_REDRAW = 0.1


class Progress:
    """Progress of ``total`` units of work named ``label``, written to ``stream``."""

    def __init__(
        self,
        label: str,
        total: int,
        stream: TextIO,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._label = label
        self._total = max(total, 0)
        self._stream = stream
        self._clock = clock
        self._began = clock()
        self._done = 0
        self._drawn_at: float | None = None
        self._tenth = 0
        self._written: int | None = None  # the count of the last plain line
        self._tty = stream.isatty()

    @property
    def done(self) -> int:
        return self._done

    def update(self, done: int) -> None:
        """``done`` units are finished (a count, not an increment)."""
        self._done = min(max(done, self._done), self._total)
        if self._tty:
            now = self._clock()
            if self._drawn_at is None or now - self._drawn_at >= _REDRAW:
                self._drawn_at = now
                self._stream.write("\r" + self.line() + "\x1b[K")
                self._stream.flush()
        elif self._total:
            tenth = self._done * 10 // self._total
            if tenth > self._tenth:
                self._tenth = tenth
                self._plain()

    def finish(self) -> None:
        """The work is over: the last line stays, ended."""
        if self._tty:
            self._stream.write("\r" + self.line() + "\x1b[K\n")
            self._stream.flush()
        elif self._written != self._done:
            self._plain()

    def _plain(self) -> None:
        self._written = self._done
        self._stream.write(self.line() + "\n")
        self._stream.flush()

    def line(self) -> str:
        """``label done/total (pct%) rate/s, ETA m:ss`` as of now."""
        elapsed = self._clock() - self._began
        rate = self._done / elapsed if elapsed > 0 else 0.0
        percent = 100 * self._done // self._total if self._total else 100
        width = len(str(self._total))
        text = f"{self._label} {self._done:>{width}}/{self._total} ({percent:3d}%) {rate:,.1f}/s"
        if self._done < self._total:
            left = "--:--" if rate == 0 else _clock_time((self._total - self._done) / rate)
            return f"{text}, ETA {left}"
        return f"{text}, {_clock_time(elapsed)}"


def _clock_time(seconds: float) -> str:
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
