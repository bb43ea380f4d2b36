"""The ``ocop`` command line (a driving adapter).

``ocop demo`` walks through what the library does, on the simulated processor.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ocop.adapters.demo import run_demo


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ocop", description="Omni-channel order payments.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="walk through the payment rules on a simulated processor")
    args = parser.parse_args(argv)
    if args.command == "demo":
        run_demo(sys.stdout)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
