"""The owner's acceptance tests of the design's Public API (contract). The renewal job (A1,
A2), the order queries and the edge (E1, E2)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

import ocop
import ocop.ports.processor
from ocop import (
    CardPayment,
    CardToken,
    Channel,
    Customer,
    HoldCode,
    OcopError,
    OrderStatus,
    SavedCardPayment,
    Settings,
)

from .support import AGENT, CARD, START, card_order, usd, world


# -- renewals (A1, A2) -------------------------------------------------------------------
def test_renewal_job_reports_tuples_of_order_ids() -> None:
    """A1/A2: the job renews authorizations expiring within 2 days (default), holds a
    line without a reusable token, voids a fully invoiced order's leftover; each field a
    tuple of order ids; a second run does nothing again."""
    assert Settings.default().authorization.renew_within_days == 2
    assert Settings.default().authorization.retry_declined is False
    bo, sim, clock = world()
    card_order(bo, "SO-1")
    single = CardToken(value="tok_s", connector="sim", service_account="sa-1", brand="visa",
                       last4="2222", reusable=False)  # fmt: skip
    bo.place_order("SO-2", channel=Channel.ECOMMERCE, customer=Customer.named("C-1"),
                   total=usd("50.00"), payments=[CardPayment(single, usd("50.00"))])  # fmt: skip
    clock.advance(days=11)
    assert bo.renew_authorizations().renewed == ()  # 3 days left: not yet
    clock.advance(days=1)
    run = bo.renew_authorizations()
    for field in ("renewed", "declined", "held", "voided", "in_doubt", "skipped"):
        assert isinstance(getattr(run, field), tuple), field
    assert run.renewed == ("SO-1",)
    assert "SO-2" in run.held
    assert bo.order("SO-2").holds[0].code is HoldCode.AUTHORIZATION_EXPIRED
    again = bo.renew_authorizations()
    assert (again.renewed, again.held, again.voided) == ((), (), ())
    kinds = [e.kind for e in sim.ledger()]
    assert kinds.count("authorize") == 3
    assert kinds.count("void") >= 1


def test_renewal_job_voids_what_a_cancelled_order_left_open() -> None:
    """A1: open authorizations nothing will capture (cancelled orders) are voided."""
    bo, sim, _ = world()
    card_order(bo)
    sim.script("void", "decline")
    bo.cancel_order("SO-1", AGENT)
    run = bo.renew_authorizations()
    assert run.voided == ("SO-1",)
    assert [e.kind for e in sim.ledger()] == ["authorize", "void"]


# -- queries -----------------------------------------------------------------------------
def test_orders_filters_and_pages() -> None:
    """``bo.orders`` returns a tuple of ids, in placement order, filtered by status and
    expiry, paged by ``limit`` and ``after``."""
    bo, _, clock = world()
    for n in range(1, 6):
        card_order(bo, f"SO-{n}", "10.00")
        clock.advance(days=1)
    assert bo.orders() == ("SO-1", "SO-2", "SO-3", "SO-4", "SO-5")
    assert bo.orders(limit=2) == ("SO-1", "SO-2")
    assert bo.orders(limit=2, after="SO-2") == ("SO-3", "SO-4")
    assert bo.orders(after="SO-4") == ("SO-5",)
    bo.invoice("SO-2", "INV-1", usd("10.00"))
    assert bo.orders(status=OrderStatus.INVOICED) == ("SO-2",)
    assert bo.orders(status=OrderStatus.APPROVED, limit=2) == ("SO-1", "SO-3")
    # authorized at START + n-1 days, expiring 14 days later
    assert bo.orders(expiring_before=START + timedelta(days=15, hours=12)) == ("SO-1",)
    assert bo.orders(on_hold=False, in_doubt=False) == bo.orders()
    assert bo.orders(on_hold=True) == ()


# -- the edge (E1, E2) -------------------------------------------------------------------
@pytest.mark.parametrize("bad_id", ["", "x" * 129, "SO\n1", 7, None])
def test_bad_ids_are_invalid_input_and_nothing_is_stored(bad_id: object) -> None:
    """E1: an id that is not a non-empty printable string of at most 128 characters."""
    bo, sim, _ = world()
    with pytest.raises(ocop.InvalidInput):
        bo.place_order(bad_id, channel=Channel.ECOMMERCE, customer=Customer.guest(),  # type: ignore[arg-type]
                       total=usd("10.00"), payments=[CardPayment(CARD, usd("10.00"))])  # fmt: skip
    assert bo.orders() == ()
    assert sim.ledger() == ()


def test_an_id_of_128_printable_characters_reads_back() -> None:
    """E1: any such id works and reads back exactly, separators included."""
    bo, _, _ = world()
    order_id = ("é/:#|% " * 19)[:128]
    card_order(bo, order_id, "10.00")
    assert bo.order(order_id).order_id == order_id
    bo.invoice(order_id, "INV:1#2", usd("10.00"))
    assert bo.orders(status=OrderStatus.INVOICED) == (order_id,)


def test_lone_strings_enums_and_money_are_checked() -> None:
    """E1: a lone string for ``invoices`` is refused; an enum argument must be a member;
    money must be Money."""
    bo, sim, _ = world()
    card_order(bo)
    bo.invoice("SO-1", "INV-2", usd("100.00"))
    with pytest.raises(ocop.InvalidInput):
        bo.refund("SO-1", "RMA-1", usd("10.00"), AGENT, invoices="INV-2")
    with pytest.raises(ocop.InvalidInput):
        bo.refund("SO-1", "RMA-1", Decimal("10.00"), AGENT)  # type: ignore[arg-type]
    with pytest.raises(ocop.InvalidInput):
        bo.release_hold("SO-1", "OUT_OF_BALANCE", AGENT)  # type: ignore[arg-type]
    with pytest.raises(ocop.InvalidInput):
        bo.orders(status="APPROVED")  # type: ignore[arg-type]
    assert [e.kind for e in sim.ledger()] == ["authorize", "capture"]


def test_card_numbers_and_control_characters_are_not_echoed() -> None:
    """E2: an id holding a card number or a control character raises an error whose
    message and attributes do not contain it."""
    bo, _, _ = world()
    number = "4111 1111 1111 1111"
    for bad in (f"SO-{number}", "SO-\x1b[31m"):
        with pytest.raises(OcopError) as caught:
            bo.order(bad)
        text = str(caught.value) + repr(vars(caught.value))
        assert number not in text
        assert "4111111111111111" not in text.replace(" ", "")
        assert "\x1b" not in text


def test_renewal_job_voids_the_rest_of_a_fully_invoiced_order() -> None:
    """A1: an authorization left open on an order invoiced in full is voided by the job."""
    bo, sim, _ = world()
    card_order(bo)
    bo.change_total("SO-1", usd("80.00"), AGENT)
    bo.submit(bo.begin_completion("SO-1", AGENT))
    bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, AGENT)
    assert bo.invoice("SO-1", "INV-1", usd("80.00")).order.lines[0].authorized == usd("20.00")
    run = bo.renew_authorizations()
    assert run.voided == ("SO-1",)
    assert bo.order("SO-1").lines[0].authorized == usd("0.00")
    assert [(e.kind, e.amount) for e in sim.ledger()][-1] == ("void", usd("20.00"))
    assert bo.renew_authorizations().voided == ()


def test_a_saved_cards_cvv_is_never_stored_or_shown() -> None:
    """T1: the CVV of a saved-card payment reaches the processor and appears in no stored
    order, operation record or voucher, nor in the payment's repr."""
    bo, _, _ = world()
    customer = Customer.named("C-1")
    saved = bo.save_instrument(customer, CARD, consent=True)
    payment = SavedCardPayment(saved.instrument_id, cvv="9753", amount=usd("50.00"))
    assert "9753" not in repr(payment)
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=customer, total=usd("50.00"),
                   payments=[payment])  # fmt: skip
    bo.invoice("SO-1", "INV-1", usd("50.00"))
    shown = repr((bo.order("SO-1"), bo.operations("SO-1"), bo.journal("SO-1")))
    assert "9753" not in shown
    assert bo.order("SO-1").lines[0].captured == usd("50.00")
