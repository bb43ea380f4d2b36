"""tools/dependencies.py pins each dependency pyproject.toml declares at its lowest release."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

# The script lives in tools/, as test_rules_doc's does.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from dependencies import PYPROJECT, declared, installed, lowest

PROJECT = {
    "name": "ocop",
    "dependencies": ["attrs>=23.2,<27", "cattrs>=23.2.1,<27"],
    "optional-dependencies": {
        "postgres": ["psycopg[binary]>=3.1.4,<4"],
        "testing": ["hypothesis>=6.100.3,<7", "pytest>=8,<10"],
        "dev": ["ocop[testing,postgres]", "mypy>=1.10", "attrs>=23.2,<27"],
    },
}


def test_the_runtime_dependencies_come_first_then_each_extras_once() -> None:
    """The dependencies, then each named extra's in order; ``ocop[x]`` brings x's in once."""
    assert declared(PROJECT, []) == ["attrs>=23.2,<27", "cattrs>=23.2.1,<27"]
    assert declared(PROJECT, ["dev", "testing"]) == [
        "attrs>=23.2,<27",
        "cattrs>=23.2.1,<27",
        "hypothesis>=6.100.3,<7",
        "pytest>=8,<10",
        "psycopg[binary]>=3.1.4,<4",
        "mypy>=1.10",
    ]


def test_an_extra_the_project_lacks_is_an_error() -> None:
    """Naming an extra pyproject.toml does not declare stops with its name."""
    with pytest.raises(SystemExit, match="docs"):
        declared(PROJECT, ["docs"])


@pytest.mark.parametrize(
    ("requirement", "pin"),
    [
        ("attrs>=23.2,<27", "attrs==23.2.0"),
        ("cattrs>=23.2.1,<27", "cattrs==23.2.1"),
        ("iso4217>=1.16", "iso4217==1.16.20260101"),  # a bound no release is exactly
        ("psycopg[binary]>=3.1.4,<4", "psycopg==3.1.4"),  # constraints name no extras
        ("Adyen>=16,<17", "Adyen==16.0.0"),
        ("pytest>8", "pytest==8.0.1"),
    ],
)
def test_each_requirement_is_pinned_at_the_lowest_release_it_allows(
    requirement: str, pin: str
) -> None:
    """The pin is the lowest release the specifiers allow, whatever order pip lists them
    in; pre-releases never count."""
    releases = ["27.1.0", "9.0.0rc1", "8.0.1", "8.0.0", "3.1.4", "16.0.0", "16.1.0",
                "1.16.20260101", "1.15.20260101", "23.1.0", "23.2.1", "23.2.0"]  # fmt: skip
    assert lowest(requirement, releases) == pin


@pytest.mark.parametrize("requirement", ["attrs", "attrs<27", "attrs!=23.1"])
def test_a_requirement_without_a_lower_bound_is_an_error(requirement: str) -> None:
    """A requirement with no lower bound has nothing to prove: it stops, naming it."""
    with pytest.raises(SystemExit, match="no lower bound"):
        lowest(requirement, ["23.2.0"])


def test_a_bound_no_release_meets_is_an_error() -> None:
    """A lower bound above every release stops, naming the requirement."""
    with pytest.raises(SystemExit, match="no release"):
        lowest("attrs>=99", ["23.2.0", "26.1.0"])


def test_every_declared_dependency_has_a_lower_and_an_upper_bound() -> None:
    """Each dependency of ocop and of its postgres and testing extras is bounded both ways."""
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    requirements = declared(project, ["postgres", "testing"])
    assert {Requirement(r).name for r in requirements} >= {"attrs", "cattrs", "hypothesis"}
    for requirement in requirements:
        operators = {spec.operator for spec in Requirement(requirement).specifier}
        assert ">=" in operators, requirement
        assert "<" in operators, requirement


def test_installed_versions_are_listed_on_one_line() -> None:
    """Each requirement shows as ``name version``, or as not installed."""
    shown = installed(["pytest>=8", "no-such-package-here>=1; python_version >= '3'"])
    assert shown.startswith("pytest ")
    assert shown.endswith(", no-such-package-here (not installed)")
