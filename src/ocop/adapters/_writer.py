"""The codec's writer: orders, operations and vouchers as compact JSON with sorted keys.

The format is what a private :class:`cattrs.Converter` (never the global one) makes
of a value, dumped by ``json.dumps(..., separators=(",", ":"), sort_keys=True)``: an
attrs class as an object of its fields, Decimals (so Money's amount) as exact strings,
datetimes as ISO 8601, enums by value, tuples as arrays, and a tagged value
(:mod:`ocop.adapters._tagging`) with its class name under ``"type"``.

Building those dicts and encoding them is slow, so for each attrs class a writer is
compiled once from ``attrs.fields`` and the resolved field types. It makes the same
text directly: keys in sorted order, strings escaped by json's own encoder. JSON text
nests (a value's text inside a document is the text ``json.dumps`` gives the value
alone), so whatever a writer does not know is left to the converter without changing
a byte: a field of a type it does not handle is written by the converter, and an object
whose writer fails (a field holding a value of another type than declared) is written
whole by the converter, which then writes what it always wrote or raises what it
always raised.
"""

from __future__ import annotations

import enum
import functools
import json
import re
import typing
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from json.encoder import encode_basestring_ascii
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn

from ocop.adapters._tagging import TAG, attrs_union, check_taggable, in_family, union_members

__all__ = ["dumps"]

_Hook = Callable[[Any], Any]
_Text = Callable[[Any], str]

_SEPARATORS = (",", ":")


# -- the format -----------------------------------------------------------------------
#: The untagged dict maker of each class written with its tag.
_BODIES: dict[type, _Hook] = {}


def _tagged_data(value: object) -> Any:
    """A tagged value as the converter makes it: its class name beside its fields."""
    cls = type(value)
    body = _BODIES.get(cls)
    if body is None:
        body = _BODIES[cls] = make_dict_unstructure_fn(cls, _CONVERTER)
    return {TAG: cls.__name__, **body(value)}


def _converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    converter.register_unstructure_hook(Decimal, str)
    converter.register_unstructure_hook(datetime, datetime.isoformat)

    def tagged_or_none(value: object) -> Any:
        return None if value is None else _tagged_data(value)

    def family_hook(tp: Any) -> _Hook:
        check_taggable((tp,))
        return _tagged_data

    def union_hook(tp: Any) -> _Hook:
        check_taggable(attrs_union(tp) or ())  # the predicate found the classes
        return tagged_or_none

    converter.register_unstructure_hook_factory(in_family, family_hook)
    converter.register_unstructure_hook_factory(lambda tp: attrs_union(tp) is not None, union_hook)
    return converter


_CONVERTER = _converter()


def _converted(value: object, tp: object = None) -> str:
    """The text of ``value`` written by the converter as ``tp`` (as its class when None)."""
    data = _CONVERTER.unstructure(value, unstructure_as=tp)
    return json.dumps(data, separators=_SEPARATORS, sort_keys=True)


def _converted_tagged(value: object) -> str:
    """The text of a tagged value written by the converter."""
    return json.dumps(_tagged_data(value), separators=_SEPARATORS, sort_keys=True)


# -- compiled writers -----------------------------------------------------------------
#: The compiled writer of each attrs class, without and with its tag.
_WRITERS: dict[type, _Text] = {}
_TAGGED_WRITERS: dict[type, _Text] = {}
#: The writer of each class given to :func:`dumps`.
_TOP: dict[type, _Text] = {}


def dumps(value: object) -> str:
    """A value as compact JSON text with sorted keys."""
    cls = value.__class__
    write = _TOP.get(cls)
    if write is None:
        write = _top(cls)
        _TOP[cls] = write
    return write(value)


def _top(cls: type) -> _Text:
    if not attrs.has(cls):
        return _converted
    if in_family(cls):
        check_taggable((cls,))
        return _writer(cls, tagged=True)
    return _writer(cls, tagged=False)


def _writer(cls: type, *, tagged: bool) -> _Text:
    """The compiled writer of attrs class ``cls``."""
    write = (_TAGGED_WRITERS if tagged else _WRITERS).get(cls)
    return _compile(cls, tagged=tagged) if write is None else write


def _write_tagged(value: object) -> str:
    """The text of a tagged value of a class without a writer yet: its writer is compiled
    (writers look up the others first, in ``_TAGGED_WRITERS``)."""
    cls = type(value)
    if not attrs.has(cls):
        return _converted_tagged(value)
    return _writer(cls, tagged=True)(value)


# A datetime's text is kept by identity while it stays among the recent ones: the loader
# hands out one datetime per text it reads, and evolved orders share their datetimes.
# Only datetimes whose zone cannot change its offsets are kept.
_DATETIMES: dict[int, tuple[datetime, str]] = {}
_DATETIMES_KEPT = 4096
_FIXED_ZONES = (timezone, ZoneInfo)


def _datetime_text(value: datetime) -> str:
    text = encode_basestring_ascii(datetime.isoformat(value))
    zone = value.tzinfo
    if zone is None or type(zone) in _FIXED_ZONES:
        if len(_DATETIMES) >= _DATETIMES_KEPT:
            _DATETIMES.clear()
        _DATETIMES[id(value)] = (value, text)
    return text


def _enum_text(tp: type[enum.Enum], var: str) -> str | None:
    """An expression of the text of ``var`` as enum ``tp`` if its values are strings: a
    string enum is written as the string it is, another by its value."""
    if issubclass(tp, str):
        return f"_enc({var})"
    if all(isinstance(member._value_, str) for member in tp):
        return f"_enc({var}._value_)"
    return None


def _special(tp: object) -> bool:
    """Whether ``tp`` changes how cattrs makes a class's dict (overrides, type variables),
    or was left unresolved: such a class is written whole by the converter."""
    if isinstance(tp, str | typing.TypeVar | typing.ForwardRef):
        return True
    origin = typing.get_origin(tp)
    if origin in (typing.Annotated, typing.Final, typing.ClassVar) or tp is typing.Final:
        return True
    return origin is not typing.Literal and any(_special(arg) for arg in typing.get_args(tp))


#: A call of one function on the item: an array of such items is a ``map``.
_CALL = re.compile(r"(_\w+)\((x\d+)\)")


class _Source:
    """The names one compiled writer uses, and the expressions that write its fields."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {
            "_enc": encode_basestring_ascii,
            "_int": int.__repr__,
            "_str": str,
            "_id": id,
            "_dt_get": _DATETIMES.get,
            "_dt": _datetime_text,
            "_tg": _TAGGED_WRITERS.get,
            "_tagged": _write_tagged,
            "_conv": _converted,
        }
        #: The classes written by other writers, by the name the writer calls them.
        self.writers: dict[str, type] = {}

    def name(self, value: object, prefix: str) -> str:
        key = f"_{prefix}{len(self.names)}"
        self.names[key] = value
        return key

    def writer(self, cls: type) -> str:
        """A name for the writer of ``cls``: a stub that finds it on first call, until bound."""
        found = _WRITERS.get(cls)
        if found is not None:
            return self.name(found, "w")
        known = [key for key, other in self.writers.items() if other is cls]
        if known:
            return known[0]
        key = self.name(None, "w")
        self.writers[key] = cls

        def stub(value: Any) -> str:
            write = self.names[key] = _writer(cls, tagged=False)
            return write(value)

        self.names[key] = stub
        return key

    def converted(self, tp: object, var: str) -> str:
        return f"_conv({var}, {self.name(tp, 'tp')})"

    def text(self, tp: object, var: str, depth: int = 0) -> str:
        """An expression of the JSON text of ``var`` (a local name) written as ``tp``."""
        if tp is str:
            return f"_enc({var})"
        if tp is bool:
            slow = self.converted(tp, var)
            return f"('true' if {var} is True else 'false' if {var} is False else {slow})"
        if tp is int:  # not a bool, which json writes as true or false
            return f"(_int({var}) if type({var}) is int else {self.converted(tp, var)})"
        if tp is type(None):
            return f"('null' if {var} is None else {self.converted(tp, var)})"
        if tp is Decimal:
            return f"_enc(_str({var}))"
        if tp is datetime:
            return f"(_e[1] if (_e := _dt_get(_id({var}))) and _e[0] is {var} else _dt({var}))"
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            text = _enum_text(tp, var)
            return self.converted(tp, var) if text is None else text
        members = union_members(tp)
        if members is not None:
            return self._union(tp, members, var, depth)
        if in_family(tp):
            check_taggable((typing.cast(type, tp),))
            return f"(_tg(type({var})) or _tagged)({var})"
        if isinstance(tp, type) and attrs.has(tp):
            return f"{self.writer(tp)}({var})"
        return self._array(tp, var, depth)

    def _union(self, tp: object, members: tuple[object, ...], var: str, depth: int) -> str:
        others = tuple(m for m in members if m is not type(None))
        classes = attrs_union(tp)
        if classes is not None:  # None is null even where the union does not allow it
            check_taggable(classes)
            tagged = f"(_tg(type({var})) or _tagged)({var})"
            return f"('null' if {var} is None else {tagged})"
        if len(others) == 1:  # ``X | None``: X's text, or null
            return f"('null' if {var} is None else {self.text(others[0], var, depth)})"
        return self.converted(tp, var)

    def _array(self, tp: object, var: str, depth: int) -> str:
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin is list or (origin is tuple and len(args) == 2 and args[1] is Ellipsis):
            item = f"x{depth}"
            inner = self.text(args[0], item, depth + 1)
            call = _CALL.fullmatch(inner)
            if call is not None and call[2] == item:
                items = f"map({call[1]}, {var})"
            else:
                items = f"[{inner} for {item} in {var}]"
            return f"('[' + ','.join({items}) + ']')"
        return self.converted(tp, var)


def _field_types(cls: type) -> dict[str, object] | None:
    """The resolved type of each field of ``cls`` that cattrs writes (None for a field
    without annotation), or None if cattrs makes its dict another way."""
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except (NameError, TypeError):  # left to the converter, which raises what it raises
        return None
    types = {f.name: hints.get(f.name, f.type) for f in attrs.fields(cls) if f.init}
    return None if any(_special(tp) for tp in types.values()) else types


def _scalar(tp: object) -> bool:
    """Whether a field of type ``tp`` is written by an expression without calls of writers."""
    if tp in (str, int, bool, type(None), Decimal, datetime):
        return True
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_text(tp, "v") is not None
    members = union_members(tp)
    return (
        members is not None
        and len(members) == 2
        and type(None) in members
        and all(_scalar(m) for m in members)
    )


def _inlined(tp: object, outer: frozenset[type]) -> dict[str, object] | None:
    """The field types of an attrs class written inside the writer of a class holding it
    (small classes such as Money: no call), else None."""
    if not (isinstance(tp, type) and attrs.has(tp)) or in_family(tp) or tp in outer:
        return None
    types = _field_types(tp)
    if types is None:
        return None
    inner = outer | {tp}
    ok = all(_scalar(t) or _inlined(t, inner) is not None for t in types.values())
    return types if ok else None


class _Writer(_Source):
    """The source of one compiled writer: statements, then one f-string of the text."""

    def __init__(self) -> None:
        super().__init__()
        self.lines = ["def write(o):", "    try:"]
        #: JSON text, and (after a NUL) the names of the texts made by the statements.
        self.pieces: list[str] = []
        self.count = 0

    def local(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def object(
        self, cls: type, types: dict[str, object], var: str, *, tagged: bool, outer: frozenset[type]
    ) -> None:
        """Statements and pieces writing ``var`` as attrs class ``cls``."""
        keys = sorted({*types, TAG} if tagged else types)
        if not keys:
            self.pieces.append("{}")
        inner = outer | {cls}
        for n, key in enumerate(keys):
            self.pieces.append(("{" if n == 0 else ",") + encode_basestring_ascii(key) + ":")
            if key not in types:  # the tag
                self.pieces.append(encode_basestring_ascii(cls.__name__))
                continue
            tp = types[key]
            fields = _inlined(tp, inner)
            if fields is not None:
                held = self.local("p")
                self.lines.append(f"        {held} = {var}.{key}")
                self.object(typing.cast(type, tp), fields, held, tagged=False, outer=inner)
                continue
            text = self.local("t")
            value = self.converted(None, "v") if tp is None else self.text(tp, "v")
            self.lines += [f"        v = {var}.{key}", f"        {text} = {value}"]
            self.pieces.append(f"\0{{{text}}}")
        if keys:
            self.pieces.append("}")

    def source(self) -> str:
        """The writer's source: the f-string's literal parts are the JSON text as it is."""
        template = "".join(
            piece[1:] if piece.startswith("\0") else piece.replace("{", "{{").replace("}", "}}")
            for piece in self.pieces
        )
        return "\n".join(
            [
                *self.lines,
                f"        return f{template!r}",
                "    except Exception:",  # the converter writes it, or raises what it raised
                "        return _slow(o)",
            ]
        )


def _compile(cls: type, *, tagged: bool) -> _Text:
    """A writer of ``cls``: its text made directly, its keys in sorted order."""
    table = _TAGGED_WRITERS if tagged else _WRITERS
    slow: _Text = _converted_tagged if tagged else functools.partial(_converted, tp=cls)
    types = _field_types(cls)
    if types is None:
        table[cls] = slow
        return slow
    src = _Writer()
    src.names["_slow"] = slow
    src.object(cls, types, "o", tagged=tagged, outer=frozenset())
    exec(src.source(), src.names)  # noqa: S102 - the text is made above from field names
    write: _Text = src.names["write"]
    write.__qualname__ = f"write_{cls.__name__}"
    # Published before its writers are bound: a class may hold itself.
    table[cls] = write
    try:
        for key, other in src.writers.items():
            src.names[key] = _writer(other, tagged=False)
    except TypeError:
        del table[cls]
        raise
    return write
