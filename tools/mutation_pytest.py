"""pytest plugin for mutmut's runs: hypothesis without deadlines (docs/mutation.md).

``[tool.mutmut] pytest_add_cli_args`` loads it with ``-p tools.mutation_pytest`` (mutmut puts
``mutants/`` on ``sys.path`` and ``also_copy`` copies ``tools/`` there). After
``tests/conftest.py`` has loaded the profile ``HYPOTHESIS_PROFILE`` names (``dev`` by default),
it loads ``mutmut``: the same profile without a deadline, without the too-slow health
check and without shrinking.

- Under mutmut every call goes through a trampoline and two mutants run at once, so a test can
  take several times longer: a deadline would then "kill" mutants that change nothing but the
  machine's load, and count them in the score.
- A mutant is killed by the first failing example; shrinking it to a minimal one (minutes for
  the lifecycle machine) only delays the next mutant.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import InvalidArgument


def pytest_configure(config: pytest.Config) -> None:
    """Load the chosen profile, less its timing checks and shrinking, for every test of the run."""
    del config
    chosen = os.environ.get("HYPOTHESIS_PROFILE", "dev")
    try:
        parent = settings.get_profile(chosen)
    except InvalidArgument:  # a profile tests/conftest.py does not register
        parent = settings.get_profile("default")
    checks = [check for check in parent.suppress_health_check if check != HealthCheck.too_slow]
    settings.register_profile(
        "mutmut",
        parent=parent,
        deadline=None,
        suppress_health_check=[*checks, HealthCheck.too_slow],
        phases=[phase for phase in parent.phases if phase not in (Phase.shrink, Phase.explain)],
        report_multiple_bugs=False,
    )
    settings.load_profile("mutmut")
