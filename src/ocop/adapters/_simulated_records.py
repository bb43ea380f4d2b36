"""The simulated processor's records: immutable values in named tables.

Every record is a frozen attrs value kept in a :class:`Table` by name. A table
remembers which names changed since it was last saved, so the durable mode
(:mod:`ocop.adapters._simulated_file`) writes only those, in one transaction per
call. No record holds a card number or a CVV: card tokens are checked by the card
guard, and a CVV given to ``tokenize`` is dropped before anything is recorded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

import attrs

from ocop.domain.money import Money
from ocop.domain.operations import ProcessorResult
from ocop.domain.tokens import CardToken, SavedInstrument

__all__ = [
    "Auth",
    "Capture",
    "Counter",
    "KeyRecord",
    "LedgerEntry",
    "Pending",
    "Records",
    "Request",
    "Table",
]

V = TypeVar("V")


@attrs.frozen(kw_only=True)
class LedgerEntry:
    """One money movement (or authorization change) the processor carried out."""

    kind: str
    key: str
    amount: Money
    reference: str
    target: str
    at: datetime


@attrs.frozen(kw_only=True)
class Request:
    """What a call asked for, compared when its key is used again (rule O4).

    ``target``: the card, authorization or capture token value (a customer id for
    tokenize, whose ``instrument`` is the saved instrument's id).
    """

    kind: str
    target: str
    amount: Money | None = None
    instrument: str = ""


@attrs.frozen(kw_only=True)
class KeyRecord:
    """What the processor knows of one operation key.

    ``answer`` set: the call was carried out (or declined), and this is its answer.
    ``answer`` None and ``spent`` False: the request was lost on the way
    (``timeout_before``); a retry with the same request is still carried out.
    ``spent``: a lookup found nothing, and the key is never carried out later.
    """

    request: Request | None = None
    answer: ProcessorResult | None = None
    spent: bool = False


@attrs.frozen(kw_only=True)
class Auth:
    card: CardToken
    amount: Money
    captured: Money
    voided: Money
    created_at: datetime
    multi_capture: bool

    @property
    def open(self) -> Money:
        return self.amount - self.captured - self.voided


@attrs.frozen(kw_only=True)
class Capture:
    """A capture; ``pending`` while its own outcome is not settled (it cannot be refunded)."""

    amount: Money
    refunded: Money
    pending: bool = False


@attrs.frozen(kw_only=True)
class Pending:
    """An operation answered pending, waiting for ``settle_pending`` (N1).

    ``seq``: the order it was made in. ``answer``: the approved answer it becomes;
    ``entry``: its ledger entry once approved. What a decline gives back: ``target``
    is the authorization (capture, void, adjust) or capture (refund) it acted on;
    ``released`` what a capture closing a single-capture authorization, or a void,
    released; ``previous`` an adjusted authorization's total before the adjustment.
    """

    seq: int
    kind: str
    request: Request
    answer: ProcessorResult
    entry: LedgerEntry
    target: str
    released: Money | None = None
    previous: Money | None = None


@attrs.frozen
class Counter:
    value: int


class Table(Generic[V]):
    """Records of one type by name, in the order they were first put."""

    def __init__(self, name: str, cls: type[V]) -> None:
        self.name = name
        self.cls = cls
        self.rows: dict[str, V] = {}
        #: Names put or dropped since the last save, in the order first changed (a dict
        #: as an ordered set: names new since the last save are in the order first put).
        self.changed: dict[str, None] = {}

    def __contains__(self, name: str) -> bool:
        return name in self.rows

    def __len__(self) -> int:
        return len(self.rows)

    def get(self, name: str) -> V | None:
        return self.rows.get(name)

    def put(self, name: str, value: V) -> None:
        self.rows[name] = value
        self.changed[name] = None

    def drop(self, name: str) -> None:
        """Forget the record of ``name``, which is there."""
        del self.rows[name]
        self.changed[name] = None

    def values(self) -> list[V]:
        return list(self.rows.values())


class Records:
    """Everything the processor remembers (test scripts and the call count aside)."""

    def __init__(self) -> None:
        self.keys = Table("keys", KeyRecord)
        self.auths = Table("auths", Auth)
        self.captures = Table("captures", Capture)
        self.instruments = Table("instruments", SavedInstrument)
        self.ledger = Table("ledger", LedgerEntry)
        self.pending = Table("pending", Pending)
        self.counters = Table("counters", Counter)

    def __repr__(self) -> str:
        # Every record shows: tests read it to check that no card data is kept (T1).
        return f"{type(self).__name__}({ {t.name: t.rows for t in self.tables()}!r})"

    def tables(self) -> tuple[Table[object], ...]:
        return (
            self.keys,
            self.auths,
            self.captures,
            self.instruments,
            self.ledger,
            self.pending,
            self.counters,
        )  # type: ignore[return-value]  # each Table[X] is read as records of X

    def next(self, counter: str) -> int:
        """The next value of a counter (1 first), recorded."""
        found = self.counters.get(counter)
        value = (found.value if found is not None else 0) + 1
        self.counters.put(counter, Counter(value))
        return value

    def append(self, entry: LedgerEntry) -> None:
        self.ledger.put(f"{len(self.ledger):012d}", entry)

    def save(self) -> None:
        """Make the changes since the last save durable (in memory: forget them)."""
        for table in self.tables():
            table.changed.clear()

    def close(self) -> None:
        """Release what the records hold open (in memory: nothing)."""
