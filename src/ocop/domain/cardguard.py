"""The card-number guard (rules T2, V8).

ocop stores processor tokens, never card numbers or CVVs. Every free-text value
that ocop keeps passes through :func:`refuse_card_data`, which refuses any run
of 13 to 19 digits (spaces or dashes allowed between them) that passes the Luhn
check. Digits of any script count. The error names the field, never the value.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import attrs

from ocop.domain.errors import CardNumberRefused

# A run of digit groups joined by spaces or dashes ("4111 - 1111" as well as "4111-1111").
_RUN = re.compile(r"\d+(?:[ -]+\d+)*")
# Thirteen digits joined at most by spaces or dashes: no card number fits in less.
_LONG_ENOUGH = re.compile(r"\d(?:[ -]*\d){12}")
_GROUP_SPLIT = re.compile(r"[ -]+")


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits (of any script: ``int`` reads them) passes the Luhn check."""
    checksum = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        checksum += value
    return checksum % 10 == 0


@functools.lru_cache(maxsize=8192)
def contains_card_number(text: str) -> bool:
    """Whether ``text`` holds a 13-19 digit Luhn-valid run (spaces or dashes allowed).

    A run is a maximal sequence of digit groups joined by spaces or dashes. The
    whole run is checked, and so is every stretch of consecutive groups within
    it, so a card number written next to another number is still found. An
    unbroken digit run is checked whole: a 20-digit id is not a card.
    """
    if _LONG_ENOUGH.search(text) is None:
        return False
    for run in _RUN.findall(text):
        groups = _GROUP_SPLIT.split(run)
        for first in range(len(groups)):
            digits = ""
            for group in groups[first:]:
                digits += group
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and luhn_valid(digits):
                    return True
    return False


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
