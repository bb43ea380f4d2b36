"""The OrderStore contract suite; import it from :mod:`ocop.testing.contracts`."""

from __future__ import annotations

import abc
from datetime import timedelta

import attrs
import pytest

from ocop.domain.errors import (
    ConcurrentUpdate,
    DuplicateOrder,
    IdempotencyConflict,
    OrderNotFound,
)
from ocop.domain.money import Money
from ocop.domain.operations import Outcome
from ocop.domain.order import Hold, HoldCode, OrderStatus
from ocop.domain.queries import OrderQuery, keys_of, matches
from ocop.ports.journal import PaymentJournal
from ocop.ports.store import OrderStore
from ocop.testing._claims_contract import ClaimsContract
from ocop.testing._log_contract import LogContract
from ocop.testing._processor_hooks import START
from ocop.testing._reference_contract import ReferenceContract
from ocop.testing._review_contract import ReviewContract
from ocop.testing._store_samples import raises_at_step_or_commit, usd
from ocop.testing._threads_contract import ThreadsContract


class OrderStoreContract(
    LogContract, ThreadsContract, ClaimsContract, ReviewContract, ReferenceContract, abc.ABC
):
    """What every :class:`~ocop.ports.store.OrderStore` guarantees (O1, O4, O5), claims
    (:class:`~ocop.testing._claims_contract.ClaimsContract`) and the notifications kept
    for review (:class:`~ocop.testing._review_contract.ReviewContract`) included, and,
    for an operation log that has it, finding operations by reference
    (:class:`~ocop.testing._reference_contract.ReferenceContract`); the suite of a
    durable store overrides :meth:`reopen_store`."""

    @abc.abstractmethod
    def make_store(self) -> OrderStore:
        """A fresh, empty store."""

    @pytest.fixture
    def store(self) -> OrderStore:
        return self.make_store()

    # -- orders --------------------------------------------------------------------------
    def test_rolls_back_uncommitted_work_by_default(self, store: OrderStore) -> None:
        """Work not committed, or explicitly rolled back, stores nothing."""
        with store.unit_of_work() as uow:
            uow.orders.add(self.order())
            uow.operations.record_intent(self.intent("capture/INV-1"))
            uow.outbox.add(self.voucher("V-1"))
        with store.unit_of_work() as uow:
            uow.orders.add(self.order("SO-2"))
            uow.rollback()
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.orders.find("SO-1") is None
            assert uow.orders.ids() == ()
            assert uow.operations.get(self.intent("capture/INV-1").key) is None
            assert uow.outbox.pending() == ()
            with pytest.raises(OrderNotFound):
                uow.orders.get("SO-1")

    def test_added_order_round_trips(self, store: OrderStore) -> None:
        """An added, committed order reads back equal, and updates store the next version."""
        order = self.order()
        got = self.stored(store, order)
        assert attrs.evolve(got, version=order.version) == order
        with store.unit_of_work() as uow:
            assert uow.orders.ids() == ("SO-1",)
            uow.orders.update(got.with_total(Money.of("120.00", "USD")))
            uow.commit()
        with store.unit_of_work() as uow:
            again = uow.orders.get("SO-1")
        assert again.version == got.version + 1
        assert again.total == Money.of("120.00", "USD")

    def test_order_added_and_updated_in_one_unit_is_stored_once(self, store: OrderStore) -> None:
        """An order updated in the unit of work that added it commits as one new order."""
        with store.unit_of_work() as uow:
            uow.orders.add(self.order())
            uow.orders.update(uow.orders.get("SO-1").with_total(usd("130.00")))
            assert uow.orders.get("SO-1").total == usd("130.00")
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.orders.ids() == ("SO-1",)
            assert uow.orders.get("SO-1").total == usd("130.00")

    def test_commit_returns_what_it_stored(self, store: OrderStore) -> None:
        """commit returns each order it added, updated or touched as now stored, and the
        vouchers this unit added for the journal (none when the store keeps it), never
        older ones still waiting in the outbox."""
        keeps = getattr(store, "keeps_journal", False)
        first, second = self.voucher("V-1"), self.voucher("V-2")
        with store.unit_of_work() as uow:
            uow.orders.add(self.order())
            uow.outbox.add(first)
            added = uow.commit()
        with store.unit_of_work() as uow:
            stored = uow.orders.get("SO-1")
            assert added.orders == {"SO-1": stored}
            assert added.vouchers == (() if keeps else (first,))
            uow.orders.update(stored.with_total(usd("120.00")))
            uow.outbox.add(second)
            updated = uow.commit()
        with store.unit_of_work() as uow:
            again = uow.orders.get("SO-1")
            assert updated.orders == {"SO-1": again}
            assert updated.vouchers == (() if keeps else (second,))
            uow.orders.touch(again)
            touched = uow.commit()
        assert touched.orders["SO-1"] == attrs.evolve(again, version=again.version + 1)
        assert touched.vouchers == ()

    def test_duplicate_order_id_is_refused(self, store: OrderStore) -> None:
        """Adding an order whose id is taken raises DuplicateOrder, even from rival units."""
        self.stored(store, self.order())
        with store.unit_of_work() as uow, pytest.raises(DuplicateOrder):
            uow.orders.add(self.order())
        with store.unit_of_work() as first, store.unit_of_work() as second:
            first.orders.add(self.order("SO-2"))
            second.orders.add(self.order("SO-2"))
            first.commit()
            with pytest.raises(DuplicateOrder):
                second.commit()

    def test_concurrent_update_of_one_version_loses(self, store: OrderStore) -> None:
        """Of two units updating the same version, the second gets ConcurrentUpdate (O5)."""
        self.stored(store, self.order())
        with store.unit_of_work() as first, store.unit_of_work() as second:
            mine, theirs = first.orders.get("SO-1"), second.orders.get("SO-1")
            first.orders.update(mine.with_total(Money.of("110.00", "USD")))
            first.commit()
            raises_at_step_or_commit(
                ConcurrentUpdate,
                lambda: second.orders.update(theirs.with_total(Money.of("999.00", "USD"))),
                second.commit,
            )
        with store.unit_of_work() as uow:
            assert uow.orders.get("SO-1").total == Money.of("110.00", "USD")

    def test_touch_claims_the_next_version_and_keeps_the_order(self, store: OrderStore) -> None:
        """touch() moves the version as update() does, stores nothing else, and a rival
        update of the version it claimed loses (O5)."""
        got = self.stored(store, self.order())
        with store.unit_of_work() as first, store.unit_of_work() as second:
            first.orders.touch(got)
            first.commit()
            raises_at_step_or_commit(
                ConcurrentUpdate,
                lambda: second.orders.update(got.with_total(Money.of("999.00", "USD"))),
                second.commit,
            )
        with store.unit_of_work() as uow:
            again = uow.orders.get("SO-1")
        assert again.version == got.version + 1
        assert attrs.evolve(again, version=got.version) == got

    # -- queries -------------------------------------------------------------------------
    def listed(self, store: OrderStore, query: OrderQuery, at: timedelta) -> tuple[str, ...]:
        """What ``query`` lists at ``START + at``."""
        with store.unit_of_work() as uow:
            return uow.orders.query(query, START + at)

    def test_query_follows_a_lapsing_hold_and_the_status(self, store: OrderStore) -> None:
        """The sample order (a check hold for five days, half invoiced) is on hold until its
        hold's end, then partially invoiced, with no write in between."""
        self.stored(store, self.order())
        day = timedelta(days=1)
        held, invoiced = OrderStatus.ON_HOLD, OrderStatus.PARTIALLY_INVOICED
        assert self.listed(store, OrderQuery(), 0 * day) == ("SO-1",)
        assert self.listed(
            store, OrderQuery(on_hold=True), 5 * day - timedelta(microseconds=1)
        ) == ("SO-1",)
        assert self.listed(store, OrderQuery(status=held), 4 * day) == ("SO-1",)
        assert self.listed(store, OrderQuery(status=invoiced), 4 * day) == ()
        assert self.listed(store, OrderQuery(on_hold=True), 5 * day) == ()
        assert self.listed(store, OrderQuery(on_hold=False), 5 * day) == ("SO-1",)
        assert self.listed(store, OrderQuery(status=held), 5 * day) == ()
        assert self.listed(store, OrderQuery(status=invoiced), 5 * day) == ("SO-1",)

    def test_query_keys_follow_each_update(self, store: OrderStore) -> None:
        """An update changes what the order is listed by in the same commit: its hold
        released, its open authorization voided, then cancelled."""
        got = self.stored(store, self.order())
        opened = OrderQuery(authorized_before=START + timedelta(seconds=1))
        assert self.listed(store, opened, timedelta(0)) == ("SO-1",)
        assert self.listed(store, OrderQuery(authorized_before=START), timedelta(0)) == ()
        with store.unit_of_work() as uow:
            line = got.line("L1").voided_auth("A1")
            uow.orders.update(got.without_hold(HoldCode.CHECK).with_line(line))
            uow.commit()
        assert self.listed(store, OrderQuery(on_hold=True), timedelta(0)) == ()
        assert self.listed(store, opened, timedelta(0)) == ()
        with store.unit_of_work() as uow:
            uow.orders.update(uow.orders.get("SO-1").cancel())
            uow.commit()
        cancelled = OrderQuery(status=OrderStatus.CANCELLED)
        assert self.listed(store, cancelled, timedelta(0)) == ("SO-1",)

    def test_query_lists_no_cancelled_order_on_hold(self, store: OrderStore) -> None:
        """A cancelled order keeps its holds on record, a manual one and a check hold that
        has not lapsed, yet is not on hold (S4, X1): nothing can release them, nothing is
        left to stop. It is listed by ``on_hold=False`` and its status, CANCELLED."""
        manual = Hold(code=HoldCode.MANUAL, reason="fraud", placed_at=START, reason_code="FRAUD")
        got = self.stored(store, self.order().with_hold(manual))
        assert self.listed(store, OrderQuery(on_hold=True), timedelta(0)) == ("SO-1",)
        with store.unit_of_work() as uow:
            uow.orders.update(got.cancel())
            uow.commit()
        assert self.listed(store, OrderQuery(on_hold=True), timedelta(0)) == ()
        assert self.listed(store, OrderQuery(on_hold=False), timedelta(0)) == ("SO-1",)
        assert self.listed(store, OrderQuery(status=OrderStatus.ON_HOLD), timedelta(0)) == ()
        cancelled = OrderQuery(status=OrderStatus.CANCELLED)
        assert self.listed(store, cancelled, timedelta(0)) == ("SO-1",)

    def test_query_lists_orders_waiting_for_completion_held_or_not(self, store: OrderStore) -> None:
        """``needs_completion``: the orders waiting for completion, whatever their holds
        (the sample order is held, its status ON_HOLD), and not once it is completed."""
        got = self.stored(store, self.order())
        self.stored(store, self.order("SO-2"))
        waiting = OrderQuery(needs_completion=True)
        assert self.listed(store, waiting, timedelta(0)) == ()
        with store.unit_of_work() as uow:
            uow.orders.update(got.pending_completion())
            uow.commit()
        assert self.listed(store, waiting, timedelta(0)) == ("SO-1",)
        assert self.listed(store, OrderQuery(needs_completion=False), timedelta(0)) == ("SO-2",)
        held = OrderQuery(needs_completion=True, status=OrderStatus.ON_HOLD)
        assert self.listed(store, held, timedelta(0)) == ("SO-1",)
        pending = OrderQuery(status=OrderStatus.PENDING_COMPLETION)
        assert self.listed(store, pending, timedelta(0)) == ()  # held: its status is ON_HOLD

    def test_query_lists_orders_with_operations_in_doubt(self, store: OrderStore) -> None:
        """An order is in doubt while one of its operations has no definitive outcome."""
        self.stored(store, self.order())
        self.stored(store, self.order("SO-2"))
        op = self.intent("capture/INV-1", order_id="SO-2")
        self.logged(store, op)
        assert self.listed(store, OrderQuery(in_doubt=True), timedelta(0)) == ("SO-2",)
        assert self.listed(store, OrderQuery(in_doubt=False), timedelta(0)) == ("SO-1",)
        with store.unit_of_work() as uow:
            uow.operations.record_outcome(op.key, self.result(op.key, Outcome.APPROVED), START)
            uow.commit()
        assert self.listed(store, OrderQuery(in_doubt=True), timedelta(0)) == ()

    def test_query_pages_in_the_order_orders_were_added(self, store: OrderStore) -> None:
        """limit and after page through the answer in insertion order; an unknown after
        is OrderNotFound."""
        ids = ("SO-3", "SO-1", "SO-2", "SO-5", "SO-4")
        for order_id in ids:
            self.stored(store, self.order(order_id))
        assert self.listed(store, OrderQuery(), timedelta(0)) == ids
        assert self.listed(store, OrderQuery(limit=2), timedelta(0)) == ids[:2]
        assert self.listed(store, OrderQuery(limit=2, after="SO-1"), timedelta(0)) == ids[2:4]
        page = OrderQuery(on_hold=True, limit=10, after="SO-5")
        assert self.listed(store, page, timedelta(0)) == ("SO-4",)
        with pytest.raises(OrderNotFound):
            self.listed(store, OrderQuery(after="SO-404"), timedelta(0))

    def test_query_lists_orders_the_renewal_job_has_work_on(self, store: OrderStore) -> None:
        """renew_before lists the orders whose renewal work starts before it: at once for a
        renewal under way or a cancelled order's open authorization, from its oldest open
        authorization otherwise, never for nothing open; as :func:`matches` says."""
        first = self.stored(store, self.order("SO-1"))  # open since START
        second = self.stored(store, self.order("SO-2"))
        voided = self.stored(store, self.order("SO-3"))
        with store.unit_of_work() as uow:
            uow.orders.update(second.with_line(second.line("L1").renewal(under_way=True)))
            uow.orders.update(voided.with_line(voided.line("L1").voided_auth("A1")))
            uow.commit()
        tick = timedelta(microseconds=1)
        assert self.listed(store, OrderQuery(renew_before=START), 0 * tick) == ("SO-2",)
        assert self.listed(store, OrderQuery(renew_before=START + tick), 0 * tick) == (
            "SO-1", "SO-2",
        )  # fmt: skip
        page = OrderQuery(renew_before=START + tick, after="SO-1", on_hold=True, limit=1)
        assert self.listed(store, page, 0 * tick) == ("SO-2",)
        with store.unit_of_work() as uow:
            uow.orders.update(first.cancel())
            again = uow.orders.get("SO-2")
            uow.orders.update(again.with_line(again.line("L1").renewal(under_way=False)))
            uow.commit()
        assert self.listed(store, OrderQuery(renew_before=START), 0 * tick) == ("SO-1",)
        for moment in (START - tick, START, START + tick, START + timedelta(days=9)):
            query = OrderQuery(renew_before=moment)
            with store.unit_of_work() as uow:
                keys = [(i, keys_of(uow.orders.get(i))) for i in uow.orders.ids()]
            expected = tuple(i for i, key in keys if matches(key, False, query, START))
            assert self.listed(store, query, timedelta(0)) == expected

    # -- the operation log ---------------------------------------------------------------
    def test_operation_key_is_unique(self, store: OrderStore) -> None:
        """The same intent again is a no-op; another request under its key is a conflict."""
        first = self.intent("capture/INV-1")
        self.logged(store, first)
        replay = attrs.evolve(first, recorded_at=START + timedelta(hours=1))
        self.logged(store, replay)
        with store.unit_of_work() as uow:
            assert uow.operations.get(first.key) == first
            other = self.intent("capture/INV-1", amount="10.01")
            raises_at_step_or_commit(
                IdempotencyConflict, lambda: uow.operations.record_intent(other), uow.commit
            )
        with store.unit_of_work() as uow:
            assert uow.operations.get(first.key) == first
            assert uow.operations.for_order("SO-1") == (first,)

    def test_rival_intents_under_one_key_conflict(self, store: OrderStore) -> None:
        """Two units logging different requests under one key: the second fails (O4, O5)."""
        with store.unit_of_work() as first, store.unit_of_work() as second:
            first.operations.record_intent(self.intent("capture/INV-1"))
            second.operations.record_intent(self.intent("capture/INV-1", amount="99.00"))
            first.commit()
            with pytest.raises(IdempotencyConflict):
                second.commit()
        with store.unit_of_work() as uow:
            assert uow.operations.get(self.intent("capture/INV-1").key) == self.intent(
                "capture/INV-1"
            )

    def test_definitive_outcome_is_visible_and_never_replaced(self, store: OrderStore) -> None:
        """An outcome committed after its intent reads back; a definitive one stays (O1, O4)."""
        op = self.intent("capture/INV-1")
        self.logged(store, op)
        for outcome in (Outcome.UNKNOWN, Outcome.APPROVED, Outcome.DECLINED):
            with store.unit_of_work() as uow:
                uow.operations.record_outcome(op.key, self.result(op.key, outcome), START)
                uow.commit()
        with store.unit_of_work() as uow:
            stored = uow.operations.get(op.key)
        assert stored is not None
        assert stored.outcome is Outcome.APPROVED
        assert stored.result == self.result(op.key, Outcome.APPROVED)
        assert stored.request == op.request

    def test_in_doubt_lists_operations_without_a_definitive_outcome(
        self, store: OrderStore
    ) -> None:
        """Intents without outcome and UNKNOWN ones are in doubt, oldest first (O2)."""
        ops = [
            attrs.evolve(self.intent(f"capture/INV-{n}"), recorded_at=START + timedelta(minutes=n))
            for n in range(5)
        ]
        self.logged(store, *ops)
        outcomes = (None, Outcome.UNKNOWN, Outcome.APPROVED, Outcome.DECLINED, Outcome.NOT_RECEIVED)
        with store.unit_of_work() as uow:
            for op, outcome in zip(ops, outcomes, strict=True):
                if outcome is not None:
                    uow.operations.record_outcome(op.key, self.result(op.key, outcome), START)
            uow.commit()
        later = self.intent("capture/INV-X", order_id="SO-2")
        self.logged(store, attrs.evolve(later, recorded_at=START + timedelta(hours=1)))
        with store.unit_of_work() as uow:
            in_doubt = [op.key for op in uow.operations.in_doubt()]
            mine = [op.key for op in uow.operations.for_order("SO-1")]
        assert in_doubt == [
            ops[0].key,
            ops[1].key,
            self.intent("capture/INV-X", order_id="SO-2").key,
        ]
        assert mine == [op.key for op in ops]

    # -- the voucher outbox --------------------------------------------------------------
    def test_outbox_is_idempotent_until_posted(self, store: OrderStore) -> None:
        """Vouchers are added once by id, even after they were posted, and leave pending
        only when marked posted, with a commit; marking an unknown id does nothing. A store
        that keeps the journal writes them to it as it commits, each once."""
        one, two = self.voucher("V-1"), self.voucher("V-2")
        with store.unit_of_work() as uow:
            for voucher in (one, two, one):
                uow.outbox.add(voucher)
            assert uow.outbox.pending() == (one, two)
            uow.commit()
        if getattr(store, "keeps_journal", False):
            journal: PaymentJournal = getattr(store, "journal")  # noqa: B009 - not in the port
            with store.unit_of_work() as uow:
                assert uow.outbox.pending() == ()
                uow.outbox.add(one)
                uow.commit()
            assert journal.vouchers() == (one, two)
            return
        with store.unit_of_work() as uow:
            uow.outbox.add(one)
            uow.outbox.mark_posted("V-1")
            assert uow.outbox.pending() == (two,)
        with store.unit_of_work() as uow:
            assert uow.outbox.pending() == (one, two)
            uow.outbox.mark_posted("V-1")
            uow.outbox.mark_posted("V-404")
            uow.commit()
        with store.unit_of_work() as uow:
            uow.outbox.add(one)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.outbox.pending() == (two,)
