"""The currencies ocop's money is in: ISO 4217's active codes and their minor units (V7).

The table is ISO's own, from the ``iso4217`` package, read on the first lookup (``import
ocop`` stays light). :mod:`ocop.domain.money` re-exports :data:`MINOR_UNITS` and
:func:`minor_units`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping

from ocop.domain.errors import UnknownCurrency

#: The table once read: the fast path of :func:`minor_units` (a miss asks the table itself).
_KNOWN: dict[str, int] = {}


#: Codes withdrawn from ISO 4217 while orders taken in them may still be open or refunded:
#: a currency that joins the euro leaves the active table on the day of the change, and a
#: back office still refunds what it took the day before. They keep their minor units.
_WITHDRAWN = {"HRK": 2, "BGN": 2}  # Croatia 2023-01-01, Bulgaria 2026-01-01


# The table comes from the ``iso4217`` package, which ships ISO's own list of active codes:
# parsing it costs about as much as importing attrs, so it is read on the first lookup.
@functools.cache
def _iso4217() -> tuple[dict[str, int], frozenset[str]]:
    """ISO 4217's active codes with their minor units, and the codes it gives none ("N.A.")."""
    import iso4217  # noqa: PLC0415 - read on first use: ``import ocop`` stays light

    table = {currency.code: currency.exponent for currency in iso4217.Currency}
    units = {code: places for code, places in table.items() if places is not None}
    units = {**_WITHDRAWN, **units}
    _KNOWN.update(units)
    return units, frozenset(code for code, places in table.items() if places is None)


class _MinorUnits(Mapping[str, int]):
    """A read-only view of the ISO 4217 table, read when first looked into."""

    __slots__ = ()

    def __getitem__(self, code: str) -> int:
        return _iso4217()[0][code]

    def __iter__(self) -> Iterator[str]:
        return iter(_iso4217()[0])

    def __len__(self) -> int:
        return len(_iso4217()[0])

    def __repr__(self) -> str:
        return f"<ISO 4217 minor units of {len(self)} currencies>"


#: The currencies ocop accepts (every active ISO 4217 code that has minor units, funds codes
#: such as CLF and UYW included), each with its minor units (decimal places).
MINOR_UNITS: Mapping[str, int] = _MinorUnits()


def minor_units(currency: str) -> int:
    """Decimal places of ``currency``; :class:`UnknownCurrency` if ocop does not know it.

    ocop knows every active ISO 4217 code with minor units. Codes ISO gives none (gold
    ``XAU``, the SDR ``XDR``, ``XXX`` …) are units of account, not money to pay in: refused.
    """
    try:
        return _KNOWN[currency]
    except (KeyError, TypeError):
        pass
    units, unitless = _iso4217()
    if isinstance(currency, str) and currency in units:  # the first lookup, before _KNOWN is filled
        return units[currency]
    if isinstance(currency, str) and currency in unitless:
        raise UnknownCurrency(currency, why="ISO 4217 gives it no minor units: no money to pay in")
    raise UnknownCurrency(str(currency))
