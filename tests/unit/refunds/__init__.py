"""Refund tests: linked refunds over captures, fallback, unlinked refunds, retries (R1-R5).

A package, so that its ``conftest`` is ``refunds.conftest`` and not a second
top-level ``conftest`` module beside ``tests/conftest.py`` (a duplicate for mypy).
"""
