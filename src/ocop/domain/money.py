"""Exact money in ISO 4217 currencies (invariant V7).

An amount is a :class:`~decimal.Decimal` held at exactly its currency's minor
units; floats never enter, and text is read only in plain decimal notation
(``"-12.50"``: no exponent, spaces, underscores or non-ASCII digits). The
currencies and their minor units are ISO's own table, from the ``iso4217``
package. Arithmetic and ordering across currencies raise
:class:`CurrencyMismatch`. Allocation works in integer minor units, so parts
always add up to the whole.

An amount's magnitude is below :data:`MAX_AMOUNT` (10**18 units of its currency: 18
digits before the point); beyond it :class:`InvalidAmount`. ocop's arithmetic never uses
the thread's decimal context (whatever precision, rounding or traps the host program set):
it runs in contexts of its own that hold sums of up to 10**18 such amounts exactly, and
refuse, with :class:`InvalidAmount`, a result they could not hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DecimalException,
    InvalidOperation,
)
from fractions import Fraction
from typing import Self

import attrs

from ocop.domain.currencies import MINOR_UNITS, minor_units
from ocop.domain.errors import CurrencyMismatch, InvalidAmount, InvalidArgument
from ocop.domain.values import setter

__all__ = ["MAX_AMOUNT", "MINOR_UNITS", "Money", "minor_units", "total"]

#: Every amount's magnitude is below this (in units of its currency): 18 digits before the
#: point, so an amount has at most 22 significant digits (four decimal places at most).
MAX_AMOUNT = Decimal(10**18)

#: The context of every sum and difference, whatever the thread's own: 40 digits hold sums
#: of up to 10**18 amounts below MAX_AMOUNT exactly; every signal is trapped, so a result
#: that could not be held (rounded, even without loss) raises instead of being kept.
_EXACT = Context(prec=40, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=list(Context().traps))
#: The context of products and rescaling: wide enough that a product is exact before it is
#: rounded once, to minor units, by the rounding each call names.
_WIDE = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation])
_add = _EXACT.add
_subtract = _EXACT.subtract

#: One minor unit of a currency with so many decimal places: quantize's exponent.
_QUANTUM = {places: Decimal((0, (1,), -places)) for places in range(5)}


def _quantum(places: int) -> Decimal:
    found = _QUANTUM.get(places)
    return Decimal((0, (1,), -places)) if found is None else found


def _too_large(what: str = "") -> InvalidAmount:
    """The error of an amount beyond MAX_AMOUNT, or of ``what`` (a sum) beyond ``_EXACT``."""
    if what:
        return InvalidAmount(f"{what} is too large to hold exactly (more than 40 digits)")
    return InvalidAmount(
        "an amount is too large: amounts are below 10**18 units of their currency "
        "(18 digits before the point)"
    )


def _plain_decimal(text: str) -> Decimal:
    """``text`` as a Decimal if it is plain decimal notation, else InvalidAmount saying why.

    Plain: an optional sign, ASCII digits, and optionally a point followed by ASCII digits.
    The message names what is wrong without repeating the text (it may hold card data).
    """
    digits = text[1:] if text[:1] in ("+", "-") else text
    whole, point, fraction = digits.partition(".")
    if _ascii_digits(whole) and (not point or _ascii_digits(fraction)):
        return Decimal(text)
    if digits.lower() in ("nan", "snan", "inf", "infinity"):
        raise InvalidAmount("an amount must be a finite number")
    raise InvalidAmount(f"amount text must be plain decimal notation such as -12.50; {_flaw(text)}")


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()  # isdigit alone takes "²" and "٣"


def _flaw(text: str) -> str:
    """What keeps ``text`` from being plain decimal notation."""
    lowered = text.lower()
    if not text:
        return "it is empty"
    if any(char.isspace() for char in text):
        return "it has whitespace"
    if not text.isascii():
        return "it has characters outside ASCII (digits of other scripts are refused)"
    if "e" in lowered and not lowered.strip("+-.0123456789e"):
        return "it has an exponent (write 100, not 1e2)"
    if "_" in text:
        return "it has underscores"
    return "it needs ASCII digits, then optionally one point and more digits"


def _exact(value: object, currency: str) -> Decimal:
    """``value`` as a Decimal at the currency's minor units, or an error saying why not."""
    places = minor_units(currency)
    if isinstance(value, str):
        amount = _plain_decimal(value)
    elif isinstance(value, int | Decimal) and not isinstance(value, bool):
        amount = Decimal(value)
    else:
        raise InvalidAmount(
            f"amounts are str, int or Decimal, not {type(value).__name__} "
            "(floats are never exact money)"
        )
    if not amount.is_finite():
        raise InvalidAmount("an amount must be a finite number")
    if amount.copy_abs() >= MAX_AMOUNT:
        raise _too_large()  # not quoted: so many digits may hold a card number
    exact = amount.quantize(_quantum(places), context=_WIDE)
    # Quantizing changes the value only of an amount with more decimal places than allowed.
    if amount != exact:
        raise InvalidAmount(f"{currency} has {places} decimal place(s); {amount} has more")
    return exact.copy_abs() if exact.is_zero() else exact  # no "-0.00"


def _unsigned_zero(value: Decimal) -> Decimal:
    """``value``, a zero without its sign: ``Money(amount=Decimal("-0.00"))`` is 0.00, as
    :meth:`Money.of` makes it (what is not a Decimal is left for the validator to refuse)."""
    if isinstance(value, Decimal) and value.is_zero() and value.is_signed():
        return value.copy_abs()
    return value


def _check_amount(instance: Money, attribute: attrs.Attribute[Decimal], value: Decimal) -> None:
    if (
        not isinstance(value, Decimal)
        or not value.is_finite()
        or value.as_tuple().exponent != -minor_units(instance.currency)
    ):
        raise InvalidAmount(f"{value!r} is not held at {instance.currency}'s minor units")
    if value.copy_abs() >= MAX_AMOUNT:
        raise _too_large()


def _check_currency(instance: Money, attribute: attrs.Attribute[str], value: str) -> None:
    minor_units(value)


@attrs.frozen(order=False, repr=False, kw_only=True)
class Money:
    """An exact amount of one currency. Build it with :meth:`of` or :meth:`zero`.

    The magnitude of an amount given is below :data:`MAX_AMOUNT`, 10**18 units of its
    currency (18 digits before the point); a larger one is :class:`InvalidAmount`. Sums
    and differences are exact whatever decimal context the calling thread set: sums of
    up to 10**18 such amounts; a larger result raises :class:`InvalidAmount`.
    """

    currency: str = attrs.field(validator=_check_currency)
    amount: Decimal = attrs.field(converter=_unsigned_zero, validator=_check_amount)

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str) -> Self:
        """``Money.of("10.00", "USD")``: str, int or Decimal; never float; below
        :data:`MAX_AMOUNT` in magnitude."""
        return cls(currency=currency, amount=_exact(amount, currency))

    @classmethod
    def zero(cls, currency: str) -> Self:
        if cls is Money:
            return _zero_of(currency)  # type: ignore[return-value]  # cls is exactly Money
        minor_units(currency)  # an unknown (or unhashable) code fails here, as UnknownCurrency
        return cls.of(0, currency)

    @classmethod
    def from_minor(cls, units: int, currency: str) -> Self:
        """Money from an integer count of minor units (cents): ``from_minor(150, "USD")``."""
        if isinstance(units, bool) or not isinstance(units, int):
            raise InvalidAmount(f"minor units are an int, not {type(units).__name__}")
        return cls.of(Decimal(units).scaleb(-minor_units(currency), _WIDE), currency)

    @property
    def minor(self) -> int:
        """The amount as an integer count of minor units."""
        return int(self.amount.scaleb(minor_units(self.currency), _WIDE))

    def is_zero(self) -> bool:
        return self.amount == 0

    def is_positive(self) -> bool:
        return self.amount > 0

    def is_negative(self) -> bool:
        return self.amount < 0

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise InvalidArgument(
                f"cannot combine Money with {type(other).__name__}", argument="other"
            )
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency)

    def __add__(self, other: Money) -> Money:
        if other.__class__ is not Money or other.currency != self.currency:
            self._same(other)
        try:
            return _exact_sum(self.currency, _add(self.amount, other.amount))
        except DecimalException:
            raise _too_large("a sum") from None

    def __radd__(self, other: object) -> Money:
        # ``sum(amounts)`` starts from the int 0: say what to use instead of a TypeError.
        raise InvalidArgument(
            f"cannot combine Money with {type(other).__name__}; add amounts with "
            "ocop.domain.money.total(amounts, currency)",
            argument="other",
        )

    def __sub__(self, other: Money) -> Money:
        if other.__class__ is not Money or other.currency != self.currency:
            self._same(other)
        try:
            return _exact_sum(self.currency, _subtract(self.amount, other.amount))
        except DecimalException:
            raise _too_large("a difference") from None

    def __neg__(self) -> Money:
        # copy_negate and copy_abs are exact: no decimal context rounds them.
        amount = self.amount.copy_negate() if self.amount else self.amount.copy_abs()  # no "-0.00"
        return _exact_sum(self.currency, amount)

    def __abs__(self) -> Money:
        return _exact_sum(self.currency, self.amount.copy_abs())

    def __lt__(self, other: Money) -> bool:
        if other.__class__ is not Money or other.currency != self.currency:
            self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        if other.__class__ is not Money or other.currency != self.currency:
            self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        if other.__class__ is not Money or other.currency != self.currency:
            self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        if other.__class__ is not Money or other.currency != self.currency:
            self._same(other)
        return self.amount >= other.amount

    def min(self, other: Money) -> Money:
        return self if self <= other else other

    def max(self, other: Money) -> Money:
        return self if self >= other else other

    def scaled(self, ratio: Decimal | int) -> Money:
        """``self * ratio`` rounded half-up to minor units (for percentage thresholds).

        The product is exact before its one rounding, whatever the thread's decimal context.
        """
        if isinstance(ratio, bool) or not isinstance(ratio, Decimal | int):
            raise InvalidArgument(
                f"a ratio is a Decimal, not {type(ratio).__name__}", argument="ratio"
            )
        if not Decimal(ratio).is_finite():
            raise InvalidArgument("a ratio is a finite number", argument="ratio")
        quantum = _quantum(minor_units(self.currency))
        product = _WIDE.multiply(self.amount, ratio)
        exact = product.quantize(quantum, rounding=ROUND_HALF_UP, context=_WIDE)
        return Money(currency=self.currency, amount=exact if exact else exact.copy_abs())

    def percent(self, percent: Decimal | int) -> Money:
        """``percent`` per cent of this amount, rounded half-up to minor units."""
        if isinstance(percent, bool) or not isinstance(percent, Decimal | int):
            raise InvalidArgument(
                f"a percentage is a Decimal, not {type(percent).__name__}", argument="percent"
            )
        return self.scaled(Decimal(percent).scaleb(-2, _WIDE))

    def allocate(self, weights: Sequence[int | Decimal]) -> tuple[Money, ...]:
        """Split into parts proportional to ``weights`` that add up exactly.

        Largest-remainder method on minor units; ties go to the earlier part.
        """
        if not weights:
            raise InvalidAmount("allocation needs at least one weight")
        if any(isinstance(w, bool) or not isinstance(w, int | Decimal) for w in weights):
            raise InvalidAmount("allocation weights are int or Decimal")
        ws = [Decimal(w) for w in weights]
        if any(not w.is_finite() or w < 0 for w in ws) or all(w.is_zero() for w in ws):
            raise InvalidAmount("allocation weights are finite, non-negative, not all zero")
        total = self.minor
        sign = -1 if total < 0 else 1
        total = abs(total)
        # Exact fractions: rounded quotients would let rounding noise decide equal remainders.
        exact = [Fraction(w) for w in ws]
        whole = sum(exact)
        shares = [total * w / whole for w in exact]
        parts = [int(s) for s in shares]
        order = sorted(range(len(ws)), key=lambda i: (-(shares[i] - parts[i]), i))
        for i in order[: total - sum(parts)]:
            parts[i] += 1
        return tuple(Money.from_minor(sign * p, self.currency) for p in parts)

    def fill(self, caps: Sequence[Money]) -> tuple[tuple[Money, ...], Money]:
        """Pour this amount into ``caps`` in order, each part up to its cap.

        Returns the parts (one per cap, zero where nothing was poured) and what
        did not fit. ``sum(parts) + rest == self`` always holds.
        """
        if self.is_negative():
            raise InvalidAmount("only a non-negative amount can be poured into caps")
        rest = self
        parts: list[Money] = []
        for cap in caps:
            self._same(cap)
            part = rest.min(cap.max(Money.zero(self.currency)))
            parts.append(part)
            rest = rest - part
        return tuple(parts), rest

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    def __repr__(self) -> str:
        return f"Money('{self.amount}', '{self.currency}')"


#: Money's fields, set directly by :func:`_exact_sum`.
_set_currency = setter(Money, "currency")
_set_amount = setter(Money, "amount")
_new = object.__new__


def _exact_sum(currency: str, amount: Decimal) -> Money:
    """Money from the sum or difference of two amounts already exact in ``currency``,
    worked out in ``_EXACT`` (which raises rather than round), or from an exact copy of
    one: the result is exact too (same exponent), so it is built without checking again."""
    money = _new(Money)
    _set_currency(money, currency)
    _set_amount(money, amount)
    return money


#: Zero in each currency asked for (only known currencies get in).
_ZEROS: dict[str, Money] = {}


def _zero_of(currency: str) -> Money:
    """Zero in ``currency``, made once; :class:`UnknownCurrency` for an unknown (or
    unhashable) code."""
    try:
        return _ZEROS[currency]
    except (KeyError, TypeError):
        pass  # not here: the error below must not chain the lookup's (it holds the code)
    minor_units(currency)
    zero = _ZEROS[currency] = Money.of(0, currency)
    return zero


def total(amounts: Iterable[Money], currency: str) -> Money:
    """Sum of ``amounts`` (all in ``currency``); zero for none."""
    result = _zero_of(currency)
    amount = result.amount
    add = _add
    try:
        for money in amounts:
            if money.__class__ is not Money or money.currency != currency:
                if not isinstance(money, Money):
                    raise InvalidArgument(
                        f"cannot combine Money with {type(money).__name__}", argument="amounts"
                    )
                if money.currency != currency:
                    raise CurrencyMismatch(currency, money.currency)
            amount = add(amount, money.amount)
    except DecimalException:
        raise _too_large("a total") from None
    return _exact_sum(currency, amount) if amount != result.amount else result
