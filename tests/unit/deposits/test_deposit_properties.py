"""Properties of deposits (rules D1, D2, I1, V4) over amounts, splits and charges."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ocop import Actor, Channel, DepositPolicy, Money, Settings, VoucherKind
from ocop.domain.payments import ChannelPayment
from worlds import CUSTOMER, World, by_card, card, in_cash, new_world, usd

AGENT = Actor.call_center("agent-1")


def cents(minor: int) -> Money:
    """``minor`` cents in US dollars."""
    return Money.of(Decimal(minor).scaleb(-2), "USD")


def journal_balances(world: World, order_id: str) -> bool:
    """V4: every voucher balances; payments add up to receipts, refunds to refunds."""
    order = world.bo.order(order_id)
    vouchers = world.bo.journal(order_id)
    balanced = all(
        sum((vl.debit.minor for vl in v.lines), 0)
        == sum((vl.credit.minor for vl in v.lines), 0)
        == v.amount.minor
        for v in vouchers
    )
    paid = sum((v.amount.minor for v in vouchers if v.kind is VoucherKind.PAYMENT), 0)
    refunded = sum((v.amount.minor for v in vouchers if v.kind is VoucherKind.REFUND), 0)
    return balanced and paid == order.received.minor and refunded == order.refunded.minor


@st.composite
def deposit_orders(draw: st.DrawFn) -> tuple[int, list[tuple[str, int]], Decimal]:
    """An order total in cents, its deposit's parts (method, cents) in line order, and a
    cancellation charge percent."""
    order_total = draw(st.integers(min_value=1, max_value=1_000_000))
    methods = draw(st.lists(st.sampled_from(["card", "cash"]), min_size=1, max_size=3))
    deposit = draw(st.integers(min_value=len(methods), max_value=max(order_total, len(methods))))
    cuts: list[int] = []
    if len(methods) > 1:
        cuts = sorted(draw(st.lists(st.integers(1, deposit - 1), min_size=len(methods) - 1,
                                    max_size=len(methods) - 1, unique=True)))  # fmt: skip
    bounds = [0, *cuts, deposit]
    parts = [(m, bounds[i + 1] - bounds[i]) for i, m in enumerate(methods)]
    charge = draw(st.decimals(min_value=0, max_value=100, places=2))
    return max(order_total, deposit), parts, charge


def payments_of(parts: list[tuple[str, int]]) -> list[ChannelPayment]:
    """Channel payments for the parts: each card a card of its own."""
    found: list[ChannelPayment] = []
    for number, (method, minor) in enumerate(parts, start=1):
        amount = str(cents(minor).amount)
        found.append(
            by_card(amount, card(f"tok_{number}")) if method == "card" else in_cash(amount)
        )
    return found


@given(deposit_orders())
def test_cancelling_refunds_the_deposit_less_the_charge_kept_in_line_order(
    drawn: tuple[int, list[tuple[str, int]], Decimal],
) -> None:
    """D2: refunded + charge kept == deposit; the charge is the percent of the total capped
    by the deposit, kept from the parts in line order; cards get linked refunds, cash the
    fallback; journals balance (V4); the processor refunds what ocop records (V5)."""
    order_total, parts, percent = drawn
    policy = DepositPolicy(cancellation_charge_percent=percent)
    world = new_world(Settings.default().with_policies(deposits=policy))
    world.bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER,
                         total=cents(order_total), payments=payments_of(parts),
                         deposit=True)  # fmt: skip
    deposit = sum(minor for _, minor in parts)
    result = world.bo.cancel_order("SO-1", AGENT)
    assert result.order.cancelled
    assert result.refunded is not None
    assert result.charged is not None
    assert result.refunded.minor + result.charged.minor == deposit
    expected_charge = min(cents(order_total).scaled(percent / 100).minor, deposit)
    assert result.charged.minor == expected_charge
    keep = expected_charge
    for number, (method, minor) in enumerate(parts, start=1):
        kept = min(keep, minor)
        keep -= kept
        line = result.order.line(f"L{number}")
        assert line.refunded.minor == minor - kept
        assert all(r.method == ("card" if method == "card" else "customer_account")
                   for r in line.refunds)  # fmt: skip
    at_processor = sum(e.amount.minor for e in world.sim.ledger() if e.kind == "refund")
    card_refunds = sum(
        line.refunded.minor for line in result.order.lines if line.method.value == "card"
    )
    assert at_processor == card_refunds
    assert journal_balances(world, "SO-1")


@given(
    deposit=st.integers(min_value=1, max_value=50_000),
    rest=st.integers(min_value=0, max_value=50_000),
    weights=st.lists(st.integers(min_value=1, max_value=10), min_size=1, max_size=4),
)
def test_invoices_use_the_deposit_before_capturing_and_never_capture_it_twice(
    deposit: int, rest: int, weights: list[int]
) -> None:
    """I1, D1: invoices over the whole order use the deposit first, capture the rest on the
    other card, capture the deposit's card only once, and journals balance (V4)."""
    world = new_world()
    order_total = deposit + rest
    world.bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER,
                         total=cents(order_total), payments=[by_card(str(cents(deposit).amount))],
                         deposit=True)  # fmt: skip
    if rest:
        draft = world.bo.begin_completion("SO-1", AGENT)
        assert world.bo.submit(draft.add_card(card("tok_2"), cents(rest))).approved
    amounts = cents(order_total).allocate(weights)
    used = 0
    for number, amount in enumerate(a for a in amounts if a.is_positive()):
        result = world.bo.invoice("SO-1", f"INV-{number}", amount)
        assert result.uncovered.is_zero()
        from_deposit = sum(c.amount.minor for c in result.captures if c.line_id == "L1")
        # I1: the deposit first; the other card only once the deposit is used up.
        assert from_deposit == min(amount.minor, deposit - used)
        used += from_deposit
    assert used == deposit
    captures = [e for e in world.sim.ledger() if e.kind == "capture"]
    assert sum(1 for e in captures if "/deposit:" in e.key) == 1
    assert sum(e.amount.minor for e in captures) == order_total
    assert world.bo.order("SO-1").received == usd(str(cents(order_total).amount))
    assert journal_balances(world, "SO-1")
