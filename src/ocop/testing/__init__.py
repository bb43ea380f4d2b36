"""Test helpers shipped as public API: typed hypothesis strategies for ocop values.

Needs hypothesis (a dev dependency); importing :mod:`ocop` never imports this package.
"""

# Hypothesis runs its entry points when first imported, and ours loads
# ocop.testing.strategies. Importing hypothesis here, before any submodule, keeps
# that module from being loaded half-initialised when it is imported first.
import hypothesis  # noqa: F401
