"""The codec as it was before loads trusted ocop's own rows: the reference for its format.

Kept for the tests only: the codec must still write these bytes and read these rows.
A private :class:`cattrs.Converter` turns the frozen domain values into plain JSON.
Money travels as an exact decimal string with its currency, datetimes as ISO 8601,
processor tokens with their type. Values are rebuilt through their constructors, so
every validator runs again on load.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TypeVar

import cattrs

from ocop.domain.journal import Voucher
from ocop.domain.money import Money
from ocop.domain.operations import Operation
from ocop.domain.order import Order
from ocop.domain.tokens import (
    AuthorizationToken,
    CaptureToken,
    CardToken,
    ProcessorToken,
    RefundToken,
)

__all__ = ["dumps", "loads"]

T = TypeVar("T", Order, Operation, Voucher)

_TOKENS: dict[str, type[ProcessorToken]] = {
    cls.__name__: cls
    for cls in (ProcessorToken, CardToken, AuthorizationToken, CaptureToken, RefundToken)
}


def _converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    converter.register_unstructure_hook(
        Money, lambda m: {"amount": str(m.amount), "currency": m.currency}
    )
    converter.register_structure_hook(Money, lambda d, _: Money.of(d["amount"], d["currency"]))
    converter.register_unstructure_hook(datetime, datetime.isoformat)
    converter.register_structure_hook(datetime, lambda s, _: datetime.fromisoformat(s))

    plain = cattrs.Converter()
    plain.register_unstructure_hook(datetime, datetime.isoformat)

    def unstructure_token(token: ProcessorToken) -> dict[str, Any]:
        body: dict[str, Any] = plain.unstructure(token, unstructure_as=type(token))
        return {"type": type(token).__name__, **body}

    def structure_token(data: dict[str, Any], _: object) -> ProcessorToken:
        fields = {k: v for k, v in data.items() if k != "type"}
        return _TOKENS[data["type"]](**fields)

    for cls in _TOKENS.values():
        converter.register_unstructure_hook(cls, unstructure_token)
        converter.register_structure_hook(cls, structure_token)
    return converter


_CONVERTER = _converter()


def dumps(value: Order | Operation | Voucher) -> str:
    """A value as compact JSON text."""
    return json.dumps(_CONVERTER.unstructure(value), separators=(",", ":"), sort_keys=True)


def loads(text: str, cls: type[T]) -> T:
    """Rebuild a value of ``cls`` from :func:`dumps` output; validators run again."""
    return _CONVERTER.structure(json.loads(text), cls)
