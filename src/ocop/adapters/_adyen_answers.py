"""Adyen's answers and amounts, as the connector reads them.

Amounts go in minor units by Adyen's own table of decimals.
Adyen's currency codes page gives four currencies another number of decimals than
ISO 4217 (which ocop's money follows): CLP and ISK two (ISO: none), CVE and IDR none
(ISO: two). An amount in them is sent and read with Adyen's; one Adyen cannot hold (a
fraction of a CVE or IDR) cannot be sent at all.
"""

from __future__ import annotations

from typing import Any

from ocop.domain.cardnumbers import hide_cvv, mask
from ocop.domain.errors import InvalidInput
from ocop.domain.money import Money, minor_units
from ocop.domain.operations import Outcome, ProcessorResult

#: Result codes of a payment Adyen received and has not decided yet: its webhook will.
UNDECIDED = frozenset({"Received", "Pending"})
#: Result codes of an authorised payment: all that was asked, or part of it (its amount).
AUTHORISED = frozenset({"Authorised", "PartiallyAuthorised"})
#: Result codes of a payment that holds nothing: refused, failed, cancelled, or waiting
#: for the shopper to act (a redirect, a challenge), which a stored card's payment made
#: by ocop cannot do. Any other code (none, one Adyen added later) is not read as a decline.
NOT_HELD = frozenset({
    "Refused", "Error", "Cancelled", "RedirectShopper", "IdentifyShopper",
    "ChallengeShopper", "PresentToShopper", "AuthenticationFinished",
    "AuthenticationNotRequired",
})  # fmt: skip

#: Adyen's decimals where they are not ISO 4217's.
ADYEN_DECIMALS = {"CLP": 2, "CVE": 0, "IDR": 0, "ISK": 2}


def decimals(currency: str) -> int:
    """How many decimals Adyen gives ``currency``."""
    found = ADYEN_DECIMALS.get(currency)
    return minor_units(currency) if found is None else found


# Both conversions work in integers (ISO minor units against Adyen's): exact whatever
# decimal context the host program set.
def _power(places: int) -> int:
    """10 to the ``places`` (not negative)."""
    power: int = 10**places  # typeshed types int ** int as Any (a negative power is a float)
    return power


def to_value(amount: Money) -> int | None:
    """``amount`` as Adyen's ``value`` (minor units by its table); None when Adyen cannot
    hold it exactly."""
    theirs, ours = decimals(amount.currency), minor_units(amount.currency)
    if theirs >= ours:
        return amount.minor * _power(theirs - ours)
    value, rest = divmod(amount.minor, _power(ours - theirs))
    return None if rest else value


def from_value(value: int, currency: str, *, floor: bool = False) -> Money | None:
    """The money an Adyen ``value`` in ``currency`` stands for; None when ocop cannot hold
    it exactly (a fraction of a CLP or ISK, an amount beyond ocop's maximum) or does not
    know the currency. ``floor``: rounded down to what ocop holds instead (never more than
    Adyen's amount)."""
    try:
        ours, theirs = minor_units(currency), decimals(currency)
        if ours >= theirs:
            return Money.from_minor(value * _power(ours - theirs), currency)
        units, rest = divmod(value, _power(theirs - ours))  # divmod floors, as ROUND_FLOOR
        return None if rest and not floor else Money.from_minor(units, currency)
    except InvalidInput:  # an unknown currency, or more than ocop holds
        return None


def granted(given: Any, asked: Money) -> Money | None:
    """What an approval's ``amount`` says Adyen holds of ``asked``: read in the currency
    asked for, rounded down to what ocop holds, never more than asked; None when it says
    nothing readable (none, another currency, not a whole number, nothing or less)."""
    if not isinstance(given, dict) or given.get("currency", asked.currency) != asked.currency:
        return None
    value = given.get("value")
    held = from_value(value, asked.currency, floor=True) if type(value) is int else None
    if held is None or not held.is_positive():
        return None
    return min(held, asked)


def inexact(key: str, amount: Money) -> ProcessorResult | None:
    """A decline, with no call, of an amount no payment can carry: zero or less (the
    simulator declines it too), or one Adyen cannot hold (a fraction of a currency it
    takes in whole units)."""
    if not amount.is_positive():
        reason = "an amount must be more than zero"
    elif to_value(amount) is None:
        reason = f"Adyen takes {amount.currency} in {decimals(amount.currency)} decimals"
    else:
        return None
    return ProcessorResult(key=key, outcome=Outcome.DECLINED, reason=reason)


def not_authorised(
    key: str, answer: Any, *, undecided: Outcome = Outcome.UNKNOWN
) -> ProcessorResult | None:
    """The result of a payment that was not authorised (None when it was); ``undecided``:
    the outcome of one Adyen received and has not decided yet (its webhook will), or whose
    answer says neither (no result code, or one ocop does not know): it may hold money."""
    if answer is None:
        return ProcessorResult(key=key, outcome=Outcome.UNKNOWN, reason="no answer")
    code = answer.get("resultCode")
    if "refused" in answer or code in NOT_HELD:
        why = answer.get("refused") or answer.get("refusalReason") or "refused"
        return ProcessorResult(key=key, outcome=Outcome.DECLINED, reason=mask(str(why)))
    if code in AUTHORISED:
        return None
    if code in UNDECIDED:
        why = f"Adyen has not decided it yet ({code})"
    else:
        why = "an answer that says neither authorised nor refused"
    return ProcessorResult(key=key, outcome=undecided, reason=why)


def reason_of(error: Exception, cvv: str | None = None) -> str:
    """Adyen's words for a refused request, any card number in them masked (E2), and the
    ``cvv`` the request carried, if they repeat it (T2, V8)."""
    message = getattr(error, "message", "")
    if isinstance(message, dict):
        words = str(message.get("message") or message.get("errorCode") or "refused")
        return hide_cvv(mask(words), cvv)
    return "refused"
