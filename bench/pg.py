"""The PostgreSQL server the benchmarks use, and a private schema on it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


def server() -> str:
    """The server named by ``OCOP_TEST_POSTGRES`` (the tests' variable), or the default."""
    return os.environ.get("OCOP_TEST_POSTGRES", DEFAULT)


def unreachable() -> str | None:
    """Why the PostgreSQL rows cannot run, or None when they can."""
    try:
        import psycopg  # noqa: PLC0415 - the postgres extra is optional
    except ImportError:
        return "psycopg is not installed (pip install 'ocop[postgres]')"
    try:
        with psycopg.connect(server(), connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        return f"no server at OCOP_TEST_POSTGRES ({type(error).__name__})"
    return None


@contextmanager
def private_schema() -> Iterator[str]:
    """A connection string whose search path is a fresh schema, dropped afterwards."""
    import psycopg  # noqa: PLC0415 - the postgres extra is optional

    name = f"ocop_bench_{uuid.uuid4().hex[:12]}"
    base = server()
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {name}")
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options={quote(f'-csearch_path={name}')}"
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {name} CASCADE")
