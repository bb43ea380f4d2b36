"""Rows written by earlier versions, read as today's values (rule O4: stored keys keep
meaning the same step).

Version 0.1.0 logged an operation as its step name, kind, amount, target and a bag of
strings (line, authorization, invoice, return, capture, void purpose). Today an
operation carries its typed step; an old row is rebuilt into one, its key and step
name kept exactly as stored.
"""

from __future__ import annotations

from typing import Any

_TYPES = {
    "authorize": "Authorize",
    "adjust": "Adjust",
    "void": "Void",
    "tokenize": "Tokenize",
    "capture": "Capture",
    "refund": "Refund",
    "unlinked_refund": "UnlinkedRefund",
}
#: Each step's fields, found under the same names in the old row's context or fields
#: (a tokenize's instrument was its target).
_FIELDS = {
    "authorize": ("line_id", "auth_id", "amount", "target"),
    "adjust": ("line_id", "auth_id", "amount", "target"),
    "void": ("line_id", "auth_id", "purpose", "target"),
    "tokenize": ("line_id", "instrument_id"),
    "capture": ("invoice_id", "line_id", "auth_id", "amount", "target"),
    "refund": ("return_id", "line_id", "capture_id", "number", "amount", "target"),
    "unlinked_refund": ("return_id", "number", "amount", "target"),
}


def operation_v0(data: dict[str, Any]) -> dict[str, Any]:
    """An operation row of version 0.1.0 (its ``step`` a name) in today's shape."""
    if not isinstance(data.get("step"), str):
        return data
    old = dict(data)
    name: str = old.pop("step")
    kind: str = old.pop("kind")
    target = old.pop("target")
    source: dict[str, Any] = {
        **dict(old.pop("context", [])),
        "amount": old.pop("amount", None),
        "target": target,
        "instrument_id": target,  # what a tokenize acted on
        # Refund steps ended with how many refunds the capture had for the return.
        "number": int(name.rsplit(":", 1)[1]) if kind.endswith("refund") else 0,
    }
    step = {field: source[field] for field in _FIELDS[kind]}
    return {**old, "name": name, "step": {"type": _TYPES[kind], **step}}
