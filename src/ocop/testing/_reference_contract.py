"""The by-reference part of the OrderStore contract
(:class:`~ocop.ports.store.OperationsByReference`, optional);
:class:`~ocop.testing.contracts.OrderStoreContract` runs it on a store whose operation log
has ``by_reference``, and skips it, saying so, on one without."""

from __future__ import annotations

from typing import cast

import pytest

from ocop.domain import steps
from ocop.domain.money import Money
from ocop.domain.operations import Operation, Outcome, ProcessorResult
from ocop.domain.tokens import CaptureToken
from ocop.ports.store import OperationsByReference, OrderStore, UnitOfWork
from ocop.testing._processor_hooks import START


def _log(uow: UnitOfWork) -> OperationsByReference:
    """The unit's operation log, as one that finds by reference; the test is skipped for
    a log without (it is optional)."""
    log = uow.operations
    if not callable(getattr(log, "by_reference", None)):
        pytest.skip("this store's operation log does not find operations by reference")
    return cast(OperationsByReference, log)


def _intent(n: int) -> Operation:
    capture = steps.Capture(invoice_id=f"INV-{n}", line_id="L1", auth_id="A1",
                            amount=Money.of("10.00", "USD"), target="auth_1")  # fmt: skip
    return Operation.intent("SO-1", capture, 1, START)


def _logged(store: OrderStore, *operations: Operation) -> None:
    with store.unit_of_work() as uow:
        uow.operations.record_intents(operations)
        uow.commit()


def _answer(key: str, outcome: Outcome, reference: str) -> ProcessorResult:
    return ProcessorResult(key=key, outcome=outcome, amount=Money.of("10.00", "USD"),
                           token=CaptureToken(reference, "sim", "sa-1"))  # fmt: skip


class ReferenceContract:
    """Operations found by the processor's reference their answer carried: once each,
    with what the unit of work staged, none for an operation with no answer yet ."""

    def test_operations_are_found_by_their_answers_reference(self, store: OrderStore) -> None:
        """An approved and a pending answer's token values find their operations, the
        pending one still once it is approved; an intent without an answer, "" and an
        unknown reference find nothing; two answers with one value are both found (in
        no promised order)."""
        approved, pending, waiting, twin = (_intent(n) for n in range(4))
        _logged(store, approved, pending, waiting, twin)
        with store.unit_of_work() as uow:
            log = _log(uow)
            for op, outcome, value in ((approved, Outcome.APPROVED, "cap_A"),
                                       (pending, Outcome.PENDING, "cap_P"),
                                       (twin, Outcome.APPROVED, "cap_A")):  # fmt: skip
                uow.operations.record_outcome(op.key, _answer(op.key, outcome, value), START)
            uow.commit()
        with store.unit_of_work() as uow:
            log = _log(uow)
            assert {op.key for op in log.by_reference("cap_A")} == {approved.key, twin.key}
            (found,) = log.by_reference("cap_P")
            assert (found.key, found.outcome, found.reference) == (
                pending.key, Outcome.PENDING, "cap_P")  # fmt: skip
            assert log.by_reference("") == log.by_reference("cap_404") == ()
            settled = found.resolved(_answer(pending.key, Outcome.APPROVED, "cap_P"), START)
            uow.operations.settle(settled)
            uow.commit()
        with store.unit_of_work() as uow:
            assert _log(uow).by_reference("cap_P") == (settled,)
            assert len(_log(uow).by_reference("cap_A")) == 2

    def test_by_reference_sees_what_the_unit_of_work_staged(self, store: OrderStore) -> None:
        """An answer recorded in the unit of work is found in it, and nowhere once it is
        rolled back; an intent logged with its answer is found once committed."""
        waiting = _intent(1)
        _logged(store, waiting)
        with store.unit_of_work() as uow:
            uow.operations.record_outcome(
                waiting.key, _answer(waiting.key, Outcome.APPROVED, "cap_S"), START
            )
            assert [op.key for op in _log(uow).by_reference("cap_S")] == [waiting.key]
        with store.unit_of_work() as uow:
            assert _log(uow).by_reference("cap_S") == ()
            intent = _intent(2)
            answered = intent.resolved(_answer(intent.key, Outcome.APPROVED, "cap_T"), START)
            uow.operations.record_intent(answered)
            assert _log(uow).by_reference("cap_T") == (answered,)
            uow.commit()
        with store.unit_of_work() as uow:
            assert _log(uow).by_reference("cap_T") == (answered,)
