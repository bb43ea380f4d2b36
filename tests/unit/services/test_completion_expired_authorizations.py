"""Changing the amount of a line whose authorization is past its expiry age (C3, C5, I3).

With a processor that adjusts, a fresh authorization is adjusted; one past the expiry age
is renewed instead, void then a new authorization for the whole new amount, as an invoice
renews it before capturing (I3): an adjustment of it is declined by a processor that has
dropped it, and the line was declined with a card that was fine.
"""

from __future__ import annotations

import pytest
from support import ALICE, CARD_1, CLERK, World, kinds, make_world

from ocop import CardPayment, CardToken, Channel, InvalidDraftEdit, LineStatus
from worlds import card, usd


def placed(world: World, total: str = "100") -> None:
    """An e-commerce order of ``total`` paid by CARD_1, authorized when placed."""
    world.bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=ALICE, total=usd(total),
                         payments=[CardPayment(CARD_1, usd(total))])  # fmt: skip


def test_raising_a_line_whose_authorization_the_processor_dropped_renews_it() -> None:
    """C3, I3: 31 days on (past expiry and the processor's lifetime), 100 -> 120 is a void
    and a new authorization of 120, not an adjustment the processor declines: approved."""
    world = make_world()
    placed(world)
    world.clock.advance(days=31)
    world.bo.change_total("SO-1", usd("120"), CLERK)
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd("120"))
    result = world.bo.submit(draft)
    line = result.order.line("L1")
    assert result.approved, result.holds
    assert (line.status, line.authorized) == (LineStatus.AUTHORIZED, usd("120"))
    assert kinds(world.sim.ledger()) == ["authorize", "void", "authorize"]
    assert world.sim.ledger()[-1].amount == usd("120")


def test_an_expired_authorization_is_renewed_while_the_processor_still_holds_it() -> None:
    """C3, I3: 15 days on (expired by ocop's policy, still held by the processor) the change
    renews the authorization at once: no adjustment that the invoice would renew again."""
    world = make_world()
    placed(world)
    world.clock.advance(days=15)
    world.bo.change_total("SO-1", usd("90"), CLERK)
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd("90"))
    assert world.bo.submit(draft).approved
    assert kinds(world.sim.ledger()) == ["authorize", "void", "authorize"]
    world.bo.invoice("SO-1", "INV-1", usd("90"))
    assert kinds(world.sim.ledger()) == ["authorize", "void", "authorize", "capture"]


def test_reducing_a_partly_captured_line_with_an_expired_authorization_renews_the_rest() -> None:
    """C5, I3: captured 40 of 100, 31 days on reduced to 80: the rest is voided and 40
    authorized anew; the line is not declined."""
    world = make_world()
    placed(world)
    world.bo.invoice("SO-1", "INV-1", usd("40"))
    world.clock.advance(days=31)
    world.bo.change_total("SO-1", usd("80"), CLERK)
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd("80"))
    result = world.bo.submit(draft)
    line = result.order.line("L1")
    assert result.approved, result.holds
    assert (line.captured, line.authorized) == (usd("40"), usd("40"))
    assert kinds(world.sim.ledger())[-2:] == ["void", "authorize"]


def test_a_fresh_authorization_is_still_adjusted() -> None:
    """C3: 13 days on, still fresh, 100 -> 120 is one adjustment."""
    world = make_world()
    placed(world)
    world.clock.advance(days=13)
    world.bo.change_total("SO-1", usd("120"), CLERK)
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd("120"))
    assert world.bo.submit(draft).approved
    assert kinds(world.sim.ledger()) == ["authorize", "adjust"]


def test_changing_a_single_use_line_past_its_expiry_age_is_refused() -> None:
    """C3, I3, A1: 15 days on, a single-use token's authorization is expired; an invoice
    would void it, decline the line and hold the order (AUTHORIZATION_EXPIRED), as the
    renewal job does. Adjusting it 100 -> 90 was approved, then the next invoice took it
    all back. The change needs a new authorization of a token that cannot be authorized
    again: refused before any call, nothing changed."""
    world = make_world()
    placed_with(world, card("tok_9", "9999", reusable=False))
    world.clock.advance(days=15)
    world.bo.change_total("SO-1", usd("90"), CLERK)
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd("90"))
    with pytest.raises(InvalidDraftEdit, match="expiry age"):
        world.bo.submit(draft)
    assert kinds(world.sim.ledger()) == ["authorize"]
    assert world.bo.order("SO-1").line("L1").authorized == usd("100")


def test_changing_a_stale_single_use_line_is_refused_without_a_call() -> None:
    """I3: 31 days on (stale), no adjustment is sent: it was, and its decline held the
    order PAYMENT_DECLINED and OUT_OF_BALANCE where an invoice holds AUTHORIZATION_EXPIRED."""
    world = make_world()
    placed_with(world, card("tok_9", "9999", reusable=False))
    world.clock.advance(days=31)
    world.bo.change_total("SO-1", usd("120"), CLERK)
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd("120"))
    with pytest.raises(InvalidDraftEdit, match="expiry age"):
        world.bo.submit(draft)
    assert kinds(world.sim.ledger()) == ["authorize"]


def test_a_single_use_line_reduced_to_its_capture_past_expiry_voids_the_rest() -> None:
    """C5, I3: captured 40 of 100 on a single-use token, 15 days on reduced to 40: the rest
    is voided, nothing authorized again; the line is paid."""
    world = make_world()
    placed_with(world, card("tok_9", "9999", reusable=False))
    world.bo.invoice("SO-1", "INV-1", usd("40"))
    world.clock.advance(days=15)
    world.bo.change_total("SO-1", usd("40"), CLERK)
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd("40"))
    result = world.bo.submit(draft)
    assert result.approved, result.holds
    assert kinds(world.sim.ledger())[-1] == "void"
    assert result.order.line("L1").authorized == usd("0")


def test_a_fresh_single_use_authorization_is_still_adjusted() -> None:
    """C3: 11 days on, a single-use token's authorization is adjusted."""
    world = make_world()
    placed_with(world, card("tok_9", "9999", reusable=False))
    world.clock.advance(days=11)
    world.bo.change_total("SO-1", usd("90"), CLERK)
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd("90"))
    assert world.bo.submit(draft).approved
    assert kinds(world.sim.ledger()) == ["authorize", "adjust"]


def placed_with(world: World, token: CardToken) -> None:
    world.bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=ALICE, total=usd("100"),
                         payments=[CardPayment(token, usd("100"))])  # fmt: skip
