"""Docs that run: every Python block in the README and docs/ executes.

The blocks of one page run in order in one namespace, as a reader reads them: a
tutorial's later steps use what its earlier ones built. A page whose blocks reach
PostgreSQL (they read ``DATABASE_URL``) is marked ``postgres`` and runs against the
server named by ``OCOP_TEST_POSTGRES``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def pages() -> list[tuple[str, list[str]]]:
    """Every page with python blocks, and its blocks in order."""
    found = []
    for path in DOCS:
        code = BLOCK.findall(path.read_text(encoding="utf-8"))
        if code:
            found.append((str(path.relative_to(ROOT)), code))
    return found


def _param(name: str, code: list[str]) -> object:
    needs_server = any("DATABASE_URL" in block for block in code)
    marks = [pytest.mark.postgres] if needs_server else []
    return pytest.param(name, code, id=name, marks=marks)


@pytest.mark.parametrize(("name", "code"), [_param(name, code) for name, code in pages()])
def test_documented_examples_run(
    name: str, code: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's examples run as written, in order, and their assertions hold."""
    monkeypatch.setenv("DATABASE_URL", os.environ.get("OCOP_TEST_POSTGRES", POSTGRES))
    namespace: dict[str, object] = {"__name__": f"docs_{Path(name).stem}"}
    for number, block in enumerate(code, start=1):
        exec(compile(block, f"{name}#{number}", "exec"), namespace)  # noqa: S102


def test_the_readme_and_the_tutorial_have_examples() -> None:
    """The README's quick start and the tutorial are among the executed pages."""
    names = {name for name, _ in pages()}
    assert {"README.md", "docs/tutorial.md"} <= names
