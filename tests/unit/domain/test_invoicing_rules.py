"""Invoicing rules: validating an invoice (I1, O4), authorization age (I3) and how an invoice
is covered (I1): posted prepayments first, then card lines in line order, each up to what
it can still give, spread over a line's open authorizations oldest first.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop import (
    AuthorizationPolicy,
    BackOffice,
    CardPayment,
    Channel,
    CurrencyMismatch,
    IdempotencyConflict,
    IllegalTransition,
    InvalidArgument,
    InvalidInput,
    Invoice,
    LineStatus,
    Money,
    Operation,
    Order,
    Outcome,
    PaymentLine,
    ProcessorResult,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from ocop.domain import steps
from ocop.domain.invoice_run import InvoiceRun
from ocop.domain.invoicing import (
    AuthorizationAge,
    Part,
    age_of,
    capturable,
    check_invoice,
    covered,
    plan_parts,
    split_over_authorizations,
)

from .builders import (
    AT,
    CARD,
    CUSTOMER,
    auth,
    authorized_line,
    capture,
    card_line,
    cash_line,
    eur,
    order,
    usd,
    zero,
)

POLICY = AuthorizationPolicy(expiry_days=3, stale_days=5)
TICK = timedelta(microseconds=1)


def invoiced(total: str, *amounts: str) -> Order:
    """An order of ``total`` dollars with invoices INV-1, INV-2 ... of ``amounts``."""
    current = order(total)
    for n, amount in enumerate(amounts, start=1):
        current = current.with_invoice(
            Invoice(invoice_id=f"INV-{n}", amount=usd(amount), invoiced_at=AT)
        )
    return current


# -- authorization age (I3) -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (timedelta(0), AuthorizationAge.FRESH),
        (timedelta(days=3) - TICK, AuthorizationAge.FRESH),
        (timedelta(days=3), AuthorizationAge.EXPIRED),
        (timedelta(days=5) - TICK, AuthorizationAge.EXPIRED),
        (timedelta(days=5), AuthorizationAge.STALE),
        (timedelta(days=400), AuthorizationAge.STALE),
    ],
)
def test_an_authorization_expires_and_goes_stale_on_the_day_boundary(
    age: timedelta, expected: AuthorizationAge
) -> None:
    """I3: exactly expiry_days old is expired, exactly stale_days old is stale."""
    assert age_of(auth("A1", usd("1.00")), AT + age, POLICY) is expected


def test_with_equal_periods_an_old_authorization_is_stale_not_expired() -> None:
    """When expiry and stale periods are equal, staleness wins."""
    policy = AuthorizationPolicy(expiry_days=3, stale_days=3)
    assert age_of(auth("A1", usd("1.00")), AT + timedelta(days=3), policy) is (
        AuthorizationAge.STALE
    )


def test_the_default_policy_expires_at_14_days_and_is_stale_at_30() -> None:
    """I3 defaults: 14 days to expiry, 30 to staleness."""
    young = auth("A1", usd("1.00"))
    policy = AuthorizationPolicy()
    assert age_of(young, AT + timedelta(days=14) - TICK, policy) is AuthorizationAge.FRESH
    assert age_of(young, AT + timedelta(days=14), policy) is AuthorizationAge.EXPIRED
    assert age_of(young, AT + timedelta(days=30), policy) is AuthorizationAge.STALE
    assert [a.value for a in AuthorizationAge] == ["fresh", "expired", "stale"]


# -- check_invoice (I1, O4) ------------------------------------------------------------------
@pytest.mark.parametrize("amount", [Decimal("10.00"), "10.00", 10, eur("10.00")])
def test_an_invoice_amount_is_money_in_the_order_currency(amount: object) -> None:
    """A bare number or another currency is refused, naming the order's currency."""
    with pytest.raises(InvalidInput) as caught:
        check_invoice(order("100.00"), "INV-1", amount)  # type: ignore[arg-type]
    assert str(caught.value) == "an invoice amount is Money in USD"


@pytest.mark.parametrize("amount", ["0.00", "-0.01"])
def test_an_invoice_amount_is_positive(amount: str) -> None:
    """An invoice of zero or less is refused."""
    with pytest.raises(InvalidInput) as caught:
        check_invoice(order("100.00"), "INV-1", usd(amount))
    assert str(caught.value) == "an invoice amount must be positive"


def test_an_invoice_may_take_exactly_what_is_not_yet_invoiced() -> None:
    """I1: the rest of the total passes; one cent more is refused with order and amount."""
    partly = invoiced("100.00", "40.00")
    assert check_invoice(partly, "INV-2", usd("60.00")) is False
    with pytest.raises(IllegalTransition) as caught:
        check_invoice(partly, "INV-2", usd("60.01"))
    assert str(caught.value) == (
        "order SO-1: invoicing 60.01 USD exceeds the 60.00 USD not yet invoiced (I1)"
    )
    assert (caught.value.order_id, caught.value.amount) == ("SO-1", Decimal("60.01"))


def test_a_repeated_invoice_is_recognised_even_when_fully_invoiced() -> None:
    """O4: the same invoice id and amount is a repeat, not an invoice beyond the total."""
    full = invoiced("100.00", "30.00", "70.00")
    assert check_invoice(full, "INV-1", usd("30.00")) is True
    assert check_invoice(full, "INV-2", usd("70.00")) is True


def test_a_repeated_invoice_with_another_amount_is_a_conflict() -> None:
    """O4: the same invoice id with a different amount raises IdempotencyConflict with its key."""
    partly = invoiced("100.00", "30.00", "20.00")
    with pytest.raises(IdempotencyConflict) as caught:
        check_invoice(partly, "INV-2", usd("20.01"))
    assert caught.value.key == "SO-1/invoice:INV-2"


# -- through the back office ------------------------------------------------------------------
def placed() -> tuple[BackOffice, SimulatedProcessor]:
    """An in-memory back office with SO-1 of 100.00 placed and paid by card."""
    clock = ManualClock(AT)
    sim = SimulatedProcessor(clock=clock)
    bo = BackOffice.in_memory(processor=sim, clock=clock)
    bo.place_order(
        "SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER, total=usd("100.00"),
        payments=[CardPayment(CARD, usd("100.00"))],
    )  # fmt: skip
    return bo, sim


@pytest.mark.parametrize(
    ("amount", "error", "message"),
    [
        (Decimal("10.00"), InvalidArgument, "amount must be a Money, not Decimal"),
        (eur("10.00"), CurrencyMismatch, "an invoice amount is Money in USD"),
        (zero(), InvalidInput, "an invoice amount must be positive"),
        (
            usd("100.01"),
            IllegalTransition,
            "order SO-1: invoicing 100.01 USD exceeds the 100.00 USD not yet invoiced (I1)",
        ),
    ],
)
def test_a_refused_invoice_changes_nothing_and_calls_no_processor(
    amount: object, error: type[Exception], message: str
) -> None:
    """bo.invoice refuses a bad amount before recording an invoice or capturing anything."""
    bo, sim = placed()
    before, calls = bo.order("SO-1"), sim.calls
    with pytest.raises(error) as caught:
        bo.invoice("SO-1", "INV-1", amount)  # type: ignore[arg-type]
    assert str(caught.value) == message
    assert bo.order("SO-1") == before
    assert sim.calls == calls
    assert bo.journal("SO-1") == ()


def test_a_repeated_invoice_with_another_amount_is_refused_by_the_back_office() -> None:
    """O4 through bo.invoice: the conflict names the invoice's key and captures nothing more."""
    bo, sim = placed()
    first = bo.invoice("SO-1", "INV-1", usd("40.00"))
    assert [c.amount for c in first.captures] == [usd("40.00")]
    calls = sim.calls
    with pytest.raises(IdempotencyConflict) as caught:
        bo.invoice("SO-1", "INV-1", usd("40.01"))
    assert caught.value.key == "SO-1/invoice:INV-1"
    assert sim.calls == calls
    assert bo.order("SO-1").invoiced == usd("40.00")


# -- what a line can give ---------------------------------------------------------------------
def test_an_inactive_or_leaving_line_gives_nothing() -> None:
    """A declined, voided or pending-removal line gives nothing, even with money open."""
    line = authorized_line("100.00")
    assert capturable(line) == usd("100.00")
    assert capturable(attrs.evolve(line, status=LineStatus.DECLINED)) == zero()
    assert capturable(attrs.evolve(line, status=LineStatus.VOIDED)) == zero()
    assert capturable(attrs.evolve(line, pending_removal=True)) == zero()
    assert capturable(cash_line("30.00")) == zero()
    assert capturable(cash_line("30.00").posted()) == usd("30.00")


def test_covered_counts_only_the_captures_of_that_invoice() -> None:
    """What captures and prepayment applications already gave to one invoice."""
    card = authorized_line("100.00").captured_with(capture("C1", usd("30.00"), invoice_id="INV-1"))
    card = card.captured_with(capture("C2", usd("20.00"), invoice_id="INV-2"))
    cash = cash_line("50.00").posted()
    cash = cash.applied(capture("X1", usd("10.00"), None, line_id="P1", invoice_id="INV-1"))
    paid = order("150.00", card, cash)
    assert covered(paid, "INV-1") == usd("40.00")
    assert covered(paid, "INV-2") == usd("20.00")
    assert covered(paid, "INV-3") == zero()


def mixed_order() -> Order:
    """L1 card 50 open, L2 declined with 20 open, P1 cash 30 posted, L3 card 40 open,
    L4 card 10 open but leaving, P2 check not posted."""
    declined = attrs.evolve(authorized_line("20.00", auth_amount="20.00"), line_id="L2",
                            status=LineStatus.DECLINED)  # fmt: skip
    leaving = attrs.evolve(
        PaymentLine.card_line("L4", CARD, usd("10.00")).authorized_with(auth("A4", usd("10.00"))),
        pending_removal=True,
    )
    return order(
        "500.00",
        PaymentLine.card_line("L1", CARD, usd("50.00")).authorized_with(auth("A1", usd("50.00"))),
        declined,
        cash_line("30.00", "P1").posted(),
        PaymentLine.card_line("L3", CARD, usd("40.00")).authorized_with(auth("A3", usd("40.00"))),
        leaving,
        cash_line("25.00", "P2"),
    )


@pytest.mark.parametrize(
    ("amount", "expected", "rest"),
    [
        ("20.00", [("P1", "20.00", True)], "0.00"),
        ("30.00", [("P1", "30.00", True)], "0.00"),
        ("30.01", [("P1", "30.00", True), ("L1", "0.01", False)], "0.00"),
        ("100.00", [("P1", "30.00", True), ("L1", "50.00", False), ("L3", "20.00", False)], "0.00"),
        (
            "150.00",
            [("P1", "30.00", True), ("L1", "50.00", False), ("L3", "40.00", False)],
            "30.00",
        ),
        ("0.00", [], "0.00"),
    ],
)
def test_an_invoice_takes_prepayments_first_then_cards_in_line_order(
    amount: str, expected: list[tuple[str, str, bool]], rest: str
) -> None:
    """I1: posted prepayments, then active card lines in order; what nothing covers is the rest."""
    parts, uncovered = plan_parts(mixed_order(), usd(amount))
    assert parts == tuple(
        Part(line_id=line_id, amount=usd(part), prepayment=prepaid)
        for line_id, part, prepaid in expected
    )
    assert uncovered == usd(rest)


@given(st.integers(min_value=0, max_value=20_000))
def test_the_parts_and_the_rest_add_up_to_the_invoice(minor: int) -> None:
    """Whatever the amount, parts never exceed what lines give and add up with the rest."""
    amount = Money.from_minor(minor, "USD")
    current = mixed_order()
    parts, uncovered = plan_parts(current, amount)
    assert sum((p.amount.minor for p in parts), 0) + uncovered.minor == minor
    for part in parts:
        assert part.amount.is_positive()
        assert part.amount <= capturable(current.line(part.line_id))
    assert uncovered.minor == max(0, minor - 12_000)


def test_a_line_part_is_spread_over_open_authorizations_oldest_first() -> None:
    """A card line's part fills its open authorizations in order, skipping closed ones."""
    line = card_line("300.00").authorized_with(auth("A1", usd("100.00"), multi=False))
    line = line.captured_with(capture("C1", usd("100.00")))
    line = line.authorized_with(auth("A2", usd("30.00")))
    line = line.authorized_with(auth("A3", usd("50.00")))
    assert split_over_authorizations(line, usd("60.00")) == (
        ("A2", usd("30.00")),
        ("A3", usd("30.00")),
    )
    assert split_over_authorizations(line, usd("30.00")) == (("A2", usd("30.00")),)
    assert split_over_authorizations(line, usd("29.99")) == (("A2", usd("29.99")),)
    assert split_over_authorizations(line, usd("100.00")) == (
        ("A2", usd("30.00")),
        ("A3", usd("50.00")),
    )
    assert split_over_authorizations(line, zero()) == ()


# -- the run as a plan -------------------------------------------------------------------------
def test_an_invoice_run_learns_nothing_from_operations_it_did_not_ask_for() -> None:
    """after() of a run waiting for no step leaves it as it was: a declined capture it was not
    waiting for marks no line failed."""
    placed = order("100.00", authorized_line("100.00"))
    run = InvoiceRun.start(placed, "INV-1", usd("40.00"), repeat=False, pickup=False,
                           protect=True, now=AT)  # fmt: skip
    take = steps.Capture(invoice_id="INV-1", line_id="L1", auth_id="A1", amount=usd("40.00"),
                         target="tok_A1")  # fmt: skip
    op = Operation.intent("SO-1", take, 1, AT)
    declined = op.resolved(ProcessorResult(key=op.key, outcome=Outcome.DECLINED), AT)
    assert run.after(()) == run
    assert run.after((declined,)) == run
