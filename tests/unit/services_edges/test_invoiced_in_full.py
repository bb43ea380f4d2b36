"""Completion of an order invoiced in full: nothing more is authorized (S3, A1, I1).

An invoice never takes more than the order total less what is invoiced (I1), so once
the total is invoiced no invoice can capture a new authorization: the renewal job
releases what is still open (A1). A submit afterwards must not hold the card again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ocop import Actor, BackOffice, CardPayment, Channel, HoldCode, InvalidDraftEdit, OrderStatus
from pg_support import STORES, Stores
from worlds import CUSTOMER, World, card, new_world, usd

from .support import AGENT

SUPERVISOR_PERMISSIONS = frozenset({"hold_override"})

#: ``new_world`` with the back office on a store of the kind under test.
Worlds = Callable[..., World]


@pytest.fixture(params=STORES)
def worlds(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Worlds]:
    """New worlds in memory, in SQLite files or in PostgreSQL schemas."""
    with Stores(request.param, tmp_path) as stores:

        def world(*, multi_capture: bool = True, adjustments: bool = True) -> World:
            made = new_world(multi_capture=multi_capture, adjustments=adjustments)
            store = stores.new()
            bo = BackOffice(store=store, journal=store.journal, processor=made.sim,
                            clock=made.clock)  # fmt: skip
            return World(clock=made.clock, sim=made.sim, bo=bo)

        yield world


def invoiced_in_full(worlds: Worlds, *, multi_capture: bool = True) -> World:
    """SO-1 of 100.00, paid by a card of 100.00 and 10.00 cash, released by a supervisor
    and invoiced in full (cash 10.00, card 90.00); the renewal job then released the card's
    10.00 that nothing will capture."""
    world = worlds(multi_capture=multi_capture)
    supervisor = Actor.call_center("s1", channel="CC-1", permissions=SUPERVISOR_PERMISSIONS)
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=CUSTOMER,
                         total=usd("100.00"),
                         payments=[CardPayment(card("tok_1"), usd("100.00"))])  # fmt: skip
    draft = world.bo.begin_completion("SO-1", AGENT).add_prepayment("cash", usd("10.00"))
    assert [h.code for h in world.bo.submit(draft).holds] == [HoldCode.OUT_OF_BALANCE]
    world.bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, supervisor)
    world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    world.bo.renew_authorizations()
    return world


@pytest.mark.parametrize("multi_capture", [True, False])
def test_an_unchanged_submit_of_an_order_invoiced_in_full_authorizes_nothing(
    multi_capture: bool, worlds: Worlds
) -> None:
    """S3, A1: an overpaid order (a card of 100.00 and 10.00 cash for 100.00), released by
    a supervisor, is invoiced in full: cash 10.00 and card 90.00. The renewal job releases
    the card's 10.00 nothing will capture. An unchanged submit then calls no processor: it
    used to authorize the card's 10.00 again, holding the customer's money for nothing and
    putting the invoiced order back on an out-of-balance hold."""
    world = invoiced_in_full(worlds, multi_capture=multi_capture)
    released = world.bo.order("SO-1")
    assert released.status is OrderStatus.INVOICED
    assert released.line("L1").authorized == usd("0.00")
    calls = world.sim.calls

    result = world.bo.submit(world.bo.begin_completion("SO-1", AGENT))

    assert world.sim.calls == calls
    assert result.processor_calls == 0
    assert result.order.line("L1").authorized == usd("0.00")
    assert result.order.status is OrderStatus.INVOICED
    assert [a.open_amount for a in world.bo.order("SO-1").line("L1").authorizations] == [
        usd("0.00") for _ in released.line("L1").authorizations
    ]


@pytest.mark.parametrize("edit", ["add_card", "amount_beyond_taken"])
def test_a_draft_asking_more_of_a_card_on_an_order_invoiced_in_full_is_refused(
    edit: str, worlds: Worlds
) -> None:
    """I1: no invoice can capture more once the total is invoiced, so a new card line, or a
    card line asked for more than it took (95.00 of a line that took 90.00), is refused
    before any processor call (it used to be authorized, the customer's money held until
    the renewal job released it)."""
    world = invoiced_in_full(worlds)
    draft = world.bo.begin_completion("SO-1", AGENT)
    if edit == "add_card":
        draft = draft.add_card(card("tok_2", "2222"), usd("5.00"))
    else:
        draft = draft.change_amount("L1", usd("95.00"))
    calls = world.sim.calls

    with pytest.raises(InvalidDraftEdit, match="invoiced in full"):
        world.bo.submit(draft)

    assert world.sim.calls == calls
    assert world.bo.order("SO-1").status is OrderStatus.INVOICED


def test_a_single_capture_that_invoices_the_order_in_full_authorizes_no_rest(
    worlds: Worlds,
) -> None:
    """I2, I1: on a processor without multiple captures, the capture that invoices the order
    in full (the overpaid order above: cash 10.00, then 90.00 of the card's 100.00) leaves
    its rest released. No invoice can take more, so the rest is not authorized again: it
    used to be, holding 10.00 of the customer's card until the renewal job voided it."""
    world = worlds(multi_capture=False)
    supervisor = Actor.call_center("s1", channel="CC-1", permissions=SUPERVISOR_PERMISSIONS)
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=CUSTOMER,
                         total=usd("100.00"),
                         payments=[CardPayment(card("tok_1"), usd("100.00"))])  # fmt: skip
    draft = world.bo.begin_completion("SO-1", AGENT).add_prepayment("cash", usd("10.00"))
    world.bo.submit(draft)
    world.bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, supervisor)

    result = world.bo.invoice("SO-1", "INV-1", usd("100.00"))

    assert sorted((c.line_id, c.amount) for c in result.captures) == [
        ("L1", usd("90.00")),
        ("L2", usd("10.00")),
    ]
    order = world.bo.order("SO-1")
    assert order.status is OrderStatus.INVOICED
    assert order.line("L1").authorized == usd("0.00")
    kinds = [entry.kind for entry in world.sim.ledger()]
    assert kinds == ["authorize", "capture"]


def test_a_total_brought_down_to_what_is_invoiced_is_completed_without_a_new_hold(
    worlds: Worlds,
) -> None:
    """S3, A1, I1: an e-commerce card of 100.00, invoiced 60.00; the agent brings the total
    down to 60.00 and submits (overpaid: held out of balance), and the renewal job releases
    the card's 40.00 nothing will capture. The agent's next unchanged submit approves the
    order with no call: it used to authorize the 40.00 again and hold it out of balance."""
    world = worlds()
    world.bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER,
                         total=usd("100.00"),
                         payments=[CardPayment(card("tok_1"), usd("100.00"))])  # fmt: skip
    world.bo.invoice("SO-1", "INV-1", usd("60.00"))
    world.bo.change_total("SO-1", usd("60.00"), AGENT)
    held = world.bo.submit(world.bo.begin_completion("SO-1", AGENT))
    assert [h.code for h in held.holds] == [HoldCode.OUT_OF_BALANCE]
    world.bo.renew_authorizations()
    calls = world.sim.calls

    result = world.bo.submit(world.bo.begin_completion("SO-1", AGENT))

    assert world.sim.calls == calls
    assert result.approved
    assert result.order.status is OrderStatus.INVOICED
    assert result.order.line("L1").authorized == usd("0.00")


@pytest.mark.parametrize("adjustments", [True, False])
def test_a_single_use_card_asked_more_on_an_order_invoiced_in_full_is_refused_for_the_total(
    adjustments: bool, worlds: Worlds
) -> None:
    """I1, C5: on an order invoiced in full, a single-use card line asked for more is refused
    because nothing could capture more (raise the total first), not with the single-use
    card's hint to add a line for the rest: that line would be refused next, for the same
    reason."""
    world = worlds(adjustments=adjustments)
    once = card("tok_once", reusable=False)
    world.bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER,
                         total=usd("100.00"),
                         payments=[CardPayment(once, usd("100.00"))])  # fmt: skip
    world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    draft = world.bo.begin_completion("SO-1", AGENT).change_amount("L1", usd("110.00"))

    with pytest.raises(InvalidDraftEdit, match="invoiced in full") as refused:
        world.bo.submit(draft)

    assert (refused.value.rule, refused.value.line_id) == ("I1", "L1")
    assert "add a line" not in str(refused.value)


def test_the_refusal_names_what_the_line_may_still_ask(worlds: Worlds) -> None:
    """I1: a line the renewal job left short (it captured 90.00 of its 100.00), brought down
    to 95.00, is refused; the message says the line may ask at most the 90.00 it captured
    and holds, and that more needs a higher total."""
    world = invoiced_in_full(worlds)
    draft = world.bo.begin_completion("SO-1", AGENT).change_amount("L1", usd("95.00"))

    with pytest.raises(InvalidDraftEdit) as refused:
        world.bo.submit(draft)

    assert "at most the 90.00 USD" in str(refused.value)
    assert "raise the order's total" in str(refused.value)


def test_a_released_rest_is_authorized_again_only_for_what_the_order_may_still_invoice(
    worlds: Worlds,
) -> None:
    """I2, I1: on a processor without multiple captures, the overpaid order above (a card of
    100.00 and 10.00 cash for 100.00) invoices 50.00: cash 10.00 and 40.00 of the card,
    whose capture releases the card's other 60.00. Only 50.00 is left to invoice, so only
    50.00 is authorized again: it used to be 60.00, and when the next invoice's capture was
    declined the card stayed held for 10.00 that no invoice needs. Sent again, that invoice
    captures the 50.00 and nothing is left held."""
    world = worlds(multi_capture=False)
    supervisor = Actor.call_center("s1", channel="CC-1", permissions=SUPERVISOR_PERMISSIONS)
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=CUSTOMER,
                         total=usd("100.00"),
                         payments=[CardPayment(card("tok_1"), usd("100.00"))])  # fmt: skip
    draft = world.bo.begin_completion("SO-1", AGENT).add_prepayment("cash", usd("10.00"))
    world.bo.submit(draft)
    world.bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, supervisor)
    world.bo.invoice("SO-1", "INV-1", usd("50.00"))

    assert [(e.kind, e.amount) for e in world.sim.ledger()] == [
        ("authorize", usd("100.00")),
        ("capture", usd("40.00")),
        ("authorize", usd("50.00")),
    ]
    world.sim.script("capture", "decline")
    declined = world.bo.invoice("SO-1", "INV-2", usd("50.00"))

    assert declined.failed == ("L1",)
    assert world.bo.order("SO-1").line("L1").authorized == usd("50.00")
    again = world.bo.invoice("SO-1", "INV-2", usd("50.00"))
    assert [(c.line_id, c.amount) for c in again.captures] == [("L1", usd("50.00"))]
    order = world.bo.order("SO-1")
    assert order.status is OrderStatus.INVOICED
    assert order.line("L1").authorized == usd("0.00")
    assert [world.sim.authorization_open(a.token.value) for a in order.line("L1").authorizations
            ] == [usd("0.00"), usd("0.00")]  # fmt: skip
