"""``import ocop`` loads no database driver, no cattrs, no simulator and no ISO 4217 table
until they are used."""

from __future__ import annotations

import subprocess
import sys

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
