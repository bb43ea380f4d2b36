"""Customers and back-office actors: what makes them valid, and what they may do."""

from __future__ import annotations

import pytest

from ocop import Actor, CardNumberRefused, Customer, InvalidInput, Money
from ocop.domain.parties import ALTERNATE_PAYMENT, HOLD_OVERRIDE

from .builders import usd, zero


def test_a_named_customer_keeps_its_id_and_limit() -> None:
    """Customer.named records the id and the on-account limit; it is not a guest."""
    customer = Customer.named("C-1", on_account_limit=usd("500.00"))
    assert (customer.customer_id, customer.on_account_limit) == ("C-1", usd("500.00"))
    assert not customer.is_guest
    assert Customer.named("C-2").on_account_limit is None


def test_a_guest_has_no_id_and_no_account() -> None:
    """Customer.guest is a guest without an id or a limit."""
    guest = Customer.guest()
    assert guest.is_guest
    assert (guest.customer_id, guest.on_account_limit) == (None, None)


@pytest.mark.parametrize(
    ("customer_id", "message"),
    [
        ("", "Customer.customer_id must be 1 to 128 printable characters"),
        ("\t", "Customer.customer_id must be 1 to 128 printable characters"),
        ("x" * 129, "Customer.customer_id must be 1 to 128 printable characters"),
    ],
)
def test_a_named_customer_needs_a_non_empty_id(customer_id: str, message: str) -> None:
    """An empty, unprintable or too long customer id is refused by the edge (E1)."""
    with pytest.raises(InvalidInput) as caught:
        Customer.named(customer_id)
    assert str(caught.value) == message


@pytest.mark.parametrize("customer_id", [" ", "   ", " C-1 "])
def test_a_customer_id_of_spaces_is_an_id_like_any_other(customer_id: str) -> None:
    """E1: 1 to 128 printable characters, and a space is printable, as for order, invoice,
    return and actor ids (a customer id of spaces alone was refused by a rule of its own)."""
    customer = Customer.named(customer_id)
    assert (customer.customer_id, customer.is_guest) == (customer_id, False)


def test_a_guest_has_no_customer_account() -> None:
    """A guest with an on-account limit is refused."""
    with pytest.raises(InvalidInput) as caught:
        Customer(customer_id=None, on_account_limit=usd("10.00"))
    assert str(caught.value) == "a guest has no customer account"


def test_an_on_account_limit_may_be_zero_but_not_negative() -> None:
    """A zero limit is valid; one cent below zero is refused."""
    assert Customer.named("C-1", zero()).on_account_limit == zero()
    with pytest.raises(InvalidInput) as caught:
        Customer.named("C-1", Money.of("-0.01", "USD"))
    assert str(caught.value) == "an on-account limit is not negative"


def test_a_customer_id_is_never_a_card_number() -> None:
    """T2: a card number as customer id is refused, naming the field only."""
    with pytest.raises(CardNumberRefused) as caught:
        Customer.named("4111111111111111")
    assert caught.value.field == "Customer.customer_id"


def test_a_call_center_actor_has_a_channel_and_permissions() -> None:
    """Actor.call_center is a call center user on CC-1 unless told otherwise."""
    agent = Actor.call_center("agent-1")
    assert (agent.actor_id, agent.call_center_user, agent.channel, agent.permissions) == (
        "agent-1",
        True,
        "CC-1",
        frozenset(),
    )
    boss = Actor.call_center("agent-2", "CC-7", frozenset({HOLD_OVERRIDE}))
    assert boss.channel == "CC-7"
    assert boss.may(HOLD_OVERRIDE)
    assert not boss.may(ALTERNATE_PAYMENT)
    assert not agent.may(HOLD_OVERRIDE)


def test_a_back_office_user_is_not_a_call_center_user() -> None:
    """Actor.user has no channel and no permissions."""
    user = Actor.user("u-1")
    assert (user.actor_id, user.call_center_user, user.channel, user.permissions) == (
        "u-1",
        False,
        None,
        frozenset(),
    )


def test_permission_names_are_the_documented_ones() -> None:
    """R4 and S4 permissions are named alternate_payment and hold_override."""
    assert (ALTERNATE_PAYMENT, HOLD_OVERRIDE) == ("alternate_payment", "hold_override")


def test_an_actor_id_is_never_a_card_number() -> None:
    """T2: a card number as actor id is refused, naming the field only."""
    with pytest.raises(CardNumberRefused) as caught:
        Actor.user("4111111111111111")
    assert caught.value.field == "Actor.actor_id"
