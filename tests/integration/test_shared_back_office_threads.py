"""One back office shared by a threaded host's threads (O5): every call of every thread
goes through the same ``BackOffice`` object (``BackOffice.in_memory``, ``.sqlite`` on a
file, ``.postgres``), as a threaded web server holds it. Threads acting on one order at
once move each amount at the processor once, and the order, its journal and the
processor's ledger agree (V2-V6); threads on distinct orders never meet. Every error a
thread sees is ocop's own."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from ocop import Actor, BackOffice, CardPayment, Channel, Customer, Money, OcopError
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain.journal import VoucherKind, net_amounts
from pg_support import private_schema
from worlds import START, card, usd

AGENT = Actor.call_center("agent-1", permissions=frozenset({"alternate_payment"}))
KINDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextmanager
def shared_office(kind: str, folder: Path) -> Iterator[tuple[BackOffice, SimulatedProcessor]]:
    """One back office from the public factory of ``kind``, over a simulator and a clock."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    if kind == "memory":
        yield BackOffice.in_memory(processor=sim, clock=clock), sim
        return
    with private_schema() as dsn:
        bo = (
            BackOffice.sqlite(folder / "ocop.db", processor=sim, clock=clock)
            if kind == "sqlite"
            else BackOffice.postgres(dsn, processor=sim, clock=clock, schema=None)
        )
        try:
            yield bo, sim
        finally:
            bo.ports.store.close()  # type: ignore[attr-defined]


def race(calls: Sequence[Callable[[], object]]) -> list[object]:
    """Run the calls in threads released at once; each one's result or ocop error. Any
    other error fails the test."""
    start = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)
    strays: list[BaseException] = []

    def work(index: int) -> None:
        start.wait()
        try:
            outcomes[index] = calls[index]()
        except OcopError as refused:
            outcomes[index] = refused
        except BaseException as stray:  # noqa: BLE001 - reported below
            strays.append(stray)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)  # no deadlock
    assert strays == []
    return outcomes


def assert_books(bo: BackOffice, sim: SimulatedProcessor, order_ids: list[str]) -> None:
    """V6: one movement per key; V5: the order's captures and refunds are the ledger's;
    V2, V3; V4: the journal adds up to receipts and refunds, each voucher balanced."""
    ledger = sim.ledger()
    keys = [entry.key for entry in ledger]
    assert len(keys) == len(set(keys))
    for order_id in order_ids:
        order = bo.order(order_id)
        zero = Money.zero(order.currency)
        mine = [e for e in ledger if e.key.startswith(f"{order_id}/")]
        captures = {c.capture_id: c.amount for ln in order.lines for c in ln.captures
                    if ln.is_card and not c.pending}  # fmt: skip
        assert captures == {e.key: e.amount for e in mine if e.kind == "capture"}
        refunds = {r.refund_id: r.amount for ln in order.lines for r in ln.refunds if not r.pending}
        refunds.update((r.refund_id, r.amount) for r in order.other_refunds if r.token is not None)
        assert refunds == {e.key: e.amount for e in mine if "refund" in e.kind}
        for line in order.lines:
            assert all(c.refunded <= c.amount for c in line.captures)
            for auth in line.authorizations:
                assert sim.authorization_open(auth.token.value) == auth.open_amount
        assert order.refunded + order.refunding <= order.received
        assert order.invoiced <= order.total
        vouchers = bo.journal(order_id)
        net = net_amounts(vouchers, order.currency)
        assert (net[VoucherKind.PAYMENT], net[VoucherKind.REFUND]) == (
            order.received,
            order.refunded,
        )
        for voucher in vouchers:
            debits = sum((line.debit for line in voucher.lines), zero)
            credits = sum((line.credit for line in voucher.lines), zero)
            assert debits == credits == voucher.amount


@pytest.mark.parametrize("kind", KINDS)
def test_threads_on_one_order_move_each_amount_once(kind: str, tmp_path: Path) -> None:
    """O5, I4, R5, N2: on one order at once, threads invoice one invoice and rival ones
    while others recover and renew; then refund one return and rival ones, refund to
    another card, and handle the same notifications of pending calls. Each amount moves
    once, the books agree, and nothing is left in doubt."""
    with shared_office(kind, tmp_path) as (bo, sim):
        paid = [CardPayment(card(), usd("100.00"))]
        bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                       total=usd("100.00"), payments=paid)  # fmt: skip
        race([
            *[lambda: bo.invoice("SO-1", "INV-1", usd("40.00"))] * 3,
            *[lambda n=n: bo.invoice("SO-1", f"INV-{n}", usd("30.00")) for n in (2, 3, 4)],
            bo.recover, bo.renew_authorizations,
        ])  # fmt: skip
        assert bo.order("SO-1").invoiced <= usd("100.00")
        sim.script("refund", "pending", "pending")
        race([
            *[lambda: bo.refund("SO-1", "RMA-1", usd("30.00"), AGENT)] * 3,
            *[lambda n=n: bo.refund("SO-1", f"RMA-{n}", usd("20.00"), AGENT) for n in (2, 3)],
            lambda: bo.refund_to_card("SO-1", "RMA-9", card("tok_9"), usd("5.00"), AGENT),
        ])  # fmt: skip
        notes = sim.settle_pending("approve")
        handlers: list[Callable[[], object]] = [
            lambda n=n: bo.handle_notification(n)  # type: ignore[misc]
            for n in notes
            for _ in range(3)
        ]
        handled = race(handlers)
        assert sum(1 for h in handled if getattr(h, "applied", False)) == len(notes)
        assert bo.orders(in_doubt=True) == ()
        assert_books(bo, sim, ["SO-1"])


@pytest.mark.parametrize("kind", KINDS)
def test_threads_on_distinct_orders_never_meet(kind: str, tmp_path: Path) -> None:
    """O5: threads each placing, invoicing, refunding and cancelling an order of their own
    see no error at all (no conflict, no busy database), and lose no voucher."""
    with shared_office(kind, tmp_path) as (bo, sim):

        def life(n: int) -> object:
            order_id = f"SO-{n}"
            bo.place_order(order_id, channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                           total=usd("100.00"),
                           payments=[CardPayment(card(f"tok_{n}"), usd("100.00"))])  # fmt: skip
            bo.invoice(order_id, "INV-1", usd("60.00"))
            bo.refund(order_id, "RMA-1", usd("50.00"), AGENT)
            return bo.cancel_order(order_id, AGENT)

        lives: list[Callable[[], object]] = [lambda n=n: life(n) for n in range(6)]  # type: ignore[misc]
        outcomes = race(lives)
        assert not any(isinstance(outcome, OcopError) for outcome in outcomes)
        assert_books(bo, sim, [f"SO-{n}" for n in range(6)])
        assert len(bo.orders()) == 6
