"""E3: which StorageError each driver error becomes, by its result code or SQLSTATE.

The integration tests provoke the errors a test can provoke (a locked file, a closed
port, a NUL character ...); these cases name the others: each SQLite result code and
PostgreSQL SQLSTATE the stores may meet, built as the driver would raise it. No
message repeats the driver's text, which may hold the value that failed.
"""

from __future__ import annotations

import sqlite3

import psycopg
import pytest

from ocop import StorageBusy, StorageError, StorageLimitExceeded, StorageUnavailable
from ocop.adapters import postgres, sqlite

#: Stands for the value a driver's message may repeat.
MARKER = "MARKERVALUE"


def sqlite_error(kind: type[sqlite3.Error], code: int, name: str) -> sqlite3.Error:
    """An error of sqlite3 carrying a result code, as sqlite3 raises it."""
    error = kind(f"failed on {MARKER}")
    error.sqlite_errorcode = code
    error.sqlite_errorname = name
    return error


SQLITE_CASES = [
    (sqlite_error(sqlite3.OperationalError, 5, "SQLITE_BUSY"), StorageBusy),
    (sqlite_error(sqlite3.OperationalError, 517, "SQLITE_BUSY_SNAPSHOT"), StorageBusy),
    (sqlite_error(sqlite3.OperationalError, 6, "SQLITE_LOCKED"), StorageBusy),
    (sqlite_error(sqlite3.OperationalError, 14, "SQLITE_CANTOPEN"), StorageUnavailable),
    (sqlite_error(sqlite3.OperationalError, 778, "SQLITE_IOERR_WRITE"), StorageUnavailable),
    (sqlite_error(sqlite3.OperationalError, 8, "SQLITE_READONLY"), StorageUnavailable),
    (sqlite_error(sqlite3.OperationalError, 13, "SQLITE_FULL"), StorageLimitExceeded),
    (sqlite_error(sqlite3.DataError, 18, "SQLITE_TOOBIG"), StorageLimitExceeded),
    (sqlite_error(sqlite3.DatabaseError, 26, "SQLITE_NOTADB"), StorageError),
    (sqlite_error(sqlite3.DatabaseError, 11, "SQLITE_CORRUPT"), StorageError),
    (sqlite_error(sqlite3.OperationalError, 1, "SQLITE_ERROR"), StorageError),
    (sqlite3.ProgrammingError(f"Cannot operate on {MARKER}"), StorageError),
    (UnicodeEncodeError("utf-8", MARKER, 0, 1, "surrogates not allowed"), StorageLimitExceeded),
    (UnicodeDecodeError("utf-8", MARKER.encode(), 0, 1, "invalid start byte"), StorageError),
    (OverflowError(f"Python int too large: {MARKER}"), StorageLimitExceeded),
]


@pytest.mark.parametrize(("error", "expected"), SQLITE_CASES, ids=repr)
def test_sqlite_errors_become_the_storage_error_of_their_kind(
    error: Exception, expected: type[StorageError]
) -> None:
    """Each SQLite result code (extended codes by their primary one) maps to one StorageError
    kind, its message naming the code but not the driver's text."""
    mapped = sqlite._translate(error)
    assert type(mapped) is expected
    assert MARKER not in str(mapped)


def pg_error(sqlstate: str) -> psycopg.Error:
    """The error psycopg raises for a server error with this SQLSTATE."""
    return psycopg.errors.lookup(sqlstate)(f"failed on {MARKER}")


PG_CASES = [
    (pg_error("40001"), StorageBusy),  # serialization failure
    (pg_error("40P01"), StorageBusy),  # deadlock detected
    (pg_error("55P03"), StorageBusy),  # lock not available (lock_timeout)
    (pg_error("57014"), StorageBusy),  # query canceled (statement_timeout)
    (pg_error("53300"), StorageBusy),  # too many connections
    (pg_error("08006"), StorageUnavailable),  # connection failure
    (pg_error("28P01"), StorageUnavailable),  # invalid password
    (pg_error("57P01"), StorageUnavailable),  # admin shutdown
    (pg_error("3D000"), StorageUnavailable),  # no such database
    (pg_error("3F000"), StorageUnavailable),  # no such schema
    (psycopg.OperationalError(f"connection lost near {MARKER}"), StorageUnavailable),
    # A connection the server refuses as it starts, for want of a free one: psycopg gives
    # it no SQLSTATE, only the server's text (what a real server says, role names aside).
    *(
        (psycopg.OperationalError(f'connection to "{MARKER}" failed: FATAL:  {text}'), StorageBusy)
        for text in (
            "sorry, too many clients already",
            f'too many connections for role "{MARKER}"',
            f'too many connections for database "{MARKER}"',
            "remaining connection slots are reserved for roles with the SUPERUSER attribute",
        )
    ),
    # The same words in a name the server repeats (a database or role that does not
    # exist) are not its refusal for want of a free connection: only its own words are.
    *(
        (
            psycopg.OperationalError(
                f'connection failed: connection to server at "{MARKER}", port 5432 failed: '
                f"FATAL:  {text} does not exist"
            ),
            StorageUnavailable,
        )
        for text in (
            'database "sorry, too many clients already"',
            'role "too many connections for role x"',
            'database "remaining connection slots are reserved"',
        )
    ),
    (pg_error("22001"), StorageLimitExceeded),  # string data right truncation
    (pg_error("22021"), StorageLimitExceeded),  # character not in repertoire
    (pg_error("54000"), StorageLimitExceeded),  # program limit exceeded
    (pg_error("53100"), StorageLimitExceeded),  # disk full
    (
        psycopg.DataError(f"{MARKER}: text fields cannot contain NUL (0x00) bytes"),
        StorageLimitExceeded,
    ),
    (psycopg.DataError(f"cannot dump {MARKER}"), StorageLimitExceeded),
    (UnicodeEncodeError("utf-8", MARKER, 0, 1, "surrogates not allowed"), StorageLimitExceeded),
    (pg_error("23505"), StorageError),  # unique violation
    (pg_error("42P01"), StorageError),  # undefined table
    (psycopg.errors.PipelineAborted(f"aborted near {MARKER}"), StorageError),
    (psycopg.ProgrammingError(f"cannot adapt {MARKER}"), StorageError),
]


@pytest.mark.parametrize(("error", "expected"), PG_CASES, ids=repr)
def test_postgres_errors_become_the_storage_error_of_their_kind(
    error: Exception, expected: type[StorageError]
) -> None:
    """Each SQLSTATE (or client-side error of psycopg) maps to one StorageError kind, its
    message naming the SQLSTATE but not the driver's text."""
    mapped = postgres._translate(error)
    assert type(mapped) is expected
    assert MARKER not in str(mapped)
    state = getattr(error, "sqlstate", None)
    assert state is None or state in str(mapped)


@pytest.mark.parametrize("error", [ValueError("x"), KeyError("x"), RuntimeError("x")])
def test_errors_of_anything_but_the_driver_are_left_alone(error: Exception) -> None:
    """An error that is not the driver's is not translated (it is raised as it is)."""
    assert sqlite._translate(error) is None
    assert postgres._translate(error) is None
