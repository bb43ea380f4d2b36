"""Authorization ages with a host clock in a zone that changes its offset (I3, A1).

A clock may tell the time in any zone. Python subtracts and compares two datetimes of the
same zone by their wall-clock readings, so across a daylight-saving change an age measured
that way is an hour off: the expiry boundary moved by an hour.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from support import ALICE, CARD_1, kinds

from ocop import AuthorizationPolicy, BackOffice, CardPayment, Channel, Settings
from ocop.adapters.memory import InMemoryJournal, InMemoryStore, ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from worlds import usd

NEW_YORK = ZoneInfo("America/New_York")
#: Placed 2026-03-01 12:00 EST (17:00 UTC); 14 days on, 2026-03-15 17:00 UTC, it expires
#: (New York changed to daylight time on 2026-03-08).
PLACED = datetime(2026, 3, 1, 17, tzinfo=UTC)


class ZoneClock:
    """A host clock that tells the time in New York."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment.astimezone(NEW_YORK)


def placed() -> tuple[ZoneClock, SimulatedProcessor, BackOffice]:
    clock = ZoneClock(PLACED)
    sim = SimulatedProcessor(clock=clock)
    bo = BackOffice(store=InMemoryStore(), processor=sim, journal=InMemoryJournal(), clock=clock)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=ALICE, total=usd("100"),
                   payments=[CardPayment(CARD_1, usd("100"))])  # fmt: skip
    return clock, sim, bo


def test_an_invoice_half_an_hour_before_expiry_captures_without_renewing() -> None:
    """I3: 13 days 23:30 after the authorization (12:30 EDT, 16:30 UTC) it is not
    expired: the invoice captures it, as with a UTC clock; it renewed it an hour early."""
    clock, sim, bo = placed()
    clock.moment = PLACED + timedelta(days=14, minutes=-30)
    bo.invoice("SO-1", "INV-1", usd("10"))
    assert kinds(sim.ledger()) == ["authorize", "capture"]


def test_an_invoice_at_expiry_renews() -> None:
    """I3: exactly 14 days after the authorization it is expired whatever the clock's zone."""
    clock, sim, bo = placed()
    clock.moment = PLACED + timedelta(days=14)
    bo.invoice("SO-1", "INV-1", usd("10"))
    assert kinds(sim.ledger()) == ["authorize", "void", "authorize", "capture"]


def test_expiring_before_compares_instants() -> None:
    """A1, queries: the authorization expires at 17:00 UTC (13:00 EDT), whatever zone the
    clock and the argument are in: before 13:00:00.000001 EDT lists it, before 13:00 not."""
    clock, _, bo = placed()
    clock.moment = PLACED + timedelta(days=13)
    expiry = (PLACED + timedelta(days=14)).astimezone(NEW_YORK)
    assert bo.orders(expiring_before=expiry) == ()
    assert bo.orders(expiring_before=expiry + timedelta(microseconds=1)) == ("SO-1",)
    assert bo.orders(expiring_before=expiry - timedelta(minutes=30)) == ()


def test_a_manual_clock_in_new_york_moves_by_elapsed_time() -> None:
    """A1, I3: a ManualClock started in New York and moved 14 days across the change to
    daylight time moves 14 days of elapsed time (it moved 13 days 23 hours: its wall
    clock), so a test or a host moving it sees the authorization expire exactly then."""
    start = datetime(2026, 3, 1, 12, tzinfo=NEW_YORK)
    clock = ManualClock(start)
    moved = clock.advance(days=14)
    assert moved.astimezone(UTC) - start.astimezone(UTC) == timedelta(days=14)
    assert moved.astimezone(UTC) == datetime(2026, 3, 15, 17, tzinfo=UTC)
    assert clock.now().utcoffset() == timedelta(hours=-4)


def test_the_simulated_processor_keeps_an_authorization_its_whole_lifetime() -> None:
    """I3 on the processor's side: the simulator drops an authorization 30 days after it
    was made. With a New York clock it dropped it at 2026-03-31 12:00 EDT, 29 days 23
    hours on (its wall clock), and a capture half an hour before the 30 days was declined
    (authorization expired)."""
    clock = ManualClock(datetime(2026, 3, 1, 12, tzinfo=NEW_YORK))
    sim = SimulatedProcessor(clock=clock)
    policy = AuthorizationPolicy(expiry_days=45, stale_days=60)
    bo = BackOffice(store=InMemoryStore(), processor=sim, journal=InMemoryJournal(), clock=clock,
                    settings=Settings(authorization=policy))  # fmt: skip
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=ALICE, total=usd("100"),
                   payments=[CardPayment(CARD_1, usd("100"))])  # fmt: skip
    clock.advance(days=30, minutes=-30)
    result = bo.invoice("SO-1", "INV-1", usd("10"))
    assert result.failed == ()
    assert kinds(sim.ledger()) == ["authorize", "capture"]


def test_expiring_before_the_last_moment_there_is_lists_every_open_authorization() -> None:
    """Queries: the last moment a datetime holds, told in New York (its UTC reading is past
    the year 9999), lists the order; the first moment there is, told in Kiribati, none."""
    _, _, bo = placed()
    last = datetime.max.replace(tzinfo=timezone(timedelta(hours=-5)))
    first = datetime.min.replace(tzinfo=timezone(timedelta(hours=14)))
    assert bo.orders(expiring_before=last) == ("SO-1",)
    assert bo.orders(expiring_before=first) == ()


class LastMomentClock:
    """A host clock at the last moment a datetime holds, told in New York's winter offset."""

    def now(self) -> datetime:
        return datetime.max.replace(tzinfo=timezone(timedelta(hours=-5)))


def test_a_clock_at_the_last_moment_west_of_utc_still_answers() -> None:
    """E1: the clock's time has no UTC reading; reading it raised OverflowError (no ocop
    error) from every call. It is taken as told."""
    bo = BackOffice(store=InMemoryStore(), processor=SimulatedProcessor(clock=LastMomentClock()),
                    journal=InMemoryJournal(), clock=LastMomentClock())  # fmt: skip
    assert bo.orders(on_hold=True) == ()
