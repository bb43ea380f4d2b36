"""A private PostgreSQL schema per test, on the server named by ``OCOP_TEST_POSTGRES``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import psycopg

DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


def server() -> str:
    """The test server's address (read when a test runs, never at import of ocop)."""
    return os.environ.get("OCOP_TEST_POSTGRES", DEFAULT)


@contextmanager
def private_schema() -> Iterator[str]:
    """A connection string whose search path is a fresh schema, dropped afterwards."""
    name = f"ocop_test_{uuid.uuid4().hex[:12]}"
    base = server()
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {name}")
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options={quote(f'-csearch_path={name}')}"
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {name} CASCADE")
