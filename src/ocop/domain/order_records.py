"""What an order keeps beside its payment lines: its holds (rule S4), the holds released,
and its invoices. :mod:`ocop.domain.order` exports them with the order."""

from __future__ import annotations

from datetime import datetime

import attrs

from ocop.domain.cardguard import validate_no_card_data
from ocop.domain.money import Money
from ocop.domain.order_kinds import HoldCode

__all__ = ["SYSTEM", "Hold", "Invoice", "ReleasedHold"]


#: Who placed or released a hold when no person did (placement, invoicing, a lapse).
SYSTEM = "system"


@attrs.frozen(kw_only=True)
class Hold:
    """A *do not process* mark on an order (rule S4): who placed it, when and why.

    ``reason`` says why in words; a manual hold also has its ``reason_code`` (one of
    ``settings.hold_reasons``) and a ``note``. ``until``: when a hold that lapses by
    itself (a check hold) ends. Older rows read as placed by :data:`SYSTEM`.
    """

    code: HoldCode
    reason: str = attrs.field(validator=validate_no_card_data)
    placed_at: datetime
    until: datetime | None = None
    placed_by: str = attrs.field(default=SYSTEM, validator=validate_no_card_data)
    reason_code: str | None = attrs.field(default=None, validator=validate_no_card_data)
    note: str = attrs.field(default="", validator=validate_no_card_data)

    def lapsed(self, now: datetime) -> bool:
        return self.until is not None and now >= self.until


@attrs.frozen(kw_only=True)
class ReleasedHold:
    """A hold that no longer counts, kept as history: who released it and when.

    ``override``: released by an actor with the override permission while its cause
    remained (S4). A lapsed check hold is released by :data:`SYSTEM` at its ``until``.
    """

    hold: Hold
    released_by: str = attrs.field(validator=validate_no_card_data)
    released_at: datetime
    override: bool = False

    @property
    def code(self) -> HoldCode:
        return self.hold.code


@attrs.frozen(kw_only=True)
class Invoice:
    """A partial or full billing of an order; its captures name it."""

    invoice_id: str = attrs.field(validator=validate_no_card_data)
    amount: Money
    invoiced_at: datetime
