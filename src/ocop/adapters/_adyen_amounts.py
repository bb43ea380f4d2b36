"""Amounts as Adyen takes them: in minor units by Adyen's own table of decimals.

Adyen's currency codes page gives four currencies another number of decimals than
ISO 4217 (which ocop's money follows): CLP and ISK two (ISO: none), CVE and IDR none
(ISO: two). An amount in them is sent and read with Adyen's; one Adyen cannot hold (a
fraction of a CVE or IDR) cannot be sent at all.
"""

from __future__ import annotations

from decimal import Decimal

from ocop.domain.errors import InvalidInput
from ocop.domain.money import Money, minor_units

#: Adyen's decimals where they are not ISO 4217's.
ADYEN_DECIMALS = {"CLP": 2, "CVE": 0, "IDR": 0, "ISK": 2}


def decimals(currency: str) -> int:
    """How many decimals Adyen gives ``currency``."""
    found = ADYEN_DECIMALS.get(currency)
    return minor_units(currency) if found is None else found


def to_value(amount: Money) -> int | None:
    """``amount`` as Adyen's ``value`` (minor units by its table); None when Adyen cannot
    hold it exactly."""
    value = amount.amount.scaleb(decimals(amount.currency))
    return int(value) if value == value.to_integral_value() else None


def from_value(value: int, currency: str) -> Money | None:
    """The money an Adyen ``value`` in ``currency`` stands for; None when ocop cannot hold
    it exactly (a fraction of a CLP or ISK) or does not know the currency."""
    try:
        places = decimals(currency)
        return Money.of(Decimal(value).scaleb(-places), currency)
    except InvalidInput:  # an unknown currency, or more decimals than ocop holds
        return None
