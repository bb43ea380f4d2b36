"""Every key ocop mints, in one place (rules O4, J3).

An operation key is ``{order}/{step}#{attempt}``; local postings have keys of the
same shape (``{order}/post:{line}``, ``{order}/apply:{invoice}:{line}#{n}`` ...) and
a voucher's id is ``V:`` + the key of what it posts. Keys already stored must keep
meaning the same step, so these formats never change.

Ids may contain the separators ``/``, ``:`` and ``#``. Inside a key they are
escaped (``#s``, ``#c``, ``#h``), so two different ids never make one key; an id
without them is used as it is, so keys of such ids are what they always were. The
escapes are letters, never digits: escaping cannot join digits of an id into a run
the card guard would take for a card number (T2), and the attempt number after the
last ``#`` stays apart from them.
"""

from __future__ import annotations

from decimal import Decimal

from ocop.domain.cardnumbers import grouped

_ESCAPES = {"/": "#s", ":": "#c", "#": "#h"}


def escaped(identifier: str) -> str:
    """``identifier`` as it appears inside a key."""
    if "/" not in identifier and ":" not in identifier and "#" not in identifier:
        return identifier
    return "".join(_ESCAPES.get(char, char) for char in identifier)


def order_part(key: str) -> str:
    """The part of an operation key before its first "/": its order's escaped id ("" for
    no key)."""
    return key.partition("/")[0]


def operation_key(order_id: str, step: str, attempt: int) -> str:
    """The key of one attempt of one business step of an order (``step`` already escaped)."""
    return f"{escaped(order_id)}/{step}#{attempt}"


def authorize_step(auth_id: str) -> str:
    return f"authorize:{escaped(auth_id)}"


def adjust_step(auth_id: str, new_total: Decimal) -> str:
    # A total whose digits pass for a card number is grouped (T2): no such key was ever
    # sent, so every key already stored keeps its text.
    return f"adjust:{escaped(auth_id)}:{grouped(str(new_total))}"


def void_step(auth_id: str, number: int = 1) -> str:
    """The ``number``-th void of an authorization: the first keeps the name it always had, a
    later one (money came back to the authorization after a void, N2) is numbered."""
    name = f"void:{escaped(auth_id)}"
    return name if number == 1 else f"{name}:{number}"


def tokenize_step(line_id: str) -> str:
    return f"tokenize:{escaped(line_id)}"


def capture_step(invoice_id: str, line_id: str, auth_id: str, number: int = 1) -> str:
    """An invoice's ``number``-th capture on one authorization of a line: the first keeps the
    name it always had, a later one (the invoice came back for more) is numbered."""
    name = f"capture:{escaped(invoice_id)}:{escaped(line_id)}:{escaped(auth_id)}"
    return name if number == 1 else f"{name}:{number}"


def deposit_capture_step(line_id: str, auth_id: str) -> str:
    """A card deposit captured when its order is placed, before any invoice (D1)."""
    return f"deposit:{escaped(line_id)}:{escaped(auth_id)}"


def deposit_use_key(order_id: str, invoice_id: str, line_id: str, number: int) -> str:
    """A card deposit applied to an invoice (I1, D1): no processor call, no voucher."""
    return f"{escaped(order_id)}/use_deposit:{escaped(invoice_id)}:{escaped(line_id)}#{number}"


def refund_step(order_id: str, return_id: str, capture_id: str, number: int) -> str:
    """A linked refund's step: the capture's own key, less the order prefix, names it."""
    local = capture_id.removeprefix(f"{escaped(order_id)}/")
    return f"refund:{escaped(return_id)}:{local}:{number}"


def unlinked_refund_step(return_id: str, number: int) -> str:
    return f"unlinked_refund:{escaped(return_id)}:{number}"


def posting_key(order_id: str, line_id: str) -> str:
    """A prepayment received at submit (J1)."""
    return f"{escaped(order_id)}/post:{escaped(line_id)}"


def application_key(order_id: str, invoice_id: str, line_id: str, number: int) -> str:
    """A posted prepayment applied to an invoice (I1)."""
    return f"{escaped(order_id)}/apply:{escaped(invoice_id)}:{escaped(line_id)}#{number}"


def fallback_key(order_id: str, return_id: str, number: int) -> str:
    """What linked refunds could not cover, paid back by the fallback method (R3)."""
    return f"{escaped(order_id)}/fallback:{escaped(return_id)}#{number}"


def cancellation_key(order_id: str, line_id: str, number: int = 1) -> str:
    """The ``number``-th refund of a line's deposit when its order is cancelled (X1, D2):
    the first keeps the key it always had, a later one (cancelling again refunds what was
    still due back, D2) is numbered as a new attempt of the same step."""
    key = f"{escaped(order_id)}/cancel:{escaped(line_id)}"
    return key if number == 1 else f"{key}#{number}"


def invoice_key(order_id: str, invoice_id: str) -> str:
    """Names an invoice in an :class:`~ocop.domain.errors.IdempotencyConflict`."""
    return f"{escaped(order_id)}/invoice:{escaped(invoice_id)}"


def chargeback_key(capture_id: str, chargeback_id: str) -> str:
    """A chargeback against a capture (N4), posted under the capture's key and the id of
    the notification that reported it."""
    return f"{capture_id}/chargeback:{escaped(chargeback_id)}"


def reversal_key(key: str) -> str:
    """What the processor undid after the fact (N4): the reversal of what ``key`` posted."""
    return f"{key}/reversal"


def step_of(key: str) -> str:
    """The step name of an operation key (``authorize:L1.A1`` of ``SO-1/authorize:L1.A1#1``):
    an order id never holds a ``/`` inside a key (it is escaped), so the first one ends it."""
    _, _, rest = key.partition("/")
    name, _, _ = rest.rpartition("#")
    return name


def voucher_id(key: str) -> str:
    """J3: a voucher's id derives from the operation (or posting) key."""
    return f"V:{key}"
