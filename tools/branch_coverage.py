"""Fail when branch coverage (branches alone) of ``src/ocop`` falls under a bar.

coverage.py's combined figure mixes lines and branches, and lines hide untested
branches; this gate counts branches only, from the JSON report of the test run::

    coverage run -m pytest && coverage json -o build/coverage.json
    python tools/branch_coverage.py build/coverage.json --fail-under 95
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="coverage.py's JSON report")
    parser.add_argument("--fail-under", type=float, default=95.0, help="percent of branches")
    parser.add_argument("--show", type=int, default=10, help="modules with most missed branches")
    args = parser.parse_args(argv)
    files = json.loads(args.report.read_text())["files"]
    covered = sum(f["summary"]["covered_branches"] for f in files.values())
    branches = sum(f["summary"]["num_branches"] for f in files.values())
    percent = 100.0 * covered / branches if branches else 100.0
    missed = sorted(
        (
            (f["summary"]["num_branches"] - f["summary"]["covered_branches"], name)
            for name, f in files.items()
        ),
        reverse=True,
    )
    for count, name in missed[: args.show]:
        if count:
            print(f"  {name}: {count} branch(es) never taken")
    verdict = "ok" if percent >= args.fail_under else "FAILED"
    print(
        f"branch coverage: {covered}/{branches} = {percent:.2f}% "
        f"(bar {args.fail_under:.0f}%): {verdict}"
    )
    return 0 if percent >= args.fail_under else 1


if __name__ == "__main__":
    sys.exit(main())
