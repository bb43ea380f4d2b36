"""The model-based lifecycle machine on SQLite: the durable store gives exactly the results
the model predicts, as the in-memory one does."""

from __future__ import annotations

from durable_machines import OnSqlite
from hypothesis import settings

from payments_model import ModelLifecycle


class ModelOnSqlite(OnSqlite, ModelLifecycle):
    """Every back office of this run lives in a fresh SQLite file."""


# Files are slower than memory: half the profile's runs, as many steps.
ModelOnSqlite.TestCase.settings = settings(
    max_examples=max(10, settings().max_examples // 2), stateful_step_count=40, deadline=None
)
TestModelOnSqlite = ModelOnSqlite.TestCase
