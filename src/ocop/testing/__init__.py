"""Test helpers shipped as public API: typed hypothesis strategies for ocop values, and the
port contract suites (:mod:`ocop.testing.contracts`).

Needs hypothesis and pytest: ``pip install 'ocop[testing]'``; importing :mod:`ocop` never
imports this package.
"""

# Hypothesis runs its entry points when first imported, and ours loads
# ocop.testing.strategies. Importing hypothesis here, before any submodule, keeps
# that module from being loaded half-initialised when it is imported first.
from ocop.domain.errors import MissingExtra

try:
    import hypothesis  # noqa: F401
except ImportError as missing:
    raise MissingExtra("testing", "hypothesis", needed_by="ocop.testing") from missing
