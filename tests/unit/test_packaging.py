"""What ``pyproject.toml`` declares agrees with the package: the extras a ``MissingExtra``
names exist and bring the package it names, and the type information ships."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _missing_extras() -> set[tuple[str, str]]:
    """Every ``MissingExtra(extra, package)`` raised in src/ocop."""
    found = set()
    for path in (ROOT / "src" / "ocop").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "MissingExtra"
            ):
                extra, package = (ast.literal_eval(arg) for arg in node.args[:2])
                found.add((extra, package))
    return found


def test_each_missing_extra_names_an_extra_that_brings_its_package() -> None:
    """``pip install 'ocop[extra]'``, as the error says, installs the package it lacked."""
    extras = PROJECT["project"]["optional-dependencies"]
    raised = _missing_extras()
    assert {extra for extra, _ in raised} >= {"postgres", "adyen", "testing"}
    for extra, package in raised:
        names = {Requirement(text).name.lower() for text in extras[extra]}
        assert package.lower() in names, (extra, package)


def test_the_type_information_ships() -> None:
    """py.typed is in the package and declared as its data; the classifier says so."""
    assert (ROOT / "src" / "ocop" / "py.typed").is_file()
    assert "py.typed" in PROJECT["tool"]["setuptools"]["package-data"]["ocop"]
    assert "Typing :: Typed" in PROJECT["project"]["classifiers"]


def test_the_python_classifiers_agree_with_requires_python() -> None:
    """Every Python version a classifier names is one requires-python admits."""
    lowest = PROJECT["project"]["requires-python"].removeprefix(">=")
    versions = [
        c.rsplit(" :: ", 1)[1]
        for c in PROJECT["project"]["classifiers"]
        if c.startswith("Programming Language :: Python :: 3.")
    ]
    assert versions
    assert lowest in versions
    assert all(
        tuple(map(int, v.split("."))) >= tuple(map(int, lowest.split("."))) for v in versions
    )
