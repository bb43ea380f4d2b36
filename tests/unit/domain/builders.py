"""Builders of domain values for the domain unit tests: money, tokens, lines and orders.

Every value is built through the public constructors of ``ocop``; where a test needs a
state no transition reaches (a voided authorization still partly open, an inactive line
that holds money), it builds the record directly, as a store would load it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ocop import (
    Authorization,
    AuthorizationToken,
    Capture,
    CaptureToken,
    CardToken,
    Channel,
    Customer,
    Money,
    Order,
    PaymentLine,
    PaymentMethod,
    PaymentsType,
    Refund,
)

AT = datetime(2026, 1, 1, tzinfo=UTC)
CARD = CardToken(value="tok_1", connector="sim", service_account="sa-1", brand="visa", last4="1111")
OTHER_CARD = CardToken(
    value="tok_2", connector="sim", service_account="sa-1", brand="mc", last4="4444"
)
CUSTOMER = Customer.named("C-1")


def usd(amount: str | int) -> Money:
    """US dollars: ``usd("12.50")``."""
    return Money.of(amount, "USD")


def eur(amount: str | int) -> Money:
    """Euros: ``eur("12.50")``."""
    return Money.of(amount, "EUR")


def zero() -> Money:
    """Zero US dollars."""
    return Money.zero("USD")


def auth(
    auth_id: str,
    amount: Money,
    *,
    multi: bool = True,
    captured: Money | None = None,
    voided: Money | None = None,
    at: datetime = AT,
) -> Authorization:
    """An authorization of ``amount`` (unused unless ``captured`` or ``voided`` say otherwise)."""
    nothing = Money.zero(amount.currency)
    return Authorization(
        auth_id=auth_id,
        token=AuthorizationToken(f"tok_{auth_id}", "sim", "sa-1"),
        amount=amount,
        authorized_at=at,
        multi_capture=multi,
        captured=nothing if captured is None else captured,
        voided=nothing if voided is None else voided,
    )


def capture(
    capture_id: str,
    amount: Money,
    auth_id: str | None = "A1",
    *,
    line_id: str = "L1",
    invoice_id: str | None = None,
) -> Capture:
    """A capture of ``amount`` on ``auth_id`` (None: a prepayment application)."""
    return Capture(
        capture_id=capture_id,
        line_id=line_id,
        invoice_id=f"INV-{capture_id}" if invoice_id is None else invoice_id,
        amount=amount,
        auth_id=auth_id,
        token=None if auth_id is None else CaptureToken(f"tok_{capture_id}", "sim", "sa-1"),
        refunded=Money.zero(amount.currency),
        captured_at=AT,
    )


def refund(refund_id: str, amount: Money, capture_id: str | None = "C1") -> Refund:
    """A refund of ``amount`` against ``capture_id`` (None: a prepayment's or an unlinked one)."""
    return Refund(
        refund_id=refund_id,
        return_id="RMA-1",
        amount=amount,
        capture_id=capture_id,
        refunded_at=AT,
    )


def card_line(amount: str = "100.00", line_id: str = "L1") -> PaymentLine:
    """A new card line of ``amount`` dollars."""
    return PaymentLine.card_line(line_id, CARD, usd(amount))


def authorized_line(
    amount: str = "100.00", *, auth_amount: str | None = None, multi: bool = True
) -> PaymentLine:
    """A card line L1 authorized (A1) for ``auth_amount`` (default: the line's amount)."""
    granted = usd(amount if auth_amount is None else auth_amount)
    return card_line(amount).authorized_with(auth("A1", granted, multi=multi))


def cash_line(amount: str = "50.00", line_id: str = "P1") -> PaymentLine:
    """A cash prepayment line, not posted yet."""
    return PaymentLine.prepayment_line(line_id, PaymentMethod.CASH, usd(amount))


def order(
    total: str = "100.00",
    *lines: PaymentLine,
    order_id: str = "SO-1",
    channel: Channel = Channel.ECOMMERCE,
) -> Order:
    """An e-commerce order of ``total`` dollars holding ``lines``."""
    opened = Order.open(
        order_id,
        channel=channel,
        payments_type=PaymentsType.COMMERCE,
        customer=CUSTOMER,
        total=usd(total),
        placed_at=AT,
    )
    for line in lines:
        opened = opened.with_line(line)
    return opened
