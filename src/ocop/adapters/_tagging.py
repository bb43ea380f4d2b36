"""Which values the codec writes with their class name, for its writer and its reader.

A processor token, and any value of a field typed as a union of several attrs classes,
carries its class name under ``"type"``; a class with its own ``type`` field could not
be told apart from its tag, so it is refused.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator

import attrs

from ocop.domain.tokens import ProcessorToken

__all__ = ["TAG", "attrs_union", "check_taggable", "family", "in_family", "union_members"]

#: Roots of class families whose values are always written with their class name,
#: whatever the field's declared type says.
TAGGED_FAMILIES: tuple[type, ...] = (ProcessorToken,)
#: The key that names a tagged value's class.
TAG = "type"


def union_members(tp: object) -> tuple[object, ...] | None:
    """The members of a union type (``A | B``, ``Optional[A]``), else None."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    return None


def attrs_union(tp: object) -> tuple[type, ...] | None:
    """The classes of a union of two or more attrs classes (None allowed beside them)."""
    members = union_members(tp)
    if members is None:
        return None
    classes = tuple(m for m in members if m is not type(None))
    if len(classes) < 2 or not all(isinstance(m, type) and attrs.has(m) for m in classes):
        return None
    return typing.cast(tuple[type, ...], classes)


def in_family(tp: object) -> bool:
    """Whether ``tp`` is an attrs class of a tagged family."""
    return isinstance(tp, type) and attrs.has(tp) and issubclass(tp, TAGGED_FAMILIES)


def family(roots: tuple[type, ...]) -> Iterator[type]:
    """``roots`` and every attrs class derived from them. A slotted attrs class is built
    anew from the class it was drafted from, which stays among its base's subclasses until
    the garbage collector frees it: that draft, never made an attrs class of its own, is
    not one of them (two classes of one name, a row naming it could not be read)."""
    todo = list(roots)
    while todo:
        cls = todo.pop()
        yield cls
        subclasses: list[type] = cls.__subclasses__()
        todo.extend(sub for sub in subclasses if "__attrs_attrs__" in vars(sub))


def check_taggable(classes: tuple[type, ...]) -> None:
    """Refuse classes (or classes derived from them) with a field named like the tag."""
    for cls in family(classes):
        if attrs.has(cls) and any(a.name == TAG for a in attrs.fields(cls)):
            raise TypeError(f"{cls.__name__} has a field named {TAG!r}: it cannot be tagged")
