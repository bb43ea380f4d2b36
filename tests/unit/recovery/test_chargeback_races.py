"""A chargeback recorded while a refund is away at the processor, or an authorization
ended while a capture is (N4, O1, V5).

Planning keeps a refund within what chargebacks left refundable, and a capture within
what its authorization holds open; but a notification can arrive between the call's
intent and its answer. The processor moved the money: its answer is recorded (bounded
by V1, V2 and V3 only), never refused, so the order does not stay in doubt with money
the books never see.
"""

from __future__ import annotations

from ocop import Actor, VoucherKind
from unsolicited_support import chargeback, check_books, ended
from worlds import card, usd

from .support import UnsureProcessor
from .test_unsolicited import AGENT, auth_key, placed

ALTERNATE = Actor.call_center("agent-2", permissions=frozenset({"alternate_payment"}))


def test_a_linked_refund_answered_after_a_chargeback_is_recorded() -> None:
    """The chargeback leaves 50.00 refundable while the refund of 60.00 is away: the
    approved refund is recorded whole, with its voucher, and nothing stays in doubt."""
    bo = placed()
    (capture,) = bo.invoice("SO-1", "INV-1", usd("100.00")).captures
    processor = bo.ports.processor
    assert isinstance(processor, UnsureProcessor)
    noted = []
    processor.during_call = lambda _key: noted.append(
        bo.handle_notification(chargeback(capture.capture_id, usd("50.00"), 1))
    )
    result = bo.refund("SO-1", "RMA-1", usd("60.00"), AGENT)
    assert noted[0].applied
    assert (result.in_doubt, result.failed) == ((), ())
    assert bo.orders(in_doubt=True) == ()
    order = check_books(bo, "SO-1")
    assert (order.refunded, order.charged_back, order.returnable) == (
        usd("60.00"),
        usd("50.00"),
        usd("0.00"),
    )
    assert order.lines[0].captures[0].refundable == usd("0.00")
    kinds = [v.kind for v in bo.journal("SO-1")]
    assert (kinds.count(VoucherKind.REFUND), kinds.count(VoucherKind.CHARGEBACK)) == (1, 1)
    assert bo.recover().unapplied == ()


def test_an_unlinked_refund_answered_after_a_chargeback_is_recorded() -> None:
    """Likewise a refund to another card (R4): bounded by V3 once approved."""
    bo = placed()
    (capture,) = bo.invoice("SO-1", "INV-1", usd("100.00")).captures
    processor = bo.ports.processor
    assert isinstance(processor, UnsureProcessor)
    noted = []
    processor.during_call = lambda _key: noted.append(
        bo.handle_notification(chargeback(capture.capture_id, usd("70.00"), 1))
    )
    result = bo.refund_to_card("SO-1", "RMA-2", card("tok_2", "2222"), usd("40.00"), ALTERNATE)
    assert noted[0].applied
    assert result.in_doubt == ()
    assert bo.orders(in_doubt=True) == ()
    order = check_books(bo, "SO-1")
    assert (order.refunded, order.charged_back) == (usd("40.00"), usd("70.00"))
    assert order.returnable == usd("0.00")


def test_a_capture_answered_after_its_authorization_ended_is_recorded() -> None:
    """The processor ends the authorization while a capture of 60.00 on it is away: the
    approved capture is recorded with its receipt (it was refused as beyond the 0.00 open,
    V1, and stayed in doubt through every recover()), and the rest of the line is
    authorized again, as after any authorization that ended."""
    bo = placed()
    processor = bo.ports.processor
    assert isinstance(processor, UnsureProcessor)
    noted = []
    key = auth_key(bo)
    processor.during_call = lambda _key: noted.append(bo.handle_notification(ended(key, 1)))
    result = bo.invoice("SO-1", "INV-1", usd("60.00"))
    assert noted[0].applied
    assert (result.in_doubt, result.failed, result.uncovered) == ((), (), usd("0.00"))
    assert bo.orders(in_doubt=True) == ()
    order = check_books(bo, "SO-1")
    assert (order.captured, order.invoiced) == (usd("60.00"), usd("60.00"))
    captured = [e.amount for e in processor.sim.ledger() if e.kind == "capture"]
    assert captured == [usd("60.00")]  # V5: the processor's records and ocop's agree
    assert bo.recover().unapplied == ()


def test_an_adjustment_answered_after_its_authorization_ended_is_recorded() -> None:
    """Likewise an adjustment (C3) of an authorization the processor ends while it is
    away: its answer is recorded (it was refused as of a closed authorization and stayed in
    doubt through every recover()), and the submit authorizes the line's card again."""
    bo = placed()
    bo.change_total("SO-1", usd("80.00"), AGENT)
    draft = bo.begin_completion("SO-1", AGENT).change_amount("L1", usd("80.00"))
    processor = bo.ports.processor
    assert isinstance(processor, UnsureProcessor)
    noted = []
    key = auth_key(bo)
    processor.during_call = lambda _key: noted.append(bo.handle_notification(ended(key, 1)))
    result = bo.submit(draft)
    assert noted[0].applied
    assert result.in_doubt == ()
    assert bo.orders(in_doubt=True) == ()
    order = bo.order("SO-1")
    assert order.approved
    assert order.authorized == usd("80.00")
    assert [a.amount for a in order.lines[0].authorizations] == [usd("80.00"), usd("80.00")]
    assert bo.recover().unapplied == ()
