"""``bo.renew_authorizations()``: the authorization renewal job (rules A1, A2, issue 11).

On memory, SQLite and PostgreSQL: renewal before expiry; a card without a reusable token
declined and held; a decline on renewal; voiding what nothing will capture (cancelled and
fully invoiced orders); a second run doing nothing; two workers at once renewing each
order once; a crash in the middle finished by ``recover()`` or by the next run.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from ocop import (
    Actor,
    AuthorizationPolicy,
    BackOffice,
    CardPayment,
    Channel,
    CompletionPolicy,
    Customer,
    HoldCode,
    LineStatus,
    OperationKind,
    Order,
    OrderStatus,
    Outcome,
    RenewalReport,
    SavedCardPayment,
    Settings,
)
from ocop.adapters.memory import InMemoryStore, ManualClock
from ocop.adapters.postgres import PostgresStore
from ocop.adapters.simulated import SimulatedCrash, SimulatedProcessor
from ocop.adapters.sqlite import SqliteStore
from ocop.domain import steps
from ocop.services import _engine as engine
from pg_support import private_schema
from worlds import START, card, usd

AGENT = Actor.call_center("agent-1")
NOTHING = RenewalReport()

Store = InMemoryStore | SqliteStore | PostgresStore


@attrs.define
class Site:
    """One database, a simulated processor and a clock, and back offices over them."""

    clock: ManualClock
    sim: SimulatedProcessor
    open_store: Callable[[], Store]
    settings: Settings = attrs.Factory(Settings)
    stores: list[Store] = attrs.Factory(list)

    def back_office(self, settings: Settings | None = None) -> BackOffice:
        """A back office (a worker) with its own connection to the site's database."""
        store = self.open_store()
        self.stores.append(store)
        return BackOffice(store=store, journal=store.journal, processor=self.sim,
                          clock=self.clock, settings=settings or self.settings)  # fmt: skip


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    if request.param == "memory":
        shared = InMemoryStore(keeps_journal=True)
        yield Site(clock=clock, sim=sim, open_store=lambda: shared)
    elif request.param == "sqlite":
        path = tmp_path / "renewals.db"
        found = Site(clock=clock, sim=sim,
                     open_store=lambda: SqliteStore(path, keeps_journal=True))  # fmt: skip
        yield found
        for store in found.stores:
            assert isinstance(store, SqliteStore)
            store.close()
    else:
        with private_schema() as dsn:
            found = Site(clock=clock, sim=sim,
                         open_store=lambda: PostgresStore(dsn, keeps_journal=True))  # fmt: skip
            yield found
            for store in found.stores:
                assert isinstance(store, PostgresStore)
                store.close()


def place(bo: BackOffice, order_id: str, amount: str = "100.00", *, reusable: bool = True) -> Order:
    return bo.place_order(
        order_id,
        channel=Channel.ECOMMERCE,
        customer=Customer.guest(),
        total=usd(amount),
        payments=[CardPayment(card(reusable=reusable), usd(amount))],
    )


def kinds(bo: BackOffice, order_id: str) -> list[tuple[str, str]]:
    return [(r.kind.value, r.outcome.value) for r in bo.operations(order_id)]


def test_an_authorization_is_renewed_before_it_expires_and_a_second_run_does_nothing(
    site: Site,
) -> None:
    bo = site.back_office()
    place(bo, "SO-1")
    site.clock.advance(days=11, hours=23, minutes=59, seconds=59)
    assert bo.renew_authorizations() == NOTHING  # not yet within 2 days of its expiry
    site.clock.advance(seconds=1)  # its expiry exactly 2 days away: due
    report = bo.renew_authorizations()
    assert report == RenewalReport(renewed=("SO-1",))
    order = bo.order("SO-1")
    line = order.lines[0]
    old, new = line.authorizations
    assert old.open_amount == usd("0.00")
    assert new.open_amount == usd("100.00")
    assert new.authorized_at == START + timedelta(days=12)
    assert line.status is LineStatus.AUTHORIZED
    assert not line.renewing
    assert order.holds == ()
    assert site.sim.authorization_open(old.token.value) == usd("0.00")
    assert site.sim.authorization_open(new.token.value) == usd("100.00")
    assert kinds(bo, "SO-1")[1:] == [("void", "approved"), ("authorize", "approved")]
    assert bo.renew_authorizations() == NOTHING
    assert len(bo.operations("SO-1")) == 3
    # The renewed authorization is captured like any other.
    assert bo.invoice("SO-1", "INV-1", usd("100.00")).uncovered == usd("0.00")


def test_a_card_without_a_reusable_token_is_declined_and_held(site: Site) -> None:
    bo = site.back_office()
    place(bo, "SO-1", reusable=False)
    site.clock.advance(days=12, hours=12)
    report = bo.renew_authorizations()
    assert report == RenewalReport(declined=("SO-1",), held=("SO-1",))
    order = bo.order("SO-1")
    assert order.lines[0].status is LineStatus.DECLINED
    assert [h.code for h in order.holds] == [HoldCode.AUTHORIZATION_EXPIRED]
    assert kinds(bo, "SO-1")[1:] == [("void", "approved")]  # released, never re-authorized
    assert bo.renew_authorizations() == NOTHING
    # The cause stays until a new payment is given: releasing needs the override.
    with pytest.raises(Exception, match="expired authorization"):
        bo.release_hold("SO-1", HoldCode.AUTHORIZATION_EXPIRED, AGENT)


def test_a_declined_renewal_declines_the_line_and_holds_the_order(site: Site) -> None:
    bo = site.back_office()
    place(bo, "SO-1")
    site.clock.advance(days=13)
    site.sim.script("authorize", "decline")
    report = bo.renew_authorizations()
    assert report == RenewalReport(declined=("SO-1",), held=("SO-1",))
    line = bo.order("SO-1").lines[0]
    assert line.status is LineStatus.DECLINED
    assert not line.renewing
    assert kinds(bo, "SO-1")[1:] == [("void", "approved"), ("authorize", "declined")]
    assert bo.renew_authorizations() == NOTHING  # declined cards are not retried by default


def test_retry_declined_authorizes_a_declined_line_again_and_ends_its_hold(site: Site) -> None:
    retrying = Settings(authorization=AuthorizationPolicy(retry_declined=True))
    bo = site.back_office(retrying)
    place(bo, "SO-1")
    site.clock.advance(days=13)
    site.sim.script("authorize", "decline")
    first = bo.renew_authorizations()
    assert first == RenewalReport(declined=("SO-1",), held=("SO-1",))  # one try a run
    assert bo.order("SO-1").lines[0].status is LineStatus.DECLINED
    site.clock.advance(days=1)
    second = bo.renew_authorizations()
    assert second == RenewalReport(renewed=("SO-1",))
    order = bo.order("SO-1")
    assert order.lines[0].status is LineStatus.AUTHORIZED
    assert order.holds == ()
    assert [r.hold.code for r in order.released_holds] == [HoldCode.AUTHORIZATION_EXPIRED]


def test_retry_declined_retries_a_card_declined_when_the_order_was_placed(site: Site) -> None:
    """A card declined at placing leaves its order on PAYMENT_DECLINED and, short of its
    total, OUT_OF_BALANCE holds: the retry authorizes it again and ends both."""
    retrying = Settings(authorization=AuthorizationPolicy(retry_declined=True))
    bo = site.back_office(retrying)
    site.sim.script("authorize", "decline")
    placed = place(bo, "SO-1")
    assert {h.code for h in placed.holds} == {HoldCode.PAYMENT_DECLINED, HoldCode.OUT_OF_BALANCE}
    assert bo.renew_authorizations() == RenewalReport(renewed=("SO-1",))
    order = bo.order("SO-1")
    assert order.approved
    assert order.lines[0].status is LineStatus.AUTHORIZED
    assert {r.hold.code for r in order.released_holds} == {
        HoldCode.PAYMENT_DECLINED,
        HoldCode.OUT_OF_BALANCE,
    }


def test_retry_declined_retries_a_card_a_pickups_retry_declined_and_ends_its_holds(
    site: Site,
) -> None:
    """I6, S2, A2: a pickup's retry the card declines on a line that captured nothing
    declines the line and holds its order (PAYMENT_DECLINED, OUT_OF_BALANCE), as a card
    declined at placing does: the job's retry authorizes it again under the declined
    authorization's id (operation keys as before, O4) and ends both holds, and the pickup
    tried again captures its 50.00."""
    retrying = Settings(authorization=AuthorizationPolicy(retry_declined=True))
    bo = site.back_office(retrying)
    place(bo, "SO-1")
    site.sim.script("capture", "decline")
    site.sim.script("authorize", "decline")
    picked = bo.pickup("SO-1", "INV-1", usd("50.00"))
    assert picked.new_payment_required
    assert {h.code for h in picked.order.holds} == {
        HoldCode.PAYMENT_DECLINED,
        HoldCode.OUT_OF_BALANCE,
    }
    assert bo.renew_authorizations() == RenewalReport(renewed=("SO-1",))
    order = bo.order("SO-1")
    assert order.approved
    assert (order.lines[0].status, order.lines[0].authorized) == (
        LineStatus.AUTHORIZED,
        usd("100.00"),
    )
    assert {r.hold.code for r in order.released_holds} == {
        HoldCode.PAYMENT_DECLINED,
        HoldCode.OUT_OF_BALANCE,
    }
    again = bo.pickup("SO-1", "INV-1", usd("50.00"))
    assert [(c.line_id, c.amount) for c in again.captures] == [("L1", usd("50.00"))]
    assert [r.key for r in bo.operations("SO-1")] == [
        "SO-1/authorize:L1.A1#1",
        "SO-1/capture:INV-1:L1:L1.A1#1",
        "SO-1/void:L1.A1#1",
        "SO-1/authorize:L1.A2#1",
        "SO-1/authorize:L1.A2#2",
        "SO-1/capture:INV-1:L1:L1.A2#1",
    ]


@pytest.mark.parametrize("cvv", ["000", None])
def test_retry_declined_never_charges_a_saved_card_without_its_cvv(
    site: Site, cvv: str | None
) -> None:
    """T1: a saved card whose tokenization with the CVV was declined (a wrong CVV), or
    never made (a legacy order's placement finished by recovery, its CVV kept nowhere), is
    not authorized by the retry: its line holds the vault's card, which only a CVV unlocks.
    The order stays held until an agent gives a payment."""
    bo = site.back_office(Settings(authorization=AuthorizationPolicy(retry_declined=True)))
    customer = Customer.named("C-1")
    saved = bo.save_instrument(customer, card("tok_vault", "4242"), consent=True)
    if cvv is not None:
        site.sim.script("tokenize", "decline")  # the processor's CVV check failed
        bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=customer,
                       total=usd("100.00"),
                       payments=[SavedCardPayment(saved.instrument_id, cvv=cvv,
                                                  amount=usd("100.00"))])  # fmt: skip
    else:  # a NONE order whose placement a crash interrupted: recovery has no CVV
        site.sim.script("tokenize", "timeout_before")
        bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=customer,
                       total=usd("100.00"), created_by=Actor.user("clerk-1"),
                       payments=[SavedCardPayment(saved.instrument_id, cvv="123",
                                                  amount=usd("100.00"))])  # fmt: skip
        site.clock.advance(days=1)
        assert bo.recover().completions == ("SO-1",)
    assert bo.order("SO-1").lines[0].status is LineStatus.DECLINED
    before = kinds(bo, "SO-1")
    report = bo.renew_authorizations()
    assert "SO-1" not in report.renewed
    order = bo.order("SO-1")
    assert order.lines[0].status is LineStatus.DECLINED
    assert not order.approved
    assert kinds(bo, "SO-1") == before  # nothing authorized
    assert [e for e in site.sim.ledger() if e.kind == "authorize"] == []


def _declined_beside(site: Site, other: str) -> BackOffice:
    """SO-1 of 100.00: its 100.00 card line declined, beside a card line of ``other``; a
    back office that retries declined cards."""
    bo = site.back_office(Settings(authorization=AuthorizationPolicy(retry_declined=True)))
    site.sim.script("authorize", "decline")
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("100.00"),
                   payments=[CardPayment(card(), usd("100.00")),
                             CardPayment(card("tok_2", "2222"), usd(other))])  # fmt: skip
    return bo


@pytest.mark.parametrize(("other", "retried"), [("120.00", None), ("90.00", "10.00")])
def test_retry_declined_authorizes_no_more_than_the_order_still_needs(
    site: Site, other: str, retried: str | None
) -> None:
    """A declined line is tried again for what the order still needs, at most: nothing when
    its other line already pays it all (or more), the rest otherwise."""
    bo = _declined_beside(site, other)
    bo.renew_authorizations()
    order = bo.order("SO-1")
    declined, paying = order.lines
    assert paying.authorized == usd(other)
    if retried is None:
        assert declined.status is LineStatus.DECLINED
    else:
        assert declined.authorized == usd(retried)
        assert order.balance_due == usd("0.00")


def test_a_retried_line_asks_no_more_after_its_retry_when_renewed_or_invoiced(
    site: Site,
) -> None:
    """A1, A2, I2: the retry authorizes what the order still needs (10.00 of a 100.00 line
    beside a 90.00 one), and the line's amount follows: its renewal and the invoice ask no
    more (they authorized the line's old 100.00 again: 190.00 held for a 100.00 order)."""
    bo = _declined_beside(site, "90.00")
    assert bo.renew_authorizations() == RenewalReport(renewed=("SO-1",))
    site.clock.advance(days=13)
    assert bo.renew_authorizations() == RenewalReport(renewed=("SO-1",))
    order = bo.order("SO-1")
    assert [line.authorized for line in order.lines] == [usd("10.00"), usd("90.00")]
    assert order.balance_due == usd("0.00")
    bo.invoice("SO-1", "INV-1", usd("100.00"))
    asked = [e.amount for e in site.sim.ledger() if e.kind == "authorize"]
    assert asked == [usd("90.00"), usd("10.00"), usd("10.00"), usd("90.00")]


def test_open_authorizations_of_cancelled_and_fully_invoiced_orders_are_voided(
    site: Site,
) -> None:
    lenient = Settings(completion=CompletionPolicy(overpaid_threshold_percent=Decimal(10)))
    bo = site.back_office(lenient)
    place(bo, "SO-C")
    bo.invoice("SO-C", "INV-1", usd("30.00"))
    assert bo.cancel_order("SO-C", AGENT).order.cancelled  # invoiced: payments left alone
    bo.place_order("SO-F", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("100.00"),
                   payments=[CardPayment(card(), usd("110.00"))])  # fmt: skip
    bo.invoice("SO-F", "INV-1", usd("100.00"))
    place(bo, "SO-A")  # approved, fresh: nothing to do
    assert bo.order("SO-C").lines[0].authorized == usd("70.00")
    assert bo.order("SO-F").lines[0].authorized == usd("10.00")
    report = bo.renew_authorizations()  # at once: no need to wait for the expiry
    assert report == RenewalReport(voided=("SO-C", "SO-F"))
    for order_id in ("SO-C", "SO-F"):
        assert bo.order(order_id).lines[0].authorized == usd("0.00")
        assert kinds(bo, order_id)[-1] == ("void", "approved")
    assert bo.order("SO-C").cancelled
    assert bo.renew_authorizations() == NOTHING


def test_a_stale_authorization_nothing_will_capture_is_released_without_a_call(
    site: Site,
) -> None:
    """A1, I3: a cancelled order's authorization whose void the processor refused was
    voided again by every run, 31, 38, 45 ... days on, long past stale_days (30) and the
    processor's own lifetime, each run reporting the order skipped. Once stale it lapses
    with no processor call (as a refused pending void's authorization does, V5): reported
    voided once, then the job has nothing more on the order."""
    bo = site.back_office()
    place(bo, "SO-C")
    bo.invoice("SO-C", "INV-1", usd("30.00"))
    site.sim.script("void", "decline", "decline")
    bo.cancel_order("SO-C", AGENT)  # its void refused: 70.00 still open
    site.clock.advance(days=10)
    assert bo.renew_authorizations() == RenewalReport(skipped=("SO-C",))  # refused again
    site.clock.advance(days=21)  # 31 days: stale
    calls = site.sim.calls
    assert bo.renew_authorizations() == RenewalReport(voided=("SO-C",))
    assert site.sim.calls == calls
    assert bo.order("SO-C").lines[0].authorized == usd("0.00")
    site.clock.advance(days=7)
    assert bo.renew_authorizations() == NOTHING
    assert site.sim.calls == calls


def test_a_release_void_answered_pending_is_reported_voided(site: Site) -> None:
    """A2, N1: a pending void counts as done at once, so the run reports the order's
    authorization voided (it reported the order skipped)."""
    bo = site.back_office()
    place(bo, "SO-C")
    bo.invoice("SO-C", "INV-1", usd("30.00"))
    bo.cancel_order("SO-C", AGENT)
    site.sim.script("void", "pending")
    assert bo.renew_authorizations() == RenewalReport(voided=("SO-C",))
    assert kinds(bo, "SO-C")[-1] == ("void", "pending")
    assert bo.order("SO-C").lines[0].authorized == usd("0.00")


def test_an_expired_authorization_is_left_to_lapse_when_manual_void_is_off(site: Site) -> None:
    """With manual void of expired authorizations off (OCOP off, F1), a cancelled call
    center order's expired authorization is released without a call (it lapses at the
    processor). A commerce order waits for OCOP (P2)."""
    bo = site.back_office()
    bo.place_order("SO-C", channel=Channel.CALL_CENTER, customer=Customer.guest(),
                   total=usd("100.00"), created_by=AGENT)  # fmt: skip
    draft = bo.begin_completion("SO-C", AGENT).add_card(card(), usd("100.00"))
    assert bo.submit(draft).approved
    bo.invoice("SO-C", "INV-1", usd("30.00"))
    bo.cancel_order("SO-C", AGENT)
    site.clock.advance(days=15)
    features = attrs.evolve(Settings().features, omni_channel_order_payments=False,
                            manual_void_of_expired_authorizations=False)  # fmt: skip
    later = site.back_office(Settings(features=features))
    assert later.renew_authorizations() == RenewalReport(voided=("SO-C",))
    assert later.order("SO-C").lines[0].authorized == usd("0.00")
    assert [k for k, _ in kinds(later, "SO-C")].count("void") == 0


def test_held_orders_are_skipped_and_orders_waiting_for_completion_never_found(
    site: Site,
) -> None:
    bo = site.back_office()
    place(bo, "SO-H")
    bo.place_hold("SO-H", HoldCode.MANUAL, AGENT, reason=Settings().hold_reasons[0])
    site.clock.advance(days=13)
    assert bo.renew_authorizations() == RenewalReport(skipped=("SO-H",))
    assert len(bo.operations("SO-H")) == 1


def test_two_workers_at_once_renew_each_order_once(site: Site) -> None:
    small = Settings(authorization=AuthorizationPolicy(renew_batch_size=3))
    setup = site.back_office(small)
    ids = [f"SO-{n:02d}" for n in range(12)]
    for order_id in ids:
        place(setup, order_id)
    site.clock.advance(days=13)
    workers = [site.back_office(small) for _ in range(2)]
    reports: list[RenewalReport] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(workers))

    def work(bo: BackOffice) -> None:
        try:
            start.wait()
            reports.append(bo.renew_authorizations())
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(bo,)) for bo in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    renewed = [order_id for report in reports for order_id in report.renewed]
    assert sorted(renewed) == ids  # each once, by one of the workers
    for order_id in ids:
        assert [k for k, _ in kinds(setup, order_id)] == ["authorize", "void", "authorize"]
    authorizations = [e for e in site.sim.ledger() if e.kind == "authorize"]
    assert len(authorizations) == 2 * len(ids)
    assert setup.renew_authorizations() == NOTHING


class ProcessDied(BaseException):
    """The worker's process died (no ``except Exception`` hides it)."""


def test_a_crash_after_the_void_is_finished_by_recover(site: Site) -> None:
    """The void reached the processor, then the worker died: recovery settles the void and
    finishes the renewal with a new authorization."""
    bo = site.back_office()
    place(bo, "SO-1")
    site.clock.advance(days=13)
    site.sim.script("void", "crash_after_success")
    with pytest.raises(SimulatedCrash):
        bo.renew_authorizations()
    assert bo.order("SO-1").lines[0].renewing
    assert bo.orders(in_doubt=True) == ("SO-1",)
    assert bo.renew_authorizations() == RenewalReport(skipped=("SO-1",))  # O3: recover first
    report = bo.recover()
    assert report.renewals == ("SO-1",)
    line = bo.order("SO-1").lines[0]
    assert (line.status, line.authorized, line.renewing) == (
        LineStatus.AUTHORIZED, usd("100.00"), False,
    )  # fmt: skip
    assert kinds(bo, "SO-1")[1:] == [("void", "approved"), ("authorize", "approved")]
    assert bo.renew_authorizations() == NOTHING


def test_a_crash_between_the_void_and_the_new_authorization_is_finished_by_the_next_run(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The void's outcome was stored, then the worker died before the new authorization's
    intent: nothing is in doubt, and the next run finds the line still under renewal."""
    bo = site.back_office()
    place(bo, "SO-1")
    site.clock.advance(days=13)
    record = engine._record_intents

    def dies_before_authorizing(*args: object, **kwargs: object) -> object:
        batch = args[2]
        assert isinstance(batch, tuple)
        if any(isinstance(step, steps.Authorize) for step in batch):
            raise ProcessDied("died before the new authorization's intent")
        return record(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "_record_intents", dies_before_authorizing)
    with pytest.raises(ProcessDied):
        bo.renew_authorizations()
    monkeypatch.undo()
    line = bo.order("SO-1").lines[0]
    assert (line.renewing, line.authorized) == (True, usd("0.00"))  # neither, for now
    assert bo.recover().renewals == ()  # nothing in doubt: the next run finishes it
    site.clock.advance(hours=1)
    assert bo.renew_authorizations() == RenewalReport(renewed=("SO-1",))
    line = bo.order("SO-1").lines[0]
    assert (line.status, line.authorized, line.renewing) == (
        LineStatus.AUTHORIZED, usd("100.00"), False,
    )  # fmt: skip


def test_a_renewal_left_in_doubt_is_reported_and_finished_by_recover(site: Site) -> None:
    """A new authorization whose answer was lost: in doubt in the report; recovery asks
    the processor and the line is authorized (or, never received, authorized anew)."""
    bo = site.back_office()
    place(bo, "SO-1")
    place(bo, "SO-2")
    site.clock.advance(days=13)
    site.sim.script("authorize", "timeout_before")
    report = bo.renew_authorizations()
    assert report == RenewalReport(renewed=("SO-2",), in_doubt=("SO-1",))
    recovered = bo.recover()
    assert recovered.renewals == ("SO-1",)
    log = bo.operations("SO-1")
    assert [(r.kind, r.outcome) for r in log[1:]] == [
        (OperationKind.VOID, Outcome.APPROVED),
        (OperationKind.AUTHORIZE, Outcome.NOT_RECEIVED),
        (OperationKind.AUTHORIZE, Outcome.APPROVED),
    ]
    assert bo.order("SO-1").lines[0].authorized == usd("100.00")


def test_an_invoice_whose_capture_failed_keeps_its_authorization_for_the_retry(
    site: Site,
) -> None:
    """Invoiced in full but not captured: the job does not take it for fully invoiced (it
    renews the authorization when due) and the retried invoice captures (I4)."""
    bo = site.back_office()
    place(bo, "SO-1")
    site.sim.script("capture", "decline")
    assert bo.invoice("SO-1", "INV-1", usd("100.00")).uncovered == usd("100.00")
    assert bo.renew_authorizations() == NOTHING
    site.clock.advance(days=13)
    assert bo.renew_authorizations() == RenewalReport(renewed=("SO-1",))
    retried = bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert retried.uncovered == usd("0.00")
    assert bo.order("SO-1").received == usd("100.00")


def test_a_refused_void_of_a_capturable_authorization_leaves_it_for_the_next_run(
    site: Site,
) -> None:
    """The processor refuses the renewal's void while the authorization is still good: the
    order is not held (it can still be invoiced); the next run tries again."""
    bo = site.back_office()
    place(bo, "SO-1")
    site.clock.advance(days=13)
    site.sim.script("void", "decline")
    assert bo.renew_authorizations() == RenewalReport(skipped=("SO-1",))
    order = bo.order("SO-1")
    assert order.holds == ()
    assert not order.lines[0].renewing
    assert order.lines[0].authorized == usd("100.00")
    site.clock.advance(hours=1)
    assert bo.renew_authorizations() == RenewalReport(renewed=("SO-1",))


def test_retry_declined_leaves_orders_under_other_holds_alone(site: Site) -> None:
    retrying = Settings(authorization=AuthorizationPolicy(retry_declined=True))
    bo = site.back_office(retrying)
    place(bo, "SO-1")
    site.clock.advance(days=13)
    site.sim.script("authorize", "decline")
    bo.renew_authorizations()
    bo.place_hold("SO-1", HoldCode.MANUAL, AGENT, reason=Settings().hold_reasons[0])
    site.clock.advance(days=1)
    assert bo.renew_authorizations() == RenewalReport(skipped=("SO-1",))
    assert bo.order("SO-1").lines[0].status is LineStatus.DECLINED


def give_back_to_a_voided_authorization(site: Site, bo: BackOffice) -> None:
    """SO-1 (100.00, one card): a capture of 30.00 pending when the job voided L1.A1's
    rest and renewed it (L1.A2, 70.00) fails, giving its 30.00 back to the voided L1.A1."""
    place(bo, "SO-1")
    site.sim.script("capture", "pending")
    bo.invoice("SO-1", "INV-1", usd("30.00"))
    site.clock.advance(days=12)
    assert bo.renew_authorizations() == RenewalReport(renewed=("SO-1",))
    for note in site.sim.settle_pending("decline"):
        assert bo.handle_notification(note).undone


def test_money_given_back_to_a_voided_authorization_is_voided_again_by_the_next_run(
    site: Site,
) -> None:
    """A1, N2: the job voided an authorization's rest and renewed it; a capture of it that
    was pending then failed, giving its money back to the voided authorization. The next
    run voids it again (a second void, a key of its own) and authorizes what the line
    needs, so the processor holds no money ocop does not use (V5)."""
    bo = site.back_office()
    give_back_to_a_voided_authorization(site, bo)
    first = bo.order("SO-1").lines[0].authorizations[0]
    assert first.open_amount == usd("30.00")
    assert bo.renew_authorizations() == RenewalReport(renewed=("SO-1",))
    voids = [r.key for r in bo.operations("SO-1") if r.kind.value == "void"]
    assert voids == ["SO-1/void:L1.A1#1", "SO-1/void:L1.A1:2#1"]
    for auth in bo.order("SO-1").lines[0].authorizations:
        assert site.sim.authorization_open(auth.token.value) == auth.open_amount
    assert bo.order("SO-1").lines[0].authorized == usd("100.00")


def test_removing_a_line_whose_authorization_was_voided_before_voids_it_again(
    site: Site,
) -> None:
    """C6 after A1 and N2: money a failed pending capture gave back to a voided
    authorization is released by the line's removal with a second void of its own key
    (it reused the first void's key: IdempotencyConflict), then the renewed one."""
    bo = site.back_office()
    give_back_to_a_voided_authorization(site, bo)
    bo.submit(bo.begin_completion("SO-1", AGENT).remove("L1"))
    voids = [r.key for r in bo.operations("SO-1") if r.kind.value == "void"]
    assert voids == ["SO-1/void:L1.A1#1", "SO-1/void:L1.A1:2#1", "SO-1/void:L1.A2#1"]
    for auth in bo.order("SO-1").lines[0].authorizations:
        assert site.sim.authorization_open(auth.token.value) == usd("0.00")


def test_an_order_stored_before_voids_were_counted_numbers_its_next_void_past_the_log(
    tmp_path: Path,
) -> None:
    """O4, A1: an order row written before authorizations counted their voids reads none,
    even for an authorization voided already. Its next void is numbered past the voids
    the operation log holds, so it is made (a new key) instead of being taken for the
    first (which left the money held at the processor for good)."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    bo = BackOffice.sqlite(tmp_path / "old.db", processor=sim, clock=clock)
    place(bo, "SO-1")
    sim.script("capture", "pending")
    bo.invoice("SO-1", "INV-1", usd("30.00"))
    clock.advance(days=12)
    assert bo.renew_authorizations() == RenewalReport(renewed=("SO-1",))
    for note in sim.settle_pending("decline"):
        assert bo.handle_notification(note).undone
    with sqlite3.connect(tmp_path / "old.db") as db:  # as the earlier version wrote it
        (body,) = db.execute("SELECT body FROM ocop_orders WHERE order_id = 'SO-1'").fetchone()
        old = re.sub(r',"voids":\d+', "", body)
        assert old != body
        db.execute("UPDATE ocop_orders SET body = ? WHERE order_id = 'SO-1'", (old,))
    assert bo.order("SO-1").lines[0].authorizations[0].voids == 0
    assert bo.renew_authorizations() == RenewalReport(renewed=("SO-1",))
    voids = [r.key for r in bo.operations("SO-1") if r.kind.value == "void"]
    assert voids == ["SO-1/void:L1.A1#1", "SO-1/void:L1.A1:2#1"]
    line = bo.order("SO-1").lines[0]
    assert line.authorizations[0].voids == 2
    for auth in line.authorizations:
        assert sim.authorization_open(auth.token.value) == auth.open_amount


def test_commerce_orders_are_left_alone_while_ocop_is_off(site: Site) -> None:
    """P2: a commerce order is processed only while OCOP is on; the job skips it, calls
    nothing and releases no hold (it retried its declined card and released holds that
    no agent could release). Turned on again, the job renews it."""
    retrying = Settings.default().with_policies(
        authorization=AuthorizationPolicy(retry_declined=True)
    )
    bo = site.back_office(retrying)
    site.sim.script("authorize", "decline")
    place(bo, "SO-1")
    assert bo.order("SO-1").status is OrderStatus.ON_HOLD
    calls = site.sim.calls
    off = site.back_office(retrying.with_features(omni_channel_order_payments=False))
    assert off.renew_authorizations() == RenewalReport(skipped=("SO-1",))
    assert site.sim.calls == calls
    assert off.order("SO-1").status is OrderStatus.ON_HOLD
    assert bo.renew_authorizations() == RenewalReport(renewed=("SO-1",))
    assert bo.order("SO-1").approved
