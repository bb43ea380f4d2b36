"""Pending outcomes, pure (rules N1, N2): a capture or refund the processor accepted and
will settle later counts against its authorization or capture as if approved, but nothing
is received or refunded (nor posted) until it is settled; settled as failed, it is undone.
"""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import given

from ocop import (
    CaptureToken,
    Money,
    Operation,
    Order,
    Outcome,
    ProcessorResult,
    RefundToken,
    Settings,
)
from ocop.domain import steps
from ocop.domain.effects import Applied, apply_outcome

from .builders import AT, authorized_line, order, usd

SETTINGS = Settings.default()


def capture_op(amount: Money, invoice_id: str = "INV-1", number: int = 1) -> Operation:
    step = steps.Capture(invoice_id=invoice_id, line_id="L1", auth_id="A1", amount=amount,
                         target="tok_A1", number=number)  # fmt: skip
    return Operation.intent("SO-1", step, 1, AT)


def refund_op(amount: Money, capture_id: str, number: int = 1) -> Operation:
    step = steps.Refund(return_id="RMA-1", line_id="L1", capture_id=capture_id, number=number,
                        amount=amount, target="tok")  # fmt: skip
    return Operation.intent("SO-1", step, 1, AT)


def answered(order: Order, op: Operation, outcome: Outcome) -> tuple[Applied, Operation]:
    """The order once ``op`` is answered ``outcome``, and the operation as logged."""
    token: CaptureToken | RefundToken
    if isinstance(op.step, steps.Refund):
        token = RefundToken(f"ref_{op.key}", "sim", "sa-1")
    else:
        token = CaptureToken(f"cap_{op.key}", "sim", "sa-1")
    amount = op.step.amount if isinstance(op.step, steps.Capture | steps.Refund) else None
    result = ProcessorResult(key=op.key, outcome=outcome, amount=amount, token=token)
    return apply_outcome(order, op, result, SETTINGS, AT), op.resolved(result, AT)


def settled(order: Order, logged: Operation, *, approved: bool) -> Applied:
    outcome = Outcome.APPROVED if approved else Outcome.DECLINED
    assert logged.result is not None
    result = ProcessorResult(key=logged.key, outcome=outcome, amount=logged.result.amount,
                             token=logged.result.token)  # fmt: skip
    return apply_outcome(order, logged, result, SETTINGS, AT)


def test_a_pending_capture_counts_against_its_authorization_but_is_not_received() -> None:
    start = order("100.00", authorized_line("100.00"))
    applied, logged = answered(start, capture_op(usd("60.00")), Outcome.PENDING)
    line = applied.order.line("L1")
    assert applied.vouchers == ()
    assert line.authorized == usd("40.00")  # counted against the authorization
    assert line.captured == usd("60.00")  # the invoice is covered: no second capture (I4)
    assert line.received == usd("0.00")  # nothing taken yet
    assert line.captures[0].pending
    assert line.captures[0].refundable == usd("0.00")
    assert applied.order.paid == usd("100.00")  # S1: as if approved
    done = settled(applied.order, logged, approved=True)
    assert done.order.line("L1").received == usd("60.00")
    assert [v.amount for v in done.vouchers] == [usd("60.00")]
    assert not done.order.line("L1").captures[0].pending


def test_a_failed_pending_capture_is_undone() -> None:
    start = order("100.00", authorized_line("100.00"))
    applied, logged = answered(start, capture_op(usd("60.00")), Outcome.PENDING)
    undone = settled(applied.order, logged, approved=False)
    line = undone.order.line("L1")
    assert undone.vouchers == ()
    assert line.captures == ()
    assert line.authorized == usd("100.00")  # the authorization holds it again
    assert line.authorization("A1").captured == usd("0.00")


def test_a_failed_pending_single_capture_gives_back_all_it_held() -> None:
    """Without multi-capture a capture releases the rest; undone, the authorization holds
    all it held before, as the processor's does (it never captured)."""
    start = order("100.00", authorized_line("100.00", multi=False))
    applied, logged = answered(start, capture_op(usd("60.00")), Outcome.PENDING)
    assert applied.order.line("L1").authorized == usd("0.00")
    undone = settled(applied.order, logged, approved=False)
    assert undone.order.line("L1").authorized == usd("100.00")


def test_a_pending_refund_counts_against_its_capture_and_is_refunded_once_settled() -> None:
    start = order("100.00", authorized_line("100.00"))
    captured, cap = answered(start, capture_op(usd("100.00")), Outcome.APPROVED)
    applied, logged = answered(captured.order, refund_op(usd("30.00"), cap.key), Outcome.PENDING)
    line = applied.order.line("L1")
    assert applied.vouchers == ()
    assert line.captures[0].refundable == usd("70.00")
    assert (line.refunded, line.refunding) == (usd("0.00"), usd("30.00"))
    assert applied.order.refunding == usd("30.00")
    done = settled(applied.order, logged, approved=True)
    assert done.order.line("L1").refunded == usd("30.00")
    assert [v.amount for v in done.vouchers] == [usd("30.00")]
    undone = settled(applied.order, logged, approved=False)
    line = undone.order.line("L1")
    assert (line.refunds, line.captures[0].refundable) == ((), usd("100.00"))
    assert undone.vouchers == ()


@given(
    plan=st.lists(
        st.tuples(
            st.sampled_from(["capture", "refund"]),
            st.integers(1, 40),
            st.sampled_from([Outcome.APPROVED, Outcome.PENDING]),
            st.sampled_from([None, True, False]),
        ),
        max_size=8,
    )
)
def test_pending_captures_and_refunds_keep_the_invariants_whatever_settles_them(
    plan: list[tuple[str, int, Outcome, bool | None]],
) -> None:
    """V1, V2, V3 on every step; received and refunded count only what is settled, and what
    is settled approved is posted once."""
    current = order("100.00", authorized_line("100.00"))
    posted = Money.zero("USD")
    pending: list[Operation] = []
    for n, (kind, dollars, outcome, settle) in enumerate(plan):
        amount = usd(dollars)
        line = current.line("L1")
        if kind == "capture":
            if amount > line.authorized:
                continue
            op = capture_op(amount, invoice_id=f"INV-{n}")
        else:
            refundable = [c for c in line.captures if c.refundable >= amount]
            if not refundable:
                continue
            op = refund_op(amount, refundable[0].capture_id, number=n)
        applied, logged = answered(current, op, outcome)
        current = applied.order
        posted += sum((v.amount for v in applied.vouchers), Money.zero("USD"))
        if outcome is Outcome.PENDING:
            pending.append(logged)
        if settle is not None and pending:
            first = pending.pop(0)
            done = settled(current, first, approved=settle)
            current = done.order
            posted += sum((v.amount for v in done.vouchers), Money.zero("USD"))
        line = current.line("L1")
        for auth in line.authorizations:
            assert auth.captured + auth.voided <= auth.amount  # V1
        for cap in line.captures:
            assert cap.refunded <= cap.amount  # V2
        assert current.refunded + current.refunding <= current.received  # V3
        settled_captures = sum((c.amount for c in line.captures if not c.pending), usd(0))
        settled_refunds = sum((r.amount for r in line.refunds if not r.pending), usd(0))
        assert line.received == settled_captures
        assert line.refunded == settled_refunds
        assert posted == settled_captures + settled_refunds
