"""Payments a channel takes when an order is placed (the channel side of C1)."""

from __future__ import annotations

import attrs

from ocop.domain.cardguard import validate_cvv
from ocop.domain.edge import instance_of, valid_id, valid_money, valid_optional_text
from ocop.domain.money import Money
from ocop.domain.tokens import CardToken


@attrs.frozen
class CardPayment:
    """A card paid through the processor's acceptance page: its card token and amount."""

    card: CardToken = attrs.field(validator=instance_of(CardToken))
    amount: Money = attrs.field(validator=valid_money)


@attrs.frozen
class SavedCardPayment:
    """A customer's saved instrument with the CVV they just typed (List PI flow, T1).

    The CVV is passed to the processor once and is not part of the repr,
    equality or anything stored. One that is not 3 or 4 ASCII digits is refused
    here (:class:`~ocop.domain.errors.InvalidCvv`), before any order is placed.
    """

    instrument_id: str = attrs.field(validator=valid_id)
    cvv: str = attrs.field(repr=False, eq=False, validator=validate_cvv)
    amount: Money = attrs.field(validator=valid_money)


@attrs.frozen
class Prepayment:
    """Cash, check, customer account, gift card ... received when the order is placed."""

    method: str = attrs.field(validator=valid_id)
    amount: Money = attrs.field(validator=valid_money)
    check_number: str | None = attrs.field(default=None, validator=valid_optional_text)


ChannelPayment = CardPayment | SavedCardPayment | Prepayment
