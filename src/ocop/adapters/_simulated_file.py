"""The simulated processor's durable mode: its records in one SQLite file.

One table, ``sim_records(collection, name, seq, body)``: each record is the JSON
of its value (:mod:`ocop.adapters._codec`), ``seq`` the order it was first written.
Opening the file reads every record back; each call then writes the records it
changed in one transaction, before it answers (or raises
:class:`~ocop.adapters.simulated.SimulatedCrash`), so a new simulator on the same
file knows every key the old one answered. One process at a time: the simulator's
lock keeps its threads apart, and the connection is used only under it.
"""

from __future__ import annotations

import os
import sqlite3

from ocop.adapters._codec import loads
from ocop.adapters._simulated_records import Records
from ocop.adapters._writer import dumps
from ocop.domain.errors import StorageUnavailable

__all__ = ["FileRecords"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sim_records (
    collection TEXT NOT NULL,
    name TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (collection, name)
)
"""

#: ``MAX(seq)`` at each write is read from this index, not from a scan of every record.
_SEQ_INDEX = "CREATE INDEX IF NOT EXISTS sim_records_seq ON sim_records (seq)"

_UPSERT = """
INSERT INTO sim_records (collection, name, seq, body)
VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM sim_records), ?)
ON CONFLICT (collection, name) DO UPDATE SET body = excluded.body
"""


class FileRecords(Records):
    """:class:`Records` kept in a SQLite file: loaded when opened, saved after each call."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        try:
            self._db = sqlite3.connect(os.fspath(path), check_same_thread=False)
            # As the store's files: a commit survives the process dying, with no sync to
            # disk at each call (only a power cut could lose the last ones).
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            with self._db:
                self._db.execute(_SCHEMA)
                self._db.execute(_SEQ_INDEX)
            rows = self._db.execute(
                "SELECT collection, name, body FROM sim_records ORDER BY seq"
            ).fetchall()
        except sqlite3.Error as exc:
            raise StorageUnavailable("the simulator's state file cannot be opened") from exc
        tables = {table.name: table for table in self.tables()}
        for collection, name, body in rows:
            table = tables[collection]
            table.rows[name] = loads(body, table.cls)

    def save(self) -> None:
        writes: list[tuple[str, str, str]] = []
        deletes: list[tuple[str, str]] = []
        for table in self.tables():
            # In the order first put, so that ``seq`` keeps it when read back: a name new
            # since the last save was first changed when it was first put (one already
            # stored keeps its ``seq``). Only the changed names are visited.
            for name in table.changed:
                if name in table:
                    writes.append((table.name, name, dumps(table.rows[name])))
                else:
                    deletes.append((table.name, name))
        if not writes and not deletes:
            return
        try:
            with self._db:
                self._db.executemany(
                    "DELETE FROM sim_records WHERE collection = ? AND name = ?", deletes
                )
                self._db.executemany(_UPSERT, writes)
        except sqlite3.Error as exc:
            raise StorageUnavailable("the simulator's state file cannot be written") from exc
        super().save()

    def close(self) -> None:
        self._db.close()
