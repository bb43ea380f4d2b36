"""What an approved answer must carry before it changes an order (O2), and one dispatch for
one outcome or a batch.

An approval that lacks the token its step needs (a card token for a tokenize, an
authorization token for an authorization, a capture token for a capture) is refused
with IllegalTransition naming the operation's key: the order is never left holding a
money movement it could not later void, capture or refund.
"""

from __future__ import annotations

import attrs
import pytest

from ocop import (
    AuthorizationToken,
    CaptureToken,
    IllegalTransition,
    Operation,
    Outcome,
    ProcessorResult,
    Refund,
    RefundToken,
    Settings,
    VoucherKind,
)
from ocop.domain import steps
from ocop.domain.effects import apply_outcome, apply_outcomes
from ocop.domain.tokens import ProcessorToken
from ocop.domain.values import replaced

from .builders import AT, authorized_line, capture, card_line, order, usd

AUTH_TOKEN = AuthorizationToken("auth_9", "sim", "sa-1")
CAPTURE_TOKEN = CaptureToken("cap_9", "sim", "sa-1")

TOKENIZE = steps.Tokenize(line_id="L1", instrument_id="PI-1")
AUTHORIZE = steps.Authorize(line_id="L1", auth_id="A2", amount=usd("10.00"), target="tok_1")
CAPTURE = steps.Capture(invoice_id="INV-1", line_id="L1", auth_id="A1", amount=usd("10.00"),
                        target="tok_A1")  # fmt: skip


@pytest.mark.parametrize(
    ("step", "token", "what"),
    [
        (TOKENIZE, None, "card token"),
        (TOKENIZE, AUTH_TOKEN, "card token"),
        (AUTHORIZE, None, "authorization token"),
        (AUTHORIZE, CAPTURE_TOKEN, "authorization token"),
        (CAPTURE, None, "capture token"),
        (CAPTURE, AUTH_TOKEN, "capture token"),
    ],
    ids=[
        "tokenize-bare",
        "tokenize-auth-token",
        "authorize-bare",
        "authorize-capture-token",
        "capture-bare",
        "capture-auth-token",
    ],
)
def test_an_approval_without_the_token_its_step_needs_is_refused(
    step: steps.Step, token: ProcessorToken | None, what: str
) -> None:
    """An approved tokenize, authorization or capture whose answer lacks its token raises
    IllegalTransition naming the key and the order."""
    saved = attrs.evolve(card_line("100.00"), instrument_id="PI-1", needs_tokenize=True)
    line = saved if isinstance(step, steps.Tokenize) else authorized_line("100.00")
    before = order("100.00", line)
    op = Operation.intent("SO-1", step, 1, AT)
    answer = ProcessorResult(key=op.key, outcome=Outcome.APPROVED, token=token,
                             amount=step.amount)  # fmt: skip
    with pytest.raises(IllegalTransition) as refused:
        apply_outcome(before, op, answer, Settings.default(), AT)
    assert str(refused.value) == f"the processor's answer to {op.key} carries no {what}"
    assert refused.value.order_id == "SO-1"


def test_one_linked_refund_applies_alone_as_it_does_in_a_batch() -> None:
    """O2: apply_outcome of an approved linked refund records it against its capture and posts
    one refund voucher, exactly as apply_outcomes does for a batch of that one refund."""
    before = order("100.00", authorized_line("100.00").captured_with(capture("C1", usd("60.00"))))
    refund = steps.Refund(return_id="RMA-1", line_id="L1", capture_id="C1", number=1,
                          amount=usd("25.00"), target="tok_C1")  # fmt: skip
    op = Operation.intent("SO-1", refund, 1, AT)
    token = RefundToken("ref_1", "sim", "sa-1")
    answer = ProcessorResult(key=op.key, outcome=Outcome.APPROVED, amount=usd("25.00"),
                             token=token)  # fmt: skip
    alone = apply_outcome(before, op, answer, Settings.default(), AT)
    assert alone == apply_outcomes(before, [(op, answer)], Settings.default(), AT)
    line = alone.order.line("L1")
    assert line.capture("C1").refunded == usd("25.00")
    assert line.refunds == (
        Refund(
            refund_id=op.key,
            return_id="RMA-1",
            amount=usd("25.00"),
            capture_id="C1",
            token=token,
            refunded_at=AT,
            journal="OCOP-REF",
        ),
    )
    assert [(v.kind, v.reference, v.amount, v.journal_name) for v in alone.vouchers] == [
        (VoucherKind.REFUND, "RMA-1", usd("25.00"), "OCOP-REF")
    ]


@pytest.mark.parametrize("amount", ["0.00", "-5.00"])
@pytest.mark.parametrize("outcome", [Outcome.APPROVED, Outcome.PENDING])
def test_a_capture_that_moves_no_money_is_refused_by_its_line(
    amount: str, outcome: Outcome
) -> None:
    """V1: a capture's record is built from its step without the constructor's checks, so
    the line checks the amount itself: zero or less is refused, the order unchanged."""
    step = attrs.evolve(CAPTURE, amount=usd(amount))
    before = order("100.00", authorized_line("100.00"))
    op = Operation.intent("SO-1", step, 1, AT)
    answer = ProcessorResult(key=op.key, outcome=outcome, token=CAPTURE_TOKEN,
                             amount=step.amount)  # fmt: skip
    with pytest.raises(IllegalTransition, match="moves no money"):
        apply_outcome(before, op, answer, Settings.default(), AT)
    with pytest.raises(IllegalTransition, match="moves no money"):
        authorized_line("100.00").captured_with(
            replaced(capture("C9", usd("1.00")), amount=usd(amount))
        )
