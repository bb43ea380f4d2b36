"""What kind of order it is and where it stands: its channel, its payments type (fixed
at creation, rule P2), its status and the codes of its holds (S4)."""

from __future__ import annotations

from ocop.domain.enums import Members

__all__ = ["Channel", "HoldCode", "OrderStatus", "PaymentsType"]


class Channel(Members):
    """The channel that created an order: call center, point of sale (POS) or e-commerce."""

    CALL_CENTER = "call_center"
    POS = "pos"
    ECOMMERCE = "ecommerce"


class PaymentsType(Members):
    """How an order's payments are managed, fixed when it is created (rule P2)."""

    CALL_CENTER = "call_center"
    COMMERCE = "commerce"
    LEGACY = "legacy"
    NONE = "none"

    @classmethod
    def at_creation(
        cls, channel: Channel, *, ocop_on: bool, by_call_center_user: bool = True
    ) -> PaymentsType:
        if channel is Channel.CALL_CENTER:
            return cls.CALL_CENTER if by_call_center_user else cls.NONE
        return cls.COMMERCE if ocop_on else cls.LEGACY


class OrderStatus(Members):
    """Where an order stands (``order.status``, ``bo.orders(status=...)``): waiting for
    completion, approved, on hold (an active hold, S3), invoiced in part or in full, or
    cancelled (a cancelled order's status stays cancelled, holds or not)."""

    PENDING_COMPLETION = "pending_completion"
    APPROVED = "approved"
    ON_HOLD = "on_hold"
    PARTIALLY_INVOICED = "partially_invoiced"
    INVOICED = "invoiced"
    CANCELLED = "cancelled"


class HoldCode(Members):
    """Why an order is held (S4): out of balance, a declined payment, a check, the credit
    limit, an authorization that could not be renewed (A1), or a manual hold placed with
    ``bo.place_hold``, the only code placed by hand."""

    OUT_OF_BALANCE = "out_of_balance"
    PAYMENT_DECLINED = "payment_declined"
    CHECK = "check"
    CREDIT_LIMIT = "credit_limit"
    AUTHORIZATION_EXPIRED = "authorization_expired"
    MANUAL = "manual"
