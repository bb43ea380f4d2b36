"""The operation-log part of the OrderStore contract (:class:`~ocop.ports.store.OperationLog`:
intents logged together, outcomes settled); :class:`~ocop.testing.contracts.OrderStoreContract`
runs it."""

from __future__ import annotations

from datetime import timedelta

import attrs

from ocop.domain.errors import ConcurrentUpdate, IdempotencyConflict
from ocop.domain.operations import Operation, Outcome
from ocop.ports.store import OrderStore
from ocop.testing._processor_hooks import START
from ocop.testing._store_samples import StoreSamples, raises_at_step_or_commit

_MINUTE = timedelta(minutes=1)


class LogContract(StoreSamples):
    """Intents logged without reading, read back by attempt; outcomes settled once."""

    def test_intents_logged_together_read_back_by_attempt(self, store: OrderStore) -> None:
        """record_intents logs new intents: attempts lists a step's first attempt first,
        for_order the order's in the order logged, with what the unit staged; a key
        logged already with the same request stays as logged, and with another request
        fails the unit (IdempotencyConflict, at once or at commit), storing none of its
        intents (O4)."""
        # Logged a minute apart, in the order logged: in_doubt is oldest first, and the
        # port leaves the order of intents recorded at the same instant to the store.
        first = self.intent("capture/INV-1")
        other = attrs.evolve(self.intent("capture/INV-2"), recorded_at=START + _MINUTE)
        second = Operation.intent("SO-1", first.step, 2, START + 2 * _MINUTE)
        with store.unit_of_work() as uow:
            uow.operations.record_intents((first,))
            uow.commit()
        with store.unit_of_work() as uow:
            uow.operations.record_intents((other, second, first))
            assert uow.operations.attempts("SO-1", first.name) == (first, second)
            assert [op.key for op in uow.operations.in_doubt("SO-1")] == [
                first.key, other.key, second.key
            ]  # fmt: skip
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.operations.attempts("SO-1", first.name) == (first, second)
            assert uow.operations.for_order("SO-1") == (first, other, second)
        fresh, rival = self.intent("capture/INV-3"), self.intent("capture/INV-1", "11.00")
        with store.unit_of_work() as uow:
            raises_at_step_or_commit(
                IdempotencyConflict,
                lambda: uow.operations.record_intents((fresh, rival)),
                uow.commit,
            )
        with store.unit_of_work() as uow:
            assert uow.operations.get(fresh.key) is None
            assert uow.operations.get(first.key) == first

    def test_settle_stores_an_outcome_still_awaited(self, store: OrderStore) -> None:
        """settle stores the outcome of an operation still without a definitive one, in
        doubt or accepted pending (N1); once another unit settled it, the commit raises
        ConcurrentUpdate and stores nothing, so an outcome applies once (O2)."""
        pending, doubtful = self.intent("capture/INV-1"), self.intent("capture/INV-2")
        self.logged(store, pending, doubtful)
        with store.unit_of_work() as uow:
            uow.operations.record_outcome(
                pending.key, self.result(pending.key, Outcome.PENDING), START
            )
            uow.commit()
        for op in (pending, doubtful):
            with store.unit_of_work() as uow:
                stored = uow.operations.get(op.key)
                assert stored is not None
                uow.operations.settle(stored.resolved(self.result(op.key, Outcome.APPROVED), START))
                uow.commit()
        with store.unit_of_work() as uow:
            assert [uow.operations.get(op.key) for op in (pending, doubtful)] == [
                op.resolved(self.result(op.key, Outcome.APPROVED), START)
                for op in (pending, doubtful)
            ]
        late = self.intent("capture/INV-3")
        self.logged(store, late)
        with store.unit_of_work() as first, store.unit_of_work() as second:
            declined = late.resolved(self.result(late.key, Outcome.DECLINED), START)
            first.operations.settle(late.resolved(self.result(late.key, Outcome.APPROVED), START))
            first.commit()
            raises_at_step_or_commit(
                ConcurrentUpdate, lambda: second.operations.settle(declined), second.commit
            )
        with store.unit_of_work() as uow:
            settled = uow.operations.get(late.key)
        assert settled is not None
        assert settled.outcome is Outcome.APPROVED
