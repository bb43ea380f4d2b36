"""``import ocop`` loads no database driver, no cattrs, no simulator and no ISO 4217 table
until they are used."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
import ocop
ocop.BackOffice, ocop.Settings, ocop.Money  # the names a host uses first
heavy = ("sqlite3", "cattrs", "psycopg", "ocop.adapters.simulated", "ocop.adapters.sqlite",
         "ocop.adapters.postgres", "ocop.adapters._codec", "iso4217")
print(",".join(sorted(m for m in sys.modules if m.split(".")[0] in heavy or m in heavy)))
"""


def loaded_by(code: str) -> set[str]:
    """The heavy modules a fresh interpreter has loaded after running ``code``."""
    out = subprocess.run(  # noqa: S603 - runs this module's own probe code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    return set(out.split(",")) - {""}


def test_import_ocop_loads_no_driver_codec_or_simulator() -> None:
    """The package imports light: SQLite, cattrs and the simulator wait for their factories,
    the ISO 4217 table for the first amount."""
    assert loaded_by(PROBE) == set()


def test_the_currency_table_is_read_when_the_first_amount_is_made() -> None:
    """Money.of reads the ISO 4217 table on its first call, and only then."""
    code = PROBE.replace("ocop.Money  #", "ocop.Money.of('1.00', 'XCD')  #")
    assert loaded_by(code) == {"iso4217"}


def test_import_ocop_alone_loads_no_public_module_until_a_name_is_used() -> None:
    """``import ocop`` imports none of its modules; the first use of a name loads its own."""
    code = (
        "import sys\nimport ocop\nbefore = sorted(m for m in sys.modules if m.startswith('ocop.'))"
        "\nocop.Money\nprint(before, 'ocop.domain.money' in sys.modules)"
    )
    out = subprocess.run(  # noqa: S603 - runs this module's own probe code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[] True"


def test_every_public_name_resolves_and_the_list_is_sorted_and_complete() -> None:
    """``ocop.__all__`` is sorted, names exactly the lazily loaded names, and each resolves."""
    import ocop  # noqa: PLC0415 - the package under test

    assert list(ocop.__all__) == sorted(ocop.__all__)
    compatible = {"Operation", "OrderQuery", "ProcessorResult"}  # importable, not in __all__
    assert set(ocop.__all__) == set(ocop._PUBLIC) - compatible
    for name in ocop.__all__:
        assert getattr(ocop, name).__name__ == name


def test_the_sqlite_factory_loads_what_it_needs_when_called() -> None:
    """BackOffice.sqlite imports the SQLite adapters (and so sqlite3 and cattrs) when used."""
    code = PROBE.replace(
        "import ocop\n",
        "import ocop, tempfile, pathlib\n"
        "from datetime import UTC, datetime\n"
        "from ocop.adapters.memory import ManualClock\n"
        "from ocop.adapters.simulated import SimulatedProcessor\n"
        "ocop.BackOffice.sqlite(pathlib.Path(tempfile.mkdtemp()) / 'x.db',\n"
        "    processor=SimulatedProcessor(clock=ManualClock(datetime(2026, 1, 1, tzinfo=UTC))))\n",
    )
    loaded = loaded_by(code)
    assert {"sqlite3", "cattrs", "ocop.adapters.sqlite", "ocop.adapters.simulated"} <= loaded
    assert "psycopg" not in loaded


WITHOUT = """
import sys
for name in {missing!r}:
    sys.modules[name] = None  # an import of it now fails, as if it were not installed
from ocop import MissingExtra
try:
    import {module}
except MissingExtra as error:
    print(error.extra, error.package, isinstance(error, ImportError), str(error))
else:
    print("imported")
"""


def _importing(module: str, *, missing: tuple[str, ...]) -> str:
    return subprocess.run(  # noqa: S603 - runs this module's own probe code
        [sys.executable, "-c", WITHOUT.format(module=module, missing=missing)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.mark.parametrize(
    ("module", "missing", "package"),
    [
        ("ocop.testing", ("hypothesis",), "hypothesis"),
        ("ocop.testing.strategies", ("hypothesis",), "hypothesis"),
        ("ocop.testing.contracts", ("pytest",), "pytest"),
        ("ocop.testing.contracts", ("hypothesis", "pytest"), "hypothesis"),
    ],
)
def test_ocop_testing_without_the_testing_extra_names_it(
    module: str, missing: tuple[str, ...], package: str
) -> None:
    """ocop.testing needs the ``testing`` extra (hypothesis; its contract suites pytest too).
    Without it, importing them raised a bare ModuleNotFoundError naming neither ocop nor
    the extra; it is MissingExtra (an ImportError), whose message says what to install."""
    assert _importing(module, missing=missing) == (
        f"testing {package} True ocop.testing needs {package}: "
        "install it with pip install 'ocop[testing]'"
    )


def test_the_strategies_need_hypothesis_alone() -> None:
    """Hypothesis loads ocop.testing.strategies through its entry point wherever ocop is
    installed: a project with hypothesis and without pytest imports it."""
    assert _importing("ocop.testing.strategies", missing=("pytest",)) == "imported"
