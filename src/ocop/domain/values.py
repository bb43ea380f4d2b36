"""A new value from an old one, for transitions that check what they change themselves.

``attrs.evolve`` builds the new value through its constructor, so every validator and
``__attrs_post_init__`` runs again over fields that did not change. A transition that
has already checked its change (a capture within the open authorization, V1; a refund
within the capture, V2; refunds within receipts, V3) copies the value with
:func:`replaced` instead. Values from outside still come through the constructors.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MemberDescriptorType
from typing import Any, TypeVar

import attrs

T = TypeVar("T")

#: Stands for a field the caller did not change.
_KEEP: Any = object()

_COPIERS: dict[type[Any], Callable[..., Any]] = {}


def _scope(cls: type[Any]) -> dict[str, Any]:
    """What a generated copy or build function sees. Its own names start with ``_ocop_``,
    so no field shadows them: a class with a field named so is refused."""
    if any(field.name.startswith("_ocop_") for field in attrs.fields(cls)):
        raise TypeError(f"{cls.__name__}: a field named _ocop_… cannot be copied")
    scope: dict[str, Any] = {"_ocop_keep": _KEEP, "_ocop_make": object.__new__, "_ocop_cls": cls}
    for field in attrs.fields(cls):
        scope[f"_ocop_set_{field.name}"] = setter(cls, field.name)
    return scope


def setter(cls: type[Any], name: str) -> Callable[[object, object], None]:
    """A function ``(instance, value)`` that sets field ``name`` of a ``cls`` past its
    frozen ``__setattr__``: a slot's own descriptor (one call), else as attrs sets it."""
    slot = getattr(cls, name, None)
    if isinstance(slot, MemberDescriptorType):
        put: Callable[[object, object], None] = slot.__set__
        return put
    return lambda instance, value: object.__setattr__(instance, name, value)


def _copier(cls: type[Any]) -> Callable[..., Any]:
    """A function ``(value, **changes)`` that copies a ``cls`` field by field.

    Written once per class: one keyword parameter per field, so a call binds its changes
    to fields directly (a name that is no field is a TypeError, as with the constructor),
    and each field is one attribute read and one slot write.
    """
    names = [field.name for field in attrs.fields(cls)]
    params = ", ".join(f"{name}=_ocop_keep" for name in names)
    body = "\n".join(
        f"    _ocop_set_{name}(_ocop_new, _ocop_value.{name} if {name} is _ocop_keep else {name})"
        for name in names
    )
    source = (  # the function's own names start with _ocop_: no field is named so
        f"def copy(_ocop_value, /, *, {params}):\n"
        "    _ocop_new = _ocop_make(_ocop_cls)\n"
        f"{body}\n"
        "    return _ocop_new\n"
    )
    scope = _scope(cls)
    exec(compile(source, f"<ocop replaced {cls.__qualname__}>", "exec"), scope)  # noqa: S102 - fixed text from the class's own field names
    copy: Callable[..., Any] = scope["copy"]
    _COPIERS[cls] = copy
    return copy


def replaced(value: T, /, **changes: Any) -> T:
    """``value`` with ``changes``, built without running its validators again."""
    cls = type(value)
    copy = _COPIERS.get(cls) or _copier(cls)
    new: T = copy(value, **changes)
    return new


_BUILDERS: dict[type[Any], Callable[..., Any]] = {}


def _builder(cls: type[Any]) -> Callable[..., Any]:
    """A function ``(**fields)`` that makes a ``cls`` from its fields, defaults filled in as
    the constructor fills them, without running validators or ``__attrs_post_init__``."""
    scope = _scope(cls)
    params: list[str] = []
    body: list[str] = []
    for field in attrs.fields(cls):
        name = field.name
        if field.default is attrs.NOTHING:
            params.append(name)
            body.append(f"    _ocop_set_{name}(_ocop_new, {name})")
            continue
        params.append(f"{name}=_ocop_keep")
        if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            if field.default.takes_self:
                raise TypeError(f"{cls.__name__}.{name}: a default that takes self")
            scope[f"_ocop_make_{name}"] = field.default.factory
            fill = f"_ocop_make_{name}()"
        else:
            scope[f"_ocop_default_{name}"] = field.default
            fill = f"_ocop_default_{name}"
        body.append(f"    _ocop_set_{name}(_ocop_new, {fill} if {name} is _ocop_keep else {name})")
    source = (
        f"def build(*, {', '.join(params)}):\n"
        "    _ocop_new = _ocop_make(_ocop_cls)\n" + "\n".join(body) + "\n    return _ocop_new\n"
    )
    exec(compile(source, f"<ocop built {cls.__qualname__}>", "exec"), scope)  # noqa: S102 - fixed text from the class's own field names
    build: Callable[..., Any] = scope["build"]
    _BUILDERS[cls] = build
    return build


def built(cls: type[T], /, **fields: Any) -> T:
    """A ``cls`` made of ``fields`` that ocop derived from values already checked (ids
    checked at the edge, amounts planned within their bounds): its validators are not run
    again. Values from outside go through the constructor."""
    build = _BUILDERS.get(cls) or _builder(cls)
    new: T = build(**fields)
    return new
