"""Start-up cost: a whole Python process importing ocop against one importing attrs."""

from __future__ import annotations

import subprocess
import sys

from harness import Progress, Row, interleave, timed

ROUNDS = 9


def _process(module: str) -> float:
    """Seconds of a fresh interpreter that imports ``module`` and exits."""
    command = [sys.executable, "-c", f"import {module}"]
    return timed(lambda: subprocess.run(command, check=True))  # noqa: S603


def import_against_attrs(progress: Progress) -> Row:
    progress.start("import ocop vs import attrs (whole process)")
    progress.note(f"{ROUNDS} interleaved runs of `python -c 'import ...'` each")
    _process("ocop")  # warm the file cache and bytecode for both sides
    _process("attrs")
    pair = interleave(lambda: _process("attrs"), lambda: _process("ocop"), ROUNDS)
    ratio = pair.slowdown
    progress.done(
        f"attrs {pair.baseline * 1000:.0f} ms, ocop {pair.subject * 1000:.0f} ms -> {ratio:.2f}x"
    )
    return Row("import ocop ÷ import attrs (process)", f"{ratio:.2f}x", "≤ 2.5x")
