"""The edge: what every public call checks before anything is stored or sent (rule E1).

Ids are non-empty strings of at most :data:`MAX_ID_LENGTH` printable characters
that hold no card number; enumerations are their members; collections of ids
are sequences of strings (a lone string is refused, never iterated); money is
:class:`~ocop.domain.money.Money`. Each check returns the value it accepted or
raises an :class:`~ocop.domain.errors.InvalidInput` subclass whose message says
what was wrong without echoing the value.

The checks come in two forms: plain functions for the facade, and attrs
validators (``id_field`` ...) for the values users build themselves.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

import attrs

from ocop.domain.cardnumbers import contains_card_number
from ocop.domain.errors import CardNumberRefused, InvalidArgument, InvalidId
from ocop.domain.money import Money

#: The longest id ocop accepts, in characters.
MAX_ID_LENGTH = 128

E = TypeVar("E", bound=Enum)
T = TypeVar("T")


def _kind(value: object) -> str:
    return "None" if value is None else type(value).__name__


def _a(name: str) -> str:
    return f"an {name}" if name[:1] in "AEIOU" else f"a {name}"


def check_id(value: object, argument: str) -> str:
    """``value`` if it is a valid id (E1), else :class:`InvalidId` naming ``argument``."""
    if not isinstance(value, str):  # a str subclass (a result's Failed entry) is a string id
        raise InvalidId(f"{argument} must be a string id, not {_kind(value)}", argument=argument)
    if len(value) > MAX_ID_LENGTH:  # refused unread: scanning (and caching) it costs per character
        raise InvalidId(
            f"{argument} must be 1 to {MAX_ID_LENGTH} printable characters", argument=argument
        )
    if contains_card_number(value):
        raise CardNumberRefused(argument)
    if not value or not value.isprintable():
        raise InvalidId(
            f"{argument} must be 1 to {MAX_ID_LENGTH} printable characters", argument=argument
        )
    return value


#: The longest text ocop accepts from a processor (a token, a reference, a notification's
#: id), in characters: processors' own ids are longer than ocop's.
MAX_REFERENCE_LENGTH = 512


def check_reference(value: object, argument: str, *, optional: bool = False) -> str:
    """A processor's id or reference: 1 to :data:`MAX_REFERENCE_LENGTH` printable
    characters holding no card number (``optional``: "" too, for one not given)."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{argument} must be a string, not {_kind(value)}",
                              argument=argument)  # fmt: skip
    if optional and value == "":
        return value
    if len(value) <= MAX_REFERENCE_LENGTH and contains_card_number(value):
        raise CardNumberRefused(argument)
    if len(value) > MAX_REFERENCE_LENGTH or not value.strip() or not value.isprintable():
        raise InvalidArgument(
            f"{argument} must be 1 to {MAX_REFERENCE_LENGTH} printable characters",
            argument=argument,
        )
    return value


#: The longest operation key ocop accepts, in characters: keys are made of several ids.
MAX_KEY_LENGTH = 4096


def check_key(value: object, argument: str = "key") -> str:
    """An operation key a processor is called with: 1 to :data:`MAX_KEY_LENGTH` printable
    characters holding no card number (the processor keeps it, and sends it on)."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{argument} must be an operation key (a string), not "
                              f"{_kind(value)}", argument=argument)  # fmt: skip
    if len(value) <= MAX_KEY_LENGTH and contains_card_number(value):
        raise CardNumberRefused(argument)
    if not value or len(value) > MAX_KEY_LENGTH or not value.isprintable():
        raise InvalidArgument(
            f"{argument} must be 1 to {MAX_KEY_LENGTH} printable characters", argument=argument
        )
    return value


def check_call(key: object, target: object, kind: type[T], name: str, *money: object) -> T:
    """A processor call's arguments: its operation key, the token it acts on (of ``kind``:
    its class only, for a token checks its own fields when built) and its amounts (Money)."""
    check_key(key)
    checked = check_instance(target, kind, name)
    for amount in money:
        check_money(amount, "amount")
    return checked


def check_tokenize_call(
    key: object, customer_id: object, instrument_id: object, cvv: object
) -> None:
    """A tokenize call's arguments: its key, the customer's id ("" for a guest, whose
    tokenize is declined), the processor's id of the saved instrument, and a CVV that is a
    string (its digits are the processor's to check)."""
    check_key(key)
    if customer_id != "":
        check_id(customer_id, "customer_id")
    check_reference(instrument_id, "instrument_id")
    check_instance(cvv, str, "cvv")


def check_optional_id(value: object, argument: str) -> str | None:
    return None if value is None else check_id(value, argument)


def check_text(value: object, argument: str, max_length: int) -> str:
    """Free text a person writes (a note): a string of at most ``max_length`` printable
    characters (empty allowed) that holds no card number."""
    if type(value) is not str:
        raise InvalidArgument(f"{argument} must be a string, not {_kind(value)}",
                              argument=argument)  # fmt: skip
    # Too long: refused unread, as an id is (scanning, and caching, costs per character).
    if len(value) <= max_length and contains_card_number(value):
        raise CardNumberRefused(argument)
    if len(value) > max_length or not value.isprintable():
        raise InvalidArgument(
            f"{argument} must be at most {max_length} printable characters", argument=argument
        )
    return value


def check_ids(value: object, argument: str) -> tuple[str, ...]:
    """A sequence of ids (a list, a tuple ...), never a lone string."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise InvalidArgument(
            f"{argument} must be a sequence of ids (a list or tuple), not {_kind(value)}",
            argument=argument,
        )
    return tuple(check_id(item, f"{argument}[{n}]") for n, item in enumerate(value))


def check_member(value: object, enum: type[E], argument: str) -> E:
    """``value`` if it is a member of ``enum`` (strings that equal one are refused)."""
    if not isinstance(value, enum):
        members = ", ".join(f"{enum.__name__}.{member.name}" for member in enum)
        raise InvalidArgument(
            f"{argument} must be one of {members}, not {_kind(value)}", argument=argument
        )
    return value


def check_instance(value: object, kind: type[T], argument: str) -> T:
    """``value`` if it is a ``kind``, else :class:`InvalidArgument` naming both."""
    if not isinstance(value, kind):
        raise InvalidArgument(
            f"{argument} must be {_a(kind.__name__)}, not {_kind(value)}", argument=argument
        )
    return value


def check_money(value: object, argument: str) -> Money:
    return check_instance(value, Money, argument)


def check_optional_money(value: object, argument: str) -> Money | None:
    return None if value is None else check_money(value, argument)


def check_bool(value: object, argument: str) -> bool:
    if type(value) is not bool:
        raise InvalidArgument(f"{argument} must be True or False, not {_kind(value)}",
                              argument=argument)  # fmt: skip
    return value


def check_moment(value: object, argument: str) -> datetime:
    """``value`` if it is a timezone-aware datetime, else :class:`InvalidArgument`."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        kind = "a naive datetime" if isinstance(value, datetime) else _kind(value)
        raise InvalidArgument(f"{argument} must be a timezone-aware datetime, not {kind}",
                              argument=argument)  # fmt: skip
    return value


def check_clock(value: object, argument: str) -> None:
    """``value`` tells the time (a ``now()`` to call); a datetime has a ``now()`` too, the
    class's, and is refused: a clock is asked, never a fixed moment."""
    if isinstance(value, datetime) or not callable(getattr(value, "now", None)):
        raise InvalidArgument(f"{argument} must be a Clock (with now()), not {_kind(value)}",
                              argument=argument)  # fmt: skip


def check_interface(value: object, methods: Iterable[str], argument: str) -> None:
    """``value`` has every one of ``methods`` (a port's), else :class:`InvalidArgument`
    naming the port's methods and, when ``value`` has some, those it lacks."""
    names = tuple(methods)
    missing = [name for name in names if not hasattr(value, name)]
    if missing:
        lacks = "" if len(missing) == len(names) else f": it lacks {', '.join(missing)}"
        raise InvalidArgument(
            f"{argument} must implement its port ({', '.join(names)}), not {_kind(value)}{lacks}",
            argument=argument,
        )


def check_path(value: object, argument: str) -> str | os.PathLike[str]:
    """``value`` if it names a file (a non-empty str or a path object), else
    :class:`InvalidArgument`: the text of anything else (None, a store given for its path)
    would name a stray file, and an empty path a temporary database. A path no file system
    can name (a NUL, a lone surrogate) is refused too, rather than failing in ``open``."""
    if not (isinstance(value, str) and value) and not isinstance(value, os.PathLike):
        raise InvalidArgument(f"{argument} must be a file path (str or Path)", argument=argument)
    try:
        name = os.fsencode(value)
    except (TypeError, UnicodeError):  # a __fspath__ that gives no str, a lone surrogate
        name = b"\0"
    if b"\0" in name:
        raise InvalidArgument(f"{argument} must be a file path a file system can name "
                              "(no NUL, no lone surrogate)", argument=argument)  # fmt: skip
    return value


#: The longest wait ocop takes, in seconds: a century, as for the settings' days. A socket's
#: or a lock's wait much longer overflows the platform's clock at the first call.
MAX_SECONDS = 36500 * 24 * 60 * 60


def check_seconds(value: object, argument: str) -> float:
    """``value`` if it is a number of seconds from 0 to :data:`MAX_SECONDS`, else
    :class:`InvalidArgument` (compared as it is: an int no float holds is refused, not
    converted)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 <= value <= MAX_SECONDS
    ):
        raise InvalidArgument(f"{argument} must be a number of seconds, 0 to {MAX_SECONDS} "
                              "(a century)", argument=argument)  # fmt: skip
    return float(value)


def check_count(value: object, argument: str, maximum: int) -> int:
    """``value`` if it is an int from 1 to ``maximum``, else :class:`InvalidArgument`."""
    if type(value) is not int or not 1 <= value <= maximum:
        raise InvalidArgument(f"{argument} must be a whole number from 1 to {maximum}",
                              argument=argument)  # fmt: skip
    return value


def check_items(value: object, kinds: tuple[type[Any], ...], argument: str) -> tuple[Any, ...]:
    """An iterable (not a string, a mapping or a set) whose every item is one of ``kinds``.

    A set has no order (the order of the items is the order of the lines they become) and
    merges equal items (two equal payments would be one): refused."""
    if isinstance(value, str | bytes | Mapping | Set) or not isinstance(value, Iterable):
        raise InvalidArgument(f"{argument} must be a list of payments, not {_kind(value)}",
                              argument=argument)  # fmt: skip
    items = tuple(value)
    names = " or ".join(_a(kind.__name__) for kind in kinds)
    for n, item in enumerate(items):
        if not isinstance(item, kinds):
            raise InvalidArgument(f"{argument}[{n}] must be {names}, not {_kind(item)}",
                                  argument=argument)  # fmt: skip
    return items


# -- the same checks as attrs validators, for values users build --------------------------
_Validator = Callable[[object, "attrs.Attribute[Any]", object], None]


def _validator(check: Callable[[object, str], object]) -> _Validator:
    """``check`` as an attrs validator, naming the field as ``Class.field``."""

    def validate(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        check(value, f"{type(instance).__name__}.{attribute.name}")

    return validate


def _optional_text(value: object, argument: str) -> object:
    return value if value == "" else check_optional_id(value, argument)


#: attrs validators: an id; an id or None; an id, None or "" (a field where empty means
#: "not given"); Money; Money or None; a bool.
valid_id = _validator(check_id)
valid_optional_id = _validator(check_optional_id)
valid_optional_text = _validator(_optional_text)
valid_money = _validator(check_money)
valid_optional_money = _validator(check_optional_money)
valid_bool = _validator(check_bool)
#: attrs validators: a processor's id or reference; the same, or "" (not given).
valid_reference = _validator(check_reference)
valid_optional_reference = _validator(
    lambda value, argument: check_reference(value, argument, optional=True)
)


def instance_of(kind: type[Any]) -> _Validator:
    """attrs validator: the field holds a ``kind`` (:class:`InvalidArgument` otherwise)."""
    return _validator(lambda value, argument: check_instance(value, kind, argument))
