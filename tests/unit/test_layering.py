"""The layers point inward (domain, ports, services, then adapters), and a test proves it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import ocop

PACKAGE = Path(ocop.__file__).parent
STDLIB = set(sys.stdlib_module_names)

# Which top-level modules each layer may import, besides the standard library.
ALLOWED: dict[str, tuple[str, ...]] = {
    "domain": ("attrs", "iso4217", "ocop.domain"),
    "ports": ("attrs", "ocop.domain", "ocop.ports"),
    "services": ("attrs", "ocop.domain", "ocop.ports", "ocop.services"),
}


def imports_of(path: Path) -> set[str]:
    """Every module a source file imports, as written."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def forbidden(layer: str, module: str) -> bool:
    """Whether ``module`` may not be imported from ``layer``."""
    if module.split(".", maxsplit=1)[0] in STDLIB or module == "__future__":
        return False
    return not any(module == ok or module.startswith(ok + ".") for ok in ALLOWED[layer])


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_what_it_may(layer: str) -> None:
    """Domain imports stdlib and attrs; ports add the domain; services add ports, never adapters."""
    files = sorted((PACKAGE / layer).rglob("*.py"))
    assert files, f"no modules in ocop.{layer}"
    offences = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in files
        for name in sorted(imports_of(path))
        if forbidden(layer, name)
    ]
    assert offences == []


def test_the_check_catches_a_forbidden_import(tmp_path: Path) -> None:
    """The layering rule flags an adapter import from services and cattrs from the domain."""
    assert forbidden("services", "ocop.adapters.memory")
    assert forbidden("domain", "cattrs")
    assert forbidden("ports", "ocop.services")
    assert not forbidden("domain", "decimal")
    source = tmp_path / "bad.py"
    source.write_text("from ocop.adapters.sqlite import SqliteStore\nimport psycopg\n")
    assert imports_of(source) == {"ocop.adapters.sqlite", "psycopg"}


def test_core_import_does_not_load_test_helpers() -> None:
    """Importing ocop never imports hypothesis or pytest helpers (they stay dev-only)."""
    init = imports_of(PACKAGE / "__init__.py")
    assert not any(name.startswith(("ocop.testing", "hypothesis", "pytest")) for name in init)
