"""The ``ocop`` command line (a driving adapter).

``ocop demo`` walks through what the library does, on the simulated processor. The
operations commands work on a database named by ``--db`` (or ``OCOP_DATABASE_URL``):
``orders`` lists order ids by the filters of ``bo.orders``, ``show`` one order's lines,
holds and operations, ``journal export`` the journal as CSV (UTF-8), ``recover`` resolves
what is in doubt, and ``simulate`` runs a workload with faults and reconciles it (on a
database with no call left in doubt by an earlier run). A command that calls a processor
is told which (``--processor``, or ``OCOP_PROCESSOR``). Results go to stdout, progress,
errors and the library's log lines to stderr, one line each, never a traceback. Exit
status: 0 done; 1 an error, or something left for a person (a recovery that could not
decide everything, or left work for the next run because the store failed, a
reconciliation with differences); 2 a usage error (an option given
empty too); 130 interrupted (Ctrl-C), in one line. ``docs/cli.md`` says it all.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import NoReturn, TextIO, cast

from ocop._backoffice import BackOffice
from ocop.adapters._cli_export import write_csv, write_file
from ocop.adapters._cli_logs import logs_to
from ocop.adapters._cli_masking import masked, masked_usage, runs_of
from ocop.adapters._cli_stdout import OutputFailed, ReaderGone, Stdout, in_utf8, silence_stdout
from ocop.adapters._cli_wiring import (
    DATABASE_VARIABLE,
    PROCESSOR_VARIABLE,
    Database,
    NoProcessor,
    check_database,
    check_state_files,
    environment,
    is_the_database,
    keep_apart,
    named_processor,
    not_empty,
    open_back_office,
    open_processor,
    parse_database,
    simulator_folder,
)
from ocop.adapters._demo import run_demo
from ocop.adapters._simulation import Simulation, orders_in_doubt, simulate
from ocop.adapters._sql import SqlStore
from ocop.adapters._tables import lines_table, table
from ocop.adapters.memory import SystemClock
from ocop.domain.cardguard import refuse_card_data
from ocop.domain.cardnumbers import quoted
from ocop.domain.errors import InvalidArgument, InvalidInput, OcopError
from ocop.domain.order import Order, OrderStatus
from ocop.domain.outcomes import Outcome
from ocop.domain.renewal import ReleaseVoid
from ocop.ports.processor import PaymentProcessor

__all__ = ["main"]


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run one command (``argv``, default ``sys.argv[1:]``); its exit status. ``environ``:
    where ``OCOP_DATABASE_URL`` and ``OCOP_PROCESSOR`` are read (default ``os.environ``)."""
    typed = tuple(sys.argv[1:] if argv is None else argv)
    given = _GIVEN.set(typed)
    try:
        args = _parser().parse_args(argv)
    finally:
        _GIVEN.reset(given)
    args.environ = os.environ if environ is None else environ
    read = [args.environ.get(name, "") for name in (DATABASE_VARIABLE, PROCESSOR_VARIABLE)]
    out = cast(TextIO, Stdout(sys.stdout))
    err = Stdout.stderr()  # its escapes masked as ocop's (T2)
    try:
        with logs_to(err, args.command):  # one line a record, never a traceback
            if args.command == "demo":
                run_demo(out)
                status = 0
            else:
                status = int(args.run(args, out, err))
        out.flush()  # here, so that a reader gone is met before the interpreter exits
        return status
    except OcopError as error:
        # Masked when raised; masked again as usage errors are, read with what was typed.
        shown = masked(str(error), [*runs_of(typed), *read])
        print(f"ocop {args.command}: error: {shown}", file=err)
        return 2 if isinstance(error, InvalidInput) else 1
    except ReaderGone:
        silence_stdout()
        return 1
    except OutputFailed as failed:  # a full disk: said once, and not again at exit
        silence_stdout()
        print(f"ocop {args.command}: error: cannot write the output ({failed})", file=err)
        return 1
    except KeyboardInterrupt:  # Ctrl-C: what each call committed stays (O1), nothing more
        print(f"ocop {args.command}: interrupted{_LEFT.get(args.command, '')}", file=err)
        return 130


#: What an interrupted command leaves, for a person to finish.
_LEFT = {
    "simulate": ": what was done is stored; run ocop recover for the calls it left in doubt "
    "(no reconciliation was made)",
    "recover": ": what was done is stored; run ocop recover again for the calls still in doubt",
}


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors masked: they quote what was given (``invalid
    choice: '4111...'``) or join it as typed (``unrecognized arguments: ...``), and no
    card number is ever echoed (T2). argparse quotes with ``repr()``, whose escapes end in
    digits that would run on into a card number after them (``\\x014111...``): each
    escape is shown as ``\\?`` before masking. A card number typed with escapes or
    control characters between or around its digits is looked for in the message and in
    what was typed, read two ways (an escape with its digits, or a backslash and its
    letter, as a space): when one is found, every number in the message is masked."""

    def error(self, message: str) -> NoReturn:
        err = Stdout.stderr()
        self.print_usage(err)
        shown = masked_usage(message, _GIVEN.get())
        err.write(f"{self.prog}: error: {shown}\n")
        self.exit(2)


#: The arguments of the command being parsed, for :meth:`_Parser.error`.
_GIVEN: ContextVar[Sequence[str]] = ContextVar("_GIVEN", default=())


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ocop", description="Omni-channel order payments.")
    parser.add_argument("--version", action="version", version=f"ocop {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="walk through the payment rules on a simulated processor")
    database = _Parser(add_help=False)
    database.add_argument(
        "--db", metavar="URL",
        help=f"sqlite:///path.db or postgresql://... (default: ${DATABASE_VARIABLE})",
    )  # fmt: skip
    database.add_argument(
        "--schema", help="the PostgreSQL schema (default: the URL's ?schema=, else ocop)"
    )
    processor = _Parser(add_help=False)
    processor.add_argument(
        "--processor", metavar="SPEC",
        help="module:factory (factory() returns your processor) or sim:DIR (the simulated "
        f"processor, its records in DIR) (default: ${PROCESSOR_VARIABLE})",
    )  # fmt: skip

    orders = commands.add_parser(
        "orders", parents=[database], help="list order ids, filtered as bo.orders()"
    )
    orders.add_argument("--on-hold", action=argparse.BooleanOptionalAction, default=None)
    orders.add_argument("--in-doubt", action=argparse.BooleanOptionalAction, default=None)
    orders.add_argument("--expiring-before", type=_moment, metavar="ISO-8601")
    orders.add_argument("--status", choices=[s.value for s in OrderStatus])
    orders.add_argument("--limit", type=int, help="at most this many ids")
    orders.add_argument("--after", metavar="ORDER", help="the ids placed after this one")
    orders.set_defaults(run=_orders)

    show = commands.add_parser(
        "show", parents=[database], help="an order: lines, holds, operations, vouchers"
    )
    show.add_argument("order", metavar="ORDER")
    show.set_defaults(run=_show)

    journal = commands.add_parser("journal", help="the payment journal")
    exports = journal.add_subparsers(dest="action", required=True)
    export = exports.add_parser(
        "export", parents=[database], help="vouchers as CSV, one row per voucher line"
    )
    export.add_argument("--order", action="append", default=[], metavar="ORDER",
                        help="only this order's vouchers (repeatable)")  # fmt: skip
    export.add_argument("--output", type=Path, metavar="FILE", help="default: stdout")
    export.set_defaults(run=_export)

    recover = commands.add_parser(
        "recover", parents=[database, processor], help="resolve processor calls in doubt"
    )
    recover.set_defaults(run=_recover)

    sim = commands.add_parser(
        "simulate", parents=[database, processor],
        help="a workload of orders with faults, then recovery and reconciliation",
    )  # fmt: skip
    sim.add_argument("--orders", type=int, default=1_000, help="how many (default 1000)")
    sim.add_argument(
        "--faults",
        type=float,
        default=0.0,
        help="the share of processor calls given a fault, 0 to 1 (default 0)",
    )
    sim.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    sim.add_argument("--seed", type=int, default=1, help="the workload's seed (default 1)")
    sim.set_defaults(run=_simulate)
    return parser


def _version() -> str:
    """The installed distribution's version (sources run without installing have none)."""
    try:
        return version("ocop")
    except PackageNotFoundError:
        return "(not installed)"


def _moment(text: str) -> datetime:
    """An ISO 8601 moment with its time zone. The messages' own words hold no digits: once
    a card number was typed, every number of a message is masked (E2)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"not an ISO date and time: {quoted(text)} (such as YYYY-MM-DDThh:mmZ)"
        ) from exc
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"give a time zone (Z, or an offset such as +hh:mm): {quoted(text)}"
        )
    return moment


def _database(args: argparse.Namespace) -> Database:
    not_empty(args.db, "--db")  # not left out: never the variable's database instead
    not_empty(args.schema, "--schema")  # nor the default schema
    return parse_database(environment(args.environ, DATABASE_VARIABLE, args.db), args.schema)


def _processor_spec(args: argparse.Namespace) -> str:
    not_empty(args.processor, "--processor")
    given = environment(args.environ, PROCESSOR_VARIABLE, args.processor)
    return named_processor(given, args.command)


def _open(args: argparse.Namespace, processor: PaymentProcessor | None = None) -> BackOffice:
    database = _database(args)
    return open_back_office(database, processor if processor is not None else NoProcessor())


def _close(bo: BackOffice) -> None:
    if isinstance(bo.ports.store, SqlStore):
        bo.ports.store.close()


def _orders(args: argparse.Namespace, out: TextIO, _err: TextIO) -> int:
    bo = _open(args)
    try:
        ids = bo.orders(
            on_hold=args.on_hold,
            in_doubt=args.in_doubt,
            expiring_before=args.expiring_before,
            status=None if args.status is None else OrderStatus(args.status),
            limit=args.limit,
            after=args.after,
        )
    finally:
        _close(bo)
    out.writelines(f"{order_id}\n" for order_id in ids)
    return 0


def _show(args: argparse.Namespace, out: TextIO, _err: TextIO) -> int:
    bo = _open(args)
    try:
        order = bo.order(args.order)
        operations = bo.operations(args.order)
        vouchers = bo.journal(args.order)
    finally:
        _close(bo)
    out.write(_summary(order))
    out.write("\nlines\n" + lines_table(order.lines) + "\n")
    if order.holds:
        rows: list[list[object]] = [
            [h.code.value, h.reason_code or "", h.reason, h.placed_by, h.placed_at, h.note]
            for h in order.holds
        ]
        out.write("\nholds\n" + table(
            ["hold", "code", "reason", "placed by", "placed at", "note"], rows) + "\n")  # fmt: skip
    else:
        out.write("\nholds: none\n")
    if order.released_holds:
        rows = [[r.code.value, r.released_by, r.released_at, r.override]
                for r in order.released_holds]  # fmt: skip
        out.write("\nreleased holds\n" + table(
            ["hold", "released by", "released at", "override"], rows) + "\n")  # fmt: skip
    rows = [
        [op.key, op.kind.value, op.amount or "", op.outcome.value, op.reason, op.at]
        for op in operations
    ]
    out.write("\noperations\n" + table(
        ["key", "kind", "amount", "outcome", "reason", "at"], rows) + "\n")  # fmt: skip
    rows = [[v.voucher_id, v.journal_name, v.kind.value, v.amount, v.reference]
            for v in vouchers]  # fmt: skip
    out.write("\nvouchers\n" + table(
        ["voucher", "journal", "kind", "amount", "reference"], rows) + "\n")  # fmt: skip
    return 0


def _summary(order: Order) -> str:
    customer = order.customer.customer_id or "guest"
    # What the status does not say already (a held order may also need completion).
    waiting = order.needs_completion and order.status is not OrderStatus.PENDING_COMPLETION
    flags = " (needs completion)" if waiting else ""
    return (
        f"order {order.order_id}: {order.status.value}{flags}\n"
        f"channel {order.channel.value}, {order.payments_type.value} payments, "
        f"customer {customer}, placed {order.placed_at}\n"
        f"total {order.total}, invoiced {order.invoiced}, received {order.received}, "
        f"refunded {order.refunded}, balance due {order.balance_due}\n"
    )


def _export(args: argparse.Namespace, out: TextIO, _err: TextIO) -> int:
    if args.output is not None and is_the_database(args.output, _database(args)):
        raise InvalidArgument(
            f"--output {quoted(str(args.output))} is the database the journal is read from; "
            "name another file",
            argument="--output",
        )
    bo = _open(args)
    try:
        if args.order:
            # An order named twice is exported once (each voucher is one row per line); an
            # order the store does not have (a misspelt id) is an error, as for ``show``.
            named = list(dict.fromkeys(args.order))
            for order_id in named:
                bo.order(order_id)
            vouchers = [v for order_id in named for v in bo.journal(order_id)]
        else:
            vouchers = list(bo.ports.journal.vouchers())
    finally:
        _close(bo)
    if args.output is None:
        write_csv(in_utf8(out), vouchers)  # UTF-8 as in a file, whatever the terminal's
        return 0
    write_file(args.output, vouchers)  # whole, or not at all
    return 0


def _recover(args: argparse.Namespace, out: TextIO, _err: TextIO) -> int:
    spec, database = _processor_spec(args), _database(args)
    keep_apart(database, spec)
    check_database(database)  # before the processor: a simulator would make its files
    with open_processor(spec, SystemClock()) as processor:
        bo = _open(args, processor)
        try:
            report = bo.recover()
        finally:
            _close(bo)
    rows = [
        ("resolved", report.resolved),
        ("still in doubt", report.still_in_doubt),
        ("pending", report.pending),
        ("for reconciliation", report.for_reconciliation),
        ("unapplied", report.unapplied),
        ("renewals finished", report.renewals),
        ("placements finished", report.completions),
        ("voids sent to release", [_release(void) for void in report.releases]),
    ]
    for name, keys in rows:
        out.write(f"{name}: {len(keys)}\n")
        out.writelines(f"  {key}\n" for key in keys)
    out.write(f"vouchers posted: {report.vouchers_posted}\n")
    out.write(f"deferred to the next run: {len(report.deferred)}\n")
    out.writelines(f"  {item}\n" for item in report.deferred)
    # A void this run sent to release an authorization and left in doubt is a call in
    # doubt too (the next recovery asks about it): a person runs recover again.
    unsure = any(void.outcome is Outcome.UNKNOWN for void in report.releases)
    # Work the store failed on (E3) was skipped: the run is not whole until one that is.
    left = report.still_in_doubt or report.for_reconciliation or report.unapplied or unsure
    left = left or report.deferred
    return 1 if left else 0


def _release(void: ReleaseVoid) -> str:
    amount = "" if void.amount is None else f", {void.amount}"
    return f"{void.key} ({void.outcome.value}{amount})"


def _simulate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    database = _database(args)
    spec = _processor_spec(args)
    if not spec.startswith("sim:") or spec == "sim:":
        raise InvalidArgument(
            "ocop simulate injects faults through the simulated processor: "
            "--processor sim:DIR (its records go in DIR)",
            argument="--processor",
        )
    if args.orders < 1 or args.workers < 1 or not 0 <= args.faults <= 1:
        raise InvalidArgument(  # in words: a card number typed masks every digit (E2)
            "--orders and --workers are at least one, --faults between zero and one",
            argument="simulate",
        )
    for name in ("seed", "orders", "workers"):  # T2: the report prints them back
        refuse_card_data(str(getattr(args, name)), name)
    keep_apart(database, spec)
    check_state_files(Path(spec.removeprefix("sim:")))
    check_database(database, create=True)
    if database.sqlite_path is not None and not database.sqlite_path.parent.is_dir():
        raise InvalidArgument(
            f"no folder for the database file {database.sqlite_path}", argument="--db"
        )
    earlier = orders_in_doubt(database)
    if earlier:  # asked of this run's new simulators, they would be "never received" (N3)
        raise InvalidArgument(
            f"the database holds {earlier} order{'s' if earlier > 1 else ''} with calls in "
            "doubt from before this run: resolve them first with ocop recover --processor "
            "sim:DIR, DIR the folder of the run that made them",
            argument="--db",
        )
    options = Simulation(
        orders=args.orders,
        faults=args.faults,
        workers=min(args.workers, args.orders),
        seed=args.seed,
        database=database,
        folder=simulator_folder(spec.removeprefix("sim:")),
    )
    return simulate(options, out, err)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
