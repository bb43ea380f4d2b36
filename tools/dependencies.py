"""ocop's dependencies as pyproject.toml declares them: pinned at their lower bounds, or
as installed.

``make test-lowest`` installs ocop with every dependency at the lowest release its bounds
allow and runs the unit tests, so that each lower bound is one the tests pass with::

    python tools/dependencies.py lowest postgres testing > build/lowest.txt
    pip install --constraint build/lowest.txt -e '.[postgres,testing]'

``lowest`` pins the runtime dependencies and those of the extras named (an extra that
names ``ocop[...]`` brings that extra's in too). Each one's releases are asked of pip
(``pip index versions``: the index pip is set up with, for this Python, yanked releases
left out) and the lowest that meets its specifiers is pinned. A dependency without a
lower bound, or whose lower bound no release meets, is an error. ``installed`` prints one
line: the installed version of each of those dependencies (what ``make`` shows after a
quiet ``pip install``).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")


def _name_and_extras(requirement: str) -> tuple[str, list[str]]:
    match = _NAME.match(requirement)
    if match is None:
        raise SystemExit(f"cannot read the requirement {requirement!r}")
    extras = [extra.strip() for extra in (match.group(2) or "").split(",") if extra.strip()]
    return match.group(1), extras


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(project: Mapping[str, Any], extras: Iterable[str]) -> list[str]:
    """The runtime requirements of ``project`` (pyproject's ``[project]`` table) and those
    of ``extras``, in the order declared, each once; ``ocop[x]`` in an extra expands to x's."""
    name = _canonical(str(project["name"]))
    optional: Mapping[str, list[str]] = project.get("optional-dependencies", {})
    found: list[str] = []
    seen_extras: set[str] = set()

    def add(requirements: Iterable[str]) -> None:
        for requirement in requirements:
            own, wanted = _name_and_extras(requirement)
            if _canonical(own) == name:
                expand(wanted)
            elif requirement not in found:
                found.append(requirement)

    def expand(wanted: Iterable[str]) -> None:
        for extra in wanted:
            if extra not in optional:
                raise SystemExit(f"pyproject.toml has no extra {extra!r}")
            if extra not in seen_extras:
                seen_extras.add(extra)
                add(optional[extra])

    add(project.get("dependencies", []))
    expand(extras)
    return found


def lowest(requirement: str, releases: Iterable[str]) -> str:
    """``name==version``: the lowest of ``releases`` that ``requirement`` allows (a
    constraint names no extras)."""
    from packaging.requirements import Requirement  # noqa: PLC0415 - only `lowest` needs it
    from packaging.version import Version  # noqa: PLC0415

    parsed = Requirement(requirement)
    if not any(spec.operator in (">=", "==", "~=", ">") for spec in parsed.specifier):
        raise SystemExit(f"{requirement!r} has no lower bound to test")
    allowed = sorted(parsed.specifier.filter(releases, prereleases=False), key=Version)
    if not allowed:
        raise SystemExit(f"no release of {parsed.name} meets {requirement!r}")
    return f"{parsed.name}=={allowed[0]}"


def releases(name: str) -> list[str]:
    """The releases of ``name`` pip can install here (``pip index versions``)."""
    answer = subprocess.run(  # noqa: S603 - this interpreter's own pip
        [sys.executable, "-m", "pip", "index", "versions", name],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in answer.stdout.splitlines():
        if line.startswith("Available versions:"):
            return [v.strip() for v in line.split(":", 1)[1].split(",") if v.strip()]
    raise SystemExit(f"pip found no release of {name}: {answer.stderr.strip()}")


def applies(requirement: str) -> bool:
    """Whether ``requirement``'s environment marker (if any) holds here."""
    from packaging.requirements import Requirement  # noqa: PLC0415 - only `lowest` needs it

    marker = Requirement(requirement).marker
    return marker is None or marker.evaluate()


def installed(requirements: Iterable[str]) -> str:
    """``name version`` of each requirement, as installed in this environment."""
    shown: list[str] = []
    for requirement in requirements:
        name, _ = _name_and_extras(requirement.split(";")[0])
        try:
            shown.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            shown.append(f"{name} (not installed)")
    return ", ".join(shown)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["lowest", "installed"])
    parser.add_argument("extras", nargs="*", help="extras whose dependencies count too")
    args = parser.parse_args(argv)
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    requirements = declared(project, args.extras)
    if args.mode == "installed":
        print(installed(requirements))
        return 0
    for requirement in requirements:
        if applies(requirement):
            print(lowest(requirement, releases(_name_and_extras(requirement)[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
