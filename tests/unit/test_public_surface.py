"""The public surface, kept deliberate (issue 13).

- ``ocop.__all__`` is sorted and is exactly: every type a public call of ``BackOffice``
  takes or returns, and what those values hold (found by walking the type hints), every
  error, and the names of the design's contract. Nothing else, nothing missing.
- Each port module's ``__all__`` names its protocols and every type their methods name
  (take or return), so an adapter author imports what they need from the port's module.
- Every module is public (listed here, documented in docs/api.md; the domain's modules
  are where the values re-exported by ``ocop`` live) or private (its name, or a
  package's, starts with ``_``). The services are private: use ``ocop.BackOffice``.
- Every class ``ocop`` exports has a docstring of its own: docs/api.md, rendered from
  the docstrings, leaves out a class without one.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import textwrap
import types
import typing
from pathlib import Path
from typing import Protocol

import attrs
import pytest

import ocop
import ocop.ports
from ocop.domain import errors

ROOT = Path(__file__).resolve().parents[2]

#: The design's contract: importable from ``ocop`` (../shared/DESIGN.md, "Public API").
CONTRACT = {
    "BackOffice", "Settings", "Features", "CompletionPolicy", "Channel", "PaymentsType",
    "Customer", "Actor", "Money", "CardToken", "CardPayment", "SavedCardPayment",
    "Prepayment", "OrderStatus", "LineStatus", "HoldCode", "OcopError",
}  # fmt: skip
#: Names still importable from ``ocop`` for code written against earlier versions, but
#: no longer part of its surface: adapter authors find them in the port modules.
COMPATIBLE = {"Operation", "OrderQuery", "ProcessorResult"}
#: The modules users and adapter authors import; every other module is private.
PUBLIC_MODULES = {
    "ocop",
    "ocop.adapters",
    "ocop.adapters.adyen",
    "ocop.adapters.adyen_webhooks",
    "ocop.adapters.cli",
    "ocop.adapters.memory",
    "ocop.adapters.postgres",
    "ocop.adapters.routing",
    "ocop.adapters.simulated",
    "ocop.adapters.sqlite",
    "ocop.domain",
    "ocop.ports",
    "ocop.ports.clock",
    "ocop.ports.journal",
    "ocop.ports.processor",
    "ocop.ports.store",
    "ocop.ports.wiring",
    "ocop.services",
    "ocop.testing",
    "ocop.testing.adyen_emulator",
    "ocop.testing.contracts",
    "ocop.testing.counting",
    "ocop.testing.strategies",
}


def _names() -> dict[str, object]:
    """Every name the hints may use: ocop's own and the ports'."""
    found: dict[str, object] = {name: getattr(ocop, name) for name in ocop.__all__}
    for module in ("ocop.ports.processor", "ocop.ports.store", "ocop.ports.journal"):
        found.update(vars(importlib.import_module(module)))
    return found


def _classes(hint: object, seen: set[type]) -> None:
    """Add the ocop classes ``hint`` names, and those their fields and properties hold."""
    if typing.get_origin(hint) is not None or isinstance(hint, types.UnionType):
        for arg in typing.get_args(hint):
            _classes(arg, seen)
        return
    if not isinstance(hint, type) or not hint.__module__.startswith("ocop") or hint in seen:
        return
    if hint.__module__.startswith("ocop.ports"):
        return  # the wiring: its own modules export it (below)
    seen.add(hint)
    if attrs.has(hint):
        fields = typing.get_type_hints(hint, localns=_names())
        for field in attrs.fields(hint):
            if not field.name.startswith("_"):
                _classes(fields[field.name], seen)
    for name in dir(hint):
        member = inspect.getattr_static(hint, name, None)
        if not name.startswith("_") and isinstance(member, property) and member.fget:
            _classes(typing.get_type_hints(member.fget, localns=_names()).get("return"), seen)


def _reachable(owner: type) -> set[type]:
    """The ocop classes the public methods and properties of ``owner`` take or return."""
    seen: set[type] = set()
    for name, member in inspect.getmembers(owner):
        if name.startswith("_") or not callable(member) or inspect.isclass(member):
            continue
        for hint in typing.get_type_hints(member, localns=_names()).values():
            _classes(hint, seen)
    for name in dir(owner):
        member = inspect.getattr_static(owner, name, None)
        if not name.startswith("_") and isinstance(member, property) and member.fget:
            _classes(typing.get_type_hints(member.fget, localns=_names()).get("return"), seen)
    return seen


def _named(protocol: type) -> set[type]:
    """The ocop classes the methods and properties of ``protocol`` name in their hints."""
    seen: set[type] = set()

    def add(hint: object) -> None:
        if typing.get_origin(hint) is not None or isinstance(hint, types.UnionType):
            for arg in typing.get_args(hint):
                add(arg)
        elif isinstance(hint, type) and hint.__module__.startswith("ocop"):
            seen.add(hint)

    for name, member in vars(protocol).items():
        function = member.fget if isinstance(member, property) else member
        if name.startswith("_") or not callable(function):
            continue
        for hint in typing.get_type_hints(function, localns=_names()).values():
            add(hint)
    return seen


def test_the_surface_is_sorted_and_resolves() -> None:
    assert ocop.__all__ == sorted(set(ocop.__all__))
    for name in [*ocop.__all__, *COMPATIBLE]:
        assert getattr(ocop, name).__name__ == name
    assert not COMPATIBLE & set(ocop.__all__)
    assert set(dir(ocop)) >= set(ocop.__all__) | COMPATIBLE


def test_the_surface_is_exactly_the_calls_their_values_errors_and_the_contract() -> None:
    """Complete (nothing a call takes or returns is missing) and deliberate (nothing
    else: no internals)."""
    from ocop import BackOffice  # noqa: PLC0415

    values = {cls.__name__ for cls in _reachable(BackOffice)}
    failures = {
        cls.__name__
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.OcopError)
    }
    assert set(ocop.__all__) == values | failures | CONTRACT


@pytest.mark.parametrize("module", ["ocop.ports.processor", "ocop.ports.store",
                                    "ocop.ports.journal", "ocop.ports.clock"])  # fmt: skip
def test_a_port_module_exports_all_its_protocols_need(module: str) -> None:
    port = importlib.import_module(module)
    protocols = [
        value
        for value in vars(port).values()
        if isinstance(value, type) and value.__module__ == module and Protocol in value.__mro__
    ]
    assert protocols
    needed = set().union(*(_named(protocol) for protocol in protocols))
    needed |= {cls for cls in vars(port).values() if isinstance(cls, type)
               and cls.__module__ == module}  # fmt: skip
    exported = {getattr(port, name) for name in port.__all__}
    assert {cls.__name__ for cls in needed - exported} == set()
    assert set(protocols) <= exported


def test_every_module_is_public_and_documented_or_private() -> None:
    """A module is public (listed above, and in docs/api.md) or private: its own name, or
    a package it is in, starts with an underscore."""
    found = {"ocop"} | {info.name for info in pkgutil.walk_packages(ocop.__path__, prefix="ocop.")}
    private = {name for name in found if any(part.startswith("_") for part in name.split("."))}
    values = {name for name in found if name.startswith("ocop.domain.")}
    assert found - private - values == PUBLIC_MODULES
    api = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    documented = {line.removeprefix("::: ").split()[0] for line in api.splitlines()
                  if line.startswith("::: ")}  # fmt: skip
    packages = {"ocop.adapters", "ocop.domain", "ocop.services", "ocop.testing", "ocop.ports"}
    assert PUBLIC_MODULES - packages - documented == set()


def test_every_class_ocop_exports_has_a_docstring_of_its_own() -> None:
    """docs/api.md renders ``ocop`` from the docstrings and leaves out a class without one:
    every class ``ocop`` exports has its own, so the API page lists each of them."""

    def documented(cls: type) -> bool:
        (definition,) = ast.parse(textwrap.dedent(inspect.getsource(cls))).body
        return isinstance(definition, ast.ClassDef) and bool(ast.get_docstring(definition))

    classes = [getattr(ocop, name) for name in ocop.__all__]
    assert [c.__name__ for c in classes if isinstance(c, type) and not documented(c)] == []


def test_the_api_page_shows_every_operation_of_the_back_office() -> None:
    """``BackOffice``'s operations (place_order, invoice, recover ...) live on its private
    base: docs/api.md renders ``ocop`` with inherited members, and each public method has
    a docstring (the page, rendered from docstrings, leaves out one without)."""
    api = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    block = api.split("::: ocop\n", 1)[1].split("\n\n", 1)[0]
    assert "inherited_members: true" in block
    methods = [name for name in dir(ocop.BackOffice) if not name.startswith("_")]
    assert len(methods) >= 20
    assert [name for name in methods if not getattr(ocop.BackOffice, name).__doc__] == []


def test_the_api_page_shows_the_fields_and_methods_of_every_public_module() -> None:
    """A host reads ``order.total``, ``order.status``, ``Customer.named`` and
    ``Settings.default`` on the API page, an adapter author ``ProcessorResult.outcome``
    and ``START``: the site renders every module of docs/api.md with the members that have
    no docstring of their own too (the fields of attrs values have none), and without the
    underscore names."""
    options = (ROOT / "mkdocs.yml").read_text(encoding="utf-8").split("python:", 1)[1]
    assert "show_if_no_docstring: true" in options
    assert 'filters: ["!^_"]' in options


def _type_checking_view() -> tuple[dict[str, str], list[str]]:
    """What a type checker reads in ``ocop/__init__.py``: the names imported under ``if
    TYPE_CHECKING:`` (each with its module), and the top-level statements that define a
    module ``__getattr__`` outside ``if not TYPE_CHECKING:``."""
    tree = ast.parse((ROOT / "src" / "ocop" / "__init__.py").read_text(encoding="utf-8"))
    imported: dict[str, str] = {}
    getattrs: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.module:
                    for alias in statement.names:
                        imported[alias.asname or alias.name] = statement.module
        elif (isinstance(node, ast.FunctionDef) and node.name == "__getattr__") or (
            isinstance(node, ast.Assign | ast.AnnAssign)
            and "__getattr__" in ast.unparse(node).split("=")[0]
        ):
            getattrs.append(ast.unparse(node).splitlines()[0])
    return imported, getattrs


def test_a_misspelt_name_is_an_error_for_type_checkers_not_any() -> None:
    """ocop loads its names lazily through a module ``__getattr__``. A type checker that
    sees one types every name it does not know as what it returns: ``from ocop import
    BackOfice`` (misspelt) passed ``mypy --strict`` as ``Any``. The lookup is hidden from
    type checkers (``if not TYPE_CHECKING``), and they see every public name imported from
    the module it is loaded from."""
    imported, getattrs = _type_checking_view()
    assert getattrs == []
    assert imported == ocop._PUBLIC
    assert callable(vars(ocop)["__getattr__"])  # the lazy lookup still runs


def _mentions_any(hint: object) -> bool:
    return hint is typing.Any or any(_mentions_any(arg) for arg in typing.get_args(hint))


def test_no_public_signature_or_field_is_typed_any() -> None:
    """Every public class's constructor, methods, properties and fields are typed without
    ``Any``, so nothing a host reads from ocop escapes ``mypy --strict``: an
    ``IllegalTransition``'s ``context`` was a ``dict[str, Any]`` (its keywords ``Any``)."""
    loose = []
    for name in ocop.__all__:
        cls = getattr(ocop, name)
        members = [(a, m) for a, m in vars(cls).items() if not a.startswith("_")]
        for attribute, member in [("__init__", cls.__init__), *members]:
            function = member.fget if isinstance(member, property) else member
            function = getattr(function, "__func__", function)
            if not callable(function):
                continue
            if function is object.__init__ or not hasattr(function, "__annotations__"):
                continue
            hints = typing.get_type_hints(function, localns=_names())
            loose += [f"{name}.{attribute}: {k}" for k, h in hints.items() if _mentions_any(h)]
        if attrs.has(cls):
            hints = typing.get_type_hints(cls, localns=_names())
            loose += [f"{name}.{k}" for k, h in hints.items() if _mentions_any(h)]
    assert loose == []
