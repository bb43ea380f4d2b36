"""Payment lines: the card line state machine (V1, V2) and prepayment lines."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop.domain.errors import IllegalTransition, InvalidInput
from ocop.domain.money import Money, total
from ocop.domain.tender import (
    Authorization,
    Capture,
    LineStatus,
    PaymentLine,
    PaymentMethod,
    Refund,
)
from ocop.domain.tokens import AuthorizationToken, CaptureToken, CardToken

AT = datetime(2026, 1, 1, tzinfo=UTC)
CARD = CardToken(value="tok_1", connector="sim", service_account="sa-1", brand="visa", last4="1111")


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def card_line(amount: str = "100.00") -> PaymentLine:
    return PaymentLine.card_line("L1", CARD, usd(amount))


def auth(auth_id: str, amount: Money, *, multi: bool = True) -> Authorization:
    zero = Money.zero(amount.currency)
    return Authorization(
        auth_id=auth_id,
        token=AuthorizationToken(f"tok_{auth_id}", "sim", "sa-1"),
        amount=amount,
        authorized_at=AT,
        multi_capture=multi,
        captured=zero,
        voided=zero,
    )


def capture(capture_id: str, auth_id: str | None, amount: Money) -> Capture:
    return Capture(
        capture_id=capture_id,
        line_id="L1",
        invoice_id=f"INV-{capture_id}",
        amount=amount,
        auth_id=auth_id,
        token=None if auth_id is None else CaptureToken(f"tok_{capture_id}", "sim", "sa-1"),
        refunded=Money.zero(amount.currency),
        captured_at=AT,
    )


def refund(refund_id: str, capture_id: str | None, amount: Money) -> Refund:
    return Refund(
        refund_id=refund_id, return_id="RMA-1", amount=amount, capture_id=capture_id, refunded_at=AT
    )


def check_consistent(line: PaymentLine) -> None:
    """Assert V1, V2 and that the derived amounts and status agree with the line's records."""
    zero = Money.zero(line.currency)
    for a in line.authorizations:
        assert a.captured + a.voided <= a.amount  # V1
        on_auth = [c.amount for c in line.captures if c.auth_id == a.auth_id]
        assert a.captured == total(on_auth, line.currency)
    for c in line.captures:
        assert zero <= c.refunded <= c.amount  # V2
    assert line.authorized == total((a.open_amount for a in line.authorizations), line.currency)
    assert line.captured == total((c.amount for c in line.captures), line.currency)
    assert line.refunded == total((r.amount for r in line.refunds), line.currency)
    assert line.refunded == total((c.refunded for c in line.captures), line.currency)
    assert line.capturable == line.authorized
    if line.captured.is_positive():
        if line.refunded == line.captured and line.authorized.is_zero():
            assert line.status is LineStatus.REFUNDED
        elif line.captured >= line.amount:
            assert line.status is LineStatus.PAID
        else:
            assert line.status is LineStatus.PARTIALLY_PAID
    elif line.authorized.is_positive():
        assert line.status is LineStatus.AUTHORIZED
    else:  # nothing open, nothing captured: waiting, declined or retired
        assert line.status in (LineStatus.NOT_SUBMITTED, LineStatus.DECLINED, LineStatus.VOIDED)


amounts = st.integers(min_value=1, max_value=25_000).map(lambda c: Money.from_minor(c, "USD"))
#: An amount, or a percentage of what is available (open, refundable) to reach the edges often.
shares = st.one_of(amounts, st.integers(min_value=1, max_value=110))
by_kind: dict[str, st.SearchStrategy[tuple[object, ...]]] = {
    "authorize": st.tuples(st.just("authorize"), amounts, st.booleans()),
    "adjust": st.tuples(st.just("adjust"), st.integers(0, 4), shares),
    "capture": st.tuples(st.just("capture"), st.integers(0, 4), shares),
    "void": st.tuples(st.just("void"), st.integers(0, 4)),
    "refund": st.tuples(st.just("refund"), st.integers(0, 4), shares),
    "decline": st.just(("decline",)),
    "remove": st.just(("remove",)),
}
#: Declining and removing end a line's life, so they come up less often than money steps.
weighted = ["authorize"] * 3 + ["adjust", "void"] * 2 + ["capture", "refund"] * 4
steps = st.sampled_from([*weighted, "decline", "remove"]).flatmap(lambda kind: by_kind[kind])


def _share(share: object, available: Money) -> Money:
    if isinstance(share, Money):
        return share
    assert isinstance(share, int)
    return Money.from_minor(max(1, available.minor * share // 100), available.currency)


def apply(line: PaymentLine, step: tuple[object, ...], n: int) -> PaymentLine:
    """Apply one generated step to ``line``; ``n`` makes the ids of new records unique."""
    match step:
        case ("authorize", Money() as amount, bool(multi)):
            return line.authorized_with(auth(f"A{n}", amount, multi=multi))
        case ("adjust", int(i), share):
            auth_id = _auth_id(line, i)
            return line.adjusted(auth_id, _share(share, _auth_amount(line, auth_id)))
        case ("capture", int(i), share):
            auth_id = _auth_id(line, i)
            amount = _share(share, _auth_open(line, auth_id))
            return line.captured_with(capture(f"C{n}", auth_id, amount))
        case ("void", int(i)):
            return line.voided_auth(_auth_id(line, i))
        case ("refund", int(i), share):
            caps = {c.capture_id: c.refundable for c in line.captures}
            target = _pick(list(caps), i, "C-missing")
            amount = _share(share, caps.get(target, line.amount))
            return line.refunded_with(refund(f"R{n}", target, amount))
        case ("decline",):
            return line.declined()
        case ("remove",):
            return line.removed()
    raise AssertionError(f"unknown step {step!r}")


def _auth_amount(line: PaymentLine, auth_id: str) -> Money:
    found = [a.amount for a in line.authorizations if a.auth_id == auth_id]
    return found[0] if found else line.amount


def _auth_open(line: PaymentLine, auth_id: str) -> Money:
    found = [a.open_amount for a in line.authorizations if a.auth_id == auth_id]
    return found[0] if found else line.amount


def _pick(ids: list[str], i: int, missing: str) -> str:
    """The ``i``-th id (cycling), or ``missing`` for the index 4 or when there is none."""
    return ids[i % len(ids)] if ids and i < 4 else missing


def _auth_id(line: PaymentLine, i: int) -> str:
    return _pick([a.auth_id for a in line.authorizations], i, "A-missing")


@given(st.lists(steps, max_size=40), st.integers(min_value=1, max_value=20_000))
def test_random_steps_keep_v1_v2_and_consistent_amounts(
    script: list[tuple[object, ...]], target_cents: int
) -> None:
    """Every step returns a consistent new line or raises and leaves the line unchanged."""
    line = PaymentLine.card_line("L1", CARD, Money.from_minor(target_cents, "USD"))
    check_consistent(line)
    for n, step in enumerate(script):
        before = attrs.evolve(line)
        try:
            after = apply(line, step, n)
        except (IllegalTransition, InvalidInput):
            assert line == before
            continue
        assert line == before  # the old value is untouched
        check_consistent(after)
        line = after


def test_single_capture_authorization_closes_after_a_partial_capture() -> None:
    """A capture on a single-capture authorization voids the rest of it."""
    line = card_line().authorized_with(auth("A1", usd("100.00"), multi=False))
    line = line.captured_with(capture("C1", "A1", usd("60.00")))
    assert line.authorization("A1").voided == usd("40.00")
    assert line.authorized.is_zero()
    assert line.status is LineStatus.PARTIALLY_PAID
    with pytest.raises(IllegalTransition):
        line.captured_with(capture("C2", "A1", usd("1.00")))


def test_multi_capture_authorization_takes_several_captures() -> None:
    """A multi-capture authorization is captured once per invoice until used up."""
    line = card_line().authorized_with(auth("A1", usd("100.00")))
    for n, part in enumerate(("30.00", "30.00", "40.00")):
        line = line.captured_with(capture(f"C{n}", "A1", usd(part)))
    assert line.captured == usd("100.00")
    assert line.authorized.is_zero()
    assert line.status is LineStatus.PAID
    with pytest.raises(IllegalTransition):
        line.captured_with(capture("C9", "A1", usd("0.01")))


def test_capture_beyond_the_open_amount_raises() -> None:
    """Capturing more than is open on an authorization is refused (V1)."""
    line = card_line().authorized_with(auth("A1", usd("100.00")))
    line = line.captured_with(capture("C1", "A1", usd("70.00")))
    with pytest.raises(IllegalTransition) as caught:
        line.captured_with(capture("C2", "A1", usd("30.01")))
    assert caught.value.line_id == "L1"


def test_refund_beyond_refundable_raises() -> None:
    """A refund above what a capture still holds is refused (V2)."""
    line = card_line().authorized_with(auth("A1", usd("100.00")))
    line = line.captured_with(capture("C1", "A1", usd("60.00")))
    with pytest.raises(IllegalTransition):
        line.refunded_with(refund("R1", "C1", usd("60.01")))
    line = line.refunded_with(refund("R1", "C1", usd("60.00")))
    assert line.capture("C1").refundable.is_zero()
    with pytest.raises(IllegalTransition):
        line.refunded_with(refund("R2", "C1", usd("0.01")))


def test_status_progresses_from_not_submitted_to_refunded() -> None:
    """A card line goes NOT_SUBMITTED, AUTHORIZED, PARTIALLY_PAID, PAID, REFUNDED."""
    line = card_line()
    assert line.status is LineStatus.NOT_SUBMITTED
    line = line.begin_authorization()
    assert line.status is LineStatus.PENDING_AUTHORIZATION
    line = line.authorized_with(auth("A1", usd("100.00")))
    assert line.status is LineStatus.AUTHORIZED
    line = line.captured_with(capture("C1", "A1", usd("40.00")))
    assert line.status is LineStatus.PARTIALLY_PAID
    line = line.captured_with(capture("C2", "A1", usd("60.00")))
    assert line.status is LineStatus.PAID
    line = line.refunded_with(refund("R1", "C1", usd("40.00")))
    assert line.status is LineStatus.PAID
    line = line.refunded_with(refund("R2", "C2", usd("60.00")))
    assert line.status is LineStatus.REFUNDED
    assert line.paid.is_zero()


def test_declined_line_is_inactive_and_cannot_be_authorized() -> None:
    """A declined line no longer counts and refuses a later authorization."""
    line = card_line().begin_authorization().declined()
    assert line.status is LineStatus.DECLINED
    assert not line.active
    with pytest.raises(IllegalTransition):
        line.authorized_with(auth("A1", usd("100.00")))


def test_adjust_cannot_go_below_what_was_captured() -> None:
    """An adjustment may move an authorization up or down, never below its captures."""
    line = card_line().authorized_with(auth("A1", usd("100.00")))
    line = line.captured_with(capture("C1", "A1", usd("30.00")))
    assert line.adjusted("A1", usd("120.00")).authorized == usd("90.00")
    assert line.adjusted("A1", usd("30.00")).authorized.is_zero()
    with pytest.raises(IllegalTransition):
        line.adjusted("A1", usd("29.99"))


def test_prepayment_is_posted_applied_and_refunded() -> None:
    """A prepayment holds nothing until posted, then is applied to invoices and refunded."""
    line = PaymentLine.prepayment_line("P1", PaymentMethod.CASH, usd("50.00"))
    assert line.received.is_zero()
    assert line.capturable.is_zero()
    with pytest.raises(IllegalTransition):
        line.applied(capture("X1", None, usd("10.00")))
    line = line.posted()
    assert line.posted() == line
    assert line.status is LineStatus.PAID
    assert line.received == usd("50.00")
    line = line.applied(capture("X1", None, usd("30.00")))
    assert line.invoiced == usd("30.00")
    assert line.capturable == usd("20.00")
    with pytest.raises(IllegalTransition):
        line.applied(capture("X2", None, usd("20.01")))
    with pytest.raises(IllegalTransition):
        line.refunded_with(refund("R1", None, usd("50.01")))
    line = line.refunded_with(refund("R1", None, usd("50.00")))
    assert line.status is LineStatus.REFUNDED
    assert line.paid.is_zero()


def test_prepayment_cannot_be_removed_or_authorized() -> None:
    """A posted prepayment line cannot be removed, and card transitions are refused."""
    line = PaymentLine.prepayment_line("P1", PaymentMethod.CHECK, usd("50.00")).posted()
    with pytest.raises(IllegalTransition):
        line.removed()
    with pytest.raises(IllegalTransition):
        line.authorized_with(auth("A1", usd("50.00")))
    with pytest.raises(InvalidInput):
        PaymentLine.prepayment_line("P2", PaymentMethod.CARD, usd("5.00"))


def test_removing_a_line_with_an_open_authorization_raises() -> None:
    """An authorized line must have its authorization voided before it is removed."""
    line = card_line().authorized_with(auth("A1", usd("100.00")))
    with pytest.raises(IllegalTransition):
        line.removed()
    voided = line.voided_auth("A1")
    assert voided.status is LineStatus.VOIDED
    assert voided.removed().status is LineStatus.VOIDED


def test_removing_a_captured_line_raises() -> None:
    """A line that received money cannot be removed (C5)."""
    line = card_line().authorized_with(auth("A1", usd("100.00"), multi=False))
    line = line.captured_with(capture("C1", "A1", usd("10.00")))
    with pytest.raises(IllegalTransition):
        line.removed()
