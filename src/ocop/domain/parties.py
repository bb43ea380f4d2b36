"""Who orders and who acts: customers and back-office actors."""

from __future__ import annotations

from typing import Self

import attrs

from ocop.domain.cardguard import validate_no_card_data
from ocop.domain.errors import InvalidInput
from ocop.domain.money import Money

#: Permission to refund to a card other than the one that paid (rule R4).
ALTERNATE_PAYMENT = "alternate_payment"
#: Permission to release an out-of-balance hold while out of balance (rule S4).
HOLD_OVERRIDE = "hold_override"


@attrs.frozen(kw_only=True)
class Customer:
    """A named customer (with an optional on-account credit limit) or a guest."""

    customer_id: str | None = attrs.field(validator=validate_no_card_data)
    on_account_limit: Money | None = None

    def __attrs_post_init__(self) -> None:
        if self.customer_id is not None and not self.customer_id.strip():
            raise InvalidInput("a named customer needs a non-empty id")
        if self.customer_id is None and self.on_account_limit is not None:
            raise InvalidInput("a guest has no customer account")
        if self.on_account_limit is not None and self.on_account_limit.is_negative():
            raise InvalidInput("an on-account limit is not negative")

    @classmethod
    def named(cls, customer_id: str, on_account_limit: Money | None = None) -> Self:
        return cls(customer_id=customer_id, on_account_limit=on_account_limit)

    @classmethod
    def guest(cls) -> Self:
        return cls(customer_id=None)

    @property
    def is_guest(self) -> bool:
        return self.customer_id is None


@attrs.frozen(kw_only=True)
class Actor:
    """Someone acting in the back office."""

    actor_id: str = attrs.field(validator=validate_no_card_data)
    call_center_user: bool
    channel: str | None = attrs.field(default=None, validator=validate_no_card_data)
    permissions: frozenset[str] = frozenset()

    @classmethod
    def call_center(
        cls, actor_id: str, channel: str = "CC-1", permissions: frozenset[str] = frozenset()
    ) -> Self:
        return cls(
            actor_id=actor_id,
            call_center_user=True,
            channel=channel,
            permissions=frozenset(permissions),
        )

    @classmethod
    def user(cls, actor_id: str) -> Self:
        """A back-office user who is not a call center user."""
        return cls(actor_id=actor_id, call_center_user=False)

    def may(self, permission: str) -> bool:
        return permission in self.permissions
