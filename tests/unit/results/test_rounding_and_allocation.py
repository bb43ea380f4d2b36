"""Exact rounding and allocation of money: half-up scaling, largest remainder, filling in order.

Examples pin exact parts in currencies of 2, 0 and 3 minor units; properties
compare every result with a reference computed in exact fractions.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from math import floor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop import InvalidAmount, Money
from ocop.domain.money import minor_units
from ocop.testing.strategies import money


def m(amount: str, currency: str = "USD") -> Money:
    """Money in ``currency`` (US dollars unless said)."""
    return Money.of(amount, currency)


def half_up(value: Fraction) -> int:
    """``value`` rounded to an integer, halves away from zero (what ``ROUND_HALF_UP`` does)."""
    magnitude = floor(abs(value) + Fraction(1, 2))
    return magnitude if value >= 0 else -magnitude


def largest_remainder(units: int, weights: list[int]) -> list[int]:
    """Reference allocation: floors of the exact shares, then one more unit each to the
    largest remainders, the earlier part first among equal remainders; negatives mirror."""
    sign = -1 if units < 0 else 1
    whole = sum(weights)
    shares = [Fraction(abs(units) * w, whole) for w in weights]
    parts = [floor(s) for s in shares]
    left = abs(units) - sum(parts)
    ranked = sorted(range(len(weights)), key=lambda i: (parts[i] - shares[i], i))
    for i in ranked[:left]:
        parts[i] += 1
    return [sign * p for p in parts]


# -- scaling: half-up, never half-even --------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "ratio", "expected"),
    [
        ("0.05", "USD", "0.5", "0.03"),  # 0.025: half-even would give 0.02
        ("0.25", "USD", "0.5", "0.13"),  # 0.125: half-even would give 0.12
        ("0.15", "USD", "0.5", "0.08"),  # 0.075
        ("0.05", "USD", "0.49", "0.02"),  # 0.0245: below the half
        ("-0.05", "USD", "0.5", "-0.03"),  # halves go away from zero
        ("10.00", "USD", "0.125", "1.25"),  # exact
        ("5", "JPY", "0.5", "3"),  # 2.5 yen: half-even would give 2
        ("7", "JPY", "0.5", "4"),  # 3.5 yen
        ("1", "JPY", "0.49", "0"),
        ("0.005", "KWD", "0.5", "0.003"),  # 0.0025 fils: half-even would give 0.002
        ("1.001", "KWD", "0.5", "0.501"),  # 0.5005
        ("100.00", "USD", "0", "0.00"),
    ],
)
def test_scaling_rounds_halves_up_to_the_currency_minor_unit(
    amount: str, currency: str, ratio: str, expected: str
) -> None:
    """scaled() rounds the exact product half-up (away from zero) to the currency's minor unit."""
    assert m(amount, currency).scaled(Decimal(ratio)) == m(expected, currency)


#: Ratios of four decimals, and quarters, which often land exactly on a half minor unit.
ratios = st.decimals(-10, 10, places=4) | st.integers(-40, 40).map(lambda n: Decimal(n) / 4)


@given(money(min_value=-(10**9), max_value=10**9), ratios)
def test_scaling_equals_the_exact_product_rounded_half_up(whole: Money, ratio: Decimal) -> None:
    """scaled() is exactly the product rounded half-up, in any currency, for any sign."""
    expected = half_up(Fraction(whole.minor) * Fraction(ratio))
    assert whole.scaled(ratio) == Money.from_minor(expected, whole.currency)


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("0.005", "USD"), ("1.001", "EUR"), ("0.5", "JPY"), ("1.0001", "KWD"), ("-0.001", "USD")],
)
def test_amounts_with_more_digits_than_the_currency_holds_are_refused(
    amount: str, currency: str
) -> None:
    """Money.of never rounds: more decimal places than the currency has raise InvalidAmount."""
    with pytest.raises(InvalidAmount, match=currency):
        Money.of(amount, currency)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("0.010", "USD", "0.01"),
        ("5.00", "JPY", "5"),
        ("1.0000", "KWD", "1.000"),
        ("-0", "USD", "0.00"),
    ],
)
def test_trailing_zeros_beyond_the_minor_unit_are_accepted_as_the_same_amount(
    amount: str, currency: str, expected: str
) -> None:
    """Extra zero digits lose nothing, so they are accepted and normalised."""
    parsed = Money.of(amount, currency)
    assert parsed == Money.of(expected, currency)
    assert parsed.amount.as_tuple().exponent == -minor_units(currency)
    assert str(parsed.amount) == expected


# -- allocation: largest remainder, earlier part wins ties -------------------------------------


@pytest.mark.parametrize(
    ("whole", "currency", "weights", "expected"),
    [
        ("0.05", "USD", [1, 1], ["0.03", "0.02"]),
        ("0.01", "USD", [1, 1], ["0.01", "0.00"]),
        ("0.02", "USD", [1, 1, 1], ["0.01", "0.01", "0.00"]),
        ("1.00", "USD", [1, 1, 1], ["0.34", "0.33", "0.33"]),
        ("1.00", "USD", [1, 2, 3], ["0.17", "0.33", "0.50"]),  # remainders .67, .33, 0
        ("0.10", "USD", [1, 2], ["0.03", "0.07"]),  # the larger remainder beats the earlier part
        ("0.05", "USD", [0, 1, 1], ["0.00", "0.03", "0.02"]),
        ("-0.05", "USD", [1, 1], ["-0.03", "-0.02"]),
        ("100", "JPY", [1, 1, 1], ["34", "33", "33"]),
        ("5", "JPY", [1, 1], ["3", "2"]),
        ("1.000", "KWD", [1, 1, 1], ["0.334", "0.333", "0.333"]),
        ("0.005", "KWD", [3, 1], ["0.004", "0.001"]),  # 3.75 and 1.25 fils
        ("10.00", "USD", [Decimal("0.5"), Decimal("0.5")], ["5.00", "5.00"]),
    ],
)
def test_allocation_gives_exact_largest_remainder_parts(
    whole: str, currency: str, weights: list[int | Decimal], expected: list[str]
) -> None:
    """allocate() gives floors plus one unit to the largest remainders, ties to the earlier part."""
    parts = m(whole, currency).allocate(weights)
    assert parts == tuple(m(p, currency) for p in expected)


@given(money(), st.lists(st.integers(0, 1000), min_size=1, max_size=8).filter(any))
def test_allocation_equals_the_largest_remainder_reference(whole: Money, ws: list[int]) -> None:
    """Every allocation is exactly the reference largest-remainder split, in any currency."""
    expected = largest_remainder(whole.minor, ws)
    assert whole.allocate(ws) == tuple(Money.from_minor(p, whole.currency) for p in expected)


@given(money(), st.lists(st.integers(0, 1000), min_size=1, max_size=8).filter(any))
def test_allocation_preserves_the_sum_and_stays_within_a_unit_of_each_share(
    whole: Money, ws: list[int]
) -> None:
    """Parts add up to the whole and each is less than one minor unit from its exact share."""
    parts = whole.allocate(ws)
    assert sum(p.minor for p in parts) == whole.minor
    for part, weight in zip(parts, ws, strict=True):
        assert abs(part.minor - Fraction(whole.minor * weight, sum(ws))) < 1


@given(money(min_value=0), st.integers(1, 1000), st.integers(2, 8))
def test_among_equal_weights_the_earlier_part_takes_the_extra_unit(
    whole: Money, weight: int, count: int
) -> None:
    """Equal weights: parts differ by at most one unit, and never a later part more than an
    earlier one."""
    parts = [p.minor for p in whole.allocate([weight] * count)]
    assert max(parts) - min(parts) <= 1
    assert parts == sorted(parts, reverse=True)


# -- filling caps in order ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("whole", "caps", "parts", "rest"),
    [
        ("0.50", ["0.20", "0.20", "0.20"], ["0.20", "0.20", "0.10"], "0.00"),
        ("0.70", ["0.20", "0.20"], ["0.20", "0.20"], "0.30"),
        ("0.30", ["0.00", "0.50", "0.50"], ["0.00", "0.30", "0.00"], "0.00"),
        ("0.30", ["-0.10", "0.25", "1.00"], ["0.00", "0.25", "0.05"], "0.00"),
        ("0.00", ["0.10"], ["0.00"], "0.00"),
        ("0.40", [], [], "0.40"),
    ],
)
def test_fill_pours_into_caps_in_order(
    whole: str, caps: list[str], parts: list[str], rest: str
) -> None:
    """fill() gives each cap all it holds before the next gets anything; negative caps hold 0."""
    assert m(whole).fill([m(c) for c in caps]) == (tuple(m(p) for p in parts), m(rest))


@given(money(min_value=0), st.lists(st.integers(-100, 10_000), max_size=6))
def test_fill_equals_pouring_in_order(whole: Money, caps_minor: list[int]) -> None:
    """Each part is the least of its cap and what the earlier caps left; the rest is the excess."""
    caps = [Money.from_minor(c, whole.currency) for c in caps_minor]
    left = whole.minor
    expected = []
    for cap in caps_minor:
        part = min(left, max(cap, 0))
        expected.append(Money.from_minor(part, whole.currency))
        left -= part
    assert whole.fill(caps) == (tuple(expected), Money.from_minor(left, whole.currency))
