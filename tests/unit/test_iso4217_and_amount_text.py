"""Money's currencies are ISO 4217's table, and amount text is plain decimal notation (V7)."""

from __future__ import annotations

import re
from decimal import Decimal

import iso4217
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ocop import InvalidAmount, Money, UnknownCurrency
from ocop.domain.money import MINOR_UNITS, minor_units


def _official() -> dict[str, str]:
    """Each code of the XML table the package ships, with its minor units as written there."""
    table: dict[str, str] = {}
    for entry in iso4217.raw_xml.findall("CcyTbl/CcyNtry"):
        code, units = entry.findtext("Ccy"), entry.findtext("CcyMnrUnts")
        if code and units:
            table[code.strip()] = units.strip()
    return table


OFFICIAL = _official()
ACTIVE = {code: int(units) for code, units in OFFICIAL.items() if units.isdigit()}
WITHOUT_MINOR_UNITS = sorted(code for code, units in OFFICIAL.items() if not units.isdigit())
CODES = sorted(ACTIVE)


# -- the currency table ------------------------------------------------------------------
def test_ocop_knows_exactly_the_active_codes_that_have_minor_units() -> None:
    """MINOR_UNITS is the shipped table: every code with minor units, at its official figure."""
    assert len(ACTIVE) > 150
    assert dict(MINOR_UNITS) == {"HRK": 2, "BGN": 2, **ACTIVE}  # and two lately withdrawn
    assert WITHOUT_MINOR_UNITS  # gold, the SDR, XXX ...: all "N.A." in the table


@given(st.sampled_from(CODES), st.integers(-(10**15), 10**15))
def test_every_active_currency_is_money_at_its_official_minor_units(code: str, units: int) -> None:
    """Any active ISO 4217 currency makes money at its official minor units, and both ways
    back (minor units, amount text) give the same money."""
    money = Money.from_minor(units, code)
    assert minor_units(code) == ACTIVE[code]
    assert money.minor == units
    assert money.amount.as_tuple().exponent == -ACTIVE[code]
    assert Money.of(str(money.amount), code) == money


@pytest.mark.parametrize("code", WITHOUT_MINOR_UNITS)
def test_a_code_without_minor_units_is_no_money_to_pay_in(code: str) -> None:
    """XAU, XDR, XXX and the other "N.A." codes raise UnknownCurrency, saying why."""
    with pytest.raises(UnknownCurrency, match="no minor units") as refused:
        Money.of("1", code)
    assert refused.value.code == code
    with pytest.raises(UnknownCurrency):
        Money.zero(code)


@pytest.mark.parametrize(
    ("code", "places"),
    [("JPY", 0), ("BHD", 3), ("CLF", 4), ("AFN", 2), ("XCD", 2), ("KWD", 3), ("UYW", 4),
     ("UYI", 0), ("BOV", 2), ("CHE", 2), ("USN", 2), ("ALL", 2), ("DZD", 2), ("AOA", 2)],
)  # fmt: skip
def test_hand_checked_currencies_have_their_iso_minor_units(code: str, places: int) -> None:
    """Checked by hand against ISO 4217: funds codes included, each at its own minor units."""
    assert minor_units(code) == places
    assert Money.from_minor(1, code).amount == Decimal(1).scaleb(-places)


def test_four_decimal_places_hold_exactly_and_refuse_a_fifth() -> None:
    """CLF has four decimal places: 0.0001 is money, 0.00001 is refused, never rounded."""
    assert Money.of("12.3456", "CLF").minor == 123456
    assert str(Money.zero("CLF")) == "0.0000 CLF"
    with pytest.raises(InvalidAmount, match="CLF has 4 decimal place"):
        Money.of("0.00001", "CLF")


# -- amount text -------------------------------------------------------------------------
PLAIN = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")

digits = st.text("0123456789", min_size=1, max_size=20)
plain_texts = st.builds(
    lambda sign, whole, fraction: sign + whole + fraction,
    st.sampled_from(["", "-", "+"]),
    digits,
    st.just("") | digits.map(lambda d: "." + d),
)


def _accepts(text: str, currency: str) -> Decimal | None:
    """The amount ``text`` must become in ``currency``, or None where it must be refused."""
    if not PLAIN.fullmatch(text):
        return None
    value = Decimal(text)
    if value.copy_abs() >= 10**18:  # beyond ocop's maximum amount
        return None
    exact = value.quantize(Decimal(1).scaleb(-ACTIVE[currency]))
    return exact if exact == value else None


@given(plain_texts, st.sampled_from(CODES))
@example("0.10", "USD")
@example("-0", "JPY")
@example("+1.2340", "KWD")
def test_plain_decimal_text_is_read_as_decimal_reads_it(text: str, code: str) -> None:
    """Plain decimal text is the Decimal it spells, unless it has more decimals than the
    currency holds or reaches ocop's maximum (10**18): then InvalidAmount, never rounding."""
    expected = _accepts(text, code)
    if expected is None:
        with pytest.raises(InvalidAmount):
            Money.of(text, code)
    else:
        assert Money.of(text, code).amount == expected


#: Decimal() accepts all of these; money text does not.
NON_PLAIN = [
    st.tuples(plain_texts, st.sampled_from("eE"), st.sampled_from(["", "+", "-"]), digits).map(
        "".join
    ),
    st.sampled_from(["NaN", "nan", "sNaN", "-NaN", "Infinity", "inf", "-Inf", "+infinity"]),
    st.tuples(digits, digits).map("_".join),
    st.tuples(
        plain_texts, st.sampled_from([" ", "\t", "\n", "\u00a0", "\u2003", "\u3000"])
    ).flatmap(lambda pair: st.sampled_from([pair[1] + pair[0], pair[0] + pair[1]])),
    st.tuples(plain_texts, st.characters(categories=["Nd"]).filter(lambda c: not c.isascii())).map(
        lambda pair: pair[0] + pair[1]
    ),
    st.sampled_from(["", "+", "-", ".5", "5.", "-.5", "1..0", "1.2.3", "--1", "+-1", "1,00"]),
]


@given(st.one_of(NON_PLAIN), st.sampled_from(["USD", "JPY", "KWD", "CLF"]))
@example("1e2", "USD")
@example("\u0661\u0662", "USD")  # Arabic-Indic 12
@example("\uff11", "JPY")  # fullwidth 1
def test_text_that_is_not_plain_decimal_notation_is_refused(text: str, code: str) -> None:
    """Exponents, NaN and infinity, underscores, whitespace, other scripts' digits and
    malformed points or signs raise InvalidAmount, naming the notation expected (or, for
    NaN and infinity, that an amount is finite)."""
    with pytest.raises(InvalidAmount, match=r"plain decimal notation|finite number"):
        Money.of(text, code)


near_misses = st.text(
    st.sampled_from("0123456789+-.eE_ ,") | st.characters(categories=["Nd", "Zs"]), max_size=12
)


@given(near_misses | st.text(max_size=12), st.sampled_from(CODES))
def test_money_text_is_exactly_the_plain_decimal_language(text: str, code: str) -> None:
    """Money.of accepts a text exactly when it is plain decimal notation the currency holds."""
    expected = _accepts(text, code)
    try:
        parsed = Money.of(text, code)
    except InvalidAmount:
        assert expected is None
    else:
        assert parsed.amount == expected


def test_a_decimal_in_exponent_form_is_a_number_not_text() -> None:
    """Decimal("1E+2") is a finite number and makes 100.00; the text "1E+2" is refused."""
    assert Money.of(Decimal("1E+2"), "USD") == Money.of("100.00", "USD")
    with pytest.raises(InvalidAmount, match="exponent"):
        Money.of("1E+2", "USD")


def test_a_refused_amount_text_never_echoes_a_card_number() -> None:
    """A card number written with a space or non-ASCII digits is refused without being repeated."""
    for text in ("4111 1111 1111 1111", "\u0664\u0661\u0661\u0661" * 4, "4111111111111111e0"):
        with pytest.raises(InvalidAmount) as refused:
            Money.of(text, "USD")
        assert "4111" not in str(refused.value)
        assert "\u0664" not in str(refused.value)
