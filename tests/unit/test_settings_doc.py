"""docs/settings.md has a row for every setting, with its declared type and its default."""

from __future__ import annotations

import enum
import re
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from ocop.domain import settings

DOC = (Path(__file__).resolve().parents[2] / "docs" / "settings.md").read_text(encoding="utf-8")
CLASSES = (
    settings.Settings,
    settings.Features,
    settings.CompletionPolicy,
    settings.AuthorizationPolicy,
    settings.JournalNames,
    settings.RefundPolicy,
    settings.DepositPolicy,
)
ROW = re.compile(r"^\| `(\w+)` \| `(.+?)` \| (.+?) \| (.+) \| (.+) \|$", re.MULTILINE)


def rows(cls: type) -> dict[str, tuple[str, str, str, str]]:
    """The table rows of ``cls``'s section: field -> (type, default, meaning, rules)."""
    section = DOC.split(f"\n## `{cls.__name__}` {{#{cls.__name__}}}\n", 1)[1].split("\n## ")[0]
    return {name: (kind, default, meaning, rules) for name, kind, default, meaning, rules
            in ROW.findall(section)}  # fmt: skip


def shown(value: object) -> str | None:
    """How the page writes a plain default; None for one it describes in words."""
    if isinstance(value, enum.Enum):
        return f"`{type(value).__name__}.{value.name}`"
    if isinstance(value, bool | int) or value is None:
        return f"`{value}`"
    if isinstance(value, Decimal):
        return f'`Decimal("{value}")`'
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, tuple) and all(isinstance(item, str) for item in value):
        return "`(" + ", ".join(f'"{item}"' for item in value) + ")`"
    if attrs.has(type(value)) and value == type(value)():
        return f"`{type(value).__name__}()`"
    return None


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_every_field_has_its_row_with_its_type_default_and_rules(cls: type) -> None:
    """Each public field of the class has one row in its section: the type as declared,
    the default as it is, a meaning and the rules it serves; no row names another field."""
    documented = rows(cls)
    fields = [f for f in attrs.fields(cls) if not f.name.startswith("_")]
    assert sorted(documented) == sorted(f.name for f in fields)
    for field in fields:
        kind, default, meaning, rules = documented[field.name]
        assert kind == field.type
        assert shown(field.default) in (default, None), field.name
        assert meaning.strip()
        assert re.fullmatch(r"\[[A-Z][0-9]\]\(rules\.md#[A-Z][0-9]\).*", rules)


def test_every_settings_class_is_on_the_page() -> None:
    """Every attrs class of the settings module has its section, and the page no other."""
    declared = sorted(name for name, value in vars(settings).items()
                      if isinstance(value, type) and attrs.has(value)
                      and value.__module__ == settings.__name__)  # fmt: skip
    assert re.findall(r"^## `(\w+)`", DOC, re.MULTILINE) == [c.__name__ for c in CLASSES]
    assert declared == sorted(c.__name__ for c in CLASSES)
