"""The completion plan never authorizes a used single-use card token again (C3, C5).

Submit refuses up front exactly the lines the plan could not bring to their target
without it; for the others the plan gets there with the authorizations the line has.
"""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop.domain import steps
from ocop.domain.errors import InvalidDraftEdit
from ocop.domain.money import Money
from ocop.domain.plan import MAX_STEPS_PER_LINE, line_step, require_authorizable
from ocop.domain.tender import PaymentLine

from .builders import CARD, auth, capture, usd

ONCE = attrs.evolve(CARD, value="tok_once", reusable=False)

cents = st.integers(min_value=1, max_value=20_000)


def dollars(amount: int) -> Money:
    """``amount`` cents in US dollars."""
    return usd(f"{amount // 100}.{amount % 100:02d}")


@st.composite
def used_lines(draw: st.DrawFn) -> PaymentLine:
    """A single-use card line with one or two authorizations of its token (the first maybe
    partly captured) and a target amount no lower than what it captured."""
    card_value = draw(st.sampled_from(["tok_once", ""]))  # "": recorded without its card
    amounts = draw(st.lists(cents, min_size=1, max_size=2))
    line = PaymentLine.card_line("L1", ONCE, usd(1))
    for n, amount in enumerate(amounts, start=1):
        granted = attrs.evolve(auth(f"A{n}", dollars(amount)), card_value=card_value)
        line = line.authorized_with(granted)
    taken = draw(st.integers(min_value=0, max_value=amounts[0]))
    if taken:
        line = line.captured_with(capture("C1", dollars(taken)))
    floor = max(int(line.captured.amount * 100), 1)
    target = draw(st.integers(min_value=floor, max_value=40_000))
    return line.with_amount(dollars(target))


def run(line: PaymentLine, *, adjustments: bool) -> PaymentLine:
    """Step the plan for ``line``, every step approved; a new authorization of the token fails."""
    for _ in range(MAX_STEPS_PER_LINE):
        step = line_step(line, adjustments=adjustments)
        assert not isinstance(step, steps.Authorize), step
        if isinstance(step, steps.Void):
            line = line.voided_auth(step.auth_id, awaiting_new=True)
        elif isinstance(step, steps.Adjust):
            line = line.adjusted(step.auth_id, step.amount)
        else:
            assert step is None, step
            break
    return line


@given(line=used_lines(), adjustments=st.booleans())
def test_submit_refuses_exactly_the_single_use_lines_the_plan_cannot_bring_to_target(
    line: PaymentLine, adjustments: bool
) -> None:
    """C3, C5: the plan never authorizes the used token again nor voids an authorization for
    it; submit refuses the line (naming it) iff the plan would leave it off its target."""
    done = run(line, adjustments=adjustments)
    reached = done.captured + done.authorized == done.amount
    if not reached:
        assert done.authorizations == line.authorizations  # nothing given up
    if reached:
        require_authorizable(line, adjustments=adjustments, invoiced=False)
        return
    with pytest.raises(InvalidDraftEdit) as refused:
        require_authorizable(line, adjustments=adjustments, invoiced=False)
    assert refused.value.line_id == "L1"
    assert refused.value.rule == ("C5" if line.captured.is_positive() else "C3")
