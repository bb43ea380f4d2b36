"""The progress line of long commands: redrawn in place on a terminal, tenths elsewhere."""

from __future__ import annotations

import io

from ocop.adapters._progress import Progress


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class Ticks:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_terminal_gets_one_line_redrawn_with_rate_and_time_left() -> None:
    """On a terminal each update redraws the line (at most ten times a second) with the
    count, percent, rate and ETA; finishing leaves the last line with the time taken."""
    stream, clock = Terminal(), Ticks()
    progress = Progress("orders", 200, stream, clock=clock)
    clock.now = 10.0
    progress.update(50)
    assert stream.getvalue() == "\rorders  50/200 ( 25%) 5.0/s, ETA 0:30\x1b[K"
    progress.update(60)  # no time passed: not redrawn
    assert stream.getvalue().count("\r") == 1
    clock.now = 3_700.0
    progress.update(199)
    assert stream.getvalue().endswith("\rorders 199/200 ( 99%) 0.1/s, ETA 0:19\x1b[K")
    progress.update(200)
    progress.finish()
    assert stream.getvalue().endswith("\rorders 200/200 (100%) 0.1/s, 1:01:40\x1b[K\n")
    assert progress.done == 200


def test_a_log_gets_a_plain_line_at_each_tenth() -> None:
    """Elsewhere a line is written at each tenth of the way; counts never go back."""
    stream, clock = io.StringIO(), Ticks()
    progress = Progress("reconciling", 20, stream, clock=clock)
    for done in range(1, 21):
        progress.update(done)
    progress.update(3)
    progress.finish()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[0].startswith("reconciling  2/20 ( 10%)")
    assert lines[-1].startswith("reconciling 20/20 (100%)")


def test_work_cut_short_or_empty_still_ends_its_line() -> None:
    """Finishing before the end writes where it stopped; nothing to do is 100% at once."""
    stream, clock = io.StringIO(), Ticks()
    progress = Progress("orders", 10, stream, clock=clock)
    progress.update(4)
    progress.finish()
    assert stream.getvalue() == "orders  4/10 ( 40%) 0.0/s, ETA --:--\n"
    empty = io.StringIO()
    Progress("orders", 0, empty, clock=clock).finish()
    assert empty.getvalue() == "orders 0/0 (100%) 0.0/s, 0:00\n"
