"""Order completion for every channel: the seed scenarios and the draft rules C1-C6."""

from __future__ import annotations

import pytest
from support import (
    ALICE,
    BOB,
    CARD_1,
    CARD_2,
    CARD_3,
    CLERK,
    CVV,
    FOREIGN_CARD,
    World,
    capture_line,
    invoice,
    kinds,
    make_world,
    snapshot,
)

from ocop import (
    BackOffice,
    CardPayment,
    Channel,
    ConnectorMismatch,
    CurrencyMismatch,
    Customer,
    HoldCode,
    InstrumentNotFound,
    InvalidDraftEdit,
    LineStatus,
    Money,
    Notification,
    NotificationEvent,
    Outcome,
    PaymentMethod,
    Prepayment,
    ProcessorResult,
)
from ocop.adapters.memory import InMemoryJournal, InMemoryStore, ManualClock
from ocop.adapters.simulated import SimulatedProcessor
from worlds import START, usd


def paid_by_card(world: World, amount: str = "100.00", order_id: str = "SO-1") -> None:
    """An e-commerce order of ``amount`` paid in full by card 1 (line L1, authorized)."""
    world.bo.place_order(
        order_id,
        channel=Channel.ECOMMERCE,
        customer=ALICE,
        total=usd(amount),
        payments=[CardPayment(CARD_1, usd(amount))],
    )


# -- C1: adding lines ---------------------------------------------------------------------


def test_a_card_a_saved_card_with_its_cvv_and_a_prepayment_can_be_added() -> None:
    """C1: card, saved card + CVV and cash lines are added, then authorized or posted at submit."""
    world = make_world()
    saved = world.bo.save_instrument(ALICE, CARD_2, consent=True)
    paid_by_card(world, "40.00")
    world.bo.change_total("SO-1", usd("100.00"), CLERK)
    draft = (
        world.bo.begin_completion("SO-1", CLERK)
        .add_card(CARD_3, usd("25.00"))
        .add_saved_card(saved.instrument_id, cvv=CVV, amount=usd("20.00"))
        .add_prepayment("cash", usd("15.00"))
    )
    assert [line.status for line in draft.lines[1:]] == [LineStatus.NOT_SUBMITTED] * 3
    result = world.bo.submit(draft)
    assert result.approved
    statuses = [line.status for line in result.order.lines]
    assert statuses == [LineStatus.AUTHORIZED] * 3 + [LineStatus.PAID]
    assert result.order.lines[2].card is not None
    assert result.order.lines[2].card.display == "MC ****4444"


def test_a_check_needs_its_number() -> None:
    """C1: a check added without a number is refused; with one it is accepted."""
    world = make_world()
    paid_by_card(world, "40.00")
    draft = world.bo.begin_completion("SO-1", CLERK)
    with pytest.raises(InvalidDraftEdit, match="check number"):
        draft.add_prepayment("check", usd("10.00"))
    added = draft.add_prepayment("check", usd("10.00"), check_number="1001")
    assert added.lines[-1].check_number == "1001"


def test_a_customer_account_line_needs_a_customer_with_a_limit() -> None:
    """C1: customer account payments need a named customer with an on-account limit."""
    world = make_world()
    paid_by_card(world, "40.00")
    with pytest.raises(InvalidDraftEdit, match="on-account limit"):
        world.bo.begin_completion("SO-1", CLERK).add_prepayment("customer_account", usd("5.00"))
    world.bo.place_order(
        "SO-2",
        channel=Channel.CALL_CENTER,
        customer=Customer.named("C-9", on_account_limit=usd("50.00")),
        total=usd("40.00"),
    )
    draft = world.bo.begin_completion("SO-2", CLERK).add_prepayment(
        "customer_account", usd("40.00")
    )
    assert draft.lines[-1].method is PaymentMethod.CUSTOMER_ACCOUNT


def test_a_gift_card_never_pays_more_than_the_balance_due() -> None:
    """C1: a gift card above the balance due is refused; up to it is accepted."""
    world = make_world()
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=ALICE, total=usd("50.00"))
    draft = world.bo.begin_completion("SO-1", CLERK).add_card(CARD_1, usd("30.00"))
    with pytest.raises(InvalidDraftEdit, match="gift card"):
        draft.add_prepayment("gift_card", usd("20.01"))
    added = draft.add_prepayment("gift_card", usd("20.00"))
    assert added.balance_due == usd("0.00")
    with pytest.raises(InvalidDraftEdit, match="gift card"):
        added.change_amount(added.lines[-1].line_id, usd("20.01"))


def test_another_customers_saved_card_cannot_be_added() -> None:
    """C1, T1: a saved instrument of another customer is not found for this order."""
    world = make_world()
    bobs = world.bo.save_instrument(BOB, CARD_2, consent=True)
    paid_by_card(world, "40.00")
    draft = world.bo.begin_completion("SO-1", CLERK)
    with pytest.raises(InstrumentNotFound):
        draft.add_saved_card(bobs.instrument_id, cvv=CVV, amount=usd("5.00"))


def test_a_card_saved_after_the_completion_began_is_added_in_a_new_completion() -> None:
    """C1, T1: the draft knows the cards saved when it was begun; one the customer saves
    while on the phone is refused saying so (it was reported as not the customer's), and a
    completion begun afterwards adds it."""
    world = make_world()
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=ALICE, total=usd("50.00"))
    draft = world.bo.begin_completion("SO-1", CLERK)
    saved = world.bo.save_instrument(ALICE, CARD_2, consent=True)
    with pytest.raises(InstrumentNotFound) as caught:
        draft.add_saved_card(saved.instrument_id, cvv=CVV, amount=usd("50.00"))
    assert str(caught.value) == (
        f"customer {ALICE.customer_id!r} had no saved instrument {saved.instrument_id!r} when "
        "this completion began (to pay with a card saved since, begin a new completion)"
    )
    again = world.bo.begin_completion("SO-1", CLERK)
    result = world.bo.submit(again.add_saved_card(saved.instrument_id, cvv=CVV,
                                                  amount=usd("50.00")))  # fmt: skip
    assert result.order.line("L1").authorized == usd("50.00")


# -- C2, C4: replacing a card -------------------------------------------------------------


def test_replacing_a_card_voids_the_old_authorization_and_authorizes_the_new_card() -> None:
    """C2, C4: the old authorization is voided at submit and the new card authorized."""
    world = make_world()
    paid_by_card(world)
    old_token = world.bo.order("SO-1").line("L1").authorizations[0].token.value
    draft = world.bo.begin_completion("SO-1", CLERK).replace_card("L1", CARD_2)
    assert kinds(world.sim.ledger()) == ["authorize"]
    result = world.bo.submit(draft)
    assert result.approved
    entries = world.sim.ledger()[1:]
    assert kinds(entries) == ["void", "authorize"]
    assert entries[1].target == CARD_2.value
    assert entries[1].amount == usd("100.00")
    assert world.sim.authorization_open(old_token) == usd("0.00")
    line = result.order.line("L1")
    assert line.card == CARD_2
    assert line.authorized == usd("100.00")


def test_a_card_of_another_connector_is_refused_before_anything_moves() -> None:
    """C4, I5: replacing with a foreign card token is refused at submit; nothing is voided."""
    world = make_world()
    paid_by_card(world)
    draft = world.bo.begin_completion("SO-1", CLERK).replace_card("L1", FOREIGN_CARD)
    before = snapshot(world, "SO-1")
    with pytest.raises(ConnectorMismatch):
        world.bo.submit(draft)
    assert snapshot(world, "SO-1") == before
    with pytest.raises(ConnectorMismatch):
        world.bo.submit(
            world.bo.begin_completion("SO-1", CLERK).add_card(FOREIGN_CARD, usd("1.00"))
        )


def test_a_captured_line_keeps_its_card() -> None:
    """C2: a line with a capture cannot have its card replaced."""
    world = make_world()
    paid_by_card(world)
    capture_line(world, "SO-1", "L1", usd("40.00"))
    draft = world.bo.begin_completion("SO-1", CLERK)
    with pytest.raises(InvalidDraftEdit) as refused:
        draft.replace_card("L1", CARD_2)
    assert refused.value.rule == "C2"


def test_no_card_is_replaced_once_the_order_is_partially_invoiced() -> None:
    """C2: after an invoice, even an uncaptured line keeps its card."""
    world = make_world()
    world.bo.place_order(
        "SO-1",
        channel=Channel.POS,
        customer=ALICE,
        total=usd("100.00"),
        payments=[Prepayment("cash", usd("40.00")), CardPayment(CARD_1, usd("60.00"))],
    )
    invoice(world, "SO-1", "INV-1", usd("40.00"))
    draft = world.bo.begin_completion("SO-1", CLERK)
    with pytest.raises(InvalidDraftEdit, match="before any invoice"):
        draft.replace_card("L2", CARD_2)


# -- C3: changing an uncaptured authorized amount -----------------------------------------


@pytest.mark.parametrize("new_amount", ["130.00", "70.00"])
def test_changing_an_authorized_amount_adjusts_the_authorization(new_amount: str) -> None:
    """C3: with adjustments, raising or lowering an authorized line is one adjust call."""
    world = make_world()
    paid_by_card(world)
    world.bo.change_total("SO-1", usd(new_amount), CLERK)
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd(new_amount))
    result = world.bo.submit(draft)
    assert result.approved
    assert kinds(world.sim.ledger()) == ["authorize", "adjust"]
    assert world.sim.ledger()[-1].amount == usd(new_amount)
    assert result.order.line("L1").authorized == usd(new_amount)
    assert result.order.line("L1").status is LineStatus.AUTHORIZED


@pytest.mark.parametrize("new_amount", ["130.00", "70.00"])
def test_without_adjustments_a_changed_amount_is_voided_and_authorized_anew(
    new_amount: str,
) -> None:
    """C3: without adjustments, the authorization is voided and the full new amount authorized."""
    world = make_world(adjustments=False)
    paid_by_card(world)
    world.bo.change_total("SO-1", usd(new_amount), CLERK)
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd(new_amount))
    result = world.bo.submit(draft)
    assert result.approved
    assert kinds(world.sim.ledger()) == ["authorize", "void", "authorize"]
    assert world.sim.ledger()[-1].amount == usd(new_amount)
    line = result.order.line("L1")
    assert line.authorized == usd(new_amount)
    assert [a.open_amount for a in line.authorizations] == [usd("0.00"), usd(new_amount)]


def test_a_declined_adjustment_declines_the_line_and_voids_its_authorization() -> None:
    """C3, S2: the adjustment is declined, the authorization released, the line declined."""
    world = make_world()
    paid_by_card(world)
    token = world.bo.order("SO-1").line("L1").authorizations[0].token.value
    world.bo.change_total("SO-1", usd("150.00"), CLERK)
    world.sim.script("adjust", "decline")
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd("150.00"))
    result = world.bo.submit(draft)
    assert not result.approved
    assert result.order.line("L1").status is LineStatus.DECLINED
    assert result.order.line("L1").amount == usd("150.00")  # asked of a new card (C2)
    assert result.order.has_hold(HoldCode.PAYMENT_DECLINED)
    assert kinds(world.sim.ledger()) == ["authorize", "void"]
    assert world.sim.authorization_open(token) == usd("0.00")


def test_a_declined_adjustment_of_a_partially_captured_line_leaves_it_what_it_captured() -> None:
    """C3, C5, S1, S3: the customer asks for more on a partly invoiced order and the card
    declines the adjustment. The open rest is released; the line keeps what it captured and
    asks no more of that card: the next completion shows the whole shortfall due, the
    declined card is not charged again by an untouched submit, and the order stays held
    until a new payment covers the rest."""
    world = make_world()
    paid_by_card(world)
    capture_line(world, "SO-1", "L1", usd("40.00"))
    world.bo.change_total("SO-1", usd("120.00"), CLERK)
    world.sim.script("adjust", "decline")
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd("120.00"))
    result = world.bo.submit(draft)
    line = result.order.line("L1")
    assert not result.approved
    assert (line.amount, line.captured, line.authorized) == (usd("40.00"), usd("40.00"), usd("0"))
    assert line.status is LineStatus.PAID
    assert result.order.has_hold(HoldCode.OUT_OF_BALANCE)
    assert world.bo.begin_completion("SO-1", CLERK).balance_due == usd("80.00")
    again = world.bo.submit(world.bo.begin_completion("SO-1", CLERK))
    assert not again.approved
    assert kinds(world.sim.ledger()) == ["authorize", "capture", "void"]
    fixed = world.bo.begin_completion("SO-1", CLERK).add_card(CARD_2, usd("80.00"))
    assert world.bo.submit(fixed).approved


@pytest.mark.parametrize(
    ("adjustments", "captured"),
    [(False, "40.00"), (True, "100.00")],
    ids=["voided-and-authorized-anew", "fully-captured-increase"],
)
def test_a_declined_authorization_of_a_captured_line_leaves_it_what_it_captured(
    adjustments: bool, captured: str
) -> None:
    """C3, C5, S1: as for a declined adjustment, a captured line whose new authorization is
    declined (without adjustments, or raising a line captured in full) keeps what it holds
    as its amount: the next completion shows the shortfall due and an untouched submit
    asks nothing more of the card that declined it. (It kept its new amount with nothing
    open: the draft showed nothing due, and an untouched submit authorized the declined
    card again and approved the order.)"""
    world = make_world(adjustments=adjustments)
    paid_by_card(world)
    capture_line(world, "SO-1", "L1", usd(captured))
    world.bo.change_total("SO-1", usd("120.00"), CLERK)
    world.sim.script("authorize", "decline")
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd("120.00"))
    result = world.bo.submit(draft)
    line = result.order.line("L1")
    assert not result.approved
    assert (line.amount, line.captured, line.authorized) == (usd(captured), usd(captured), usd("0"))
    assert result.order.has_hold(HoldCode.OUT_OF_BALANCE)
    due = usd("120.00") - usd(captured)
    assert world.bo.begin_completion("SO-1", CLERK).balance_due == due
    calls = len(world.sim.ledger())
    assert not world.bo.submit(world.bo.begin_completion("SO-1", CLERK)).approved
    assert len(world.sim.ledger()) == calls
    fixed = world.bo.begin_completion("SO-1", CLERK).add_card(CARD_2, due)
    assert world.bo.submit(fixed).approved


class _DeclinedWhenAsked(SimulatedProcessor):
    """A simulated processor whose lookup finds a call it never answered declined."""

    def lookup(self, key: str) -> ProcessorResult:
        found = super().lookup(key)
        if found.outcome is Outcome.NOT_RECEIVED:
            return ProcessorResult(key=key, outcome=Outcome.DECLINED, reason="declined")
        return found


def _declined_after_a_doubt(world: World, kind: str, route: str) -> None:
    """The order's last ``kind`` call, in doubt, found declined by ``recover()`` or by its
    failure notification (N2)."""
    if route == "recover":
        assert world.bo.recover().still_in_doubt == ()
        return
    key = [r.key for r in world.bo.operations("SO-1") if r.kind.value == kind][-1]
    note = Notification(notification_id="N-1", event=NotificationEvent.OUTCOME, key=key,
                        success=False, at=world.clock.now())  # fmt: skip
    assert world.bo.handle_notification(note).applied


@pytest.mark.parametrize("route", ["recover", "notification"])
@pytest.mark.parametrize(
    ("kind", "adjustments", "captured", "held"),
    [
        ("authorize", False, "40.00", "40.00"),
        ("authorize", True, "100.00", "100.00"),
        ("adjust", True, "40.00", "100.00"),
    ],
    ids=["voided-and-authorized-anew", "fully-captured-increase", "adjusted"],
)
def test_a_captured_line_declined_after_a_doubt_keeps_what_it_holds(
    kind: str, adjustments: bool, captured: str, held: str, route: str
) -> None:
    """C3, C5, S1, O2: a captured line's new authorization or adjustment in doubt, then
    found declined by recover() or its notification, leaves the line what it holds
    (captured, and anything still open), as a live decline does: the next completion shows
    the rest due, an untouched submit asks nothing of the card that declined it, and a new
    payment approves the order. (The line kept its new amount: nothing showed due, and an
    untouched submit asked the declining card again and approved the order.)"""
    clock = ManualClock(START)
    sim = _DeclinedWhenAsked(clock=clock, adjustments=adjustments)
    store, journal = InMemoryStore(), InMemoryJournal()
    bo = BackOffice(store=store, processor=sim, journal=journal, clock=clock)
    world = World(clock=clock, sim=sim, store=store, journal=journal, bo=bo)
    paid_by_card(world)
    capture_line(world, "SO-1", "L1", usd(captured))
    world.bo.change_total("SO-1", usd("120.00"), CLERK)
    world.sim.script(kind, "timeout_before")
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd("120.00"))
    assert world.bo.submit(draft).in_doubt
    _declined_after_a_doubt(world, kind, route)
    line = world.bo.order("SO-1").line("L1")
    assert (line.amount, line.captured) == (usd(held), usd(captured))
    due = usd("120.00") - usd(held)
    assert world.bo.begin_completion("SO-1", CLERK).balance_due == due
    calls = world.sim.calls
    untouched = world.bo.submit(world.bo.begin_completion("SO-1", CLERK))
    assert not untouched.approved
    assert untouched.order.has_hold(HoldCode.OUT_OF_BALANCE)
    assert world.sim.calls == calls
    fixed = world.bo.begin_completion("SO-1", CLERK).add_card(CARD_2, due)
    assert world.bo.submit(fixed).approved


@pytest.mark.parametrize("route", ["recover", "notification"])
@pytest.mark.parametrize("new_total", ["150.00", "70.00"], ids=["raised", "reduced"])
@pytest.mark.parametrize("captured", ["0.00", "40.00"], ids=["uncaptured", "captured"])
def test_a_line_whose_adjustment_is_declined_after_a_doubt_keeps_what_it_holds(
    captured: str, new_total: str, route: str
) -> None:
    """C3, C5, S1, O2, N2: a line's adjustment in doubt, then found declined by its
    notification or by recover(): the processor still holds the first authorization
    (100.00 with what was captured of it), and the line shows that as its amount, the
    difference to the new total due (or overpaid). An untouched submit asks nothing of the
    card that declined and holds the order out of balance; a person settles the rest. (An
    uncaptured line, or a captured one reduced, kept the amount it was not given, 150.00
    or 70.00, with 100.00 held: the draft showed nothing due, and an untouched submit sent
    the declined adjustment again and approved the order.)"""
    clock = ManualClock(START)
    sim = _DeclinedWhenAsked(clock=clock)
    store, journal = InMemoryStore(), InMemoryJournal()
    bo = BackOffice(store=store, processor=sim, journal=journal, clock=clock)
    world = World(clock=clock, sim=sim, store=store, journal=journal, bo=bo)
    paid_by_card(world)
    if usd(captured).is_positive():
        capture_line(world, "SO-1", "L1", usd(captured))
    token = world.bo.order("SO-1").line("L1").authorizations[0].token.value
    world.bo.change_total("SO-1", usd(new_total), CLERK)
    world.sim.script("adjust", "timeout_before")
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd(new_total))
    assert world.bo.submit(draft).in_doubt
    _declined_after_a_doubt(world, "adjust", route)
    line = world.bo.order("SO-1").line("L1")
    open_left = usd("100.00") - usd(captured)
    assert world.sim.authorization_open(token) == open_left
    assert (line.amount, line.captured, line.authorized) == (
        usd("100.00"), usd(captured), open_left)  # fmt: skip
    due = usd(new_total) - usd("100.00")
    assert world.bo.begin_completion("SO-1", CLERK).balance_due == due
    calls = world.sim.calls
    untouched = world.bo.submit(world.bo.begin_completion("SO-1", CLERK))
    assert not untouched.approved
    assert untouched.order.has_hold(HoldCode.OUT_OF_BALANCE)
    assert world.sim.calls == calls
    fixed = world.bo.begin_completion("SO-1", CLERK)
    if due.is_positive():
        fixed = fixed.add_card(CARD_2, due)
    else:
        fixed = fixed.change_amount("L1", usd(new_total))
    assert world.bo.submit(fixed).approved


class _ProcessDied(BaseException):
    """The calling process died (no ``except Exception`` hides it)."""


@pytest.mark.parametrize("route", ["recover", "notification"])
@pytest.mark.parametrize("new_total", ["150.00", "70.00"], ids=["raised", "reduced"])
def test_an_adjustment_declined_as_the_process_died_keeps_what_the_line_holds(
    new_total: str, route: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C3, S1, O1, O2, N2: the card declined an uncaptured line's adjustment and the process
    died before storing the answer: its intent has no outcome, and recover() (or the
    failure notification) finds it declined, as after a timeout. The processor still holds
    100.00: the line shows that as its amount, the difference to the new total due (or
    overpaid), and an untouched submit asks nothing of the card that declined. (The line
    kept the amount it was not given: nothing showed due, and an untouched submit sent the
    declined adjustment again and approved the order.)"""
    world = make_world()
    paid_by_card(world)
    token = world.bo.order("SO-1").line("L1").authorizations[0].token.value
    world.bo.change_total("SO-1", usd(new_total), CLERK)
    world.sim.script("adjust", "decline")
    answered = world.sim.adjust

    def died(*args: object, **kwargs: object) -> ProcessorResult:
        answered(*args, **kwargs)  # type: ignore[arg-type]
        raise _ProcessDied("died before storing the answer")

    monkeypatch.setattr(world.sim, "adjust", died)
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd(new_total))
    with pytest.raises(_ProcessDied):
        world.bo.submit(draft)
    monkeypatch.undo()
    _declined_after_a_doubt(world, "adjust", route)
    line = world.bo.order("SO-1").line("L1")
    assert world.sim.authorization_open(token) == usd("100.00")
    assert (line.status, line.amount, line.authorized) == (
        LineStatus.AUTHORIZED, usd("100.00"), usd("100.00"))  # fmt: skip
    due = usd(new_total) - usd("100.00")
    assert world.bo.begin_completion("SO-1", CLERK).balance_due == due
    calls = world.sim.calls
    untouched = world.bo.submit(world.bo.begin_completion("SO-1", CLERK))
    assert not untouched.approved
    assert untouched.order.has_hold(HoldCode.OUT_OF_BALANCE)
    assert world.sim.calls == calls


def test_a_declined_adjustment_whose_release_never_arrived_leaves_the_line_what_it_holds() -> None:
    """C3, C5, O2: the void releasing a declined adjustment of a partly captured line is in
    doubt and recover() finds it never arrived: the line keeps what it captured and what is
    still open as its amount, the rest due, and an untouched submit adjusts nothing on the
    card that declined. (It kept its new amount: nothing showed due, and an untouched
    submit asked the declining card for the adjustment again.)"""
    world = make_world()
    paid_by_card(world)
    capture_line(world, "SO-1", "L1", usd("40.00"))
    world.bo.change_total("SO-1", usd("120.00"), CLERK)
    world.sim.script("adjust", "decline")
    world.sim.script("void", "timeout_before")
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd("120.00"))
    assert world.bo.submit(draft).in_doubt
    assert world.bo.recover().still_in_doubt == ()
    line = world.bo.order("SO-1").line("L1")
    assert (line.amount, line.captured, line.authorized) == (
        usd("100.00"), usd("40.00"), usd("60.00"))  # fmt: skip
    assert world.bo.begin_completion("SO-1", CLERK).balance_due == usd("20.00")
    calls = world.sim.calls
    assert not world.bo.submit(world.bo.begin_completion("SO-1", CLERK)).approved
    assert world.sim.calls == calls
    assert kinds(world.sim.ledger()) == ["authorize", "capture"]


@pytest.mark.parametrize("release", ["decline", "timeout_before"])
@pytest.mark.parametrize("new_total", ["150.00", "70.00"], ids=["raised", "reduced"])
def test_an_uncaptured_line_whose_declined_adjustment_was_not_released_keeps_what_it_holds(
    new_total: str, release: str
) -> None:
    """C3, S1, O2: an uncaptured line's adjustment is declined and the void releasing its
    authorization is declined too, or never arrived (found so by recover()): the processor
    still holds 100.00, and the line shows that as its amount, the difference to the new
    total due (or overpaid); an untouched submit asks nothing of the card that declined.
    (The line kept the amount it was not given, with 100.00 held: the draft showed nothing
    due, and an untouched submit sent the declined adjustment again and approved the
    order.)"""
    world = make_world()
    paid_by_card(world)
    token = world.bo.order("SO-1").line("L1").authorizations[0].token.value
    world.bo.change_total("SO-1", usd(new_total), CLERK)
    world.sim.script("adjust", "decline")
    world.sim.script("void", release)
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd(new_total))
    result = world.bo.submit(draft)
    assert not result.approved
    if release == "timeout_before":
        assert world.bo.recover().still_in_doubt == ()
    line = world.bo.order("SO-1").line("L1")
    assert world.sim.authorization_open(token) == usd("100.00")
    assert (line.status, line.amount, line.authorized) == (
        LineStatus.AUTHORIZED, usd("100.00"), usd("100.00"))  # fmt: skip
    due = usd(new_total) - usd("100.00")
    assert world.bo.begin_completion("SO-1", CLERK).balance_due == due
    calls = world.sim.calls
    untouched = world.bo.submit(world.bo.begin_completion("SO-1", CLERK))
    assert not untouched.approved
    assert untouched.order.has_hold(HoldCode.OUT_OF_BALANCE)
    assert world.sim.calls == calls


# -- C5: captured lines and prepayments ---------------------------------------------------


def test_a_partially_captured_line_cannot_be_removed_or_reduced_below_its_capture() -> None:
    """C5: a partially captured line stays and never drops below what was captured."""
    world = make_world()
    paid_by_card(world)
    capture_line(world, "SO-1", "L1", usd("40.00"))
    draft = world.bo.begin_completion("SO-1", CLERK)
    with pytest.raises(InvalidDraftEdit, match="captured line cannot be removed"):
        draft.remove("L1")
    with pytest.raises(InvalidDraftEdit, match="below"):
        draft.change_amount("L1", usd("39.99"))


@pytest.mark.parametrize(
    ("new_amount", "call", "left_open"),
    [("70.00", "adjust", "30.00"), ("40.00", "void", "0.00")],
)
def test_reducing_a_partially_captured_line_reduces_its_authorization(
    new_amount: str, call: str, left_open: str
) -> None:
    """C5: reduced to no less than its capture, the line's authorization shrinks to match."""
    world = make_world()
    paid_by_card(world)
    capture_line(world, "SO-1", "L1", usd("40.00"))
    world.bo.change_total("SO-1", usd(new_amount), CLERK)
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd(new_amount))
    result = world.bo.submit(draft)
    assert result.approved
    line = result.order.line("L1")
    assert (line.captured, line.authorized) == (usd("40.00"), usd(left_open))
    assert kinds(world.sim.ledger()) == ["authorize", "capture", call]
    assert world.sim.authorization_open(line.authorizations[0].token.value) == usd(left_open)


def test_a_fully_captured_line_cannot_be_reduced_but_an_increase_is_authorized() -> None:
    """C5: a fully captured line is never reduced; raising it authorizes only the increase."""
    world = make_world()
    paid_by_card(world)
    capture_line(world, "SO-1", "L1", usd("100.00"))
    draft = world.bo.begin_completion("SO-1", CLERK)
    with pytest.raises(InvalidDraftEdit, match="fully captured"):
        draft.change_amount("L1", usd("90.00"))
    with pytest.raises(InvalidDraftEdit):
        draft.remove("L1")
    world.bo.change_total("SO-1", usd("120.00"), CLERK)
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd("120.00"))
    result = world.bo.submit(draft)
    assert result.approved
    assert kinds(world.sim.ledger()) == ["authorize", "capture", "authorize"]
    assert world.sim.ledger()[-1].amount == usd("20.00")
    line = result.order.line("L1")
    assert (line.captured, line.authorized) == (usd("100.00"), usd("20.00"))


def test_a_posted_prepayment_is_neither_removed_nor_changed() -> None:
    """C5: a prepayment posted when the order was placed is fixed."""
    world = make_world()
    world.bo.place_order(
        "SO-1",
        channel=Channel.POS,
        customer=ALICE,
        total=usd("50.00"),
        payments=[Prepayment("cash", usd("50.00"))],
    )
    draft = world.bo.begin_completion("SO-1", CLERK)
    with pytest.raises(InvalidDraftEdit, match="never removed"):
        draft.remove("L1")
    with pytest.raises(InvalidDraftEdit, match="never edited"):
        draft.change_amount("L1", usd("40.00"))


def test_an_unposted_prepayment_can_still_be_changed_and_removed() -> None:
    """C5 (our reading): a call center prepayment not yet submitted is still a draft line."""
    world = make_world()
    world.bo.place_order(
        "SO-1",
        channel=Channel.CALL_CENTER,
        customer=ALICE,
        total=usd("50.00"),
        payments=[Prepayment("cash", usd("50.00"))],
    )
    draft = world.bo.begin_completion("SO-1", CLERK)
    assert draft.change_amount("L1", usd("40.00")).line("L1").amount == usd("40.00")
    assert draft.remove("L1").lines == ()


# -- C6: removing an authorized line ------------------------------------------------------


def test_removing_an_authorized_uncaptured_line_voids_its_authorization() -> None:
    """C6: the removed line's authorization is voided at submit and the line retired."""
    world = make_world()
    world.bo.place_order(
        "SO-1",
        channel=Channel.ECOMMERCE,
        customer=ALICE,
        total=usd("100.00"),
        payments=[CardPayment(CARD_1, usd("60.00")), CardPayment(CARD_2, usd("40.00"))],
    )
    token = world.bo.order("SO-1").line("L2").authorizations[0].token.value
    world.bo.change_total("SO-1", usd("60.00"), CLERK)
    draft = world.bo.begin_completion("SO-1", CLERK).remove("L2")
    assert draft.removed == frozenset({"L2"})
    result = world.bo.submit(draft)
    assert result.approved
    assert result.order.line("L2").status is LineStatus.VOIDED
    assert kinds(world.sim.ledger()) == ["authorize", "authorize", "void"]
    assert world.sim.authorization_open(token) == usd("0.00")
    assert result.order.paid == usd("60.00")
    assert world.bo.begin_completion("SO-1", CLERK).lines == (result.order.line("L1"),)


def test_zero_or_foreign_currency_amounts_are_refused() -> None:
    """C1, V7: a line's amount is positive money in the order's currency."""
    world = make_world()
    paid_by_card(world)
    draft = world.bo.begin_completion("SO-1", CLERK)
    with pytest.raises(InvalidDraftEdit):
        draft.add_card(CARD_2, usd("0.00"))
    with pytest.raises(CurrencyMismatch):
        draft.change_amount("L1", Money.of("10.00", "EUR"))
