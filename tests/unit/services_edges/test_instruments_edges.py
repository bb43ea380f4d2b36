"""Saving cards (T1): who may, when the settings allow it, and which tokens."""

from __future__ import annotations

import attrs
import pytest

from ocop import (
    BackOffice,
    CardToken,
    ConnectorMismatch,
    Customer,
    FeatureDisabled,
    InvalidInput,
    PermissionDenied,
    SavedInstrument,
    Settings,
)
from worlds import CUSTOMER, World, card, new_world

NO_SAVING = Settings.default().with_policies(allow_saving_payment_information=False)


def test_saving_a_card_is_refused_when_the_settings_disallow_it() -> None:
    """With saving payment information disallowed, nothing is saved and the feature is named."""
    world = new_world(NO_SAVING)
    with pytest.raises(FeatureDisabled) as caught:
        world.bo.save_instrument(CUSTOMER, card(), consent=True)
    assert caught.value.feature == "allow_saving_payment_information"
    assert world.bo.saved_instruments(CUSTOMER) == ()


def test_the_disallowing_setting_is_checked_before_the_customer() -> None:
    """A guest asking while saving is disallowed is told the feature is off."""
    world = new_world(NO_SAVING)
    with pytest.raises(FeatureDisabled) as caught:
        world.bo.save_instrument(Customer.guest(), card(), consent=True)
    assert caught.value.feature == "allow_saving_payment_information"


def test_a_guest_cannot_save_a_card() -> None:
    """T1: a guest is denied, as actor "guest" for the save payment instrument action."""
    world = new_world()
    with pytest.raises(PermissionDenied) as caught:
        world.bo.save_instrument(Customer.guest(), card(), consent=True)
    assert (caught.value.actor_id, caught.value.action) == ("guest", "save payment instrument")
    assert world.bo.saved_instruments(Customer.guest()) == ()


@pytest.mark.parametrize(
    ("consent", "message"),
    [
        (False, "a card is saved only with the customer's consent"),
        (1, "consent must be True or False, not int"),
        ("yes", "consent must be True or False, not str"),
    ],
)
def test_a_card_is_saved_only_with_consent_given_as_true(consent: object, message: str) -> None:
    """Consent must be exactly True; False or a truthy non-bool (E1) saves nothing."""
    world = new_world()
    with pytest.raises(InvalidInput) as caught:
        world.bo.save_instrument(CUSTOMER, card(), consent=consent)  # type: ignore[arg-type]
    assert str(caught.value) == message
    assert world.bo.saved_instruments(CUSTOMER) == ()


def test_a_single_use_token_cannot_be_saved() -> None:
    """A non-reusable card token is refused before the processor is asked."""
    world = new_world()
    with pytest.raises(InvalidInput) as caught:
        world.bo.save_instrument(CUSTOMER, card(reusable=False), consent=True)
    assert str(caught.value) == "this card token is single-use and cannot be saved"
    assert world.bo.saved_instruments(CUSTOMER) == ()


def test_a_token_of_another_connector_cannot_be_saved() -> None:
    """I5: a card tokenized by another connector/account is refused."""
    world = new_world()
    foreign = CardToken(
        value="tok_f",
        connector="other",
        service_account="sa-9",
        brand="visa",
        last4="2222",
        expiry="2030-12",
    )
    with pytest.raises(ConnectorMismatch):
        world.bo.save_instrument(CUSTOMER, foreign, consent=True)
    assert world.bo.saved_instruments(CUSTOMER) == ()


def test_each_customer_sees_only_their_own_instruments_and_a_guest_none() -> None:
    """T1: instruments are listed per customer; a guest has none."""
    world = new_world()
    mine = world.bo.save_instrument(CUSTOMER, card("tok_a"), consent=True)
    theirs = world.bo.save_instrument(Customer.named("C-2"), card("tok_b"), consent=True)
    assert world.bo.saved_instruments(CUSTOMER) == (mine,)
    assert world.bo.saved_instruments(Customer.named("C-2")) == (theirs,)
    assert world.bo.saved_instruments(Customer.guest()) == ()
    assert (mine.instrument_id, mine.customer_id, mine.card) == ("PI-1", "C-1", card("tok_a"))


def test_saving_a_card_the_customer_saved_already_gives_the_instrument_they_have() -> None:
    """T1: the same card token saved twice for a customer is one instrument, not two
    entries "VISA ****1111" the customer cannot tell apart; another customer's save of
    it is theirs."""
    world = new_world()
    first = world.bo.save_instrument(CUSTOMER, card("tok_a"), consent=True)
    again = world.bo.save_instrument(CUSTOMER, card("tok_a"), consent=True)
    other = world.bo.save_instrument(CUSTOMER, card("tok_b", "4444"), consent=True)
    theirs = world.bo.save_instrument(Customer.named("C-2"), card("tok_a"), consent=True)
    assert again == first
    assert world.bo.saved_instruments(CUSTOMER) == (first, other)
    assert world.bo.saved_instruments(Customer.named("C-2")) == (theirs,)


def test_a_card_past_its_expiry_month_cannot_be_saved() -> None:
    """T1: a card whose expiry month has ended (2025-12, on 2026-01-01) is refused before
    the processor is asked, with a message that shows neither the card nor its expiry; one
    expiring this month is saved."""
    world = new_world()
    expired = attrs.evolve(card("tok_x", "0002"), expiry="2025-12")
    with pytest.raises(InvalidInput) as caught:
        world.bo.save_instrument(CUSTOMER, expired, consent=True)
    assert str(caught.value) == "this card has expired and cannot be saved"
    assert world.bo.saved_instruments(CUSTOMER) == ()
    current = attrs.evolve(card("tok_y", "0003"), expiry="2026-01")
    assert world.bo.save_instrument(CUSTOMER, current, consent=True).card == current


def test_a_renewed_card_saved_again_is_saved_not_the_expired_instrument() -> None:
    """T1: the same card token saved again with a later expiry (the card was renewed; the
    one saved has expired since) is a new instrument that pays, not the expired one, with
    which every payment is declined; the same token with the same expiry is still the one
    instrument the customer has."""
    world = new_world()
    old = world.bo.save_instrument(CUSTOMER, attrs.evolve(card(), expiry="2026-01"), consent=True)
    world.clock.advance(days=40)  # 2026-02-10: the saved one expired
    renewed = attrs.evolve(card(), expiry="2029-01")
    saved = world.bo.save_instrument(CUSTOMER, renewed, consent=True)
    assert saved.card == renewed
    assert saved.instrument_id != old.instrument_id
    assert world.bo.save_instrument(CUSTOMER, renewed, consent=True) == saved


class _ListingEveryones:
    """A processor whose ``instruments`` lists every customer's saved cards (an adapter
    that reads them by a shared shopper reference)."""

    def __init__(self, world: World) -> None:
        self._sim = world.sim
        self.saved: list[SavedInstrument] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self._sim, name)

    def save_instrument(self, customer_id: str, card: CardToken) -> SavedInstrument:
        instrument = self._sim.save_instrument(customer_id, card)
        self.saved.append(instrument)
        return instrument

    def instruments(self, customer_id: str) -> tuple[SavedInstrument, ...]:
        return tuple(self.saved)


def test_saving_a_card_another_customer_saved_never_gives_their_instrument() -> None:
    """T1: the instrument a save gives back as the one the customer has is theirs, even
    where the processor lists another customer's with it (as paying with one checks)."""
    world = new_world()
    processor = _ListingEveryones(world)
    bo = BackOffice.in_memory(processor=processor, clock=world.clock)  # type: ignore[arg-type]
    theirs = bo.save_instrument(Customer.named("C-2"), card("tok_a"), consent=True)
    mine = bo.save_instrument(CUSTOMER, card("tok_a"), consent=True)
    assert (mine.customer_id, theirs.customer_id) == ("C-1", "C-2")
    assert mine.instrument_id != theirs.instrument_id
