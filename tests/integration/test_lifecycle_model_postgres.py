"""The model-based lifecycle machine on PostgreSQL: exactly the results the model predicts."""

from __future__ import annotations

import pytest
from durable_machines import OnPostgres
from hypothesis import settings

from payments_model import ModelLifecycle

pytestmark = pytest.mark.postgres


class ModelOnPostgres(OnPostgres, ModelLifecycle):
    """Every back office of this run lives in a fresh schema, dropped at teardown."""


# A database round trip per read: a quarter of the profile's runs, as many steps.
ModelOnPostgres.TestCase.settings = settings(
    max_examples=max(5, settings().max_examples // 4), stateful_step_count=40, deadline=None
)
TestModelOnPostgres = ModelOnPostgres.TestCase
