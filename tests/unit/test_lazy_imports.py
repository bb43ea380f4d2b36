"""``import ocop`` loads no database driver, no cattrs and no simulator until they are used."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import ocop
heavy = ("sqlite3", "cattrs", "psycopg", "ocop.adapters.simulated", "ocop.adapters.sqlite",
         "ocop.adapters.postgres", "ocop.adapters.codec")
print(",".join(sorted(m for m in sys.modules if m.split(".")[0] in heavy or m in heavy)))
"""


def loaded_by(code: str) -> set[str]:
    """The heavy modules a fresh interpreter has loaded after running ``code``."""
    out = subprocess.run(  # noqa: S603 - runs this module's own probe code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    return set(out.split(",")) - {""}


def test_import_ocop_loads_no_driver_codec_or_simulator() -> None:
    """The package imports light: SQLite, cattrs and the simulator wait for their factories."""
    assert loaded_by(PROBE) == set()


def test_the_sqlite_factory_loads_what_it_needs_when_called() -> None:
    """BackOffice.sqlite imports the SQLite adapters (and so sqlite3 and cattrs) when used."""
    code = PROBE.replace(
        "import ocop\n",
        "import ocop, tempfile, pathlib\n"
        "ocop.BackOffice.sqlite(pathlib.Path(tempfile.mkdtemp()) / 'x.db')\n",
    )
    loaded = loaded_by(code)
    assert {"sqlite3", "cattrs", "ocop.adapters.sqlite", "ocop.adapters.simulated"} <= loaded
    assert "psycopg" not in loaded
