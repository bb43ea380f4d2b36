"""Exact money (invariant V7): parsing, arithmetic laws, allocation and filling."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop import CurrencyMismatch, InvalidAmount, InvalidArgument, Money, UnknownCurrency
from ocop.domain.money import minor_units, total
from ocop.testing.strategies import currencies, money, positive_money

USD = money("USD")
weights = st.lists(
    st.integers(0, 10**40) | st.decimals(min_value=0, max_value=10**12, places=6),
    min_size=1,
    max_size=12,
).filter(lambda ws: sum(ws) > 0)
caps = st.lists(USD, max_size=8)


# -- allocation -------------------------------------------------------------------------
@given(money(), weights)
def test_allocation_never_loses_a_minor_unit(whole: Money, ws: list[int | Decimal]) -> None:
    """The parts of an allocation add up exactly to the whole, one part per weight."""
    parts = whole.allocate(ws)
    assert len(parts) == len(ws)
    assert total(parts, whole.currency) == whole


@given(money(min_value=0), weights)
def test_allocation_of_a_non_negative_amount_has_no_negative_part(
    whole: Money, ws: list[int | Decimal]
) -> None:
    """Allocating zero or more never yields a negative part."""
    assert not any(part.is_negative() for part in whole.allocate(ws))


@given(money(), weights)
def test_each_part_is_within_one_minor_unit_of_its_exact_share(
    whole: Money, ws: list[int | Decimal]
) -> None:
    """Every part differs from its exact proportional share by less than one minor unit."""
    exact_whole = sum(Fraction(w) for w in ws)
    for part, weight in zip(whole.allocate(ws), ws, strict=True):
        share = whole.minor * Fraction(weight) / exact_whole
        assert abs(part.minor - share) < 1


@given(money(), weights)
def test_a_zero_weight_gets_nothing(whole: Money, ws: list[int | Decimal]) -> None:
    """A part whose weight is zero is zero."""
    for part, weight in zip(whole.allocate(ws), ws, strict=True):
        if weight == 0:
            assert part.is_zero()


@given(money(), st.integers(1, 12))
def test_equal_weights_split_evenly_with_earlier_parts_taking_the_remainder(
    whole: Money, count: int
) -> None:
    """Equal weights give parts at most one minor unit apart, the larger ones first."""
    parts = [part.minor for part in whole.allocate([1] * count)]
    assert max(parts) - min(parts) <= 1
    assert parts == sorted(parts, key=abs, reverse=True)


@given(money(), weights)
def test_allocating_a_negative_amount_mirrors_the_positive_one(
    whole: Money, ws: list[int | Decimal]
) -> None:
    """Allocating -x gives the negated parts of allocating x."""
    assert (-whole).allocate(ws) == tuple(-part for part in whole.allocate(ws))


def test_a_cent_split_three_ways_goes_to_the_first_part() -> None:
    """Ties go to the earlier part: 1.00 USD in three is 0.34, 0.33, 0.33."""
    parts = Money.of("1.00", "USD").allocate([1, 1, 1])
    assert parts == (Money.of("0.34", "USD"), Money.of("0.33", "USD"), Money.of("0.33", "USD"))


@pytest.mark.parametrize(
    "bad_weights",
    [[], [0, 0], [1, -1], [True, 1], [1.5, 1], [Decimal("NaN"), 1], [Decimal("Infinity")]],
)
def test_allocation_refuses_weights_that_cannot_share(bad_weights: list[int | Decimal]) -> None:
    """No weights, all-zero, negative, bool, float or non-finite weights raise InvalidAmount."""
    with pytest.raises(InvalidAmount):
        Money.of("10.00", "USD").allocate(bad_weights)


# -- filling caps in order --------------------------------------------------------------
@given(money("USD", min_value=0), caps)
def test_fill_parts_and_rest_add_up_to_the_whole(whole: Money, limits: list[Money]) -> None:
    """Whatever the caps, the poured parts plus what did not fit equal the whole."""
    parts, rest = whole.fill(limits)
    assert len(parts) == len(limits)
    assert total(parts, "USD") + rest == whole
    assert not rest.is_negative()


@given(money("USD", min_value=0), caps)
def test_fill_never_pours_beyond_a_cap(whole: Money, limits: list[Money]) -> None:
    """Each part is between zero and its cap (a negative cap takes nothing)."""
    parts, _ = whole.fill(limits)
    for part, cap in zip(parts, limits, strict=True):
        assert Money.zero("USD") <= part <= cap.max(Money.zero("USD"))


@given(money("USD", min_value=0), caps)
def test_fill_pours_in_order(whole: Money, limits: list[Money]) -> None:
    """A cap receives money only once every earlier cap is full, and rest only when all are."""
    parts, rest = whole.fill(limits)
    zero = Money.zero("USD")
    unfilled = [part < cap.max(zero) for part, cap in zip(parts, limits, strict=True)]
    for index, short in enumerate(unfilled):
        if short:
            assert all(later.is_zero() for later in parts[index + 1 :])
            assert rest.is_zero()


def test_fill_refuses_a_negative_amount_and_a_foreign_cap() -> None:
    """Pouring a negative amount raises InvalidAmount; a foreign cap raises CurrencyMismatch."""
    with pytest.raises(InvalidAmount):
        Money.of("-1", "USD").fill([Money.of("5", "USD")])
    with pytest.raises(CurrencyMismatch):
        Money.of("1", "USD").fill([Money.of("5", "EUR")])


# -- arithmetic laws --------------------------------------------------------------------
@given(USD, USD, USD)
def test_addition_is_associative_and_commutative(a: Money, b: Money, c: Money) -> None:
    """(a + b) + c == a + (b + c) and a + b == b + a, exactly."""
    assert (a + b) + c == a + (b + c)
    assert a + b == b + a


@given(money())
def test_zero_is_the_identity_and_negation_the_inverse(a: Money) -> None:
    """a + 0 == a, a - a == 0, a + (-a) == 0 and -(-a) == a."""
    zero = Money.zero(a.currency)
    assert a + zero == a == zero + a
    assert a - a == zero == a + (-a)
    negated = -a
    assert -negated == a
    assert abs(a) == a.max(-a)


@given(USD, USD)
def test_subtraction_adds_the_negation(a: Money, b: Money) -> None:
    """a - b == a + (-b)."""
    assert a - b == a + (-b)


@given(USD, USD, USD)
def test_ordering_follows_the_amounts(a: Money, b: Money, c: Money) -> None:
    """Comparisons agree with the amounts, and adding the same amount keeps the order."""
    assert (a < b) == (a.amount < b.amount)
    assert (a <= b) == (a.amount <= b.amount)
    assert (a > b) == (a.amount > b.amount)
    assert (a >= b) == (a.amount >= b.amount)
    assert (a < b) == (a + c < b + c)
    assert a.min(b) <= a.max(b)
    assert {a.min(b), a.max(b)} == {a, b}


@given(money())
def test_minor_units_round_trip(a: Money) -> None:
    """from_minor(a.minor) and of(str(a.amount)) both give back a."""
    assert Money.from_minor(a.minor, a.currency) == a
    assert Money.of(str(a.amount), a.currency) == a


@given(money(), st.decimals(min_value=0, max_value=10, places=4))
def test_scaling_rounds_to_the_nearest_minor_unit(a: Money, ratio: Decimal) -> None:
    """scaled() is within half a minor unit of the exact product."""
    exact = Fraction(a.minor) * Fraction(ratio)
    assert abs(a.scaled(ratio).minor - exact) <= Fraction(1, 2)


# -- construction -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [1.5, 0.0, float("nan"), "NaN", "sNaN", Decimal("NaN"), "Infinity", "-inf",
     Decimal("Infinity"), "abc", "", "1,00", True, False, None, "1e30", 10**40, "1e2", " 10",
     "10 ", "1_000", "\u0661\u0660", ".5", "5.", "+", "--1", "1.2.3"],
)  # fmt: skip
def test_money_of_refuses_what_is_not_an_exact_amount(value: object) -> None:
    """Floats, NaN, infinity, bools, non-numbers, amounts too large to be exact and text that
    is not plain decimal notation (exponent, spaces, underscores, Arabic-Indic digits) raise."""
    with pytest.raises(InvalidAmount):
        Money.of(value, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "currency"), [("1.001", "USD"), ("1.5", "JPY"), ("0.0001", "KWD"), ("0.00001", "CLF")]
)
def test_money_of_refuses_more_decimals_than_the_currency_has(value: str, currency: str) -> None:
    """An amount with more significant decimals than the currency's minor units raises."""
    with pytest.raises(InvalidAmount):
        Money.of(value, currency)


@given(st.text(max_size=30), currencies())
def test_any_text_parses_or_raises_invalid_amount(text: str, currency: str) -> None:
    """Money.of on arbitrary text returns exact money or raises InvalidAmount, nothing else."""
    try:
        parsed = Money.of(text, currency)
    except InvalidAmount:
        return
    assert parsed.amount == Decimal(text)
    assert parsed.amount.as_tuple().exponent == -minor_units(currency)


@given(st.floats())
def test_money_of_refuses_every_float(value: float) -> None:
    """No float, however round, becomes money."""
    with pytest.raises(InvalidAmount):
        Money.of(value, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize("code", ["usd", "XXX", "", "US", "EURO", "XAU", "XDR", "DEM", "ABC"])
def test_an_unknown_currency_is_refused(code: str) -> None:
    """Money in a currency ocop does not know raises UnknownCurrency: not ISO 4217, long
    withdrawn (DEM), or a unit ISO gives no minor units (XXX, gold, the SDR)."""
    with pytest.raises(UnknownCurrency):
        Money.of("1", code)
    with pytest.raises(UnknownCurrency):
        Money.zero(code)


def test_currencies_carry_their_minor_units() -> None:
    """KWD has three decimal places, JPY none, USD two (ISO 4217's own figures)."""
    assert Money.of("1.234", "KWD").amount == Decimal("1.234")
    assert Money.zero("KWD").amount.as_tuple().exponent == -3
    assert Money.of("1500", "JPY").minor == 1500
    assert Money.of("15", "USD").minor == 1500
    assert [minor_units(code) for code in ("KWD", "JPY", "USD")] == [3, 0, 2]


@pytest.mark.parametrize(
    "same", ["10", "10.00", "10.0", "+10", "010.000", 10, Decimal("10"), Decimal("1E+1")]
)
def test_equal_values_are_equal_money(same: str | int | Decimal) -> None:
    """Every accepted spelling of ten dollars is the same value, with the same hash and repr."""
    ten = Money.of("10.00", "USD")
    assert Money.of(same, "USD") == ten
    assert hash(Money.of(same, "USD")) == hash(ten)
    assert repr(Money.of(same, "USD")) == repr(ten) == "Money('10.00', 'USD')"


def test_negative_zero_is_plain_zero() -> None:
    """ "-0" and -0.00 are zero, shown without a sign."""
    assert str(Money.of("-0", "USD")) == str(Money.zero("USD")) == "0.00 USD"
    assert str(-Money.zero("USD")) == "0.00 USD"


def test_negative_zero_built_directly_is_plain_zero() -> None:
    """V7: Money built with its constructor from Decimal("-0.00") is 0.00 as Money.of makes it:
    shown, stored and negated without a sign."""
    built = Money(currency="USD", amount=Decimal("-0.00"))
    assert repr(built) == repr(Money.zero("USD")) == "Money('0.00', 'USD')"
    assert str(built) == str(-built) == "0.00 USD"
    assert not built.amount.is_signed()


def test_money_cannot_be_built_off_its_minor_units() -> None:
    """The raw constructor refuses an amount not held at the currency's minor units."""
    with pytest.raises(InvalidAmount):
        Money(currency="USD", amount=Decimal("1"))
    with pytest.raises(UnknownCurrency):
        Money(currency="ABC", amount=Decimal("1.00"))


OPERATIONS: list[Callable[[Money, Money], object]] = [
    lambda a, b: a + b,
    lambda a, b: a - b,
    lambda a, b: a < b,
    lambda a, b: a <= b,
    lambda a, b: a > b,
    lambda a, b: a >= b,
    Money.min,
    Money.max,
]


@pytest.mark.parametrize("operation", OPERATIONS)
@given(a=money("USD"), b=money("JPY"))
def test_mixing_currencies_raises(
    operation: Callable[[Money, Money], object], a: Money, b: Money
) -> None:
    """Adding, subtracting or comparing USD with JPY raises CurrencyMismatch."""
    with pytest.raises(CurrencyMismatch):
        operation(a, b)
    assert a != b


@given(st.lists(positive_money("EUR"), max_size=10))
def test_total_sums_exactly_and_is_zero_for_nothing(amounts: list[Money]) -> None:
    """total() is the exact sum of its amounts, zero when there are none."""
    expected = sum((a.minor for a in amounts), 0)
    assert total(amounts, "EUR") == Money.from_minor(expected, "EUR")


@given(st.from_type(Money))
def test_money_is_registered_with_hypothesis(value: Money) -> None:
    """The hypothesis entry point registers a strategy for Money: from_type builds valid values."""
    assert Money.of(value.amount, value.currency) == value


def test_total_refuses_what_is_not_money_and_other_currencies() -> None:
    """total() raises InvalidArgument for a bare number among its amounts and CurrencyMismatch
    for an amount in another currency: it never adds them in silently."""
    with pytest.raises(InvalidArgument, match="cannot combine Money with Decimal"):
        total([Money.of("1.00", "USD"), Decimal("1.00")], "USD")  # type: ignore[list-item]
    with pytest.raises(CurrencyMismatch) as mismatch:
        total([Money.of("1.00", "USD"), Money.of("1.00", "EUR")], "USD")
    assert (mismatch.value.left, mismatch.value.right) == ("USD", "EUR")


@attrs.frozen(order=False, repr=False, kw_only=True)
class Points(Money):
    """A subclass of Money, as an application might define one."""


def test_zero_of_a_subclass_is_of_that_subclass() -> None:
    """Money.zero() called on a subclass returns a zero of that subclass, not Money's own."""
    zero = Points.zero("USD")
    assert type(zero) is Points
    assert zero.is_zero()
    assert zero == Points.of("0", "USD")
    assert type(Money.zero("USD")) is Money


def test_equal_remainders_go_to_the_earlier_part_whatever_the_share_sizes() -> None:
    """Ties are decided exactly: 0.04 over 10:1:1 gives both spare cents to the first part."""
    assert Money.of("0.04", "USD").allocate([10, 1, 1]) == (
        Money.of("0.04", "USD"),
        Money.of("0.00", "USD"),
        Money.of("0.00", "USD"),
    )


@pytest.mark.parametrize("code", ["HRK", "BGN"])
def test_a_currency_that_joined_the_euro_lately_is_still_money(code: str) -> None:
    """Orders taken in kuna or lev before the euro can still be refunded: the codes left
    ISO's active table, and keep their two decimals in ocop."""
    assert Money.of("10.05", code).minor == 1005
    assert Money.zero(code).minor == 0
