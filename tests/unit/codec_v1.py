"""The codec's writer as it was before it was compiled: the reference for its bytes.

Kept for the tests only: the compiled writer must write exactly what this wrote. A
private :class:`cattrs.Converter` unstructures the value (Decimals as strings, datetimes
as ISO 8601, enums by value; processor tokens and values of fields typed as unions of
attrs classes tagged with their class name under ``"type"``), then ``json.dumps``
writes it compact with sorted keys.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn

from ocop.domain.tokens import ProcessorToken

__all__ = ["dumps"]

_TAGGED_FAMILIES: tuple[type, ...] = (ProcessorToken,)
_TAG = "type"

_Hook = Callable[[Any], Any]


def _attrs_union(tp: object) -> tuple[type, ...] | None:
    if typing.get_origin(tp) not in (typing.Union, types.UnionType):
        return None
    classes = tuple(m for m in typing.get_args(tp) if m is not type(None))
    if len(classes) < 2 or not all(isinstance(m, type) and attrs.has(m) for m in classes):
        return None
    return typing.cast(tuple[type, ...], classes)


def _in_family(tp: object) -> bool:
    return isinstance(tp, type) and attrs.has(tp) and issubclass(tp, _TAGGED_FAMILIES)


def _family(roots: tuple[type, ...]) -> Iterator[type]:
    todo = list(roots)
    while todo:
        cls = todo.pop()
        yield cls
        todo.extend(cls.__subclasses__())


def _check_taggable(classes: tuple[type, ...]) -> None:
    for cls in _family(classes):
        if attrs.has(cls) and any(a.name == _TAG for a in attrs.fields(cls)):
            raise TypeError(f"{cls.__name__} has a field named {_TAG!r}: it cannot be tagged")


def _converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    converter.register_unstructure_hook(Decimal, str)
    converter.register_unstructure_hook(datetime, datetime.isoformat)
    untagged: dict[type, _Hook] = {}

    def tagged(value: object) -> Any:
        cls = type(value)
        body = untagged.get(cls)
        if body is None:
            body = untagged[cls] = make_dict_unstructure_fn(cls, converter)
        return {_TAG: cls.__name__, **body(value)}

    def tagged_or_none(value: object) -> Any:
        return None if value is None else tagged(value)

    def family_hook(tp: Any) -> _Hook:
        _check_taggable((tp,))
        return tagged

    def union_hook(tp: Any) -> _Hook:
        classes = _attrs_union(tp)
        if classes is None:  # the predicate checked it
            raise TypeError(f"{tp!r} is not a union of attrs classes")
        _check_taggable(classes)
        return tagged_or_none

    converter.register_unstructure_hook_factory(_in_family, family_hook)
    converter.register_unstructure_hook_factory(lambda tp: _attrs_union(tp) is not None, union_hook)
    return converter


_CONVERTER = _converter()


def dumps(value: object) -> str:
    """A value as compact JSON text with sorted keys."""
    return json.dumps(_CONVERTER.unstructure(value), separators=(",", ":"), sort_keys=True)
