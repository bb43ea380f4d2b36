"""Serialisation at the edge: orders, operations and vouchers to JSON and back.

Writing (:mod:`ocop.adapters._writer`) gives compact JSON with sorted keys. Decimals
(so Money's amount) travel as exact strings, datetimes as ISO 8601, enums by value,
tuples as arrays. A processor token, and any value of a field typed as a union of
several attrs classes, carries its class name under ``"type"``
(:mod:`ocop.adapters._tagging`).

Reading trusts the row: stores hand :func:`loads` only what :func:`dumps` wrote
from values that passed their validators, so values are not rebuilt through
their constructors. For each attrs class a builder is compiled once from
``attrs.fields`` and the resolved field types; it makes the instance with
``cls.__new__(cls)`` and sets its slots directly, so no validator and no
``__attrs_post_init__`` runs again (a ``cached_property`` slot stays unset until
first read). A field missing from a row (written before the field existed)
takes its attrs default; keys a class does not know are ignored.
"""

from __future__ import annotations

import enum
import functools
import json
import operator
import typing
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from ocop.adapters._legacy import operation_v0
from ocop.adapters._tagging import (
    TAG,
    attrs_union,
    check_taggable,
    family,
    in_family,
    union_members,
)
from ocop.adapters._writer import dumps
from ocop.domain.errors import StorageError
from ocop.domain.operations import Operation
from ocop.domain.values import setter

__all__ = ["dumps", "loads"]

T = TypeVar("T")

#: Types whose JSON form is the value itself.
_PLAIN: frozenset[object] = frozenset({str, int, bool, float, type(None), Any})

#: Where attrs keeps the hash of a ``cache_hash=True`` class.
_CACHED_HASH = "_attrs_cached_hash"

_Hook = Callable[[Any], Any]


# -- reading --------------------------------------------------------------------------
#: One reader per type read so far: attrs classes, tagged families and attrs unions.
_HOOKS: dict[object, _Hook] = {}
#: One compiled builder per attrs class.
_BUILDERS: dict[type, _Hook] = {}


class _Tagged:
    """Reads a tagged value as the class its ``"type"`` names.

    The class is one of ``roots`` or derived from them; a name not met yet is looked
    for again among them, so a subclass defined later is found.
    """

    def __init__(self, roots: tuple[type, ...]) -> None:
        check_taggable(roots)
        self._roots = roots
        #: The builder of each class name met so far.
        self.by_name: dict[str, _Hook] = {}

    def _find(self, name: str) -> _Hook:
        found = {id(cls): cls for cls in family(self._roots) if cls.__name__ == name}
        if len(found) != 1:
            why = "no" if not found else "more than one"
            raise ValueError(f"{why} class named {name!r} among {self._roots}")
        hook = self.by_name[name] = _builder(*found.values())
        return hook

    def __call__(self, data: dict[str, Any]) -> Any:
        name = data[TAG] if len(self._roots) > 1 else data.get(TAG, self._roots[0].__name__)
        hook = self.by_name.get(name)
        if hook is None:
            hook = self._find(name)
        return hook(data)


#: The reader of each tagged type: a class of a tagged family, or a union of attrs classes.
TAGGED: dict[object, _Tagged] = {}


def _tagged(tp: object) -> _Tagged | None:
    """The reader of ``tp`` if its values are tagged, else None."""
    tagged = TAGGED.get(tp)
    if tagged is None:
        classes = attrs_union(tp)
        if classes is None and in_family(tp):
            classes = (typing.cast(type, tp),)
        if classes is None:
            return None
        tagged = TAGGED[tp] = _Tagged(classes)
    return tagged


def _hook(tp: object) -> _Hook:
    """The function that reads the JSON of an attrs class, a tagged family or an attrs union."""
    hook = _HOOKS.get(tp)
    if hook is None:
        hook = _tagged(tp)
        if hook is None:
            if not (isinstance(tp, type) and attrs.has(tp)):
                raise TypeError(f"the codec reads attrs classes, not {tp!r}")
            hook = _builder(tp)
        _HOOKS[tp] = hook
    return hook


def _builder(cls: type) -> _Hook:
    """The compiled builder of attrs class ``cls``."""
    build = _BUILDERS.get(cls)
    return _compile(cls) if build is None else build


# Amounts and times repeat across the rows read (zero, an order's timestamps): both are
# immutable, so each text is parsed once while it stays among the recent ones.
def _finite(text: str) -> Decimal:
    """An amount as stored: a finite number (a row damaged outside ocop may say "NaN"); a
    zero without its sign (a row may hold "-0.00", written from Money built directly)."""
    value = Decimal(text)
    if not value.is_finite():
        raise ValueError("not a finite number")
    return value.copy_abs() if value.is_zero() else value


_decimal = functools.lru_cache(maxsize=4096)(_finite)
_datetime = functools.lru_cache(maxsize=4096)(datetime.fromisoformat)


class _Source:
    """The names one compiled builder uses, and the expressions that read its fields."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {}
        #: The types read by other hooks, by the name the builder calls them.
        self.hooks: dict[str, object] = {}

    def name(self, value: object, prefix: str) -> str:
        key = f"_{prefix}{len(self.names)}"
        self.names[key] = value
        return key

    def hook(self, tp: object) -> str:
        """A name for the hook of ``tp``: a stub that finds it on first call, until bound."""
        found = [key for key, known in self.hooks.items() if known == tp]
        if found:
            return found[0]
        key = self.name(None, "h")
        self.hooks[key] = tp

        def stub(value: Any) -> Any:
            hook = self.names[key] = _hook(tp)
            return hook(value)

        self.names[key] = stub
        return key

    def read(self, tp: object, var: str, depth: int = 0) -> str:
        """An expression reading ``var`` (a name or subscript) as ``tp``."""
        if tp in _PLAIN:
            return var
        if tp is Decimal:
            return f"{self.name(_decimal, 'dec')}({var})"
        if tp is datetime:
            return f"{self.name(_datetime, 'iso')}({var})"
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            lookup = self.name(tp._value2member_map_.get, "get")
            # A value the map lacks (or a falsy member) asks the enum itself.
            return f"({lookup}({var}) or {self.name(tp, 'enum')}({var}))"
        members = union_members(tp)
        if members is not None:
            return self._read_union(tp, members, var, depth)
        if in_family(tp):
            return self._read_tagged(tp, var)
        if isinstance(tp, type) and attrs.has(tp):
            return f"{self.hook(tp)}({var})"
        return self._read_sequence(tp, var, depth)

    def _read_tagged(self, tp: object, var: str) -> str:
        """Straight to the builder the tag names; the reader itself for a name not met yet."""
        tagged = _tagged(tp)
        if tagged is None:  # the caller knows ``tp`` is tagged
            raise TypeError(f"the codec does not tag {tp!r}")
        by_name = self.name(tagged.by_name.get, "get")
        return f"({by_name}({var}.get({TAG!r})) or {self.name(tagged, 'tagged')})({var})"

    def _read_union(self, tp: object, members: tuple[object, ...], var: str, depth: int) -> str:
        others = tuple(m for m in members if m is not type(None))
        if all(m in _PLAIN for m in others):
            return var
        if len(others) < len(members):  # ``X | None``
            inner = self.read(functools.reduce(operator.or_, others), var, depth)
            return var if inner == var else f"(None if {var} is None else {inner})"
        if attrs_union(tp) is not None:
            return self._read_tagged(tp, var)
        raise TypeError(f"the codec cannot read {tp!r}: only unions of attrs classes are tagged")

    def _read_sequence(self, tp: object, var: str, depth: int) -> str:
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin is list or (origin is tuple and len(args) == 2 and args[1] is Ellipsis):
            item = f"x{depth}"
            inner = self.read(args[0], item, depth + 1)
            if inner == item:
                return f"{origin.__name__}({var})"
            return f"{origin.__name__}([{inner} for {item} in {var}])"
        if origin is tuple and args and Ellipsis not in args:
            items = [self.read(arg, f"{var}[{i}]", depth) for i, arg in enumerate(args)]
            if all(item == f"{var}[{i}]" for i, item in enumerate(items)):
                return f"tuple({var})"
            return f"({', '.join(items)},)"
        raise TypeError(f"the codec cannot read {tp!r}")


def _compile(cls: type) -> _Hook:
    """A builder of ``cls`` from a dict: every field set, no validator run."""
    hints = typing.get_type_hints(cls)
    src = _Source()
    lines = ["def build(d):", f"    o = {src.name(cls.__new__, 'new')}({src.name(cls, 'cls')})"]
    for field in attrs.fields(cls):
        put = src.name(setter(cls, field.name), "set")
        value = src.read(hints.get(field.name, field.type), "v")
        key = repr(field.name)
        if field.default is attrs.NOTHING:
            lines += [f"    v = d[{key}]", f"    {put}(o, {value})"]
            continue
        if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            factory = src.name(field.default.factory, "factory")
            default = f"{factory}(o)" if field.default.takes_self else f"{factory}()"
        else:
            default = src.name(field.default, "default")
            if value == "v":  # the JSON value as it is: one look-up
                lines.append(f"    {put}(o, d.get({key}, {default}))")
                continue
        lines += [
            f"    if {key} in d:",
            f"        v = d[{key}]",
            f"        {put}(o, {value})",
            "    else:",
            f"        {put}(o, {default})",
        ]
    if hasattr(cls, _CACHED_HASH):  # the slot of ``cache_hash=True``, empty until hashed
        lines.append(f"    {src.name(setter(cls, _CACHED_HASH), 'set')}(o, None)")
    lines.append("    return o")
    # The builder's globals are ``src.names``: a stub there replaces itself with its hook.
    exec("\n".join(lines), src.names)  # noqa: S102 - the text is made above from field names
    build: _Hook = src.names["build"]
    build.__qualname__ = f"build_{cls.__name__}"
    # Published before its hooks are bound: a class may hold itself, and until they are
    # bound the stubs work (another thread may already call the builder).
    _BUILDERS[cls] = build
    try:
        for key, tp in src.hooks.items():  # every type is known to be readable on first use
            src.names[key] = _hook(tp)
    except TypeError:
        del _BUILDERS[cls]
        raise
    return build


def loads(text: str, cls: type[T]) -> T:
    """A value of ``cls`` from :func:`dumps` output of ocop's own stores; no validator runs.

    Rows of earlier versions are read as today's values (:mod:`ocop.adapters._legacy`).
    """
    data = json.loads(text)
    if cls is Operation:
        data = operation_v0(data)
    value: T = _hook(cls)(data)
    return value


def read_row(text: str, cls: type[T]) -> T:
    """:func:`loads` of a row a store read back: a row that cannot be read (damaged outside
    ocop) is a :class:`StorageError` (E3), whose message shows nothing of the row."""
    try:
        return loads(text, cls)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, ArithmeticError):
        raise StorageError(f"a stored {cls.__name__} cannot be read: its row is damaged") from None
