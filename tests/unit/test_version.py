"""``ocop.__version__`` is the installed distribution's version, read only when asked for."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import pytest

import ocop


def test_the_version_is_the_installed_distributions() -> None:
    """``ocop.__version__`` reads the version pip installed, and ``dir(ocop)`` lists it."""
    assert ocop.__version__ == metadata.version("ocop")
    assert "__version__" in dir(ocop)
    assert "__version__" not in ocop.__all__


def test_a_source_tree_never_installed_has_an_unknown_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without installed metadata the version is "0+unknown", a valid PEP 440 version."""

    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)
    assert ocop._version() == "0+unknown"


def test_importing_ocop_does_not_read_its_metadata() -> None:
    """``import ocop`` leaves importlib.metadata unloaded; the first use of the version
    loads it."""
    code = (
        "import sys\nimport ocop\nbefore = 'importlib.metadata' in sys.modules"
        "\nocop.__version__\nprint(before, 'importlib.metadata' in sys.modules)"
    )
    out = subprocess.run(  # noqa: S603 - runs this module's own probe code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "False True"
