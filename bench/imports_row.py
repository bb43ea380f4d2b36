"""Start-up cost: a whole Python process importing ocop against one importing attrs."""

from __future__ import annotations

import subprocess
import sys

from harness import Progress, Row, interleave, timed

ROUNDS = 9


def _process(code: str) -> float:
    """Seconds of a fresh interpreter that runs ``code`` and exits."""
    command = [sys.executable, "-c", code]
    return timed(lambda: subprocess.run(command, check=True))  # noqa: S603


#: What a host does first: the back office, its settings and money (each name's module is
#: loaded when first used, so ``import ocop`` alone costs little).
FIRST_USE = "import ocop; ocop.BackOffice, ocop.Settings, ocop.Money"


def import_against_attrs(progress: Progress) -> Row:
    progress.start("import ocop vs import attrs (whole process)")
    progress.note(f"{ROUNDS} interleaved runs of `python -c 'import ...'` each")
    _process("import ocop")  # warm the file cache and bytecode for both sides
    _process("import attrs")
    _process(FIRST_USE)
    pair = interleave(lambda: _process("import attrs"), lambda: _process("import ocop"), ROUNDS)
    used = interleave(lambda: _process("import attrs"), lambda: _process(FIRST_USE), ROUNDS)
    progress.done(
        f"attrs {pair.baseline * 1000:.0f} ms, ocop {pair.subject * 1000:.0f} ms -> "
        f"{pair.slowdown:.2f}x; with BackOffice, Settings and Money used: "
        f"{used.subject * 1000:.0f} ms -> {used.slowdown:.2f}x"
    )
    return Row(
        "import ocop ÷ import attrs (process)",
        f"{pair.slowdown:.2f}x ({used.slowdown:.2f}x once BackOffice is used)",
        "≤ 2.5x",
    )
