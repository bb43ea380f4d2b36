"""The payment journal port: where vouchers go (the host's ledger)."""

from __future__ import annotations

from typing import Protocol

from ocop.domain.journal import Voucher

__all__ = [
    "PaymentJournal",
    "Voucher",
]


class PaymentJournal(Protocol):
    """A ledger of payment and refund vouchers.

    Contract: :meth:`post` is idempotent by ``voucher_id`` (rule J3): posting a
    voucher already posted stores nothing new and does not raise. Posting a
    *different* voucher under an existing id raises
    :class:`~ocop.domain.errors.IdempotencyConflict`. Vouchers come back in
    the order they were first posted.
    """

    def post(self, voucher: Voucher) -> None: ...

    def vouchers(self, order_id: str | None = None) -> tuple[Voucher, ...]:
        """Every posted voucher, or those of one order."""
        ...
