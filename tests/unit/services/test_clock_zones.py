"""Authorization ages with a host clock in a zone that changes its offset (I3, A1).

A clock may tell the time in any zone. Python subtracts and compares two datetimes of the
same zone by their wall-clock readings, so across a daylight-saving change an age measured
that way is an hour off: the expiry boundary moved by an hour.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from support import ALICE, CARD_1, kinds

from ocop import BackOffice, CardPayment, Channel
from ocop.adapters.memory import InMemoryJournal, InMemoryStore
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
