"""Saved payment instruments (rule T1, the List PI flow)."""

from __future__ import annotations

from ocop.domain.errors import FeatureDisabled, InvalidInput, PermissionDenied
from ocop.domain.parties import Customer
from ocop.domain.tokens import CardToken, SavedInstrument
from ocop.ports import Ports
from ocop.services._gates import require_same_account


def save_instrument(
    ports: Ports, customer: Customer, card: CardToken, *, consent: bool
) -> SavedInstrument:
    """Save a card for a named customer who consented, where the setting allows it; a card
    past its expiry month is refused, and a card (token and expiry) the customer saved
    already gives the instrument they have."""
    if not ports.settings.allow_saving_payment_information:
        raise FeatureDisabled(
            "saving payment information is not allowed by the settings",
            feature="allow_saving_payment_information",
        )
    if customer.customer_id is None:
        raise PermissionDenied(
            "guests cannot save a card", actor_id="guest", action="save payment instrument"
        )
    if consent is not True:
        raise InvalidInput("a card is saved only with the customer's consent")
    if not card.reusable:
        raise InvalidInput("this card token is single-use and cannot be saved")
    now = ports.clock.now()
    if card.expired_on(now.year, now.month):
        # Every later payment with it would be declined (T3: the expiry is not shown).
        raise InvalidInput("this card has expired and cannot be saved")
    require_same_account(card, ports.processor.capabilities)
    # The card saved already is the instrument the customer has: saving it again adds no
    # second entry of the same brand and last four digits that nobody could tell apart. The
    # same token with another expiry is the card renewed: the instrument saved with the old
    # expiry is not it (once that month has ended every payment with it is declined). Only
    # the customer's own is given back, whatever else the processor lists (as paying checks).
    for held in ports.processor.instruments(customer.customer_id):
        same = held.card.value == card.value and held.card.expiry == card.expiry
        if same and held.customer_id == customer.customer_id and held.card.same_account(card):
            return held
    return ports.processor.save_instrument(customer.customer_id, card)


def saved_instruments(ports: Ports, customer: Customer) -> tuple[SavedInstrument, ...]:
    """The customer's own instruments; a guest has none."""
    if customer.customer_id is None:
        return ()
    return ports.processor.instruments(customer.customer_id)
