"""Exact money whatever the host's decimal context (invariant V7), and its maximum amount.

The host program owns the thread's :mod:`decimal` context: its precision, rounding and
traps must change nothing ocop computes.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable
from decimal import Context, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop import InvalidAmount, Money, OcopError
from ocop.domain.money import MAX_AMOUNT, minor_units, total
from ocop.testing.strategies import currencies, money

ROUNDINGS = [
    decimal.ROUND_05UP,
    decimal.ROUND_CEILING,
    decimal.ROUND_DOWN,
    decimal.ROUND_FLOOR,
    decimal.ROUND_HALF_DOWN,
    decimal.ROUND_HALF_EVEN,
    decimal.ROUND_HALF_UP,
    decimal.ROUND_UP,
]
SIGNALS = [
    decimal.Clamped,
    decimal.DivisionByZero,
    decimal.FloatOperation,
    decimal.Inexact,
    decimal.InvalidOperation,
    decimal.Overflow,
    decimal.Rounded,
    decimal.Subnormal,
    decimal.Underflow,
]

#: Contexts a host program may set: any precision up to the default, rounding and traps.
host_contexts = st.builds(
    lambda prec, rounding, traps, emax, emin: Context(
        prec=prec, rounding=rounding, traps=traps, Emax=emax, Emin=emin
    ),
    st.integers(1, 28),
    st.sampled_from(ROUNDINGS),
    st.lists(st.sampled_from(SIGNALS), unique=True),
    st.sampled_from([decimal.MAX_EMAX, 999999, 30, 3]),
    st.sampled_from([decimal.MIN_EMIN, -999999, -30, -3]),
)

_Op = Callable[[Money, Money, Decimal], object]

#: Money's operations, each on two amounts of one currency and a ratio (or percentage) of
#: 0 to 1.
OPERATIONS: dict[str, _Op] = {
    "add": lambda a, b, r: a + b,
    "subtract": lambda a, b, r: a - b,
    "negate": lambda a, b, r: -a,
    "abs": lambda a, b, r: abs(a),
    "total": lambda a, b, r: total([a, b, a, b, b], a.currency),
    "scaled": lambda a, b, r: a.scaled(r),
    "percent": lambda a, b, r: a.percent(r),
    "minor": lambda a, b, r: Money.from_minor(a.minor - b.minor, a.currency),
    "text": lambda a, b, r: Money.of(str(a.amount), a.currency),
    "allocate": lambda a, b, r: a.allocate([r, abs(b.minor), 1]),
    "fill": lambda a, b, r: abs(a).fill([b, abs(b), a]),
    "compare": lambda a, b, r: (a < b, a <= b, a == b, a.min(b), a.max(b), a.is_zero()),
}

ratios = st.decimals(min_value=0, max_value=1, allow_nan=False, allow_infinity=False)
programs = st.lists(
    st.tuples(st.sampled_from(sorted(OPERATIONS)), st.integers(0, 99), st.integers(0, 99), ratios),
    min_size=1,
    max_size=25,
)


@st.composite
def pools(draw: st.DrawFn) -> list[Money]:
    """Amounts of one currency, small and up to the maximum."""
    code = draw(currencies())
    near_max = money(code, min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT)
    return draw(st.lists(money(code) | near_max, min_size=1, max_size=5))


def _run(pool: list[Money], program: list[tuple[str, int, int, Decimal]]) -> list[str]:
    """What each step of ``program`` gives, as text; a Money result joins the pool."""
    pool = list(pool)
    seen: list[str] = []
    for name, i, j, ratio in program:
        a, b = pool[i % len(pool)], pool[j % len(pool)]
        try:
            result = OPERATIONS[name](a, b, ratio)
        except OcopError as error:
            seen.append(f"{type(error).__name__}: {error}")
            continue
        seen.append(repr(result))
        if isinstance(result, Money):
            pool.append(result)
    return seen


@given(pools(), programs, host_contexts)
def test_money_gives_the_same_results_whatever_the_host_decimal_context(
    pool: list[Money], program: list[tuple[str, int, int, Decimal]], host: Context
) -> None:
    """V7: a sequence of Money operations gives under any precision (1 to 28), rounding and
    traps the host sets exactly what it gives under the default context."""
    with localcontext(Context()):
        expected = _run(pool, program)
    with localcontext(host):
        assert _run(pool, program) == expected


@given(st.data(), host_contexts)
def test_sums_and_differences_are_exact_in_minor_units_under_any_host_context(
    data: st.DataObject, host: Context
) -> None:
    """V7: sums and differences of amounts up to the maximum are exact, at the currency's
    minor units, whatever the host's precision."""
    code = data.draw(currencies())
    amounts = data.draw(st.lists(money(code, -MAX_AMOUNT, MAX_AMOUNT), min_size=1))
    with localcontext(host):
        whole = total(amounts, code)
        difference = amounts[0] - whole
    exponent = amounts[0].amount.as_tuple().exponent
    assert whole.minor == sum(a.minor for a in amounts)
    assert difference.minor == amounts[0].minor - whole.minor
    assert whole.amount.as_tuple().exponent == difference.amount.as_tuple().exponent == exponent


@given(money(), ratios, host_contexts)
def test_scaling_rounds_the_exact_product_once_under_any_host_context(
    a: Money, ratio: Decimal, host: Context
) -> None:
    """V7: scaled() is the exact product rounded half-up to minor units, whatever the host's
    precision, rounding and traps."""
    exact = Fraction(a.minor) * Fraction(ratio)
    nearest = int(abs(exact) + Fraction(1, 2))  # half-up: halves away from zero
    nearest = -nearest if exact < 0 else nearest
    with localcontext(host):
        scaled = a.scaled(ratio)
    assert scaled.minor == nearest


# -- the maximum amount -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("amount", "currency"),
    [("1000000000000000000", "JPY"), ("-1000000000000000000.00", "USD"),
     ("99999999999999999999999999.99", "USD"), (10**18, "KWD"), (Decimal("1E+18"), "CLF")],
)  # fmt: skip
def test_an_amount_of_10_to_the_18_units_or_more_is_refused(
    amount: str | int | Decimal, currency: str
) -> None:
    """V7: Money holds amounts below 10**18 units of their currency; a larger one is
    InvalidAmount saying so (without quoting it), from every way of building money."""
    with pytest.raises(InvalidAmount) as caught:
        Money.of(amount, currency)
    assert "below 10**18 units" in str(caught.value)
    assert str(amount).strip("-")[:6] not in str(caught.value)
    with pytest.raises(InvalidAmount):
        Money.from_minor(-(10**23), currency)
    with pytest.raises(InvalidAmount):
        Money(currency="USD", amount=Decimal("1000000000000000000.00"))


@pytest.mark.parametrize("currency", ["JPY", "USD", "KWD", "CLF"])
def test_the_largest_amounts_add_up_exactly(currency: str) -> None:
    """V7: the largest amount, in currencies of 0 to 4 decimals, adds and subtracts exactly,
    even under a host precision of 8 digits."""
    largest = Money.from_minor(int(MAX_AMOUNT) * 10 ** minor_units(currency) - 1, currency)
    unit = Money.from_minor(1, currency)
    with localcontext(prec=8):
        assert (largest + unit).minor == largest.minor + 1
        assert (largest + largest - largest) == largest
        assert total([largest] * 1000, currency).minor == 1000 * largest.minor
        assert (-largest - largest).minor == -2 * largest.minor


def test_a_sum_beyond_what_money_holds_is_refused_never_rounded() -> None:
    """V7: doubling the largest amount until it no longer fits 40 digits raises InvalidAmount;
    every sum before is exact."""
    amount = Money.of("999999999999999999.9999", "CLF")
    minor = amount.minor
    while 2 * minor < 10**40:
        amount = amount + amount
        minor *= 2
        assert amount.minor == minor
    with pytest.raises(InvalidAmount) as caught:
        amount + amount
    assert "too large to hold exactly" in str(caught.value)
    assert amount.minor < 10**40 <= 2 * amount.minor
    with pytest.raises(InvalidAmount):
        total([amount, amount], "CLF")
    with pytest.raises(InvalidAmount):
        _ = -amount - amount
