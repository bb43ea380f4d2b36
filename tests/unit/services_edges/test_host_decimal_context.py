"""The host program's decimal context changes nothing the back office does (V3, V7): its
precision, rounding and traps are its own; ocop's sums, thresholds and percentages are
exact whatever they are."""

from __future__ import annotations

import decimal
from collections.abc import Callable
from decimal import Decimal, localcontext

import pytest

from ocop import (
    Actor,
    Channel,
    CompletionPolicy,
    DepositPolicy,
    Order,
    PermissionDenied,
    RefundExceedsReceived,
    Settings,
    VoucherKind,
)
from worlds import CUSTOMER, World, card, in_cash, new_world, usd

from .support import AGENT


def test_v3_a_host_precision_of_8_digits_lets_no_refund_exceed_what_was_received() -> None:
    """V3: under a host precision of 8 digits, 999999.99 + 0.09 received is still
    1000000.08 exactly: refunding 999999.99 leaves 0.09, and a refund of 0.11 is refused."""
    world = new_world()
    with localcontext(prec=8):
        world.bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER,
                             total=usd("999999.99"),
                             payments=[in_cash("999999.99"), in_cash("0.09")])  # fmt: skip
        world.bo.refund("SO-1", "RMA-1", usd("999999.99"), AGENT)
        with pytest.raises(RefundExceedsReceived):
            world.bo.refund("SO-1", "RMA-2", usd("0.11"), AGENT)
        world.bo.refund("SO-1", "RMA-3", usd("0.09"), AGENT)
    vouchers = world.bo.journal("SO-1")
    received = [v.amount for v in vouchers if v.kind is VoucherKind.PAYMENT]
    refunded = [v.amount for v in vouchers if v.kind is VoucherKind.REFUND]
    assert sum(m.minor for m in received) == sum(m.minor for m in refunded) == 100000008
    assert world.bo.order("SO-1").refunded == usd("1000000.08")


def _inexact_trapped(ctx: decimal.Context) -> None:
    ctx.traps[decimal.Inexact] = True


def _two_digits(ctx: decimal.Context) -> None:
    ctx.prec = 2


def _three_digits_rounding_down(ctx: decimal.Context) -> None:
    ctx.prec = 3
    ctx.rounding = decimal.ROUND_FLOOR


#: What a host program may set in its thread's decimal context.
HOSTS: dict[str, Callable[[decimal.Context], None]] = {
    "inexact trapped": _inexact_trapped,
    "2 digits": _two_digits,
    "3 digits rounding down": _three_digits_rounding_down,
}


def _submitted(world: World, host: Callable[[decimal.Context], None] | None) -> Order:
    """Submit a 100.00 card on a 100.50 order (underpaid by 0.50) under ``host``'s context."""
    world.bo.place_order("CC-1", channel=Channel.CALL_CENTER, customer=CUSTOMER,
                         total=usd("100.50"))  # fmt: skip
    draft = world.bo.begin_completion("CC-1", AGENT).add_card(card(), usd("100.00"))
    with localcontext() as ctx:
        if host is not None:
            host(ctx)
        return world.bo.submit(draft).order


@pytest.mark.parametrize("percent", ["0.5", "0.497", "1", "33.3333333333333333333333333"])
@pytest.mark.parametrize("host", sorted(HOSTS))
def test_v7_the_underpaid_threshold_is_the_same_under_any_host_context(
    host: str, percent: str
) -> None:
    """V7: the out-of-balance check takes its percentage of the total exactly, rounded once
    half-up: a submit under a host's traps or precision holds (or not) as under the default,
    never failing half done with a raw decimal error."""
    policy = CompletionPolicy(underpaid_threshold_percent=Decimal(percent))
    settings = Settings.default().with_policies(completion=policy)
    expected = _submitted(new_world(settings), None)
    order = _submitted(new_world(settings), HOSTS[host])
    assert (order.status, order.holds, order.lines) == (
        expected.status,
        expected.holds,
        expected.lines,
    )


#: A POS worker without the deposit_override permission: only the default deposit (D1).
CASHIER = Actor(actor_id="pos-1", call_center_user=False)


@pytest.mark.parametrize("host", [None, *sorted(HOSTS)])
def test_d1_the_default_deposit_is_the_same_under_any_host_context(host: str | None) -> None:
    """D1, V7: a default deposit of 33.33...% of 1234567.89 is 411522.63 (rounded half up
    from the exact product) under a host's precision, rounding or traps as under the
    default context: a cashier takes exactly that, and neither a cent less nor more."""
    policy = DepositPolicy(default_percent=Decimal("33.3333333333333333333333333"))
    settings = Settings.default().with_policies(deposits=policy)

    def taken(amount: str) -> bool:
        world = new_world(settings)
        with localcontext() as ctx:
            if host is not None:
                HOSTS[host](ctx)
            try:
                world.bo.place_order("SO-1", channel=Channel.POS, customer=CUSTOMER,
                                     total=usd("1234567.89"), payments=[in_cash(amount)],
                                     created_by=CASHIER, deposit=True)  # fmt: skip
            except PermissionDenied:
                return False
        return world.bo.order("SO-1").received == usd(amount)

    assert [taken(a) for a in ("411522.62", "411522.63", "411522.64")] == [False, True, False]
