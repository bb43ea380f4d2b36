"""Docs that run: every Python block in the README and docs/ executes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks() -> list[tuple[str, int, str]]:
    """Every python block of the docs, with its file and position."""
    found = []
    for path in DOCS:
        for number, code in enumerate(BLOCK.findall(path.read_text(encoding="utf-8")), start=1):
            found.append((path.name, number, code))
    return found


@pytest.mark.parametrize(("name", "number", "code"), blocks())
def test_documented_example_runs(name: str, number: int, code: str) -> None:
    """The example runs as written and its assertions hold."""
    exec(compile(code, f"{name}#{number}", "exec"), {"__name__": f"docs_{number}"})  # noqa: S102


def test_the_readme_has_examples() -> None:
    """The README's quick start is among the executed blocks."""
    assert any(name == "README.md" for name, _, _ in blocks())
