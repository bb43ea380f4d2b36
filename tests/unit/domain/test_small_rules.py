"""Smaller domain rules: Money only combines with Money, the check-hold threshold is
non-negative money, a line captured beyond its target needs no step, and an approved
void of a closed authorization changes nothing.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from ocop import (
    CompletionPolicy,
    InvalidArgument,
    InvalidSettings,
    LineStatus,
    Operation,
    Outcome,
    ProcessorResult,
    Settings,
)
from ocop.domain import steps
from ocop.domain.effects import apply_outcome, voucher_id
from ocop.domain.plan import line_step

from .builders import AT, authorized_line, capture, order, usd, zero


@pytest.mark.parametrize("other", [1, Decimal("1.00"), "1.00", None])
def test_money_combines_only_with_money(other: object) -> None:
    """Arithmetic and comparison with a bare value raise InvalidArgument naming its type (E1)."""
    message = f"cannot combine Money with {type(other).__name__}"
    with pytest.raises(InvalidArgument) as caught:
        usd("1.00") + other  # type: ignore[operator]
    assert str(caught.value) == message
    with pytest.raises(InvalidArgument) as caught:
        usd("1.00") < other  # type: ignore[operator]  # noqa: B015
    assert str(caught.value) == message


@pytest.mark.parametrize("threshold", [usd("-0.01"), Decimal("10.00"), 10])
def test_the_check_hold_threshold_is_non_negative_money(threshold: object) -> None:
    """A negative or bare-number check-hold threshold is refused."""
    with pytest.raises(InvalidSettings) as caught:
        CompletionPolicy(check_hold_threshold=threshold)  # type: ignore[arg-type]
    assert str(caught.value) == "check_hold_threshold must be non-negative Money or None"


def test_the_check_hold_threshold_may_be_zero_or_absent() -> None:
    """Zero and None are valid thresholds; None is the default."""
    assert CompletionPolicy(check_hold_threshold=zero()).check_hold_threshold == zero()
    assert CompletionPolicy().check_hold_threshold is None


@pytest.mark.parametrize("adjustments", [True, False])
def test_a_line_captured_beyond_its_new_target_needs_no_step(adjustments: bool) -> None:
    """C5: with nothing open and more captured than the target, no processor call is planned."""
    line = authorized_line("100.00", multi=False).captured_with(capture("C1", usd("100.00")))
    assert line_step(line.with_amount(usd("60.00")), adjustments=adjustments) is None
    assert line_step(line, adjustments=adjustments) is None


def void_of(purpose: str) -> Operation:
    """An intent to void A1 of line L1 of SO-1 for ``purpose``."""
    void = steps.Void(line_id="L1", auth_id="A1", purpose=steps.VoidPurpose(purpose),
                      target="tok_A1")  # fmt: skip
    return Operation.intent("SO-1", void, 1, AT)


@pytest.mark.parametrize(
    "purpose", sorted(p.value for p in steps.VoidPurpose if p is not steps.VoidPurpose.CANCEL)
)
def test_an_approved_void_of_a_closed_authorization_changes_nothing(purpose: str) -> None:
    """O2: a void approved after its authorization closed (by recovery) leaves the order as is."""
    closed = authorized_line("100.00").voided_auth("A1")
    before = order("100.00", closed)
    op = void_of(purpose)
    result = ProcessorResult(key=op.key, outcome=Outcome.APPROVED)
    applied = apply_outcome(before, op, result, Settings.default(), AT)
    assert applied.order is before
    assert applied.vouchers == ()


def test_an_approved_void_releases_the_open_amount() -> None:
    """An approved void of an open authorization voids what was open and posts nothing."""
    before = order("100.00", authorized_line("100.00"))
    op = void_of("remove")
    result = ProcessorResult(key=op.key, outcome=Outcome.APPROVED)
    applied = apply_outcome(before, op, result, Settings.default(), AT)
    line = applied.order.line("L1")
    assert line.authorization("A1").voided == usd("100.00")
    assert line.status is LineStatus.VOIDED
    assert applied.vouchers == ()
    made_way = apply_outcome(before, void_of("replace"), result, Settings.default(), AT)
    assert made_way.order.line("L1").status is LineStatus.NOT_SUBMITTED


def test_void_purposes_that_make_way_and_voucher_ids() -> None:
    """Replace, reauthorize, reduce and renew wait for a new authorization; voucher ids are
    V:<key>."""
    makes_way = frozenset(p.value for p in steps.VoidPurpose if p.makes_way)
    assert frozenset({"replace", "reauthorize", "reduce", "renew"}) == makes_way
    assert voucher_id("SO-1/capture:INV-1:L1:A1#1") == "V:SO-1/capture:INV-1:L1:A1#1"


def test_a_declined_adjustment_void_declines_an_uncaptured_line() -> None:
    """C3, C5: the void after a declined adjustment declines a line that captured nothing; a
    line that captured some keeps what it captured as its amount, paid."""
    before = order("100.00", authorized_line("100.00"))
    op = void_of("declined")
    result = ProcessorResult(key=op.key, outcome=Outcome.APPROVED)
    line = apply_outcome(before, op, result, Settings.default(), AT).order.line("L1")
    assert line.status is LineStatus.DECLINED
    captured = authorized_line("100.00").captured_with(capture("C1", usd("10.00")))
    kept = apply_outcome(order("100.00", captured), op, result, Settings.default(), AT)
    assert kept.order.line("L1").status is LineStatus.PAID
    assert kept.order.line("L1").amount == usd("10.00")
    assert kept.order.line("L1").authorized.is_zero()
