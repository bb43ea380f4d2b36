"""The keys ocop mints (rules O4, J3): different ids never make one key, ids without the
separators ``/``, ``:`` and ``#`` make the keys version 0.1.0 made, and a back office
keeps orders whose ids would collide under plain joining apart.
"""

from __future__ import annotations

import re
import typing
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ocop import Actor, Channel, Money, Operation, Outcome
from ocop.domain import keys, steps
from ocop.testing.strategies import money, non_card_text
from worlds import CUSTOMER, World, by_card, new_world, usd

from .builders import AT

# -- ids ------------------------------------------------------------------------------------

_PRINTABLE = "".join(chr(code) for code in range(0x20, 0x7F))
#: Short ids over few characters, the separators and their escapes among them, so that
#: ids which differ only by where a separator falls are drawn often.
_SEPARATOR_HEAVY = st.text(alphabet="ab1/:#%2F3A", max_size=8)
#: Any id: order-style ids and UUIDs, printable ASCII (separators and ``%`` included).
IDS = st.one_of(non_card_text(), st.text(alphabet=_PRINTABLE, max_size=12), _SEPARATOR_HEAVY)
#: Ids without the separators: the only ids version 0.1.0 keyed unambiguously.
PLAIN_IDS = st.one_of(
    non_card_text(),
    st.text(alphabet=_PRINTABLE.translate({ord(c): None for c in "/:#"}), max_size=12),
)
NUMBERS = st.integers(min_value=1, max_value=10**6)

CaptureIds = tuple[str, str, str, str, int]
RefundIds = tuple[str, str, str, str, str, int, int, int]
Ids = typing.TypeVar("Ids", bound=tuple[object, ...])


def capture_key(ids: CaptureIds) -> str:
    """The key of a capture of (order, invoice, line, authorization, attempt)."""
    order_id, invoice_id, line_id, auth_id, attempt = ids
    return keys.operation_key(order_id, keys.capture_step(invoice_id, line_id, auth_id), attempt)


def refund_key(ids: RefundIds) -> str:
    """The key of a linked refund of (order, return, the capture's ids, number, attempt)."""
    order_id, return_id, invoice_id, line_id, auth_id, captured, number, attempt = ids
    capture_id = capture_key((order_id, invoice_id, line_id, auth_id, captured))
    step = keys.refund_step(order_id, return_id, capture_id, number)
    return keys.operation_key(order_id, step, attempt)


CAPTURE_IDS = st.tuples(IDS, IDS, IDS, IDS, NUMBERS)
REFUND_IDS = st.tuples(IDS, IDS, IDS, IDS, IDS, NUMBERS, NUMBERS, NUMBERS)


@st.composite
def _tangled(draw: st.DrawFn, ids: SearchStrategy[Ids], joints: dict[int, str]) -> tuple[Ids, Ids]:
    """Two tuples of ids whose plainly joined keys coincide.

    ``joints[i]`` is the text between ids ``i`` and ``i + 1`` in the plainly joined key
    (``"/capture:"`` between an order and its invoice); one tuple ends id ``i + 1`` with
    a stretch that the other begins id ``i`` with, across that text.
    """
    base = draw(ids)
    at = draw(st.sampled_from(sorted(joints)))
    joint, extra = joints[at], draw(IDS)
    left, right = typing.cast(tuple[str, str], base[at : at + 2])
    one = (*base[:at], left, extra + joint + right, *base[at + 2 :])
    other = (*base[:at], left + joint + extra, right, *base[at + 2 :])
    return typing.cast(Ids, one), typing.cast(Ids, other)


def _pairs(ids: SearchStrategy[Ids], joints: dict[int, str]) -> SearchStrategy[tuple[Ids, Ids]]:
    """Two tuples of ids: drawn apart, or tangled so that plain joining would confuse them."""
    return st.one_of(st.tuples(ids, ids), _tangled(ids, joints))


# -- (a) different ids, different keys ----------------------------------------------------


@given(IDS, IDS)
@example("a/b", "a#sb")
@example("a#", "a#h")
def test_different_ids_are_escaped_differently(one: str, other: str) -> None:
    """Two different ids never read the same inside a key, escape lookalikes included."""
    if one != other:
        assert keys.escaped(one) != keys.escaped(other)


@given(_pairs(CAPTURE_IDS, {0: "/capture:", 1: ":", 2: ":"}))
@example((("SO/1", "INV", "L1", "A1", 1), ("SO#s1", "INV", "L1", "A1", 1)))
def test_different_ids_never_make_one_capture_key(pair: tuple[CaptureIds, CaptureIds]) -> None:
    """Captures of different (order, invoice, line, authorization, attempt) have different keys."""
    one, other = pair
    if one != other:
        assert capture_key(one) != capture_key(other)


@given(_pairs(REFUND_IDS, {0: "/refund:", 1: ":capture:", 2: ":", 3: ":"}))
def test_different_ids_never_make_one_refund_key(pair: tuple[RefundIds, RefundIds]) -> None:
    """Refunds of different (order, return, capture, number, attempt) have different keys."""
    one, other = pair
    if one != other:
        assert refund_key(one) != refund_key(other)


@given(_pairs(st.tuples(IDS, IDS), {0: "/post:"}))
def test_different_ids_never_make_one_posting_key(pair: tuple[tuple[str, str], ...]) -> None:
    """Prepayments posted for different (order, line) have different keys."""
    (order_id, line_id), (other_order, other_line) = pair
    if (order_id, line_id) != (other_order, other_line):
        assert keys.posting_key(order_id, line_id) != keys.posting_key(other_order, other_line)


@given(_pairs(st.tuples(IDS, IDS, IDS, NUMBERS), {0: "/apply:", 1: ":"}))
def test_different_ids_never_make_one_application_key(
    pair: tuple[tuple[str, str, str, int], ...],
) -> None:
    """Prepayments applied for different (order, invoice, line, number) have different keys."""
    one, other = pair
    if one != other:
        assert keys.application_key(*one) != keys.application_key(*other)


@given(_pairs(st.tuples(IDS, IDS, NUMBERS), {0: "/fallback:"}))
def test_different_ids_never_make_one_fallback_key(pair: tuple[tuple[str, str, int], ...]) -> None:
    """Fallback refunds of different (order, return, number) have different keys."""
    one, other = pair
    if one != other:
        assert keys.fallback_key(*one) != keys.fallback_key(*other)


@given(_pairs(st.tuples(IDS, IDS, NUMBERS), {0: "/cancel:"}))
@example((("SO-1", "L2", 2), ("SO-1", "L2#2", 1)))
@example((("SO-1", "L2", 1), ("SO-1", "L2", 2)))
def test_different_ids_never_make_one_cancellation_key(
    pair: tuple[tuple[str, str, int], ...],
) -> None:
    """Deposits refunded on cancellation of different (order, line, number) have different
    keys: a later refund of a line (cancelling again, D2) never takes the key of the first,
    nor of another line's."""
    one, other = pair
    if one != other:
        assert keys.cancellation_key(*one) != keys.cancellation_key(*other)


_UNESCAPED = {"#s": "/", "#c": ":", "#h": "#"}


def _unescaped(text: str) -> str:
    """An id as it was before :func:`keys.escaped`."""
    return re.sub("#s|#c|#h", lambda found: _UNESCAPED[found[0]], text)


def _read_capture_key(key: str) -> CaptureIds:
    """The ids a capture key was made of, read back by its separators."""
    head, attempt = key.rsplit("#", 1)
    order_id, step = head.split("/")
    kind, invoice_id, line_id, auth_id = step.split(":")
    assert kind == "capture"
    read = _unescaped
    return read(order_id), read(invoice_id), read(line_id), read(auth_id), int(attempt)


@given(REFUND_IDS)
def test_a_capture_key_and_its_refund_key_read_back_as_their_ids(ids: RefundIds) -> None:
    """Split at the separators and unescaped, a capture or refund key gives back its ids."""
    order_id, return_id, invoice_id, line_id, auth_id, captured, number, attempt = ids
    capture = (order_id, invoice_id, line_id, auth_id, captured)
    assert _read_capture_key(capture_key(capture)) == capture
    head, read_attempt = refund_key(ids).rsplit("#", 1)
    order_part, step = head.split("/", 1)
    kind, return_part, local = step.split(":", 2)
    local, read_number = local.rsplit(":", 1)
    assert (kind, _unescaped(return_part), int(read_number), int(read_attempt)) == (
        "refund",
        return_id,
        number,
        attempt,
    )
    assert _read_capture_key(f"{order_part}/{local}") == capture


@pytest.mark.parametrize(
    ("key", "stored"),
    [
        (keys.authorize_step("L1.A:1"), "authorize:L1.A#c1"),
        (keys.adjust_step("L1/A1", Decimal("12.50")), "adjust:L1#sA1:12.50"),
        (keys.void_step("L1#A1"), "void:L1#hA1"),
        (keys.tokenize_step("L:1"), "tokenize:L#c1"),
        (keys.unlinked_refund_step("RMA/1", 2), "unlinked_refund:RMA#s1:2"),
        (keys.posting_key("SO/1", "L:1"), "SO#s1/post:L#c1"),
        (keys.application_key("SO/1", "INV#1", "L:1", 2), "SO#s1/apply:INV#h1:L#c1#2"),
        (keys.fallback_key("SO/1", "RMA:1", 3), "SO#s1/fallback:RMA#c1#3"),
        (keys.cancellation_key("SO/1", "L/1"), "SO#s1/cancel:L#s1"),
        (keys.cancellation_key("SO/1", "L/1", 1), "SO#s1/cancel:L#s1"),
        (keys.cancellation_key("SO/1", "L/1", 2), "SO#s1/cancel:L#s1#2"),
        (keys.invoice_key("SO:1", "INV/1"), "SO#c1/invoice:INV#s1"),
        (keys.voucher_id("SO#s1/post:L#c1"), "V:SO#s1/post:L#c1"),
    ],
)
def test_keys_of_ids_with_separators_keep_their_stored_form(key: str, stored: str) -> None:
    """Keys of ids with separators are stored too, so every id in them is escaped as here."""
    assert key == stored


# -- (b) ids without separators: the keys of version 0.1.0 ---------------------------------


def _intent_key(order_id: str, step: steps.Step, attempt: int) -> str:
    return Operation.intent(order_id, step, attempt, AT).key


@given(
    order_id=PLAIN_IDS,
    invoice_id=PLAIN_IDS,
    line_id=PLAIN_IDS,
    auth_id=PLAIN_IDS,
    return_id=PLAIN_IDS,
    instrument_id=PLAIN_IDS,
    # An adjustment's key holds its amount: 13 digits or more in a currency without decimals
    # could pass the Luhn check, and a key that looks like a card number is refused (T2).
    amount=money(min_value=1, max_value=10**9),
    number=NUMBERS,
    attempt=NUMBERS,
)
def test_ids_without_separators_make_the_operation_keys_of_version_0_1_0(
    *,
    order_id: str,
    invoice_id: str,
    line_id: str,
    auth_id: str,
    return_id: str,
    instrument_id: str,
    amount: Money,
    number: int,
    attempt: int,
) -> None:
    """Every step of ids without ``/``, ``:`` or ``#`` is keyed as version 0.1.0 keyed it."""
    target = "tok_1"
    capture_id = f"{order_id}/capture:{invoice_id}:{line_id}:{auth_id}#{attempt}"
    local = capture_id.removeprefix(order_id + "/")
    old_steps: list[tuple[steps.Step, str]] = [
        (
            steps.Authorize(line_id=line_id, auth_id=auth_id, amount=amount, target=target),
            f"authorize:{auth_id}",
        ),
        (
            steps.Adjust(line_id=line_id, auth_id=auth_id, amount=amount, target=target),
            f"adjust:{auth_id}:{amount.amount}",
        ),
        (
            steps.Void(
                line_id=line_id, auth_id=auth_id, purpose=steps.VoidPurpose.REMOVE, target=target
            ),
            f"void:{auth_id}",
        ),
        (steps.Tokenize(line_id=line_id, instrument_id=instrument_id), f"tokenize:{line_id}"),
        (
            steps.Capture(
                invoice_id=invoice_id,
                line_id=line_id,
                auth_id=auth_id,
                amount=amount,
                target=target,
            ),
            f"capture:{invoice_id}:{line_id}:{auth_id}",
        ),
        (
            steps.Refund(
                return_id=return_id,
                line_id=line_id,
                capture_id=capture_id,
                number=number,
                amount=amount,
                target=target,
            ),
            f"refund:{return_id}:{local}:{number}",
        ),
        (
            steps.UnlinkedRefund(return_id=return_id, number=number, amount=amount, target=target),
            f"unlinked_refund:{return_id}:{number}",
        ),
    ]
    for step, old_name in old_steps:
        key = _intent_key(order_id, step, attempt)
        assert key == f"{order_id}/{old_name}#{attempt}"
        assert keys.voucher_id(key) == "V:" + key


@given(
    order_id=PLAIN_IDS,
    invoice_id=PLAIN_IDS,
    line_id=PLAIN_IDS,
    return_id=PLAIN_IDS,
    number=NUMBERS,
)
def test_ids_without_separators_make_the_posting_keys_of_version_0_1_0(
    *, order_id: str, invoice_id: str, line_id: str, return_id: str, number: int
) -> None:
    """Postings, applications, fallbacks, cancellations and invoices keep 0.1.0's keys."""
    assert keys.escaped(order_id) == order_id
    assert keys.posting_key(order_id, line_id) == f"{order_id}/post:{line_id}"
    assert (
        keys.application_key(order_id, invoice_id, line_id, number)
        == f"{order_id}/apply:{invoice_id}:{line_id}#{number}"
    )
    assert (
        keys.fallback_key(order_id, return_id, number)
        == f"{order_id}/fallback:{return_id}#{number}"
    )
    assert keys.cancellation_key(order_id, line_id) == f"{order_id}/cancel:{line_id}"
    assert keys.invoice_key(order_id, invoice_id) == f"{order_id}/invoice:{invoice_id}"
    key = keys.posting_key(order_id, line_id)
    assert keys.voucher_id(key) == f"V:{order_id}/post:{line_id}"


# -- (c) a back office keeps such ids apart -------------------------------------------------

AGENT = Actor.call_center("agent-1")


def _placed_invoiced_refunded(world: World, order_id: str, invoice_id: str) -> list[str]:
    """The operation keys of an order of one card, invoiced in full, then refunded 20.00."""
    world.bo.place_order(
        order_id,
        channel=Channel.ECOMMERCE,
        customer=CUSTOMER,
        total=usd("50.00"),
        payments=(by_card("50.00"),),
    )
    assert world.bo.invoice(order_id, invoice_id, usd("50.00")).uncovered.is_zero()
    assert world.bo.refund(order_id, "RMA:1", usd("20.00"), AGENT).fallback.is_zero()
    with world.bo.ports.store.unit_of_work() as uow:
        operations = uow.operations.for_order(order_id)
    assert [op.outcome for op in operations] == [Outcome.APPROVED] * 3
    return [op.key for op in operations]


def test_a_back_office_keys_the_operations_of_ids_with_separators_in_escaped_form() -> None:
    """Order ``SO/1:a#b`` invoiced as ``INV:1/x`` and refunded has escaped operation keys."""
    world = new_world()
    order_key = "SO#s1#ca#hb"
    capture = f"{order_key}/capture:INV#c1#sx:L1:L1.A1#1"
    assert _placed_invoiced_refunded(world, "SO/1:a#b", "INV:1/x") == [
        f"{order_key}/authorize:L1.A1#1",
        capture,
        f"{order_key}/refund:RMA#c1:capture:INV#c1#sx:L1:L1.A1#1:1#1",
    ]
    order = world.bo.order("SO/1:a#b")
    assert [(c.capture_id, c.invoice_id) for c in order.lines[0].captures] == [(capture, "INV:1/x")]


def test_orders_whose_capture_keys_plain_joining_would_confuse_stay_apart() -> None:
    """Two orders whose plainly joined capture keys coincide get two keys and two captures."""
    world = new_world()
    one, other = ("SO/capture:INV:1", "x"), ("SO", "INV:1/capture:x")
    naive = [f"{order}/capture:{invoice}:L1:L1.A1#1" for order, invoice in (one, other)]
    assert naive[0] == naive[1]
    first = _placed_invoiced_refunded(world, *one)
    second = _placed_invoiced_refunded(world, *other)
    assert first[1] == "SO#scapture#cINV#c1/capture:x:L1:L1.A1#1"
    assert second == [
        "SO/authorize:L1.A1#1",
        "SO/capture:INV#c1#scapture#cx:L1:L1.A1#1",
        "SO/refund:RMA#c1:capture:INV#c1#scapture#cx:L1:L1.A1#1:1#1",
    ]
    assert not set(first) & set(second)
    captures = [e.key for e in world.sim.ledger() if e.kind == "capture"]
    assert captures == [first[1], second[1]]


def test_escaping_never_makes_digits_a_card_number() -> None:
    """T2: an id with ``#`` before a long digit run escapes with letters, so its keys pass the
    card guard as the id itself does, and the order is invoiced."""
    world = new_world()
    order_id = "SO#00000000002"
    world.bo.place_order(order_id, channel=Channel.ECOMMERCE, customer=CUSTOMER,
                         total=usd("10.00"), payments=[by_card("10.00")])  # fmt: skip
    (capture,) = world.bo.invoice(order_id, "INV#1", usd("10.00")).captures
    assert capture.capture_id == "SO#h00000000002/capture:INV#h1:L1:L1.A1#1"
