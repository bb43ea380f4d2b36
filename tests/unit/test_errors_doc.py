"""docs/errors.md lists every error class ocop has, and ``ocop`` exports each one."""

from __future__ import annotations

import copy
import inspect
import pickle
import re
from pathlib import Path

import ocop
from ocop.domain import errors

DOC = (Path(__file__).resolve().parents[2] / "docs" / "errors.md").read_text(encoding="utf-8")


def _error_classes() -> list[type[errors.OcopError]]:
    return [
        value
        for _, value in inspect.getmembers(errors, inspect.isclass)
        if issubclass(value, errors.OcopError) and value.__module__ == errors.__name__
    ]


def test_every_error_class_has_a_row_and_a_place_in_the_tree() -> None:
    """Each OcopError subclass has its own table row (what it means, what to do) and is in
    the drawn tree, and the module docstring's tree is the document's."""
    classes = [c for c in _error_classes() if c is not errors.OcopError]  # the root heads it
    assert len(classes) >= 30
    missing_rows = [c.__name__ for c in classes if f"| `{c.__name__}` |" not in DOC]
    missing_tree = [c.__name__ for c in classes if f"── {c.__name__}" not in DOC]
    assert (missing_rows, missing_tree) == ([], [])
    tree = DOC.split("## The tree", 1)[1].split("```")[1].strip()
    docstring = "\n".join(line.removeprefix("    ") for line in (errors.__doc__ or "").splitlines())
    assert tree in docstring


def test_every_error_class_is_exported_from_ocop() -> None:
    """``from ocop import <Error>`` works for every error class."""
    assert [c.__name__ for c in _error_classes() if getattr(ocop, c.__name__, None) is not c] == []


def test_errors_survive_pickling_and_copying_with_message_and_attributes() -> None:
    """Errors cross process pools and deep copies: same class, message and attributes."""
    samples: list[errors.OcopError] = [
        errors.OrderNotFound("SO-1"),
        errors.ConcurrentUpdate("SO-1"),
        errors.InvalidId("order_id must be a string id, not None", argument="order_id"),
        errors.InvalidArgument("channel must be one of ...", argument="channel"),
        errors.UnknownInvoice("SO-1", "INV-9"),
        errors.InvalidCvv(),
        errors.MissingExtra("postgres", "psycopg"),
        errors.IllegalTransition("no", order_id="SO-1", amount=None),
        errors.OperationInDoubt("SO-1", ("SO-1/k#1",)),
        errors.StorageBusy("busy"),
    ]
    for error in samples:
        for again in (pickle.loads(pickle.dumps(error)), copy.deepcopy(error)):  # noqa: S301
            assert type(again) is type(error)
            assert str(again) == str(error)
            assert vars(again) == vars(error)


def test_the_feature_disabled_row_names_every_feature_ocop_raises_it_for() -> None:
    """``FeatureDisabled.feature`` names the switch that is off: the row names every one the
    sources raise it with, so a reader learns each case from the page."""
    source = Path(errors.__file__).resolve().parents[1]
    raised = {
        name
        for path in source.rglob("*.py")
        for name in re.findall(r'feature="(\w+)"', path.read_text(encoding="utf-8"))
    }
    row = next(line for line in DOC.splitlines() if line.startswith("| `FeatureDisabled` |"))
    assert len(raised) >= 5
    assert sorted(name for name in raised if f"`{name}`" not in row) == []
