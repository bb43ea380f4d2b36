"""The card-number guard (rules T2, V8).

ocop stores processor tokens, never card numbers or CVVs. Every free-text value
that ocop keeps passes through :func:`refuse_card_data`, which refuses any run
of 13 to 19 digits (spaces or dashes allowed between them) that passes the Luhn
check (:mod:`ocop.domain.cardnumbers`). The error names the field, never the value.
"""

from __future__ import annotations

from typing import Any

import attrs

from ocop.domain.cardnumbers import contains_card_number, luhn_valid
from ocop.domain.errors import CardNumberRefused

__all__ = ["contains_card_number", "luhn_valid", "refuse_card_data", "validate_no_card_data"]


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
