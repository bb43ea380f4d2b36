"""The contract suites the how-to pages subclass run against the adapters those pages
write: a page's ``Test...`` class is only defined when its blocks run (test_docs.py), so
here each is collected, and the documented journal and processor keep their ports."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def _page(name: str) -> dict[str, object]:
    """The namespace a page's python blocks leave, run in order as test_docs runs them."""
    namespace: dict[str, object] = {"__name__": f"docs_{Path(name).stem}"}
    for number, block in enumerate(BLOCK.findall((ROOT / name).read_text("utf-8")), start=1):
        exec(compile(block, f"{name}#{number}", "exec"), namespace)  # noqa: S102
    return namespace


TestDocumentedLedgerJournal = _page("docs/howto-journal.md")["TestLedgerJournal"]
TestDocumentedProcessor = _page("docs/howto-processor.md")["TestMyProcessor"]
