"""Payments a channel takes when an order is placed (the channel side of C1)."""

from __future__ import annotations

import attrs

from ocop.domain.cardguard import validate_no_card_data
from ocop.domain.money import Money
from ocop.domain.tokens import CardToken


@attrs.frozen
class CardPayment:
    """A card paid through the processor's acceptance page: its card token and amount."""

    card: CardToken
    amount: Money


@attrs.frozen
class SavedCardPayment:
    """A customer's saved instrument with the CVV they just typed (List PI flow, T1).

    The CVV is passed to the processor once and is not part of the repr,
    equality or anything stored.
    """

    instrument_id: str = attrs.field(validator=validate_no_card_data)
    cvv: str = attrs.field(repr=False, eq=False)
    amount: Money


@attrs.frozen
class Prepayment:
    """Cash, check, customer account, gift card ... received when the order is placed."""

    method: str
    amount: Money
    check_number: str | None = attrs.field(default=None, validator=validate_no_card_data)


ChannelPayment = CardPayment | SavedCardPayment | Prepayment
