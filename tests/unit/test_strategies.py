"""The public hypothesis strategies of ocop.testing generate what they promise."""

from __future__ import annotations

from decimal import Decimal, Inexact, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ocop import Money, UnknownCurrency
from ocop.domain.money import MAX_AMOUNT, minor_units
from ocop.testing.strategies import DEFAULT_BOUND, currencies, money, positive_money


@given(money("JPY", min_value="0.5", max_value="3.5"))
def test_money_bounds_are_rounded_inwards_to_minor_units(amount: Money) -> None:
    """Bounds between minor units round inwards: 0.5 to 3.5 yen gives 1, 2 or 3 yen."""
    assert amount.currency == "JPY"
    assert amount.amount in {Decimal(1), Decimal(2), Decimal(3)}


@given(money(min_value="0.001", max_value="0.009"))
def test_currencies_without_an_amount_in_range_are_left_out(amount: Money) -> None:
    """Only currencies of three decimals or more (KWD, CLF ...) have an amount between 0.001
    and 0.009."""
    assert minor_units(amount.currency) >= 3
    assert Decimal("0.001") <= amount.amount <= Decimal("0.009")


@given(money())
def test_unbounded_money_stays_within_the_default_bound(amount: Money) -> None:
    """Without bounds, amounts stay within DEFAULT_BOUND minor units of zero."""
    assert abs(amount.minor) <= DEFAULT_BOUND


@given(positive_money())
def test_positive_money_is_at_least_one_minor_unit(amount: Money) -> None:
    """positive_money() never yields zero or less."""
    assert amount.minor >= 1


@given(currencies())
def test_currencies_are_known_to_money(code: str) -> None:
    """Every generated currency code builds money."""
    assert Money.zero(code).is_zero()


@pytest.mark.parametrize(
    ("min_value", "max_value"), [("1", "0"), ("abc", None), (None, Decimal("NaN")), (1.5, None)]
)
def test_impossible_or_malformed_bounds_raise_invalid_argument(
    min_value: object, max_value: object
) -> None:
    """An empty range, a non-number or a float bound raises InvalidArgument."""
    with pytest.raises(InvalidArgument):
        money("USD", min_value, max_value)  # type: ignore[arg-type]


def test_an_unknown_currency_fails_when_the_strategy_is_built() -> None:
    """money() and positive_money() of an unknown currency raise UnknownCurrency at once."""
    with pytest.raises(UnknownCurrency):
        money("XYZ")
    with pytest.raises(UnknownCurrency):
        positive_money("XYZ")


@given(st.data())
def test_from_type_builds_money_of_any_currency(data: st.DataObject) -> None:
    """st.from_type(Money) draws valid money (the entry point registered it)."""
    amount = data.draw(st.from_type(Money))
    assert isinstance(amount, Money)


@given(money(min_value="999999999999999999.5", max_value=10**30))
def test_bounds_beyond_the_maximum_amount_are_kept_below_it(amount: Money) -> None:
    """Bounds beyond MAX_AMOUNT give only amounts Money holds (below 10**18 units)."""
    assert Decimal("999999999999999999.5") <= amount.amount < MAX_AMOUNT


@given(st.data())
def test_bounds_are_read_exactly_under_a_host_precision_of_two_digits(
    data: st.DataObject,
) -> None:
    """A host's precision does not round a bound: 123.45 to 123.46 stays two cents wide."""
    with localcontext(prec=2) as host:
        host.traps[Inexact] = True
        strategy = money("USD", min_value="123.45", max_value="123.46")
    assert data.draw(strategy) in {Money.of("123.45", "USD"), Money.of("123.46", "USD")}
