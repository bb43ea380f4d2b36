"""Invoicing, duplicate payment protection, authorization lifecycle and recovery tests.

A package, so that its ``conftest`` is ``invoicing.conftest`` and not a second
top-level ``conftest`` module beside ``tests/conftest.py`` (a duplicate for mypy).
"""
