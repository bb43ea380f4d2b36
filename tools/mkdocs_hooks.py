"""Hooks of the documentation site (mkdocs.yml ``hooks:``).

The API page is rendered from docstrings that cross-reference with Sphinx's roles
(``:class:`~ocop.domain.errors.InvalidInput```), which the renderer leaves as they are:
the reader would see ``:class:InvalidInput`` markup. Each role becomes the code it
names, ``~`` keeping the last part of a dotted name only, as Sphinx shows it; and a
paragraph that ends ``::`` before its example (a literal block) ends with one colon.
"""

from __future__ import annotations

import re

_ROLE = re.compile(r":(?:class|meth|func|attr|data|mod|exc|obj):<code>(~?)([^<]*)</code>")
_LITERAL_BLOCK = re.compile(r"::</p>(\s*<pre>)")


def _name(match: re.Match[str]) -> str:
    shorten, name = match.group(1), match.group(2)
    return f"<code>{name.rsplit('.', 1)[-1] if shorten else name}</code>"


def on_page_content(html: str, **_: object) -> str:
    """The page's HTML with every Sphinx role shown as the name it stands for, and every
    literal block's ``::`` as one colon."""
    return _LITERAL_BLOCK.sub(r":</p>\1", _ROLE.sub(_name, html))
