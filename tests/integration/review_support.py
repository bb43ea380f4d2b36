"""What a database of schema version 6 looks like: migration 7 (the review list's looked-up
columns and their indexes) undone by hand."""

from __future__ import annotations

from collections.abc import Callable


def undo_review_lookups(run: Callable[[str], object]) -> None:
    """Drop migration 7's indexes and columns of ``ocop_review``."""
    run("DROP INDEX IF EXISTS ocop_review_by_order")
    run("DROP INDEX IF EXISTS ocop_review_by_dispute")
    for column in ("order_key", "event", "dispute"):
        run(f"ALTER TABLE ocop_review DROP COLUMN {column}")
