"""``BackOffice``: the facade, with factories wiring the bundled adapters.

This module is the composition root: the only place outside ``ocop.adapters``
that names concrete adapters. Hosts with their own adapters use the explicit
constructor: ``BackOffice(store=..., processor=..., journal=..., settings=...,
clock=...)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Self

from ocop.domain.edge import check_clock, check_instance, check_interface, check_path
from ocop.domain.errors import InvalidArgument, InvalidInput
from ocop.domain.settings import Settings
from ocop.ports.clock import Clock
from ocop.ports.journal import PaymentJournal
from ocop.ports.processor import PaymentProcessor
from ocop.ports.store import OrderStore
from ocop.services._backoffice import BackOfficeServices

if TYPE_CHECKING:
    from ocop.adapters._sql import SqlStore
    from ocop.adapters.memory import InMemoryStore


class BackOffice(BackOfficeServices):
    """Omni-channel order payments for one back office.

    ``BackOffice(store=..., processor=..., journal=...)`` wires your own adapters (the
    factories ``in_memory``, ``sqlite`` and ``postgres`` wire the bundled ones). Each is
    checked when wired (E1): a store, processor or journal missing any method of its port
    raises :class:`InvalidArgument` naming the methods it lacks, so a partial adapter is
    refused at once instead of failing a call halfway through; a store that keeps the
    journal must be given ``journal=store.journal`` (:class:`InvalidInput`).
    """

    def __init__(
        self,
        *,
        store: OrderStore,
        processor: PaymentProcessor,
        journal: PaymentJournal,
        settings: Settings | None = None,
        clock: Clock | None = None,
    ) -> None:
        if processor is None:
            raise InvalidArgument("processor must implement its port", argument="processor")
        _check_ports(settings, clock, store=store, processor=processor, journal=journal)
        super().__init__(
            store=store,
            processor=processor,
            journal=journal,
            settings=settings if settings is not None else Settings.default(),
            clock=clock if clock is not None else _system_clock(),
        )
        if getattr(store, "keeps_journal", False) and journal is not getattr(
            store, "journal", None
        ):
            raise InvalidInput("this store keeps the payment journal: pass journal=store.journal")
        self._store = store
        self._journal = journal

    @classmethod
    def in_memory(
        cls,
        settings: Settings | None = None,
        processor: PaymentProcessor | None = None,
        clock: Clock | None = None,
    ) -> Self:
        """Everything in memory, the journal kept by the store; a :class:`SimulatedProcessor`
        unless one is given."""
        _check_ports(settings, clock, processor=processor)
        from ocop.adapters.memory import InMemoryStore

        return cls._wired(InMemoryStore(keeps_journal=True), settings, processor, clock)

    @classmethod
    def sqlite(
        cls,
        path: str | Path,
        settings: Settings | None = None,
        *,
        processor: PaymentProcessor,
        clock: Clock | None = None,
    ) -> Self:
        """The embedded durable default: store and journal in one SQLite file, vouchers
        written in the same transaction as the change that posts them.

        ``processor`` is required: a durable back office never falls back to an in-memory
        processor, which would forget after a restart what it was asked (for tests and
        demos, ``SimulatedProcessor(clock=..., state="sim.db")`` keeps its records too)."""
        # Imported when first used: `import ocop` loads neither sqlite3 nor cattrs.
        from ocop.adapters.sqlite import SqliteStore

        check_path(path, "path")
        _check_ports(settings, clock, processor=_required(processor))
        return cls._wired(SqliteStore(path, keeps_journal=True), settings, processor, clock)

    @classmethod
    def postgres(
        cls,
        dsn: str,
        settings: Settings | None = None,
        *,
        processor: PaymentProcessor,
        clock: Clock | None = None,
        schema: str | None = "ocop",
    ) -> Self:
        """Back offices sharing one PostgreSQL database: store and journal in its ``schema``
        (created if missing; None: the search path of ``dsn``), vouchers written in the same
        transaction as the change that posts them. ``processor`` is required, as for
        :meth:`sqlite`. Needs the ``postgres`` extra
        (:class:`~ocop.domain.errors.MissingExtra` without it)."""
        # Imported when first used: psycopg is loaded only by hosts that ask for it.
        from ocop.adapters.postgres import PostgresStore, check_conninfo

        check_conninfo(dsn, "dsn")  # blank, or naming nothing: libpq's defaults
        _check_ports(settings, clock, processor=_required(processor))
        store = PostgresStore(dsn, keeps_journal=True, schema=schema)
        return cls._wired(store, settings, processor, clock)

    @classmethod
    def _wired(
        cls,
        store: InMemoryStore | SqlStore,
        settings: Settings | None,
        processor: PaymentProcessor | None,
        clock: Clock | None,
    ) -> Self:
        clock = clock if clock is not None else _system_clock()
        if processor is None:
            from ocop.adapters.simulated import SimulatedProcessor  # imported when first needed

            processor = SimulatedProcessor(clock=clock)
        return cls(store=store, processor=processor, journal=store.journal, settings=settings,
                   clock=clock)  # fmt: skip

    def with_settings(self, settings: Settings) -> Self:
        """The same store, processor, journal and clock under other settings."""
        check_instance(settings, Settings, "settings")
        return type(self)(
            store=self._store,
            processor=self.processor,
            journal=self._journal,
            settings=settings,
            clock=self.clock,
        )


#: What each port must offer: every member of its Protocol (checked by name: hosts plug in
#: their own adapters), so one missing fails the wiring, not a call halfway through.
_PORTS = {
    "store": ("unit_of_work", "claim", "release", "keep_for_review", "kept_for_review"),
    "processor": (
        "capabilities",
        "authorize",
        "adjust",
        "capture",
        "void",
        "refund",
        "unlinked_refund",
        "tokenize",
        "save_instrument",
        "instruments",
        "lookup",
    ),
    "journal": ("post", "vouchers"),
}


def _check_ports(settings: object, clock: object, **ports: object) -> None:
    """E1 at the wiring: settings are Settings, a clock tells the time, each port offers
    what the back office calls (a processor left None gets in_memory()'s default)."""
    if settings is not None:
        check_instance(settings, Settings, "settings")
    if clock is not None:
        check_clock(clock, "clock")
    for name, value in ports.items():
        if value is None and name == "processor":
            continue
        check_interface(value, _PORTS[name], name)


def _required(processor: PaymentProcessor | None) -> PaymentProcessor:
    """A durable factory's processor: given, never a default (an in-memory one would forget)."""
    if processor is None:
        raise InvalidArgument(
            "processor is required for a durable back office (a connector, or "
            "SimulatedProcessor(clock=..., state=...) for tests and demos)",
            argument="processor",
        )
    return processor


def _system_clock() -> Clock:
    from ocop.adapters.memory import SystemClock  # imported when first needed

    return SystemClock()
