"""``python -m ocop demo``."""

from ocop.adapters.cli import main

raise SystemExit(main())
