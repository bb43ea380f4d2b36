"""Timing, interleaving and printing shared by every benchmark group.

A benchmark is a pair of rounds, a baseline and a subject, each returning the
seconds it measured (so a round can leave its setup out of the time). The
rounds alternate, baseline first, and the medians are compared: what loads the
machine during one round loads its neighbour too.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable

import attrs

Round = Callable[[], float]


def say(text: str) -> None:
    """One line to standard output, flushed at once (the run is watched as it goes)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def timed(work: Callable[[], object], *, collector: bool = True) -> float:
    """The seconds ``work`` took; ``collector=False`` pauses Python's cyclic garbage
    collector meanwhile, as ``timeit`` does (it runs from time to time and walks every
    live object, so its share grows with the heap, not with the work)."""
    paused = not collector and gc.isenabled()
    if paused:
        gc.disable()
    try:
        start = time.perf_counter()
        work()
        return time.perf_counter() - start
    finally:
        if paused:
            gc.enable()


@attrs.frozen
class Pair:
    """The medians of interleaved baseline and subject rounds (seconds, or seconds per op)."""

    baseline: float
    subject: float
    rounds: int

    @property
    def slowdown(self) -> float:
        """Subject time ÷ baseline time."""
        return self.subject / self.baseline

    @property
    def throughput(self) -> float:
        """Subject throughput ÷ baseline throughput (the inverse of the slowdown)."""
        return self.baseline / self.subject


def interleave(baseline: Round, subject: Round, rounds: int) -> Pair:
    """Run ``rounds`` baseline and subject rounds alternately; their medians."""
    base: list[float] = []
    ours: list[float] = []
    for _ in range(rounds):
        base.append(baseline())
        ours.append(subject())
    return Pair(statistics.median(base), statistics.median(ours), rounds)


@attrs.frozen
class Row:
    """One line of the closing table: the issue's measure, today's figure, its bar."""

    measure: str
    today: str
    bar: str


class Progress:
    """Numbered progress lines: one as a benchmark starts, one with its result."""

    def __init__(self, total: int) -> None:
        self._total = total
        self._number = 0
        self._started = 0.0

    def start(self, title: str) -> None:
        self._number += 1
        self._started = time.perf_counter()
        say(f"[{self._number}/{self._total}] {title} ...")

    def note(self, text: str) -> None:
        say(f"      {text}")

    def done(self, result: str) -> None:
        took = time.perf_counter() - self._started
        say(f"[{self._number}/{self._total}] -> {result}  ({took:.1f} s)")


def ms(seconds: float) -> str:
    """A duration in ms (in µs under a millisecond)."""
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    return f"{seconds * 1000:.2f} ms"


def table(rows: list[Row]) -> list[str]:
    """The closing table as text lines."""
    head = Row("measure", "today (this run)", "bar (issue 8)")
    widths = [max(len(getattr(r, f)) for r in [head, *rows]) for f in ("measure", "today", "bar")]
    lines = []
    for number, row in enumerate([head, *rows]):
        cells = (row.measure, row.today, row.bar)
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines
