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

    Contract (:class:`~ocop.testing.contracts.JournalContract` checks it):

    - :meth:`post` keeps the voucher whole: :meth:`vouchers` gives back a voucher equal
      to the one posted, every field and line in order, each amount with its digits and
      currency exactly (Decimal, never float), so what it reads back balances (V4).
    - :meth:`post` is idempotent by ``voucher_id`` (rule J3): posting a voucher already
      posted stores nothing new and does not raise. Posting a *different* voucher
      (any field) under an existing id raises
      :class:`~ocop.domain.errors.IdempotencyConflict` naming the id and stores nothing.
    - :meth:`vouchers` gives them in the order they were first posted: all of them, or
      those whose ``order_id`` is exactly the one given (none for an order without).
    - A voucher :meth:`post` returned from is posted: a later :meth:`vouchers` call lists
      it, and a durable journal keeps it across a restart.
    - It is safe to post from several threads at once (and, for a journal shared by
      several processes, from each): posts racing on one voucher id store it once.

    A journal that cannot post raises; the back office then leaves the voucher in its
    outbox for ``recover()``, which posts it again.
    """

    def post(self, voucher: Voucher) -> None:
        """Post ``voucher`` once (J3); see the class's contract."""
        ...

    def vouchers(self, order_id: str | None = None) -> tuple[Voucher, ...]:
        """Every posted voucher, or those of one order, in the order first posted."""
        ...
