"""A new value from an old one, for transitions that check what they change themselves.

``attrs.evolve`` builds the new value through its constructor, so every validator and
``__attrs_post_init__`` runs again over fields that did not change. A transition that
has already checked its change (a capture within the open authorization, V1; a refund
within the capture, V2; refunds within receipts, V3) copies the value with
:func:`replaced` instead. Values from outside still come through the constructors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

T = TypeVar("T")

#: Stands for a field the caller did not change.
_KEEP: Any = object()

_COPIERS: dict[type[Any], Callable[..., Any]] = {}


def _copier(cls: type[Any]) -> Callable[..., Any]:
    """A function ``(value, **changes)`` that copies a ``cls`` field by field.

    Written once per class: one keyword parameter per field, so a call binds its changes
    to fields directly (a name that is no field is a TypeError, as with the constructor),
    and each field is one attribute read and one slot write.
    """
    names = [field.name for field in attrs.fields(cls)]
    params = ", ".join(f"{name}=_KEEP" for name in names)
    body = "\n".join(
        f"    put({name!r}, value.{name} if {name} is _KEEP else {name})" for name in names
    )
    source = (
        f"def copy(value, *, {params}):\n"
        "    new = make(cls)\n"
        "    put = setter(new)\n"
        f"{body}\n"
        "    return new\n"
    )
    scope: dict[str, Any] = {
        "_KEEP": _KEEP,
        "make": object.__new__,
        "cls": cls,
        "setter": object.__setattr__.__get__,
    }
    exec(compile(source, f"<ocop replaced {cls.__qualname__}>", "exec"), scope)  # noqa: S102 - fixed text from the class's own field names
    copy: Callable[..., Any] = scope["copy"]
    _COPIERS[cls] = copy
    return copy


def replaced(value: T, **changes: Any) -> T:
    """``value`` with ``changes``, built without running its validators again."""
    cls = type(value)
    copy = _COPIERS.get(cls) or _copier(cls)
    new: T = copy(value, **changes)
    return new


_CACHES: dict[type[Any], tuple[Any, ...]] = {}


def _cache_slots(cls: type[Any]) -> tuple[Any, ...]:
    """The slots of ``cls`` that hold its cached properties (every slot but its fields)."""
    slots = _CACHES.get(cls)
    if slots is None:
        fields = {field.name for field in attrs.fields(cls)}
        names = [
            name
            for klass in cls.__mro__
            for name in klass.__dict__.get("__slots__", ())
            if name not in fields and not name.startswith("__")
        ]
        slots = _CACHES[cls] = tuple(getattr(cls, name) for name in names)
    return slots


def with_caches_of(old: T, new: T) -> T:
    """``new`` holding what ``old`` already computed of its cached properties: for a copy
    whose changes none of them depends on (an order one version later)."""
    for slot in _cache_slots(type(old)):
        try:
            value = slot.__get__(old)
        except AttributeError:  # not computed on ``old``
            continue
        slot.__set__(new, value)
    return new
