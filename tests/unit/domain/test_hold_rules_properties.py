"""Rule S4 as properties: a release succeeds exactly when the hold's own cause is gone or the
actor has the override permission; a check hold lapses exactly at its end, as a pure
function of the time asked about; manual holds keep what they were placed with.

The oracles are written in whole cents, independently of the domain's Money arithmetic.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocop import (
    Actor,
    Channel,
    CompletionPolicy,
    Customer,
    HoldCode,
    IllegalTransition,
    Money,
    Order,
    PaymentLine,
    PaymentMethod,
    PaymentsType,
    Settings,
)
from ocop.domain.cardnumbers import contains_card_number
from ocop.domain.hold_release import place_manual_hold, release
from ocop.domain.order import SYSTEM, Hold, ReleasedHold
from worlds import card, new_world

from .builders import AT, CARD, auth, capture, order, usd

AGENT = Actor.call_center("cc-1")
BOSS = Actor.call_center("boss-1", permissions=frozenset({"hold_override"}))
NOW = AT + timedelta(hours=5)

cents = st.integers(min_value=0, max_value=20_000)
positive_cents = st.integers(min_value=1, max_value=20_000)
actors = st.sampled_from([AGENT, BOSS])


def money(amount: int) -> Money:
    """``amount`` cents in US dollars."""
    return Money.of(Decimal(amount).scaleb(-2), "USD")


def held(base: Order, code: HoldCode) -> Order:
    """``base`` with a ``code`` hold placed at AT by the system."""
    return base.with_hold(Hold(code=code, reason="for the property", placed_at=AT))


def check_release(held_order: Order, code: HoldCode, actor: Actor, cured: bool,
                  rules: Settings) -> None:  # fmt: skip
    """Release succeeds iff ``cured`` or ``actor`` overrides; the release records who, when
    and whether it was an override, and the rest of the order is untouched."""
    if not cured and actor is AGENT:
        with pytest.raises(IllegalTransition):
            release(held_order, code, actor, rules, NOW)
        return
    after = release(held_order, code, actor, rules, NOW)
    hold = held_order.hold(code)
    assert hold is not None
    assert not after.has_hold(code)
    assert after.released_holds == (
        ReleasedHold(hold=hold, released_by=actor.actor_id, released_at=NOW, override=not cured),
    )
    assert (after.lines, after.total, after.version) == (
        held_order.lines, held_order.total, held_order.version,
    )  # fmt: skip


@given(used=positive_cents, limit=st.none() | cents, actor=actors)
def test_a_credit_limit_hold_is_released_iff_within_the_limit_or_overridden(
    used: int, limit: int | None, actor: Actor
) -> None:
    """S4: customer-account payments of ``used`` against ``limit``: cured iff used <= limit."""
    customer = Customer.named("C-1", on_account_limit=None if limit is None else money(limit))
    account = PaymentLine.prepayment_line("P1", PaymentMethod.CUSTOMER_ACCOUNT, money(used))
    opened = Order.open("SO-1", channel=Channel.CALL_CENTER, payments_type=PaymentsType.COMMERCE,
                        customer=customer, total=money(used), placed_at=AT)  # fmt: skip
    base = opened.with_line(account.posted())
    cured = limit is not None and used <= limit
    check_release(held(base, HoldCode.CREDIT_LIMIT), HoldCode.CREDIT_LIMIT, actor, cured,
                  Settings.default())  # fmt: skip


@given(
    total=cents,
    paid=cents,
    under=st.integers(0, 100),
    over=st.integers(0, 100),
    allowed=st.booleans(),
    actor=actors,
)
def test_an_out_of_balance_hold_is_released_iff_in_balance_or_overridden(  # noqa: PLR0917 - one per drawn value
    total: int, paid: int, under: int, over: int, allowed: bool, actor: Actor
) -> None:
    """S4, S1: paid ``paid`` of ``total`` with the thresholds (percent, half-up to a cent)."""
    lines = () if paid == 0 else (authorized(paid),)
    base = order(str(money(total).amount), *lines)
    policy = CompletionPolicy(underpaid_threshold_percent=Decimal(under),
                              overpaid_threshold_percent=Decimal(over),
                              allow_out_of_balance=allowed)  # fmt: skip
    due = total - paid
    pct = under if due > 0 else over
    cured = allowed or abs(due) <= (2 * total * pct + 100) // 200
    check_release(held(base, HoldCode.OUT_OF_BALANCE), HoldCode.OUT_OF_BALANCE, actor, cured,
                  Settings.default().with_policies(completion=policy))  # fmt: skip


def authorized(amount: int, line_id: str = "L1") -> PaymentLine:
    """A card line authorized for ``amount`` cents at AT."""
    line = PaymentLine.card_line(line_id, CARD, money(amount))
    return line.authorized_with(auth(f"A-{line_id}", money(amount)))


def declined(line_id: str) -> PaymentLine:
    """A card line whose authorization was declined."""
    return PaymentLine.card_line(line_id, CARD, usd("10.00")).declined()


line_kinds = st.lists(st.sampled_from(["authorized", "declined", "taken_off"]), max_size=4)


@given(kinds=line_kinds, actor=actors)
def test_a_payment_declined_hold_is_released_iff_no_declined_line_remains_or_overridden(
    kinds: list[str], actor: Actor
) -> None:
    """S4: lines authorized, declined, or declined and taken off: cured iff none declined."""
    lines = []
    for n, kind in enumerate(kinds):
        line_id = f"L{n}"
        match kind:
            case "authorized":
                lines.append(authorized(1_000, line_id))
            case "declined":
                lines.append(declined(line_id))
            case _:
                lines.append(declined(line_id).removed())
    base = order("100.00", *lines)
    cured = "declined" not in kinds
    check_release(held(base, HoldCode.PAYMENT_DECLINED), HoldCode.PAYMENT_DECLINED, actor, cured,
                  Settings.default())  # fmt: skip


@given(
    age_days=st.integers(0, 40),
    shortfall=st.integers(0, 5_000),
    taken=st.integers(0, 5_000),
    renewed=st.booleans(),
    actor=actors,
)
def test_an_expired_authorization_hold_is_released_iff_renewed_or_not_expired_or_overridden(
    age_days: int, shortfall: int, taken: int, renewed: bool, actor: Actor
) -> None:
    """S4, I3, A1: a 100.00 line authorized ``age_days`` before NOW (expiry 14 days, renewed
    by the job from 2 days before) for ``shortfall`` cents less (a partial approval is no
    expiry), ``taken`` cents captured, the rest optionally renewed by a fresh authorization:
    cured iff the authorization is not yet due for renewal, or it was renewed."""
    authorized_at = NOW - timedelta(days=age_days)
    line = PaymentLine.card_line("L1", CARD, usd("100.00"))
    line = line.authorized_with(auth("A1", money(10_000 - shortfall), at=authorized_at))
    if taken:
        line = line.captured_with(capture("C1", money(taken)))
    left = 10_000 - taken
    if renewed:
        if line.authorized.is_positive():
            line = line.voided_auth("A1", awaiting_new=True)
        line = line.authorized_with(auth("A2", money(left), at=NOW))
    base = order("100.00", line)
    policy = Settings.default().authorization
    cured = renewed or age_days < policy.expiry_days - policy.renew_within_days
    check_release(held(base, HoldCode.AUTHORIZATION_EXPIRED), HoldCode.AUTHORIZATION_EXPIRED,
                  actor, cured, Settings.default())  # fmt: skip


@given(days=st.integers(0, 10), asked=st.integers(-48, 300), later=st.integers(0, 300))
def test_a_check_hold_lapses_exactly_at_its_end_as_a_pure_function_of_now(
    days: int, asked: int, later: int
) -> None:
    """S4: as of a time ``asked`` hours after placement the hold counts iff before its end;
    the view is the same whether an earlier view was stored first or not."""
    until = AT + timedelta(days=days)
    check = Hold(code=HoldCode.CHECK, reason="check", placed_at=AT, until=until)
    base = order("100.00").with_hold(check)
    first = AT + timedelta(hours=asked)
    second = first + timedelta(hours=later)
    view = base.as_of(first)
    assert view.has_hold(HoldCode.CHECK) == (first < until)
    assert view.approved == (first >= until)
    assert view.as_of(first) == view
    assert view.as_of(second) == base.as_of(second)
    if first >= until:
        assert view.released_holds == (
            ReleasedHold(hold=check, released_by=SYSTEM, released_at=until),
        )


@given(days=st.integers(1, 10), early=st.integers(0, 239), actor=actors)
def test_a_check_hold_released_before_its_end_needs_the_override(
    days: int, early: int, actor: Actor
) -> None:
    """S4: before its end the check hold's cause (its time) remains: only an override goes."""
    until = AT + timedelta(days=days)
    asked = min(AT + timedelta(hours=early), until - timedelta(seconds=1))
    check = Hold(code=HoldCode.CHECK, reason="check", placed_at=AT, until=until)
    base = order("100.00").with_hold(check)
    if actor is AGENT:
        with pytest.raises(IllegalTransition):
            release(base, HoldCode.CHECK, actor, Settings.default(), asked)
        return
    after = release(base, HoldCode.CHECK, actor, Settings.default(), asked)
    assert after.released_holds == (
        ReleasedHold(hold=check, released_by="boss-1", released_at=asked, override=True),
    )


notes = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Co", "Cn")), max_size=500
).filter(lambda text: text.isprintable() and not contains_card_number(text))


@given(reason=st.sampled_from(Settings.default().hold_reasons), note=notes,
       placer=actors, releaser=actors)  # fmt: skip
def test_a_manual_hold_keeps_what_it_was_placed_with_and_any_agent_releases_it(
    reason: str, note: str, placer: Actor, releaser: Actor
) -> None:
    """S4: reason code, note, placer and time are kept; any call center user releases it,
    never as an override."""
    rules = Settings.default()
    placed = place_manual_hold(order("100.00"), placer, rules, AT, reason=reason, note=note)
    hold = placed.hold(HoldCode.MANUAL)
    assert hold is not None
    assert (hold.reason_code, hold.note, hold.placed_by, hold.placed_at) == (
        reason, note, placer.actor_id, AT,
    )  # fmt: skip
    assert not placed.approved
    after = release(placed, HoldCode.MANUAL, releaser, rules, NOW)
    assert after.approved
    assert after.released_holds == (
        ReleasedHold(hold=hold, released_by=releaser.actor_id, released_at=NOW),
    )


@settings(deadline=None, max_examples=40)
@given(steps=st.lists(st.integers(1, 30), min_size=1, max_size=8), days=st.integers(1, 4))
def test_bo_order_and_invoicing_agree_on_a_check_hold_at_every_moment(
    steps: list[int], days: int
) -> None:
    """S4: as the clock moves (hours), bo.order() is on hold iff the check has not run its
    days, and an invoice is refused exactly then."""
    policy = CompletionPolicy(check_hold_threshold=usd("10.00"), check_hold_days=days)
    world = new_world(Settings.default().with_policies(completion=policy))
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=Customer.named("C-1"),
                         total=usd("100.00"))  # fmt: skip
    draft = world.bo.begin_completion("SO-1", AGENT).add_card(card(), usd("50.00"))
    world.bo.submit(draft.add_prepayment("check", usd("50.00"), check_number="7"))
    until = world.clock.now() + timedelta(days=days)
    for n, hours in enumerate(steps):
        now = world.clock.advance(hours=hours)
        view = world.bo.order("SO-1")
        assert view.approved == (now >= until)
        if view.approved:
            assert world.bo.invoice("SO-1", f"INV-{n}", usd("1.00")).order.invoices
            return
        with pytest.raises(IllegalTransition):
            world.bo.invoice("SO-1", f"INV-{n}", usd("1.00"))
