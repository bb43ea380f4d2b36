"""A new value from an old one, for transitions that check what they change themselves.

``attrs.evolve`` builds the new value through its constructor, so every validator and
``__attrs_post_init__`` runs again over fields that did not change. A transition that
has already checked its change (a capture within the open authorization, V1; a refund
within the capture, V2; refunds within receipts, V3) copies the value with
:func:`replaced` instead. Values from outside still come through the constructors.
"""

from __future__ import annotations

from typing import Any, TypeVar

import attrs

T = TypeVar("T")


_NAMES: dict[type[Any], tuple[str, ...]] = {}


def _names(cls: type[Any]) -> tuple[str, ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(field.name for field in attrs.fields(cls))
    return names


def replaced(value: T, **changes: Any) -> T:
    """``value`` with ``changes``, built without running its validators again."""
    cls: type[Any] = type(value)
    new: T = object.__new__(cls)
    for name in _names(cls):
        object.__setattr__(new, name, changes[name] if name in changes else getattr(value, name))
    return new
