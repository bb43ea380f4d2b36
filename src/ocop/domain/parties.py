"""Who orders and who acts: customers and back-office actors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Self

import attrs

from ocop.domain.edge import check_id, valid_bool, valid_id, valid_optional_id, valid_optional_money
from ocop.domain.errors import InvalidArgument, InvalidInput
from ocop.domain.money import Money

#: Permission to refund to a card other than the one that paid (rule R4).
ALTERNATE_PAYMENT = "alternate_payment"
#: Permission to release a hold while its cause remains (rule S4): out of balance, beyond
#: the credit limit, a declined line still there, an expired authorization not renewed, a
#: check hold before its days have passed.
HOLD_OVERRIDE = "hold_override"
#: Permission to take a deposit other than the default percent of the total (rule D1).
DEPOSIT_OVERRIDE = "deposit_override"


@attrs.frozen(kw_only=True)
class Customer:
    """A named customer (with an optional on-account credit limit) or a guest.

    A named customer's id is an id like any other (E1): 1 to 128 printable characters,
    spaces alone included.
    """

    customer_id: str | None = attrs.field(validator=valid_optional_id)
    on_account_limit: Money | None = attrs.field(default=None, validator=valid_optional_money)

    def __attrs_post_init__(self) -> None:
        if self.customer_id is None and self.on_account_limit is not None:
            raise InvalidInput("a guest has no customer account")
        if self.on_account_limit is not None and self.on_account_limit.is_negative():
            raise InvalidInput("an on-account limit is not negative")

    @classmethod
    def named(cls, customer_id: str, on_account_limit: Money | None = None) -> Self:
        return cls(customer_id=check_id(customer_id, "Customer.customer_id"),
                   on_account_limit=on_account_limit)  # fmt: skip

    @classmethod
    def guest(cls) -> Self:
        return cls(customer_id=None)

    @property
    def is_guest(self) -> bool:
        return self.customer_id is None


def _permissions(value: object) -> frozenset[str]:
    """A set of permission names; a lone string is refused, not iterated (E1)."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidArgument(
            "permissions must be a set of permission names, not a single string",
            argument="permissions",
        )
    return frozenset(check_id(name, "permissions") for name in value)


@attrs.frozen(kw_only=True)
class Actor:
    """Someone acting in the back office."""

    actor_id: str = attrs.field(validator=valid_id)
    call_center_user: bool = attrs.field(validator=valid_bool)
    channel: str | None = attrs.field(default=None, validator=valid_optional_id)
    permissions: frozenset[str] = attrs.field(default=frozenset(), converter=_permissions)

    @classmethod
    def call_center(
        cls, actor_id: str, channel: str = "CC-1", permissions: frozenset[str] = frozenset()
    ) -> Self:
        return cls(
            actor_id=actor_id,
            call_center_user=True,
            channel=channel,
            permissions=permissions,
        )

    @classmethod
    def user(cls, actor_id: str) -> Self:
        """A back-office user who is not a call center user."""
        return cls(actor_id=actor_id, call_center_user=False)

    def may(self, permission: str) -> bool:
        return permission in self.permissions
