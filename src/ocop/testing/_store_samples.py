"""The sample values and helpers of :class:`~ocop.testing.contracts.OrderStoreContract`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from ocop.domain import steps
from ocop.domain.journal import Voucher
from ocop.domain.money import Money
from ocop.domain.operations import Operation, Outcome, ProcessorResult
from ocop.domain.order import Channel, Hold, HoldCode, Invoice, Order, PaymentsType
from ocop.domain.parties import Customer
from ocop.domain.tender import Authorization, Capture, PaymentLine, PaymentMethod
from ocop.domain.tokens import AuthorizationToken, CaptureToken, CardToken
from ocop.ports.store import OrderStore
from ocop.testing._processor_hooks import START


def raises_at_step_or_commit(
    error: type[Exception], step: Callable[[], object], commit: Callable[[], object]
) -> None:
    """Assert that ``error`` comes from ``step`` or, failing that, from ``commit``."""
    try:
        step()
    except error:
        return
    with pytest.raises(error):
        commit()


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


class StoreSamples:
    """Sample orders, operations and vouchers, and how the contract stores them."""

    def order(self, order_id: str = "SO-1") -> Order:
        """An order with a captured card line, a posted prepayment, an invoice and a hold."""
        card = CardToken(
            value="tok_store",
            connector="sim",
            service_account="sa-1",
            brand="visa",
            last4="4242",
            expiry="2030-12",
        )
        auth = Authorization(
            auth_id="A1",
            token=AuthorizationToken("auth_1", "sim", "sa-1"),
            amount=usd("80.00"),
            authorized_at=START,
            multi_capture=True,
            captured=usd("0"),
            voided=usd("0"),
        )
        capture = Capture(
            capture_id="C1",
            line_id="L1",
            invoice_id="INV-1",
            amount=usd("50.00"),
            auth_id="A1",
            token=CaptureToken("cap_1", "sim", "sa-1"),
            refunded=usd("0"),
            captured_at=START,
        )
        card_line = PaymentLine.card_line("L1", card, usd("80.00")).authorized_with(auth)
        cash = PaymentLine.prepayment_line(
            "L2", PaymentMethod.CHECK, usd("20.00"), check_number="1001"
        )
        order = Order.open(
            order_id,
            channel=Channel.CALL_CENTER,
            payments_type=PaymentsType.CALL_CENTER,
            customer=Customer.named("C-1", on_account_limit=usd("500.00")),
            total=usd("100.00"),
            placed_at=START,
        )
        hold = Hold(
            code=HoldCode.CHECK,
            reason="check over threshold",
            placed_at=START,
            until=START + timedelta(days=5),
        )
        return (
            order.with_line(card_line.captured_with(capture))
            .with_line(cash.posted())
            .with_invoice(Invoice(invoice_id="INV-1", amount=usd("50.00"), invoiced_at=START))
            .with_hold(hold)
        )

    def intent(self, key_step: str, amount: str = "10.00", order_id: str = "SO-1") -> Operation:
        """A capture intent of ``order_id`` whose key derives from ``key_step``."""
        capture = steps.Capture(invoice_id=key_step, line_id="L1", auth_id="A1",
                                amount=Money.of(amount, "USD"), target="auth_1")  # fmt: skip
        return Operation.intent(order_id, capture, 1, START)

    def result(self, key: str, outcome: Outcome) -> ProcessorResult:
        approved = outcome is Outcome.APPROVED
        return ProcessorResult(
            key=key,
            outcome=outcome,
            amount=Money.of("10.00", "USD") if approved else None,
            token=CaptureToken("cap_9", "sim", "sa-1") if approved else None,
        )

    def voucher(self, voucher_id: str) -> Voucher:
        return Voucher.receipt(
            voucher_id=voucher_id,
            journal_name="Payments",
            order_id="SO-1",
            reference=voucher_id,
            method="card",
            amount=Money.of("10.00", "USD"),
            at=START,
        )

    def stored(self, store: OrderStore, order: Order) -> Order:
        """Add ``order`` in its own committed unit of work and read it back."""
        with store.unit_of_work() as uow:
            uow.orders.add(order)
            uow.commit()
        with store.unit_of_work() as uow:
            return uow.orders.get(order.order_id)

    def logged(self, store: OrderStore, *operations: Operation) -> None:
        with store.unit_of_work() as uow:
            for operation in operations:
                uow.operations.record_intent(operation)
            uow.commit()
