"""Typed hypothesis strategies for ocop's values, for ocop's tests and yours.

::

    from ocop.testing.strategies import card_numbers, money

    @given(money("USD"), card_numbers())
    def test_my_adapter_refuses_card_numbers(amount: Money, number: str) -> None: ...

Installing ocop registers :func:`money` for :class:`~ocop.Money` through a
``hypothesis`` entry point, so ``st.from_type(Money)`` and ``st.builds`` work
too. Hypothesis is imported here only: it never becomes a runtime dependency.
"""

from __future__ import annotations

from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_CEILING,
    ROUND_FLOOR,
    Context,
    Decimal,
    InvalidOperation,
)

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from ocop.domain.cardguard import contains_card_number, luhn_valid
from ocop.domain.money import MAX_AMOUNT, MINOR_UNITS, Money, minor_units
from ocop.domain.tokens import CardToken

__all__ = [
    "card_numbers",
    "card_tokens",
    "currencies",
    "money",
    "non_card_text",
    "positive_money",
]

#: Unbounded amounts stay within this many minor units either side of zero: far
#: beyond any order, far inside ocop's maximum amount (``MAX_AMOUNT``).
DEFAULT_BOUND = 10**15

#: Bounds are read and rescaled exactly, whatever decimal context the caller set.
_BOUNDS = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation])

# Shrinking goes towards the front: two, zero and three decimal places first.
_CURRENCIES = ("USD", "JPY", "KWD", *sorted(set(MINOR_UNITS) - {"USD", "JPY", "KWD"}))

_Bound = str | int | Decimal | None


def currencies() -> SearchStrategy[str]:
    """ISO 4217 codes ocop knows, with zero to four decimal places (JPY, USD, KWD, CLF)."""
    return st.sampled_from(_CURRENCIES)


def _minor_bound(value: str | int | Decimal, places: int, rounding: str) -> int:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise InvalidArgument(f"money bounds are str, int or Decimal, not {type(value).__name__}")
    try:
        scaled = Decimal(value, _BOUNDS).scaleb(places, _BOUNDS)
    except InvalidOperation:
        raise InvalidArgument(f"money bound {value!r} is not a number") from None
    if not scaled.is_finite():
        raise InvalidArgument(f"money bound {value!r} is not a finite number")
    return int(scaled.to_integral_value(rounding=rounding, context=_BOUNDS))


def _minor_range(places: int, min_value: _Bound, max_value: _Bound) -> tuple[int, int]:
    """The minor-unit range of a currency with ``places`` decimals within the bounds."""
    low = None if min_value is None else _minor_bound(min_value, places, ROUND_CEILING)
    high = None if max_value is None else _minor_bound(max_value, places, ROUND_FLOOR)
    if low is None:
        low = -DEFAULT_BOUND if high is None else min(-DEFAULT_BOUND, high)
    if high is None:
        high = max(DEFAULT_BOUND, low)
    largest = int(MAX_AMOUNT.scaleb(places, _BOUNDS)) - 1  # Money holds no more
    return max(low, -largest), min(high, largest)


def _in_minor_units(currency: str, low: int, high: int) -> SearchStrategy[Money]:
    return st.integers(low, high).map(lambda units: Money.from_minor(units, currency))


def money(
    currency: str | None = None, min_value: _Bound = None, max_value: _Bound = None
) -> SearchStrategy[Money]:
    """Exact amounts, in ``currency`` or in any known currency.

    ``min_value`` and ``max_value`` (str, int or Decimal, inclusive) are rounded
    inwards to each currency's minor units and kept below ocop's ``MAX_AMOUNT``;
    a currency with no amount in range is left out. Without bounds amounts stay
    within ``DEFAULT_BOUND`` minor units of zero, negative amounts included.
    """
    codes = _CURRENCIES if currency is None else (currency,)
    ranges = {code: _minor_range(minor_units(code), min_value, max_value) for code in codes}
    usable = [code for code in codes if ranges[code][0] <= ranges[code][1]]
    if not usable:
        raise InvalidArgument(f"no amount between {min_value!r} and {max_value!r} in {codes}")
    return st.sampled_from(usable).flatmap(lambda code: _in_minor_units(code, *ranges[code]))


def positive_money(currency: str | None = None) -> SearchStrategy[Money]:
    """Amounts of at least one minor unit (a cent, a yen, a fils)."""
    if currency is not None:
        minor_units(currency)  # an unknown currency fails here, not at the first draw
    codes = _CURRENCIES if currency is None else (currency,)
    return st.sampled_from(codes).flatmap(lambda code: _in_minor_units(code, 1, DEFAULT_BOUND))


def _check_digit(body: str) -> str:
    """The digit that makes ``body`` + digit pass the Luhn check."""
    return next(d for d in "0123456789" if luhn_valid(body + d))


_SEPARATORS = st.sampled_from([" ", "-", "  ", " - ", "--"]) | st.text(" -", min_size=1, max_size=4)


@st.composite
def _card_numbers(draw: st.DrawFn, with_separators: bool) -> str:
    length = draw(st.integers(13, 19))
    body = draw(st.text("0123456789", min_size=length - 1, max_size=length - 1))
    digits = body + _check_digit(body)
    if not with_separators:
        return digits
    # Cut between some digits; each cut gets one or more spaces or dashes.
    cuts = draw(st.sets(st.integers(1, length - 1)))
    text = ""
    for position, digit in enumerate(digits):
        if position in cuts:
            text += draw(_SEPARATORS)
        text += digit
    return text


def card_numbers(with_separators: bool = True) -> SearchStrategy[str]:
    """Luhn-valid 13-19 digit card numbers, with spaces and dashes between digits or not.

    What rule T2 forbids anywhere ocop stores text: for testing that a value is refused.
    Put other text around one apart from its digits, and, if it has spaces or dashes,
    apart from letters too: a digit group glued to a letter (``x4111 1111 1111 1111``)
    belongs to that word and joins no other group, so no card is found there.
    """
    return _card_numbers(with_separators)


def _not_luhn(body: str) -> str:
    """``body`` plus a final digit chosen so that the whole fails the Luhn check."""
    wrong = (int(_check_digit(body)) + 1) % 10
    return body + str(wrong)


def non_card_text() -> SearchStrategy[str]:
    """Ids and numbers that are not card numbers and that ocop must accept.

    UUIDs, order-style ids (``"SO-123"``), 13-19 digit runs that fail the Luhn
    check, and runs of up to 12 digits. Digits glued to a hex letter belong to it
    and join nothing across a dash, but a UUID whose all-digit groups, joined
    across their dashes, form a Luhn-valid 13-19 digit run (such as the nil UUID)
    holds a card number written with dashes by rule T2's definition and is left out.
    """
    digits = st.text("0123456789", min_size=1, max_size=12)
    return st.one_of(
        digits,
        st.tuples(st.sampled_from(["SO", "INV", "RMA", "PI", "CC-USR"]), digits).map("-".join),
        st.integers(12, 18).flatmap(
            lambda n: st.text("0123456789", min_size=n, max_size=n).map(_not_luhn)
        ),
        st.uuids().map(str).filter(lambda text: not contains_card_number(text)),
    )


_BRANDS = ("visa", "mastercard", "amex", "discover")


def _expiries() -> SearchStrategy[str]:
    return st.builds("{}-{:02d}".format, st.integers(2000, 2099), st.integers(1, 12))


def card_tokens(connector: str = "sim", service_account: str = "sa-1") -> SearchStrategy[CardToken]:
    """Processor card tokens (``tok_...``) of one connector and service account."""
    values = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=24).map(
        "tok_{}".format
    )
    return st.builds(
        CardToken,
        value=values.filter(lambda value: not contains_card_number(value)),
        connector=st.just(connector),
        service_account=st.just(service_account),
        brand=st.sampled_from(_BRANDS),
        last4=st.text("0123456789", min_size=4, max_size=4),
        expiry=st.none() | _expiries(),
        reusable=st.booleans(),
    )


def _hypothesis_setup_hook() -> None:
    """Register :func:`money` for :class:`Money` (run by hypothesis' entry point)."""
    st.register_type_strategy(Money, money())
