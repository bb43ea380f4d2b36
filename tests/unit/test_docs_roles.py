"""The API page is rendered from docstrings written with Sphinx's roles (``:class:`X```),
which the site's renderer does not know: a hook of the site turns each into the name it
stands for, so the page never shows a role's markup."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import mkdocs_hooks  # noqa: E402 (a script of tools/, found through the path above)


def test_a_role_renders_as_the_name_it_stands_for() -> None:
    """``:class:`InvalidInput``` shows ``InvalidInput``; ``~`` shows the last part only."""
    html = (
        "raises :class:<code>InvalidArgument</code> and "
        ":class:<code>~ocop.domain.errors.InvalidDraftEdit</code>; see "
        ":meth:<code>with_settings</code>, :data:<code>MAX_PAGE</code>, "
        ":attr:<code>~ocop.domain.operations.Operation.reference</code>"
    )
    assert mkdocs_hooks.on_page_content(html) == (
        "raises <code>InvalidArgument</code> and <code>InvalidDraftEdit</code>; see "
        "<code>with_settings</code>, <code>MAX_PAGE</code>, <code>reference</code>"
    )


def test_the_site_runs_the_hook() -> None:
    """mkdocs.yml names the hook, so ``make docs`` applies it to every page."""
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "hooks:\n  - tools/mkdocs_hooks.py" in config


def test_a_literal_block_marker_renders_as_one_colon() -> None:
    """A paragraph ending ``::`` before its example (reStructuredText's literal block)
    shows one colon, as Sphinx shows it; a ``::`` inside a paragraph stays."""
    html = "<p>scripted per call kind::</p>\n<pre><code>sim.script()</code></pre><p>a::b</p>"
    assert mkdocs_hooks.on_page_content(html) == (
        "<p>scripted per call kind:</p>\n<pre><code>sim.script()</code></pre><p>a::b</p>"
    )
