"""Processor tokens: opaque references that stand for cards and payments.

A processor hands out a *card token* for a card, an *authorization token* for
an authorization, a *capture token* for a capture and a *refund token* for a
refund. Each carries the connector and service account that issued it (rule
I5). Token values are checked by the card guard (T2) and masked in reprs; a
card is shown only as brand and last four digits (T3).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import attrs

from ocop.domain.cardguard import validate_no_card_data
from ocop.domain.edge import MAX_REFERENCE_LENGTH, valid_bool, valid_id
from ocop.domain.errors import (
    AmbiguousInstrument,
    ConnectorMismatch,
    InstrumentNotFound,
    InvalidInput,
)

_LAST4 = re.compile(r"[0-9]{4}")
_EXPIRY = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


def mask(value: str) -> str:
    """A token value for display: its first four characters and its length."""
    return f"{value[:4]}…({len(value)})" if len(value) > 4 else "…"


#: The longest token value or account name ocop accepts from a processor.
MAX_TOKEN_LENGTH = MAX_REFERENCE_LENGTH


def _nonempty(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > MAX_TOKEN_LENGTH
        or not value.isprintable()
    ):
        raise InvalidInput(
            f"{type(instance).__name__}.{attribute.name} must be a non-empty string of at "
            f"most {MAX_TOKEN_LENGTH} printable characters"
        )


def _not_over_long(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    """An over-long text is refused before the card scan, unread, as an id is (scanning,
    and caching, costs per character); :func:`_nonempty` checks the rest after it."""
    if isinstance(value, str) and len(value) > MAX_TOKEN_LENGTH:
        _nonempty(instance, attribute, value)


def _last4(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _LAST4.fullmatch(value):
        raise InvalidInput("last4 must be exactly four digits")


def _expiry(instance: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None and (not isinstance(value, str) or not _EXPIRY.fullmatch(value)):
        raise InvalidInput("expiry must be 'YYYY-MM'")


_TOKEN_VALUE = [_not_over_long, validate_no_card_data, _nonempty]
_ACCOUNT = [_not_over_long, validate_no_card_data, _nonempty]


@attrs.frozen(repr=False)
class ProcessorToken:
    """A reference issued by a processor connector under one service account."""

    value: str = attrs.field(validator=_TOKEN_VALUE)
    connector: str = attrs.field(validator=_ACCOUNT)
    service_account: str = attrs.field(validator=_ACCOUNT)

    def same_account(self, other: ProcessorToken) -> bool:
        return (self.connector, self.service_account) == (other.connector, other.service_account)

    def require_same_account(self, other: ProcessorToken) -> None:
        """Rule I5: capture and refund go through the connector and account that authorized."""
        if not self.same_account(other):
            raise ConnectorMismatch(
                f"{type(other).__name__} from {other.connector}/{other.service_account} cannot be "
                f"used with {type(self).__name__} from {self.connector}/{self.service_account}"
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({mask(self.value)}, {self.connector}/{self.service_account})"


# The card's own fields are keyword-only one by one: a class-level ``kw_only`` reaches the
# inherited fields too before attrs 25.4 and not after, and ``CardToken("tok", "sim", "sa",
# brand=..., last4=...)`` must mean the same under every attrs the package allows.
@attrs.frozen(repr=False)
class CardToken(ProcessorToken):
    """A card as the processor knows it; usable only by the merchant account that got it."""

    brand: str = attrs.field(
        kw_only=True, validator=[_not_over_long, validate_no_card_data, _nonempty]
    )
    last4: str = attrs.field(kw_only=True, validator=_last4)
    expiry: str | None = attrs.field(kw_only=True, default=None, validator=_expiry)
    reusable: bool = attrs.field(kw_only=True, default=True, validator=valid_bool)

    @property
    def display(self) -> str:
        """The only way ocop shows a card (T3): ``"VISA ****1111"``."""
        return f"{self.brand.upper()} ****{self.last4}"

    def expired_on(self, year: int, month: int) -> bool:
        """Whether the card's expiry month is before ``year-month``."""
        if self.expiry is None:
            return False
        # The validator holds ``expiry`` to ``YYYY-MM``.
        return (int(self.expiry[:4]), int(self.expiry[5:])) < (year, month)

    def __repr__(self) -> str:
        account = f"{self.connector}/{self.service_account}"
        return f"CardToken({self.display}, {mask(self.value)}, {account})"


@attrs.frozen(repr=False)
class AuthorizationToken(ProcessorToken):
    """Used to capture, adjust or void an authorization."""


@attrs.frozen(repr=False)
class CaptureToken(ProcessorToken):
    """Used to refund a capture."""


@attrs.frozen(repr=False)
class RefundToken(ProcessorToken):
    """The processor's reference for a refund."""


@attrs.frozen(kw_only=True)
class SavedInstrument:
    """A card a named customer saved with the processor (rule T1)."""

    instrument_id: str = attrs.field(validator=_TOKEN_VALUE)
    #: ocop's customer id (E1: spaces alone are an id too).
    customer_id: str = attrs.field(validator=valid_id)
    card: CardToken

    @property
    def display(self) -> str:
        return self.card.display


def pick_instrument(
    instruments: Iterable[SavedInstrument],
    instrument_id: str,
    customer_id: str | None,
    *,
    not_found: str | None = None,
) -> SavedInstrument:
    """The one instrument of ``customer_id`` with this id (T1): none (or a guest) is
    :class:`InstrumentNotFound` (``not_found`` its message, if given), several (processors
    behind one router that number their instruments alike, I5) :class:`AmbiguousInstrument`,
    so that an id never charges a card it may not mean."""
    mine = [
        i
        for i in instruments
        if customer_id is not None
        and i.instrument_id == instrument_id
        and i.customer_id == customer_id
    ]
    if not mine:
        raise InstrumentNotFound(instrument_id, customer_id or "guest", not_found)
    if len(mine) > 1:
        raise AmbiguousInstrument(instrument_id, customer_id or "guest")
    return mine[0]
