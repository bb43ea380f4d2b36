"""Amounts to and from Adyen's minor units, whatever the host's decimal context (V7)."""

from __future__ import annotations

from decimal import Context, Inexact, localcontext

import pytest

from ocop import Money
from ocop.adapters._adyen_answers import from_value, to_value

HOSTS = [
    Context(prec=3),
    Context(prec=8, traps=[Inexact]),
    Context(prec=28, traps=[Inexact]),
]


@pytest.mark.parametrize("host", HOSTS, ids=["3 digits", "8 digits, inexact", "inexact"])
@pytest.mark.parametrize(
    ("currency", "amount", "value"),
    [
        ("USD", "123456789.12", 12345678912),
        ("KWD", "-987654321.125", -987654321125),
        ("CLP", "123456789", 12345678900),  # Adyen: two decimals, ISO 4217: none
        ("IDR", "123456789.00", 123456789),  # Adyen: none, ISO 4217: two
    ],
)
def test_amounts_convert_exactly_under_any_host_context(
    host: Context, currency: str, amount: str, value: int
) -> None:
    """V7: Adyen's value of an amount, and the amount of a value, are exact under a host's
    precision and traps; a fraction ocop cannot hold is None, or floored when asked."""
    money = Money.of(amount, currency)
    with localcontext(host):
        assert to_value(money) == value
        assert from_value(value, currency) == money
        assert to_value(Money.of("10.50", "IDR")) is None
        assert from_value(12345678950, "CLP") is None
        assert from_value(-12345678950, "CLP", floor=True) == Money.of("-123456790", "CLP")
        assert from_value(10**30, "USD") is None  # beyond ocop's maximum amount
