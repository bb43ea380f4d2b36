"""Hypothesis profiles, chosen by the ``HYPOTHESIS_PROFILE`` environment variable.

``dev`` (the default) is quick, ``ci`` is thorough, derandomized and ignores timing,
``mutation`` is quick, derandomized and does not shrink, ``compat`` is quick,
derandomized and ignores timing (``make test-lowest``), and ``default`` is
hypothesis' own settings. The variable is read here only, never
when ocop is imported.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

settings.register_profile("default")
settings.register_profile("dev", max_examples=50)
# CI is derandomized: the same examples every run, so a red CI is always reproducible
# (developers' random runs keep exploring).
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
# The run at the lowest allowed versions (`make test-lowest`) checks that the code works
# with them, not the rules again: few examples, the same every run, no timing checks.
settings.register_profile(
    "compat",
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
# Mutation testing runs the suite once per mutant: fewer examples, reproducible, and no
# shrinking (a mutant only needs to be caught, not explained).
settings.register_profile(
    "mutation",
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
