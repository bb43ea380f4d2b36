"""What the ``ocop`` commands open: a database by its URL, a processor by its name.

A database URL is ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or a
PostgreSQL connection URI (``postgresql://user@host/db``, optionally ``?schema=name``;
the schema defaults to ``ocop``, as :meth:`~ocop._backoffice.BackOffice.postgres` has it).

A processor is named, never defaulted (a durable back office never falls back to one
that forgets what it did):

- ``sim:DIR``: the simulated processor, its records in ``DIR``, one SQLite state file
  per service account, ``DIR/<account>.db``; every file there serves its account, behind
  one :class:`~ocop.adapters.routing.ProcessorRouter`. ``simulate`` creates ``DIR`` if
  missing; ``recover`` refuses a ``DIR`` without a state file (a new simulator would
  answer that it never received the calls in doubt). One process at a time may use a
  directory: each simulator reads its file when opened.
- ``module:factory``: ``factory()`` from ``module``, called with no arguments, returns
  the :class:`~ocop.ports.processor.PaymentProcessor` (your connector, configured by
  your code).

Commands that call no processor (reading orders, their operations, the journal) are
wired with :class:`NoProcessor`, which refuses every call.
"""

from __future__ import annotations

import errno
import importlib
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path
from typing import NoReturn
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import attrs

from ocop._backoffice import BackOffice
from ocop.adapters.routing import ProcessorRouter
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain.cardnumbers import mask, quoted
from ocop.domain.errors import InvalidArgument, OcopError
from ocop.domain.money import Money
from ocop.domain.operations import ProcessorResult
from ocop.domain.tokens import AuthorizationToken, CaptureToken, CardToken, SavedInstrument
from ocop.ports.clock import Clock
from ocop.ports.processor import PaymentProcessor, ProcessorCapabilities

__all__ = [
    "DATABASE_VARIABLE",
    "PROCESSOR_VARIABLE",
    "Database",
    "NoProcessor",
    "check_state_files",
    "environment",
    "named_processor",
    "not_empty",
    "open_back_office",
    "open_processor",
    "open_simulators",
    "parse_database",
]

#: The environment variables read (by ``main``, when a command runs) for ``--db`` and
#: ``--processor`` when they are not given.
DATABASE_VARIABLE = "OCOP_DATABASE_URL"
PROCESSOR_VARIABLE = "OCOP_PROCESSOR"

#: The account of the simulator an empty ``sim:`` directory starts with.
DEFAULT_ACCOUNT = "sa-1"


@attrs.frozen(kw_only=True)
class Database:
    """A parsed database URL: a SQLite file, or a PostgreSQL DSN and its schema."""

    url: str
    sqlite_path: Path | None = None
    dsn: str = ""
    schema: str = "ocop"

    @property
    def shown(self) -> str:
        """The URL without a password, for reports (a card number in it masked: T2)."""
        if self.sqlite_path is not None:
            return mask(self.url)
        parts = urlsplit(self.dsn)
        host = parts.hostname or ""
        user = f"{parts.username}@" if parts.username else ""
        port = f":{parts.port}" if parts.port else ""
        return mask(f"{parts.scheme}://{user}{host}{port}{parts.path} (schema {self.schema})")


def parse_database(url: str | None, schema: str | None = None) -> Database:
    """The database a URL names (``schema`` overrides a PostgreSQL URL's ``?schema=``)."""
    if not url:
        raise InvalidArgument(
            f"no database: pass --db URL or set {DATABASE_VARIABLE} "
            "(sqlite:///path.db or postgresql://...)",
            argument="--db",
        )
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if not path:
            raise InvalidArgument("a sqlite URL names a file: sqlite:///path.db", argument="--db")
        if schema:
            raise InvalidArgument(
                "--schema names a PostgreSQL schema; a SQLite database has none",
                argument="--schema",
            )
        return Database(url=url, sqlite_path=Path(path))
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise InvalidArgument("a database URL starts sqlite:/// or postgresql://", argument="--db")
    query = parse_qsl(parts.query, keep_blank_values=True)
    named = [value for key, value in query if key == "schema"]
    rest = [(key, value) for key, value in query if key != "schema"]
    dsn = urlunsplit(parts._replace(query=urlencode(rest)))
    chosen = schema or (named[-1] if named else "ocop")
    return Database(url=url, dsn=dsn, schema=chosen)


def open_back_office(
    database: Database, processor: PaymentProcessor, *, create: bool = False
) -> BackOffice:
    """A back office on ``database`` with the default settings and the system clock,
    checked first (:func:`check_database`): a SQLite file that does not exist, or a
    PostgreSQL schema, is created only when ``create``."""
    check_database(database, create=create)
    if database.sqlite_path is not None:
        return BackOffice.sqlite(database.sqlite_path, processor=processor)
    return BackOffice.postgres(database.dsn, processor=processor, schema=database.schema)


def check_database(database: Database, *, create: bool = False) -> None:
    """Refuse (InvalidArgument) a database that holds another program's tables and none of
    ocop's; and unless ``create``, one that does not exist (a misspelt path or schema is an
    error, not a new empty database) or holds no ocop tables. Nothing is written."""
    argument = "--db"
    if database.sqlite_path is not None:
        where = f"{database.sqlite_path}"
        if database.sqlite_path.is_dir():  # a path typed one level short
            raise InvalidArgument(f"{where} is a folder, not a database file", argument="--db")
        if not database.sqlite_path.exists():
            if create:
                return
            raise InvalidArgument(f"no database file at {where}", argument="--db")
        tables = _sqlite_tables(database.sqlite_path)
        if tables is None:
            return  # no database at all: left for the store to refuse (E3)
    else:
        where, argument = f"the schema {database.schema}", "--schema"
        tables = _schema_tables(database)
    if "ocop_orders" in tables:
        return
    if tables:
        raise InvalidArgument(
            f"{where} holds no ocop tables, but another program's: ocop writes into no "
            "other program's database",
            argument=argument,
        )
    if not create:
        raise InvalidArgument(
            f"{where} holds no ocop tables (misspelt, or another program's database?)",
            argument=argument,
        )


def _schema_tables(database: Database) -> frozenset[str]:
    """The tables of the PostgreSQL schema of ``database``, read without creating it."""
    from ocop.adapters.postgres import _tables_of  # noqa: PLC0415 - needs the extra

    return _tables_of(database.dsn, database.schema)


def _sqlite_tables(path: Path) -> frozenset[str] | None:
    """The tables of the SQLite file at ``path``, read without writing to it; None for a
    file that is no database at all."""
    import sqlite3  # noqa: PLC0415 - only the commands that open a SQLite file need it

    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as raw:
            rows = raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    except sqlite3.Error:
        return None
    return frozenset(row[0] for row in rows)


def named_processor(spec: str | None, command: str) -> str:
    """``spec``, refused when empty: ``ocop command`` calls a processor, never a default."""
    if not spec:
        raise InvalidArgument(
            f"ocop {command} calls the payment processor: name it with --processor "
            f"module:factory (your connector) or --processor sim:DIR (the simulated "
            f"processor, its records in DIR), or set {PROCESSOR_VARIABLE}",
            argument="--processor",
        )
    return spec


@contextmanager
def open_processor(spec: str, clock: Clock) -> Iterator[PaymentProcessor]:
    """The processor ``spec`` names (see the module docstring); simulators opened for
    ``sim:DIR`` are closed at the end (a factory's processor is the factory's to close)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise InvalidArgument(
            f"--processor {quoted(spec)}: expected module:factory or sim:DIR",
            argument="--processor",
        )
    if module_name != "sim":
        yield _from_factory(module_name, attribute)
        return
    folder = Path(attribute)
    try:
        found = folder.is_dir() and any(folder.glob("*.db"))
    except OSError as error:  # a folder it may not read: a bad option
        raise _unusable(attribute, error) from None
    if not found:
        # A new simulator would answer that it never received any call in doubt (N3):
        # recovery would record money that moved as never sent.
        raise InvalidArgument(
            f"--processor sim:DIR: {quoted(attribute)} holds no simulator state file "
            "(DIR/<account>.db): recover asks the simulators that made the calls",
            argument="--processor",
        )
    check_state_files(folder)
    try:
        simulators = open_simulators(folder, clock)
    except OSError as error:
        raise _unusable(attribute, error) from None
    try:
        yield simulators[0] if len(simulators) == 1 else ProcessorRouter(simulators)
    finally:
        for simulator in simulators:
            simulator.close()


def is_the_database(output: Path, database: Database) -> bool:
    """Whether writing ``output`` would write over the SQLite file of ``database`` or one
    of its companions (its journal, its write-ahead log), however the path is spelt."""
    if database.sqlite_path is None:
        return False
    source = database.sqlite_path.resolve()
    names = {source, *(source.with_name(source.name + end) for end in _COMPANIONS)}
    if output.resolve() in names:
        return True
    try:
        return output.exists() and any(output.samefile(name) for name in names if name.exists())
    except OSError:
        return False


#: The files SQLite keeps beside a database ``x.db``: ``x.db-journal``, ``x.db-wal``, ...
_COMPANIONS = ("-journal", "-wal", "-shm")


def keep_apart(database: Database, spec: str) -> None:
    """Refuse a SQLite database among the state files of ``sim:DIR``: each ``DIR/*.db`` is
    opened as a simulator's (InvalidArgument; nothing is opened)."""
    module_name, _, folder = spec.partition(":")
    path = database.sqlite_path
    if module_name != "sim" or not folder or path is None or path.suffix != ".db":
        return
    if path.resolve().parent == Path(folder).resolve():
        raise InvalidArgument(
            "the database is in the simulator's folder, where every *.db file is a "
            "simulator's state file: keep the database elsewhere",
            argument="--processor",
        )


def check_state_files(folder: Path) -> None:
    """Refuse (InvalidArgument) a ``*.db`` in ``folder`` that is not a simulator's state file
    (another program's database, a back office's, a file that is no database): each is
    opened as a simulator's, which writes its table into it. Nothing is written."""
    try:
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        files = sorted(folder.glob("*.db")) if folder.is_dir() else []
    except OSError as error:  # a file, or a folder it may not read: a bad option
        raise _unusable(str(folder), error) from None
    for path in files:
        tables = _sqlite_tables(path) if path.is_file() else None
        if tables is None or (tables and _STATE_TABLE not in tables):
            raise InvalidArgument(
                f"--processor sim:DIR: {quoted(path.name)} is not a simulator's state file, "
                "and every DIR/*.db is taken for one: keep other files out of DIR",
                argument="--processor",
            )


#: The table of a simulator's state file (an empty file is a new one).
_STATE_TABLE = "sim_records"


def simulator_folder(name: str) -> Path:
    """The folder of ``sim:DIR``, made if missing; a file, or a folder it may not write,
    is a bad option (:class:`InvalidArgument`)."""
    folder = Path(name)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _unusable(name, error) from None
    return folder


def _unusable(name: str, error: OSError) -> InvalidArgument:
    return InvalidArgument(
        f"--processor sim:DIR: {quoted(name)} is not a folder it can use ({error.strerror})",
        argument="--processor",
    )


def open_simulators(folder: Path, clock: Clock) -> list[SimulatedProcessor]:
    """A simulator for each state file in ``folder``, sorted by account (the file's name);
    one for ``sa-1`` when there is none."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {path.stem: path for path in folder.glob("*.db")}
    if not files:
        files[DEFAULT_ACCOUNT] = folder / f"{DEFAULT_ACCOUNT}.db"
    return [
        SimulatedProcessor(clock=clock, service_account=account, state=files[account])
        for account in sorted(files)
    ]


def _from_factory(module_name: str, attribute: str) -> PaymentProcessor:
    """``module_name.attribute()``; a module or factory that fails is a bad option, told
    in one line (its error's type and masked text), never a traceback."""
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidArgument(
            f"--processor: cannot import {module_name} ({exc})", argument="--processor"
        ) from exc
    except OcopError:
        raise  # ocop's own errors are masked already and say what they are
    except Exception as exc:  # noqa: BLE001 - the user's code: any error is theirs to fix
        raise _failed(f"importing {module_name}", exc) from None
    factory: Callable[[], PaymentProcessor] | None = getattr(module, attribute, None)
    if not callable(factory):
        raise InvalidArgument(
            f"--processor: {module_name} has no factory {attribute}", argument="--processor"
        )
    try:
        return factory()
    except OcopError:
        raise
    except Exception as exc:  # noqa: BLE001 - as above
        raise _failed(f"{module_name}:{attribute}()", exc) from None


def _failed(what: str, error: Exception) -> InvalidArgument:
    return InvalidArgument(
        f"--processor: {what} failed: {type(error).__name__}: {mask(str(error))}",
        argument="--processor",
    )


class NoProcessor:
    """The processor of a command that calls none: every call is refused.

    It lets a read-only command open a durable back office (whose factories need a
    processor) without naming one; a call reaching it is a bug, said loudly."""

    @property
    def capabilities(self) -> ProcessorCapabilities:
        return ProcessorCapabilities(connector="none", service_account="none")

    def _refuse(self) -> NoReturn:
        raise InvalidArgument(
            "this command was given no processor and cannot call one", argument="--processor"
        )

    def authorize(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        self._refuse()

    def adjust(self, key: str, authorization: AuthorizationToken, amount: Money) -> ProcessorResult:
        self._refuse()

    def capture(
        self, key: str, authorization: AuthorizationToken, amount: Money
    ) -> ProcessorResult:
        self._refuse()

    def void(self, key: str, authorization: AuthorizationToken) -> ProcessorResult:
        self._refuse()

    def refund(self, key: str, capture: CaptureToken, amount: Money) -> ProcessorResult:
        self._refuse()

    def unlinked_refund(self, key: str, card: CardToken, amount: Money) -> ProcessorResult:
        self._refuse()

    def tokenize(self, key: str, customer_id: str, instrument_id: str, cvv: str) -> ProcessorResult:
        self._refuse()

    def save_instrument(self, customer_id: str, card: CardToken) -> SavedInstrument:
        self._refuse()

    def instruments(self, customer_id: str) -> tuple[SavedInstrument, ...]:
        self._refuse()

    def lookup(self, key: str) -> ProcessorResult:
        self._refuse()


def environment(environ: Mapping[str, str], name: str, given: str | None) -> str | None:
    """``given``, else the variable ``name`` of ``environ`` (read when a command runs)."""
    return given if given else environ.get(name) or None


def not_empty(given: str | None, option: str) -> None:
    """Refuse (InvalidArgument) an option given an empty value: it is not left out, and
    the default it would fall back to (a variable's database, the ``ocop`` schema) is
    another one than meant."""
    if given is not None and not given:
        raise InvalidArgument(
            f"{option} is empty: give a value, or leave the option out", argument=option
        )
