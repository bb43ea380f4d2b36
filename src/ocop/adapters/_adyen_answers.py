"""Adyen's answers and amounts, as the connector reads them.

Amounts go in minor units by Adyen's own table of decimals.
Adyen's currency codes page gives four currencies another number of decimals than
ISO 4217 (which ocop's money follows): CLP and ISK two (ISO: none), CVE and IDR none
(ISO: two). An amount in them is sent and read with Adyen's; one Adyen cannot hold (a
fraction of a CVE or IDR) cannot be sent at all.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from typing import Any

from ocop.domain.errors import InvalidInput
from ocop.domain.money import Money, minor_units
from ocop.domain.operations import Outcome, ProcessorResult

#: Result codes of a payment Adyen received and has not decided yet: its webhook will.
UNDECIDED = frozenset({"Received", "Pending"})

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


def from_value(value: int, currency: str, *, floor: bool = False) -> Money | None:
    """The money an Adyen ``value`` in ``currency`` stands for; None when ocop cannot hold
    it exactly (a fraction of a CLP or ISK) or does not know the currency. ``floor``:
    rounded down to what ocop holds instead (never more than Adyen's amount)."""
    try:
        amount = Decimal(value).scaleb(-decimals(currency))
        if floor:
            amount = amount.quantize(Decimal(1).scaleb(-minor_units(currency)), ROUND_FLOOR)
        return Money.of(amount, currency)
    except InvalidInput:  # an unknown currency, or more decimals than ocop holds
        return None


def inexact(key: str, amount: Money) -> ProcessorResult | None:
    """A decline, with no call, of an amount Adyen cannot hold (a fraction of a currency
    it takes in whole units)."""
    if to_value(amount) is not None:
        return None
    reason = f"Adyen takes {amount.currency} in {decimals(amount.currency)} decimals"
    return ProcessorResult(key=key, outcome=Outcome.DECLINED, reason=reason)


def not_authorised(
    key: str, answer: Any, *, undecided: Outcome = Outcome.UNKNOWN
) -> ProcessorResult | None:
    """The result of a payment that was not authorised (None when it was); ``undecided``:
    the outcome of one Adyen received and has not decided yet (its webhook will)."""
    if answer is None:
        return ProcessorResult(key=key, outcome=Outcome.UNKNOWN, reason="no answer")
    if answer.get("resultCode") in UNDECIDED:
        why = f"Adyen has not decided it yet ({answer['resultCode']})"
        return ProcessorResult(key=key, outcome=undecided, reason=why)
    if answer.get("resultCode") != "Authorised":
        why = answer.get("refused") or answer.get("refusalReason") or "refused"
        return ProcessorResult(key=key, outcome=Outcome.DECLINED, reason=str(why))
    return None


def reason_of(error: Exception) -> str:
    message = getattr(error, "message", "")
    if isinstance(message, dict):
        return str(message.get("message") or message.get("errorCode") or "refused")
    return "refused"
