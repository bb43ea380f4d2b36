"""Payment lines against a model: every step the model allows succeeds with the predicted
amounts and status; every step it forbids raises IllegalTransition naming the line and
the refused amount (V1, V2, V3, S1).

Amounts are drawn near the edges (what is open or refundable, plus or minus one cent)
as often as anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop import IllegalTransition, InvalidInput, LineStatus, Money, PaymentLine

from .builders import CARD, auth, capture, card_line, cash_line, refund

CENT = Decimal("0.01")


def cents(n: int) -> Money:
    return Money.from_minor(n, "USD")


@dataclass
class AuthModel:
    amount: int
    multi: bool
    captured: int = 0
    voided: int = 0

    @property
    def open(self) -> int:
        return self.amount - self.captured - self.voided


@dataclass
class CardModel:
    """What a card line should be, in cents."""

    target: int
    auths: dict[str, AuthModel] = field(default_factory=dict)
    captures: dict[str, list[int]] = field(default_factory=dict)  # id -> [amount, refunded]
    status: LineStatus = LineStatus.NOT_SUBMITTED

    @property
    def open(self) -> int:
        return sum(a.open for a in self.auths.values())

    @property
    def captured(self) -> int:
        return sum(c[0] for c in self.captures.values())

    @property
    def refunded(self) -> int:
        return sum(c[1] for c in self.captures.values())

    def derive(self) -> None:
        if self.captured > 0:
            if self.refunded == self.captured and self.open == 0:
                self.status = LineStatus.REFUNDED
            elif self.captured >= self.target:
                self.status = LineStatus.PAID
            else:
                self.status = LineStatus.PARTIALLY_PAID
        elif self.open > 0:
            self.status = LineStatus.AUTHORIZED
        elif self.auths:
            self.status = LineStatus.VOIDED


#: An amount in cents: anywhere, or near what is available (``("edge", k)``: available + k).
amount_specs = st.one_of(
    st.integers(min_value=1, max_value=30_000),
    st.tuples(st.just("edge"), st.integers(min_value=-2, max_value=1)),
)
card_steps = st.one_of(
    st.tuples(st.just("authorize"), st.integers(1, 30_000), st.booleans()),
    st.tuples(st.just("capture"), st.integers(0, 3), amount_specs),
    st.tuples(st.just("void"), st.integers(0, 3)),
    st.tuples(st.just("adjust"), st.integers(0, 3), amount_specs),
    st.tuples(st.just("refund"), st.integers(0, 3), amount_specs),
)


def _amount(spec: object, available: int) -> int:
    if isinstance(spec, int):
        return spec
    assert isinstance(spec, tuple)
    offset = spec[1]
    assert isinstance(offset, int)
    return max(1, available + offset)


def _pick(ids: list[str], i: int, missing: str) -> str:
    """The ``i``-th id (cycling), or ``missing`` for index 3 or when there is none."""
    return ids[i % len(ids)] if ids and i < 3 else missing


def check_card(line: PaymentLine, model: CardModel) -> None:
    """The line's records and derived amounts are the model's, to the cent."""
    assert line.status is model.status
    assert line.authorized.minor == model.open
    assert line.capturable.minor == model.open
    assert line.captured.minor == model.captured
    assert line.received.minor == model.captured
    assert line.refunded.minor == model.refunded
    assert line.paid.minor == model.captured + model.open - model.refunded
    assert [a.auth_id for a in line.authorizations] == list(model.auths)
    for a in line.authorizations:
        m = model.auths[a.auth_id]
        assert (a.amount.minor, a.captured.minor, a.voided.minor) == (
            m.amount,
            m.captured,
            m.voided,
        )
        assert a.captured + a.voided <= a.amount  # V1
    assert {c.capture_id: [c.amount.minor, c.refunded.minor] for c in line.captures} == (
        model.captures
    )
    assert [a.auth_id for a in line.open_authorizations()] == [
        i for i, m in model.auths.items() if m.open > 0
    ]


#: A predicted refusal: how its message starts, and the refused amount in cents (if any).
Refusal = tuple[str, int | None]


def _authorize(model: CardModel, auth_id: str, amount: int, multi: bool) -> Refusal | None:
    if model.status is LineStatus.VOIDED:
        return (f"line L1 ({model.status}): cannot authorize", amount)
    model.auths[auth_id] = AuthModel(amount=amount, multi=multi)
    return None


def _capture(model: CardModel, capture_id: str, auth_id: str, amount: int) -> Refusal | None:
    found = model.auths.get(auth_id)
    if found is None:
        return (f"line L1 has no authorization {auth_id}", None)
    if amount > found.open:
        return (f"line L1 ({model.status}): capture of", amount)
    found.captured += amount
    if not found.multi:
        found.voided += found.open
    model.captures[capture_id] = [amount, 0]
    return None


def _void(model: CardModel, auth_id: str) -> Refusal | None:
    found = model.auths.get(auth_id)
    if found is None:
        return (f"line L1 has no authorization {auth_id}", None)
    if found.open == 0:
        return (f"line L1 ({model.status}): authorization {auth_id} has nothing", None)
    found.voided += found.open
    return None


def _adjust(model: CardModel, auth_id: str, amount: int) -> Refusal | None:
    found = model.auths.get(auth_id)
    if found is None:
        return (f"line L1 has no authorization {auth_id}", None)
    if found.open == 0:
        return (f"line L1 ({model.status}): authorization {auth_id} is closed", amount)
    if amount < found.captured + found.voided:
        return (f"line L1 ({model.status}): cannot adjust below", amount)
    found.amount = amount
    return None


def _refund(model: CardModel, capture_id: str, amount: int) -> Refusal | None:
    held = model.captures.get(capture_id)
    if held is None:
        return (f"line L1 has no capture {capture_id}", None)
    if amount > held[0] - held[1]:
        return (f"line L1 ({model.status}): refund of", amount)
    held[1] += amount
    return None


def step_card(line: PaymentLine, model: CardModel, step: tuple[object, ...], n: int) -> PaymentLine:
    """Apply ``step`` to the line and the model; check a refusal was predicted exactly."""
    auths = list(model.auths)
    match step:
        case ("authorize", int(amount), bool(multi)):
            expected = _authorize(model, f"A{n}", amount, multi)
            run = partial(line.authorized_with, auth(f"A{n}", cents(amount), multi=multi))
        case ("capture", int(i), spec):
            auth_id = _pick(auths, i, "A-none")
            found = model.auths.get(auth_id)
            amount = _amount(spec, found.open if found else 100)
            expected = _capture(model, f"C{n}", auth_id, amount)
            run = partial(line.captured_with, capture(f"C{n}", cents(amount), auth_id))
        case ("void", int(i)):
            auth_id = _pick(auths, i, "A-none")
            expected = _void(model, auth_id)
            run = partial(line.voided_auth, auth_id)
        case ("adjust", int(i), spec):
            auth_id = _pick(auths, i, "A-none")
            found = model.auths.get(auth_id)
            amount = _amount(spec, found.captured + found.voided if found else 100)
            expected = _adjust(model, auth_id, amount)
            run = partial(line.adjusted, auth_id, cents(amount))
        case ("refund", int(i), spec):
            capture_id = _pick(list(model.captures), i, "C-none")
            held = model.captures.get(capture_id)
            amount = _amount(spec, held[0] - held[1] if held else 100)
            expected = _refund(model, capture_id, amount)
            run = partial(line.refunded_with, refund(f"R{n}", cents(amount), capture_id))
        case _:
            raise AssertionError(f"unknown step {step!r}")
    if expected is None:
        after = run()
        model.derive()
        return after
    with pytest.raises(IllegalTransition) as caught:
        run()
    message, refused_cents = expected
    assert str(caught.value).startswith(message)
    if not message.startswith("line L1 has no"):
        assert caught.value.line_id == "L1"
        assert caught.value.amount == (None if refused_cents is None else refused_cents * CENT)
    return line


@given(st.integers(min_value=1, max_value=30_000), st.lists(card_steps, max_size=30))
def test_a_card_line_does_exactly_what_the_model_predicts(
    target: int, script: list[tuple[object, ...]]
) -> None:
    """Allowed steps succeed with the predicted amounts and status; others are refused exactly."""
    line = PaymentLine.card_line("L1", CARD, cents(target))
    model = CardModel(target=target)
    check_card(line, model)
    for n, step in enumerate(script):
        line = step_card(line, model, step, n)
        check_card(line, model)


@given(
    st.integers(min_value=1, max_value=10_000),
    st.lists(st.integers(min_value=1, max_value=10_000), max_size=6),
    st.booleans(),
)
def test_captures_and_a_void_never_use_an_authorization_beyond_its_amount(
    amount: int, parts: list[int], void_at_end: bool
) -> None:
    """V1 after any sequence of captures and a void: captured + voided stays the amount or less."""
    line = PaymentLine.card_line("L1", CARD, cents(amount))
    line = line.authorized_with(auth("A1", cents(amount)))
    taken = 0
    for n, part in enumerate(parts):
        if part <= amount - taken:
            line = line.captured_with(capture(f"C{n}", cents(part)))
            taken += part
        else:
            with pytest.raises(IllegalTransition):
                line.captured_with(capture(f"C{n}", cents(part)))
    if void_at_end and taken < amount:
        line = line.voided_auth("A1")
    used = line.authorization("A1")
    assert used.captured.minor == taken
    assert used.captured + used.voided <= used.amount
    assert used.open_amount.minor == (0 if void_at_end else amount - taken)
    assert line.authorized + line.captured + used.voided == used.amount


@given(
    st.integers(min_value=1, max_value=10_000),
    st.lists(
        st.tuples(st.sampled_from(["apply", "refund"]), st.integers(min_value=1, max_value=10_000)),
        max_size=10,
    ),
)
def test_a_posted_prepayment_applies_and_refunds_within_what_it_received(
    amount: int, script: list[tuple[str, int]]
) -> None:
    """Applications stay within what is left, refunds within what was received (V3)."""
    line = cash_line(str(cents(amount).amount)).posted()
    applied = refunded = 0
    for n, (kind, part) in enumerate(script):
        if kind == "apply":
            allowed = part <= max(0, amount - applied - refunded)
            step = partial(line.applied, capture(f"X{n}", cents(part), None, line_id="P1"))
        else:
            allowed = part <= amount - refunded
            step = partial(line.refunded_with, refund(f"R{n}", cents(part), None))
        if allowed:
            line = step()
            applied += part if kind == "apply" else 0
            refunded += part if kind == "refund" else 0
        else:
            with pytest.raises(IllegalTransition) as caught:
                step()
            assert (caught.value.line_id, caught.value.amount) == ("P1", part * CENT)
        assert line.invoiced.minor == applied
        assert line.refunded.minor == refunded
        assert line.received.minor == amount
        assert line.captured.is_zero()
        assert line.paid.minor == amount - refunded
        assert line.capturable.minor == max(0, amount - applied - refunded)
        assert line.status is (LineStatus.REFUNDED if refunded == amount else LineStatus.PAID)


@given(
    st.integers(min_value=1, max_value=10_000),
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=0, max_value=10_000),
)
def test_an_authorization_is_valid_exactly_when_v1_holds(
    amount: int, captured: int, voided: int
) -> None:
    """An authorization record exists exactly when captured + voided <= amount (V1)."""
    if captured + voided <= amount:
        made = auth("A1", cents(amount), captured=cents(captured), voided=cents(voided))
        assert made.open_amount.minor == amount - captured - voided
    else:
        with pytest.raises(IllegalTransition) as caught:
            auth("A1", cents(amount), captured=cents(captured), voided=cents(voided))
        assert caught.value.context == {"auth_id": "A1"}


@given(st.integers(min_value=-3, max_value=3))
def test_line_amounts_are_positive_money_only(minor: int) -> None:
    """A line of n cents exists exactly when n > 0."""
    if minor > 0:
        assert card_line().with_amount(cents(minor)).amount.minor == minor
    else:
        with pytest.raises(InvalidInput):
            card_line().with_amount(cents(minor))
