"""Hypothesis profiles, chosen by the ``HYPOTHESIS_PROFILE`` environment variable.

``dev`` (the default) is quick, ``ci`` is thorough and ignores timing, and
``default`` is hypothesis' own settings. The variable is read here only, never
when ocop is imported.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("default")
settings.register_profile("dev", max_examples=50)
settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
