"""The card-number guard (rules T1, T2, V8).

ocop stores processor tokens, never card numbers or CVVs. Every free-text value
that ocop keeps passes through :func:`refuse_card_data`, which refuses any run
of 13 to 19 digits (spaces or dashes of any kind allowed between them) that passes the Luhn
check (:mod:`ocop.domain.cardnumbers`). The error names the field, never the value.

A CVV is held only on its way to the processor, and :func:`check_cvv` checks it
where it enters: three or four ASCII digits, anything else (a card number among
them) refused with :class:`InvalidCvv`, which shows nothing of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeGuard

import attrs

from ocop.domain.cardnumbers import contains_card_number, luhn_valid
from ocop.domain.errors import CardNumberRefused, InvalidCvv

__all__ = [
    "check_cvv",
    "contains_card_number",
    "is_cvv",
    "luhn_valid",
    "refuse_card_data",
    "validate_cvv",
    "validate_cvvs",
    "validate_no_card_data",
]

_ASCII_DIGITS = frozenset("0123456789")


def refuse_card_data(value: str, field: str) -> str:
    """Return ``value`` unchanged, or raise :class:`CardNumberRefused` naming ``field``."""
    if contains_card_number(value):
        raise CardNumberRefused(field)
    return value


def validate_no_card_data(
    instance: object, attribute: attrs.Attribute[Any], value: str | None
) -> None:
    """attrs validator form of :func:`refuse_card_data` for (optional) text fields."""
    if isinstance(value, str) and contains_card_number(value):
        raise CardNumberRefused(f"{type(instance).__name__}.{attribute.name}")


def is_cvv(value: object) -> TypeGuard[str]:
    """Whether ``value`` is a CVV: a str of exactly 3 or 4 ASCII digits."""
    return isinstance(value, str) and len(value) in (3, 4) and _ASCII_DIGITS.issuperset(value)


def check_cvv(value: object) -> str:
    """Return ``value`` if it is a CVV (:func:`is_cvv`), or raise :class:`InvalidCvv`,
    whose message shows nothing of the value."""
    if is_cvv(value):
        return value
    raise InvalidCvv()


def validate_cvv(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """attrs validator form of :func:`check_cvv`."""
    check_cvv(value)


def validate_cvvs(
    instance: object, attribute: attrs.Attribute[Any], value: Mapping[str, object]
) -> None:
    """attrs validator: every value of a mapping (CVVs by line id) passes :func:`check_cvv`."""
    for cvv in value.values():
        check_cvv(cvv)
